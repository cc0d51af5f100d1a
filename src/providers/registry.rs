//! The one list of control planes. Everything the rest of the janitor knows about a provider (its name and kind,
//! its cloud, its settings and their help, the events and ARNs it owns, how to build its adapter) is in its
//! [`ProviderSpec`]; config, startup, triggers, the CLI help and the README derive from [`REGISTRY`]. Adding a
//! control plane is one module that declares a spec, and one line here.

use super::ControlPlane;
use crate::calls::Caller;
use crate::resource::Provider;
use crate::setting::{ConfigError, Env, Setting};
use aws_config::SdkConfig;
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Every control plane, in the order reports and help list them.
pub const REGISTRY: &[&ProviderSpec] =
    &[&super::dms::SPEC, &super::rds::SPEC, &super::dts::SPEC, &super::redshift::SPEC];

/// Whose API a provider speaks: each cloud's regions are configured apart, because the clouds share region ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloud {
    /// Regions from `JANITOR_REGIONS` (or the configured region); clients from the AWS configuration.
    Aws,
    /// Regions from `JANITOR_DTS_REGIONS`.
    Alibaba,
}

/// A service event a provider acts on.
pub struct EventKind {
    pub source: &'static str,
    pub detail_type: &'static str,
}

/// The ARNs of a provider's resources an event may name: `arn:<partition>:<service>:<region>:<account>:<resource_type>:<id>`.
pub struct ArnShape {
    pub service: &'static str,
    pub resource_type: &'static str,
}

/// A provider's first-seen grace: how long the janitor must have seen a resource stale before it may delete it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grace {
    pub duration: Duration,
    /// The setting that sets it, for reasons.
    pub variable: &'static str,
}

/// A provider's own settings, parsed by its module and read back only by its `build`.
pub trait ProviderOptions: fmt::Debug + Send + Sync {
    fn as_any(&self) -> &dyn Any;
    /// Whether building the provider needs the AWS configuration even when it is not an AWS service (a secret
    /// in Secrets Manager).
    fn needs_aws(&self) -> bool {
        false
    }
}

/// One enabled provider's settings: the grace every provider has, and its own options.
#[derive(Clone, Debug)]
pub struct ProviderSettings {
    pub provider: Provider,
    pub grace: Grace,
    pub options: Arc<dyn ProviderOptions>,
}

impl ProviderSettings {
    /// The options as the provider's own type `T`.
    pub fn options<T: Any>(&self) -> Option<&T> {
        self.options.as_any().downcast_ref::<T>()
    }
}

/// What building a provider's adapter gets: the loaded AWS configuration, its settings, its cloud's regions and the
/// run-wide settings every adapter uses.
pub struct Build<'a> {
    pub sdk: &'a SdkConfig,
    pub settings: &'a ProviderSettings,
    pub regions: &'a [String],
    pub caller: &'a Caller,
    pub protect_tag: &'a str,
    pub max_attempts: u32,
}

/// Why a provider's adapter could not be built (its credentials, say); the janitor does not start.
#[derive(Debug, thiserror::Error)]
#[error("{provider} cannot start: {message}")]
pub struct BuildError {
    pub provider: Provider,
    pub message: String,
}

pub type Building<'a> = Pin<Box<dyn Future<Output = Result<Arc<dyn ControlPlane>, BuildError>> + Send + 'a>>;

/// Everything about one control plane.
pub struct ProviderSpec {
    pub provider: Provider,
    /// What its resources are called in reports (`dms-connection`).
    pub kind: &'static str,
    /// What it sweeps, for help texts (`AWS DMS connections`).
    pub title: &'static str,
    pub cloud: Cloud,
    /// Whether `JANITOR_PROVIDERS` includes it when unset.
    pub default_enabled: bool,
    /// Its grace setting (`JANITOR_<NAME>_GRACE`) and the default, in the setting's own words.
    pub grace_variable: &'static str,
    pub default_grace: Duration,
    /// Its settings, the grace's first, for the help, the README and the checks.
    pub settings: &'static [Setting],
    /// Reads its own settings (not the grace); called only when it is enabled.
    pub parse: fn(&Env<'_>) -> Result<Arc<dyn ProviderOptions>, ConfigError>,
    pub events: &'static [EventKind],
    pub arns: &'static [ArnShape],
    /// What an ARN of its shape must be, for the reason an event was not acted on.
    pub arn_description: &'static str,
    pub build: for<'a> fn(Build<'a>) -> Building<'a>,
}

impl Provider {
    /// Its spec; every provider value comes from a spec, so one is always found.
    pub fn spec(self) -> &'static ProviderSpec {
        REGISTRY.iter().copied().find(|spec| spec.provider == self).unwrap_or(REGISTRY[0])
    }

    /// What its resources are called in reports.
    pub fn kind(self) -> &'static str {
        self.spec().kind
    }

    pub fn cloud(self) -> Cloud {
        self.spec().cloud
    }

    /// The provider `name` names, ignoring case and spaces.
    pub fn parse(name: &str) -> Option<Provider> {
        let name = name.trim().to_ascii_lowercase();
        REGISTRY.iter().map(|spec| spec.provider).find(|p| p.as_str() == name)
    }

    /// Every provider, in registry order.
    pub fn all() -> impl Iterator<Item = Provider> {
        REGISTRY.iter().map(|spec| spec.provider)
    }
}

/// Every provider's name, for errors and help: `dms, rds, dts, redshift`.
pub fn names() -> String {
    Provider::all().map(Provider::as_str).collect::<Vec<_>>().join(", ")
}

/// Every setting a provider owns, in registry order.
pub fn provider_settings() -> impl Iterator<Item = &'static Setting> {
    REGISTRY.iter().flat_map(|spec| spec.settings.iter())
}

/// The provider that acts on events of `source` and `detail_type`, and the ARN shapes it owns among them: several
/// providers may share an event kind (Redshift's integration events name RDS and Redshift integrations alike).
pub fn event_owners(source: &str, detail_type: &str) -> Vec<&'static ProviderSpec> {
    REGISTRY
        .iter()
        .copied()
        .filter(|spec| spec.events.iter().any(|e| e.source == source && e.detail_type == detail_type))
        .collect()
}

/// The README's table of providers, one row per spec: the README must carry it exactly (a test checks).
pub fn readme_table() -> String {
    let mut table = String::from(
        "| provider | sweeps | cloud | on by default | its settings | events it acts on |\n|---|---|---|---|---|---|\n",
    );
    for spec in REGISTRY {
        let settings: Vec<String> = spec.settings.iter().map(|s| format!("`{}`", s.variable)).collect();
        let events: Vec<String> = spec.events.iter().map(|e| format!("`{}` {}", e.source, e.detail_type)).collect();
        table.push_str(&format!(
            "| `{}` | {} (`{}`) | {} | {} | {} | {} |\n",
            spec.provider,
            spec.title,
            spec.kind,
            match spec.cloud {
                Cloud::Aws => "AWS (`JANITOR_REGIONS`)",
                Cloud::Alibaba => "Alibaba Cloud (`JANITOR_DTS_REGIONS`)",
            },
            if spec.default_enabled { "yes" } else { "no" },
            settings.join(", "),
            if events.is_empty() { "none (the schedule finds them)".to_owned() } else { events.join("; ") },
        ));
    }
    table
}

/// Options for a provider that has none of its own.
#[derive(Debug)]
pub struct NoOptions;

impl ProviderOptions for NoOptions {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `parse` for a provider without settings of its own besides its grace.
pub fn no_options(_: &Env<'_>) -> Result<Arc<dyn ProviderOptions>, ConfigError> {
    Ok(Arc::new(NoOptions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_kinds_and_settings_are_unique_and_every_grace_is_documented() {
        let mut names: Vec<&str> = Provider::all().map(Provider::as_str).collect();
        let mut kinds: Vec<&str> = REGISTRY.iter().map(|s| s.kind).collect();
        let mut variables: Vec<&str> = provider_settings().map(|s| s.variable).collect();
        for list in [&mut names, &mut kinds, &mut variables] {
            let len = list.len();
            list.sort_unstable();
            list.dedup();
            assert_eq!(list.len(), len, "duplicates in {list:?}");
        }
        for spec in REGISTRY {
            assert_eq!(spec.settings.first().map(|s| s.variable), Some(spec.grace_variable), "{}", spec.provider);
            assert_eq!(Provider::parse(&spec.provider.as_str().to_ascii_uppercase()), Some(spec.provider));
            assert_eq!(spec.provider.spec().kind, spec.kind);
        }
    }
}
