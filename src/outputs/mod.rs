//! Where a run's report goes besides the answer: EMF metrics on stdout, the S3 archive (JSON and HTML), the chat
//! notification, and the one-time schedules that re-check what it left waiting when the graces end.

pub mod archive;
pub mod html;
pub mod metrics;
pub mod notify;
pub mod recheck;
