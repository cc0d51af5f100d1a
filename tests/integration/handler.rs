//! The Lambda handler path: every sample in `events/` through `Janitor::handle`, against the emulator; the
//! payload rules (dry run only ever safer, malformed payloads are errors, events about resources the janitor must
//! not touch are no-ops that call nothing); deadlines; the EMF metric lines.

use crate::common::*;
use emulator::{count, Emulator, Fleet};
use replication_janitor::app::trigger::{self, TriggerError};
use replication_janitor::engine::report::Report;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, SystemTime};

fn two_region_fleet() -> Fleet {
    let mut west = integration("west-failure", "failed", 2 * DAYS);
    west.region = "eu-west-1".into();
    west.integration_arn = integration_arn("eu-west-1", "west-failure");
    Fleet {
        connections: vec![connection("broken", "ri", "failed")],
        integrations: vec![integration("east-failure", "failed", 2 * DAYS), west],
        ..Fleet::default()
    }
}

/// The ARN Lambda reports for the function, in the account of the sample resources.
fn function_arn() -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:replication-janitor")
}

async fn handle_file(emulator: &Emulator, vars: &[(&str, &str)], file: &Path) -> Result<Report, TriggerError> {
    let bytes = std::fs::read(file).expect("sample event");
    let janitor = janitor(emulator, vars).await;
    match trigger::parse_bytes(&bytes) {
        Ok(_) => janitor.handle(serde_json::from_slice(&bytes).expect("json"), None, Some(&function_arn())).await,
        Err(error) => Err(error),
    }
}

/// Names of what a report deleted, sorted.
fn deleted(report: &Report) -> Vec<String> {
    let mut names: Vec<String> =
        items(report).into_iter().filter(|i| fate(report, &i.name).1 == "deleted").map(|i| i.name.clone()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn every_sample_event_goes_through_the_handler() {
    let deleting = [
        ("JANITOR_DRY_RUN", "false"),
        ("JANITOR_REGIONS", "us-east-1,eu-west-1"),
        ("JANITOR_PROVIDERS", "dms,rds,redshift"),
    ];
    let everything_stale = [
        "crm-sqlserver-source@eu-ri-1",
        "crm-to-redshift-failed-old",
        "ddb-crm-to-redshift-failed-old",
        "ddb-orders-to-redshift-failed-old",
        "orders-pg-source@prod-ri-1",
        "orders-to-redshift-failed-old",
    ];
    let mut seen = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir("events").expect("events/").map(|e| e.expect("entry").path()).collect();
    files.sort();
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).expect("name").to_owned();
        let emulator = emulator(Fleet::sample()).await;
        let outcome = handle_file(&emulator, &deleting, &file).await;
        match name.as_str() {
            "schedule.json" => {
                let report = outcome.expect("schedule");
                assert_eq!(report.trigger, "schedule");
                assert_eq!(
                    report.notes[0],
                    "scheduled by arn:aws:events:us-east-1:123456789012:rule/replication-janitor-nightly"
                );
                // The sample's young failure waits for JANITOR_MIN_AGE, and the run says until when.
                assert!(
                    report.notes[1].starts_with(
                        "1 stale resources wait for their grace or minimum age; the first \
                     becomes deletable at "
                    ),
                    "{:?}",
                    report.notes
                );
                assert_eq!(report.notes.len(), 2, "{:?}", report.notes);
                assert_eq!(deleted(&report), everything_stale);
            }
            "scheduler-input.json" => {
                let report = outcome.expect("scheduler input");
                assert_eq!(report.trigger, "manual");
                assert_eq!(deleted(&report), everything_stale);
            }
            "manual-dry-run.json" => {
                let report = outcome.expect("manual dry run");
                assert!(report.dry_run, "the payload asked for a dry run");
                assert_eq!(report.sweeps.len(), 1);
                assert_eq!(
                    (report.sweeps[0].provider.as_str(), report.sweeps[0].region.as_str()),
                    ("rds", "eu-west-1")
                );
                assert_eq!(fate(&report, "crm-to-redshift-failed-old"), ("delete".into(), "wouldDelete".into()));
                assert!(deletes(&emulator).is_empty());
            }
            "manual-delete-request.json" => {
                let report = outcome.expect("manual delete request");
                assert!(!report.dry_run, "the configuration allows deleting, so the request runs as configured");
                assert_eq!(deleted(&report), everything_stale);
                let dry = handle_file(&emulator, &[], &file).await.expect("dry configuration");
                assert!(dry.dry_run, "a payload cannot turn a dry-run configuration into a deleting one");
                assert!(dry.notes[0].starts_with("dryRun=false in the payload was ignored"));
            }
            "rds-zero-etl-event.json" => {
                let report = outcome.expect("rds event");
                assert_eq!(report.trigger, "aws.rds/RDS Zero ETL Event RDS-EVENT-0230");
                assert_eq!(report.totals.scanned, 1, "only the integration the event names is judged");
                assert_eq!(deleted(&report), ["orders-to-redshift-failed-old"]);
                assert_eq!(count(&emulator.calls(), "DescribeConnections"), 0);
            }
            "redshift-integration-error.json" => {
                let report = outcome.expect("redshift event");
                assert_eq!(
                    report.trigger,
                    "aws.redshift/Redshift Integration Monitoring REDSHIFT-INTEGRATION-EVENT-0007"
                );
                assert_eq!(report.totals.scanned, 1);
                assert_eq!(deleted(&report), ["ddb-crm-to-redshift-failed-old"], "a Redshift ARN: Redshift's own");
                assert_eq!(
                    (report.sweeps[0].provider.as_str(), report.sweeps[0].region.as_str()),
                    ("redshift", "eu-west-1")
                );
                assert_eq!(count(&emulator.calls(), "DescribeConnections"), 0);
            }
            "redshift-event-rds-integration.json" => {
                let report = outcome.expect("redshift event naming an RDS integration");
                assert_eq!(
                    report.trigger,
                    "aws.redshift/Redshift Integration Operation REDSHIFT-INTEGRATION-EVENT-0012"
                );
                assert_eq!(report.totals.scanned, 1);
                assert_eq!(deleted(&report), ["crm-to-redshift-failed-old"], "an RDS ARN goes to the RDS provider");
                assert_eq!(report.sweeps[0].provider.as_str(), "rds");
            }
            "dms-endpoint-state-change.json" => {
                let report = outcome.expect("dms event");
                assert_eq!(report.trigger, "aws.dms/DMS Replication Endpoint State Change DMS-EVENT-0117");
                assert_eq!(report.totals.scanned, 1, "only the connections of the endpoint the event names");
                assert_eq!(deleted(&report), ["orders-pg-source@prod-ri-1"]);
                assert_eq!(count(&emulator.calls(), "DescribeIntegrations"), 0);
            }
            "rds-event-without-resource.json" => {
                let report = outcome.expect("an unusable event is a no-op, not an error");
                assert!(report.sweeps.is_empty());
                assert_eq!(
                    report.notes,
                    ["no-op: the event aws.rds/RDS Zero ETL Event was not acted on: it names no resource with an ARN containing \":integration:\""]
                );
                assert!(emulator.calls().is_empty());
            }
            "unrelated-event.json" => {
                let report = outcome.expect("unrelated event");
                assert!(report.sweeps.is_empty());
                assert_eq!(report.trigger, "aws.ec2/EC2 Instance State-change Notification");
                assert!(report.notes[0].starts_with("no-op: "));
                assert!(emulator.calls().is_empty());
            }
            "malformed-not-an-object.json" => {
                let error = outcome.expect_err("not an object");
                assert_eq!(error, TriggerError::NotAnObject("an array"));
                assert!(emulator.calls().is_empty());
            }
            "malformed-trailing-text.json" => {
                let error = outcome.expect_err("two documents are not one payload");
                assert_eq!(error, TriggerError::NotJson("trailing characters at line 2 column 1".into()));
                assert!(emulator.calls().is_empty());
            }
            "rds-event-other-account.json" => {
                let report = outcome.expect("an event about another account's resource is a no-op, not an error");
                assert!(report.sweeps.is_empty());
                assert_eq!(
                    report.notes,
                    ["no-op: arn:aws:rds:us-east-1:210987654321:integration:5b9f3d79-7392-4a3e-896c-58eaa1b53231 \
                      is not this janitor's to touch: it belongs to account 210987654321 in partition aws, not to \
                      this function's account 123456789012 in partition aws"]
                );
                assert!(emulator.calls().is_empty(), "no API call: {:?}", emulator.calls());
            }
            other => panic!("events/{other} has no test: add its expectations here"),
        }
        seen.push(name);
    }
    assert_eq!(seen.len(), 13, "{seen:?}");
}

#[tokio::test]
async fn a_service_event_is_judged_under_the_same_policy() {
    let mut fleet = Fleet::sample();
    let arn = integration_arn(REGION, "young-one");
    let mut young = integration("young-one", "failed", Duration::from_secs(60));
    young.integration_arn = arn.clone();
    fleet.integrations.push(young);
    let emulator = emulator(fleet).await;
    let janitor = janitor(&emulator, &[("JANITOR_DRY_RUN", "false")]).await;
    let event =
        serde_json::json!({"source": "aws.rds", "detail-type": "RDS Zero ETL Event", "resources": [arn], "detail": {}});
    let report = janitor.handle(event, None, Some(&function_arn())).await.expect("report");
    assert_eq!(fate(&report, "young-one"), ("tooYoung".into(), "kept".into()));
    assert!(deletes(&emulator).is_empty());

    let gone = serde_json::json!({"source": "aws.rds", "detail-type": "RDS Zero ETL Event",
        "resources": [integration_arn(REGION, "00000000-0000-0000-0000-000000000000")], "detail": {}});
    let report =
        janitor.handle(gone, None, Some(&function_arn())).await.expect("an integration that is gone is not an error");
    assert_eq!(report.totals.scanned, 0);
    assert!(!report.has_failures());

    let elsewhere = serde_json::json!({"source": "aws.rds", "detail-type": "RDS Zero ETL Event",
        "resources": [integration_arn("ap-south-1", "x")], "detail": {}});
    let report = janitor.handle(elsewhere, None, Some(&function_arn())).await.expect("report");
    assert!(report.sweeps.is_empty());
    assert!(report.notes[0].contains("outside this janitor's providers and regions"), "{:?}", report.notes);
}

#[tokio::test]
async fn malformed_payloads_are_errors_with_a_clear_message() {
    let emulator = emulator(two_region_fleet()).await;
    let janitor = janitor(&emulator, &[("JANITOR_DRY_RUN", "false")]).await;
    let cases: [(Value, &str); 4] = [
        (Value::Null, "the payload must be a JSON object"),
        (serde_json::json!(42), "the payload must be a JSON object"),
        (serde_json::json!({"dryRun": "yes"}), "the payload is not a valid sweep request: invalid type"),
        (
            serde_json::json!({"providers": ["dts"]}),
            "the request names providers [\"dts\"] that this janitor is not configured for",
        ),
    ];
    for (payload, message) in cases {
        let error = janitor.handle(payload, None, None).await.expect_err(message);
        assert!(error.to_string().starts_with(message), "{error}");
    }
    assert!(emulator.calls().is_empty());
    let not_json = trigger::parse_bytes(b"{\"dryRun\": tru").expect_err("not json");
    assert!(not_json.to_string().starts_with("the payload is not valid JSON: "), "{not_json}");
    for trailing in [&b"{} x"[..], b"{}{}", b"{\"dryRun\": true} {\"dryRun\": false}"] {
        let error = trigger::parse_bytes(trailing).expect_err("trailing text");
        assert!(error.to_string().starts_with("the payload is not valid JSON: trailing characters"), "{error}");
    }
}

#[tokio::test]
async fn events_naming_a_resource_the_janitor_must_not_touch_call_nothing() {
    let emulator = emulator(Fleet::sample()).await;
    let janitor = janitor(&emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_REGIONS", "us-east-1,eu-west-1")]).await;
    let id = "5b9f3d79-7392-4a3e-896c-58eaa1b53231";
    let rds = |arn: String| serde_json::json!({"source": "aws.rds", "detail-type": "RDS Zero ETL Event", "resources": [arn], "detail": {}});
    let redshift = |arn: String| {
        serde_json::json!({"source": "aws.redshift", "detail-type": "Redshift Integration Monitoring",
            "resources": [arn], "detail": {}})
    };
    let dms = |arn: String| {
        serde_json::json!({"source": "aws.dms", "detail-type": "DMS Replication Endpoint State Change",
            "resources": [arn], "detail": {}})
    };
    let other_account = "it belongs to account 210987654321 in partition aws, not to this function's account";
    let cases = [
        (rds(format!("arn:aws:rds:us-east-1:210987654321:integration:{id}")), other_account),
        (rds(format!("arn:aws-cn:rds:us-east-1:{ACCOUNT}:integration:{id}")), "in partition aws-cn, not to"),
        (redshift(format!("arn:aws:redshift:eu-west-1:210987654321:integration:{id}")), other_account),
        (dms("arn:aws:dms:us-east-1:210987654321:endpoint:ORDERSPGSOURCE7QXWZ3KD5L2A".into()), other_account),
        (rds(format!("arn:aws:s3:us-east-1:{ACCOUNT}:integration:{id}")), "is not an RDS integration ARN"),
        (rds(format!("arn:aws:rds:us-east-1:{ACCOUNT}:integration:{id}:x")), "is not an RDS integration ARN"),
        (rds(format!("arn:aws:rds:us-east-1:12345:integration:{id}")), "is not an RDS integration ARN"),
        (rds(format!("arn:aws:rds:Us-East-1:{ACCOUNT}:integration:{id}")), "is not an RDS integration ARN"),
        (dms(format!("arn:aws:rds:us-east-1:{ACCOUNT}:endpoint:ORDERS")), "is not a DMS endpoint ARN"),
        (dms(format!("arn:aws:dms:us-east-1:{ACCOUNT}:endpoint:{}", "E".repeat(300))), "is not a DMS endpoint ARN"),
    ];
    for (event, why) in cases {
        let report = janitor.handle(event.clone(), None, Some(&function_arn())).await.expect("a no-op, not an error");
        assert!(report.sweeps.is_empty(), "{event}");
        assert_eq!(report.notes.len(), 1);
        assert!(report.notes[0].starts_with("no-op: ") && report.notes[0].contains(why), "{:?}", report.notes);
        assert!(report.notes[0].chars().count() < 600, "echoed ARNs are cut: {}", report.notes[0]);
    }
    assert!(emulator.calls().is_empty(), "no API call at all: {:?}", emulator.calls());

    let foreign = rds("arn:aws:rds:us-east-1:210987654321:integration:00000000-0000-0000-0000-000000000000".into());
    let cli = janitor.handle(foreign, None, None).await.expect("report");
    assert_eq!(count(&emulator.calls(), "DescribeIntegrations"), 1, "without a function ARN only the form is checked");
    assert_eq!(cli.totals.scanned, 0);
    assert!(deletes(&emulator).is_empty());
}

#[tokio::test]
async fn an_invocation_already_within_its_margin_judges_and_deletes_nothing() {
    let emulator = emulator(two_region_fleet()).await;
    let janitor = janitor(&emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_DEADLINE_MARGIN", "30s")]).await;
    let deadline = SystemTime::now() + Duration::from_secs(20);
    let report = janitor.handle(serde_json::json!({}), Some(deadline), None).await.expect("report");
    assert!(deletes(&emulator).is_empty());
    assert_eq!(report.totals.timed_out, report.sweeps.len());
    assert!(report.sweeps.iter().all(|s| s.timed_out && s.items.is_empty()));
    let roomy = SystemTime::now() + Duration::from_secs(300);
    let report = janitor.handle(serde_json::json!({}), Some(roomy), None).await.expect("report");
    assert_eq!(report.totals.deleted, 2);
}

#[tokio::test]
async fn metrics_are_emf_lines_per_provider_and_in_aggregate() {
    let emulator = emulator(two_region_fleet()).await;
    let janitor = janitor(&emulator, &[("JANITOR_METRICS_NAMESPACE", "Janitor/Test")]).await;
    let report = janitor.handle(serde_json::json!({}), None, None).await.expect("report");
    let lines: Vec<Value> =
        janitor.metric_lines(&report).iter().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    assert_eq!(lines.len(), 3);
    let names = [
        "Scanned",
        "Stale",
        "Deleted",
        "WouldDelete",
        "AlreadyGone",
        "Protected",
        "TooYoung",
        "Capped",
        "Deferred",
        "Failed",
        "Unconfirmed",
        "TimedOut",
        "FailedDenied",
        "FailedThrottled",
        "FailedTimedOut",
        "FailedTransport",
        "FailedNotFound",
        "FailedWrongState",
        "FailedService",
        "TripwireTripped",
        "StateUnavailable",
        "DurationMs",
    ];
    for (index, line) in lines.iter().enumerate() {
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Janitor/Test");
        let declared: Vec<&str> = directive["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .map(|m| m["Name"].as_str().expect("name"))
            .collect();
        // The aggregate line alone says whether the run's report could be archived, its notification published and
        // its re-checks scheduled.
        let mut expected = names.to_vec();
        if index == lines.len() - 1 {
            expected.extend(["ArchiveFailed", "NotifyFailed", "RecheckFailed"]);
        }
        assert_eq!(declared, expected);
        for name in expected {
            assert!(line[name].is_number(), "{name} in {line}");
        }
        assert!(line["_aws"]["Timestamp"].is_u64());
    }
    assert_eq!(lines[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([["Provider"]]));
    assert_eq!(
        (lines[0]["Provider"].as_str(), lines[0]["Scanned"].as_u64(), lines[0]["WouldDelete"].as_u64()),
        (Some("dms"), Some(1), Some(1))
    );
    assert_eq!((lines[1]["Provider"].as_str(), lines[1]["Stale"].as_u64()), (Some("rds"), Some(1)));
    assert_eq!(lines[2]["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([[]]));
    assert_eq!(lines[2]["Scanned"].as_u64(), Some(2));
    assert!(lines.iter().all(|l| !l.to_string().contains("arn:aws")), "no resource id in metrics");
}
