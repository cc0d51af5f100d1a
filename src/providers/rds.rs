//! RDS zero-ETL integrations over the official SDK (awsQuery): DescribeIntegrations and DeleteIntegration.
//!
//! Both calls name an integration by `IntegrationIdentifier`, which the API reference calls "the unique identifier
//! of the integration" and which AWS's CLI examples fill with the integration's id (the uuid that ends its ARN,
//! `arn:aws:rds:<region>:<account>:integration:<id>`); none pass the ARN. The janitor sends the id.
//!
//! The flow (describe, delete, verify a not-found) is the one every zero-ETL provider shares (`zero_etl.rs`); only
//! integrations with an RDS ARN are this provider's, so a Redshift-managed or Glue integration is never judged here.

use super::aws_sdk::{sdk_clients, DeleteCodes};
use super::spec::{ArnShape, Build, Building, EventKind, ProviderSpec};
use super::zero_etl::{errors_text, owns, IntegrationFacts, Integrations, Profile, ZeroEtlApi, LOWER_CASE};
use crate::domain::resource::{Definition, Provider, AWS};
use crate::domain::setting::Setting;
use aws_sdk_rds::error::SdkError;
use aws_sdk_rds::operation::delete_integration::{DeleteIntegrationError, DeleteIntegrationOutput};
use aws_sdk_rds::operation::describe_integrations::{DescribeIntegrationsError, DescribeIntegrationsOutput};
use aws_sdk_rds::types::Integration;
use aws_sdk_rds::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The settings every zero-ETL provider shares, by the name config reads RDS's with.
pub use super::zero_etl::IntegrationOptions;

pub const PROVIDER: Provider = Provider::on("rds", &AWS);

/// The call that re-makes an integration, as the AWS CLI names it.
pub const RECREATE: &str = "rds create-integration";

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
    parse: |env| Ok(Arc::new(IntegrationOptions::parse(env, "JANITOR_RDS_STATUSES", &LOWER_CASE)?)),
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
        let clients = sdk_clients("rds", build.regions, |region| {
            let config = aws_sdk_rds::config::Builder::from(build.sdk)
                .region(region)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .timeout_config(crate::aws::timeout_config())
                .interceptor(crate::aws::ClockWatch::new("rds", build.clocks))
                .build();
            Client::from_conf(config)
        });
        RdsIntegrations::built(&build, clients)
    })
}

/// RDS zero-ETL integrations in each region the run may sweep.
pub type RdsIntegrations = Integrations<Rds>;

/// The RDS API's zero-ETL calls (awsQuery, 2014-10-31).
pub struct Rds;

impl ZeroEtlApi for Rds {
    type Client = Client;
    type Integration = Integration;
    type Page = DescribeIntegrationsOutput;
    type DescribeError = DescribeIntegrationsError;
    type Deleted = DeleteIntegrationOutput;
    type DeleteError = DeleteIntegrationError;

    const PROFILE: Profile = Profile {
        provider: PROVIDER,
        owns: |arn| owns("rds", arn),
        noun: "an RDS integration",
        statuses: &LOWER_CASE,
        delete_action: "rds:DeleteIntegration",
        // DeleteIntegration's error codes (the RDS model).
        delete_codes: DeleteCodes {
            gone: &["IntegrationNotFoundFault"],
            wrong_state: &["InvalidIntegrationStateFault", "IntegrationConflictOperationFault"],
            explained: &[],
        },
        describe_gone: &["IntegrationNotFoundFault"],
        // DescribeIntegrations' largest page (the model allows 20..=100).
        page_size: 100,
        identifier: integration_id,
    };

    fn describe(
        client: &Client,
        identifier: Option<&str>,
        page_size: i32,
        marker: Option<String>,
    ) -> impl Future<Output = Result<DescribeIntegrationsOutput, SdkError<DescribeIntegrationsError, HttpResponse>>> + Send
    {
        client
            .describe_integrations()
            .set_integration_identifier(identifier.map(str::to_owned))
            .max_records(page_size)
            .set_marker(marker)
            .send()
    }

    fn marker(page: &DescribeIntegrationsOutput) -> Option<&str> {
        page.marker()
    }

    fn integrations(page: DescribeIntegrationsOutput) -> Vec<Integration> {
        page.integrations.unwrap_or_default()
    }

    fn arn(integration: &Integration) -> &str {
        integration.integration_arn().unwrap_or_default()
    }

    fn facts<'a>(integration: &'a Integration, protect_tag: &str) -> IntegrationFacts<'a> {
        IntegrationFacts {
            arn: integration.integration_arn().unwrap_or_default(),
            name: integration.integration_name(),
            status: integration.status().map(|s| s.as_str()).unwrap_or_default(),
            created: integration.create_time(),
            protected: integration.tags().iter().any(|tag| tag.key() == Some(protect_tag)),
            failure: errors_text(integration.errors().iter().map(|e| (e.error_code(), e.error_message()))),
        }
    }

    fn definition(i: &Integration) -> Definition {
        Definition::of(Some(RECREATE))
            .text("SourceArn", i.source_arn())
            .text("TargetArn", i.target_arn())
            .text("IntegrationName", i.integration_name())
            .text("KMSKeyId", i.kms_key_id())
            .map("AdditionalEncryptionContext", i.additional_encryption_context())
            .tags("Tags", i.tags().iter().map(|t| (t.key(), t.value())))
            .text("DataFilter", i.data_filter())
            .text("Description", i.description())
    }

    fn delete(
        client: &Client,
        identifier: &str,
    ) -> impl Future<Output = Result<DeleteIntegrationOutput, SdkError<DeleteIntegrationError, HttpResponse>>> + Send
    {
        client.delete_integration().integration_identifier(identifier).send()
    }

    fn deleted_status(deleted: &DeleteIntegrationOutput) -> Option<&str> {
        deleted.status().map(|s| s.as_str())
    }
}

/// The `IntegrationIdentifier` for an integration ARN: the id after `:integration:`, or the text itself when it is
/// not such an ARN (an id already).
pub fn integration_id(arn: &str) -> &str {
    arn.rsplit_once(":integration:").map_or(arn, |(_, id)| id)
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
