//! AWS DMS connections over the official SDK (awsJson1_1): DescribeConnections, ListTagsForResource and
//! DeleteConnection. Connections have no tags and no timestamp: protection comes from the tags of their endpoint
//! and replication instance, and age from the first-seen store.

use super::{
    classify, delete_claim, no_client, paginate, regional, scan_error, verified, Claim, ControlPlane, DeleteOutcome,
    PageError, Recheck, Regional, Scan, ScanError,
};
use crate::calls::{Access, Caller, Lane};
use crate::resource::{failure_text, Age, Handle, Provider, Resource};
use crate::state::{FirstSeenStore, Sighting};
use async_trait::async_trait;
use aws_sdk_databasemigration::types::{Connection, Filter};
use aws_sdk_databasemigration::Client;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How many ARNs one ListTagsForResource call asks about.
const TAG_BATCH: usize = 100;
/// How many ListTagsForResource calls of one scan run at once.
const TAG_LOOKUPS_IN_FLIGHT: usize = 4;
/// DescribeConnections' largest page (the model allows 20..=100).
const PAGE_SIZE: i32 = 100;

/// Where a failed connection's first sighting comes from.
#[derive(Clone)]
pub enum FirstSeen {
    /// The grace is zero: age does not matter, so nothing is recorded.
    NotNeeded,
    /// No store is configured: with a grace above zero, no connection is ever deleted.
    NoStore,
    Store(Arc<dyn FirstSeenStore>),
}

/// Connections in each region the run may sweep, one client per region built at start.
pub struct DmsConnections {
    clients: Vec<Regional<Client>>,
    caller: Caller,
    protect_tag: String,
    first_seen: FirstSeen,
}

impl DmsConnections {
    pub fn new(
        clients: Vec<Regional<Client>>,
        caller: Caller,
        protect_tag: impl Into<String>,
        first_seen: FirstSeen,
    ) -> DmsConnections {
        DmsConnections { clients, caller, protect_tag: protect_tag.into(), first_seen }
    }

    /// First sightings of the failed keys, or why they are unknown; the second value is the store's error, if the
    /// store failed (as opposed to not being needed or not configured).
    async fn ages(&self, sighting: Sighting<'_>) -> (Result<HashMap<String, SystemTime>, String>, Option<String>) {
        match &self.first_seen {
            FirstSeen::NotNeeded => (Err("first sightings are not tracked".to_owned()), None),
            FirstSeen::NoStore => (
                Err("no first-seen store is configured (JANITOR_STATE_TABLE or JANITOR_STATE_FILE), so the grace cannot be proven".to_owned()),
                None,
            ),
            FirstSeen::Store(store) => match store.reconcile(sighting).await {
                Ok(seen) => (Ok(seen), None),
                Err(error) => {
                    tracing::warn!(region = sighting.region, %error, "first-seen store unavailable");
                    (
                        Err(format!("first-seen store unavailable, so the grace cannot be proven: {error}")),
                        Some(error.to_string()),
                    )
                }
            },
        }
    }

    /// Every connection in `region` matching `filters` (all of them when empty), paginated to the end.
    async fn describe(
        &self,
        regional: &Regional<Client>,
        filters: &[Filter],
        mut on_page: impl FnMut(&[Connection]),
    ) -> Result<Vec<Connection>, ScanError> {
        let mut connections = Vec::new();
        let send = |marker: Option<String>| {
            regional
                .client
                .describe_connections()
                .set_filters((!filters.is_empty()).then(|| filters.to_vec()))
                .max_records(PAGE_SIZE)
                .set_marker(marker)
                .send()
        };
        let pages = paginate(
            &self.caller,
            regional,
            "DescribeConnections",
            send,
            |page| page.marker(),
            |page| {
                on_page(page.connections());
                connections.extend(page.connections.unwrap_or_default());
            },
        );
        match pages.await {
            Ok(()) => Ok(connections),
            Err(PageError::Call(failed)) => Err(scan_error("DescribeConnections", &regional.region, &failed)),
            Err(PageError::Marker(error)) => Err(error),
        }
    }

    /// Every connection in `region`, or only those of `endpoint`, with protection and first sightings resolved.
    async fn connections(&self, region: &str, endpoint: Option<&str>) -> Result<Scan, ScanError> {
        let regional = regional(&self.clients, region).ok_or_else(|| no_client("DescribeConnections", region))?;
        let filters = match endpoint {
            Some(arn) => vec![filter("endpoint-arn", arn, region)?],
            None => Vec::new(),
        };
        let mut tags = TagLookups::new(regional, self.caller.clone(), &self.protect_tag);
        let connections = self
            .describe(regional, &filters, |page| {
                let failed = page.iter().filter(|c| c.status() == Some(crate::policy::DMS_FAILED));
                tags.add(failed.flat_map(|c| [c.endpoint_arn(), c.replication_instance_arn()]).flatten());
            })
            .await?;
        let failed = || connections.iter().filter(|c| c.status() == Some(crate::policy::DMS_FAILED));
        let failed_keys: Vec<String> = failed().map(key).collect();
        let scanned_keys: Vec<String> = connections.iter().map(key).collect();
        let protected = tags.protected(region).await?;
        // An endpoint's connections are part of the region: the store keeps the marks of the others.
        let sighting = Sighting {
            region,
            scanned: &scanned_keys,
            failed: &failed_keys,
            complete: endpoint.is_none(),
            now: SystemTime::now(),
        };
        let (ages, state_error) = self.ages(sighting).await;

        let resources = connections
            .iter()
            .map(|connection| {
                let endpoint_arn = connection.endpoint_arn().unwrap_or_default().to_owned();
                let instance_arn = connection.replication_instance_arn().unwrap_or_default().to_owned();
                let id = key(connection);
                let protected_by = if protected.contains(&endpoint_arn) {
                    Some(format!("tag {} on endpoint {endpoint_arn}", self.protect_tag))
                } else if protected.contains(&instance_arn) {
                    Some(format!("tag {} on replication instance {instance_arn}", self.protect_tag))
                } else {
                    None
                };
                let age = match &ages {
                    Ok(seen) => {
                        seen.get(&id).map_or_else(|| Age::Unknown("not failed".to_owned()), |t| Age::FailedSince(*t))
                    }
                    Err(why) => Age::Unknown(why.clone()),
                };
                Resource {
                    provider: Provider::Dms,
                    region: region.to_owned(),
                    name: format!(
                        "{}@{}",
                        connection.endpoint_identifier().unwrap_or("?"),
                        connection.replication_instance_identifier().unwrap_or("?")
                    ),
                    id,
                    arns: vec![endpoint_arn.clone(), instance_arn.clone()],
                    status: connection.status().unwrap_or_default().to_owned(),
                    age,
                    protected_by,
                    may_release: None,
                    failure: connection.last_failure_message().and_then(failure_text),
                    handle: Handle::DmsConnection { endpoint_arn, replication_instance_arn: instance_arn },
                }
            })
            .collect();
        Ok(Scan { resources, state_error })
    }

    /// After a not-found answer: is the connection still listed, and how?
    async fn recheck(
        &self,
        regional: &Regional<Client>,
        endpoint_arn: &str,
        instance_arn: &str,
    ) -> Result<Recheck, String> {
        let filters = [
            filter("endpoint-arn", endpoint_arn, &regional.region).map_err(|e| e.message)?,
            filter("replication-instance-arn", instance_arn, &regional.region).map_err(|e| e.message)?,
        ];
        let listed = self.describe(regional, &filters, |_| {}).await.map_err(|e| e.message)?;
        Ok(listed
            .iter()
            .find(|c| c.endpoint_arn() == Some(endpoint_arn) && c.replication_instance_arn() == Some(instance_arn))
            .map_or(Recheck::Absent, |c| Recheck::Listed(c.status().unwrap_or_default().to_owned())))
    }
}

fn filter(name: &str, value: &str, region: &str) -> Result<Filter, ScanError> {
    Filter::builder().name(name).values(value).build().map_err(|e| ScanError {
        operation: "DescribeConnections",
        region: region.to_owned(),
        message: e.to_string(),
    })
}

/// Protection look-ups (ListTagsForResource, [`TAG_BATCH`] ARNs a call) for the endpoints and instances of failed
/// connections, each batch started as soon as the describe pages have filled it, so they overlap the pagination.
/// They are tasks of the scan's own set, at most [`TAG_LOOKUPS_IN_FLIGHT`] calling at once: when the scan fails or
/// is dropped at the deadline, they end with it.
struct TagLookups {
    client: Client,
    caller: Caller,
    lane: Arc<Lane>,
    protect_tag: Arc<str>,
    seen: BTreeSet<String>,
    pending: Vec<String>,
    in_flight: Arc<Semaphore>,
    running: JoinSet<Result<Vec<String>, String>>,
}

impl TagLookups {
    fn new(regional: &Regional<Client>, caller: Caller, protect_tag: &str) -> TagLookups {
        TagLookups {
            client: regional.client.clone(),
            caller,
            lane: Arc::clone(&regional.lane),
            protect_tag: protect_tag.into(),
            seen: BTreeSet::new(),
            pending: Vec::new(),
            in_flight: Arc::new(Semaphore::new(TAG_LOOKUPS_IN_FLIGHT)),
            running: JoinSet::new(),
        }
    }

    fn add<'a>(&mut self, arns: impl Iterator<Item = &'a str>) {
        for arn in arns {
            if self.seen.insert(arn.to_owned()) {
                self.pending.push(arn.to_owned());
                if self.pending.len() == TAG_BATCH {
                    self.start();
                }
            }
        }
    }

    /// Starts a look-up of the pending ARNs; it answers with those that carry the protect tag.
    fn start(&mut self) {
        let batch = std::mem::take(&mut self.pending);
        let client = self.client.clone();
        let caller = self.caller.clone();
        let lane = Arc::clone(&self.lane);
        let in_flight = Arc::clone(&self.in_flight);
        let protect_tag = Arc::clone(&self.protect_tag);
        self.running.spawn(async move {
            let _permit = in_flight.acquire_owned().await.map_err(|e| e.to_string())?;
            let output = caller
                .call(&lane, Access::Read, classify, || {
                    client.list_tags_for_resource().set_resource_arn_list(Some(batch.clone())).send()
                })
                .await
                .map_err(|e| scan_error("ListTagsForResource", "", &e).message)?;
            Ok(output
                .tag_list()
                .iter()
                .filter(|tag| tag.key() == Some(&*protect_tag))
                .filter_map(|tag| tag.resource_arn().map(str::to_owned))
                .collect())
        });
    }

    /// The ARNs that carry `protect_tag`, once every look-up has answered.
    async fn protected(mut self, region: &str) -> Result<BTreeSet<String>, ScanError> {
        if !self.pending.is_empty() {
            self.start();
        }
        let error =
            |message: String| ScanError { operation: "ListTagsForResource", region: region.to_owned(), message };
        let mut protected = BTreeSet::new();
        while let Some(joined) = self.running.join_next().await {
            protected.extend(joined.map_err(|e| error(e.to_string()))?.map_err(error)?);
        }
        Ok(protected)
    }
}

fn key(connection: &Connection) -> String {
    format!(
        "{}|{}",
        connection.endpoint_arn().unwrap_or_default(),
        connection.replication_instance_arn().unwrap_or_default()
    )
}

#[async_trait]
impl ControlPlane for DmsConnections {
    fn provider(&self) -> Provider {
        Provider::Dms
    }

    fn regions(&self) -> Vec<String> {
        self.clients.iter().map(|r| r.region.clone()).collect()
    }

    async fn scan(&self, region: &str) -> Result<Scan, ScanError> {
        self.connections(region, None).await
    }

    async fn scan_target(&self, region: &str, target: &str) -> Result<Scan, ScanError> {
        self.connections(region, Some(target)).await
    }

    async fn delete(&self, resource: &Resource) -> DeleteOutcome {
        let Handle::DmsConnection { endpoint_arn, replication_instance_arn } = &resource.handle else {
            return DeleteOutcome::Failed { error: "not a DMS connection".to_owned() };
        };
        let Some(regional) = regional(&self.clients, &resource.region) else {
            return DeleteOutcome::Failed { error: format!("no client was built for {}", resource.region) };
        };
        let sent = self
            .caller
            .call(&regional.lane, Access::Write, classify, || {
                regional
                    .client
                    .delete_connection()
                    .endpoint_arn(endpoint_arn)
                    .replication_instance_arn(replication_instance_arn)
                    .send()
            })
            .await;
        match sent {
            Ok(output) => DeleteOutcome::Deleted {
                status: output.connection().and_then(|c| c.status()).unwrap_or("deleting").to_owned(),
            },
            Err(failed) => match delete_claim("dms:DeleteConnection", &resource.id, &failed) {
                Claim::Outcome(outcome) => outcome,
                Claim::Gone(claim) => verified(
                    "DeleteConnection",
                    &claim,
                    self.recheck(regional, endpoint_arn, replication_instance_arn).await,
                ),
            },
        }
    }

    /// Drops the first-seen marks of the connections that are gone, in one store update, so a connection
    /// recreated later with the same endpoint and instance starts its grace afresh.
    async fn settle(&self, gone: &[&Resource]) {
        let FirstSeen::Store(store) = &self.first_seen else { return };
        let gone: Vec<(String, String)> =
            gone.iter().filter(|r| r.provider == Provider::Dms).map(|r| (r.region.clone(), r.id.clone())).collect();
        if gone.is_empty() {
            return;
        }
        if let Err(error) = store.forget(&gone).await {
            tracing::warn!(%error, "could not drop the first-seen marks of deleted connections; they expire on their own");
        }
    }
}
