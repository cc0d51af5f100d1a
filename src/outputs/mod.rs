//! Where a run's report goes besides the answer: EMF metrics on stdout, the S3 archive, the chat notification; and
//! the fan-out's results, read back from S3 for its one summary.

pub mod archive;
pub mod json_stream;
pub mod map_results;
pub mod metrics;
pub mod notify;
