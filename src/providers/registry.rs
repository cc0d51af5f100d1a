//! The one list of control planes. Everything the rest of the janitor knows about a provider (its name and kind,
//! its cloud, its settings and their help, the events and ARNs it owns, how to build its adapter) is in its
//! [`ProviderSpec`]; config, startup, triggers, the CLI help and the README derive from [`REGISTRY`]. Adding a
//! control plane is one module that declares a spec, and one line here.

use crate::domain::resource::Provider;
use crate::domain::setting::Setting;

/// The spec types the rest of the janitor names when it reads the registry.
pub use super::spec::{ArnShape, Build, BuildError, Cloud, Grace, ProviderSettings, ProviderSpec};

/// Every control plane, in the order reports and help list them.
pub const REGISTRY: &[&ProviderSpec] =
    &[&super::dms::SPEC, &super::rds::SPEC, &super::dts::SPEC, &super::redshift::SPEC, &super::glue::SPEC];

impl Provider {
    /// Its spec; every provider value comes from a spec, so one is always found.
    pub fn spec(self) -> &'static ProviderSpec {
        REGISTRY.iter().copied().find(|spec| spec.provider == self).unwrap_or(REGISTRY[0])
    }

    /// What its resources are called in reports.
    pub fn kind(self) -> &'static str {
        self.spec().kind
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

/// Every cloud some provider speaks, in registry order, each once.
pub fn clouds() -> Vec<&'static Cloud> {
    let mut clouds: Vec<&'static Cloud> = Vec::new();
    for cloud in Provider::all().map(Provider::cloud) {
        if !clouds.contains(&cloud) {
            clouds.push(cloud);
        }
    }
    clouds
}

/// Every provider's name, for errors and help: `dms, rds, dts, redshift, glue`.
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
        let cloud = spec.provider.cloud();
        table.push_str(&format!(
            "| `{}` | {} (`{}`) | {} (`{}`) | {} | {} | {} |\n",
            spec.provider,
            spec.title,
            spec.kind,
            cloud.title,
            cloud.region_setting,
            if spec.default_enabled { "yes" } else { "no" },
            settings.join(", "),
            if events.is_empty() { "none (the schedule finds them)".to_owned() } else { events.join("; ") },
        ));
    }
    table
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
