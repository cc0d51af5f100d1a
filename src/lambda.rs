//! The Lambda face: serve the Runtime API with one janitor built at cold start; print metrics as EMF per invocation.

use crate::config::Settings;
use crate::handler::Janitor;
use crate::report::Report;
use crate::startup::StartupError;
use crate::trigger::TriggerError;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

impl From<TriggerError> for Diagnostic {
    fn from(error: TriggerError) -> Diagnostic {
        Diagnostic { error_type: "InvalidPayload".to_owned(), error_message: error.to_string() }
    }
}

/// One invocation: the report is the response; the metrics go to stdout as EMF.
pub async fn invoke(janitor: &Janitor, event: LambdaEvent<Value>) -> Result<Report, TriggerError> {
    let report = janitor.handle(event.payload, Some(event.context.deadline())).await?;
    for line in janitor.metric_lines(&report) {
        println!("{line}");
    }
    Ok(report)
}

/// Runs until the Lambda service stops the instance. A bad setting is reported as an init error.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let janitor = match Settings::from_env() {
        Ok(settings) => crate::startup::janitor(settings, None).await,
        Err(error) => Err(error.into()),
    };
    let janitor = match janitor {
        Ok(janitor) => Arc::new(janitor),
        Err(error) => {
            tracing::error!(%error, "invalid configuration");
            report_init_error(&error).await;
            return Err(error.into());
        }
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let janitor = Arc::clone(&janitor);
        async move { invoke(&janitor, event).await }
    }))
    .await
}

/// Tells the Runtime API why initialisation failed, so the console shows our message rather than an exit code.
async fn report_init_error(error: &StartupError) {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else { return };
    let kind = error.kind();
    let body = serde_json::json!({"errorType": kind, "errorMessage": error.to_string()}).to_string();
    let request = format!(
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\nLambda-Runtime-Function-Error-Type: Runtime.{kind}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let sent = async {
        let mut stream = tokio::net::TcpStream::connect(&api).await?;
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(())
    };
    if let Err(e) = sent.await {
        tracing::warn!(error = %e, "could not report the init error to the Runtime API");
    }
}
