//! The plain-JSON control API under `/_admin/` that tests and demos use to set the
//! scene and read what happened. Unauthenticated: the emulator is for local use.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header::CONTENT_TYPE, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;

use crate::faults::{Faults, Injector};
use crate::fleet::Fleet;
use crate::protocol::plain;
use crate::state::Shared;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/fleet", get(get_fleet).put(put_fleet))
        .route("/calls", get(get_calls).delete(clear_calls))
        .route("/faults", get(get_faults).put(put_faults))
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

async fn get_calls(State(shared): State<Arc<Shared>>) -> Response {
    let calls = shared.lock().calls.clone();
    json(&calls)
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
