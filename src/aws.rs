//! Building the AWS adapters once per process: one SDK client per service and region, from aws-config defaults
//! (so `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` work), each call bounded in time. Retries are the
//! janitor's own ([`crate::engine::calls`]): the SDK makes one attempt per call.

use crate::domain::clock::Clocks;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use aws_smithy_types::date_time::{DateTime, Format};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long one attempt of a control-plane call may take, and connecting to its endpoint. The SDK sets no
/// operation timeout by default, so without these a call that never answers holds the run until Lambda kills it.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Loads the shared AWS configuration (region, credentials, endpoints) from the environment and profiles.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Bounds every SDK call: the connection, each attempt, and the whole operation.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(ATTEMPT_TIMEOUT)
        .build()
}

/// The first-seen store's DynamoDB calls and the DTS secret's Secrets Manager reads keep the SDK's standard retries
/// (their calls are few and not paced), bounded like every other call.
pub fn store_retry_config(max_attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(max_attempts)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_secs(5))
}

/// Feeds every answer's `Date` header to [`Clocks`], so a run can tell when this machine's clock is off (the SDK
/// measures the same skew for signing, but keeps it to itself). `Date` is a standard HTTP header on every AWS
/// answer; an answer without one, or from a cache (`Age`), is not counted.
#[derive(Debug)]
pub struct ClockWatch {
    service: &'static str,
    clocks: Arc<Clocks>,
}

impl ClockWatch {
    pub fn new(service: &'static str, clocks: &Arc<Clocks>) -> ClockWatch {
        ClockWatch { service, clocks: Arc::clone(clocks) }
    }
}

/// The time an answer's `Date` header (IMF-fixdate) says, unless the answer came from a cache (an `Age` header),
/// whose `Date` is stale.
pub fn answer_date(date: Option<&str>, cached: bool) -> Option<SystemTime> {
    let date = DateTime::from_str(date.filter(|_| !cached)?, Format::HttpDate).ok()?;
    SystemTime::try_from(date).ok()
}

/// When the attempt left, by this machine's clock.
#[derive(Debug, Clone, Copy)]
struct SentAt(SystemTime);

impl Storable for SentAt {
    type Storer = StoreReplace<SentAt>;
}

impl Intercept for ClockWatch {
    fn name(&self) -> &'static str {
        "ClockWatch"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(SentAt(SystemTime::now()));
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let received = SystemTime::now();
        let headers = context.response().headers();
        let date = answer_date(headers.get("date"), headers.get("age").is_some());
        if let (Some(server), Some(SentAt(sent))) = (date, cfg.load::<SentAt>()) {
            self.clocks.observe(self.service, server, *sent, received);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answers_date_counts_unless_it_came_from_a_cache() {
        let date = Some("Sun, 06 Nov 1994 08:49:37 GMT");
        let expected = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(answer_date(date, false), Some(expected));
        assert_eq!(answer_date(date, true), None, "a cached answer's Date is stale");
        assert_eq!(answer_date(Some("yesterday"), false), None);
        assert_eq!(answer_date(None, false), None);
    }
}
