//! Service errors: what every service's error type tells the call log ([`WireError`]), and the one error type the
//! AWS protocols render, each in its own wire format ([`ApiError`]).

use axum::http::StatusCode;

/// A service error as the call log records it.
pub(crate) trait WireError {
    /// The HTTP status the answer is sent with.
    fn http_status(&self) -> StatusCode;
    /// The service's error code.
    fn code(&self) -> &'static str;
}

/// A service error as the client sees it: HTTP status, error code, message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }

    /// HTTP 400, the status of nearly every AWS client error.
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
}

impl WireError for ApiError {
    fn http_status(&self) -> StatusCode {
        self.status
    }

    fn code(&self) -> &'static str {
        self.code
    }
}
