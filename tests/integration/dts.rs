//! The DTS sweep end to end: the janitor's own signed client over HTTP against the emulator, which verifies every
//! V3 signature. Same policy and error paths as the DMS and RDS sweeps. Where credentials come from a Secrets
//! Manager secret, the secret lives in moto's server.

use crate::common::{fate, item, items, sweep, DAYS};
use crate::moto::Moto;
use async_trait::async_trait;
use emulator::{
    count, DtsJob, DtsJobType, DtsOnDelete, DtsReverseJob, DtsTag, Emulator, Faults, Fleet, RateLimit,
    DTS_ACCESS_KEY_ID, DTS_ACCESS_KEY_SECRET,
};
use replication_janitor::app::janitor::Janitor;
use replication_janitor::config::Settings;
use replication_janitor::engine::calls::{Access, Caller, RetryPolicy};
use replication_janitor::engine::report::Report;
use replication_janitor::entry::startup;
use replication_janitor::providers::dts::{
    self, Credentials, CredentialsError, CredentialsSource, DtsClient, DtsJobs, DtsOptions,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

const REGION: &str = "cn-hangzhou";

/// A job named and identified `name`, created `age` ago.
fn job(name: &str, job_type: DtsJobType, status: &str, age: Duration) -> DtsJob {
    let mut j = DtsJob::new(REGION, name);
    j.dts_job_name = Some(name.to_owned());
    j.job_type = job_type;
    j.status = status.to_owned();
    j.create_time = SystemTime::now() - age;
    j
}

fn reverse_half(id: &str, status: &str) -> DtsReverseJob {
    DtsReverseJob {
        dts_job_id: id.to_owned(),
        dts_instance_id: None,
        dts_job_name: None,
        status: status.to_owned(),
        create_time: None,
        error_message: None,
        on_delete: None,
    }
}

fn protect(job: &mut DtsJob) {
    job.tag_list.push(DtsTag { tag_key: "janitor:protect".into(), tag_value: "true".into() });
}

fn fleet(jobs: Vec<DtsJob>) -> Fleet {
    Fleet { dts_jobs: jobs, ..Fleet::default() }
}

fn emulator_credentials() -> Credentials {
    Credentials::new(DTS_ACCESS_KEY_ID, DTS_ACCESS_KEY_SECRET, None)
}

/// Settings from `vars` only, with DTS enabled against `emulator`.
fn settings(emulator: &Emulator, vars: &[(&str, &str)]) -> Settings {
    let url = emulator.url();
    let mut all: Vec<(&str, &str)> =
        vec![("JANITOR_PROVIDERS", "dts"), ("JANITOR_DTS_REGIONS", REGION), ("JANITOR_DTS_ENDPOINT", &url)];
    all.extend_from_slice(crate::common::NO_GRACE);
    all.retain(|(k, _)| !vars.iter().any(|(v, _)| v == k));
    all.extend_from_slice(vars);
    Settings::parse(|name| all.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())).expect("valid settings")
}

/// A janitor with only the DTS plane, wired the way start-up wires it, with fast retries.
fn janitor_with(emulator: &Emulator, vars: &[(&str, &str)], credentials: Credentials) -> Janitor {
    let settings = settings(emulator, vars);
    let retry = RetryPolicy {
        max_attempts: settings.max_attempts,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(20),
    };
    let endpoint =
        settings.plane(dts::PROVIDER).and_then(|p| p.options::<DtsOptions>()).and_then(|o| o.endpoint.clone());
    let client = DtsClient::new(credentials, endpoint, Caller::new(retry, settings.concurrency));
    let plane = DtsJobs::new(client, settings.regions["alibaba"].clone(), settings.protect_tag.clone());
    Janitor::new(settings, vec![Arc::new(plane)])
}

fn janitor(emulator: &Emulator, vars: &[(&str, &str)]) -> Janitor {
    janitor_with(emulator, vars, emulator_credentials())
}

async fn start(jobs: Vec<DtsJob>) -> Emulator {
    Emulator::start(fleet(jobs)).await.expect("emulator starts")
}

/// The DtsJobId of every DeleteDtsJob call, sorted.
fn deleted(emulator: &Emulator) -> Vec<String> {
    let mut ids: Vec<String> = emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation == "DeleteDtsJob")
        .map(|c| c.target.unwrap_or_default())
        .collect();
    ids.sort();
    ids
}

fn remaining(emulator: &Emulator) -> Vec<String> {
    let mut ids: Vec<String> = emulator.fleet().dts_jobs.into_iter().map(|j| j.dts_job_id).collect();
    ids.sort();
    ids
}

fn error_of(report: &Report, name: &str) -> String {
    item(report, name).error.clone().unwrap_or_default()
}

#[tokio::test]
async fn describe_calls_are_paginated_to_the_end_for_every_job_type() {
    let mut jobs: Vec<DtsJob> =
        (0..70).map(|n| job(&format!("mig{n:02}"), DtsJobType::Migration, "Migrating", DAYS)).collect();
    jobs.extend((0..31).map(|n| job(&format!("sync{n:02}"), DtsJobType::Sync, "Synchronizing", DAYS)));
    let emulator = start(jobs).await;
    let report = sweep(&janitor(&emulator, &[])).await;
    assert_eq!(report.totals.scanned, 101, "{report:#?}");
    assert_eq!(report.totals.healthy, 101);
    // 70 migration jobs are 3 pages of 30, 31 sync jobs 2, and no change tracking job still 1 call.
    assert_eq!(count(&emulator.calls(), "DescribeDtsJobs"), 3 + 2 + 1);
    let mut names: Vec<&str> = items(&report).iter().map(|i| i.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 101, "every job exactly once");
    assert!(emulator.calls().iter().all(|c| c.service == "dts" && c.region == REGION && c.status == 200));
}

fn mixed_fleet() -> Vec<DtsJob> {
    let old = 3 * DAYS;
    let mut protected = job("sync-protected", DtsJobType::Sync, "Failed", old);
    protect(&mut protected);
    let mut two_way = job("two-way", DtsJobType::Sync, "Synchronizing", old);
    two_way.reverse_job = Some(reverse_half("two-way-rev", "Failed"));
    vec![
        job("mig-precheck", DtsJobType::Migration, "PrecheckFailed", old),
        job("mig-failed", DtsJobType::Migration, "MigrationFailed", old),
        job("mig-status-failed", DtsJobType::Migration, "Failed", old),
        job("mig-finished", DtsJobType::Migration, "Finished", old),
        job("sync-precheck", DtsJobType::Sync, "PrecheckFailed", old),
        job("sync-init", DtsJobType::Sync, "InitializeFailed", old),
        job("sync-failed", DtsJobType::Sync, "Failed", old),
        job("sync-young", DtsJobType::Sync, "Failed", Duration::from_secs(600)),
        protected,
        job("sync-running", DtsJobType::Sync, "Synchronizing", old),
        job("keep-sync-failed", DtsJobType::Sync, "Failed", old),
        two_way,
        job("sub-precheck", DtsJobType::Subscribe, "PrecheckFailed", old),
        job("sub-abnormal", DtsJobType::Subscribe, "Abnormal", old),
        job("sub-normal", DtsJobType::Subscribe, "Normal", old),
        job("sub-migration-failed", DtsJobType::Subscribe, "MigrationFailed", old),
    ]
}

const STALE: [&str; 8] = [
    "mig-failed",
    "mig-precheck",
    "sub-abnormal",
    "sub-precheck",
    "sync-failed",
    "sync-init",
    "sync-precheck",
    "two-way/reverse",
];

#[tokio::test]
async fn dry_run_makes_no_delete_call_and_reports_what_it_would_do() {
    let emulator = start(mixed_fleet()).await;
    let report = sweep(&janitor(&emulator, &[("JANITOR_EXCLUDE", "keep-*")])).await;
    assert!(report.dry_run);
    assert_eq!(count(&emulator.calls(), "DeleteDtsJob"), 0);
    for name in STALE {
        assert_eq!(fate(&report, name), ("delete".into(), "wouldDelete".into()), "{name}");
    }
    assert_eq!((report.totals.would_delete, report.totals.deleted), (8, 0));
    let before: Vec<(String, String)> = mixed_fleet().into_iter().map(|j| (j.dts_job_id, j.status)).collect();
    let after: Vec<(String, String)> =
        emulator.fleet().dts_jobs.into_iter().map(|j| (j.dts_job_id, j.status)).collect();
    assert_eq!(after, before, "nothing was touched");
    assert!(emulator.fleet().dts_jobs.iter().any(|j| j.reverse_job.is_some()));
}

#[tokio::test]
async fn a_deleting_sweep_deletes_exactly_the_failed_jobs_of_each_type() {
    let emulator = start(mixed_fleet()).await;
    let report = sweep(&janitor(&emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_EXCLUDE", "keep-*")])).await;
    assert!(!report.dry_run);
    let mut expected_calls: Vec<String> = STALE
        .iter()
        .map(|n| if *n == "two-way/reverse" { "two-way-rev".to_owned() } else { (*n).to_owned() })
        .collect();
    expected_calls.sort();
    assert_eq!(deleted(&emulator), expected_calls);
    for name in STALE {
        assert_eq!(fate(&report, name), ("delete".into(), "deleted".into()), "{name}");
    }
    let kept = [
        ("mig-status-failed", "healthy"),
        ("mig-finished", "healthy"),
        ("sync-young", "tooYoung"),
        ("sync-protected", "protected"),
        ("sync-running", "healthy"),
        ("keep-sync-failed", "excluded"),
        ("two-way", "healthy"),
        ("sub-normal", "healthy"),
        ("sub-migration-failed", "healthy"),
    ];
    for (name, verdict) in kept {
        assert_eq!(fate(&report, name), (verdict.to_owned(), "kept".to_owned()), "{name}");
    }
    assert_eq!(
        item(&report, "mig-status-failed").reason,
        "status Failed is not one of PrecheckFailed, MigrationFailed"
    );
    assert_eq!(
        item(&report, "sub-migration-failed").reason,
        "status MigrationFailed is not one of PrecheckFailed, Abnormal"
    );
    assert_eq!(item(&report, "sync-protected").reason, "protected by tag janitor:protect on the job");
    assert_eq!(item(&report, "keep-sync-failed").reason, "matches exclude pattern keep-*");
    let reason = &item(&report, "sync-young").reason;
    assert!(reason.starts_with("created 10m") && reason.ends_with(" ago, JANITOR_MIN_AGE is 1d"), "{reason}");
    assert!(item(&report, "mig-failed").reason.starts_with("MigrationFailed, created 3d"));
    assert_eq!(item(&report, "two-way/reverse").id, "two-way/reverse");
    assert_eq!(item(&report, "two-way/reverse").kind, "dts-job");
    assert_eq!(
        remaining(&emulator),
        [
            "keep-sync-failed",
            "mig-finished",
            "mig-status-failed",
            "sub-migration-failed",
            "sub-normal",
            "sync-protected",
            "sync-running",
            "sync-young",
            "two-way"
        ]
    );
    let two_way = emulator.fleet().dts_jobs.into_iter().find(|j| j.dts_job_id == "two-way").unwrap();
    assert!(two_way.reverse_job.is_none(), "the reverse half is gone, the forward half stays");
    let t = &report.totals;
    assert_eq!((t.scanned, t.stale, t.deleted, t.protected, t.too_young, t.excluded, t.failed), (17, 8, 8, 1, 1, 1, 0));
    assert!(!report.has_failures());
}

#[tokio::test]
async fn two_way_syncs_lose_a_forward_half_only_with_its_stale_reverse_half_and_after_it() {
    let mut reverse_failed = job("pair-a", DtsJobType::Sync, "Synchronizing", 2 * DAYS);
    reverse_failed.dts_instance_id = Some("dtspaira".into());
    reverse_failed.reverse_job = Some(DtsReverseJob {
        dts_instance_id: Some("dtspaira".into()),
        ..reverse_half("pair-a-rev", "InitializeFailed")
    });
    let mut forward_failed = job("pair-b", DtsJobType::Sync, "Failed", 2 * DAYS);
    forward_failed.reverse_job = Some(reverse_half("pair-b-rev", "Synchronizing"));
    let mut reverse_young = job("pair-c", DtsJobType::Sync, "Synchronizing", 2 * DAYS);
    reverse_young.reverse_job = Some(DtsReverseJob {
        create_time: Some(SystemTime::now() - Duration::from_secs(1200)),
        ..reverse_half("pair-c-rev", "Failed")
    });
    let mut both_failed = job("pair-d", DtsJobType::Sync, "Failed", 2 * DAYS);
    both_failed.reverse_job = Some(reverse_half("pair-d-rev", "Failed"));
    let emulator = start(vec![reverse_failed, forward_failed, reverse_young, both_failed]).await;
    let report = sweep(&janitor(&emulator, &[("JANITOR_DRY_RUN", "false")])).await;
    assert_eq!(fate(&report, "pair-a/reverse"), ("delete".into(), "deleted".into()));
    assert_eq!(fate(&report, "pair-a"), ("healthy".into(), "kept".into()));
    // Releasing a forward half may release its reverse half too (undocumented): a healthy reverse half holds it.
    assert_eq!(fate(&report, "pair-b"), ("held".into(), "kept".into()));
    assert!(
        item(&report, "pair-b").reason.starts_with("deleting it may also release pair-b/reverse, which is not stale"),
        "{}",
        item(&report, "pair-b").reason
    );
    assert_eq!(fate(&report, "pair-b/reverse"), ("healthy".into(), "kept".into()));
    assert_eq!(fate(&report, "pair-c/reverse"), ("tooYoung".into(), "kept".into()), "judged by its own CreateTime");
    assert_eq!(fate(&report, "pair-d/reverse"), ("delete".into(), "deleted".into()));
    assert_eq!(fate(&report, "pair-d"), ("delete".into(), "deleted".into()));
    // The emulator deletes a reverse half only when asked with SynchronizationDirection=Reverse (a forward
    // delete of the reverse job's id finds nothing), so "deleted" and this view prove the direction was sent.
    let jobs = emulator.fleet().dts_jobs;
    let pair_a = jobs.iter().find(|j| j.dts_job_id == "pair-a").expect("the forward half stays");
    assert!(pair_a.reverse_job.is_none());
    assert!(jobs.iter().any(|j| j.dts_job_id == "pair-b"), "a held forward half stays");
    assert!(jobs.iter().find(|j| j.dts_job_id == "pair-c").unwrap().reverse_job.is_some());
    assert!(!jobs.iter().any(|j| j.dts_job_id == "pair-d"));
    assert_eq!(deleted(&emulator), ["pair-a-rev", "pair-d", "pair-d-rev"]);
    let order: Vec<String> = emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation == "DeleteDtsJob")
        .filter_map(|c| c.target.filter(|t| t.starts_with("pair-d")))
        .collect();
    assert_eq!(order, ["pair-d-rev", "pair-d"], "the forward half goes after its reverse half");
    assert_eq!(report.totals.already_gone, 0, "no half is found gone by a race");
}

#[tokio::test]
async fn the_cap_deletes_the_first_stale_jobs_and_reports_the_rest() {
    let jobs = (0..5).map(|n| job(&format!("job{n}"), DtsJobType::Migration, "MigrationFailed", 2 * DAYS)).collect();
    let emulator = start(jobs).await;
    let report = sweep(&janitor(&emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_MAX_DELETES", "2")])).await;
    assert_eq!(deleted(&emulator).len(), 2);
    assert_eq!((report.totals.deleted, report.totals.capped, report.totals.stale), (2, 3, 5));
    assert_eq!(fate(&report, "job4"), ("capped".into(), "kept".into()));
    assert_eq!(item(&report, "job4").reason, "over JANITOR_MAX_DELETES=2 for this run; waits for the next run");
    assert_eq!(emulator.fleet().dts_jobs.len(), 3);
}

#[tokio::test]
async fn the_tripwire_deletes_nothing_when_too_many_jobs_are_stale() {
    let jobs = vec![
        job("a", DtsJobType::Sync, "Failed", 2 * DAYS),
        job("b", DtsJobType::Sync, "InitializeFailed", 2 * DAYS),
        job("c", DtsJobType::Subscribe, "Abnormal", 2 * DAYS),
        job("d", DtsJobType::Migration, "Finished", 2 * DAYS),
    ];
    let emulator = start(jobs).await;
    let vars = [("JANITOR_DRY_RUN", "false"), ("JANITOR_ABORT_ABOVE_PERCENT", "50")];
    let report = sweep(&janitor(&emulator, &vars)).await;
    assert_eq!(count(&emulator.calls(), "DeleteDtsJob"), 0);
    assert_eq!(fate(&report, "a"), ("aborted".into(), "kept".into()));
    assert!(item(&report, "a").reason.starts_with("tripwire: 3 of 4 scanned dts resources are stale (75.0%)"));
    assert!(report.sweeps[0].tripwire_tripped);
    assert_eq!(emulator.fleet().dts_jobs.len(), 4);
}

#[tokio::test]
async fn include_and_exclude_patterns_scope_the_sweep() {
    let mut by_id = job("orders-by-id", DtsJobType::Migration, "MigrationFailed", 2 * DAYS);
    by_id.dts_job_name = Some("unnamed".into());
    let jobs = vec![
        job("orders-a", DtsJobType::Migration, "MigrationFailed", 2 * DAYS),
        job("orders-prod", DtsJobType::Sync, "Failed", 2 * DAYS),
        job("billing-a", DtsJobType::Subscribe, "Abnormal", 2 * DAYS),
        by_id,
    ];
    let emulator = start(jobs).await;
    let vars = [("JANITOR_DRY_RUN", "false"), ("JANITOR_INCLUDE", "orders-*"), ("JANITOR_EXCLUDE", "*-prod")];
    let report = sweep(&janitor(&emulator, &vars)).await;
    assert_eq!(deleted(&emulator), ["orders-a", "orders-by-id"], "patterns match the job id as well as the name");
    assert_eq!(item(&report, "orders-prod").reason, "matches exclude pattern *-prod");
    assert_eq!(item(&report, "billing-a").reason, "matches no include pattern");
    assert_eq!(report.totals.excluded, 2);
}

#[tokio::test]
async fn delete_errors_become_per_item_outcomes_and_the_sweep_goes_on() {
    let failing = |name: &str, on_delete: DtsOnDelete| {
        let mut j = job(name, DtsJobType::Migration, "MigrationFailed", 2 * DAYS);
        j.on_delete = Some(on_delete);
        j
    };
    let jobs = vec![
        failing("vanished", DtsOnDelete::NotFound),
        failing("refused", DtsOnDelete::Business),
        failing("forbidden", DtsOnDelete::AccessDenied),
        failing("throttled", DtsOnDelete::Throttle),
        failing("expired", DtsOnDelete::ExpiredToken),
        job("fine", DtsJobType::Sync, "Failed", 2 * DAYS),
    ];
    let emulator = start(jobs).await;
    let report = sweep(&janitor(&emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_MAX_ATTEMPTS", "3")])).await;

    assert_eq!(fate(&report, "vanished"), ("delete".into(), "alreadyGone".into()));
    assert_eq!(fate(&report, "fine"), ("delete".into(), "deleted".into()));
    for name in ["refused", "forbidden", "throttled", "expired"] {
        assert_eq!(fate(&report, name), ("delete".into(), "failed".into()), "{name}");
    }
    assert_eq!(
        error_of(&report, "refused"),
        "InvalidParameter: The Value of Input Parameter DtsInstanceId is not valid."
    );
    assert_eq!(
        error_of(&report, "forbidden"),
        "access denied: the Alibaba Cloud credentials may not call dts:DeleteDtsJob on forbidden (Forbidden.RAM: \
         User not authorized to operate on the specified resource, or this API doesn't support RAM.)"
    );
    assert_eq!(
        error_of(&report, "throttled"),
        "DeleteDtsJob failed: Throttling.User: Request was denied due to user flow control. (gave up after 3 attempts)"
    );
    let expired = error_of(&report, "expired");
    assert!(
        expired.starts_with(
            "the Alibaba Cloud STS token has expired (InvalidSecurityToken.Expired: Specified SecurityToken is expired.)"
        ),
        "{expired}"
    );
    assert!(expired.contains("credentials from the environment are not read again"), "{expired}");
    let calls = emulator.calls();
    let attempts = |target: &str| calls.iter().filter(|c| c.target.as_deref() == Some(target)).count();
    assert_eq!(attempts("throttled"), 3, "a throttled delete is retried up to JANITOR_MAX_ATTEMPTS");
    assert_eq!(attempts("expired"), 1, "an expired token is not retried");
    assert_eq!(attempts("refused"), 1, "a business error is not retried");
    assert_eq!(report.totals.failed, 4);
    assert_eq!(report.totals.already_gone, 1);
    assert_eq!(report.totals.deleted, 1);
    assert!(report.has_failures());
    assert_eq!(remaining(&emulator), ["expired", "forbidden", "refused", "throttled"]);
}

#[tokio::test]
async fn random_throttling_and_server_errors_are_outlasted() {
    let jobs = (0..40)
        .map(|n| {
            let (job_type, status) = match n % 4 {
                0 => (DtsJobType::Migration, "MigrationFailed"),
                1 => (DtsJobType::Sync, "Failed"),
                2 => (DtsJobType::Subscribe, "Normal"),
                _ => (DtsJobType::Sync, "Synchronizing"),
            };
            job(&format!("job{n:02}"), job_type, status, 2 * DAYS)
        })
        .collect();
    let emulator = start(jobs).await;
    emulator.set_faults(Faults { throttle_rate: 0.3, error_rate: 0.1, seed: 7, ..Faults::default() });
    let report = sweep(&janitor(&emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_MAX_ATTEMPTS", "10")])).await;
    assert_eq!(report.totals.failed, 0, "{report:#?}");
    assert_eq!(report.totals.deleted + report.totals.already_gone, 20);
    assert_eq!(emulator.fleet().dts_jobs.len(), 20);
    let calls = emulator.calls();
    assert!(calls.iter().any(|c| c.status == 503 && c.error.as_deref() == Some("ServiceUnavailable")));
    // Some delete was throttled, retried with a fresh signature and nonce, and then went through.
    let retried_then_deleted = calls.iter().filter(|c| c.operation == "DeleteDtsJob").any(|c| {
        c.error.as_deref() == Some("Throttling.User")
            && calls.iter().any(|d| d.operation == "DeleteDtsJob" && d.target == c.target && d.status == 200)
    });
    assert!(retried_then_deleted, "{calls:#?}");
}

#[tokio::test]
async fn throttling_that_outlasts_the_retries_fails_the_scan_and_deletes_nothing() {
    let emulator = start(vec![job("stale", DtsJobType::Migration, "MigrationFailed", 2 * DAYS)]).await;
    emulator.set_faults(Faults { throttle_rate: 1.0, ..Faults::default() });
    let report = sweep(&janitor(&emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_MAX_ATTEMPTS", "2")])).await;
    assert_eq!(report.sweeps.len(), 1);
    assert_eq!(
        report.sweeps[0].error.as_deref(),
        Some(
            "DescribeDtsJobs in cn-hangzhou failed: MIGRATION jobs: Throttling.User: Request was denied due to user \
             flow control. (gave up after 2 attempts)"
        )
    );
    assert_eq!(count(&emulator.calls(), "DescribeDtsJobs"), 2);
    assert_eq!(count(&emulator.calls(), "DeleteDtsJob"), 0);
    assert!(report.has_failures());

    emulator.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    let report = sweep(&janitor(&emulator, &[("JANITOR_MAX_ATTEMPTS", "2")])).await;
    let error = report.sweeps[0].error.clone().unwrap_or_default();
    assert!(error.contains("failed: MIGRATION jobs: ServiceUnavailable: "), "{error}");
}

#[tokio::test]
async fn a_wrong_secret_fails_the_scan_with_the_signature_error_and_deletes_nothing() {
    let emulator = start(vec![job("stale", DtsJobType::Sync, "Failed", 2 * DAYS)]).await;
    let wrong = Credentials::new(DTS_ACCESS_KEY_ID, "not-the-emulator-secret", None);
    let report = sweep(&janitor_with(&emulator, &[("JANITOR_DRY_RUN", "false")], wrong)).await;
    let error = report.sweeps[0].error.clone().unwrap_or_default();
    assert!(
        error.starts_with("DescribeDtsJobs in cn-hangzhou failed: MIGRATION jobs: SignatureDoesNotMatch: Specified signature does not match our calculation."),
        "{error}"
    );
    assert!(error.contains("check that the AccessKey secret belongs to the AccessKey ID"), "{error}");
    assert_eq!(count(&emulator.calls(), "DescribeDtsJobs"), 1, "a rejected signature is not retried");
    assert_eq!(count(&emulator.calls(), "DeleteDtsJob"), 0);
    assert_eq!(report.totals.scanned, 0);
    assert!(report.has_failures());
    assert!(!serde_json::to_string(&report).unwrap().contains("not-the-emulator-secret"));

    let unknown = Credentials::new("LTAInobodyKnows", DTS_ACCESS_KEY_SECRET, None);
    let report = sweep(&janitor_with(&emulator, &[], unknown)).await;
    let error = report.sweeps[0].error.clone().unwrap_or_default();
    assert!(error.contains("InvalidAccessKeyId.NotFound: Specified access key is not found."), "{error}");
    assert_eq!(emulator.fleet().dts_jobs.len(), 1);
}

#[tokio::test]
async fn regions_are_swept_separately_and_reported_per_region() {
    let mut singapore = job("sg-failure", DtsJobType::Sync, "Failed", 2 * DAYS);
    singapore.region = "ap-southeast-1".into();
    let emulator = start(vec![job("hz-failure", DtsJobType::Sync, "Failed", 2 * DAYS), singapore]).await;
    let vars = [("JANITOR_DRY_RUN", "false"), ("JANITOR_DTS_REGIONS", "cn-hangzhou,ap-southeast-1")];
    let report = sweep(&janitor(&emulator, &vars)).await;
    let regions: Vec<(&str, usize)> = report.sweeps.iter().map(|s| (s.region.as_str(), s.counts.deleted)).collect();
    assert_eq!(regions, [("cn-hangzhou", 1), ("ap-southeast-1", 1)]);
    let mut deleted_in: Vec<(String, String)> = emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation == "DeleteDtsJob")
        .map(|c| (c.region, c.target.unwrap_or_default()))
        .collect();
    deleted_in.sort();
    assert_eq!(
        deleted_in,
        [("ap-southeast-1".to_owned(), "sg-failure".to_owned()), ("cn-hangzhou".to_owned(), "hz-failure".to_owned())]
    );
}

#[tokio::test]
async fn the_sample_fleet_tells_the_story_in_a_dry_run() {
    let emulator = Emulator::start(Fleet::sample()).await.expect("emulator starts");
    let report = sweep(&janitor(&emulator, &[("JANITOR_DTS_REGIONS", "cn-hangzhou,ap-southeast-1")])).await;
    let mut would: Vec<&str> =
        items(&report).into_iter().filter(|i| i.verdict.is_stale()).map(|i| i.name.as_str()).collect();
    would.sort_unstable();
    assert_eq!(
        would,
        [
            "billing-sync-initialize-failed-old",
            "crm-migration-failed-old",
            "orders-migration-precheck-failed-old",
            "orders-subscribe-abnormal-old",
            "sg-orders-sync-precheck-failed-old",
            "sg-subscribe-precheck-failed-old",
            "users-two-way-sync/reverse",
        ]
    );
    assert_eq!(fate(&report, "ledger-sync-failed-young").0, "tooYoung");
    assert_eq!(fate(&report, "audit-sync-failed-protected").0, "protected");
    assert_eq!(count(&emulator.calls(), "DeleteDtsJob"), 0);
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_reach_the_report_debug_output_or_logs() {
    const SECRET: &str = "Sup3r-Secret/Value+42";
    const TOKEN: &str = "STS.tok3n-Value-CAIS";
    const WRONG: &str = "Wr0ng-Secret/Value+43";
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut throttled = job("throttled", DtsJobType::Migration, "MigrationFailed", 2 * DAYS);
    throttled.on_delete = Some(DtsOnDelete::Throttle);
    let mut refused = job("refused", DtsJobType::Sync, "Failed", 2 * DAYS);
    refused.on_delete = Some(DtsOnDelete::Business);
    let fleet = Fleet {
        dts_jobs: vec![throttled, refused, job("fine", DtsJobType::Subscribe, "Abnormal", 2 * DAYS)],
        dts_access_keys: BTreeMap::from([("LTAItestKey".to_owned(), SECRET.to_owned())]),
        ..Fleet::default()
    };
    let emulator = Emulator::start(fleet).await.expect("emulator starts");
    let credentials = Credentials::new("LTAItestKey", SECRET, Some(TOKEN.to_owned()));
    let janitor =
        janitor_with(&emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_MAX_ATTEMPTS", "2")], credentials.clone());
    let report = sweep(&janitor).await;
    assert_eq!(fate(&report, "fine"), ("delete".into(), "deleted".into()), "the STS token is signed and accepted");
    assert_eq!((report.totals.deleted, report.totals.failed), (1, 2));
    let wrong = Credentials::new("LTAItestKey", WRONG, Some(TOKEN.to_owned()));
    let refused_report = sweep(&janitor_with(&emulator, &[], wrong.clone())).await;
    assert!(refused_report.sweeps[0].error.as_deref().unwrap_or_default().contains("SignatureDoesNotMatch"));

    let client = DtsClient::new(credentials.clone(), Some(emulator.url()), Caller::new(RetryPolicy::new(2), 8));
    let plane = DtsJobs::new(client.clone(), vec![REGION.to_owned()], "janitor:protect");
    let shown = [
        serde_json::to_string(&report).unwrap(),
        serde_json::to_string(&refused_report).unwrap(),
        report.to_table(),
        refused_report.to_table(),
        format!("{credentials:?}"),
        format!("{wrong:#?}"),
        format!("{client:?}"),
        format!("{plane:?}"),
    ];
    let captured = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(captured.contains("delete failed"), "logs were captured: {captured}");
    for (index, text) in shown.iter().chain([&captured]).enumerate() {
        for secret in [SECRET, TOKEN, WRONG] {
            assert!(!text.contains(secret), "{secret} leaked into output {index}: {text}");
        }
    }
}

/// A one-answer-per-connection HTTP server standing in for Secrets Manager: every request gets `status`, `headers`
/// and `body`. Returns its URL.
async fn secrets_manager_stub(status: u16, headers: &'static [(&'static str, &'static str)], body: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut chunk = [0_u8; 4096];
            // Read the head, then as much body as Content-Length says.
            while let Ok(n) = stream.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            let mut response = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                response.push_str(&format!("{k}: {v}\r\n"));
            }
            response.push_str("\r\n");
            response.push_str(&body);
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    url
}

fn secrets_manager(url: &str) -> aws_sdk_secretsmanager::Client {
    use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials as AwsCredentials, Region};
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(AwsCredentials::new("AKIDTEST", "aws-secret", None, None, "test"))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

#[tokio::test]
async fn credentials_come_from_a_secrets_manager_secret_and_errors_never_show_it() {
    const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:alibaba-AbCdEf";
    let secret =
        r#"{"AccessKeyId":"LTAIfromSecret","AccessKeySecret":"Fr0m-The-Secret","SecurityToken":"STS.from-secret"}"#;
    let body =
        serde_json::json!({"ARN": ARN, "Name": "alibaba", "VersionId": "v1", "SecretString": secret}).to_string();
    let url = secrets_manager_stub(200, &[], body).await;
    let credentials = Credentials::from_secrets_manager(&secrets_manager(&url), ARN).await.expect("credentials");
    assert_eq!(credentials, Credentials::new("LTAIfromSecret", "Fr0m-The-Secret", Some("STS.from-secret".into())));

    let partial =
        serde_json::json!({"ARN": ARN, "Name": "alibaba", "SecretString": r#"{"AccessKeySecret":"Fr0m-The-Secret"}"#});
    let url = secrets_manager_stub(200, &[], partial.to_string()).await;
    let error = Credentials::from_secrets_manager(&secrets_manager(&url), ARN).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("Alibaba Cloud credentials from Secrets Manager secret {ARN}: the secret has no ALIBABA_CLOUD_ACCESS_KEY_ID (or AccessKeyId)")
    );

    let denied = serde_json::json!({"__type": "AccessDeniedException", "message": "not authorized to perform secretsmanager:GetSecretValue"});
    let url = secrets_manager_stub(400, &[("x-amzn-errortype", "AccessDeniedException")], denied.to_string()).await;
    let error = Credentials::from_secrets_manager(&secrets_manager(&url), ARN).await.unwrap_err().to_string();
    assert!(
        error.starts_with(&format!(
            "Alibaba Cloud credentials from Secrets Manager secret {ARN}: GetSecretValue failed: AccessDeniedException"
        )),
        "{error}"
    );
    assert!(error.contains("needs secretsmanager:GetSecretValue on this secret"), "{error}");
    assert!(!error.contains("Fr0m-The-Secret"));
}

/// Jobs whose DeleteDtsJob answers a not-found code: gone only if DescribeDtsJobs no longer lists them.
#[tokio::test]
async fn a_not_found_answer_counts_as_gone_only_when_the_job_is_no_longer_listed() {
    let failing = |name: &str, on_delete: DtsOnDelete| {
        let mut j = job(name, DtsJobType::Migration, "MigrationFailed", 2 * DAYS);
        j.on_delete = Some(on_delete);
        j
    };
    let two_way = |name: &str, on_delete: DtsOnDelete| {
        let mut j = job(name, DtsJobType::Sync, "Synchronizing", 2 * DAYS);
        j.reverse_job =
            Some(DtsReverseJob { on_delete: Some(on_delete), ..reverse_half(&format!("{name}-rev"), "Failed") });
        j
    };
    let jobs = vec![
        failing("vanished", DtsOnDelete::NotFound),
        failing("ghost", DtsOnDelete::NotFoundButListed),
        two_way("pair-gone", DtsOnDelete::NotFound),
        two_way("pair-ghost", DtsOnDelete::NotFoundButListed),
    ];
    let emulator = start(jobs).await;
    let report = sweep(&janitor(&emulator, &[("JANITOR_DRY_RUN", "false")])).await;

    assert_eq!(fate(&report, "vanished"), ("delete".into(), "alreadyGone".into()));
    assert_eq!(fate(&report, "pair-gone/reverse"), ("delete".into(), "alreadyGone".into()));
    assert_eq!(fate(&report, "ghost"), ("delete".into(), "failed".into()));
    assert_eq!(
        error_of(&report, "ghost"),
        "DeleteDtsJob answered that job ghost does not exist (Forbidden.InstanceNotFound: The specified DTS job ghost \
         does not exist.), but DescribeDtsJobs still lists it (status MigrationFailed)"
    );
    assert_eq!(fate(&report, "pair-ghost/reverse"), ("delete".into(), "failed".into()));
    assert_eq!(
        error_of(&report, "pair-ghost/reverse"),
        "DeleteDtsJob answered that the reverse half pair-ghost-rev of job pair-ghost does not exist \
         (Forbidden.InstanceNotFound: The specified DTS job pair-ghost-rev does not exist.), but DescribeDtsJobs \
         still lists it (status Failed)"
    );
    assert_eq!((report.totals.already_gone, report.totals.failed, report.totals.deleted), (2, 2, 0));
    assert!(report.has_failures());
    // One look per not-found answer, at the forward job by DtsJobId.
    let mut looked_at: Vec<String> =
        emulator.calls().into_iter().filter(|c| c.operation == "DescribeDtsJobs").filter_map(|c| c.target).collect();
    looked_at.sort();
    assert_eq!(looked_at, ["ghost", "pair-ghost", "pair-gone", "vanished"]);
    assert_eq!(remaining(&emulator), ["ghost", "pair-ghost", "pair-gone"]);
}

#[tokio::test]
async fn a_not_found_answer_that_cannot_be_checked_fails_the_item() {
    let mut vanished = job("vanished", DtsJobType::Migration, "MigrationFailed", 2 * DAYS);
    vanished.on_delete = Some(DtsOnDelete::NotFound);
    let emulator = start(vec![vanished]).await;
    // The scan (one DescribeDtsJobs per job type) and the delete spend the four calls the account may make; the
    // look after the not-found answer is throttled, every time.
    emulator.set_faults(Faults { rate_limit: Some(RateLimit { per_second: 0.0, burst: 4 }), ..Faults::default() });
    let report = sweep(&janitor(&emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_MAX_ATTEMPTS", "2")])).await;
    assert_eq!(fate(&report, "vanished"), ("delete".into(), "failed".into()));
    assert_eq!(
        error_of(&report, "vanished"),
        "DeleteDtsJob answered that job vanished does not exist (Forbidden.InstanceNotFound: The specified DTS job \
         vanished does not exist.), but its absence could not be verified: DescribeDtsJobs in cn-hangzhou failed: \
         MIGRATION jobs: Throttling.User: Request was denied due to user flow control. (gave up after 2 attempts)"
    );
    assert_eq!(report.totals.already_gone, 0);
    assert_eq!(count(&emulator.calls(), "DescribeDtsJobs"), 3 + 2);
}

const OLD_SECRET: &str = "0ld-Secret/Value+1";
const NEW_SECRET: &str = "N3w-Secret/Value+2";

/// An emulator that knows two AccessKey pairs (an STS token comes with a pair of its own), with `jobs`.
async fn start_with_two_keys(jobs: Vec<DtsJob>) -> Emulator {
    let fleet = Fleet {
        dts_jobs: jobs,
        dts_access_keys: BTreeMap::from([
            ("STS.oldKey".to_owned(), OLD_SECRET.to_owned()),
            ("STS.newKey".to_owned(), NEW_SECRET.to_owned()),
        ]),
        ..Fleet::default()
    };
    Emulator::start(fleet).await.expect("emulator starts")
}

/// From now on the emulator refuses `tokens` as expired.
fn expire(emulator: &Emulator, tokens: &[&str]) {
    let mut fleet = emulator.fleet();
    fleet.dts_expired_tokens.extend(tokens.iter().map(|t| (*t).to_owned()));
    emulator.set_fleet(fleet);
}

/// The secret's JSON for STS credentials.
fn sts_secret(key: &str, secret: &str, token: &str) -> String {
    serde_json::json!({"AccessKeyId": key, "AccessKeySecret": secret, "SecurityToken": token}).to_string()
}

async fn create_secret(client: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    let created = client.create_secret().name("alibaba-dts").secret_string(value).send().await.expect("CreateSecret");
    created.arn().expect("an ARN").to_owned()
}

async fn put_secret(client: &aws_sdk_secretsmanager::Client, arn: &str, value: &str) {
    client.put_secret_value().secret_id(arn).secret_string(value).send().await.expect("PutSecretValue");
}

/// How many requests moto has answered (each SDK call is one `POST /`).
fn moto_requests(moto: &Moto) -> usize {
    moto.log().matches("\"POST / HTTP/1.1\"").count()
}

/// A janitor built by start-up itself, reading its DTS credentials from the secret `arn` in moto.
async fn janitor_from_secret(emulator: &Emulator, moto: &Moto, arn: &str, vars: &[(&str, &str)]) -> Janitor {
    use aws_config::{BehaviorVersion, Region};
    let mut all = vec![("JANITOR_DTS_SECRET_ARN", arn)];
    all.extend_from_slice(vars);
    let settings = settings(emulator, &all);
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(moto.url())
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new("testing", "testing", None, None, "t"))
        .load()
        .await;
    startup::janitor_with(&sdk, settings, None, replication_janitor::engine::calls::RetryPolicy::new(2))
        .await
        .expect("janitor")
}

/// The outcome of each DTS call, oldest first.
fn outcomes(emulator: &Emulator) -> Vec<(String, Option<String>)> {
    emulator.calls().into_iter().map(|c| (c.operation, c.error)).collect()
}

fn expired_call(operation: &str) -> (String, Option<String>) {
    (operation.to_owned(), Some("InvalidSecurityToken.Expired".to_owned()))
}

#[tokio::test]
async fn an_expired_sts_token_is_read_again_from_the_secret_and_the_sweep_goes_on() {
    let moto = Moto::start();
    let secrets = secrets_manager(&moto.url());
    let arn = create_secret(&secrets, &sts_secret("STS.oldKey", OLD_SECRET, "STS.old-token")).await;
    let emulator = start_with_two_keys(vec![
        job("stale", DtsJobType::Migration, "MigrationFailed", 2 * DAYS),
        job("running", DtsJobType::Sync, "Synchronizing", 2 * DAYS),
    ])
    .await;
    let janitor = janitor_from_secret(&emulator, &moto, &arn, &[("JANITOR_DRY_RUN", "false")]).await;

    // The warm Lambda outlives its token: it expires, and the secret is renewed meanwhile.
    expire(&emulator, &["STS.old-token"]);
    put_secret(&secrets, &arn, &sts_secret("STS.newKey", NEW_SECRET, "STS.new-token")).await;
    let requests = moto_requests(&moto);
    let report = sweep(&janitor).await;

    assert!(!report.has_failures(), "{report:#?}");
    assert_eq!(fate(&report, "stale"), ("delete".into(), "deleted".into()));
    assert_eq!(fate(&report, "running"), ("healthy".into(), "kept".into()));
    assert_eq!(moto_requests(&moto) - requests, 1, "the secret was read again once: {}", moto.log());
    let calls = outcomes(&emulator);
    assert_eq!(calls[0], expired_call("DescribeDtsJobs"));
    assert!(calls[1..].iter().all(|(_, error)| error.is_none()), "{calls:?}");
    assert_eq!(count(&emulator.calls(), "DescribeDtsJobs"), 1 + 3, "the expired call was retried once");
    assert_eq!(remaining(&emulator), ["running"]);

    // The renewed credentials stay in use: the next sweep reads nothing.
    emulator.clear_calls();
    let requests = moto_requests(&moto);
    assert!(!sweep(&janitor).await.has_failures());
    assert_eq!(moto_requests(&moto), requests);
    assert!(outcomes(&emulator).iter().all(|(_, error)| error.is_none()));
}

#[tokio::test]
async fn a_token_that_stays_expired_or_a_secret_that_cannot_be_read_fails_clearly() {
    let moto = Moto::start();
    let secrets = secrets_manager(&moto.url());
    let arn = create_secret(&secrets, &sts_secret("STS.oldKey", OLD_SECRET, "STS.old-token")).await;
    let emulator = start_with_two_keys(vec![job("stale", DtsJobType::Migration, "MigrationFailed", 2 * DAYS)]).await;
    let janitor = janitor_from_secret(&emulator, &moto, &arn, &[("JANITOR_DRY_RUN", "false")]).await;
    let scan_error = |report: &Report| report.sweeps[0].error.clone().unwrap_or_default();
    let mut shown = Vec::new();

    // Not renewed: the secret still holds the token that just expired. One reading, and no retry with it.
    expire(&emulator, &["STS.old-token"]);
    let requests = moto_requests(&moto);
    let report = sweep(&janitor).await;
    assert_eq!(
        scan_error(&report),
        format!(
            "DescribeDtsJobs in cn-hangzhou failed: MIGRATION jobs: the Alibaba Cloud STS token in Secrets Manager \
             secret {arn} has expired and must be renewed (InvalidSecurityToken.Expired: Specified SecurityToken is \
             expired.); read again, it still holds an expired token"
        )
    );
    assert_eq!(moto_requests(&moto) - requests, 1);
    assert_eq!(outcomes(&emulator), [expired_call("DescribeDtsJobs")]);
    shown.push(serde_json::to_string(&report).unwrap());

    // Renewed with a token that has already expired too: read, retried once, still expired.
    put_secret(&secrets, &arn, &sts_secret("STS.newKey", NEW_SECRET, "STS.stale-token")).await;
    expire(&emulator, &["STS.stale-token"]);
    emulator.clear_calls();
    let requests = moto_requests(&moto);
    let report = sweep(&janitor).await;
    assert!(scan_error(&report).ends_with("has expired and must be renewed (InvalidSecurityToken.Expired: Specified SecurityToken is expired.); read again, it still holds an expired token"), "{report:#?}");
    assert_eq!(moto_requests(&moto) - requests, 1);
    assert_eq!(outcomes(&emulator), [expired_call("DescribeDtsJobs"), expired_call("DescribeDtsJobs")]);
    shown.push(serde_json::to_string(&report).unwrap());

    // The secret is gone: reading it again fails, and the message says why.
    secrets.delete_secret().secret_id(&arn).force_delete_without_recovery(true).send().await.expect("DeleteSecret");
    emulator.clear_calls();
    let report = sweep(&janitor).await;
    let error = scan_error(&report);
    assert!(
        error.starts_with(&format!(
            "DescribeDtsJobs in cn-hangzhou failed: MIGRATION jobs: the Alibaba Cloud STS token in Secrets Manager \
             secret {arn} has expired and must be renewed (InvalidSecurityToken.Expired: Specified SecurityToken is \
             expired.); reading it again failed: GetSecretValue failed: ResourceNotFoundException"
        )),
        "{error}"
    );
    assert_eq!(outcomes(&emulator), [expired_call("DescribeDtsJobs")]);
    shown.push(serde_json::to_string(&report).unwrap());

    assert_eq!(count(&emulator.calls(), "DeleteDtsJob"), 0);
    assert_eq!(remaining(&emulator), ["stale"]);
    for text in shown {
        for secret in [OLD_SECRET, NEW_SECRET, "STS.old-token", "STS.stale-token"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
}

/// A credentials source that counts its readings and always holds `credentials`.
struct CountingSource {
    credentials: Credentials,
    reads: AtomicUsize,
}

#[async_trait]
impl CredentialsSource for CountingSource {
    fn origin(&self) -> String {
        "the counting source".to_owned()
    }

    async fn read(&self) -> Result<Credentials, CredentialsError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        Ok(self.credentials.clone())
    }
}

#[tokio::test]
async fn many_calls_failing_at_once_on_an_expired_token_read_the_credentials_once() {
    let emulator = start_with_two_keys(vec![job("j", DtsJobType::Migration, "Migrating", 2 * DAYS)]).await;
    expire(&emulator, &["STS.old-token"]);
    let source = Arc::new(CountingSource {
        credentials: Credentials::new("STS.newKey", NEW_SECRET, Some("STS.new-token".into())),
        reads: AtomicUsize::new(0),
    });
    let client = DtsClient::new(
        Credentials::new("STS.oldKey", OLD_SECRET, Some("STS.old-token".into())),
        Some(emulator.url()),
        Caller::new(RetryPolicy::new(1), 8),
    )
    .reread_on_expiry(Arc::clone(&source) as Arc<dyn CredentialsSource>);
    let clone = client.clone();
    let params = [("Region", REGION.to_owned())];
    // Every call signs with the old token before any answer comes back (each future runs to its first request on
    // its first poll); half of them through a clone, which shares the credentials.
    let answers = futures::future::join_all((0..8).map(|n| {
        let client = if n % 2 == 0 { &client } else { &clone };
        client.call(REGION, Access::Read, "DescribeDtsJobs", &params)
    }))
    .await;
    assert!(answers.iter().all(|a| a.as_ref().is_ok_and(|json| json["TotalRecordCount"] == 1)), "{answers:?}");
    assert_eq!(source.reads.load(Ordering::SeqCst), 1);
    let calls = outcomes(&emulator);
    assert_eq!(calls.iter().filter(|c| **c == expired_call("DescribeDtsJobs")).count(), 8);
    assert_eq!(calls.iter().filter(|(_, error)| error.is_none()).count(), 8);
}
