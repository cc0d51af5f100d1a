//! An in-memory control plane and first-seen store for the unit tests of the sweep and the handler: the fakes
//! sit beside the code they exercise, with no HTTP.

use super::{ControlPlane, DeleteOutcome, Scan, ScanError};
use crate::domain::resource::{Age, Condition, ErrorClass, Handle, Mark, Provider, Resource};
use crate::state::{FirstSeenStore, Lease, Leases, Sighting, StateError};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// The provider of the fake plane: the sweep knows providers only by what their planes report.
pub const FAKE: Provider = Provider::on("fake", &crate::domain::resource::ALIBABA);
pub const STALE_STATUSES: &str = "PrecheckFailed, InitializeFailed, Failed";

/// A control plane in memory: it lists `resources` per region, fails the scans of `unreachable` regions,
/// answers a delete with `answers[id]` (else deleted) after `delete_takes`, and records deletes in order.
pub struct Fake {
    /// Whose plane it poses as ([`FAKE`] unless a test needs a configured provider).
    pub provider: Provider,
    pub resources: Vec<Resource>,
    pub regions: Vec<String>,
    pub unreachable: Vec<String>,
    pub answers: HashMap<String, DeleteOutcome>,
    pub delete_takes: Duration,
    pub deleted: Mutex<Vec<String>>,
}

impl Fake {
    pub fn new(resources: Vec<Resource>) -> Fake {
        Fake {
            provider: FAKE,
            resources,
            regions: vec!["cn-hangzhou".to_owned()],
            unreachable: Vec::new(),
            answers: HashMap::new(),
            delete_takes: Duration::ZERO,
            deleted: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl ControlPlane for Fake {
    fn provider(&self) -> Provider {
        self.provider
    }

    fn regions(&self) -> Vec<String> {
        self.regions.clone()
    }

    async fn scan(&self, region: &str) -> Result<Scan, ScanError> {
        if self.unreachable.iter().any(|r| r == region) {
            return Err(ScanError {
                operation: "Describe",
                region: region.to_owned(),
                message: "connection refused".to_owned(),
                class: ErrorClass::Transport,
            });
        }
        Ok(self.resources.iter().filter(|r| r.region == region).cloned().collect::<Scan>())
    }

    async fn delete(&self, resource: &Resource) -> DeleteOutcome {
        crate::engine::calls::mark_sent();
        if let Ok(mut deleted) = self.deleted.lock() {
            deleted.push(resource.id.clone());
        }
        tokio::time::sleep(self.delete_takes).await;
        self.answers
            .get(&resource.id)
            .cloned()
            .unwrap_or_else(|| DeleteOutcome::Deleted { status: "deleting".to_owned() })
    }
}

pub fn job(id: &str, status: &str, may_release: Option<&str>) -> Resource {
    let condition = match status {
        "PrecheckFailed" | "InitializeFailed" | "Failed" => Condition::Stale,
        _ => Condition::Healthy { stale: STALE_STATUSES.into() },
    };
    Resource {
        provider: FAKE,
        region: "cn-hangzhou".to_owned(),
        id: id.to_owned(),
        name: id.to_owned(),
        arns: vec![id.to_owned()],
        status: status.to_owned(),
        condition,
        age: Age::CreatedAt(SystemTime::UNIX_EPOCH),
        mark: Mark::Unmarked,
        protected_by: None,
        may_release: may_release.map(str::to_owned),
        definition: None,
        failure: None,
        handle: Handle::new(id.to_owned()),
    }
}

/// First-seen marks and leases in memory, as the file and DynamoDB stores keep them; `broken` makes every call
/// fail.
#[derive(Default)]
pub struct Marks {
    pub marks: Mutex<HashMap<(String, String), SystemTime>>,
    /// Scope -> the lease that holds it.
    pub leases: Mutex<HashMap<String, Lease>>,
    pub broken: bool,
}

fn unreachable() -> StateError {
    StateError::Dynamo { table: "marks".into(), message: "unreachable".into() }
}

#[async_trait]
impl FirstSeenStore for Marks {
    async fn lease(&self, scopes: &[String], lease: &Lease) -> Result<Leases, StateError> {
        if self.broken {
            return Err(unreachable());
        }
        let mut leases = Leases::default();
        let mut held = self.leases.lock().map_err(|_| unreachable())?;
        for scope in scopes {
            match held.get(scope) {
                Some(other) if other.holder != lease.holder => leases.busy.push((scope.clone(), other.clone())),
                _ => {
                    held.insert(scope.clone(), lease.clone());
                    leases.held.push(scope.clone());
                }
            }
        }
        Ok(leases)
    }

    async fn release(&self, scopes: &[String], lease: &Lease) -> Result<(), StateError> {
        let mut held = self.leases.lock().map_err(|_| unreachable())?;
        held.retain(|scope, other| !(scopes.contains(scope) && other.holder == lease.holder));
        Ok(())
    }

    async fn reconcile(&self, sighting: Sighting<'_>) -> Result<HashMap<String, SystemTime>, StateError> {
        if self.broken {
            return Err(unreachable());
        }
        let mut marks =
            self.marks.lock().map_err(|_| StateError::Dynamo { table: "marks".into(), message: "poisoned".into() })?;
        let scope = sighting.scope.to_owned();
        marks.retain(|(s, id), _| {
            *s != scope || sighting.failed.contains(id) || (!sighting.complete && !sighting.scanned.contains(id))
        });
        Ok(sighting
            .failed
            .iter()
            .map(|id| {
                let mark = marks.entry((scope.clone(), id.clone())).or_insert(sighting.now);
                if *mark > sighting.now + Duration::from_secs(60) {
                    *mark = sighting.now;
                }
                (id.clone(), *mark)
            })
            .collect())
    }

    async fn forget(&self, gone: &[(String, String)]) -> Result<(), StateError> {
        if let Ok(mut marks) = self.marks.lock() {
            for key in gone {
                marks.remove(key);
            }
        }
        Ok(())
    }
}
