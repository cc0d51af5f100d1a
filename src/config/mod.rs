//! Settings from the environment (the CLI feeds its flags through the same parser), validated once at start:
//! a bad value is an error that names the variable, the value and what is accepted.

pub mod organization;
pub mod recheck;

use crate::domain::duration;
use crate::domain::pattern::Patterns;
use crate::domain::resource::{Cloud, Provider};
use crate::domain::setting::{invalid, Env, AGE_RANGE};
use crate::engine::policy::{Limits, Policy};
use crate::providers::registry::{self, Grace, ProviderSettings, REGISTRY};
use organization::{AccountSource, OrgSettings};
use recheck::RecheckSettings;
use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::domain::setting::{ConfigError, Setting};

/// Everything the janitor reads from its environment.
#[derive(Clone, Debug)]
pub struct Settings {
    pub dry_run: bool,
    pub providers: Vec<Provider>,
    /// The regions each cloud's setting lists, by cloud name; a cloud whose setting is unset is absent (an AWS-config
    /// cloud then sweeps the configured region).
    pub regions: BTreeMap<&'static str, Vec<String>>,
    pub policy: Policy,
    pub protect_tag: String,
    pub limits: Limits,
    pub concurrency: usize,
    pub metrics_namespace: String,
    /// Explicit `JANITOR_STATE_FILE`, if set.
    pub state_file: Option<PathBuf>,
    pub max_attempts: u32,
    pub deadline_margin: Duration,
    /// How far this machine's clock may be from the services' before marks are refused (`JANITOR_MAX_CLOCK_SKEW`).
    pub max_clock_skew: Duration,
    /// How long a CLI run may take (`JANITOR_TIME_LIMIT`); `None`: no limit.
    pub time_limit: Option<Duration>,
    /// DynamoDB table of first-seen marks (`JANITOR_STATE_TABLE`), the Lambda's durable store.
    pub state_table: Option<String>,
    /// The enabled providers' own settings, in the order of `providers`.
    pub planes: Vec<ProviderSettings>,
    /// S3 bucket every run's full report is archived to (`JANITOR_REPORT_BUCKET`).
    pub report_bucket: Option<String>,
    /// SNS topic a run with something to say notifies (`JANITOR_NOTIFY_TOPIC_ARN`).
    pub notify_topic_arn: Option<String>,
    /// The accounts of an organization to sweep through a member role; `None`: the janitor's own account.
    pub organization: Option<OrgSettings>,
    /// The one-time schedules that re-check resources when their graces end; `None`: the next run judges them.
    pub recheck: Option<RecheckSettings>,
}

/// Every setting: the run-wide ones, then each provider's own, in registry order.
pub fn all_settings() -> impl Iterator<Item = &'static Setting> {
    SETTINGS.iter().chain(registry::provider_settings())
}

/// The run-wide settings; each provider declares its own in its spec.
pub const SETTINGS: &[Setting] = &[
    Setting {
        variable: "JANITOR_DRY_RUN",
        default: "true",
        meaning: "`false` is the only way to delete; dry run makes zero Delete calls",
        flag: None,
    },
    Setting {
        variable: "JANITOR_PROVIDERS",
        default: "dms,rds",
        meaning: "control planes to sweep: a comma list of the providers' names (the table below)",
        flag: None,
    },
    Setting {
        variable: "JANITOR_REGIONS",
        default: "the configured region",
        meaning: "comma list; regions are swept concurrently",
        flag: None,
    },
    Setting {
        variable: "JANITOR_MIN_AGE",
        default: "24h",
        meaning: "resources whose control plane keeps a creation time: minimum age since it (0 to 3650d)",
        flag: None,
    },
    Setting {
        variable: "JANITOR_PROTECT_TAG",
        default: "janitor:protect",
        meaning: "tag key that protects (any value); for DMS, on the endpoint or replication instance",
        flag: None,
    },
    Setting {
        variable: "JANITOR_INCLUDE",
        default: "none",
        meaning: "comma list of globs on name or ARN; only matches are swept",
        flag: None,
    },
    Setting {
        variable: "JANITOR_EXCLUDE",
        default: "none",
        meaning: "comma list of globs on name or ARN; matches are never deleted",
        flag: None,
    },
    Setting {
        variable: "JANITOR_MAX_DELETES",
        default: "100",
        meaning: "deletions per run; the rest are reported as capped",
        flag: None,
    },
    Setting {
        variable: "JANITOR_ABORT_ABOVE_PERCENT",
        default: "off",
        meaning: "tripwire: delete nothing for a provider whose stale share of its scan is above this",
        flag: None,
    },
    Setting { variable: "JANITOR_CONCURRENCY", default: "8", meaning: "deletes in flight (1..=64)", flag: None },
    Setting {
        variable: "JANITOR_METRICS_NAMESPACE",
        default: "ReplicationJanitor",
        meaning: "CloudWatch EMF namespace",
        flag: None,
    },
    Setting {
        variable: "JANITOR_STATE_FILE",
        default: "per-user state path (CLI); none (Lambda)",
        meaning: "file of first-seen marks (each provider's grace)",
        flag: None,
    },
    Setting {
        variable: "JANITOR_MAX_ATTEMPTS",
        default: "8",
        meaning: "attempts per AWS call, with backoff and jitter on throttling and 5xx (1..=20)",
        flag: None,
    },
    Setting {
        variable: "JANITOR_STATE_TABLE",
        default: "none",
        meaning: "DynamoDB table of first-seen marks (each provider's grace; the Lambda's store)",
        flag: None,
    },
    Setting {
        variable: "JANITOR_DTS_REGIONS",
        default: "none",
        meaning: "Alibaba Cloud regions to sweep for DTS jobs (required with dts)",
        flag: None,
    },
    Setting {
        variable: "JANITOR_DEADLINE_MARGIN",
        default: "10s",
        meaning: "start no delete, and stop waiting, when less than this is left of the Lambda invocation or of \
                  JANITOR_TIME_LIMIT (0 to 15m)",
        flag: None,
    },
    Setting {
        variable: "JANITOR_MAX_CLOCK_SKEW",
        default: "1m",
        meaning: "write no first-seen mark and delete nothing under a grace when this machine's clock is further \
                  than this from the services' (the Date of their answers) (5s to 1h)",
        flag: None,
    },
    Setting {
        variable: "JANITOR_REPORT_BUCKET",
        default: "none",
        meaning: "S3 bucket that keeps every run's full report, under reports/<date>/<time>-<trigger>-<id>.json",
        flag: None,
    },
    Setting {
        variable: "JANITOR_NOTIFY_TOPIC_ARN",
        default: "none",
        meaning: "SNS topic told about a run that deleted, would delete, failed, capped or tripped (chat format)",
        flag: None,
    },
    Setting {
        variable: "JANITOR_MEMBER_ROLE",
        default: "none",
        meaning: "role name assumed in each member account; set, the run sweeps those accounts (not its own)",
        flag: None,
    },
    Setting {
        variable: "JANITOR_ACCOUNTS",
        default: "the organization's",
        meaning: "12-digit account ids to sweep (with JANITOR_MEMBER_ROLE); else the organization's active accounts",
        flag: None,
    },
    Setting {
        variable: "JANITOR_ORGANIZATIONAL_UNITS",
        default: "none",
        meaning: "only the organization's accounts under these OUs or roots (ou-..., r-...), nested OUs included",
        flag: None,
    },
    Setting {
        variable: "JANITOR_MEMBER_EXTERNAL_ID",
        default: "none",
        meaning: "external id the member role's trust policy requires",
        flag: None,
    },
    Setting {
        variable: "JANITOR_ACCOUNT_CONCURRENCY",
        default: "8",
        meaning: "member accounts swept at once (1..=64)",
        flag: None,
    },
    Setting {
        variable: "JANITOR_ACCOUNT_METRICS",
        default: "false",
        meaning: "`true` adds a metric line per account (dimension Account)",
        flag: None,
    },
    Setting {
        variable: "JANITOR_ACCOUNT_NOTIFICATIONS",
        default: "true",
        meaning: "`false`: no notification per account (the fan-out's summary is the run's one)",
        flag: None,
    },
    Setting {
        variable: "JANITOR_MAX_DELETES_PER_RUN",
        default: "1000",
        meaning: "deletions of a run across its accounts (JANITOR_MAX_DELETES bounds each account)",
        flag: None,
    },
    Setting {
        variable: "JANITOR_RECHECK_SCHEDULER_ROLE_ARN",
        default: "none",
        meaning: "role EventBridge Scheduler assumes to invoke the function; set, a Lambda run schedules a one-time \
                  re-check at the end of each grace it sees (with JANITOR_RECHECK_SCHEDULE_GROUP)",
        flag: None,
    },
    Setting {
        variable: "JANITOR_RECHECK_SCHEDULE_GROUP",
        default: "none",
        meaning: "EventBridge Scheduler schedule group the re-checks are created in (the template's)",
        flag: None,
    },
    Setting {
        variable: "JANITOR_RECHECK_MAX_SCHEDULES",
        default: "20",
        meaning: "re-check schedules a run creates at most (1..=100), earliest first; the rest wait for the next run",
        flag: None,
    },
    Setting {
        variable: "JANITOR_TIME_LIMIT",
        default: "none",
        meaning: "CLI: how long a sweep may take (1s to 7d, longer than JANITOR_DEADLINE_MARGIN)",
        flag: None,
    },
];

/// The accepted range of the run's durations: no arithmetic on them (deadlines are added to the clock) can overflow.
const DEADLINE_MARGIN_RANGE: RangeInclusive<Duration> = Duration::ZERO..=Duration::from_secs(15 * 60);
/// Below 5 s the `Date` header's one-second resolution and a slow answer would look like skew.
const CLOCK_SKEW_RANGE: RangeInclusive<Duration> = Duration::from_secs(5)..=Duration::from_secs(3_600);
const TIME_LIMIT_RANGE: RangeInclusive<Duration> = Duration::from_secs(1)..=Duration::from_secs(7 * 86_400);

impl Settings {
    /// Reads every setting through `env` (a variable lookup), with defaults for the unset ones.
    pub fn parse(env: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let lookup = |variable: &str| env(variable);
        let env = Env::new(&lookup);
        let get = |variable: &'static str| env.get(variable);
        let duration_in = |variable, range| env.duration_in(variable, range);
        let number_of = |variable: &'static str, default: u64, range: RangeInclusive<u64>| match get(variable) {
            None => Ok(default),
            Some(v) => v.parse::<u64>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
                invalid(variable, &v, &format!("a whole number from {} to {}", range.start(), range.end()))
            }),
        };

        let dry_run = match get("JANITOR_DRY_RUN") {
            None => true,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => return Err(invalid("JANITOR_DRY_RUN", &v, "true or false")),
        };
        let providers = match get("JANITOR_PROVIDERS") {
            None => REGISTRY.iter().filter(|spec| spec.default_enabled).map(|spec| spec.provider).collect(),
            Some(v) => {
                let accepted = format!("a comma list of {}", registry::names());
                let mut providers = Vec::new();
                for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let provider = Provider::parse(name).ok_or_else(|| invalid("JANITOR_PROVIDERS", &v, &accepted))?;
                    if !providers.contains(&provider) {
                        providers.push(provider);
                    }
                }
                if providers.is_empty() {
                    return Err(invalid("JANITOR_PROVIDERS", &v, &accepted));
                }
                providers
            }
        };
        let mut regions = BTreeMap::new();
        for cloud in registry::clouds() {
            let expected = format!("a comma list of {}", cloud.region_example);
            match get(cloud.region_setting) {
                Some(v) => {
                    let parsed = parse_regions(&v, cloud)
                        .map_err(|why| invalid(cloud.region_setting, &v, &format!("{expected} ({why})")))?;
                    regions.insert(cloud.name, parsed);
                }
                None if !cloud.aws_credentials => {
                    let users: Vec<&str> =
                        providers.iter().filter(|p| p.cloud() == cloud).map(|p| p.as_str()).collect();
                    if !users.is_empty() {
                        let why = format!("{expected} when JANITOR_PROVIDERS includes {}", users.join(","));
                        return Err(invalid(cloud.region_setting, "", &why));
                    }
                }
                None => {}
            }
        }
        // Every provider's settings are read, enabled or not, so a bad value is an error before it matters.
        let mut planes = Vec::new();
        for spec in REGISTRY {
            let grace = Grace {
                duration: duration_in(spec.grace_variable, &AGE_RANGE)?.unwrap_or(spec.default_grace),
                variable: spec.grace_variable,
            };
            let options = (spec.parse)(&env)?;
            if providers.contains(&spec.provider) {
                planes.push(ProviderSettings { provider: spec.provider, grace, options });
            }
        }
        planes.sort_by_key(|plane| providers.iter().position(|p| *p == plane.provider));
        let report_bucket = get("JANITOR_REPORT_BUCKET");
        if let Some(bucket) = &report_bucket {
            if !is_bucket_name(bucket) {
                return Err(invalid(
                    "JANITOR_REPORT_BUCKET",
                    bucket,
                    "an S3 bucket name: 3 to 63 of a-z, 0-9, '.', '-', starting and ending with a letter or digit",
                ));
            }
        }
        let notify_topic_arn = get("JANITOR_NOTIFY_TOPIC_ARN");
        if let Some(arn) = &notify_topic_arn {
            if topic_region(arn).is_none() {
                return Err(invalid(
                    "JANITOR_NOTIFY_TOPIC_ARN",
                    arn,
                    "an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)",
                ));
            }
        }
        let state_table = get("JANITOR_STATE_TABLE");
        if let Some(table) = &state_table {
            let valid = (3..=255).contains(&table.len())
                && table.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !valid {
                return Err(invalid(
                    "JANITOR_STATE_TABLE",
                    table,
                    "a DynamoDB table name: 3 to 255 of a-z, A-Z, 0-9, _, -, .",
                ));
            }
        }
        let protect_tag = get("JANITOR_PROTECT_TAG").unwrap_or_else(|| "janitor:protect".to_owned());
        if protect_tag.chars().count() > 128 {
            return Err(invalid("JANITOR_PROTECT_TAG", &protect_tag, "a tag key of at most 128 characters"));
        }
        let abort_above_percent = match get("JANITOR_ABORT_ABOVE_PERCENT") {
            None => None,
            Some(v) if v.eq_ignore_ascii_case("off") => None,
            Some(v) => Some(
                v.parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=100.0).contains(p))
                    .ok_or_else(|| invalid("JANITOR_ABORT_ABOVE_PERCENT", &v, "off or a percentage from 0 to 100"))?,
            ),
        };
        let deadline_margin =
            duration_in("JANITOR_DEADLINE_MARGIN", &DEADLINE_MARGIN_RANGE)?.unwrap_or(Duration::from_secs(10));
        let time_limit = duration_in("JANITOR_TIME_LIMIT", &TIME_LIMIT_RANGE)?;
        let max_clock_skew =
            duration_in("JANITOR_MAX_CLOCK_SKEW", &CLOCK_SKEW_RANGE)?.unwrap_or(Duration::from_secs(60));
        if time_limit.is_some_and(|limit| limit <= deadline_margin) {
            return Err(invalid(
                "JANITOR_TIME_LIMIT",
                &get("JANITOR_TIME_LIMIT").unwrap_or_default(),
                &format!(
                    "a duration from 1s to {} that is longer than JANITOR_DEADLINE_MARGIN={} (the sweep stops \
                     waiting that long before its time limit)",
                    duration::format(*TIME_LIMIT_RANGE.end()),
                    duration::format(deadline_margin)
                ),
            ));
        }
        let organization = organization(&env, &number_of)?;
        let recheck = recheck::parse(&env, &number_of)?;
        let metrics_namespace = get("JANITOR_METRICS_NAMESPACE").unwrap_or_else(|| "ReplicationJanitor".to_owned());
        if metrics_namespace.len() > 255 || metrics_namespace.starts_with(':') {
            return Err(invalid(
                "JANITOR_METRICS_NAMESPACE",
                &metrics_namespace,
                "a CloudWatch namespace of 1 to 255 characters",
            ));
        }
        Ok(Settings {
            dry_run,
            providers,
            regions,
            policy: Policy {
                min_age: duration_in("JANITOR_MIN_AGE", &AGE_RANGE)?.unwrap_or(Duration::from_secs(24 * 3_600)),
                graces: planes.iter().map(|plane| (plane.provider, plane.grace)).collect(),
                include: Patterns::parse(&get("JANITOR_INCLUDE").unwrap_or_default()),
                exclude: Patterns::parse(&get("JANITOR_EXCLUDE").unwrap_or_default()),
            },
            protect_tag,
            limits: Limits {
                max_deletes: number_of("JANITOR_MAX_DELETES", 100, 0..=1_000_000)? as usize,
                abort_above_percent,
            },
            concurrency: number_of("JANITOR_CONCURRENCY", 8, 1..=64)? as usize,
            metrics_namespace,
            state_file: get("JANITOR_STATE_FILE").map(PathBuf::from),
            max_attempts: number_of("JANITOR_MAX_ATTEMPTS", 8, 1..=20)? as u32,
            deadline_margin,
            max_clock_skew,
            time_limit,
            state_table,
            planes,
            report_bucket,
            notify_topic_arn,
            organization,
            recheck,
        })
    }

    /// Whether the run talks to any AWS service (a control plane, the DTS secret, the archive, the topic), so it
    /// needs the AWS configuration.
    pub fn needs_aws(&self) -> bool {
        self.sweeps_aws()
            || self.planes.iter().any(|plane| plane.options.needs_aws())
            || self.report_bucket.is_some()
            || self.notify_topic_arn.is_some()
            || self.recheck.is_some()
    }

    /// Whether any enabled provider's clients come from the AWS configuration (so the run needs it, and a region).
    pub fn sweeps_aws(&self) -> bool {
        self.providers.iter().any(|p| p.cloud().aws_credentials)
    }

    /// The longest grace of an enabled provider: a first-seen store is needed only when it is above zero.
    pub fn longest_grace(&self) -> Duration {
        self.planes.iter().map(|plane| plane.grace.duration).max().unwrap_or(Duration::ZERO)
    }

    /// The settings of `provider`, if it is enabled.
    pub fn plane(&self, provider: Provider) -> Option<&ProviderSettings> {
        self.planes.iter().find(|plane| plane.provider == provider)
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::parse(|name| std::env::var(name).ok())
    }
}

/// The organization settings: `None` without `JANITOR_MEMBER_ROLE`, when none of the others may be set.
fn organization(
    env: &Env<'_>,
    number_of: &dyn Fn(&'static str, u64, RangeInclusive<u64>) -> Result<u64, ConfigError>,
) -> Result<Option<OrgSettings>, ConfigError> {
    let list = |variable: &'static str, valid: fn(&str) -> bool, expected: &str| -> Result<Option<Vec<String>>, _> {
        let Some(v) = env.get(variable) else { return Ok(None) };
        let mut items: Vec<String> = Vec::new();
        for item in v.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if !valid(item) {
                return Err(invalid(variable, &v, expected));
            }
            if !items.iter().any(|i| i == item) {
                items.push(item.to_owned());
            }
        }
        if items.is_empty() {
            return Err(invalid(variable, &v, expected));
        }
        Ok(Some(items))
    };
    let accounts = list("JANITOR_ACCOUNTS", organization::is_account_id, "a comma list of 12-digit account ids")?;
    let units = list(
        "JANITOR_ORGANIZATIONAL_UNITS",
        organization::is_parent_id,
        "a comma list of organizational unit or root ids (ou-xxxx-xxxxxxxx, r-xxxx)",
    )?;
    let external_id = env.get("JANITOR_MEMBER_EXTERNAL_ID");
    if let Some(id) = &external_id {
        let valid = (2..=1224).contains(&id.len())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '=' | ',' | '.' | '@' | ':' | '/' | '-' | '_'));
        if !valid {
            return Err(invalid("JANITOR_MEMBER_EXTERNAL_ID", id, "2 to 1224 of letters, digits and +=,.@:/-_"));
        }
    }
    let flag = |variable: &'static str, default: bool| match env.get(variable) {
        None => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(invalid(variable, &v, "true or false")),
    };
    let per_account_metrics = flag("JANITOR_ACCOUNT_METRICS", false)?;
    let per_account_notifications = flag("JANITOR_ACCOUNT_NOTIFICATIONS", true)?;
    let concurrency = number_of("JANITOR_ACCOUNT_CONCURRENCY", 8, 1..=64)? as usize;
    let max_deletes_per_run = number_of("JANITOR_MAX_DELETES_PER_RUN", 1_000, 0..=1_000_000)? as usize;
    let Some(member_role) = env.get("JANITOR_MEMBER_ROLE") else {
        let needs_role = [
            ("JANITOR_ACCOUNTS", accounts.is_some()),
            ("JANITOR_ORGANIZATIONAL_UNITS", units.is_some()),
            ("JANITOR_MEMBER_EXTERNAL_ID", external_id.is_some()),
        ];
        if let Some((variable, _)) = needs_role.into_iter().find(|(_, set)| *set) {
            return Err(invalid(
                "JANITOR_MEMBER_ROLE",
                "",
                &format!("the role name the janitor assumes in each member account, since {variable} is set"),
            ));
        }
        return Ok(None);
    };
    if !organization::is_role_name(&member_role) {
        return Err(invalid(
            "JANITOR_MEMBER_ROLE",
            &member_role,
            "an IAM role name: 1 to 64 of letters, digits and +=,.@_-",
        ));
    }
    let source = match (accounts, units) {
        (Some(_), Some(units)) => {
            return Err(invalid(
                "JANITOR_ORGANIZATIONAL_UNITS",
                &units.join(","),
                "to be unset when JANITOR_ACCOUNTS lists the accounts",
            ))
        }
        (Some(accounts), None) => AccountSource::Listed(accounts),
        (None, units) => AccountSource::Organization { units: units.unwrap_or_default() },
    };
    Ok(Some(OrgSettings {
        source,
        member_role,
        external_id,
        concurrency,
        per_account_metrics,
        max_deletes_per_run,
        per_account_notifications,
    }))
}

/// S3's rules for a general purpose bucket's name.
fn is_bucket_name(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(name.chars().next())
        && edge(name.chars().last())
        && !name.contains("..")
}

pub use crate::domain::resource::is_region_name;

/// The regions of `list`, each once; `Err` names the first that is not one of `cloud`'s (or says the list is
/// empty).
fn parse_regions(list: &str, cloud: &Cloud) -> Result<Vec<String>, String> {
    let mut regions: Vec<String> = Vec::new();
    for region in list.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        if !(cloud.region_shape)(region) {
            return Err(format!(
                "{} is not a region name of {}",
                crate::domain::text::display(region, 64),
                cloud.title
            ));
        }
        if !regions.iter().any(|r| r == region) {
            regions.push(region.to_owned());
        }
    }
    if regions.is_empty() {
        return Err("it names no region".to_owned());
    }
    Ok(regions)
}

/// The region in a topic ARN (`arn:<partition>:sns:<region>:<account>:<name>`), if it is one.
pub fn topic_region(topic_arn: &str) -> Option<&str> {
    let mut parts = topic_arn.splitn(6, ':');
    let shaped = parts.next() == Some("arn") && parts.next().is_some_and(|p| !p.is_empty());
    if !shaped || parts.next() != Some("sns") {
        return None;
    }
    let region = parts.next().filter(|r| !r.is_empty())?;
    parts.next().filter(|account| account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))?;
    parts.next().filter(|name| !name.is_empty()).map(|_| region)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{dms, dts, rds, redshift};

    fn parse(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::parse(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    fn statuses(settings: &Settings, provider: Provider) -> Vec<String> {
        let options = settings.plane(provider).and_then(|p| p.options::<rds::IntegrationOptions>());
        options.map(|o| o.stale.clone()).unwrap_or_default()
    }

    #[test]
    fn defaults_are_safe() {
        let settings = parse(&[]).expect("defaults");
        assert!(settings.dry_run);
        assert_eq!(settings.providers, [dms::PROVIDER, rds::PROVIDER]);
        assert!(settings.regions.is_empty());
        assert_eq!(settings.policy.min_age, Duration::from_secs(86_400));
        let grace = |s: &Settings, p| s.plane(p).map(|plane| plane.grace.duration);
        assert_eq!(grace(&settings, dms::PROVIDER), Some(Duration::from_secs(3_600)));
        assert_eq!(grace(&settings, rds::PROVIDER), Some(Duration::from_secs(3_600)));
        assert_eq!(statuses(&settings, rds::PROVIDER), ["failed"]);
        assert!(settings.plane(dts::PROVIDER).is_none() && settings.plane(redshift::PROVIDER).is_none());
        assert_eq!(settings.protect_tag, "janitor:protect");
        assert_eq!(settings.limits, Limits { max_deletes: 100, abort_above_percent: None });
        assert_eq!(settings.concurrency, 8);
        assert_eq!(settings.metrics_namespace, "ReplicationJanitor");
        assert_eq!(settings.state_file, None);
    }

    #[test]
    fn valid_values_are_read() {
        let settings = parse(&[
            ("JANITOR_DRY_RUN", "FALSE"),
            ("JANITOR_PROVIDERS", "rds, dms,rds"),
            ("JANITOR_REGIONS", "eu-west-1,us-gov-west-1,eu-west-1"),
            ("JANITOR_MIN_AGE", "2d"),
            ("JANITOR_DMS_GRACE", "0"),
            ("JANITOR_RDS_STATUSES", "failed,needs_attention"),
            ("JANITOR_INCLUDE", "orders-*"),
            ("JANITOR_MAX_DELETES", "0"),
            ("JANITOR_ABORT_ABOVE_PERCENT", "12.5"),
            ("JANITOR_CONCURRENCY", "64"),
            ("JANITOR_STATE_FILE", "/tmp/s.json"),
            ("JANITOR_STATE_TABLE", "janitor-first-seen"),
            ("JANITOR_DTS_REGIONS", "cn-hangzhou,ap-southeast-1"),
            ("JANITOR_DTS_ENDPOINT", "http://127.0.0.1:9000"),
            ("JANITOR_DTS_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:alibaba-AbCdEf"),
        ])
        .expect("valid");
        assert!(!settings.dry_run);
        assert_eq!(settings.providers, [rds::PROVIDER, dms::PROVIDER]);
        assert_eq!(settings.regions["aws"], ["eu-west-1", "us-gov-west-1"]);
        assert_eq!(settings.policy.min_age, Duration::from_secs(172_800));
        assert_eq!(settings.policy.grace(dms::PROVIDER).duration, Duration::ZERO);
        assert_eq!(settings.policy.grace(rds::PROVIDER).duration, Duration::from_secs(3_600));
        assert_eq!(statuses(&settings, rds::PROVIDER), ["failed", "needs_attention"]);
        assert_eq!(settings.limits, Limits { max_deletes: 0, abort_above_percent: Some(12.5) });
        assert_eq!(settings.concurrency, 64);
        assert_eq!(settings.state_file, Some(PathBuf::from("/tmp/s.json")));
        assert_eq!(settings.state_table.as_deref(), Some("janitor-first-seen"));
        assert_eq!(settings.regions["alibaba"], ["cn-hangzhou", "ap-southeast-1"]);
        assert!(settings.plane(dts::PROVIDER).is_none(), "dts is not enabled here");
        let with_dts = parse(&[
            ("JANITOR_PROVIDERS", "dts,redshift"),
            ("JANITOR_DTS_REGIONS", "cn-hangzhou"),
            ("JANITOR_DTS_ENDPOINT", "http://127.0.0.1:9000"),
            ("JANITOR_DTS_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:alibaba-AbCdEf"),
            ("JANITOR_DTS_GRACE", "2h"),
            ("JANITOR_REDSHIFT_STATUSES", "needs_attention"),
        ])
        .expect("valid");
        let options = with_dts.plane(dts::PROVIDER).and_then(|p| p.options::<dts::DtsOptions>()).expect("dts options");
        assert_eq!(options.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(options.secret_arn.is_some() && with_dts.needs_aws());
        assert_eq!(with_dts.policy.grace(dts::PROVIDER).duration, Duration::from_secs(7_200));
        assert_eq!(statuses(&with_dts, redshift::PROVIDER), ["needs_attention"]);
        assert_eq!(with_dts.providers, [dts::PROVIDER, redshift::PROVIDER]);
    }

    #[test]
    fn invalid_values_name_the_variable_the_value_and_what_is_accepted() {
        let cases = [
            ("JANITOR_DRY_RUN", "no", "invalid setting JANITOR_DRY_RUN=\"no\": expected true or false"),
            ("JANITOR_PROVIDERS", "dms,aurora", "invalid setting JANITOR_PROVIDERS=\"dms,aurora\": expected a comma list of dms, rds, dts, redshift, glue"),
            ("JANITOR_PROVIDERS", ",", "invalid setting JANITOR_PROVIDERS=\",\": expected a comma list of dms, rds, dts, redshift, glue"),
            ("JANITOR_PROVIDERS", "dts", "invalid setting JANITOR_DTS_REGIONS=\"\": expected a comma list of Alibaba Cloud regions such as cn-hangzhou,ap-southeast-1 when JANITOR_PROVIDERS includes dts"),
            ("JANITOR_DTS_ENDPOINT", "dts.aliyuncs.com", "invalid setting JANITOR_DTS_ENDPOINT=\"dts.aliyuncs.com\": expected an http:// or https:// URL"),
            ("JANITOR_DTS_SECRET_ARN", "alibaba", "invalid setting JANITOR_DTS_SECRET_ARN=\"alibaba\": expected a Secrets Manager secret ARN (arn:aws:secretsmanager:...)"),
            ("JANITOR_STATE_TABLE", "a b", "invalid setting JANITOR_STATE_TABLE=\"a b\": expected a DynamoDB table name: 3 to 255 of a-z, A-Z, 0-9, _, -, ."),
            ("JANITOR_REGIONS", "US-EAST-1", "invalid setting JANITOR_REGIONS=\"US-EAST-1\": expected a comma list of region names such as us-east-1,eu-west-1 (US-EAST-1 is not a region name of AWS)"),
            ("JANITOR_REGIONS", "eu-west-1,us-east1", "invalid setting JANITOR_REGIONS=\"eu-west-1,us-east1\": expected a comma list of region names such as us-east-1,eu-west-1 (us-east1 is not a region name of AWS)"),
            ("JANITOR_REGIONS", ",", "invalid setting JANITOR_REGIONS=\",\": expected a comma list of region names such as us-east-1,eu-west-1 (it names no region)"),
            ("JANITOR_MIN_AGE", "24", "invalid setting JANITOR_MIN_AGE=\"24\": expected a duration from 0s to 3650d: whole numbers with units s, m, h, d, such as 90s or 1h30m"),
            ("JANITOR_DMS_GRACE", "1w", "invalid setting JANITOR_DMS_GRACE=\"1w\": expected a duration from 0s to 3650d: whole numbers with units s, m, h, d, such as 90s or 1h30m"),
            ("JANITOR_RDS_STATUSES", "failed,active", "invalid setting JANITOR_RDS_STATUSES=\"failed,active\": expected a comma list of failed, needs_attention"),
            ("JANITOR_REDSHIFT_GRACE", "soon", "invalid setting JANITOR_REDSHIFT_GRACE=\"soon\": expected a duration from 0s to 3650d: whole numbers with units s, m, h, d, such as 90s or 1h30m"),
            ("JANITOR_MAX_DELETES", "-1", "invalid setting JANITOR_MAX_DELETES=\"-1\": expected a whole number from 0 to 1000000"),
            ("JANITOR_ABORT_ABOVE_PERCENT", "150", "invalid setting JANITOR_ABORT_ABOVE_PERCENT=\"150\": expected off or a percentage from 0 to 100"),
            ("JANITOR_CONCURRENCY", "0", "invalid setting JANITOR_CONCURRENCY=\"0\": expected a whole number from 1 to 64"),
            ("JANITOR_MAX_ATTEMPTS", "many", "invalid setting JANITOR_MAX_ATTEMPTS=\"many\": expected a whole number from 1 to 20"),
            ("JANITOR_REPORT_BUCKET", "Reports_Bucket", "invalid setting JANITOR_REPORT_BUCKET=\"Reports_Bucket\": expected an S3 bucket name: 3 to 63 of a-z, 0-9, '.', '-', starting and ending with a letter or digit"),
            ("JANITOR_NOTIFY_TOPIC_ARN", "arn:aws:sqs:us-east-1:123456789012:q", "invalid setting JANITOR_NOTIFY_TOPIC_ARN=\"arn:aws:sqs:us-east-1:123456789012:q\": expected an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)"),
        ];
        for (variable, value, message) in cases {
            let err = parse(&[(variable, value)]).expect_err(variable);
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn durations_outside_their_range_are_rejected_with_the_range() {
        let cases = [
            ("JANITOR_DMS_GRACE", "99999999999d", "0s to 3650d"),
            ("JANITOR_DMS_GRACE", "3650d1s", "0s to 3650d"),
            ("JANITOR_MIN_AGE", "3651d", "0s to 3650d"),
            ("JANITOR_MIN_AGE", "99999999999999999999s", "0s to 3650d"),
            ("JANITOR_DEADLINE_MARGIN", "16m", "0s to 15m"),
            ("JANITOR_MAX_CLOCK_SKEW", "2s", "5s to 1h"),
            ("JANITOR_TIME_LIMIT", "0", "1s to 7d"),
            ("JANITOR_TIME_LIMIT", "7d1s", "1s to 7d"),
        ];
        for (variable, value, range) in cases {
            let err = parse(&[(variable, value)]).expect_err(value);
            assert_eq!((err.variable, err.value.as_str()), (variable, value));
            assert!(err.expected.starts_with(&format!("a duration from {range}: ")), "{err}");
        }
        let widest = parse(&[
            ("JANITOR_DMS_GRACE", "3650d"),
            ("JANITOR_MIN_AGE", "3650d"),
            ("JANITOR_DEADLINE_MARGIN", "15m"),
            ("JANITOR_TIME_LIMIT", "7d"),
        ])
        .expect("the ends of the ranges are accepted");
        assert_eq!(widest.policy.grace(dms::PROVIDER).duration, Duration::from_secs(3_650 * 86_400));
        assert_eq!(widest.deadline_margin, Duration::from_secs(900));
        assert_eq!(widest.time_limit, Some(Duration::from_secs(7 * 86_400)));
    }

    #[test]
    fn a_time_limit_must_leave_room_beyond_the_deadline_margin() {
        assert_eq!(parse(&[]).expect("defaults").time_limit, None);
        let err = parse(&[("JANITOR_TIME_LIMIT", "10s")]).expect_err("not longer than the default margin");
        assert_eq!(
            err.to_string(),
            "invalid setting JANITOR_TIME_LIMIT=\"10s\": expected a duration from 1s to 7d that is longer than \
             JANITOR_DEADLINE_MARGIN=10s (the sweep stops waiting that long before its time limit)"
        );
        let short = parse(&[("JANITOR_TIME_LIMIT", "1s"), ("JANITOR_DEADLINE_MARGIN", "0")]).expect("no margin");
        assert_eq!(short.time_limit, Some(Duration::from_secs(1)));
        let usual = parse(&[("JANITOR_TIME_LIMIT", "5m")]).expect("five minutes");
        assert_eq!(usual.time_limit, Some(Duration::from_secs(300)));
    }

    #[test]
    fn organization_settings_are_read_and_checked() {
        assert_eq!(parse(&[]).expect("defaults").organization, None, "without a member role: the own account");
        let role = ("JANITOR_MEMBER_ROLE", "ReplicationJanitorMember");
        let listed = parse(&[role, ("JANITOR_ACCOUNTS", "111111111111, 222222222222,111111111111")]).expect("listed");
        let org = listed.organization.expect("an organization run");
        assert_eq!(org.source, AccountSource::Listed(vec!["111111111111".into(), "222222222222".into()]));
        assert_eq!((org.concurrency, org.per_account_metrics, org.max_deletes_per_run), (8, false, 1_000));
        assert!(org.per_account_notifications, "each account is told unless the fan-out's summary tells the run");
        let whole = parse(&[role]).expect("discovered").organization.expect("org");
        assert_eq!(whole.source, AccountSource::Organization { units: Vec::new() });
        let units = parse(&[role, ("JANITOR_ORGANIZATIONAL_UNITS", "ou-ab12-cd34ef56")]).expect("units");
        let units = units.organization.expect("org").source;
        assert_eq!(units, AccountSource::Organization { units: vec!["ou-ab12-cd34ef56".into()] });
        let cases: [(&[(&str, &str)], &str); 7] = [
            (&[("JANITOR_ACCOUNTS", "111111111111")], "JANITOR_MEMBER_ROLE"),
            (&[("JANITOR_MEMBER_EXTERNAL_ID", "secret-id")], "JANITOR_MEMBER_ROLE"),
            (&[role, ("JANITOR_ACCOUNTS", "1111")], "JANITOR_ACCOUNTS"),
            (&[role, ("JANITOR_ORGANIZATIONAL_UNITS", "ou-x")], "JANITOR_ORGANIZATIONAL_UNITS"),
            (
                &[role, ("JANITOR_ACCOUNTS", "111111111111"), ("JANITOR_ORGANIZATIONAL_UNITS", "r-ab12")],
                "JANITOR_ORGANIZATIONAL_UNITS",
            ),
            (&[("JANITOR_MEMBER_ROLE", "role/with/path")], "JANITOR_MEMBER_ROLE"),
            (&[role, ("JANITOR_ACCOUNT_METRICS", "yes")], "JANITOR_ACCOUNT_METRICS"),
        ];
        for (vars, variable) in cases {
            assert_eq!(parse(vars).expect_err(variable).variable, variable, "{vars:?}");
        }
    }

    #[test]
    fn recheck_settings_are_read_and_checked() {
        assert_eq!(parse(&[]).expect("defaults").recheck, None, "no re-check schedules unless a role is given");
        let role = ("JANITOR_RECHECK_SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:role/janitor-rechecks");
        let group = ("JANITOR_RECHECK_SCHEDULE_GROUP", "janitor-rechecks");
        let read = parse(&[role, group]).expect("valid").recheck.expect("re-checks");
        assert_eq!((read.role_arn.as_str(), read.group.as_str(), read.max_schedules), (role.1, group.1, 20));
        let bounded = parse(&[role, group, ("JANITOR_RECHECK_MAX_SCHEDULES", "100")]).expect("the upper bound");
        assert_eq!(bounded.recheck.map(|r| r.max_schedules), Some(100));
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: [Case; 6] = [
            (&[role], "JANITOR_RECHECK_SCHEDULE_GROUP", "since JANITOR_RECHECK_SCHEDULER_ROLE_ARN is set"),
            (&[group], "JANITOR_RECHECK_SCHEDULER_ROLE_ARN", "since JANITOR_RECHECK_SCHEDULE_GROUP is set"),
            (
                &[("JANITOR_RECHECK_SCHEDULER_ROLE_ARN", "janitor-rechecks"), group],
                "JANITOR_RECHECK_SCHEDULER_ROLE_ARN",
                "an IAM role ARN",
            ),
            (&[role, ("JANITOR_RECHECK_SCHEDULE_GROUP", "a/b")], "JANITOR_RECHECK_SCHEDULE_GROUP", "1 to 64 of"),
            (&[role, group, ("JANITOR_RECHECK_MAX_SCHEDULES", "0")], "JANITOR_RECHECK_MAX_SCHEDULES", "from 1 to 100"),
            (
                &[role, group, ("JANITOR_RECHECK_MAX_SCHEDULES", "101")],
                "JANITOR_RECHECK_MAX_SCHEDULES",
                "from 1 to 100",
            ),
        ];
        for (vars, variable, expected) in cases {
            let error = parse(vars).expect_err(variable);
            assert_eq!(error.variable, variable, "{vars:?}");
            assert!(error.expected.contains(expected), "{error}");
        }
        let dts = [("JANITOR_PROVIDERS", "dts"), ("JANITOR_DTS_REGIONS", "cn-hangzhou")];
        assert!(!parse(&dts).expect("DTS alone").needs_aws());
        assert!(parse(&[dts[0], dts[1], role, group]).expect("valid").needs_aws(), "the schedules are AWS calls");
    }

    #[test]
    fn every_setting_read_is_documented() {
        // Every source file, so a new provider's settings are checked without naming it here.
        fn sources_in(dir: &std::path::Path, into: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("src").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    sources_in(&path, into);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    into.push(std::fs::read_to_string(&path).expect("source"));
                }
            }
        }
        let mut sources = Vec::new();
        sources_in(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut sources);
        let read: std::collections::BTreeSet<&str> = sources
            .iter()
            .flat_map(|source| {
                source.match_indices("(\"JANITOR_").map(|(at, _)| {
                    let rest = &source[at + 2..];
                    &rest[..rest.find('"').unwrap_or(rest.len())]
                })
            })
            .collect();
        for variable in read {
            assert!(all_settings().any(|s| s.variable == variable), "{variable} is not documented");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use std::collections::HashMap;

        /// A valid configuration that uses every setting, so any error comes from the one value a case changes.
        const BASE: &[(&str, &str)] = &[
            ("JANITOR_DRY_RUN", "true"),
            ("JANITOR_PROVIDERS", "dms,rds,dts,redshift,glue"),
            ("JANITOR_REGIONS", "us-east-1"),
            ("JANITOR_MIN_AGE", "1d"),
            ("JANITOR_DMS_GRACE", "1h"),
            ("JANITOR_RDS_GRACE", "1h"),
            ("JANITOR_RDS_STATUSES", "failed"),
            ("JANITOR_DTS_GRACE", "2h"),
            ("JANITOR_REDSHIFT_GRACE", "0"),
            ("JANITOR_REDSHIFT_STATUSES", "failed,needs_attention"),
            ("JANITOR_GLUE_GRACE", "1h"),
            ("JANITOR_GLUE_STATUSES", "FAILED,needs_attention"),
            ("JANITOR_PROTECT_TAG", "keep"),
            ("JANITOR_INCLUDE", "*"),
            ("JANITOR_EXCLUDE", "x-*"),
            ("JANITOR_MAX_DELETES", "5"),
            ("JANITOR_ABORT_ABOVE_PERCENT", "50"),
            ("JANITOR_CONCURRENCY", "4"),
            ("JANITOR_METRICS_NAMESPACE", "Janitor"),
            ("JANITOR_STATE_FILE", "/tmp/marks.json"),
            ("JANITOR_MAX_ATTEMPTS", "3"),
            ("JANITOR_STATE_TABLE", "marks"),
            ("JANITOR_DTS_REGIONS", "cn-hangzhou"),
            ("JANITOR_DTS_ENDPOINT", "https://dts.aliyuncs.com"),
            ("JANITOR_DTS_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:dts"),
            ("JANITOR_DEADLINE_MARGIN", "10s"),
            ("JANITOR_MAX_CLOCK_SKEW", "2m"),
            ("JANITOR_TIME_LIMIT", "1h"),
            ("JANITOR_REPORT_BUCKET", "janitor-reports-123456789012"),
            ("JANITOR_NOTIFY_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:janitor"),
            ("JANITOR_MEMBER_ROLE", "ReplicationJanitorMember"),
            ("JANITOR_ACCOUNTS", "111111111111,222222222222"),
            ("JANITOR_MEMBER_EXTERNAL_ID", "janitor-external-id"),
            ("JANITOR_ACCOUNT_CONCURRENCY", "4"),
            ("JANITOR_ACCOUNT_METRICS", "true"),
            ("JANITOR_ACCOUNT_NOTIFICATIONS", "false"),
            ("JANITOR_MAX_DELETES_PER_RUN", "500"),
            ("JANITOR_RECHECK_SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:role/janitor-rechecks"),
            ("JANITOR_RECHECK_SCHEDULE_GROUP", "janitor-rechecks"),
            ("JANITOR_RECHECK_MAX_SCHEDULES", "30"),
        ];

        /// The one setting the base leaves out: JANITOR_ACCOUNTS and JANITOR_ORGANIZATIONAL_UNITS exclude each other.
        const NOT_IN_BASE: &str = "JANITOR_ORGANIZATIONAL_UNITS";

        /// Values near and far from valid ones: durations, numbers, lists, and arbitrary text.
        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                "[0-9]{1,22}[smhdw]?([0-9]{0,6}[smhd])?",
                "-?[0-9]{0,12}(\\.[0-9]{0,4})?",
                "[a-z0-9 ,*:_-]{0,24}",
                proptest::sample::select(
                    &["", " ", "true", "FALSE", "off", "dts", "0", "15m", "16m", "3650d", "3651d", "7d1s"][..]
                )
                .prop_map(str::to_owned),
                ".{0,40}",
            ]
        }

        fn parse_map(vars: &HashMap<&'static str, String>) -> Result<Settings, ConfigError> {
            Settings::parse(|name| vars.get(name).cloned())
        }

        #[test]
        fn the_base_is_valid_and_names_every_setting() {
            let base: HashMap<&str, String> = BASE.iter().map(|(k, v)| (*k, v.to_string())).collect();
            parse_map(&base).expect("valid");
            assert!(all_settings().all(|s| base.contains_key(s.variable) || s.variable == NOT_IN_BASE));
            let mut units = base.clone();
            units.remove("JANITOR_ACCOUNTS");
            units.insert(NOT_IN_BASE, "ou-ab12-cd34ef56,r-ab12".to_owned());
            parse_map(&units).expect("organizational units instead of listed accounts");
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn a_bad_value_is_an_error_about_its_own_variable(index in 0..BASE.len(), value in value()) {
                let mut vars: HashMap<&'static str, String> = BASE.iter().map(|(k, v)| (*k, v.to_string())).collect();
                let variable = BASE[index].0;
                vars.insert(variable, value.clone());
                if let Err(error) = parse_map(&vars) {
                    prop_assert_eq!(error.variable, variable);
                    prop_assert_eq!(error.value, value.trim());
                }
            }

            #[test]
            fn any_environment_parses_or_names_a_setting_and_its_value(
                values in proptest::collection::vec(proptest::option::of(value()), all_settings().count()),
            ) {
                let vars: HashMap<&'static str, String> = all_settings()
                    .zip(values)
                    .filter_map(|(setting, value)| Some((setting.variable, value?)))
                    .collect();
                if let Err(error) = parse_map(&vars) {
                    prop_assert!(all_settings().any(|s| s.variable == error.variable), "{}", error);
                    let given = vars.get(error.variable).map(|v| v.trim()).unwrap_or_default();
                    prop_assert_eq!(error.value.as_str(), given);
                }
            }
        }
    }
}
