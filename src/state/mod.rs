//! First-seen marks ("mark, wait, then delete"): the janitor remembers when it first saw each resource stale, and
//! deletes it only once it has been stale for its provider's grace. DMS connections carry no timestamp at all, so
//! for them this is the only honest age; for the others it gives people the grace to notice (the notification of
//! the run that marked it) and protect what they need.

mod dynamo;
mod file;

pub use dynamo::DynamoStore;
pub use file::FileStore;

use async_trait::async_trait;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

/// The scope a provider's marks in a region are kept under. Resource ids are unique only within a provider (a DTS
/// job id is not an ARN), so the scope names both.
pub fn scope(provider: crate::resource::Provider, region: &str) -> String {
    format!("{provider}/{region}")
}

/// Why the store could not answer; those connections wait rather than be deleted on a guess.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("first-seen state file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("first-seen state file {path} is not valid state JSON: {source}")]
    Corrupt { path: PathBuf, source: serde_json::Error },
    #[error("DynamoDB table {table}: {message}")]
    Dynamo { table: String, message: String },
    /// A mark no clock could have written: the store is corrupt, and its connections wait.
    #[error("{store}: the first-seen mark of {key} is {seconds}, beyond any date (corrupt state)")]
    ImplausibleMark { store: String, key: String, seconds: u64 },
}

/// The latest first sighting a store accepts, in Unix seconds: the last second of the year 9999.
const LATEST_MARK: u64 = 253_402_300_799;

/// The time of a first sighting stored as Unix seconds, if it is a plausible date; `store` names the store for the
/// error.
pub(crate) fn first_seen_at(store: impl FnOnce() -> String, key: &str, seconds: u64) -> Result<SystemTime, StateError> {
    (seconds <= LATEST_MARK)
        .then(|| SystemTime::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(seconds)))
        .flatten()
        .ok_or_else(|| StateError::ImplausibleMark { store: store(), key: key.to_owned(), seconds })
}

/// Where stale resources' first sightings come from.
#[derive(Clone)]
pub enum FirstSeen {
    /// Every enabled provider's grace is zero: age since first sighting does not matter, so nothing is recorded.
    NotNeeded,
    /// No store is configured: with a grace above zero, no resource of that provider is ever deleted.
    NoStore,
    Store(Arc<dyn FirstSeenStore>),
}

/// What one scan of one provider in one region saw, for the store to reconcile its marks with.
#[derive(Clone, Copy, Debug)]
pub struct Sighting<'a> {
    /// The scope of the marks: `<provider>/<region>` ([`scope`]).
    pub region: &'a str,
    /// Every resource id the scan returned, stale or not.
    pub scanned: &'a [String],
    /// The ids among `scanned` that are stale.
    pub failed: &'a [String],
    /// Whether the scan covered the whole region (not one endpoint's connections): only then may a store that can
    /// list its marks drop those of connections that are gone.
    pub complete: bool,
    pub now: SystemTime,
}

/// The port for first-seen marks; a file store for the CLI, other stores for Lambda.
#[async_trait]
pub trait FirstSeenStore: Send + Sync {
    /// Marks each failed key not yet marked as first seen at `now` (never moving an existing mark), removes the
    /// marks of scanned keys that are no longer failed (and, after a complete scan, of keys that are gone), and
    /// returns when each failed key was first seen.
    async fn reconcile(&self, sighting: Sighting<'_>) -> Result<HashMap<String, SystemTime>, StateError>;

    /// Drops the marks of connections the janitor deleted (or found gone), so a connection recreated later with the
    /// same endpoint and instance starts its grace afresh instead of inheriting an old first sighting. Called once
    /// after a run's deletes with every `(region, key)` that is gone, so a file store writes once.
    async fn forget(&self, gone: &[(String, String)]) -> Result<(), StateError>;
}
