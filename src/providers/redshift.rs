//! Redshift-managed zero-ETL integrations (those Redshift's own API manages, such as integrations from DynamoDB
//! tables) over the official SDK (awsQuery, API version 2012-12-01): DescribeIntegrations and DeleteIntegration.
//!
//! What the Redshift API reference and the SDK model say, and what is assumed:
//! - Documented: both calls name an integration by `IntegrationArn`, whose model pattern is
//!   `arn:aws[a-z-]*:redshift:<region>:<account>:integration:<uuid>`; DescribeIntegrations pages with
//!   `MaxRecords` (20 to 100) and `Marker`, and answers `IntegrationNotFoundFault` for an ARN that names none;
//!   DeleteIntegration's errors are `IntegrationNotFoundFault`, `IntegrationConflictStateFault`,
//!   `IntegrationConflictOperationFault` and `UnsupportedOperationFault`; an integration carries `Status` (the
//!   zero-ETL statuses RDS uses), `CreateTime`, `Errors` and its `Tags`, so protection needs no extra call.
//! - Assumed, on the side that cannot delete the wrong thing: an integration whose ARN is not a Redshift one (an
//!   RDS-sourced integration, which the RDS provider owns) is left out of this provider's scan, so no integration is
//!   ever judged twice.

use super::aws_sdk::{
    classify, delete_claim, no_client, no_client_to_delete, paginate, regional, regions_of, scan_error, sdk_clients,
    verified, Claim, DeleteCodes, PageError, Recheck, Regional,
};
use super::rds::{errors_text, integration_resource, IntegrationFacts, IntegrationHandle, IntegrationOptions};
use super::spec::{ArnShape, Build, Building, EventKind, ProviderSpec};
use super::{ControlPlane, DeleteOutcome, Scan, ScanError};
use crate::domain::resource::{ErrorClass, Provider, Resource, AWS};
use crate::domain::setting::Setting;
use crate::engine::calls::{Access, Caller};
use async_trait::async_trait;
use aws_sdk_redshift::error::ProvideErrorMetadata;
use aws_sdk_redshift::types::Integration;
use aws_sdk_redshift::Client;
use std::sync::Arc;
use std::time::Duration;

pub const PROVIDER: Provider = Provider::on("redshift", &AWS);

pub const SPEC: ProviderSpec = ProviderSpec {
    provider: PROVIDER,
    kind: "redshift-integration",
    title: "Redshift-managed zero-ETL integrations",
    default_enabled: false,
    grace_variable: "JANITOR_REDSHIFT_GRACE",
    default_grace: Duration::from_secs(3_600),
    settings: &[
        Setting {
            variable: "JANITOR_REDSHIFT_GRACE",
            default: "1h",
            meaning: "Redshift integrations: minimum time since first seen stale, besides JANITOR_MIN_AGE (0 to 3650d)",
            flag: Some("redshift-grace"),
        },
        Setting {
            variable: "JANITOR_REDSHIFT_STATUSES",
            default: "failed",
            meaning: "Redshift integration statuses to delete: failed, needs_attention",
            flag: Some("redshift-statuses"),
        },
    ],
    parse: |env| Ok(Arc::new(IntegrationOptions::parse(env, "JANITOR_REDSHIFT_STATUSES")?)),
    events: &[
        EventKind { source: "aws.redshift", detail_type: "Redshift Integration Monitoring" },
        EventKind { source: "aws.redshift", detail_type: "Redshift Integration Configuration" },
        EventKind { source: "aws.redshift", detail_type: "Redshift Integration Operation" },
    ],
    arns: &[ArnShape { service: "redshift", resource_type: "integration" }],
    arn_description:
        "a Redshift integration ARN (arn:<partition>:redshift:<region>:<12-digit account>:integration:<id>)",
    build,
};

fn build(build: Build<'_>) -> Building<'_> {
    Box::pin(async move {
        let options = IntegrationOptions::of(&build)?;
        let clients = sdk_clients("redshift", build.regions, |region| {
            let config = aws_sdk_redshift::config::Builder::from(build.sdk)
                .region(region)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .timeout_config(crate::aws::timeout_config())
                .interceptor(crate::aws::ClockWatch::new("redshift", build.clocks))
                .build();
            Client::from_conf(config)
        });
        let plane = RedshiftIntegrations::new(clients, build.caller.clone(), build.protect_tag, options.stale.clone());
        Ok(Arc::new(plane) as Arc<dyn ControlPlane>)
    })
}

/// DescribeIntegrations' largest page (the model allows 20..=100).
const PAGE_SIZE: i32 = 100;
/// DeleteIntegration's error codes (the Redshift model).
const DELETE_CODES: DeleteCodes = DeleteCodes {
    gone: &["IntegrationNotFoundFault"],
    wrong_state: &["IntegrationConflictStateFault", "IntegrationConflictOperationFault"],
    explained: &[],
};
/// The code of an ARN that names no integration.
const NOT_FOUND: &str = "IntegrationNotFoundFault";

/// Redshift-managed integrations in each region the run may sweep, one client per region built at start.
pub struct RedshiftIntegrations {
    clients: Vec<Regional<Client>>,
    caller: Caller,
    protect_tag: String,
    stale: Vec<String>,
}

/// Whether `arn` is a Redshift integration ARN (the model's pattern, partition and all): only those are this
/// provider's.
fn is_redshift_integration(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    matches!(parts[..], ["arn", partition, "redshift", _, _, "integration", id]
        if partition.starts_with("aws") && !id.is_empty())
}

impl RedshiftIntegrations {
    pub fn new(
        clients: Vec<Regional<Client>>,
        caller: Caller,
        protect_tag: impl Into<String>,
        stale: Vec<String>,
    ) -> RedshiftIntegrations {
        RedshiftIntegrations { clients, caller, protect_tag: protect_tag.into(), stale }
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

    /// Every Redshift integration in `region`, or only the one `arn` names (one that is gone yields nothing).
    async fn describe(&self, regional: &Regional<Client>, arn: Option<&str>) -> Result<Vec<Integration>, ScanError> {
        let mut integrations = Vec::new();
        let send = |marker: Option<String>| {
            regional
                .client
                .describe_integrations()
                .set_integration_arn(arn.map(str::to_owned))
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
            |page| {
                let owned = page.integrations.unwrap_or_default().into_iter();
                integrations.extend(owned.filter(|i| i.integration_arn().is_some_and(is_redshift_integration)));
            },
        );
        match pages.await {
            Ok(()) => Ok(integrations),
            Err(PageError::Call(failed)) if arn.is_some() && failed.error.code() == Some(NOT_FOUND) => Ok(Vec::new()),
            Err(PageError::Call(failed)) => Err(scan_error("DescribeIntegrations", &regional.region, &failed)),
            Err(PageError::Marker(error)) => Err(error),
        }
    }

    async fn scan_region(&self, region: &str, arn: Option<&str>) -> Result<Scan, ScanError> {
        let regional = regional(&self.clients, region).ok_or_else(|| no_client("DescribeIntegrations", region))?;
        let integrations = self.describe(regional, arn).await?;
        let healthy: Arc<str> = self.stale.join(", ").into();
        Ok(integrations.iter().map(|i| self.resource(region, i, &healthy)).collect())
    }
}

#[async_trait]
impl ControlPlane for RedshiftIntegrations {
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
        self.scan_region(region, Some(target)).await
    }

    async fn delete(&self, resource: &Resource) -> DeleteOutcome {
        let Some(IntegrationHandle { arn }) = resource.handle.get() else {
            return DeleteOutcome::failed(ErrorClass::Service, "not a Redshift integration");
        };
        let Some(regional) = regional(&self.clients, &resource.region) else {
            return no_client_to_delete(&resource.region);
        };
        let sent = self
            .caller
            .call(&regional.lane, Access::Write, classify, || {
                regional.client.delete_integration().integration_arn(arn).send()
            })
            .await;
        match sent {
            Ok(output) => DeleteOutcome::Deleted {
                status: output.status().map(|s| s.as_str().to_owned()).unwrap_or_else(|| "deleting".to_owned()),
            },
            Err(failed) => match delete_claim("redshift:DeleteIntegration", arn, &DELETE_CODES, &failed) {
                Claim::Outcome(outcome) => outcome,
                Claim::Gone(claim) => {
                    let recheck = self.describe(regional, Some(arn)).await.map(|listed| {
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
    fn only_redshift_integration_arns_are_this_providers() {
        let id = "5b9f3d79-7392-4a3e-896c-58eaa1b53231";
        assert!(is_redshift_integration(&format!("arn:aws:redshift:us-east-1:123456789012:integration:{id}")));
        assert!(is_redshift_integration(&format!("arn:aws-cn:redshift:cn-north-1:123456789012:integration:{id}")));
        assert!(!is_redshift_integration(&format!("arn:aws:rds:us-east-1:123456789012:integration:{id}")));
        assert!(!is_redshift_integration("arn:aws:redshift:us-east-1:123456789012:cluster:c1"));
        assert!(!is_redshift_integration("arn:aws:redshift:us-east-1:123456789012:integration:"));
    }
}
