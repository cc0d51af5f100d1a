//! First-seen marks for DMS connections: they carry no timestamp, so the only honest way to know a connection
//! has been failed for the grace period is to remember when the janitor first saw it failed.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Why the store could not answer; those connections wait rather than be deleted on a guess.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("first-seen state file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("first-seen state file {path} is not valid state JSON: {source}")]
    Corrupt { path: PathBuf, source: serde_json::Error },
}

/// The port for first-seen marks; a file store for the CLI, other stores for Lambda.
#[async_trait]
pub trait FirstSeenStore: Send + Sync {
    /// For one region's complete scan: marks each key in `failed` not yet marked as first seen at `now`, removes
    /// the marks of keys no longer failed (healthy again or gone), and returns when each failed key was first seen.
    async fn reconcile(
        &self,
        region: &str,
        failed: &[String],
        now: SystemTime,
    ) -> Result<HashMap<String, SystemTime>, StateError>;
}

/// Marks as JSON: region -> connection key -> first seen (Unix seconds).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Marks {
    #[serde(rename = "firstSeenFailed")]
    first_seen_failed: BTreeMap<String, BTreeMap<String, u64>>,
}

/// A JSON file, rewritten atomically; one writer at a time within the process.
pub struct FileStore {
    path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl FileStore {
    pub fn new(path: impl Into<PathBuf>) -> FileStore {
        FileStore { path: path.into(), lock: tokio::sync::Mutex::new(()) }
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

    async fn load(&self) -> Result<Marks, StateError> {
        match tokio::fs::read(&self.path).await {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|source| StateError::Corrupt { path: self.path.clone(), source })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Marks::default()),
            Err(source) => Err(StateError::Io { path: self.path.clone(), source }),
        }
    }

    async fn save(&self, marks: &Marks) -> Result<(), StateError> {
        let io = |source| StateError::Io { path: self.path.clone(), source };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        let mut body = serde_json::to_vec_pretty(marks).map_err(|e| io(std::io::Error::other(e)))?;
        body.push(b'\n');
        let temporary = self.path.with_extension("json.tmp");
        tokio::fs::write(&temporary, body).await.map_err(io)?;
        tokio::fs::rename(&temporary, &self.path).await.map_err(io)
    }
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs()
}

#[async_trait]
impl FirstSeenStore for FileStore {
    async fn reconcile(
        &self,
        region: &str,
        failed: &[String],
        now: SystemTime,
    ) -> Result<HashMap<String, SystemTime>, StateError> {
        let _writer = self.lock.lock().await;
        let mut marks = self.load().await?;
        let previous = marks.first_seen_failed.remove(region).unwrap_or_default();
        let current: BTreeMap<String, u64> = failed
            .iter()
            .map(|key| (key.clone(), previous.get(key).copied().unwrap_or_else(|| unix_seconds(now))))
            .collect();
        let changed = current != previous;
        let seen = current
            .iter()
            .map(|(key, secs)| (key.clone(), SystemTime::UNIX_EPOCH + Duration::from_secs(*secs)))
            .collect();
        if !current.is_empty() {
            marks.first_seen_failed.insert(region.to_owned(), current);
        }
        if changed {
            self.save(&marks).await?;
        }
        Ok(seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[tokio::test]
    async fn first_sightings_stick_and_recoveries_clear() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(dir.path().join("nested/state.json"));
        let first = store.reconcile("us-east-1", &["a".into(), "b".into()], at(100)).await.expect("first");
        assert_eq!(first, HashMap::from([("a".into(), at(100)), ("b".into(), at(100))]));
        store.reconcile("eu-west-1", &["a".into()], at(150)).await.expect("other region");
        let second = store.reconcile("us-east-1", &["a".into(), "c".into()], at(200)).await.expect("second");
        assert_eq!(second, HashMap::from([("a".into(), at(100)), ("c".into(), at(200))]));
        let third = store.reconcile("us-east-1", &["b".into()], at(300)).await.expect("third");
        assert_eq!(third, HashMap::from([("b".into(), at(300))]), "b recovered in between, so its clock restarts");
        let other = store.reconcile("eu-west-1", &["a".into()], at(400)).await.expect("other region again");
        assert_eq!(other, HashMap::from([("a".into(), at(150))]), "regions are independent");
    }

    #[tokio::test]
    async fn a_corrupt_file_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{not json").expect("write");
        let err = FileStore::new(&path).reconcile("r", &["a".into()], at(1)).await.expect_err("corrupt");
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
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
