//! The HTTP front: routes each request to DMS, RDS, Redshift, DTS or the admin API, and runs the
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
use crate::rds::{self, Rds};
use crate::redshift::{self, Redshift};
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

/// Every non-admin request: DTS if it names an `x-acs-action`, DMS if it names an `X-Amz-Target`, RDS or Redshift
/// if it is a form.
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
        match query_service(&headers, &body) {
            Ok(QueryService::Rds) => call::<Rds>(&shared, &headers, &body).await,
            Ok(QueryService::Redshift) => call::<Redshift>(&shared, &headers, &body).await,
            Err(message) => plain(StatusCode::BAD_REQUEST, &message),
        }
    } else {
        plain(
            StatusCode::BAD_REQUEST,
            "cannot tell the service: expected an X-Amz-Target header (DMS, awsJson1_1), \
             an application/x-www-form-urlencoded body (RDS or Redshift, awsQuery) or an x-acs-action header (DTS, RPC)",
        )
    }
}

/// The awsQuery services served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueryService {
    Rds,
    Redshift,
}

impl QueryService {
    const ALL: [(QueryService, &'static str, &'static str); 2] =
        [(QueryService::Rds, "rds", rds::VERSION), (QueryService::Redshift, "redshift", redshift::VERSION)];

    fn by_signing_name(name: &str) -> Option<QueryService> {
        QueryService::ALL.iter().find(|(_, n, _)| *n == name).map(|(s, _, _)| *s)
    }

    fn by_version(version: &str) -> Option<QueryService> {
        QueryService::ALL.iter().find(|(_, _, v)| *v == version).map(|(s, _, _)| *s)
    }

    fn version(self) -> &'static str {
        QueryService::ALL.iter().find(|(s, _, _)| *s == self).map_or("", |(_, _, v)| v)
    }
}

/// Which awsQuery service a form post is for. RDS and Redshift share the wire format and, here, one endpoint, so the
/// host that tells them apart in AWS cannot. The SigV4 credential scope's service is authoritative: every SDK signs
/// with the service's signing name (`rds`, `redshift`) and AWS refuses a signature scoped to another service than the
/// endpoint's ("Credential should be scoped to correct service"), so the scope names the service the caller meant to
/// reach. The `Version` parameter (2014-10-31 for RDS, 2012-12-01 for Redshift) must agree with it when given, and
/// decides alone only for an unsigned call, so that the call gets its own service's MissingAuthenticationToken.
/// Anything else is refused with a 400 that says why.
fn query_service(headers: &HeaderMap, body: &[u8]) -> Result<QueryService, String> {
    let version = form_urlencoded::parse(body).find(|(k, _)| k == "Version").map(|(_, v)| v.into_owned());
    match (auth::scope(headers), version) {
        (Some(scope), version) => {
            let service = QueryService::by_signing_name(&scope.service).ok_or_else(|| {
                format!("an awsQuery form signed for {:?}: this emulator serves rds and redshift", scope.service)
            })?;
            match version {
                Some(v) if v != service.version() => Err(format!(
                    "an awsQuery form signed for {:?} with Version {v:?}; {:?} speaks Version {}",
                    scope.service,
                    scope.service,
                    service.version()
                )),
                _ => Ok(service),
            }
        }
        (None, Some(version)) => QueryService::by_version(&version).ok_or_else(|| {
            format!(
                "an unsigned awsQuery form with Version {version:?}: expected {} (RDS) or {} (Redshift)",
                rds::VERSION,
                redshift::VERSION
            )
        }),
        (None, None) => Err("an unsigned awsQuery form without Version: cannot tell RDS from Redshift".to_owned()),
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
