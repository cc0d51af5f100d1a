//! Building the AWS adapters once per process: one SDK client per service and region, from aws-config defaults
//! (so `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` work), with a retry policy that outlasts throttling.

use crate::config::{ConfigError, Settings};
use crate::providers::dms::FirstSeen;
use crate::providers::{ControlPlane, DmsConnections, RdsIntegrations};
use crate::resource::Provider;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::sync::Arc;
use std::time::Duration;

/// Loads the shared AWS configuration (region, credentials, endpoints) from the environment and profiles.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Standard retries with exponential backoff and jitter; throttling and 5xx are retried up to `max_attempts`.
pub fn retry_config(max_attempts: u32) -> RetryConfig {
    RetryConfig::standard().with_max_attempts(max_attempts).with_max_backoff(Duration::from_secs(20))
}

/// The regions to sweep: `JANITOR_REGIONS`, else the region aws-config resolved.
pub fn regions(settings: &Settings, sdk: &SdkConfig) -> Result<Vec<String>, ConfigError> {
    match (&settings.regions, sdk.region()) {
        (Some(regions), _) => Ok(regions.clone()),
        (None, Some(region)) => Ok(vec![region.to_string()]),
        (None, None) => Err(ConfigError {
            variable: "JANITOR_REGIONS",
            value: String::new(),
            expected: "a comma list of regions, or a configured AWS region (AWS_REGION or the profile's region)"
                .to_owned(),
        }),
    }
}

/// The adapters for the enabled AWS providers, each with a client per region.
pub fn control_planes(
    sdk: &SdkConfig,
    settings: &Settings,
    regions: &[String],
    retry: RetryConfig,
    first_seen: FirstSeen,
) -> Vec<Arc<dyn ControlPlane>> {
    settings
        .providers
        .iter()
        .filter_map(|provider| -> Option<Arc<dyn ControlPlane>> {
            Some(match provider {
                Provider::Dts => return None,
                Provider::Dms => Arc::new(DmsConnections::new(
                    regions
                        .iter()
                        .map(|region| {
                            let config = aws_sdk_databasemigration::config::Builder::from(sdk)
                                .region(Region::new(region.clone()))
                                .retry_config(retry.clone())
                                .build();
                            (region.clone(), aws_sdk_databasemigration::Client::from_conf(config))
                        })
                        .collect(),
                    settings.protect_tag.clone(),
                    first_seen.clone(),
                )),
                Provider::Rds => Arc::new(RdsIntegrations::new(
                    regions
                        .iter()
                        .map(|region| {
                            let config = aws_sdk_rds::config::Builder::from(sdk)
                                .region(Region::new(region.clone()))
                                .retry_config(retry.clone())
                                .build();
                            (region.clone(), aws_sdk_rds::Client::from_conf(config))
                        })
                        .collect(),
                    settings.protect_tag.clone(),
                )),
            })
        })
        .collect()
}
