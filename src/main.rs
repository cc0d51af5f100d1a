//! One binary, two faces: the Lambda Runtime API when `AWS_LAMBDA_RUNTIME_API` is set, a CLI otherwise.
//! One thread is enough: the work is waiting on AWS, and a single-threaded runtime starts faster and holds less
//! memory than a thread pool.

use clap::Parser;
use replication_janitor::entry::{cli, lambda, logging};
use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        logging::init_lambda();
        match lambda::run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        }
    } else {
        let args = cli::Cli::parse();
        logging::init_cli();
        cli::run(args).await
    }
}
