//! AWS DMS connections over the official SDK (awsJson1_1): DescribeConnections, ListTagsForResource and
//! DeleteConnection. Connections have no tags and no timestamp: protection comes from the tags of their endpoint
//! and replication instance, and age only from the first-seen grace.

use super::aws_sdk::{
    classify, delete_claim, no_client, no_client_to_delete, paginate, regional, regions_of, scan_error, sdk_clients,
    verified, Claim, DeleteCodes, PageError, Recheck, Regional,
};
use super::spec::{no_options, ArnShape, Build, Building, EventKind, ProviderSpec};
use super::{ControlPlane, DeleteOutcome, Scan, ScanError};
use crate::domain::resource::{
    failure_text, Age, Condition, Definition, ErrorClass, Handle, Mark, Provider, Resource, AWS,
};
use crate::domain::setting::Setting;
use crate::engine::calls::{Access, Caller, Lane};
use async_trait::async_trait;
use aws_sdk_databasemigration::types::{Connection, Filter};
use aws_sdk_databasemigration::Client;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

pub const PROVIDER: Provider = Provider::on("dms", &AWS);

/// The call that re-makes a connection (DMS makes one by testing it), as the AWS CLI names it.
pub const RECREATE: &str = "dms test-connection";

pub const SPEC: ProviderSpec = ProviderSpec {
    provider: PROVIDER,
    kind: "dms-connection",
    title: "AWS DMS connections",
    default_enabled: true,
    grace_variable: "JANITOR_DMS_GRACE",
    default_grace: Duration::from_secs(3_600),
    settings: &[Setting {
        variable: "JANITOR_DMS_GRACE",
        default: "1h",
        meaning: "DMS connections: minimum time since first seen failed (0 to 3650d); they keep no creation time",
        flag: Some("dms-grace"),
    }],
    parse: no_options,
    events: &[EventKind { source: "aws.dms", detail_type: "DMS Replication Endpoint State Change" }],
    arns: &[ArnShape { service: "dms", resource_type: "endpoint" }],
    arn_description: "a DMS endpoint ARN (arn:<partition>:dms:<region>:<12-digit account>:endpoint:<id>)",
    build,
};

fn build(build: Build<'_>) -> Building<'_> {
    Box::pin(async move {
        let clients = sdk_clients("dms", build.regions, |region| {
            let config = aws_sdk_databasemigration::config::Builder::from(build.sdk)
                .region(region)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .timeout_config(crate::aws::timeout_config())
                .interceptor(crate::aws::ClockWatch::new("dms", build.clocks))
                .build();
            Client::from_conf(config)
        });
        Ok(Arc::new(DmsConnections::new(clients, build.caller.clone(), build.protect_tag)) as Arc<dyn ControlPlane>)
    })
}

/// DeleteConnection's error codes (the DMS model). `AccessDeniedFault` says DMS was denied access to the endpoint,
/// per the API reference, not that the janitor's role lacks a permission.
const DELETE_CODES: DeleteCodes = DeleteCodes {
    gone: &["ResourceNotFoundFault"],
    wrong_state: &["InvalidResourceStateFault"],
    explained: &[(
        "AccessDeniedFault",
        "AWS DMS was denied access to the endpoint (its role toward the endpoint, not the janitor's permissions)",
    )],
};

/// The only failure state DMS documents for a connection.
const FAILED: &str = "failed";

/// What a delete of one connection needs.
#[derive(Debug, PartialEq, Eq)]
struct ConnectionHandle {
    endpoint_arn: String,
    replication_instance_arn: String,
}

/// How many ARNs one ListTagsForResource call asks about.
const TAG_BATCH: usize = 100;
/// How many ListTagsForResource calls of one scan run at once.
const TAG_LOOKUPS_IN_FLIGHT: usize = 4;
/// DescribeConnections' largest page (the model allows 20..=100).
const PAGE_SIZE: i32 = 100;

/// Connections in each region the run may sweep, one client per region built at start.
pub struct DmsConnections {
    clients: Vec<Regional<Client>>,
    caller: Caller,
    protect_tag: String,
}

impl DmsConnections {
    pub fn new(clients: Vec<Regional<Client>>, caller: Caller, protect_tag: impl Into<String>) -> DmsConnections {
        DmsConnections { clients, caller, protect_tag: protect_tag.into() }
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
            Err(PageError::Call(failed)) => {
                Err(scan_error("DescribeConnections", (regional.service, &regional.region), &failed))
            }
            Err(PageError::Marker(error)) => Err(error),
        }
    }

    /// Every connection in `region`, or only those of `endpoint`, with protection resolved.
    async fn connections(&self, region: &str, endpoint: Option<&str>) -> Result<Scan, ScanError> {
        let regional = regional(&self.clients, region).ok_or_else(|| no_client("DescribeConnections", region))?;
        let filters = match endpoint {
            Some(arn) => vec![filter("endpoint-arn", arn, region)?],
            None => Vec::new(),
        };
        let mut tags = TagLookups::new(regional, self.caller.clone(), &self.protect_tag);
        let connections = self
            .describe(regional, &filters, |page| {
                let failed = page.iter().filter(|c| c.status() == Some(FAILED));
                tags.add(failed.flat_map(|c| [c.endpoint_arn(), c.replication_instance_arn()]).flatten());
            })
            .await?;
        let protected = tags.protected(region).await?;
        let healthy: Arc<str> = FAILED.into();
        Ok(connections
            .iter()
            .map(|connection| {
                let endpoint_arn = connection.endpoint_arn().unwrap_or_default().to_owned();
                let instance_arn = connection.replication_instance_arn().unwrap_or_default().to_owned();
                let protected_by = if protected.contains(&endpoint_arn) {
                    Some(format!("tag {} on endpoint {endpoint_arn}", self.protect_tag))
                } else if protected.contains(&instance_arn) {
                    Some(format!("tag {} on replication instance {instance_arn}", self.protect_tag))
                } else {
                    None
                };
                let status = connection.status().unwrap_or_default().to_owned();
                let condition = match status.as_str() {
                    FAILED => Condition::Stale,
                    "deleting" => Condition::InProgress,
                    _ => Condition::Healthy { stale: Arc::clone(&healthy) },
                };
                // Kept for the resources the policy may delete: `restore` re-makes a connection by testing it.
                let definition = (condition == Condition::Stale).then(|| {
                    Definition::of(Some(RECREATE))
                        .text("ReplicationInstanceArn", Some(&instance_arn))
                        .text("EndpointArn", Some(&endpoint_arn))
                });
                Resource {
                    provider: PROVIDER,
                    region: region.to_owned(),
                    name: format!(
                        "{}@{}",
                        connection.endpoint_identifier().unwrap_or("?"),
                        connection.replication_instance_identifier().unwrap_or("?")
                    ),
                    id: key(connection),
                    arns: vec![endpoint_arn.clone(), instance_arn.clone()],
                    status,
                    condition,
                    age: Age::NotKept,
                    mark: Mark::Unmarked,
                    protected_by,
                    may_release: None,
                    definition,
                    failure: connection.last_failure_message().and_then(failure_text),
                    handle: Handle::new(ConnectionHandle { endpoint_arn, replication_instance_arn: instance_arn }),
                }
            })
            .collect())
    }

    /// After a not-found answer: is the connection still listed, and how?
    async fn recheck(
        &self,
        regional: &Regional<Client>,
        endpoint_arn: &str,
        instance_arn: &str,
    ) -> Result<Recheck, ScanError> {
        let filters = [
            filter("endpoint-arn", endpoint_arn, &regional.region)?,
            filter("replication-instance-arn", instance_arn, &regional.region)?,
        ];
        let listed = self.describe(regional, &filters, |_| {}).await?;
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
        class: ErrorClass::Service,
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
    running: JoinSet<Result<Vec<String>, ScanError>>,
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
            let _permit = in_flight.acquire_owned().await.map_err(|e| ScanError {
                operation: "ListTagsForResource",
                region: String::new(),
                message: e.to_string(),
                class: ErrorClass::Service,
            })?;
            let output = caller
                .call(&lane, Access::Read, classify, || {
                    client.list_tags_for_resource().set_resource_arn_list(Some(batch.clone())).send()
                })
                .await
                .map_err(|e| scan_error("ListTagsForResource", ("dms", ""), &e))?;
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
        let mut protected = BTreeSet::new();
        while let Some(joined) = self.running.join_next().await {
            let found = joined.map_err(|e| ScanError {
                operation: "ListTagsForResource",
                region: region.to_owned(),
                message: e.to_string(),
                class: ErrorClass::Service,
            })?;
            protected.extend(found.map_err(|mut e| {
                e.region = region.to_owned();
                e
            })?);
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
        PROVIDER
    }

    fn regions(&self) -> Vec<String> {
        regions_of(&self.clients)
    }

    async fn scan(&self, region: &str) -> Result<Scan, ScanError> {
        self.connections(region, None).await
    }

    async fn scan_target(&self, region: &str, target: &str) -> Result<Scan, ScanError> {
        self.connections(region, Some(target)).await
    }

    async fn delete(&self, resource: &Resource) -> DeleteOutcome {
        let Some(ConnectionHandle { endpoint_arn, replication_instance_arn }) = resource.handle.get() else {
            return DeleteOutcome::failed(ErrorClass::Service, "not a DMS connection");
        };
        let Some(regional) = regional(&self.clients, &resource.region) else {
            return no_client_to_delete(&resource.region);
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
            Err(failed) => match delete_claim("dms:DeleteConnection", &resource.id, &DELETE_CODES, &failed) {
                Claim::Outcome(outcome) => outcome,
                Claim::Gone(claim) => verified(
                    "DeleteConnection",
                    &claim,
                    self.recheck(regional, endpoint_arn, replication_instance_arn).await,
                ),
            },
        }
    }
}
