//! What the awsJson1_1 services (DMS, Organizations and Glue) share: the operation named by `X-Amz-Target`, the JSON
//! body, and the answer's envelope.

use axum::body::Body;
use axum::http::{header::CONTENT_TYPE, HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;

const CONTENT_TYPE_JSON: &str = "application/x-amz-json-1.1";

/// The `X-Amz-Target` header as sent (empty if none).
pub(crate) fn target(headers: &HeaderMap) -> &str {
    headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// The operation an `X-Amz-Target` names after `prefix` (`<prefix>.<Operation>`), or UnknownOperationException.
pub(crate) fn operation<'a>(target: &'a str, prefix: &str) -> Result<&'a str, ApiError> {
    target.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('.')).ok_or_else(|| {
        ApiError::bad_request(
            "UnknownOperationException",
            format!("Unknown target {target:?}: expected {prefix}.<Operation>"),
        )
    })
}

/// The error for an operation the emulator does not serve.
pub(crate) fn unknown_operation(operation: &str) -> ApiError {
    ApiError::bad_request(
        "UnknownOperationException",
        format!("Operation {operation} is not supported by this emulator"),
    )
}

/// The request body as `T`; a body that is not one answers SerializationException.
pub(crate) fn parse<'de, T: Deserialize<'de>>(body: &'de [u8]) -> Result<T, ApiError> {
    // The SDKs send `{}` for empty input; tolerate a truly empty body too.
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request("SerializationException", e.to_string()))
}

/// The answer: `body` with `status`, and for an error its code in `x-amzn-errortype` (the body's `__type` too).
pub(crate) fn respond(status: StatusCode, error: Option<&str>, body: &Value, request_id: &str) -> Response {
    let mut response = Response::builder()
        .status(status)
        .header(CONTENT_TYPE, CONTENT_TYPE_JSON)
        .header("x-amzn-requestid", request_id);
    if let Some(code) = error {
        response = response.header("x-amzn-errortype", code);
    }
    response.body(Body::from(body.to_string())).unwrap_or_else(|_| Response::new(Body::empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_an_operation_after_their_prefix() {
        assert_eq!(operation("AmazonDMSv20160101.DeleteConnection", "AmazonDMSv20160101"), Ok("DeleteConnection"));
        for bad in ["AmazonDMSv20160101", "AmazonDMSv20160101DeleteConnection", "Other.DeleteConnection", ""] {
            let err = operation(bad, "AmazonDMSv20160101").unwrap_err();
            assert_eq!(err.code, "UnknownOperationException", "{bad}");
        }
    }
}
