//! Where a run's report goes besides the answer: EMF metrics on stdout, the S3 archive (JSON and HTML), the chat
//! notification.

pub mod archive;
pub mod html;
pub mod metrics;
pub mod notify;
