//! RDS zero-ETL integrations over the official SDK (awsQuery): DescribeIntegrations and DeleteIntegration.

use super::{client_for, delete_outcome, scan_error, ControlPlane, DeleteOutcome, Scan, ScanError};
use crate::resource::{Age, Handle, Provider, Resource};
use async_trait::async_trait;
use aws_sdk_rds::error::ProvideErrorMetadata;
use aws_sdk_rds::types::Integration;
use aws_sdk_rds::Client;
use std::time::{Duration, SystemTime};

/// Integrations in each region the run may sweep, one client per region built at start.
pub struct RdsIntegrations {
    clients: Vec<(String, Client)>,
    protect_tag: String,
}

impl RdsIntegrations {
    pub fn new(clients: Vec<(String, Client)>, protect_tag: impl Into<String>) -> RdsIntegrations {
        RdsIntegrations { clients, protect_tag: protect_tag.into() }
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
            handle: Handle::RdsIntegration { arn },
        }
    }
}

impl RdsIntegrations {
    /// Every integration in `region`, or only `identifier` (an integration that is gone yields nothing).
    async fn describe(&self, region: &str, identifier: Option<&str>) -> Result<Scan, ScanError> {
        let client = client_for(&self.clients, region).ok_or_else(|| ScanError {
            operation: "DescribeIntegrations",
            region: region.to_owned(),
            message: "no client was built for this region at start".to_owned(),
        })?;
        let mut pages = client
            .describe_integrations()
            .set_integration_identifier(identifier.map(str::to_owned))
            .into_paginator()
            .page_size(100)
            .send();
        let mut resources = Vec::new();
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => resources.extend(page.integrations().iter().map(|i| self.resource(region, i))),
                Err(e) if identifier.is_some() && e.code() == Some("IntegrationNotFoundFault") => break,
                Err(e) => return Err(scan_error("DescribeIntegrations", region, &e)),
            }
        }
        Ok(Scan { resources, state_error: None })
    }
}

fn to_system_time(time: &aws_smithy_types::DateTime) -> SystemTime {
    let secs = time.secs();
    let offset = Duration::new(secs.unsigned_abs(), time.subsec_nanos());
    if secs >= 0 {
        SystemTime::UNIX_EPOCH + offset
    } else {
        SystemTime::UNIX_EPOCH - offset
    }
}

#[async_trait]
impl ControlPlane for RdsIntegrations {
    fn provider(&self) -> Provider {
        Provider::Rds
    }

    fn regions(&self) -> Vec<String> {
        self.clients.iter().map(|(region, _)| region.clone()).collect()
    }

    async fn scan(&self, region: &str) -> Result<Scan, ScanError> {
        self.describe(region, None).await
    }

    async fn scan_target(&self, region: &str, target: &str) -> Result<Scan, ScanError> {
        self.describe(region, Some(target)).await
    }

    async fn delete(&self, resource: &Resource) -> DeleteOutcome {
        let Handle::RdsIntegration { arn } = &resource.handle else {
            return DeleteOutcome::Failed { error: "not an RDS integration".to_owned() };
        };
        let Some(client) = client_for(&self.clients, &resource.region) else {
            return DeleteOutcome::Failed { error: format!("no client was built for {}", resource.region) };
        };
        match client.delete_integration().integration_identifier(arn).send().await {
            Ok(output) => DeleteOutcome::Deleted {
                status: output.status().map(|s| s.as_str().to_owned()).unwrap_or_else(|| "deleting".to_owned()),
            },
            Err(error) => delete_outcome("rds:DeleteIntegration", arn, &error),
        }
    }
}
