//! The accounts of an AWS Organization beyond the caller's own: member fleets, who may assume a role in them (the
//! STS policy), and the organization Organizations lists.
//!
//! Documented (the botocore models `organizations/2016-11-28` and `sts/2011-06-15`): an account id is exactly 12
//! digits; an organization id is `o-` and 10 to 32 lowercase letters or digits; a root id `r-` and 4 to 32; an OU id
//! `ou-`, 4 to 32 (the root's), `-`, and 8 to 32; an account's Status is ACTIVE, SUSPENDED or PENDING_CLOSURE; an
//! account ARN is `arn:aws:organizations::<management account>:account/<organization id>/<account id>`. Assumed: a
//! member fleet's resources are its own, so their ARNs name its account (cross-account resources are not modelled).

use std::collections::BTreeSet;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::{month_ago, FleetError};
use crate::clock::serde_timestamp;

/// The account of the top-level fleet: the caller's own (the organization's management account). Every access key
/// the emulator's STS did not issue acts in it.
pub const MANAGEMENT_ACCOUNT: &str = "123456789012";

/// The role [`super::Fleet::with_generated_members`] lets the janitor assume in every member account.
pub const GENERATED_MEMBER_ROLE: &str = "ReplicationJanitorMember";

/// The OU [`super::Fleet::with_generated_members`] puts every member account in (under the root `r-root`).
pub const GENERATED_MEMBER_OU: &str = "ou-root-benchmark";

/// Generated member account n (from 1) is this plus n: 100000000001, 100000000002, ...
const GENERATED_MEMBER_BASE: u64 = 100_000_000_000;

/// Who may assume a role in the member accounts with STS AssumeRole. A role that this policy does not allow answers
/// 403 AccessDenied, as STS answers for a role that does not exist or whose trust policy does not name the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StsPolicy {
    /// The name of the role that exists in every member account; `None`: any name can be assumed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_role: Option<String>,
    /// The ExternalId the roles' trust policies require (then a call without it, or with another, is denied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Member accounts whose role cannot be assumed at all, e.g. one whose trust policy omits the janitor.
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub denied_accounts: BTreeSet<String>,
}

impl StsPolicy {
    /// Whether the policy allows every role of every member account (the default).
    pub fn is_open(&self) -> bool {
        *self == StsPolicy::default()
    }
}

/// An AWS Organization, as Organizations' ListAccounts and ListAccountsForParent show it. Its roots and OUs are
/// those its accounts name: an OU without accounts does not exist here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Organization {
    /// `o-` and 10 to 32 lowercase letters or digits.
    pub id: String,
    /// The organization's root, `r-` and 4 to 32 lowercase letters or digits; defaults to `r-root`.
    #[serde(default = "default_root")]
    pub root_id: String,
    /// Every account of the organization, the management account included (ListAccounts lists it too).
    pub accounts: Vec<OrgAccount>,
}

/// One account of an organization, with the members of Organizations' `Account` the janitor reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OrgAccount {
    /// 12 digits.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub status: AccountStatus,
    /// The account's parent: the organization's root or an OU of it (`ou-<root's id>-<8 to 32>`).
    #[serde(rename = "parentId")]
    pub parent_id: String,
    /// Defaults to `account-<id>@example.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub joined_method: JoinedMethod,
    /// ISO-8601 in JSON; a file may also say `now-<N><s|m|h|d>`.
    #[serde(with = "serde_timestamp", default = "month_ago")]
    pub joined_timestamp: SystemTime,
}

/// An account's Status in its organization, as the model spells it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountStatus {
    #[default]
    Active,
    Suspended,
    PendingClosure,
}

impl AccountStatus {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "ACTIVE",
            AccountStatus::Suspended => "SUSPENDED",
            AccountStatus::PendingClosure => "PENDING_CLOSURE",
        }
    }
}

/// How an account joined its organization, as the model spells it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JoinedMethod {
    Invited,
    #[default]
    Created,
}

impl JoinedMethod {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            JoinedMethod::Invited => "INVITED",
            JoinedMethod::Created => "CREATED",
        }
    }
}

fn default_root() -> String {
    "r-root".to_owned()
}

impl OrgAccount {
    /// An ACTIVE account created in the organization a month ago, with the default email.
    pub fn new(id: &str, name: &str, parent_id: &str) -> Self {
        OrgAccount {
            id: id.to_owned(),
            name: name.to_owned(),
            status: AccountStatus::Active,
            parent_id: parent_id.to_owned(),
            email: None,
            joined_method: JoinedMethod::Created,
            joined_timestamp: month_ago(),
        }
    }

    /// The Email Organizations reports (given, or derived from the id).
    pub fn email(&self) -> String {
        self.email.clone().unwrap_or_else(|| format!("account-{}@example.com", self.id))
    }
}

impl Organization {
    /// The account's ARN in this organization, whose management account is [`MANAGEMENT_ACCOUNT`].
    pub fn account_arn(&self, account_id: &str) -> String {
        format!("arn:aws:organizations::{MANAGEMENT_ACCOUNT}:account/{}/{account_id}", self.id)
    }

    /// Whether `parent_id` is this organization's root or an OU that holds one of its accounts.
    pub fn has_parent(&self, parent_id: &str) -> bool {
        parent_id == self.root_id || self.accounts.iter().any(|a| a.parent_id == parent_id)
    }
}

/// Exactly 12 ASCII digits.
pub(crate) fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

/// `min..=max` lowercase letters or digits.
fn is_lower_alnum(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// `prefix` followed by `min..=max` lowercase letters or digits.
fn is_id(id: &str, prefix: &str, min: usize, max: usize) -> bool {
    id.strip_prefix(prefix).is_some_and(|rest| is_lower_alnum(rest, min, max))
}

/// The root part of an OU id of the model's pattern (`ou-<4 to 32>-<8 to 32>`, the first part the root's).
fn ou_root(id: &str) -> Option<&str> {
    let (root, ou) = id.strip_prefix("ou-")?.split_once('-')?;
    (is_lower_alnum(root, 4, 32) && is_lower_alnum(ou, 8, 32)).then_some(root)
}

/// Whether `parent_id` may hold accounts of an organization whose root is `root_id`: the root itself, or one of its
/// OUs.
fn is_parent_in(parent_id: &str, root_id: &str) -> bool {
    parent_id == root_id || ou_root(parent_id).is_some_and(|root| root_id.strip_prefix("r-") == Some(root))
}

/// Whether `parent_id` has the model's ParentId pattern (a root or an OU, of any organization).
pub(crate) fn is_parent_id(parent_id: &str) -> bool {
    is_id(parent_id, "r-", 4, 32) || ou_root(parent_id).is_some()
}

/// Checks the STS policy's account ids.
pub(crate) fn validate_sts_policy(policy: &StsPolicy) -> Result<(), FleetError> {
    match policy.denied_accounts.iter().find(|id| !is_account_id(id)) {
        Some(id) => Err(FleetError::AccountId { field: "sts.deniedAccounts", id: id.clone() }),
        None => Ok(()),
    }
}

/// Checks an organization's ids, and that each of its accounts is listed once, under its root or an OU of it.
pub(crate) fn validate_organization(organization: &Organization) -> Result<(), FleetError> {
    if !is_id(&organization.id, "o-", 10, 32) {
        return Err(FleetError::OrganizationId { id: organization.id.clone() });
    }
    if !is_id(&organization.root_id, "r-", 4, 32) {
        return Err(FleetError::RootId { id: organization.root_id.clone() });
    }
    let mut seen = BTreeSet::new();
    for account in &organization.accounts {
        if !is_account_id(&account.id) {
            return Err(FleetError::AccountId { field: "organization.accounts", id: account.id.clone() });
        }
        if !seen.insert(account.id.as_str()) {
            return Err(FleetError::DuplicateOrgAccount { id: account.id.clone() });
        }
        if !is_parent_in(&account.parent_id, &organization.root_id) {
            return Err(FleetError::ParentId {
                account: account.id.clone(),
                parent: account.parent_id.clone(),
                root: organization.root_id.clone(),
            });
        }
    }
    Ok(())
}

/// `arn` with its account field (the fifth) replaced by `account`; an ARN without one (e.g. S3's) is kept as it is.
pub(crate) fn arn_in_account(arn: &str, account: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        [prefix, partition, service, region, old, rest] if !old.is_empty() => {
            format!("{prefix}:{partition}:{service}:{region}:{account}:{rest}")
        }
        _ => arn.to_owned(),
    }
}

/// What [`super::Fleet::with_generated_members`] adds besides the members' fleets: the ids of `count` member accounts
/// (100000000001 and on), an STS policy that lets [`GENERATED_MEMBER_ROLE`] be assumed in each, and an organization
/// that lists them all ACTIVE, the members under [`GENERATED_MEMBER_OU`].
pub(crate) fn generated_members(count: u32) -> (Vec<String>, StsPolicy, Organization) {
    let ids: Vec<String> = (1..=count).map(|n| (GENERATED_MEMBER_BASE + u64::from(n)).to_string()).collect();
    let root = default_root();
    let mut accounts = vec![OrgAccount::new(MANAGEMENT_ACCOUNT, "management", &root)];
    accounts.extend(
        ids.iter().enumerate().map(|(n, id)| OrgAccount::new(id, &format!("member-{}", n + 1), GENERATED_MEMBER_OU)),
    );
    let sts = StsPolicy { member_role: Some(GENERATED_MEMBER_ROLE.to_owned()), ..StsPolicy::default() };
    (ids, sts, Organization { id: "o-benchmark0".to_owned(), root_id: root, accounts })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Fleet;

    const MEMBER: &str = "210987654321";

    #[test]
    fn ids_follow_the_model_patterns() {
        assert!(is_account_id("012345678901"));
        for bad in ["12345678901", "1234567890123", "12345678901x", ""] {
            assert!(!is_account_id(bad), "{bad}");
        }
        for good in ["r-root", "ou-root-benchmark", "r-a1b2c3d4", "ou-a1b2-abcdefgh"] {
            assert!(is_parent_id(good), "{good}");
        }
        for bad in ["ou-root-bench", "r-abc", "ou-root", "root", "ou-ROOT-benchmark", "o-abcdefghij"] {
            assert!(!is_parent_id(bad), "{bad}");
        }
        assert!(is_parent_in("ou-root-benchmark", "r-root"));
        assert!(!is_parent_in("ou-abcd-benchmark", "r-root"), "an OU of another root");
    }

    #[test]
    fn the_organization_is_checked() {
        let org = |id: &str, accounts: Vec<OrgAccount>| Fleet {
            organization: Some(Organization { id: id.to_owned(), root_id: default_root(), accounts }),
            ..Fleet::default()
        };
        let good =
            vec![OrgAccount::new(MANAGEMENT_ACCOUNT, "m", "r-root"), OrgAccount::new(MEMBER, "a", GENERATED_MEMBER_OU)];
        assert_eq!(org("o-abcdefghij", good.clone()).validate().map_err(|e| e.to_string()), Ok(()));
        assert!(matches!(org("o-short", good.clone()).validate(), Err(FleetError::OrganizationId { .. })));
        let twice = vec![good[1].clone(), good[1].clone()];
        assert!(matches!(org("o-abcdefghij", twice).validate(), Err(FleetError::DuplicateOrgAccount { .. })));
        let lost = vec![OrgAccount::new(MEMBER, "a", "ou-other-benchmark")];
        assert!(matches!(org("o-abcdefghij", lost).validate(), Err(FleetError::ParentId { .. })));
        let mut denied = Fleet::default();
        denied.sts.denied_accounts.insert("nope".to_owned());
        assert!(matches!(denied.validate(), Err(FleetError::AccountId { field: "sts.deniedAccounts", .. })));
    }

    #[test]
    fn json_names_are_camel_case_and_defaults_fill_in() {
        let fleet = Fleet::from_json(&format!(
            r#"{{"memberAccounts":{{"{MEMBER}":{{"connections":[{{"EndpointArn":"arn:aws:dms:us-east-1:{MEMBER}:endpoint:E",
                  "ReplicationInstanceArn":"arn:aws:dms:us-east-1:{MEMBER}:rep:R"}}]}}}},
                "sts":{{"memberRole":"Janitor","externalId":"x-123","deniedAccounts":["{MEMBER}"]}},
                "organization":{{"id":"o-abcdefghij","accounts":[{{"Id":"{MEMBER}","Name":"a","parentId":"ou-root-members1"}},
                  {{"Id":"{MANAGEMENT_ACCOUNT}","Name":"m","Status":"SUSPENDED","parentId":"r-root","Email":"m@example.org",
                    "JoinedTimestamp":"2024-01-02T03:04:05Z"}}]}}}}"#
        ))
        .unwrap();
        assert_eq!(fleet.member_accounts[MEMBER].connections.len(), 1);
        assert_eq!(fleet.sts.member_role.as_deref(), Some("Janitor"));
        let org = fleet.organization.as_ref().unwrap();
        assert_eq!(org.root_id, "r-root");
        assert_eq!(
            (org.accounts[0].status, org.accounts[0].email()),
            (AccountStatus::Active, format!("account-{MEMBER}@example.com"))
        );
        assert_eq!(org.accounts[1].status, AccountStatus::Suspended);
        assert_eq!(
            org.account_arn(MEMBER),
            format!("arn:aws:organizations::{MANAGEMENT_ACCOUNT}:account/o-abcdefghij/{MEMBER}")
        );
        let json = serde_json::to_string(&fleet).unwrap();
        assert!(json.contains(r#""memberAccounts":{"210987654321":{"connections""#), "{json}");
        assert!(
            json.contains(r#""sts":{"memberRole":"Janitor","externalId":"x-123","deniedAccounts":["210987654321"]}"#)
        );
        assert_eq!(Fleet::from_json(&json).unwrap().member_accounts, fleet.member_accounts);
        let plain = serde_json::to_string(&Fleet::default()).unwrap();
        assert!(
            !plain.contains("memberAccounts") && !plain.contains("sts") && !plain.contains("organization"),
            "{plain}"
        );
        for bad in [r#"{"sts":{"memberRoles":"x"}}"#, r#"{"organization":{"id":"o-abcdefghij"}}"#] {
            assert!(Fleet::from_json(bad).is_err(), "{bad}");
        }
    }
}
