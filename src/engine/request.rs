//! What one run should do: the request a trigger produces (or the CLI builds) and the sweep carries out. Its own
//! module, so that neither the triggers nor the sweep depend on the other.

use crate::domain::resource::Provider;
use std::collections::BTreeMap;
use std::time::SystemTime;

/// What one run should do.
#[derive(Clone, Debug)]
pub struct SweepRequest {
    pub providers: Vec<Provider>,
    /// Narrows each cloud's providers to these of its regions, by cloud name; a cloud absent here sweeps all the
    /// regions its providers were built for. Kept per cloud because clouds share region ids.
    pub regions: BTreeMap<&'static str, Vec<String>>,
    /// Narrows the member accounts of an organization run to these (a manual request's `accounts`); `None`: all.
    pub accounts: Option<Vec<String>>,
    /// A service event's resource: only it is scanned and judged.
    pub target: Option<Target>,
    pub dry_run: bool,
    /// When the run must be over: the Lambda invocation's deadline, or the CLI's time limit.
    pub deadline: Option<SystemTime>,
    pub trigger: String,
    pub notes: Vec<String>,
}

impl SweepRequest {
    /// Everything the configuration allows (`providers`, in dry run or not), as a schedule or the CLI runs it;
    /// triggers narrow it from here.
    pub fn configured(
        providers: &[Provider],
        dry_run: bool,
        trigger: &str,
        deadline: Option<SystemTime>,
    ) -> SweepRequest {
        SweepRequest {
            providers: providers.to_vec(),
            regions: BTreeMap::new(),
            accounts: None,
            target: None,
            dry_run,
            deadline,
            trigger: trigger.to_owned(),
            notes: Vec::new(),
        }
    }
}

/// One resource a service event names: the sweep judges only it (DMS: the connections of an endpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub provider: Provider,
    pub region: String,
    /// An integration ARN (RDS) or an endpoint ARN (DMS).
    pub arn: String,
}

impl Target {
    /// The partition (`aws`, `aws-cn`, ...) and the account of the ARN: an event about another's resource is not
    /// acted on.
    pub(crate) fn owner(&self) -> (&str, &str) {
        let mut parts = self.arn.split(':');
        (parts.nth(1).unwrap_or_default(), parts.nth(2).unwrap_or_default())
    }
}
