//! Settings from the environment (the CLI feeds its flags through the same parser), validated once at start:
//! a bad value is an error that names the variable, the value and what is accepted.

use crate::duration;
use crate::pattern::Patterns;
use crate::policy::{Limits, Policy};
use crate::resource::Provider;
use std::path::PathBuf;
use std::time::Duration;

/// An invalid setting.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid setting {variable}={value:?}: expected {expected}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub expected: String,
}

/// Everything the janitor reads from its environment.
#[derive(Clone, Debug)]
pub struct Settings {
    pub dry_run: bool,
    pub providers: Vec<Provider>,
    /// `None`: the region aws-config resolves.
    pub regions: Option<Vec<String>>,
    pub policy: Policy,
    pub protect_tag: String,
    pub limits: Limits,
    pub concurrency: usize,
    pub metrics_namespace: String,
    /// Explicit `JANITOR_STATE_FILE`, if set.
    pub state_file: Option<PathBuf>,
    pub max_attempts: u32,
    pub deadline_margin: Duration,
    /// DynamoDB table of first-seen marks (`JANITOR_STATE_TABLE`), the Lambda's durable store.
    pub state_table: Option<String>,
    /// Alibaba Cloud regions to sweep for DTS jobs.
    pub dts_regions: Vec<String>,
    /// Overrides the DTS endpoint (the emulator, a VPC endpoint).
    pub dts_endpoint: Option<String>,
    /// A Secrets Manager secret holding the Alibaba Cloud credentials.
    pub dts_secret_arn: Option<String>,
}

/// One documented setting: its variable, default and meaning (shared by `--help`, the README and errors).
pub struct Setting {
    pub variable: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

pub const SETTINGS: &[Setting] = &[
    Setting {
        variable: "JANITOR_DRY_RUN",
        default: "true",
        meaning: "`false` is the only way to delete; dry run makes zero Delete calls",
    },
    Setting { variable: "JANITOR_PROVIDERS", default: "dms,rds", meaning: "control planes to sweep: dms, rds, dts" },
    Setting {
        variable: "JANITOR_REGIONS",
        default: "the configured region",
        meaning: "comma list; regions are swept concurrently",
    },
    Setting { variable: "JANITOR_MIN_AGE", default: "24h", meaning: "integrations: minimum age since CreateTime" },
    Setting {
        variable: "JANITOR_DMS_GRACE",
        default: "1h",
        meaning: "DMS connections: minimum time since first seen failed",
    },
    Setting {
        variable: "JANITOR_RDS_STATUSES",
        default: "failed",
        meaning: "integration statuses to delete: failed, needs_attention",
    },
    Setting {
        variable: "JANITOR_PROTECT_TAG",
        default: "janitor:protect",
        meaning: "tag key that protects (any value); for DMS, on the endpoint or replication instance",
    },
    Setting {
        variable: "JANITOR_INCLUDE",
        default: "none",
        meaning: "comma list of globs on name or ARN; only matches are swept",
    },
    Setting {
        variable: "JANITOR_EXCLUDE",
        default: "none",
        meaning: "comma list of globs on name or ARN; matches are never deleted",
    },
    Setting {
        variable: "JANITOR_MAX_DELETES",
        default: "100",
        meaning: "deletions per run; the rest are reported as capped",
    },
    Setting {
        variable: "JANITOR_ABORT_ABOVE_PERCENT",
        default: "off",
        meaning: "tripwire: delete nothing for a provider whose stale share of its scan is above this",
    },
    Setting { variable: "JANITOR_CONCURRENCY", default: "8", meaning: "deletes in flight (1..=64)" },
    Setting {
        variable: "JANITOR_METRICS_NAMESPACE",
        default: "ReplicationJanitor",
        meaning: "CloudWatch EMF namespace",
    },
    Setting {
        variable: "JANITOR_STATE_FILE",
        default: "per-user state path (CLI); none (Lambda)",
        meaning: "file of first-seen marks for DMS connections",
    },
    Setting {
        variable: "JANITOR_MAX_ATTEMPTS",
        default: "8",
        meaning: "attempts per AWS call, with backoff and jitter on throttling and 5xx (1..=20)",
    },
    Setting {
        variable: "JANITOR_STATE_TABLE",
        default: "none",
        meaning: "DynamoDB table of first-seen marks for DMS connections (the Lambda's store)",
    },
    Setting {
        variable: "JANITOR_DTS_REGIONS",
        default: "none",
        meaning: "Alibaba Cloud regions to sweep for DTS jobs (required with dts)",
    },
    Setting { variable: "JANITOR_DTS_ENDPOINT", default: "per region", meaning: "DTS endpoint URL override" },
    Setting {
        variable: "JANITOR_DTS_SECRET_ARN",
        default: "none",
        meaning: "Secrets Manager secret with the Alibaba Cloud credentials (else ALIBABA_CLOUD_* variables)",
    },
    Setting {
        variable: "JANITOR_DEADLINE_MARGIN",
        default: "10s",
        meaning: "Lambda: start no delete when less than this is left of the invocation",
    },
];

impl Settings {
    /// Reads every setting through `env` (a variable lookup), with defaults for the unset ones.
    pub fn parse(env: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let get = |variable: &'static str| env(variable).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let invalid = |variable: &'static str, value: &str, expected: &str| ConfigError {
            variable,
            value: value.to_owned(),
            expected: expected.to_owned(),
        };
        let duration_of = |variable: &'static str, default: Duration| match get(variable) {
            None => Ok(default),
            Some(v) => duration::parse(&v)
                .ok_or_else(|| invalid(variable, &v, "a duration such as 0, 30m, 24h, 1h30m or 7d (units s, m, h, d)")),
        };
        let number_of = |variable: &'static str, default: u64, range: std::ops::RangeInclusive<u64>| match get(variable)
        {
            None => Ok(default),
            Some(v) => v.parse::<u64>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
                invalid(variable, &v, &format!("a whole number from {} to {}", range.start(), range.end()))
            }),
        };

        let dry_run = match get("JANITOR_DRY_RUN").map(|v| v.to_ascii_lowercase()) {
            None => true,
            Some(v) if v == "true" => true,
            Some(v) if v == "false" => false,
            Some(v) => return Err(invalid("JANITOR_DRY_RUN", &v, "true or false")),
        };
        let providers = match get("JANITOR_PROVIDERS") {
            None => vec![Provider::Dms, Provider::Rds],
            Some(v) => {
                let accepted = "a comma list of dms, rds, dts";
                let mut providers = Vec::new();
                for name in v.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let provider = Provider::parse(name).ok_or_else(|| invalid("JANITOR_PROVIDERS", &v, accepted))?;
                    if !providers.contains(&provider) {
                        providers.push(provider);
                    }
                }
                if providers.is_empty() {
                    return Err(invalid("JANITOR_PROVIDERS", &v, accepted));
                }
                providers
            }
        };
        let regions = match get("JANITOR_REGIONS") {
            None => None,
            Some(v) => Some(parse_regions(&v).ok_or_else(|| {
                invalid("JANITOR_REGIONS", &v, "a comma list of region names such as us-east-1,eu-west-1")
            })?),
        };
        let dts_regions = match get("JANITOR_DTS_REGIONS") {
            None if providers.contains(&Provider::Dts) => {
                return Err(invalid(
                    "JANITOR_DTS_REGIONS",
                    "",
                    "a comma list of Alibaba Cloud regions such as cn-hangzhou,ap-southeast-1 when JANITOR_PROVIDERS includes dts",
                ))
            }
            None => Vec::new(),
            Some(v) => parse_regions(&v).ok_or_else(|| {
                invalid("JANITOR_DTS_REGIONS", &v, "a comma list of Alibaba Cloud regions such as cn-hangzhou,ap-southeast-1")
            })?,
        };
        let dts_endpoint = get("JANITOR_DTS_ENDPOINT");
        if let Some(endpoint) = &dts_endpoint {
            if !(endpoint.starts_with("https://") || endpoint.starts_with("http://"))
                || endpoint.contains(char::is_whitespace)
            {
                return Err(invalid("JANITOR_DTS_ENDPOINT", endpoint, "an http:// or https:// URL"));
            }
        }
        let dts_secret_arn = get("JANITOR_DTS_SECRET_ARN");
        if let Some(arn) = &dts_secret_arn {
            if !(arn.starts_with("arn:") && arn.contains(":secretsmanager:")) {
                return Err(invalid(
                    "JANITOR_DTS_SECRET_ARN",
                    arn,
                    "a Secrets Manager secret ARN (arn:aws:secretsmanager:...)",
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
        let rds_statuses = match get("JANITOR_RDS_STATUSES") {
            None => vec!["failed".to_owned()],
            Some(v) => {
                let statuses: Vec<String> =
                    v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
                if statuses.is_empty() || statuses.iter().any(|s| s != "failed" && s != "needs_attention") {
                    return Err(invalid("JANITOR_RDS_STATUSES", &v, "a comma list of failed, needs_attention"));
                }
                statuses
            }
        };
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
                rds_statuses,
                min_age: duration_of("JANITOR_MIN_AGE", Duration::from_secs(24 * 3_600))?,
                dms_grace: duration_of("JANITOR_DMS_GRACE", Duration::from_secs(3_600))?,
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
            deadline_margin: duration_of("JANITOR_DEADLINE_MARGIN", Duration::from_secs(10))?,
            state_table,
            dts_regions,
            dts_endpoint,
            dts_secret_arn,
        })
    }

    /// Whether any enabled provider is an AWS service (so the run needs the AWS configuration and a region).
    pub fn sweeps_aws(&self) -> bool {
        self.providers.iter().any(|p| *p != Provider::Dts)
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::parse(|name| std::env::var(name).ok())
    }
}

/// Region names are lowercase words and digits joined by hyphens (`us-east-1`, `us-gov-west-1`, `cn-hangzhou`).
fn parse_regions(list: &str) -> Option<Vec<String>> {
    let mut regions: Vec<String> = Vec::new();
    for region in list.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        let well_formed = region.split('-').count() >= 2
            && region
                .split('-')
                .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        if !well_formed {
            return None;
        }
        if !regions.iter().any(|r| r == region) {
            regions.push(region.to_owned());
        }
    }
    (!regions.is_empty()).then_some(regions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::parse(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_are_safe() {
        let settings = parse(&[]).expect("defaults");
        assert!(settings.dry_run);
        assert_eq!(settings.providers, [Provider::Dms, Provider::Rds]);
        assert_eq!(settings.regions, None);
        assert_eq!(settings.policy.min_age, Duration::from_secs(86_400));
        assert_eq!(settings.policy.dms_grace, Duration::from_secs(3_600));
        assert_eq!(settings.policy.rds_statuses, ["failed"]);
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
        assert_eq!(settings.providers, [Provider::Rds, Provider::Dms]);
        assert_eq!(settings.regions, Some(vec!["eu-west-1".to_owned(), "us-gov-west-1".to_owned()]));
        assert_eq!(settings.policy.min_age, Duration::from_secs(172_800));
        assert_eq!(settings.policy.dms_grace, Duration::ZERO);
        assert_eq!(settings.policy.rds_statuses, ["failed", "needs_attention"]);
        assert_eq!(settings.limits, Limits { max_deletes: 0, abort_above_percent: Some(12.5) });
        assert_eq!(settings.concurrency, 64);
        assert_eq!(settings.state_file, Some(PathBuf::from("/tmp/s.json")));
        assert_eq!(settings.state_table.as_deref(), Some("janitor-first-seen"));
        assert_eq!(settings.dts_regions, ["cn-hangzhou", "ap-southeast-1"]);
        assert_eq!(settings.dts_endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(settings.dts_secret_arn.is_some());
    }

    #[test]
    fn invalid_values_name_the_variable_the_value_and_what_is_accepted() {
        let cases = [
            ("JANITOR_DRY_RUN", "no", "invalid setting JANITOR_DRY_RUN=\"no\": expected true or false"),
            ("JANITOR_PROVIDERS", "dms,aurora", "invalid setting JANITOR_PROVIDERS=\"dms,aurora\": expected a comma list of dms, rds, dts"),
            ("JANITOR_PROVIDERS", ",", "invalid setting JANITOR_PROVIDERS=\",\": expected a comma list of dms, rds, dts"),
            ("JANITOR_PROVIDERS", "dts", "invalid setting JANITOR_DTS_REGIONS=\"\": expected a comma list of Alibaba Cloud regions such as cn-hangzhou,ap-southeast-1 when JANITOR_PROVIDERS includes dts"),
            ("JANITOR_DTS_ENDPOINT", "dts.aliyuncs.com", "invalid setting JANITOR_DTS_ENDPOINT=\"dts.aliyuncs.com\": expected an http:// or https:// URL"),
            ("JANITOR_DTS_SECRET_ARN", "alibaba", "invalid setting JANITOR_DTS_SECRET_ARN=\"alibaba\": expected a Secrets Manager secret ARN (arn:aws:secretsmanager:...)"),
            ("JANITOR_STATE_TABLE", "a b", "invalid setting JANITOR_STATE_TABLE=\"a b\": expected a DynamoDB table name: 3 to 255 of a-z, A-Z, 0-9, _, -, ."),
            ("JANITOR_REGIONS", "US-EAST-1", "invalid setting JANITOR_REGIONS=\"US-EAST-1\": expected a comma list of region names such as us-east-1,eu-west-1"),
            ("JANITOR_MIN_AGE", "24", "invalid setting JANITOR_MIN_AGE=\"24\": expected a duration such as 0, 30m, 24h, 1h30m or 7d (units s, m, h, d)"),
            ("JANITOR_DMS_GRACE", "1w", "invalid setting JANITOR_DMS_GRACE=\"1w\": expected a duration such as 0, 30m, 24h, 1h30m or 7d (units s, m, h, d)"),
            ("JANITOR_RDS_STATUSES", "failed,active", "invalid setting JANITOR_RDS_STATUSES=\"failed,active\": expected a comma list of failed, needs_attention"),
            ("JANITOR_MAX_DELETES", "-1", "invalid setting JANITOR_MAX_DELETES=\"-1\": expected a whole number from 0 to 1000000"),
            ("JANITOR_ABORT_ABOVE_PERCENT", "150", "invalid setting JANITOR_ABORT_ABOVE_PERCENT=\"150\": expected off or a percentage from 0 to 100"),
            ("JANITOR_CONCURRENCY", "0", "invalid setting JANITOR_CONCURRENCY=\"0\": expected a whole number from 1 to 64"),
            ("JANITOR_MAX_ATTEMPTS", "many", "invalid setting JANITOR_MAX_ATTEMPTS=\"many\": expected a whole number from 1 to 20"),
        ];
        for (variable, value, message) in cases {
            let err = parse(&[(variable, value)]).expect_err(variable);
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn every_setting_read_is_documented() {
        let source = include_str!("config.rs");
        let read: std::collections::BTreeSet<&str> = source
            .match_indices("(\"JANITOR_")
            .map(|(at, _)| {
                let rest = &source[at + 2..];
                &rest[..rest.find('"').unwrap_or(rest.len())]
            })
            .collect();
        for variable in read {
            assert!(SETTINGS.iter().any(|s| s.variable == variable), "{variable} is not in SETTINGS");
        }
    }
}
