//! Building the AWS adapters once per process: one SDK client per service and region, from aws-config defaults
//! (so `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` work), each call bounded in time. Retries are the
//! janitor's own ([`crate::calls`]): the SDK makes one attempt per call.

use crate::config::{ConfigError, Settings};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use std::time::Duration;

/// How long one attempt of a control-plane call may take, and connecting to its endpoint. The SDK sets no
/// operation timeout by default, so without these a call that never answers holds the run until Lambda kills it.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Loads the shared AWS configuration (region, credentials, endpoints) from the environment and profiles.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Bounds every SDK call: the connection, each attempt, and the whole operation.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(ATTEMPT_TIMEOUT)
        .build()
}

/// The first-seen store's DynamoDB calls and the DTS secret's Secrets Manager reads keep the SDK's standard retries
/// (their calls are few and not paced), bounded like every other call.
pub fn store_retry_config(max_attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(max_attempts)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_secs(5))
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
