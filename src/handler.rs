//! The handler: one payload in, one report out. Generic over the control planes (the port), so the Lambda face,
//! the CLI and the tests all drive the same code.

use crate::archive::ReportArchive;
use crate::config::Settings;
use crate::metrics;
use crate::notify::{self, Notifier};
use crate::providers::registry::Cloud;
use crate::providers::ControlPlane;
use crate::report::Report;
use crate::request::SweepRequest;
use crate::state::FirstSeen;
use crate::sweep::Sweeper;
use crate::trigger::{self, Owner, Scope, TriggerError};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The janitor as configured at start: settings, regions, the sweep engine, and where each run's report goes.
pub struct Janitor {
    settings: Settings,
    sweeper: Sweeper,
    archive: Option<ReportArchive>,
    notifier: Option<Notifier>,
}

/// What is kept of the deadline after the archive and the notification: the time to answer and print the metrics.
const ANSWER_RESERVE: Duration = Duration::from_secs(1);

/// Runs `work` until `deadline` less [`ANSWER_RESERVE`], if there is one; `None` when time ran out first.
async fn before<T>(deadline: Option<SystemTime>, work: impl std::future::Future<Output = T>) -> Option<T> {
    match deadline {
        Some(deadline) => {
            let left = deadline.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
            tokio::time::timeout(left.saturating_sub(ANSWER_RESERVE), work).await.ok()
        }
        None => Some(work.await),
    }
}

impl Janitor {
    /// The janitor over `planes` with no first-seen store: with a grace above zero, resources wait (safe) until a
    /// store is given with [`Janitor::with_first_seen`].
    pub fn new(settings: Settings, planes: Vec<Arc<dyn ControlPlane>>) -> Janitor {
        let first_seen = if settings.longest_grace().is_zero() { FirstSeen::NotNeeded } else { FirstSeen::NoStore };
        Janitor::with_first_seen(settings, planes, first_seen)
    }

    /// The janitor over `planes`, with first sightings from `first_seen`.
    pub fn with_first_seen(settings: Settings, planes: Vec<Arc<dyn ControlPlane>>, first_seen: FirstSeen) -> Janitor {
        let sweeper = Sweeper::new(
            planes,
            settings.policy.clone(),
            settings.limits,
            settings.concurrency,
            settings.deadline_margin,
            first_seen,
        );
        Janitor { settings, sweeper, archive: None, notifier: None }
    }

    /// Archives every run's full report.
    pub fn with_archive(mut self, archive: ReportArchive) -> Janitor {
        self.archive = Some(archive);
        self
    }

    /// Notifies the topic of every run that has something to say.
    pub fn with_notifier(mut self, notifier: Notifier) -> Janitor {
        self.notifier = Some(notifier);
        self
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
            aws_regions: self.sweeper.regions(Cloud::Aws),
            dts_regions: self.sweeper.regions(Cloud::Alibaba),
            owner: Owner::of_function(function_arn),
        };
        let request = trigger::resolve(trigger, &self.settings, &scope, deadline)?;
        Ok(self.sweep(&request).await)
    }

    /// Runs the request, then archives the full report and sends the notification, each within the deadline: an
    /// archive or a notification that fails changes nothing that was deleted, and the report says so.
    pub async fn sweep(&self, request: &SweepRequest) -> Report {
        let mut report = self.sweeper.run(request).await;
        if let Some(archive) = &self.archive {
            let record = match before(request.deadline, archive.store(&report)).await {
                Some(Ok(record)) => record,
                Some(Err(error)) => {
                    tracing::warn!(%error, "the report could not be archived");
                    error.record()
                }
                None => archive.unwritten("not written: the run's deadline came first"),
            };
            report.archive = Some(record);
        }
        if let Some(notifier) = &self.notifier {
            if let Some(notification) = notify::notification(&report, report.archive.as_ref()) {
                let problem = match before(request.deadline, notifier.publish(&notification)).await {
                    Some(Ok(message_id)) => {
                        tracing::info!(%message_id, "notification published");
                        None
                    }
                    Some(Err(error)) => Some(error.to_string()),
                    None => Some("the run's deadline came first".to_owned()),
                };
                if let Some(problem) = problem {
                    tracing::warn!(%problem, "the notification could not be published");
                    report.notes.push(format!("the notification could not be published: {problem}"));
                }
            }
        }
        tracing::info!(
            archive = report.archive.as_ref().map(|a| a.uri()).unwrap_or_default(),
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
