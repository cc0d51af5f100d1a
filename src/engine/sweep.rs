//! Orchestration: scan every provider and region concurrently, judge, apply the tripwire and the cap to the whole
//! plan, then delete with bounded concurrency. The whole run is bounded by its deadline: it stops waiting at the
//! deadline minus `JANITOR_DEADLINE_MARGIN`, reports what had not finished, and leaves the margin for the report
//! and the metrics.

use crate::domain::clock::Clocks;
use crate::domain::resource::{Cloud, Condition, ErrorClass, Mark, Provider, Resource};
use crate::engine::calls::noting_sent;
use crate::engine::plane::{ControlPlane, DeleteOutcome};
use crate::engine::policy::{apply_limits, judged, Judgement, Limits, Policy, Verdict};
use crate::engine::report::{Counts, Item, Outcome, Report, Sweep};
use crate::engine::request::SweepRequest;
use crate::state::{scope, FirstSeen, Lease, Sighting};
use futures::stream::{self, StreamExt};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;
use tracing::Instrument;

/// How many deletes of one group are in progress (in flight or waiting out a backoff) per allowed delete call in
/// flight: enough that a few throttled items never idle the calls.
const ITEMS_PER_CALL: usize = 4;

/// The sweep engine, built once per process.
pub struct Sweeper {
    planes: Vec<Arc<dyn ControlPlane>>,
    policy: Policy,
    limits: Limits,
    concurrency: usize,
    deadline_margin: Duration,
    first_seen: FirstSeen,
    /// The member account this sweeper's planes reach, in an organization run.
    account: Option<String>,
    /// The deletions left to the whole run across its accounts.
    budget: Option<Arc<RunBudget>>,
    /// The services' clocks as their answers date them, and how far ours may be from them.
    clocks: Arc<Clocks>,
    max_clock_skew: Duration,
}

/// How long a run without a deadline (a CLI run without JANITOR_TIME_LIMIT) holds a lease that lapses on its own
/// (DynamoDB's): a killed run frees its scopes after this long.
const LEASE_WITHOUT_DEADLINE: Duration = Duration::from_secs(3_600);

/// How long an event-scoped sweep waits for a busy scope, within its deadline, before it reports the scope busy.
const EVENT_LEASE_WAIT: Duration = Duration::from_secs(10);
const EVENT_LEASE_RETRY: Duration = Duration::from_millis(250);

/// The leases of one run on the scopes it sweeps.
enum Leased {
    /// No first-seen store: nothing to lease on, and nothing can tell overlapping runs apart.
    NoStore,
    /// The scopes this run holds, and those other runs hold (not swept).
    Taken { held: Vec<String>, busy: Vec<(String, Lease)> },
    /// The store could not be asked: the run judges, but deletes nothing.
    Failed(String),
}

impl Leased {
    fn busy(&self, scope: &str) -> Option<&Lease> {
        match self {
            Leased::Taken { busy, .. } => busy.iter().find(|(s, _)| s == scope).map(|(_, lease)| lease),
            _ => None,
        }
    }
}

/// The deletions a run may still make across its accounts (`JANITOR_MAX_DELETES_PER_RUN`), shared by the accounts'
/// sweeps: each takes one per delete it plans, in its own plan's order, as its plan is made.
#[derive(Debug)]
pub struct RunBudget {
    left: AtomicUsize,
    limit: usize,
}

impl RunBudget {
    pub fn new(limit: usize) -> RunBudget {
        RunBudget { left: AtomicUsize::new(limit), limit }
    }

    /// Takes one deletion, if any is left.
    fn take(&self) -> bool {
        self.left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1)).is_ok()
    }
}

struct Entry {
    group: usize,
    resource: Resource,
    judgement: Judgement,
    outcome: Outcome,
    error: Option<String>,
    error_class: Option<ErrorClass>,
}

struct Group {
    provider: Provider,
    region: String,
    error: Option<String>,
    error_class: Option<ErrorClass>,
    state_error: Option<String>,
    timed_out: bool,
    finished: Duration,
    /// Another run holds this scope: it was not swept.
    busy: Option<Lease>,
}

/// One provider's scan of one region, with the first-seen marks of its stale resources looked up.
struct Scanned {
    resources: Vec<Resource>,
    /// Why the first-seen store could not be used, if it could not: the affected resources wait.
    state_error: Option<String>,
}

impl Sweeper {
    /// The sweep over `planes`; marks of first sightings come from `first_seen` (pass [`FirstSeen::NotNeeded`] when
    /// every grace in `policy` is zero).
    pub fn new(
        planes: Vec<Arc<dyn ControlPlane>>,
        policy: Policy,
        limits: Limits,
        concurrency: usize,
        deadline_margin: Duration,
        first_seen: FirstSeen,
    ) -> Sweeper {
        Sweeper {
            planes,
            policy,
            limits,
            concurrency: concurrency.max(1),
            deadline_margin,
            first_seen,
            account: None,
            budget: None,
            clocks: Arc::default(),
            max_clock_skew: Duration::MAX,
        }
    }

    /// Compares this machine's clock with `clocks` before it writes a mark: off by more than `max_skew`, it writes
    /// none and deletes nothing under a grace.
    pub fn watching_clocks(mut self, clocks: Arc<Clocks>, max_skew: Duration) -> Sweeper {
        self.clocks = clocks;
        self.max_clock_skew = max_skew;
        self
    }

    /// This sweeper as one member account's in an organization run: its marks and report are the account's, and
    /// its deletes also count against the run's `budget`.
    pub fn for_account(mut self, account: &str, budget: Arc<RunBudget>) -> Sweeper {
        self.account = Some(account.to_owned());
        self.budget = Some(budget);
        self
    }

    /// The scope of the first-seen marks of `provider` in `region`: the account's own in an organization run.
    fn mark_scope(&self, provider: Provider, region: &str) -> String {
        match &self.account {
            Some(account) => format!("{account}/{}", scope(provider, region)),
            None => scope(provider, region),
        }
    }

    /// Every region some plane of `cloud` can sweep, in order.
    pub fn regions(&self, cloud: &Cloud) -> Vec<String> {
        let mut regions: Vec<String> = Vec::new();
        for region in self.planes.iter().filter(|p| p.provider().cloud() == cloud).flat_map(|p| p.regions()) {
            if !regions.contains(&region) {
                regions.push(region);
            }
        }
        regions
    }

    /// When the run stops waiting: the deadline less the margin kept for the report and the metrics.
    fn cutoff(&self, deadline: Option<SystemTime>, start: Instant) -> Option<Instant> {
        let left = deadline?.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
        Some(start + left.saturating_sub(self.deadline_margin))
    }

    fn plane(&self, provider: Provider) -> Option<&Arc<dyn ControlPlane>> {
        self.planes.iter().find(|plane| plane.provider() == provider)
    }

    pub async fn run(&self, request: &SweepRequest) -> Report {
        let start = Instant::now();
        let now = SystemTime::now();
        let cutoff = self.cutoff(request.deadline, start);
        let targets: Vec<(&Arc<dyn ControlPlane>, String)> = request
            .providers
            .iter()
            .filter_map(|p| self.plane(*p))
            .flat_map(|plane| plane.regions().into_iter().map(move |region| (plane, region)))
            .filter(|(plane, region)| {
                let wanted = request.regions.get(plane.provider().cloud().name);
                wanted.is_none_or(|wanted| wanted.contains(region))
            })
            .collect();
        let lease = Lease::for_this_run(request.deadline.unwrap_or_else(|| now + LEASE_WITHOUT_DEADLINE));
        // Each (provider, region) is one scope: a plane lists each of its regions once.
        let scopes: Vec<String> = targets.iter().map(|(p, r)| self.mark_scope(p.provider(), r)).collect();
        let leased = self.lease(&scopes, &lease, request.target.is_some(), cutoff).await;
        let leased_ref = &leased;
        let scans = futures::future::join_all(targets.iter().map(|(plane, region)| async move {
            if leased_ref.busy(&self.mark_scope(plane.provider(), region)).is_some() {
                return (None, start.elapsed());
            }
            let span = tracing::info_span!("scan", provider = %plane.provider(), region = %region);
            let scan = async {
                let scan = match &request.target {
                    Some(target) => plane.scan_target(region, &target.arn).await,
                    None => plane.scan(region).await,
                };
                match scan {
                    Ok(resources) => {
                        Ok(self.marked(plane.provider(), region, resources, request.target.is_none(), now).await)
                    }
                    Err(error) => Err(error),
                }
            }
            .instrument(span);
            let scanned = match cutoff {
                Some(cutoff) => tokio::time::timeout_at(cutoff, scan).await.ok(),
                None => Some(scan.await),
            };
            (scanned, start.elapsed())
        }))
        .await;

        // Ages are judged on the earlier of this machine's clock and the services': a clock ahead never ages a
        // resource early.
        let judged_at = match self.skew_since(now) {
            Some(skew) if skew.offset_ms < 0 => now.checked_sub(skew.magnitude()).unwrap_or(now),
            _ => now,
        };
        let mut groups = Vec::new();
        let mut entries = Vec::new();
        for (index, ((plane, region), (scanned, finished))) in targets.iter().zip(scans).enumerate() {
            let mut group = Group {
                provider: plane.provider(),
                region: region.clone(),
                error: None,
                error_class: None,
                state_error: None,
                timed_out: false,
                finished,
                busy: leased.busy(&self.mark_scope(plane.provider(), region)).cloned(),
            };
            if let Leased::Failed(why) = &leased {
                group.state_error = Some(why.clone());
            }
            if group.busy.is_some() {
                groups.push(group);
                continue;
            }
            match scanned {
                Some(Ok(scan)) => {
                    group.state_error = group.state_error.or(scan.state_error);
                    entries.extend(scan.resources.into_iter().map(|resource| Entry {
                        group: index,
                        judgement: self.policy.judge(&resource, judged_at),
                        resource,
                        outcome: Outcome::Kept,
                        error: None,
                        error_class: None,
                    }));
                }
                Some(Err(error)) => {
                    tracing::warn!(provider = %group.provider, region = %group.region, %error, "scan failed");
                    group.error_class = Some(error.class);
                    group.error = Some(error.to_string());
                }
                None => {
                    tracing::warn!(provider = %group.provider, region = %group.region, "scan timed out");
                    group.timed_out = true;
                    group.error_class = Some(ErrorClass::TimedOut);
                    group.error = Some(format!(
                        "timed out: the scan had not finished when the run had to stop, JANITOR_DEADLINE_MARGIN={} \
                         before its deadline; nothing here was judged or deleted",
                        crate::domain::duration::format(self.deadline_margin)
                    ));
                }
            }
            groups.push(group);
        }

        if let Leased::Failed(why) = &leased {
            hold_everything(&mut entries, why);
        }
        hold_what_may_release_the_healthy(&mut entries);
        let full_scan = request.target.is_none();
        let tripped = {
            let mut plan: Vec<(Provider, &mut Judgement)> =
                entries.iter_mut().map(|e| (e.resource.provider, &mut e.judgement)).collect();
            apply_limits(&mut plan, self.limits, full_scan)
        };
        if let Some(budget) = &self.budget {
            for entry in entries.iter_mut().filter(|e| e.judgement.verdict == Verdict::Delete) {
                if !budget.take() {
                    entry.judgement = judged(
                        Verdict::Capped,
                        format!(
                            "over JANITOR_MAX_DELETES_PER_RUN={} across the run's accounts; waits for the next run",
                            budget.limit
                        ),
                    );
                }
            }
        }
        if request.dry_run {
            for index in first_wave(&entries) {
                entries[index].outcome = Outcome::WouldDelete;
            }
            for index in second_wave(&mut entries, |outcome| outcome == Outcome::WouldDelete) {
                entries[index].outcome = Outcome::WouldDelete;
            }
        } else {
            let first = first_wave(&entries);
            self.delete_wave(&mut entries, &mut groups, &first, cutoff, start).await;
            let second = second_wave(&mut entries, |o| matches!(o, Outcome::Deleted | Outcome::AlreadyGone));
            self.delete_wave(&mut entries, &mut groups, &second, cutoff, start).await;
            self.settle(&entries, cutoff).await;
        }
        self.release(leased, &lease, request.deadline, &mut groups).await;
        let mut report = self.report(request, groups, entries, &tripped, now, start.elapsed());
        if let Some(skew) = self.skew_since(now) {
            report.notes.push(format!(
                "{skew}, more than JANITOR_MAX_CLOCK_SKEW={}: this run wrote no first-seen mark and deleted nothing \
                 under a grace; fix the clock (NTP) before relying on graces",
                crate::domain::duration::format(self.max_clock_skew)
            ));
        }
        report
    }

    /// Deletes the entries of `wave` with bounded concurrency, each started only before the cutoff. At the cutoff
    /// the run stops waiting: a delete sent but not answered is unconfirmed, one never started is deferred.
    async fn delete_wave(
        &self,
        entries: &mut [Entry],
        groups: &mut [Group],
        wave: &[usize],
        cutoff: Option<Instant>,
        start: Instant,
    ) {
        // Raised once an item's delete has left for the control plane (not merely entered the queue).
        let started: Vec<Arc<AtomicBool>> = wave.iter().map(|_| Arc::new(AtomicBool::new(false))).collect();
        let mut answered: Vec<(usize, DeleteOutcome, Duration)> = Vec::new();
        {
            let listed: &[Entry] = entries;
            let started = &started;
            let delete = |(n, index): (usize, usize)| async move {
                if cutoff.is_some_and(|cutoff| Instant::now() >= cutoff) {
                    return None;
                }
                let resource = &listed[index].resource;
                let span = tracing::info_span!(
                    "delete",
                    provider = %resource.provider,
                    region = %resource.region,
                    id = %resource.id
                );
                let outcome = match self.plane(resource.provider) {
                    Some(plane) => noting_sent(Arc::clone(&started[n]), plane.delete(resource).instrument(span)).await,
                    None => DeleteOutcome::failed(ErrorClass::Service, "no control plane for this provider"),
                };
                Some((n, outcome, start.elapsed()))
            };
            // A stream per group (a service in a region: one rate limit, one lane). In one queue in scan order, a
            // group's deletes would start only as the previous group's ended, spending the limits one after another.
            let in_progress = self.concurrency.saturating_mul(ITEMS_PER_CALL);
            let mut deletes = stream::select_all(
                by_group(listed, wave)
                    .into_iter()
                    .map(|items| stream::iter(items).map(delete).buffer_unordered(in_progress)),
            );
            let gather = async {
                while let Some(result) = deletes.next().await {
                    answered.extend(result);
                }
            };
            match cutoff {
                Some(cutoff) => {
                    if tokio::time::timeout_at(cutoff, gather).await.is_err() {
                        tracing::warn!("the run reached its deadline with deletes outstanding");
                    }
                }
                None => gather.await,
            }
        }
        let mut outcomes: Vec<Option<(DeleteOutcome, Duration)>> = wave.iter().map(|_| None).collect();
        for (n, outcome, finished) in answered {
            outcomes[n] = Some((outcome, finished));
        }
        for ((n, index), outcome) in wave.iter().copied().enumerate().zip(outcomes) {
            let entry = &mut entries[index];
            let (outcome, error) = match outcome {
                Some((outcome, finished)) => {
                    let group = &mut groups[entry.group];
                    group.finished = group.finished.max(finished);
                    match outcome {
                        DeleteOutcome::Deleted { status } => {
                            let (resource, reason) = (&entry.resource, &entry.judgement.reason);
                            tracing::info!(
                                id = %resource.id,
                                name = %resource.name,
                                provider = %resource.provider,
                                region = %resource.region,
                                %reason,
                                %status,
                                "deleted"
                            );
                            (Outcome::Deleted, None)
                        }
                        DeleteOutcome::AlreadyGone => (Outcome::AlreadyGone, None),
                        DeleteOutcome::Skipped { reason } => (Outcome::Skipped, Some(reason)),
                        DeleteOutcome::Failed { error, class } => {
                            tracing::warn!(id = %entry.resource.id, %error, ?class, "delete failed");
                            entry.error_class = Some(class);
                            (Outcome::Failed, Some(error))
                        }
                    }
                }
                None if started[n].load(Ordering::Relaxed) => (
                    Outcome::Unconfirmed,
                    Some(
                        "the delete was sent but had not answered when the run had to stop; the next run will see \
                         whether it happened"
                            .to_owned(),
                    ),
                ),
                None => {
                    entry.judgement = judged(
                        Verdict::Deferred,
                        format!(
                            "the run reached its deadline (less JANITOR_DEADLINE_MARGIN={}) before this delete could \
                             start; waits for the next run",
                            crate::domain::duration::format(self.deadline_margin)
                        ),
                    );
                    (Outcome::Kept, None)
                }
            };
            entry.outcome = outcome;
            entry.error = error;
        }
    }

    /// The scan's stale resources with their first-seen marks: the store records a first sighting for each newly
    /// stale one and drops the marks of those that recovered (and, after a `complete` scan, of those that are
    /// gone). A provider whose grace is zero needs no marks.
    async fn marked(
        &self,
        provider: Provider,
        region: &str,
        mut resources: Vec<Resource>,
        complete: bool,
        now: SystemTime,
    ) -> Scanned {
        if self.policy.grace(provider).duration.is_zero() {
            return Scanned { resources, state_error: None };
        }
        let store = match &self.first_seen {
            FirstSeen::Store(store) => store,
            FirstSeen::NotNeeded => return Scanned { resources, state_error: None },
            FirstSeen::NoStore => {
                let why = "no first-seen store is configured (JANITOR_STATE_TABLE or JANITOR_STATE_FILE), so the \
                           grace cannot be proven";
                for resource in resources.iter_mut().filter(|r| r.condition == Condition::Stale) {
                    resource.mark = Mark::Unknown(why.to_owned());
                }
                return Scanned { resources, state_error: None };
            }
        };
        if let Some(skew) = self.skew_since(now) {
            let why = format!(
                "{skew} (more than JANITOR_MAX_CLOCK_SKEW={}), so no first-seen mark was written and the grace cannot \
                 be proven",
                crate::domain::duration::format(self.max_clock_skew)
            );
            for resource in resources.iter_mut().filter(|r| r.condition == Condition::Stale) {
                resource.mark = Mark::Unknown(why.clone());
            }
            return Scanned { resources, state_error: None };
        }
        let scope = self.mark_scope(provider, region);
        let scanned: Vec<String> = resources.iter().map(|r| r.id.clone()).collect();
        let stale: Vec<String> =
            resources.iter().filter(|r| r.condition == Condition::Stale).map(|r| r.id.clone()).collect();
        let sighting = Sighting { scope: &scope, scanned: &scanned, failed: &stale, complete, now: SystemTime::now() };
        let (seen, state_error) = match store.reconcile(sighting).await {
            Ok(seen) => (Ok(seen), None),
            Err(error) => {
                tracing::warn!(%provider, region, %error, "first-seen store unavailable");
                (
                    Err(format!("first-seen store unavailable, so the grace cannot be proven: {error}")),
                    Some(error.to_string()),
                )
            }
        };
        for resource in resources.iter_mut().filter(|r| r.condition == Condition::Stale) {
            resource.mark = match &seen {
                Ok(seen) => seen.get(&resource.id).map_or_else(
                    || Mark::Unknown("the first-seen store returned no mark for it".to_owned()),
                    |at| Mark::Since(*at),
                ),
                Err(why) => Mark::Unknown(why.clone()),
            };
        }
        Scanned { resources, state_error }
    }

    /// This machine's clock against the services' since `since`, when it is off by more than allowed.
    fn skew_since(&self, since: SystemTime) -> Option<crate::domain::clock::Skew> {
        self.clocks.worst_since(since).filter(|skew| skew.magnitude() > self.max_clock_skew)
    }

    /// Takes the run's leases on `scopes`. An event-scoped sweep waits a little for a busy scope, within its
    /// cutoff: its event names one resource, and the run holding the scope is usually about to finish.
    async fn lease(&self, scopes: &[String], lease: &Lease, scoped: bool, cutoff: Option<Instant>) -> Leased {
        let FirstSeen::Store(store) = &self.first_seen else { return Leased::NoStore };
        let give_up = Instant::now() + EVENT_LEASE_WAIT;
        let give_up = cutoff.map_or(give_up, |cutoff| cutoff.min(give_up));
        let (mut held, mut wanted) = (Vec::new(), scopes.to_vec());
        loop {
            let asked = match cutoff {
                Some(cutoff) => tokio::time::timeout_at(cutoff, store.lease(&wanted, lease)).await.ok(),
                None => Some(store.lease(&wanted, lease).await),
            };
            match asked {
                Some(Ok(leases)) => {
                    held.extend(leases.held);
                    if leases.busy.is_empty() || !scoped || Instant::now() + EVENT_LEASE_RETRY >= give_up {
                        return Leased::Taken { held, busy: leases.busy };
                    }
                    wanted = leases.busy.into_iter().map(|(scope, _)| scope).collect();
                    tokio::time::sleep(EVENT_LEASE_RETRY).await;
                }
                failed => {
                    let why = match failed {
                        Some(Err(error)) => error.to_string(),
                        _ => "the store did not answer before the run had to stop".to_owned(),
                    };
                    tracing::warn!(%why, "could not lease the scopes: nothing is deleted");
                    if !held.is_empty() {
                        let _ = store.release(&held, lease).await;
                    }
                    return Leased::Failed(format!(
                        "first-seen store unusable, so this run could not lease its scopes and deletes nothing: {why}"
                    ));
                }
            }
        }
    }

    /// Saves the run's marks and frees its leases, within the run's deadline (the margin is for this and the
    /// report); a lease not freed lapses at the deadline on its own.
    async fn release(&self, leased: Leased, lease: &Lease, deadline: Option<SystemTime>, groups: &mut [Group]) {
        let (FirstSeen::Store(store), Leased::Taken { held, .. }) = (&self.first_seen, leased) else { return };
        if held.is_empty() {
            return;
        }
        let released = match deadline.map(|d| d.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO)) {
            Some(left) => tokio::time::timeout(left, store.release(&held, lease)).await.ok(),
            None => Some(store.release(&held, lease).await),
        };
        let why = match released {
            Some(Ok(())) => return,
            Some(Err(error)) => error.to_string(),
            None => "the run's deadline came first".to_owned(),
        };
        tracing::warn!(%why, "could not save the first-seen marks or free the leases");
        for group in groups.iter_mut().filter(|g| g.busy.is_none() && g.state_error.is_none()) {
            group.state_error = Some(format!("this run's first-seen marks could not be saved: {why}"));
        }
    }

    /// Drops the first-seen marks of the resources that are gone (deleted or already gone) in one store update, so
    /// a resource recreated later under the same id starts its grace afresh; within what is left of the run.
    async fn settle(&self, entries: &[Entry], cutoff: Option<Instant>) {
        let FirstSeen::Store(store) = &self.first_seen else { return };
        let gone: Vec<(String, String)> = entries
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::Deleted | Outcome::AlreadyGone))
            .filter(|e| !self.policy.grace(e.resource.provider).duration.is_zero())
            .map(|e| (self.mark_scope(e.resource.provider, &e.resource.region), e.resource.id.clone()))
            .collect();
        if gone.is_empty() {
            return;
        }
        let forgetting = async {
            if let Err(error) = store.forget(&gone).await {
                tracing::warn!(%error, "could not drop the first-seen marks of deleted resources; they expire on their own");
            }
        };
        match cutoff {
            Some(cutoff) => {
                if tokio::time::timeout_at(cutoff, forgetting).await.is_err() {
                    tracing::warn!("the run reached its deadline before the first-seen marks of deleted resources were dropped; they expire on their own");
                }
            }
            None => forgetting.await,
        }
    }

    fn report(
        &self,
        request: &SweepRequest,
        groups: Vec<Group>,
        entries: Vec<Entry>,
        tripped: &[Provider],
        started: SystemTime,
        elapsed: Duration,
    ) -> Report {
        let scoped = request.target.is_some();
        let mut sweeps: Vec<Sweep> = groups
            .into_iter()
            .map(|group| Sweep {
                tripwire_tripped: tripped.contains(&group.provider),
                counts: Counts {
                    busy: usize::from(group.busy.is_some()),
                    ..Counts::of_scan_failure(group.error_class, group.timed_out)
                },
                error: group.error,
                error_class: group.error_class,
                state_error: group.state_error,
                timed_out: group.timed_out,
                scoped,
                duration_ms: millis(group.finished),
                account: self.account.clone(),
                busy: group.busy.map(|lease| crate::engine::report::Busy::of(&lease)),
                ..Sweep::new(group.provider, group.region)
            })
            .collect();
        for entry in entries {
            let item = Item {
                kind: entry.resource.provider.kind(),
                id: entry.resource.id,
                name: entry.resource.name,
                status: entry.resource.status,
                verdict: entry.judgement.verdict,
                reason: entry.judgement.reason,
                outcome: entry.outcome,
                error: entry.error,
                error_class: entry.error_class,
                failure: entry.resource.failure,
                deletable_at: entry.judgement.deletable_at.map(crate::domain::clock::rfc3339),
                definition: entry.resource.definition.filter(|_| {
                    matches!(entry.outcome, Outcome::Deleted | Outcome::WouldDelete | Outcome::Unconfirmed)
                }),
            };
            let sweep = &mut sweeps[entry.group];
            sweep.counts.count(&item);
            sweep.items.push(item);
        }
        let mut totals = Counts::default();
        for sweep in &sweeps {
            totals.add(&sweep.counts);
        }
        let mut notes = request.notes.clone();
        notes.extend(self.cannot_delete(&sweeps));
        notes.extend(deletable_later(&sweeps));
        if scoped && self.limits.abort_above_percent.is_some() {
            notes.push(
                "the tripwire (JANITOR_ABORT_ABOVE_PERCENT) judges full scans only: this sweep was scoped to the \
                 event's resource"
                    .to_owned(),
            );
        }
        Report {
            dry_run: request.dry_run,
            trigger: request.trigger.clone(),
            started_at: crate::domain::clock::rfc3339(started),
            duration_ms: millis(elapsed),
            notes,
            totals,
            sweeps,
            archive: None,
            account: None,
            accounts: Vec::new(),
            notify_failed: false,
            rechecks: None,
        }
    }
}

/// How a note begins that says this configuration can never delete some providers' resources (the notification
/// repeats it).
pub const NEVER_DELETES: &str = "this configuration can never delete";

impl Sweeper {
    /// The control planes this sweeper scans.
    pub fn planes(&self) -> &[Arc<dyn ControlPlane>] {
        &self.planes
    }

    /// Says so when no first-seen store is configured while providers swept here have a grace: their resources
    /// wait for ever, whatever the dry-run setting.
    fn cannot_delete(&self, sweeps: &[Sweep]) -> Option<String> {
        if !matches!(self.first_seen, FirstSeen::NoStore) {
            return None;
        }
        let mut graced: Vec<String> = Vec::new();
        for sweep in sweeps {
            let grace = self.policy.grace(sweep.provider);
            let named =
                format!("{} ({}={})", sweep.provider, grace.variable, crate::domain::duration::format(grace.duration));
            if !grace.duration.is_zero() && !graced.contains(&named) {
                graced.push(named);
            }
        }
        (!graced.is_empty()).then(|| {
            format!(
                "{NEVER_DELETES} {}: no first-seen store is configured (JANITOR_STATE_TABLE or JANITOR_STATE_FILE), \
                 so no grace can ever be proven; configure a store, or set those graces to 0",
                graced.join(", ")
            )
        })
    }
}

/// Says when the waiting resources become deletable, and that it takes a later run with the same store.
fn deletable_later(sweeps: &[Sweep]) -> Option<String> {
    let due: Vec<&str> = sweeps.iter().flat_map(|s| &s.items).filter_map(|i| i.deletable_at.as_deref()).collect();
    let first = due.iter().min()?;
    Some(format!(
        "{} stale resources wait for their grace or minimum age; the first becomes deletable at {first} (each item's \
         deletableAt): a later run with the same first-seen store deletes each from then on",
        due.len()
    ))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The entries to delete that may take nothing with them.
fn first_wave(entries: &[Entry]) -> Vec<usize> {
    (0..entries.len())
        .filter(|i| entries[*i].judgement.verdict == Verdict::Delete && entries[*i].resource.may_release.is_none())
        .collect()
}

/// The items of `wave`, numbered in wave order, split by group and in order within each.
fn by_group(entries: &[Entry], wave: &[usize]) -> Vec<Vec<(usize, usize)>> {
    let mut groups: Vec<(usize, Vec<(usize, usize)>)> = Vec::new();
    for (n, &index) in wave.iter().enumerate() {
        let group = entries[index].group;
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, items)) => items.push((n, index)),
            None => groups.push((group, vec![(n, index)])),
        }
    }
    groups.into_iter().map(|(_, items)| items).collect()
}

/// The index of the entry that `entries[index]` may release, in the same sweep.
fn companion(entries: &[Entry], index: usize) -> Option<usize> {
    let entry = &entries[index];
    let id = entry.resource.may_release.as_deref()?;
    entries.iter().position(|other| other.group == entry.group && other.resource.id == id)
}

/// A run without its leases deletes nothing: what would be deleted waits for a run that has them.
fn hold_everything(entries: &mut [Entry], why: &str) {
    for entry in entries.iter_mut().filter(|e| e.judgement.verdict == Verdict::Delete) {
        entry.judgement = judged(Verdict::Waiting, why.to_owned());
    }
}

/// Before the limits: a stale resource whose deletion may take a resource with it that is not stale is held.
fn hold_what_may_release_the_healthy(entries: &mut [Entry]) {
    for index in 0..entries.len() {
        let entry = &entries[index];
        let Some(id) = entry.resource.may_release.clone().filter(|_| entry.judgement.verdict == Verdict::Delete) else {
            continue;
        };
        let why = match companion(entries, index).map(|c| &entries[c]) {
            Some(other) if other.judgement.verdict.is_stale() => continue,
            Some(other) => format!(
                "deleting it may also release {}, which is not stale ({}: {})",
                other.resource.name,
                verdict_name(other.judgement.verdict),
                other.judgement.reason
            ),
            None => format!("deleting it may also release {id}, which this scan did not list"),
        };
        entries[index].judgement = judged(Verdict::Held, why);
    }
}

/// After the first wave: the entries whose companion's delete ended as `done` go ahead; the others are held.
fn second_wave(entries: &mut [Entry], done: impl Fn(Outcome) -> bool) -> Vec<usize> {
    let mut wave = Vec::new();
    for index in 0..entries.len() {
        if entries[index].judgement.verdict != Verdict::Delete || entries[index].resource.may_release.is_none() {
            continue;
        }
        match companion(entries, index).map(|c| &entries[c]) {
            Some(other) if done(other.outcome) => wave.push(index),
            other => {
                let why = match other {
                    Some(other) => format!(
                        "waits for {}, which it may release: that one was not deleted first ({}, {})",
                        other.resource.name,
                        verdict_name(other.judgement.verdict),
                        outcome_name(other.outcome)
                    ),
                    None => "waits for the resource it may release, which this scan did not list".to_owned(),
                };
                entries[index].judgement = judged(Verdict::Held, why);
            }
        }
    }
    wave
}

fn verdict_name(verdict: Verdict) -> String {
    serde_json::to_value(verdict).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn outcome_name(outcome: Outcome) -> String {
    serde_json::to_value(outcome).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::pattern::Patterns;
    use crate::domain::resource::Grace;
    use crate::engine::request::SweepRequest;
    use crate::providers::memory::{job, Fake, Marks, FAKE};
    use crate::state::FirstSeenStore;

    /// A two-way sync: the forward half may release the reverse half.
    fn pair(forward: &str, reverse: &str) -> Vec<Resource> {
        vec![job("j1", forward, Some("j1/reverse")), job("j1/reverse", reverse, None)]
    }

    fn policy(grace: Duration) -> Policy {
        Policy {
            min_age: Duration::ZERO,
            graces: vec![(FAKE, Grace { duration: grace, variable: "JANITOR_FAKE_GRACE" })],
            include: Patterns::default(),
            exclude: Patterns::default(),
        }
    }

    fn request(dry_run: bool, deadline: Option<SystemTime>) -> SweepRequest {
        SweepRequest {
            providers: vec![FAKE],
            regions: std::collections::BTreeMap::new(),
            accounts: None,
            target: None,
            dry_run,
            deadline,
            trigger: "test".to_owned(),
            notes: Vec::new(),
        }
    }

    /// Sweeps `fake` with `limits`, `concurrency` deletes at once and a 1 s deadline margin.
    async fn sweep_fake(
        fake: Fake,
        limits: Limits,
        concurrency: usize,
        request: &SweepRequest,
    ) -> (Report, Vec<String>) {
        let fake = Arc::new(fake);
        let planes: Vec<Arc<dyn ControlPlane>> = vec![fake.clone()];
        let sweeper = Sweeper::new(
            planes,
            policy(Duration::ZERO),
            limits,
            concurrency,
            Duration::from_secs(1),
            FirstSeen::NotNeeded,
        );
        let report = sweeper.run(request).await;
        let deleted = fake.deleted.lock().map(|d| d.clone()).unwrap_or_default();
        (report, deleted)
    }

    async fn run(resources: Vec<Resource>, dry_run: bool, max_deletes: usize) -> (Report, Vec<String>) {
        let limits = Limits { max_deletes, abort_above_percent: None };
        sweep_fake(Fake::new(resources), limits, 8, &request(dry_run, None)).await
    }

    const NO_LIMITS: Limits = Limits { max_deletes: 1_000, abort_above_percent: None };

    fn failed_jobs(region: &str, count: usize) -> Vec<Resource> {
        (0..count)
            .map(|n| Resource { region: region.to_owned(), ..job(&format!("{region}-{n}"), "Failed", None) })
            .collect()
    }

    #[tokio::test]
    async fn one_failing_item_never_stops_the_sweep_and_each_gets_its_outcome() {
        let mut fake = Fake::new(failed_jobs("cn-hangzhou", 5));
        fake.answers.insert("cn-hangzhou-1".into(), DeleteOutcome::failed(ErrorClass::Denied, "denied"));
        fake.answers.insert("cn-hangzhou-2".into(), DeleteOutcome::Skipped { reason: "busy".into() });
        fake.answers.insert("cn-hangzhou-3".into(), DeleteOutcome::AlreadyGone);
        let (report, deleted) = sweep_fake(fake, NO_LIMITS, 2, &request(false, None)).await;
        assert_eq!(deleted.len(), 5);
        let outcomes: Vec<Outcome> = report.sweeps[0].items.iter().map(|i| i.outcome).collect();
        use Outcome::*;
        assert_eq!(outcomes, [Deleted, Failed, Skipped, AlreadyGone, Deleted]);
        assert_eq!(report.sweeps[0].items[1].error.as_deref(), Some("denied"));
        let t = &report.totals;
        assert_eq!((t.deleted, t.failed, t.skipped, t.already_gone), (2, 1, 1, 1));
        assert_eq!(report.sweeps[0].items[1].error_class, Some(ErrorClass::Denied));
        assert_eq!(t.failed_by_class, std::collections::BTreeMap::from([(ErrorClass::Denied, 1)]));
    }

    #[tokio::test]
    async fn a_region_whose_scan_fails_is_reported_and_the_others_are_swept() {
        let mut fake = Fake::new([failed_jobs("cn-hangzhou", 2), failed_jobs("cn-beijing", 2)].concat());
        fake.regions = vec!["cn-hangzhou".into(), "cn-beijing".into()];
        fake.unreachable = vec!["cn-beijing".into()];
        let (report, deleted) = sweep_fake(fake, NO_LIMITS, 8, &request(false, None)).await;
        assert_eq!(deleted, ["cn-hangzhou-0", "cn-hangzhou-1"]);
        let beijing = &report.sweeps[1];
        assert_eq!(beijing.region, "cn-beijing");
        assert_eq!(beijing.error.as_deref(), Some("Describe in cn-beijing failed: connection refused"));
        assert_eq!((beijing.counts.failed, beijing.items.len()), (1, 0));
        assert_eq!(beijing.error_class, Some(ErrorClass::Transport));
        assert_eq!(report.totals.failed_by_class.get(&ErrorClass::Transport), Some(&1));
        assert_eq!(report.sweeps[0].counts.deleted, 2);
    }

    #[tokio::test]
    async fn the_cap_keeps_the_first_stale_items_in_scan_order_across_regions() {
        let mut fake = Fake::new([failed_jobs("cn-hangzhou", 2), failed_jobs("cn-beijing", 2)].concat());
        fake.regions = vec!["cn-hangzhou".into(), "cn-beijing".into()];
        let limits = Limits { max_deletes: 3, abort_above_percent: None };
        let (report, mut deleted) = sweep_fake(fake, limits, 8, &request(false, None)).await;
        deleted.sort();
        assert_eq!(deleted, ["cn-beijing-0", "cn-hangzhou-0", "cn-hangzhou-1"]);
        assert_eq!(report.sweeps[1].items[1].verdict, Verdict::Capped);
    }

    #[tokio::test(start_paused = true)]
    async fn each_region_deletes_at_its_own_pace_without_waiting_for_the_others() {
        let mut fake = Fake::new([failed_jobs("cn-hangzhou", 8), failed_jobs("cn-beijing", 2)].concat());
        fake.regions = vec!["cn-hangzhou".into(), "cn-beijing".into()];
        fake.delete_takes = Duration::from_secs(1);
        // One delete call allowed in flight: four items of each region in progress at once (this fake does not
        // gate its calls). Beijing's two deletes go out with Hangzhou's first four, not after all eight.
        let (report, deleted) = sweep_fake(fake, NO_LIMITS, 1, &request(false, None)).await;
        assert_eq!(deleted.len(), 10);
        assert!(deleted[..6].contains(&"cn-beijing-1".to_owned()), "{deleted:?}");
        let (hangzhou, beijing) = (&report.sweeps[0], &report.sweeps[1]);
        assert_eq!((hangzhou.counts.deleted, beijing.counts.deleted), (8, 2));
        assert!(beijing.duration_ms < hangzhou.duration_ms, "{} vs {}", beijing.duration_ms, hangzhou.duration_ms);
    }

    #[tokio::test]
    async fn the_tripwire_stops_a_full_scan_over_the_share() {
        let mut resources = failed_jobs("cn-hangzhou", 3);
        resources.push(job("healthy", "Synchronizing", None));
        let limits = Limits { max_deletes: 100, abort_above_percent: Some(50.0) };
        let (report, deleted) = sweep_fake(Fake::new(resources), limits, 8, &request(false, None)).await;
        assert!(deleted.is_empty());
        assert!(report.sweeps[0].tripwire_tripped);
        assert_eq!(report.totals.aborted, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn at_the_deadline_deletes_in_flight_are_unconfirmed_and_the_rest_deferred() {
        let mut fake = Fake::new(failed_jobs("cn-hangzhou", 9));
        fake.delete_takes = Duration::from_secs(3);
        // Deadline in 5 s, margin 1 s: the run stops waiting at 4 s. With one delete call allowed in flight, four
        // items are in progress at once (the real planes gate the calls themselves; this fake does not): four
        // answer at 3 s, the next four are in flight at 4 s, the last one never starts.
        let deadline = SystemTime::now() + Duration::from_secs(5);
        let (report, deleted) = sweep_fake(fake, NO_LIMITS, 1, &request(false, Some(deadline))).await;
        assert_eq!(deleted.len(), 8);
        let fates: Vec<(Verdict, Outcome)> = report.sweeps[0].items.iter().map(|i| (i.verdict, i.outcome)).collect();
        use Outcome::*;
        use Verdict::*;
        assert_eq!(fates[..4], [(Delete, Deleted); 4]);
        assert_eq!(fates[4..8], [(Delete, Unconfirmed); 4]);
        assert_eq!(fates[8], (Deferred, Kept));
        assert!(report.duration_ms <= 4_000, "{}", report.duration_ms);
    }

    fn fates(report: &Report) -> Vec<(String, Verdict, Outcome)> {
        report.sweeps.iter().flat_map(|s| &s.items).map(|i| (i.id.clone(), i.verdict, i.outcome)).collect()
    }

    #[tokio::test]
    async fn a_stale_forward_half_whose_reverse_half_is_healthy_is_held() {
        let (report, deleted) = run(pair("Failed", "Synchronizing"), false, 100).await;
        assert!(deleted.is_empty());
        let forward = &report.sweeps[0].items[0];
        assert_eq!((forward.verdict, forward.outcome), (Verdict::Held, Outcome::Kept));
        assert_eq!(
            forward.reason,
            "deleting it may also release j1/reverse, which is not stale (healthy: status Synchronizing is not one of \
             PrecheckFailed, InitializeFailed, Failed)"
        );
        assert_eq!(report.totals.held, 1);
    }

    #[tokio::test]
    async fn when_both_halves_are_stale_the_reverse_half_goes_first() {
        let (report, deleted) = run(pair("Failed", "Failed"), false, 100).await;
        assert_eq!(deleted, ["j1/reverse", "j1"]);
        assert_eq!(
            fates(&report),
            [
                ("j1".to_owned(), Verdict::Delete, Outcome::Deleted),
                ("j1/reverse".to_owned(), Verdict::Delete, Outcome::Deleted)
            ]
        );
        let (dry, deleted) = run(pair("Failed", "Failed"), true, 100).await;
        assert!(deleted.is_empty());
        assert_eq!(dry.totals.would_delete, 2);
    }

    #[tokio::test]
    async fn a_forward_half_waits_when_its_reverse_half_is_not_deleted_first() {
        let (report, deleted) = run(pair("Failed", "Failed"), false, 1).await;
        assert!(deleted.is_empty(), "{deleted:?}");
        let forward = &report.sweeps[0].items[0];
        assert_eq!(forward.verdict, Verdict::Held);
        assert_eq!(
            forward.reason,
            "waits for j1/reverse, which it may release: that one was not deleted first (capped, kept)"
        );
        let (report, deleted) = run(pair("Synchronizing", "Failed"), false, 100).await;
        assert_eq!(deleted, ["j1/reverse"], "a stale reverse half alone is deleted");
        assert_eq!(report.totals.deleted, 1);
    }

    async fn sweep_with_marks(fake: Fake, store: Arc<Marks>, grace: Duration) -> (Report, Vec<String>) {
        let fake = Arc::new(fake);
        let planes: Vec<Arc<dyn ControlPlane>> = vec![fake.clone()];
        let first_seen = FirstSeen::Store(store);
        let sweeper = Sweeper::new(planes, policy(grace), NO_LIMITS, 8, Duration::from_secs(1), first_seen);
        let report = sweeper.run(&request(false, None)).await;
        let deleted = fake.deleted.lock().map(|d| d.clone()).unwrap_or_default();
        (report, deleted)
    }

    fn key(id: &str) -> (String, String) {
        ("fake/cn-hangzhou".to_owned(), id.to_owned())
    }

    #[tokio::test]
    async fn a_stale_resource_is_marked_first_and_deleted_once_its_grace_has_passed() {
        let store = Arc::new(Marks::default());
        let hour = Duration::from_secs(3_600);
        let (first, deleted) = sweep_with_marks(Fake::new(failed_jobs("cn-hangzhou", 1)), store.clone(), hour).await;
        assert!(deleted.is_empty(), "the first sighting only marks");
        let item = &first.sweeps[0].items[0];
        assert_eq!(item.verdict, Verdict::Waiting);
        assert!(item.reason.ends_with("so far, JANITOR_FAKE_GRACE is 1h"), "{}", item.reason);
        assert!(store.marks.lock().map(|m| m.contains_key(&key("cn-hangzhou-0"))).unwrap_or(false));

        let two_hours_ago = SystemTime::now() - 2 * hour;
        if let Ok(mut marks) = store.marks.lock() {
            marks.insert(key("cn-hangzhou-0"), two_hours_ago);
        }
        let (second, deleted) = sweep_with_marks(Fake::new(failed_jobs("cn-hangzhou", 1)), store.clone(), hour).await;
        assert_eq!(deleted, ["cn-hangzhou-0"]);
        assert!(second.sweeps[0].items[0].reason.starts_with("Failed for at least 2h, created "));
        assert!(store.marks.lock().map(|m| m.is_empty()).unwrap_or(false), "a deleted resource's mark is dropped");
    }

    #[tokio::test]
    async fn a_resource_that_recovers_loses_its_mark() {
        let store = Arc::new(Marks::default());
        if let Ok(mut marks) = store.marks.lock() {
            marks.insert(key("j"), SystemTime::now() - Duration::from_secs(7_200));
        }
        let recovered = Fake::new(vec![job("j", "Synchronizing", None)]);
        let (report, deleted) = sweep_with_marks(recovered, store.clone(), Duration::from_secs(3_600)).await;
        assert!(deleted.is_empty());
        assert_eq!(report.sweeps[0].items[0].verdict, Verdict::Healthy);
        assert!(store.marks.lock().map(|m| m.is_empty()).unwrap_or(false));
        let (again, _) =
            sweep_with_marks(Fake::new(vec![job("j", "Failed", None)]), store, Duration::from_secs(3_600)).await;
        assert_eq!(again.sweeps[0].items[0].verdict, Verdict::Waiting, "failing again starts a new grace");
    }

    #[tokio::test]
    async fn without_a_working_store_nothing_under_a_grace_is_deleted() {
        let broken = Arc::new(Marks { broken: true, ..Marks::default() });
        let (report, deleted) =
            sweep_with_marks(Fake::new(failed_jobs("cn-hangzhou", 2)), broken, Duration::from_secs(60)).await;
        assert!(deleted.is_empty());
        assert_eq!(report.totals.waiting, 2);
        assert_eq!(
            report.sweeps[0].state_error.as_deref(),
            Some(
                "first-seen store unusable, so this run could not lease its scopes and deletes nothing: DynamoDB \
                 table marks: unreachable"
            )
        );

        let fake = Arc::new(Fake::new(failed_jobs("cn-hangzhou", 1)));
        let planes: Vec<Arc<dyn ControlPlane>> = vec![fake.clone()];
        let sweeper = Sweeper::new(
            planes,
            policy(Duration::from_secs(60)),
            NO_LIMITS,
            8,
            Duration::from_secs(1),
            FirstSeen::NoStore,
        );
        let report = sweeper.run(&request(false, None)).await;
        assert!(fake.deleted.lock().map(|d| d.is_empty()).unwrap_or(false));
        assert!(
            report.sweeps[0].items[0].reason.starts_with("no first-seen store is configured"),
            "{}",
            report.sweeps[0].items[0].reason
        );
        let never = report.notes.iter().find(|n| n.starts_with(NEVER_DELETES)).expect("the run says it cannot delete");
        assert!(never.contains("no first-seen store is configured"), "{never}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_event_scoped_sweep_waits_briefly_for_a_busy_scope_then_reports_it_busy() {
        let store = Arc::new(Marks::default());
        let scope = "fake/cn-hangzhou".to_owned();
        let schedule = Lease { holder: "the schedule's run".into(), until: None };
        if let Ok(mut leases) = store.leases.lock() {
            leases.insert(scope.clone(), schedule.clone());
        }
        let mut scoped = request(false, None);
        scoped.target =
            Some(crate::engine::request::Target { provider: FAKE, region: "cn-hangzhou".into(), arn: "j".into() });
        let sweeper = || {
            let planes: Vec<Arc<dyn ControlPlane>> = vec![Arc::new(Fake::new(failed_jobs("cn-hangzhou", 1)))];
            let first_seen = FirstSeen::Store(store.clone());
            Sweeper::new(planes, policy(Duration::ZERO), NO_LIMITS, 8, Duration::from_secs(1), first_seen)
        };
        let releasing = {
            let (store, scope, schedule) = (store.clone(), scope.clone(), schedule.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(3)).await;
                store.release(&[scope], &schedule).await
            })
        };
        let started = Instant::now();
        let report = sweeper().run(&scoped).await;
        assert!(report.sweeps[0].busy.is_none(), "the scope was freed within the wait: {:?}", report.sweeps[0]);
        assert!(started.elapsed() >= Duration::from_secs(3));
        releasing.await.expect("join").expect("release");
        assert!(store.leases.lock().map(|l| l.is_empty()).unwrap_or(false), "and released after the run");

        if let Ok(mut leases) = store.leases.lock() {
            leases.insert(scope.clone(), schedule.clone());
        }
        let started = Instant::now();
        let report = sweeper().run(&scoped).await;
        let busy = report.sweeps[0].busy.as_ref().expect("still busy after the wait");
        assert_eq!(busy.holder, "the schedule's run");
        let waited = started.elapsed();
        assert!(waited <= EVENT_LEASE_WAIT && waited + EVENT_LEASE_RETRY >= EVENT_LEASE_WAIT, "{waited:?}");
        assert_eq!((report.totals.busy, report.totals.scanned), (1, 0));

        let full = request(false, None);
        let started = Instant::now();
        let report = sweeper().run(&full).await;
        assert!(
            report.sweeps[0].busy.is_some() && started.elapsed() < Duration::from_secs(1),
            "a full sweep never waits"
        );
    }
}
