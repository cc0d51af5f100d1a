//! CloudWatch metrics in Embedded Metric Format: JSON lines the Lambda platform turns into metrics with no API
//! call. One line per provider (dimension `Provider`) and one aggregate without dimensions (which alone carries
//! `ArchiveFailed`); never a resource id.

use crate::report::{Counts, Report};
use crate::resource::{ErrorClass, Provider};
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
    root.insert("DryRun".into(), json!(flags.dry_run));
    Value::Object(root).to_string()
}

/// The EMF lines for a report: one per provider swept, then the aggregate.
pub fn emf_lines(report: &Report, namespace: &str, timestamp_ms: u64) -> Vec<String> {
    let mut providers: Vec<Provider> = report.sweeps.iter().map(|s| s.provider).collect();
    providers.dedup();
    let mut lines: Vec<String> = providers
        .iter()
        .map(|provider| {
            let sweeps = report.sweeps.iter().filter(|s| s.provider == *provider);
            let mut counts = Counts::default();
            let mut flags = Flags {
                tripped: false,
                state_unavailable: false,
                duration_ms: 0,
                dry_run: report.dry_run,
                archive_failed: None,
            };
            for sweep in sweeps {
                counts.add(&sweep.counts);
                flags.tripped |= sweep.tripwire_tripped;
                flags.state_unavailable |= sweep.state_error.is_some();
                flags.duration_ms = flags.duration_ms.max(sweep.duration_ms);
            }
            line(namespace, timestamp_ms, Some(("Provider", provider.as_str())), &counts, flags)
        })
        .collect();
    let flags = Flags {
        tripped: report.sweeps.iter().any(|s| s.tripwire_tripped),
        state_unavailable: report.sweeps.iter().any(|s| s.state_error.is_some()),
        duration_ms: report.duration_ms,
        dry_run: report.dry_run,
        archive_failed: Some(report.archive.as_ref().is_some_and(|a| a.error.is_some())),
    };
    lines.push(line(namespace, timestamp_ms, None, &report.totals, flags));
    lines
}

/// An organization run's line per account (dimension `Account`), only when `JANITOR_ACCOUNT_METRICS` asks: a
/// dimension per account multiplies the metrics an organization pays for.
pub fn account_lines(report: &Report, namespace: &str, timestamp_ms: u64) -> Vec<String> {
    report
        .accounts
        .iter()
        .map(|summary| {
            let mut counts = Counts::default();
            let mut flags = Flags {
                tripped: false,
                state_unavailable: false,
                duration_ms: 0,
                dry_run: report.dry_run,
                archive_failed: None,
            };
            for sweep in report.sweeps.iter().filter(|s| s.account.as_deref() == Some(summary.account.as_str())) {
                counts.add(&sweep.counts);
                flags.tripped |= sweep.tripwire_tripped;
                flags.state_unavailable |= sweep.state_error.is_some();
                flags.duration_ms = flags.duration_ms.max(sweep.duration_ms);
            }
            if summary.error.is_some() {
                counts.failed += 1;
            }
            line(namespace, timestamp_ms, Some(("Account", &summary.account)), &counts, flags)
        })
        .collect()
}
