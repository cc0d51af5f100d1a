//! The policy: pure decisions about what is stale, with a reason for every verdict, and the run-wide limits
//! (tripwire, cap) applied before any delete. No I/O here, so every rule is table-tested.

use crate::pattern::Patterns;
use crate::resource::{Age, Handle, Provider, Resource};
use serde::Serialize;
use std::time::{Duration, SystemTime};

/// What the janitor decided about one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    Delete,
    Healthy,
    InProgress,
    TooYoung,
    Protected,
    Excluded,
    Capped,
    Deferred,
    Aborted,
    Waiting,
    /// Stale, but deleting it may take another resource with it that is not being deleted (the reverse half of a
    /// DTS two-way synchronization for its forward half).
    Held,
}

impl Verdict {
    /// Verdicts of resources the policy found stale, whether or not this run deletes them.
    pub fn is_stale(self) -> bool {
        matches!(self, Verdict::Delete | Verdict::Capped | Verdict::Deferred | Verdict::Aborted | Verdict::Held)
    }
}

/// A verdict and the sentence that explains it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub reason: String,
}

pub fn judged(verdict: Verdict, reason: impl Into<String>) -> Judgement {
    Judgement { verdict, reason: reason.into() }
}

/// The rules from the settings.
#[derive(Clone, Debug)]
pub struct Policy {
    pub rds_statuses: Vec<String>,
    pub min_age: Duration,
    pub dms_grace: Duration,
    pub include: Patterns,
    pub exclude: Patterns,
}

/// The status that makes a DMS connection a candidate: the only failure state DMS documents.
pub const DMS_FAILED: &str = "failed";

impl Policy {
    /// Judges one resource at `now`.
    pub fn judge(&self, resource: &Resource, now: SystemTime) -> Judgement {
        let status = resource.status.as_str();
        if status == "deleting" {
            return judged(Verdict::InProgress, "already deleting");
        }
        // By the kind of resource, with no catch-all: a new kind must say which rules judge it.
        let (stale_statuses, threshold, threshold_name) = match &resource.handle {
            Handle::DtsJob { job_type, .. } => {
                (job_type.failed_statuses().iter().map(|s| s.to_string()).collect(), self.min_age, "JANITOR_MIN_AGE")
            }
            Handle::DmsConnection { .. } => (vec![DMS_FAILED.to_owned()], self.dms_grace, "JANITOR_DMS_GRACE"),
            Handle::RdsIntegration { .. } => (self.rds_statuses.clone(), self.min_age, "JANITOR_MIN_AGE"),
        };
        if !stale_statuses.iter().any(|s| s == status) {
            return judged(Verdict::Healthy, format!("status {status} is not one of {}", stale_statuses.join(", ")));
        }
        let mut names: Vec<&str> = vec![&resource.name];
        names.extend(resource.arns.iter().map(String::as_str));
        if let Some(pattern) = self.exclude.first_match(&names) {
            return judged(Verdict::Excluded, format!("matches exclude pattern {pattern}"));
        }
        if !self.include.is_empty() && self.include.first_match(&names).is_none() {
            return judged(Verdict::Excluded, "matches no include pattern");
        }
        if let Some(by) = &resource.protected_by {
            return judged(Verdict::Protected, format!("protected by {by}"));
        }
        let elapsed = |since: &SystemTime| now.duration_since(*since).unwrap_or(Duration::ZERO);
        let shown = crate::duration::format;
        match &resource.age {
            Age::CreatedAt(created) if elapsed(created) < threshold => judged(
                Verdict::TooYoung,
                format!("created {} ago, {threshold_name} is {}", shown(elapsed(created)), shown(threshold)),
            ),
            Age::FailedSince(since) if elapsed(since) < threshold => judged(
                Verdict::Waiting,
                format!("failed for {} so far, {threshold_name} is {}", shown(elapsed(since)), shown(threshold)),
            ),
            Age::Unknown(why) if !threshold.is_zero() => {
                judged(Verdict::Waiting, format!("{why}; {threshold_name} is {}", shown(threshold)))
            }
            Age::CreatedAt(created) => {
                judged(Verdict::Delete, format!("{status}, created {} ago", shown(elapsed(created))))
            }
            Age::FailedSince(since) => {
                judged(Verdict::Delete, format!("{status} for at least {}", shown(elapsed(since))))
            }
            Age::Unknown(_) => judged(Verdict::Delete, format!("{status}, {threshold_name} is 0")),
        }
    }
}

/// Run-wide limits, applied to the whole plan before the first delete.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub max_deletes: usize,
    pub abort_above_percent: Option<f64>,
}

/// Applies the tripwire per provider, then the cap across the run in the given order.
/// `plan` holds each resource's provider and judgement; returns the providers whose tripwire tripped. The tripwire
/// judges only a `full_scan`: the share of stale resources in an event's one resource says nothing about the fleet.
pub fn apply_limits(plan: &mut [(Provider, &mut Judgement)], limits: Limits, full_scan: bool) -> Vec<Provider> {
    let mut tripped = Vec::new();
    if let Some(percent) = limits.abort_above_percent.filter(|_| full_scan) {
        for provider in Provider::ALL {
            let scanned = plan.iter().filter(|(p, _)| *p == provider).count();
            let stale = plan.iter().filter(|(p, j)| *p == provider && j.verdict == Verdict::Delete).count();
            let share = if scanned == 0 { 0.0 } else { stale as f64 * 100.0 / scanned as f64 };
            if stale > 0 && share > percent {
                tripped.push(provider);
                let why = format!(
                    "tripwire: {stale} of {scanned} scanned {provider} resources are stale ({share:.1}%), above JANITOR_ABORT_ABOVE_PERCENT={percent}; nothing deleted for {provider}"
                );
                for (_, judgement) in plan.iter_mut().filter(|(p, j)| *p == provider && j.verdict == Verdict::Delete) {
                    **judgement = judged(Verdict::Aborted, why.clone());
                }
            }
        }
    }
    let mut allowed = limits.max_deletes;
    for (_, judgement) in plan.iter_mut().filter(|(_, j)| j.verdict == Verdict::Delete) {
        if allowed == 0 {
            **judgement = judged(
                Verdict::Capped,
                format!("over JANITOR_MAX_DELETES={} for this run; waits for the next run", limits.max_deletes),
            );
        } else {
            allowed -= 1;
        }
    }
    tripped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::DtsJobType;

    const HOUR: Duration = Duration::from_secs(3_600);

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn policy() -> Policy {
        Policy {
            rds_statuses: vec!["failed".into()],
            min_age: 24 * HOUR,
            dms_grace: HOUR,
            include: Patterns::default(),
            exclude: Patterns::default(),
        }
    }

    fn integration(status: &str, age: Age) -> Resource {
        Resource {
            provider: Provider::Rds,
            region: "us-east-1".into(),
            id: "arn:aws:rds:us-east-1:1:integration:abc".into(),
            name: "orders-to-redshift".into(),
            arns: vec!["arn:aws:rds:us-east-1:1:integration:abc".into()],
            status: status.into(),
            age,
            protected_by: None,
            may_release: None,
            failure: None,
            handle: Handle::RdsIntegration { arn: "arn:aws:rds:us-east-1:1:integration:abc".into() },
        }
    }

    fn connection(status: &str, age: Age) -> Resource {
        Resource {
            provider: Provider::Dms,
            name: "src-pg@ri-1".into(),
            status: status.into(),
            age,
            handle: Handle::DmsConnection { endpoint_arn: "ep".into(), replication_instance_arn: "ri".into() },
            ..integration("x", Age::Unknown(String::new()))
        }
    }

    fn ago(d: Duration) -> SystemTime {
        now() - d
    }

    #[test]
    fn verdicts_follow_status_patterns_protection_and_age() {
        let protected = Resource {
            protected_by: Some("tag janitor:protect on the integration".into()),
            may_release: None,
            failure: None,
            ..integration("failed", Age::CreatedAt(ago(48 * HOUR)))
        };
        let with_needs_attention = Policy { rds_statuses: vec!["failed".into(), "needs_attention".into()], ..policy() };
        let included = Policy { include: Patterns::parse("orders-*"), ..policy() };
        let included_elsewhere = Policy { include: Patterns::parse("billing-*"), ..policy() };
        let excluded_by_arn = Policy { exclude: Patterns::parse("*:integration:abc"), ..policy() };
        let no_grace = Policy { dms_grace: Duration::ZERO, ..policy() };
        let default = policy();
        let old = Age::CreatedAt(ago(25 * HOUR));
        let cases: Vec<(&str, &Policy, Resource, Verdict, &str)> = vec![
            (
                "old failed integration",
                &default,
                integration("failed", old.clone()),
                Verdict::Delete,
                "failed, created 1d1h ago",
            ),
            (
                "young failed integration",
                &default,
                integration("failed", Age::CreatedAt(ago(2 * HOUR))),
                Verdict::TooYoung,
                "created 2h ago, JANITOR_MIN_AGE is 1d",
            ),
            (
                "exactly at min age",
                &default,
                integration("failed", Age::CreatedAt(ago(24 * HOUR))),
                Verdict::Delete,
                "failed, created 1d ago",
            ),
            (
                "active integration",
                &default,
                integration("active", old.clone()),
                Verdict::Healthy,
                "status active is not one of failed",
            ),
            (
                "needs_attention by default",
                &default,
                integration("needs_attention", old.clone()),
                Verdict::Healthy,
                "status needs_attention is not one of failed",
            ),
            (
                "needs_attention when asked",
                &with_needs_attention,
                integration("needs_attention", old.clone()),
                Verdict::Delete,
                "needs_attention, created 1d1h ago",
            ),
            (
                "deleting integration",
                &default,
                integration("deleting", old.clone()),
                Verdict::InProgress,
                "already deleting",
            ),
            (
                "protected integration",
                &default,
                protected,
                Verdict::Protected,
                "protected by tag janitor:protect on the integration",
            ),
            (
                "include matches name",
                &included,
                integration("failed", old.clone()),
                Verdict::Delete,
                "failed, created 1d1h ago",
            ),
            (
                "include matches nothing",
                &included_elsewhere,
                integration("failed", old.clone()),
                Verdict::Excluded,
                "matches no include pattern",
            ),
            (
                "exclude matches ARN",
                &excluded_by_arn,
                integration("failed", old.clone()),
                Verdict::Excluded,
                "matches exclude pattern *:integration:abc",
            ),
            (
                "integration without CreateTime",
                &default,
                integration("failed", Age::Unknown("no CreateTime".into())),
                Verdict::Waiting,
                "no CreateTime; JANITOR_MIN_AGE is 1d",
            ),
            (
                "connection failed past grace",
                &default,
                connection("failed", Age::FailedSince(ago(2 * HOUR))),
                Verdict::Delete,
                "failed for at least 2h",
            ),
            (
                "connection failed within grace",
                &default,
                connection("failed", Age::FailedSince(ago(HOUR / 2))),
                Verdict::Waiting,
                "failed for 30m so far, JANITOR_DMS_GRACE is 1h",
            ),
            (
                "connection without a store",
                &default,
                connection("failed", Age::Unknown("no first-seen store".into())),
                Verdict::Waiting,
                "no first-seen store; JANITOR_DMS_GRACE is 1h",
            ),
            (
                "connection without grace",
                &no_grace,
                connection("failed", Age::Unknown("not tracked".into())),
                Verdict::Delete,
                "failed, JANITOR_DMS_GRACE is 0",
            ),
            (
                "connection testing",
                &default,
                connection("testing", Age::Unknown(String::new())),
                Verdict::Healthy,
                "status testing is not one of failed",
            ),
            (
                "connection deleting",
                &default,
                connection("deleting", Age::Unknown(String::new())),
                Verdict::InProgress,
                "already deleting",
            ),
            (
                "connection successful",
                &with_needs_attention,
                connection("successful", Age::Unknown(String::new())),
                Verdict::Healthy,
                "status successful is not one of failed",
            ),
        ];
        for (name, policy, resource, verdict, reason) in cases {
            let judgement = policy.judge(&resource, now());
            assert_eq!(judgement, judged(verdict, reason), "{name}");
        }
    }

    fn dts_job(job_type: DtsJobType, status: &str, age: Age) -> Resource {
        Resource {
            provider: Provider::Dts,
            name: "orders-sync".into(),
            status: status.into(),
            age,
            handle: Handle::DtsJob { job_id: "j1".into(), instance_id: "i1".into(), job_type, reverse: false },
            ..integration("x", Age::Unknown(String::new()))
        }
    }

    #[test]
    fn dts_jobs_are_stale_in_the_failed_states_of_their_type() {
        use DtsJobType::*;
        let old = Age::CreatedAt(ago(48 * HOUR));
        let cases = [
            (Migration, "PrecheckFailed", Verdict::Delete),
            (Migration, "MigrationFailed", Verdict::Delete),
            (Migration, "Failed", Verdict::Healthy),
            (Migration, "Finished", Verdict::Healthy),
            (Sync, "InitializeFailed", Verdict::Delete),
            (Sync, "Failed", Verdict::Delete),
            (Sync, "Synchronizing", Verdict::Healthy),
            (Subscribe, "Abnormal", Verdict::Delete),
            (Subscribe, "MigrationFailed", Verdict::Healthy),
            (Subscribe, "Normal", Verdict::Healthy),
        ];
        for (job_type, status, verdict) in cases {
            assert_eq!(
                policy().judge(&dts_job(job_type, status, old.clone()), now()).verdict,
                verdict,
                "{job_type:?} {status}"
            );
        }
        let young = dts_job(Sync, "Failed", Age::CreatedAt(ago(HOUR)));
        assert_eq!(policy().judge(&young, now()), judged(Verdict::TooYoung, "created 1h ago, JANITOR_MIN_AGE is 1d"));
        let healthy = dts_job(Subscribe, "Normal", old);
        assert_eq!(policy().judge(&healthy, now()).reason, "status Normal is not one of PrecheckFailed, Abnormal");
    }

    #[test]
    fn exclusion_wins_over_protection_and_protection_over_age() {
        let resource =
            Resource { protected_by: Some("tag".into()), ..integration("failed", Age::CreatedAt(ago(HOUR))) };
        assert_eq!(policy().judge(&resource, now()).verdict, Verdict::Protected);
        let excluding = Policy { exclude: Patterns::parse("orders-*"), ..policy() };
        assert_eq!(excluding.judge(&resource, now()).verdict, Verdict::Excluded);
    }

    fn plan_of(verdicts: &[(Provider, Verdict)]) -> Vec<(Provider, Judgement)> {
        verdicts.iter().map(|(p, v)| (*p, judged(*v, "x"))).collect()
    }

    fn limit(plan: &mut [(Provider, Judgement)], limits: Limits) -> (Vec<Verdict>, Vec<Provider>) {
        let mut refs: Vec<(Provider, &mut Judgement)> = plan.iter_mut().map(|(p, j)| (*p, j)).collect();
        let tripped = apply_limits(&mut refs, limits, true);
        (plan.iter().map(|(_, j)| j.verdict).collect(), tripped)
    }

    #[test]
    fn the_cap_keeps_the_first_deletes_in_order_and_caps_the_rest() {
        use Provider::*;
        use Verdict::*;
        let mut plan = plan_of(&[(Dms, Delete), (Dms, Healthy), (Dms, Delete), (Rds, Delete)]);
        let (verdicts, tripped) = limit(&mut plan, Limits { max_deletes: 2, abort_above_percent: None });
        assert_eq!(verdicts, [Delete, Healthy, Delete, Capped]);
        assert!(tripped.is_empty());
        assert_eq!(plan[3].1.reason, "over JANITOR_MAX_DELETES=2 for this run; waits for the next run");
        let mut plan = plan_of(&[(Rds, Delete)]);
        assert_eq!(limit(&mut plan, Limits { max_deletes: 0, abort_above_percent: None }).0, [Capped]);
    }

    #[test]
    fn the_tripwire_stops_only_the_provider_over_the_share() {
        use Provider::*;
        use Verdict::*;
        let mut plan = plan_of(&[
            (Dms, Delete),
            (Dms, Delete),
            (Dms, Healthy),
            (Rds, Delete),
            (Rds, Healthy),
            (Rds, Healthy),
            (Rds, Healthy),
        ]);
        let (verdicts, tripped) = limit(&mut plan, Limits { max_deletes: 100, abort_above_percent: Some(50.0) });
        assert_eq!(verdicts, [Aborted, Aborted, Healthy, Delete, Healthy, Healthy, Healthy]);
        assert_eq!(tripped, [Dms]);
        assert!(plan[0].1.reason.contains("2 of 3 scanned dms resources are stale (66.7%)"), "{}", plan[0].1.reason);
        let mut at_threshold = plan_of(&[(Rds, Delete), (Rds, Healthy)]);
        let (verdicts, tripped) =
            limit(&mut at_threshold, Limits { max_deletes: 100, abort_above_percent: Some(50.0) });
        assert_eq!((verdicts, tripped), (vec![Delete, Healthy], vec![]));
    }

    #[test]
    fn a_scoped_sweep_is_not_judged_by_the_tripwire_but_still_capped() {
        use Provider::*;
        use Verdict::*;
        let mut plan = plan_of(&[(Rds, Delete), (Rds, Delete)]);
        let mut refs: Vec<(Provider, &mut Judgement)> = plan.iter_mut().map(|(p, j)| (*p, j)).collect();
        let limits = Limits { max_deletes: 1, abort_above_percent: Some(10.0) };
        assert!(apply_limits(&mut refs, limits, false).is_empty());
        assert_eq!(plan.iter().map(|(_, j)| j.verdict).collect::<Vec<_>>(), [Delete, Capped]);
    }

    #[test]
    fn aborted_deletes_do_not_use_up_the_cap() {
        use Provider::*;
        use Verdict::*;
        let mut plan = plan_of(&[(Dms, Delete), (Rds, Delete), (Rds, Healthy), (Rds, Healthy)]);
        let (verdicts, _) = limit(&mut plan, Limits { max_deletes: 1, abort_above_percent: Some(60.0) });
        assert_eq!(verdicts, [Aborted, Delete, Healthy, Healthy]);
    }
}
