//! DMS connections have no timestamp: the janitor deletes one only after it has seen it failed for the grace,
//! remembering first sightings in the state store across runs.

use crate::common::*;
use emulator::Fleet;
use std::time::Duration;

#[tokio::test]
async fn a_connection_is_deleted_only_once_the_grace_has_passed_across_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("first-seen.json");
    let state_path = state.to_string_lossy().to_string();
    let fleet = Fleet {
        connections: vec![connection("flaky", "ri", "failed"), connection("broken", "ri", "failed")],
        ..Fleet::default()
    };
    let emulator = emulator(fleet).await;
    let vars = [("JANITOR_DRY_RUN", "false"), ("JANITOR_DMS_GRACE", "2s"), ("JANITOR_STATE_FILE", &state_path)];
    let janitor = janitor(&emulator, &vars).await;

    let before = std::time::SystemTime::now();
    let first = sweep(&janitor).await;
    assert_eq!(fate(&first, "broken@ri"), ("waiting".into(), "kept".into()));
    // The run says when it becomes deletable (its first sighting plus the grace), and that a later run must do it.
    let due = item(&first, "broken@ri").deletable_at.clone().expect("deletableAt");
    let grace = Duration::from_secs(2);
    let rfc3339 = replication_janitor::domain::clock::rfc3339;
    let (earliest, latest) =
        (rfc3339(before + grace - Duration::from_secs(1)), rfc3339(std::time::SystemTime::now() + grace));
    let second = |time: &str| time.chars().take(19).collect::<String>();
    assert!(second(&earliest) <= second(&due) && second(&due) <= second(&latest), "{earliest} <= {due} <= {latest}");
    let note = first.notes.iter().find(|n| n.contains("becomes deletable at")).expect("a note says when");
    assert!(note.contains("a later run with the same first-seen store"), "{note}");
    assert!(
        item(&first, "broken@ri").reason.ends_with("so far, JANITOR_DMS_GRACE is 2s"),
        "{}",
        item(&first, "broken@ri").reason
    );
    assert_eq!(deletes(&emulator), Vec::<String>::new());
    let marks = std::fs::read_to_string(&state).expect("state written");
    assert!(marks.contains(&endpoint_arn(REGION, "broken")), "{marks}");

    let mut recovered = emulator.fleet();
    recovered.connections[0].status = "successful".into();
    emulator.set_fleet(recovered);
    tokio::time::sleep(Duration::from_millis(2_100)).await;

    let second = sweep(&janitor).await;
    assert_eq!(fate(&second, "broken@ri"), ("delete".into(), "deleted".into()));
    assert_eq!(fate(&second, "flaky@ri"), ("healthy".into(), "kept".into()));
    assert_eq!(deletes(&emulator), [endpoint_arn(REGION, "broken")]);
    let marks = std::fs::read_to_string(&state).expect("state");
    assert!(!marks.contains("flaky"), "the recovered connection's mark is cleared: {marks}");

    let mut relapsed = emulator.fleet();
    relapsed.connections[0].status = "failed".into();
    emulator.set_fleet(relapsed);
    let third = sweep(&janitor).await;
    assert_eq!(fate(&third, "flaky@ri").0, "waiting", "a relapse starts the grace again");
    let marks = std::fs::read_to_string(&state).expect("state");
    assert!(!marks.contains("broken"), "the deleted connection's mark is cleared: {marks}");
}

#[tokio::test]
async fn without_a_store_a_grace_above_zero_never_deletes() {
    let emulator =
        emulator(Fleet { connections: vec![connection("broken", "ri", "failed")], ..Fleet::default() }).await;
    let janitor = janitor(&emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_DMS_GRACE", "1h")]).await;
    let report = sweep(&janitor).await;
    assert_eq!(fate(&report, "broken@ri"), ("waiting".into(), "kept".into()));
    assert_eq!(
        item(&report, "broken@ri").reason,
        "no first-seen store is configured (JANITOR_STATE_TABLE or JANITOR_STATE_FILE), so the grace cannot be proven; JANITOR_DMS_GRACE is 1h"
    );
    assert!(item(&report, "broken@ri").deletable_at.is_none(), "no store: never deletable");
    assert!(
        report.notes.iter().any(|n| n.starts_with("this configuration can never delete dms (JANITOR_DMS_GRACE=1h)")),
        "{:?}",
        report.notes
    );
    assert!(deletes(&emulator).is_empty());
}

#[tokio::test]
async fn an_unreadable_store_makes_connections_wait_with_the_cause() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("first-seen.json");
    std::fs::write(&state, "not json").expect("write");
    let state_path = state.to_string_lossy().to_string();
    let emulator = emulator(Fleet {
        connections: vec![connection("broken", "ri", "failed")],
        integrations: vec![integration("int", "failed", 2 * DAYS)],
        ..Fleet::default()
    })
    .await;
    let vars = [("JANITOR_DRY_RUN", "false"), ("JANITOR_DMS_GRACE", "1s"), ("JANITOR_STATE_FILE", &state_path)];
    let report = sweep(&janitor(&emulator, &vars).await).await;
    assert_eq!(fate(&report, "broken@ri"), ("waiting".into(), "kept".into()));
    assert!(item(&report, "broken@ri")
        .reason
        .starts_with("first-seen store unavailable, so the grace cannot be proven"));
    assert_eq!(fate(&report, "int"), ("delete".into(), "deleted".into()), "the rest of the sweep goes on");
    let dms = report.sweeps.iter().find(|s| s.provider.as_str() == "dms").expect("dms sweep");
    assert!(dms.state_error.as_deref().unwrap_or_default().contains("is not valid state JSON"), "{dms:?}");
    let lines = janitor(&emulator, &vars).await.metric_lines(&report);
    let aggregate: serde_json::Value = serde_json::from_str(lines.last().expect("aggregate")).expect("json");
    assert_eq!(aggregate["StateUnavailable"], 1);
}
