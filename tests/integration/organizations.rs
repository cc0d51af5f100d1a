//! An organization run over real HTTP: the janitor lists the organization's accounts (Organizations), assumes the
//! member role in each (STS, through aws-config's own provider), and sweeps each account's fleet with those
//! credentials; an account whose role cannot be assumed is reported and the others go on.

use crate::common::*;
use emulator::{Fleet, OrgAccount, Organization, StsPolicy, MANAGEMENT_ACCOUNT};
use replication_janitor::domain::resource::ErrorClass;
use std::collections::BTreeSet;

pub const A: &str = "111111111111";
pub const B: &str = "222222222222";
pub const DENIED: &str = "333333333333";
pub const OU: &str = "ou-abcd-aaaaaaaa";
pub const ROLE: &str = "ReplicationJanitorMember";

/// A stale connection and a stale integration per member account, and the same in the management account (which
/// an organization run does not sweep unless it is one of the accounts).
pub fn organization() -> Fleet {
    let member = Fleet {
        connections: vec![connection("broken", "ri", "failed")],
        integrations: vec![integration("old-failure", "failed", 2 * DAYS)],
        ..Fleet::default()
    };
    let mut accounts = vec![OrgAccount::new(MANAGEMENT_ACCOUNT, "management", "r-root")];
    accounts.extend([A, B, DENIED].iter().map(|id| OrgAccount::new(id, &format!("member-{id}"), OU)));
    Fleet {
        member_accounts: [A, B, DENIED].iter().map(|id| (id.to_string(), member.in_account(id))).collect(),
        sts: StsPolicy {
            member_role: Some(ROLE.to_owned()),
            denied_accounts: BTreeSet::from([DENIED.to_owned()]),
            ..StsPolicy::default()
        },
        organization: Some(Organization { id: "o-abcdef1234".to_owned(), root_id: "r-root".to_owned(), accounts }),
        ..member.clone()
    }
}

/// The accounts the emulator's deletes acted in, in order.
fn deleted_in(emulator: &emulator::Emulator) -> Vec<(String, String)> {
    let mut deleted: Vec<(String, String)> = emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation.starts_with("Delete") && c.status == 200)
        .map(|c| (c.account, c.operation))
        .collect();
    deleted.sort();
    deleted
}

#[tokio::test]
async fn every_member_account_is_swept_through_its_role_and_a_denied_one_is_reported() {
    let emulator = emulator(organization()).await;
    let vars = [("JANITOR_DRY_RUN", "false"), ("JANITOR_MEMBER_ROLE", ROLE), ("JANITOR_ORGANIZATIONAL_UNITS", OU)];
    let janitor = janitor(&emulator, &vars).await;
    let report = janitor.sweep(&janitor.configured_request("schedule")).await;

    let expected: Vec<(String, String)> = [A, B]
        .iter()
        .flat_map(|a| [(a.to_string(), "DeleteConnection".to_owned()), (a.to_string(), "DeleteIntegration".to_owned())])
        .collect();
    assert_eq!(deleted_in(&emulator), expected, "each member's own resources, in its own account");
    let fleet = emulator.fleet();
    assert_eq!(fleet.connections.len(), 1, "the management account is not one of the swept accounts");
    assert_eq!(fleet.member_accounts[DENIED].connections.len(), 1);
    assert!(fleet.member_accounts[A].connections.is_empty());

    let summaries: Vec<(&str, usize, bool)> =
        report.accounts.iter().map(|a| (a.account.as_str(), a.totals.deleted, a.error.is_some())).collect();
    assert_eq!(summaries, [(A, 2, false), (B, 2, false), (DENIED, 0, true)]);
    let denied = report.accounts[2].error.as_deref().unwrap_or_default();
    assert!(
        denied.starts_with(
            "could not assume arn:aws:iam::333333333333:role/ReplicationJanitorMember: AccessDenied: User: "
        ) && denied.ends_with("is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::333333333333:role/ReplicationJanitorMember"),
        "STS's own code and message, nothing more: {denied}"
    );
    assert_eq!((report.totals.deleted, report.totals.failed), (4, 1));
    let classes: Vec<_> = report.totals.failed_by_class.iter().map(|(c, n)| (*c, *n)).collect();
    assert_eq!(classes, [(ErrorClass::Denied, 1)], "STS's AccessDenied is a denial, for the FailedDenied metric");
    let swept: BTreeSet<(&str, &str)> =
        report.sweeps.iter().map(|s| (s.account.as_deref().unwrap_or_default(), s.provider.as_str())).collect();
    assert_eq!(swept, BTreeSet::from([(A, "dms"), (A, "rds"), (B, "dms"), (B, "rds")]));
    let assumed = emulator.calls().iter().filter(|c| c.operation == "AssumeRole").count();
    assert_eq!(assumed, 3, "one AssumeRole per account: the check's credentials are the clients' too");
}

#[tokio::test]
async fn listed_accounts_need_no_organization_and_a_payload_narrows_them() {
    let emulator = emulator(Fleet { organization: None, ..organization() }).await;
    let vars = [("JANITOR_MEMBER_ROLE", ROLE), ("JANITOR_ACCOUNTS", "111111111111,222222222222")];
    let janitor = janitor(&emulator, &vars).await;
    let payload = serde_json::json!({"accounts": [B]});
    let report = janitor.handle(payload, None, None).await.expect("a narrowed dry run");
    assert!(report.dry_run);
    assert_eq!(report.accounts.iter().map(|a| a.account.as_str()).collect::<Vec<_>>(), [B]);
    assert_eq!(report.totals.would_delete, 2);
    assert!(emulator.calls().iter().all(|c| c.operation != "ListAccounts"), "listed accounts are not discovered");
    assert!(emulator.calls().iter().filter(|c| c.service != "sts").all(|c| c.account == B));
}
