//! The create calls that undo a deletion (the [`Recreator`] port of `engine/restore.rs`), through the official SDK
//! clients: RDS's, Redshift's and Glue's `CreateIntegration`, and DMS's `TestConnection`, which (re)makes the
//! connection between an endpoint and a replication instance. The input is the definition a report kept, in each
//! API's own member names (see each provider's `definition`).
//!
//! Documented (the SDK models): the members of each create call; RDS, Redshift and Glue take tags on create, DMS
//! connections have none. Assumed: that an integration name is unique per account and region (the models list
//! `IntegrationAlreadyExistsFault` for RDS and Redshift), so restore checks for a live integration of the same name,
//! ignoring case, before it calls, and refuses rather than make a second one.

use super::aws_sdk::error_line;
use super::{dms, glue, rds, redshift};
use crate::engine::restore::{RecreateError, Recreates, Recreator};
use async_trait::async_trait;
use aws_config::{Region, SdkConfig};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::{Map, Value};
use std::collections::HashMap;

type Input = Map<String, Value>;

/// The create calls, with clients made per region from one AWS configuration (restore is a CLI command that
/// makes a handful of calls, so nothing is pooled).
pub struct SdkRecreator {
    config: SdkConfig,
}

impl SdkRecreator {
    pub fn new(config: SdkConfig) -> SdkRecreator {
        SdkRecreator { config }
    }

    fn rds(&self, region: &str) -> aws_sdk_rds::Client {
        let config = aws_sdk_rds::config::Builder::from(&self.config).region(Region::new(region.to_owned())).build();
        aws_sdk_rds::Client::from_conf(config)
    }

    fn redshift(&self, region: &str) -> aws_sdk_redshift::Client {
        let config =
            aws_sdk_redshift::config::Builder::from(&self.config).region(Region::new(region.to_owned())).build();
        aws_sdk_redshift::Client::from_conf(config)
    }

    fn glue(&self, region: &str) -> aws_sdk_glue::Client {
        let config = aws_sdk_glue::config::Builder::from(&self.config).region(Region::new(region.to_owned())).build();
        aws_sdk_glue::Client::from_conf(config)
    }

    fn dms(&self, region: &str) -> aws_sdk_databasemigration::Client {
        let config = aws_sdk_databasemigration::config::Builder::from(&self.config)
            .region(Region::new(region.to_owned()))
            .build();
        aws_sdk_databasemigration::Client::from_conf(config)
    }
}

impl Recreates for SdkRecreator {
    fn supports(&self, call: &str) -> bool {
        [rds::RECREATE, redshift::RECREATE, glue::RECREATE, dms::RECREATE].contains(&call)
    }

    fn tag_member(&self, call: &str) -> Option<&'static str> {
        match call {
            c if c == rds::RECREATE || c == glue::RECREATE => Some("Tags"),
            c if c == redshift::RECREATE => Some("TagList"),
            _ => None,
        }
    }
}

/// The most pages of DescribeIntegrations a clash check reads (100 integrations a page).
const MAX_PAGES: usize = 100;

#[async_trait]
impl Recreator for SdkRecreator {
    async fn clash(&self, call: &str, region: &str, input: &Input) -> Result<Option<String>, RecreateError> {
        if call == dms::RECREATE {
            return self.connection_clash(region, input).await;
        }
        let Some(name) = text(input, "IntegrationName") else {
            return Err(RecreateError("the definition names no IntegrationName".to_owned()));
        };
        let listed = self.integrations(call, region).await?;
        Ok(listed.into_iter().find(|(_, listed_name, _)| listed_name.eq_ignore_ascii_case(&name)).map(
            |(arn, listed_name, status)| {
                format!("the name {listed_name} is taken by the live integration {arn} ({status})")
            },
        ))
    }

    async fn recreate(&self, call: &str, region: &str, input: &Input) -> Result<String, RecreateError> {
        match call {
            c if c == rds::RECREATE => {
                let client = self.rds(region);
                let tags = pairs(input, "Tags")
                    .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build())
                    .collect();
                let made = client
                    .create_integration()
                    .set_source_arn(text(input, "SourceArn"))
                    .set_target_arn(text(input, "TargetArn"))
                    .set_integration_name(text(input, "IntegrationName"))
                    .set_kms_key_id(text(input, "KMSKeyId"))
                    .set_additional_encryption_context(map(input, "AdditionalEncryptionContext"))
                    .set_tags(Some(tags))
                    .set_data_filter(text(input, "DataFilter"))
                    .set_description(text(input, "Description"))
                    .send()
                    .await
                    .map_err(|e| failed(&e))?;
                Ok(made.integration_arn().unwrap_or_default().to_owned())
            }
            c if c == redshift::RECREATE => {
                let client = self.redshift(region);
                let tags = pairs(input, "TagList")
                    .map(|(k, v)| aws_sdk_redshift::types::Tag::builder().key(k).value(v).build())
                    .collect();
                let made = client
                    .create_integration()
                    .set_source_arn(text(input, "SourceArn"))
                    .set_target_arn(text(input, "TargetArn"))
                    .set_integration_name(text(input, "IntegrationName"))
                    .set_kms_key_id(text(input, "KMSKeyId"))
                    .set_additional_encryption_context(map(input, "AdditionalEncryptionContext"))
                    .set_tag_list(Some(tags))
                    .set_description(text(input, "Description"))
                    .send()
                    .await
                    .map_err(|e| failed(&e))?;
                Ok(made.integration_arn().unwrap_or_default().to_owned())
            }
            c if c == glue::RECREATE => {
                let client = self.glue(region);
                let tags = pairs(input, "Tags")
                    .map(|(k, v)| aws_sdk_glue::types::Tag::builder().key(k).value(v).build())
                    .collect();
                let made = client
                    .create_integration()
                    .set_integration_name(text(input, "IntegrationName"))
                    .set_source_arn(text(input, "SourceArn"))
                    .set_target_arn(text(input, "TargetArn"))
                    .set_description(text(input, "Description"))
                    .set_data_filter(text(input, "DataFilter"))
                    .set_kms_key_id(text(input, "KmsKeyId"))
                    .set_additional_encryption_context(map(input, "AdditionalEncryptionContext"))
                    .set_tags(Some(tags))
                    .set_integration_config(glue_config(input))
                    .send()
                    .await
                    .map_err(|e| failed(&e))?;
                Ok(made.integration_arn().to_owned())
            }
            c if c == dms::RECREATE => {
                let (endpoint, instance) = connection(input)?;
                let client = self.dms(region);
                let made = client
                    .test_connection()
                    .endpoint_arn(&endpoint)
                    .replication_instance_arn(&instance)
                    .send()
                    .await
                    .map_err(|e| failed(&e))?;
                let status = made.connection().and_then(|c| c.status()).unwrap_or("testing");
                Ok(format!("{endpoint}|{instance} ({status})"))
            }
            other => Err(RecreateError(format!("restore does not know the call {other}"))),
        }
    }
}

impl SdkRecreator {
    /// Every integration the call's service lists in `region`: (ARN, name, status).
    async fn integrations(&self, call: &str, region: &str) -> Result<Vec<Listed>, RecreateError> {
        let lister = match call {
            c if c == rds::RECREATE => Lister::Rds(self.rds(region)),
            c if c == redshift::RECREATE => Lister::Redshift(self.redshift(region)),
            _ => Lister::Glue(self.glue(region)),
        };
        let mut listed = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let (page, next) = lister.page(marker).await?;
            listed.extend(page);
            marker = next.filter(|m| !m.is_empty());
            if marker.is_none() {
                return Ok(listed);
            }
        }
        Err(RecreateError(format!("DescribeIntegrations: more than {MAX_PAGES} pages; stopped")))
    }

    async fn connection_clash(&self, region: &str, input: &Input) -> Result<Option<String>, RecreateError> {
        let (endpoint, instance) = connection(input)?;
        let filter = |name: &str, value: &str| {
            aws_sdk_databasemigration::types::Filter::builder().name(name).values(value).build()
        };
        let filters = [filter("endpoint-arn", &endpoint), filter("replication-instance-arn", &instance)];
        let filters = filters.into_iter().collect::<Result<Vec<_>, _>>().map_err(|e| RecreateError(e.to_string()))?;
        let page = self.dms(region).describe_connections().set_filters(Some(filters)).send().await;
        let page = page.map_err(|e| failed(&e))?;
        Ok(page
            .connections()
            .iter()
            .find(|c| {
                c.endpoint_arn() == Some(endpoint.as_str()) && c.replication_instance_arn() == Some(instance.as_str())
            })
            .map(|c| format!("the connection between them exists ({})", c.status().unwrap_or("?"))))
    }
}

/// An integration as a clash check sees it: (ARN, name, status).
type Listed = (String, String, String);

/// One service's DescribeIntegrations, through a client made once per check.
enum Lister {
    Rds(aws_sdk_rds::Client),
    Redshift(aws_sdk_redshift::Client),
    Glue(aws_sdk_glue::Client),
}

impl Lister {
    /// One page after `marker`, and the marker of the next.
    async fn page(&self, marker: Option<String>) -> Result<(Vec<Listed>, Option<String>), RecreateError> {
        match self {
            Lister::Rds(client) => {
                let page = client.describe_integrations().set_marker(marker).send().await.map_err(|e| failed(&e))?;
                let listed = page.integrations().iter().map(|i| {
                    let status = i.status().map(|s| s.as_str().to_owned()).unwrap_or_default();
                    (owned(i.integration_arn()), owned(i.integration_name()), status)
                });
                Ok((listed.collect(), page.marker().map(str::to_owned)))
            }
            Lister::Redshift(client) => {
                let page = client.describe_integrations().set_marker(marker).send().await.map_err(|e| failed(&e))?;
                let listed = page.integrations().iter().map(|i| {
                    let status = i.status().map(|s| s.as_str().to_owned()).unwrap_or_default();
                    (owned(i.integration_arn()), owned(i.integration_name()), status)
                });
                Ok((listed.collect(), page.marker().map(str::to_owned)))
            }
            Lister::Glue(client) => {
                let page = client.describe_integrations().set_marker(marker).send().await.map_err(|e| failed(&e))?;
                let listed = page.integrations().iter().map(|i| {
                    (i.integration_arn().to_owned(), i.integration_name().to_owned(), i.status().as_str().to_owned())
                });
                Ok((listed.collect(), page.marker().map(str::to_owned)))
            }
        }
    }
}

fn connection(input: &Input) -> Result<(String, String), RecreateError> {
    match (text(input, "EndpointArn"), text(input, "ReplicationInstanceArn")) {
        (Some(endpoint), Some(instance)) => Ok((endpoint, instance)),
        _ => Err(RecreateError("the definition lacks EndpointArn or ReplicationInstanceArn".to_owned())),
    }
}

fn glue_config(input: &Input) -> Option<aws_sdk_glue::types::IntegrationConfig> {
    let config = input.get("IntegrationConfig")?.as_object()?;
    Some(
        aws_sdk_glue::types::IntegrationConfig::builder()
            .set_refresh_interval(text(config, "RefreshInterval"))
            .set_source_properties(map(config, "SourceProperties"))
            .set_continuous_sync(config.get("ContinuousSync").and_then(Value::as_bool))
            .set_target_namespace(text(config, "TargetNamespace"))
            .build(),
    )
}

fn owned(text: Option<&str>) -> String {
    text.unwrap_or_default().to_owned()
}

fn text(input: &Input, key: &str) -> Option<String> {
    input.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn map(input: &Input, key: &str) -> Option<HashMap<String, String>> {
    let object = input.get(key)?.as_object()?;
    Some(object.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect())
}

/// The `[{"Key": .., "Value": ..}]` list at `key`.
fn pairs<'a>(input: &'a Input, key: &str) -> impl Iterator<Item = (&'a str, &'a str)> {
    input.get(key).and_then(Value::as_array).into_iter().flatten().filter_map(|tag| {
        let key = tag.get("Key").and_then(Value::as_str)?;
        Some((key, tag.get("Value").and_then(Value::as_str).unwrap_or_default()))
    })
}

/// A failed call as one line ([`error_line`]), as restore reports it.
fn failed<E: ProvideErrorMetadata + std::error::Error + 'static>(error: &SdkError<E, HttpResponse>) -> RecreateError {
    RecreateError(error_line(error))
}
