//! The Lambda face as Lambda runs it: the real binary polls a local Runtime API, gets every sample in `events/`,
//! and answers with reports (or function errors) while printing EMF metrics and JSON logs on stdout.

use crate::common::*;
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
    let child = spawn_lambda(&api, &emulator.url(), home.path(), &[("JANITOR_PROVIDERS", "dms,rds,redshift")]);

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
            ("malformed-trailing-text.json", Some(Invocation::Error { error_type, error_message })) => {
                assert_eq!(error_type, "InvalidPayload");
                assert_eq!(error_message, "the payload is not valid JSON: trailing characters at line 2 column 1");
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
    assert_eq!(
        schedule["totals"]["wouldDelete"], 6,
        "two old failed RDS integrations, two Redshift ones, two unprotected failed connections"
    );
    assert_eq!(schedule["totals"]["protected"], 4);
    let Some(Invocation::Response(unrelated)) = by_name("unrelated-event.json") else { panic!("unrelated answered") };
    assert!(unrelated["notes"][0].as_str().unwrap_or_default().starts_with("no-op"));
    let Some(Invocation::Response(foreign)) = by_name("rds-event-other-account.json") else { panic!("answered") };
    let note = foreign["notes"][0].as_str().unwrap_or_default();
    assert!(note.contains("not to this function's account 123456789012"), "the function's own ARN is used: {note}");
    assert!(deletes(&emulator).is_empty());

    let emf: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["_aws"]["CloudWatchMetrics"].is_array())
        .collect();
    // A line per provider swept plus the aggregate: schedule, scheduler input and the delete request sweep the
    // three providers (4 lines each); the RDS-only manual request and the four scoped service events 2 each; the
    // three no-op events 1 each; the malformed payloads none.
    assert_eq!(emf.len(), 3 * 4 + 2 * 5 + 3, "{stdout}");
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

/// `(provider, region)` of each sweep in a report.
fn swept(report: &serde_json::Value) -> Vec<(String, String)> {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    report["sweeps"].as_array().into_iter().flatten().map(|s| (text(&s["provider"]), text(&s["region"]))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_after_the_payload_is_an_invalid_payload_not_a_sweep() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(Fleet::sample()).await;
    let api = RuntimeApi::start(Duration::from_secs(60)).await.expect("runtime api");
    let child = spawn_lambda(&api, &emulator.url(), home.path(), &[("JANITOR_DRY_RUN", "false")]);
    let bodies: [(&[u8], &str); 5] = [
        (b"{} x", "trailing characters at line 1 column 4"),
        (b"{}{}", "trailing characters at line 1 column 3"),
        (b"{\"dryRun\": true} {\"dryRun\": false}", "trailing characters at line 1 column 18"),
        (b"{\"dryRun\": tru", "EOF while parsing a value at line 1 column 14"),
        (b"\"\xff\"", "it is not UTF-8 (an invalid byte at offset 1)"),
    ];
    for (index, (body, why)) in bodies.iter().enumerate() {
        api.push_raw(body.to_vec());
        match api.outcome(index, Duration::from_secs(30)).await {
            Some(Invocation::Error { error_type, error_message }) => {
                assert_eq!(error_type, "InvalidPayload");
                assert_eq!(error_message, format!("the payload is not valid JSON: {why}"));
            }
            other => panic!("{}: {other:?}", String::from_utf8_lossy(body)),
        }
    }
    api.push_raw(b" {\"providers\": [\"rds\"]} \n".to_vec());
    let Some(Invocation::Response(report)) = api.outcome(bodies.len(), Duration::from_secs(30)).await else {
        panic!("one document with whitespace around it is a payload")
    };
    stop(child);
    assert_eq!(swept(&report), [("rds".into(), "us-east-1".into()), ("rds".into(), "eu-west-1".into())]);
    let calls = emulator.calls();
    assert_eq!(calls.iter().filter(|c| c.operation.starts_with("Describe")).count(), 2, "only the last one swept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_narrow_aws_and_dts_regions_narrow_dts() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(Fleet::sample()).await;
    let url = emulator.url();
    let api = RuntimeApi::start(Duration::from_secs(60)).await.expect("runtime api");
    let vars = [
        ("JANITOR_PROVIDERS", "dms,rds,dts"),
        ("JANITOR_DTS_REGIONS", "cn-hangzhou,us-east-1"),
        ("JANITOR_DTS_ENDPOINT", url.as_str()),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", emulator::DTS_ACCESS_KEY_ID),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", emulator::DTS_ACCESS_KEY_SECRET),
    ];
    let child = spawn_lambda(&api, &url, home.path(), &vars);
    let payloads = [
        serde_json::json!({"regions": ["us-east-1"]}),
        serde_json::json!({"dtsRegions": ["us-east-1"]}),
        serde_json::json!({"regions": ["cn-hangzhou"]}),
        serde_json::json!({"dtsRegions": ["eu-west-1"]}),
    ];
    let mut outcomes = Vec::new();
    for (index, payload) in payloads.into_iter().enumerate() {
        api.push(payload);
        outcomes.push(api.outcome(index, Duration::from_secs(30)).await);
    }
    stop(child);
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter().map(|(p, r)| (p.to_string(), r.to_string())).collect()
    };

    let Some(Invocation::Response(aws_narrowed)) = &outcomes[0] else { panic!("{:?}", outcomes[0]) };
    assert_eq!(
        swept(aws_narrowed),
        pairs(&[("dms", "us-east-1"), ("rds", "us-east-1"), ("dts", "cn-hangzhou"), ("dts", "us-east-1")]),
        "an AWS region does not narrow DTS, though Alibaba Cloud has a region of that name"
    );
    let Some(Invocation::Response(dts_narrowed)) = &outcomes[1] else { panic!("{:?}", outcomes[1]) };
    assert_eq!(
        swept(dts_narrowed),
        pairs(&[
            ("dms", "us-east-1"),
            ("dms", "eu-west-1"),
            ("rds", "us-east-1"),
            ("rds", "eu-west-1"),
            ("dts", "us-east-1")
        ])
    );
    let errors: Vec<String> = outcomes[2..]
        .iter()
        .map(|outcome| match outcome {
            Some(Invocation::Error { error_type, error_message }) if error_type == "InvalidPayload" => {
                error_message.clone()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        errors,
        [
            "the request names regions [\"cn-hangzhou\"] that this janitor is not configured for \
             (JANITOR_REGIONS allows [\"us-east-1\", \"eu-west-1\"])",
            "the request names DTS regions [\"eu-west-1\"] that this janitor is not configured for \
             (JANITOR_DTS_REGIONS allows [\"cn-hangzhou\", \"us-east-1\"])",
        ]
    );
    assert!(deletes(&emulator).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_fleet_answers_within_lambdas_response_limit_with_what_matters_listed() {
    let home = tempfile::tempdir().expect("home");
    // About 5.4 MB of items as JSON: over the 4 MiB the response lists, under what a debug build sweeps quickly.
    let emulator = emulator(Fleet::generated(16_000, 0, 0.05, &[REGION])).await;
    let api = RuntimeApi::start(Duration::from_secs(120)).await.expect("runtime api");
    let child = spawn_lambda(&api, &emulator.url(), home.path(), &[("JANITOR_REGIONS", REGION)]);
    api.push_raw(b"{}".to_vec());
    let outcome = api.outcome(0, Duration::from_secs(100)).await;
    stop(child);

    let Some(Invocation::Response(report)) = outcome else { panic!("a response: {outcome:?}") };
    let size = serde_json::to_vec(&report).expect("json").len();
    assert!(size <= 5_000_000, "{size} bytes");
    assert_eq!(report["totals"]["scanned"], 16_000);
    let sweep = &report["sweeps"][0];
    let listed = sweep["items"].as_array().expect("items");
    let omitted = sweep["itemsOmitted"].as_u64().expect("itemsOmitted");
    assert!(omitted > 0);
    assert_eq!(listed.len() as u64 + omitted, 16_000);
    let stale = listed.iter().filter(|i| i["verdict"] == "delete" || i["verdict"] == "capped").count();
    assert_eq!(stale, 800, "every stale connection is listed (the first 100 would be deleted, the rest are capped)");
    let notes = report["notes"].as_array().expect("notes");
    assert!(notes.iter().any(|n| n.as_str().unwrap_or_default().starts_with(&format!("{omitted} of 16000 items"))));
}

/// The fields a Logs Insights query's `fields` command reads (each under its own name: the logs are flat), and the
/// messages it filters on (`message = '...'`).
fn query_fields_and_messages(query: &str) -> (Vec<String>, Vec<String>) {
    let commands: Vec<&str> = query.split('|').map(str::trim).collect();
    let fields = commands
        .iter()
        .filter_map(|command| command.strip_prefix("fields "))
        .flat_map(|list| list.split(','))
        .map(|field| field.split(" as ").next().unwrap_or_default().trim())
        .filter(|name| !name.starts_with('@') && *name != "message")
        .map(str::to_owned)
        .collect();
    let messages = commands
        .iter()
        .filter(|command| command.starts_with("filter "))
        .flat_map(|filter| filter.split("message = '").skip(1))
        .filter_map(|rest| rest.split('\'').next())
        .map(str::to_owned)
        .collect();
    (fields, messages)
}

/// The JSON log lines of a Lambda's stdout (its EMF metric lines left out).
fn log_lines(stdout: &str) -> Vec<Value> {
    stdout.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(|l| l.get("_aws").is_none()).collect()
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
    let logs = log_lines(&stdout);

    // The tables read the log group the function writes to (its LoggingConfig names it).
    let template = std::fs::read_to_string("template.yaml").expect("template.yaml");
    assert!(template.contains("        LogGroup: !Ref JanitorFunctionLogGroup\n"), "the function logs to its group");
    let body = dashboard_body(|name| format!("<{name}>"));
    let tables = dashboard_widgets(&body, "log");
    assert_eq!(tables.len(), 3, "latest deletions, scan errors, latest runs");
    for table in &tables {
        let query = table["properties"]["query"].as_str().expect("a query");
        assert!(query.starts_with("SOURCE '<JanitorFunctionLogGroup>' |"), "{query}");
        let (fields, messages) = query_fields_and_messages(query);
        assert!(fields.contains(&"function_request_id".to_owned()), "each table names its invocation: {query}");
        assert!(!messages.is_empty(), "{query}");
        let lines: Vec<&Value> = logs.iter().filter(|l| messages.iter().any(|m| l["message"] == m.as_str())).collect();
        assert!(!lines.is_empty(), "no log line {messages:?} in:\n{stdout}");
        for line in lines {
            for field in &fields {
                assert!(!line[field].is_null(), "{query}\nreads {field}, missing from {line}");
            }
        }
    }
}

/// The keys people query (Powertools for AWS Lambda's names) are on every log line of every invocation, and
/// `cold_start` is true for the process's first invocation only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_log_line_of_an_invocation_names_the_function_and_the_invocation() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(Fleet::sample()).await;
    let api = RuntimeApi::start(Duration::from_secs(60)).await.expect("runtime api");
    // The RDS scans fail, so each run logs warnings as well as its summary.
    let vars = [("AWS_ENDPOINT_URL_RDS", "http://127.0.0.1:9"), ("JANITOR_MAX_ATTEMPTS", "1")];
    let child = spawn_lambda(&api, &emulator.url(), home.path(), &vars);
    for index in 0..2 {
        api.push_raw(std::fs::read("events/schedule.json").expect("schedule event"));
        let outcome = api.outcome(index, Duration::from_secs(30)).await;
        assert!(matches!(outcome, Some(Invocation::Response(_))), "invocation {index}: {outcome:?}");
    }
    let stdout = stop(child);
    let logs = log_lines(&stdout);
    assert!(logs.iter().filter(|l| l["message"] == "scan failed").count() >= 2, "{stdout}");

    let mut invocations: Vec<(String, bool)> = Vec::new();
    for line in &logs {
        assert_eq!(line["service"], "replication-janitor", "{line}");
        assert_eq!(line["function_name"], "replication-janitor", "AWS_LAMBDA_FUNCTION_NAME: {line}");
        assert_eq!(line["function_arn"], emulator::runtime_api::FUNCTION_ARN, "{line}");
        assert_eq!(line["function_memory_size"], 128, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE: {line}");
        assert_eq!(line["xray_trace_id"], "1-5759e988-bd862e3fe1be46a994272793", "the trace header's Root: {line}");
        let request = line["function_request_id"].as_str().unwrap_or_else(|| panic!("a request id: {line}"));
        let cold = line["cold_start"].as_bool().unwrap_or_else(|| panic!("cold_start: {line}"));
        if invocations.last().is_none_or(|(last, _)| last != request) {
            invocations.push((request.to_owned(), cold));
        }
        assert_eq!(invocations.last().map(|(_, c)| *c), Some(cold), "one cold_start per invocation: {line}");
    }
    let colds: Vec<bool> = invocations.iter().map(|(_, cold)| *cold).collect();
    assert_eq!(colds, [true, false], "two invocations in order, the first cold: {invocations:?}");
    // The cold start says once what its configuration can do (the sample's default dry run cannot delete).
    let checks: Vec<&Value> =
        logs.iter().filter(|l| l["message"].as_str().is_some_and(|m| m.starts_with("configuration check"))).collect();
    assert_eq!(checks.len(), 1, "{stdout}");
    assert_eq!(checks[0]["cold_start"], true);
    assert!(
        checks[0]["verdict"].as_str().is_some_and(|v| v.contains("dry run: JANITOR_DRY_RUN is true")),
        "{}",
        checks[0]
    );
    assert_ne!(invocations[0].0, invocations[1].0);
}
