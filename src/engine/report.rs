//! The run's report: per provider and region, counts by verdict and outcome and the per-item list. It is the
//! Lambda response and the CLI's stdout, so its field names are a public contract.

use crate::domain::resource::{ErrorClass, Provider};
use crate::domain::text;
use crate::engine::policy::Verdict;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What happened to one resource in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// Not stale, or stale but held back (capped, deferred, aborted, waiting): left as it was.
    Kept,
    /// Stale, and this is a dry run.
    WouldDelete,
    Deleted,
    AlreadyGone,
    /// The control plane refused because of the resource's state; a later run retries.
    Skipped,
    Failed,
    /// The delete was sent but had not answered when the run had to end: whether it happened is unknown, and the
    /// next run will see.
    Unconfirmed,
}

/// One scanned resource.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub kind: &'static str,
    pub id: String,
    pub name: String,
    pub status: String,
    pub verdict: Verdict,
    pub reason: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What kind of failure the delete met, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<ErrorClass>,
    /// The control plane's own failure text for the resource, kept as evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// RFC 3339: when a resource held back only by its age or grace becomes deletable, for a later run with the
    /// same first-seen store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletable_at: Option<String>,
    /// What re-making it takes, for a deleted or would-delete resource: `restore` reads it from the archive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<crate::domain::resource::Definition>,
}

/// Counts by verdict and outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub scanned: usize,
    /// Judged stale by the policy, deleted in this run or not.
    pub stale: usize,
    pub healthy: usize,
    pub in_progress: usize,
    pub too_young: usize,
    pub protected: usize,
    pub excluded: usize,
    pub waiting: usize,
    pub capped: usize,
    pub deferred: usize,
    pub aborted: usize,
    pub held: usize,
    pub would_delete: usize,
    pub deleted: usize,
    pub already_gone: usize,
    pub skipped: usize,
    /// Items whose delete failed, plus scans that failed (timed-out scans among them).
    pub failed: usize,
    pub unconfirmed: usize,
    /// Scans that had not finished when the run had to stop.
    pub timed_out: usize,
    /// Scopes (a provider in a region) another run held: not swept by this one.
    pub busy: usize,
    /// `failed` split by what kind of failure each met.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failed_by_class: BTreeMap<ErrorClass, usize>,
}

impl Counts {
    pub fn count(&mut self, item: &Item) {
        self.scanned += 1;
        self.stale += usize::from(item.verdict.is_stale());
        match item.verdict {
            Verdict::Healthy => self.healthy += 1,
            Verdict::InProgress => self.in_progress += 1,
            Verdict::TooYoung => self.too_young += 1,
            Verdict::Protected => self.protected += 1,
            Verdict::Excluded => self.excluded += 1,
            Verdict::Waiting => self.waiting += 1,
            Verdict::Capped => self.capped += 1,
            Verdict::Deferred => self.deferred += 1,
            Verdict::Aborted => self.aborted += 1,
            Verdict::Held => self.held += 1,
            Verdict::Delete => {}
        }
        match item.outcome {
            Outcome::Kept => {}
            Outcome::WouldDelete => self.would_delete += 1,
            Outcome::Deleted => self.deleted += 1,
            Outcome::AlreadyGone => self.already_gone += 1,
            Outcome::Skipped => self.skipped += 1,
            Outcome::Failed => {
                self.failed += 1;
                *self.failed_by_class.entry(item.error_class.unwrap_or(ErrorClass::Service)).or_default() += 1;
            }
            Outcome::Unconfirmed => self.unconfirmed += 1,
        }
    }

    /// The counts of a sweep whose scan failed with `class` (or none, when it did not fail).
    pub fn of_scan_failure(class: Option<ErrorClass>, timed_out: bool) -> Counts {
        let mut counts = Counts { timed_out: usize::from(timed_out), ..Counts::default() };
        if let Some(class) = class {
            counts.failed = 1;
            counts.failed_by_class.insert(class, 1);
        }
        counts
    }

    pub fn add(&mut self, other: &Counts) {
        let Counts {
            scanned,
            stale,
            healthy,
            in_progress,
            too_young,
            protected,
            excluded,
            waiting,
            capped,
            deferred,
            aborted,
            held,
            would_delete,
            deleted,
            already_gone,
            skipped,
            failed,
            unconfirmed,
            timed_out,
            busy,
            failed_by_class,
        } = other;
        self.scanned += scanned;
        self.stale += stale;
        self.healthy += healthy;
        self.in_progress += in_progress;
        self.too_young += too_young;
        self.protected += protected;
        self.excluded += excluded;
        self.waiting += waiting;
        self.capped += capped;
        self.deferred += deferred;
        self.aborted += aborted;
        self.held += held;
        self.would_delete += would_delete;
        self.deleted += deleted;
        self.already_gone += already_gone;
        self.skipped += skipped;
        self.failed += failed;
        self.unconfirmed += unconfirmed;
        self.timed_out += timed_out;
        self.busy += busy;
        for (class, n) in failed_by_class {
            *self.failed_by_class.entry(*class).or_default() += n;
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One provider in one region (of one member account, in an organization run).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sweep {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub provider: Provider,
    pub region: String,
    /// Why the scan failed; nothing in this provider and region was judged or deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What kind of failure the scan met.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<ErrorClass>,
    /// Why the first-seen store could not be used: its resources waited instead of being judged on a guess.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_error: Option<String>,
    pub tripwire_tripped: bool,
    /// The scan had not finished when the run had to stop: nothing here was judged or deleted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// Another run held this scope (its lease), so this run judged and deleted nothing here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub busy: Option<Busy>,
    /// Only the resource an event named was scanned: the tripwire does not judge such a sweep.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub scoped: bool,
    /// Items of this sweep not listed in `items` (a Lambda response is bounded); `counts` include them.
    #[serde(skip_serializing_if = "is_zero")]
    pub items_omitted: usize,
    /// From the start of the run until this sweep's last call ended.
    pub duration_ms: u64,
    pub counts: Counts,
    pub items: Vec<Item>,
}

impl Sweep {
    /// A sweep of `provider` in `region` with nothing in it yet.
    pub fn new(provider: Provider, region: impl Into<String>) -> Sweep {
        Sweep {
            account: None,
            provider,
            region: region.into(),
            error: None,
            error_class: None,
            state_error: None,
            tripwire_tripped: false,
            timed_out: false,
            busy: None,
            scoped: false,
            items_omitted: 0,
            duration_ms: 0,
            counts: Counts::default(),
            items: Vec::new(),
        }
    }
}

/// Where a run's report was archived, or why it was not: the report and the notification say so.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchiveRecord {
    pub bucket: String,
    pub key: String,
    /// Set when the write failed: then nothing is at `key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The bucket's region (the archive's client's), for the console link to the HTML report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Where the HTML rendering of the report was written, beside the JSON; absent when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_key: Option<String>,
    /// Why the HTML rendering could not be written (the JSON at `key` is unaffected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_error: Option<String>,
}

impl ArchiveRecord {
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// Who held a scope this run found busy, and until when its lease lapses on its own.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Busy {
    pub holder: String,
    /// RFC 3339; absent when the lease ends only with its holder's process (the file store's locks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

impl Busy {
    pub fn of(lease: &crate::state::Lease) -> Busy {
        let until = lease.until.map(crate::domain::clock::rfc3339);
        Busy { holder: lease.holder.clone(), until }
    }
}

/// The whole run.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub dry_run: bool,
    /// What started the run (`schedule`, `manual`, `cli`, or the event that was not acted on).
    pub trigger: String,
    pub started_at: String,
    pub duration_ms: u64,
    /// Things the operator should know: ignored requests, scoped runs, no-op reasons.
    pub notes: Vec<String>,
    pub totals: Counts,
    pub sweeps: Vec<Sweep>,
    /// Where the full report was archived (`JANITOR_REPORT_BUCKET`), or why it could not be.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<ArchiveRecord>,
    /// The member account this report is about, when it is one account's part of an organization run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// An organization run's accounts, each with its totals (or why it could not be swept).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountSummary>,
    /// A notification of this run (in an organization run, of any of its accounts) could not be published; a note
    /// says why, and the aggregate metric line's `NotifyFailed` is 1. Absent from the JSON when false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub notify_failed: bool,
    /// The one-time schedules that judge the resources this run left waiting again when their graces end; absent
    /// when the run left nothing to re-check or re-checks are not configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rechecks: Option<RecheckRecord>,
}

/// What a run did about the on-time re-checks: per minute and scope (an account's provider in a region) in which
/// graces end, one EventBridge Scheduler one-time schedule that runs the janitor again over that scope.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecheckRecord {
    /// Schedules this run created.
    pub created: usize,
    /// Schedules an earlier run (or an overlapping one) had already created: the same name is the same re-check.
    pub existing: usize,
    /// Schedules over `JANITOR_RECHECK_MAX_SCHEDULES`, left for the next run to create.
    pub deferred: usize,
    /// Schedules that could not be created (each listed with its error); the next run tries again.
    pub failed: usize,
    /// Every schedule this run asked for, earliest first (the deferred ones are only counted).
    pub schedules: Vec<RecheckSchedule>,
}

/// One re-check schedule this run asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecheckSchedule {
    pub name: String,
    /// RFC 3339, UTC: the minute it fires in (EventBridge Scheduler invokes within that minute, never before).
    pub at: String,
    /// The member account swept, in an organization run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub provider: Provider,
    pub region: String,
    /// The resources of this run whose graces end by then.
    pub resources: usize,
    pub outcome: RecheckOutcome,
    /// Why it could not be created, on one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What became of one re-check schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RecheckOutcome {
    Created,
    /// Its name was taken (`ConflictException`): an earlier run created the same re-check.
    Existing,
    Failed,
}

/// Why a member account was not swept, and what kind of failure that was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unswept {
    pub error: String,
    pub class: ErrorClass,
}

/// One member account of an organization run.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AccountSummary {
    pub account: String,
    /// Why the account was not swept (its role could not be assumed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default)]
    pub totals: Totals,
    /// Where the account's own report was archived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
}

/// The counts an account summary carries: the ones a summary of many accounts adds up.
#[derive(Clone, Copy, Debug, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct Totals {
    pub scanned: usize,
    pub stale: usize,
    pub deleted: usize,
    pub would_delete: usize,
    pub failed: usize,
    pub capped: usize,
    pub protected: usize,
}

impl Totals {
    pub fn of(counts: &Counts) -> Totals {
        Totals {
            scanned: counts.scanned,
            stale: counts.stale,
            deleted: counts.deleted,
            would_delete: counts.would_delete,
            failed: counts.failed,
            capped: counts.capped,
            protected: counts.protected,
        }
    }

    /// Saturating: a fan-out summary adds counts read from its children's answers.
    pub fn add(&mut self, other: &Totals) {
        self.scanned = self.scanned.saturating_add(other.scanned);
        self.stale = self.stale.saturating_add(other.stale);
        self.deleted = self.deleted.saturating_add(other.deleted);
        self.would_delete = self.would_delete.saturating_add(other.would_delete);
        self.failed = self.failed.saturating_add(other.failed);
        self.capped = self.capped.saturating_add(other.capped);
        self.protected = self.protected.saturating_add(other.protected);
    }
}

impl Report {
    /// One report of an organization run: `base` (the sweeps not of any account) joined by its accounts' `parts`,
    /// in account order: each account's sweeps (or why it could not be swept, and what kind of failure that was,
    /// counted as a failure), the totals over all, and a summary per account.
    pub fn of_accounts(mut base: Report, parts: Vec<(String, Result<Report, Unswept>)>) -> Report {
        for (account, part) in parts {
            match part {
                Ok(report) => {
                    base.accounts.push(AccountSummary {
                        account,
                        error: None,
                        totals: Totals::of(&report.totals),
                        archive: None,
                    });
                    base.totals.add(&report.totals);
                    base.sweeps.extend(report.sweeps);
                    base.notes.extend(report.notes.into_iter().filter(|n| !base.notes.contains(n)).collect::<Vec<_>>());
                }
                Err(Unswept { error, class }) => {
                    base.totals.failed += 1;
                    *base.totals.failed_by_class.entry(class).or_default() += 1;
                    base.accounts.push(AccountSummary {
                        account,
                        error: Some(error),
                        totals: Totals { failed: 1, ..Totals::default() },
                        archive: None,
                    });
                }
            }
        }
        base
    }

    /// The part of an organization run's report about `account`: its sweeps and their totals.
    pub fn of_account(&self, account: &str) -> Report {
        let sweeps: Vec<Sweep> =
            self.sweeps.iter().filter(|s| s.account.as_deref() == Some(account)).cloned().collect();
        let mut totals = Counts::default();
        for sweep in &sweeps {
            totals.add(&sweep.counts);
        }
        Report {
            dry_run: self.dry_run,
            trigger: self.trigger.clone(),
            started_at: self.started_at.clone(),
            duration_ms: self.duration_ms,
            notes: self.notes.clone(),
            totals,
            sweeps,
            archive: None,
            account: Some(account.to_owned()),
            accounts: Vec::new(),
            notify_failed: false,
            rechecks: None,
        }
    }
}

/// How many bytes of items a Lambda response carries at most. Lambda rejects a response over 6 MB (6,291,456
/// bytes), and a rejected asynchronous invocation is retried, sweeping again; the rest of the report (totals, counts,
/// errors, notes) stays far below the remaining room.
pub const LAMBDA_ITEMS_BUDGET: usize = 4 * 1024 * 1024;

/// How many bytes of items an organization run's response carries at most: each account's full report is archived,
/// and a fan-out batch's answer must fit Step Functions' 256 KiB state (with its sweeps, notes and accounts).
pub const ORGANIZATION_ITEMS_BUDGET: usize = 64 * 1024;

/// How much an item matters to a reader: what was done or went wrong first, healthy resources last.
fn rank(item: &Item) -> u8 {
    match (item.outcome, item.verdict) {
        (Outcome::Failed | Outcome::Unconfirmed | Outcome::Skipped, _) => 0,
        (Outcome::Deleted | Outcome::AlreadyGone | Outcome::WouldDelete, _) => 1,
        (_, Verdict::Capped | Verdict::Deferred | Verdict::Aborted | Verdict::Held | Verdict::Delete) => 2,
        (_, Verdict::Protected | Verdict::Waiting) => 3,
        (_, Verdict::TooYoung | Verdict::Excluded | Verdict::InProgress) => 4,
        (_, Verdict::Healthy) => 5,
    }
}

/// Counts the bytes written through it.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn json_size(item: &Item) -> usize {
    let mut count = ByteCount(0);
    // Writing to a counter cannot fail; an item that could not be serialized counts as too large to list.
    match serde_json::to_writer(&mut count, item) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

impl Report {
    /// The report within `budget` bytes of items (as JSON): totals, counts, errors and notes always; the items
    /// that matter most first (failed, deleted or would be, stale, protected and waiting, then the rest, healthy
    /// last), in their sweep's order; each sweep says how many it left out, and a note says so for the run.
    pub fn bounded(mut self, budget: usize) -> Report {
        let mut order: Vec<(u8, usize, usize, usize)> = Vec::new();
        for (s, sweep) in self.sweeps.iter().enumerate() {
            for (i, item) in sweep.items.iter().enumerate() {
                order.push((rank(item), s, i, json_size(item).saturating_add(1)));
            }
        }
        order.sort_unstable();
        let mut keep: Vec<Vec<bool>> = self.sweeps.iter().map(|s| vec![false; s.items.len()]).collect();
        let mut used = 0usize;
        let mut listed = 0usize;
        for (_, s, i, size) in &order {
            match used.checked_add(*size).filter(|total| *total <= budget) {
                Some(total) => {
                    used = total;
                    keep[*s][*i] = true;
                    listed += 1;
                }
                None => break,
            }
        }
        let omitted = order.len() - listed;
        if omitted == 0 {
            return self;
        }
        for (sweep, keep) in self.sweeps.iter_mut().zip(keep) {
            let mut flags = keep.into_iter();
            sweep.items.retain(|_| flags.next().unwrap_or(false));
            sweep.items_omitted = sweep.counts.scanned.saturating_sub(sweep.items.len());
        }
        self.notes.push(format!(
            "{omitted} of {} items are not listed, to keep the response within Lambda's limit; the counts include \
             them, and failed, deleted and stale items are listed first",
            order.len()
        ));
        self
    }

    /// Whether anything failed (a scan or a delete): the CLI's exit status says so.
    pub fn has_failures(&self) -> bool {
        self.totals.failed > 0
    }

    /// Whether the first-seen store could not be used somewhere: nothing under a grace can be deleted until it is
    /// mended (with an organization run's accounts' sweeps).
    pub fn store_unusable(&self) -> bool {
        self.sweeps.iter().any(|s| s.state_error.is_some())
    }

    /// Whether every scope of the run was held by another run, so this one swept nothing.
    pub fn all_busy(&self) -> bool {
        !self.sweeps.is_empty() && self.sweeps.iter().all(|s| s.busy.is_some())
    }

    /// A terminal-friendly rendering: per sweep a header row and one line per resource, then the totals. Every text
    /// from a control plane or an event is shown through [`text::display`] (escapes for control and bidi characters,
    /// so no name can colour the terminal, move the cursor or forge a row) and cut to its column's bound, so one long
    /// name cannot widen every row; the JSON report keeps every text whole.
    pub fn to_table(&self) -> String {
        let run = if self.dry_run { "dry" } else { "deleting" };
        let trigger = text::display(&self.trigger, TABLE_TEXT_CHARS);
        let mut out = format!("{run} run ({trigger}), {} ms\n", self.duration_ms);
        for note in &self.notes {
            out.push_str(&format!("note: {}\n", text::display(note, TABLE_NOTE_CHARS)));
        }
        let columns = Columns::of(self);
        for sweep in &self.sweeps {
            out.push('\n');
            out.push_str(&sweep_heading(sweep));
            if !sweep.items.is_empty() {
                out.push_str(&columns.header());
            }
            for item in &sweep.items {
                out.push_str(&columns.row(item));
            }
        }
        for summary in self.accounts.iter().filter(|a| a.error.is_some()) {
            out.push_str(&format!(
                "\naccount {} NOT SWEPT: {}",
                text::display(&summary.account, TABLE_LABEL_CHARS),
                text::display(summary.error.as_deref().unwrap_or_default(), TABLE_TEXT_CHARS)
            ));
        }
        if !self.accounts.is_empty() {
            out.push('\n');
        }
        let t = &self.totals;
        out.push_str(&format!(
            "\nscanned {}, stale {}, deleted {}, would delete {}, already gone {}, skipped {}, failed {}, unconfirmed {}, protected {}, too young {}, waiting {}, capped {}, deferred {}, aborted {}, held {}, scans timed out {}, busy {}\n",
            t.scanned, t.stale, t.deleted, t.would_delete, t.already_gone, t.skipped, t.failed, t.unconfirmed, t.protected, t.too_young, t.waiting, t.capped, t.deferred, t.aborted, t.held, t.timed_out, t.busy
        ));
        out
    }
}

/// The most characters of a name the table shows: a longer name is cut with `…` (the JSON report has it whole).
pub const TABLE_NAME_CHARS: usize = 60;
/// The most characters of a status the table shows.
pub const TABLE_STATUS_CHARS: usize = 20;
/// The most characters of a reason or an error text (an item's, a scan's, an account's) the table shows.
pub const TABLE_TEXT_CHARS: usize = 200;
/// The most characters of a note the table shows: notes are the janitor's sentences, some quoting an error.
const TABLE_NOTE_CHARS: usize = 600;
/// The most characters of a trigger, an account id or a region the table shows.
const TABLE_LABEL_CHARS: usize = 64;
/// The outcome column's width: the longest outcome (`wouldDelete`, `alreadyGone`, `unconfirmed`) and room.
const OUTCOME_WIDTH: usize = 13;
/// The verdict column's width: the longest verdict (`inProgress`) and room.
const VERDICT_WIDTH: usize = 11;

/// The item columns' widths over the whole report (so every sweep's rows line up), each at most its bound.
struct Columns {
    name: usize,
    status: usize,
}

impl Columns {
    fn of(report: &Report) -> Columns {
        let items = || report.sweeps.iter().flat_map(|s| &s.items);
        let widest = |header: &str, bound: usize, value: &dyn Fn(&Item) -> &str| {
            items().map(|i| text::display(value(i), bound).chars().count()).fold(header.len(), usize::max)
        };
        Columns {
            name: widest("NAME", TABLE_NAME_CHARS, &|i| &i.name),
            status: widest("STATUS", TABLE_STATUS_CHARS, &|i| &i.status),
        }
    }

    /// The column names, above a sweep's items.
    fn header(&self) -> String {
        self.line("OUTCOME", "VERDICT", "NAME", "STATUS", "REASON [ERROR]")
    }

    /// One item's line: its outcome, verdict, name, status and reason (with when it becomes deletable, if it waits),
    /// and its error if its delete failed.
    fn row(&self, item: &Item) -> String {
        let word = |value: serde_json::Result<serde_json::Value>| {
            value.ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
        };
        let mut reason = text::display(&item.reason, TABLE_TEXT_CHARS);
        if let Some(at) = &item.deletable_at {
            reason.push_str(&format!("; deletable from {}", text::display(at, TABLE_LABEL_CHARS)));
        }
        if let Some(error) = &item.error {
            reason.push_str(&format!(" [{}]", text::display(error, TABLE_TEXT_CHARS)));
        }
        self.line(
            &word(serde_json::to_value(item.outcome)),
            &word(serde_json::to_value(item.verdict)),
            &text::display(&item.name, TABLE_NAME_CHARS),
            &text::display(&item.status, TABLE_STATUS_CHARS),
            &reason,
        )
    }

    /// A line of the five columns; every text in it is already shown safe and bounded.
    fn line(&self, outcome: &str, verdict: &str, name: &str, status: &str, reason: &str) -> String {
        format!(
            "  {} {} {}  {} {reason}\n",
            text::pad(outcome, OUTCOME_WIDTH),
            text::pad(verdict, VERDICT_WIDTH),
            text::pad(name, self.name),
            text::pad(status, self.status)
        )
    }
}

/// `111111111111 rds us-east-1  SCAN FAILED: ...`: a sweep's account, provider and region, and what went wrong
/// with it as a whole.
fn sweep_heading(sweep: &Sweep) -> String {
    let account =
        sweep.account.as_ref().map(|a| format!("{} ", text::display(a, TABLE_LABEL_CHARS))).unwrap_or_default();
    let mut heading = format!("{account}{} {}", sweep.provider, text::display(&sweep.region, TABLE_LABEL_CHARS));
    if let Some(error) = &sweep.error {
        heading.push_str(&format!("  SCAN FAILED: {}", text::display(error, TABLE_TEXT_CHARS)));
    }
    if let Some(error) = &sweep.state_error {
        heading.push_str(&format!("  FIRST-SEEN STORE UNAVAILABLE: {}", text::display(error, TABLE_TEXT_CHARS)));
    }
    if sweep.timed_out {
        heading.push_str("  TIMED OUT: nothing judged");
    }
    if let Some(busy) = &sweep.busy {
        let until = busy.until.as_deref().map(|u| format!(" until {}", text::display(u, TABLE_LABEL_CHARS)));
        heading.push_str(&format!(
            "  BUSY: held by {}{}; nothing judged",
            text::display(&busy.holder, TABLE_TEXT_CHARS),
            until.unwrap_or_default()
        ));
    }
    if sweep.tripwire_tripped {
        heading.push_str("  TRIPWIRE TRIPPED: nothing deleted");
    }
    heading.push('\n');
    heading
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::dms;

    fn item(n: usize, verdict: Verdict, outcome: Outcome) -> Item {
        let endpoint = format!("arn:aws:dms:us-east-1:123456789012:endpoint:ENDPOINT{n:020}");
        Item {
            kind: "dms-connection",
            id: format!("{endpoint}|arn:aws:dms:us-east-1:123456789012:rep:INSTANCE{n:020}"),
            name: format!("endpoint-{n}@instance-{n}"),
            status: if verdict == Verdict::Healthy { "successful".into() } else { "failed".into() },
            reason: "status successful is not one of failed".into(),
            verdict,
            outcome,
            error: None,
            error_class: None,
            failure: None,
            deletable_at: None,
            definition: None,
        }
    }

    fn report_of(items: Vec<Item>) -> Report {
        let mut sweep = Sweep::new(dms::PROVIDER, "us-east-1");
        for item in items {
            sweep.counts.count(&item);
            sweep.items.push(item);
        }
        Report {
            dry_run: true,
            trigger: "schedule".into(),
            started_at: String::new(),
            duration_ms: 1,
            notes: Vec::new(),
            totals: sweep.counts.clone(),
            sweeps: vec![sweep],
            archive: None,
            account: None,
            accounts: Vec::new(),
            notify_failed: false,
            rechecks: None,
        }
    }

    #[test]
    fn a_lambda_response_of_a_large_fleet_stays_under_the_limit_and_lists_what_matters_first() {
        let items: Vec<Item> = (0..25_000)
            .map(|n| match n % 5 {
                0 => item(n, Verdict::Delete, Outcome::WouldDelete),
                1 => item(n, Verdict::Protected, Outcome::Kept),
                _ => item(n, Verdict::Healthy, Outcome::Kept),
            })
            .collect();
        let full = serde_json::to_vec(&report_of(items.clone())).expect("json").len();
        assert!(full > 6_291_456, "the fixture must be over Lambda's limit unbounded: {full} bytes");

        let bounded = report_of(items).bounded(LAMBDA_ITEMS_BUDGET);
        let size = serde_json::to_vec(&bounded).expect("json").len();
        assert!(size <= 5_000_000, "{size} bytes");
        let sweep = &bounded.sweeps[0];
        assert_eq!(sweep.counts.scanned, 25_000, "counts keep every item");
        assert_eq!(sweep.items.len() + sweep.items_omitted, 25_000);
        let listed = |verdict: Verdict| sweep.items.iter().filter(|i| i.verdict == verdict).count();
        assert_eq!(listed(Verdict::Delete), 5_000, "every stale item is listed");
        assert_eq!(listed(Verdict::Protected), 5_000, "then the protected ones");
        assert!(listed(Verdict::Healthy) < 15_000, "healthy ones last, as far as the budget goes");
        assert!(sweep.items.windows(2).all(|w| w[0].id < w[1].id), "listed items keep their order");
        assert!(
            bounded
                .notes
                .iter()
                .any(|n| n.starts_with(&format!("{} of 25000 items are not listed", sweep.items_omitted))),
            "{:?}",
            bounded.notes
        );
    }

    #[test]
    fn a_report_within_the_budget_is_unchanged() {
        let report = report_of((0..10).map(|n| item(n, Verdict::Healthy, Outcome::Kept)).collect());
        let bounded = report.clone().bounded(LAMBDA_ITEMS_BUDGET);
        assert_eq!(serde_json::to_value(&bounded).ok(), serde_json::to_value(&report).ok());
    }

    /// The table's lines that list an item (below a header row, indented), in order.
    fn rows(table: &str) -> Vec<&str> {
        table.lines().filter(|l| l.starts_with("  ") && !l.starts_with("  OUTCOME")).collect()
    }

    /// The widest a table line can be: the indent, the outcome and verdict, the name and status columns at their
    /// bounds, and a reason, when it becomes deletable and an error at theirs, with their separators.
    const WIDEST_ROW: usize = 2
        + OUTCOME_WIDTH
        + 1
        + VERDICT_WIDTH
        + 1
        + TABLE_NAME_CHARS
        + 2
        + TABLE_STATUS_CHARS
        + 1
        + TABLE_TEXT_CHARS
        + 18
        + TABLE_LABEL_CHARS
        + 3
        + TABLE_TEXT_CHARS;

    #[test]
    fn the_table_has_a_header_row_and_one_line_per_item() {
        let mut report =
            report_of(vec![item(1, Verdict::Delete, Outcome::WouldDelete), item(2, Verdict::Healthy, Outcome::Kept)]);
        report.sweeps[0].items[1].error = Some("ThrottlingException: slow down".into());
        assert_eq!(
            report.to_table(),
            "dry run (schedule), 1 ms\n\
             \n\
             dms us-east-1\n  \
             OUTCOME       VERDICT     NAME                   STATUS     REASON [ERROR]\n  \
             wouldDelete   delete      endpoint-1@instance-1  failed     status successful is not one of failed\n  \
             kept          healthy     endpoint-2@instance-2  successful status successful is not one of failed [ThrottlingException: slow down]\n\
             \n\
             scanned 2, stale 1, deleted 0, would delete 1, already gone 0, skipped 0, failed 0, unconfirmed 0, \
             protected 0, too young 0, waiting 0, capped 0, deferred 0, aborted 0, held 0, scans timed out 0, busy 0\n"
        );
    }

    #[test]
    fn a_huge_name_is_cut_and_widens_no_other_row() {
        let mut long = item(1, Verdict::Delete, Outcome::Deleted);
        long.name = "n".repeat(100_000);
        long.status = "s".repeat(100_000);
        long.reason = "r".repeat(100_000);
        long.error = Some("e".repeat(100_000));
        let mut report = report_of(vec![long, item(2, Verdict::Healthy, Outcome::Kept)]);
        report.sweeps[0].items[0].name.push('é');
        let table = report.to_table();

        let rows = rows(&table);
        assert_eq!(rows.len(), 2, "{table}");
        assert!(table.lines().all(|l| l.chars().count() <= WIDEST_ROW), "a line over {WIDEST_ROW} characters");
        let cut = format!("{}…", "n".repeat(TABLE_NAME_CHARS - 1));
        assert!(rows[0].contains(&format!("  deleted       delete      {cut}  ")), "{}", rows[0]);
        let header = table.lines().find(|l| l.starts_with("  OUTCOME")).expect("a header row");
        let status_column = 2 + OUTCOME_WIDTH + 1 + VERDICT_WIDTH + 1 + TABLE_NAME_CHARS + 2;
        assert_eq!(header.find("STATUS"), Some(status_column), "{header}");
        assert!(rows[1][status_column..].starts_with("successful "), "the short row lines up: {}", rows[1]);
        assert!(table.len() < 4_000, "{} bytes", table.len());
    }

    #[test]
    fn control_characters_in_any_text_forge_no_row_and_reach_no_terminal() {
        let mut report = report_of(vec![item(1, Verdict::Delete, Outcome::Failed)]);
        let hostile = &mut report.sweeps[0].items[0];
        hostile.name = "innocent\n  deleted       forged-row\r  \x1b[31mred\x1b[0m\u{9b}2J".into();
        hostile.status = "failed\x1b]0;title\x07".into();
        hostile.reason = "reason\u{202E}txt.exe\u{2066}\u{200F}\u{061C}".into();
        hostile.error = Some("error\r\nnote: all clear\u{2028}".into());
        report.trigger = "aws.rds/RDS Zero ETL Event\n\x1b[2K".into();
        report.notes.push("a note quoting\nan error\x1b[0m".into());
        report.sweeps[0].region = "us-east-1\n".into();
        report.sweeps[0].account = Some("111111111111\r".into());
        report.sweeps[0].error = Some("scan\nfailed\x1b".into());
        report.sweeps[0].state_error = Some("store\u{202D}".into());
        report.accounts.push(AccountSummary {
            account: "222222222222\n".into(),
            error: Some("could not assume\n  deleted       forged".into()),
            totals: Totals::default(),
            archive: None,
        });
        let table = report.to_table();

        assert!(!table.chars().any(|c| c != '\n' && text::is_hazard(c)), "{table:?}");
        assert_eq!(rows(&table).len(), 1, "{table}");
        assert!(!table.lines().any(|l| l.starts_with("  deleted") || l.starts_with("note: all clear")), "{table}");
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "dry run (aws.rds/RDS Zero ETL Event\\u{a}\\u{1b}[2K), 1 ms");
        assert_eq!(lines[1], "note: a note quoting\\u{a}an error\\u{1b}[0m");
        assert!(lines[3].starts_with("111111111111\\u{d} dms us-east-1\\u{a}  SCAN FAILED: scan\\u{a}failed\\u{1b}"));
        assert!(lines[3].ends_with("FIRST-SEEN STORE UNAVAILABLE: store\\u{202d}"), "{}", lines[3]);
        let row = rows(&table)[0];
        let name = "innocent\\u{a}  deleted       forged-row\\u{d}  \\u{1b}[31mred…";
        assert_eq!(name.chars().count(), TABLE_NAME_CHARS, "the name is cut with its escapes counted as shown");
        assert!(
            row.starts_with(&format!("  failed        delete      {name}  failed\\u{{1b}}]0;titl… reason")),
            "{row}"
        );
        assert!(row
            .contains("reason\\u{202e}txt.exe\\u{2066}\\u{200f}\\u{61c} [error\\u{d}\\u{a}note: all clear\\u{2028}]"));
        assert!(
            table.contains("\naccount 222222222222\\u{a} NOT SWEPT: could not assume\\u{a}  deleted       forged\n")
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_texts_give_a_bounded_table_of_one_line_per_item(
                names in proptest::collection::vec(any::<String>(), 1..6),
                other in any::<String>(),
                long in 0usize..3,
            ) {
                let items = names.iter().enumerate().map(|(n, name)| {
                    let mut item = item(n, Verdict::Delete, Outcome::Failed);
                    item.name = format!("{name}{}", other.repeat(long * 1_000));
                    item.status = other.clone();
                    item.reason = other.clone();
                    item.error = Some(name.clone());
                    item
                }).collect();
                let mut report = report_of(items);
                report.notes.push(other.clone());
                report.trigger = other.clone();
                let table = report.to_table();
                prop_assert_eq!(rows(&table).len(), names.len());
                prop_assert!(!table.chars().any(|c| c != '\n' && text::is_hazard(c)));
                prop_assert!(table.lines().all(|l| l.chars().count() <= WIDEST_ROW.max(TABLE_NOTE_CHARS + 6)));
            }
        }
    }
}
