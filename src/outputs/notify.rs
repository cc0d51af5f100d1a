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
//! [`NAMES_PER_LIST`] names per list, each cut at [`NAME_CHARS`], error texts cut at [`ERROR_CHARS`], and lines
//! beyond a byte budget left to the full report as "and N more"); SNS itself takes messages up to 256 KB
//! ([`SNS_MESSAGE_BYTES`]), and a message is kept within [`MESSAGE_BYTES`]. Slack and Teams differ on bold and
//! italics, so the text uses only inline code (backticks), which both render.
//!
//! Names, errors, triggers, account ids and regions come from control planes and events, so they can hold what the
//! chat platform interprets: a backtick that closes a code span, `<!channel>`, `@here`, `<@U123>`, `<http://x|y>`,
//! `[text](url)`, `*bold*`. Every such text goes through [`chat_text`]: control and bidi characters shown as escapes
//! ([`text::display`]), cut, and each character the chat markdown gives a meaning (`` ` `` `<` `>` `@` `&` `*` `_`
//! `~` `[` `]`) replaced by its full-width form (`｀` `＜` `＞` `＠` `＆` `＊` `＿` `～` `［` `］`), which reads
//! the same and which neither Slack nor Teams interprets: Slack's mrkdwn has no backslash escape, and an HTML
//! entity would show as typed in a Teams code span. Brackets suffice against `[text](url)`, so parentheses, common in
//! error texts, stay. The JSON report keeps every name exact.
//!
//! The message is published with SNS's `MessageStructure=json` (documented in the Publish API reference): the chat
//! format is the `default` message, which every protocol without its own key gets (the chat integration subscribes
//! over HTTPS); e-mail subscribers get the same summary as plain text under the `email` key, and the `Subject`
//! (documented: under 100 characters, no line breaks or control characters) is the title.

use crate::aws;
use crate::config::topic_region;
use crate::domain::resource::ErrorClass;
use crate::domain::text;
use crate::engine::policy::Verdict;
use crate::engine::report::ArchiveRecord;
use crate::engine::report::{AccountSummary, Item, Outcome, Report, Sweep, Totals};
use crate::engine::sweep::NEVER_DELETES;
use crate::outputs::archive;
use aws_config::{Region, SdkConfig};
use aws_smithy_types::error::display::DisplayErrorContext;
use serde::Serialize;
use std::collections::BTreeMap;

/// How many names each list (deleted, would delete, failed, ...) shows before "and N more".
pub const NAMES_PER_LIST: usize = 5;
/// How much of a control plane's error text a line carries.
pub const ERROR_CHARS: usize = 160;
/// How much of a resource's name a list shows.
pub const NAME_CHARS: usize = 200;
/// How much of a trigger (an event's source and detail-type, or a payload's) the message shows.
const TRIGGER_CHARS: usize = 200;
/// How much of an account id or a region the message shows.
const LABEL_CHARS: usize = 64;
/// How much of the archive's URI, or of why the report was not archived (the URI and S3's error), the message shows.
const ARCHIVE_CHARS: usize = 400;
/// How much of an unswept account's error a fan-out summary keeps (its notification shows less, [`ERROR_CHARS`]).
const KEPT_ERROR_CHARS: usize = 1_000;
/// SNS subjects must be under 100 characters.
const SUBJECT_CHARS: usize = 99;
/// The most SNS takes in one published message: 256 KiB, in bytes, for the whole `MessageStructure=json` object.
pub const SNS_MESSAGE_BYTES: usize = 262_144;
/// What a published message is kept within: SNS's limit less a quarter, a margin for what SNS may count beyond the
/// message text.
pub const MESSAGE_BYTES: usize = 192 * 1024;
const _: () = assert!(MESSAGE_BYTES < SNS_MESSAGE_BYTES, "the margin is below SNS's limit");
/// What the description's optional lines (per provider and region, and the names) may add to the published
/// message, counted by [`published_cost`]. The rest of the message is bounded by construction and stays far below
/// the remaining room.
const DESCRIPTION_BYTES: usize = 128 * 1024;

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
    /// Whether the topic answers GetTopicAttributes (`check`). A denied call is not an error: runs need only
    /// `sns:Publish`, which it does not prove.
    pub async fn reachable(&self) -> Result<String, String> {
        use aws_smithy_types::error::metadata::ProvideErrorMetadata;
        match self.client.get_topic_attributes().topic_arn(&self.topic_arn).send().await {
            Ok(_) => Ok(format!("{} answers", self.topic_arn)),
            Err(error) => match error.code() {
                Some("AuthorizationError" | "AccessDenied" | "AccessDeniedException") => Ok(format!(
                    "{}: this role may not GetTopicAttributes (runs need only sns:Publish, not checked)",
                    self.topic_arn
                )),
                Some(code) => Err(format!("{}: {code}: {}", self.topic_arn, error.message().unwrap_or_default())),
                None => Err(format!("{}: {}", self.topic_arn, crate::providers::aws_sdk::one_line(&error))),
            },
        }
    }

    pub async fn publish(&self, notification: &Notification) -> Result<String, NotifyError> {
        let message = published_message(notification)?;
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

/// The message SNS is given for `notification` (`MessageStructure=json`): the chat message as the `default` string,
/// the plain text for e-mail. Its length in bytes is what SNS's limit applies to.
pub fn published_message(notification: &Notification) -> Result<String, serde_json::Error> {
    let chat = serde_json::to_string(&notification.chat)?;
    serde_json::to_string(&serde_json::json!({"default": chat, "email": notification.text}))
}

/// Whether `notification` is published within [`MESSAGE_BYTES`].
fn fits(notification: &Notification) -> bool {
    published_message(notification).is_ok_and(|message| message.len() <= MESSAGE_BYTES)
}

/// `text` as the chat message may carry it: shown safe and cut to `max_chars` ([`text::display`]), then each
/// character the chat markdown interprets replaced by its full-width form (see the module documentation), so it can
/// neither close a code span nor mention, link or format.
pub fn chat_text(text: &str, max_chars: usize) -> String {
    text::display(text, max_chars).chars().map(inert).collect()
}

/// The full-width form of a character Slack's mrkdwn or Teams' markdown interprets; any other character as it is.
fn inert(c: char) -> char {
    match c {
        '`' => '\u{FF40}',
        '<' => '\u{FF1C}',
        '>' => '\u{FF1E}',
        '@' => '\u{FF20}',
        '&' => '\u{FF06}',
        '*' => '\u{FF0A}',
        '_' => '\u{FF3F}',
        '~' => '\u{FF5E}',
        '[' => '\u{FF3B}',
        ']' => '\u{FF3D}',
        other => other,
    }
}

/// Whether a run has something to tell: it deleted or would delete, a delete or a scan failed, a delete is
/// unconfirmed, the cap held something back, or a tripwire tripped.
pub fn worth_telling(report: &Report) -> bool {
    let t = &report.totals;
    [t.deleted, t.would_delete, t.failed, t.unconfirmed, t.capped].iter().any(|n| *n > 0)
        || report.sweeps.iter().any(|s| s.tripwire_tripped)
        || report.notes.iter().any(|n| n.starts_with(NEVER_DELETES))
}

/// The run's notification, or `None` when it has nothing to tell. `archive` is where its full report went. Within
/// [`MESSAGE_BYTES`] whatever the report holds: the lines beyond a byte budget are left to the full report,
/// and should the message still not fit, it keeps only the lines every run has.
pub fn notification(report: &Report, archive: Option<&ArchiveRecord>) -> Option<Notification> {
    if !worth_telling(report) {
        return None;
    }
    Some(within(report, archive, DESCRIPTION_BYTES)).filter(fits).or_else(|| Some(within(report, archive, 0)))
}

/// The run's notification with at most `budget` bytes of optional description lines.
fn within(report: &Report, archive: Option<&ArchiveRecord>, budget: usize) -> Notification {
    let title = title(report);
    let description = description(report, archive, budget);
    let next_steps = next_steps(report, archive);
    let mut text = format!("{title}\n\n{description}\n");
    if !next_steps.is_empty() {
        text.push('\n');
        for step in &next_steps {
            text.push_str(&format!("- {step}\n"));
        }
    }
    let trigger = chat_text(&report.trigger, TRIGGER_CHARS);
    let mut context = BTreeMap::from([("trigger", trigger), ("dryRun", report.dry_run.to_string())]);
    if let Some(record) = archive.filter(|r| r.error.is_none()) {
        context.insert("report", archive_uri(record));
        context.extend(html_link(record).map(|url| ("htmlReport", url)));
    }
    Notification {
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
    }
}

/// Where the full report is, as the message carries it.
fn archive_uri(record: &ArchiveRecord) -> String {
    chat_text(&record.uri(), ARCHIVE_CHARS)
}

/// The run, a line per provider and region with something to tell, the first names of each list, and where the
/// full report is (or why it is not). The names and the per-provider lines share `budget` bytes ([`Budget`]): the
/// names first (failed ones first), since the counts are in the title and the full report has every line.
fn description(report: &Report, archive: Option<&ArchiveRecord>, budget: usize) -> String {
    let mut budget = Budget(budget);
    let run = format!(
        "{} started {}, trigger `{}`, {} ms.",
        if report.dry_run { "Dry run" } else { "Deleting run" },
        chat_text(&report.started_at, LABEL_CHARS),
        chat_text(&report.trigger, TRIGGER_CHARS),
        report.duration_ms
    );
    let mut named: Vec<String> = LISTS
        .iter()
        .filter_map(|(label, outcome)| named_line(report, label, |item| item.outcome == *outcome, &mut budget))
        .collect();
    named.extend(named_line(report, "Capped (next run)", |item| item.verdict == Verdict::Capped, &mut budget));
    let mut lines = vec![run];
    lines.extend(sweep_lines(report, &mut budget));
    lines.extend(named);
    match archive.map(|record| (record, &record.error)) {
        Some((record, None)) => {
            lines.push(format!("Full report: `{}`", archive_uri(record)));
            lines.extend(html_line(record));
        }
        Some((_, Some(error))) => {
            lines.push(format!("The report was not archived: {}", chat_text(error, ARCHIVE_CHARS)))
        }
        None => {}
    }
    lines.join("\n")
}

/// The longest console link the message carries (a link cannot be cut); a longer one is left to the S3 URI.
const LINK_CHARS: usize = 2_048;

/// The console link of the run's HTML report ([`archive::console_url`], which says why not a presigned URL). Built
/// by the janitor from its bucket, its region and a key of its own, every part percent-encoded, so it holds only
/// letters, digits and `-./%:?=&`: nothing the chat's markdown interprets, and no [`chat_text`], which would break it.
fn html_link(record: &ArchiveRecord) -> Option<String> {
    archive::console_url(record).filter(|url| url.len() <= LINK_CHARS)
}

/// Where the HTML report is (outside a code span, so the chat makes the link a link), or why it was not written.
fn html_line(record: &ArchiveRecord) -> Option<String> {
    match (&record.html_key, &record.html_error) {
        (Some(key), _) => Some(match html_link(record) {
            Some(url) => format!("Report to read (S3 console): {url}"),
            None => format!("Report to read: `{}`", chat_text(&format!("s3://{}/{key}", record.bucket), ARCHIVE_CHARS)),
        }),
        (None, Some(error)) => Some(format!("The HTML report was not written: {}", chat_text(error, ARCHIVE_CHARS))),
        (None, None) => None,
    }
}

/// Bytes of the published message left for optional lines.
struct Budget(usize);

impl Budget {
    /// Takes what `text` costs ([`published_cost`]) if that much is left.
    fn take(&mut self, text: &str) -> bool {
        match self.0.checked_sub(published_cost(text)) {
            Some(left) => {
                self.0 = left;
                true
            }
            None => false,
        }
    }
}

/// An upper bound of the bytes `text` (with a separator) adds to the published message: it is there twice, in the
/// e-mail text (a JSON string: at most 2 bytes a byte, since [`chat_text`] left no control character to escape as
/// `\u00XX`) and in the chat message (a JSON string inside a JSON string: at most 4 bytes a byte).
fn published_cost(text: &str) -> usize {
    text.len().saturating_add(1).saturating_mul(6)
}

/// How a notification of a deleting run says to undo it: the restore command, then the archived report's URI.
pub const UNDO: &str = "Undo these deletions: replication-janitor restore --report ";

fn next_steps(report: &Report, archive: Option<&ArchiveRecord>) -> Vec<String> {
    let mut steps = Vec::new();
    if let Some(record) = archive.filter(|r| r.error.is_none()) {
        steps.push(format!("Read the full report: {}", archive_uri(record)));
        if report.totals.deleted > 0 || report.totals.unconfirmed > 0 {
            steps.push(format!("{UNDO}{} (prints each call; add --apply to make them)", archive_uri(record)));
        }
    }
    steps.extend(report.notes.iter().filter(|n| n.starts_with(NEVER_DELETES)).map(|n| chat_text(n, 500)));
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
    let account =
        report.account.as_ref().map(|a| format!(" in account {}", chat_text(a, LABEL_CHARS))).unwrap_or_default();
    let trigger = chat_text(&report.trigger, TRIGGER_CHARS);
    format!("replication-janitor {run}{account} ({trigger}): {}", parts.join(", "))
}

/// What the fan-out's children found, over every account: the summary step's notification and answer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// Accounts the children reported on.
    pub accounts: usize,
    /// The first [`NAMES_PER_LIST`] accounts that could not be swept (their role could not be assumed), with why,
    /// each text cut: the answer is a Step Functions state's output (256 KiB at most), whatever the run's size.
    pub unswept: Vec<AccountSummary>,
    /// How many accounts could not be swept, listed or not.
    pub unswept_accounts: usize,
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
                Some(accounts) => accounts.into_iter().for_each(|account| summary.add_account(account)),
                None => summary.add_failed_child(),
            }
        }
        summary
    }

    /// Adds one account's summary; it is kept (its texts cut) only while fewer than [`NAMES_PER_LIST`] unswept
    /// accounts are, so that adding up any number of accounts holds a bounded summary. Saturating: the counts come
    /// from the children's answers.
    pub fn add_account(&mut self, account: AccountSummary) {
        self.accounts = self.accounts.saturating_add(1);
        self.totals.add(&account.totals);
        if let Some(error) = &account.error {
            self.unswept_accounts = self.unswept_accounts.saturating_add(1);
            if self.unswept.len() < NAMES_PER_LIST {
                self.unswept.push(AccountSummary {
                    account: text::display(&account.account, LABEL_CHARS),
                    error: Some(text::display(error, KEPT_ERROR_CHARS)),
                    totals: account.totals,
                    archive: account.archive.map(|a| text::display(&a, ARCHIVE_CHARS)),
                });
            }
        }
    }

    /// Counts a child that failed as a whole, or whose answer had no per-account summaries.
    pub fn add_failed_child(&mut self) {
        self.failed_children = self.failed_children.saturating_add(1);
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
            .map(|a| {
                let error = chat_text(a.error.as_deref().unwrap_or_default(), ERROR_CHARS);
                format!("account {}: {error}", chat_text(&a.account, LABEL_CHARS))
            })
            .collect();
        let listed = next_steps.len();
        if self.unswept_accounts > listed {
            next_steps.push(format!("and {} more accounts not swept", self.unswept_accounts.saturating_sub(listed)));
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

/// The title as an SNS subject: one line of printable ASCII (the Publish reference asks for no line breaks or
/// control characters; SNS has been known to refuse a subject that is not ASCII, and the chat form of a hostile
/// trigger is not), under 100 characters, with `...` when cut.
fn subject(title: &str) -> String {
    let ascii = |c: char| match c {
        ' '..='~' => c,
        c if text::is_hazard(c) || c.is_whitespace() => ' ',
        _ => '?',
    };
    let mut subject: String = title.chars().take(SUBJECT_CHARS.saturating_add(1)).map(ascii).collect();
    if subject.len() > SUBJECT_CHARS {
        subject.truncate(SUBJECT_CHARS.saturating_sub(3));
        subject.push_str("...");
    }
    subject
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
        parts.push(format!("scan failed: {}", chat_text(error, ERROR_CHARS)));
    }
    let notable =
        [c.deleted, c.would_delete, c.failed, c.unconfirmed, c.capped].iter().any(|n| *n > 0) || sweep.tripwire_tripped;
    notable.then(|| format!("• {}: {}", place(sweep), parts.join(", ")))
}

/// `111111111111 rds us-east-1`: a sweep's account (in an organization run), provider and region.
fn place(sweep: &Sweep) -> String {
    let account = sweep.account.as_ref().map(|a| format!("{} ", chat_text(a, LABEL_CHARS))).unwrap_or_default();
    format!("{account}{}", place_in_region(sweep))
}

/// The lines of the sweeps with something to tell, as far as `budget` goes; then how many more there are.
fn sweep_lines(report: &Report, budget: &mut Budget) -> Vec<String> {
    let mut lines = Vec::new();
    let mut more = 0usize;
    for line in report.sweeps.iter().filter_map(sweep_line) {
        if more == 0 && budget.take(&line) {
            lines.push(line);
        } else {
            more += 1;
        }
    }
    if more > 0 {
        let listed = if lines.is_empty() { "" } else { " more" };
        lines.push(format!("• and {more}{listed} providers and regions with something to tell: see the report"));
    }
    lines
}

/// `Deleted: `a` (rds us-east-1), `b` (rds eu-west-1) and 3 more`, each with its error if it has one, the first
/// [`NAMES_PER_LIST`] as far as `budget` goes; nothing when no item matches.
fn named_line(report: &Report, label: &str, matches: impl Fn(&Item) -> bool, budget: &mut Budget) -> Option<String> {
    let mut names = Vec::new();
    let mut total = 0usize;
    let mut full = false;
    for sweep in &report.sweeps {
        for item in sweep.items.iter().filter(|item| matches(item)) {
            total += 1;
            if full || names.len() >= NAMES_PER_LIST {
                continue;
            }
            let mut name = format!("`{}` ({})", chat_text(&item.name, NAME_CHARS), place_in_region(sweep));
            if let Some(error) = &item.error {
                name.push_str(&format!(": {}", chat_text(error, ERROR_CHARS)));
            }
            // Once a name does not fit, none after it is listed: the list keeps the report's order.
            full = !budget.take(&name);
            if !full {
                names.push(name);
            }
        }
    }
    if total == 0 {
        return None;
    }
    let more = total - names.len();
    Some(match (names.is_empty(), more) {
        (true, _) => format!("{label}: {total} (names in the report)"),
        (false, 0) => format!("{label}: {}", names.join(", ")),
        (false, more) => format!("{label}: {} and {more} more", names.join(", ")),
    })
}

/// `rds us-east-1`: where an item is (its account is in the title or its sweep's line).
fn place_in_region(sweep: &Sweep) -> String {
    format!("{} {}", sweep.provider, chat_text(&sweep.region, LABEL_CHARS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::resource::Provider;
    use crate::engine::report::Counts;
    use crate::providers::{dms, rds};

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
            deletable_at: None,
            definition: None,
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
            notify_failed: false,
            rechecks: None,
        }
    }

    fn healthy(name: &str) -> Item {
        item(name, Verdict::Healthy, Outcome::Kept, None)
    }

    #[test]
    fn a_run_that_can_never_delete_says_so_even_with_nothing_else_to_tell() {
        let mut run = report(false, vec![sweep(rds::PROVIDER, "us-east-1", vec![healthy("h")])]);
        let never = format!("{NEVER_DELETES} rds (JANITOR_RDS_GRACE=1h): no first-seen store is configured");
        run.notes.push(never.clone());
        let n = notification(&run, None).expect("a run that can never delete notifies");
        assert!(n.chat.content.next_steps.contains(&chat_text(&never, 500)), "{:?}", n.chat.content.next_steps);
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
            ..ArchiveRecord::default()
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
        let undo = "Undo these deletions: replication-janitor restore --report \
                    s3://reports-bucket/reports/2026/11/25/T031000Z-schedule-1.json (prints each call; add --apply to make them)";
        assert!(n.chat.content.next_steps.iter().any(|step| step == undo), "{:?}", n.chat.content.next_steps);
        let dry = report(
            true,
            vec![sweep(rds::PROVIDER, "us-east-1", vec![item("x", Verdict::Delete, Outcome::WouldDelete, None)])],
        );
        let dry = notification(&dry, Some(&archive)).expect("a dry run with something to delete notifies");
        assert!(!dry.chat.content.next_steps.iter().any(|step| step.starts_with(UNDO)), "nothing to undo");
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
            ..ArchiveRecord::default()
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

    /// A run whose failed and would-delete lists name `names`, in one sweep.
    fn naming(names: &[String]) -> Report {
        let items =
            names.iter().map(|name| item(name, Verdict::Delete, Outcome::WouldDelete, None)).collect::<Vec<_>>();
        report(true, vec![sweep(rds::PROVIDER, "us-east-1", items)])
    }

    /// What the published message holds that a chat platform would read: the chat JSON's texts and the e-mail text.
    fn shown(n: &Notification) -> Vec<String> {
        let mut texts = vec![n.subject.clone(), n.text.clone(), n.chat.content.title.clone()];
        texts.push(n.chat.content.description.clone());
        texts.extend(n.chat.content.next_steps.iter().cloned());
        texts.push(n.chat.metadata.summary.clone());
        texts.extend(n.chat.metadata.additional_context.values().cloned());
        texts
    }

    #[test]
    fn hostile_names_neither_mention_link_format_nor_leave_their_code_span() {
        let hostile = [
            "x` <!channel> `y",
            "@here",
            "<@U123>",
            "<http://evil|click>",
            "[click](http://evil) *bold* _it_ ~gone~ &amp;",
            "row\n• rds us-east-1: deleted 0\u{202E}",
        ];
        let mut items: Vec<Item> =
            hostile.iter().map(|name| item(name, Verdict::Delete, Outcome::WouldDelete, None)).collect();
        items[1] = item(hostile[1], Verdict::Delete, Outcome::Failed, Some("refused <@U999> [see](http://evil)"));
        let mut run = report(true, vec![sweep(rds::PROVIDER, "us-east-1", items)]);
        run.trigger = "<!here> `manual`".into();
        let n = notification(&run, None).expect("notifies");

        for text in shown(&n) {
            for interpreted in ["<!", "<@", "<http", "@here", "](", "*bold*", "_it_", "~gone~", "&amp;", "\u{202E}"] {
                assert!(!text.contains(interpreted), "{interpreted:?} survived in {text:?}");
            }
            assert!(!text.contains("\n• rds us-east-1: deleted 0"), "a forged line in {text:?}");
        }
        let description = &n.chat.content.description;
        assert_eq!(
            description.lines().find(|l| l.starts_with("Would delete:")),
            Some(
                "Would delete: `x｀ ＜!channel＞ ｀y` (rds us-east-1), `＜＠U123＞` (rds us-east-1), \
                 `＜http://evil|click＞` (rds us-east-1), \
                 `［click］(http://evil) ＊bold＊ ＿it＿ ～gone～ ＆amp;` (rds us-east-1), \
                 `row\\u{a}• rds us-east-1: deleted 0\\u{202e}` (rds us-east-1)"
            ),
            "{description}"
        );
        assert!(
            description.contains("Failed: `＠here` (rds us-east-1): refused ＜＠U999＞ ［see］(http://evil)"),
            "{description}"
        );
        assert!(description.starts_with("Dry run started 2026-11-25T03:10:00Z, trigger `＜!here＞ ｀manual｀`"));
        for line in description.lines() {
            assert_eq!(line.matches('`').count() % 2, 0, "every code span is closed where it was opened: {line}");
        }
        assert_eq!(n.chat.metadata.additional_context["trigger"], "＜!here＞ ｀manual｀");
        assert_eq!(n.subject, "replication-janitor dry run (?!here? ?manual?): would delete 5, failed 1");
        assert!(n.chat.content.title.starts_with("replication-janitor dry run (＜!here＞ ｀manual｀)"));
    }

    #[test]
    fn a_name_is_cut_on_a_character_boundary_and_marked() {
        let n = notification(&naming(&["🦀".repeat(100_000)]), None).expect("notifies");
        let listed = format!("`{}…` (rds us-east-1)", "🦀".repeat(NAME_CHARS - 1));
        let description = &n.chat.content.description;
        assert!(description.lines().any(|l| l == format!("Would delete: {listed}")), "{description}");
    }

    /// Names of 100,000 characters that cost the most once JSON-escaped twice (quotes and backslashes) or in
    /// UTF-8 (four-byte characters).
    fn huge_names(count: usize) -> Vec<String> {
        (0..count)
            .map(|n| match n % 3 {
                0 => "\"\\".repeat(50_000),
                1 => "🦀".repeat(100_000),
                _ => format!("{n}{}", "x".repeat(100_000)),
            })
            .collect()
    }

    #[test]
    fn five_or_fifty_huge_names_fit_in_one_sns_message() {
        for count in [5, 50] {
            let items: Vec<Item> = huge_names(count)
                .iter()
                .enumerate()
                .map(|(n, name)| match n % 2 {
                    0 => item(name, Verdict::Delete, Outcome::Failed, Some(&"\"<@U1>".repeat(20_000))),
                    _ => item(name, Verdict::Delete, Outcome::WouldDelete, None),
                })
                .collect();
            let run = report(true, vec![sweep(rds::PROVIDER, "us-east-1", items)]);
            let n = notification(&run, None).expect("notifies");
            let size = published_message(&n).expect("serializes").len();
            assert!(size <= MESSAGE_BYTES, "{count} names: {size} bytes");
            let description = &n.chat.content.description;
            assert!(description.contains("Would delete: `"), "names are still listed: {description}");
            let lists: Vec<&str> = description.lines().filter(|l| l.contains(": `")).collect();
            assert_eq!(lists.len(), 2, "a failed and a would-delete list: {description}");
            for (line, total) in lists.iter().zip([count.div_ceil(2), count / 2]) {
                let listed = line.matches(" (rds us-east-1)").count();
                assert_eq!(listed, total.min(NAMES_PER_LIST), "{line}");
                let more = total - listed;
                assert_eq!(line.ends_with(&format!(" and {more} more")), more > 0, "{line}");
            }
        }
    }

    #[test]
    fn ten_thousand_failed_scans_fit_in_one_sns_message_and_say_how_many_are_left_out() {
        let sweeps: Vec<Sweep> = (0..10_000)
            .map(|n| {
                let mut failed = sweep(dms::PROVIDER, &format!("region-{n}"), Vec::new());
                failed.account = Some(format!("{n:012}"));
                failed.error = Some(format!("AccessDenied {}", "\\".repeat(10_000)));
                failed.counts = Counts::of_scan_failure(Some(ErrorClass::Denied), false);
                failed
            })
            .collect();
        let mut run = report(false, sweeps);
        run.totals.failed = 10_000;
        let n = notification(&run, None).expect("notifies");
        let size = published_message(&n).expect("serializes").len();
        assert!(size <= MESSAGE_BYTES, "{size} bytes");
        let description = &n.chat.content.description;
        let listed = description.lines().filter(|l| l.contains(": failed 1, scan failed: AccessDenied")).count();
        assert!(listed > 10, "as many as fit are listed: {listed}");
        assert!(
            description.contains(&format!(
                "• and {} more providers and regions with something to tell: see the report",
                10_000 - listed
            )),
            "{description}"
        );
    }

    #[test]
    fn without_room_for_names_a_list_says_how_many_and_where_they_are() {
        let mut run = naming(&["a".to_owned(), "b".to_owned()]);
        run.sweeps.push(sweep(dms::PROVIDER, "eu-west-1", vec![item("c", Verdict::Delete, Outcome::Failed, None)]));
        let n = within(&run, None, 0);
        assert_eq!(
            n.chat.content.description,
            "Dry run started 2026-11-25T03:10:00Z, trigger `schedule`, 1234 ms.\n\
             • and 2 providers and regions with something to tell: see the report\n\
             Failed: 1 (names in the report)\n\
             Would delete: 2 (names in the report)"
        );
    }

    #[test]
    fn an_unswept_accounts_hostile_error_is_inert_and_bounded_in_the_summary() {
        let unswept = |n: usize| AccountSummary {
            account: format!("{n:012}"),
            error: Some(format!("<!channel> `{}", "x".repeat(100_000))),
            totals: Totals { failed: 1, ..Totals::default() },
            archive: None,
        };
        let summary = RunSummary {
            accounts: 50,
            unswept: (0..50).map(unswept).collect(),
            unswept_accounts: 50,
            failed_children: 0,
            totals: Totals { failed: 50, ..Totals::default() },
        };
        let n = summary.notification(false).expect("failures are told");
        let size = published_message(&n).expect("serializes").len();
        assert!(size < 64 * 1024, "{size} bytes");
        let steps = &n.chat.content.next_steps;
        assert!(steps[0].starts_with("account 000000000000: ＜!channel＞ ｀xxx"), "{steps:?}");
        assert!(steps[0].ends_with('…') && steps[0].chars().count() < 200, "{}", steps[0]);
        assert!(shown(&n).iter().all(|t| !t.contains("<!channel>")));
    }

    #[test]
    fn the_notification_links_to_the_html_report_in_the_s3_console_or_says_why_not() {
        let run = naming(&["x".to_owned()]);
        let written = ArchiveRecord {
            bucket: "reports-bucket".into(),
            key: "reports/2026/11/25/T031000Z-schedule-1.json".into(),
            region: Some("eu-west-1".into()),
            html_key: Some("reports/2026/11/25/T031000Z-schedule-1.html".into()),
            ..ArchiveRecord::default()
        };
        let link = "https://console.aws.amazon.com/s3/object/reports-bucket?region=eu-west-1&bucketType=general\
                    &prefix=reports/2026/11/25/T031000Z-schedule-1.html";
        let n = notification(&run, Some(&written)).expect("notifies");
        let description = &n.chat.content.description;
        assert!(
            description.ends_with(&format!(
                "Full report: `s3://reports-bucket/reports/2026/11/25/T031000Z-schedule-1.json`\n\
                 Report to read (S3 console): {link}"
            )),
            "{description}"
        );
        assert_eq!(n.chat.metadata.additional_context["htmlReport"], link);
        assert!(n.text.contains(link), "the e-mail has the link too");

        let unwritten = ArchiveRecord {
            html_key: None,
            html_error: Some("s3://reports-bucket/reports/k.html could not be written: AccessDenied <@U1>".into()),
            ..written.clone()
        };
        let n = notification(&run, Some(&unwritten)).expect("notifies");
        assert!(n.chat.content.description.ends_with(
            "The HTML report was not written: s3://reports-bucket/reports/k.html could not be written: AccessDenied ＜＠U1＞"
        ));
        assert!(!n.chat.metadata.additional_context.contains_key("htmlReport"));

        let no_region = ArchiveRecord { region: None, ..written };
        let n = notification(&run, Some(&no_region)).expect("notifies");
        assert!(n
            .chat
            .content
            .description
            .ends_with("Report to read: `s3://reports-bucket/reports/2026/11/25/T031000Z-schedule-1.html`"));
    }
}
