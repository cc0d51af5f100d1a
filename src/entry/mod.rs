//! The faces of the one binary: the Lambda handler, the CLI, and start-up, which builds the janitor once per process.

pub mod cli;
pub mod lambda;
pub mod log_keys;
pub mod logging;
pub mod render;
pub mod startup;
