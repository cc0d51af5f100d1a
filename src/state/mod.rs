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
pub fn scope(provider: crate::domain::resource::Provider, region: &str) -> String {
    format!("{provider}/{region}")
}

/// Why the store could not answer; those connections wait rather than be deleted on a guess.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The state file is a link whose target is missing, or a lease file is a link: refused, never followed.
    #[error("first-seen state file {path}: {why}")]
    Refused { path: PathBuf, why: String },
    #[error("first-seen state file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("first-seen state file {path} is not valid state JSON: {source}")]
    Corrupt { path: PathBuf, source: serde_json::Error },
    /// Another run holds the scope; the caller took no lease of its own for it.
    #[error("{scope} is busy: {holder} holds it")]
    Busy { scope: String, holder: String },
    /// The state file could not be read when the run took its leases: its scopes' marks are unknown, and the file is
    /// never written over.
    #[error("{0}")]
    Unreadable(String),
    #[error("DynamoDB table {table}: {message}")]
    Dynamo { table: String, message: String },
    /// A mark no clock could have written: the store is corrupt, and its connections wait.
    #[error("{store}: the first-seen mark of {key} is {seconds}, beyond any date (corrupt state)")]
    ImplausibleMark { store: String, key: String, seconds: u64 },
}

/// How far ahead of a run's clock a mark may be and still stand: clocks within this of each other agree. A mark
/// further ahead was written by a clock ahead of ours and counts from now.
pub(crate) const FUTURE_MARK_TOLERANCE: u64 = 60;

/// Whether a mark of `first_seen` (Unix seconds) is further in the future than clocks that agree could write.
pub(crate) fn in_the_future(first_seen: u64, now: u64) -> bool {
    first_seen > now.saturating_add(FUTURE_MARK_TOLERANCE)
}

/// The latest first sighting a store accepts, in Unix seconds: the last second of the year 9999.
pub(crate) const LATEST_MARK: u64 = 253_402_300_799;

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
    /// The scope of the marks: `<provider>/<region>` ([`scope`]), under the account in an organization run.
    pub scope: &'a str,
    /// Every resource id the scan returned, stale or not.
    pub scanned: &'a [String],
    /// The ids among `scanned` that are stale.
    pub failed: &'a [String],
    /// Whether the scan covered the whole region (not one endpoint's connections): only then may a store that can
    /// list its marks drop those of connections that are gone.
    pub complete: bool,
    pub now: SystemTime,
}

/// Who holds a scope, and until when: what a run that finds the scope busy reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The run: its host, process and a random run id (and the Lambda function, in Lambda).
    pub holder: String,
    /// When the lease lapses on its own if the holder never releases it (its deadline); `None` when the store
    /// frees it only when the holder's process ends (the file store's locks).
    pub until: Option<SystemTime>,
}

impl Lease {
    /// A lease for a run of this process that lasts until `until`.
    pub fn for_this_run(until: SystemTime) -> Lease {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "an unknown host".to_owned());
        let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").map(|f| format!("Lambda {f}, ")).unwrap_or_default();
        Lease {
            holder: format!("{function}process {} on {host}, run {:08x}", std::process::id(), fastrand::u32(..)),
            until: Some(until),
        }
    }
}

/// What a run got when it asked for the leases on its scopes.
#[derive(Clone, Debug, Default)]
pub struct Leases {
    /// The scopes this run now holds: it alone judges and deletes there until it releases them.
    pub held: Vec<String>,
    /// The scopes another run holds, with who and until when: this run judges and deletes nothing there.
    pub busy: Vec<(String, Lease)>,
}

/// The port for first-seen marks; a file store for the CLI, other stores for Lambda.
///
/// A run takes a lease on every scope it sweeps before it scans ([`FirstSeenStore::lease`]) and releases them
/// after its deletes ([`FirstSeenStore::release`]): two runs never judge and delete in the same scope at once, so
/// marks are never lost to a concurrent write and the deletion cap holds per scope however many runs overlap.
#[async_trait]
pub trait FirstSeenStore: Send + Sync {
    /// Takes the lease on each of `scopes` that no other run holds (or whose holder's lease has lapsed).
    async fn lease(&self, scopes: &[String], lease: &Lease) -> Result<Leases, StateError>;

    /// Saves what the run changed in `scopes` (a file store writes once, here) and frees their leases.
    async fn release(&self, scopes: &[String], lease: &Lease) -> Result<(), StateError>;

    /// Marks each failed key not yet marked as first seen at `now` (never moving an existing mark, except one in
    /// the future, which no honest clock wrote: it becomes `now`), removes the marks of scanned keys that are no
    /// longer failed (and, after a complete scan, of keys that are gone), and returns when each failed key was first
    /// seen.
    async fn reconcile(&self, sighting: Sighting<'_>) -> Result<HashMap<String, SystemTime>, StateError>;

    /// Drops the marks of connections the janitor deleted (or found gone), so a connection recreated later with the
    /// same endpoint and instance starts its grace afresh instead of inheriting an old first sighting. Called once
    /// after a run's deletes with every `(region, key)` that is gone, so a file store writes once.
    async fn forget(&self, gone: &[(String, String)]) -> Result<(), StateError>;
}
