//! The HTTP front: serves connections, and routes each request to the admin API (for loopback hosts only) or to the
//! registered service (`services::SERVICES`) whose route it takes, whose calls all go through the one pipeline in
//! `protocol`.

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, DATE, HOST};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::admin;
use crate::auth;
use crate::awsjson;
use crate::clock::{format_http_date, unix_seconds};
use crate::faults::delay;
use crate::protocol::{plain, HttpRequest};
use crate::service::{Route, Service};
use crate::services::SERVICES;
use crate::state::Shared;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .nest("/_admin", admin::router())
        .fallback(service)
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), front))
        .with_state(shared)
}

/// Serves `app` on `listener` over HTTP/1.1 until `stop` resolves, then stops accepting and lets open connections
/// finish their request. By hand rather than with `axum::serve`, which cannot bound how long a client takes to send
/// its headers: here a client that stalls (or sends nothing) is disconnected after `header_read_timeout`, and so is
/// a keep-alive connection idle that long, as hyper's timer also covers the wait for the next request.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    stop: impl Future<Output = ()>,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that hangs up or times out ends its connection; nothing to report.
            let _ = connection.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// As `axum::serve` does: a connection that failed before it was accepted is the client's business; any other
/// error (out of file descriptors, say) is reported and retried a second later rather than spun on.
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    eprintln!("janitor-emulator: accept error: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Whether `path` is the admin API's (the fallback answers unknown admin paths itself).
fn is_admin(path: &str) -> bool {
    path.starts_with("/_admin")
}

/// What every request passes first. The admin API answers only requests addressed to a loopback host: it is
/// unauthenticated, and a web page whose name an attacker rebinds to 127.0.0.1 (DNS rebinding) can make the browser
/// send requests to it, but they carry the page's own host name. Every other answer gets the `Date` header of the
/// emulator's clock, real time plus the offset set for clock-skew tests; hyper adds its own only when none is set,
/// so there is exactly one.
async fn front(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if is_admin(request.uri().path()) {
        return match admin_host_refusal(request.uri(), request.headers()) {
            Some(refusal) => plain(StatusCode::FORBIDDEN, &refusal),
            None => next.run(request).await,
        };
    }
    let date = format_http_date(unix_seconds(shared.now()));
    let mut response = next.run(request).await;
    // Always ASCII; were it not, hyper's own Date would be sent instead.
    if let Ok(date) = HeaderValue::from_str(&date) {
        response.headers_mut().insert(DATE, date);
    }
    response
}

/// Why an admin request is refused, if it is: every `Host` header, and an absolute-form target's authority, must
/// name a loopback host, and there must be at least one.
fn admin_host_refusal(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    const ONLY: &str = "the admin API answers only requests addressed to localhost, 127.x.x.x or [::1]";
    let mut hosts = headers
        .get_all(HOST)
        .iter()
        .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned())
        .chain(uri.authority().map(|a| a.as_str().to_owned()))
        .peekable();
    if hosts.peek().is_none() {
        return Some(format!("{ONLY}, and this one names no host"));
    }
    hosts.find(|host| !is_loopback_host(host)).map(|host| {
        format!("{ONLY}, and this one is for {host:?}: a web page could otherwise drive it through DNS rebinding")
    })
}

/// `localhost`, an IPv4 address in 127.0.0.0/8 or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    if let Some(bracketed) = host.strip_prefix('[') {
        return bracketed
            .split_once(']')
            .is_some_and(|(ip, port)| ip.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback()) && is_port_suffix(port));
    }
    let (name, port) = host.split_at(host.find(':').unwrap_or(host.len()));
    is_port_suffix(port)
        && (name.eq_ignore_ascii_case("localhost") || name.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback()))
}

/// Nothing, or `:` and a port number.
fn is_port_suffix(rest: &str) -> bool {
    rest.is_empty() || rest.strip_prefix(':').is_some_and(|port| port.parse::<u16>().is_ok())
}

/// Every non-admin request: the registered service whose [`Route`] it takes, after the injected latency.
async fn service(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if is_admin(uri.path()) {
        return plain(StatusCode::NOT_FOUND, "no such admin endpoint");
    }
    if method != Method::POST || uri.path() != "/" {
        return plain(StatusCode::BAD_REQUEST, "janitor-emulator serves AWS calls on POST / only");
    }
    match route(&headers, &body) {
        Ok(service) => {
            let latency = shared.lock().injector.faults().latency_ms;
            delay(latency).await;
            (service.serve)(&shared, &HttpRequest { uri: &uri, headers: &headers, body: &body })
        }
        Err(message) => plain(StatusCode::BAD_REQUEST, &message),
    }
}

/// The service a request is for, by the first of: a [`Route::Header`] it carries; its `X-Amz-Target`, whose prefix
/// names a [`Route::JsonTarget`] (or, naming none, goes to the fallback one); an awsQuery form ([`query_service`]).
/// Anything else is refused with a 400 that says why.
fn route(headers: &HeaderMap, body: &[u8]) -> Result<&'static Service, String> {
    if let Some(service) =
        SERVICES.into_iter().find(|s| matches!(s.route, Route::Header(name) if headers.contains_key(name)))
    {
        return Ok(service);
    }
    if headers.contains_key("x-amz-target") {
        let target = awsjson::target(headers);
        let claims = |s: &&Service| match s.route {
            Route::JsonTarget { prefix, .. } => awsjson::operation(target, prefix).is_ok(),
            _ => false,
        };
        let fallback = |s: &&Service| matches!(s.route, Route::JsonTarget { fallback: true, .. });
        return SERVICES
            .into_iter()
            .find(claims)
            .or_else(|| SERVICES.into_iter().find(fallback))
            .ok_or_else(|| format!("no service serves X-Amz-Target {target:?}"));
    }
    let is_form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        return query_service(headers, body);
    }
    let names = |wanted: fn(&Route) -> bool| {
        SERVICES.iter().filter(|s| wanted(&s.route)).map(|s| s.name).collect::<Vec<_>>().join(", ")
    };
    let headers: Vec<&str> =
        SERVICES.iter().filter_map(|s| if let Route::Header(name) = s.route { Some(name) } else { None }).collect();
    Err(format!(
        "cannot tell the service: expected an X-Amz-Target header (awsJson1_1: {}), an \
         application/x-www-form-urlencoded body (awsQuery: {}) or a header of {} ({})",
        names(|r| matches!(r, Route::JsonTarget { .. })),
        names(|r| matches!(r, Route::Query { .. })),
        headers.join(", "),
        names(|r| matches!(r, Route::Header(_))),
    ))
}

/// The awsQuery services: each with its `Version`.
fn query_services() -> impl Iterator<Item = (&'static Service, &'static str)> {
    SERVICES.into_iter().filter_map(|s| match s.route {
        Route::Query { version } => Some((s, version)),
        _ => None,
    })
}

/// Which awsQuery service a form post is for. Those services share the wire format and, here, one endpoint, so the
/// host that tells them apart in AWS cannot. The SigV4 credential scope's service is authoritative: every SDK signs
/// with the service's signing name (e.g. `rds`, `redshift`, `sts`) and AWS refuses a signature scoped to another
/// service than the endpoint's ("Credential should be scoped to correct service"), so the scope names the service
/// the caller meant to reach. The `Version` parameter must agree with it when given, and decides alone only for an
/// unsigned call, so that the call gets its own service's MissingAuthenticationToken. Anything else is refused with a
/// 400 that says why.
fn query_service(headers: &HeaderMap, body: &[u8]) -> Result<&'static Service, String> {
    let version = form_urlencoded::parse(body).find(|(k, _)| k == "Version").map(|(_, v)| v.into_owned());
    let served = || query_services().map(|(s, v)| format!("{v} ({})", s.name)).collect::<Vec<_>>().join(", ");
    match (auth::scope(headers), version) {
        (Some(scope), version) => {
            let (service, speaks) = query_services().find(|(s, _)| s.name == scope.service).ok_or_else(|| {
                let names: Vec<&str> = query_services().map(|(s, _)| s.name).collect();
                format!("an awsQuery form signed for {:?}: this emulator serves {}", scope.service, names.join(", "))
            })?;
            match version {
                Some(v) if v != speaks => Err(format!(
                    "an awsQuery form signed for {:?} with Version {v:?}; {:?} speaks Version {speaks}",
                    scope.service, scope.service
                )),
                _ => Ok(service),
            }
        }
        (None, Some(version)) => query_services()
            .find(|(_, v)| *v == version)
            .map(|(s, _)| s)
            .ok_or_else(|| format!("an unsigned awsQuery form with Version {version:?}: expected one of {}", served())),
        (None, None) => Err(format!("an unsigned awsQuery form without Version: cannot tell apart {}", served())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (axum::http::HeaderName::from_static(k), HeaderValue::from_str(v).unwrap())).collect()
    }

    fn signed(service: &str) -> String {
        format!("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=ab")
    }

    #[test]
    fn requests_go_to_the_service_whose_route_they_take() {
        let name = |h: &[(&'static str, &str)], body: &str| route(&headers(h), body.as_bytes()).map(|s| s.name);
        assert_eq!(name(&[("x-amz-target", "AWSGlue.DescribeIntegrations")], "{}"), Ok("glue"));
        assert_eq!(name(&[("x-amz-target", "AWSOrganizationsV20161128.ListAccounts")], "{}"), Ok("organizations"));
        assert_eq!(name(&[("x-amz-target", "AmazonDMSv20160101.DeleteConnection")], "{}"), Ok("dms"));
        assert_eq!(name(&[("x-amz-target", "Other.Thing")], "{}"), Ok("dms"), "DMS answers targets no one claims");
        assert_eq!(name(&[("x-acs-action", "DescribeDtsJobs"), ("x-amz-target", "AWSGlue.X")], ""), Ok("dts"));
        let form = ("content-type", "application/x-www-form-urlencoded; charset=utf-8");
        for service in ["rds", "redshift", "sts"] {
            let auth = signed(service);
            assert_eq!(name(&[form, ("authorization", &auth)], "Action=X"), Ok(service));
        }
        assert_eq!(name(&[form], "Action=X&Version=2012-12-01"), Ok("redshift"), "unsigned: by Version");
        let auth = signed("rds");
        let clash = name(&[form, ("authorization", &auth)], "Action=X&Version=2011-06-15").unwrap_err();
        assert!(clash.contains("\"rds\" speaks Version 2014-10-31"), "{clash}");
        let glue_form = signed("glue");
        let unknown = name(&[form, ("authorization", &glue_form)], "Action=X").unwrap_err();
        assert!(unknown.contains("serves rds, redshift, sts"), "{unknown}");
        assert!(name(&[form], "Action=X")
            .unwrap_err()
            .contains("2014-10-31 (rds), 2012-12-01 (redshift), 2011-06-15 (sts)"));
        let neither = name(&[("content-type", "application/json")], "{}").unwrap_err();
        assert!(
            neither.contains("awsJson1_1: dms, organizations, glue") && neither.contains("x-acs-action (dts)"),
            "{neither}"
        );
    }

    #[test]
    fn loopback_hosts_are_localhost_127_and_ipv6_one_with_or_without_a_port() {
        for host in ["localhost", "LocalHost:4566", "127.0.0.1", "127.1.2.3:80", "[::1]", "[::1]:4566"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "",
            "evil.example",
            "localhost.evil.example",
            "evil.example:4566",
            "127.0.0.1.evil.example",
            "127.1",
            "10.0.0.1:80",
            "0.0.0.0",
            "[::2]",
            "::1",
            "[::1]x",
            "localhost:x",
            "localhost:99999",
            "[::ffff:127.0.0.1]",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn admin_requests_must_name_only_loopback_hosts() {
        let origin_form: Uri = "/_admin/calls".parse().unwrap();
        let host = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for v in values {
                headers.append(HOST, HeaderValue::from_str(v).unwrap());
            }
            headers
        };
        assert_eq!(admin_host_refusal(&origin_form, &host(&["127.0.0.1:4566"])), None);
        let refusal = admin_host_refusal(&origin_form, &host(&["rebound.example:4566"])).unwrap();
        assert!(refusal.contains("\"rebound.example:4566\"") && refusal.contains("DNS rebinding"), "{refusal}");
        assert!(admin_host_refusal(&origin_form, &host(&[])).unwrap().contains("names no host"));
        assert!(admin_host_refusal(&origin_form, &host(&["localhost", "evil.example"])).is_some(), "every Host");
        let absolute: Uri = "http://evil.example/_admin/calls".parse().unwrap();
        assert!(admin_host_refusal(&absolute, &host(&["localhost"])).is_some(), "the target's authority too");
    }
}
