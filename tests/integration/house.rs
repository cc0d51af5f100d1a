//! The house's promise that a cloud is data: a made-up cloud and a provider on it, declared here alone, are swept
//! by the real sweep (leases, judgement, narrowing by the cloud's own regions, deletes) with no edit outside this
//! file.

use async_trait::async_trait;
use replication_janitor::domain::pattern::Patterns;
use replication_janitor::domain::resource::{Age, Cloud, Condition, Grace, Handle, Mark, Provider, Resource};
use replication_janitor::engine::plane::{ControlPlane, DeleteOutcome, Scan, ScanError};
use replication_janitor::engine::policy::{Limits, Policy};
use replication_janitor::engine::request::SweepRequest;
use replication_janitor::engine::sweep::Sweeper;
use replication_janitor::state::{FileStore, FirstSeen};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

static MOON: Cloud = Cloud {
    name: "moon",
    title: "The Moon",
    region_setting: "JANITOR_MOON_REGIONS",
    payload_key: "moonRegions",
    regions_noun: "moon regions",
    label: "Moon",
    region_example: "craters such as crater-1,crater-2",
    region_shape: is_crater,
    aws_credentials: false,
    per_account: false,
};

fn is_crater(name: &str) -> bool {
    name.starts_with("crater-")
}

const CHEESE: Provider = Provider::on("cheese", &MOON);

/// Failed cheese in two craters; it remembers what it was asked to delete.
struct Cheese {
    deleted: Mutex<Vec<String>>,
}

#[async_trait]
impl ControlPlane for Cheese {
    fn provider(&self) -> Provider {
        CHEESE
    }

    fn regions(&self) -> Vec<String> {
        vec!["crater-1".to_owned(), "crater-2".to_owned()]
    }

    async fn scan(&self, region: &str) -> Result<Scan, ScanError> {
        let wheel = |n: usize| Resource {
            provider: CHEESE,
            region: region.to_owned(),
            id: format!("{region}/wheel-{n}"),
            name: format!("wheel-{n}"),
            arns: Vec::new(),
            status: "mouldy".to_owned(),
            condition: Condition::Stale,
            age: Age::CreatedAt(SystemTime::UNIX_EPOCH),
            mark: Mark::Unmarked,
            protected_by: None,
            may_release: None,
            definition: None,
            failure: None,
            handle: Handle::new(n),
        };
        Ok((0..2).map(wheel).collect())
    }

    async fn delete(&self, resource: &Resource) -> DeleteOutcome {
        if let Ok(mut deleted) = self.deleted.lock() {
            deleted.push(resource.id.clone());
        }
        DeleteOutcome::Deleted { status: "eaten".to_owned() }
    }
}

#[tokio::test]
async fn a_made_up_cloud_and_provider_are_swept_by_the_real_sweep() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cheese = Arc::new(Cheese { deleted: Mutex::new(Vec::new()) });
    let planes: Vec<Arc<dyn ControlPlane>> = vec![cheese.clone()];
    let policy = Policy {
        min_age: Duration::ZERO,
        graces: vec![(CHEESE, Grace { duration: Duration::ZERO, variable: "JANITOR_CHEESE_GRACE" })],
        include: Patterns::default(),
        exclude: Patterns::default(),
    };
    let store = FileStore::new(dir.path().join("marks.json"), Duration::from_secs(86_400));
    let limits = Limits { max_deletes: 10, abort_above_percent: None };
    let sweeper = Sweeper::new(planes, policy, limits, 4, Duration::from_secs(1), FirstSeen::Store(Arc::new(store)));
    assert_eq!(sweeper.regions(&MOON), ["crater-1", "crater-2"]);

    let mut request = SweepRequest::configured(&[CHEESE], false, "test", None);
    // The cloud's own regions narrow it; another cloud's region of the same name would not.
    request.regions = BTreeMap::from([("moon", vec!["crater-2".to_owned()]), ("aws", vec!["crater-1".to_owned()])]);
    let report = sweeper.run(&request).await;

    assert_eq!(report.sweeps.len(), 1, "{report:?}");
    assert_eq!((report.sweeps[0].provider, report.sweeps[0].region.as_str()), (CHEESE, "crater-2"));
    assert_eq!(report.totals.deleted, 2);
    let deleted = cheese.deleted.lock().map(|d| d.clone()).unwrap_or_default();
    assert_eq!(deleted, ["crater-2/wheel-0", "crater-2/wheel-1"]);
    assert!(dir.path().join("marks.json.leases").is_dir(), "the scope was leased like any other");
}
