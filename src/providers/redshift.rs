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
//!   RDS-sourced integration, which the RDS provider owns, or a Glue one) is left out of this provider's scan, so no
//!   integration is ever judged twice. The describe -> delete -> verify flow is the shared one (`zero_etl.rs`).

use super::aws_sdk::{sdk_clients, DeleteCodes};
use super::spec::{ArnShape, Build, Building, EventKind, ProviderSpec};
use super::zero_etl::{
    errors_text, owns, IntegrationFacts, IntegrationOptions, Integrations, Profile, ZeroEtlApi, LOWER_CASE,
};
use crate::domain::resource::{Definition, Provider, AWS};
use crate::domain::setting::Setting;
use aws_sdk_redshift::error::SdkError;
use aws_sdk_redshift::operation::delete_integration::{DeleteIntegrationError, DeleteIntegrationOutput};
use aws_sdk_redshift::operation::describe_integrations::{DescribeIntegrationsError, DescribeIntegrationsOutput};
use aws_sdk_redshift::types::Integration;
use aws_sdk_redshift::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub const PROVIDER: Provider = Provider::on("redshift", &AWS);

/// The call that re-makes an integration, as the AWS CLI names it.
pub const RECREATE: &str = "redshift create-integration";

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
    parse: |env| Ok(Arc::new(IntegrationOptions::parse(env, "JANITOR_REDSHIFT_STATUSES", &LOWER_CASE)?)),
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
        let clients = sdk_clients("redshift", build.regions, |region| {
            let config = aws_sdk_redshift::config::Builder::from(build.sdk)
                .region(region)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .timeout_config(crate::aws::timeout_config())
                .interceptor(crate::aws::ClockWatch::new("redshift", build.clocks))
                .build();
            Client::from_conf(config)
        });
        RedshiftIntegrations::built(&build, clients)
    })
}

/// Redshift-managed integrations in each region the run may sweep.
pub type RedshiftIntegrations = Integrations<Redshift>;

/// Whether `arn` is a Redshift integration ARN (the model's pattern, partition and all): only those are this
/// provider's.
fn is_redshift_integration(arn: &str) -> bool {
    owns("redshift", arn)
}

/// The Redshift API's zero-ETL calls (awsQuery, 2012-12-01).
pub struct Redshift;

impl ZeroEtlApi for Redshift {
    type Client = Client;
    type Integration = Integration;
    type Page = DescribeIntegrationsOutput;
    type DescribeError = DescribeIntegrationsError;
    type Deleted = DeleteIntegrationOutput;
    type DeleteError = DeleteIntegrationError;

    const PROFILE: Profile = Profile {
        provider: PROVIDER,
        owns: is_redshift_integration,
        noun: "a Redshift integration",
        statuses: &LOWER_CASE,
        delete_action: "redshift:DeleteIntegration",
        // DeleteIntegration's error codes (the Redshift model).
        delete_codes: DeleteCodes {
            gone: &["IntegrationNotFoundFault"],
            wrong_state: &["IntegrationConflictStateFault", "IntegrationConflictOperationFault"],
            explained: &[],
        },
        describe_gone: &["IntegrationNotFoundFault"],
        // DescribeIntegrations' largest page (the model allows 20..=100).
        page_size: 100,
        identifier: |arn| arn,
    };

    fn describe(
        client: &Client,
        arn: Option<&str>,
        page_size: i32,
        marker: Option<String>,
    ) -> impl Future<Output = Result<DescribeIntegrationsOutput, SdkError<DescribeIntegrationsError, HttpResponse>>> + Send
    {
        client
            .describe_integrations()
            .set_integration_arn(arn.map(str::to_owned))
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
            .tags("TagList", i.tags().iter().map(|t| (t.key(), t.value())))
            .text("Description", i.description())
    }

    fn delete(
        client: &Client,
        arn: &str,
    ) -> impl Future<Output = Result<DeleteIntegrationOutput, SdkError<DeleteIntegrationError, HttpResponse>>> + Send
    {
        client.delete_integration().integration_arn(arn).send()
    }

    fn deleted_status(deleted: &DeleteIntegrationOutput) -> Option<&str> {
        deleted.status().map(|s| s.as_str())
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
