//! RDS zero-ETL integrations over the official SDK (awsQuery): DescribeIntegrations and DeleteIntegration.
//!
//! Both calls name an integration by `IntegrationIdentifier`, which the API reference calls "the unique identifier
//! of the integration" and which AWS's CLI examples fill with the integration's id (the uuid that ends its ARN,
//! `arn:aws:rds:<region>:<account>:integration:<id>`); none pass the ARN. The janitor sends the id.

use super::aws_sdk::{
    classify, delete_claim, no_client, no_client_to_delete, paginate, regional, regions_of, scan_error, sdk_clients,
    verified, Claim, DeleteCodes, PageError, Recheck, Regional,
};
use super::spec::{ArnShape, Build, BuildError, Building, EventKind, ProviderOptions, ProviderSpec};
use super::{ControlPlane, DeleteOutcome, Scan, ScanError};
use crate::domain::resource::{failure_text, Age, Condition, ErrorClass, Handle, Mark, Provider, Resource, AWS};
use crate::domain::setting::{ConfigError, Env, Setting};
use crate::engine::calls::{Access, Caller};
use async_trait::async_trait;
use aws_sdk_rds::error::ProvideErrorMetadata;
use aws_sdk_rds::types::Integration;
use aws_sdk_rds::Client;
use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub const PROVIDER: Provider = Provider::on("rds", &AWS);

pub const SPEC: ProviderSpec = ProviderSpec {
    provider: PROVIDER,
    kind: "rds-integration",
    title: "RDS zero-ETL integrations",
    default_enabled: true,
    grace_variable: "JANITOR_RDS_GRACE",
    default_grace: Duration::from_secs(3_600),
    settings: &[
        Setting {
            variable: "JANITOR_RDS_GRACE",
            default: "1h",
            meaning: "RDS integrations: minimum time since first seen stale, besides JANITOR_MIN_AGE (0 to 3650d)",
            flag: Some("rds-grace"),
        },
        Setting {
            variable: "JANITOR_RDS_STATUSES",
            default: "failed",
            meaning: "RDS integration statuses to delete: failed, needs_attention",
            flag: Some("rds-statuses"),
        },
    ],
    parse: |env| Ok(Arc::new(IntegrationOptions::parse(env, "JANITOR_RDS_STATUSES")?)),
    // Redshift's integration events name an RDS-sourced integration by its RDS ARN; they are RDS's when they do.
    events: &[
        EventKind { source: "aws.rds", detail_type: "RDS Zero ETL Event" },
        EventKind { source: "aws.redshift", detail_type: "Redshift Integration Monitoring" },
        EventKind { source: "aws.redshift", detail_type: "Redshift Integration Configuration" },
        EventKind { source: "aws.redshift", detail_type: "Redshift Integration Operation" },
    ],
    arns: &[ArnShape { service: "rds", resource_type: "integration" }],
    arn_description: "an RDS integration ARN (arn:<partition>:rds:<region>:<12-digit account>:integration:<id>)",
    build,
};

fn build(build: Build<'_>) -> Building<'_> {
    Box::pin(async move {
        let options = IntegrationOptions::of(&build)?;
        let clients = sdk_clients("rds", build.regions, |region| {
            let config = aws_sdk_rds::config::Builder::from(build.sdk)
                .region(region)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .timeout_config(crate::aws::timeout_config())
                .interceptor(crate::aws::ClockWatch::new("rds", build.clocks))
                .build();
            Client::from_conf(config)
        });
        Ok(Arc::new(RdsIntegrations::new(clients, build.caller.clone(), build.protect_tag, options.stale.clone()))
            as Arc<dyn ControlPlane>)
    })
}

/// The statuses a zero-ETL integration may have (`ZeroETLIntegrationStatus` in the RDS and Redshift models) that
/// the janitor may treat as stale: `failed` and, only when asked, `needs_attention`.
const STALE_CHOICES: &[&str] = &["failed", "needs_attention"];

/// The settings of a zero-ETL integration provider (RDS's and Redshift's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntegrationOptions {
    /// The statuses to delete.
    pub stale: Vec<String>,
}

impl IntegrationOptions {
    /// Reads the statuses to delete from `variable` (default `failed`).
    pub fn parse(env: &Env<'_>, variable: &'static str) -> Result<IntegrationOptions, ConfigError> {
        let stale = env.one_of_each(variable, STALE_CHOICES)?.unwrap_or_else(|| vec!["failed".to_owned()]);
        Ok(IntegrationOptions { stale })
    }

    /// The options a build was given, or why they are missing.
    pub fn of<'a>(build: &'a Build<'_>) -> Result<&'a IntegrationOptions, BuildError> {
        build.settings.options::<IntegrationOptions>().ok_or_else(|| BuildError {
            provider: build.settings.provider,
            message: "its settings were not read".to_owned(),
        })
    }
}

impl ProviderOptions for IntegrationOptions {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// How an integration's status classifies under the statuses to delete.
pub fn integration_condition(status: &str, stale: &[String], healthy: &Arc<str>) -> Condition {
    if stale.iter().any(|s| s == status) {
        Condition::Stale
    } else if status == "deleting" {
        Condition::InProgress
    } else {
        Condition::Healthy { stale: Arc::clone(healthy) }
    }
}

/// An integration's errors (`Errors` in both models) as one failure text.
pub fn errors_text<'a>(errors: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>) -> Option<String> {
    failure_text(
        &errors
            .map(|(code, message)| format!("{}: {}", code.unwrap_or("?"), message.unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// What a zero-ETL integration says of itself, in either service's model (RDS's and Redshift's `Integration`).
pub struct IntegrationFacts<'a> {
    pub arn: &'a str,
    pub name: Option<&'a str>,
    pub status: &'a str,
    pub created: Option<&'a aws_smithy_types::DateTime>,
    /// Whether its `Tags` hold the protect tag.
    pub protected: bool,
    /// Its `Errors`, as one failure text.
    pub failure: Option<String>,
}

/// The resource a zero-ETL integration is, for `provider` in `region`, judged stale in the statuses `stale`
/// (`healthy` names them for the reason).
pub fn integration_resource(
    provider: Provider,
    region: &str,
    facts: IntegrationFacts<'_>,
    (stale, healthy): (&[String], &Arc<str>),
    protect_tag: &str,
) -> Resource {
    let arn = facts.arn.to_owned();
    let age = match facts.created {
        Some(created) => Age::CreatedAt(to_system_time(created)),
        None => Age::Unknown("the integration reports no CreateTime".to_owned()),
    };
    Resource {
        provider,
        region: region.to_owned(),
        id: arn.clone(),
        name: facts.name.map(str::to_owned).unwrap_or_else(|| arn.clone()),
        arns: vec![arn.clone()],
        condition: integration_condition(facts.status, stale, healthy),
        status: facts.status.to_owned(),
        age,
        mark: Mark::Unmarked,
        protected_by: facts.protected.then(|| format!("tag {protect_tag} on the integration")),
        may_release: None,
        failure: facts.failure,
        handle: Handle::new(IntegrationHandle { arn }),
    }
}

/// What a delete of one integration needs: its ARN.
#[derive(Debug, PartialEq, Eq)]
pub struct IntegrationHandle {
    pub arn: String,
}

/// DescribeIntegrations' largest page (the model allows 20..=100).
const PAGE_SIZE: i32 = 100;
/// DeleteIntegration's error codes (the RDS model).
const DELETE_CODES: DeleteCodes = DeleteCodes {
    gone: &["IntegrationNotFoundFault"],
    wrong_state: &["InvalidIntegrationStateFault", "IntegrationConflictOperationFault"],
    explained: &[],
};
/// The code of an identifier that names no integration.
const NOT_FOUND: &str = "IntegrationNotFoundFault";

/// Integrations in each region the run may sweep, one client per region built at start.
pub struct RdsIntegrations {
    clients: Vec<Regional<Client>>,
    caller: Caller,
    protect_tag: String,
    stale: Vec<String>,
}

/// The `IntegrationIdentifier` for an integration ARN: the id after `:integration:`, or the text itself when it is
/// not such an ARN (an id already).
pub fn integration_id(arn: &str) -> &str {
    arn.rsplit_once(":integration:").map_or(arn, |(_, id)| id)
}

impl RdsIntegrations {
    pub fn new(
        clients: Vec<Regional<Client>>,
        caller: Caller,
        protect_tag: impl Into<String>,
        stale: Vec<String>,
    ) -> RdsIntegrations {
        RdsIntegrations { clients, caller, protect_tag: protect_tag.into(), stale }
    }

    fn resource(&self, region: &str, integration: &Integration, healthy: &Arc<str>) -> Resource {
        let facts = IntegrationFacts {
            arn: integration.integration_arn().unwrap_or_default(),
            name: integration.integration_name(),
            status: integration.status().map(|s| s.as_str()).unwrap_or_default(),
            created: integration.create_time(),
            protected: integration.tags().iter().any(|tag| tag.key() == Some(self.protect_tag.as_str())),
            failure: errors_text(integration.errors().iter().map(|e| (e.error_code(), e.error_message()))),
        };
        integration_resource(PROVIDER, region, facts, (&self.stale, healthy), &self.protect_tag)
    }

    /// Every integration in `region`, or only the one `identifier` names (one that is gone yields nothing).
    async fn describe(
        &self,
        regional: &Regional<Client>,
        identifier: Option<&str>,
    ) -> Result<Vec<Integration>, ScanError> {
        let mut integrations = Vec::new();
        let send = |marker: Option<String>| {
            regional
                .client
                .describe_integrations()
                .set_integration_identifier(identifier.map(str::to_owned))
                .max_records(PAGE_SIZE)
                .set_marker(marker)
                .send()
        };
        let pages = paginate(
            &self.caller,
            regional,
            "DescribeIntegrations",
            send,
            |page| page.marker(),
            |page| integrations.extend(page.integrations.unwrap_or_default()),
        );
        match pages.await {
            Ok(()) => Ok(integrations),
            Err(PageError::Call(failed)) if identifier.is_some() && failed.error.code() == Some(NOT_FOUND) => {
                Ok(Vec::new())
            }
            Err(PageError::Call(failed)) => Err(scan_error("DescribeIntegrations", &regional.region, &failed)),
            Err(PageError::Marker(error)) => Err(error),
        }
    }

    async fn scan_region(&self, region: &str, identifier: Option<&str>) -> Result<Scan, ScanError> {
        let regional = regional(&self.clients, region).ok_or_else(|| no_client("DescribeIntegrations", region))?;
        let integrations = self.describe(regional, identifier).await?;
        let healthy: Arc<str> = self.stale.join(", ").into();
        Ok(integrations.iter().map(|i| self.resource(region, i, &healthy)).collect())
    }
}

/// A model timestamp as the clock's time.
pub fn to_system_time(time: &aws_smithy_types::DateTime) -> SystemTime {
    let secs = time.secs();
    let offset = Duration::new(secs.unsigned_abs(), time.subsec_nanos());
    let moved =
        if secs >= 0 { SystemTime::UNIX_EPOCH.checked_add(offset) } else { SystemTime::UNIX_EPOCH.checked_sub(offset) };
    // A time beyond what the clock can hold is taken as now: the integration then counts as too young to delete.
    moved.unwrap_or_else(SystemTime::now)
}

#[async_trait]
impl ControlPlane for RdsIntegrations {
    fn provider(&self) -> Provider {
        PROVIDER
    }

    fn regions(&self) -> Vec<String> {
        regions_of(&self.clients)
    }

    async fn scan(&self, region: &str) -> Result<Scan, ScanError> {
        self.scan_region(region, None).await
    }

    async fn scan_target(&self, region: &str, target: &str) -> Result<Scan, ScanError> {
        self.scan_region(region, Some(integration_id(target))).await
    }

    async fn delete(&self, resource: &Resource) -> DeleteOutcome {
        let Some(IntegrationHandle { arn }) = resource.handle.get() else {
            return DeleteOutcome::failed(ErrorClass::Service, "not an RDS integration");
        };
        let Some(regional) = regional(&self.clients, &resource.region) else {
            return no_client_to_delete(&resource.region);
        };
        let id = integration_id(arn);
        let sent = self
            .caller
            .call(&regional.lane, Access::Write, classify, || {
                regional.client.delete_integration().integration_identifier(id).send()
            })
            .await;
        match sent {
            Ok(output) => DeleteOutcome::Deleted {
                status: output.status().map(|s| s.as_str().to_owned()).unwrap_or_else(|| "deleting".to_owned()),
            },
            Err(failed) => match delete_claim("rds:DeleteIntegration", arn, &DELETE_CODES, &failed) {
                Claim::Outcome(outcome) => outcome,
                Claim::Gone(claim) => {
                    let recheck = self.describe(regional, Some(id)).await.map(|listed| {
                        listed.iter().find(|i| i.integration_arn() == Some(arn.as_str())).map_or(Recheck::Absent, |i| {
                            Recheck::Listed(i.status().map(|s| s.as_str().to_owned()).unwrap_or_default())
                        })
                    });
                    verified("DeleteIntegration", &claim, recheck)
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identifier_is_the_id_that_ends_the_arn() {
        assert_eq!(
            integration_id("arn:aws:rds:us-east-1:123456789012:integration:5b9f3d79-7392-4a3e-896c-58eaa1b53231"),
            "5b9f3d79-7392-4a3e-896c-58eaa1b53231"
        );
        assert_eq!(integration_id("5b9f3d79"), "5b9f3d79");
    }
}
