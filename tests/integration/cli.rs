//! The CLI binary as a user runs it: settings from the environment and flags, AWS endpoints from
//! `AWS_ENDPOINT_URL`, the JSON report on stdout, and exit codes that tell a script what happened.

use crate::common::*;
use emulator::Fleet;
use replication_janitor::config::all_settings;
use std::process::Output;

/// Runs the binary with a clean environment pointing at `endpoint`.
fn janitor_cli(home: &std::path::Path, endpoint: &str, vars: &[(&str, &str)], args: &[&str]) -> Output {
    janitor_binary(home, endpoint, vars).args(args).output().expect("the binary runs")
}

async fn run(home: &std::path::Path, endpoint: &str, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let (home, endpoint) = (home.to_owned(), endpoint.to_owned());
    let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        janitor_cli(&home, &endpoint, &vars, &args)
    })
    .await
    .expect("join")
}

fn fleet() -> Fleet {
    Fleet {
        connections: vec![connection("broken", "ri", "failed"), connection("fine", "ri", "successful")],
        integrations: vec![
            integration("old-failure", "failed", 2 * DAYS),
            integration("young-failure", "failed", DAYS / 24),
        ],
        ..Fleet::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_reports_in_dry_run_and_deletes_with_the_flag() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(fleet()).await;

    let dry = run(home.path(), &emulator.url(), &[], &["sweep"]).await;
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    let report: serde_json::Value = serde_json::from_slice(&dry.stdout).expect("stdout is the JSON report");
    assert_eq!(report["dryRun"], true);
    assert_eq!(report["trigger"], "cli");
    assert_eq!(report["totals"]["wouldDelete"], 2);
    assert!(deletes(&emulator).is_empty());

    let deleting = run(home.path(), &emulator.url(), &[], &["sweep", "--delete", "--providers", "rds"]).await;
    assert!(deleting.status.success(), "{}", String::from_utf8_lossy(&deleting.stderr));
    let report: serde_json::Value = serde_json::from_slice(&deleting.stdout).expect("report");
    assert_eq!(report["dryRun"], false);
    assert_eq!(report["totals"]["deleted"], 1);
    assert_eq!(report["totals"]["tooYoung"], 1);
    assert_eq!(deletes(&emulator), ["old-failure"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grace_is_remembered_in_the_per_user_state_file() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(fleet()).await;
    let vars = [("JANITOR_DMS_GRACE", "1h")];
    let output = run(home.path(), &emulator.url(), &vars, &["sweep", "--delete", "--providers", "dms"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("report");
    assert_eq!(report["totals"]["waiting"], 1);
    let state = home.path().join(".local/state/replication-janitor/first-seen.json");
    let marks = std::fs::read_to_string(&state).expect("per-user state file");
    assert!(marks.contains(&endpoint_arn(REGION, "broken")), "{marks}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_format_and_emf_are_for_people_and_stderr() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(fleet()).await;
    let output = run(home.path(), &emulator.url(), &[], &["sweep", "--format", "table", "--emf"]).await;
    assert!(output.status.success());
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.starts_with("dry run (cli)"), "{table}");
    assert!(table.contains("wouldDelete   delete      old-failure"), "{table}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let emf = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["_aws"]["CloudWatchMetrics"].is_array())
        .count();
    assert_eq!(emf, 3, "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_give_exit_status_1() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(fleet()).await;
    emulator.set_faults(emulator::Faults { error_rate: 1.0, ..Default::default() });
    let output = run(home.path(), &emulator.url(), &[("JANITOR_MAX_ATTEMPTS", "1")], &["sweep"]).await;
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the report is still printed");
    assert_eq!(report["totals"]["failed"], 2);
}

/// Environment, arguments, and the message the binary must print.
type BadSetting<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a str);

#[test]
fn invalid_settings_exit_2_naming_the_variable_and_the_accepted_values() {
    let home = tempfile::tempdir().expect("home");
    let cases: [BadSetting; 6] = [
        (
            &[("JANITOR_MAX_DELETES", "lots")],
            &["sweep"],
            "invalid setting JANITOR_MAX_DELETES=\"lots\": expected a whole number from 0 to 1000000",
        ),
        (
            &[],
            &["sweep", "--concurrency", "0"],
            "invalid setting JANITOR_CONCURRENCY=\"0\": expected a whole number from 1 to 64",
        ),
        (
            &[("JANITOR_DRY_RUN", "maybe")],
            &["sweep"],
            "invalid setting JANITOR_DRY_RUN=\"maybe\": expected true or false",
        ),
        (
            &[("JANITOR_RDS_STATUSES", "active")],
            &["sweep"],
            "invalid setting JANITOR_RDS_STATUSES=\"active\": expected a comma list of failed, needs_attention",
        ),
        (
            &[("JANITOR_DMS_GRACE", "99999999999d")],
            &["sweep"],
            "invalid setting JANITOR_DMS_GRACE=\"99999999999d\": expected a duration from 0s to 3650d: whole numbers \
             with units s, m, h, d, such as 90s or 1h30m",
        ),
        (
            &[],
            &["sweep", "--time-limit", "8d"],
            "invalid setting JANITOR_TIME_LIMIT=\"8d\": expected a duration from 1s to 7d: whole numbers with units s, \
             m, h, d, such as 90s or 1h30m",
        ),
    ];
    for (vars, args, message) in cases {
        let output = janitor_cli(home.path(), "http://127.0.0.1:9", vars, args);
        assert_eq!(output.status.code(), Some(2), "{message}");
        assert_eq!(String::from_utf8_lossy(&output.stderr).trim(), format!("replication-janitor: {message}"));
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn help_documents_every_setting() {
    let home = tempfile::tempdir().expect("home");
    let output = janitor_cli(home.path(), "http://127.0.0.1:9", &[], &["sweep", "--help"]);
    let main_help = janitor_cli(home.path(), "http://127.0.0.1:9", &[], &["--help"]);
    let help = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&main_help.stdout));
    for setting in all_settings() {
        assert!(help.contains(setting.variable), "{} missing from --help", setting.variable);
        if let Some(flag) = setting.flag {
            assert!(help.contains(&format!("--{flag} <")), "--{flag}: {help}");
        }
    }
    assert!(help.contains("--delete"));
    assert!(help.contains("--time-limit <DURATION>"), "{help}");
    assert!(help.contains("--redshift-statuses"), "a provider's own flags come from its spec: {help}");
}

/// The write end of a pipe whose read end is already closed, as `| head -1` leaves it once head has its line.
fn closed_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    writer
}

/// Runs the binary with stdout (and, with `close_stderr`, stderr) into a pipe nobody reads.
async fn run_into_closed_pipes(
    endpoint: &str,
    vars: &[(&str, &str)],
    args: &[&str],
    close_stderr: bool,
) -> std::process::Output {
    let home = tempfile::tempdir().expect("home");
    let mut command = janitor_binary(home.path(), endpoint, vars);
    command.args(args).stdout(closed_pipe());
    if close_stderr {
        command.stderr(closed_pipe());
    }
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs")).await.expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_into_a_closed_pipe_ends_quietly_with_the_usual_exit_code() {
    let emulator = emulator(fleet()).await;
    let url = emulator.url();
    for format in ["json", "table"] {
        let output = run_into_closed_pipes(&url, &[], &["sweep", "--format", format], false).await;
        assert_eq!(output.status.code(), Some(0), "{format}: {}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(String::from_utf8_lossy(&output.stderr), "", "{format}: no message, no panic");
    }

    let emf_only = run_into_closed_pipes(&url, &[], &["sweep", "--emf"], false).await;
    assert_eq!(emf_only.status.code(), Some(0));
    let lines = String::from_utf8_lossy(&emf_only.stderr).lines().count();
    assert_eq!(lines, 3, "the metrics still reach an open stderr: {}", String::from_utf8_lossy(&emf_only.stderr));

    emulator.set_faults(emulator::Faults { error_rate: 1.0, ..Default::default() });
    let failing = [("JANITOR_MAX_ATTEMPTS", "1"), ("RUST_LOG", "off")];
    let output = run_into_closed_pipes(&url, &failing, &["sweep", "--format", "table"], false).await;
    assert_eq!(output.status.code(), Some(1), "a failed scan is still exit 1");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    let logged = [("JANITOR_MAX_ATTEMPTS", "1")];
    let output = run_into_closed_pipes(&url, &logged, &["sweep", "--emf"], true).await;
    assert_eq!(output.status.code(), Some(1), "warnings and metrics into a closed stderr do not panic (101)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_limit_is_the_sweeps_deadline() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(fleet()).await;
    // Every call takes 1.5 s, while an 11 s limit less the 10 s margin leaves the run less than 1 s to wait.
    emulator.set_faults(emulator::Faults { latency_ms: 1_500, ..Default::default() });
    let args = ["sweep", "--delete", "--providers", "rds", "--min-age", "0", "--time-limit", "11s"];
    let output = run(home.path(), &emulator.url(), &[("RUST_LOG", "off")], &args).await;
    assert_eq!(output.status.code(), Some(1), "a scan that did not finish is a failure");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the report is still printed");
    assert_eq!(report["totals"]["timedOut"], 1, "{report}");
    assert_eq!(report["sweeps"][0]["timedOut"], true, "{report}");
    assert!(deletes(&emulator).is_empty());

    let roomy = run(home.path(), &emulator.url(), &[("JANITOR_TIME_LIMIT", "1h")], &args[..6]).await;
    assert!(roomy.status.success(), "{}", String::from_utf8_lossy(&roomy.stderr));
    let report: serde_json::Value = serde_json::from_slice(&roomy.stdout).expect("report");
    assert_eq!(report["totals"]["deleted"], 2, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dts_is_swept_with_credentials_from_the_environment() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(Fleet::sample()).await;
    let url = emulator.url();
    let vars = [
        ("JANITOR_PROVIDERS", "dts"),
        ("JANITOR_DTS_REGIONS", "cn-hangzhou,ap-southeast-1"),
        ("JANITOR_DTS_ENDPOINT", url.as_str()),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIemulatorKeyId"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "emulator-secret"),
    ];
    let output = run(home.path(), &url, &vars, &["sweep"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("report");
    let sweeps: Vec<(&str, &str)> = report["sweeps"]
        .as_array()
        .expect("sweeps")
        .iter()
        .map(|s| (s["provider"].as_str().unwrap_or_default(), s["region"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(sweeps, [("dts", "cn-hangzhou"), ("dts", "ap-southeast-1")]);
    assert!(report["totals"]["wouldDelete"].as_u64().unwrap_or_default() > 0, "{report}");
    assert!(emulator.calls().iter().all(|c| c.service == "dts"));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("emulator-secret"));

    let without_aws = {
        let (home, url) = (home.path().to_owned(), url.clone());
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        tokio::task::spawn_blocking(move || {
            let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            // IMDS on a closed loopback port: if the AWS configuration were loaded, its region probe would fail
            // there and log a warning.
            janitor_binary(&home, &url, &vars)
                .env_remove("AWS_REGION")
                .env_remove("AWS_EC2_METADATA_DISABLED")
                .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")
                .arg("sweep")
                .output()
                .expect("runs")
        })
        .await
        .expect("join")
    };
    assert!(without_aws.status.success());
    assert_eq!(String::from_utf8_lossy(&without_aws.stderr), "", "a DTS-only run needs no AWS configuration");
}

#[test]
fn dts_without_credentials_exits_2_saying_what_is_missing() {
    let home = tempfile::tempdir().expect("home");
    let vars = [("JANITOR_PROVIDERS", "dms,dts"), ("JANITOR_DTS_REGIONS", "cn-hangzhou")];
    let output = janitor_cli(home.path(), "http://127.0.0.1:9", &vars, &["sweep"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("replication-janitor: dts cannot start: Alibaba Cloud credentials"), "{stderr}");
    assert!(stderr.contains("ALIBABA_CLOUD_ACCESS_KEY_ID"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_html_renders_a_printed_report_and_refuses_what_is_not_one() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(fleet()).await;
    let swept = run(home.path(), &emulator.url(), &[], &["sweep", "--delete"]).await;
    assert!(swept.status.success(), "{}", String::from_utf8_lossy(&swept.stderr));
    let report: serde_json::Value = serde_json::from_slice(&swept.stdout).expect("report");
    let json = home.path().join("report.json");
    std::fs::write(&json, &swept.stdout).expect("write the report");
    let json = json.to_string_lossy().into_owned();
    let out = home.path().join("report.html");
    let out_arg = out.to_string_lossy().into_owned();

    let to_file = run(home.path(), "http://127.0.0.1:9", &[], &["report", "--html", &json, "--out", &out_arg]).await;
    assert!(to_file.status.success(), "{}", String::from_utf8_lossy(&to_file.stderr));
    assert!(to_file.stdout.is_empty() && to_file.stderr.is_empty());
    let page = std::fs::read_to_string(&out).expect("the page");
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    for key in ["scanned", "deleted", "tooYoung", "failed"] {
        let shown = format!("data-total=\"{key}\"><b>{}</b>", report["totals"][key]);
        assert!(page.contains(&shown), "{shown} in the page");
    }
    assert!(page.contains("<h4>old-failure</h4>"), "the deleted integration has its card");
    assert!(page.contains("This report does not say where it was archived."), "a CLI run is not archived");
    let to_stdout = run(home.path(), "http://127.0.0.1:9", &[], &["report", "--html", &json]).await;
    assert!(to_stdout.status.success());
    assert_eq!(String::from_utf8_lossy(&to_stdout.stdout), page, "stdout without --out");

    let not_a_report = home.path().join("notes.json");
    std::fs::write(&not_a_report, "{\"hello\": \"world\"}").expect("write");
    let path = not_a_report.to_string_lossy().into_owned();
    let refused = run(home.path(), "http://127.0.0.1:9", &[], &["report", "--html", &path]).await;
    assert_eq!(refused.status.code(), Some(2));
    assert!(refused.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        format!(
            "replication-janitor: {path} is not a replication-janitor report (missing field `dryRun` at line 1 column \
             18)\n"
        )
    );
    let missing = run(home.path(), "http://127.0.0.1:9", &[], &["report", "--html", "/no/such/report.json"]).await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr)
        .starts_with("replication-janitor: /no/such/report.json could not be read: "));
    let no_format = run(home.path(), "http://127.0.0.1:9", &[], &["report", &json]).await;
    assert_eq!(no_format.status.code(), Some(2), "--html is required");
    assert!(String::from_utf8_lossy(&no_format.stderr).contains("--html"));
}
