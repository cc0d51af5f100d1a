//! The CLI's store: a JSON file that can list its marks, so it also forgets resources that are gone.
//!
//! Several processes may share one file (a cron job per region). Each scope a run sweeps is leased through a lock
//! file of its own under `<file>.leases/` (an exclusive `flock`, which the kernel frees when the process ends, so a
//! killed run frees its scopes); the lease file names the holder for a run that finds it busy. A run reads the
//! state file once when it takes its leases and writes it once when it releases them, replacing only the scopes it
//! held, under a short exclusive lock on `<file>.lock`: marks of other runs' scopes are never written back stale.
//! Writes go to a temporary file created exclusively (never through a link) with mode 0600, are flushed to disk
//! and renamed over the state file, which keeps its mode; a state file that is a link updates its target.
//! A scope not swept for longer than the marks' expiry loses its marks, as DynamoDB's TTL drops them.

use super::{first_seen_at, in_the_future, FirstSeenStore, Lease, Leases, Sighting, StateError, LATEST_MARK};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// The marks as JSON: scope -> resource id -> first seen (Unix seconds), and when each scope was last swept.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Marks {
    #[serde(rename = "firstSeenFailed")]
    first_seen_failed: BTreeMap<String, BTreeMap<String, u64>>,
    /// Unix seconds of each scope's last sweep; a scope without one (a file from before) counts from now.
    #[serde(rename = "refreshedAt", default)]
    refreshed_at: BTreeMap<String, u64>,
}

/// What identifies the version of the file a run read: if it still matches at write time, nobody wrote since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Version {
    device: u64,
    inode: u64,
    length: u64,
    modified: i64,
    modified_nanos: i64,
}

/// A scope this process holds: its locked lease file and its marks, changed in memory until released.
struct Held {
    _lease: File,
    holder: String,
    /// Why the file could not be read when the lease was taken: the scope's marks are unknown.
    unreadable: Option<String>,
    marks: BTreeMap<String, u64>,
    refreshed: Option<u64>,
}

/// What the process keeps between a run's leases and its release.
#[derive(Default)]
struct Cache {
    held: HashMap<String, Held>,
    /// The file as last read or written by this process, with its version.
    loaded: Option<(Option<Version>, Marks)>,
}

/// A JSON file shared by any number of processes, each run leasing the scopes it sweeps.
pub struct FileStore {
    path: PathBuf,
    ttl: Duration,
    cache: Arc<Mutex<Cache>>,
}

impl FileStore {
    /// A store in the file at `path`; a scope's marks go `ttl` after its last sweep.
    pub fn new(path: impl Into<PathBuf>, ttl: Duration) -> FileStore {
        FileStore { path: path.into(), ttl, cache: Arc::default() }
    }

    /// The per-user default: `$XDG_STATE_HOME/replication-janitor/first-seen.json`, else under `~/.local/state`.
    pub fn default_path(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
        let base = env("XDG_STATE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| env("HOME").filter(|v| !v.is_empty()).map(|home| Path::new(&home).join(".local/state")))?;
        Some(base.join("replication-janitor").join("first-seen.json"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `work` on the blocking pool with the store's files and cache.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Files, &mut Cache) -> Result<T, StateError> + Send + 'static,
    ) -> Result<T, StateError> {
        let (path, ttl, cache) = (self.path.clone(), self.ttl, Arc::clone(&self.cache));
        let joined = tokio::task::spawn_blocking(move || {
            let files = Files::resolve(&path, ttl)?;
            let mut cache = lock(&cache);
            work(&files, &mut cache)
        })
        .await;
        joined.unwrap_or_else(|e| Err(io(&self.path, std::io::Error::other(e))))
    }
}

fn lock(cache: &Mutex<Cache>) -> MutexGuard<'_, Cache> {
    cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn io(path: &Path, source: std::io::Error) -> StateError {
    StateError::Io { path: path.to_owned(), source }
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs()
}

/// The state file (a link resolved to its target) and the lock files beside it.
struct Files {
    state: PathBuf,
    ttl: Duration,
}

impl Files {
    fn resolve(path: &Path, ttl: Duration) -> Result<Files, StateError> {
        let state = match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                std::fs::canonicalize(path).map_err(|e| StateError::Refused {
                    path: path.to_owned(),
                    why: format!("is a link to a missing or unreachable file ({e})"),
                })?
            }
            _ => path.to_owned(),
        };
        Ok(Files { state, ttl })
    }

    fn dir(&self) -> &Path {
        self.state.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
    }

    fn with_suffix(&self, suffix: &str) -> PathBuf {
        let mut name = self.state.file_name().unwrap_or_default().to_os_string();
        name.push(suffix);
        self.dir().join(name)
    }

    fn io(&self, source: std::io::Error) -> StateError {
        io(&self.state, source)
    }

    /// Opens (creating, mode 0600) a lock file, never through a link: a link planted at a predictable path would
    /// otherwise let the holder's name overwrite its target.
    fn open_lock(&self, path: &Path) -> Result<File, StateError> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => StateError::Refused {
                    path: path.to_owned(),
                    why: "is a link; a lock file is never followed through a link".to_owned(),
                },
                _ => io(path, e),
            })
    }

    /// The lease file of `scope`: named by a hash, since a scope holds `/` and any character a region may.
    fn lease_path(&self, scope: &str) -> PathBuf {
        // FNV-1a: stable across builds and platforms, unlike the standard library's hasher.
        let hash =
            scope.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        self.with_suffix(".leases").join(format!("{hash:016x}.lock"))
    }

    fn create_dirs(&self) -> Result<(), StateError> {
        let leases = self.with_suffix(".leases");
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&leases).map_err(|e| io(&leases, e))?;
        match std::fs::symlink_metadata(&leases) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(StateError::Refused { path: leases, why: "is not a directory".to_owned() }),
            Err(e) => Err(io(&leases, e)),
        }
    }

    /// Runs `work` holding the exclusive lock on `<file>.lock`: one reader-writer of the state file at a time.
    fn exclusive<T>(&self, work: impl FnOnce() -> Result<T, StateError>) -> Result<T, StateError> {
        let path = self.with_suffix(".lock");
        let file = self.open_lock(&path)?;
        file.lock().map_err(|e| io(&path, e))?;
        let result = work();
        drop(file);
        result
    }

    fn version(&self) -> Result<Option<Version>, StateError> {
        match std::fs::metadata(&self.state) {
            Ok(meta) => Ok(Some(Version {
                device: meta.dev(),
                inode: meta.ino(),
                length: meta.len(),
                modified: meta.mtime(),
                modified_nanos: meta.mtime_nsec(),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(e)),
        }
    }

    /// The file and its version, or no marks if it does not exist yet.
    fn read(&self, now: u64) -> Result<(Option<Version>, Marks), StateError> {
        let version = self.version()?;
        let mut marks = match File::open(&self.state) {
            Ok(mut file) => {
                let mut bytes = Vec::new();
                file.read_to_end(&mut bytes).map_err(|e| self.io(e))?;
                serde_json::from_slice(&bytes)
                    .map_err(|source| StateError::Corrupt { path: self.state.clone(), source })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Marks::default(),
            Err(e) => return Err(self.io(e)),
        };
        let Marks { first_seen_failed, refreshed_at } = &mut marks;
        for scope in first_seen_failed.keys() {
            refreshed_at.entry(scope.clone()).or_insert(now);
        }
        Ok((version, marks))
    }

    /// Writes `marks` to a fresh temporary file beside the state file, flushes it and renames it over the state
    /// file, keeping the state file's mode (0600 for a new one).
    fn write(&self, marks: &Marks) -> Result<Option<Version>, StateError> {
        let mut body = serde_json::to_vec(marks).map_err(|e| self.io(std::io::Error::other(e)))?;
        body.push(b'\n');
        let mode = std::fs::metadata(&self.state).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o600);
        let temporary = self.with_suffix(&format!(".{}.{:016x}.tmp", std::process::id(), fastrand::u64(..)));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temporary)
            .map_err(|e| io(&temporary, e))?;
        let written = file
            .write_all(&body)
            .and_then(|()| file.set_permissions(std::fs::Permissions::from_mode(mode)))
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::rename(&temporary, &self.state))
            .and_then(|()| File::open(self.dir())?.sync_all());
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temporary);
            return Err(self.io(e));
        }
        self.version()
    }
}

/// The length every lease record is padded to, and the most of a holder's name it keeps (its JSON stays shorter).
const LEASE_RECORD_BYTES: usize = 1_024;
const LEASE_HOLDER_CHARS: usize = 200;

/// The content of a lease file: who holds the scope.
#[derive(Serialize, Deserialize)]
struct LeaseRecord {
    holder: String,
    /// Unix seconds of the holder's deadline.
    until: Option<u64>,
}

/// Who holds the lease file at `path`, as it says; a record being written reads as an unknown holder.
fn holder_of(path: &Path) -> Lease {
    // A holder that has just taken the lock may not have written its record yet: look again, briefly.
    let read = || std::fs::read(path).ok().and_then(|bytes| serde_json::from_slice::<LeaseRecord>(&bytes).ok());
    let record = read().or_else(|| {
        std::thread::sleep(Duration::from_millis(50));
        read()
    });
    match record {
        Some(LeaseRecord { holder, until }) => Lease {
            holder,
            until: until.and_then(|secs| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))),
        },
        None => Lease { holder: "another run (its lease file was being written)".to_owned(), until: None },
    }
}

/// Takes the leases of `scopes` this process can, then reads the file once for the marks of those it took.
fn take_leases(
    files: &Files,
    cache: &mut Cache,
    scopes: &[String],
    lease: &Lease,
    now: u64,
) -> Result<Leases, StateError> {
    files.create_dirs()?;
    let mut leases = Leases::default();
    let mut taken: Vec<(String, File)> = Vec::new();
    for scope in scopes {
        if let Some(held) = cache.held.get(scope) {
            if held.holder == lease.holder {
                leases.held.push(scope.clone());
            } else {
                leases.busy.push((scope.clone(), Lease { holder: held.holder.clone(), until: None }));
            }
            continue;
        }
        let path = files.lease_path(scope);
        let file = files.open_lock(&path)?;
        match file.try_lock() {
            Ok(()) => {
                let holder: String = lease.holder.chars().take(LEASE_HOLDER_CHARS).collect();
                let record = LeaseRecord { holder, until: lease.until.map(unix_seconds) };
                let mut body = serde_json::to_vec(&record).map_err(|e| io(&path, std::io::Error::other(e)))?;
                // One write of a fixed length over the last holder's record: a reader never sees a half-written one
                // beside a stale tail (JSON ignores the padding).
                body.resize(body.len().max(LEASE_RECORD_BYTES), b' ');
                file.write_all_at(&body, 0).map_err(|e| io(&path, e))?;
                taken.push((scope.clone(), file));
            }
            Err(std::fs::TryLockError::WouldBlock) => leases.busy.push((scope.clone(), holder_of(&path))),
            Err(std::fs::TryLockError::Error(e)) => return Err(io(&path, e)),
        }
    }
    if taken.is_empty() {
        return Ok(leases);
    }
    // Read after the leases are ours: a previous holder wrote its marks before it let go. A file that cannot be read
    // leaves the leases held (nobody else judges there) but the marks unknown.
    let (read, unreadable) = match files.exclusive(|| files.read(now)) {
        Ok((version, marks)) => (Some((version, marks)), None),
        Err(error) => (None, Some(error.to_string())),
    };
    let empty = Marks::default();
    let marks = read.as_ref().map_or(&empty, |(_, marks)| marks);
    for (scope, file) in taken {
        let held = Held {
            _lease: file,
            holder: lease.holder.clone(),
            unreadable: unreadable.clone(),
            marks: marks.first_seen_failed.get(&scope).cloned().unwrap_or_default(),
            refreshed: marks.refreshed_at.get(&scope).copied(),
        };
        cache.held.insert(scope.clone(), held);
        leases.held.push(scope);
    }
    cache.loaded = read;
    Ok(leases)
}

/// Writes the held `scopes` into the file once, over the latest version of everyone else's, and frees them.
fn release_leases(
    files: &Files,
    cache: &mut Cache,
    scopes: &[String],
    lease: &Lease,
    now: u64,
) -> Result<(), StateError> {
    let ours: Vec<&String> =
        scopes.iter().filter(|scope| cache.held.get(*scope).is_some_and(|held| held.holder == lease.holder)).collect();
    let mine: Vec<(String, Held)> =
        ours.into_iter().filter_map(|scope| cache.held.remove(scope).map(|held| (scope.clone(), held))).collect();
    // Marks that could not be read were never changed: nothing of this run is written over a file it could not read.
    if mine.iter().all(|(_, held)| held.unreadable.is_some()) {
        return Ok(());
    }
    let expiry = files.ttl.as_secs();
    let written = files.exclusive(|| {
        let current = files.version()?;
        let (_, mut marks) = match cache.loaded.take() {
            Some((version, marks)) if version == current => (version, marks),
            _ => files.read(now)?,
        };
        let before = (marks.first_seen_failed.len(), marks.refreshed_at.clone());
        let mut changed = false;
        for (scope, held) in mine.iter().filter(|(_, held)| held.unreadable.is_none()) {
            let old = marks.first_seen_failed.get(scope);
            changed |= old.map_or(!held.marks.is_empty(), |old| *old != held.marks);
            if held.marks.is_empty() {
                marks.first_seen_failed.remove(scope);
            } else {
                marks.first_seen_failed.insert(scope.clone(), held.marks.clone());
            }
            // A sweep refreshes its scope's clock only once it has aged: a steady state then costs no write.
            let previous = marks.refreshed_at.get(scope).copied();
            match (held.refreshed, previous) {
                (Some(at), Some(before)) if at.saturating_sub(before) < expiry / 8 => None,
                (Some(at), _) => marks.refreshed_at.insert(scope.clone(), at),
                (None, _) => marks.refreshed_at.remove(scope),
            };
        }
        let Marks { first_seen_failed, refreshed_at } = &mut marks;
        refreshed_at.retain(|scope, at| at.saturating_add(expiry) > now && first_seen_failed.contains_key(scope));
        first_seen_failed.retain(|scope, _| refreshed_at.contains_key(scope));
        changed |= before != (marks.first_seen_failed.len(), marks.refreshed_at.clone());
        let version = if changed { files.write(&marks)? } else { current };
        cache.loaded = Some((version, marks));
        Ok(())
    });
    drop(mine);
    written
}

/// Why a scope's marks cannot be reconciled.
enum Refusal {
    Unreadable(String),
    /// A mark beyond any date, in Unix seconds.
    Implausible(u64),
}

/// The new marks of a scope after a sighting; the first sightings of its failed keys, as Unix seconds. A mark no
/// clock could have written (beyond any date) is corruption, not a clock ahead: the store is refused.
fn reconciled(held: &mut Held, sighting: &Sighting<'_>, now: u64) -> Result<Vec<(String, u64)>, Refusal> {
    let Sighting { scanned, failed, complete, .. } = *sighting;
    if let Some(why) = &held.unreadable {
        return Err(Refusal::Unreadable(why.clone()));
    }
    if let Some(corrupt) = failed.iter().filter_map(|key| held.marks.get(key)).find(|secs| **secs > LATEST_MARK) {
        return Err(Refusal::Implausible(*corrupt));
    }
    let previous = std::mem::take(&mut held.marks);
    let mut current: BTreeMap<String, u64> = if complete {
        BTreeMap::new()
    } else {
        previous.iter().filter(|(key, _)| !scanned.contains(key)).map(|(k, v)| (k.clone(), *v)).collect()
    };
    for key in failed {
        // A mark in the future was written by a clock ahead of ours: counted from now, and rewritten.
        let first = previous.get(key).copied().filter(|first| !in_the_future(*first, now)).unwrap_or(now);
        current.insert(key.clone(), first);
    }
    held.marks = current;
    held.refreshed = Some(now);
    Ok(failed.iter().filter_map(|key| held.marks.get(key).map(|secs| (key.clone(), *secs))).collect())
}

impl FileStore {
    /// Runs `change` on the held marks of `scope`; a scope not leased is leased for the change alone.
    async fn change<T: Send + 'static>(
        &self,
        scope: String,
        now: u64,
        change: impl FnOnce(&mut Held) -> T + Send + 'static,
    ) -> Result<T, StateError> {
        self.blocking(move |files, cache| {
            if let Some(held) = cache.held.get_mut(&scope) {
                return Ok(change(held));
            }
            let until = SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(now.saturating_add(60)));
            let lease = Lease { until, ..Lease::for_this_run(SystemTime::now()) };
            let scopes = [scope.clone()];
            let leases = take_leases(files, cache, &scopes, &lease, now)?;
            if let Some((_, other)) = leases.busy.into_iter().next() {
                return Err(StateError::Busy { scope, holder: other.holder });
            }
            let result = cache.held.get_mut(&scope).map(change);
            release_leases(files, cache, &scopes, &lease, now)?;
            result.ok_or_else(|| StateError::Busy { scope, holder: "nobody (the lease was lost)".to_owned() })
        })
        .await
    }
}

#[async_trait]
impl FirstSeenStore for FileStore {
    async fn lease(&self, scopes: &[String], lease: &Lease) -> Result<Leases, StateError> {
        let (scopes, lease, now) = (scopes.to_vec(), lease.clone(), unix_seconds(SystemTime::now()));
        self.blocking(move |files, cache| take_leases(files, cache, &scopes, &lease, now)).await
    }

    async fn release(&self, scopes: &[String], lease: &Lease) -> Result<(), StateError> {
        let (scopes, lease, now) = (scopes.to_vec(), lease.clone(), unix_seconds(SystemTime::now()));
        self.blocking(move |files, cache| release_leases(files, cache, &scopes, &lease, now)).await
    }

    async fn reconcile(&self, sighting: Sighting<'_>) -> Result<HashMap<String, SystemTime>, StateError> {
        let (at, complete) = (sighting.now, sighting.complete);
        let now = unix_seconds(at);
        let (scanned, failed) = (sighting.scanned.to_vec(), sighting.failed.to_vec());
        let seen = self
            .change(sighting.scope.to_owned(), now, move |held| {
                let sighting = Sighting { scope: "", scanned: &scanned, failed: &failed, complete, now: at };
                reconciled(held, &sighting, now)
            })
            .await?;
        let store = || format!("first-seen state file {}", self.path.display());
        let seen = match seen {
            Ok(seen) => seen,
            Err(Refusal::Unreadable(why)) => return Err(StateError::Unreadable(why)),
            Err(Refusal::Implausible(secs)) => {
                first_seen_at(store, "a failed resource", secs)?;
                Vec::new()
            }
        };
        seen.into_iter().map(|(key, secs)| first_seen_at(store, &key, secs).map(|at| (key, at))).collect()
    }

    async fn forget(&self, gone: &[(String, String)]) -> Result<(), StateError> {
        let now = unix_seconds(SystemTime::now());
        let mut by_scope: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (scope, key) in gone {
            by_scope.entry(scope.clone()).or_default().push(key.clone());
        }
        for (scope, keys) in by_scope {
            self.change(scope, now, move |held| match &held.unreadable {
                Some(why) => Err(StateError::Unreadable(why.clone())),
                None => {
                    for key in &keys {
                        held.marks.remove(key);
                    }
                    Ok(())
                }
            })
            .await??;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(30 * 86_400);

    /// A time near today's: the marks' expiry is reckoned from the real clock.
    const BASE: u64 = 1_800_000_000;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(BASE + secs)
    }

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn store(path: &Path) -> FileStore {
        FileStore::new(path, TTL)
    }

    /// A complete scan of `scope` at `secs` that saw `failed` failed and nothing else.
    async fn complete(store: &FileStore, scope: &str, failed: &[&str], secs: u64) -> HashMap<String, SystemTime> {
        let failed = keys(failed);
        let sighting = Sighting { scope, scanned: &failed, failed: &failed, complete: true, now: at(secs) };
        store.reconcile(sighting).await.expect("reconcile")
    }

    fn lease(name: &str) -> Lease {
        Lease { holder: name.to_owned(), until: Some(at(4_000_000_000)) }
    }

    fn on_disk(path: &Path) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).expect("read")).expect("the state file is valid JSON")
    }

    #[tokio::test]
    async fn first_sightings_stick_and_recoveries_clear() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(&dir.path().join("nested/state.json"));
        let first = complete(&store, "us-east-1", &["a", "b"], 100).await;
        assert_eq!(first, HashMap::from([("a".into(), at(100)), ("b".into(), at(100))]));
        complete(&store, "eu-west-1", &["a"], 150).await;
        let second = complete(&store, "us-east-1", &["a", "c"], 200).await;
        assert_eq!(second, HashMap::from([("a".into(), at(100)), ("c".into(), at(200))]));
        let third = complete(&store, "us-east-1", &["b"], 300).await;
        assert_eq!(third, HashMap::from([("b".into(), at(300))]), "b recovered in between, so its clock restarts");
        let other = complete(&store, "eu-west-1", &["a"], 400).await;
        assert_eq!(other, HashMap::from([("a".into(), at(150))]), "scopes are independent");
    }

    #[tokio::test]
    async fn a_mark_in_the_future_counts_from_now_and_is_rewritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        std::fs::write(&path, format!(r#"{{"firstSeenFailed":{{"r":{{"a":{}}}}}}}"#, BASE + 5000)).expect("write");
        let store = store(&path);
        assert_eq!(complete(&store, "r", &["a"], 1000).await, HashMap::from([("a".into(), at(1000))]));
        assert_eq!(on_disk(&path)["firstSeenFailed"]["r"]["a"], BASE + 1000);
        assert_eq!(complete(&store, "r", &["a"], 2000).await, HashMap::from([("a".into(), at(1000))]));
    }

    #[tokio::test]
    async fn a_mark_beyond_any_date_is_a_clear_store_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        std::fs::write(&path, r#"{"firstSeenFailed":{"r":{"a":18446744073709551615}}}"#).expect("write");
        let (scanned, failed) = (keys(&["a"]), keys(&["a"]));
        let sighting = Sighting { scope: "r", scanned: &scanned, failed: &failed, complete: true, now: at(100) };
        let error = store(&path).reconcile(sighting).await.expect_err("corrupt").to_string();
        assert!(error.contains("beyond any date (corrupt state)"), "{error}");
    }

    #[tokio::test]
    async fn a_forgotten_resource_starts_afresh() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(&dir.path().join("state.json"));
        complete(&store, "r", &["a", "b"], 100).await;
        let gone = |scope: &str, key: &str| vec![(scope.to_owned(), key.to_owned())];
        store.forget(&gone("r", "a")).await.expect("forget");
        store.forget(&gone("r", "unknown")).await.expect("forgetting nothing is fine");
        store.forget(&gone("elsewhere", "a")).await.expect("forgetting in an unknown scope is fine");
        let (scanned, failed) = (keys(&["a", "b"]), keys(&["a", "b"]));
        let sighting = Sighting { scope: "r", scanned: &scanned, failed: &failed, complete: false, now: at(200) };
        let seen = store.reconcile(sighting).await.expect("reconcile");
        assert_eq!(seen, HashMap::from([("a".into(), at(200)), ("b".into(), at(100))]));
    }

    #[tokio::test]
    async fn a_partial_scan_keeps_the_marks_it_did_not_see() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(&dir.path().join("state.json"));
        complete(&store, "r", &["ep1|ri", "ep2|ri"], 100).await;
        let (scanned, failed) = (keys(&["ep1|ri"]), keys(&[]));
        let sighting = Sighting { scope: "r", scanned: &scanned, failed: &failed, complete: false, now: at(200) };
        assert!(store.reconcile(sighting).await.expect("partial").is_empty());
        let after = complete(&store, "r", &["ep1|ri", "ep2|ri"], 300).await;
        assert_eq!(after, HashMap::from([("ep1|ri".into(), at(300)), ("ep2|ri".into(), at(100))]));
    }

    #[tokio::test]
    async fn a_corrupt_file_or_a_directory_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{not json").expect("write");
        let failed = keys(&["a"]);
        let sighting = Sighting { scope: "r", scanned: &failed, failed: &failed, complete: true, now: at(1) };
        let err = store(&path).reconcile(sighting).await.expect_err("corrupt");
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
        assert_eq!(std::fs::read_to_string(&path).expect("kept"), "{not json", "a corrupt file is left for a person");
        let directory = dir.path().join("a-directory");
        std::fs::create_dir(&directory).expect("mkdir");
        let err = store(&directory).reconcile(sighting).await.expect_err("a directory");
        assert!(err.to_string().contains("Is a directory"), "{err}");
    }

    #[tokio::test]
    async fn a_leased_scope_is_busy_for_another_run_and_names_its_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        let (first, second) = (store(&path), store(&path));
        let scopes = keys(&["dms/us-east-1", "rds/us-east-1"]);
        let taken = first.lease(&scopes, &lease("run one")).await.expect("lease");
        assert_eq!((taken.held.len(), taken.busy.len()), (2, 0));
        let refused = second.lease(&keys(&["rds/us-east-1", "rds/eu-west-1"]), &lease("run two")).await.expect("lease");
        assert_eq!(refused.held, ["rds/eu-west-1"]);
        assert_eq!(refused.busy, [("rds/us-east-1".to_owned(), lease("run one"))]);
        let failed = keys(&["a"]);
        let sighting =
            Sighting { scope: "dms/us-east-1", scanned: &failed, failed: &failed, complete: true, now: at(9) };
        let err = second.reconcile(sighting).await.expect_err("busy");
        assert!(matches!(err, StateError::Busy { .. }), "{err}");
        first.release(&scopes, &lease("run one")).await.expect("release");
        let after = second.lease(&keys(&["rds/us-east-1"]), &lease("run two")).await.expect("lease");
        assert_eq!(after.held, ["rds/us-east-1"], "a released scope is free");
    }

    #[tokio::test]
    async fn overlapping_runs_keep_each_others_marks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        let (one, two) = (store(&path), store(&path));
        let (a, b) = (keys(&["a"]), keys(&["b"]));
        one.lease(&keys(&["east"]), &lease("one")).await.expect("lease");
        two.lease(&keys(&["west"]), &lease("two")).await.expect("lease");
        let east = Sighting { scope: "east", scanned: &a, failed: &a, complete: true, now: at(100) };
        let west = Sighting { scope: "west", scanned: &b, failed: &b, complete: true, now: at(100) };
        one.reconcile(east).await.expect("east");
        two.reconcile(west).await.expect("west");
        one.release(&keys(&["east"]), &lease("one")).await.expect("release");
        two.release(&keys(&["west"]), &lease("two")).await.expect("release");
        let file = on_disk(&path);
        assert_eq!(file["firstSeenFailed"]["east"]["a"], BASE + 100);
        assert_eq!(file["firstSeenFailed"]["west"]["b"], BASE + 100, "the second writer merged, not overwrote");
    }

    #[tokio::test]
    async fn a_run_reads_once_and_writes_once_and_not_at_all_when_nothing_changed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        let store = store(&path);
        let scopes = keys(&["r1", "r2"]);
        store.lease(&scopes, &lease("one")).await.expect("lease");
        let a = keys(&["a"]);
        for scope in ["r1", "r2"] {
            store
                .reconcile(Sighting { scope, scanned: &a, failed: &a, complete: true, now: at(100) })
                .await
                .expect("r");
        }
        assert!(!path.exists(), "nothing is written before the release");
        store.release(&scopes, &lease("one")).await.expect("release");
        let written = std::fs::metadata(&path).expect("written").modified().expect("mtime");
        store.lease(&scopes, &lease("two")).await.expect("lease");
        store
            .reconcile(Sighting { scope: "r1", scanned: &a, failed: &a, complete: true, now: at(200) })
            .await
            .expect("r");
        store.release(&scopes, &lease("two")).await.expect("release");
        assert_eq!(std::fs::metadata(&path).expect("kept").modified().expect("mtime"), written, "no change, no write");
    }

    #[tokio::test]
    async fn the_marks_of_a_scope_not_swept_for_longer_than_their_expiry_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        let now = unix_seconds(SystemTime::now());
        let old = now - TTL.as_secs() - 10;
        std::fs::write(
            &path,
            format!(r#"{{"firstSeenFailed":{{"gone":{{"a":{old}}},"kept":{{"b":{old}}}}},"refreshedAt":{{"gone":{old},"kept":{now}}}}}"#),
        )
        .expect("write");
        let c = keys(&["c"]);
        let sighting = Sighting { scope: "new", scanned: &c, failed: &c, complete: true, now: SystemTime::now() };
        store(&path).reconcile(sighting).await.expect("reconcile");
        let file = on_disk(&path);
        assert!(file["firstSeenFailed"].get("gone").is_none(), "{file}");
        assert_eq!(file["firstSeenFailed"]["kept"]["b"], old);
        assert_eq!(file["firstSeenFailed"]["new"]["c"], now);
    }

    #[tokio::test]
    async fn the_state_file_keeps_its_mode_and_a_link_updates_its_target() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("real.json");
        std::fs::write(&target, "{\"firstSeenFailed\":{}}").expect("write");
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let link = dir.path().join("state.json");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        complete(&store(&link), "r", &["a"], 100).await;
        assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink(), "the link stays a link");
        assert_eq!(on_disk(&target)["firstSeenFailed"]["r"]["a"], BASE + 100);
        assert_eq!(std::fs::metadata(&target).expect("meta").permissions().mode() & 0o777, 0o640);

        let dangling = dir.path().join("dangling.json");
        std::os::unix::fs::symlink(dir.path().join("missing/nowhere.json"), &dangling).expect("symlink");
        let failed = keys(&["a"]);
        let sighting = Sighting { scope: "r", scanned: &failed, failed: &failed, complete: true, now: at(1) };
        let err = store(&dangling).reconcile(sighting).await.expect_err("refused").to_string();
        assert!(err.contains("is a link to a missing or unreachable file"), "{err}");
    }

    #[tokio::test]
    async fn a_new_state_file_is_private_and_a_planted_link_is_never_written_through() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").expect("write");
        // The old predictable temporary path, and the lock file, planted as links to the victim.
        std::os::unix::fs::symlink(&victim, dir.path().join("state.json.tmp")).expect("symlink");
        std::os::unix::fs::symlink(&victim, dir.path().join("state.json.lock")).expect("symlink");
        let failed = keys(&["a"]);
        let sighting = Sighting { scope: "r", scanned: &failed, failed: &failed, complete: true, now: at(1) };
        let err = store(&path).reconcile(sighting).await.expect_err("a planted lock link is refused").to_string();
        assert!(err.contains("is a link"), "{err}");
        std::fs::remove_file(dir.path().join("state.json.lock")).expect("unplant");
        complete(&store(&path), "r", &["a"], 1).await;
        assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "precious");
        assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp") && !e.path().is_symlink())
            .collect();
        assert!(leftovers.is_empty(), "no temporary file is left behind");
    }

    #[test]
    fn the_default_path_is_per_user() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        assert_eq!(
            FileStore::default_path(env(&[("XDG_STATE_HOME", "/s"), ("HOME", "/h")])),
            Some(PathBuf::from("/s/replication-janitor/first-seen.json"))
        );
        assert_eq!(
            FileStore::default_path(env(&[("HOME", "/h")])),
            Some(PathBuf::from("/h/.local/state/replication-janitor/first-seen.json"))
        );
        assert_eq!(FileStore::default_path(env(&[])), None);
    }
}
