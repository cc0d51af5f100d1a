//! Fault injection: latency, random throttling and 5xx, and a server-side rate limit,
//! all deterministic for a given seed and call sequence.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// What to inflict on service calls. `Default` is no faults at all.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Faults {
    /// Delay before answering each service call.
    pub latency_ms: u64,
    /// Probability (0..=1) that a call is throttled.
    pub throttle_rate: f64,
    /// Probability (0..=1) that a call fails with 503.
    pub error_rate: f64,
    /// A token bucket per service, account and region (as AWS documents for RDS: "for each AWS account in each AWS
    /// Region"); calls over it are throttled.
    pub rate_limit: Option<RateLimit>,
    /// Seed of the random draws.
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    /// Sustained calls per second.
    pub per_second: f64,
    /// Calls allowed in a burst (at least 1 is used).
    pub burst: u32,
}

/// A fault chosen for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    Throttle,
    Unavailable,
    /// The caller's policy does not grant the action (the fleet's `deniedActions`).
    Denied,
}

/// The stateful side of [`Faults`]: the random generator and the token buckets.
#[derive(Debug)]
pub(crate) struct Injector {
    faults: Faults,
    rng: fastrand::Rng,
    /// One bucket per service, account and region, filled when first used.
    buckets: std::collections::HashMap<String, Bucket>,
}

#[derive(Debug)]
struct Bucket {
    limit: RateLimit,
    tokens: f64,
    refilled: Instant,
}

impl Injector {
    pub(crate) fn new(faults: Faults) -> Self {
        Injector { rng: fastrand::Rng::with_seed(faults.seed), faults, buckets: std::collections::HashMap::new() }
    }

    pub(crate) fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Decides the fate of one call to `lane` (a service, account and region, e.g. `rds 123456789012 us-east-1`)
    /// arriving at `now`; a call that gets through spends a token of that lane's bucket.
    pub(crate) fn draw(&mut self, lane: &str, now: Instant) -> Option<Fault> {
        let over_limit = match self.faults.rate_limit {
            Some(limit) => !self
                .buckets
                .entry(lane.to_owned())
                .or_insert_with(|| Bucket { limit, tokens: capacity(limit), refilled: now })
                .take(now),
            None => false,
        };
        if over_limit || self.rng.f64() < self.faults.throttle_rate {
            Some(Fault::Throttle)
        } else if self.rng.f64() < self.faults.error_rate {
            Some(Fault::Unavailable)
        } else {
            None
        }
    }
}

fn capacity(limit: RateLimit) -> f64 {
    f64::from(limit.burst.max(1))
}

impl Bucket {
    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.refilled = now;
        self.tokens = (self.tokens + elapsed * self.limit.per_second.max(0.0)).min(capacity(self.limit));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Waits `latency_ms` before a service call is answered. Tokio's timer rounds every sleep up to its millisecond
/// ticks, which made a 20 ms latency take about 22 ms; a thread sleep on the blocking pool is accurate to well
/// under a millisecond, and many calls in flight each wait on their own thread.
pub(crate) async fn delay(latency_ms: u64) {
    if latency_ms == 0 {
        return;
    }
    let latency = Duration::from_millis(latency_ms);
    if tokio::task::spawn_blocking(move || std::thread::sleep(latency)).await.is_err() {
        tokio::time::sleep(latency).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn no_faults_by_default() {
        let mut inj = Injector::new(Faults::default());
        let now = Instant::now();
        assert!((0..1000).all(|_| inj.draw("dms 123456789012 us-east-1", now).is_none()));
    }

    #[test]
    fn rates_are_roughly_honoured_and_seeded() {
        let faults = Faults { throttle_rate: 0.2, error_rate: 0.25, seed: 7, ..Faults::default() };
        let now = Instant::now();
        let run = |f: &Faults| {
            let mut inj = Injector::new(f.clone());
            (0..10_000).map(|_| inj.draw("dms 123456789012 us-east-1", now)).collect::<Vec<_>>()
        };
        let a = run(&faults);
        assert_eq!(a, run(&faults));
        let throttled = a.iter().filter(|f| **f == Some(Fault::Throttle)).count();
        let failed = a.iter().filter(|f| **f == Some(Fault::Unavailable)).count();
        assert!((1_700..2_300).contains(&throttled), "{throttled}");
        // 25% of the 80% not throttled.
        assert!((1_700..2_300).contains(&failed), "{failed}");
    }

    #[test]
    fn token_bucket_allows_burst_then_rate() {
        let mut inj =
            Injector::new(Faults { rate_limit: Some(RateLimit { per_second: 10.0, burst: 5 }), ..Faults::default() });
        let t0 = Instant::now();
        let ok = (0..8).filter(|_| inj.draw("dms 123456789012 us-east-1", t0).is_none()).count();
        assert_eq!(ok, 5);
        // 10/s refills one token per 100 ms.
        assert_eq!(inj.draw("dms 123456789012 us-east-1", t0 + Duration::from_millis(100)), None);
        assert_eq!(inj.draw("dms 123456789012 us-east-1", t0 + Duration::from_millis(100)), Some(Fault::Throttle));
        let later_ms = t0 + Duration::from_millis(100);
        assert_eq!(inj.draw("rds 123456789012 us-east-1", later_ms), None, "each service has its own bucket");
        assert_eq!(inj.draw("dms 100000000001 us-east-1", later_ms), None, "each account has its own bucket");
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..8).filter(|_| inj.draw("dms 123456789012 us-east-1", later).is_none()).count(), 5);
    }

    #[test]
    fn json_is_camel_case() {
        let f: Faults = serde_json::from_str(
            r#"{"latencyMs":5,"throttleRate":0.1,"errorRate":0.2,"rateLimit":{"perSecond":50.0,"burst":10},"seed":42}"#,
        )
        .unwrap();
        assert_eq!(f.latency_ms, 5);
        assert_eq!(f.rate_limit.map(|r| r.burst), Some(10));
        let empty: Faults = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Faults::default());
    }
}
