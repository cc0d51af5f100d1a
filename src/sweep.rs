//! Orchestration: scan every provider and region concurrently, judge, apply the tripwire and the cap to the whole
//! plan, then delete with bounded concurrency, starting no delete once the deadline is near.

use crate::config::Settings;
use crate::policy::{apply_limits, Judgement, Limits, Policy, Verdict};
use crate::providers::{ControlPlane, DeleteOutcome};
use crate::report::{Counts, Item, Outcome, Report, Sweep};
use crate::resource::{Provider, Resource};
use futures::stream::{self, StreamExt};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

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
    /// When the invocation must be over (Lambda); `None` for the CLI.
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
    finished: Duration,
}

impl Sweeper {
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

    pub fn new(
        planes: Vec<Arc<dyn ControlPlane>>,
        policy: Policy,
        limits: Limits,
        concurrency: usize,
        deadline_margin: Duration,
    ) -> Sweeper {
        Sweeper { planes, policy, limits, concurrency: concurrency.max(1), deadline_margin }
    }

    pub async fn run(&self, request: &SweepRequest) -> Report {
        let clock = Instant::now();
        let now = SystemTime::now();
        let planes: Vec<&Arc<dyn ControlPlane>> =
            request.providers.iter().filter_map(|p| self.planes.iter().find(|plane| plane.provider() == *p)).collect();
        let targets: Vec<(&Arc<dyn ControlPlane>, String)> = planes
            .iter()
            .flat_map(|plane| plane.regions().into_iter().map(move |region| (*plane, region)))
            .filter(|(plane, region)| {
                let wanted = if plane.provider().is_aws() { &request.regions } else { &request.dts_regions };
                wanted.as_ref().is_none_or(|wanted| wanted.contains(region))
            })
            .collect();
        let scans = futures::future::join_all(targets.iter().map(|(plane, region)| async move {
            let scanned = match &request.target {
                Some(target) => plane.scan_target(region, &target.arn).await,
                None => plane.scan(region).await,
            };
            (scanned, clock.elapsed())
        }))
        .await;

        let mut groups = Vec::new();
        let mut entries = Vec::new();
        for (index, ((plane, region), (scanned, finished))) in targets.iter().zip(scans).enumerate() {
            let mut group =
                Group { provider: plane.provider(), region: region.clone(), error: None, state_error: None, finished };
            match scanned {
                Ok(scan) => {
                    group.state_error = scan.state_error;
                    entries.extend(scan.resources.into_iter().map(|resource| Entry {
                        group: index,
                        judgement: self.policy.judge(&resource, now),
                        resource,
                        outcome: Outcome::Kept,
                        error: None,
                    }));
                }
                Err(error) => {
                    tracing::warn!(provider = %group.provider, region = %group.region, %error, "scan failed");
                    group.error = Some(error.to_string());
                }
            }
            groups.push(group);
        }

        let tripped = {
            let mut plan: Vec<(Provider, &mut Judgement)> =
                entries.iter_mut().map(|e| (e.resource.provider, &mut e.judgement)).collect();
            apply_limits(&mut plan, self.limits)
        };
        if request.dry_run {
            for entry in entries.iter_mut().filter(|e| e.judgement.verdict == Verdict::Delete) {
                entry.outcome = Outcome::WouldDelete;
            }
        } else {
            self.delete(&mut entries, &mut groups, request.deadline, clock).await;
        }
        self.report(request, groups, entries, &tripped, now, clock.elapsed())
    }

    async fn delete(&self, entries: &mut [Entry], groups: &mut [Group], deadline: Option<SystemTime>, clock: Instant) {
        let margin = self.deadline_margin;
        let planes = &self.planes;
        let results: Vec<(usize, Option<DeleteOutcome>, Duration)> =
            stream::iter(entries.iter().enumerate().filter(|(_, e)| e.judgement.verdict == Verdict::Delete))
                .map(|(index, entry)| async move {
                    let left = deadline.map(|d| d.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO));
                    if left.is_some_and(|left| left < margin) {
                        return (index, None, clock.elapsed());
                    }
                    let plane = planes.iter().find(|p| p.provider() == entry.resource.provider);
                    let outcome = match plane {
                        Some(plane) => plane.delete(&entry.resource).await,
                        None => DeleteOutcome::Failed { error: "no control plane for this provider".to_owned() },
                    };
                    (index, Some(outcome), clock.elapsed())
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;

        for (index, outcome, finished) in results {
            let entry = &mut entries[index];
            let group = &mut groups[entry.group];
            group.finished = group.finished.max(finished);
            let (outcome, error) = match outcome {
                None => {
                    entry.judgement = Judgement {
                        verdict: Verdict::Deferred,
                        reason: format!(
                            "less than JANITOR_DEADLINE_MARGIN={} of the invocation was left; waits for the next run",
                            crate::duration::format(margin)
                        ),
                    };
                    (Outcome::Kept, None)
                }
                Some(DeleteOutcome::Deleted { status }) => {
                    tracing::info!(id = %entry.resource.id, %status, "deleted");
                    (Outcome::Deleted, None)
                }
                Some(DeleteOutcome::AlreadyGone) => (Outcome::AlreadyGone, None),
                Some(DeleteOutcome::Skipped { reason }) => (Outcome::Skipped, Some(reason)),
                Some(DeleteOutcome::Failed { error }) => {
                    tracing::warn!(id = %entry.resource.id, %error, "delete failed");
                    (Outcome::Failed, Some(error))
                }
            };
            entry.outcome = outcome;
            entry.error = error;
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
        let mut sweeps: Vec<Sweep> = groups
            .into_iter()
            .map(|group| Sweep {
                provider: group.provider,
                tripwire_tripped: tripped.contains(&group.provider),
                region: group.region,
                counts: Counts { failed: usize::from(group.error.is_some()), ..Counts::default() },
                error: group.error,
                state_error: group.state_error,
                duration_ms: group.finished.as_millis() as u64,
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
        Report {
            dry_run: request.dry_run,
            trigger: request.trigger.clone(),
            started_at: aws_smithy_types::DateTime::from(started)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap_or_default(),
            duration_ms: elapsed.as_millis() as u64,
            notes: request.notes.clone(),
            totals,
            sweeps,
        }
    }
}
