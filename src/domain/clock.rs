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

#[cfg(test)]
mod tests {
    use super::*;

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
