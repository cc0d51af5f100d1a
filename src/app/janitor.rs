//! The handler: one payload in, one report out. Generic over the control planes (the port), so the Lambda face,
//! the CLI and the tests all drive the same code.

use crate::app::accounts::{partition_of, Directory, DirectoryError, Members, OrgSettings};
use crate::app::trigger::{self, Owner, Scope, Trigger, TriggerError};
use crate::config::Settings;
use crate::domain::clock::Clocks;
use crate::domain::resource::ErrorClass;
use crate::engine::report::{Report, Unswept};
use crate::engine::request::SweepRequest;
use crate::engine::sweep::{RunBudget, Sweeper};
use crate::outputs::archive::ReportArchive;
use crate::outputs::map_results::{MapResults, ResultsError, ResultsLocation, Tally, MANIFEST_NAME, RESULTS_PREFIX};
use crate::outputs::metrics;
use crate::outputs::notify::{self, Notifier, RunSummary};
use crate::outputs::recheck::Rechecks;
use crate::providers::registry;
use crate::providers::ControlPlane;
use crate::state::FirstSeen;
use futures::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The janitor as configured at start: settings, regions, the sweep engine, and where each run's report goes.
pub struct Janitor {
    settings: Settings,
    sweeper: Sweeper,
    first_seen: FirstSeen,
    /// The services' clocks, as every client's answers date them.
    clocks: Arc<Clocks>,
    organization: Option<Organization>,
    archive: Option<ReportArchive>,
    notifier: Option<Notifier>,
    /// The one-time schedules that re-check what a run left waiting when the graces end.
    rechecks: Option<Rechecks>,
    /// Reads the fan-out's results from the report bucket, for its summary.
    results: Option<MapResults>,
}

/// An organization run's accounts and how to reach each.
struct Organization {
    settings: OrgSettings,
    directory: Arc<dyn Directory>,
    members: Arc<dyn Members>,
    /// The regions every member account is swept in, per per-account cloud (AWS).
    regions: BTreeMap<&'static str, Vec<String>>,
}

/// What an invocation answers: a run's report, or one of the fan-out's steps.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Report(Box<Report>),
    /// `{"listAccounts": true}`: the accounts the configuration sweeps.
    Accounts {
        accounts: Vec<String>,
    },
    /// `{"summarizeFrom": {...}}` (or `{"summarize": [...]}`): the children's results added up.
    Summary(RunSummary),
}

/// Why an invocation has no answer.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Payload(#[from] TriggerError),
    /// The organization's accounts could not be listed (a fan-out's first step); retrying may help.
    #[error(transparent)]
    Accounts(#[from] DirectoryError),
    /// The fan-out's results could not be read or added up (the summary step); nothing was notified.
    #[error(transparent)]
    Results(#[from] ResultsError),
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
        Janitor::with_clocks(settings, planes, first_seen, Arc::default())
    }

    /// The janitor over `planes`, with first sightings from `first_seen`, checking this machine's clock against
    /// `clocks` (which the planes' clients feed) before it writes a mark.
    pub fn with_clocks(
        settings: Settings,
        planes: Vec<Arc<dyn ControlPlane>>,
        first_seen: FirstSeen,
        clocks: Arc<Clocks>,
    ) -> Janitor {
        let sweeper = Janitor::sweeper(&settings, planes, first_seen.clone(), &clocks);
        Janitor {
            settings,
            sweeper,
            first_seen,
            clocks,
            organization: None,
            archive: None,
            notifier: None,
            rechecks: None,
            results: None,
        }
    }

    fn sweeper(
        settings: &Settings,
        planes: Vec<Arc<dyn ControlPlane>>,
        first_seen: FirstSeen,
        clocks: &Arc<Clocks>,
    ) -> Sweeper {
        Sweeper::new(
            planes,
            settings.policy.clone(),
            settings.limits,
            settings.concurrency,
            settings.deadline_margin,
            first_seen,
        )
        .watching_clocks(Arc::clone(clocks), settings.max_clock_skew)
    }

    /// Sweeps the member accounts `directory` lists, each through `members`, in `regions` (instead of the
    /// janitor's own account; the planes given at construction, Alibaba Cloud's, are swept once besides).
    /// Without `JANITOR_MEMBER_ROLE` in the settings this changes nothing.
    pub fn with_organization(
        mut self,
        directory: Arc<dyn Directory>,
        members: Arc<dyn Members>,
        regions: BTreeMap<&'static str, Vec<String>>,
    ) -> Janitor {
        if let Some(settings) = self.settings.organization.clone() {
            self.organization = Some(Organization { settings, directory, members, regions });
        }
        self
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

    /// Schedules a one-time re-check at the end of each grace a run leaves waiting (when invoked as a function).
    pub fn with_rechecks(mut self, rechecks: Rechecks) -> Janitor {
        self.rechecks = Some(rechecks);
        self
    }

    /// Reads the fan-out's results (`{"summarizeFrom": ...}`) through `results`, in the report bucket only.
    pub fn with_results(mut self, results: MapResults) -> Janitor {
        self.results = Some(results);
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// What the configuration alone says of deleting (dry run, graces without a store): no calls, so a cold start
    /// can log it.
    pub fn configuration_findings(&self) -> Vec<crate::app::check::Finding> {
        let graced: Vec<(crate::domain::resource::Provider, String)> = self
            .settings
            .planes
            .iter()
            .filter(|p| !p.grace.duration.is_zero())
            .map(|p| {
                (p.provider, format!("{}={}", p.grace.variable, crate::domain::duration::format(p.grace.duration)))
            })
            .collect();
        crate::app::check::configuration_findings(self.settings.dry_run, &self.first_seen, &graced)
    }

    /// The regions each cloud's providers sweep, as start-up resolved them (each already checked against its cloud's
    /// region names: a typo is refused before this).
    fn region_findings(&self) -> Vec<crate::app::check::Finding> {
        let mut regions: BTreeMap<&'static str, (&'static str, Vec<String>)> = BTreeMap::new();
        for plane in self.sweeper.planes() {
            let cloud = plane.provider().cloud();
            let listed = &mut regions.entry(cloud.name).or_insert((cloud.region_setting, Vec::new())).1;
            for region in plane.regions() {
                if !listed.contains(&region) {
                    listed.push(region);
                }
            }
        }
        regions
            .into_iter()
            .map(|(cloud, (setting, listed))| crate::app::check::Finding {
                subject: format!("{cloud} regions ({setting})"),
                detail: format!("{}, each a region name of its cloud", listed.join(", ")),
                status: crate::app::check::Status::Ok,
            })
            .collect()
    }

    /// `check`'s calls, all at once: the store, the archive, the topic, and a scan per provider and region.
    pub async fn check(&self) -> Vec<crate::app::check::Finding> {
        use crate::app::check::{grant_findings, store_finding, Finding, Status};
        let reach = |subject: &str, reached: Option<Result<String, String>>| {
            let (detail, status) = match reached {
                None => ("not configured".to_owned(), Status::Note),
                Some(Ok(found)) => (found, Status::Ok),
                Some(Err(error)) => (error, Status::Fails),
            };
            Finding { subject: subject.to_owned(), detail, status }
        };
        let archive = async {
            match &self.archive {
                Some(archive) => Some(archive.reachable().await),
                None => None,
            }
        };
        let topic = async {
            match &self.notifier {
                Some(notifier) => Some(notifier.reachable().await),
                None => None,
            }
        };
        let (store, archive, topic, grants) =
            futures::join!(store_finding(&self.first_seen), archive, topic, grant_findings(self.sweeper.planes()));
        let mut findings = self.configuration_findings();
        findings.extend(self.region_findings());
        findings.extend(store);
        findings.push(reach("report archive (JANITOR_REPORT_BUCKET)", archive));
        findings.push(reach("notifications (JANITOR_NOTIFY_TOPIC_ARN)", topic));
        findings.extend(grants);
        findings
    }

    /// A request for the whole configuration, as the CLI runs it.
    pub fn configured_request(&self, trigger: &str) -> SweepRequest {
        SweepRequest::configured(&self.settings.providers, self.settings.dry_run, trigger, None)
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
        self.sweep_trigger(trigger, deadline, function_arn).await
    }

    /// Answers one invocation payload: a sweep's report, or a fan-out step's answer.
    pub async fn respond(
        &self,
        payload: Value,
        deadline: Option<SystemTime>,
        function_arn: Option<&str>,
    ) -> Result<Answer, AnswerError> {
        match trigger::parse(payload)? {
            Trigger::ListAccounts => {
                let organization = self.organization.as_ref().ok_or_else(|| not_an_organization("listAccounts"))?;
                Ok(Answer::Accounts { accounts: organization.directory.accounts().await? })
            }
            Trigger::Summarize(children) => {
                self.organization.as_ref().ok_or_else(|| not_an_organization("summarize"))?;
                let summary = RunSummary::of(&children);
                self.publish_summary(&summary, deadline).await;
                Ok(Answer::Summary(summary))
            }
            Trigger::SummarizeFrom(location) => {
                self.organization.as_ref().ok_or_else(|| not_an_organization("summarizeFrom"))?;
                fan_out_results(&location, self.settings.report_bucket.as_deref())?;
                let results = self.results.as_ref().ok_or_else(|| TriggerError::NotConfigured {
                    what: "bucket",
                    names: trigger::clip(&location.bucket),
                    variable: "JANITOR_REPORT_BUCKET",
                    allowed: Vec::new(),
                })?;
                // The reading stops JANITOR_DEADLINE_MARGIN before the deadline, leaving the notification its time.
                let cutoff = deadline.map(|d| d.checked_sub(self.settings.deadline_margin).unwrap_or(d));
                let mut tally = Tally::default();
                match before(cutoff, results.add_up(&location, &mut tally)).await {
                    Some(Ok(())) => {}
                    Some(Err(error)) => return Err(error.into()),
                    None => return Err(ResultsError::Deadline { read: tally.files_read, files: tally.files }.into()),
                }
                tracing::info!(
                    files = tally.files,
                    accounts = tally.summary.accounts,
                    failed_children = tally.summary.failed_children,
                    "fan-out results added up"
                );
                self.publish_summary(&tally.summary, deadline).await;
                Ok(Answer::Summary(tally.summary))
            }
            trigger => Ok(Answer::Report(Box::new(self.sweep_trigger(trigger, deadline, function_arn).await?))),
        }
    }

    /// Publishes a fan-out's one notification, when it has something to say, within the deadline; a notification
    /// that fails is logged and changes nothing (the summary is still the answer).
    async fn publish_summary(&self, summary: &RunSummary, deadline: Option<SystemTime>) {
        if let (Some(notifier), Some(notification)) = (&self.notifier, summary.notification(self.settings.dry_run)) {
            match before(deadline, notifier.publish(&notification)).await {
                Some(Ok(message_id)) => tracing::info!(%message_id, "summary notification published"),
                Some(Err(error)) => tracing::warn!(%error, "the summary notification could not be published"),
                None => tracing::warn!("the run's deadline came before the summary notification"),
            }
        }
    }

    async fn sweep_trigger(
        &self,
        trigger: Trigger,
        deadline: Option<SystemTime>,
        function_arn: Option<&str>,
    ) -> Result<Report, TriggerError> {
        let owner = Owner::of_function(function_arn);
        // What a payload may narrow to: each cloud's regions, those of the member accounts in an organization run.
        let member_regions = self.organization.as_ref().map(|o| &o.regions);
        let regions: BTreeMap<&'static str, Vec<String>> = registry::clouds()
            .into_iter()
            .map(|cloud| match member_regions.and_then(|m| m.get(cloud.name)) {
                Some(regions) => (cloud.name, regions.clone()),
                None => (cloud.name, self.sweeper.regions(cloud)),
            })
            .collect();
        let Some(organization) = &self.organization else {
            let scope = Scope { regions, owner };
            let request = trigger::resolve(trigger, &self.settings, &scope, deadline)?;
            let report = self.sweeper.run(&request).await;
            return Ok(self.finish(&request, report, function_arn).await);
        };
        // The accounts decide whose resources an event may name; a request is resolved even when they could not be
        // listed, so that its report says why nothing was swept.
        let listed = organization.directory.accounts().await;
        let owner = match &listed {
            Ok(accounts) => {
                let first = organization.regions.values().flatten().next();
                let partition = partition_of(first.map(String::as_str).unwrap_or_default());
                owner.members(accounts.clone(), partition)
            }
            Err(_) => owner,
        };
        let scope = Scope { regions, owner };
        let request = trigger::resolve(trigger, &self.settings, &scope, deadline)?;
        let accounts = match listed {
            Ok(accounts) => accounts,
            Err(error) => return Ok(self.finish(&request, unlisted(&request, &error), function_arn).await),
        };
        if let Some(asked) = &request.accounts {
            if let Some(stranger) = asked.iter().find(|a| !accounts.contains(a)) {
                return Err(TriggerError::NotConfigured {
                    what: "accounts",
                    names: trigger::clip(stranger),
                    variable: match organization.settings.source {
                        crate::app::accounts::AccountSource::Listed(_) => "JANITOR_ACCOUNTS",
                        crate::app::accounts::AccountSource::Organization { .. } => "JANITOR_ORGANIZATIONAL_UNITS",
                    },
                    allowed: accounts.iter().take(20).cloned().collect(),
                });
            }
        }
        let report = self.sweep_accounts(organization, &request, accounts).await;
        Ok(self.finish(&request, report, function_arn).await)
    }

    /// Runs the request, then archives the full report and sends the notification, each within the deadline: an
    /// archive or a notification that fails changes nothing that was deleted, and the report says so. In an
    /// organization run, the accounts' reports are archived and notified each on its own. Outside Lambda (no function
    /// to invoke), so no on-time re-check is scheduled.
    pub async fn sweep(&self, request: &SweepRequest) -> Report {
        let report = match &self.organization {
            None => self.sweeper.run(request).await,
            Some(organization) => match organization.directory.accounts().await {
                Ok(accounts) => self.sweep_accounts(organization, request, accounts).await,
                Err(error) => unlisted(request, &error),
            },
        };
        self.finish(request, report, None).await
    }

    /// The member accounts of `accounts` the request names (all of them if it names none), swept a bounded number
    /// at once, each through its role, under the run's shared deletion budget; Alibaba Cloud's planes once besides.
    async fn sweep_accounts(
        &self,
        organization: &Organization,
        request: &SweepRequest,
        accounts: Vec<String>,
    ) -> Report {
        let started = tokio::time::Instant::now();
        let accounts: Vec<String> = match &request.accounts {
            Some(asked) => accounts.into_iter().filter(|a| asked.contains(a)).collect(),
            None => accounts,
        };
        // A run of providers that are not per account (a DTS re-check) has nothing to do in the member accounts: no
        // role is assumed for it.
        let accounts = if request.providers.iter().any(|p| p.cloud().per_account) { accounts } else { Vec::new() };
        // Alibaba Cloud's planes, not per AWS account, first; the accounts' sweeps join them.
        let home = self.sweeper.run(request).await;
        let budget = Arc::new(RunBudget::new(organization.settings.max_deletes_per_run));
        let cutoff = request.deadline.map(|d| d.checked_sub(self.settings.deadline_margin).unwrap_or(d));
        let parts: Vec<(String, Result<Report, Unswept>)> = stream::iter(accounts)
            .map(|account| {
                let budget = Arc::clone(&budget);
                async move {
                    if cutoff.is_some_and(|cutoff| SystemTime::now() >= cutoff) {
                        let error =
                            "the run reached its deadline (less JANITOR_DEADLINE_MARGIN) before this account's \
                                     turn; the next run sweeps it"
                                .to_owned();
                        return (account, Err(Unswept { error, class: ErrorClass::TimedOut }));
                    }
                    let planes = match before(cutoff, organization.members.planes(&account)).await {
                        Some(Ok(planes)) => planes,
                        Some(Err(error)) => {
                            return (account, Err(Unswept { error: error.to_string(), class: error.class }))
                        }
                        None => {
                            let error = "the run's deadline came before its role was assumed".to_owned();
                            return (account, Err(Unswept { error, class: ErrorClass::TimedOut }));
                        }
                    };
                    let sweeper = Janitor::sweeper(&self.settings, planes, self.first_seen.clone(), &self.clocks)
                        .for_account(&account, budget);
                    let report = sweeper.run(request).await;
                    (account, Ok(report))
                }
            })
            .buffered(organization.settings.concurrency)
            .collect()
            .await;
        for (account, part) in &parts {
            if let Err(Unswept { error, .. }) = part {
                tracing::warn!(account, %error, "member account not swept");
            }
        }
        let mut combined = Report::of_accounts(home, parts);
        combined.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        combined
    }

    /// The run's outputs besides the answer: the re-check schedules first (bounded, so the archive and the
    /// notification keep their time, and both record them), then the archive and the notification.
    async fn finish(&self, request: &SweepRequest, mut report: Report, function_arn: Option<&str>) -> Report {
        if let Some(rechecks) = &self.rechecks {
            let deadline = request.deadline.map(|d| d.checked_sub(ANSWER_RESERVE).unwrap_or(d));
            rechecks.record(&mut report, function_arn, deadline).await;
        }
        if !report.accounts.is_empty() {
            let notify = self.organization.as_ref().is_some_and(|o| o.settings.per_account_notifications);
            self.archive_and_notify_accounts(request, &mut report, notify).await;
            self.log_finished(&report);
            return report;
        }
        if let Some(archive) = &self.archive {
            report.archive = Some(archived(archive, &report, request.deadline).await);
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
                    report.notify_failed = true;
                }
            }
        }
        self.log_finished(&report);
        report
    }

    /// Each swept account's own report archived, and notified if it has something to say, a few at once and
    /// within the deadline.
    async fn archive_and_notify_accounts(&self, request: &SweepRequest, report: &mut Report, notify: bool) {
        let notifier = self.notifier.as_ref().filter(|_| notify);
        if self.archive.is_none() && notifier.is_none() {
            return;
        }
        let swept: Vec<String> =
            report.accounts.iter().filter(|a| a.error.is_none()).map(|a| a.account.clone()).collect();
        let whole = &*report;
        let outcomes: Vec<(String, Option<String>, Option<String>)> = stream::iter(swept)
            .map(|account| async move {
                let mut part = whole.of_account(&account);
                let mut problem = None;
                if let Some(archive) = &self.archive {
                    part.archive = Some(archived(archive, &part, request.deadline).await);
                }
                if let Some(notifier) = notifier {
                    if let Some(notification) = notify::notification(&part, part.archive.as_ref()) {
                        problem = match before(request.deadline, notifier.publish(&notification)).await {
                            Some(Ok(_)) => None,
                            Some(Err(error)) => Some(error.to_string()),
                            None => Some("the run's deadline came first".to_owned()),
                        };
                    }
                }
                let uri = part.archive.as_ref().filter(|a| a.error.is_none()).map(|a| a.uri());
                (account, uri, problem)
            })
            .buffer_unordered(ACCOUNT_OUTPUTS_IN_FLIGHT)
            .collect()
            .await;
        for (account, uri, problem) in outcomes {
            if let Some(summary) = report.accounts.iter_mut().find(|a| a.account == account) {
                summary.archive = uri;
            }
            if let Some(problem) = problem {
                tracing::warn!(account, %problem, "the account's notification could not be published");
                report.notes.push(format!("the notification for account {account} could not be published: {problem}"));
                report.notify_failed = true;
            }
        }
    }

    fn log_finished(&self, report: &Report) {
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
            accounts = report.accounts.len(),
            "sweep finished"
        );
    }

    /// The report's metrics as EMF lines, stamped now.
    pub fn metric_lines(&self, report: &Report) -> Vec<String> {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default();
        let mut lines = metrics::emf_lines(report, &self.settings.metrics_namespace, now_ms);
        if self.organization.as_ref().is_some_and(|o| o.settings.per_account_metrics) {
            lines.extend(metrics::account_lines(report, &self.settings.metrics_namespace, now_ms));
        }
        lines
    }
}

/// `report` archived: its JSON, then its HTML page beside it, each step within the deadline, so a page that is late
/// never hides that the JSON was written.
async fn archived(
    archive: &ReportArchive,
    report: &Report,
    deadline: Option<SystemTime>,
) -> crate::engine::report::ArchiveRecord {
    let mut record = match before(deadline, archive.store(report)).await {
        Some(Ok(record)) => record,
        Some(Err(error)) => {
            tracing::warn!(%error, "the report could not be archived");
            error.record()
        }
        None => archive.unwritten("not written: the run's deadline came first"),
    };
    if record.error.is_none() && before(deadline, archive.store_html(report, &mut record)).await.is_none() {
        record.html_error = Some("the HTML report was not written: the run's deadline came first".to_owned());
    }
    record
}

/// Accounts archived and notified at once in an organization run.
const ACCOUNT_OUTPUTS_IN_FLIGHT: usize = 8;

fn not_an_organization(step: &str) -> TriggerError {
    TriggerError::NotConfigured {
        what: "a fan-out step",
        names: step.to_owned(),
        variable: "JANITOR_MEMBER_ROLE",
        allowed: Vec::new(),
    }
}

/// A summary payload may name only what the fan-out's Map writes: a Map Run's manifest under the results prefix of
/// the configured report bucket. The step deletes nothing, but it reads from S3 and notifies the topic, so any other
/// bucket, or any other object of the bucket, is refused before anything is read (a payload never widens a run).
fn fan_out_results(location: &ResultsLocation, report_bucket: Option<&str>) -> Result<(), TriggerError> {
    if report_bucket != Some(location.bucket.as_str()) {
        return Err(TriggerError::NotConfigured {
            what: "bucket",
            names: trigger::clip(&location.bucket),
            variable: "JANITOR_REPORT_BUCKET",
            allowed: report_bucket.map(str::to_owned).into_iter().collect(),
        });
    }
    let run = location.key.strip_prefix(RESULTS_PREFIX).and_then(|rest| rest.strip_suffix(MANIFEST_NAME));
    let one_run = run.and_then(|run| run.strip_suffix('/')).is_some_and(|id| !id.is_empty() && !id.contains('/'));
    // S3 keys are at most 1,024 bytes of UTF-8: a longer one names nothing, and is not echoed whole into errors.
    if !one_run || location.key.len() > 1_024 {
        return Err(TriggerError::BadRequest(trigger::clip(&format!(
            "summarizeFrom.key must be a Map Run's manifest, {RESULTS_PREFIX}<map run id>/{MANIFEST_NAME}, not {}",
            location.key
        ))));
    }
    Ok(())
}

/// The report of an organization run whose accounts could not be listed: nothing swept, one failure, and why.
fn unlisted(request: &SweepRequest, error: &DirectoryError) -> Report {
    tracing::warn!(%error, "the organization's accounts could not be listed");
    let mut report = Report {
        dry_run: request.dry_run,
        trigger: request.trigger.clone(),
        started_at: aws_smithy_types::DateTime::from(SystemTime::now())
            .fmt(aws_smithy_types::date_time::Format::DateTime)
            .unwrap_or_default(),
        duration_ms: 0,
        notes: request.notes.clone(),
        totals: crate::engine::report::Counts::of_scan_failure(Some(ErrorClass::Service), false),
        sweeps: Vec::new(),
        archive: None,
        account: None,
        accounts: Vec::new(),
        notify_failed: false,
        rechecks: None,
    };
    report.notes.push(format!("{error}; nothing was swept"));
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::accounts::{Listed, MemberError};
    use crate::domain::resource::Resource;
    use crate::engine::policy::Verdict;
    use crate::outputs::recheck::scheduler::memory::Schedules;
    use crate::providers::memory::{job, Fake, Marks};
    use crate::providers::rds;
    use async_trait::async_trait;
    use serde_json::json;
    use std::collections::HashMap;

    const A: &str = "111111111111";
    const B: &str = "222222222222";
    const DENIED: &str = "333333333333";

    /// Member accounts in memory: each account's plane poses as RDS's, and `DENIED`'s role cannot be assumed.
    struct Accounts {
        planes: HashMap<String, Arc<Fake>>,
        /// Every account whose role was assumed, in order.
        assumed: std::sync::Mutex<Vec<String>>,
    }

    impl Accounts {
        fn new(fleets: &[(&str, Vec<Resource>)]) -> Arc<Accounts> {
            let planes = fleets
                .iter()
                .map(|(account, resources)| {
                    let mut fake = Fake::new(resources.clone());
                    fake.provider = rds::PROVIDER;
                    (account.to_string(), Arc::new(fake))
                })
                .collect();
            Arc::new(Accounts { planes, assumed: Default::default() })
        }

        fn deleted(&self, account: &str) -> Vec<String> {
            self.planes[account].deleted.lock().map(|d| d.clone()).unwrap_or_default()
        }
    }

    #[async_trait]
    impl Members for Accounts {
        async fn planes(&self, account: &str) -> Result<Vec<Arc<dyn ControlPlane>>, MemberError> {
            if let Ok(mut assumed) = self.assumed.lock() {
                assumed.push(account.to_owned());
            }
            match self.planes.get(account) {
                Some(plane) if account != DENIED => Ok(vec![Arc::clone(plane) as Arc<dyn ControlPlane>]),
                _ => Err(MemberError {
                    role_arn: format!("arn:aws:iam::{account}:role/Member"),
                    message: "AccessDenied: not authorized to perform sts:AssumeRole".to_owned(),
                    class: ErrorClass::Denied,
                }),
            }
        }
    }

    /// Stale jobs posing as RDS integrations (so the configured providers include them).
    fn stale(ids: &[&str]) -> Vec<Resource> {
        ids.iter().map(|id| Resource { provider: rds::PROVIDER, ..job(id, "Failed", None) }).collect()
    }

    fn organization(vars: &[(&str, &str)], accounts: &Arc<Accounts>, first_seen: FirstSeen) -> Janitor {
        let mut all = vec![
            ("JANITOR_DRY_RUN", "false"),
            ("JANITOR_PROVIDERS", "rds"),
            ("JANITOR_MIN_AGE", "0"),
            ("JANITOR_DMS_GRACE", "0"),
            ("JANITOR_RDS_GRACE", "0"),
            ("JANITOR_MEMBER_ROLE", "Member"),
            ("JANITOR_ACCOUNTS", "111111111111,222222222222,333333333333"),
            ("JANITOR_ACCOUNT_CONCURRENCY", "1"),
        ];
        all.retain(|(k, _)| !vars.iter().any(|(v, _)| v == k));
        all.extend_from_slice(vars);
        let settings =
            Settings::parse(|n| all.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())).expect("valid settings");
        let listed = match settings.organization.as_ref().map(|o| &o.source) {
            Some(crate::app::accounts::AccountSource::Listed(accounts)) => accounts.clone(),
            _ => Vec::new(),
        };
        Janitor::with_first_seen(settings, Vec::new(), first_seen).with_organization(
            Arc::new(Listed(listed)),
            Arc::clone(accounts) as Arc<dyn Members>,
            BTreeMap::from([("aws", vec!["cn-hangzhou".to_owned()])]),
        )
    }

    fn report(answer: Answer) -> Report {
        match answer {
            Answer::Report(report) => *report,
            other => panic!("a report, not {other:?}"),
        }
    }

    #[tokio::test]
    async fn every_account_is_swept_through_its_role_and_one_that_cannot_be_reached_is_reported() {
        let accounts = Accounts::new(&[(A, stale(&["a1", "a2"])), (B, stale(&["b1"])), (DENIED, stale(&["d1"]))]);
        let janitor = organization(&[], &accounts, FirstSeen::NotNeeded);
        let report = report(janitor.respond(json!({}), None, None).await.expect("a run"));
        assert_eq!(accounts.deleted(A), ["a1", "a2"]);
        assert_eq!(accounts.deleted(B), ["b1"]);
        assert!(accounts.deleted(DENIED).is_empty());
        let summaries: Vec<(&str, usize, Option<&str>)> =
            report.accounts.iter().map(|a| (a.account.as_str(), a.totals.deleted, a.error.as_deref())).collect();
        assert_eq!(
            summaries,
            [
                (A, 2, None),
                (B, 1, None),
                (
                    DENIED,
                    0,
                    Some(
                        "could not assume arn:aws:iam::333333333333:role/Member: AccessDenied: not authorized to \
                         perform sts:AssumeRole"
                    )
                ),
            ]
        );
        assert_eq!((report.totals.deleted, report.totals.failed), (3, 1));
        let accounts_of_sweeps: Vec<&str> = report.sweeps.iter().filter_map(|s| s.account.as_deref()).collect();
        assert_eq!(accounts_of_sweeps, [A, B]);
        assert_eq!(report.of_account(B).totals.deleted, 1);
    }

    #[tokio::test]
    async fn the_cap_applies_per_account_and_across_the_run() {
        let accounts = Accounts::new(&[(A, stale(&["a1", "a2", "a3"])), (B, stale(&["b1", "b2", "b3"]))]);
        let vars = [
            ("JANITOR_MAX_DELETES", "2"),
            ("JANITOR_MAX_DELETES_PER_RUN", "3"),
            ("JANITOR_ACCOUNTS", "111111111111,222222222222"),
        ];
        let janitor = organization(&vars, &accounts, FirstSeen::NotNeeded);
        let report = report(janitor.respond(json!({}), None, None).await.expect("a run"));
        assert_eq!(accounts.deleted(A), ["a1", "a2"]);
        assert_eq!(accounts.deleted(B), ["b1"]);
        let capped: Vec<(&str, &str)> = report
            .sweeps
            .iter()
            .flat_map(|s| s.items.iter())
            .filter(|i| i.verdict == Verdict::Capped)
            .map(|i| (i.id.as_str(), i.reason.as_str()))
            .collect();
        assert_eq!(
            capped,
            [
                ("a3", "over JANITOR_MAX_DELETES=2 for this run; waits for the next run"),
                ("b2", "over JANITOR_MAX_DELETES_PER_RUN=3 across the run's accounts; waits for the next run"),
                ("b3", "over JANITOR_MAX_DELETES=2 for this run; waits for the next run"),
            ]
        );
    }

    #[tokio::test]
    async fn first_seen_marks_are_kept_per_account() {
        let accounts = Accounts::new(&[(A, stale(&["same-id"])), (B, stale(&["same-id"]))]);
        let marks = Arc::new(Marks::default());
        let vars = [("JANITOR_RDS_GRACE", "1h"), ("JANITOR_ACCOUNTS", "111111111111,222222222222")];
        let janitor = organization(&vars, &accounts, FirstSeen::Store(marks.clone()));
        let report = report(janitor.respond(json!({}), None, None).await.expect("a run"));
        assert_eq!(report.totals.waiting, 2, "first seen now: both wait out the grace");
        let mut scopes: Vec<String> =
            marks.marks.lock().map(|m| m.keys().map(|(scope, _)| scope.clone()).collect()).unwrap_or_default();
        scopes.sort();
        assert_eq!(scopes, ["111111111111/rds/cn-hangzhou", "222222222222/rds/cn-hangzhou"]);
    }

    #[tokio::test]
    async fn an_organization_run_ends_by_its_deadline_and_says_which_accounts_it_did_not_reach() {
        let mut slow = Fake::new(stale(&["a1"]));
        slow.provider = rds::PROVIDER;
        slow.delete_takes = Duration::from_secs(5);
        let accounts = Arc::new(Accounts {
            planes: HashMap::from([
                (A.to_owned(), Arc::new(slow)),
                (B.to_owned(), Accounts::new(&[(B, stale(&["b1"]))]).planes[B].clone()),
            ]),
            assumed: Default::default(),
        });
        let vars = [("JANITOR_ACCOUNTS", "111111111111,222222222222"), ("JANITOR_DEADLINE_MARGIN", "1s")];
        let janitor = organization(&vars, &accounts, FirstSeen::NotNeeded);
        let started = std::time::Instant::now();
        let deadline = SystemTime::now() + Duration::from_millis(1_500);
        let report = report(janitor.respond(json!({}), Some(deadline), None).await.expect("a run"));
        assert!(started.elapsed() < Duration::from_millis(1_500), "the answer came before the deadline");
        let a1 = report.sweeps[0].items.first().map(|i| i.outcome);
        assert_eq!(a1, Some(crate::engine::report::Outcome::Unconfirmed), "sent, unanswered at the cutoff");
        let b = report.accounts.iter().find(|s| s.account == B).expect("B is listed");
        assert_eq!(
            b.error.as_deref(),
            Some(
                "the run reached its deadline (less JANITOR_DEADLINE_MARGIN) before this account's turn; the next run \
                 sweeps it"
            )
        );
        assert_eq!(report.totals.failed_by_class.get(&ErrorClass::TimedOut), Some(&1));
        assert!(accounts.deleted(B).is_empty());
    }

    #[tokio::test]
    async fn a_payload_narrows_the_accounts_never_widens_them() {
        let accounts = Accounts::new(&[(A, stale(&["a1"])), (B, stale(&["b1"]))]);
        let janitor =
            organization(&[("JANITOR_ACCOUNTS", "111111111111,222222222222")], &accounts, FirstSeen::NotNeeded);
        let narrowed = report(janitor.respond(json!({"accounts": [B]}), None, None).await.expect("narrowed"));
        assert_eq!(narrowed.accounts.iter().map(|a| a.account.as_str()).collect::<Vec<_>>(), [B]);
        assert!(accounts.deleted(A).is_empty());
        let wider = janitor.respond(json!({"accounts": ["999999999999"]}), None, None).await;
        assert!(
            matches!(
                &wider,
                Err(AnswerError::Payload(TriggerError::NotConfigured {
                    what: "accounts",
                    variable: "JANITOR_ACCOUNTS",
                    ..
                }))
            ),
            "{wider:?}"
        );
        let malformed = janitor.respond(json!({"accounts": ["11"]}), None, None).await;
        assert!(matches!(malformed, Err(AnswerError::Payload(TriggerError::BadRequest(_)))));
    }

    #[tokio::test]
    async fn the_fan_out_steps_list_the_accounts_and_add_up_the_children() {
        let accounts = Accounts::new(&[(A, Vec::new()), (B, Vec::new())]);
        let janitor = organization(&[], &accounts, FirstSeen::NotNeeded);
        let listed = janitor.respond(json!({"listAccounts": true}), None, None).await.expect("accounts");
        assert_eq!(serde_json::to_value(&listed).ok(), Some(json!({"accounts": [A, B, DENIED]})));
        let children = json!({"summarize": [
            {"accounts": [
                {"account": A, "totals": {"scanned": 10, "stale": 2, "deleted": 2}},
                {"account": DENIED, "error": "could not assume ...", "totals": {"failed": 1}}
            ]},
            {"Error": "Lambda.ServiceException", "Cause": "..."}
        ]});
        let Answer::Summary(summary) = janitor.respond(children, None, None).await.expect("summary") else {
            panic!("a summary")
        };
        assert_eq!((summary.accounts, summary.failed_children, summary.unswept.len()), (2, 1, 1));
        assert_eq!((summary.totals.scanned, summary.totals.deleted, summary.totals.failed), (10, 2, 1));
        let notification = summary.notification(false).expect("worth telling");
        assert!(notification.subject.contains("over 2 accounts: deleted 2"), "{}", notification.subject);
        assert!(notification.text.contains("1 batches of accounts failed as a whole"), "{}", notification.text);
    }

    #[tokio::test]
    async fn without_a_member_role_the_organization_payloads_are_refused() {
        let settings = Settings::parse(|_| None).expect("defaults");
        let janitor = Janitor::new(settings, Vec::new());
        let from = json!({"summarizeFrom": {"bucket": "janitor-reports", "key": "fan-out/run/manifest.json"}});
        for payload in [json!({"listAccounts": true}), json!({"accounts": [A]}), json!({"summarize": []}), from] {
            let answer = janitor.respond(payload.clone(), None, None).await;
            assert!(
                matches!(
                    &answer,
                    Err(AnswerError::Payload(TriggerError::NotConfigured { variable: "JANITOR_MEMBER_ROLE", .. }))
                ),
                "{payload}: {answer:?}"
            );
        }
        let outcome = janitor.respond(json!({"listAccounts": true, "dryRun": true}), None, None).await;
        assert!(matches!(outcome, Err(AnswerError::Payload(TriggerError::BadRequest(_)))));
    }

    /// A results reader whose S3 cannot be reached (a closed loopback port, no retries): a refusal that came only
    /// after reading would show as a read error.
    fn unreachable_results() -> MapResults {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new("AKID", "secret", None, None, "test"))
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
            .build();
        MapResults::new(aws_sdk_s3::Client::from_conf(config))
    }

    #[tokio::test]
    async fn a_summary_from_s3_is_refused_for_another_bucket_or_object_before_anything_is_read() {
        let accounts = Accounts::new(&[(A, Vec::new())]);
        let vars = [("JANITOR_REPORT_BUCKET", "janitor-reports")];
        let janitor = organization(&vars, &accounts, FirstSeen::NotNeeded).with_results(unreachable_results());
        let ask = |bucket: &str, key: &str| json!({"summarizeFrom": {"bucket": bucket, "key": key}});

        let elsewhere = janitor.respond(ask("someone-elses-bucket", "fan-out/run/manifest.json"), None, None).await;
        let Err(AnswerError::Payload(refusal)) = elsewhere else { panic!("refused: {elsewhere:?}") };
        assert_eq!(
            refusal.to_string(),
            "the request names bucket someone-elses-bucket that this janitor is not configured for \
             (JANITOR_REPORT_BUCKET allows [\"janitor-reports\"])"
        );
        for key in [
            "reports/2026/01/01/T000000Z-schedule-1.json",
            "fan-out/manifest.json",
            "fan-out//manifest.json",
            "fan-out/a/b/manifest.json",
            "fan-out/run/SUCCEEDED_0.json",
            "elsewhere/fan-out/run/manifest.json",
        ] {
            let outside = janitor.respond(ask("janitor-reports", key), None, None).await;
            let Err(AnswerError::Payload(TriggerError::BadRequest(why))) = &outside else {
                panic!("{key} refused: {outside:?}")
            };
            assert_eq!(
                why,
                &format!(
                    "summarizeFrom.key must be a Map Run's manifest, fan-out/<map run id>/manifest.json, not {key}"
                )
            );
        }
        let long = format!("fan-out/{}/manifest.json", "r".repeat(1_024));
        let too_long = janitor.respond(ask("janitor-reports", &long), None, None).await;
        let Err(AnswerError::Payload(TriggerError::BadRequest(why))) = &too_long else { panic!("{too_long:?}") };
        assert!(why.ends_with("rrr…") && why.chars().count() < 300, "{why}");
        for malformed in [
            json!({"summarizeFrom": {"bucket": "janitor-reports"}}),
            json!({"summarizeFrom": {"bucket": "janitor-reports", "key": "fan-out/r/manifest.json", "dryRun": false}}),
            json!({"summarizeFrom": "s3://janitor-reports/fan-out/r/manifest.json"}),
            json!({"summarizeFrom": {"bucket": "janitor-reports", "key": "fan-out/r/manifest.json"}, "accounts": [A]}),
            json!({"summarizeFrom": {"bucket": "janitor-reports", "key": "fan-out/r/manifest.json"}, "summarize": []}),
        ] {
            let answer = janitor.respond(malformed.clone(), None, None).await;
            assert!(
                matches!(answer, Err(AnswerError::Payload(TriggerError::BadRequest(_)))),
                "{malformed}: {answer:?}"
            );
        }

        let read = janitor.respond(ask("janitor-reports", "fan-out/0b7e/manifest.json"), None, None).await;
        let Err(AnswerError::Results(error @ ResultsError::Read { .. })) = &read else {
            panic!("the fan-out's own manifest is read: {read:?}")
        };
        assert!(
            error.to_string().starts_with(
                "s3://janitor-reports/fan-out/0b7e/manifest.json could not be read (missing, or not readable by the \
                 function's role): "
            ),
            "{error}"
        );

        let without_bucket = organization(&[], &accounts, FirstSeen::NotNeeded);
        let answer = without_bucket.respond(ask("janitor-reports", "fan-out/r/manifest.json"), None, None).await;
        assert!(
            matches!(
                &answer,
                Err(AnswerError::Payload(TriggerError::NotConfigured { variable: "JANITOR_REPORT_BUCKET", allowed, .. }))
                    if allowed.is_empty()
            ),
            "{answer:?}"
        );
    }

    /// A notifier whose topic cannot be reached (a closed loopback port, no retries): every publish fails at once.
    fn unreachable_notifier() -> Notifier {
        let config = aws_sdk_sns::Config::builder()
            .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
            .region(aws_sdk_sns::config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(aws_sdk_sns::config::Credentials::new("AKID", "secret", None, None, "test"))
            .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled())
            .build();
        Notifier::new(aws_sdk_sns::Client::from_conf(config), "arn:aws:sns:us-east-1:123456789012:janitor")
    }

    /// The run's aggregate metric line.
    fn aggregate(janitor: &Janitor, report: &Report) -> Value {
        let lines = janitor.metric_lines(report);
        let line = lines.iter().find(|l| !l.contains("\"Provider\"") && !l.contains("\"Account\""));
        serde_json::from_str(line.map(String::as_str).unwrap_or_default()).expect("an aggregate EMF line")
    }

    #[tokio::test]
    async fn a_notification_that_cannot_be_published_is_noted_and_counted() {
        let mut plane = Fake::new(stale(&["s1"]));
        plane.provider = rds::PROVIDER;
        let vars = [
            ("JANITOR_DRY_RUN", "false"),
            ("JANITOR_PROVIDERS", "rds"),
            ("JANITOR_MIN_AGE", "0"),
            ("JANITOR_RDS_GRACE", "0"),
        ];
        let settings = Settings::parse(|n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string()))
            .expect("valid settings");
        let janitor = Janitor::new(settings, vec![Arc::new(plane)]).with_notifier(unreachable_notifier());
        let report = janitor.sweep(&janitor.configured_request("test")).await;

        assert_eq!(report.totals.deleted, 1, "the deletes stand: {:?}", report.totals);
        assert!(report.notify_failed);
        assert!(
            report.notes.iter().any(|n| n.starts_with("the notification could not be published: ")),
            "{:?}",
            report.notes
        );
        assert_eq!(serde_json::to_value(&report).ok().map(|r| r["notifyFailed"].clone()), Some(json!(true)));
        assert_eq!(aggregate(&janitor, &report)["NotifyFailed"], 1);
    }

    #[tokio::test]
    async fn a_run_with_nothing_to_tell_has_no_failed_notification() {
        let janitor = Janitor::new(Settings::parse(|_| None).expect("defaults"), Vec::new())
            .with_notifier(unreachable_notifier());
        let report = janitor.sweep(&janitor.configured_request("test")).await;
        assert!(!report.notify_failed);
        assert!(serde_json::to_value(&report).ok().is_some_and(|r| r.get("notifyFailed").is_none()));
        assert_eq!(aggregate(&janitor, &report)["NotifyFailed"], 0);
    }

    #[tokio::test]
    async fn in_an_organization_run_an_accounts_failed_notification_counts() {
        let accounts = Accounts::new(&[(A, stale(&["a1"])), (B, Vec::new())]);
        let vars = [("JANITOR_ACCOUNTS", "111111111111,222222222222")];
        let janitor = organization(&vars, &accounts, FirstSeen::NotNeeded).with_notifier(unreachable_notifier());
        let run = report(janitor.respond(json!({}), None, None).await.expect("a run"));

        assert_eq!(accounts.deleted(A), ["a1"]);
        assert!(run.notify_failed);
        let notes: Vec<&String> = run.notes.iter().filter(|n| n.contains("could not be published")).collect();
        assert_eq!(notes.len(), 1, "only A had something to tell: {notes:?}");
        assert!(notes[0].starts_with(&format!("the notification for account {A} could not be published: ")));
        assert_eq!(aggregate(&janitor, &run)["NotifyFailed"], 1);

        let quiet = [vars[0], ("JANITOR_ACCOUNT_NOTIFICATIONS", "false")];
        let accounts = Accounts::new(&[(A, stale(&["a1"]))]);
        let janitor = organization(&quiet, &accounts, FirstSeen::NotNeeded).with_notifier(unreachable_notifier());
        let quiet_report = report(janitor.respond(json!({}), None, None).await.expect("a run"));
        assert!(!quiet_report.notify_failed, "no notification per account was due");
        assert_eq!(aggregate(&janitor, &quiet_report)["NotifyFailed"], 0);
    }

    const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:replication-janitor";

    /// Re-checks into memory, as the template configures them.
    fn rechecks(port: &Arc<Schedules>) -> Rechecks {
        let settings = crate::config::recheck::RecheckSettings {
            role_arn: "arn:aws:iam::123456789012:role/janitor-rechecks".to_owned(),
            group: "janitor-rechecks".to_owned(),
            max_schedules: 20,
        };
        Rechecks::new(Arc::clone(port) as Arc<dyn crate::outputs::recheck::scheduler::SchedulePort>, settings)
    }

    /// The payload of the schedule whose minute is the earliest.
    fn earliest_input(port: &Schedules) -> Value {
        let created = port.created.lock().map(|c| c.clone()).unwrap_or_default();
        let first = created.iter().min_by_key(|s| s.expression.clone()).expect("a schedule");
        serde_json::from_str(&first.input).expect("the input is JSON")
    }

    #[tokio::test]
    async fn a_fired_re_check_deletes_what_is_due_in_its_scope_and_nothing_else() {
        let mut plane = Fake::new(stale(&["due", "later", "fresh"]));
        plane.provider = rds::PROVIDER;
        let plane = Arc::new(plane);
        let marks = Arc::new(Marks::default());
        let now = SystemTime::now();
        let hour = Duration::from_secs(3_600);
        if let Ok(mut held) = marks.marks.lock() {
            let scope = "rds/cn-hangzhou".to_owned();
            held.insert((scope.clone(), "due".to_owned()), now - hour + Duration::from_millis(1_500));
            held.insert((scope, "later".to_owned()), now - hour / 2);
        }
        let vars = [
            ("JANITOR_DRY_RUN", "false"),
            ("JANITOR_PROVIDERS", "rds"),
            ("JANITOR_MIN_AGE", "0"),
            ("JANITOR_RDS_GRACE", "1h"),
        ];
        let settings = Settings::parse(|n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string()))
            .expect("valid settings");
        let port = Arc::new(Schedules::default());
        let janitor = Janitor::with_first_seen(
            settings,
            vec![Arc::clone(&plane) as Arc<dyn ControlPlane>],
            FirstSeen::Store(marks),
        )
        .with_rechecks(rechecks(&port));

        let first = report(janitor.respond(json!({}), None, Some(FUNCTION)).await.expect("a run"));
        assert_eq!(first.totals.waiting, 3, "every grace is still running");
        let record = first.rechecks.clone().expect("re-checks recorded");
        assert_eq!((record.created, record.existing, record.failed), (3, 0, 0), "three graces, three minutes");
        let input = earliest_input(&port);
        assert_eq!(input, json!({"providers": ["rds"], "regions": ["cn-hangzhou"]}));

        tokio::time::sleep(Duration::from_millis(1_600)).await;
        let fired = report(janitor.respond(input, None, Some(FUNCTION)).await.expect("the re-check"));
        let deleted = plane.deleted.lock().map(|d| d.clone()).unwrap_or_default();
        assert_eq!(deleted, ["due"], "the grace that ended, and only it");
        assert_eq!(fired.trigger, "manual");
        assert!(!fired.dry_run, "the configuration decides");
        let again = fired.rechecks.expect("the others are re-checked later still");
        assert_eq!((again.created, again.existing), (0, 2), "their schedules exist already");
    }

    #[tokio::test]
    async fn a_dry_run_configuration_re_checks_as_a_dry_run() {
        let mut plane = Fake::new(stale(&["due"]));
        plane.provider = rds::PROVIDER;
        let plane = Arc::new(plane);
        let marks = Arc::new(Marks::default());
        let vars = [("JANITOR_PROVIDERS", "rds"), ("JANITOR_MIN_AGE", "0"), ("JANITOR_RDS_GRACE", "1h")];
        let settings = Settings::parse(|n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string()))
            .expect("valid settings");
        let port = Arc::new(Schedules::default());
        let janitor = Janitor::with_first_seen(
            settings,
            vec![Arc::clone(&plane) as Arc<dyn ControlPlane>],
            FirstSeen::Store(marks),
        )
        .with_rechecks(rechecks(&port));
        let first = report(janitor.respond(json!({}), None, Some(FUNCTION)).await.expect("a run"));
        assert!(first.dry_run);
        let input = earliest_input(&port);
        assert!(input.get("dryRun").is_none(), "the payload never says dryRun: {input}");
        let fired = report(janitor.respond(input, None, Some(FUNCTION)).await.expect("the re-check"));
        assert!(fired.dry_run, "a dry-run configuration re-checks as a dry run");
        assert!(plane.deleted.lock().map(|d| d.is_empty()).unwrap_or(false));
    }

    #[tokio::test]
    async fn the_cli_path_schedules_no_re_check() {
        let mut plane = Fake::new(stale(&["young"]));
        plane.provider = rds::PROVIDER;
        let vars = [("JANITOR_PROVIDERS", "rds"), ("JANITOR_MIN_AGE", "0"), ("JANITOR_RDS_GRACE", "1h")];
        let settings = Settings::parse(|n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string()))
            .expect("valid settings");
        let port = Arc::new(Schedules::default());
        let janitor =
            Janitor::with_first_seen(settings, vec![Arc::new(plane)], FirstSeen::Store(Arc::new(Marks::default())))
                .with_rechecks(rechecks(&port));
        let report = janitor.sweep(&janitor.configured_request("cli")).await;
        assert!(port.names().is_empty(), "no function to invoke");
        assert!(report.notes.iter().any(|n| n.starts_with("1 on-time re-check(s) not scheduled: only the Lambda")));
    }

    #[tokio::test]
    async fn an_organization_re_check_names_its_account_and_sweeps_only_it() {
        let accounts = Accounts::new(&[(A, stale(&["a1"])), (B, stale(&["b1"]))]);
        let vars = [("JANITOR_RDS_GRACE", "1h"), ("JANITOR_ACCOUNTS", "111111111111,222222222222")];
        let port = Arc::new(Schedules::default());
        let janitor =
            organization(&vars, &accounts, FirstSeen::Store(Arc::new(Marks::default()))).with_rechecks(rechecks(&port));
        let first = report(janitor.respond(json!({}), None, Some(FUNCTION)).await.expect("a run"));
        assert_eq!(first.rechecks.map(|r| r.created), Some(2), "one per account: they are different scopes");
        let created = port.created.lock().map(|c| c.clone()).unwrap_or_default();
        let mut inputs: Vec<Value> = created.iter().map(|s| serde_json::from_str(&s.input).expect("JSON")).collect();
        inputs.sort_by_key(|i| i["accounts"].to_string());
        assert_eq!(
            inputs,
            [
                json!({"accounts": [A], "providers": ["rds"], "regions": ["cn-hangzhou"]}),
                json!({"accounts": [B], "providers": ["rds"], "regions": ["cn-hangzhou"]}),
            ]
        );
        if let Ok(mut assumed) = accounts.assumed.lock() {
            assumed.clear();
        }
        let fired = report(janitor.respond(inputs[1].clone(), None, Some(FUNCTION)).await.expect("B's re-check"));
        assert_eq!(fired.accounts.iter().map(|a| a.account.as_str()).collect::<Vec<_>>(), [B]);
        assert_eq!(accounts.assumed.lock().map(|a| a.clone()).unwrap_or_default(), [B], "only B's role");
    }

    #[tokio::test]
    async fn a_run_of_providers_not_per_account_assumes_no_member_role() {
        let accounts = Accounts::new(&[(A, stale(&["a1"]))]);
        let mut dts =
            Fake::new(vec![Resource { provider: crate::providers::dts::PROVIDER, ..job("j1", "Failed", None) }]);
        dts.provider = crate::providers::dts::PROVIDER;
        let vars = [
            ("JANITOR_PROVIDERS", "rds,dts"),
            ("JANITOR_DTS_REGIONS", "cn-hangzhou"),
            ("JANITOR_DTS_GRACE", "0"),
            ("JANITOR_RDS_GRACE", "0"),
            ("JANITOR_MIN_AGE", "0"),
            ("JANITOR_DRY_RUN", "false"),
            ("JANITOR_MEMBER_ROLE", "Member"),
            ("JANITOR_ACCOUNTS", A),
        ];
        let settings = Settings::parse(|n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string()))
            .expect("valid settings");
        let janitor = Janitor::with_first_seen(settings, vec![Arc::new(dts)], FirstSeen::NotNeeded).with_organization(
            Arc::new(Listed(vec![A.to_owned()])),
            Arc::clone(&accounts) as Arc<dyn Members>,
            BTreeMap::from([("aws", vec!["cn-hangzhou".to_owned()])]),
        );
        let payload = json!({"providers": ["dts"], "dtsRegions": ["cn-hangzhou"]});
        let run = report(janitor.respond(payload, None, Some(FUNCTION)).await.expect("a DTS run"));
        assert_eq!(run.totals.deleted, 1, "the DTS job: {:?}", run.totals);
        assert!(accounts.assumed.lock().map(|a| a.is_empty()).unwrap_or(false), "no member account has DTS jobs");
        assert!(accounts.deleted(A).is_empty());
        let everything = report(janitor.respond(json!({}), None, Some(FUNCTION)).await.expect("a full run"));
        assert_eq!(accounts.assumed.lock().map(|a| a.clone()).unwrap_or_default(), [A], "a full run assumes A's role");
        assert_eq!(everything.accounts.len(), 1);
    }
}
