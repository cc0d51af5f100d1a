//! The fake Lambda Runtime API over real TCP, with a minimal HTTP/1.1 client, and the
//! `janitor-runtime-api` binary driving a tiny Python "function".

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{http, Reply};
use emulator::runtime_api::{FUNCTION_ARN, TRACE_ID};
use emulator::{Invocation, RuntimeApi, Startup};
use serde_json::{json, Value};

mod common;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

/// The id a `GET /next` reply carries.
fn request_id(reply: &Reply) -> String {
    reply.header("lambda-runtime-aws-request-id").expect("a request id").to_owned()
}

async fn post(addr: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    http(addr, "POST", path, headers, body).await
}

fn invocation(id: &str, what: &str) -> String {
    format!("/2018-06-01/runtime/invocation/{id}/{what}")
}

const SHORT: Duration = Duration::from_millis(200);
const LONG: Duration = Duration::from_secs(10);

#[tokio::test]
async fn next_delivers_queued_events_in_order_with_the_lambda_headers() {
    let api = RuntimeApi::start(Duration::from_secs(30)).await.unwrap();
    let addr = api.address();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    assert_eq!(api.first_poll(), None);
    api.push(json!({"detail-type": "Scheduled Event", "n": 1}));
    api.push_raw(b"not json at all".to_vec());

    let before = Instant::now();
    let first = http(&addr, "GET", NEXT, &[], "").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json(), json!({"detail-type": "Scheduled Event", "n": 1}));
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(first.header("lambda-runtime-invoked-function-arn"), Some(FUNCTION_ARN));
    assert_eq!(first.header("lambda-runtime-trace-id"), Some(TRACE_ID));
    let id = request_id(&first);
    let shape: Vec<usize> = id.split('-').map(str::len).collect();
    assert_eq!(shape, [8, 4, 4, 4, 12], "{id}");
    let deadline: u128 = first.header("lambda-runtime-deadline-ms").unwrap().parse().unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis();
    assert!(deadline > now + 25_000 && deadline <= now + 30_000, "deadline {deadline}, now {now}");
    let polled = api.first_poll().expect("the poll was seen");
    assert!(polled >= before && polled <= Instant::now());

    let second = http(&addr, "GET", NEXT, &[], "").await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body, "not json at all");
    assert_ne!(request_id(&second), id);
    assert_eq!(api.first_poll(), Some(polled), "only the first poll counts");
}

#[tokio::test]
async fn responses_and_errors_are_recorded_once_per_invocation() {
    let api = RuntimeApi::start(Duration::from_secs(60)).await.unwrap();
    let addr = api.address();
    for n in 0..3 {
        api.push(json!({"n": n}));
    }
    // Nothing has run yet: outcome() gives up after its wait.
    let started = Instant::now();
    assert_eq!(api.outcome(0, SHORT).await, None);
    assert!(started.elapsed() >= SHORT);

    let id = request_id(&http(&addr, "GET", NEXT, &[], "").await);
    let ok = post(&addr, &invocation(&id, "response"), &[], r#"{"deleted":3,"dryRun":false}"#).await;
    assert_eq!((ok.status, ok.json()), (202, json!({"status": "OK"})));
    assert_eq!(api.outcome(0, LONG).await, Some(Invocation::Response(json!({"deleted": 3, "dryRun": false}))));
    let again = post(&addr, &invocation(&id, "response"), &[], "{}").await;
    assert_eq!((again.status, again.json()["errorType"].as_str()), (400, Some("InvalidRequestID")));
    let unknown = post(&addr, &invocation("no-such-id", "error"), &[], "{}").await;
    assert_eq!(unknown.status, 400);

    let id = request_id(&http(&addr, "GET", NEXT, &[], "").await);
    let body = r#"{"errorType":"JanitorError","errorMessage":"throttled","stackTrace":[]}"#;
    let failed =
        post(&addr, &invocation(&id, "error"), &[("Lambda-Runtime-Function-Error-Type", "unhandled")], body).await;
    assert_eq!(failed.status, 202);
    let expected = Invocation::Error { error_type: "JanitorError".into(), error_message: "throttled".into() };
    assert_eq!(api.outcome(1, LONG).await, Some(expected));

    // A response that is not JSON is kept as a JSON string; outcome() waits for it.
    let id = request_id(&http(&addr, "GET", NEXT, &[], "").await);
    let late = {
        let addr = addr.clone();
        tokio::spawn(async move {
            tokio::time::sleep(SHORT).await;
            post(&addr, &invocation(&id, "response"), &[("Content-Type", "text/plain")], "done").await.status
        })
    };
    assert_eq!(api.outcome(2, LONG).await, Some(Invocation::Response(Value::String("done".into()))));
    assert_eq!(late.await.unwrap(), 202);
    assert_eq!(
        api.outcome(0, Duration::ZERO).await,
        Some(Invocation::Response(json!({"deleted": 3, "dryRun": false})))
    );
    assert_eq!(api.init_error(), None);
}

#[tokio::test]
async fn next_long_polls_until_an_event_is_pushed() {
    let api = RuntimeApi::start(Duration::from_secs(60)).await.unwrap();
    let addr = api.address();
    let poll = tokio::spawn(async move { http(&addr, "GET", NEXT, &[], "").await });
    assert_eq!(api.wait_first_poll_or_init_error(LONG).await.map(|s| matches!(s, Startup::Polled(_))), Some(true));
    tokio::time::sleep(SHORT).await;
    assert!(!poll.is_finished(), "/next answered with nothing queued");
    api.push(json!({"late": true}));
    let reply = tokio::time::timeout(LONG, poll).await.expect("/next woke up").unwrap();
    assert_eq!((reply.status, reply.json()), (200, json!({"late": true})));
}

#[tokio::test]
async fn an_init_error_is_recorded_and_ends_every_wait() {
    let api = RuntimeApi::start(Duration::from_secs(60)).await.unwrap();
    let addr = api.address();
    api.push(json!({}));
    assert_eq!(api.wait_first_poll_or_init_error(SHORT).await, None);
    let body = r#"{"errorType":"Runtime.InitError","errorMessage":"JANITOR_MODE is not set"}"#;
    let report = {
        let addr = addr.clone();
        tokio::spawn(async move {
            tokio::time::sleep(SHORT).await;
            post(
                &addr,
                "/2018-06-01/runtime/init/error",
                &[("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")],
                body,
            )
            .await
        })
    };
    let started = Instant::now();
    assert_eq!(api.outcome(0, LONG).await, None);
    assert!(started.elapsed() < LONG / 2, "outcome() did not stop at the init error");
    assert_eq!(report.await.unwrap().status, 202);
    let expected = json!({"errorType": "Runtime.InitError", "errorMessage": "JANITOR_MODE is not set"});
    assert_eq!(api.init_error(), Some(expected.clone()));
    assert_eq!(api.wait_first_poll_or_init_error(Duration::ZERO).await, Some(Startup::InitError(expected)));
    assert_eq!(api.first_poll(), None);
}

#[tokio::test]
async fn dropping_the_api_releases_a_waiting_poll() {
    let api = RuntimeApi::start(Duration::from_secs(60)).await.unwrap();
    let addr = api.address();
    let poll = tokio::spawn(async move { http(&addr, "GET", NEXT, &[], "").await });
    api.wait_first_poll_or_init_error(LONG).await.expect("polled");
    drop(api);
    let reply = tokio::time::timeout(LONG, poll).await.expect("/next released").unwrap();
    assert_eq!(reply.status, 500);
}

/// A tiny custom runtime: answers each event (or fails it if it has `"fail"`), hangs,
/// or reports an init error, depending on its first argument.
const FUNCTION: &str = r#"
import json, os, sys, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
http = urllib.request.build_opener(urllib.request.ProxyHandler({}))
def post(path, body):
    http.open(urllib.request.Request(api + path, data=json.dumps(body).encode(), method="POST")).read()
mode = sys.argv[1]
print("function starting in mode", mode, flush=True)
if mode == "init-error":
    post("/init/error", {"errorType": "Runtime.InitError", "errorMessage": "no config"})
    sys.exit(1)
while True:
    with http.open(api + "/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        raw = r.read().decode()
    if mode == "hang":
        time.sleep(60)
    try:
        event = json.loads(raw)
    except ValueError:
        event = raw
    if isinstance(event, dict) and event.get("fail"):
        post("/invocation/" + rid + "/error", {"errorType": "Boom", "errorMessage": event["fail"]})
    else:
        env = {k: os.environ.get(k) for k in ("AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_LOG_FORMAT")}
        post("/invocation/" + rid + "/response", {"echo": event, "env": env})
"#;

fn event_files(test: &str, events: &[(&str, &str)]) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("runtime-api-{test}"));
    std::fs::create_dir_all(&dir).unwrap();
    events
        .iter()
        .map(|(name, content)| {
            let path = dir.join(name);
            std::fs::write(&path, content).unwrap();
            path
        })
        .collect()
}

/// Runs the binary; returns its exit code and stdout's JSON lines.
fn run(events: &[PathBuf], extra: &[&str], mode: &str) -> (Option<i32>, Vec<Value>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_janitor-runtime-api"));
    for event in events {
        command.arg("--event").arg(event);
    }
    command.args(extra).args(["--", "python3", "-c", FUNCTION, mode]);
    for name in ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_LOG_FORMAT"] {
        command.env_remove(name);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}\nstderr: {stderr}")))
        .collect();
    if mode != "none" {
        assert!(
            stderr.contains(&format!("function starting in mode {mode}")),
            "function output not on stderr: {stderr}"
        );
    }
    (output.status.code(), lines)
}

#[test]
fn the_binary_runs_a_function_and_reports_each_invocation() {
    let events = event_files(
        "ok",
        &[("scheduled.json", r#"{"source":"aws.events"}"#), ("fail.json", r#"{"fail":"no"}"#), ("raw.txt", "hello")],
    );
    let (code, lines) = run(&events, &["--wait-secs", "30"], "serve");
    assert_eq!(lines.len(), 4, "{lines:?}");
    let name = |i: usize| events[i].to_str().unwrap();
    let env = json!({"AWS_LAMBDA_FUNCTION_NAME": "replication-janitor", "AWS_LAMBDA_LOG_FORMAT": "JSON"});
    assert_eq!(lines[0], json!({"event": name(0), "response": {"echo": {"source": "aws.events"}, "env": env}}));
    assert_eq!(lines[1], json!({"event": name(1), "error": {"errorType": "Boom", "errorMessage": "no"}}));
    assert_eq!(lines[2], json!({"event": name(2), "response": {"echo": "hello", "env": env}}));
    let ready = lines[3]["readyMs"].as_f64().expect("readyMs is a number");
    assert!(ready > 0.0 && ready < 30_000.0, "{ready}");
    assert_eq!(lines[3]["initError"], Value::Null);
    assert_eq!(code, Some(0));
}

#[test]
fn the_binary_reports_timeouts_init_errors_and_usage_errors() {
    let events = event_files("bad", &[("one.json", "{}"), ("two.json", "{}")]);
    let name = |i: usize| events[i].to_str().unwrap();

    let started = Instant::now();
    // Each event times out after 1 s; start-up gets its own, longer wait, so a slow Python start is not a timeout.
    let (code, lines) = run(&events, &["--wait-secs", "1", "--ready-secs", "60"], "hang");
    assert_eq!(code, Some(1));
    assert_eq!(lines[0], json!({"event": name(0), "timeout": true}));
    assert_eq!(lines[1], json!({"event": name(1), "timeout": true}));
    assert!(lines[2]["readyMs"].is_f64());
    assert!(started.elapsed() < Duration::from_secs(20), "the hung function was not killed");

    let (code, lines) = run(&events, &[], "init-error");
    assert_eq!(code, Some(1));
    assert_eq!(lines[0], json!({"event": name(0), "timeout": true}));
    assert_eq!(lines[2]["readyMs"], Value::Null);
    assert_eq!(lines[2]["initError"], json!({"errorType": "Runtime.InitError", "errorMessage": "no config"}));

    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("runtime-api-no-such-event.json");
    let (code, lines) = run(&[missing], &[], "none");
    assert_eq!((code, lines.len()), (Some(2), 0));
    let (code, _) = run(&[], &[], "none");
    assert_eq!(code, Some(2), "--event is required");
    let output = Command::new(env!("CARGO_BIN_EXE_janitor-runtime-api")).args(["--event", name(0)]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "COMMAND is required");
}
