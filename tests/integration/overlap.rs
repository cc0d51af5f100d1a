//! Runs that overlap and clocks that drift: CLI processes sharing one state file, deleting runs over one account,
//! a store that cannot be used, and DynamoDB leases (against moto's server).

use crate::common::*;
use crate::moto::Moto;
use emulator::{Connection, Faults, Fleet};
use replication_janitor::state::{DynamoStore, FileStore, FirstSeenStore, Lease, Sighting};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-1"];

/// `count` failed DMS connections in `region`.
fn failed_connections(region: &str, count: usize) -> Vec<Connection> {
    (0..count)
        .map(|n| {
            let endpoint = format!("arn:aws:dms:{region}:{ACCOUNT}:endpoint:ep-{n}");
            let mut c = Connection::new(region, &endpoint, &instance_arn(region, "ri"));
            c.endpoint_identifier = Some(format!("ep-{n}"));
            c.replication_instance_identifier = Some("ri".to_owned());
            c.status = "failed".to_owned();
            c
        })
        .collect()
}

/// Runs the binary in the background with `vars` and `args`, pointed at `endpoint`.
fn spawn(home: &Path, endpoint: &str, vars: &[(&str, &str)], args: &[&str]) -> std::process::Child {
    janitor_binary(home, endpoint, vars)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts")
}

/// Starts every command at once and waits for them all, off the async runtime.
async fn all_at_once(children: Vec<std::process::Child>) -> Vec<Output> {
    tokio::task::spawn_blocking(move || {
        children.into_iter().map(|c| c.wait_with_output().expect("the binary ends")).collect()
    })
    .await
    .expect("join")
}

fn report(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("stdout is not the JSON report ({e}); stderr: {}", String::from_utf8_lossy(&output.stderr))
    })
}

/// The marks in the state file, which must be valid JSON: scope -> id -> first seen.
fn marks(path: &Path) -> BTreeMap<String, BTreeMap<String, u64>> {
    let text = std::fs::read_to_string(path).expect("the state file exists");
    let value: serde_json::Value = serde_json::from_str(&text).expect("the state file is valid JSON after every round");
    serde_json::from_value(value["firstSeenFailed"].clone()).expect("marks")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_per_region_sharing_one_state_file_lose_no_mark_and_move_none() {
    let home = tempfile::tempdir().expect("home");
    let state = home.path().join("first-seen.json");
    let fleet = Fleet {
        connections: REGIONS.iter().flat_map(|region| failed_connections(region, 40)).collect(),
        ..Fleet::default()
    };
    let emulator = emulator(fleet).await;
    let state_path = state.to_string_lossy().to_string();
    let vars = [("JANITOR_DMS_GRACE", "1h"), ("JANITOR_STATE_FILE", state_path.as_str()), ("JANITOR_PROVIDERS", "dms")];
    let mut first_round: Option<BTreeMap<String, BTreeMap<String, u64>>> = None;
    for round in 0..8 {
        let children = REGIONS
            .iter()
            .map(|region| spawn(home.path(), &emulator.url(), &vars, &["sweep", "--region", region]))
            .collect();
        for output in all_at_once(children).await {
            assert!(output.status.success(), "round {round}: {}", String::from_utf8_lossy(&output.stderr));
            assert_eq!(report(&output)["totals"]["waiting"], 40, "round {round}");
        }
        let now = marks(&state);
        assert_eq!(now.len(), 3, "round {round}: every region's scope is kept: {:?}", now.keys());
        assert!(now.values().all(|scope| scope.len() == 40), "round {round}: no mark lost");
        match &first_round {
            None => first_round = Some(now),
            Some(first) => assert_eq!(&now, first, "round {round}: no first sighting moved"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_deleting_runs_delete_at_most_one_cap_in_a_scope() {
    let home = tempfile::tempdir().expect("home");
    let state = home.path().join("first-seen.json").to_string_lossy().to_string();
    let fleet = Fleet {
        integrations: (0..20).map(|n| integration(&format!("failed-{n}"), "failed", 2 * DAYS)).collect(),
        ..Fleet::default()
    };
    let emulator = emulator(fleet).await;
    // Every call takes a while, so the two runs overlap for certain.
    emulator.set_faults(Faults { latency_ms: 400, ..Faults::default() });
    let vars = [("JANITOR_STATE_FILE", state.as_str()), ("JANITOR_MAX_DELETES", "5"), ("JANITOR_PROVIDERS", "rds")];
    let args = ["sweep", "--delete"];
    let outputs = all_at_once(vec![
        spawn(home.path(), &emulator.url(), &vars, &args),
        spawn(home.path(), &emulator.url(), &vars, &args),
    ])
    .await;
    let codes: Vec<Option<i32>> = outputs.iter().map(|o| o.status.code()).collect();
    assert!(
        codes.contains(&Some(0)) && codes.contains(&Some(4)),
        "one run swept, the other found the scope busy: {codes:?}"
    );
    assert_eq!(deletes(&emulator).len(), 5, "one cap's worth of deletes, not two");
    let busy = outputs.iter().find(|o| o.status.code() == Some(4)).map(report).expect("the busy run's report");
    let sweep = &busy["sweeps"][0];
    assert_eq!(busy["totals"]["busy"], 1);
    assert_eq!(sweep["items"].as_array().map(Vec::len), Some(0), "the busy run judged nothing");
    let holder = sweep["busy"]["holder"].as_str().expect("the holder is named");
    assert!(holder.starts_with("process ") && holder.contains(" run "), "{holder}");
    assert!(String::from_utf8_lossy(&outputs.iter().find(|o| o.status.code() == Some(4)).expect("busy").stderr)
        .contains("another run holds every scope"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_held_by_another_run_is_reported_busy_and_a_cli_run_of_only_busy_scopes_exits_4() {
    let home = tempfile::tempdir().expect("home");
    let state = home.path().join("first-seen.json");
    let emulator = emulator(Fleet { connections: failed_connections(REGION, 2), ..Fleet::default() }).await;
    let holder = FileStore::new(&state, Duration::from_secs(86_400));
    let lease =
        Lease { holder: "the nightly run".to_owned(), until: Some(SystemTime::now() + Duration::from_secs(600)) };
    let taken = holder.lease(&["dms/us-east-1".to_owned()], &lease).await.expect("lease");
    assert_eq!(taken.held.len(), 1);
    let state_path = state.to_string_lossy().to_string();
    let vars = [("JANITOR_STATE_FILE", state_path.as_str()), ("JANITOR_PROVIDERS", "dms")];
    let output = all_at_once(vec![spawn(home.path(), &emulator.url(), &vars, &["sweep", "--delete"])]).await.remove(0);
    assert_eq!(output.status.code(), Some(4), "{}", String::from_utf8_lossy(&output.stderr));
    let report = report(&output);
    assert_eq!(report["sweeps"][0]["busy"]["holder"], "the nightly run");
    assert!(report["sweeps"][0]["busy"]["until"].is_string());
    assert!(deletes(&emulator).is_empty());
    assert!(emulator.calls().is_empty(), "a busy scope is not even scanned");

    holder.release(&["dms/us-east-1".to_owned()], &lease).await.expect("release");
    let output = all_at_once(vec![spawn(home.path(), &emulator.url(), &vars, &["sweep", "--delete"])]).await.remove(0);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(deletes(&emulator).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_store_deletes_nothing_and_exits_3() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(Fleet { connections: failed_connections(REGION, 2), ..Fleet::default() }).await;
    let corrupt = home.path().join("corrupt.json");
    std::fs::write(&corrupt, "{\"firstSeenFailed\": {").expect("write");
    let directory = home.path().join("a-directory");
    std::fs::create_dir(&directory).expect("mkdir");
    for (what, path, grace) in [("corrupt", &corrupt, "1h"), ("a directory", &directory, "2h")] {
        let path = path.to_string_lossy().to_string();
        let vars = [("JANITOR_STATE_FILE", path.as_str()), ("JANITOR_PROVIDERS", "dms"), ("JANITOR_DMS_GRACE", grace)];
        let output =
            all_at_once(vec![spawn(home.path(), &emulator.url(), &vars, &["sweep", "--delete"])]).await.remove(0);
        assert_eq!(output.status.code(), Some(3), "{what}: {}", String::from_utf8_lossy(&output.stderr));
        let report = report(&output);
        let error = report["sweeps"][0]["stateError"].as_str().expect("the store's error is reported");
        assert!(error.contains(&path), "{what}: {error}");
        assert_eq!(report["totals"]["deleted"], 0, "{what}");
        assert!(deletes(&emulator).is_empty(), "{what}: nothing is deleted without the scope's lease");
    }
    assert_eq!(std::fs::read_to_string(&corrupt).expect("kept"), "{\"firstSeenFailed\": {", "left for a person");
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

#[tokio::test]
async fn dynamodb_leases_exclude_a_second_holder_until_released_or_lapsed() {
    let moto = Moto::start();
    let client = moto.dynamodb(REGION).await;
    moto.create_table(&client, "janitor-marks").await;
    let (one, two) = (
        DynamoStore::new(client.clone(), "janitor-marks", Duration::from_secs(86_400)),
        DynamoStore::new(client.clone(), "janitor-marks", Duration::from_secs(86_400)),
    );
    let soon = SystemTime::now() + Duration::from_secs(600);
    let first = Lease { holder: "schedule".to_owned(), until: Some(soon) };
    let second = Lease { holder: "manual".to_owned(), until: Some(soon) };
    let scopes = vec!["dms/us-east-1".to_owned(), "rds/us-east-1".to_owned()];
    let taken = one.lease(&scopes, &first).await.expect("lease");
    assert_eq!(taken.held, scopes);
    let refused = two.lease(&scopes[1..], &second).await.expect("lease");
    assert!(refused.held.is_empty());
    let (scope, holder) = &refused.busy[0];
    assert_eq!((scope.as_str(), holder.holder.as_str()), ("rds/us-east-1", "schedule"));
    assert_eq!(holder.until.map(unix), Some(unix(soon)), "who holds it, and until when");
    assert_eq!(one.lease(&scopes, &first).await.expect("again").held.len(), 2, "a holder may renew its own lease");

    one.release(&scopes, &first).await.expect("release");
    assert_eq!(two.lease(&scopes, &second).await.expect("lease").held.len(), 2, "released scopes are free");
    two.release(&scopes[..1], &first).await.expect("someone else's release frees nothing");
    assert!(one.lease(&scopes[..1], &first).await.expect("lease").held.is_empty());

    let lapsed = Lease { holder: "killed run".to_owned(), until: Some(SystemTime::now() - Duration::from_secs(1)) };
    let other = vec!["dts/cn-hangzhou".to_owned()];
    one.lease(&other, &lapsed).await.expect("lease");
    assert_eq!(two.lease(&other, &second).await.expect("lease").held, other, "a lease past its deadline lapses");

    // A mark in the future (a clock ahead wrote it) counts from now and is rewritten.
    let key = "arn:aws:dms:us-east-1:123456789012:endpoint:e|arn:aws:dms:us-east-1:123456789012:rep:r".to_owned();
    let now = unix(SystemTime::now());
    let ahead = [key.clone()];
    let sighting = |secs: u64| Sighting {
        scope: "dms/us-east-1",
        scanned: &ahead,
        failed: &ahead,
        complete: true,
        now: UNIX_EPOCH + Duration::from_secs(secs),
    };
    one.reconcile(sighting(now + 3 * 3_600)).await.expect("a fast clock's mark");
    let seen = two.reconcile(sighting(now)).await.expect("an honest clock's run");
    assert_eq!(seen.get(&key).copied().map(unix), Some(now));
    let later = two.reconcile(sighting(now + 60)).await.expect("later");
    assert_eq!(later.get(&key).copied().map(unix), Some(now), "rewritten, and then it stands");
}

#[tokio::test]
async fn a_clock_off_by_hours_writes_no_mark_and_never_shortens_a_grace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("first-seen.json");
    let state_path = state.to_string_lossy().to_string();
    let emulator =
        emulator(Fleet { connections: vec![connection("broken", "ri", "failed")], ..Fleet::default() }).await;
    let vars = [("JANITOR_DMS_GRACE", "1h"), ("JANITOR_STATE_FILE", state_path.as_str()), ("JANITOR_PROVIDERS", "dms")];
    for (offset, side) in [(3 * 3_600, "3h behind dms's"), (-3 * 3_600, "3h ahead of dms's")] {
        // The services' clocks 3 hours from this machine's: this machine's clock is 3 hours off.
        emulator.set_clock_offset(offset);
        let skewed = sweep(&janitor(&emulator, &vars).await).await;
        assert_eq!(fate(&skewed, "broken@ri"), ("waiting".into(), "kept".into()));
        let reason = &item(&skewed, "broken@ri").reason;
        assert!(reason.starts_with(&format!("this machine's clock is {side}")), "{reason}");
        assert!(reason.contains("so no first-seen mark was written"), "{reason}");
        assert!(skewed.notes.iter().any(|n| n.contains("JANITOR_MAX_CLOCK_SKEW=1m")), "{:?}", skewed.notes);
        assert!(!state.exists() || marks(&state).is_empty(), "no mark from a clock off by hours");
    }
    emulator.set_clock_offset(0);
    let deleting = [vars.as_slice(), &[("JANITOR_DRY_RUN", "false")]].concat();
    let honest = sweep(&janitor(&emulator, &deleting).await).await;
    assert_eq!(fate(&honest, "broken@ri"), ("waiting".into(), "kept".into()), "the grace starts only now");
    assert!(item(&honest, "broken@ri").reason.contains("so far, JANITOR_DMS_GRACE is 1h"));
    assert!(deletes(&emulator).is_empty());
    assert_eq!(marks(&state).values().map(BTreeMap::len).sum::<usize>(), 1);
}

#[tokio::test]
async fn a_clock_ahead_never_ages_a_resource_early() {
    let emulator =
        emulator(Fleet { integrations: vec![integration("old", "failed", DAYS + DAYS / 24)], ..Fleet::default() })
            .await;
    let vars = [("JANITOR_DRY_RUN", "false"), ("JANITOR_PROVIDERS", "rds"), ("JANITOR_MIN_AGE", "24h")];
    // RDS's clock 3 hours behind this machine's: judged on the earlier clock, the integration is 22 hours old.
    emulator.set_clock_offset(-3 * 3_600);
    let ahead = sweep(&janitor(&emulator, &vars).await).await;
    assert_eq!(fate(&ahead, "old"), ("tooYoung".into(), "kept".into()));
    assert!(deletes(&emulator).is_empty());
    emulator.set_clock_offset(0);
    let honest = sweep(&janitor(&emulator, &vars).await).await;
    assert_eq!(fate(&honest, "old"), ("delete".into(), "deleted".into()));
}
