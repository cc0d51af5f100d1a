//! replication-janitor: deletes failed AWS DMS connections and RDS zero-ETL integrations under a policy that is
//! dry run by default, with a report and CloudWatch metrics for every run.
//!
//! Layout: `trigger` (payload -> request), `config` (environment -> settings), `policy` (pure decisions),
//! `sweep` (orchestration), `providers` (one adapter per control plane), `report` and `metrics`;
//! `handler`, `lambda` and `cli` are the entry points, `startup` and `aws` build them once per process.

pub mod accounts;
pub mod archive;
pub mod aws;
pub mod calls;
pub mod cli;
pub mod clock;
pub mod config;
pub mod duration;
pub mod handler;
pub mod lambda;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod pattern;
pub mod policy;
pub mod providers;
pub mod report;
pub mod request;
pub mod resource;
pub mod setting;
pub mod startup;
pub mod state;
pub mod sweep;
pub mod text;
pub mod trigger;
