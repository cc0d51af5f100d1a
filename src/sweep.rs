//! Orchestration: scan every provider and region concurrently, judge, apply the tripwire and the cap to the whole
//! plan, then delete with bounded concurrency. The whole run is bounded by its deadline: it stops waiting at the
//! deadline minus `JANITOR_DEADLINE_MARGIN`, reports what had not finished, and leaves the margin for the report
//! and the metrics.

use crate::calls::noting_sent;
use crate::policy::{apply_limits, judged, Judgement, Limits, Policy, Verdict};
use crate::providers::{ControlPlane, DeleteOutcome};
use crate::report::{Counts, Item, Outcome, Report, Sweep};
use crate::request::SweepRequest;
use crate::resource::{Provider, Resource};
use futures::stream::{self, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
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
}

struct Entry {
    group: usize,
    resource: Resource,
    judgement: Judgement,
    outcome: Outcome,
    error: Option<String>,
}

struct Group {
    provider: Provider,
    region: String,
    error: Option<String>,
    state_error: Option<String>,
    timed_out: bool,
    finished: Duration,
}

impl Sweeper {
    pub fn new(
        planes: Vec<Arc<dyn ControlPlane>>,
        policy: Policy,
        limits: Limits,
        concurrency: usize,
        deadline_margin: Duration,
    ) -> Sweeper {
        Sweeper { planes, policy, limits, concurrency: concurrency.max(1), deadline_margin }
    }

    /// Every region some plane of one cloud (AWS when `aws`, else Alibaba Cloud) can sweep, in order.
    pub fn regions(&self, aws: bool) -> Vec<String> {
        let mut regions: Vec<String> = Vec::new();
        for region in self.planes.iter().filter(|p| p.provider().is_aws() == aws).flat_map(|p| p.regions()) {
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
                let wanted = if plane.provider().is_aws() { &request.regions } else { &request.dts_regions };
                wanted.as_ref().is_none_or(|wanted| wanted.contains(region))
            })
            .collect();
        let scans = futures::future::join_all(targets.iter().map(|(plane, region)| async move {
            let span = tracing::info_span!("scan", provider = %plane.provider(), region = %region);
            let scan = async {
                match &request.target {
                    Some(target) => plane.scan_target(region, &target.arn).await,
                    None => plane.scan(region).await,
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

        let mut groups = Vec::new();
        let mut entries = Vec::new();
        for (index, ((plane, region), (scanned, finished))) in targets.iter().zip(scans).enumerate() {
            let mut group = Group {
                provider: plane.provider(),
                region: region.clone(),
                error: None,
                state_error: None,
                timed_out: false,
                finished,
            };
            match scanned {
                Some(Ok(scan)) => {
                    group.state_error = scan.state_error;
                    entries.extend(scan.resources.into_iter().map(|resource| Entry {
                        group: index,
                        judgement: self.policy.judge(&resource, now),
                        resource,
                        outcome: Outcome::Kept,
                        error: None,
                    }));
                }
                Some(Err(error)) => {
                    tracing::warn!(provider = %group.provider, region = %group.region, %error, "scan failed");
                    group.error = Some(error.to_string());
                }
                None => {
                    tracing::warn!(provider = %group.provider, region = %group.region, "scan timed out");
                    group.timed_out = true;
                    group.error = Some(format!(
                        "timed out: the scan had not finished when the run had to stop, JANITOR_DEADLINE_MARGIN={} \
                         before its deadline; nothing here was judged or deleted",
                        crate::duration::format(self.deadline_margin)
                    ));
                }
            }
            groups.push(group);
        }

        hold_what_may_release_the_healthy(&mut entries);
        let full_scan = request.target.is_none();
        let tripped = {
            let mut plan: Vec<(Provider, &mut Judgement)> =
                entries.iter_mut().map(|e| (e.resource.provider, &mut e.judgement)).collect();
            apply_limits(&mut plan, self.limits, full_scan)
        };
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
        self.report(request, groups, entries, &tripped, now, start.elapsed())
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
                    None => DeleteOutcome::Failed { error: "no control plane for this provider".to_owned() },
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
                        DeleteOutcome::Failed { error } => {
                            tracing::warn!(id = %entry.resource.id, %error, "delete failed");
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
                            crate::duration::format(self.deadline_margin)
                        ),
                    );
                    (Outcome::Kept, None)
                }
            };
            entry.outcome = outcome;
            entry.error = error;
        }
    }

    /// Lets each plane drop what it remembered of the resources that are gone, within what is left of the run.
    async fn settle(&self, entries: &[Entry], cutoff: Option<Instant>) {
        let gone: Vec<&Resource> = entries
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::Deleted | Outcome::AlreadyGone))
            .map(|e| &e.resource)
            .collect();
        if gone.is_empty() {
            return;
        }
        let settling = futures::future::join_all(self.planes.iter().map(|plane| plane.settle(&gone)));
        match cutoff {
            Some(cutoff) => {
                if tokio::time::timeout_at(cutoff, settling).await.is_err() {
                    tracing::warn!("the run reached its deadline before the first-seen marks of deleted resources were dropped; they expire on their own");
                }
            }
            None => {
                settling.await;
            }
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
                    failed: usize::from(group.error.is_some()),
                    timed_out: usize::from(group.timed_out),
                    ..Counts::default()
                },
                error: group.error,
                state_error: group.state_error,
                timed_out: group.timed_out,
                scoped,
                duration_ms: millis(group.finished),
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
                failure: entry.resource.failure,
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
            started_at: aws_smithy_types::DateTime::from(started)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap_or_default(),
            duration_ms: millis(elapsed),
            notes,
            totals,
            sweeps,
            archive: None,
        }
    }
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
    use crate::pattern::Patterns;
    use crate::providers::{Scan, ScanError};
    use crate::request::SweepRequest;
    use crate::resource::{Age, DtsJobType, Handle};
    use async_trait::async_trait;
    use std::sync::Mutex;

    /// A control plane in memory: it lists `resources` per region, fails the scans of `unreachable` regions,
    /// answers a delete with `answers[id]` (else deleted) after `delete_takes`, and records deletes in order.
    struct Fake {
        resources: Vec<Resource>,
        regions: Vec<String>,
        unreachable: Vec<String>,
        answers: std::collections::HashMap<String, DeleteOutcome>,
        delete_takes: Duration,
        deleted: Mutex<Vec<String>>,
    }

    impl Fake {
        fn new(resources: Vec<Resource>) -> Fake {
            Fake {
                resources,
                regions: vec!["cn-hangzhou".to_owned()],
                unreachable: Vec::new(),
                answers: std::collections::HashMap::new(),
                delete_takes: Duration::ZERO,
                deleted: Mutex::new(Vec::new()),
            }
        }
    }

    #[async_trait]
    impl ControlPlane for Fake {
        fn provider(&self) -> Provider {
            Provider::Dts
        }

        fn regions(&self) -> Vec<String> {
            self.regions.clone()
        }

        async fn scan(&self, region: &str) -> Result<Scan, ScanError> {
            if self.unreachable.iter().any(|r| r == region) {
                return Err(ScanError {
                    operation: "Describe",
                    region: region.to_owned(),
                    message: "connection refused".to_owned(),
                });
            }
            let resources = self.resources.iter().filter(|r| r.region == region).cloned().collect();
            Ok(Scan { resources, state_error: None })
        }

        async fn delete(&self, resource: &Resource) -> DeleteOutcome {
            crate::calls::mark_sent();
            if let Ok(mut deleted) = self.deleted.lock() {
                deleted.push(resource.id.clone());
            }
            tokio::time::sleep(self.delete_takes).await;
            self.answers
                .get(&resource.id)
                .cloned()
                .unwrap_or_else(|| DeleteOutcome::Deleted { status: "deleting".to_owned() })
        }
    }

    fn job(id: &str, status: &str, may_release: Option<&str>) -> Resource {
        Resource {
            provider: Provider::Dts,
            region: "cn-hangzhou".to_owned(),
            id: id.to_owned(),
            name: id.to_owned(),
            arns: vec![id.to_owned()],
            status: status.to_owned(),
            age: Age::CreatedAt(SystemTime::UNIX_EPOCH),
            protected_by: None,
            may_release: may_release.map(str::to_owned),
            failure: None,
            handle: Handle::DtsJob {
                job_id: id.to_owned(),
                instance_id: String::new(),
                job_type: DtsJobType::Sync,
                reverse: id.ends_with("/reverse"),
            },
        }
    }

    /// A two-way sync: the forward half may release the reverse half.
    fn pair(forward: &str, reverse: &str) -> Vec<Resource> {
        vec![job("j1", forward, Some("j1/reverse")), job("j1/reverse", reverse, None)]
    }

    fn policy() -> Policy {
        Policy {
            rds_statuses: vec!["failed".to_owned()],
            min_age: Duration::ZERO,
            dms_grace: Duration::ZERO,
            include: Patterns::default(),
            exclude: Patterns::default(),
        }
    }

    fn request(dry_run: bool, deadline: Option<SystemTime>) -> SweepRequest {
        SweepRequest {
            providers: vec![Provider::Dts],
            regions: None,
            dts_regions: None,
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
        let sweeper = Sweeper::new(planes, policy(), limits, concurrency, Duration::from_secs(1));
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
        fake.answers.insert("cn-hangzhou-1".into(), DeleteOutcome::Failed { error: "denied".into() });
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
}
