//! AWS DMS connections over the official SDK (awsJson1_1): DescribeConnections, ListTagsForResource and
//! DeleteConnection. Connections have no tags and no timestamp: protection comes from the tags of their endpoint
//! and replication instance, and age from the first-seen store.

use super::{client_for, delete_outcome, scan_error, ControlPlane, DeleteOutcome, Scan, ScanError};
use crate::resource::{Age, Handle, Provider, Resource};
use crate::state::{FirstSeenStore, Sighting};
use async_trait::async_trait;
use aws_sdk_databasemigration::error::SdkError;
use aws_sdk_databasemigration::operation::list_tags_for_resource::{
    ListTagsForResourceError, ListTagsForResourceOutput,
};
use aws_sdk_databasemigration::types::{Connection, Filter};
use aws_sdk_databasemigration::Client;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

/// How many ARNs one ListTagsForResource call asks about.
const TAG_BATCH: usize = 100;

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
    clients: Vec<(String, Client)>,
    protect_tag: String,
    first_seen: FirstSeen,
}

impl DmsConnections {
    pub fn new(
        clients: Vec<(String, Client)>,
        protect_tag: impl Into<String>,
        first_seen: FirstSeen,
    ) -> DmsConnections {
        DmsConnections { clients, protect_tag: protect_tag.into(), first_seen }
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
    /// Every connection in `region`, or only those of `endpoint`, with protection and first sightings resolved.
    async fn connections(&self, region: &str, endpoint: Option<&str>) -> Result<Scan, ScanError> {
        let client = client_for(&self.clients, region).ok_or_else(|| ScanError {
            operation: "DescribeConnections",
            region: region.to_owned(),
            message: "no client was built for this region at start".to_owned(),
        })?;
        let filter =
            endpoint.map(|arn| Filter::builder().name("endpoint-arn").values(arn).build()).transpose().map_err(
                |e| ScanError { operation: "DescribeConnections", region: region.to_owned(), message: e.to_string() },
            )?;
        let mut pages =
            client.describe_connections().set_filters(filter.map(|f| vec![f])).into_paginator().page_size(100).send();
        let mut connections = Vec::new();
        let mut tags = TagLookups::new(client.clone());
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| scan_error("DescribeConnections", region, &e))?;
            let failed = page.connections().iter().filter(|c| c.status() == Some(crate::policy::DMS_FAILED));
            tags.add(failed.flat_map(|c| [c.endpoint_arn(), c.replication_instance_arn()]).flatten());
            connections.extend(page.connections().iter().cloned());
        }
        let failed = || connections.iter().filter(|c| c.status() == Some(crate::policy::DMS_FAILED));
        let failed_keys: Vec<String> = failed().map(key).collect();
        let scanned_keys: Vec<String> = connections.iter().map(key).collect();
        let protected = tags.protected(region, &self.protect_tag).await?;
        let sighting =
            Sighting { region, scanned: &scanned_keys, failed: &failed_keys, complete: true, now: SystemTime::now() };
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
                    handle: Handle::DmsConnection { endpoint_arn, replication_instance_arn: instance_arn },
                }
            })
            .collect();
        Ok(Scan { resources, state_error })
    }
}

/// Protection look-ups (ListTagsForResource, [`TAG_BATCH`] ARNs a call) for the endpoints and instances of failed
/// connections, each batch started as soon as the describe pages have filled it, so they overlap the pagination.
/// A page holds at most 100 connections, so at most two batches start per page.
struct TagLookups {
    client: Client,
    seen: BTreeSet<String>,
    pending: Vec<String>,
    running: Vec<tokio::task::JoinHandle<Result<ListTagsForResourceOutput, SdkError<ListTagsForResourceError>>>>,
}

impl TagLookups {
    fn new(client: Client) -> TagLookups {
        TagLookups { client, seen: BTreeSet::new(), pending: Vec::new(), running: Vec::new() }
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

    fn start(&mut self) {
        let batch = std::mem::take(&mut self.pending);
        let client = self.client.clone();
        self.running.push(tokio::spawn(async move {
            client.list_tags_for_resource().set_resource_arn_list(Some(batch)).send().await
        }));
    }

    /// The ARNs that carry `protect_tag`, once every look-up has answered.
    async fn protected(mut self, region: &str, protect_tag: &str) -> Result<BTreeSet<String>, ScanError> {
        if !self.pending.is_empty() {
            self.start();
        }
        let mut protected = BTreeSet::new();
        for lookup in self.running {
            let output = lookup
                .await
                .map_err(|e| ScanError {
                    operation: "ListTagsForResource",
                    region: region.to_owned(),
                    message: e.to_string(),
                })?
                .map_err(|e| scan_error("ListTagsForResource", region, &e))?;
            protected.extend(
                output
                    .tag_list()
                    .iter()
                    .filter(|tag| tag.key() == Some(protect_tag))
                    .filter_map(|tag| tag.resource_arn().map(str::to_owned)),
            );
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
        self.clients.iter().map(|(region, _)| region.clone()).collect()
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
        let Some(client) = client_for(&self.clients, &resource.region) else {
            return DeleteOutcome::Failed { error: format!("no client was built for {}", resource.region) };
        };
        let sent = client
            .delete_connection()
            .endpoint_arn(endpoint_arn)
            .replication_instance_arn(replication_instance_arn)
            .send()
            .await;
        let outcome = match sent {
            Ok(output) => DeleteOutcome::Deleted {
                status: output.connection().and_then(|c| c.status()).unwrap_or("deleting").to_owned(),
            },
            Err(error) => delete_outcome("dms:DeleteConnection", &resource.id, &error),
        };
        if let (DeleteOutcome::Deleted { .. } | DeleteOutcome::AlreadyGone, FirstSeen::Store(store)) =
            (&outcome, &self.first_seen)
        {
            if let Err(error) = store.forget(&resource.region, &resource.id).await {
                tracing::warn!(id = %resource.id, %error, "could not drop the first-seen mark; it expires on its own");
            }
        }
        outcome
    }
}
