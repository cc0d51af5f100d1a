//! The settings of the on-time re-checks: the EventBridge Scheduler one-time schedules a run creates so that a
//! resource is judged again when its grace ends, instead of at the next scheduled run.

use crate::domain::setting::{invalid, ConfigError, Env};
use std::ops::RangeInclusive;

/// Where and how the re-check schedules are created; present only with `JANITOR_RECHECK_SCHEDULER_ROLE_ARN`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecheckSettings {
    /// The role EventBridge Scheduler assumes to invoke the function (the schedule's `Target.RoleArn`).
    pub role_arn: String,
    /// The schedule group the schedules are created in (the template's, which its grants name).
    pub group: String,
    /// Schedules one run creates at most, earliest first; the rest wait for the next run.
    pub max_schedules: usize,
}

/// The accepted `JANITOR_RECHECK_MAX_SCHEDULES`: each is one CreateSchedule call made within the run's deadline.
pub const MAX_SCHEDULES_RANGE: RangeInclusive<u64> = 1..=100;
pub const DEFAULT_MAX_SCHEDULES: u64 = 20;

/// The re-check settings: `None` without the role, when the group may not be set either (a group alone would
/// schedule nothing, and say nothing about it).
pub fn parse(
    env: &Env<'_>,
    number_of: &dyn Fn(&'static str, u64, RangeInclusive<u64>) -> Result<u64, ConfigError>,
) -> Result<Option<RecheckSettings>, ConfigError> {
    let max_schedules = number_of("JANITOR_RECHECK_MAX_SCHEDULES", DEFAULT_MAX_SCHEDULES, MAX_SCHEDULES_RANGE)?;
    let group = env.get("JANITOR_RECHECK_SCHEDULE_GROUP");
    if let Some(group) = &group {
        if !is_group_name(group) {
            return Err(invalid(
                "JANITOR_RECHECK_SCHEDULE_GROUP",
                group,
                "an EventBridge Scheduler schedule group name: 1 to 64 of letters, digits, '-', '_' and '.'",
            ));
        }
    }
    let Some(role_arn) = env.get("JANITOR_RECHECK_SCHEDULER_ROLE_ARN") else {
        if group.is_some() {
            return Err(invalid(
                "JANITOR_RECHECK_SCHEDULER_ROLE_ARN",
                "",
                "the role EventBridge Scheduler assumes to invoke the function, since JANITOR_RECHECK_SCHEDULE_GROUP \
                 is set",
            ));
        }
        return Ok(None);
    };
    if !is_role_arn(&role_arn) {
        return Err(invalid(
            "JANITOR_RECHECK_SCHEDULER_ROLE_ARN",
            &role_arn,
            "an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)",
        ));
    }
    let Some(group) = group else {
        return Err(invalid(
            "JANITOR_RECHECK_SCHEDULE_GROUP",
            "",
            "the schedule group the re-checks are created in (the template's), since \
             JANITOR_RECHECK_SCHEDULER_ROLE_ARN is set",
        ));
    };
    // The range is checked above and is far below usize::MAX.
    let max_schedules = usize::try_from(max_schedules).unwrap_or(usize::MAX);
    Ok(Some(RecheckSettings { role_arn, group, max_schedules }))
}

/// A schedule group's name as the Scheduler API model has it (`ScheduleGroupName`): 1 to 64 of `[0-9a-zA-Z-_.]`.
pub fn is_group_name(text: &str) -> bool {
    (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A role ARN as the Scheduler API model's `RoleArn` pattern has it (`^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@\/-]+$`,
/// at most 1,600 characters), except that a partition of several words (`aws-us-gov`, `aws-iso-b`) is accepted too:
/// the model's pattern would refuse those partitions' roles, which IAM's ARN format allows (assumed: the service
/// takes them; refusing a setting the service takes would be the worse mistake).
pub fn is_role_arn(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("arn:aws") else { return false };
    let Some((partition_suffix, rest)) = rest.split_once(":iam::") else { return false };
    let partition_ok = partition_suffix.is_empty()
        || partition_suffix
            .strip_prefix('-')
            .is_some_and(|words| words.split('-').all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase())));
    let Some((account, name)) = rest.split_once(":role/") else { return false };
    partition_ok
        && text.len() <= 1_600
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@/-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_arns_are_checked_by_the_scheduler_models_patterns() {
        assert!(is_group_name("replication-janitor-RecheckGroup-1a2B3c.x_y"));
        assert!(!is_group_name("") && !is_group_name("a/b") && !is_group_name(&"g".repeat(65)));
        assert!(is_role_arn("arn:aws:iam::123456789012:role/service-role/janitor-rechecks"));
        assert!(is_role_arn("arn:aws-us-gov:iam::123456789012:role/r+=,.@_-"));
        for bad in [
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:iam::12345678901:role/x",
            "arn:aws:iam::123456789012:role/",
            "arn:aws-:iam::123456789012:role/x",
            "arn:aws-us--gov:iam::123456789012:role/x",
            "arn:aws-GOV:iam::123456789012:role/x",
            "arn:aws:sts::123456789012:role/x",
            "arn:aws:iam::123456789012:role/a b",
        ] {
            assert!(!is_role_arn(bad), "{bad}");
        }
        assert!(!is_role_arn(&format!("arn:aws:iam::123456789012:role/{}", "r".repeat(1_600))));
    }
}
