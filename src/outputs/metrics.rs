//! CloudWatch metrics in Embedded Metric Format: JSON lines the Lambda platform turns into metrics with no API
//! call. One line per provider (dimension `Provider`) and one aggregate without dimensions (which alone carries
//! `ArchiveFailed`, `NotifyFailed` and `RecheckFailed`); never a resource id.

use crate::domain::resource::{ErrorClass, Provider};
use crate::engine::report::{Counts, Report, Sweep};
use serde_json::{json, Map, Value};

const COUNTS: &[&str] = &[
    "Scanned",
    "Stale",
    "Deleted",
    "WouldDelete",
    "AlreadyGone",
    "Protected",
    "TooYoung",
    "Capped",
    "Deferred",
    "Failed",
    "Unconfirmed",
    "TimedOut",
];

fn values(counts: &Counts) -> [usize; 12] {
    [
        counts.scanned,
        counts.stale,
        counts.deleted,
        counts.would_delete,
        counts.already_gone,
        counts.protected,
        counts.too_young,
        counts.capped,
        counts.deferred,
        counts.failed,
        counts.unconfirmed,
        counts.timed_out,
    ]
}

/// Per-line flags beyond the counts.
struct Flags {
    tripped: bool,
    state_unavailable: bool,
    duration_ms: u64,
    dry_run: bool,
    /// The aggregate line's `ArchiveFailed` (1 when the report could not be archived); provider lines have none.
    archive_failed: Option<bool>,
    /// The aggregate line's `NotifyFailed` (1 when a notification of the run, or of one of its accounts, could not be
    /// published: the people it was for were not told); provider lines have none.
    notify_failed: Option<bool>,
    /// The aggregate line's `RecheckFailed`: the on-time re-check schedules the run could not create (their resources
    /// wait for the next run); provider lines have none.
    recheck_failed: Option<usize>,
}

/// `Failed` split by class: `FailedDenied`, `FailedThrottled`, ... (always all of them, so alarms see zeros).
fn failed_by_class(counts: &Counts) -> impl Iterator<Item = (String, usize)> + '_ {
    ErrorClass::ALL.into_iter().map(|class| {
        (format!("Failed{}", class.metric_suffix()), counts.failed_by_class.get(&class).copied().unwrap_or(0))
    })
}

/// One EMF line of `counts` under `dimension` (name and value), or without one (the aggregate).
fn line(namespace: &str, timestamp_ms: u64, dimension: Option<(&str, &str)>, counts: &Counts, flags: Flags) -> String {
    let mut metrics: Vec<Value> = COUNTS.iter().map(|name| json!({"Name": name, "Unit": "Count"})).collect();
    metrics.extend(failed_by_class(counts).map(|(name, _)| json!({"Name": name, "Unit": "Count"})));
    metrics.push(json!({"Name": "TripwireTripped", "Unit": "Count"}));
    metrics.push(json!({"Name": "StateUnavailable", "Unit": "Count"}));
    metrics.push(json!({"Name": "DurationMs", "Unit": "Milliseconds"}));
    if flags.archive_failed.is_some() {
        metrics.push(json!({"Name": "ArchiveFailed", "Unit": "Count"}));
    }
    if flags.notify_failed.is_some() {
        metrics.push(json!({"Name": "NotifyFailed", "Unit": "Count"}));
    }
    if flags.recheck_failed.is_some() {
        metrics.push(json!({"Name": "RecheckFailed", "Unit": "Count"}));
    }
    let dimensions: Vec<&str> = dimension.iter().map(|(name, _)| *name).collect();
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [dimensions], "Metrics": metrics}]}),
    );
    if let Some((name, value)) = dimension {
        root.insert(name.into(), json!(value));
    }
    for (name, value) in COUNTS.iter().zip(values(counts)) {
        root.insert((*name).into(), json!(value));
    }
    for (name, value) in failed_by_class(counts) {
        root.insert(name, json!(value));
    }
    root.insert("TripwireTripped".into(), json!(u8::from(flags.tripped)));
    root.insert("StateUnavailable".into(), json!(u8::from(flags.state_unavailable)));
    root.insert("DurationMs".into(), json!(flags.duration_ms));
    if let Some(failed) = flags.archive_failed {
        root.insert("ArchiveFailed".into(), json!(u8::from(failed)));
    }
    if let Some(failed) = flags.notify_failed {
        root.insert("NotifyFailed".into(), json!(u8::from(failed)));
    }
    if let Some(failed) = flags.recheck_failed {
        root.insert("RecheckFailed".into(), json!(failed));
    }
    root.insert("DryRun".into(), json!(flags.dry_run));
    Value::Object(root).to_string()
}

/// The EMF lines for a report: one per provider swept, then the aggregate.
pub fn emf_lines(report: &Report, namespace: &str, timestamp_ms: u64) -> Vec<String> {
    // In first-seen order, each once (an organization run lists each provider's sweeps once per account).
    let mut providers: Vec<Provider> = Vec::new();
    for sweep in &report.sweeps {
        if !providers.contains(&sweep.provider) {
            providers.push(sweep.provider);
        }
    }
    let mut lines: Vec<String> = providers
        .iter()
        .map(|provider| {
            let (counts, flags) = gathered(report.sweeps.iter().filter(|s| s.provider == *provider), report.dry_run);
            line(namespace, timestamp_ms, Some(("Provider", provider.as_str())), &counts, flags)
        })
        .collect();
    let flags = Flags {
        tripped: report.sweeps.iter().any(|s| s.tripwire_tripped),
        state_unavailable: report.sweeps.iter().any(|s| s.state_error.is_some()),
        duration_ms: report.duration_ms,
        dry_run: report.dry_run,
        archive_failed: Some(report.archive.as_ref().is_some_and(|a| a.error.is_some())),
        notify_failed: Some(report.notify_failed),
        recheck_failed: Some(report.rechecks.as_ref().map_or(0, |r| r.failed)),
    };
    lines.push(line(namespace, timestamp_ms, None, &report.totals, flags));
    lines
}

/// The counts and flags of some sweeps, added up.
fn gathered<'a>(sweeps: impl Iterator<Item = &'a Sweep>, dry_run: bool) -> (Counts, Flags) {
    let mut counts = Counts::default();
    let mut flags = Flags {
        tripped: false,
        state_unavailable: false,
        duration_ms: 0,
        dry_run,
        archive_failed: None,
        notify_failed: None,
        recheck_failed: None,
    };
    for sweep in sweeps {
        counts.add(&sweep.counts);
        flags.tripped |= sweep.tripwire_tripped;
        flags.state_unavailable |= sweep.state_error.is_some();
        flags.duration_ms = flags.duration_ms.max(sweep.duration_ms);
    }
    (counts, flags)
}

/// An organization run's line per account (dimension `Account`), only when `JANITOR_ACCOUNT_METRICS` asks: a
/// dimension per account multiplies the metrics an organization pays for.
pub fn account_lines(report: &Report, namespace: &str, timestamp_ms: u64) -> Vec<String> {
    report
        .accounts
        .iter()
        .map(|summary| {
            let of_account = report.sweeps.iter().filter(|s| s.account.as_deref() == Some(summary.account.as_str()));
            let (mut counts, flags) = gathered(of_account, report.dry_run);
            if summary.error.is_some() {
                counts.failed += 1;
            }
            line(namespace, timestamp_ms, Some(("Account", &summary.account)), &counts, flags)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::report::{AccountSummary, Totals};
    use serde_json::Value;

    /// An organization run: two accounts swept by DMS and RDS each, a third not reached.
    fn organization_report() -> Report {
        let sweep = |account: &str, provider: &'static str, deleted: usize| Sweep {
            account: Some(account.to_owned()),
            counts: Counts { scanned: deleted, deleted, ..Counts::default() },
            ..Sweep::new(Provider::on(provider, &crate::domain::resource::AWS), "us-east-1")
        };
        let summary = |account: &str, error: Option<&str>| AccountSummary {
            account: account.to_owned(),
            error: error.map(str::to_owned),
            totals: Totals::default(),
            archive: None,
        };
        Report {
            dry_run: false,
            trigger: "schedule".to_owned(),
            started_at: String::new(),
            duration_ms: 5,
            notes: Vec::new(),
            totals: Counts { scanned: 10, deleted: 10, failed: 1, ..Counts::default() },
            sweeps: vec![sweep("a", "dms", 1), sweep("a", "rds", 2), sweep("b", "dms", 3), sweep("b", "rds", 4)],
            archive: None,
            account: None,
            accounts: vec![summary("a", None), summary("b", None), summary("c", Some("could not assume ..."))],
            notify_failed: false,
            rechecks: None,
        }
    }

    fn parsed(lines: Vec<String>) -> Vec<Value> {
        lines.iter().map(|l| serde_json::from_str(l).expect("JSON")).collect()
    }

    #[test]
    fn a_provider_has_one_line_whatever_the_number_of_accounts() {
        let lines = parsed(emf_lines(&organization_report(), "NS", 0));
        let per_provider: Vec<(String, u64)> =
            lines.iter().filter_map(|l| Some((l["Provider"].as_str()?.to_owned(), l["Deleted"].as_u64()?))).collect();
        assert_eq!(per_provider, [("dms".to_owned(), 4), ("rds".to_owned(), 6)]);
        assert_eq!(lines.len(), 3, "two providers and the aggregate");
        assert!(lines.iter().all(|l| l.get("Account").is_none()), "no account dimension unless asked");
    }

    #[test]
    fn account_lines_carry_each_accounts_counts_and_count_an_unreached_one_as_failed() {
        let lines = parsed(account_lines(&organization_report(), "NS", 0));
        let per_account: Vec<(&str, u64, u64)> = lines
            .iter()
            .map(|l| {
                let n = |k: &str| l[k].as_u64().unwrap_or(u64::MAX);
                (l["Account"].as_str().unwrap_or_default(), n("Deleted"), n("Failed"))
            })
            .collect();
        assert_eq!(per_account, [("a", 3, 0), ("b", 7, 0), ("c", 0, 1)]);
        assert_eq!(lines[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([["Account"]]));
    }

    /// The names of the metrics a line declares, in order.
    fn declared(line: &Value) -> Vec<&str> {
        line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["Name"].as_str())
            .collect()
    }

    #[test]
    fn the_aggregate_line_says_whether_a_notification_failed_and_provider_lines_do_not() {
        let mut report = organization_report();
        let lines = parsed(emf_lines(&report, "NS", 0));
        let aggregate = lines.last().expect("the aggregate line");
        assert_eq!(aggregate["NotifyFailed"], 0, "emitted as 0 so an alarm sees data");
        assert!(declared(aggregate).contains(&"NotifyFailed"), "{aggregate}");
        for provider_line in &lines[..lines.len() - 1] {
            assert!(provider_line.get("NotifyFailed").is_none(), "{provider_line}");
            assert!(!declared(provider_line).contains(&"NotifyFailed"), "{provider_line}");
        }

        report.notify_failed = true;
        let lines = parsed(emf_lines(&report, "NS", 0));
        let aggregate = lines.last().expect("the aggregate line");
        assert_eq!((aggregate["NotifyFailed"].as_u64(), aggregate["ArchiveFailed"].as_u64()), (Some(1), Some(0)));
        assert_eq!(aggregate["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([[]]));
        let accounts = parsed(account_lines(&report, "NS", 0));
        assert!(accounts.iter().all(|l| l.get("NotifyFailed").is_none()), "per-account lines carry no flag");
    }

    #[test]
    fn the_aggregate_line_counts_the_re_checks_that_could_not_be_scheduled() {
        let mut report = organization_report();
        let aggregate = |report: &Report| parsed(emf_lines(report, "NS", 0)).pop().expect("the aggregate line");
        assert_eq!(aggregate(&report)["RecheckFailed"], 0, "emitted as 0 without re-checks, so an alarm sees data");
        assert!(declared(&aggregate(&report)).contains(&"RecheckFailed"));
        report.rechecks = Some(crate::engine::report::RecheckRecord { created: 1, failed: 2, ..Default::default() });
        assert_eq!(aggregate(&report)["RecheckFailed"], 2);
        let lines = parsed(emf_lines(&report, "NS", 0));
        assert!(lines[..lines.len() - 1].iter().all(|l| l.get("RecheckFailed").is_none()), "provider lines: none");
    }
}
