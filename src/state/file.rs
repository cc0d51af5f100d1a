//! The CLI's store: a JSON file, rewritten atomically, that can list its marks and so also forgets connections
//! that are gone.

use super::{first_seen_at, FirstSeenStore, Sighting, StateError};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

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
    async fn reconcile(&self, sighting: Sighting<'_>) -> Result<HashMap<String, SystemTime>, StateError> {
        let Sighting { region, scanned, failed, complete, now } = sighting;
        let _writer = self.lock.lock().await;
        let mut marks = self.load().await?;
        let previous = marks.first_seen_failed.remove(region).unwrap_or_default();
        let mut current: BTreeMap<String, u64> = if complete {
            BTreeMap::new()
        } else {
            previous.iter().filter(|(key, _)| !scanned.contains(key)).map(|(k, v)| (k.clone(), *v)).collect()
        };
        for key in failed {
            current.insert(key.clone(), previous.get(key).copied().unwrap_or_else(|| unix_seconds(now)));
        }
        let changed = current != previous;
        let store = || format!("first-seen state file {}", self.path.display());
        let seen = failed
            .iter()
            .filter_map(|key| current.get(key).map(|secs| (key, *secs)))
            .map(|(key, secs)| first_seen_at(store, key, secs).map(|at| (key.clone(), at)))
            .collect::<Result<_, _>>()?;
        if !current.is_empty() {
            marks.first_seen_failed.insert(region.to_owned(), current);
        }
        if changed {
            self.save(&marks).await?;
        }
        Ok(seen)
    }

    async fn forget(&self, gone: &[(String, String)]) -> Result<(), StateError> {
        let _writer = self.lock.lock().await;
        let mut marks = self.load().await?;
        let mut changed = false;
        for (region, key) in gone {
            if let Some(region_marks) = marks.first_seen_failed.get_mut(region) {
                changed |= region_marks.remove(key).is_some();
                if region_marks.is_empty() {
                    marks.first_seen_failed.remove(region);
                }
            }
        }
        if changed {
            self.save(&marks).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn keys(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    /// A complete scan of `region` at `secs` that saw `failed` failed and nothing else.
    async fn complete(store: &FileStore, region: &str, failed: &[&str], secs: u64) -> HashMap<String, SystemTime> {
        let failed = keys(failed);
        let sighting = Sighting { region, scanned: &failed, failed: &failed, complete: true, now: at(secs) };
        store.reconcile(sighting).await.expect("reconcile")
    }

    #[tokio::test]
    async fn first_sightings_stick_and_recoveries_clear() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(dir.path().join("nested/state.json"));
        let first = complete(&store, "us-east-1", &["a", "b"], 100).await;
        assert_eq!(first, HashMap::from([("a".into(), at(100)), ("b".into(), at(100))]));
        complete(&store, "eu-west-1", &["a"], 150).await;
        let second = complete(&store, "us-east-1", &["a", "c"], 200).await;
        assert_eq!(second, HashMap::from([("a".into(), at(100)), ("c".into(), at(200))]));
        let third = complete(&store, "us-east-1", &["b"], 300).await;
        assert_eq!(third, HashMap::from([("b".into(), at(300))]), "b recovered in between, so its clock restarts");
        let other = complete(&store, "eu-west-1", &["a"], 400).await;
        assert_eq!(other, HashMap::from([("a".into(), at(150))]), "regions are independent");
    }

    #[tokio::test]
    async fn a_mark_beyond_any_date_is_a_clear_store_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        std::fs::write(&path, r#"{"firstSeenFailed":{"r":{"a":18446744073709551615}}}"#).expect("write");
        let store = FileStore::new(&path);
        let (scanned, failed) = (keys(&["a"]), keys(&["a"]));
        let sighting = Sighting { region: "r", scanned: &scanned, failed: &failed, complete: true, now: at(100) };
        let error = store.reconcile(sighting).await.expect_err("corrupt").to_string();
        assert_eq!(
            error,
            format!(
                "first-seen state file {}: the first-seen mark of a is 18446744073709551615, beyond any date (corrupt state)",
                path.display()
            )
        );
    }

    #[tokio::test]
    async fn a_forgotten_connection_starts_afresh() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(dir.path().join("state.json"));
        complete(&store, "r", &["a", "b"], 100).await;
        let gone = |region: &str, key: &str| vec![(region.to_owned(), key.to_owned())];
        store.forget(&gone("r", "a")).await.expect("forget");
        store.forget(&gone("r", "unknown")).await.expect("forgetting nothing is fine");
        store.forget(&gone("elsewhere", "a")).await.expect("forgetting in an unknown region is fine");
        let (scanned, failed) = (keys(&["a", "b"]), keys(&["a", "b"]));
        let sighting = Sighting { region: "r", scanned: &scanned, failed: &failed, complete: false, now: at(200) };
        let seen = store.reconcile(sighting).await.expect("reconcile");
        assert_eq!(seen, HashMap::from([("a".into(), at(200)), ("b".into(), at(100))]));
    }

    #[tokio::test]
    async fn a_partial_scan_keeps_the_marks_it_did_not_see() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FileStore::new(dir.path().join("state.json"));
        complete(&store, "r", &["ep1|ri", "ep2|ri"], 100).await;
        let (scanned, failed) = (keys(&["ep1|ri"]), keys(&[]));
        let sighting = Sighting { region: "r", scanned: &scanned, failed: &failed, complete: false, now: at(200) };
        assert!(store.reconcile(sighting).await.expect("partial").is_empty());
        let after = complete(&store, "r", &["ep1|ri", "ep2|ri"], 300).await;
        assert_eq!(after, HashMap::from([("ep1|ri".into(), at(300)), ("ep2|ri".into(), at(100))]));
    }

    #[tokio::test]
    async fn a_corrupt_file_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{not json").expect("write");
        let failed = keys(&["a"]);
        let sighting = Sighting { region: "r", scanned: &failed, failed: &failed, complete: true, now: at(1) };
        let err = FileStore::new(&path).reconcile(sighting).await.expect_err("corrupt");
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
