//! The one request pipeline every service call goes through, whatever its wire protocol: (after the latency, which
//! the router waits) authentication (which names the account the call acts in), decoding and faults, then the
//! operation, all in the call log. A service plugs in by implementing [`Protocol`] and registering [`run`] of it
//! (see `service`); the router only chooses which registration.

use std::time::{Instant, SystemTime};

use axum::body::Body;
use axum::http::{header::CONTENT_TYPE, HeaderMap, StatusCode, Uri};
use axum::response::Response;

use crate::calls::Call;
use crate::error::WireError;
use crate::faults::Fault;
use crate::identity::Caller;
use crate::state::Shared;
use crate::store::Estate;

/// What a service sees of one HTTP request.
pub(crate) struct HttpRequest<'a> {
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) body: &'a [u8],
}

/// One service on one wire protocol: how its calls are authenticated, decoded, run and answered.
pub(crate) trait Protocol {
    /// The service name in the call log and in the fault injector's rate-limit lanes (see [`lane`]).
    const SERVICE: &'static str;
    type Request;
    type Output;
    type Error: WireError;

    /// The region the call names (AWS: the SigV4 credential scope's; DTS: a parameter), whether or not it
    /// authenticates; `None` logs an empty region.
    fn region(http: &HttpRequest<'_>) -> Option<String>;
    /// Checks the caller's credentials before anything else, and says who the caller is; it may keep state (DTS
    /// spends signature nonces).
    fn authenticate(estate: &mut Estate, http: &HttpRequest<'_>) -> Result<Caller, Self::Error>;
    /// The operation name (as sent, possibly empty) and the validated request.
    fn decode(http: &HttpRequest<'_>) -> (String, Result<Self::Request, Self::Error>);
    /// The resource the call acts on, for the call log.
    fn target(http: &HttpRequest<'_>, request: Option<&Self::Request>) -> Option<String>;
    /// Runs the operation for `caller` (in its account) in `region`; `now` is the emulator's clock (the real time plus
    /// the clock offset), which stamps what the operation creates.
    fn execute(
        estate: &mut Estate,
        caller: &Caller,
        region: &str,
        request: Self::Request,
        now: SystemTime,
    ) -> Result<Self::Output, Self::Error>;
    /// The service's answer to an injected fault.
    fn fault(fault: Fault) -> Self::Error;
    fn respond(
        http: &HttpRequest<'_>,
        operation: &str,
        result: Result<Self::Output, Self::Error>,
        request_id: &str,
    ) -> Response;
}

/// The pipeline: authentication, decoding and faults, then the operation, all logged. Refused, invalid or faulted
/// calls never touch the store (beyond what authentication itself keeps). Synchronous, so that a registration can
/// name it as a plain function; the latency, the one wait, is the router's.
pub(crate) fn run<P: Protocol>(shared: &Shared, http: &HttpRequest<'_>) -> Response {
    let (operation, request) = P::decode(http);
    let region = P::region(http).unwrap_or_default();
    let target = P::target(http, request.as_ref().ok());
    let result = {
        let mut guard = shared.lock();
        let state = &mut *guard;
        let caller = P::authenticate(&mut state.estate, http);
        let account = caller.as_ref().map(|c| c.account.clone()).unwrap_or_default();
        let result = caller.and_then(|caller| {
            let request = request?;
            if state.estate.denies(&caller.account, &format!("{}:{operation}", P::SERVICE)) {
                return Err(P::fault(Fault::Denied));
            }
            match state.injector.draw(&lane(P::SERVICE, &caller.account, &region), Instant::now()) {
                Some(fault) => Err(P::fault(fault)),
                None => P::execute(&mut state.estate, &caller, &region, request, shared.now()),
            }
        });
        state.calls.push(Call {
            service: P::SERVICE.to_owned(),
            operation: operation.clone(),
            account,
            region,
            target,
            status: result.as_ref().map_or_else(|e| e.http_status().as_u16(), |_| StatusCode::OK.as_u16()),
            error: result.as_ref().err().map(|e| e.code().to_owned()),
        });
        result
    };
    P::respond(http, &operation, result, &shared.request_id())
}

/// The rate-limit lane of a call: `<service> <account> <region>`, as AWS limits each account in each region
/// separately (DTS, whose calls name no AWS account: `<service> <region>`).
fn lane(service: &str, account: &str, region: &str) -> String {
    if account.is_empty() {
        format!("{service} {region}")
    } else {
        format!("{service} {account} {region}")
    }
}

/// A plain-text answer for requests that are not service calls at all (and for the admin API).
pub(crate) fn plain(status: StatusCode, message: &str) -> Response {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(format!("{message}\n")))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::faults::{Faults, RateLimit};
    use crate::fleet::MANAGEMENT_ACCOUNT;
    use crate::fleet::{Connection, Fleet};
    use crate::store::Collection;

    const MEMBER: &str = "210987654321";
    const CONNECTIONS: Collection<Connection> = Collection { name: "connections", items: |f| &mut f.connections };

    /// A protocol that records each execution as a connection in the caller's account; the `Authorization` header
    /// authenticates as the account it names (empty: the management account), the body names the region.
    struct Counter;

    #[derive(Debug)]
    struct Refused(&'static str, StatusCode);

    impl WireError for Refused {
        fn http_status(&self) -> StatusCode {
            self.1
        }
        fn code(&self) -> &'static str {
            self.0
        }
    }

    impl Protocol for Counter {
        const SERVICE: &'static str = "counter";
        type Request = ();
        type Output = ();
        type Error = Refused;

        fn region(http: &HttpRequest<'_>) -> Option<String> {
            String::from_utf8(http.body.to_vec()).ok().filter(|r| !r.is_empty())
        }
        fn authenticate(_estate: &mut Estate, http: &HttpRequest<'_>) -> Result<Caller, Refused> {
            match http.headers.get("authorization").and_then(|v| v.to_str().ok()) {
                Some("") => Ok(Caller::management()),
                Some(account) => Ok(Caller { account: account.to_owned(), ..Caller::management() }),
                None => Err(Refused("Unauthenticated", StatusCode::FORBIDDEN)),
            }
        }
        fn decode(http: &HttpRequest<'_>) -> (String, Result<(), Refused>) {
            match http.uri.path() {
                "/" => ("Count".to_owned(), Ok(())),
                _ => (String::new(), Err(Refused("Undecodable", StatusCode::BAD_REQUEST))),
            }
        }
        fn target(_http: &HttpRequest<'_>, request: Option<&()>) -> Option<String> {
            request.map(|()| "it".to_owned())
        }
        fn execute(
            estate: &mut Estate,
            caller: &Caller,
            region: &str,
            (): (),
            _now: SystemTime,
        ) -> Result<(), Refused> {
            let store = estate.resources(caller).map_err(|_| Refused("NoSuchAccount", StatusCode::FORBIDDEN))?;
            store.push(&CONNECTIONS, Connection::new(region, "endpoint", "instance"));
            Ok(())
        }
        fn fault(_fault: Fault) -> Refused {
            Refused("Faulted", StatusCode::TOO_MANY_REQUESTS)
        }
        fn respond(_http: &HttpRequest<'_>, _op: &str, result: Result<(), Refused>, _id: &str) -> Response {
            let status = result.map_or_else(|e| e.1, |()| StatusCode::OK);
            plain(status, "")
        }
    }

    /// Sends a call signed as `account` (`None`: unsigned; `Some("")`: the management account).
    fn send(shared: &Shared, path: &str, account: Option<&str>, region: &str) -> StatusCode {
        let uri: Uri = path.parse().unwrap();
        let mut headers = HeaderMap::new();
        if let Some(account) = account {
            headers.insert("authorization", HeaderValue::from_str(account).unwrap());
        }
        run::<Counter>(shared, &HttpRequest { uri: &uri, headers: &headers, body: region.as_bytes() }).status()
    }

    fn with_member() -> Fleet {
        Fleet { member_accounts: [(MEMBER.to_owned(), Fleet::default())].into(), ..Fleet::default() }
    }

    #[test]
    fn authentication_comes_first_and_only_clean_calls_execute() {
        let shared = Shared::new(Fleet::default(), Faults::default(), 100);
        assert_eq!(send(&shared, "/x", None, "r1"), StatusCode::FORBIDDEN, "auth before decoding");
        assert_eq!(send(&shared, "/x", Some(""), "r1"), StatusCode::BAD_REQUEST);
        assert_eq!(send(&shared, "/", Some(""), "r1"), StatusCode::OK);
        assert_eq!(shared.lock().estate.fleet().connections.len(), 1, "only the clean call executed");
        let calls = shared.lock().calls.to_vec();
        let logged: Vec<_> =
            calls.iter().map(|c| (c.status, c.error.as_deref(), c.target.as_deref(), c.account.as_str())).collect();
        assert_eq!(
            logged,
            [
                (403, Some("Unauthenticated"), None, ""),
                (400, Some("Undecodable"), None, MANAGEMENT_ACCOUNT),
                (200, None, Some("it"), MANAGEMENT_ACCOUNT)
            ]
        );
        assert!(calls.iter().all(|c| c.service == "counter" && c.region == "r1"));
    }

    #[test]
    fn calls_act_in_their_callers_account() {
        let shared = Shared::new(with_member(), Faults::default(), 100);
        assert_eq!(send(&shared, "/", Some(MEMBER), "r1"), StatusCode::OK);
        let fleet = shared.lock().estate.fleet();
        assert_eq!((fleet.connections.len(), fleet.member_accounts[MEMBER].connections.len()), (0, 1));
        assert_eq!(send(&shared, "/", Some("999999999999"), "r1"), StatusCode::FORBIDDEN, "no such account");
        assert_eq!(shared.lock().calls.to_vec()[0].account, MEMBER);
    }

    #[test]
    fn faults_are_drawn_per_service_account_and_region_and_skip_the_operation() {
        let limit = RateLimit { per_second: 0.001, burst: 1 };
        let shared = Shared::new(with_member(), Faults { rate_limit: Some(limit), ..Faults::default() }, 100);
        assert_eq!(send(&shared, "/", Some(""), "r1"), StatusCode::OK);
        assert_eq!(send(&shared, "/", Some(""), "r2"), StatusCode::OK, "another region, another bucket");
        assert_eq!(send(&shared, "/", Some(MEMBER), "r1"), StatusCode::OK, "another account, another bucket");
        assert_eq!(send(&shared, "/", Some(""), "r1"), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(shared.lock().estate.fleet().connections.len(), 2, "the faulted call did not execute");
        assert_eq!(shared.lock().calls.to_vec()[3].error.as_deref(), Some("Faulted"));
    }

    #[test]
    fn lanes_name_the_service_account_and_region() {
        assert_eq!(lane("dms", MANAGEMENT_ACCOUNT, "us-east-1"), "dms 123456789012 us-east-1");
        assert_eq!(lane("dts", "", "cn-hangzhou"), "dts cn-hangzhou");
    }
}
