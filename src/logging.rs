//! Logs: JSON or text on stdout in Lambda (honouring Lambda's advanced logging controls), readable text on stderr
//! in a terminal so the CLI's stdout stays the report.

use tracing_subscriber::EnvFilter;

/// In Lambda: `AWS_LAMBDA_LOG_FORMAT` (JSON or Text) and `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`, else info).
pub fn init_lambda() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned());
    let filter = EnvFilter::try_new(level.to_ascii_lowercase()).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).without_time().with_ansi(false);
    if std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().with_current_span(false).init();
    } else {
        builder.init();
    }
}

/// In a terminal: text on stderr, `RUST_LOG` or warnings only.
pub fn init_cli() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    // Without internal-error logging: on a closed stderr it would panic (eprintln!) rather than drop the line.
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).log_internal_errors(false).init();
}
