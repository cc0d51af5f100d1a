//! What a provider declares about its control plane: the spec's types. A provider module imports only these; the
//! registry (`registry.rs`) lists the providers' specs, so no provider depends on the list it is in.

use super::ControlPlane;
use crate::domain::resource::Provider;
pub use crate::domain::resource::{Cloud, Grace, ALIBABA, AWS};
use crate::domain::setting::{ConfigError, Env, Setting};
use crate::engine::calls::Caller;
use aws_config::SdkConfig;
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

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
    /// Where the clients report the services' clocks (the `Date` of their answers).
    pub clocks: &'a std::sync::Arc<crate::domain::clock::Clocks>,
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
