//! The policy: pure decisions about what is stale, with a reason for every verdict, and the run-wide limits
//! (tripwire, cap) applied before any delete. No I/O here, so every rule is table-tested.

use crate::domain::pattern::Patterns;
use crate::domain::resource::{Age, Condition, Grace, Mark, Provider, Resource};
use serde::Serialize;
use std::time::{Duration, SystemTime};

/// What the janitor decided about one resource. Read back too (`report --html`), under the same names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
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
    /// When a resource held back only by its age or its grace becomes deletable, if the marks say (a later run
    /// with the same first-seen store deletes it from then on); `None` for every other verdict.
    pub deletable_at: Option<SystemTime>,
}

pub fn judged(verdict: Verdict, reason: impl Into<String>) -> Judgement {
    Judgement { verdict, reason: reason.into(), deletable_at: None }
}

impl Judgement {
    fn deletable_at(mut self, at: Option<SystemTime>) -> Judgement {
        self.deletable_at = at;
        self
    }
}

/// The rules from the settings, in provider-neutral terms: each provider has classified its resources' statuses
/// and says whether they keep a creation time; the policy weighs those facts, the patterns, protection, the
/// minimum age and each provider's first-seen grace.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The minimum age since creation, for resources that keep a creation time.
    pub min_age: Duration,
    /// Each enabled provider's first-seen grace.
    pub graces: Vec<(Provider, Grace)>,
    pub include: Patterns,
    pub exclude: Patterns,
}

impl Policy {
    /// The first-seen grace of `provider`; a provider the settings do not name waits as long as the longest grace
    /// (never shorter than any configured one).
    pub fn grace(&self, provider: Provider) -> Grace {
        self.graces.iter().find(|(p, _)| *p == provider).map(|(_, g)| *g).unwrap_or_else(|| Grace {
            duration: self.graces.iter().map(|(_, g)| g.duration).max().unwrap_or(Duration::ZERO),
            variable: "the longest grace",
        })
    }

    /// Judges one resource at `now`.
    pub fn judge(&self, resource: &Resource, now: SystemTime) -> Judgement {
        let status = resource.status.as_str();
        match &resource.condition {
            Condition::Stale => {}
            Condition::InProgress => return judged(Verdict::InProgress, format!("already {status}")),
            Condition::Healthy { stale } => {
                return judged(Verdict::Healthy, format!("status {status} is not one of {stale}"))
            }
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
        let shown = crate::domain::duration::format;
        let min_age = self.min_age;
        let Grace { duration: grace, variable } = self.grace(resource.provider);
        // When the grace alone allows a delete: `None` while the marks cannot say (no store, or no mark).
        let grace_ends = match &resource.mark {
            _ if grace.is_zero() => Some(now),
            Mark::Since(since) => since.checked_add(grace),
            Mark::Unknown(_) | Mark::Unmarked => None,
        };
        let created = match &resource.age {
            Age::CreatedAt(created) if elapsed(created) < min_age => {
                let old_enough = created.checked_add(min_age);
                return judged(
                    Verdict::TooYoung,
                    format!("created {} ago, JANITOR_MIN_AGE is {}", shown(elapsed(created)), shown(min_age)),
                )
                .deletable_at(old_enough.zip(grace_ends).map(|(a, b)| a.max(b)));
            }
            Age::Unknown(why) if !min_age.is_zero() => {
                return judged(Verdict::Waiting, format!("{why}; JANITOR_MIN_AGE is {}", shown(min_age)))
            }
            Age::CreatedAt(created) => Some(elapsed(created)),
            Age::Unknown(_) | Age::NotKept => None,
        };
        let stale_for = if grace.is_zero() {
            None
        } else {
            match &resource.mark {
                Mark::Since(since) if elapsed(since) < grace => {
                    return judged(
                        Verdict::Waiting,
                        format!("{status} for {} so far, {variable} is {}", shown(elapsed(since)), shown(grace)),
                    )
                    .deletable_at(grace_ends)
                }
                Mark::Since(since) => Some(elapsed(since)),
                Mark::Unknown(why) => {
                    return judged(Verdict::Waiting, format!("{why}; {variable} is {}", shown(grace)))
                }
                Mark::Unmarked => {
                    return judged(
                        Verdict::Waiting,
                        format!("not yet seen {status} by an earlier run; {variable} is {}", shown(grace)),
                    )
                }
            }
        };
        let reason = match (created, stale_for) {
            (Some(age), None) => format!("{status}, created {} ago", shown(age)),
            (Some(age), Some(stale)) => {
                format!("{status} for at least {}, created {} ago", shown(stale), shown(age))
            }
            (None, Some(stale)) => format!("{status} for at least {}", shown(stale)),
            (None, None) => match &resource.age {
                Age::Unknown(why) => format!("{status}, {why}, JANITOR_MIN_AGE is 0"),
                _ => format!("{status}, {variable} is 0"),
            },
        };
        judged(Verdict::Delete, reason)
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
        let mut providers: Vec<Provider> = plan.iter().map(|(p, _)| *p).collect();
        providers.sort_unstable();
        providers.dedup();
        for provider in providers {
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
    use crate::domain::resource::Handle;
    use std::sync::Arc;

    const HOUR: Duration = Duration::from_secs(3_600);
    /// Two providers the policy knows nothing about but their graces: it judges facts, not names.
    const KEPT: Provider = Provider::on("kept-age", &crate::domain::resource::AWS);
    const MARKED: Provider = Provider::on("marked-only", &crate::domain::resource::AWS);

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn ago(d: Duration) -> SystemTime {
        now() - d
    }

    fn policy() -> Policy {
        Policy {
            min_age: 24 * HOUR,
            graces: vec![
                (KEPT, Grace { duration: Duration::ZERO, variable: "JANITOR_KEPT_GRACE" }),
                (MARKED, Grace { duration: HOUR, variable: "JANITOR_MARKED_GRACE" }),
            ],
            include: Patterns::default(),
            exclude: Patterns::default(),
        }
    }

    fn with_grace(grace: Duration) -> Policy {
        let mut policy = policy();
        for (_, g) in &mut policy.graces {
            g.duration = grace;
        }
        policy
    }

    /// A resource that keeps a creation time, stale unless `condition` says otherwise.
    fn created(status: &str, condition: Condition, age: Age) -> Resource {
        Resource {
            provider: KEPT,
            region: "us-east-1".into(),
            id: "arn:aws:rds:us-east-1:1:integration:abc".into(),
            name: "orders-to-redshift".into(),
            arns: vec!["arn:aws:rds:us-east-1:1:integration:abc".into()],
            status: status.into(),
            condition,
            age,
            mark: Mark::Unmarked,
            protected_by: None,
            may_release: None,
            definition: None,
            failure: None,
            handle: Handle::new(()),
        }
    }

    fn stale(age: Age) -> Resource {
        created("failed", Condition::Stale, age)
    }

    /// A resource that keeps no creation time: only its first-seen mark ages it.
    fn marked(status: &str, condition: Condition, mark: Mark) -> Resource {
        Resource {
            provider: MARKED,
            age: Age::NotKept,
            mark,
            name: "src-pg@ri-1".into(),
            ..created(status, condition, Age::NotKept)
        }
    }

    fn healthy() -> Condition {
        Condition::Healthy { stale: Arc::from("failed") }
    }

    #[test]
    fn verdicts_follow_condition_patterns_protection_age_and_marks() {
        let protected = Resource {
            protected_by: Some("tag janitor:protect on the integration".into()),
            ..stale(Age::CreatedAt(ago(48 * HOUR)))
        };
        let included = Policy { include: Patterns::parse("orders-*"), ..policy() };
        let included_elsewhere = Policy { include: Patterns::parse("billing-*"), ..policy() };
        let excluded_by_arn = Policy { exclude: Patterns::parse("*:integration:abc"), ..policy() };
        let no_grace = with_grace(Duration::ZERO);
        let graced = with_grace(HOUR);
        let default = policy();
        let old = Age::CreatedAt(ago(25 * HOUR));
        let cases: Vec<(&str, &Policy, Resource, Verdict, &str)> = vec![
            ("old stale", &default, stale(old.clone()), Verdict::Delete, "failed, created 1d1h ago"),
            (
                "young stale",
                &default,
                stale(Age::CreatedAt(ago(2 * HOUR))),
                Verdict::TooYoung,
                "created 2h ago, JANITOR_MIN_AGE is 1d",
            ),
            (
                "exactly at min age",
                &default,
                stale(Age::CreatedAt(ago(24 * HOUR))),
                Verdict::Delete,
                "failed, created 1d ago",
            ),
            (
                "healthy",
                &default,
                created("active", healthy(), old.clone()),
                Verdict::Healthy,
                "status active is not one of failed",
            ),
            (
                "healthy under a list of stale statuses",
                &default,
                created("Normal", Condition::Healthy { stale: Arc::from("PrecheckFailed, Abnormal") }, old.clone()),
                Verdict::Healthy,
                "status Normal is not one of PrecheckFailed, Abnormal",
            ),
            (
                "in progress",
                &default,
                created("deleting", Condition::InProgress, old.clone()),
                Verdict::InProgress,
                "already deleting",
            ),
            (
                "protected",
                &default,
                protected,
                Verdict::Protected,
                "protected by tag janitor:protect on the integration",
            ),
            ("include matches name", &included, stale(old.clone()), Verdict::Delete, "failed, created 1d1h ago"),
            (
                "include matches nothing",
                &included_elsewhere,
                stale(old.clone()),
                Verdict::Excluded,
                "matches no include pattern",
            ),
            (
                "exclude matches ARN",
                &excluded_by_arn,
                stale(old.clone()),
                Verdict::Excluded,
                "matches exclude pattern *:integration:abc",
            ),
            (
                "no creation time where one is kept",
                &default,
                stale(Age::Unknown("no CreateTime".into())),
                Verdict::Waiting,
                "no CreateTime; JANITOR_MIN_AGE is 1d",
            ),
            (
                "old, and stale past the grace",
                &graced,
                Resource { mark: Mark::Since(ago(2 * HOUR)), ..stale(old.clone()) },
                Verdict::Delete,
                "failed for at least 2h, created 1d1h ago",
            ),
            (
                "old, but stale within the grace",
                &graced,
                Resource { mark: Mark::Since(ago(HOUR / 2)), ..stale(old.clone()) },
                Verdict::Waiting,
                "failed for 30m so far, JANITOR_KEPT_GRACE is 1h",
            ),
            (
                "old, not yet marked",
                &graced,
                stale(old.clone()),
                Verdict::Waiting,
                "not yet seen failed by an earlier run; JANITOR_KEPT_GRACE is 1h",
            ),
            (
                "marked past the grace",
                &default,
                marked("failed", Condition::Stale, Mark::Since(ago(2 * HOUR))),
                Verdict::Delete,
                "failed for at least 2h",
            ),
            (
                "marked within the grace",
                &default,
                marked("failed", Condition::Stale, Mark::Since(ago(HOUR / 2))),
                Verdict::Waiting,
                "failed for 30m so far, JANITOR_MARKED_GRACE is 1h",
            ),
            (
                "mark unknown",
                &default,
                marked("failed", Condition::Stale, Mark::Unknown("no first-seen store".into())),
                Verdict::Waiting,
                "no first-seen store; JANITOR_MARKED_GRACE is 1h",
            ),
            (
                "no grace and no creation time",
                &no_grace,
                marked("failed", Condition::Stale, Mark::Unmarked),
                Verdict::Delete,
                "failed, JANITOR_MARKED_GRACE is 0",
            ),
            (
                "marked but healthy",
                &default,
                marked("testing", healthy(), Mark::Unmarked),
                Verdict::Healthy,
                "status testing is not one of failed",
            ),
        ];
        for (name, policy, resource, verdict, reason) in cases {
            let judgement = policy.judge(&resource, now());
            assert_eq!((judgement.verdict, judgement.reason.as_str()), (verdict, reason), "{name}");
        }
    }

    #[test]
    fn a_provider_the_settings_do_not_name_waits_the_longest_grace() {
        let stranger = Resource {
            provider: Provider::on("stranger", &crate::domain::resource::AWS),
            ..stale(Age::CreatedAt(ago(48 * HOUR)))
        };
        assert_eq!(
            policy().judge(&stranger, now()),
            judged(Verdict::Waiting, "not yet seen failed by an earlier run; the longest grace is 1h")
        );
    }

    #[test]
    fn exclusion_wins_over_protection_and_protection_over_age() {
        let resource = Resource { protected_by: Some("tag".into()), ..stale(Age::CreatedAt(ago(HOUR))) };
        assert_eq!(policy().judge(&resource, now()).verdict, Verdict::Protected);
        let excluding = Policy { exclude: Patterns::parse("orders-*"), ..policy() };
        assert_eq!(excluding.judge(&resource, now()).verdict, Verdict::Excluded);
    }

    const DMS: Provider = Provider::on("dms", &crate::domain::resource::AWS);
    const RDS: Provider = Provider::on("rds", &crate::domain::resource::AWS);

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
        use Verdict::*;
        let mut plan = plan_of(&[(DMS, Delete), (DMS, Healthy), (DMS, Delete), (RDS, Delete)]);
        let (verdicts, tripped) = limit(&mut plan, Limits { max_deletes: 2, abort_above_percent: None });
        assert_eq!(verdicts, [Delete, Healthy, Delete, Capped]);
        assert!(tripped.is_empty());
        assert_eq!(plan[3].1.reason, "over JANITOR_MAX_DELETES=2 for this run; waits for the next run");
        let mut plan = plan_of(&[(RDS, Delete)]);
        assert_eq!(limit(&mut plan, Limits { max_deletes: 0, abort_above_percent: None }).0, [Capped]);
    }

    #[test]
    fn the_tripwire_stops_only_the_provider_over_the_share() {
        use Verdict::*;
        let mut plan = plan_of(&[
            (DMS, Delete),
            (DMS, Delete),
            (DMS, Healthy),
            (RDS, Delete),
            (RDS, Healthy),
            (RDS, Healthy),
            (RDS, Healthy),
        ]);
        let (verdicts, tripped) = limit(&mut plan, Limits { max_deletes: 100, abort_above_percent: Some(50.0) });
        assert_eq!(verdicts, [Aborted, Aborted, Healthy, Delete, Healthy, Healthy, Healthy]);
        assert_eq!(tripped, [DMS]);
        assert!(plan[0].1.reason.contains("2 of 3 scanned dms resources are stale (66.7%)"), "{}", plan[0].1.reason);
        let mut at_threshold = plan_of(&[(RDS, Delete), (RDS, Healthy)]);
        let (verdicts, tripped) =
            limit(&mut at_threshold, Limits { max_deletes: 100, abort_above_percent: Some(50.0) });
        assert_eq!((verdicts, tripped), (vec![Delete, Healthy], vec![]));
    }

    #[test]
    fn a_scoped_sweep_is_not_judged_by_the_tripwire_but_still_capped() {
        use Verdict::*;
        let mut plan = plan_of(&[(RDS, Delete), (RDS, Delete)]);
        let mut refs: Vec<(Provider, &mut Judgement)> = plan.iter_mut().map(|(p, j)| (*p, j)).collect();
        let limits = Limits { max_deletes: 1, abort_above_percent: Some(10.0) };
        assert!(apply_limits(&mut refs, limits, false).is_empty());
        assert_eq!(plan.iter().map(|(_, j)| j.verdict).collect::<Vec<_>>(), [Delete, Capped]);
    }

    #[test]
    fn aborted_deletes_do_not_use_up_the_cap() {
        use Verdict::*;
        let mut plan = plan_of(&[(DMS, Delete), (RDS, Delete), (RDS, Healthy), (RDS, Healthy)]);
        let (verdicts, _) = limit(&mut plan, Limits { max_deletes: 1, abort_above_percent: Some(60.0) });
        assert_eq!(verdicts, [Aborted, Delete, Healthy, Healthy]);
    }

    #[test]
    fn a_resource_held_by_its_age_or_grace_says_when_it_becomes_deletable() {
        let graced = with_grace(HOUR);
        let waiting = marked("failed", Condition::Stale, Mark::Since(ago(20 * 60 * Duration::from_secs(1))));
        assert_eq!(graced.judge(&waiting, now()).deletable_at, Some(ago(Duration::from_secs(20 * 60)) + HOUR));
        // Too young and under a grace: whichever ends last.
        let young = Resource { mark: Mark::Since(now()), ..stale(Age::CreatedAt(ago(24 * HOUR - HOUR / 4))) };
        assert_eq!(graced.judge(&young, now()).deletable_at, Some(now() + HOUR));
        let young_marked_long_ago = Resource { mark: Mark::Since(ago(3 * HOUR)), ..young.clone() };
        assert_eq!(graced.judge(&young_marked_long_ago, now()).deletable_at, Some(now() + HOUR / 4));
        // The marks cannot say: no store (unmarked), or a store that failed.
        for mark in [Mark::Unmarked, Mark::Unknown("the store failed".into())] {
            let judged = graced.judge(&marked("failed", Condition::Stale, mark), now());
            assert_eq!((judged.verdict, judged.deletable_at), (Verdict::Waiting, None));
        }
        // Nothing to wait for: no time.
        let old = graced.judge(&marked("failed", Condition::Stale, Mark::Since(ago(2 * HOUR))), now());
        assert_eq!((old.verdict, old.deletable_at), (Verdict::Delete, None));
    }
}
