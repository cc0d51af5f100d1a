use super::*;
use crate::domain::resource::{ErrorClass, Provider};
use crate::engine::report::{AccountSummary, Busy, Item as ReportItem, Report, Sweep as ReportSweep, Totals};
use crate::providers::{dms, rds};

fn item(name: &str, verdict: Verdict, outcome: Outcome) -> ReportItem {
    ReportItem {
        kind: "rds-integration",
        id: format!("arn:aws:rds:us-east-1:123456789012:integration:{name}"),
        name: name.to_owned(),
        status: "failed".to_owned(),
        verdict,
        reason: "status failed is one of failed".to_owned(),
        outcome,
        error: None,
        error_class: None,
        failure: None,
        deletable_at: None,
        definition: None,
    }
}

fn sweep(provider: Provider, region: &str, items: Vec<ReportItem>) -> ReportSweep {
    let mut counts = Counts::default();
    for item in &items {
        counts.count(item);
    }
    ReportSweep { counts, items, ..ReportSweep::new(provider, region) }
}

fn report(dry_run: bool, sweeps: Vec<ReportSweep>) -> Report {
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

fn archived() -> ArchiveRecord {
    ArchiveRecord {
        bucket: "janitor-reports".to_owned(),
        key: "reports/2026/11/25/T031000Z-schedule-0000002a.json".to_owned(),
        ..ArchiveRecord::default()
    }
}

/// The page of `report` as the archive renders it: from the report's JSON.
fn page_of(report: &Report, archive: Option<&ArchiveRecord>) -> String {
    let json = serde_json::to_vec(report).expect("the report serializes");
    render(&json, archive).expect("a report renders")
}

/// The text between `start` and the next `end` after it.
fn between<'p>(page: &'p str, start: &str, end: &str) -> &'p str {
    let from = page.find(start).map(|i| i + start.len()).unwrap_or_else(|| panic!("{start:?} not in the page"));
    let to = page[from..].find(end).map(|i| from + i).unwrap_or(page.len());
    &page[from..to]
}

/// The number a `data-total` card shows.
fn total_shown(page: &str, key: &str) -> usize {
    between(page, &format!("data-total=\"{key}\"><b>"), "</b>").parse().expect("a number")
}

/// The `data-count` and `data-listed` of a group's section, if the page has it.
fn group_shown(page: &str, id: &str) -> Option<(usize, usize)> {
    let marker = format!("data-group=\"{id}\" data-count=\"");
    page.contains(&marker).then(|| {
        let count = between(page, &marker, "\"").parse().expect("a count");
        let listed = between(page, &format!("{marker}{count}\" data-listed=\""), "\"").parse().expect("a number");
        (count, listed)
    })
}

fn deleting_run() -> Report {
    let mut failed = item("stuck", Verdict::Delete, Outcome::Failed);
    failed.error = Some("InvalidIntegrationStateFault: the integration is busy".to_owned());
    failed.error_class = Some(ErrorClass::WrongState);
    failed.failure = Some("Source cluster was deleted".to_owned());
    let mut waiting = item("young", Verdict::Waiting, Outcome::Kept);
    waiting.deletable_at = Some("2026-11-25T04:10:00Z".to_owned());
    let items = vec![
        item("gone-1", Verdict::Delete, Outcome::Deleted),
        item("gone-2", Verdict::Delete, Outcome::AlreadyGone),
        failed,
        waiting,
        item("kept-by-tag", Verdict::Protected, Outcome::Kept),
        item("fine", Verdict::Healthy, Outcome::Kept),
    ];
    let mut dms_sweep = sweep(dms::PROVIDER, "eu-west-1", Vec::new());
    dms_sweep.error = Some("AccessDeniedException: not authorized to perform dms:DescribeConnections".to_owned());
    dms_sweep.error_class = Some(ErrorClass::Denied);
    dms_sweep.counts = Counts::of_scan_failure(Some(ErrorClass::Denied), false);
    report(false, vec![sweep(rds::PROVIDER, "us-east-1", items), dms_sweep])
}

#[test]
fn a_deleting_run_shows_its_totals_groups_failures_and_the_restore_command() {
    let run = deleting_run();
    let page = page_of(&run, Some(&archived()));

    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"), "{page}");
    assert!(page.contains("<span class=\"badge deleting\">deleting run</span>"));
    assert_eq!(total_shown(&page, "deleted"), 1);
    assert_eq!(total_shown(&page, "alreadyGone"), 1);
    assert_eq!(total_shown(&page, "failed"), 2, "the failed delete and the failed scan");
    assert_eq!(total_shown(&page, "failedByClass.denied"), 1);
    assert_eq!(group_shown(&page, "deleted"), Some((2, 2)));
    assert_eq!(group_shown(&page, "failed"), Some((1, 1)));
    assert_eq!(group_shown(&page, "waiting"), Some((1, 1)));
    assert_eq!(group_shown(&page, "protected"), Some((1, 1)));
    assert_eq!(group_shown(&page, "other"), Some((1, 1)));
    assert_eq!(group_shown(&page, "would-delete"), None, "no empty group");
    assert!(page.find("id=\"failed\"") < page.find("id=\"deleted\""), "what went wrong comes first in the page");

    let failed = between(&page, "id=\"failed\"", "</section>");
    assert!(failed.contains("<dt>control plane said</dt><dd>Source cluster was deleted</dd>"), "{failed}");
    assert!(
        failed.contains(
            "<dt>delete error</dt><dd class=\"bad\">InvalidIntegrationStateFault: the integration is busy (wrongState)</dd>"
        ),
        "{failed}"
    );
    let waiting = between(&page, "id=\"waiting\"", "</section>");
    assert!(waiting.contains("<dt>deletable from</dt><dd>2026-11-25T04:10:00Z</dd>"), "{waiting}");
    let scans = between(&page, "<section id=\"scans\">", "</section>");
    assert!(
        scans.contains(
            "<b>dms eu-west-1</b>: <span class=\"bad\">scan failed (denied): AccessDeniedException: not authorized"
        ),
        "{scans}"
    );
    assert_eq!(
        between(&page, "<pre id=\"restore-command\"><code>", "</code>"),
        "replication-janitor restore --report s3://janitor-reports/reports/2026/11/25/T031000Z-schedule-0000002a.json"
    );
    let providers = between(&page, "<section id=\"by-provider\">", "</section>");
    assert!(providers.contains("<tr><th scope=\"row\">rds</th><td data-count=\"scanned\">6</td>"), "{providers}");
    assert!(providers.contains("<tr><th scope=\"row\">dms</th><td data-count=\"scanned\">0</td>"), "{providers}");
}

#[test]
fn a_dry_run_has_no_restore_command_and_says_nothing_was_deleted() {
    let mut waiting = item("waits", Verdict::Waiting, Outcome::Kept);
    waiting.reason = "the first-seen store could not be read".to_owned();
    let run = report(
        true,
        vec![sweep(rds::PROVIDER, "us-east-1", vec![item("x", Verdict::Delete, Outcome::WouldDelete), waiting])],
    );
    let page = page_of(&run, Some(&archived()));
    assert!(page.contains("<dt>run</dt><dd>dry run: nothing was deleted</dd>"));
    assert!(!page.contains("restore"), "no undo for a run that deleted nothing");
    assert_eq!(group_shown(&page, "would-delete"), Some((1, 1)));
    let waiting = between(&page, "id=\"waiting\"", "</section>");
    assert!(waiting.contains("<dd class=\"muted\">not known (see the reason)</dd>"), "{waiting}");
}

#[test]
fn a_deleting_run_not_archived_says_where_the_restore_command_would_read() {
    let run = deleting_run();
    let page = page_of(&run, None);
    assert!(!page.contains("restore-command"));
    assert!(page.contains("This report does not say where it was archived."));
    let failed = ArchiveRecord { error: Some("s3://b/k could not be written: AccessDenied".to_owned()), ..archived() };
    let page = page_of(&run, Some(&failed));
    assert!(page.contains("<dd class=\"bad\">not archived: s3://b/k could not be written: AccessDenied</dd>"));
    assert!(!page.contains("restore-command"), "no command for an archive that is not there");
}

#[test]
fn the_restore_command_quotes_what_a_shell_would_interpret_and_refuses_hazards() {
    let odd = ArchiveRecord { key: "reports/it's $(rm -rf ~).json".to_owned(), ..archived() };
    assert_eq!(
        restore_command(&odd).as_deref(),
        Some("replication-janitor restore --report 's3://janitor-reports/reports/it'\\''s $(rm -rf ~).json'")
    );
    let hidden = ArchiveRecord { key: "reports/a\u{202E}nosj.txt".to_owned(), ..archived() };
    assert_eq!(restore_command(&hidden), None);
    let run = deleting_run();
    let page = page_of(&run, Some(&hidden));
    assert!(page.contains("no restore command is shown"), "{page}");
}

#[test]
fn the_totals_show_every_count_the_json_report_has() {
    let keys: Vec<String> = match serde_json::to_value(Counts::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        other => panic!("{other:?}"),
    };
    let mut shown: Vec<String> = COUNTS.iter().map(|(key, ..)| (*key).to_owned()).collect();
    shown.sort();
    let mut keys = keys;
    keys.sort();
    assert_eq!(shown, keys, "a count added to the report needs a label here");
    assert!(COLUMNS.iter().all(|c| COUNTS.iter().any(|(key, ..)| key == c)));

    // Every count read from its own field: distinct values, each shown under its name.
    let values: Vec<(String, usize)> = keys.iter().enumerate().map(|(n, k)| (k.clone(), n + 1)).collect();
    let counts: Counts = serde_json::from_value(serde_json::Value::Object(
        values.iter().map(|(k, n)| (k.clone(), serde_json::json!(n))).collect(),
    ))
    .expect("counts");
    let run = Report { totals: counts, ..report(true, Vec::new()) };
    let page = page_of(&run, None);
    for (key, n) in values {
        assert_eq!(total_shown(&page, &key), n, "{key}");
    }
}

/// Texts an owner could give a resource, each aimed at a way to break out of the page.
const HOSTILE: [&str; 8] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "'; background:url(https://evil.example/x)",
    "</style></title><h1>forged</h1>",
    "<!-- unterminated",
    "&lt;already-escaped&gt; &amp;",
    "report\u{202E}fdp.exe\u{2066}\u{200F}",
    "row\r\n\x1b[31mred\x00\u{2028}",
];

#[test]
fn hostile_texts_are_shown_as_text_everywhere_in_the_page() {
    let items = HOSTILE
        .iter()
        .enumerate()
        .map(|(n, text)| {
            let mut item = item(text, Verdict::Delete, Outcome::Failed);
            item.id = (*text).to_owned();
            item.status = (*text).to_owned();
            item.reason = (*text).to_owned();
            item.error = Some((*text).to_owned());
            item.failure = Some((*text).to_owned());
            item.deletable_at = Some((*text).to_owned());
            item.kind = ["dms-connection", "rds-integration"][n % 2];
            item
        })
        .collect();
    let mut hostile = sweep(rds::PROVIDER, HOSTILE[1], items);
    hostile.account = Some(HOSTILE[3].to_owned());
    hostile.error = Some(HOSTILE[0].to_owned());
    hostile.state_error = Some(HOSTILE[2].to_owned());
    hostile.busy = Some(Busy { holder: HOSTILE[4].to_owned(), until: Some(HOSTILE[5].to_owned()) });
    let mut run = report(false, vec![hostile]);
    run.trigger = HOSTILE[3].to_owned();
    run.started_at = HOSTILE[0].to_owned();
    run.notes = HOSTILE.iter().map(|t| (*t).to_owned()).collect();
    run.account = Some(HOSTILE[6].to_owned());
    run.accounts = vec![AccountSummary {
        account: HOSTILE[7].to_owned(),
        error: Some(HOSTILE[1].to_owned()),
        totals: Totals::default(),
        archive: None,
    }];
    let archive = ArchiveRecord { bucket: HOSTILE[1].to_owned(), key: HOSTILE[0].to_owned(), ..archived() };
    let page = page_of(&run, Some(&archive));

    for injected in ["<script", "<img", "<h1>forged", "<!--", "onerror=alert(1)>", "</style></title>"] {
        let outside_text = page.match_indices(injected).count();
        assert_eq!(outside_text, 0, "{injected:?} reached the page as markup");
    }
    assert!(
        !page.chars().any(|c| c != '\n' && text::is_hazard(c)),
        "a control or direction character reached the page"
    );
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains("&amp;lt;already-escaped&amp;gt; &amp;amp;"), "an entity is shown as typed");
    assert!(page.contains("report\\u{202e}fdp.exe\\u{2066}\\u{200f}"));
    assert!(page.contains("row\\u{d}\\u{a}\\u{1b}[31mred\\u{0}\\u{2028}"));
    // The page's own markup is intact: one title, one style, one body, and each hostile item is one card.
    for tag in ["<title>", "</title>", "<style>", "</style>", "<body>", "</body>", "</html>"] {
        assert_eq!(page.matches(tag).count(), 1, "{tag}");
    }
    assert_eq!(page.matches("<li class=\"item\">").count(), HOSTILE.len());
    assert!(page.contains("default-src 'none'"), "the page may load and run nothing");
}

/// Longer than any text's bound in the page (and than the report's 500-character failure texts), so a longer text
/// (the tests with 100,000-character names) shows the same.
const WORST_CHARS: usize = 1_500;

/// Texts of the kinds that cost the most in the page: escaped quotes (6 bytes each), 4-byte characters, and
/// direction characters shown as 8-character escapes.
fn worst_text(n: usize) -> String {
    match n % 3 {
        0 => "\"".repeat(WORST_CHARS),
        1 => "🦀".repeat(WORST_CHARS),
        _ => "\u{202E}".repeat(WORST_CHARS),
    }
}

#[test]
fn a_huge_fleet_of_huge_names_gives_a_bounded_page_that_says_what_it_leaves_out() {
    let outcomes = [
        (Verdict::Delete, Outcome::Failed),
        (Verdict::Delete, Outcome::Unconfirmed),
        (Verdict::Delete, Outcome::Deleted),
        (Verdict::Waiting, Outcome::Kept),
        (Verdict::Protected, Outcome::Kept),
        (Verdict::Healthy, Outcome::Kept),
    ];
    let items: Vec<ReportItem> = (0..1_200)
        .map(|n| {
            let (verdict, outcome) = outcomes[n % outcomes.len()];
            let mut item = item(&worst_text(n), verdict, outcome);
            item.id = worst_text(n + 1);
            item.status = worst_text(n + 2);
            item.reason = worst_text(n);
            item.error = Some(worst_text(n + 1));
            item.failure = Some(worst_text(n + 2));
            item.deletable_at = Some(worst_text(n));
            item
        })
        .collect();
    let sweeps: Vec<ReportSweep> = (0..600)
        .map(|n| {
            let mut s = sweep(dms::PROVIDER, &format!("{}{n}", worst_text(n)), Vec::new());
            s.account = Some(format!("{n}{}", worst_text(n + 1)));
            s.error = Some(worst_text(n + 2));
            s.state_error = Some(worst_text(n));
            s.busy = Some(Busy { holder: worst_text(n + 1), until: Some(worst_text(n + 2)) });
            s
        })
        .chain([sweep(rds::PROVIDER, "us-east-1", items)])
        .collect();
    let mut run = report(false, sweeps);
    run.notes = (0..600).map(worst_text).collect();
    run.trigger = worst_text(0);
    run.accounts = (0..600)
        .map(|n| AccountSummary {
            account: format!("a{n}{}", worst_text(n)),
            error: Some(worst_text(n + 1)),
            totals: Totals::default(),
            archive: None,
        })
        .collect();
    let page = page_of(&run, Some(&archived()));

    assert!(page.len() <= MAX_BYTES, "{} bytes", page.len());
    assert!(page.len() > MAX_BYTES / 4, "the fixture is as heavy as the bound is meant for: {} bytes", page.len());
    let mut listed = 0;
    for id in ["failed", "unconfirmed", "deleted", "waiting", "protected", "other"] {
        let (count, shown) = group_shown(&page, id).unwrap_or_else(|| panic!("{id} has a section"));
        assert_eq!(count, 200, "{id}: the count is every item");
        assert!(shown <= ITEMS_PER_GROUP, "{id}: {shown}");
        let section = between(&page, &format!("id=\"{id}\""), "</section>");
        assert_eq!(section.matches("<li class=\"item\">").count(), shown, "{id}");
        assert!(section.contains(&format!("and {} more resources: see the JSON report", count - shown)), "{id}");
        listed += shown;
    }
    assert!(listed > 0 && listed < 6 * ITEMS_PER_GROUP, "the byte budget stops the cards: {listed}");
    assert_eq!(group_shown(&page, "failed").map(|(_, shown)| shown), Some(ITEMS_PER_GROUP), "failures first");
    assert!(page.contains("and 550 more notes: see the JSON report"));
    assert!(page.contains("and 550 more scans: see the JSON report"));
    let accounts = between(&page, "<section id=\"by-account\">", "</section>");
    assert!(accounts.contains("and 1000 more rows: see the JSON report"), "600 listed and 600 swept accounts");
}

#[test]
fn an_organization_run_has_a_row_per_account_and_says_which_were_not_swept() {
    let mut a = sweep(rds::PROVIDER, "us-east-1", vec![item("x", Verdict::Delete, Outcome::Deleted)]);
    a.account = Some("111111111111".to_owned());
    let mut b = sweep(rds::PROVIDER, "us-east-1", vec![item("y", Verdict::Healthy, Outcome::Kept)]);
    b.account = Some("222222222222".to_owned());
    let mut run = report(false, vec![a, b]);
    run.accounts = ["111111111111", "222222222222", "333333333333"]
        .iter()
        .map(|account| AccountSummary {
            account: (*account).to_owned(),
            error: account.starts_with('3').then(|| "could not assume JanitorMember".to_owned()),
            totals: Totals::default(),
            archive: None,
        })
        .collect();
    let page = page_of(&run, None);
    let accounts = between(&page, "<section id=\"by-account\">", "</section>");
    let rows: Vec<&str> = accounts.lines().filter(|l| l.starts_with("<tr><th scope=\"row\">")).collect();
    assert_eq!(rows.len(), 3, "{accounts}");
    assert!(rows[0].starts_with("<tr><th scope=\"row\">111111111111</th><td data-count=\"scanned\">1</td>"));
    assert!(rows[0].contains("<td data-count=\"deleted\">1</td>"), "{}", rows[0]);
    assert!(rows[2].contains("<span class=\"bad\">not swept: could not assume JanitorMember</span>"), "{}", rows[2]);
    assert!(rows[2].contains("<td data-count=\"failed\">1</td>"), "{}", rows[2]);
    let regions = between(&page, "<section id=\"by-region\">", "</section>");
    assert!(regions.contains("<tr><th scope=\"row\">us-east-1</th><td data-count=\"scanned\">2</td>"), "{regions}");
}

#[test]
fn a_bounded_lambda_response_says_how_many_resources_it_does_not_list() {
    let items = (0..10).map(|n| item(&format!("i{n}"), Verdict::Healthy, Outcome::Kept)).collect();
    let mut run = report(true, vec![sweep(rds::PROVIDER, "us-east-1", items)]);
    run.sweeps[0].items.truncate(4);
    run.sweeps[0].items_omitted = 6;
    let page = page_of(&run, None);
    assert!(page.contains("<li>6 resources are counted but not listed in this report"), "{page}");
    assert_eq!(group_shown(&page, "other"), Some((4, 4)));
    assert_eq!(total_shown(&page, "scanned"), 10);
}

#[test]
fn what_is_not_a_report_is_refused_saying_why() {
    for (input, why) in [
        (&b"{}"[..], "missing field `dryRun`"),
        (b"[1, 2]", "invalid type"),
        (b"not json", "expected ident"),
        (b"{\"dryRun\": true, \"trigger\": \"cli\"", "EOF while parsing"),
    ] {
        let error = render(input, None).expect_err("not a report");
        let text = error.to_string();
        assert!(text.starts_with("not a replication-janitor report ("), "{text}");
        assert!(text.contains(why), "{text}");
        assert!(!text.contains('\n'), "one line: {text}");
    }
}

#[test]
fn a_report_written_by_this_build_reads_back_whole() {
    // Every optional field present, so a rename on either side fails here.
    let mut run = deleting_run();
    run.account = Some("111111111111".to_owned());
    run.notify_failed = true;
    run.notes.push("a note".to_owned());
    run.archive = Some(archived());
    run.sweeps[0].busy = Some(Busy { holder: "run-1".to_owned(), until: Some("2026-11-25T03:20:00Z".to_owned()) });
    run.sweeps[0].items_omitted = 3;
    run.sweeps[0].timed_out = true;
    let json = serde_json::to_vec(&run).expect("json");
    let read = Run::read(&json).expect("reads back");
    assert_eq!(read.totals, run.totals);
    assert_eq!(read.archive.as_ref(), run.archive.as_ref());
    assert_eq!(read.account.as_deref(), Some("111111111111"));
    assert!(read.notify_failed && read.sweeps[0].timed_out);
    assert_eq!(read.sweeps[0].items_omitted, 3);
    assert_eq!(read.sweeps[0].busy, run.sweeps[0].busy);
    assert_eq!(read.sweeps[0].provider, "rds");
    let (written, back) = (&run.sweeps[0].items[2], &read.sweeps[0].items[2]);
    assert_eq!((back.kind.as_ref(), back.name.as_ref()), (written.kind, written.name.as_str()));
    assert_eq!((back.verdict, back.outcome, back.error_class), (written.verdict, written.outcome, written.error_class));
    assert_eq!((&back.error, &back.failure), (&written.error, &written.failure));
    assert_eq!(read.sweeps[0].items[3].deletable_at, run.sweeps[0].items[3].deletable_at);
    assert_eq!(read.sweeps[1].error_class, Some(ErrorClass::Denied));
    // The archived report names no archive; the page takes the one given, else the report's own.
    let page = render(&json, None).expect("renders");
    assert!(page.contains("s3://janitor-reports/reports/2026/11/25/T031000Z-schedule-0000002a.json"));
}

#[test]
fn a_name_of_100000_characters_is_cut_and_wraps() {
    let run = report(
        true,
        vec![sweep(
            rds::PROVIDER,
            "us-east-1",
            vec![item(&"n".repeat(100_000), Verdict::Delete, Outcome::WouldDelete)],
        )],
    );
    let page = page_of(&run, None);
    let name = between(&page, "<li class=\"item\"><h4>", "</h4>");
    assert_eq!(name, format!("{}…", "n".repeat(NAME_CHARS - 1)));
    assert!(CSS.contains("overflow-wrap:anywhere"), "a long word wraps instead of widening the page");
    assert!(page.len() < 20_000, "{} bytes", page.len());
}
