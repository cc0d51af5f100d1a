//! The port the re-checks create their schedules through, and its adapter on EventBridge Scheduler's official SDK
//! client. What the adapter relies on, from the Scheduler API model (botocore's `scheduler/2021-06-30`, the SDK's
//! `aws-sdk-scheduler`) and the EventBridge Scheduler User Guide:
//! - documented: `CreateSchedule` takes `Name` (1 to 64 of `[0-9a-zA-Z-_.]`, unique in its group: a taken name is
//!   `ConflictException`, HTTP 409), `GroupName`, `ScheduleExpression` `at(yyyy-mm-ddThh:mm:ss)` evaluated in
//!   `ScheduleExpressionTimezone`, `FlexibleTimeWindow {Mode: OFF}`, `ActionAfterCompletion: DELETE` (the one-time
//!   schedule removes itself once it has invoked its target), and `Target {Arn, RoleArn, Input}` (`Input` must be
//!   well-formed JSON for a Lambda target); every schedule type invokes with 60-second precision, within the minute
//!   it names and never before; Scheduler invokes a Lambda target asynchronously;
//! - documented: the caller needs `scheduler:CreateSchedule` on the schedule's ARN
//!   (`arn:<partition>:scheduler:<region>:<account>:schedule/<group>/<name>`) and `iam:PassRole` on the role, with
//!   `iam:PassedToService` = `scheduler.amazonaws.com` (the Service Authorization Reference);
//! - assumed: that a name taken by a schedule of another minute or scope never happens (the name is derived from
//!   both, see `plan`), so a conflict always means "this re-check exists already".

use crate::aws;
use crate::engine::calls::Attempt;
use crate::providers::aws_sdk::classify;
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_scheduler::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_scheduler::operation::create_schedule::CreateScheduleError;
use aws_sdk_scheduler::types::{ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target};
use aws_smithy_types::error::display::DisplayErrorContext;

/// One one-time schedule, as the re-checks ask for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneTimeSchedule {
    pub name: String,
    pub group: String,
    /// `at(yyyy-mm-ddThh:mm:ss)`, in UTC.
    pub expression: String,
    pub description: String,
    /// The function to invoke.
    pub target_arn: String,
    /// The role EventBridge Scheduler invokes it with.
    pub role_arn: String,
    /// The payload the function receives.
    pub input: String,
}

/// A schedule that exists now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    New,
    /// Its name was taken: created by an earlier run, which asked for the same minute and scope.
    Existing,
}

/// Why a schedule was not created, by what fixes it.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    /// The Scheduler refused it as asked (denied, invalid, no such group, over a quota): the settings or the grants
    /// need a fix; the same call again would be refused again.
    #[error("{code}: {message}")]
    Refused { code: String, message: String },
    /// Throttled, a server error, a timeout or no connection: the next run asks again.
    #[error("{0}")]
    Transient(String),
}

/// Creates one-time schedules.
#[async_trait]
pub trait SchedulePort: Send + Sync {
    async fn create(&self, schedule: &OneTimeSchedule) -> Result<Created, ScheduleError>;
}

/// The port on EventBridge Scheduler, through one client built at cold start.
pub struct EventBridgeScheduler {
    client: aws_sdk_scheduler::Client,
}

impl EventBridgeScheduler {
    pub fn new(client: aws_sdk_scheduler::Client) -> EventBridgeScheduler {
        EventBridgeScheduler { client }
    }

    /// A client of the process's AWS configuration (the function's region, where the template's group is), each
    /// call bounded in time, with the SDK's standard retries: their idempotency token (`ClientToken`, generated once
    /// per call) makes a retried create the same create.
    pub fn from_sdk(sdk: &SdkConfig, max_attempts: u32) -> EventBridgeScheduler {
        let config = aws_sdk_scheduler::config::Builder::from(sdk)
            .retry_config(aws::store_retry_config(max_attempts))
            .timeout_config(aws::timeout_config())
            .build();
        EventBridgeScheduler::new(aws_sdk_scheduler::Client::from_conf(config))
    }
}

#[async_trait]
impl SchedulePort for EventBridgeScheduler {
    async fn create(&self, schedule: &OneTimeSchedule) -> Result<Created, ScheduleError> {
        let built = |what: &str, e: aws_smithy_types::error::operation::BuildError| ScheduleError::Refused {
            code: "InvalidRequest".to_owned(),
            message: format!("the {what} could not be built: {e}"),
        };
        let target = Target::builder()
            .arn(&schedule.target_arn)
            .role_arn(&schedule.role_arn)
            .input(&schedule.input)
            .build()
            .map_err(|e| built("target", e))?;
        let window =
            FlexibleTimeWindow::builder().mode(FlexibleTimeWindowMode::Off).build().map_err(|e| built("window", e))?;
        let sent = self
            .client
            .create_schedule()
            .name(&schedule.name)
            .group_name(&schedule.group)
            .schedule_expression(&schedule.expression)
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .action_after_completion(ActionAfterCompletion::Delete)
            .description(&schedule.description)
            .target(target)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Created::New),
            Err(error) if matches!(error.as_service_error(), Some(CreateScheduleError::ConflictException(_))) => {
                Ok(Created::Existing)
            }
            Err(error) => Err(failure(&error)),
        }
    }
}

/// The error a failed create is reported as.
fn failure(
    error: &SdkError<CreateScheduleError, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> ScheduleError {
    let answered = matches!(error, SdkError::ServiceError(_));
    match (classify(error), error.code()) {
        (Attempt::Final, Some(code)) if answered => ScheduleError::Refused {
            code: code.to_owned(),
            message: error.message().unwrap_or("no message").to_owned(),
        },
        (_, Some(code)) if answered => {
            ScheduleError::Transient(format!("{code}: {}", error.message().unwrap_or("no message")))
        }
        _ => ScheduleError::Transient(DisplayErrorContext(error).to_string()),
    }
}

/// A port in memory for tests: it records every schedule, answers `Existing` for a name it holds, and fails or
/// stalls as told.
#[cfg(test)]
pub mod memory {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    #[derive(Default)]
    pub struct Schedules {
        pub created: Mutex<Vec<OneTimeSchedule>>,
        /// Every call, in order, with its answer.
        pub calls: Mutex<Vec<String>>,
        /// Answer this to every call whose name contains the key.
        pub fail: Vec<(String, ScheduleError)>,
        /// Take this long to answer.
        pub delay: Option<Duration>,
    }

    impl Schedules {
        pub fn names(&self) -> Vec<String> {
            self.created.lock().map(|c| c.iter().map(|s| s.name.clone()).collect()).unwrap_or_default()
        }
    }

    #[async_trait]
    impl SchedulePort for Schedules {
        async fn create(&self, schedule: &OneTimeSchedule) -> Result<Created, ScheduleError> {
            if let Some(delay) = self.delay {
                tokio::time::sleep(delay).await;
            }
            if let Ok(mut calls) = self.calls.lock() {
                calls.push(schedule.name.clone());
            }
            if let Some((_, error)) = self.fail.iter().find(|(key, _)| schedule.name.contains(key.as_str())) {
                return Err(error.clone());
            }
            let mut created = self.created.lock().map_err(|_| ScheduleError::Transient("poisoned".to_owned()))?;
            if created.iter().any(|s| s.name == schedule.name && s.group == schedule.group) {
                return Ok(Created::Existing);
            }
            created.push(schedule.clone());
            Ok(Created::New)
        }
    }
}
