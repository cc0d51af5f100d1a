//! The control planes: one adapter module each (listed in `registry`, described by `spec`), what the AWS ones share
//! (`aws_sdk`), and the port they implement, which the engine owns (`engine::plane`).

pub mod aws_sdk;
pub mod dms;
pub mod dts;
pub mod glue;
#[cfg(test)]
pub mod memory;
pub mod rds;
pub mod recreate;
pub mod redshift;
pub mod registry;
pub mod spec;
pub mod zero_etl;

pub use crate::engine::plane::{ControlPlane, DeleteOutcome, Scan, ScanError};
