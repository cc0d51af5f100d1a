//! Calls to a control plane that outlast throttling without crawling.
//!
//! Why this and not the SDK's own retry modes: the standard mode backs off from about a second, so a sweep that met
//! 30% throttling took 17-19x its no-fault time; the adaptive mode cuts its sending rate on every throttled answer
//! and so collapses under throttling that does not depend on the rate. Two mechanisms answer the two cases:
//!
//! - **Quick retries.** Throttling, 5xx, timeouts and transport failures are retried up to `JANITOR_MAX_ATTEMPTS`
//!   times with exponential backoff and full jitter from a short base ([`RetryPolicy::base`], 10 ms): an isolated
//!   throttled answer met a busy moment, and the next attempt usually passes.
//! - **Pacing when throttling is sustained.** Each [`Lane`] (one service in one region: AWS and Alibaba Cloud limit
//!   request rates per account, region and API) counts the share of its attempts that were throttled, over windows
//!   of [`WINDOW_ATTEMPTS`] attempts. Above half, the lane is over a rate limit: it paces every attempt to 1.05x the
//!   rate that got through in that window. Paced, it judges every second: more than a tenth throttled, back to
//!   1.05x what got through; none, twice the pace; fewer than one in fifty, a tenth more. Throttling below half
//!   does not pace an unpaced lane, so random throttling costs retries, not rate.
//! - **Deletes in flight, not items in progress.** At most `JANITOR_CONCURRENCY` delete calls are in flight; an item
//!   waiting out its backoff holds no slot, so a few throttled items never idle the rest.
//!
//! Retries stay bounded by the attempts and, through the sweep, by the run's deadline: the sweep stops waiting at the
//! deadline and drops every call still pending.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// How long a window of a lane's attempts is before it judges its throttled share.
pub const WINDOW_ATTEMPTS: u32 = 100;
/// A paced lane also judges after this long, once it has [`PACED_WINDOW_MIN_ATTEMPTS`] attempts: a slow pace
/// must not take minutes to adjust.
const PACED_WINDOW: Duration = Duration::from_secs(1);
const PACED_WINDOW_MIN_ATTEMPTS: u32 = 5;
/// Above this throttled share an unpaced lane is over a rate limit; below it, throttling is taken as chance.
const OVER_LIMIT: f64 = 0.5;
/// A paced lane, known to be behind a limit, is above it when more than this share is throttled, and below it
/// (with room to speed up) when fewer than [`EASY`] are.
const CROWDED: f64 = 0.10;
const EASY: f64 = 0.02;
/// The slowest and the fastest pace, in calls per second; a pace faster than the callers go costs nothing.
const MIN_RATE: f64 = 1.0;
const MAX_RATE: f64 = 100_000.0;

/// How one attempt went, as far as retrying and pacing care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    Succeeded,
    /// The service asked us to slow down.
    Throttled,
    /// Worth another try: a 5xx answer, a timeout, no answer.
    Transient,
    /// Retrying would not change the answer.
    Final,
}

/// Attempts and backoff for one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// At least 1.
    pub max_attempts: u32,
    /// The first retry waits up to this long; each further retry doubles the bound, up to [`RetryPolicy::cap`].
    pub base: Duration,
    pub cap: Duration,
}

impl RetryPolicy {
    pub fn new(max_attempts: u32) -> RetryPolicy {
        RetryPolicy { max_attempts: max_attempts.max(1), base: Duration::from_millis(10), cap: Duration::from_secs(5) }
    }

    /// The wait before retry number `retry` (1 for the first): uniformly random up to `base * 2^(retry-1)`, capped.
    pub fn backoff(&self, retry: u32) -> Duration {
        let bound = self.base.saturating_mul(1u32 << retry.saturating_sub(1).min(20)).min(self.cap);
        let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

/// One service in one region: where throttling is counted and, when sustained, paced.
#[derive(Debug)]
pub struct Lane {
    name: String,
    state: Mutex<LaneState>,
}

#[derive(Debug)]
struct LaneState {
    /// Calls per second while paced; `None` sends as fast as the callers do.
    rate: Option<f64>,
    next_slot: Instant,
    window: Window,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    attempts: u32,
    throttled: u32,
    succeeded: u32,
}

impl Window {
    fn new(now: Instant) -> Window {
        Window { started: now, attempts: 0, throttled: 0, succeeded: 0 }
    }
}

impl Lane {
    pub fn new(name: impl Into<String>) -> Arc<Lane> {
        let now = Instant::now();
        Arc::new(Lane {
            name: name.into(),
            state: Mutex::new(LaneState { rate: None, next_slot: now, window: Window::new(now) }),
        })
    }

    /// The pace in calls per second, if the lane is paced.
    pub fn rate(&self) -> Option<f64> {
        self.state.lock().map(|s| s.rate).unwrap_or(None)
    }

    /// When the next attempt may start: now, unless the lane is paced.
    fn reserve(&self) -> Option<Instant> {
        let mut state = self.state.lock().ok()?;
        let rate = state.rate?;
        let interval = Duration::try_from_secs_f64(1.0 / rate).unwrap_or(Duration::from_secs(1));
        let slot = state.next_slot.max(Instant::now());
        state.next_slot = slot + interval;
        Some(slot)
    }

    fn record(&self, attempt: Attempt) {
        let Ok(mut state) = self.state.lock() else { return };
        let now = Instant::now();
        let paced = state.rate.is_some();
        let window = &mut state.window;
        window.attempts += 1;
        match attempt {
            Attempt::Succeeded => window.succeeded += 1,
            Attempt::Throttled => window.throttled += 1,
            Attempt::Transient | Attempt::Final => {}
        }
        let elapsed = now.saturating_duration_since(window.started);
        let full = window.attempts >= WINDOW_ATTEMPTS
            || (paced && elapsed >= PACED_WINDOW && window.attempts >= PACED_WINDOW_MIN_ATTEMPTS);
        if !full {
            return;
        }
        let seconds = elapsed.as_secs_f64().max(0.001);
        let share = f64::from(window.throttled) / f64::from(window.attempts);
        let got_through = f64::from(window.succeeded) / seconds;
        let before = state.rate;
        state.rate = next_rate(before, share, got_through);
        state.window = Window::new(now);
        if state.rate.map(f64::round) != before.map(f64::round) {
            tracing::debug!(lane = %self.name, throttled_share = share, rate = ?state.rate, "pace changed");
        }
    }
}

/// The pace after a window with `share` of its attempts throttled and `got_through` successful calls per second.
fn next_rate(rate: Option<f64>, share: f64, got_through: f64) -> Option<f64> {
    let what_got_through = (got_through * 1.05).max(MIN_RATE);
    match rate {
        None if share > OVER_LIMIT => Some(what_got_through),
        None => None,
        Some(rate) if share > CROWDED => Some(what_got_through.min(rate)),
        // Nothing throttled: the limit is above the pace, maybe well above (the pace was set while other clients of
        // the account used the same limit); doubling soon makes a pace that no longer holds anything back.
        Some(rate) if share == 0.0 => Some((rate * 2.0).min(MAX_RATE)),
        Some(rate) if share < EASY => Some(rate * 1.1),
        Some(rate) => Some(rate),
    }
}

tokio::task_local! {
    /// Set by [`noting_sent`]: raised when a write attempt of the work it wraps leaves for the control plane.
    static SENT: Arc<std::sync::atomic::AtomicBool>;
}

/// Runs `work`, raising `sent` once one of its write attempts has left (holding its slot), so that a run which
/// stops waiting can tell a delete that was sent from one that was still queued.
pub async fn noting_sent<F: Future>(sent: Arc<std::sync::atomic::AtomicBool>, work: F) -> F::Output {
    SENT.scope(sent, work).await
}

/// Notes that a write of the work wrapped by [`noting_sent`] leaves now (a no-op outside one).
pub fn mark_sent() {
    // Outside a `noting_sent` scope there is nothing to note.
    let _ = SENT.try_with(|sent| sent.store(true, std::sync::atomic::Ordering::Relaxed));
}

/// Whether a call changes anything: writes (deletes) count against the deletes in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// A call that failed after `attempts` attempts; `error` is the last answer.
#[derive(Debug)]
pub struct Failed<E> {
    pub error: E,
    pub attempts: u32,
}

/// Runs calls with the retry policy, on lanes, with deletes gated to the run's concurrency.
#[derive(Clone, Debug)]
pub struct Caller {
    policy: RetryPolicy,
    writes_in_flight: Arc<Semaphore>,
}

impl Caller {
    /// `concurrency`: delete calls in flight at once, across every lane (JANITOR_CONCURRENCY).
    pub fn new(policy: RetryPolicy, concurrency: usize) -> Caller {
        Caller { policy, writes_in_flight: Arc::new(Semaphore::new(concurrency.max(1))) }
    }

    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// Runs `op` until it succeeds, fails for good, or runs out of attempts: paced on `lane`, and for a write
    /// counted against the deletes in flight while an attempt is.
    pub async fn call<T, E, Fut>(
        &self,
        lane: &Lane,
        access: Access,
        classify: impl Fn(&E) -> Attempt,
        op: impl FnMut() -> Fut,
    ) -> Result<T, Failed<E>>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        let gate = match access {
            Access::Read => None,
            Access::Write => Some(&*self.writes_in_flight),
        };
        self.run(lane, gate, classify, op).await
    }

    async fn run<T, E, Fut>(
        &self,
        lane: &Lane,
        gate: Option<&Semaphore>,
        classify: impl Fn(&E) -> Attempt,
        mut op: impl FnMut() -> Fut,
    ) -> Result<T, Failed<E>>
    where
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempts = 0;
        loop {
            attempts += 1;
            // The slot is reserved once the gate lets the attempt through, so a pace never queues more attempts
            // than are allowed in flight.
            let permit = match gate {
                Some(gate) => gate.acquire().await.ok(),
                None => None,
            };
            if let Some(slot) = lane.reserve() {
                tokio::time::sleep_until(slot).await;
            }
            if gate.is_some() {
                mark_sent();
            }
            let result = op().await;
            drop(permit);
            let attempt = match &result {
                Ok(_) => Attempt::Succeeded,
                Err(error) => classify(error),
            };
            lane.record(attempt);
            match result {
                Ok(value) => return Ok(value),
                Err(_)
                    if matches!(attempt, Attempt::Throttled | Attempt::Transient)
                        && attempts < self.policy.max_attempts =>
                {
                    tracing::debug!(lane = %lane.name, attempts, ?attempt, "retrying");
                    tokio::time::sleep(self.policy.backoff(attempts)).await;
                }
                Err(error) => return Err(Failed { error, attempts }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn backoff_grows_from_a_short_base_to_the_cap() {
        let policy = RetryPolicy::new(8);
        for _ in 0..200 {
            assert!(policy.backoff(1) <= Duration::from_millis(10));
            assert!(policy.backoff(3) <= Duration::from_millis(40));
            assert!(policy.backoff(40) <= Duration::from_secs(5));
        }
        assert_eq!(RetryPolicy::new(0).max_attempts, 1);
    }

    #[test]
    fn the_pace_follows_the_throttled_share() {
        assert_eq!(next_rate(None, 0.3, 700.0), None, "random throttling below half does not pace");
        assert_eq!(next_rate(None, 0.9, 100.0), Some(105.0), "over a limit: 1.05x what got through");
        assert_eq!(next_rate(Some(110.0), 0.95, 40.0), Some(42.0));
        assert_eq!(next_rate(Some(200.0), 0.45, 100.0), Some(105.0), "paced and crowded: what got through");
        assert_eq!(next_rate(Some(100.0), 0.01, 99.0), Some(110.00000000000001), "easy: speed up");
        assert_eq!(next_rate(Some(4.0), 0.0, 4.0), Some(8.0), "nothing throttled: double");
        assert_eq!(next_rate(Some(90_000.0), 0.0, 10.0), Some(MAX_RATE), "never above the ceiling");
        assert_eq!(next_rate(Some(100.0), 0.05, 95.0), Some(100.0), "in between: hold");
        assert_eq!(next_rate(Some(1.0), 0.99, 0.0), Some(MIN_RATE), "never below the floor");
    }

    /// A fake service: a token bucket of `per_second` calls that throttles the rest, as AWS's limits do.
    struct Bucket {
        per_second: f64,
        tokens: f64,
        refilled: Instant,
    }

    impl Bucket {
        fn take(&mut self) -> bool {
            let now = Instant::now();
            let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
            self.refilled = now;
            self.tokens = (self.tokens + elapsed * self.per_second).min(10.0);
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                true
            } else {
                false
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_lane_over_a_rate_limit_paces_and_every_call_gets_through() {
        let caller = Caller::new(RetryPolicy::new(8), 8);
        let lane = Lane::new("fake us-east-1");
        let bucket = Mutex::new(Bucket { per_second: 50.0, tokens: 10.0, refilled: Instant::now() });
        let attempts = AtomicU32::new(0);
        let started = Instant::now();
        let calls = (0..500).map(|_| {
            caller.call(
                &lane,
                Access::Write,
                |_: &()| Attempt::Throttled,
                || async {
                    attempts.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    if bucket.lock().map(|mut b| b.take()).unwrap_or(false) {
                        Ok(())
                    } else {
                        Err(())
                    }
                },
            )
        });
        let results = futures::future::join_all(calls).await;
        let failed = results.iter().filter(|r| r.is_err()).count();
        assert_eq!(failed, 0, "every call ends in success within its attempts");
        assert!(lane.rate().is_some(), "the lane paces");
        let allowed = 490.0 / 50.0;
        let took = started.elapsed().as_secs_f64();
        assert!(took < allowed * 1.15, "{took:.1}s against the {allowed:.1}s the limit allows (virtual time)");
        let wasted = attempts.load(Ordering::Relaxed) - 500;
        assert!(wasted < 250, "throttled attempts stay a fraction of the calls: {wasted}");
    }

    #[tokio::test(start_paused = true)]
    async fn random_throttling_is_retried_quickly_and_never_paces() {
        let caller = Caller::new(RetryPolicy::new(12), 8);
        let lane = Lane::new("fake us-east-1");
        // Twelve attempts: with a third throttled, eight in a row would befall one of 2,000 calls one run in four.
        let draws = Mutex::new(fastrand::Rng::with_seed(7));
        let started = Instant::now();
        let calls = (0..2_000).map(|_| {
            caller.call(
                &lane,
                Access::Write,
                |_: &()| Attempt::Throttled,
                || async {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    // A third of the attempts are throttled, whatever the rate.
                    if draws.lock().map(|mut d| d.f64() < 0.33).unwrap_or(true) {
                        Err(())
                    } else {
                        Ok(())
                    }
                },
            )
        });
        let results = futures::future::join_all(calls).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(lane.rate(), None);
        let unthrottled = 2_000.0 / 8.0 * 0.005;
        let took = started.elapsed().as_secs_f64();
        assert!(took < 2.0 * unthrottled, "{took:.2}s against {unthrottled:.2}s without throttling (virtual time)");
    }

    #[tokio::test(start_paused = true)]
    async fn final_answers_are_not_retried_and_attempts_are_bounded() {
        let caller = Caller::new(RetryPolicy::new(3), 1);
        let lane = Lane::new("fake");
        let tries = AtomicU32::new(0);
        let final_answer = caller
            .call(
                &lane,
                Access::Read,
                |_: &()| Attempt::Final,
                || async {
                    tries.fetch_add(1, Ordering::Relaxed);
                    Err::<(), ()>(())
                },
            )
            .await;
        assert_eq!(final_answer.map_err(|f| f.attempts).unwrap_err(), 1);
        let transient =
            caller.call(&lane, Access::Read, |_: &()| Attempt::Transient, || async { Err::<(), ()>(()) }).await;
        assert_eq!(transient.map_err(|f| f.attempts).unwrap_err(), 3);
        assert_eq!(tries.load(Ordering::Relaxed), 1);
    }
}
