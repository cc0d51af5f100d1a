//! What a service registers: how its requests are told apart, the pipeline that serves them, and its part of a fleet
//! (checks, member accounts' copies, the benchmark generator). The list of registrations is `services::SERVICES`;
//! routing, fleet validation, member copies and the generator's flags all derive from it.

use axum::response::Response;

use crate::fleet::{Fleet, FleetError};
use crate::protocol::{run, HttpRequest, Protocol};
use crate::state::Shared;

/// One emulated service.
pub(crate) struct Service {
    /// Its name in the call log and the fault injector's lanes; for an AWS service also the SigV4 signing name.
    pub(crate) name: &'static str,
    pub(crate) route: Route,
    /// Serves one of its requests ([`run`] of its [`Protocol`]); the router has already waited the latency.
    pub(crate) serve: fn(&Shared, &HttpRequest<'_>) -> Response,
    pub(crate) fleet: FleetPart,
}

impl Service {
    /// The registration of `P`: its name, [`run`] as the handler, and how it is routed and holds a fleet.
    pub(crate) const fn of<P: Protocol>(route: Route, fleet: FleetPart) -> Service {
        Service { name: P::SERVICE, route, serve: run::<P>, fleet }
    }
}

/// How a request names the service it is for.
pub(crate) enum Route {
    /// awsJson1_1: `X-Amz-Target: <prefix>.<Operation>`. The `fallback` service also answers targets no service
    /// claims (with its own UnknownOperationException); there is at most one.
    JsonTarget { prefix: &'static str, fallback: bool },
    /// awsQuery: a form post whose SigV4 scope names the service (its signing name) and whose `Version`, if given, is
    /// `version`; an unsigned post is told by `Version` alone.
    Query { version: &'static str },
    /// Any request with this header (DTS: `x-acs-action`); checked before the AWS protocols.
    Header(&'static str),
}

/// A service's part of a fleet. Its resources are fields of [`Fleet`] (the file format); this says what to do with
/// them beyond serde.
pub(crate) struct FleetPart {
    /// Checks what the JSON types cannot, in one account's fleet.
    pub(crate) validate: fn(&Fleet) -> Result<(), FleetError>,
    pub(crate) members: Members,
    /// How a benchmark fleet gets this service's resources, if it does.
    pub(crate) generated: Option<Generated>,
}

/// What member accounts hold of a service.
pub(crate) enum Members {
    /// Resources of their own.
    Own {
        /// Copies this service's resources of `from` into `to` as account `account` holds them: every ARN names it.
        copy: fn(from: &Fleet, to: &mut Fleet, account: &str),
        /// The ARNs of the resources `fleet` holds (not those they refer to), which must name the account holding it.
        arns: fn(&Fleet) -> Vec<&str>,
    },
    /// Nothing: the service's fields are the management account's. Names a field that `fleet` fills, if any, as the
    /// JSON spells it, for refusing a member fleet that has one.
    ManagementOnly(fn(&Fleet) -> Option<&'static str>),
}

/// How the benchmark generator fills a service's resources.
pub(crate) struct Generated {
    pub(crate) count: Count,
    /// Sets `fleet`'s resources of this service to `count` generated ones, round-robin over `regions` (none:
    /// `us-east-1`), `stale_share` of them failed and old, the rest healthy.
    pub(crate) fill: fn(fleet: &mut Fleet, count: usize, stale_share: f64, regions: &[&str]),
}

/// Where the generator's count of a service comes from.
pub(crate) enum Count {
    /// Position `position` (from 0) of `generated:<spec>`, called `name` in its grammar.
    Spec { position: usize, name: &'static str },
    /// The flag `--<long>` (default 0), with its help.
    Flag { long: &'static str, help: &'static str },
}

/// A [`FleetPart::validate`] for services whose fields serde checks fully.
pub(crate) fn no_checks(_: &Fleet) -> Result<(), FleetError> {
    Ok(())
}
