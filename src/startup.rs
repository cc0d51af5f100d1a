//! Cold start: settings -> AWS clients -> the janitor, shared by the Lambda and CLI faces, the demo and the tests.

use crate::aws;
use crate::config::{ConfigError, Settings};
use crate::handler::Janitor;
use crate::providers::dms::FirstSeen;
use crate::state::FileStore;
use aws_config::retry::RetryConfig;
use aws_config::SdkConfig;
use std::path::PathBuf;
use std::sync::Arc;

/// Where first-seen marks live: the explicit `JANITOR_STATE_FILE`, else `default_state_file` (the CLI's
/// per-user path; Lambda has none, because its disk does not outlive the instance).
pub fn first_seen(settings: &Settings, default_state_file: Option<PathBuf>) -> FirstSeen {
    if settings.policy.dms_grace.is_zero() {
        return FirstSeen::NotNeeded;
    }
    match settings.state_file.clone().or(default_state_file) {
        Some(path) => FirstSeen::Store(Arc::new(FileStore::new(path))),
        None => FirstSeen::NoStore,
    }
}

/// Builds the janitor on a loaded AWS configuration, with one client per service and region.
pub fn janitor_with(
    sdk: &SdkConfig,
    settings: Settings,
    default_state_file: Option<PathBuf>,
    retry: RetryConfig,
) -> Result<Janitor, ConfigError> {
    let regions = aws::regions(&settings, sdk)?;
    let planes = aws::control_planes(sdk, &settings, &regions, retry, first_seen(&settings, default_state_file));
    Ok(Janitor::new(settings, planes))
}

/// Builds the janitor from the process's AWS configuration (environment, profiles, endpoints).
pub async fn janitor(settings: Settings, default_state_file: Option<PathBuf>) -> Result<Janitor, ConfigError> {
    let sdk = aws::load_sdk_config().await;
    let retry = aws::retry_config(settings.max_attempts);
    janitor_with(&sdk, settings, default_state_file, retry)
}
