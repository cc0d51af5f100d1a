//! Organization scale: which accounts a run sweeps, and each account's control planes, reached through a role the
//! janitor assumes there (Cloud Custodian's c7n-org model). Without a member role the janitor sweeps its own account
//! only, exactly as before.
//!
//! What AWS documents, and what is assumed:
//! - Documented (the Organizations API reference and its SDK model): `ListAccounts` and `ListAccountsForParent`
//!   page with `NextToken` (`MaxResults` 1 to 20); an account's `State` is `ACTIVE`, `SUSPENDED`,
//!   `PENDING_ACTIVATION`, `PENDING_CLOSURE` or `CLOSED`, and its `Status` was retired on 2026-09-09 (read only when
//!   `State` is absent); `Paths` lists where in the organization the account sits; `ListAccountsForParent` lists
//!   the accounts directly in a root or OU. STS `AssumeRole` takes `RoleArn`, `RoleSessionName` and `ExternalId`.
//! - Assumed: an account under an OU nested below a configured one is the configured OU's (its `Paths` name both);
//!   where `Paths` is not given, only the accounts directly in each OU are found (`ListAccountsForParent`).

pub use crate::config::organization::{is_account_id, AccountSource, OrgSettings};
use crate::domain::resource::ErrorClass;
use crate::engine::calls::{Access, Caller, Lane, RetryPolicy};
use crate::providers::aws_sdk::classify;
use crate::providers::registry::{Build, ProviderSettings};
use crate::providers::ControlPlane;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sdk_organizations::types::{Account, AccountState, AccountStatus};
use aws_smithy_types::error::display::DisplayErrorContext;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// Why the accounts of a run could not be listed: nothing is swept, and the report says so.
#[derive(Debug, thiserror::Error)]
#[error("could not list the organization's accounts: {0}")]
pub struct DirectoryError(pub String);

/// The port for the accounts a run sweeps.
#[async_trait]
pub trait Directory: Send + Sync {
    async fn accounts(&self) -> Result<Vec<String>, DirectoryError>;
}

/// The accounts `JANITOR_ACCOUNTS` lists.
pub struct Listed(pub Vec<String>);

#[async_trait]
impl Directory for Listed {
    async fn accounts(&self) -> Result<Vec<String>, DirectoryError> {
        Ok(self.0.clone())
    }
}

/// The organization's active accounts, from AWS Organizations (the management account's, or a delegated
/// administrator's, API).
pub struct Organization {
    client: aws_sdk_organizations::Client,
    units: Vec<String>,
    caller: Caller,
    lane: Arc<Lane>,
}

/// ListAccounts' and ListAccountsForParent's largest page.
const ORGANIZATIONS_PAGE: i32 = 20;

impl Organization {
    pub fn new(client: aws_sdk_organizations::Client, units: Vec<String>, caller: Caller) -> Organization {
        Organization { client, units, caller, lane: Lane::new("organizations".to_owned()) }
    }

    /// Every account of the organization (ListAccounts, paged to the end).
    async fn all(&self) -> Result<Vec<Account>, DirectoryError> {
        let mut accounts = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .caller
                .call(&self.lane, Access::Read, classify, || {
                    self.client.list_accounts().max_results(ORGANIZATIONS_PAGE).set_next_token(token.clone()).send()
                })
                .await
                .map_err(|failed| DirectoryError(format!("ListAccounts: {}", DisplayErrorContext(&failed.error))))?;
            accounts.extend(page.accounts.unwrap_or_default());
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(next) if Some(&next) == token.as_ref() => {
                    return Err(DirectoryError("ListAccounts returned the same NextToken twice".to_owned()))
                }
                Some(next) => token = Some(next),
                None => return Ok(accounts),
            }
        }
    }

    /// The accounts directly in `parent` (ListAccountsForParent, paged to the end).
    async fn in_parent(&self, parent: &str) -> Result<Vec<Account>, DirectoryError> {
        let mut accounts = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .caller
                .call(&self.lane, Access::Read, classify, || {
                    self.client
                        .list_accounts_for_parent()
                        .parent_id(parent)
                        .max_results(ORGANIZATIONS_PAGE)
                        .set_next_token(token.clone())
                        .send()
                })
                .await
                .map_err(|failed| {
                    DirectoryError(format!("ListAccountsForParent {parent}: {}", DisplayErrorContext(&failed.error)))
                })?;
            accounts.extend(page.accounts.unwrap_or_default());
            match page.next_token.filter(|t| !t.is_empty()) {
                Some(next) if Some(&next) == token.as_ref() => {
                    return Err(DirectoryError(format!("ListAccountsForParent {parent} repeated its NextToken")))
                }
                Some(next) => token = Some(next),
                None => return Ok(accounts),
            }
        }
    }
}

/// Whether an account is active: its `State`, or (where a service still sends only that) its retired `Status`.
fn is_active(account: &Account) -> bool {
    match account.state() {
        Some(state) => *state == AccountState::Active,
        None => account.status() == Some(&AccountStatus::Active),
    }
}

/// Whether one of `account`'s paths passes through one of `units`.
fn under(account: &Account, units: &[String]) -> bool {
    account.paths().iter().any(|path| path.split('/').any(|segment| units.iter().any(|u| u == segment)))
}

/// The ids of the active accounts, sorted and without repeats.
fn active_ids<'a>(accounts: impl Iterator<Item = &'a Account>) -> Vec<String> {
    let ids: BTreeSet<String> = accounts.filter(|a| is_active(a)).filter_map(|a| a.id().map(str::to_owned)).collect();
    ids.into_iter().collect()
}

#[async_trait]
impl Directory for Organization {
    async fn accounts(&self) -> Result<Vec<String>, DirectoryError> {
        let all = self.all().await?;
        if self.units.is_empty() {
            return Ok(active_ids(all.iter()));
        }
        if !all.is_empty() && all.iter().all(|a| !a.paths().is_empty()) {
            return Ok(active_ids(all.iter().filter(|a| under(a, &self.units))));
        }
        let mut direct = Vec::new();
        for unit in &self.units {
            direct.extend(self.in_parent(unit).await?);
        }
        Ok(active_ids(direct.iter()))
    }
}

/// Why an account's control planes could not be reached; the other accounts go on.
#[derive(Debug, thiserror::Error)]
#[error("could not assume {role_arn}: {message}")]
pub struct MemberError {
    pub role_arn: String,
    pub message: String,
    pub class: ErrorClass,
}

/// The port for a member account's control planes.
#[async_trait]
pub trait Members: Send + Sync {
    /// The AWS control planes of `account`, for one run: they are built when its turn comes and dropped when its
    /// sweep ends, so a run holds the clients of the accounts in flight only (an SDK client costs some hundreds of
    /// KiB; a few hundred accounts' clients kept would outgrow the function's memory).
    async fn planes(&self, account: &str) -> Result<Vec<Arc<dyn ControlPlane>>, MemberError>;
}

/// Member accounts reached by assuming `role` in each with STS, through aws-config's own provider, its credentials
/// cached and refreshed by the SDK's identity cache.
pub struct AssumedRoles {
    sdk: SdkConfig,
    role: String,
    external_id: Option<String>,
    partition: String,
    /// The enabled AWS providers' settings; Alibaba Cloud's are swept once, from the janitor's own account.
    planes: Vec<ProviderSettings>,
    /// The regions of each per-account cloud, by cloud name.
    regions: BTreeMap<&'static str, Vec<String>>,
    /// Each account's calls get a caller of their own: its deletes in flight and its lanes are its own, as AWS
    /// limits each account on its own.
    retry: RetryPolicy,
    concurrency: usize,
    protect_tag: String,
    /// Where the member accounts' clients report the services' clocks.
    clocks: Arc<crate::domain::clock::Clocks>,
}

/// The partition of `region`: `aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*`, else `aws` (assumed for the
/// isolated partitions, whose region names this janitor does not know).
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The session name member accounts see in CloudTrail for the janitor's calls.
const SESSION_NAME: &str = "replication-janitor";
/// How long before their expiry the first credentials of an account are not reused.
const REUSE_MARGIN: Duration = Duration::from_secs(300);

impl AssumedRoles {
    pub fn new(
        sdk: &SdkConfig,
        org: &OrgSettings,
        planes: &[ProviderSettings],
        regions: BTreeMap<&'static str, Vec<String>>,
        retry: RetryPolicy,
        concurrency: usize,
        protect_tag: &str,
    ) -> AssumedRoles {
        AssumedRoles {
            sdk: sdk.clone(),
            role: org.member_role.clone(),
            external_id: org.external_id.clone(),
            partition: partition_of(regions.values().flatten().next().map(String::as_str).unwrap_or_default())
                .to_owned(),
            planes: planes.iter().filter(|p| p.provider.cloud().per_account).cloned().collect(),
            regions,
            retry,
            concurrency,
            protect_tag: protect_tag.to_owned(),
            clocks: Arc::default(),
        }
    }

    /// The member accounts' clients report the services' clocks to `clocks`.
    pub fn watching_clocks(mut self, clocks: Arc<crate::domain::clock::Clocks>) -> AssumedRoles {
        self.clocks = clocks;
        self
    }

    fn role_arn(&self, account: &str) -> String {
        format!("arn:{}:iam::{account}:role/{}", self.partition, self.role)
    }
}

#[async_trait]
impl Members for AssumedRoles {
    async fn planes(&self, account: &str) -> Result<Vec<Arc<dyn ControlPlane>>, MemberError> {
        let role_arn = self.role_arn(account);
        let failed = |message: String, class| MemberError { role_arn: role_arn.clone(), message, class };
        let mut builder = aws_config::sts::AssumeRoleProvider::builder(role_arn.clone())
            .session_name(SESSION_NAME)
            .configure(&self.sdk);
        if let Some(id) = &self.external_id {
            builder = builder.external_id(id.clone());
        }
        let provider = builder.build().await;
        // Assume the role now, so an account whose role cannot be assumed is told apart before any scan; the
        // credentials of that first call are the clients' first too.
        let first = provider.provide_credentials().await.map_err(|e| {
            let (message, class) = assume_role_failure(&e);
            failed(message, class)
        })?;
        let credentials = FirstThen { first: Mutex::new(Some(first)), then: provider };
        let sdk = self.sdk.to_builder().credentials_provider(SharedCredentialsProvider::new(credentials)).build();
        let caller = Caller::new(self.retry, self.concurrency);
        let mut planes = Vec::new();
        for settings in &self.planes {
            let build = Build {
                sdk: &sdk,
                settings,
                regions: self.regions.get(settings.provider.cloud().name).map_or(&[], Vec::as_slice),
                caller: &caller,
                protect_tag: &self.protect_tag,
                max_attempts: self.retry.max_attempts,
                clocks: &self.clocks,
            };
            let plane = (settings.provider.spec().build)(build).await;
            planes.push(plane.map_err(|e| failed(e.to_string(), ErrorClass::Service))?);
        }
        Ok(planes)
    }
}

/// What an AssumeRole that failed says, in a sentence, and its class: STS's own code and message where it answered
/// (`AccessDenied` when the role does not exist or does not trust the janitor, per the STS API reference), else the
/// provider's error.
fn assume_role_failure(error: &CredentialsError) -> (String, ErrorClass) {
    use aws_sdk_sts::error::ProvideErrorMetadata;
    type AssumeRoleFailure = aws_sdk_sts::error::SdkError<
        aws_sdk_sts::operation::assume_role::AssumeRoleError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >;
    if let CredentialsError::ProviderTimedOut(_) = error {
        return (error.to_string(), ErrorClass::TimedOut);
    }
    let answered = std::error::Error::source(error).and_then(|source| source.downcast_ref::<AssumeRoleFailure>());
    match answered.map(|e| (e.code(), e.message())) {
        Some((Some(code), message)) => {
            let class = match code {
                "AccessDenied" | "AccessDeniedException" => ErrorClass::Denied,
                "Throttling" | "ThrottlingException" => ErrorClass::Throttled,
                _ => ErrorClass::Service,
            };
            (format!("{code}: {}", message.unwrap_or_default()), class)
        }
        _ => (DisplayErrorContext(error).to_string(), ErrorClass::Transport),
    }
}

/// Credentials that hand out `first` until it nears its expiry, then ask `then`: the check that the role can be
/// assumed costs no second AssumeRole call.
#[derive(Debug)]
struct FirstThen<P> {
    first: Mutex<Option<Credentials>>,
    then: P,
}

impl<P: ProvideCredentials> ProvideCredentials for FirstThen<P> {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let reusable = self.first.lock().ok().and_then(|mut first| {
            let fresh = first
                .as_ref()
                .is_some_and(|c| c.expiry().is_none_or(|expiry| expiry > SystemTime::now() + REUSE_MARGIN));
            if fresh {
                first.clone()
            } else {
                first.take();
                None
            }
        });
        match reusable {
            Some(credentials) => future::ProvideCredentials::ready(Ok(credentials)),
            None => self.then.provide_credentials(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_follow_the_region() {
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of("eu-west-1"), "aws");
    }

    fn account(id: &str, state: Option<AccountState>, paths: &[&str]) -> Account {
        let mut builder = Account::builder().id(id).set_state(state);
        for path in paths {
            builder = builder.paths(*path);
        }
        builder.build()
    }

    #[test]
    fn only_active_accounts_under_the_units_are_swept() {
        let accounts = [
            account("111111111111", Some(AccountState::Active), &["o-x/r-ab12/ou-ab12-aaaaaaaa/"]),
            account("222222222222", Some(AccountState::Suspended), &["o-x/r-ab12/ou-ab12-aaaaaaaa/"]),
            account("333333333333", Some(AccountState::Active), &["o-x/r-ab12/ou-ab12-aaaaaaaa/ou-ab12-bbbbbbbb/"]),
            account("444444444444", Some(AccountState::Active), &["o-x/r-ab12/ou-ab12-cccccccc/"]),
            Account::builder().id("555555555555").status(AccountStatus::Active).build(),
        ];
        let units = vec!["ou-ab12-aaaaaaaa".to_owned()];
        assert_eq!(active_ids(accounts.iter().filter(|a| under(a, &units))), ["111111111111", "333333333333"]);
        assert_eq!(active_ids(accounts.iter()), ["111111111111", "333333333333", "444444444444", "555555555555"]);
    }

    #[tokio::test]
    async fn the_first_credentials_are_reused_until_they_near_their_expiry() {
        let fresh =
            Credentials::new("ASIAFIRST", "s", Some("t".into()), Some(SystemTime::now() + 2 * REUSE_MARGIN), "t");
        let provider =
            FirstThen { first: Mutex::new(Some(fresh)), then: Credentials::new("ASIATHEN", "s", None, None, "t") };
        let key = |c: aws_credential_types::provider::Result| c.map(|c| c.access_key_id().to_owned()).ok();
        assert_eq!(key(provider.provide_credentials().await).as_deref(), Some("ASIAFIRST"));
        let stale = Credentials::new("ASIAOLD", "s", None, Some(SystemTime::now() + REUSE_MARGIN / 2), "t");
        let provider = FirstThen { first: Mutex::new(Some(stale)), then: provider.then };
        assert_eq!(key(provider.provide_credentials().await).as_deref(), Some("ASIATHEN"));
        assert_eq!(key(provider.provide_credentials().await).as_deref(), Some("ASIATHEN"), "once stale, never again");
    }
}
