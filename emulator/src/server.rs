//! The HTTP front: routes each request to the admin API or to one service's [`Protocol`] (DMS, Organizations, RDS,
//! Redshift, STS, DTS), whose calls all go through the one pipeline in `protocol`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header::CONTENT_TYPE, HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;

use crate::admin;
use crate::auth;
use crate::awsjson;
use crate::dms::Dms;
use crate::dts::Dts;
use crate::organizations::{self, Organizations};
use crate::protocol::{call, plain, HttpRequest};
use crate::rds::{self, Rds};
use crate::redshift::{self, Redshift};
use crate::state::Shared;
use crate::sts::{self, Sts};

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().nest("/_admin", admin::router()).fallback(service).with_state(shared)
}

/// Every non-admin request: DTS if it names an `x-acs-action`; Organizations if it names an `X-Amz-Target` of
/// Organizations, DMS for any other `X-Amz-Target`; RDS, Redshift or STS if it is a form.
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
    let http = HttpRequest { uri: &uri, headers: &headers, body: &body };
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if headers.contains_key("x-acs-action") {
        call::<Dts>(&shared, &http).await
    } else if headers.contains_key("x-amz-target") {
        if awsjson::operation(awsjson::target(&headers), organizations::TARGET_PREFIX).is_ok() {
            call::<Organizations>(&shared, &http).await
        } else {
            call::<Dms>(&shared, &http).await
        }
    } else if is_form {
        match query_service(&headers, &body) {
            Ok(QueryService::Rds) => call::<Rds>(&shared, &http).await,
            Ok(QueryService::Redshift) => call::<Redshift>(&shared, &http).await,
            Ok(QueryService::Sts) => call::<Sts>(&shared, &http).await,
            Err(message) => plain(StatusCode::BAD_REQUEST, &message),
        }
    } else {
        plain(
            StatusCode::BAD_REQUEST,
            "cannot tell the service: expected an X-Amz-Target header (DMS or Organizations, awsJson1_1), \
             an application/x-www-form-urlencoded body (RDS, Redshift or STS, awsQuery) or an x-acs-action header \
             (DTS, RPC)",
        )
    }
}

/// The awsQuery services served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueryService {
    Rds,
    Redshift,
    Sts,
}

impl QueryService {
    const ALL: [(QueryService, &'static str, &'static str); 3] = [
        (QueryService::Rds, "rds", rds::VERSION),
        (QueryService::Redshift, "redshift", redshift::VERSION),
        (QueryService::Sts, "sts", sts::VERSION),
    ];

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

/// Which awsQuery service a form post is for. RDS, Redshift and STS share the wire format and, here, one endpoint, so
/// the host that tells them apart in AWS cannot. The SigV4 credential scope's service is authoritative: every SDK signs
/// with the service's signing name (`rds`, `redshift`, `sts`) and AWS refuses a signature scoped to another service than the
/// endpoint's ("Credential should be scoped to correct service"), so the scope names the service the caller meant to
/// reach. The `Version` parameter (2014-10-31 for RDS, 2012-12-01 for Redshift, 2011-06-15 for STS) must agree with it when given, and
/// decides alone only for an unsigned call, so that the call gets its own service's MissingAuthenticationToken.
/// Anything else is refused with a 400 that says why.
fn query_service(headers: &HeaderMap, body: &[u8]) -> Result<QueryService, String> {
    let version = form_urlencoded::parse(body).find(|(k, _)| k == "Version").map(|(_, v)| v.into_owned());
    match (auth::scope(headers), version) {
        (Some(scope), version) => {
            let service = QueryService::by_signing_name(&scope.service).ok_or_else(|| {
                format!("an awsQuery form signed for {:?}: this emulator serves rds, redshift and sts", scope.service)
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
                "an unsigned awsQuery form with Version {version:?}: expected {} (RDS), {} (Redshift) or {} (STS)",
                rds::VERSION,
                redshift::VERSION,
                sts::VERSION
            )
        }),
        (None, None) => {
            Err("an unsigned awsQuery form without Version: cannot tell RDS, Redshift and STS apart".to_owned())
        }
    }
}
