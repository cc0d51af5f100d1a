//! What the AWS providers share, apart from the port: one SDK client per region on its own lane, marker-paginated
//! listings, the classes of the SDK's errors, and a delete whose "not found" is verified before it counts.

use super::{DeleteOutcome, ScanError};
use crate::domain::resource::ErrorClass;
use crate::engine::calls::{Access, Attempt, Caller, Failed, Lane};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::sync::Arc;

/// One region's client and the lane its calls are paced on.
pub struct Regional<C> {
    /// The service's IAM prefix (`dms`, `rds`, ...), for a denial's reason.
    pub service: &'static str,
    pub region: String,
    pub client: C,
    pub lane: Arc<Lane>,
}

impl<C> Regional<C> {
    /// A client for `region`, on a lane of its own named after `service` and the region.
    pub fn new(service: &'static str, region: impl Into<String>, client: C) -> Regional<C> {
        let region = region.into();
        Regional { lane: Lane::new(format!("{service} {region}")), service, region, client }
    }
}

/// One SDK client per region, each on its own lane; `build` makes a client for a region.
pub fn sdk_clients<C>(
    service: &'static str,
    regions: &[String],
    build: impl Fn(aws_config::Region) -> C,
) -> Vec<Regional<C>> {
    regions
        .iter()
        .map(|region| Regional::new(service, region.clone(), build(aws_config::Region::new(region.clone()))))
        .collect()
}

/// Looks up the client built for `region` at start.
pub(crate) fn regional<'a, C>(clients: &'a [Regional<C>], region: &str) -> Option<&'a Regional<C>> {
    clients.iter().find(|r| r.region == region)
}

/// The regions of the clients built at start.
pub(crate) fn regions_of<C>(clients: &[Regional<C>]) -> Vec<String> {
    clients.iter().map(|r| r.region.clone()).collect()
}

/// A delete in a region no client was built for (a resource from another run's configuration).
pub(crate) fn no_client_to_delete(region: &str) -> DeleteOutcome {
    DeleteOutcome::failed(ErrorClass::Service, format!("no client was built for {region}"))
}

pub(crate) fn no_client(operation: &'static str, region: &str) -> ScanError {
    ScanError {
        operation,
        region: region.to_owned(),
        message: "no client was built for this region at start".to_owned(),
        class: ErrorClass::Service,
    }
}

/// What a provider's delete call's error codes mean, as its service's model documents them for that call: each
/// AWS provider declares its own.
pub struct DeleteCodes {
    /// "Not there any more": only a claim, checked by a describe before it counts as gone.
    pub gone: &'static [&'static str],
    /// "Not in a state to delete now": skipped, for a later run.
    pub wrong_state: &'static [&'static str],
    /// Codes whose meaning the message alone would mislead about, with what they do mean.
    pub explained: &'static [(&'static str, &'static str)],
}

/// Codes the AWS SDKs treat as throttling (aws-smithy-runtime's classifier list).
pub(crate) const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];
/// Codes the AWS SDKs treat as transient.
pub(crate) const TRANSIENT: &[&str] =
    &["RequestTimeout", "RequestTimeoutException", "InternalError", "ServiceUnavailable"];

/// How an SDK error bears on retrying: throttling by code, transient by code, by HTTP 5xx, by timeout or by a
/// failed connection; the rest is final.
pub fn classify<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> Attempt {
    match error {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => Attempt::Transient,
        SdkError::DispatchFailure(failure) if failure.is_io() || failure.is_timeout() => Attempt::Transient,
        SdkError::ServiceError(context) => {
            let code = error.code().unwrap_or_default();
            let status = context.raw().status().as_u16();
            if THROTTLING.contains(&code) || status == 429 {
                Attempt::Throttled
            } else if TRANSIENT.contains(&code) || matches!(status, 500 | 502 | 503 | 504) {
                Attempt::Transient
            } else {
                Attempt::Final
            }
        }
        _ => Attempt::Final,
    }
}

/// The class of a call that failed for good.
pub fn error_class<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> ErrorClass {
    match error {
        SdkError::TimeoutError(_) => ErrorClass::TimedOut,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => ErrorClass::TimedOut,
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => ErrorClass::Transport,
        SdkError::ServiceError(context) => {
            let code = error.code().unwrap_or_default();
            if THROTTLING.contains(&code) || context.raw().status().as_u16() == 429 {
                ErrorClass::Throttled
            } else if is_iam_denial(code) {
                ErrorClass::Denied
            } else {
                ErrorClass::Service
            }
        }
        _ => ErrorClass::Service,
    }
}

/// An IAM denial of the janitor's own role (`AccessDeniedException`, or `AccessDenied` in the query protocols).
/// A service's own access faults (DMS's `AccessDeniedFault`) are not: their provider explains them.
pub(crate) fn is_iam_denial(code: &str) -> bool {
    code == "AccessDeniedException" || code == "AccessDenied"
}

pub(crate) fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (gave up after {attempts} attempts)")
    } else {
        String::new()
    }
}

/// What a failed delete call means, by the service's error code. A not-found code is only a claim here: the
/// adapter checks it ([`Claim::Gone`]) before it counts as gone.
pub(crate) enum Claim {
    Gone(String),
    Outcome(DeleteOutcome),
}

pub(crate) fn delete_claim<E>(
    action: &str,
    target: &str,
    codes: &DeleteCodes,
    failed: &Failed<SdkError<E, HttpResponse>>,
) -> Claim
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let error = &failed.error;
    let code = error.code().unwrap_or_default();
    let message = error.message().unwrap_or_default();
    let attempts = attempts_note(failed.attempts);
    let class = error_class(error);
    let explained = codes.explained.iter().find(|(c, _)| *c == code).map(|(_, meaning)| meaning);
    Claim::Outcome(if codes.gone.contains(&code) {
        return Claim::Gone(format!("{code}: {message}"));
    } else if codes.wrong_state.contains(&code) {
        DeleteOutcome::Skipped { reason: format!("{code}: {message}") }
    } else if let Some(meaning) = explained {
        DeleteOutcome::failed(class, format!("{action}: {meaning} ({code}: {message})"))
    } else if is_iam_denial(code) {
        DeleteOutcome::failed(
            class,
            format!("access denied: the janitor's role may not call {action} on {target} ({code}: {message})"),
        )
    } else if !code.is_empty() {
        DeleteOutcome::failed(class, format!("{action} failed: {code}: {message}{attempts}"))
    } else {
        DeleteOutcome::failed(class, format!("{action} failed: {}{attempts}", DisplayErrorContext(error)))
    })
}

/// What a second look after a not-found answer found.
pub(crate) enum Recheck {
    /// The describe does not list it.
    Absent,
    /// Still listed, with this status.
    Listed(String),
}

/// Turns a verified not-found into an outcome: gone only when the describe no longer lists the resource.
pub(crate) fn verified(action: &str, claim: &str, recheck: Result<Recheck, ScanError>) -> DeleteOutcome {
    match recheck {
        Ok(Recheck::Absent) => DeleteOutcome::AlreadyGone,
        // Compared ignoring case: Glue spells it DELETING, the others deleting.
        Ok(Recheck::Listed(status)) if status.eq_ignore_ascii_case("deleting") => DeleteOutcome::Skipped {
            reason: format!("{action} answered {claim}, and it is listed as deleting: another delete is under way"),
        },
        Ok(Recheck::Listed(status)) => DeleteOutcome::failed(
            ErrorClass::NotFound,
            format!("{action} answered {claim}, but it is still listed with status {status}"),
        ),
        Err(error) => DeleteOutcome::failed(
            error.class,
            format!("{action} answered {claim}, and its absence could not be verified: {}", error.message),
        ),
    }
}

/// Describes a scan failure with the service's code where it has one, the whole cause chain where it does not.
pub(crate) fn scan_error<E>(
    operation: &'static str,
    (service, region): (&str, &str),
    failed: &Failed<SdkError<E, HttpResponse>>,
) -> ScanError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let error = &failed.error;
    let attempts = attempts_note(failed.attempts);
    let message = match (error.code(), error.message()) {
        (Some(code), message) if is_iam_denial(code) => {
            tracing::debug!(code, message, "{service}:{operation} denied in {region}");
            format!("access denied: {service}:{operation} in {region} ({code})")
        }
        (Some(code), message) => format!("{code}: {}{attempts}", message.unwrap_or_default()),
        (None, _) => format!("{}{attempts}", one_line(error)),
    };
    ScanError { operation, region: region.to_owned(), message, class: error_class(error) }
}

/// A failed call as one line: the service's code and message, or, with no answer to read a code from,
/// [`one_line`]'s cause.
pub fn error_line<E: ProvideErrorMetadata + std::error::Error + 'static>(error: &SdkError<E, HttpResponse>) -> String {
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => one_line(error),
    }
}

/// What the sources of AWS credentials are, in the order the SDK's default chain tries them.
pub const CREDENTIAL_SOURCES: &str = "environment, profile, web identity, container, instance metadata";

/// An error the service never answered (no code) as one line a person can act on: no credentials, or the
/// innermost cause (a DNS failure, a refused connection). The SDK's whole chain goes to the debug log only.
pub fn one_line<E: std::error::Error + 'static>(error: &SdkError<E, HttpResponse>) -> String {
    tracing::debug!(error = %DisplayErrorContext(error), "AWS call failed");
    let mut innermost: &dyn std::error::Error = error;
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.downcast_ref::<aws_credential_types::provider::error::CredentialsError>().is_some() {
            return format!("no AWS credentials found ({CREDENTIAL_SOURCES})");
        }
        innermost = cause;
        source = cause.source();
    }
    let kind = match error {
        SdkError::TimeoutError(_) => "timed out",
        SdkError::DispatchFailure(_) => "could not reach the service",
        SdkError::ResponseError(_) => "could not read the answer",
        SdkError::ConstructionFailure(_) => "could not build the request",
        _ => "failed",
    };
    if std::ptr::addr_eq(innermost, error as &dyn std::error::Error) {
        kind.to_owned()
    } else {
        format!("{kind}: {innermost}")
    }
}

/// Why a marker-paginated listing stopped short.
pub(crate) enum PageError<E> {
    /// A call failed (after its retries).
    Call(Failed<SdkError<E, HttpResponse>>),
    /// The service repeated a marker: following it would never end.
    Marker(ScanError),
}

/// Reads every page of a marker-paginated listing on `regional`'s lane: `send` asks for the page after a marker,
/// `marker` reads the next one from a page, `on_page` takes each page as it arrives.
pub(crate) async fn paginate<C, P, E, Fut>(
    caller: &Caller,
    regional: &Regional<C>,
    operation: &'static str,
    send: impl Fn(Option<String>) -> Fut,
    marker: impl Fn(&P) -> Option<&str>,
    mut on_page: impl FnMut(P),
) -> Result<(), PageError<E>>
where
    E: ProvideErrorMetadata,
    Fut: std::future::Future<Output = Result<P, SdkError<E, HttpResponse>>>,
{
    let mut previous: Option<String> = None;
    loop {
        let page = caller
            .call(&regional.lane, Access::Read, classify, || send(previous.clone()))
            .await
            .map_err(PageError::Call)?;
        let next = match marker(&page).filter(|m| !m.is_empty()) {
            Some(next) if Some(next) == previous.as_deref() => {
                return Err(PageError::Marker(ScanError {
                    operation,
                    region: regional.region.clone(),
                    message: format!("the service returned the same Marker twice ({next}); stopped paginating"),
                    class: ErrorClass::Service,
                }))
            }
            next => next.map(str::to_owned),
        };
        on_page(page);
        match next {
            Some(next) => previous = Some(next),
            None => return Ok(()),
        }
    }
}
