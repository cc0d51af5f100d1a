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
//! - **Windows that measure the limit, not the lane's history.** An unpaced lane's window opens at its first
//!   throttled attempt: the successes before it spent the burst a token bucket saved up (at the start, or during a
//!   pause), which says nothing of its rate. A window ends at a pause (no attempt sent for `IDLE`, 250 ms, or four
//!   intervals of the pace): time in which nothing was asked says nothing either. Counting both, a lane that waited
//!   3 s between its scan and its deletes paced at a fraction of its limit (1.3x the time the limit allows, in the
//!   tests' simulation). The first pace counts one success more than its window saw, erring fast: a pace too fast
//!   costs throttled attempts for a window, one too slow costs time.
//! - **Deletes in flight, not items in progress.** At most `JANITOR_CONCURRENCY` delete calls are in flight; an item
//!   waiting out its backoff holds no slot, so a few throttled items never idle the rest. Nor does an item waiting
//!   for its lane's pace: a paced lane lets one attempt at a time wait for its next slot, and that attempt asks for
//!   a delete slot only when its time has come. (Holding the delete slots while waiting, a lane paced at 5 calls/s
//!   made one next to it, behind a limit of 100/s, take twice the time its limit allows.)
//!
//! Not answered: throttling that does not follow the rate on a lane that is also over a limit. Paced, the lane
//! slows to what got through whenever more than a tenth is throttled, so 30% random throttling on top of a limit
//! slows it a quarter per second, down to one call a second.
//!
//! Retries stay bounded by the attempts and, through the sweep, by the run's deadline: the sweep stops waiting at the
//! deadline and drops every call still pending.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

/// How long a window of a lane's attempts is before it judges its throttled share.
pub const WINDOW_ATTEMPTS: u32 = 100;
/// A paced lane also judges after this long, once it has [`PACED_WINDOW_MIN_ATTEMPTS`] attempts: a slow pace
/// must not take minutes to adjust.
const PACED_WINDOW: Duration = Duration::from_secs(1);
const PACED_WINDOW_MIN_ATTEMPTS: u32 = 5;
/// A lane that sent nothing for this long (or, paced, for four of its intervals if longer) was idle: its window ends
/// there, since time in which nothing was asked says nothing of the rate that gets through.
const IDLE: Duration = Duration::from_millis(250);
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
    /// Held by the one attempt of a paced lane that waits for the lane's next slot (and then for a delete slot).
    turn: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct LaneState {
    /// Calls per second while paced; `None` sends as fast as the callers do.
    rate: Option<f64>,
    /// While paced, the earliest the next attempt may leave.
    next_slot: Instant,
    /// The attempts being judged; `None` until a paced lane's next attempt, or an unpaced lane's next throttled one.
    window: Option<Window>,
}

#[derive(Debug)]
struct Window {
    /// When its first attempt was answered, and its latest.
    started: Instant,
    last: Instant,
    attempts: u32,
    throttled: u32,
    succeeded: u32,
}

impl Window {
    fn new(now: Instant) -> Window {
        Window { started: now, last: now, attempts: 0, throttled: 0, succeeded: 0 }
    }
}

impl Lane {
    pub fn new(name: impl Into<String>) -> Arc<Lane> {
        Arc::new(Lane {
            name: name.into(),
            state: Mutex::new(LaneState { rate: None, next_slot: Instant::now(), window: None }),
            turn: tokio::sync::Mutex::new(()),
        })
    }

    /// The pace in calls per second, if the lane is paced.
    pub fn rate(&self) -> Option<f64> {
        self.state.lock().map(|s| s.rate).unwrap_or(None)
    }

    /// Waits until an attempt may leave on this lane, then for a permit of `gate` (if any), which it returns. A paced
    /// lane lets one attempt at a time wait for its next slot, and that attempt asks for the permit only when its
    /// slot has come: a slow lane never sits on the permits the other lanes' calls need.
    async fn admit<'g>(&self, gate: Option<&'g Semaphore>) -> Option<SemaphorePermit<'g>> {
        if self.rate().is_none() {
            let permit = permit(gate).await;
            // Waiting for the permit, the lane may have become paced: then the attempt waits for its turn too.
            if self.rate().is_none() {
                return permit;
            }
        }
        let _turn = self.turn.lock().await;
        let slot = self.state.lock().map(|s| s.next_slot).ok();
        if let Some(slot) = slot {
            tokio::time::sleep_until(slot).await;
        }
        let permit = permit(gate).await;
        if let Ok(mut state) = self.state.lock() {
            if let Some(rate) = state.rate {
                // On schedule, though an attempt that left late (the timer's granularity, a wait for the permit)
                // makes up at most one interval: the next may leave at once, never a burst.
                let interval = interval(rate);
                let now = Instant::now();
                state.next_slot = state.next_slot.max(now.checked_sub(interval).unwrap_or(now)) + interval;
            }
        }
        permit
    }

    /// Counts an attempt that left at `sent` and has just been answered, and judges the window once it is full.
    fn record(&self, attempt: Attempt, sent: Instant) {
        let Ok(mut state) = self.state.lock() else { return };
        let now = Instant::now();
        let paced = state.rate.is_some();
        let idle = state.rate.map_or(IDLE, |rate| IDLE.max(interval(rate) * 4));
        if state.window.as_ref().is_some_and(|w| sent.saturating_duration_since(w.last) > idle) {
            state.window = None;
        }
        // Unpaced, the window opens at the first throttled attempt: the successes before it spent a burst the limit
        // had saved up (after the start, or a pause), and say nothing about the rate it allows.
        if state.window.is_none() && (paced || attempt == Attempt::Throttled) {
            state.window = Some(Window::new(now));
        }
        let Some(window) = state.window.as_mut() else { return };
        window.attempts += 1;
        window.last = now;
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
        // Unpaced, the window is short and its successes few: counting one more errs on the fast side, where a
        // wrong pace costs throttled attempts for a window, not time.
        let succeeded = if paced { window.succeeded } else { window.succeeded + 1 };
        let got_through = f64::from(succeeded) / seconds;
        let before = state.rate;
        state.rate = next_rate(before, share, got_through);
        state.window = None;
        if state.rate.map(f64::round) != before.map(f64::round) {
            tracing::debug!(lane = %self.name, throttled_share = share, rate = ?state.rate, "pace changed");
        }
    }
}

/// The time between two attempts at `rate` calls per second.
fn interval(rate: f64) -> Duration {
    Duration::try_from_secs_f64(1.0 / rate).unwrap_or(Duration::from_secs(1))
}

/// A permit of `gate`, if there is a gate.
async fn permit(gate: Option<&Semaphore>) -> Option<SemaphorePermit<'_>> {
    match gate {
        Some(gate) => gate.acquire().await.ok(),
        None => None,
    }
}

/// The pace after a window with `share` of its attempts throttled and `got_through` successful calls per second.
fn next_rate(rate: Option<f64>, share: f64, got_through: f64) -> Option<f64> {
    let what_got_through = (got_through * 1.05).clamp(MIN_RATE, MAX_RATE);
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
            let permit = lane.admit(gate).await;
            let sent = Instant::now();
            if gate.is_some() {
                mark_sent();
            }
            let result = op().await;
            drop(permit);
            let attempt = match &result {
                Ok(_) => Attempt::Succeeded,
                Err(error) => classify(error),
            };
            lane.record(attempt, sent);
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

    /// A fake service: a token bucket of `per_second` calls with a burst of `burst`, throttling the rest, as AWS's
    /// limits do.
    struct Bucket {
        per_second: f64,
        burst: f64,
        tokens: f64,
        refilled: Instant,
    }

    impl Bucket {
        fn new(per_second: f64, burst: f64) -> Mutex<Bucket> {
            Mutex::new(Bucket { per_second, burst, tokens: burst, refilled: Instant::now() })
        }

        fn take(&mut self) -> bool {
            let now = Instant::now();
            let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
            self.refilled = now;
            self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
            if self.tokens >= 1.0 {
                self.tokens -= 1.0;
                true
            } else {
                false
            }
        }
    }

    /// One call on `lane` to the service behind `bucket`, 5 ms an attempt, each attempt counted in `attempts`.
    async fn call_behind(
        caller: &Caller,
        lane: &Lane,
        access: Access,
        bucket: &Mutex<Bucket>,
        attempts: &AtomicU32,
    ) -> Result<(), Failed<()>> {
        let attempt = || async {
            attempts.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(5)).await;
            if bucket.lock().map(|mut b| b.take()).unwrap_or(false) {
                Ok(())
            } else {
                Err(())
            }
        };
        caller.call(lane, access, |_: &()| Attempt::Throttled, attempt).await
    }

    #[tokio::test(start_paused = true)]
    async fn a_lane_over_a_rate_limit_paces_and_every_call_gets_through() {
        let caller = Caller::new(RetryPolicy::new(8), 8);
        let lane = Lane::new("fake us-east-1");
        let bucket = Bucket::new(50.0, 10.0);
        let attempts = AtomicU32::new(0);
        let started = Instant::now();
        let calls = (0..500).map(|_| call_behind(&caller, &lane, Access::Write, &bucket, &attempts));
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
    async fn a_lane_idle_between_its_scan_and_its_deletes_paces_from_the_limit_not_the_pause() {
        let caller = Caller::new(RetryPolicy::new(8), 8);
        let lane = Lane::new("fake us-east-1");
        let bucket = Bucket::new(100.0, 10.0);
        let attempts = AtomicU32::new(0);
        // A scan of 30 pages, fast enough to meet the limit; then 3 s while other regions finish scanning.
        for _ in 0..30 {
            assert!(call_behind(&caller, &lane, Access::Read, &bucket, &attempts).await.is_ok());
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        let deleting = Instant::now();
        let deletes = (0..1_000).map(|_| call_behind(&caller, &lane, Access::Write, &bucket, &attempts));
        let results = futures::future::join_all(deletes).await;
        assert!(results.iter().all(Result::is_ok), "every delete ends in success within its attempts");
        // The burst saved up in the pause, then the limit's rate.
        let allowed = (1_000.0 - 10.0) / 100.0;
        let took = deleting.elapsed().as_secs_f64();
        assert!(took < allowed * 1.15, "{took:.1}s against the {allowed:.1}s the limit allows (virtual time)");
    }

    #[tokio::test(start_paused = true)]
    async fn a_slowly_paced_lane_never_holds_the_delete_slots_another_lane_needs() {
        let caller = Caller::new(RetryPolicy::new(8), 8);
        let (slow, fast) = (Lane::new("slow us-east-1"), Lane::new("fast us-east-1"));
        let (slow_bucket, fast_bucket) = (Bucket::new(5.0, 5.0), Bucket::new(100.0, 50.0));
        let attempts = AtomicU32::new(0);
        let started = Instant::now();
        let slow_deletes = (0..50).map(|_| call_behind(&caller, &slow, Access::Write, &slow_bucket, &attempts));
        let fast_deletes = (0..1_000).map(|_| call_behind(&caller, &fast, Access::Write, &fast_bucket, &attempts));
        let fast_deletes = async {
            let results = futures::future::join_all(fast_deletes).await;
            (results, started.elapsed().as_secs_f64())
        };
        let (slow_results, (fast_results, fast_took)) =
            tokio::join!(futures::future::join_all(slow_deletes), fast_deletes);
        assert!(slow_results.iter().chain(&fast_results).all(Result::is_ok), "every delete gets through");
        assert!(slow.rate().is_some_and(|rate| rate < 10.0), "the slow lane paces: {:?}", slow.rate());
        let allowed = (1_000.0 - 50.0) / 100.0;
        assert!(
            fast_took < allowed * 1.15,
            "the fast lane: {fast_took:.1}s against the {allowed:.1}s its limit allows (virtual time)"
        );
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
