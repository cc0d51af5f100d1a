//! The Lambda face as Lambda runs it: the real binary polls a local Runtime API, gets every sample in `events/`,
//! and answers with reports (or function errors) while printing EMF metrics and JSON logs on stdout.

mod common;

use common::*;
use emulator::{Fleet, Invocation, RuntimeApi};
use serde_json::Value;
use std::io::Read;
use std::process::{Child, Stdio};
use std::time::Duration;

fn spawn_lambda(api: &RuntimeApi, endpoint: &str, home: &std::path::Path, vars: &[(&str, &str)]) -> Child {
    let mut all = vec![
        ("AWS_LAMBDA_FUNCTION_NAME", "replication-janitor"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("JANITOR_REGIONS", "us-east-1,eu-west-1"),
    ];
    all.extend_from_slice(vars);
    let mut command = janitor_binary(home, endpoint, &all);
    command.env("AWS_LAMBDA_RUNTIME_API", api.address()).stdout(Stdio::piped()).stderr(Stdio::piped());
    command.spawn().expect("the binary starts")
}

fn stop(mut child: Child) -> String {
    let _ = child.kill();
    let _ = child.wait();
    let mut stdout = String::new();
    child.stdout.take().expect("stdout").read_to_string(&mut stdout).expect("read stdout");
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_event_is_answered_through_the_runtime_api() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(Fleet::sample()).await;
    let api = RuntimeApi::start(Duration::from_secs(60)).await.expect("runtime api");
    let child = spawn_lambda(&api, &emulator.url(), home.path(), &[]);

    let mut files: Vec<_> = std::fs::read_dir("events").expect("events/").map(|e| e.expect("entry").path()).collect();
    files.sort();
    let mut outcomes = Vec::new();
    for (index, file) in files.iter().enumerate() {
        api.push_raw(std::fs::read(file).expect("event"));
        let outcome = api.outcome(index, Duration::from_secs(30)).await;
        outcomes.push((file.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned(), outcome));
    }
    let stdout = stop(child);

    for (name, outcome) in &outcomes {
        match (name.as_str(), outcome) {
            ("malformed-not-an-object.json", Some(Invocation::Error { error_type, error_message })) => {
                assert_eq!(error_type, "InvalidPayload");
                assert!(error_message.starts_with("the payload must be a JSON object"), "{error_message}");
            }
            (_, Some(Invocation::Response(report))) => {
                assert_eq!(report["dryRun"], true, "{name}: the default configuration is a dry run");
                assert!(report["totals"]["deleted"] == 0, "{name}");
            }
            (name, other) => panic!("{name}: unexpected outcome {other:?}"),
        }
    }
    let by_name = |n: &str| outcomes.iter().find(|(name, _)| name == n).and_then(|(_, o)| o.clone());
    let Some(Invocation::Response(schedule)) = by_name("schedule.json") else { panic!("schedule answered") };
    assert_eq!(schedule["trigger"], "schedule");
    assert_eq!(schedule["totals"]["wouldDelete"], 4, "two old failed integrations, two unprotected failed connections");
    assert_eq!(schedule["totals"]["protected"], 3);
    let Some(Invocation::Response(unrelated)) = by_name("unrelated-event.json") else { panic!("unrelated answered") };
    assert!(unrelated["notes"][0].as_str().unwrap_or_default().starts_with("no-op"));
    assert!(deletes(&emulator).is_empty());

    let emf: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["_aws"]["CloudWatchMetrics"].is_array())
        .collect();
    // A line per provider swept plus the aggregate: schedule, scheduler input and the delete request sweep both
    // providers (3 lines each); the RDS-only manual request and the three scoped service events 2 each; the two
    // no-op events 1 each; the malformed payload none.
    assert_eq!(emf.len(), 3 * 3 + 2 * 4 + 2, "{stdout}");
    assert!(stdout.lines().any(|l| l.contains("\"sweep finished\"") && l.starts_with('{')), "JSON logs:\n{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_setting_is_an_init_error_naming_it() {
    let home = tempfile::tempdir().expect("home");
    let api = RuntimeApi::start(Duration::from_secs(60)).await.expect("runtime api");
    let mut child = spawn_lambda(&api, "http://127.0.0.1:9", home.path(), &[("JANITOR_MAX_DELETES", "all")]);
    let status = tokio::task::spawn_blocking(move || child.wait()).await.expect("join").expect("exit");
    assert!(!status.success());
    let error = api.init_error().expect("init error reported");
    assert_eq!(error["errorType"], "InvalidSetting");
    assert_eq!(
        error["errorMessage"],
        "invalid setting JANITOR_MAX_DELETES=\"all\": expected a whole number from 0 to 1000000"
    );
}

/// The `fields.<name>` a Logs Insights query reads, and the messages it filters on (`fields.message = '...'`).
fn query_fields_and_messages(query: &str) -> (Vec<String>, Vec<String>) {
    let fields = query
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter_map(|token| token.strip_prefix("fields."))
        .filter(|name| *name != "message")
        .map(str::to_owned)
        .collect();
    let messages = query
        .split("fields.message = '")
        .skip(1)
        .filter_map(|rest| rest.split('\'').next())
        .map(str::to_owned)
        .collect();
    (fields, messages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_log_tables_read_fields_the_lambda_logs_carry() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(Fleet::sample()).await;
    let api = RuntimeApi::start(Duration::from_secs(60)).await.expect("runtime api");
    // A deleting run whose RDS scans fail (nothing listens on port 9): DMS deletes, RDS logs its scan errors.
    let vars =
        [("JANITOR_DRY_RUN", "false"), ("AWS_ENDPOINT_URL_RDS", "http://127.0.0.1:9"), ("JANITOR_MAX_ATTEMPTS", "1")];
    let child = spawn_lambda(&api, &emulator.url(), home.path(), &vars);
    api.push_raw(std::fs::read("events/schedule.json").expect("schedule event"));
    let outcome = api.outcome(0, Duration::from_secs(30)).await;
    let stdout = stop(child);
    let Some(Invocation::Response(report)) = outcome else { panic!("the schedule was answered: {outcome:?}") };
    assert!(report["totals"]["deleted"].as_u64().unwrap_or_default() > 0, "{report}");
    let logs: Vec<Value> = stdout.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).collect();

    let body = dashboard_body(|name| format!("<{name}>"));
    let tables = dashboard_widgets(&body, "log");
    assert_eq!(tables.len(), 2, "latest deletions and scan errors");
    for table in &tables {
        let query = table["properties"]["query"].as_str().expect("a query");
        assert!(query.starts_with("SOURCE '/aws/lambda/<JanitorFunction>' |"), "{query}");
        let (fields, messages) = query_fields_and_messages(query);
        assert!(!fields.is_empty() && !messages.is_empty(), "{query}");
        let lines: Vec<&Value> =
            logs.iter().filter(|l| messages.iter().any(|m| l["fields"]["message"] == m.as_str())).collect();
        assert!(!lines.is_empty(), "no log line {messages:?} in:\n{stdout}");
        for line in lines {
            for field in &fields {
                assert!(line["fields"][field].is_string(), "{query}\nreads fields.{field}, missing from {line}");
            }
        }
    }
}
