//! The HTTP front: routes each request to DMS, RDS, DTS or the admin API, and runs the
//! pipeline every service call shares (auth, latency, faults, call log).

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header::CONTENT_TYPE, HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;

use crate::admin;
use crate::auth;
use crate::calls::Call;
use crate::dms::Dms;
use crate::error::ApiError;
use crate::faults::Fault;
use crate::rds::Rds;
use crate::state::Shared;
use crate::store::Store;

/// One AWS wire protocol: how to decode a call, run it, and encode the answer.
pub(crate) trait Protocol {
    /// The service name in the call log.
    const SERVICE: &'static str;
    type Request;
    type Output;

    /// The operation name (as sent, possibly empty) and the validated request.
    fn decode(headers: &HeaderMap, body: &[u8]) -> (String, Result<Self::Request, ApiError>);
    /// The resource the call acts on, for the call log.
    fn target(request: &Self::Request) -> Option<String>;
    fn execute(store: &mut Store, region: &str, request: Self::Request) -> Result<Self::Output, ApiError>;
    fn missing_auth() -> ApiError;
    fn fault(fault: Fault) -> ApiError;
    fn respond(operation: &str, result: Result<Self::Output, ApiError>, request_id: &str) -> Response;
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().nest("/_admin", admin::router()).fallback(service).with_state(shared)
}

/// Every non-admin request: DTS if it names an `x-acs-action`, DMS if it names an `X-Amz-Target`, RDS if it
/// is a form.
async fn service(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if uri.path().starts_with("/_admin") {
        return plain(StatusCode::NOT_FOUND, "no such admin endpoint");
    }
    if method != Method::POST || uri.path() != "/" {
        return plain(StatusCode::BAD_REQUEST, "janitor-emulator serves AWS calls on POST / only");
    }
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if headers.contains_key("x-acs-action") {
        crate::dts::call(&shared, &uri, &headers, &body).await
    } else if headers.contains_key("x-amz-target") {
        call::<Dms>(&shared, &headers, &body).await
    } else if is_form {
        call::<Rds>(&shared, &headers, &body).await
    } else {
        plain(
            StatusCode::BAD_REQUEST,
            "cannot tell the service: expected an X-Amz-Target header (DMS, awsJson1_1), \
             an application/x-www-form-urlencoded body (RDS, awsQuery) or an x-acs-action header (DTS, RPC)",
        )
    }
}

/// The shared pipeline: latency, then auth, decoding and faults, then the operation,
/// all logged. Faulted or invalid calls never touch the store.
async fn call<P: Protocol>(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Response {
    let latency = shared.lock().injector.faults().latency_ms;
    crate::faults::delay(latency).await;
    let (operation, request) = P::decode(headers, body);
    let region = auth::region(headers);
    let target = request.as_ref().ok().and_then(P::target);
    let result = {
        let mut guard = shared.lock();
        let state = &mut *guard;
        let result = match (region.as_deref(), request) {
            (None, _) => Err(P::missing_auth()),
            (Some(_), Err(e)) => Err(e),
            (Some(region), Ok(request)) => {
                match state.injector.draw(&format!("{} {region}", P::SERVICE), Instant::now()) {
                    Some(fault) => Err(P::fault(fault)),
                    None => P::execute(&mut state.store, region, request),
                }
            }
        };
        state.calls.push(Call {
            service: P::SERVICE.to_owned(),
            operation: operation.clone(),
            region: region.unwrap_or_default(),
            target,
            status: result.as_ref().map_or_else(|e| e.status.as_u16(), |_| StatusCode::OK.as_u16()),
            error: result.as_ref().err().map(|e| e.code.to_owned()),
        });
        result
    };
    P::respond(&operation, result, &shared.request_id())
}

/// A plain-text answer for requests that are not AWS calls at all.
pub(crate) fn plain(status: StatusCode, message: &str) -> Response {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(format!("{message}\n")))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}
