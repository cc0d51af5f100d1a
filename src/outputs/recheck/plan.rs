//! Which re-check schedules a report calls for: one per minute and scope (an account's provider in a region) in
//! which the graces of the resources it left waiting end. Pure, so every rule is tested without a scheduler.
//!
//! The schedule's payload names its scope, never the resources: an event-scoped run marks one resource, and a second
//! event-scoped run that marks another resource of the same scope, with a grace ending in the same minute, asks for
//! the same schedule (same name, so the Scheduler answers `ConflictException`, which counts as success). Were the
//! payload to list the first run's resource, the second resource would never be re-checked on time; naming the scope,
//! the fired run sweeps the whole scope and judges both (and anything else due there) from scratch.

use crate::domain::clock::rfc3339;
use crate::domain::resource::Provider;
use crate::engine::report::Report;
use aws_smithy_types::date_time::{DateTime, Format};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long after a grace ends its re-check fires at the earliest, before rounding up to the whole minute. The
/// schedule is judged by another invocation's clock than the one that wrote the mark; this keeps a small difference
/// between them from firing a re-check that still finds the grace running (it would then only schedule another).
pub const MARGIN: Duration = Duration::from_secs(30);

/// A schedule's name is at most this long (the Scheduler API model's `Name`: 1 to 64 of `[0-9a-zA-Z-_.]`).
pub const NAME_LIMIT: usize = 64;

/// The longest description the API takes (the model's `Description`: at most 512 characters).
const DESCRIPTION_LIMIT: usize = 512;

/// Every name starts so: a reader of the schedule group knows whose they are.
const NAME_PREFIX: &str = "rj-";

/// One re-check to schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// A whole minute, UTC: when EventBridge Scheduler invokes the function (within that minute, never before).
    pub at: SystemTime,
    /// The member account of an organization run's sweep.
    pub account: Option<String>,
    pub provider: Provider,
    pub region: String,
    /// The report's resources whose graces end by `at`, less the margin.
    pub resources: usize,
}

/// What one re-check groups by, in the order they are created: its minute, then its scope (account, provider's name,
/// region).
type GroupKey = (SystemTime, Option<String>, &'static str, String);

/// The re-checks `report` calls for at `now`, earliest first (then by scope): every item with a known `deletableAt`
/// (a resource held back only by its grace or its age) that is still ahead, grouped by the minute its re-check fires
/// in and its sweep's scope. A `deletableAt` already past calls for none: the resource is judged by the next run.
pub fn plan(report: &Report, now: SystemTime) -> Vec<Planned> {
    let mut groups: BTreeMap<GroupKey, (Provider, usize)> = BTreeMap::new();
    for sweep in &report.sweeps {
        for item in &sweep.items {
            let Some(deletable) = item.deletable_at.as_deref().and_then(parse_time) else { continue };
            if deletable <= now {
                continue;
            }
            let Some(at) = fire_minute(deletable) else { continue };
            let key = (at, sweep.account.clone(), sweep.provider.as_str(), sweep.region.clone());
            let entry = groups.entry(key).or_insert((sweep.provider, 0));
            entry.1 = entry.1.saturating_add(1);
        }
    }
    groups
        .into_iter()
        .map(|((at, account, _, region), (provider, resources))| Planned { at, account, provider, region, resources })
        .collect()
}

/// An RFC 3339 time as the report writes `deletableAt`.
fn parse_time(text: &str) -> Option<SystemTime> {
    SystemTime::try_from(DateTime::from_str(text, Format::DateTime).ok()?).ok()
}

/// The minute a re-check of a grace ending at `deletable` fires in: `deletable` plus [`MARGIN`], rounded up to the
/// whole minute, since an `at()` expression says seconds but the Scheduler invokes with a minute's precision.
pub fn fire_minute(deletable: SystemTime) -> Option<SystemTime> {
    let since = deletable.checked_add(MARGIN)?.duration_since(UNIX_EPOCH).ok()?;
    let secs = since.as_secs();
    let whole =
        if secs % 60 == 0 && since.subsec_nanos() == 0 { secs } else { (secs / 60).checked_add(1)?.checked_mul(60)? };
    UNIX_EPOCH.checked_add(Duration::from_secs(whole))
}

impl Planned {
    /// `at(yyyy-mm-ddThh:mm:ss)`, the Scheduler's one-time expression, in UTC (the schedule says
    /// `ScheduleExpressionTimezone: UTC`).
    pub fn expression(&self) -> String {
        format!("at({})", rfc3339(self.at).trim_end_matches('Z'))
    }

    /// The schedule's name, the same for the same minute and scope in every run, so that a second run asking for it
    /// creates no duplicate: `rj-<yyyymmdd>T<hhmm>Z-<provider>-<region>-<12 hex digits>`. The hex digits are a
    /// SHA-256 of the whole scope (account, provider, region), so no two scopes share a name however their parts
    /// read; the region is left out if the name would otherwise pass [`NAME_LIMIT`] or the allowed characters.
    pub fn name(&self) -> String {
        let stamp = rfc3339(self.at);
        let digits = |range: std::ops::Range<usize>| -> String {
            stamp.get(range).unwrap_or_default().chars().filter(char::is_ascii_digit).collect()
        };
        let minute = format!("{}T{}Z", digits(0..10), digits(11..16));
        let scope =
            format!("{}\n{}\n{}", self.account.as_deref().unwrap_or_default(), self.provider.as_str(), self.region);
        let hash = hex::encode(Sha256::digest(scope.as_bytes()).get(..6).unwrap_or_default());
        let provider = self.provider.as_str();
        let with_region = format!("{NAME_PREFIX}{minute}-{provider}-{}-{hash}", self.region);
        if is_name(&with_region) {
            return with_region;
        }
        format!("{NAME_PREFIX}{minute}-{provider}-{hash}")
    }

    /// The schedule's `Input`: a manual request for this scope alone, with no `dryRun` (the configuration decides;
    /// a payload can only narrow a run and make it safer): `{"providers": [...], "regions": [...]}` (the cloud's own
    /// key: `dtsRegions` for Alibaba Cloud), and `"accounts"` in an organization run.
    pub fn input(&self) -> String {
        let mut request = Map::new();
        request.insert("providers".to_owned(), json!([self.provider.as_str()]));
        request.insert(self.provider.cloud().payload_key.to_owned(), json!([self.region]));
        if let Some(account) = &self.account {
            request.insert("accounts".to_owned(), json!([account]));
        }
        Value::Object(request).to_string()
    }

    /// What the schedule is for, as the Scheduler console shows it.
    pub fn description(&self) -> String {
        let account = self.account.as_ref().map(|a| format!(" of account {a}")).unwrap_or_default();
        let text = format!(
            "replication-janitor on-time re-check of {} in {}{account}: {} resource(s) whose grace ends by then",
            self.provider.as_str(),
            self.region,
            self.resources
        );
        text.chars().take(DESCRIPTION_LIMIT).collect()
    }
}

/// A name the Scheduler takes: 1 to [`NAME_LIMIT`] of `[0-9a-zA-Z-_.]`.
pub fn is_name(text: &str) -> bool {
    (1..=NAME_LIMIT).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::resource::{ALIBABA, AWS};
    use crate::engine::policy::Verdict;
    use crate::engine::report::{Counts, Item, Outcome, Sweep};

    const RDS: Provider = Provider::on("rds", &AWS);
    const DMS: Provider = Provider::on("dms", &AWS);
    const DTS: Provider = Provider::on("dts", &ALIBABA);

    /// 2026-01-05T14:00:00Z.
    fn t0() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_767_621_600)
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn item(id: &str, verdict: Verdict, deletable_at: Option<SystemTime>) -> Item {
        Item {
            kind: "rds-integration",
            id: id.to_owned(),
            name: id.to_owned(),
            status: "failed".to_owned(),
            verdict,
            reason: String::new(),
            outcome: Outcome::Kept,
            error: None,
            error_class: None,
            failure: None,
            deletable_at: deletable_at.map(rfc3339),
            definition: None,
        }
    }

    fn sweep(account: Option<&str>, provider: Provider, region: &str, items: Vec<Item>) -> Sweep {
        Sweep { account: account.map(str::to_owned), items, ..Sweep::new(provider, region) }
    }

    fn report(sweeps: Vec<Sweep>) -> Report {
        Report {
            dry_run: true,
            trigger: "test".to_owned(),
            started_at: String::new(),
            duration_ms: 0,
            notes: Vec::new(),
            totals: Counts::default(),
            sweeps,
            archive: None,
            account: None,
            accounts: Vec::new(),
            notify_failed: false,
            rechecks: None,
        }
    }

    /// `(at, account, provider, region, resources)` of each planned re-check.
    fn shown(plans: &[Planned]) -> Vec<(String, Option<&str>, &str, &str, usize)> {
        plans
            .iter()
            .map(|p| (rfc3339(p.at), p.account.as_deref(), p.provider.as_str(), p.region.as_str(), p.resources))
            .collect()
    }

    #[test]
    fn graces_ending_in_one_minute_of_one_scope_share_a_re_check_at_the_minute_after_the_margin() {
        let items = vec![
            item("a", Verdict::Waiting, Some(t0() + secs(5))),
            item("b", Verdict::Waiting, Some(t0() + secs(29))),
            item("c", Verdict::TooYoung, Some(t0() + secs(31))),
            item("d", Verdict::Waiting, Some(t0() + secs(30))),
        ];
        let plans = plan(&report(vec![sweep(None, RDS, "us-east-1", items)]), t0());
        assert_eq!(
            shown(&plans),
            [
                ("2026-01-05T14:01:00Z".to_owned(), None, "rds", "us-east-1", 3),
                ("2026-01-05T14:02:00Z".to_owned(), None, "rds", "us-east-1", 1),
            ],
            "a, b and d fire at 14:01 (14:00:35, 14:00:59 rounded up, and exactly 14:01:00 after the margin); c's \
             14:01:01 at 14:02"
        );
    }

    #[test]
    fn scopes_are_apart_and_the_earliest_comes_first() {
        let at = Some(t0() + secs(600));
        let sweeps = vec![
            sweep(Some("222222222222"), RDS, "us-east-1", vec![item("x", Verdict::Waiting, at)]),
            sweep(Some("111111111111"), RDS, "us-east-1", vec![item("x", Verdict::Waiting, at)]),
            sweep(None, DMS, "us-east-1", vec![item("y", Verdict::Waiting, at)]),
            sweep(None, RDS, "eu-west-1", vec![item("z", Verdict::Waiting, Some(t0() + secs(60)))]),
            sweep(None, DTS, "us-east-1", vec![item("j", Verdict::Waiting, at)]),
        ];
        let plans = plan(&report(sweeps), t0());
        let at = "2026-01-05T14:11:00Z".to_owned();
        assert_eq!(
            shown(&plans),
            [
                ("2026-01-05T14:02:00Z".to_owned(), None, "rds", "eu-west-1", 1),
                (at.clone(), None, "dms", "us-east-1", 1),
                (at.clone(), None, "dts", "us-east-1", 1),
                (at.clone(), Some("111111111111"), "rds", "us-east-1", 1),
                (at, Some("222222222222"), "rds", "us-east-1", 1),
            ]
        );
        let names: std::collections::BTreeSet<String> = plans.iter().map(Planned::name).collect();
        assert_eq!(names.len(), plans.len(), "no two scopes or minutes share a name: {names:?}");
    }

    #[test]
    fn what_is_past_due_or_of_unknown_time_is_left_to_the_next_run() {
        let items = vec![
            item("past", Verdict::Waiting, Some(t0() - secs(1))),
            item("now", Verdict::Waiting, Some(t0())),
            item("unknown", Verdict::Waiting, None),
            item("deleted", Verdict::Delete, None),
        ];
        let mut garbled = item("garbled", Verdict::Waiting, None);
        garbled.deletable_at = Some("tomorrow".to_owned());
        let sweeps = vec![sweep(None, RDS, "us-east-1", items), sweep(None, DMS, "us-east-1", vec![garbled])];
        assert_eq!(plan(&report(sweeps), t0()), []);
    }

    #[test]
    fn the_expression_is_the_fire_minute_in_utc_without_a_zone_suffix() {
        let planned =
            Planned { at: t0() + secs(60), account: None, provider: RDS, region: "us-east-1".into(), resources: 1 };
        assert_eq!(planned.expression(), "at(2026-01-05T14:01:00)");
        assert_eq!(fire_minute(t0() + secs(30)), Some(t0() + secs(60)), "exactly on the minute stays there");
        assert_eq!(fire_minute(t0() + Duration::from_millis(30_001)), Some(t0() + secs(120)), "a millisecond over");
        let last = UNIX_EPOCH + Duration::from_secs(u64::try_from(i64::MAX).unwrap_or(u64::MAX) - 10);
        assert_eq!(fire_minute(last), None, "past the last representable time: none, no overflow");
    }

    #[test]
    fn names_are_stable_readable_and_within_the_schedulers_rules() {
        let planned = |account: Option<&str>, provider, region: &str| Planned {
            at: t0() + secs(60),
            account: account.map(str::to_owned),
            provider,
            region: region.to_owned(),
            resources: 3,
        };
        let rds = planned(None, RDS, "us-east-1");
        let name = rds.name();
        assert!(name.starts_with("rj-20260105T1401Z-rds-us-east-1-"), "{name}");
        assert_eq!(name, planned(None, RDS, "us-east-1").name(), "the same minute and scope, the same name");
        assert_ne!(name, planned(Some("111111111111"), RDS, "us-east-1").name(), "the account is part of the scope");
        assert_ne!(name, Planned { at: t0() + secs(120), ..rds.clone() }.name());
        let long = planned(Some("111111111111"), Provider::on("redshift", &AWS), "ap-southeast-5-very-long-region");
        for name in [name, long.name()] {
            assert!(is_name(&name), "{name} is a valid schedule name");
        }
        assert!(long.name().starts_with("rj-20260105T1401Z-redshift-") && !long.name().contains("very-long"));
        assert!(!is_name(&"x".repeat(65)) && !is_name("a b") && !is_name(""));
    }

    #[test]
    fn the_input_names_the_scope_and_never_asks_to_delete() {
        let aws = Planned { at: t0(), account: None, provider: RDS, region: "us-east-1".into(), resources: 2 };
        assert_eq!(aws.input(), r#"{"providers":["rds"],"regions":["us-east-1"]}"#);
        let member = Planned { account: Some("111111111111".into()), ..aws.clone() };
        assert_eq!(member.input(), r#"{"accounts":["111111111111"],"providers":["rds"],"regions":["us-east-1"]}"#);
        let dts = Planned { provider: DTS, region: "cn-hangzhou".into(), ..aws };
        assert_eq!(dts.input(), r#"{"dtsRegions":["cn-hangzhou"],"providers":["dts"]}"#);
        assert!(!member.input().contains("dryRun"));
        assert!(member.description().contains("rds in us-east-1 of account 111111111111: 2 resource(s)"));
    }
}
