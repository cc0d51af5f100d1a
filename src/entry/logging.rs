//! Where logs go. The CLI: readable text on stderr, so its stdout stays the report. The Lambda: stdout, in the format
//! and at the level Lambda's advanced logging controls ask (`AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`, else
//! `RUST_LOG`, else info), as lambda_runtime's `init_default_subscriber` reads them; its JSON lines are flat and carry
//! each invocation's keys ([`log_keys`](super::log_keys)).

use super::log_keys::FlatJson;
use std::str::FromStr;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::EnvFilter;

/// The CLI's default log filter.
const CLI_LOGS: &str = "warn,aws_config=error";

/// In a terminal: text on stderr, `RUST_LOG` or warnings only. The AWS configuration's own warnings (each credential
/// source that failed, with its whole error chain) are left to `RUST_LOG=debug`: the report says the cause in one
/// line.
pub fn init_cli() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(CLI_LOGS));
    // Without internal-error logging: on a closed stderr it would panic (eprintln!) rather than drop the line.
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).log_internal_errors(false).init();
}

/// In Lambda: JSON when `AWS_LAMBDA_LOG_FORMAT` says so (the template's `LoggingConfig` does), text otherwise; no
/// time of our own (CloudWatch stamps each line) and no target.
pub fn init_lambda() {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG"));
    let level = LevelFilter::from_str(level.as_deref().unwrap_or("INFO")).unwrap_or(LevelFilter::INFO);
    let filter = EnvFilter::builder().with_default_directive(level.into()).from_env_lossy();
    let logs = tracing_subscriber::fmt().with_target(false).without_time().with_env_filter(filter);
    if json {
        logs.fmt_fields(JsonFields::new()).event_format(FlatJson).init();
    } else {
        logs.init();
    }
}
