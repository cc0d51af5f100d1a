//! The first hour, as a new user meets it: `check`'s verdicts (a typo region, no credentials, no store, denied
//! grants, a configuration that can delete), and a sweep without credentials saying so in one line.

use crate::common::*;
use emulator::Fleet;
use std::process::Output;

async fn cli(command: std::process::Command) -> Output {
    let mut command = command;
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs")).await.expect("join")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn fleet() -> Fleet {
    Fleet {
        connections: vec![connection("broken", "ri", "failed")],
        integrations: vec![integration("old-failure", "failed", 2 * DAYS)],
        ..Fleet::default()
    }
}

/// The binary as a user without any AWS credentials runs it (no keys, no profile, no instance metadata).
fn without_credentials(home: &std::path::Path, endpoint: &str) -> std::process::Command {
    let mut command = janitor_binary(home, endpoint, &[]);
    command.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_that_can_delete_says_so_and_exits_0() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(fleet()).await;
    let mut command = janitor_binary(home.path(), &emulator.url(), &[]);
    command.args(["check", "--delete"]);
    let output = cli(command).await;
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    let said = stdout(&output);
    assert!(said.ends_with("this configuration can delete\n"), "{said}");
    assert!(said.contains("ok   AWS credentials: resolved from the environment"), "{said}");
    assert!(said.contains("ok   dms us-east-1: listed 1 resources"), "{said}");
    assert!(said.contains("ok   first-seen store: reachable and writable"), "{said}");
    assert!(said.contains("ok   aws regions (JANITOR_REGIONS): us-east-1, each a region name of its cloud"), "{said}");
    assert!(said.contains("JANITOR_DRY_RUN"), "{said}");
    assert!(!said.contains("emulator-secret"), "never the secret: {said}");
    let calls: Vec<String> = emulator.calls().into_iter().map(|c| c.operation).collect();
    assert!(!calls.iter().any(|op| op.starts_with("Delete")), "check deletes nothing: {calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_dry_run_and_denied_grants_each_stop_deletes_with_their_reason() {
    let home = tempfile::tempdir().expect("home");
    let mut denied = fleet();
    denied.denied_actions = ["dms:DescribeConnections".to_owned()].into();
    let emulator = emulator(denied).await;
    let mut command = janitor_binary(home.path(), &emulator.url(), &[]);
    command.arg("check");
    let output = cli(command).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let said = stdout(&output);
    assert!(said.contains("this configuration cannot delete:"), "{said}");
    assert!(said.contains("- dry run: JANITOR_DRY_RUN is true (the default)"), "{said}");
    assert!(
        said.contains("- dms us-east-1: access denied: dms:DescribeConnections in us-east-1 (AccessDeniedException)"),
        "{said}"
    );
    assert!(said.contains("ok   rds us-east-1: listed 1 resources"), "{said}");
    assert!(said.contains("JANITOR_DRY_RUN                    true"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_store_means_nothing_under_a_grace_is_ever_deleted() {
    let emulator = emulator(fleet()).await;
    let home = tempfile::tempdir().expect("home");
    // No HOME and no JANITOR_STATE_FILE: there is nowhere to keep the marks.
    let mut command = janitor_binary(home.path(), &emulator.url(), &[("JANITOR_DMS_GRACE", "1h")]);
    command.env_remove("HOME").args(["check", "--delete"]);
    let output = cli(command).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let said = stdout(&output);
    assert!(
        said.contains(
            "- first-seen store: none is configured (JANITOR_STATE_TABLE or JANITOR_STATE_FILE): nothing \
                       under a grace will ever be deleted: dms (JANITOR_DMS_GRACE=1h)"
        ),
        "{said}"
    );

    // A sweep of that configuration says so in its notes, on stderr and in its exit status (3, as a broken store).
    let mut command = janitor_binary(home.path(), &emulator.url(), &[("JANITOR_DMS_GRACE", "1h")]);
    command.env_remove("HOME").args(["sweep", "--delete", "--providers", "dms"]);
    let swept = cli(command).await;
    assert_eq!(swept.status.code(), Some(3), "{}", stderr(&swept));
    let report: serde_json::Value = serde_json::from_slice(&swept.stdout).expect("the JSON report");
    let never = "this configuration can never delete dms (JANITOR_DMS_GRACE=1h)";
    assert!(report["notes"]
        .as_array()
        .is_some_and(|n| n.iter().any(|n| n.as_str().is_some_and(|n| n.starts_with(never)))));
    assert!(stderr(&swept).contains(never), "{}", stderr(&swept));
    assert!(deletes(&emulator).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typo_region_is_refused_in_one_line() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(fleet()).await;
    let mut command = janitor_binary(home.path(), &emulator.url(), &[("JANITOR_REGIONS", "us-east1")]);
    command.arg("check");
    let output = cli(command).await;
    assert_eq!(output.status.code(), Some(2));
    let said = stderr(&output);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("us-east1 is not a region name of AWS"), "{said}");
    assert!(emulator.calls().is_empty(), "no call was made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_credentials_check_and_sweep_say_so_in_one_line_with_no_warning_flood() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(fleet()).await;
    let mut command = without_credentials(home.path(), &emulator.url());
    command.args(["check", "--delete"]);
    let checked = cli(command).await;
    assert_eq!(checked.status.code(), Some(1));
    let said = stdout(&checked);
    let no_credentials = "no AWS credentials found (environment, profile, web identity, container, instance metadata)";
    assert!(said.contains(&format!("STOP AWS credentials: {no_credentials}")), "{said}");
    assert!(said.contains(&format!("STOP dms us-east-1: {no_credentials}")), "{said}");

    let mut command = without_credentials(home.path(), &emulator.url());
    command.args(["sweep", "--providers", "dms"]);
    let swept = cli(command).await;
    assert_eq!(swept.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&swept.stdout).expect("the JSON report");
    assert_eq!(report["sweeps"][0]["error"], format!("DescribeConnections in us-east-1 failed: {no_credentials}"));
    let logged = stderr(&swept);
    assert!(!logged.contains("aws_config"), "the SDK's per-source warnings stay at debug: {logged}");
    assert!(logged.len() < 600, "{logged}");
}
