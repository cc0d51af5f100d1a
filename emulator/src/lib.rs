//! A local, protocol-exact stand-in for the AWS DMS, RDS, Redshift and Glue control-plane calls
//! the janitor makes, with the STS and Organizations calls that sweep an organization's accounts,
//! so its tests can drive the real AWS SDK over real HTTP, and for the
//! Alibaba Cloud DTS calls, whose V3 signatures it verifies.
//!
//! One port serves DMS, Glue and Organizations (awsJson1_1, told apart by `X-Amz-Target`), RDS, Redshift
//! and STS (awsQuery form posts, told apart by the SigV4 scope's service), DTS (RPC, `x-acs-action`,
//! parameters in the query string) and a plain-JSON admin API under `/_admin/`. Resources are per
//! account (the management account's, or a member's for credentials its STS issued) and per region
//! (AWS: the SigV4 credential scope; DTS: the `Region`/`RegionId` parameter), every service call is
//! logged (the newest [`ServerOptions::max_calls`] of them), faults (latency, throttling, 5xx, a rate limit,
//! per-resource delete outcomes) can be injected, and the clock that service answers' `Date` header shows can be
//! set off. The admin API answers loopback host names only, and a client that stalls sending its headers is
//! disconnected.
//!
//! # Map
//!
//! - Data: `fleet` (the [`Fleet`] file format and what tests build: one field per service's resources;
//!   `fleet::accounts`, member accounts' organization and STS policy), `calls` (the call log), `faults`, `clock`.
//! - A service: `services::<name>`, its `protocol::Protocol` implementation and its registration, a
//!   `service::Service` saying how its requests are recognized (an awsJson target prefix, an awsQuery signing name and
//!   `Version`, or a header), the pipeline that serves them, and its part of a fleet (checks, member accounts'
//!   copies, the generator's count). `services::SERVICES` lists them; routing (`server`), fleet checks, member copies
//!   and the generator (`services::fleet_parts`, and the binary's count flags) derive from that list, so a new service
//!   is its module, its line there, and a `Fleet` field if it has resources.
//! - The pipeline every call goes through: `protocol` (authenticate, decode, faults, execute, log, respond), with
//!   `identity` (whose credentials: the management account's or an STS-issued member session), `auth` (SigV4 scope),
//!   `error` (the errors' wire codes), and the wire helpers `awsjson`, `query`, `xml`, `paging`.
//! - Live state: `store` (each account's part of the fleet, with the sequence numbers paging markers name, in the
//!   `Estate` with the issued credentials), `state` (all of it behind one lock, with the fault injector and the call
//!   log).
//! - The front: `server` (connections, the admin API's loopback check, the `Date` clock, routing), `admin` (the
//!   `/_admin/` API), and [`Emulator`] below; `runtime_api` is a separate Lambda Runtime API stand-in.

mod admin;
mod auth;
mod awsjson;
mod calls;
mod clock;
mod error;
mod faults;
mod fleet;
mod identity;
mod paging;
mod protocol;
mod query;
pub mod runtime_api;
mod server;
mod service;
mod services;
mod state;
mod store;
mod xml;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use calls::{count, Call};
pub use clock::{format_iso8601, parse_timestamp};
pub use faults::{Faults, RateLimit};
pub use fleet::{
    AccountStatus, Connection, DtsJob, DtsJobType, DtsOnDelete, DtsReverseJob, DtsTag, Fleet, FleetError, Integration,
    IntegrationConfig, IntegrationError, JoinedMethod, OnDelete, OrgAccount, Organization, StsPolicy,
    DTS_ACCESS_KEY_ID, DTS_ACCESS_KEY_SECRET, GENERATED_MEMBER_OU, GENERATED_MEMBER_ROLE, MANAGEMENT_ACCOUNT,
    PROTECT_TAG,
};
pub use runtime_api::{Invocation, RuntimeApi, Startup};
pub use services::{generator_flags, generator_spec, GeneratorFlag};

use faults::Injector;
use state::Shared;

/// How the server treats connections and how much it remembers. The defaults suit a long-running emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// How long a client may take to send a request's headers, and a keep-alive connection may stay idle, before
    /// the connection is closed: a client that stalls cannot hold a connection (and its task) forever.
    pub header_read_timeout: Duration,
    /// The most calls the call log keeps; older ones are dropped, and counted ([`Emulator::calls_dropped`]), so
    /// a long-running emulator's memory stays bounded.
    pub max_calls: usize,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions { header_read_timeout: Duration::from_secs(10), max_calls: 100_000 }
    }
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Emulator {
    /// Serves `fleet` without faults on a free port of 127.0.0.1.
    pub async fn start(fleet: Fleet) -> std::io::Result<Emulator> {
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        Emulator::start_on(addr, fleet, Faults::default()).await
    }

    /// Serves on `addr` (port 0 picks a free one) in a background tokio task, with the default [`ServerOptions`].
    pub async fn start_on(addr: SocketAddr, fleet: Fleet, faults: Faults) -> std::io::Result<Emulator> {
        Emulator::start_with(addr, fleet, faults, ServerOptions::default()).await
    }

    /// Serves on `addr` (port 0 picks a free one) in a background tokio task.
    pub async fn start_with(
        addr: SocketAddr,
        fleet: Fleet,
        faults: Faults,
        options: ServerOptions,
    ) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(fleet, faults, options.max_calls));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = server::router(Arc::clone(&shared));
        tokio::spawn(server::serve(listener, app, options.header_read_timeout, async {
            // A dropped sender means the same as a sent one: stop.
            let _ = stopped.await;
        }));
        Ok(Emulator { addr, shared, shutdown: Some(shutdown) })
    }

    /// The base URL for SDK clients (`endpoint_url`), e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        let ip = if self.addr.ip().is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { self.addr.ip() };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// The bound address (the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every service call so far, oldest first, less the oldest [`Emulator::calls_dropped`] ones.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.to_vec()
    }

    /// How many calls the log dropped to stay within [`ServerOptions::max_calls`] since it was last cleared.
    pub fn calls_dropped(&self) -> u64 {
        self.shared.lock().calls.dropped()
    }

    /// Forgets the call log (and the count of dropped calls), e.g. between phases of a test.
    pub fn clear_calls(&self) {
        self.shared.lock().calls.clear();
    }

    /// Sets how far, in seconds (negative: behind), the emulator's clock is off: every service answer's `Date`
    /// header says the real time plus this, as a server with a wrong clock would, for testing clients' clock-skew
    /// handling. 0, the default, is the real time.
    pub fn set_clock_offset(&self, seconds: i64) {
        self.shared.set_clock_offset(seconds);
    }

    /// The clock offset in seconds (see [`Emulator::set_clock_offset`]).
    pub fn clock_offset(&self) -> i64 {
        self.shared.clock_offset()
    }

    /// The fleet as it is now (deleted resources gone, created ones there, tested connections `successful`), member
    /// accounts included.
    pub fn fleet(&self) -> Fleet {
        self.shared.lock().estate.fleet()
    }

    /// Replaces every resource (and tag) in every region of every account, the STS policy and the organization.
    /// Credentials issued for member accounts that remain stay valid; those of accounts gone are refused.
    pub fn set_fleet(&self, fleet: Fleet) {
        self.shared.lock().estate.replace(fleet);
    }

    /// Expires every credential the emulator's STS has issued so far: calls signed with them answer
    /// ExpiredToken (awsQuery) or ExpiredTokenException (awsJson) until the caller assumes the role again.
    pub fn expire_sessions(&self) {
        self.shared.lock().estate.sessions.expire_all();
    }

    /// Replaces the faults, restarting their random sequence and rate limit.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().injector = Injector::new(faults);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // The server may already be gone; nothing to do then.
            let _ = shutdown.send(());
        }
    }
}
