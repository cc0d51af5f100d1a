//! The server's own behaviour over real TCP: stalled clients are disconnected, the call log is bounded, the admin
//! API answers loopback hosts only, and service answers carry the emulator's (settable) clock in `Date`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use common::{http, send, Reply};
use emulator::{Emulator, Faults, Fleet, ServerOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;

const DMS_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/dms/aws4_request, SignedHeaders=host;x-amz-date, Signature=00ff";

async fn start(options: ServerOptions) -> Emulator {
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    Emulator::start_with(addr, Fleet::sample(), Faults::default(), options).await.unwrap()
}

/// A DMS call with `host` as its Host header.
async fn describe_connections(addr: SocketAddr, host: &str) -> Reply {
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 2\r\nX-Amz-Target: \
         AmazonDMSv20160101.DescribeConnections\r\nContent-Type: application/x-amz-json-1.1\r\nAuthorization: \
         {DMS_AUTH}\r\n\r\n{{}}"
    );
    send(addr, request).await
}

/// A GET of an admin path with `host` as its Host header.
async fn admin_get(addr: SocketAddr, path: &str, host: &str) -> Reply {
    send(addr, format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")).await
}

/// How long the server took to close a connection that sent `partial` and then nothing.
async fn closed_after(addr: SocketAddr, partial: &str) -> Duration {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(partial.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    // Whatever the server says first (hyper may answer 408), it then hangs up; a reset counts as hanging up too.
    let read = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the connection was still open after 3 s");
    started.elapsed()
}

#[tokio::test]
async fn a_client_that_stalls_sending_its_headers_is_disconnected() {
    let timeout = Duration::from_millis(300);
    let emu = start(ServerOptions { header_read_timeout: timeout, ..ServerOptions::default() }).await;
    let partial = closed_after(emu.addr(), "GET /_admin/hea").await;
    assert!(partial >= timeout - Duration::from_millis(50) && partial < Duration::from_secs(2), "{partial:?}");
    let silent = closed_after(emu.addr(), "").await;
    assert!(silent < Duration::from_secs(2), "a client that sends nothing: {silent:?}");
    assert_eq!(http(emu.addr(), "GET", "/_admin/health", &[], "").await.status, 200, "a prompt client is served");
}

#[tokio::test]
async fn the_call_log_keeps_the_newest_calls_and_says_how_many_it_dropped() {
    let emu = start(ServerOptions { max_calls: 2, ..ServerOptions::default() }).await;
    let host = emu.addr().to_string();
    for _ in 0..5 {
        assert_eq!(describe_connections(emu.addr(), &host).await.status, 200);
    }
    assert_eq!((emu.calls().len(), emu.calls_dropped()), (2, 3));
    let calls = http(emu.addr(), "GET", "/_admin/calls", &[], "").await;
    assert_eq!(calls.json().as_array().map(Vec::len), Some(2), "still a plain array");
    assert_eq!(calls.header("x-calls-dropped"), Some("3"));
    assert_eq!(http(emu.addr(), "DELETE", "/_admin/calls", &[], "").await.status, 204);
    let calls = http(emu.addr(), "GET", "/_admin/calls", &[], "").await;
    assert_eq!((calls.body.as_str(), calls.header("x-calls-dropped")), ("[]", Some("0")));
}

#[tokio::test]
async fn the_admin_api_answers_loopback_hosts_only_and_service_calls_any() {
    let emu = start(ServerOptions::default()).await;
    let port = emu.addr().port();
    for host in ["localhost".to_owned(), format!("localhost:{port}"), "127.9.8.7".to_owned(), format!("[::1]:{port}")] {
        assert_eq!(admin_get(emu.addr(), "/_admin/health", &host).await.status, 200, "{host}");
    }
    for path in ["/_admin/fleet", "/_admin/nope"] {
        let refused = admin_get(emu.addr(), path, &format!("rebound.example:{port}")).await;
        assert_eq!(refused.status, 403, "{path}");
        assert!(refused.body.contains("loopback") || refused.body.contains("localhost"), "{}", refused.body);
        assert!(refused.body.contains("DNS rebinding"), "{}", refused.body);
    }
    let no_host = send(emu.addr(), "GET /_admin/fleet HTTP/1.0\r\n\r\n".to_owned()).await;
    assert_eq!(no_host.status, 403);
    let service = describe_connections(emu.addr(), &format!("rebound.example:{port}")).await;
    assert_eq!(service.status, 200, "{}", service.body);
}

/// The Date header of `reply`, which must have exactly one.
fn date(reply: &Reply) -> SystemTime {
    let dates: Vec<&str> =
        reply.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("date")).map(|(_, v)| v.as_str()).collect();
    assert_eq!(dates.len(), 1, "{:?}", reply.headers);
    httpdate::parse_http_date(dates[0]).unwrap()
}

fn assert_near(got: SystemTime, want: SystemTime) {
    let off = got.duration_since(want).or_else(|e| Ok::<_, ()>(e.duration())).unwrap();
    assert!(off <= Duration::from_secs(2), "{got:?} is {off:?} away from {want:?}");
}

#[tokio::test]
async fn service_answers_carry_the_emulators_clock_in_one_date_header() {
    let emu = start(ServerOptions::default()).await;
    let host = emu.addr().to_string();
    assert_near(date(&describe_connections(emu.addr(), &host).await), SystemTime::now());

    emu.set_clock_offset(3 * 3600);
    assert_eq!(emu.clock_offset(), 10_800);
    let ahead = SystemTime::now() + Duration::from_secs(3 * 3600);
    assert_near(date(&describe_connections(emu.addr(), &host).await), ahead);
    let unroutable = http(emu.addr(), "GET", "/", &[], "").await;
    assert_eq!(unroutable.status, 400);
    assert_near(date(&unroutable), ahead);
    let admin = http(emu.addr(), "GET", "/_admin/health", &[], "").await;
    assert_near(date(&admin), SystemTime::now());

    let put = http(emu.addr(), "PUT", "/_admin/clock", &[], r#"{"offsetSeconds":-10800}"#).await;
    assert_eq!(put.status, 204);
    assert_eq!(
        http(emu.addr(), "GET", "/_admin/clock", &[], "").await.json(),
        serde_json::json!({"offsetSeconds": -10800})
    );
    let behind = SystemTime::now() - Duration::from_secs(3 * 3600);
    assert_near(date(&describe_connections(emu.addr(), &host).await), behind);
    let bad = http(emu.addr(), "PUT", "/_admin/clock", &[], r#"{"offsetSeconds":"soon"}"#).await;
    assert_eq!(bad.status, 400);
    assert_eq!(emu.clock_offset(), -10_800, "a refused clock changes nothing");
}
