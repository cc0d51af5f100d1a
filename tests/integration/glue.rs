//! AWS Glue zero-ETL integrations end to end: the real Glue SDK client over HTTP against the emulator's Glue
//! (awsJson1.1, upper-case statuses), asserting what was deleted, what was kept and why, and what the call log saw.

use crate::common::*;
use emulator::{Fleet, Integration, OnDelete};
use replication_janitor::engine::report::Report;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// A Glue integration named `name` in us-east-1 (ARN number `n`), in `status`, created `age` ago.
fn glue(n: u64, name: &str, status: &str, age: Duration) -> Integration {
    let mut i = Integration::glue(REGION, n);
    i.integration_name = Some(name.to_owned());
    i.status = status.to_owned();
    i.create_time = SystemTime::now() - age;
    i
}

fn glue_fleet(integrations: Vec<Integration>) -> Fleet {
    Fleet { glue_integrations: integrations, ..Fleet::default() }
}

/// Only Glue, without its grace (no store here), plus `vars`.
fn only_glue<'a>(vars: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![("JANITOR_PROVIDERS", "glue"), ("JANITOR_GLUE_GRACE", "0")];
    all.retain(|(k, _)| !vars.iter().any(|(v, _)| v == k));
    all.extend_from_slice(vars);
    all
}

fn glue_deletes(emulator: &emulator::Emulator) -> Vec<String> {
    let calls = emulator.calls().into_iter().filter(|c| c.service == "glue" && c.operation == "DeleteIntegration");
    calls.map(|c| c.target.unwrap_or_default()).collect()
}

fn reason<'a>(report: &'a Report, name: &str) -> &'a str {
    &item(report, name).reason
}

/// The scene most tests share: one integration of each kind a user cares about.
fn mixed() -> Fleet {
    let mut protected = glue(5, "protected-failure", "FAILED", 3 * DAYS);
    protected.tags = BTreeMap::from([("janitor:protect".to_owned(), "yes".to_owned())]);
    glue_fleet(vec![
        glue(1, "saas-to-lake-failed", "FAILED", 3 * DAYS),
        glue(2, "needs-a-person", "NEEDS_ATTENTION", 3 * DAYS),
        glue(3, "fresh-failure", "FAILED", Duration::from_secs(600)),
        glue(4, "healthy", "ACTIVE", 30 * DAYS),
        protected,
        glue(6, "going-away", "DELETING", 3 * DAYS),
    ])
}

#[tokio::test]
async fn a_deleting_sweep_deletes_only_the_failed_glue_integration_and_says_why_it_kept_the_rest() {
    let emulator = emulator(mixed()).await;
    let report = sweep(&janitor(&emulator, &only_glue(&[("JANITOR_DRY_RUN", "false")])).await).await;

    assert_eq!(glue_deletes(&emulator), [Integration::glue_arn(REGION, 1)], "deleted by its ARN, nothing else");
    let expectations = [
        ("saas-to-lake-failed", "delete", "deleted"),
        ("needs-a-person", "healthy", "kept"),
        ("fresh-failure", "tooYoung", "kept"),
        ("healthy", "healthy", "kept"),
        ("protected-failure", "protected", "kept"),
        ("going-away", "inProgress", "kept"),
    ];
    for (name, verdict, outcome) in expectations {
        assert_eq!(fate(&report, name), (verdict.to_owned(), outcome.to_owned()), "{name}");
    }
    let deleted = item(&report, "saas-to-lake-failed");
    assert_eq!(deleted.id, Integration::glue_arn(REGION, 1));
    assert_eq!(deleted.kind, "glue-integration");
    assert_eq!(reason(&report, "protected-failure"), "protected by tag janitor:protect on the integration");
    let young = reason(&report, "fresh-failure");
    assert!(young.starts_with("created 10m") && young.ends_with(" ago, JANITOR_MIN_AGE is 1d"), "{young}");
    assert!(reason(&report, "needs-a-person").contains("FAILED"), "kept because only FAILED is asked for");
    let left: Vec<String> = emulator.fleet().glue_integrations.iter().map(|i| i.name().to_owned()).collect();
    assert_eq!(left.len(), 5, "{left:?}");
    assert!(!left.contains(&"saas-to-lake-failed".to_owned()));
    assert_eq!((report.totals.deleted, report.totals.protected, report.totals.too_young), (1, 1, 1));
}

#[tokio::test]
async fn needs_attention_is_deleted_only_when_asked_in_any_case() {
    let emulator = emulator(mixed()).await;
    let vars = only_glue(&[("JANITOR_DRY_RUN", "false"), ("JANITOR_GLUE_STATUSES", "failed,needs_attention")]);
    let report = sweep(&janitor(&emulator, &vars).await).await;
    assert_eq!(fate(&report, "needs-a-person"), ("delete".into(), "deleted".into()));
    assert_eq!(fate(&report, "saas-to-lake-failed"), ("delete".into(), "deleted".into()));
    let mut deleted = glue_deletes(&emulator);
    deleted.sort();
    assert_eq!(deleted, [Integration::glue_arn(REGION, 1), Integration::glue_arn(REGION, 2)]);
}

#[tokio::test]
async fn a_dry_run_deletes_nothing_and_says_what_it_would_delete() {
    let emulator = emulator(mixed()).await;
    let report = sweep(&janitor(&emulator, &only_glue(&[])).await).await;
    assert!(report.dry_run);
    assert_eq!(fate(&report, "saas-to-lake-failed"), ("delete".into(), "wouldDelete".into()));
    assert_eq!(report.totals.would_delete, 1);
    assert_eq!(glue_deletes(&emulator), Vec::<String>::new());
    assert_eq!(emulator.fleet().glue_integrations.len(), 6, "nothing was removed");
}

#[tokio::test]
async fn a_not_found_is_verified_and_wrong_states_are_skipped_not_failed() {
    let faults = [
        (11, "vanished", OnDelete::NotFound),
        (12, "claimed-gone", OnDelete::NotFoundButListed),
        (13, "busy", OnDelete::InvalidState),
        (14, "conflict", OnDelete::Conflict),
        (15, "forbidden", OnDelete::AccessDenied),
    ];
    let mut integrations: Vec<Integration> = faults
        .iter()
        .map(|(n, name, on_delete)| {
            let mut i = glue(*n, name, "FAILED", 2 * DAYS);
            i.on_delete = Some(*on_delete);
            i
        })
        .collect();
    integrations.push(glue(16, "fine", "FAILED", 2 * DAYS));
    let emulator = emulator(glue_fleet(integrations)).await;
    let vars = only_glue(&[("JANITOR_DRY_RUN", "false"), ("JANITOR_MAX_ATTEMPTS", "2")]);
    let report = sweep(&janitor(&emulator, &vars).await).await;

    assert_eq!(fate(&report, "fine"), ("delete".into(), "deleted".into()));
    assert_eq!(fate(&report, "vanished"), ("delete".into(), "alreadyGone".into()), "gone, and a describe agrees");
    let describes_of_vanished = emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation == "DescribeIntegrations" && c.target == Some(Integration::glue_arn(REGION, 11)))
        .count();
    assert_eq!(describes_of_vanished, 1, "one describe of that ARN checked the claim");
    assert_eq!(fate(&report, "claimed-gone"), ("delete".into(), "failed".into()));
    let error = item(&report, "claimed-gone").error.clone().unwrap_or_default();
    assert!(error.starts_with("DeleteIntegration answered IntegrationNotFoundFault"), "{error}");
    assert!(error.ends_with("but it is still listed with status FAILED"), "{error}");
    for (name, code) in [("busy", "InvalidIntegrationStateFault"), ("conflict", "IntegrationConflictOperationFault")] {
        assert_eq!(fate(&report, name), ("delete".into(), "skipped".into()), "{name}");
        let error = item(&report, name).error.clone().unwrap_or_default();
        assert!(error.starts_with(&format!("{code}: ")), "{name}: {error}");
    }
    assert_eq!(fate(&report, "forbidden"), ("delete".into(), "failed".into()));
    let error = item(&report, "forbidden").error.clone().unwrap_or_default();
    assert!(error.starts_with("access denied: the janitor's role may not call glue:DeleteIntegration on "), "{error}");
}

#[tokio::test]
async fn each_integration_is_judged_once_by_the_provider_its_arn_names() {
    let rds = integration("from-aurora", "failed", 3 * DAYS);
    let mut redshift = Integration::redshift(REGION, 21);
    redshift.integration_name = Some("from-dynamodb".to_owned());
    redshift.create_time = SystemTime::now() - 3 * DAYS;
    let fleet = Fleet {
        integrations: vec![rds],
        redshift_integrations: vec![redshift],
        glue_integrations: vec![glue(22, "from-saas", "FAILED", 3 * DAYS)],
        ..Fleet::default()
    };
    let emulator = emulator(fleet).await;
    let vars = [("JANITOR_PROVIDERS", "rds,redshift,glue"), ("JANITOR_GLUE_GRACE", "0"), ("JANITOR_DRY_RUN", "false")];
    let report = sweep(&janitor(&emulator, &vars).await).await;

    let judged: Vec<(String, String)> = report
        .sweeps
        .iter()
        .flat_map(|s| s.items.iter().map(move |i| (s.provider.to_string(), i.id.clone())))
        .collect();
    assert_eq!(judged.len(), 3, "each integration once: {judged:?}");
    for (provider, arn) in &judged {
        let service = arn.split(':').nth(2).unwrap_or_default();
        assert_eq!(provider, service, "{arn} was judged by {provider}");
    }
    assert_eq!(glue_deletes(&emulator), [Integration::glue_arn(REGION, 22)]);
    for name in ["from-aurora", "from-dynamodb", "from-saas"] {
        assert_eq!(fate(&report, name), ("delete".into(), "deleted".into()), "{name}");
    }
}

#[tokio::test]
async fn the_glue_grace_holds_a_failed_integration_until_it_has_been_seen_failed_that_long() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("first-seen.json").to_string_lossy().to_string();
    let emulator = emulator(glue_fleet(vec![glue(31, "broken", "FAILED", 3 * DAYS)])).await;
    let vars = only_glue(&[("JANITOR_DRY_RUN", "false"), ("JANITOR_GLUE_GRACE", "2s"), ("JANITOR_STATE_FILE", &state)]);
    let janitor = janitor(&emulator, &vars).await;

    let first = sweep(&janitor).await;
    assert_eq!(fate(&first, "broken"), ("waiting".into(), "kept".into()));
    assert!(reason(&first, "broken").ends_with("so far, JANITOR_GLUE_GRACE is 2s"), "{}", reason(&first, "broken"));
    assert_eq!(glue_deletes(&emulator), Vec::<String>::new());

    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let second = sweep(&janitor).await;
    assert_eq!(fate(&second, "broken"), ("delete".into(), "deleted".into()));
    assert_eq!(glue_deletes(&emulator), [Integration::glue_arn(REGION, 31)]);
}
