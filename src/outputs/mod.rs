//! Where a run's report goes besides the answer: EMF metrics on stdout, the S3 archive (JSON and HTML), the chat
//! notification, the one-time schedules that re-check what it left waiting when the graces end; and the fan-out's
//! results, read back from S3 for its one summary.

pub mod archive;
pub mod html;
pub mod json_stream;
pub mod map_results;
pub mod metrics;
pub mod notify;
pub mod recheck;
