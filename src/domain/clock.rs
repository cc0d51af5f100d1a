//! How far this machine's clock is from the clocks of the services it talks to. Marks are written with this
//! machine's clock and compared with it later: a clock hours slow would write marks hours old, and a later run on
//! an honest clock would find the grace already over. So each answer's `Date` header is compared with the local
//! time it arrived at, and a run whose clock is off by more than `JANITOR_MAX_CLOCK_SKEW` writes no mark and deletes
//! nothing under a grace.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// The latest difference seen per service, shared by every client of the process.
#[derive(Debug, Default)]
pub struct Clocks {
    latest: Mutex<HashMap<String, Sample>>,
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    /// The service's clock minus ours, in milliseconds.
    offset_ms: i64,
    /// When (our clock) the answer arrived.
    at: SystemTime,
}

/// A difference between this machine's clock and a service's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skew {
    pub service: String,
    /// The service's clock minus this machine's, in milliseconds: positive when this machine is behind.
    pub offset_ms: i64,
}

impl Skew {
    pub fn magnitude(&self) -> Duration {
        Duration::from_millis(self.offset_ms.unsigned_abs())
    }
}

impl std::fmt::Display for Skew {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `Date` has whole seconds, so a 3-hour skew measures a fraction of a second short: past a minute, say it to
        // the nearest minute.
        let ms = self.offset_ms.unsigned_abs();
        let unit = if ms >= 60_000 { 60_000 } else { 1_000 };
        let by = crate::domain::duration::format(Duration::from_millis(ms.saturating_add(unit / 2) / unit * unit));
        let side = if self.offset_ms > 0 { "behind" } else { "ahead of" };
        write!(f, "this machine's clock is {by} {side} {}'s (from the Date of its answers)", self.service)
    }
}

impl Clocks {
    /// Records an answer of `service` dated `server` (its `Date` header), sent at `sent` and received at `received`
    /// by our clock; the service's time is compared with the middle of the round trip.
    pub fn observe(&self, service: &str, server: SystemTime, sent: SystemTime, received: SystemTime) {
        let half = received.duration_since(sent).unwrap_or(Duration::ZERO) / 2;
        let middle = sent.checked_add(half).unwrap_or(received);
        let offset_ms = match server.duration_since(middle) {
            Ok(ahead) => i64::try_from(ahead.as_millis()).unwrap_or(i64::MAX),
            Err(behind) => i64::try_from(behind.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
        };
        let mut latest = self.latest.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        latest.insert(service.to_owned(), Sample { offset_ms, at: received });
    }

    /// The largest difference among the services' latest answers received since `since`.
    pub fn worst_since(&self, since: SystemTime) -> Option<Skew> {
        let latest = self.latest.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        latest
            .iter()
            .filter(|(_, sample)| sample.at >= since)
            .max_by_key(|(_, sample)| sample.offset_ms.unsigned_abs())
            .map(|(service, sample)| Skew { service: service.clone(), offset_ms: sample.offset_ms })
    }
}

/// `time` as RFC 3339 in UTC (`2026-12-05T16:43:01.5Z`): whole seconds, then the fraction with its trailing zeros
/// dropped, as the AWS SDKs print a timestamp. Before 1970 it is the epoch.
pub fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(SystemTime::UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since.as_secs();
    let (days, of_day) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    let mut out =
        format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", of_day / 3_600, of_day % 3_600 / 60, of_day % 60);
    let nanos = since.subsec_nanos();
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        out.push('.');
        out.push_str(fraction.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_as_rfc_3339_in_utc() {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(at(1_701_201_345) + Duration::from_millis(123)), "2023-11-28T19:55:45.123Z");
        assert_eq!(rfc3339(at(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(at(4_107_542_399)), "2100-02-28T23:59:59Z");
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn the_worst_recent_difference_is_reported_with_its_direction() {
        let clocks = Clocks::default();
        clocks.observe("dms", at(1_000 + 3 * 3_600), at(1_000), at(1_000));
        clocks.observe("rds", at(2_000), at(2_001), at(2_003));
        let worst = clocks.worst_since(at(1_000)).expect("seen");
        assert_eq!(worst, Skew { service: "dms".into(), offset_ms: 3 * 3_600_000 });
        assert_eq!(worst.to_string(), "this machine's clock is 3h behind dms's (from the Date of its answers)");
        assert_eq!(clocks.worst_since(at(1_500)).expect("rds").offset_ms, -2_000, "only answers since then count");
        assert!(clocks.worst_since(at(3_000)).is_none());
        clocks.observe("sts", at(100), at(5_000), at(5_000));
        assert!(clocks.worst_since(at(4_000)).expect("sts").to_string().contains("ahead of sts's"));
    }
}
