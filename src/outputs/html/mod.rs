//! The HTML report: one self-contained page per run, for people (on a phone too), archived beside the JSON and
//! rendered locally by `replication-janitor report --html`.
//!
//! Self-contained: inline CSS, no script, no font, image or link to load; a Content-Security-Policy of
//! `default-src 'none'` says so to the browser, so even a mistake here could load or run nothing.
//!
//! Every text from the report (names, ids, statuses, reasons, the control planes' failure texts, errors, notes,
//! regions, accounts, the trigger) is hostile input: it goes through [`writer::Html::text`] (control and bidi
//! characters shown as escapes, cut to a bound, `& < > " '` escaped), and long words wrap anywhere, so no name can
//! inject markup, reorder what is shown or widen the page.
//!
//! Bounded at any fleet size (the JSON keeps everything): at most [`ITEMS_PER_GROUP`] resources per group and
//! [`ITEMS_BYTES`] of them in all (failed first, then unconfirmed, deleted, would delete, waiting, protected, the
//! rest), [`TABLE_ROWS`] rows per table, [`SWEEPS_LISTED`] scan problems and [`NOTES_LISTED`] notes, each list saying
//! how many it leaves to the JSON; with every text cut, a page stays within [`MAX_BYTES`] (tested with texts longer
//! than any bound, of the characters that cost the most once escaped).

mod view;
pub mod writer;

use crate::domain::text;
use crate::engine::policy::Verdict;
use crate::engine::report::{ArchiveRecord, Counts, Outcome};
use std::collections::HashMap;
use view::{Item, Run, Sweep};
use writer::Html;

/// Resources listed per group (deleted, would delete, failed, ...) before "and N more": the default deletion cap,
/// so a default deleting run lists every resource it deleted.
pub const ITEMS_PER_GROUP: usize = 100;
/// Bytes of resource cards a page holds at most, over all groups, in the groups' order.
pub const ITEMS_BYTES: usize = 2 * 1024 * 1024;
/// Rows per table (per provider, region, account): an organization run may have thousands of accounts.
pub const TABLE_ROWS: usize = 200;
/// Sweeps whose scan failed, timed out, was busy or tripped, listed one by one.
pub const SWEEPS_LISTED: usize = 50;
/// Notes listed.
pub const NOTES_LISTED: usize = 50;
/// What a page weighs at most, whatever the report holds.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// Characters shown of a resource's name.
const NAME_CHARS: usize = 200;
/// Of a resource's id (an ARN, or two).
const ID_CHARS: usize = 300;
/// Of a status.
const STATUS_CHARS: usize = 60;
/// Of a reason, an error text, a scan's or an account's error.
const TEXT_CHARS: usize = 400;
/// Of a control plane's failure text: the report keeps 500 characters and an ellipsis, all shown.
const FAILURE_CHARS: usize = 501;
/// Of a provider, a region, an account id, a kind, a time.
const LABEL_CHARS: usize = 64;
/// Of the trigger.
const TRIGGER_CHARS: usize = 200;
/// Of a note (the janitor's sentences, some quoting an error).
const NOTE_CHARS: usize = 600;
/// Of the archive's URI.
const URI_CHARS: usize = 1_200;

/// Why a text could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error("not a replication-janitor report ({0})")]
    NotAReport(#[from] serde_json::Error),
}

/// The page of the report whose JSON is `json` (as the CLI prints it and the archive keeps it). `archive`, when
/// given, is where that JSON was archived (an archived report does not name its own key); otherwise the report's
/// own `archive` record, if it has one.
pub fn render(json: &[u8], archive: Option<&ArchiveRecord>) -> Result<String, HtmlError> {
    let run = Run::read(json)?;
    Ok(page(&run, archive.or(run.archive.as_ref())))
}

fn page(run: &Run, archive: Option<&ArchiveRecord>) -> String {
    let mut h = Html::new();
    h.markup(HEAD).markup("<title>replication-janitor ").markup(run_kind(run)).markup(" (");
    h.text(&run.trigger, TRIGGER_CHARS).markup(") ").text(&run.started_at, LABEL_CHARS);
    h.markup("</title>\n<style>").markup(CSS).markup("</style>\n</head>\n<body>\n");
    header(&mut h, run, archive);
    notes(&mut h, run);
    restore(&mut h, run, archive);
    totals(&mut h, &run.totals);
    breakdowns(&mut h, run);
    sweep_problems(&mut h, run);
    items(&mut h, run);
    h.markup("<footer>Rendered by replication-janitor ").markup(env!("CARGO_PKG_VERSION"));
    h.markup(
        " from the run's JSON report, which keeps every resource and every text whole. Here texts are cut, and \
         control and direction characters are shown as escapes such as \\u{202e}.</footer>\n</body>\n</html>\n",
    );
    h.finish()
}

const HEAD: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">\n\
<meta name=\"referrer\" content=\"no-referrer\">\n";

const CSS: &str = ":root{color-scheme:light dark;--fg:#1f2328;--bg:#fff;--muted:#59636e;--line:#d1d9e0;--card:#f6f8fa;\
--bad:#cf222e;--good:#1a7f37;--warn:#9a6700;--info:#0969da}\
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;--line:#3d444d;--card:#151b23;\
--bad:#f85149;--good:#3fb950;--warn:#d29922;--info:#4493f8}}\
*{box-sizing:border-box}\
body{margin:0 auto;max-width:72rem;padding:1rem;font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;\
color:var(--fg);background:var(--bg);overflow-wrap:anywhere}\
h1{font-size:1.35rem;margin:0 0 .6rem}h2{font-size:1.15rem;margin:1.6rem 0 .5rem;padding-bottom:.2rem;\
border-bottom:1px solid var(--line)}h3{font-size:1.05rem;margin:1.2rem 0 .3rem}h4{font-size:1rem;margin:0 0 .3rem}\
.badge{display:inline-block;padding:.05rem .5rem;border-radius:1rem;font-size:.85rem;color:#fff;vertical-align:middle}\
.dry{background:var(--info)}.deleting{background:var(--bad)}\
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.15rem .8rem;margin:0}dt{color:var(--muted)}\
dd{margin:0;min-width:0}\
.totals{display:grid;grid-template-columns:repeat(auto-fill,minmax(7rem,1fr));gap:.35rem}\
.total{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.2rem .45rem;font-size:.85rem;overflow-wrap:normal}\
.total b{font-size:1.15rem;margin-right:.3rem}.zero{opacity:.55}\
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}\
th,td{border-bottom:1px solid var(--line);padding:.25rem .4rem;text-align:right;overflow-wrap:normal}\
th:first-child{text-align:left;min-width:6.5rem;overflow-wrap:anywhere}thead th{color:var(--muted);font-weight:normal}\
ol.items{list-style:none;padding:0;margin:0;display:grid;gap:.5rem}\
.item{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--muted);border-radius:6px;\
padding:.5rem .7rem;font-size:.92rem}\
.failed .item,.unconfirmed .item{border-left-color:var(--bad)}.deleted .item{border-left-color:var(--good)}\
.would-delete .item{border-left-color:var(--info)}.waiting .item,.protected .item{border-left-color:var(--warn)}\
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.88em}\
pre{white-space:pre-wrap;background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.6rem}\
.bad{color:var(--bad)}.muted,.more,footer{color:var(--muted)}.more{font-style:italic}\
footer{margin-top:2rem;font-size:.85rem}\
@media (max-width:40rem){body{padding:.6rem}.item dl{grid-template-columns:minmax(0,1fr)}.item dt{margin-top:.25rem;\
font-size:.8rem}}";

fn run_kind(run: &Run) -> &'static str {
    if run.dry_run {
        "dry run"
    } else {
        "deleting run"
    }
}

fn header(h: &mut Html, run: &Run, archive: Option<&ArchiveRecord>) {
    h.markup("<header>\n<h1>replication-janitor <span class=\"badge ");
    h.markup(if run.dry_run { "dry\">dry run" } else { "deleting\">deleting run" }).markup("</span></h1>\n");
    h.markup("<dl id=\"run\">\n<dt>run</dt><dd>");
    h.markup(if run.dry_run { "dry run: nothing was deleted" } else { "deleting run" }).markup("</dd>\n");
    h.markup("<dt>trigger</dt><dd>").text(&run.trigger, TRIGGER_CHARS).markup("</dd>\n");
    h.markup("<dt>started</dt><dd>").text(&run.started_at, LABEL_CHARS).markup("</dd>\n");
    h.markup("<dt>duration</dt><dd>").number(run.duration_ms).markup(" ms</dd>\n");
    if let Some(account) = &run.account {
        h.markup("<dt>account</dt><dd>").text(account, LABEL_CHARS).markup("</dd>\n");
    }
    match archive {
        Some(record) if record.error.is_none() => {
            h.markup("<dt>JSON report</dt><dd><code>").text(&record.uri(), URI_CHARS).markup("</code></dd>\n");
        }
        Some(record) => {
            h.markup("<dt>JSON report</dt><dd class=\"bad\">not archived: ");
            h.text(record.error.as_deref().unwrap_or_default(), TEXT_CHARS).markup("</dd>\n");
        }
        None => {}
    }
    if run.notify_failed {
        h.markup("<dt>notification</dt><dd class=\"bad\">could not be published (see the notes)</dd>\n");
    }
    h.markup("</dl>\n</header>\n");
}

fn notes(h: &mut Html, run: &Run) {
    let omitted: usize = run.sweeps.iter().map(|s| s.items_omitted).sum();
    if run.notes.is_empty() && omitted == 0 {
        return;
    }
    h.markup("<section id=\"notes\">\n<h2>Notes</h2>\n<ul>\n");
    if omitted > 0 {
        h.markup("<li>").number(omitted).markup(
            " resources are counted but not listed in this report (a Lambda response is bounded); the archived JSON \
             report lists them all.</li>\n",
        );
    }
    for note in run.notes.iter().take(NOTES_LISTED) {
        h.markup("<li>").text(note, NOTE_CHARS).markup("</li>\n");
    }
    more(h, "li", run.notes.len(), NOTES_LISTED, "notes");
    h.markup("</ul>\n</section>\n");
}

/// The restore command, for a deleting run that deleted something: from the archived report, which keeps each
/// deleted resource's definition.
fn restore(h: &mut Html, run: &Run, archive: Option<&ArchiveRecord>) {
    if run.dry_run || run.totals.deleted == 0 {
        return;
    }
    h.markup("<section id=\"restore\">\n<h2>Undo</h2>\n");
    match archive.filter(|a| a.error.is_none() && !a.key.is_empty()).map(restore_command) {
        Some(Some(command)) => {
            h.markup(
                "<p>To re-create what this run deleted, from the definitions its archived report keeps:</p>\n\
                 <pre id=\"restore-command\"><code>",
            );
            h.text(&command, usize::MAX).markup("</code></pre>\n");
        }
        Some(None) => {
            h.markup(
                "<p>The archive's location holds characters a shell command cannot carry safely, so no restore \
                 command is shown; see the report's archive record.</p>\n",
            );
        }
        None => {
            h.markup(
                "<p>This report does not say where it was archived. The restore command reads the archived report: \
                 <code>replication-janitor restore --report s3://&lt;bucket&gt;/&lt;key&gt;</code></p>\n",
            );
        }
    }
    h.markup("</section>\n");
}

/// `replication-janitor restore --report s3://<bucket>/<key>`, the URI quoted for a shell when it needs it; `None`
/// when it is not something to paste into a shell (a control or direction character, or longer than any S3 URI).
fn restore_command(archive: &ArchiveRecord) -> Option<String> {
    let uri = archive.uri();
    if uri.chars().count() > URI_CHARS || uri.chars().any(text::is_hazard) {
        return None;
    }
    Some(format!("replication-janitor restore --report {}", shell_word(&uri)))
}

/// `word` as one shell word: as it is when it holds only characters no shell interprets, else single-quoted.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// A count of the report: its JSON name (the DOM's `data-total`), its label, and how to read it.
type Count = (&'static str, &'static str, fn(&Counts) -> usize);

/// Every count a report carries, in reading order (a test keeps it equal to the JSON's).
const COUNTS: [Count; 20] = [
    ("scanned", "scanned", |c| c.scanned),
    ("stale", "stale", |c| c.stale),
    ("deleted", "deleted", |c| c.deleted),
    ("wouldDelete", "would delete", |c| c.would_delete),
    ("alreadyGone", "already gone", |c| c.already_gone),
    ("failed", "failed", |c| c.failed),
    ("unconfirmed", "unconfirmed", |c| c.unconfirmed),
    ("skipped", "skipped", |c| c.skipped),
    ("waiting", "waiting", |c| c.waiting),
    ("protected", "protected", |c| c.protected),
    ("tooYoung", "too young", |c| c.too_young),
    ("capped", "capped", |c| c.capped),
    ("deferred", "deferred", |c| c.deferred),
    ("aborted", "aborted", |c| c.aborted),
    ("held", "held", |c| c.held),
    ("excluded", "excluded", |c| c.excluded),
    ("inProgress", "in progress", |c| c.in_progress),
    ("healthy", "healthy", |c| c.healthy),
    ("timedOut", "scans timed out", |c| c.timed_out),
    ("busy", "scopes busy", |c| c.busy),
];

/// The counts each row of the per-provider, per-region and per-account tables shows (names in [`COUNTS`]).
const COLUMNS: [&str; 8] = ["scanned", "stale", "deleted", "wouldDelete", "failed", "waiting", "protected", "capped"];

fn totals(h: &mut Html, totals: &Counts) {
    h.markup("<section id=\"totals\">\n<h2>Totals</h2>\n<div class=\"totals\">\n");
    for (key, label, count) in COUNTS {
        total(h, key, label, count(totals));
    }
    for (class, n) in &totals.failed_by_class {
        let key = serde_json::to_value(class).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        h.markup("<div class=\"total\" data-total=\"failedByClass.").text(&key, LABEL_CHARS).markup("\"><b>");
        h.number(*n).markup("</b>failed as ").text(&key, LABEL_CHARS).markup("</div>\n");
    }
    h.markup("</div>\n</section>\n");
}

fn total(h: &mut Html, key: &'static str, label: &'static str, n: usize) {
    h.markup("<div class=\"total").markup(if n == 0 { " zero" } else { "" }).markup("\" data-total=\"");
    h.markup(key).markup("\"><b>").number(n).markup("</b>").markup(label).markup("</div>\n");
}

/// A row of a breakdown table: its label, its counts, and why it was not swept (an account).
struct Row<'r> {
    label: &'r str,
    counts: Counts,
    unswept: Option<&'r str>,
}

/// The sweeps' counts added up by `key`, in the order the keys first appear, after `rows`.
fn grouped<'r>(
    mut rows: Vec<Row<'r>>,
    sweeps: &'r [Sweep],
    key: impl Fn(&'r Sweep) -> Option<&'r str>,
) -> Vec<Row<'r>> {
    let mut at: HashMap<&str, usize> = rows.iter().enumerate().map(|(i, r)| (r.label, i)).collect();
    for sweep in sweeps {
        let Some(label) = key(sweep) else { continue };
        let i = *at.entry(label).or_insert_with(|| {
            rows.push(Row { label, counts: Counts::default(), unswept: None });
            rows.len() - 1
        });
        rows[i].counts.add(&sweep.counts);
    }
    rows
}

fn breakdowns(h: &mut Html, run: &Run) {
    let providers = grouped(Vec::new(), &run.sweeps, |s| Some(s.provider.as_ref()));
    table(h, "by-provider", "Per provider", "provider", providers);
    let regions = grouped(Vec::new(), &run.sweeps, |s| Some(s.region.as_ref()));
    table(h, "by-region", "Per region", "region", regions);
    // An organization run's accounts, in its order, each not swept counted as one failure (as the totals do).
    let listed = run
        .accounts
        .iter()
        .map(|a| Row {
            label: &a.account,
            counts: Counts { failed: usize::from(a.error.is_some()), ..Counts::default() },
            unswept: a.error.as_deref(),
        })
        .collect();
    let accounts = grouped(listed, &run.sweeps, |s| s.account.as_deref());
    if !accounts.is_empty() {
        table(h, "by-account", "Per account", "account", accounts);
    }
}

fn table(h: &mut Html, id: &'static str, title: &'static str, what: &'static str, mut rows: Vec<Row>) {
    h.markup("<section id=\"").markup(id).markup("\">\n<h2>").markup(title).markup("</h2>\n");
    if rows.is_empty() {
        h.markup("<p class=\"muted\">Nothing was swept.</p>\n</section>\n");
        return;
    }
    if rows.len() > TABLE_ROWS {
        // What the table can show: failures first, then deletions, then the rest (a stable sort keeps the order).
        rows.sort_by_key(|r| (r.counts.failed == 0, r.counts.deleted + r.counts.would_delete == 0));
    }
    h.markup("<div class=\"scroll\">\n<table>\n<thead><tr><th>").markup(what).markup("</th>");
    for column in COLUMNS {
        let label = COUNTS.iter().find(|(key, ..)| *key == column).map(|(_, label, _)| *label).unwrap_or(column);
        h.markup("<th>").markup(label).markup("</th>");
    }
    h.markup("</tr></thead>\n<tbody>\n");
    for row in rows.iter().take(TABLE_ROWS) {
        h.markup("<tr><th scope=\"row\">").text(row.label, LABEL_CHARS);
        if let Some(error) = row.unswept {
            h.markup("<br><span class=\"bad\">not swept: ").text(error, TEXT_CHARS).markup("</span>");
        }
        h.markup("</th>");
        for (key, _, count) in COUNTS.iter().filter(|(key, ..)| COLUMNS.contains(key)) {
            h.markup("<td data-count=\"").markup(key).markup("\">").number(count(&row.counts)).markup("</td>");
        }
        h.markup("</tr>\n");
    }
    h.markup("</tbody>\n</table>\n</div>\n");
    more(h, "p", rows.len(), TABLE_ROWS, "rows");
    h.markup("</section>\n");
}

/// "and N more ... in the JSON report", when `total` is over what was listed.
fn more(h: &mut Html, element: &'static str, total: usize, listed: usize, what: &'static str) {
    if total > listed {
        h.markup("<").markup(element).markup(" class=\"more\">and ").number(total - listed).markup(" more ");
        h.markup(what).markup(": see the JSON report</").markup(element).markup(">\n");
    }
}

/// Whether a sweep as a whole has something to say: its scan failed or timed out, its store was unusable,
/// another run held it, or its tripwire tripped.
fn troubled(sweep: &Sweep) -> bool {
    sweep.error.is_some()
        || sweep.state_error.is_some()
        || sweep.timed_out
        || sweep.busy.is_some()
        || sweep.tripwire_tripped
}

fn sweep_problems(h: &mut Html, run: &Run) {
    let troubled: Vec<&Sweep> = run.sweeps.iter().filter(|s| troubled(s)).collect();
    if troubled.is_empty() {
        return;
    }
    h.markup("<section id=\"scans\">\n<h2>Scans</h2>\n<ul>\n");
    for sweep in troubled.iter().take(SWEEPS_LISTED) {
        h.markup("<li><b>");
        place(h, sweep);
        h.markup("</b>");
        if let Some(error) = &sweep.error {
            h.markup(": <span class=\"bad\">scan failed");
            class(h, sweep.error_class);
            h.markup(": ").text(error, TEXT_CHARS).markup("</span>");
        }
        if let Some(error) = &sweep.state_error {
            h.markup("; first-seen store unavailable: ").text(error, TEXT_CHARS);
        }
        if sweep.timed_out {
            h.markup("; timed out: nothing judged");
        }
        if let Some(busy) = &sweep.busy {
            h.markup("; busy: held by ").text(&busy.holder, TEXT_CHARS);
            if let Some(until) = &busy.until {
                h.markup(" until ").text(until, LABEL_CHARS);
            }
            h.markup("; nothing judged");
        }
        if sweep.tripwire_tripped {
            h.markup("; tripwire tripped: nothing deleted");
        }
        h.markup("</li>\n");
    }
    more(h, "li", troubled.len(), SWEEPS_LISTED, "scans");
    h.markup("</ul>\n</section>\n");
}

/// `dms us-east-1 111111111111`: a sweep's provider, region and account.
fn place(h: &mut Html, sweep: &Sweep) {
    h.text(&sweep.provider, LABEL_CHARS).markup(" ").text(&sweep.region, LABEL_CHARS);
    if let Some(account) = &sweep.account {
        h.markup(" ").text(account, LABEL_CHARS);
    }
}

/// ` (denied)`: an error's class, when there is one.
fn class(h: &mut Html, class: Option<crate::domain::resource::ErrorClass>) {
    let name = class.and_then(|c| serde_json::to_value(c).ok()).and_then(|v| v.as_str().map(str::to_owned));
    if let Some(name) = name {
        h.markup(" (").text(&name, LABEL_CHARS).markup(")");
    }
}

/// How the page groups resources, in the order it lists them: what went wrong first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    Failed,
    Unconfirmed,
    Deleted,
    WouldDelete,
    Waiting,
    Protected,
    Other,
}

const GROUPS: [Group; 7] = [
    Group::Failed,
    Group::Unconfirmed,
    Group::Deleted,
    Group::WouldDelete,
    Group::Waiting,
    Group::Protected,
    Group::Other,
];

impl Group {
    fn of(item: &Item) -> Group {
        match (item.outcome, item.verdict) {
            (Outcome::Failed, _) => Group::Failed,
            (Outcome::Unconfirmed, _) => Group::Unconfirmed,
            (Outcome::Deleted | Outcome::AlreadyGone, _) => Group::Deleted,
            (Outcome::WouldDelete, _) => Group::WouldDelete,
            (_, Verdict::Waiting) => Group::Waiting,
            (_, Verdict::Protected) => Group::Protected,
            _ => Group::Other,
        }
    }

    /// Its id and class in the page (`data-group`).
    fn id(self) -> &'static str {
        match self {
            Group::Failed => "failed",
            Group::Unconfirmed => "unconfirmed",
            Group::Deleted => "deleted",
            Group::WouldDelete => "would-delete",
            Group::Waiting => "waiting",
            Group::Protected => "protected",
            Group::Other => "other",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Group::Failed => "Failed",
            Group::Unconfirmed => "Unconfirmed",
            Group::Deleted => "Deleted",
            Group::WouldDelete => "Would delete",
            Group::Waiting => "Waiting",
            Group::Protected => "Protected",
            Group::Other => "Kept",
        }
    }

    fn explanation(self) -> &'static str {
        match self {
            Group::Failed => "The delete failed: the resource is still there. The error is the delete's; the failure text is its control plane's.",
            Group::Unconfirmed => "The delete was sent but had not answered when the run had to end; the next run sees whether it happened.",
            Group::Deleted => "Deleted by this run, or already gone when it looked again.",
            Group::WouldDelete => "A deleting run would delete these; this dry run deleted nothing.",
            Group::Waiting => "Stale, but not yet seen stale for the provider's grace (or older than the minimum age): a later run with the same first-seen store may delete them from the time shown.",
            Group::Protected => "Stale, but protected (see each reason): never deleted.",
            Group::Other => "Healthy, in progress, too young, excluded, held back by the cap, the deadline or the tripwire, or refused by their control plane's state: see each verdict and reason.",
        }
    }
}

fn items(h: &mut Html, run: &Run) {
    let mut counted = [0usize; GROUPS.len()];
    let mut listed: [Vec<(&Sweep, &Item)>; GROUPS.len()] = Default::default();
    for sweep in &run.sweeps {
        for item in &sweep.items {
            let group = Group::of(item) as usize;
            counted[group] += 1;
            if listed[group].len() < ITEMS_PER_GROUP {
                listed[group].push((sweep, item));
            }
        }
    }
    h.markup("<section id=\"resources\">\n<h2>Resources</h2>\n");
    if counted.iter().all(|n| *n == 0) {
        h.markup("<p class=\"muted\">This report lists no resource.</p>\n");
    }
    let mut budget = ITEMS_BYTES;
    for group in GROUPS {
        let (count, listed) = (counted[group as usize], &listed[group as usize]);
        if count == 0 {
            continue;
        }
        let mut cards = Html::new();
        let mut shown = 0usize;
        for (sweep, item) in listed {
            let mut one = Html::new();
            card(&mut one, sweep, item);
            match budget.checked_sub(one.len()) {
                Some(left) => budget = left,
                None => break,
            }
            cards.append(one);
            shown += 1;
        }
        h.markup("<section class=\"group ").markup(group.id()).markup("\" id=\"").markup(group.id());
        h.markup("\" data-group=\"").markup(group.id()).markup("\" data-count=\"").number(count);
        h.markup("\" data-listed=\"").number(shown).markup("\">\n<h3>").markup(group.title()).markup(" (");
        h.number(count).markup(")</h3>\n<p class=\"muted\">").markup(group.explanation()).markup("</p>\n");
        h.markup("<ol class=\"items\">\n").append(cards).markup("</ol>\n");
        more(h, "p", count, shown, "resources");
        h.markup("</section>\n");
    }
    h.markup("</section>\n");
}

fn card(h: &mut Html, sweep: &Sweep, item: &Item) {
    h.markup("<li class=\"item\"><h4>");
    if item.name.is_empty() {
        h.markup("<span class=\"muted\">(no name)</span>");
    } else {
        h.text(&item.name, NAME_CHARS);
    }
    h.markup("</h4>\n<dl>\n<dt>outcome</dt><dd>").markup(outcome_label(item.outcome));
    h.markup("</dd>\n<dt>verdict</dt><dd>").markup(verdict_label(item.verdict)).markup("</dd>\n<dt>where</dt><dd>");
    place(h, sweep);
    h.markup("</dd>\n<dt>kind</dt><dd>").text(&item.kind, LABEL_CHARS);
    h.markup("</dd>\n<dt>status</dt><dd>").text(&item.status, STATUS_CHARS);
    h.markup("</dd>\n<dt>reason</dt><dd>").text(&item.reason, TEXT_CHARS).markup("</dd>\n");
    if let Some(failure) = &item.failure {
        h.markup("<dt>control plane said</dt><dd>").text(failure, FAILURE_CHARS).markup("</dd>\n");
    }
    if let Some(error) = &item.error {
        h.markup("<dt>delete error</dt><dd class=\"bad\">").text(error, TEXT_CHARS);
        class(h, item.error_class);
        h.markup("</dd>\n");
    }
    match &item.deletable_at {
        Some(at) => {
            h.markup("<dt>deletable from</dt><dd>").text(at, LABEL_CHARS).markup("</dd>\n");
        }
        None if item.verdict == Verdict::Waiting => {
            h.markup("<dt>deletable from</dt><dd class=\"muted\">not known (see the reason)</dd>\n");
        }
        None => {}
    }
    h.markup("<dt>id</dt><dd><code>").text(&item.id, ID_CHARS).markup("</code></dd>\n</dl></li>\n");
}

fn outcome_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Kept => "kept",
        Outcome::WouldDelete => "would delete",
        Outcome::Deleted => "deleted",
        Outcome::AlreadyGone => "already gone",
        Outcome::Skipped => "skipped: its control plane refused for its state; a later run retries",
        Outcome::Failed => "failed",
        Outcome::Unconfirmed => "unconfirmed",
    }
}

fn verdict_label(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Delete => "delete",
        Verdict::Healthy => "healthy",
        Verdict::InProgress => "in progress",
        Verdict::TooYoung => "too young",
        Verdict::Protected => "protected",
        Verdict::Excluded => "excluded",
        Verdict::Capped => "capped (the deletion cap): the next run",
        Verdict::Deferred => "deferred (the deadline): the next run",
        Verdict::Aborted => "aborted (the tripwire)",
        Verdict::Waiting => "waiting",
        Verdict::Held => "held (deleting it could take a healthy resource with it)",
    }
}

#[cfg(test)]
mod tests;
