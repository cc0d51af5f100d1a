//! Cold start: settings -> AWS clients -> the janitor, shared by the Lambda and CLI faces, the demo and the tests.

use crate::app::accounts::{AccountSource, AssumedRoles, Directory, Listed, Members, Organization};
use crate::app::janitor::Janitor;
use crate::aws;
use crate::config::{ConfigError, Settings};
use crate::domain::clock::Clocks;
use crate::engine::calls::{Caller, RetryPolicy};
use crate::outputs::archive::ReportArchive;
use crate::outputs::map_results::MapResults;
use crate::outputs::notify::Notifier;
use crate::outputs::recheck::Rechecks;
use crate::providers::registry::{Build, BuildError, Cloud};
use crate::state::{DynamoStore, FileStore, FirstSeen};
use aws_config::SdkConfig;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long a first-seen mark outlives its first sighting: long enough that a resource still stale (protected,
/// excluded, capped) keeps its mark well past the longest grace; an expired mark only restarts the grace, never
/// shortens it. Saturating: the settings bound the grace, but no product of a setting may overflow.
pub fn mark_ttl(settings: &Settings) -> Duration {
    MARK_TTL_FLOOR.max(settings.longest_grace().saturating_mul(4))
}

const MARK_TTL_FLOOR: Duration = Duration::from_secs(30 * 86_400);

/// Where first-seen marks live: the DynamoDB table `JANITOR_STATE_TABLE`, else the file `JANITOR_STATE_FILE`, else
/// `default_state_file` (the CLI's per-user path; Lambda has none, because its disk does not outlive the instance).
///
/// With every grace zero no mark is needed, but a configured store still leases the scopes a run sweeps, so that
/// overlapping runs never delete in the same scope at once.
pub fn first_seen(
    settings: &Settings,
    sdk: &SdkConfig,
    default_state_file: Option<PathBuf>,
    clocks: &Arc<Clocks>,
) -> FirstSeen {
    if let Some(table) = &settings.state_table {
        let config = aws_sdk_dynamodb::config::Builder::from(sdk)
            .retry_config(aws::store_retry_config(settings.max_attempts))
            .timeout_config(aws::timeout_config())
            .interceptor(aws::ClockWatch::new("dynamodb", clocks))
            .build();
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), table.clone(), mark_ttl(settings));
        return FirstSeen::Store(Arc::new(store));
    }
    match settings.state_file.clone().or(default_state_file) {
        Some(path) => FirstSeen::Store(Arc::new(FileStore::new(path, mark_ttl(settings)))),
        None if settings.longest_grace().is_zero() => FirstSeen::NotNeeded,
        None => FirstSeen::NoStore,
    }
}

/// Why the janitor could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Setting(#[from] ConfigError),
    #[error(transparent)]
    Provider(#[from] BuildError),
}

impl StartupError {
    /// A short name for the kind of failure (the Lambda init error's type).
    pub fn kind(&self) -> &'static str {
        match self {
            StartupError::Setting(_) => "InvalidSetting",
            StartupError::Provider(_) => "ProviderUnavailable",
        }
    }
}

/// Builds the janitor on a loaded AWS configuration, with one client per service and region; `retry` is the
/// control-plane calls' policy (the tests shorten its backoff).
pub async fn janitor_with(
    sdk: &SdkConfig,
    settings: Settings,
    default_state_file: Option<PathBuf>,
    retry: RetryPolicy,
) -> Result<Janitor, StartupError> {
    // Each cloud's regions, resolved once: its setting, else (an AWS-config cloud) the configured region.
    // Those of per-account clouds are the member accounts' regions in an organization run.
    let mut cloud_regions: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut member_regions: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for cloud in settings.planes.iter().map(|plane| plane.provider.cloud()) {
        if !cloud_regions.contains_key(cloud.name) {
            let regions = regions(cloud, &settings, sdk)?;
            if cloud.per_account {
                member_regions.insert(cloud.name, regions.clone());
            }
            cloud_regions.insert(cloud.name, regions);
        }
    }
    let clocks = Arc::new(Clocks::default());
    let first_seen = first_seen(&settings, sdk, default_state_file, &clocks);
    let caller = Caller::new(retry, settings.concurrency);
    let mut planes = Vec::new();
    // An organization run reaches the planes of per-account clouds (AWS) in each member account through its role
    // (accounts::AssumedRoles); the planes built here are then the other clouds' only, swept once.
    let home = settings.planes.iter().filter(|p| settings.organization.is_none() || !p.provider.cloud().per_account);
    for plane in home {
        let build = Build {
            sdk,
            settings: plane,
            regions: cloud_regions.get(plane.provider.cloud().name).map_or(&[], Vec::as_slice),
            caller: &caller,
            protect_tag: &settings.protect_tag,
            max_attempts: settings.max_attempts,
            clocks: &clocks,
        };
        planes.push((plane.provider.spec().build)(build).await?);
    }
    let archive = settings.report_bucket.as_ref().map(|b| ReportArchive::from_sdk(sdk, b, settings.max_attempts));
    // The fan-out's summary reads its results from the same bucket (a `summarizeFrom` naming another is refused).
    let results = settings.report_bucket.as_ref().map(|_| MapResults::from_sdk(sdk, settings.max_attempts));
    let notifier = settings.notify_topic_arn.as_ref().map(|t| Notifier::from_sdk(sdk, t, settings.max_attempts));
    let rechecks = settings.recheck.clone().map(|r| Rechecks::from_sdk(sdk, r, settings.max_attempts));
    let organization = settings.organization.clone().map(|org| {
        let directory: Arc<dyn Directory> = match &org.source {
            AccountSource::Listed(accounts) => Arc::new(Listed(accounts.clone())),
            AccountSource::Organization { units } => {
                let config = aws_sdk_organizations::config::Builder::from(sdk)
                    .retry_config(aws_config::retry::RetryConfig::disabled())
                    .timeout_config(aws::timeout_config())
                    .build();
                let client = aws_sdk_organizations::Client::from_conf(config);
                Arc::new(Organization::new(client, units.clone(), caller.clone()))
            }
        };
        let members: Arc<dyn Members> = Arc::new(
            AssumedRoles::new(
                sdk,
                &org,
                &settings.planes,
                member_regions.clone(),
                retry,
                settings.concurrency,
                &settings.protect_tag,
            )
            .watching_clocks(Arc::clone(&clocks)),
        );
        (directory, members)
    });
    let mut janitor = Janitor::with_clocks(settings, planes, first_seen, clocks);
    if let Some((directory, members)) = organization {
        janitor = janitor.with_organization(directory, members, member_regions);
    }
    if let Some(archive) = archive {
        janitor = janitor.with_archive(archive);
    }
    if let Some(notifier) = notifier {
        janitor = janitor.with_notifier(notifier);
    }
    if let Some(rechecks) = rechecks {
        janitor = janitor.with_rechecks(rechecks);
    }
    if let Some(results) = results {
        janitor = janitor.with_results(results);
    }
    Ok(janitor)
}

/// Builds the janitor from the process's AWS configuration (environment, profiles, endpoints).
pub async fn janitor(settings: Settings, default_state_file: Option<PathBuf>) -> Result<Janitor, StartupError> {
    // A DTS-only run with credentials in the environment touches no AWS service: loading the AWS configuration
    // there would only probe for a region it does not need.
    let needs_aws = settings.needs_aws();
    let sdk = if needs_aws { aws::load_sdk_config().await } else { SdkConfig::builder().build() };
    let retry = RetryPolicy::new(settings.max_attempts);
    janitor_with(&sdk, settings, default_state_file, retry).await
}

/// The regions to sweep of `cloud`: its setting (`JANITOR_REGIONS`), else, for a cloud whose clients come from the
/// AWS configuration, the region aws-config resolved.
pub fn regions(cloud: &Cloud, settings: &Settings, sdk: &SdkConfig) -> Result<Vec<String>, ConfigError> {
    match (settings.regions.get(cloud.name), sdk.region()) {
        (Some(regions), _) => Ok(regions.clone()),
        (None, Some(region)) if cloud.aws_credentials => Ok(vec![region.to_string()]),
        (None, _) => Err(ConfigError {
            variable: cloud.region_setting,
            value: String::new(),
            expected: if cloud.aws_credentials {
                "a comma list of regions, or a configured AWS region (AWS_REGION or the profile's region)".to_owned()
            } else {
                format!("a comma list of {}", cloud.region_example)
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_grace(grace: Duration) -> Settings {
        let mut settings = Settings::parse(|_| None).expect("defaults");
        for plane in &mut settings.planes {
            plane.grace.duration = grace;
        }
        settings
    }

    #[test]
    fn a_mark_outlives_four_graces_and_never_overflows() {
        assert_eq!(mark_ttl(&with_grace(Duration::from_secs(3_600))), MARK_TTL_FLOOR);
        assert_eq!(mark_ttl(&with_grace(Duration::from_secs(10 * 86_400))), Duration::from_secs(40 * 86_400));
        assert_eq!(mark_ttl(&with_grace(Duration::MAX)), Duration::MAX);
    }
}
