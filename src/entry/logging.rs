//! The CLI's logs: readable text on stderr, so its stdout stays the report. The Lambda face uses lambda_runtime's own
//! set-up instead (`lambda_runtime::tracing::init_default_subscriber`: JSON or text on stdout, honouring Lambda's
//! advanced logging controls `AWS_LAMBDA_LOG_FORMAT` and `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else info).

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
