//! On-time re-checks: after a run, one EventBridge Scheduler one-time schedule per minute and scope in which the
//! graces (or minimum ages) of the resources it left waiting end, invoking this function with a payload narrowed to
//! that scope. Without them a resource whose grace ends just after a run lives until the next one (up to a whole
//! schedule period), and a deployment driven by events alone never deletes at all: an event only marks.
//!
//! The fired run is an ordinary narrowed run: it re-judges its scope from scratch (a resource that recovered, got the
//! protect tag or was deleted meanwhile is left alone; the mark is never trusted alone), under the configuration's
//! dry run and caps. A schedule that fires for a resource already deleted finds nothing to do.
//!
//! Creating the schedules never fails the run: what could not be created is noted, counted in the report and the
//! `RecheckFailed` metric, and asked for again by the next run (the same minute and scope give the same name).

pub mod plan;
pub mod scheduler;

use crate::config::recheck::RecheckSettings;
use crate::domain::clock::rfc3339;
use crate::domain::text;
use crate::engine::report::{RecheckOutcome, RecheckRecord, RecheckSchedule, Report};
use aws_config::SdkConfig;
use futures::stream::{self, StreamExt};
use plan::Planned;
use scheduler::{Created, EventBridgeScheduler, OneTimeSchedule, ScheduleError, SchedulePort};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Schedules created at once: a few, so a run with many scopes is quick without bursting into the Scheduler's
/// request rate.
const IN_FLIGHT: usize = 4;

/// The longest the re-checks may take of a run; they also take at most half of what is left before its deadline,
/// so the archive and the notification that follow keep their time.
pub const TIME_LIMIT: Duration = Duration::from_secs(10);

/// The longest error text a schedule's record keeps.
const ERROR_LIMIT: usize = 300;

/// Creates a run's re-check schedules through a port (EventBridge Scheduler, or memory in tests).
pub struct Rechecks {
    port: Arc<dyn SchedulePort>,
    settings: RecheckSettings,
}

impl Rechecks {
    pub fn new(port: Arc<dyn SchedulePort>, settings: RecheckSettings) -> Rechecks {
        Rechecks { port, settings }
    }

    /// The re-checks through a Scheduler client of the process's AWS configuration, built once at cold start.
    pub fn from_sdk(sdk: &SdkConfig, settings: RecheckSettings, max_attempts: u32) -> Rechecks {
        Rechecks::new(Arc::new(EventBridgeScheduler::from_sdk(sdk, max_attempts)), settings)
    }

    /// Schedules the re-checks `report` calls for now, each invoking `target` (the invoked function's ARN; `None`
    /// outside Lambda), before `deadline` if there is one; records what happened in the report.
    pub async fn record(&self, report: &mut Report, target: Option<&str>, deadline: Option<SystemTime>) {
        let now = SystemTime::now();
        let until = budget_end(now, deadline);
        self.record_at(report, target, now, until).await;
    }

    /// [`Rechecks::record`] as if at `now` (which graces are still ahead), with every call answered by `until` (this
    /// machine's clock).
    pub async fn record_at(&self, report: &mut Report, target: Option<&str>, now: SystemTime, until: SystemTime) {
        let planned = plan::plan(report, now);
        if planned.is_empty() {
            return;
        }
        let Some(target) = target else {
            // The CLI has no function to invoke, and a function would judge with its own first-seen store: only the
            // Lambda schedules its own re-checks.
            report.notes.push(format!(
                "{} on-time re-check(s) not scheduled: only the Lambda schedules them (a re-check invokes the \
                 function itself); the next run judges these resources",
                planned.len()
            ));
            return;
        };
        let max = self.settings.max_schedules;
        let deferred = planned.len().saturating_sub(max);
        let asked: Vec<Planned> = planned.into_iter().take(max).collect();
        let answers: Vec<(Planned, Result<Created, String>)> = stream::iter(asked)
            .map(|planned| async move {
                let schedule = self.schedule_of(&planned, target);
                let left = until.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO);
                let answer = match tokio::time::timeout(left, self.port.create(&schedule)).await {
                    Ok(Ok(created)) => Ok(created),
                    Ok(Err(error)) => Err(explained(&error)),
                    Err(_) => Err("no answer before the run's time for re-checks ran out; the next run asks again \
                                   (a schedule created meanwhile counts as there)"
                        .to_owned()),
                };
                (planned, answer)
            })
            .buffered(IN_FLIGHT)
            .collect()
            .await;
        let mut record = RecheckRecord { deferred, ..RecheckRecord::default() };
        for (planned, answer) in answers {
            let (outcome, error) = match answer {
                Ok(Created::New) => (RecheckOutcome::Created, None),
                Ok(Created::Existing) => (RecheckOutcome::Existing, None),
                Err(error) => (RecheckOutcome::Failed, Some(one_line(&error))),
            };
            match outcome {
                RecheckOutcome::Created => record.created += 1,
                RecheckOutcome::Existing => record.existing += 1,
                RecheckOutcome::Failed => record.failed += 1,
            }
            record.schedules.push(RecheckSchedule {
                name: planned.name(),
                at: rfc3339(planned.at),
                account: planned.account.clone(),
                provider: planned.provider,
                region: planned.region.clone(),
                resources: planned.resources,
                outcome,
                error,
            });
        }
        if deferred > 0 {
            report.notes.push(format!(
                "{deferred} on-time re-check(s) over JANITOR_RECHECK_MAX_SCHEDULES={max} were not scheduled (the \
                 earliest were): the next run schedules them, or judges their resources itself"
            ));
        }
        if let Some(first) = record.schedules.iter().find_map(|s| s.error.as_ref()) {
            report.notes.push(format!(
                "{} on-time re-check(s) could not be scheduled, the first: {first}; the next run asks again",
                record.failed
            ));
            tracing::warn!(failed = record.failed, error = %first, "re-checks could not be scheduled");
        }
        tracing::info!(
            created = record.created,
            existing = record.existing,
            deferred = record.deferred,
            failed = record.failed,
            "on-time re-checks scheduled"
        );
        report.rechecks = Some(record);
    }

    fn schedule_of(&self, planned: &Planned, target: &str) -> OneTimeSchedule {
        OneTimeSchedule {
            name: planned.name(),
            group: self.settings.group.clone(),
            expression: planned.expression(),
            description: planned.description(),
            target_arn: target.to_owned(),
            role_arn: self.settings.role_arn.clone(),
            input: planned.input(),
        }
    }
}

/// When the re-checks must be done: [`TIME_LIMIT`] from `now`, and no later than halfway to `deadline`.
fn budget_end(now: SystemTime, deadline: Option<SystemTime>) -> SystemTime {
    let limit = now.checked_add(TIME_LIMIT).unwrap_or(now);
    let Some(deadline) = deadline else { return limit };
    let half = deadline.duration_since(now).unwrap_or(Duration::ZERO) / 2;
    limit.min(now.checked_add(half).unwrap_or(now))
}

/// A failure as the report says it: what kind, then the Scheduler's words.
fn explained(error: &ScheduleError) -> String {
    match error {
        ScheduleError::Refused { .. } => format!("refused ({error}): check the re-check settings and grants"),
        ScheduleError::Transient(_) => format!("{error}"),
    }
}

/// `text` on one line (whitespace runs, newlines among them, as one space), safe to show and cut.
fn one_line(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text::display(&joined, ERROR_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::scheduler::memory::Schedules;
    use super::*;
    use crate::domain::resource::{Provider, AWS};
    use crate::engine::policy::Verdict;
    use crate::engine::report::{Counts, Item, Outcome, Sweep};
    use std::time::UNIX_EPOCH;

    const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:replication-janitor";
    const ROLE: &str = "arn:aws:iam::123456789012:role/janitor-rechecks";

    /// 2026-01-05T14:00:00Z.
    fn t0() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_767_621_600)
    }

    fn settings(max_schedules: usize) -> RecheckSettings {
        RecheckSettings { role_arn: ROLE.to_owned(), group: "janitor-rechecks".to_owned(), max_schedules }
    }

    fn waiting(id: &str, in_secs: u64) -> Item {
        Item {
            kind: "rds-integration",
            id: id.to_owned(),
            name: id.to_owned(),
            status: "failed".to_owned(),
            verdict: Verdict::Waiting,
            reason: String::new(),
            outcome: Outcome::Kept,
            error: None,
            error_class: None,
            failure: None,
            deletable_at: Some(rfc3339(t0() + Duration::from_secs(in_secs))),
            definition: None,
        }
    }

    /// A report of RDS in us-east-1 with resources whose graces end `offsets` seconds after t0.
    fn report(offsets: &[u64]) -> Report {
        let items = offsets.iter().enumerate().map(|(n, s)| waiting(&format!("r{n}"), *s)).collect();
        Report {
            dry_run: false,
            trigger: "test".to_owned(),
            started_at: String::new(),
            duration_ms: 0,
            notes: Vec::new(),
            totals: Counts::default(),
            sweeps: vec![Sweep { items, ..Sweep::new(Provider::on("rds", &AWS), "us-east-1") }],
            archive: None,
            account: None,
            accounts: Vec::new(),
            notify_failed: false,
            rechecks: None,
        }
    }

    async fn recorded(port: &Arc<Schedules>, max: usize, report: &mut Report) {
        let rechecks = Rechecks::new(Arc::clone(port) as Arc<dyn SchedulePort>, settings(max));
        rechecks.record_at(report, Some(FUNCTION), t0(), SystemTime::now() + TIME_LIMIT).await;
    }

    fn outcomes(report: &Report) -> Vec<(String, RecheckOutcome, usize)> {
        let schedules = report.rechecks.as_ref().map(|r| r.schedules.clone()).unwrap_or_default();
        schedules.into_iter().map(|s| (s.at, s.outcome, s.resources)).collect()
    }

    #[tokio::test]
    async fn one_schedule_per_minute_and_scope_asks_the_scheduler_for_a_one_time_run_of_that_scope() {
        let port = Arc::new(Schedules::default());
        let mut report = report(&[3_600, 3_610, 3_700]);
        recorded(&port, 20, &mut report).await;
        assert_eq!(
            outcomes(&report),
            [
                ("2026-01-05T15:01:00Z".to_owned(), RecheckOutcome::Created, 2),
                ("2026-01-05T15:03:00Z".to_owned(), RecheckOutcome::Created, 1),
            ],
            "15:00:00 and 15:00:10 plus the margin fire in 15:01; 15:01:40 plus the margin in 15:03"
        );
        let created = port.created.lock().map(|c| c.clone()).unwrap_or_default();
        let first = &created[0];
        assert_eq!(first.expression, "at(2026-01-05T15:01:00)");
        assert_eq!((first.target_arn.as_str(), first.role_arn.as_str()), (FUNCTION, ROLE));
        assert_eq!(first.group, "janitor-rechecks");
        assert_eq!(first.input, r#"{"providers":["rds"],"regions":["us-east-1"]}"#);
        assert!(first.name.starts_with("rj-20260105T1501Z-rds-us-east-1-"), "{}", first.name);
        let json = serde_json::to_value(&report).expect("JSON");
        assert_eq!(json["rechecks"]["created"], 2);
        assert_eq!(json["rechecks"]["schedules"][0]["outcome"], "created");
        assert!(report.notes.is_empty(), "nothing to say when all went well: {:?}", report.notes);
    }

    #[tokio::test]
    async fn a_second_run_asking_for_the_same_re_check_creates_no_duplicate() {
        let port = Arc::new(Schedules::default());
        recorded(&port, 20, &mut report(&[3_600])).await;
        let mut again = report(&[3_605, 7_200]);
        recorded(&port, 20, &mut again).await;
        assert_eq!(
            outcomes(&again),
            [
                ("2026-01-05T15:01:00Z".to_owned(), RecheckOutcome::Existing, 1),
                ("2026-01-05T16:01:00Z".to_owned(), RecheckOutcome::Created, 1),
            ],
            "a taken name is the same re-check: success"
        );
        assert_eq!(port.names().len(), 2);
        let record = again.rechecks.expect("recorded");
        assert_eq!((record.created, record.existing, record.failed), (1, 1, 0));
    }

    #[tokio::test]
    async fn at_most_the_setting_the_earliest_first_and_a_note_says_how_many_wait() {
        let port = Arc::new(Schedules::default());
        let mut report = report(&[900, 300, 600, 1_200]);
        recorded(&port, 2, &mut report).await;
        let at: Vec<String> = outcomes(&report).into_iter().map(|(at, _, _)| at).collect();
        assert_eq!(at, ["2026-01-05T14:06:00Z", "2026-01-05T14:11:00Z"], "the two earliest");
        assert_eq!(report.rechecks.as_ref().map(|r| r.deferred), Some(2));
        assert_eq!(
            report.notes,
            ["2 on-time re-check(s) over JANITOR_RECHECK_MAX_SCHEDULES=2 were not scheduled (the earliest were): the \
              next run schedules them, or judges their resources itself"]
        );
    }

    #[tokio::test]
    async fn a_schedule_that_cannot_be_created_is_noted_on_one_line_and_the_others_go_ahead() {
        let refused = ScheduleError::Refused {
            code: "AccessDeniedException".to_owned(),
            message: "not authorized to perform:\niam:PassRole".to_owned(),
        };
        let port = Arc::new(Schedules { fail: vec![("T1501Z".to_owned(), refused)], ..Schedules::default() });
        let mut report = report(&[3_600, 7_200]);
        recorded(&port, 20, &mut report).await;
        let record = report.rechecks.clone().expect("recorded");
        assert_eq!((record.created, record.failed), (1, 1));
        let error = record.schedules[0].error.clone().unwrap_or_default();
        assert_eq!(
            error,
            "refused (AccessDeniedException: not authorized to perform: iam:PassRole): check the re-check settings \
             and grants"
        );
        assert_eq!(
            report.notes,
            [format!("1 on-time re-check(s) could not be scheduled, the first: {error}; the next run asks again")]
        );
    }

    #[tokio::test]
    async fn the_re_checks_end_by_their_time_and_an_unanswered_one_is_failed() {
        let port = Arc::new(Schedules { delay: Some(Duration::from_secs(5)), ..Schedules::default() });
        let mut report = report(&[3_600]);
        let rechecks = Rechecks::new(Arc::clone(&port) as Arc<dyn SchedulePort>, settings(20));
        let started = std::time::Instant::now();
        let until = SystemTime::now() + Duration::from_millis(200);
        rechecks.record_at(&mut report, Some(FUNCTION), t0(), until).await;
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        let record = report.rechecks.expect("recorded");
        assert_eq!(record.failed, 1);
        assert!(record.schedules[0].error.as_deref().unwrap_or_default().starts_with("no answer before"));
    }

    #[tokio::test]
    async fn the_cli_schedules_nothing_and_says_so() {
        let port = Arc::new(Schedules::default());
        let mut report = report(&[3_600, 7_200]);
        let rechecks = Rechecks::new(Arc::clone(&port) as Arc<dyn SchedulePort>, settings(20));
        rechecks.record_at(&mut report, None, t0(), SystemTime::now() + TIME_LIMIT).await;
        assert!(port.calls.lock().map(|c| c.is_empty()).unwrap_or(false));
        assert!(report.rechecks.is_none());
        assert_eq!(
            report.notes,
            ["2 on-time re-check(s) not scheduled: only the Lambda schedules them (a re-check invokes the function \
              itself); the next run judges these resources"]
        );
        let mut quiet = self::report(&[]);
        rechecks.record_at(&mut quiet, None, t0(), SystemTime::now() + TIME_LIMIT).await;
        assert!(quiet.notes.is_empty() && quiet.rechecks.is_none(), "nothing waiting, nothing to say");
    }

    #[test]
    fn the_re_checks_take_at_most_half_of_what_is_left_before_the_deadline() {
        assert_eq!(budget_end(t0(), None), t0() + TIME_LIMIT);
        assert_eq!(budget_end(t0(), Some(t0() + Duration::from_secs(60))), t0() + TIME_LIMIT);
        assert_eq!(budget_end(t0(), Some(t0() + Duration::from_secs(6))), t0() + Duration::from_secs(3));
        assert_eq!(budget_end(t0(), Some(t0() - Duration::from_secs(6))), t0(), "a deadline past leaves nothing");
    }
}
