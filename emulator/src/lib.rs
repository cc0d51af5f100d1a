//! A local, protocol-exact stand-in for the AWS DMS, RDS and Redshift control-plane calls
//! the janitor makes, with the STS and Organizations calls that sweep an organization's accounts,
//! so its tests can drive the real AWS SDK over real HTTP, and for the
//! Alibaba Cloud DTS calls, whose V3 signatures it verifies.
//!
//! One port serves DMS and Organizations (awsJson1_1, told apart by `X-Amz-Target`), RDS, Redshift
//! and STS (awsQuery form posts, told apart by the SigV4 scope's service), DTS (RPC, `x-acs-action`,
//! parameters in the query string) and a plain-JSON admin API under `/_admin/`. Resources are per
//! account (the management account's, or a member's for credentials its STS issued) and per region
//! (AWS: the SigV4 credential scope; DTS: the `Region`/`RegionId` parameter), every service call is
//! logged, and faults (latency, throttling, 5xx, a rate limit, per-resource delete outcomes) can be
//! injected.

mod accounts;
mod admin;
mod auth;
mod awsjson;
mod calls;
mod clock;
mod dms;
mod dts;
mod error;
mod faults;
mod fleet;
mod identity;
mod organizations;
mod paging;
mod protocol;
mod query;
mod rds;
mod redshift;
pub mod runtime_api;
mod server;
mod state;
mod store;
mod sts;
mod xml;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use accounts::{
    AccountStatus, JoinedMethod, OrgAccount, Organization, StsPolicy, GENERATED_MEMBER_OU, GENERATED_MEMBER_ROLE,
    MANAGEMENT_ACCOUNT,
};
pub use calls::{count, Call};
pub use clock::{format_iso8601, parse_timestamp};
pub use faults::{Faults, RateLimit};
pub use fleet::{
    Connection, DtsJob, DtsJobType, DtsOnDelete, DtsReverseJob, DtsTag, Fleet, FleetError, Integration,
    IntegrationError, OnDelete, DTS_ACCESS_KEY_ID, DTS_ACCESS_KEY_SECRET, PROTECT_TAG,
};
pub use runtime_api::{Invocation, RuntimeApi, Startup};

use faults::Injector;
use state::Shared;

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

    /// Serves on `addr` (port 0 picks a free one) in a background tokio task.
    pub async fn start_on(addr: SocketAddr, fleet: Fleet, faults: Faults) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(fleet, faults));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = server::router(Arc::clone(&shared));
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                // A dropped sender means the same as a sent one: stop.
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                eprintln!("janitor-emulator: server error: {e}");
            }
        });
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

    /// Every service call so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }

    /// Forgets the call log, e.g. between phases of a test.
    pub fn clear_calls(&self) {
        self.shared.lock().calls.clear();
    }

    /// The fleet as it is now (deleted resources gone, tested ones `testing`), member accounts included.
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
