//! On-time re-checks over the real protocols: the janitor's control planes served by the project's emulator, its
//! first-seen marks in a file, its one-time schedules created in moto's EventBridge Scheduler through the real SDK
//! client. A schedule's payload, read back with GetSchedule, is then handed to the handler as EventBridge Scheduler
//! would deliver it when it fires (moto does not fire schedules): the fired run deletes what is due in its scope,
//! and nothing else.

use crate::common::*;
use crate::moto::Moto;
use emulator::{Emulator, Fleet};
use replication_janitor::app::janitor::{Answer, Janitor};
use replication_janitor::config::recheck::RecheckSettings;
use replication_janitor::engine::report::{RecheckOutcome, Report};
use replication_janitor::outputs::recheck::scheduler::{Created, EventBridgeScheduler, OneTimeSchedule, SchedulePort};
use replication_janitor::outputs::recheck::Rechecks;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

const GROUP: &str = "janitor-rechecks";
const ROLE: &str = "arn:aws:iam::123456789012:role/janitor-rechecks";

/// The ARN Lambda reports for the function, in the account of the emulator's resources.
fn function_arn() -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:replication-janitor")
}

/// moto's server with the template's schedule group, and a client of it.
async fn moto_with_group() -> (Moto, aws_sdk_scheduler::Client) {
    let moto = Moto::start();
    let scheduler = moto.scheduler(REGION).await;
    scheduler.create_schedule_group().name(GROUP).send().await.expect("create_schedule_group");
    (moto, scheduler)
}

/// A deleting janitor like the Lambda's: control planes on `emulator`, marks in `state`, re-checks in `moto`.
async fn lambda_janitor(emulator: &Emulator, moto: &Moto, state: &str, grace: &str) -> Janitor {
    let vars = [
        ("JANITOR_DRY_RUN", "false"),
        ("JANITOR_PROVIDERS", "rds"),
        ("JANITOR_RDS_GRACE", grace),
        ("JANITOR_STATE_FILE", state),
        ("JANITOR_RECHECK_SCHEDULER_ROLE_ARN", ROLE),
        ("JANITOR_RECHECK_SCHEDULE_GROUP", GROUP),
    ];
    let recheck = settings(&vars).recheck.expect("re-checks configured");
    assert_eq!(recheck, RecheckSettings { role_arn: ROLE.into(), group: GROUP.into(), max_schedules: 20 });
    // Start-up builds the Scheduler client from the same configuration as the control planes (the emulator's
    // endpoint here); the schedules go to moto instead.
    janitor(emulator, &vars).await.with_rechecks(Rechecks::from_sdk(&moto.sdk(REGION).await, recheck, 2))
}

/// One invocation with `payload`, as Lambda hands it over.
async fn invoke(janitor: &Janitor, payload: Value) -> Report {
    match janitor.respond(payload, None, Some(&function_arn())).await.expect("a run") {
        Answer::Report(report) => *report,
        other => panic!("a report, not {other:?}"),
    }
}

/// An RFC 3339 time of the report.
fn time(text: &str) -> SystemTime {
    let time = aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|e| panic!("{text} is not RFC 3339: {e}"));
    SystemTime::try_from(time).expect("a time")
}

/// When the item named `name` becomes deletable, as the report says.
fn deletable_at(report: &Report, name: &str) -> SystemTime {
    time(&item(report, name).deletable_at.clone().unwrap_or_else(|| panic!("{name} has no deletableAt")))
}

/// Waits until `time` (this machine's clock) has passed.
async fn until(time: SystemTime) {
    if let Ok(left) = time.duration_since(SystemTime::now()) {
        tokio::time::sleep(left).await;
    }
}

/// The schedule named `name`, as moto keeps it.
async fn stored(
    scheduler: &aws_sdk_scheduler::Client,
    name: &str,
) -> aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput {
    scheduler.get_schedule().group_name(GROUP).name(name).send().await.unwrap_or_else(|e| panic!("get {name}: {e:?}"))
}

/// The payload the schedule named `name` delivers when it fires.
async fn payload_of(scheduler: &aws_sdk_scheduler::Client, name: &str) -> Value {
    let schedule = stored(scheduler, name).await;
    let input = schedule.target.and_then(|t| t.input).unwrap_or_else(|| panic!("{name} has no Input"));
    serde_json::from_str(&input).expect("the Input is JSON")
}

fn failed_integration(name: &str) -> emulator::Integration {
    integration(name, "failed", 2 * DAYS)
}

#[tokio::test]
async fn the_scheduler_answers_a_taken_name_with_a_conflict_which_counts_as_the_schedule_being_there() {
    let (_moto, client) = moto_with_group().await;
    let port = EventBridgeScheduler::new(client.clone());
    let schedule = OneTimeSchedule {
        name: "rj-20261205T1801Z-rds-us-east-1-0123456789ab".into(),
        group: GROUP.into(),
        expression: "at(2026-12-05T18:01:00)".into(),
        description: "replication-janitor on-time re-check of rds in us-east-1: 1 resource(s)".into(),
        target_arn: function_arn(),
        role_arn: ROLE.into(),
        input: r#"{"providers":["rds"],"regions":["us-east-1"]}"#.into(),
    };
    assert_eq!(port.create(&schedule).await, Ok(Created::New));
    assert_eq!(port.create(&schedule).await, Ok(Created::Existing), "moto answers ConflictException, as AWS does");
    let kept = stored(&client, &schedule.name).await;
    assert_eq!(kept.schedule_expression.as_deref(), Some("at(2026-12-05T18:01:00)"));
    assert_eq!(kept.schedule_expression_timezone.as_deref(), Some("UTC"));
    assert_eq!(kept.action_after_completion.map(|a| a.as_str().to_owned()).as_deref(), Some("DELETE"));
    let window = kept.flexible_time_window.expect("a flexible time window");
    assert_eq!(window.mode.as_str(), "OFF");
    let target = kept.target.expect("a target");
    assert_eq!((target.arn.as_str(), target.role_arn.as_str()), (function_arn().as_str(), ROLE));
}

#[tokio::test]
async fn a_fired_re_check_deletes_exactly_what_is_due_in_its_scope() {
    let (moto, scheduler) = moto_with_group().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("first-seen.json").to_string_lossy().to_string();
    let fleet = Fleet {
        integrations: vec![failed_integration("due"), failed_integration("recovers"), failed_integration("protected")],
        ..Fleet::default()
    };
    let emulator = emulator(fleet).await;
    let janitor = lambda_janitor(&emulator, &moto, &state, "4s").await;

    // The first run marks three failed integrations; each waits out its grace, and its re-check is scheduled.
    let first = invoke(&janitor, json!({})).await;
    for name in ["due", "recovers", "protected"] {
        assert_eq!(fate(&first, name), ("waiting".into(), "kept".into()), "{name}");
    }
    let record = first.rechecks.clone().expect("re-checks recorded");
    assert!(record.created >= 1 && record.failed == 0, "{record:?}");
    let due_at = deletable_at(&first, "due");
    // The re-check of `due`: the earliest that fires at least the margin (30 s) after its grace ends.
    let schedule = record
        .schedules
        .iter()
        .filter(|s| time(&s.at) >= due_at + Duration::from_secs(30))
        .min_by_key(|s| time(&s.at))
        .expect("a re-check after due's grace")
        .clone();
    assert!(time(&schedule.at) < due_at + Duration::from_secs(91), "within the minute after the margin: {schedule:?}");
    let kept = stored(&scheduler, &schedule.name).await;
    assert_eq!(kept.schedule_expression, Some(format!("at({})", schedule.at.trim_end_matches('Z'))));
    let payload = payload_of(&scheduler, &schedule.name).await;
    assert_eq!(payload, json!({"providers": ["rds"], "regions": [REGION]}));

    // A second run a little later marks a newcomer; the first three ask for their re-checks again: already there.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let mut fleet = emulator.fleet();
    fleet.integrations.push(failed_integration("newcomer"));
    emulator.set_fleet(fleet);
    let second = invoke(&janitor, json!({})).await;
    assert_eq!(fate(&second, "newcomer"), ("waiting".into(), "kept".into()));
    let record = second.rechecks.clone().expect("re-checks recorded");
    assert!(record.schedules.iter().any(|s| s.name == schedule.name && s.outcome == RecheckOutcome::Existing));
    let newcomer_at = deletable_at(&second, "newcomer");

    // Meanwhile one recovers and one is protected. The schedule fires once the first grace is over.
    let mut fleet = emulator.fleet();
    for integration in &mut fleet.integrations {
        match integration.integration_name.as_deref() {
            Some("recovers") => integration.status = "active".into(),
            Some("protected") => {
                integration.tags.insert("janitor:protect".into(), "yes".into());
            }
            _ => {}
        }
    }
    emulator.set_fleet(fleet);
    until(due_at + Duration::from_millis(200)).await;
    assert!(SystemTime::now() < newcomer_at, "the newcomer's grace is still running when the re-check fires");
    let fired = invoke(&janitor, payload).await;

    assert_eq!(deletes(&emulator), ["due"], "only what is due (RDS deletes by the integration's id)");
    assert_eq!(fate(&fired, "due"), ("delete".into(), "deleted".into()));
    assert_eq!(fate(&fired, "recovers"), ("healthy".into(), "kept".into()), "the mark is never trusted alone");
    assert_eq!(fate(&fired, "protected"), ("protected".into(), "kept".into()));
    assert_eq!(fate(&fired, "newcomer"), ("waiting".into(), "kept".into()));
    assert_eq!(fired.trigger, "manual");
}

#[tokio::test]
async fn an_event_only_deployment_deletes_on_time() {
    let (moto, scheduler) = moto_with_group().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("first-seen.json").to_string_lossy().to_string();
    let fleet =
        Fleet { integrations: vec![failed_integration("first"), failed_integration("second")], ..Fleet::default() };
    let emulator = emulator(fleet).await;
    let janitor = lambda_janitor(&emulator, &moto, &state, "2s").await;
    let event = |name: &str| {
        json!({"source": "aws.rds", "detail-type": "RDS Zero ETL Event", "detail": {},
               "resources": [integration_arn(REGION, name)]})
    };

    // No schedule: each event scopes a run to its integration, which only marks it.
    let mut names = Vec::new();
    let mut due = Vec::new();
    for name in ["first", "second"] {
        let report = invoke(&janitor, event(name)).await;
        assert_eq!(report.totals.scanned, 1, "the event's integration alone");
        assert_eq!(fate(&report, name), ("waiting".into(), "kept".into()));
        let record = report.rechecks.clone().expect("a re-check for the mark");
        assert_eq!(record.failed, 0, "{record:?}");
        names.extend(record.schedules.iter().map(|s| s.name.clone()));
        due.push(deletable_at(&report, name));
    }
    assert!(deletes(&emulator).is_empty(), "events only mark");
    // The re-checks name the scope: the first's payload re-judges the second too (sharing the schedule when both
    // graces end in one minute, the second run's create meeting a ConflictException).
    let payload = payload_of(&scheduler, &names[0]).await;
    assert_eq!(payload, json!({"providers": ["rds"], "regions": [REGION]}));
    until(due.iter().max().copied().unwrap_or_else(SystemTime::now) + Duration::from_millis(200)).await;
    let fired = invoke(&janitor, payload).await;

    let mut deleted = deletes(&emulator);
    deleted.sort();
    assert_eq!(deleted, ["first", "second"]);
    assert_eq!(fired.totals.deleted, 2);
}
