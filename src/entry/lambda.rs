//! The Lambda face: serve the Runtime API with one janitor built at cold start; print metrics as EMF per invocation.

use crate::app::janitor::{Answer, AnswerError, Janitor};
use crate::app::trigger::{self, TriggerError};
use crate::config::Settings;
use crate::engine::report::{LAMBDA_ITEMS_BUDGET, ORGANIZATION_ITEMS_BUDGET};
use crate::entry::log_keys::InvocationKeysLayer;
use crate::entry::startup::StartupError;
use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent, LambdaInvocation, Runtime};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

impl From<TriggerError> for Diagnostic {
    fn from(error: TriggerError) -> Diagnostic {
        Diagnostic { error_type: "InvalidPayload".to_owned(), error_message: error.to_string() }
    }
}

impl From<AnswerError> for Diagnostic {
    fn from(error: AnswerError) -> Diagnostic {
        match error {
            AnswerError::Payload(error) => error.into(),
            AnswerError::Accounts(error) => {
                Diagnostic { error_type: "AccountsUnavailable".to_owned(), error_message: error.to_string() }
            }
            AnswerError::Results(error) => {
                Diagnostic { error_type: "ResultsUnreadable".to_owned(), error_message: error.to_string() }
            }
        }
    }
}

/// The invocation body as the handler receives it from [`OneDocument`]: its text, or why it is not JSON.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Body {
    Text(String),
    NotJson(String),
}

/// Hands the handler each invocation body as a [`Body`], so that the handler, not lambda_runtime, parses it.
/// lambda_runtime deserializes only the first JSON value of a body and ignores what follows, so `{} x` or `{}{}`
/// would run as `{}`; the handler parses the whole text as one document. The body travels as a JSON string inside
/// the layer's own wrapper: nothing a caller sends can pose as the wrapper, and the nesting of the payload is not
/// changed by it.
#[derive(Clone, Copy, Debug, Default)]
pub struct OneDocumentLayer;

impl<S> Layer<S> for OneDocumentLayer {
    type Service = OneDocument<S>;

    fn layer(&self, inner: S) -> OneDocument<S> {
        OneDocument { inner }
    }
}

/// The service [`OneDocumentLayer`] builds.
#[derive(Clone, Debug)]
pub struct OneDocument<S> {
    inner: S,
}

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for OneDocument<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut invocation: LambdaInvocation) -> S::Future {
        invocation.body = envelope(&invocation.body).into();
        self.inner.call(invocation)
    }
}

/// The JSON text of the [`Body`] that `body` is. A quick syntax check first (it is what rejects trailing text
/// cheaply) keeps the wrapped text at most about twice the body: what would need a long escape, a raw control
/// character, is not valid JSON anyway.
fn envelope(body: &[u8]) -> Vec<u8> {
    let checked = match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        Err(error) => Body::NotJson(trigger::clip(&error.to_string())),
        Ok(_) => match std::str::from_utf8(body) {
            Ok(text) => Body::Text(text.to_owned()),
            Err(error) => Body::NotJson(format!("it is not UTF-8 (an invalid byte at offset {})", error.valid_up_to())),
        },
    };
    // Serializing an enum of strings cannot fail; were it to, an empty body is one lambda_runtime itself rejects.
    serde_json::to_vec(&checked).unwrap_or_default()
}

/// One invocation: a run's report, bounded to fit Lambda's response limit, is the response, and its metrics (from
/// the whole report) go to stdout as EMF; a fan-out step answers its own small document.
pub async fn invoke(janitor: &Janitor, event: LambdaEvent<Body>) -> Result<Answer, AnswerError> {
    let payload: Value = match event.payload {
        Body::Text(text) => serde_json::from_str(&text).map_err(|e| TriggerError::not_json(&e))?,
        Body::NotJson(why) => return Err(TriggerError::NotJson(why).into()),
    };
    let deadline = event.context.deadline();
    let answer = janitor.respond(payload, Some(deadline), Some(&event.context.invoked_function_arn)).await?;
    Ok(match answer {
        Answer::Report(report) => {
            for line in janitor.metric_lines(&report) {
                println!("{line}");
            }
            let budget = if report.accounts.is_empty() { LAMBDA_ITEMS_BUDGET } else { ORGANIZATION_ITEMS_BUDGET };
            Answer::Report(Box::new(report.bounded(budget)))
        }
        other => other,
    })
}

/// Runs until the Lambda service stops the instance. A bad setting is reported as an init error.
pub async fn run() -> Result<(), lambda_runtime::Error> {
    let janitor = match Settings::from_env() {
        Ok(settings) => crate::entry::startup::janitor(settings, None).await,
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
    let checked = Arc::new(std::sync::Once::new());
    let handler = service_fn(move |event: LambdaEvent<Body>| {
        let janitor = Arc::clone(&janitor);
        // Within the cold start's first invocation, so the line carries its keys (`cold_start`, the request id).
        checked.call_once(|| log_configuration_check(&janitor));
        async move { invoke(&janitor, event).await }
    });
    // lambda_runtime::run's own composition, the span of each invocation outermost (ours, whose keys are the ones
    // people query), with the one-document check inside it.
    Runtime::new(handler).layer(OneDocumentLayer).layer(InvocationKeysLayer).run().await
}

/// `check`'s verdict on the configuration alone, logged once per cold start (in its first invocation): what the settings say of deleting (dry
/// run, graces without a store), with no call (a cold start stays fast; the first run's scans prove the grants).
fn log_configuration_check(janitor: &crate::app::janitor::Janitor) {
    let checked = crate::app::check::Checked { settings: Vec::new(), findings: janitor.configuration_findings() };
    if checked.can_delete() {
        tracing::info!(verdict = %checked.verdict(), "configuration check");
    } else {
        tracing::warn!(verdict = %checked.verdict(), "configuration check: runs of this configuration cannot delete");
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// lambda_runtime turns a handler's panic into an invocation error only if panics unwind: a release profile
    /// with `panic = "abort"` would kill the process and leave the invocation unanswered. It must say `unwind`
    /// explicitly: `cargo lambda build` passes `abort` when the profile sets nothing.
    #[test]
    fn release_builds_keep_panics_catchable() {
        let manifest = include_str!("../../Cargo.toml");
        let release = manifest.split("[profile.release]").nth(1).expect("a release profile");
        let release = release.split("\n[").next().unwrap_or_default();
        let panic: Vec<&str> = release.lines().map(str::trim).filter(|l| l.starts_with("panic")).collect();
        assert_eq!(panic, [r#"panic = "unwind""#], "{release}");
    }

    /// What the handler makes of `body`: the payload, or the invocation's error message.
    fn handled(body: &[u8]) -> Result<Value, String> {
        match serde_json::from_slice(&envelope(body)).expect("the envelope is always a Body") {
            Body::Text(text) => serde_json::from_str(&text).map_err(|e| TriggerError::not_json(&e).to_string()),
            Body::NotJson(why) => Err(TriggerError::NotJson(why).to_string()),
        }
    }

    #[test]
    fn one_json_document_is_handed_on_as_it_is() {
        let payload = br#"{"dryRun": true, "providers": ["rds"], "regions": ["eu-west-1"]}"#;
        assert_eq!(
            handled(payload),
            Ok(serde_json::json!({"dryRun": true, "providers": ["rds"], "regions": ["eu-west-1"]}))
        );
        assert_eq!(handled(" [1, \"é\\n\"] \n".as_bytes()), Ok(serde_json::json!([1, "é\n"])));
        let deep = format!("{}{}", "[".repeat(127), "]".repeat(127));
        assert!(handled(deep.as_bytes()).is_ok(), "the wrapper adds no nesting");
    }

    #[test]
    fn anything_but_one_json_document_is_not_json() {
        let too_deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let cases: [(&[u8], &str); 7] = [
            (b"{} x", "trailing characters at line 1 column 4"),
            (b"{}{}", "trailing characters at line 1 column 3"),
            (b"{\"dryRun\": tru", "EOF while parsing a value at line 1 column 14"),
            (b"", "EOF while parsing a value at line 1 column 0"),
            (b"\"\xff\"", "it is not UTF-8 (an invalid byte at offset 1)"),
            (br#""\ud800""#, "unexpected end of hex escape at line 1 column 8"),
            (too_deep.as_bytes(), "recursion limit exceeded at line 1 column 128"),
        ];
        for (body, why) in cases {
            assert_eq!(
                handled(body),
                Err(format!("the payload is not valid JSON: {why}")),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_payload_cannot_pose_as_the_layers_verdict() {
        assert_eq!(handled(br#"{"notJson": "forged"}"#), Ok(serde_json::json!({"notJson": "forged"})));
        assert_eq!(handled(br#"{"text": "{}"}"#), Ok(serde_json::json!({"text": "{}"})));
    }
}
