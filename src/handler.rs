//! The handler: one payload in, one report out. Generic over the control planes (the port), so the Lambda face,
//! the CLI and the tests all drive the same code.

use crate::config::Settings;
use crate::metrics;
use crate::providers::ControlPlane;
use crate::report::Report;
use crate::request::SweepRequest;
use crate::sweep::Sweeper;
use crate::trigger::{self, Owner, Scope, TriggerError};
use serde_json::Value;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The janitor as configured at start: settings, regions and the sweep engine.
pub struct Janitor {
    settings: Settings,
    sweeper: Sweeper,
}

impl Janitor {
    pub fn new(settings: Settings, planes: Vec<Arc<dyn ControlPlane>>) -> Janitor {
        let sweeper = Sweeper::new(
            planes,
            settings.policy.clone(),
            settings.limits,
            settings.concurrency,
            settings.deadline_margin,
        );
        Janitor { settings, sweeper }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// A request for the whole configuration, as the CLI runs it.
    pub fn configured_request(&self, trigger: &str) -> SweepRequest {
        SweepRequest::configured(&self.settings, trigger, None)
    }

    /// Handles one invocation payload; a payload the janitor cannot read is an error, never a panic.
    /// `function_arn` is the invoked function's ARN (Lambda): a service event naming a resource of another account or
    /// partition is a no-op. Without it (the CLI, tests) only the form of the event's ARN is checked.
    pub async fn handle(
        &self,
        payload: Value,
        deadline: Option<SystemTime>,
        function_arn: Option<&str>,
    ) -> Result<Report, TriggerError> {
        let trigger = trigger::parse(payload)?;
        let scope = Scope {
            aws_regions: self.sweeper.regions(true),
            dts_regions: self.sweeper.regions(false),
            owner: Owner::of_function(function_arn),
        };
        let request = trigger::resolve(trigger, &self.settings, &scope, deadline)?;
        Ok(self.sweep(&request).await)
    }

    pub async fn sweep(&self, request: &SweepRequest) -> Report {
        let report = self.sweeper.run(request).await;
        tracing::info!(
            trigger = %report.trigger,
            dry_run = report.dry_run,
            scanned = report.totals.scanned,
            stale = report.totals.stale,
            deleted = report.totals.deleted,
            would_delete = report.totals.would_delete,
            failed = report.totals.failed,
            duration_ms = report.duration_ms,
            "sweep finished"
        );
        report
    }

    /// The report's metrics as EMF lines, stamped now.
    pub fn metric_lines(&self, report: &Report) -> Vec<String> {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default();
        metrics::emf_lines(report, &self.settings.metrics_namespace, now_ms)
    }
}
