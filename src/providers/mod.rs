//! The port to the control planes: scan a region, delete one resource. One adapter module per control plane.

pub mod aws_sdk;
pub mod dms;
pub mod dts;
pub mod glue;
#[cfg(test)]
pub mod memory;
pub mod rds;
pub mod redshift;
pub mod registry;
pub mod spec;
pub mod zero_etl;

use crate::domain::resource::{ErrorClass, Provider, Resource};
use async_trait::async_trait;

/// A scan that could not complete; nothing of that provider and region is judged.
#[derive(Debug, thiserror::Error)]
#[error("{operation} in {region} failed: {message}")]
pub struct ScanError {
    pub operation: &'static str,
    pub region: String,
    pub message: String,
    pub class: ErrorClass,
}

/// One region's scan: every resource, with its condition, protection and age resolved (the sweep adds the marks).
pub type Scan = Vec<Resource>;

/// What became of one delete call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// Accepted; the control plane reports this status (usually `deleting`).
    Deleted {
        status: String,
    },
    /// It vanished before we deleted it, and a second look confirmed it: the goal is met.
    AlreadyGone,
    /// The control plane refused for a reason that is not ours to fix now (its state); left for a later run.
    Skipped {
        reason: String,
    },
    Failed {
        error: String,
        class: ErrorClass,
    },
}

impl DeleteOutcome {
    pub fn failed(class: ErrorClass, error: impl Into<String>) -> DeleteOutcome {
        DeleteOutcome::Failed { error: error.into(), class }
    }
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
            class: ErrorClass::Service,
        })
    }
    async fn delete(&self, resource: &Resource) -> DeleteOutcome;
}
