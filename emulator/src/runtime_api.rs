//! A fake AWS Lambda Runtime API (version 2018-06-01): the HTTP interface a custom
//! runtime such as the `lambda_runtime` crate polls, so a real Lambda binary can run
//! locally. Tests queue events, the function long-polls `/next` for them, and its
//! responses, invocation errors and init error are recorded for the test to read.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header::CONTENT_TYPE, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

/// The ARN every invocation reports as `Lambda-Runtime-Invoked-Function-Arn`.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:replication-janitor";
/// The X-Ray header every invocation reports as `Lambda-Runtime-Trace-Id`.
pub const TRACE_ID: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
/// The largest request body accepted, as Lambda's 6 MB synchronous payload limit.
const MAX_BODY: usize = 6 * 1024 * 1024;
/// The API version every path starts with.
const PREFIX: &str = "/2018-06-01/runtime";

/// How one invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// The function posted a response: its body as JSON, or as a JSON string if it was not JSON.
    Response(Value),
    /// The function posted an invocation error.
    Error { error_type: String, error_message: String },
}

/// How a function's start-up ended, see [`RuntimeApi::wait_first_poll_or_init_error`].
#[derive(Debug, Clone, PartialEq)]
pub enum Startup {
    /// The function asked for its first event at this instant: it is ready.
    Polled(Instant),
    /// The function reported an init error (this body) before asking for an event.
    InitError(Value),
}

/// A running fake Runtime API. Dropping it stops the server; `/next` calls still
/// waiting then get a 500, which tells a runtime to exit.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl RuntimeApi {
    /// Serves on a free port of 127.0.0.1; each delivered event's deadline is `timeout` after its delivery.
    pub async fn start(timeout: Duration) -> std::io::Result<RuntimeApi> {
        let listener = TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(timeout));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = router(Arc::clone(&shared));
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                // A dropped sender means the same as a sent one: stop.
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                eprintln!("runtime-api: server error: {e}");
            }
        });
        Ok(RuntimeApi { addr, shared, shutdown: Some(shutdown) })
    }

    /// `127.0.0.1:PORT`, the value for `AWS_LAMBDA_RUNTIME_API` (no scheme).
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues a JSON event for the next `GET /next`; events are delivered in push order.
    pub fn push(&self, event: Value) {
        self.push_raw(event.to_string().into_bytes());
    }

    /// Queues an event body delivered byte for byte (it need not be JSON).
    pub fn push_raw(&self, event: Vec<u8>) {
        self.shared.update(|state| {
            let index = state.events.len();
            state.events.push(Bytes::from(event));
            state.outcomes.push(None);
            state.queue.push_back(index);
        });
    }

    /// Waits until the invocation of the `index`-th pushed event (0-based) has a
    /// response or error and returns it; `None` if `wait` elapses first or an init
    /// error arrives (see [`RuntimeApi::init_error`]).
    pub async fn outcome(&self, index: usize, wait: Duration) -> Option<Invocation> {
        self.shared
            .wait_for(wait, |state| match state.outcomes.get(index) {
                Some(Some(outcome)) => Some(Some(outcome.clone())),
                _ => state.init_error.as_ref().map(|_| None),
            })
            .await
            .flatten()
    }

    /// The body of the first `POST /runtime/init/error`, if any.
    pub fn init_error(&self) -> Option<Value> {
        self.shared.lock().init_error.clone()
    }

    /// When the first `GET /next` arrived, for "ready" measurements.
    pub fn first_poll(&self) -> Option<Instant> {
        self.shared.lock().first_poll
    }

    /// Waits until the function first asks for an event or reports an init error,
    /// whichever comes first; `None` if `wait` elapses before either.
    pub async fn wait_first_poll_or_init_error(&self, wait: Duration) -> Option<Startup> {
        self.shared
            .wait_for(wait, |state| match (&state.init_error, state.first_poll) {
                (Some(error), _) => Some(Startup::InitError(error.clone())),
                (None, Some(at)) => Some(Startup::Polled(at)),
                (None, None) => None,
            })
            .await
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // Wake `/next` long-polls so graceful shutdown does not wait for them forever.
        self.shared.update(|state| state.stopped = true);
        if let Some(shutdown) = self.shutdown.take() {
            // The server may already be gone; nothing to do then.
            let _ = shutdown.send(());
        }
    }
}

/// State behind one `std` mutex (short critical sections, never held across an
/// await) and a change counter that every waiter watches.
struct Shared {
    state: Mutex<ApiState>,
    changes: watch::Sender<u64>,
    timeout: Duration,
}

#[derive(Default)]
struct ApiState {
    /// Every pushed event body, by push index.
    events: Vec<Bytes>,
    /// How each pushed event's invocation ended, by push index.
    outcomes: Vec<Option<Invocation>>,
    /// Push indices not yet delivered, oldest first.
    queue: VecDeque<usize>,
    /// Delivered invocations still awaiting a response or error: request id -> push index.
    pending: HashMap<String, usize>,
    init_error: Option<Value>,
    first_poll: Option<Instant>,
    stopped: bool,
}

impl Shared {
    fn new(timeout: Duration) -> Self {
        Shared { state: Mutex::new(ApiState::default()), changes: watch::Sender::new(0), timeout }
    }

    /// Poisoning is ignored: a test double's state stays usable after a panic elsewhere.
    fn lock(&self) -> MutexGuard<'_, ApiState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the state and wakes every waiter.
    fn update<T>(&self, change: impl FnOnce(&mut ApiState) -> T) -> T {
        let result = change(&mut self.lock());
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
        result
    }

    /// Re-checks `check` after every change until it gives a value, or `wait` elapses.
    async fn wait_for<T>(&self, wait: Duration, mut check: impl FnMut(&ApiState) -> Option<T>) -> Option<T> {
        // Subscribing before the first check means no change after it can be missed.
        let mut changes = self.changes.subscribe();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(found) = check(&self.lock()) {
                return Some(found);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                // The sender lives as long as `self`, so only the timeout ends the wait.
                Ok(Err(_)) | Err(_) => return check(&self.lock()),
            }
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(&format!("{PREFIX}/invocation/next"), get(next))
        .route(&format!("{PREFIX}/invocation/{{id}}/response"), post(response))
        .route(&format!("{PREFIX}/invocation/{{id}}/error"), post(invocation_error))
        .route(&format!("{PREFIX}/init/error"), post(init_error))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "NotFound", "no such Runtime API endpoint") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

/// `GET /invocation/next`: long-polls until an event is queued, then delivers it.
async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared.update(|state| {
        state.first_poll.get_or_insert_with(Instant::now);
    });
    // Subscribed before the queue is first checked, so no push can be missed.
    let mut changes = shared.changes.subscribe();
    loop {
        {
            let mut state = shared.lock();
            if state.stopped {
                return error(StatusCode::INTERNAL_SERVER_ERROR, "ServiceStopped", "the Runtime API is shutting down");
            }
            if let Some(index) = state.queue.pop_front() {
                let id = request_id();
                state.pending.insert(id.clone(), index);
                return invocation(&id, shared.timeout, state.events[index].clone());
            }
        }
        if changes.changed().await.is_err() {
            return error(StatusCode::INTERNAL_SERVER_ERROR, "ServiceStopped", "the Runtime API is shutting down");
        }
    }
}

/// The 200 answer to `/next` carrying one event.
fn invocation(id: &str, timeout: Duration, event: Bytes) -> Response {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let deadline = (now + timeout).as_millis();
    Response::builder()
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, "application/json")
        .header("Lambda-Runtime-Aws-Request-Id", id)
        .header("Lambda-Runtime-Deadline-Ms", deadline.to_string())
        .header("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN)
        .header("Lambda-Runtime-Trace-Id", TRACE_ID)
        .body(Body::from(event))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// `POST /invocation/{id}/response`.
async fn response(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    finish(&shared, &id, Invocation::Response(parse(&body)))
}

/// `POST /invocation/{id}/error`.
async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = parse(&body);
    let header = headers.get("lambda-runtime-function-error-type").and_then(|v| v.to_str().ok());
    let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_owned);
    let error_type = field("errorType").or_else(|| header.map(str::to_owned)).unwrap_or_default();
    let error_message = match (field("errorMessage"), &body) {
        (Some(message), _) => message,
        (None, Value::String(raw)) => raw.clone(),
        (None, _) => String::new(),
    };
    finish(&shared, &id, Invocation::Error { error_type, error_message })
}

/// Records how invocation `id` ended, once.
fn finish(shared: &Shared, id: &str, outcome: Invocation) -> Response {
    let recorded = shared.update(|state| match state.pending.remove(id) {
        Some(index) => {
            state.outcomes[index] = Some(outcome);
            true
        }
        None => false,
    });
    if recorded {
        accepted()
    } else {
        error(StatusCode::BAD_REQUEST, "InvalidRequestID", &format!("no invocation {id} awaits a response or error"))
    }
}

/// `POST /init/error`: the function failed to initialise. The first report is kept.
async fn init_error(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut body = parse(&body);
    if let (Some(fields), Some(header)) =
        (body.as_object_mut(), headers.get("lambda-runtime-function-error-type").and_then(|v| v.to_str().ok()))
    {
        fields.entry("errorType").or_insert_with(|| Value::String(header.to_owned()));
    }
    shared.update(|state| {
        state.init_error.get_or_insert(body);
    });
    accepted()
}

/// A body as JSON, or as a JSON string of its (lossy UTF-8) text if it is not JSON.
fn parse(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn accepted() -> Response {
    json_response(StatusCode::ACCEPTED, &json!({"status": "OK"}))
}

/// An error in the Runtime API's own shape.
fn error(status: StatusCode, error_type: &str, message: &str) -> Response {
    json_response(status, &json!({"errorType": error_type, "errorMessage": message}))
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// A fresh, random, UUID-v4-shaped request id.
fn request_id() -> String {
    let n = fastrand::u128(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        n >> 96,
        (n >> 80) & 0xffff,
        (n >> 68) & 0xfff,
        0x8000 | ((n >> 52) & 0x3fff),
        n & 0xffff_ffff_ffff
    )
}
