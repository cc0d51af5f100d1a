//! `janitor-runtime-api`: runs a Lambda binary locally against a fake Runtime API,
//! feeds it events one at a time, and prints how each invocation ended and how
//! long the function took to get ready.
//!
//! Stdout carries only JSON lines: one per event, then a summary. The function's own
//! stdout and stderr go to this process's stderr.

use std::future::Future;
use std::io::Write;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use emulator::{Invocation, RuntimeApi, Startup};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

/// Environment set for the function unless this process already has it.
const DEFAULT_ENV: [(&str, &str); 4] = [
    ("AWS_LAMBDA_FUNCTION_NAME", "replication-janitor"),
    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
    ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
];

/// Runs COMMAND as a Lambda function against a local fake Runtime API.
///
/// Prints one JSON line per event ({"event","response"}, {"event","error"} or
/// {"event","timeout":true}), then {"readyMs","initError"}. Exits 0 if every event
/// got a response or error, 1 on a timeout or init error, 2 on usage errors.
#[derive(Debug, Parser)]
#[command(name = "janitor-runtime-api", version)]
struct Args {
    /// The invocation timeout: each event's deadline is this long after its delivery.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
    /// How long to wait for each event's response or error.
    #[arg(long, default_value_t = 120)]
    wait_secs: u64,
    /// How long to wait for the function's first poll (start-up); defaults to --wait-secs. Starting a process can
    /// take longer than answering an event on a busy machine, so the two are separate.
    #[arg(long)]
    ready_secs: Option<u64>,
    /// An event file, delivered byte for byte; repeat for several (delivered in order).
    #[arg(long = "event", value_name = "FILE", required = true)]
    events: Vec<String>,
    /// The function to run, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut events = Vec::with_capacity(args.events.len());
    for path in &args.events {
        match std::fs::read(path) {
            Ok(body) => events.push((path.as_str(), body)),
            Err(e) => {
                eprintln!("janitor-runtime-api: cannot read event {path}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let Some((program, program_args)) = args.command.split_first() else {
        eprintln!("janitor-runtime-api: no COMMAND given after --");
        return ExitCode::from(2);
    };
    let api = match RuntimeApi::start(Duration::from_secs(args.timeout_secs)).await {
        Ok(api) => api,
        Err(e) => {
            eprintln!("janitor-runtime-api: cannot start the Runtime API: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut command = Command::new(program);
    command.args(program_args).env("AWS_LAMBDA_RUNTIME_API", api.address());
    for (name, value) in DEFAULT_ENV {
        if std::env::var_os(name).is_none() {
            command.env(name, value);
        }
    }
    command.stdin(Stdio::null()).stdout(std::io::stderr()).stderr(std::io::stderr()).kill_on_drop(true);

    let spawned = Instant::now();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("janitor-runtime-api: cannot run {program}: {e}");
            return ExitCode::from(2);
        }
    };
    let wait = Duration::from_secs(args.wait_secs);
    let ready_wait = Duration::from_secs(args.ready_secs.unwrap_or(args.wait_secs));
    let mut run = Run { child: &mut child, exited: false };
    let mut ok = run
        .until_exit(ready_wait, |wait| api.wait_first_poll_or_init_error(wait))
        .await
        .is_some_and(|startup| matches!(startup, Startup::Polled(_)));
    if !ok {
        eprintln!("janitor-runtime-api: the function did not get ready; no events delivered");
    }

    for (index, (path, body)) in events.into_iter().enumerate() {
        let outcome = if ok {
            api.push_raw(body);
            run.until_exit(wait, |wait| api.outcome(index, wait)).await
        } else {
            None
        };
        // After a timeout the function is stuck (or gone): later events are not delivered.
        ok &= outcome.is_some();
        let event = Value::from(path);
        let line = match outcome {
            Some(Invocation::Response(response)) => format!(r#"{{"event":{event},"response":{response}}}"#),
            Some(Invocation::Error { error_type, error_message }) => {
                let (error_type, error_message) = (Value::from(error_type), Value::from(error_message));
                format!(r#"{{"event":{event},"error":{{"errorType":{error_type},"errorMessage":{error_message}}}}}"#)
            }
            None => format!(r#"{{"event":{event},"timeout":true}}"#),
        };
        if !emit(&line) {
            return ExitCode::FAILURE;
        }
    }

    if !run.exited {
        // Already gone is fine too.
        let _ = run.child.kill().await;
    }
    let ready_ms = api.first_poll().map(|at| at.saturating_duration_since(spawned).as_secs_f64() * 1000.0);
    let init_error = api.init_error();
    ok &= init_error.is_none();
    let (ready_ms, init_error) = (json!(ready_ms), init_error.unwrap_or(Value::Null));
    if !emit(&format!(r#"{{"readyMs":{ready_ms},"initError":{init_error}}}"#)) {
        return ExitCode::FAILURE;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Writes one JSON line (keys in the documented order) to stdout; false if stdout is gone.
fn emit(line: &str) -> bool {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}").and_then(|()| stdout.flush()).is_ok()
}

/// The running function, and whether it has exited.
struct Run<'a> {
    child: &'a mut Child,
    exited: bool,
}

impl Run<'_> {
    /// Runs `query` with the full `wait`, but if the function exits meanwhile, asks
    /// once more without waiting (it may have answered just before exiting).
    async fn until_exit<T, F: Future<Output = Option<T>>>(
        &mut self,
        wait: Duration,
        query: impl Fn(Duration) -> F,
    ) -> Option<T> {
        if self.exited {
            return query(Duration::ZERO).await;
        }
        let status = tokio::select! {
            found = query(wait) => return found,
            status = self.child.wait() => status,
        };
        match status {
            Ok(status) => eprintln!("janitor-runtime-api: the function exited ({status})"),
            // Its status is unknown; treat it as gone rather than wait on it again.
            Err(e) => eprintln!("janitor-runtime-api: cannot wait for the function: {e}"),
        }
        self.exited = true;
        query(Duration::ZERO).await
    }
}
