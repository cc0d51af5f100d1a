//! The plain-JSON control API under `/_admin/` that tests and demos use to set the
//! scene and read what happened. Unauthenticated: the emulator is for local use (and the server answers it for
//! loopback host names only).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header::CONTENT_TYPE, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

use crate::faults::{Faults, Injector};
use crate::fleet::Fleet;
use crate::protocol::plain;
use crate::state::Shared;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/fleet", get(get_fleet).put(put_fleet))
        .route("/calls", get(get_calls).delete(clear_calls))
        .route("/faults", get(get_faults).put(put_faults))
        .route("/clock", get(get_clock).put(put_clock))
        .route("/sessions/expire", post(expire_sessions))
        .route("/health", get(|| async { plain(StatusCode::OK, "ok") }))
}

fn json(value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => Response::builder()
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap_or_else(|_| Response::new(Body::empty())),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn no_content() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

async fn get_fleet(State(shared): State<Arc<Shared>>) -> Response {
    let fleet = shared.lock().estate.fleet();
    json(&fleet)
}

async fn put_fleet(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let fleet = std::str::from_utf8(&body).map_err(|e| e.to_string()).and_then(|json| {
        // The same checks as a fleet file gets.
        Fleet::from_json(json).map_err(|e| e.to_string())
    });
    match fleet {
        Ok(fleet) => {
            shared.lock().estate.replace(fleet);
            no_content()
        }
        Err(e) => plain(StatusCode::BAD_REQUEST, &format!("invalid fleet: {e}")),
    }
}

/// The header of `GET /_admin/calls` that counts the calls the bounded log dropped: the body stays the plain array
/// that existing readers (the wire checks, the bench) parse.
const CALLS_DROPPED: &str = "x-calls-dropped";

async fn get_calls(State(shared): State<Arc<Shared>>) -> Response {
    let (calls, dropped) = {
        let log = &shared.lock().calls;
        (log.to_vec(), log.dropped())
    };
    let mut response = json(&calls);
    response.headers_mut().insert(CALLS_DROPPED, HeaderValue::from(dropped));
    response
}

async fn clear_calls(State(shared): State<Arc<Shared>>) -> Response {
    shared.lock().calls.clear();
    no_content()
}

async fn get_faults(State(shared): State<Arc<Shared>>) -> Response {
    let faults = shared.lock().injector.faults().clone();
    json(&faults)
}

async fn put_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(faults) => {
            shared.lock().injector = Injector::new(faults);
            no_content()
        }
        Err(e) => plain(StatusCode::BAD_REQUEST, &format!("invalid faults: {e}")),
    }
}

/// Expires every credential the emulator's STS has issued: calls signed with them answer ExpiredToken(Exception).
async fn expire_sessions(State(shared): State<Arc<Shared>>) -> Response {
    shared.lock().estate.sessions.expire_all();
    no_content()
}

/// The body of `GET` and `PUT /_admin/clock`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Clock {
    /// Seconds added to the real time in service answers' `Date` header; negative puts the clock behind.
    offset_seconds: i64,
}

async fn get_clock(State(shared): State<Arc<Shared>>) -> Response {
    json(&Clock { offset_seconds: shared.clock_offset() })
}

async fn put_clock(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Clock>(&body) {
        Ok(clock) => {
            shared.set_clock_offset(clock.offset_seconds);
            no_content()
        }
        Err(e) => plain(StatusCode::BAD_REQUEST, &format!("invalid clock: {e}")),
    }
}
