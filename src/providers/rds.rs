//! RDS zero-ETL integrations over the official SDK (awsQuery): DescribeIntegrations and DeleteIntegration.
//!
//! Both calls name an integration by `IntegrationIdentifier`, which the API reference calls "the unique identifier
//! of the integration" and which AWS's CLI examples fill with the integration's id (the uuid that ends its ARN,
//! `arn:aws:rds:<region>:<account>:integration:<id>`); none pass the ARN. The janitor sends the id.

use super::{
    classify, delete_claim, no_client, paginate, regional, scan_error, verified, Claim, ControlPlane, DeleteOutcome,
    PageError, Recheck, Regional, Scan, ScanError,
};
use crate::calls::{Access, Caller};
use crate::resource::{failure_text, Age, Handle, Provider, Resource};
use async_trait::async_trait;
use aws_sdk_rds::error::ProvideErrorMetadata;
use aws_sdk_rds::types::Integration;
use aws_sdk_rds::Client;
use std::time::{Duration, SystemTime};

/// DescribeIntegrations' largest page (the model allows 20..=100).
const PAGE_SIZE: i32 = 100;
/// The code of an identifier that names no integration.
const NOT_FOUND: &str = "IntegrationNotFoundFault";

/// Integrations in each region the run may sweep, one client per region built at start.
pub struct RdsIntegrations {
    clients: Vec<Regional<Client>>,
    caller: Caller,
    protect_tag: String,
}

/// The `IntegrationIdentifier` for an integration ARN: the id after `:integration:`, or the text itself when it is
/// not such an ARN (an id already).
pub fn integration_id(arn: &str) -> &str {
    arn.rsplit_once(":integration:").map_or(arn, |(_, id)| id)
}

impl RdsIntegrations {
    pub fn new(clients: Vec<Regional<Client>>, caller: Caller, protect_tag: impl Into<String>) -> RdsIntegrations {
        RdsIntegrations { clients, caller, protect_tag: protect_tag.into() }
    }

    fn resource(&self, region: &str, integration: &Integration) -> Resource {
        let arn = integration.integration_arn().unwrap_or_default().to_owned();
        let name = integration.integration_name().map(str::to_owned).unwrap_or_else(|| arn.clone());
        let age = match integration.create_time() {
            Some(created) => Age::CreatedAt(to_system_time(created)),
            None => Age::Unknown("the integration reports no CreateTime".to_owned()),
        };
        let protected_by = integration
            .tags()
            .iter()
            .any(|tag| tag.key() == Some(self.protect_tag.as_str()))
            .then(|| format!("tag {} on the integration", self.protect_tag));
        Resource {
            provider: Provider::Rds,
            region: region.to_owned(),
            id: arn.clone(),
            name,
            arns: vec![arn.clone()],
            status: integration.status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            age,
            protected_by,
            may_release: None,
            failure: failure_text(
                &integration
                    .errors()
                    .iter()
                    .map(|e| format!("{}: {}", e.error_code().unwrap_or("?"), e.error_message().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            handle: Handle::RdsIntegration { arn },
        }
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
        Ok(Scan { resources: integrations.iter().map(|i| self.resource(region, i)).collect(), state_error: None })
    }
}

fn to_system_time(time: &aws_smithy_types::DateTime) -> SystemTime {
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
        Provider::Rds
    }

    fn regions(&self) -> Vec<String> {
        self.clients.iter().map(|r| r.region.clone()).collect()
    }

    async fn scan(&self, region: &str) -> Result<Scan, ScanError> {
        self.scan_region(region, None).await
    }

    async fn scan_target(&self, region: &str, target: &str) -> Result<Scan, ScanError> {
        self.scan_region(region, Some(integration_id(target))).await
    }

    async fn delete(&self, resource: &Resource) -> DeleteOutcome {
        let Handle::RdsIntegration { arn } = &resource.handle else {
            return DeleteOutcome::Failed { error: "not an RDS integration".to_owned() };
        };
        let Some(regional) = regional(&self.clients, &resource.region) else {
            return DeleteOutcome::Failed { error: format!("no client was built for {}", resource.region) };
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
            Err(failed) => match delete_claim("rds:DeleteIntegration", arn, &failed) {
                Claim::Outcome(outcome) => outcome,
                Claim::Gone(claim) => {
                    let recheck = self.describe(regional, Some(id)).await.map_err(|e| e.message).map(|listed| {
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
