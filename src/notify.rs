//! Notifications: one SNS message per run that has something to say (it deleted, would delete, failed, left a
//! delete unconfirmed, capped or tripped), none otherwise. A short human summary: the counts per provider and region,
//! the first few names, and where the full report is.
//!
//! The message is in the custom-notification format of Amazon Q Developer in chat applications (formerly AWS
//! Chatbot), so a topic mapped to a Slack or Teams channel shows it with no code. What its guide ("Custom
//! notifications using Amazon Q Developer in chat applications", event schema and parameter details) documents:
//! `version` (required, must be `1.0`), `source` (required, must be `custom`), optional `id`, `content` with
//! `textType` (only `client-markdown` is supported: the text is rendered in the chat platform's own markdown),
//! `title` (markdown, emojis allowed), `description`, `nextSteps` and `keywords` (lists of strings), and `metadata`
//! with `threadId`, `summary`, `eventType`, `relatedResources` and `additionalContext` (string values). Not found
//! documented: length limits of the fields, so the summary is kept short by construction (at most
//! [`NAMES_PER_LIST`] names per list, one line per provider and region, error texts cut at [`ERROR_CHARS`]); SNS
//! itself takes messages up to 256 KB. Slack and Teams differ on bold and italics, so the text uses only inline
//! code (backticks), which both render.
//!
//! The message is published with SNS's `MessageStructure=json` (documented in the Publish API reference): the chat
//! format is the `default` message, which every protocol without its own key gets (the chat integration subscribes
//! over HTTPS); e-mail subscribers get the same summary as plain text under the `email` key, and the `Subject`
//! (documented: under 100 characters, no line breaks or control characters) is the title.

use crate::archive::ArchiveRecord;
use crate::aws;
use crate::policy::Verdict;
use crate::report::{AccountSummary, Item, Outcome, Report, Sweep, Totals};
use crate::resource::ErrorClass;
use aws_config::{Region, SdkConfig};
use aws_smithy_types::error::display::DisplayErrorContext;
use serde::Serialize;
use std::collections::BTreeMap;

/// How many names each list (deleted, would delete, failed, ...) shows before "and N more".
pub const NAMES_PER_LIST: usize = 5;
/// How much of a control plane's error text a line carries.
pub const ERROR_CHARS: usize = 160;
/// SNS subjects must be under 100 characters.
const SUBJECT_CHARS: usize = 99;

/// Why a notification was not published; the run's outcome is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("the notification could not be serialized: {0}")]
    Serialize(#[from] serde_json::Error),
    /// SNS refused the message or could not be reached.
    #[error("the notification could not be published to {topic_arn}: {cause}")]
    Publish { topic_arn: String, cause: String },
}

/// One run's notification: the chat message, its plain-text form for e-mail, and the subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub subject: String,
    pub chat: ChatMessage,
    pub text: String,
}

/// A custom notification of Amazon Q Developer in chat applications (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    pub version: &'static str,
    pub source: &'static str,
    pub content: ChatContent,
    pub metadata: ChatMetadata,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatContent {
    pub text_type: &'static str,
    pub title: String,
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub next_steps: Vec<String>,
    pub keywords: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMetadata {
    pub summary: String,
    pub event_type: &'static str,
    pub additional_context: BTreeMap<&'static str, String>,
}

/// Publishes to one topic, through one client built at cold start.
pub struct Notifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
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

impl Notifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Notifier {
        Notifier { client, topic_arn: topic_arn.into() }
    }

    /// The notifier of `topic_arn` through a client of the process's AWS configuration in the topic's own region
    /// (SNS takes a publish only in the topic's region), bounded in time like every call, with the SDK's standard
    /// retries.
    pub fn from_sdk(sdk: &SdkConfig, topic_arn: impl Into<String>, max_attempts: u32) -> Notifier {
        let topic_arn = topic_arn.into();
        let mut config = aws_sdk_sns::config::Builder::from(sdk)
            .retry_config(aws::store_retry_config(max_attempts))
            .timeout_config(aws::timeout_config());
        if let Some(region) = topic_region(&topic_arn) {
            config = config.region(Region::new(region.to_owned()));
        }
        Notifier::new(aws_sdk_sns::Client::from_conf(config.build()), topic_arn)
    }

    /// Publishes the notification; returns SNS's message id.
    pub async fn publish(&self, notification: &Notification) -> Result<String, NotifyError> {
        let chat = serde_json::to_string(&notification.chat)?;
        let message = serde_json::to_string(&serde_json::json!({"default": chat, "email": notification.text}))?;
        let output = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&notification.subject)
            .message_structure("json")
            .message(message)
            .send()
            .await
            .map_err(|error| NotifyError::Publish {
                topic_arn: self.topic_arn.clone(),
                cause: DisplayErrorContext(&error).to_string(),
            })?;
        Ok(output.message_id.unwrap_or_default())
    }
}

/// Whether a run has something to tell: it deleted or would delete, a delete or a scan failed, a delete is
/// unconfirmed, the cap held something back, or a tripwire tripped.
pub fn worth_telling(report: &Report) -> bool {
    let t = &report.totals;
    [t.deleted, t.would_delete, t.failed, t.unconfirmed, t.capped].iter().any(|n| *n > 0)
        || report.sweeps.iter().any(|s| s.tripwire_tripped)
}

/// The run's notification, or `None` when it has nothing to tell. `archive` is where its full report went.
pub fn notification(report: &Report, archive: Option<&ArchiveRecord>) -> Option<Notification> {
    if !worth_telling(report) {
        return None;
    }
    let title = title(report);
    let description = description(report, archive);
    let next_steps = next_steps(report, archive);
    let mut text = format!("{title}\n\n{description}\n");
    if !next_steps.is_empty() {
        text.push('\n');
        for step in &next_steps {
            text.push_str(&format!("- {step}\n"));
        }
    }
    let mut context = BTreeMap::from([("trigger", report.trigger.clone()), ("dryRun", report.dry_run.to_string())]);
    if let Some(record) = archive.filter(|r| r.error.is_none()) {
        context.insert("report", record.uri());
    }
    Some(Notification {
        subject: subject(&title),
        chat: ChatMessage {
            version: "1.0",
            source: "custom",
            content: ChatContent {
                text_type: "client-markdown",
                title: title.clone(),
                description,
                next_steps,
                keywords: keywords(report),
            },
            metadata: ChatMetadata { summary: title, event_type: "ReplicationJanitorRun", additional_context: context },
        },
        text,
    })
}

/// The run, a line per provider and region with something to tell, the first names of each list, and where the
/// full report is (or why it is not).
fn description(report: &Report, archive: Option<&ArchiveRecord>) -> String {
    let mut lines = vec![format!(
        "{} started {}, trigger `{}`, {} ms.",
        if report.dry_run { "Dry run" } else { "Deleting run" },
        report.started_at,
        report.trigger,
        report.duration_ms
    )];
    lines.extend(report.sweeps.iter().filter_map(sweep_line));
    for (label, outcome) in LISTS {
        lines.extend(named_line(report, label, |item| item.outcome == *outcome));
    }
    lines.extend(named_line(report, "Capped (next run)", |item| item.verdict == Verdict::Capped));
    match archive.map(|record| (record, &record.error)) {
        Some((record, None)) => lines.push(format!("Full report: `{}`", record.uri())),
        Some((_, Some(error))) => lines.push(format!("The report was not archived: {error}")),
        None => {}
    }
    lines.join("\n")
}

fn next_steps(report: &Report, archive: Option<&ArchiveRecord>) -> Vec<String> {
    let mut steps = Vec::new();
    if let Some(record) = archive.filter(|r| r.error.is_none()) {
        steps.push(format!("Read the full report: {}", record.uri()));
    }
    if report.totals.failed > 0 || report.totals.unconfirmed > 0 {
        steps.push("Look at each failed item's error and each failed scan in the report".to_owned());
    }
    for (class, count) in &report.totals.failed_by_class {
        if let Some(advice) = advice(*class) {
            steps.push(format!("{count} failed as {}: {advice}", class.metric_suffix().to_ascii_lowercase()));
        }
    }
    if report.dry_run && report.totals.would_delete > 0 {
        steps.push("Review what would be deleted before turning dry run off (JANITOR_DRY_RUN=false)".to_owned());
    }
    steps
}

/// What a kind of failure asks of the operator, where it asks something particular.
fn advice(class: ErrorClass) -> Option<&'static str> {
    match class {
        ErrorClass::Denied => Some("the janitor's role (or the member role) lacks a permission; see the IAM section"),
        ErrorClass::Throttled => {
            Some("the control plane kept throttling; the next run retries, or lower JANITOR_CONCURRENCY")
        }
        ErrorClass::TimedOut | ErrorClass::Transport => Some("the control plane did not answer; the next run retries"),
        ErrorClass::NotFound => Some("a delete said not found while the resource is still listed; look at it by hand"),
        ErrorClass::WrongState | ErrorClass::Service => None,
    }
}

/// The providers swept, then whether the run was dry.
fn keywords(report: &Report) -> Vec<String> {
    let mut keywords: Vec<String> = Vec::new();
    for provider in report.sweeps.iter().map(|s| s.provider.as_str()) {
        if !keywords.iter().any(|k| k == provider) {
            keywords.push(provider.to_owned());
        }
    }
    keywords.push(if report.dry_run { "dry-run" } else { "deleting" }.to_owned());
    keywords
}

/// The outcomes whose names are listed, in the order a reader cares about them.
const LISTS: &[(&str, Outcome)] = &[
    ("Failed", Outcome::Failed),
    ("Unconfirmed", Outcome::Unconfirmed),
    ("Deleted", Outcome::Deleted),
    ("Would delete", Outcome::WouldDelete),
];

/// `deleted 2, failed 1`: the counts that are not zero, by label.
fn nonzero(counts: &[(&str, usize)]) -> Vec<String> {
    counts.iter().filter(|(_, n)| *n > 0).map(|(label, n)| format!("{label} {n}")).collect()
}

/// `replication-janitor dry run (schedule): would delete 4, capped 2`.
fn title(report: &Report) -> String {
    let t = &report.totals;
    let mut parts = nonzero(&[
        ("deleted", t.deleted),
        ("would delete", t.would_delete),
        ("failed", t.failed),
        ("unconfirmed", t.unconfirmed),
        ("capped", t.capped),
    ]);
    if report.sweeps.iter().any(|s| s.tripwire_tripped) {
        parts.push("tripwire tripped".to_owned());
    }
    let run = if report.dry_run { "dry run" } else { "run" };
    let account = report.account.as_ref().map(|a| format!(" in account {a}")).unwrap_or_default();
    format!("replication-janitor {run}{account} ({}): {}", report.trigger, parts.join(", "))
}

/// What the fan-out's children found, over every account: the summary step's notification and answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// Accounts the children reported on.
    pub accounts: usize,
    /// Accounts that could not be swept (their role could not be assumed), with why.
    pub unswept: Vec<AccountSummary>,
    /// Children that failed as a whole (a Step Functions error in place of a result).
    pub failed_children: usize,
    pub totals: Totals,
}

impl RunSummary {
    /// Adds up the children's results: `{"accounts": [account summary, ...]}` each, or a Step Functions error
    /// object (`{"Error": ..., "Cause": ...}`) for a child that failed; anything else counts as a failed child.
    pub fn of(children: &[serde_json::Value]) -> RunSummary {
        let mut summary = RunSummary::default();
        for child in children {
            let accounts =
                child.get("accounts").and_then(|a| serde_json::from_value::<Vec<AccountSummary>>(a.clone()).ok());
            match accounts {
                Some(accounts) => {
                    for account in accounts {
                        summary.accounts += 1;
                        summary.totals.add(&account.totals);
                        if account.error.is_some() {
                            summary.unswept.push(account);
                        }
                    }
                }
                None => summary.failed_children += 1,
            }
        }
        summary
    }

    /// The one notification of a fan-out run, when it has something to say.
    pub fn notification(&self, dry_run: bool) -> Option<Notification> {
        let t = &self.totals;
        let notable = t.deleted + t.would_delete + t.failed + t.capped > 0 || self.failed_children > 0;
        if !notable {
            return None;
        }
        let run = if dry_run { "dry run" } else { "run" };
        let title = format!(
            "replication-janitor {run} over {} accounts: deleted {}, would delete {}, failed {}, capped {}",
            self.accounts, t.deleted, t.would_delete, t.failed, t.capped
        );
        let mut description = format!(
            "{} resources scanned, {} stale, {} protected across {} accounts.",
            t.scanned, t.stale, t.protected, self.accounts
        );
        if self.failed_children > 0 {
            description.push_str(&format!(
                " {} batches of accounts failed as a whole: see the state machine's execution.",
                self.failed_children
            ));
        }
        let mut next_steps: Vec<String> = self
            .unswept
            .iter()
            .take(NAMES_PER_LIST)
            .map(|a| format!("account {}: {}", a.account, cut(a.error.as_deref().unwrap_or_default(), ERROR_CHARS)))
            .collect();
        if self.unswept.len() > NAMES_PER_LIST {
            next_steps.push(format!("and {} more accounts not swept", self.unswept.len() - NAMES_PER_LIST));
        }
        let mut text = format!("{title}\n\n{description}\n");
        for step in &next_steps {
            text.push_str(&format!("- {step}\n"));
        }
        Some(Notification {
            subject: subject(&title),
            chat: ChatMessage {
                version: "1.0",
                source: "custom",
                content: ChatContent {
                    text_type: "client-markdown",
                    title: title.clone(),
                    description,
                    next_steps,
                    keywords: vec!["replication-janitor".to_owned(), "organization".to_owned()],
                },
                metadata: ChatMetadata {
                    summary: title,
                    event_type: "ReplicationJanitorRunSummary",
                    additional_context: BTreeMap::from([("dryRun", dry_run.to_string())]),
                },
            },
            text,
        })
    }
}

/// The title as an SNS subject: one line, no control characters, under 100 characters.
fn subject(title: &str) -> String {
    let one_line: String = title.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    cut(&one_line, SUBJECT_CHARS)
}

/// `text` cut to at most `max` characters, with an ellipsis when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut kept: String = text.chars().take(max.saturating_sub(1)).collect();
    kept.push('…');
    kept
}

/// `dms us-east-1: deleted 2, failed 1` for a sweep with something to tell, with its scan error or tripwire.
fn sweep_line(sweep: &Sweep) -> Option<String> {
    let c = &sweep.counts;
    let mut parts = nonzero(&[
        ("deleted", c.deleted),
        ("would delete", c.would_delete),
        ("failed", c.failed),
        ("unconfirmed", c.unconfirmed),
        ("capped", c.capped),
        ("protected", c.protected),
    ]);
    if sweep.tripwire_tripped {
        parts.push("tripwire tripped: nothing deleted here".to_owned());
    }
    if let Some(error) = &sweep.error {
        parts.push(format!("scan failed: {}", cut(error, ERROR_CHARS)));
    }
    let notable =
        [c.deleted, c.would_delete, c.failed, c.unconfirmed, c.capped].iter().any(|n| *n > 0) || sweep.tripwire_tripped;
    let account = sweep.account.as_ref().map(|a| format!("{a} ")).unwrap_or_default();
    notable.then(|| format!("• {account}{} {}: {}", sweep.provider, sweep.region, parts.join(", ")))
}

/// `Deleted: `a` (rds us-east-1), `b` (rds eu-west-1) and 3 more`, each with its error if it has one; nothing when
/// no item matches.
fn named_line(report: &Report, label: &str, matches: impl Fn(&Item) -> bool) -> Option<String> {
    let mut names = Vec::new();
    let mut total = 0usize;
    for sweep in &report.sweeps {
        for item in sweep.items.iter().filter(|item| matches(item)) {
            total += 1;
            if names.len() < NAMES_PER_LIST {
                let mut name = format!("`{}` ({} {})", item.name, sweep.provider, sweep.region);
                if let Some(error) = &item.error {
                    name.push_str(&format!(": {}", cut(error, ERROR_CHARS)));
                }
                names.push(name);
            }
        }
    }
    if total == 0 {
        return None;
    }
    let more = total - names.len();
    let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
    Some(format!("{label}: {}{tail}", names.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{dms, rds};
    use crate::report::Counts;
    use crate::resource::Provider;

    fn item(name: &str, verdict: Verdict, outcome: Outcome, error: Option<&str>) -> Item {
        Item {
            kind: "rds-integration",
            id: format!("arn:aws:rds:us-east-1:123456789012:integration:{name}"),
            name: name.to_owned(),
            status: "failed".to_owned(),
            verdict,
            reason: "status failed".to_owned(),
            outcome,
            error: error.map(str::to_owned),
            error_class: None,
            failure: None,
        }
    }

    fn sweep(provider: Provider, region: &str, items: Vec<Item>) -> Sweep {
        let mut counts = Counts::default();
        for item in &items {
            counts.count(item);
        }
        Sweep { duration_ms: 5, counts, items, ..Sweep::new(provider, region) }
    }

    fn report(dry_run: bool, sweeps: Vec<Sweep>) -> Report {
        let mut totals = Counts::default();
        for sweep in &sweeps {
            totals.add(&sweep.counts);
        }
        Report {
            dry_run,
            trigger: "schedule".to_owned(),
            started_at: "2026-11-25T03:10:00Z".to_owned(),
            duration_ms: 1234,
            notes: Vec::new(),
            totals,
            sweeps,
            archive: None,
            account: None,
            accounts: Vec::new(),
        }
    }

    fn healthy(name: &str) -> Item {
        item(name, Verdict::Healthy, Outcome::Kept, None)
    }

    #[test]
    fn a_run_with_nothing_to_tell_publishes_nothing() {
        let quiet = report(
            false,
            vec![sweep(
                rds::PROVIDER,
                "us-east-1",
                vec![healthy("a"), item("p", Verdict::Protected, Outcome::Kept, None)],
            )],
        );
        assert_eq!(notification(&quiet, None), None);
    }

    #[test]
    fn a_deleting_run_lists_counts_per_provider_and_region_the_first_names_and_the_archive() {
        let mut deleted: Vec<Item> =
            (0..7).map(|n| item(&format!("gone-{n}"), Verdict::Delete, Outcome::Deleted, None)).collect();
        deleted.push(item("stuck", Verdict::Delete, Outcome::Failed, Some("InvalidIntegrationStateFault: busy")));
        deleted.push(item("later", Verdict::Capped, Outcome::Kept, None));
        let mut dms = sweep(dms::PROVIDER, "eu-west-1", Vec::new());
        dms.error = Some("access denied: the janitor's role may not call dms:DescribeConnections".to_owned());
        dms.counts.failed = 1;
        let run = report(
            false,
            vec![
                sweep(rds::PROVIDER, "us-east-1", deleted),
                dms,
                sweep(rds::PROVIDER, "eu-west-1", vec![healthy("h")]),
            ],
        );
        let archive = ArchiveRecord {
            bucket: "reports-bucket".into(),
            key: "reports/2026/11/25/T031000Z-schedule-1.json".into(),
            error: None,
        };

        let n = notification(&run, Some(&archive)).expect("a deleting run notifies");
        assert_eq!(n.subject, "replication-janitor run (schedule): deleted 7, failed 2, capped 1");
        assert_eq!(n.chat.content.title, n.subject);
        assert_eq!(
            n.chat.content.description,
            "Deleting run started 2026-11-25T03:10:00Z, trigger `schedule`, 1234 ms.\n\
             • rds us-east-1: deleted 7, failed 1, capped 1\n\
             • dms eu-west-1: failed 1, scan failed: access denied: the janitor's role may not call dms:DescribeConnections\n\
             Failed: `stuck` (rds us-east-1): InvalidIntegrationStateFault: busy\n\
             Deleted: `gone-0` (rds us-east-1), `gone-1` (rds us-east-1), `gone-2` (rds us-east-1), `gone-3` (rds us-east-1), `gone-4` (rds us-east-1) and 2 more\n\
             Capped (next run): `later` (rds us-east-1)\n\
             Full report: `s3://reports-bucket/reports/2026/11/25/T031000Z-schedule-1.json`"
        );
        assert_eq!(n.chat.content.keywords, ["rds", "dms", "deleting"]);
        assert_eq!(n.chat.metadata.additional_context["report"], archive.uri());
        assert!(n.text.starts_with(&format!("{}\n\n{}", n.subject, n.chat.content.description)), "{}", n.text);
        assert!(n.text.contains("- Look at each failed item's error and each failed scan in the report"));
    }

    #[test]
    fn the_message_has_the_fields_the_chat_integration_requires() {
        let run = report(
            true,
            vec![sweep(rds::PROVIDER, "us-east-1", vec![item("x", Verdict::Delete, Outcome::WouldDelete, None)])],
        );
        let n = notification(&run, None).expect("a dry run that would delete notifies");
        let json = serde_json::to_value(&n.chat).expect("json");
        assert_eq!(json["version"], "1.0");
        assert_eq!(json["source"], "custom");
        assert_eq!(json["content"]["textType"], "client-markdown");
        assert_eq!(json["content"]["title"], "replication-janitor dry run (schedule): would delete 1");
        assert_eq!(
            json["content"]["nextSteps"][0],
            "Review what would be deleted before turning dry run off (JANITOR_DRY_RUN=false)"
        );
        assert_eq!(json["metadata"]["additionalContext"]["dryRun"], "true");
    }

    #[test]
    fn a_failure_class_that_asks_something_of_the_operator_says_what() {
        let denied = Item {
            error_class: Some(ErrorClass::Denied),
            ..item("x", Verdict::Delete, Outcome::Failed, Some("access denied: the janitor's role may not call ..."))
        };
        let mut wrong_state = item("y", Verdict::Delete, Outcome::Failed, Some("InvalidIntegrationStateFault"));
        wrong_state.error_class = Some(ErrorClass::WrongState);
        let report = report(false, vec![sweep(rds::PROVIDER, "us-east-1", vec![denied, wrong_state])]);
        let notification = notification(&report, None).expect("a failure is told");
        let steps = &notification.chat.content.next_steps;
        assert!(
            steps.iter().any(|s| s.starts_with("1 failed as denied: the janitor's role (or the member role) lacks")),
            "{steps:?}"
        );
        assert!(!steps.iter().any(|s| s.contains("as wrongstate")), "no advice where there is nothing particular");
    }

    #[test]
    fn a_tripped_tripwire_or_a_failed_archive_is_told() {
        let mut tripped = sweep(dms::PROVIDER, "us-east-1", vec![item("t", Verdict::Aborted, Outcome::Kept, None)]);
        tripped.tripwire_tripped = true;
        let run = report(false, vec![tripped]);
        let failed = ArchiveRecord {
            bucket: "b".into(),
            key: "reports/k.json".into(),
            error: Some("s3://b/reports/k.json could not be written: AccessDenied".into()),
        };
        let n = notification(&run, Some(&failed)).expect("a tripped tripwire notifies");
        assert_eq!(n.subject, "replication-janitor run (schedule): tripwire tripped");
        assert!(n.chat.content.description.contains("• dms us-east-1: tripwire tripped: nothing deleted here"));
        assert!(n
            .chat
            .content
            .description
            .ends_with("The report was not archived: s3://b/reports/k.json could not be written: AccessDenied"));
        assert!(!n.chat.metadata.additional_context.contains_key("report"));
    }

    #[test]
    fn a_long_trigger_keeps_the_subject_within_what_sns_accepts() {
        let mut run = report(
            true,
            vec![sweep(rds::PROVIDER, "us-east-1", vec![item("x", Verdict::Delete, Outcome::WouldDelete, None)])],
        );
        run.trigger = format!("aws.rds/RDS Zero ETL Event\n{}", "x".repeat(200));
        let n = notification(&run, None).expect("notifies");
        assert_eq!(n.subject.chars().count(), 99);
        assert!(!n.subject.chars().any(char::is_control), "{}", n.subject);
    }

    #[test]
    fn a_topic_region_comes_from_its_arn() {
        assert_eq!(topic_region("arn:aws:sns:eu-west-1:123456789012:janitor"), Some("eu-west-1"));
        assert_eq!(topic_region("arn:aws-cn:sns:cn-north-1:123456789012:janitor"), Some("cn-north-1"));
        assert_eq!(topic_region("arn:aws:sqs:eu-west-1:123456789012:janitor"), None);
        assert_eq!(topic_region("arn:aws:sns:eu-west-1:123:janitor"), None);
        assert_eq!(topic_region("arn:aws:sns:eu-west-1:123456789012:"), None);
        assert_eq!(topic_region("janitor"), None);
    }
}
