//! Orchestration: scan every provider and region concurrently, judge, apply the tripwire and the cap to the whole
//! plan, then delete with bounded concurrency. The whole run is bounded by its deadline: it stops waiting at the
//! deadline minus `JANITOR_DEADLINE_MARGIN`, reports what had not finished, and leaves the margin for the report
//! and the metrics.

use crate::config::Settings;
use crate::policy::{apply_limits, judged, Judgement, Limits, Policy, Verdict};
use crate::providers::{ControlPlane, DeleteOutcome};
use crate::report::{Counts, Item, Outcome, Report, Sweep};
use crate::resource::{Provider, Resource};
use futures::stream::{self, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// What one run should do.
#[derive(Clone, Debug)]
pub struct SweepRequest {
    pub providers: Vec<Provider>,
    /// Narrows the AWS providers' regions to these; `None` sweeps all the regions each was built for.
    pub regions: Option<Vec<String>>,
    /// Narrows DTS's (Alibaba Cloud) regions to these; `None` sweeps all of `JANITOR_DTS_REGIONS`. Kept apart from
    /// `regions` because the two clouds share region ids.
    pub dts_regions: Option<Vec<String>>,
    /// A service event's resource: only it is scanned and judged.
    pub target: Option<crate::trigger::Target>,
    pub dry_run: bool,
    /// When the run must be over: the Lambda invocation's deadline, or the CLI's time limit.
    pub deadline: Option<SystemTime>,
    pub trigger: String,
    pub notes: Vec<String>,
}

impl SweepRequest {
    /// Everything the configuration allows, as a schedule or the CLI runs it; triggers narrow it from here.
    pub fn configured(settings: &Settings, trigger: &str, deadline: Option<SystemTime>) -> SweepRequest {
        SweepRequest {
            providers: settings.providers.clone(),
            regions: None,
            dts_regions: None,
            target: None,
            dry_run: settings.dry_run,
            deadline,
            trigger: trigger.to_owned(),
            notes: Vec::new(),
        }
    }
}

/// How many deletes are in progress (in flight or waiting out a backoff) per allowed delete call in flight: enough
/// that a few throttled items never idle the calls.
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
            let scan = async {
                match &request.target {
                    Some(target) => plane.scan_target(region, &target.arn).await,
                    None => plane.scan(region).await,
                }
            };
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
        let started: Vec<AtomicBool> = wave.iter().map(|_| AtomicBool::new(false)).collect();
        let mut answered: Vec<(usize, DeleteOutcome, Duration)> = Vec::new();
        {
            let listed: &[Entry] = entries;
            let started = &started;
            let mut deletes = stream::iter(wave.iter().copied().enumerate())
                .map(|(n, index)| async move {
                    if cutoff.is_some_and(|cutoff| Instant::now() >= cutoff) {
                        return None;
                    }
                    started[n].store(true, Ordering::Relaxed);
                    let resource = &listed[index].resource;
                    let outcome = match self.plane(resource.provider) {
                        Some(plane) => plane.delete(resource).await,
                        None => DeleteOutcome::Failed { error: "no control plane for this provider".to_owned() },
                    };
                    Some((n, outcome, start.elapsed()))
                })
                .buffer_unordered(self.concurrency.saturating_mul(ITEMS_PER_CALL));
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
                provider: group.provider,
                tripwire_tripped: tripped.contains(&group.provider),
                region: group.region,
                counts: Counts {
                    failed: usize::from(group.error.is_some()),
                    timed_out: usize::from(group.timed_out),
                    ..Counts::default()
                },
                error: group.error,
                state_error: group.state_error,
                timed_out: group.timed_out,
                scoped,
                items_omitted: 0,
                duration_ms: millis(group.finished),
                items: Vec::new(),
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
    use crate::resource::{Age, DtsJobType, Handle};
    use async_trait::async_trait;
    use std::sync::Mutex;

    /// A control plane in memory: it lists `resources` and records deletes in order.
    struct Fake {
        resources: Vec<Resource>,
        deleted: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl ControlPlane for Fake {
        fn provider(&self) -> Provider {
            Provider::Dts
        }

        fn regions(&self) -> Vec<String> {
            vec!["cn-hangzhou".to_owned()]
        }

        async fn scan(&self, _region: &str) -> Result<Scan, ScanError> {
            Ok(Scan { resources: self.resources.clone(), state_error: None })
        }

        async fn delete(&self, resource: &Resource) -> DeleteOutcome {
            if let Ok(mut deleted) = self.deleted.lock() {
                deleted.push(resource.id.clone());
            }
            DeleteOutcome::Deleted { status: "deleting".to_owned() }
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

    async fn run(resources: Vec<Resource>, dry_run: bool, max_deletes: usize) -> (Report, Vec<String>) {
        let fake = Arc::new(Fake { resources, deleted: Mutex::new(Vec::new()) });
        let policy = Policy {
            rds_statuses: vec!["failed".to_owned()],
            min_age: Duration::ZERO,
            dms_grace: Duration::ZERO,
            include: Patterns::default(),
            exclude: Patterns::default(),
        };
        let limits = Limits { max_deletes, abort_above_percent: None };
        let planes: Vec<Arc<dyn ControlPlane>> = vec![fake.clone()];
        let sweeper = Sweeper::new(planes, policy, limits, 8, Duration::from_secs(1));
        let request = SweepRequest {
            providers: vec![Provider::Dts],
            regions: None,
            dts_regions: None,
            target: None,
            dry_run,
            deadline: None,
            trigger: "test".to_owned(),
            notes: Vec::new(),
        };
        let report = sweeper.run(&request).await;
        let deleted = fake.deleted.lock().map(|d| d.clone()).unwrap_or_default();
        (report, deleted)
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
