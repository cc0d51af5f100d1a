//! The sweep end to end: the real SDK over HTTP against the emulator, asserting what was deleted, what was kept
//! and why, and what the call log saw.

use crate::common::*;
use emulator::{count, Faults, Fleet, OnDelete};
use replication_janitor::engine::policy::Verdict;
use replication_janitor::engine::report::Outcome;
use replication_janitor::providers::{dms, rds};
use std::collections::BTreeMap;
use std::time::Duration;

fn protect(fleet: &mut Fleet, arn: String) {
    fleet.tags.insert(arn, BTreeMap::from([("janitor:protect".to_owned(), "yes".to_owned())]));
}

#[tokio::test]
async fn describe_calls_are_paginated_to_the_end() {
    let fleet = Fleet {
        connections: (0..250).map(|n| connection(&format!("ep{n}"), "ri", "successful")).collect(),
        integrations: (0..230).map(|n| integration(&format!("int{n}"), "active", DAYS)).collect(),
        ..Fleet::default()
    };
    let emulator = emulator(fleet).await;
    let report = sweep(&janitor(&emulator, &[]).await).await;
    assert_eq!(report.totals.scanned, 480);
    assert_eq!(report.totals.healthy, 480);
    let calls = emulator.calls();
    assert_eq!(count(&calls, "DescribeConnections"), 3);
    assert_eq!(count(&calls, "DescribeIntegrations"), 3);
    let mut names: Vec<&str> = items(&report).iter().map(|i| i.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 480, "every resource exactly once");
}

fn mixed_fleet() -> Fleet {
    let mut fleet = Fleet {
        connections: vec![
            connection("src-pg", "ri-1", "failed"),
            connection("src-mysql", "ri-1", "successful"),
            connection("dst-s3", "ri-1", "testing"),
            connection("old-oracle", "ri-2", "deleting"),
            connection("src-keep", "ri-1", "failed"),
            connection("src-on-kept-instance", "ri-kept", "failed"),
        ],
        integrations: vec![
            integration("orders-to-redshift", "failed", 3 * DAYS),
            integration("fresh-failure", "failed", Duration::from_secs(600)),
            integration("billing-live", "active", 30 * DAYS),
            integration("needs-a-person", "needs_attention", 3 * DAYS),
            integration("going-away", "deleting", 3 * DAYS),
            integration("protected-failure", "failed", 3 * DAYS),
        ],
        ..Fleet::default()
    };
    protect(&mut fleet, endpoint_arn(REGION, "src-keep"));
    protect(&mut fleet, instance_arn(REGION, "ri-kept"));
    fleet.integrations[5].tags.insert("janitor:protect".into(), "true".into());
    fleet
}

#[tokio::test]
async fn dry_run_makes_no_delete_call_and_reports_what_it_would_do() {
    let emulator = emulator(mixed_fleet()).await;
    let report = sweep(&janitor(&emulator, &[]).await).await;
    assert!(report.dry_run);
    assert_eq!(deletes(&emulator), Vec::<String>::new());
    assert_eq!(fate(&report, "src-pg@ri-1"), ("delete".into(), "wouldDelete".into()));
    assert_eq!(fate(&report, "orders-to-redshift"), ("delete".into(), "wouldDelete".into()));
    assert_eq!(report.totals.would_delete, 2);
    assert_eq!(report.totals.deleted, 0);
    assert_eq!(emulator.fleet().connections.len(), 6, "nothing was removed");
}

#[tokio::test]
async fn a_deleting_sweep_deletes_only_what_the_policy_finds_stale() {
    let emulator = emulator(mixed_fleet()).await;
    let report = sweep(&janitor(&emulator, &[("JANITOR_DRY_RUN", "false")]).await).await;
    assert!(!report.dry_run);
    let mut deleted = deletes(&emulator);
    deleted.sort();
    // DeleteIntegration names the integration by its id (the ARN's last segment), as AWS's examples do.
    assert_eq!(deleted, [endpoint_arn(REGION, "src-pg"), "orders-to-redshift".to_owned()]);
    let expectations = [
        ("src-pg@ri-1", "delete", "deleted"),
        ("src-mysql@ri-1", "healthy", "kept"),
        ("dst-s3@ri-1", "healthy", "kept"),
        ("old-oracle@ri-2", "inProgress", "kept"),
        ("src-keep@ri-1", "protected", "kept"),
        ("src-on-kept-instance@ri-kept", "protected", "kept"),
        ("orders-to-redshift", "delete", "deleted"),
        ("fresh-failure", "tooYoung", "kept"),
        ("billing-live", "healthy", "kept"),
        ("needs-a-person", "healthy", "kept"),
        ("going-away", "inProgress", "kept"),
        ("protected-failure", "protected", "kept"),
    ];
    for (name, verdict, outcome) in expectations {
        assert_eq!(fate(&report, name), (verdict.to_owned(), outcome.to_owned()), "{name}");
    }
    assert_eq!(
        item(&report, "src-keep@ri-1").reason,
        format!("protected by tag janitor:protect on endpoint {}", endpoint_arn(REGION, "src-keep"))
    );
    assert_eq!(
        item(&report, "src-on-kept-instance@ri-kept").reason,
        format!("protected by tag janitor:protect on replication instance {}", instance_arn(REGION, "ri-kept"))
    );
    assert_eq!(item(&report, "protected-failure").reason, "protected by tag janitor:protect on the integration");
    let reason = &item(&report, "fresh-failure").reason;
    assert!(reason.starts_with("created 10m") && reason.ends_with(" ago, JANITOR_MIN_AGE is 1d"), "{reason}");
    let fleet = emulator.fleet();
    assert!(!fleet.connections.iter().any(|c| c.endpoint_arn == endpoint_arn(REGION, "src-pg")));
    assert_eq!(fleet.integrations.len(), 5);
    assert_eq!((report.totals.deleted, report.totals.protected, report.totals.too_young), (2, 3, 1));
}

#[tokio::test]
async fn needs_attention_is_deleted_only_when_asked() {
    let emulator = emulator(mixed_fleet()).await;
    let janitor = janitor(
        &emulator,
        &[
            ("JANITOR_DRY_RUN", "false"),
            ("JANITOR_RDS_STATUSES", "failed,needs_attention"),
            ("JANITOR_PROVIDERS", "rds"),
        ],
    )
    .await;
    let report = sweep(&janitor).await;
    assert_eq!(fate(&report, "needs-a-person"), ("delete".into(), "deleted".into()));
    assert_eq!(count(&emulator.calls(), "DescribeConnections"), 0, "dms was not enabled");
}

#[tokio::test]
async fn delete_errors_become_per_item_outcomes_and_the_sweep_goes_on() {
    let mut fleet = Fleet {
        connections: vec![
            connection("vanished", "ri", "failed"),
            connection("busy", "ri", "failed"),
            connection("forbidden", "ri", "failed"),
            connection("throttled", "ri", "failed"),
            connection("endpoint-denied", "ri", "failed"),
            connection("claimed-gone", "ri", "failed"),
            connection("fine", "ri", "failed"),
        ],
        integrations: vec![
            integration("int-vanished", "failed", 2 * DAYS),
            integration("int-busy", "failed", 2 * DAYS),
            integration("int-conflict", "failed", 2 * DAYS),
            integration("int-forbidden", "failed", 2 * DAYS),
            integration("int-claimed-gone", "failed", 2 * DAYS),
            integration("int-fine", "failed", 2 * DAYS),
        ],
        ..Fleet::default()
    };
    let connection_faults = [
        OnDelete::NotFound,
        OnDelete::InvalidState,
        OnDelete::AccessDenied,
        OnDelete::Throttle,
        OnDelete::EndpointAccessDenied,
        OnDelete::NotFoundButListed,
    ];
    for (index, on_delete) in connection_faults.into_iter().enumerate() {
        fleet.connections[index].on_delete = Some(on_delete);
    }
    let integration_faults = [
        OnDelete::NotFound,
        OnDelete::InvalidState,
        OnDelete::Conflict,
        OnDelete::AccessDenied,
        OnDelete::NotFoundButListed,
    ];
    for (index, on_delete) in integration_faults.into_iter().enumerate() {
        fleet.integrations[index].on_delete = Some(on_delete);
    }
    let emulator = emulator(fleet).await;
    let report = sweep(&janitor(&emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_MAX_ATTEMPTS", "3")]).await).await;

    assert_eq!(fate(&report, "vanished@ri"), ("delete".into(), "alreadyGone".into()));
    assert_eq!(fate(&report, "int-vanished"), ("delete".into(), "alreadyGone".into()));
    assert_eq!(fate(&report, "busy@ri"), ("delete".into(), "skipped".into()));
    assert!(item(&report, "busy@ri").error.as_deref().unwrap_or_default().starts_with("InvalidResourceStateFault: "));
    assert_eq!(fate(&report, "int-busy"), ("delete".into(), "skipped".into()));
    assert!(item(&report, "int-busy")
        .error
        .as_deref()
        .unwrap_or_default()
        .starts_with("InvalidIntegrationStateFault: "));
    assert_eq!(fate(&report, "int-conflict"), ("delete".into(), "skipped".into()));
    assert!(item(&report, "int-conflict")
        .error
        .as_deref()
        .unwrap_or_default()
        .starts_with("IntegrationConflictOperationFault: "));
    for name in ["forbidden@ri", "int-forbidden"] {
        assert_eq!(fate(&report, name), ("delete".into(), "failed".into()), "{name}");
        let error = item(&report, name).error.clone().unwrap_or_default();
        assert!(error.starts_with("access denied: the janitor's role may not call "), "{error}");
    }
    assert!(item(&report, "int-forbidden").error.as_deref().unwrap_or_default().contains("rds:DeleteIntegration"));
    let throttled = item(&report, "throttled@ri").error.clone().unwrap_or_default();
    assert_eq!(fate(&report, "throttled@ri").1, "failed");
    assert!(throttled.contains("ThrottlingException"), "{throttled}");
    assert_eq!(fate(&report, "fine@ri"), ("delete".into(), "deleted".into()));
    assert_eq!(fate(&report, "int-fine"), ("delete".into(), "deleted".into()));
    // DMS's AccessDeniedFault is DMS's own access to the endpoint, not the janitor's role.
    assert_eq!(fate(&report, "endpoint-denied@ri"), ("delete".into(), "failed".into()));
    let denied = item(&report, "endpoint-denied@ri").error.clone().unwrap_or_default();
    assert!(denied.contains("AWS DMS was denied access to the endpoint (its role toward the endpoint"), "{denied}");
    // A not-found answer is checked: what is still listed is a failure, never already gone.
    for (name, action) in [("claimed-gone@ri", "DeleteConnection"), ("int-claimed-gone", "DeleteIntegration")] {
        assert_eq!(fate(&report, name), ("delete".into(), "failed".into()), "{name}");
        let error = item(&report, name).error.clone().unwrap_or_default();
        assert!(error.starts_with(&format!("{action} answered ")), "{error}");
        assert!(error.ends_with("but it is still listed with status failed"), "{error}");
    }
    let calls = emulator.calls();
    let throttled_attempts =
        calls.iter().filter(|c| c.target.as_deref() == Some(&endpoint_arn(REGION, "throttled"))).count();
    assert_eq!(throttled_attempts, 3, "a throttled delete is retried up to JANITOR_MAX_ATTEMPTS");
    assert_eq!(report.totals.failed, 6);
    assert_eq!(report.totals.already_gone, 2);
    assert_eq!(report.totals.skipped, 3);
    assert!(report.has_failures());
}

#[tokio::test]
async fn random_throttling_and_server_errors_are_outlasted() {
    let fleet = Fleet {
        connections: (0..60)
            .map(|n| connection(&format!("ep{n}"), "ri", if n % 2 == 0 { "failed" } else { "successful" }))
            .collect(),
        integrations: (0..60)
            .map(|n| integration(&format!("int{n}"), if n % 3 == 0 { "failed" } else { "active" }, 2 * DAYS))
            .collect(),
        ..Fleet::default()
    };
    let emulator = emulator(fleet).await;
    emulator.set_faults(Faults { throttle_rate: 0.25, error_rate: 0.1, seed: 7, ..Faults::default() });
    let report =
        sweep(&janitor(&emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_MAX_ATTEMPTS", "10")]).await).await;
    assert_eq!(report.totals.failed, 0, "{report:#?}");
    assert_eq!(report.totals.deleted + report.totals.already_gone, 50);
    let calls = emulator.calls();
    assert!(calls.iter().any(|c| c.status == 503), "faults were injected");
    assert!(
        calls.iter().any(|c| c.error.as_deref().is_some_and(|e| e.starts_with("Throttling"))),
        "throttling was injected"
    );
    assert_eq!(emulator.fleet().connections.len(), 30);
    assert_eq!(emulator.fleet().integrations.len(), 40);
}

#[tokio::test]
async fn the_cap_deletes_the_first_stale_items_and_reports_the_rest() {
    let fleet = Fleet {
        integrations: (0..5).map(|n| integration(&format!("int{n}"), "failed", 2 * DAYS)).collect(),
        ..Fleet::default()
    };
    let emulator = emulator(fleet).await;
    let report = sweep(&janitor(&emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_MAX_DELETES", "2")]).await).await;
    assert_eq!(deletes(&emulator).len(), 2);
    assert_eq!((report.totals.deleted, report.totals.capped, report.totals.stale), (2, 3, 5));
    assert_eq!(fate(&report, "int4"), ("capped".into(), "kept".into()));
    assert_eq!(item(&report, "int4").reason, "over JANITOR_MAX_DELETES=2 for this run; waits for the next run");
}

#[tokio::test]
async fn the_tripwire_deletes_nothing_for_a_provider_over_the_share() {
    let fleet = Fleet {
        connections: vec![
            connection("a", "ri", "failed"),
            connection("b", "ri", "failed"),
            connection("c", "ri", "failed"),
            connection("d", "ri", "successful"),
        ],
        integrations: vec![
            integration("int-stale", "failed", 2 * DAYS),
            integration("int-ok-1", "active", 2 * DAYS),
            integration("int-ok-2", "active", 2 * DAYS),
            integration("int-ok-3", "active", 2 * DAYS),
        ],
        ..Fleet::default()
    };
    let emulator = emulator(fleet).await;
    let report =
        sweep(&janitor(&emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_ABORT_ABOVE_PERCENT", "50")]).await).await;
    assert_eq!(deletes(&emulator), ["int-stale"]);
    assert_eq!(fate(&report, "a@ri"), ("aborted".into(), "kept".into()));
    assert!(item(&report, "a@ri").reason.starts_with("tripwire: 3 of 4 scanned dms resources are stale (75.0%)"));
    let dms = report.sweeps.iter().find(|s| s.provider.as_str() == "dms").expect("dms sweep");
    assert!(dms.tripwire_tripped);
    let rds = report.sweeps.iter().find(|s| s.provider.as_str() == "rds").expect("rds sweep");
    assert!(!rds.tripwire_tripped);
}

#[tokio::test]
async fn include_and_exclude_patterns_scope_the_sweep() {
    let fleet = Fleet {
        integrations: vec![
            integration("orders-a", "failed", 2 * DAYS),
            integration("orders-prod", "failed", 2 * DAYS),
            integration("billing-a", "failed", 2 * DAYS),
        ],
        ..Fleet::default()
    };
    let emulator = emulator(fleet).await;
    let vars = [("JANITOR_DRY_RUN", "false"), ("JANITOR_INCLUDE", "orders-*"), ("JANITOR_EXCLUDE", "*-prod")];
    let report = sweep(&janitor(&emulator, &vars).await).await;
    assert_eq!(deletes(&emulator), ["orders-a"]);
    assert_eq!(item(&report, "orders-prod").reason, "matches exclude pattern *-prod");
    assert_eq!(item(&report, "billing-a").reason, "matches no include pattern");
    assert_eq!(report.totals.excluded, 2);
}

#[tokio::test]
async fn regions_are_swept_separately_and_reported_per_region() {
    let mut west = integration("west-failure", "failed", 2 * DAYS);
    west.region = "eu-west-1".into();
    west.integration_arn = integration_arn("eu-west-1", "west-failure");
    let fleet = Fleet { integrations: vec![integration("east-failure", "failed", 2 * DAYS), west], ..Fleet::default() };
    let emulator = emulator(fleet).await;
    let vars = [("JANITOR_DRY_RUN", "false"), ("JANITOR_REGIONS", "us-east-1,eu-west-1"), ("JANITOR_PROVIDERS", "rds")];
    let report = sweep(&janitor(&emulator, &vars).await).await;
    let regions: Vec<(&str, usize)> = report.sweeps.iter().map(|s| (s.region.as_str(), s.counts.deleted)).collect();
    assert_eq!(regions, [("us-east-1", 1), ("eu-west-1", 1)]);
    let mut deleted_in: Vec<String> =
        emulator.calls().into_iter().filter(|c| c.operation == "DeleteIntegration").map(|c| c.region).collect();
    deleted_in.sort();
    assert_eq!(deleted_in, ["eu-west-1", "us-east-1"]);
}

#[tokio::test]
async fn a_failed_scan_is_reported_and_the_other_providers_still_run() {
    let fleet = Fleet { integrations: vec![integration("int", "failed", 2 * DAYS)], ..Fleet::default() };
    let emulator = emulator(fleet).await;
    emulator.set_faults(Faults { error_rate: 1.0, ..Faults::default() });
    let report = sweep(&janitor(&emulator, &[("JANITOR_MAX_ATTEMPTS", "2")]).await).await;
    assert_eq!(report.sweeps.len(), 2);
    for sweep in &report.sweeps {
        let error = sweep.error.clone().unwrap_or_default();
        assert!(error.contains("failed: ServiceUnavailable"), "{error}");
    }
    assert_eq!(report.totals.failed, 2);
    assert!(report.has_failures());
}

#[tokio::test]
async fn protection_look_ups_ask_about_a_hundred_arns_at_a_time() {
    let mut fleet = Fleet {
        connections: (0..250)
            .map(|n| {
                connection(&format!("ep{n}"), &format!("ri{}", n % 4), if n % 5 < 3 { "failed" } else { "successful" })
            })
            .collect(),
        ..Fleet::default()
    };
    protect(&mut fleet, endpoint_arn(REGION, "ep241"));
    let emulator = emulator(fleet).await;
    let report = sweep(&janitor(&emulator, &[("JANITOR_PROVIDERS", "dms")]).await).await;
    let calls = emulator.calls();
    // 150 failed connections: 150 endpoints and 4 instances, so 154 distinct ARNs in two calls.
    assert_eq!(count(&calls, "ListTagsForResource"), 2);
    let asked: usize = calls
        .iter()
        .filter(|c| c.operation == "ListTagsForResource")
        .map(|c| c.target.as_deref().unwrap_or_default().split(',').count())
        .sum();
    assert_eq!(asked, 154, "every ARN asked about once");
    assert_eq!(fate(&report, "ep241@ri1"), ("protected".into(), "kept".into()));
    assert_eq!((report.totals.protected, report.totals.would_delete, report.totals.capped), (1, 100, 49));
}

/// A request for the whole configuration that must be over `within` from now.
fn due_in(
    janitor: &replication_janitor::app::janitor::Janitor,
    within: Duration,
) -> replication_janitor::engine::request::SweepRequest {
    let mut request = janitor.configured_request("test");
    request.deadline = Some(std::time::SystemTime::now() + within);
    request
}

#[tokio::test]
async fn deletes_still_running_at_the_deadline_are_unconfirmed_and_the_rest_deferred() {
    let fleet = Fleet {
        connections: (0..30).map(|n| connection(&format!("ep{n}"), "ri", "failed")).collect(),
        ..Fleet::default()
    };
    let emulator = emulator(fleet).await;
    emulator.set_faults(Faults { latency_ms: 200, ..Faults::default() });
    let vars = [
        ("JANITOR_DRY_RUN", "false"),
        ("JANITOR_PROVIDERS", "dms"),
        ("JANITOR_CONCURRENCY", "2"),
        ("JANITOR_DEADLINE_MARGIN", "1s"),
    ];
    let janitor = janitor(&emulator, &vars).await;
    let report = janitor.sweep(&due_in(&janitor, Duration::from_secs(3))).await;

    let t = &report.totals;
    assert!(report.duration_ms < 3_000, "the report came after the deadline: {} ms", report.duration_ms);
    assert!(t.deleted >= 1 && t.unconfirmed >= 1 && t.deferred >= 1, "{t:?}");
    assert_eq!(t.deleted + t.unconfirmed + t.deferred, 30, "every stale connection has an outcome: {t:?}");
    assert!(
        t.unconfirmed <= 2,
        "only deletes sent (two in flight at most) are unconfirmed; queued ones are deferred: {t:?}"
    );
    let unconfirmed = items(&report).into_iter().find(|i| i.outcome == Outcome::Unconfirmed).expect("unconfirmed");
    assert_eq!(
        unconfirmed.error.as_deref(),
        Some("the delete was sent but had not answered when the run had to stop; the next run will see whether it happened")
    );
    let deferred = items(&report).into_iter().find(|i| i.verdict == Verdict::Deferred).expect("deferred");
    assert_eq!(
        deferred.reason,
        "the run reached its deadline (less JANITOR_DEADLINE_MARGIN=1s) before this delete could start; waits for the next run"
    );
    let metrics: serde_json::Value =
        serde_json::from_str(janitor.metric_lines(&report).last().expect("aggregate")).expect("json");
    assert_eq!(metrics["Unconfirmed"], t.unconfirmed);
}

#[tokio::test]
async fn a_scan_unfinished_at_the_deadline_is_reported_timed_out_and_nothing_there_is_judged() {
    let fleet = Fleet {
        connections: (0..500).map(|n| connection(&format!("ep{n}"), "ri", "failed")).collect(),
        integrations: vec![integration("int-stale", "failed", 2 * DAYS)],
        ..Fleet::default()
    };
    let emulator = emulator(fleet).await;
    emulator.set_faults(Faults { latency_ms: 200, ..Faults::default() });
    let janitor = janitor(&emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_DEADLINE_MARGIN", "3s")]).await;
    // 5 DMS pages of 200 ms cannot finish in the 1 s left before the margin; the one RDS page can, and its stale
    // integration is judged, but deletes start once every scan has answered or timed out: it waits for the next run.
    let report = janitor.sweep(&due_in(&janitor, Duration::from_secs(4))).await;

    assert!(report.duration_ms < 4_000, "the report came after the deadline: {} ms", report.duration_ms);
    let dms = report.sweeps.iter().find(|s| s.provider == dms::PROVIDER).expect("dms sweep");
    assert!(dms.timed_out);
    assert!(dms.items.is_empty());
    assert!(dms.error.as_deref().unwrap_or_default().starts_with("timed out: the scan had not finished"), "{dms:?}");
    assert_eq!((dms.counts.timed_out, dms.counts.failed), (1, 1));
    assert_eq!(fate(&report, "int-stale"), ("deferred".into(), "kept".into()));
    assert!(deletes(&emulator).is_empty());
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["sweeps"][0]["timedOut"], true);
}

#[tokio::test]
async fn a_sweep_under_relentless_throttling_still_reports_before_its_deadline() {
    let mut fleet = Fleet {
        connections: (0..6).map(|n| connection(&format!("ep{n}"), "ri", "failed")).collect(),
        ..Fleet::default()
    };
    for connection in &mut fleet.connections {
        connection.on_delete = Some(OnDelete::Throttle);
    }
    let emulator = emulator(fleet).await;
    emulator.set_faults(Faults { latency_ms: 100, ..Faults::default() });
    let vars = [
        ("JANITOR_DRY_RUN", "false"),
        ("JANITOR_PROVIDERS", "dms"),
        ("JANITOR_MAX_ATTEMPTS", "20"),
        ("JANITOR_DEADLINE_MARGIN", "1s"),
    ];
    let janitor = janitor(&emulator, &vars).await;
    let report = janitor.sweep(&due_in(&janitor, Duration::from_secs(3))).await;

    assert!(report.duration_ms < 3_000, "the report came after the deadline: {} ms", report.duration_ms);
    assert_eq!(report.totals.unconfirmed, 6, "{:?}", report.totals);
    assert_eq!(report.totals.deleted, 0);
}

fn integration_event(name: &str) -> replication_janitor::engine::request::Target {
    replication_janitor::engine::request::Target {
        provider: rds::PROVIDER,
        region: REGION.to_owned(),
        arn: integration_arn(REGION, name),
    }
}

#[tokio::test]
async fn an_event_scoped_sweep_is_capped_but_not_judged_by_the_tripwire() {
    let fleet = Fleet {
        integrations: vec![integration("int-stale", "failed", 2 * DAYS), integration("int-ok", "active", DAYS)],
        ..Fleet::default()
    };
    let emulator = emulator(fleet).await;
    let vars = [("JANITOR_DRY_RUN", "false"), ("JANITOR_ABORT_ABOVE_PERCENT", "50")];
    let janitor = janitor(&emulator, &vars).await;
    let mut request = janitor.configured_request("aws.rds/RDS Zero ETL Event");
    request.target = Some(integration_event("int-stale"));
    let report = janitor.sweep(&request).await;

    assert_eq!(fate(&report, "int-stale"), ("delete".into(), "deleted".into()), "1 of 1 stale is no fleet share");
    assert!(report.sweeps.iter().all(|s| s.scoped && !s.tripwire_tripped));
    assert!(report
        .notes
        .iter()
        .any(|n| n.starts_with("the tripwire (JANITOR_ABORT_ABOVE_PERCENT) judges full scans only")));
    assert_eq!(deletes(&emulator), ["int-stale"]);
    let describes: Vec<_> = emulator.calls().into_iter().filter(|c| c.operation == "DescribeIntegrations").collect();
    assert_eq!(describes[0].target.as_deref(), Some("int-stale"), "the event's integration is described by its id");

    let capped = janitor_with_cap(&emulator).await;
    let mut request = capped.configured_request("aws.rds/RDS Zero ETL Event");
    request.target = Some(integration_event("int-ok"));
    emulator.set_fleet(Fleet { integrations: vec![integration("int-ok", "failed", 2 * DAYS)], ..Fleet::default() });
    let report = capped.sweep(&request).await;
    assert_eq!(fate(&report, "int-ok"), ("capped".into(), "kept".into()), "the cap still applies");
}

async fn janitor_with_cap(emulator: &emulator::Emulator) -> replication_janitor::app::janitor::Janitor {
    janitor(emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_MAX_DELETES", "0")]).await
}

#[tokio::test]
async fn a_dms_endpoint_event_keeps_the_first_seen_marks_of_the_other_connections() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("first-seen.json");
    let state_path = state.to_string_lossy().to_string();
    let fleet = Fleet {
        connections: vec![connection("src-a", "ri", "failed"), connection("src-b", "ri", "failed")],
        ..Fleet::default()
    };
    let emulator = emulator(fleet).await;
    let vars = [("JANITOR_DMS_GRACE", "1h"), ("JANITOR_STATE_FILE", &state_path), ("JANITOR_PROVIDERS", "dms")];
    let janitor = janitor(&emulator, &vars).await;
    sweep(&janitor).await;
    let marks = std::fs::read_to_string(&state).expect("state written");
    assert!(marks.contains("src-a") && marks.contains("src-b"), "{marks}");

    let mut request = janitor.configured_request("aws.dms/DMS Replication Endpoint State Change");
    request.target = Some(replication_janitor::engine::request::Target {
        provider: dms::PROVIDER,
        region: REGION.to_owned(),
        arn: endpoint_arn(REGION, "src-a"),
    });
    let report = janitor.sweep(&request).await;
    assert_eq!(items(&report).len(), 1);
    let marks = std::fs::read_to_string(&state).expect("state");
    assert!(marks.contains("src-b"), "an endpoint's event is a partial scan: the other marks stay: {marks}");
}

#[tokio::test]
async fn the_control_planes_failure_text_travels_with_the_verdict() {
    let mut broken = connection("broken", "ri", "failed");
    broken.last_failure_message = Some("Test connection failed: timeout".into());
    let mut failed = integration("int-failed", "failed", 2 * DAYS);
    failed.errors = vec![emulator::IntegrationError {
        error_code: "SourceNotFound".into(),
        error_message: Some("The source cluster no longer exists.".into()),
    }];
    let emulator = emulator(Fleet { connections: vec![broken], integrations: vec![failed], ..Fleet::default() }).await;
    let report = sweep(&janitor(&emulator, &[("JANITOR_DRY_RUN", "false")]).await).await;
    assert_eq!(fate(&report, "broken@ri"), ("delete".into(), "deleted".into()));
    assert_eq!(item(&report, "broken@ri").failure.as_deref(), Some("Test connection failed: timeout"));
    assert_eq!(
        item(&report, "int-failed").failure.as_deref(),
        Some("SourceNotFound: The source cluster no longer exists.")
    );
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["sweeps"][0]["items"][0]["failure"], "Test connection failed: timeout");
}
