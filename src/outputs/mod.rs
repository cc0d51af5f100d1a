//! Where a run's report goes besides the answer: EMF metrics on stdout, the S3 archive, the chat notification.

pub mod archive;
pub mod metrics;
pub mod notify;
