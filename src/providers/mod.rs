//! The port to the control planes: scan a region, delete one resource. One adapter module per control plane.

pub mod dms;
pub mod dts;
pub mod rds;

use crate::resource::{Provider, Resource};
use async_trait::async_trait;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use dms::DmsConnections;
pub use dts::DtsJobs;
pub use rds::RdsIntegrations;

/// A scan that could not complete; nothing of that provider and region is judged.
#[derive(Debug, thiserror::Error)]
#[error("{operation} in {region} failed: {message}")]
pub struct ScanError {
    pub operation: &'static str,
    pub region: String,
    pub message: String,
}

/// One region's complete scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    pub resources: Vec<Resource>,
    /// Why the first-seen store could not be used, if it could not: the affected resources wait, and the report
    /// and metrics say so.
    pub state_error: Option<String>,
}

/// What became of one delete call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// Accepted; the control plane reports this status (usually `deleting`).
    Deleted {
        status: String,
    },
    /// It vanished before we deleted it: the goal is met.
    AlreadyGone,
    /// The control plane refused for a reason that is not ours to fix now (its state); left for a later run.
    Skipped {
        reason: String,
    },
    Failed {
        error: String,
    },
}

/// One control plane, in every region the run may sweep.
#[async_trait]
pub trait ControlPlane: Send + Sync {
    fn provider(&self) -> Provider;
    /// The regions this plane was built for (a client each); a run sweeps these or a subset.
    fn regions(&self) -> Vec<String>;
    /// Every resource in `region`, paginated to the end, with protection and age resolved.
    async fn scan(&self, region: &str) -> Result<Scan, ScanError>;
    /// Only the resources an event named (`target`: an ARN of this provider), under the same judgement. The default
    /// says events cannot target this provider.
    async fn scan_target(&self, region: &str, target: &str) -> Result<Scan, ScanError> {
        Err(ScanError {
            operation: "scan_target",
            region: region.to_owned(),
            message: format!("events cannot target {} resources ({target})", self.provider()),
        })
    }
    async fn delete(&self, resource: &Resource) -> DeleteOutcome;
}

/// Error codes that mean "not there any more".
const GONE: &[&str] = &["ResourceNotFoundFault", "IntegrationNotFoundFault"];
/// Error codes that mean "not in a state to delete now".
const WRONG_STATE: &[&str] =
    &["InvalidResourceStateFault", "InvalidIntegrationStateFault", "IntegrationConflictOperationFault"];

/// Maps an SDK error from a delete call to an outcome, by the service's error code.
fn delete_outcome<E>(action: &str, target: &str, error: &E) -> DeleteOutcome
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = error.code().unwrap_or_default();
    let message = error.message().unwrap_or_default();
    if GONE.contains(&code) {
        DeleteOutcome::AlreadyGone
    } else if WRONG_STATE.contains(&code) {
        DeleteOutcome::Skipped { reason: format!("{code}: {message}") }
    } else if code.starts_with("AccessDenied") {
        DeleteOutcome::Failed {
            error: format!("access denied: the janitor's role may not call {action} on {target} ({code}: {message})"),
        }
    } else if !code.is_empty() {
        DeleteOutcome::Failed { error: format!("{action} failed: {code}: {message}") }
    } else {
        DeleteOutcome::Failed { error: format!("{action} failed: {}", DisplayErrorContext(error)) }
    }
}

/// Describes a scan failure with the service's code where it has one, the whole cause chain where it does not.
fn scan_error<E>(operation: &'static str, region: &str, error: &E) -> ScanError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = match (error.code(), error.message()) {
        (Some(code), message) if code.starts_with("AccessDenied") => {
            format!(
                "access denied: the janitor's role may not call {operation} ({code}: {})",
                message.unwrap_or_default()
            )
        }
        (Some(code), message) => format!("{code}: {}", message.unwrap_or_default()),
        (None, _) => DisplayErrorContext(error).to_string(),
    };
    ScanError { operation, region: region.to_owned(), message }
}

/// Looks up the client built for `region` at start.
fn client_for<'a, C>(clients: &'a [(String, C)], region: &str) -> Option<&'a C> {
    clients.iter().find(|(r, _)| r == region).map(|(_, c)| c)
}
