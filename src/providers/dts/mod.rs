//! Alibaba Cloud DTS jobs (migration, synchronization, change tracking) over a small signed RPC client:
//! DescribeDtsJobs per job type, paginated to the end, and DeleteDtsJob. The reverse half of a two-way
//! synchronization is a resource of its own, judged by its own status and deleted with
//! `SynchronizationDirection=Reverse`; its forward half names it in `may_release`, because what releasing a forward
//! task does to its reverse half is not documented.
//!
//! What the references say, and what is assumed:
//! - Documented (API reference and the official dts20200101 SDK models): DeleteDtsJob takes `DtsJobId`,
//!   `DtsInstanceId`, `JobType`, `RegionId` and `SynchronizationDirection` (`Reverse` "only if the topology is two-way
//!   synchronization"); its error codes are `Throttling.User` (400), `InvalidSecurityToken.Expired` (403) and
//!   `ServiceUnavailable` (500). DescribeDtsJobs takes `Region`, `JobType` and `DtsJobId` ("the ID of the data
//!   migration, data synchronization, or change tracking task"); a job's `ReverseJob` is its reverse half. The SDK
//!   summarizes DeleteDtsJob as releasing "a data migration, synchronization, or change tracking instance".
//! - Not documented: any error code for a job that does not exist. Alibaba's own Terraform provider treats
//!   `Forbidden.InstanceNotFound` and `InvalidJobId` from DeleteDtsJob as "already deleted" (and
//!   `Forbidden.InstanceNotFound` from DescribeDtsJobDetail as "not found"), which is where [`GONE`] comes from.
//!   Whether the `DtsJobId` filter of DescribeDtsJobs is exact, ignored, or matches a reverse half's id is not
//!   documented either: a not-found answer is verified by describing the forward job with that filter, paged to the
//!   end, and comparing ids on this side. Nor is what a forward (default) DeleteDtsJob does to the instance and the
//!   reverse half of a two-way synchronization: assumed to release both, the case where order matters.

pub mod client;
pub mod credentials;
pub mod sign;
mod time;

pub use client::{DtsClient, DtsError, TokenRenewal};
pub use credentials::{Credentials, CredentialsError, CredentialsSource, SecretsManagerSecret};

use super::spec::{Build, BuildError, Building, ProviderOptions, ProviderSpec};
use super::{ControlPlane, DeleteOutcome, Scan, ScanError};
use crate::domain::resource::{
    failure_text, Age, Condition, Definition, ErrorClass, Handle, Mark, Provider, Resource, ALIBABA,
};
use crate::domain::setting::{invalid, ConfigError, Env, Setting};
use crate::engine::calls::Access;
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use std::any::Any;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

pub const PROVIDER: Provider = Provider::on("dts", &ALIBABA);

pub const SPEC: ProviderSpec = ProviderSpec {
    provider: PROVIDER,
    kind: "dts-job",
    title: "Alibaba Cloud DTS jobs",
    default_enabled: false,
    grace_variable: "JANITOR_DTS_GRACE",
    default_grace: Duration::from_secs(3_600),
    settings: &[
        Setting {
            variable: "JANITOR_DTS_GRACE",
            default: "1h",
            meaning: "DTS jobs: minimum time since first seen failed, besides JANITOR_MIN_AGE (0 to 3650d)",
            flag: Some("dts-grace"),
        },
        Setting {
            variable: "JANITOR_DTS_ENDPOINT",
            default: "per region",
            meaning: "DTS endpoint URL override",
            flag: None,
        },
        Setting {
            variable: "JANITOR_DTS_SECRET_ARN",
            default: "none",
            meaning: "Secrets Manager secret with the Alibaba Cloud credentials (else ALIBABA_CLOUD_* variables)",
            flag: None,
        },
    ],
    parse: |env| Ok(Arc::new(DtsOptions::parse(env)?)),
    // DTS sends no EventBridge events the janitor acts on: its jobs are found by the schedule.
    events: &[],
    arns: &[],
    arn_description: "",
    build,
};

/// DTS's own settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DtsOptions {
    /// Overrides the DTS endpoint (the emulator, a VPC endpoint).
    pub endpoint: Option<String>,
    /// A Secrets Manager secret holding the Alibaba Cloud credentials.
    pub secret_arn: Option<String>,
}

impl DtsOptions {
    fn parse(env: &Env<'_>) -> Result<DtsOptions, ConfigError> {
        let endpoint = env.get("JANITOR_DTS_ENDPOINT");
        if let Some(endpoint) = &endpoint {
            if !(endpoint.starts_with("https://") || endpoint.starts_with("http://"))
                || endpoint.contains(char::is_whitespace)
            {
                return Err(invalid("JANITOR_DTS_ENDPOINT", endpoint, "an http:// or https:// URL"));
            }
        }
        let secret_arn = env.get("JANITOR_DTS_SECRET_ARN");
        if let Some(arn) = &secret_arn {
            if !(arn.starts_with("arn:") && arn.contains(":secretsmanager:")) {
                return Err(invalid(
                    "JANITOR_DTS_SECRET_ARN",
                    arn,
                    "a Secrets Manager secret ARN (arn:aws:secretsmanager:...)",
                ));
            }
        }
        Ok(DtsOptions { endpoint, secret_arn })
    }
}

impl ProviderOptions for DtsOptions {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn needs_aws(&self) -> bool {
        self.secret_arn.is_some()
    }
}

/// The adapter, with credentials from `JANITOR_DTS_SECRET_ARN` (read here, and again when the STS token in it
/// expires) or the `ALIBABA_CLOUD_*` variables (read here only).
fn build(build: Build<'_>) -> Building<'_> {
    Box::pin(async move {
        let failed = |message: String| BuildError { provider: PROVIDER, message };
        let options =
            build.settings.options::<DtsOptions>().ok_or_else(|| failed("its settings were not read".to_owned()))?;
        let endpoint = options.endpoint.clone();
        let caller = build.caller.clone();
        let client = match &options.secret_arn {
            Some(arn) => {
                let config = aws_sdk_secretsmanager::config::Builder::from(build.sdk)
                    .retry_config(crate::aws::store_retry_config(build.max_attempts))
                    .timeout_config(crate::aws::timeout_config())
                    .build();
                let secret = SecretsManagerSecret::new(aws_sdk_secretsmanager::Client::from_conf(config), arn.clone());
                let credentials = secret.read().await.map_err(|e| failed(e.to_string()))?;
                DtsClient::new(credentials, endpoint, caller).reread_on_expiry(Arc::new(secret))
            }
            None => {
                let credentials =
                    Credentials::require_env(|name| std::env::var(name).ok()).map_err(|e| failed(e.to_string()))?;
                DtsClient::new(credentials, endpoint, caller)
            }
        };
        let client = client.watching_clocks(build.clocks);
        Ok(Arc::new(DtsJobs::new(client, build.regions.to_vec(), build.protect_tag)) as Arc<dyn ControlPlane>)
    })
}

/// The kinds of DTS job, each with its own failed states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DtsJobType {
    Migration,
    Sync,
    Subscribe,
}

impl DtsJobType {
    pub const ALL: [DtsJobType; 3] = [DtsJobType::Migration, DtsJobType::Sync, DtsJobType::Subscribe];

    /// The `JobType` value of the DTS API.
    pub fn as_str(self) -> &'static str {
        match self {
            DtsJobType::Migration => "MIGRATION",
            DtsJobType::Sync => "SYNC",
            DtsJobType::Subscribe => "SUBSCRIBE",
        }
    }

    /// The statuses in which a job of this type has failed for good.
    pub fn failed_statuses(self) -> &'static [&'static str] {
        match self {
            DtsJobType::Migration => &["PrecheckFailed", "MigrationFailed"],
            DtsJobType::Sync => &["PrecheckFailed", "InitializeFailed", "Failed"],
            DtsJobType::Subscribe => &["PrecheckFailed", "Abnormal"],
        }
    }
}

/// What a delete of one job (or reverse half) needs; `reverse` is the reverse half of a two-way synchronization
/// (`SynchronizationDirection: Reverse`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobHandle {
    pub job_id: String,
    pub instance_id: String,
    pub job_type: DtsJobType,
    pub reverse: bool,
}

/// How a job's status classifies for its type.
fn condition(job_type: DtsJobType, status: &str) -> Condition {
    if job_type.failed_statuses().contains(&status) {
        Condition::Stale
    } else if status == "deleting" {
        Condition::InProgress
    } else {
        Condition::Healthy { stale: job_type.failed_statuses().join(", ").into() }
    }
}

/// The class of a failed DTS call.
fn error_class(error: &DtsError) -> ErrorClass {
    let code = error.code().unwrap_or_default();
    match error {
        _ if error.is_throttling() => ErrorClass::Throttled,
        DtsError::TokenExpired { .. } => ErrorClass::Denied,
        _ if is_denied(code) => ErrorClass::Denied,
        _ if is_gone(code) => ErrorClass::NotFound,
        DtsError::Transport { message, .. } if message.contains("timed out") => ErrorClass::TimedOut,
        DtsError::Transport { .. } | DtsError::Decode { .. } => ErrorClass::Transport,
        _ => ErrorClass::Service,
    }
}

/// The page size every source agrees DescribeDtsJobs accepts (the maximum).
pub const PAGE_SIZE: u32 = 30;
/// A bound on pages per job type, so a misbehaving endpoint cannot keep a scan going forever.
const MAX_PAGES: u32 = 10_000;
/// What the id of a reverse half ends with.
pub const REVERSE_SUFFIX: &str = "/reverse";

/// Error codes of a job (or its instance) that does not exist: the codes the Alibaba Cloud Terraform provider
/// treats as "already deleted" for DeleteDtsJob. Other codes naming a missing job or instance count too
/// ([`is_gone`]).
const GONE: &[&str] = &["Forbidden.InstanceNotFound", "InvalidJobId"];
/// Error codes of credentials that may not make the call.
const DENIED: &[&str] = &["Forbidden.RAM", "NoPermission", "Forbidden", "Forbidden.NoPermission"];

/// The DTS jobs of every region the run may sweep, through one signed client.
#[derive(Debug)]
pub struct DtsJobs {
    client: DtsClient,
    regions: Vec<String>,
    protect_tag: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct WireJob {
    dts_job_id: Option<String>,
    #[serde(rename = "DtsInstanceID", alias = "DtsInstanceId")]
    dts_instance_id: Option<String>,
    dts_job_name: Option<String>,
    status: Option<String>,
    create_time: Option<String>,
    tag_list: Option<Vec<WireTag>>,
    error_message: Option<String>,
    reverse_job: Option<Box<WireJob>>,
    /// The job as DescribeDtsJobs described it (without its reverse half), kept as a stale job's definition.
    #[serde(skip)]
    described: Option<Value>,
}

/// What a report keeps of a stale DTS job: its description, for people. Nothing can re-make a job from it
/// (DescribeDtsJobs returns no passwords), so it names no call; any field named like a secret is dropped all the same.
fn described_definition(described: Option<&Value>) -> Option<Definition> {
    let Some(Value::Object(fields)) = described.map(without_secrets) else { return None };
    let mut definition = Definition::of(None);
    definition.input = fields.into();
    definition.input.remove("ReverseJob");
    Some(definition)
}

/// `value` without the fields whose names say they hold a secret (passwords, keys, tokens), at any depth.
fn without_secrets(value: &Value) -> Value {
    const SECRET_WORDS: [&str; 5] = ["password", "secret", "accesskey", "token", "credential"];
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .filter(|(name, _)| {
                    let name = name.to_ascii_lowercase();
                    !SECRET_WORDS.iter().any(|word| name.contains(word))
                })
                .map(|(name, value)| (name.clone(), without_secrets(value)))
                .collect(),
        ),
        Value::Array(values) => Value::Array(values.iter().map(without_secrets).collect()),
        other => other.clone(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct WireTag {
    tag_key: Option<String>,
}

/// The jobs of a `DtsJobList`, each with its description kept (and its reverse half's).
fn described_jobs(list: &Value) -> Result<Vec<WireJob>, serde_json::Error> {
    let listed = Vec::<Value>::deserialize(list)?;
    listed
        .into_iter()
        .map(|described| {
            let mut job = WireJob::deserialize(&described)?;
            if let (Some(reverse), Some(described)) = (job.reverse_job.as_mut(), described.get("ReverseJob")) {
                reverse.described = Some(described.clone());
            }
            job.described = Some(described);
            Ok(job)
        })
        .collect()
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A count that may come as a number or a numeric string.
fn count(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Whether `code` says the job or its instance does not exist. Besides [`GONE`], any code naming a job or an
/// instance that is `NotFound` or does `NotExist` (the DTS error center does not list one for DeleteDtsJob, so this
/// is a guard, not a documented fact); credential codes such as `InvalidAccessKeyId.NotFound` never count.
pub fn is_gone(code: &str) -> bool {
    let lower = code.to_ascii_lowercase();
    GONE.contains(&code)
        || ((lower.contains("notfound") || lower.contains("notexist"))
            && (lower.contains("job") || lower.contains("instance"))
            && !lower.contains("accesskey")
            && !lower.contains("token"))
}

/// Whether `code` says the credentials may not make the call.
pub fn is_denied(code: &str) -> bool {
    let lower = code.to_ascii_lowercase();
    (DENIED.contains(&code) || lower.contains("permissiondenied") || lower.contains("accessdenied")) && !is_gone(code)
}

impl DtsJobs {
    pub fn new(client: DtsClient, regions: Vec<String>, protect_tag: impl Into<String>) -> DtsJobs {
        DtsJobs { client, regions, protect_tag: protect_tag.into() }
    }

    fn protected_by(&self, tags: Option<&Vec<WireTag>>) -> Option<String> {
        tags.into_iter()
            .flatten()
            .any(|tag| tag.tag_key.as_deref() == Some(self.protect_tag.as_str()))
            .then(|| format!("tag {} on the job", self.protect_tag))
    }

    /// Every job of `job_type` in `region` (only those `DtsJobId` = `job_id` selects, if given), PageNumber from 1
    /// until TotalRecordCount jobs were read (or a page comes back empty, or short when no total is given).
    async fn list(&self, region: &str, job_type: DtsJobType, job_id: Option<&str>) -> Result<Vec<WireJob>, ScanError> {
        let scan_error = |message: String, class: ErrorClass| ScanError {
            operation: "DescribeDtsJobs",
            region: region.to_owned(),
            message,
            class,
        };
        let mut jobs = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut params = vec![
                ("Region", region.to_owned()),
                ("JobType", job_type.as_str().to_owned()),
                ("PageSize", PAGE_SIZE.to_string()),
                ("PageNumber", page.to_string()),
            ];
            if let Some(job_id) = job_id {
                params.push(("DtsJobId", job_id.to_owned()));
            }
            let answer = self.client.call(region, Access::Read, "DescribeDtsJobs", &params).await.map_err(|e| {
                let message = if is_denied(e.code().unwrap_or_default()) {
                    format!("access denied: the Alibaba Cloud credentials may not call dts:DescribeDtsJobs ({e})")
                } else {
                    format!("{} jobs: {e}", job_type.as_str())
                };
                scan_error(message, error_class(&e))
            })?;
            let list = match answer.get("DtsJobList") {
                None | Some(Value::Null) => Vec::new(),
                Some(list) => described_jobs(list).map_err(|e| {
                    let message = format!("{} jobs: DtsJobList is not a list of jobs: {e}", job_type.as_str());
                    scan_error(message, ErrorClass::Transport)
                })?,
            };
            let read = list.len();
            jobs.extend(list);
            let total = count(answer.get("TotalRecordCount"));
            let done = match total {
                Some(total) => read == 0 || jobs.len() as u64 >= total,
                None => read < PAGE_SIZE as usize,
            };
            if done {
                return Ok(jobs);
            }
        }
        Err(scan_error(
            format!("{} jobs: more than {MAX_PAGES} pages; stopped", job_type.as_str()),
            ErrorClass::Service,
        ))
    }

    /// The job and, for a two-way synchronization, its reverse half; the forward half names the reverse half as
    /// what deleting it may release.
    fn resources(&self, region: &str, job_type: DtsJobType, job: &WireJob) -> Vec<Resource> {
        let Some(job_id) = job_identity(job) else {
            tracing::warn!(region, job_type = job_type.as_str(), "DescribeDtsJobs listed a job without an id; skipped");
            return Vec::new();
        };
        let instance_id = non_empty(&job.dts_instance_id).unwrap_or_default().to_owned();
        let name = non_empty(&job.dts_job_name).unwrap_or(job_id).to_owned();
        let protected_by = self.protected_by(job.tag_list.as_ref());
        let mut arns = vec![job_id.to_owned()];
        if !instance_id.is_empty() && instance_id != job_id {
            arns.push(instance_id.clone());
        }
        let reverse = reverse_half(job);
        let status = non_empty(&job.status).unwrap_or_default().to_owned();
        let kept = |job: &WireJob| {
            let stale = condition(job_type, non_empty(&job.status).unwrap_or_default()) == Condition::Stale;
            stale.then(|| described_definition(job.described.as_ref())).flatten()
        };
        let forward = Resource {
            provider: PROVIDER,
            region: region.to_owned(),
            id: job_id.to_owned(),
            name: name.clone(),
            arns: arns.clone(),
            condition: condition(job_type, &status),
            status,
            age: age(job.create_time.as_deref()),
            mark: Mark::Unmarked,
            protected_by: protected_by.clone(),
            may_release: reverse.map(|_| format!("{job_id}{REVERSE_SUFFIX}")),
            definition: kept(job),
            failure: job.error_message.as_deref().and_then(failure_text),
            handle: Handle::new(JobHandle {
                job_id: job_id.to_owned(),
                instance_id: instance_id.clone(),
                job_type,
                reverse: false,
            }),
        };
        let mut out = vec![forward];
        if let Some(reverse) = reverse {
            let reverse_id = reverse_job_id(reverse, job_id).to_owned();
            let reverse_instance = non_empty(&reverse.dts_instance_id).map(str::to_owned).unwrap_or(instance_id);
            let mut arns = arns;
            for id in [&reverse_id, &reverse_instance] {
                if !id.is_empty() && !arns.contains(id) {
                    arns.insert(0, id.clone());
                }
            }
            let status = non_empty(&reverse.status).unwrap_or_default().to_owned();
            out.push(Resource {
                provider: PROVIDER,
                region: region.to_owned(),
                id: format!("{job_id}{REVERSE_SUFFIX}"),
                name: format!("{name}{REVERSE_SUFFIX}"),
                arns,
                condition: condition(job_type, &status),
                status,
                age: age(reverse.create_time.as_deref().or(job.create_time.as_deref())),
                mark: Mark::Unmarked,
                // The reverse half has no tags of its own: the two-way synchronization's tags protect both halves.
                protected_by: self.protected_by(reverse.tag_list.as_ref()).or(protected_by),
                may_release: None,
                definition: kept(reverse),
                failure: reverse.error_message.as_deref().and_then(failure_text),
                handle: Handle::new(JobHandle {
                    job_id: reverse_id,
                    instance_id: reverse_instance,
                    job_type,
                    reverse: true,
                }),
            });
        }
        out
    }

    /// DeleteDtsJob answered `answer`, a code of a job that does not exist. Such a code is not documented for
    /// DeleteDtsJob, so it counts only once DescribeDtsJobs (the forward job, by `DtsJobId`) no longer lists the job
    /// or, for a reverse half, the forward job's `ReverseJob`.
    async fn verify_gone(
        &self,
        resource: &Resource,
        (job_id, job_type, reverse): (&str, DtsJobType, bool),
        answer: &DtsError,
    ) -> DeleteOutcome {
        let forward_id = if reverse { resource.id.strip_suffix(REVERSE_SUFFIX) } else { Some(job_id) };
        let what = match forward_id {
            Some(forward_id) if reverse => format!("the reverse half {job_id} of job {forward_id}"),
            _ => format!("job {job_id}"),
        };
        let unverified = |class: ErrorClass, why: String| {
            DeleteOutcome::failed(
                class,
                format!("DeleteDtsJob answered that {what} does not exist ({answer}), but {why}"),
            )
        };
        let Some(forward_id) = forward_id else {
            let why = format!("its absence could not be verified: {} names no forward job", resource.id);
            return unverified(ErrorClass::Service, why);
        };
        match self.list(&resource.region, job_type, Some(forward_id)).await {
            Err(error) => unverified(error.class, format!("its absence could not be verified: {error}")),
            Ok(jobs) => match still_listed(&jobs, forward_id, reverse.then_some(job_id)) {
                Some(status) => {
                    unverified(ErrorClass::NotFound, format!("DescribeDtsJobs still lists it (status {status})"))
                }
                None => DeleteOutcome::AlreadyGone,
            },
        }
    }
}

/// What identifies a listed job: its DtsJobId, else its instance id.
fn job_identity(job: &WireJob) -> Option<&str> {
    non_empty(&job.dts_job_id).or(non_empty(&job.dts_instance_id))
}

/// The reverse half of a two-way synchronization, if the job lists one (an empty `ReverseJob` is none).
fn reverse_half(job: &WireJob) -> Option<&WireJob> {
    job.reverse_job.as_deref().filter(|r| non_empty(&r.dts_job_id).is_some() || non_empty(&r.status).is_some())
}

/// The id a reverse half is deleted by: its own, else its forward job's.
fn reverse_job_id<'a>(reverse: &'a WireJob, forward_id: &'a str) -> &'a str {
    non_empty(&reverse.dts_job_id).unwrap_or(forward_id)
}

/// The status of the job `forward_id` (or of its reverse half `reverse_id`) if `jobs` still lists it.
fn still_listed(jobs: &[WireJob], forward_id: &str, reverse_id: Option<&str>) -> Option<String> {
    let status = |job: &WireJob| non_empty(&job.status).unwrap_or("unknown").to_owned();
    let forward = jobs.iter().filter(|job| job_identity(job) == Some(forward_id));
    match reverse_id {
        None => forward.map(status).next(),
        Some(reverse_id) => forward
            .filter_map(reverse_half)
            .find(|reverse| reverse_job_id(reverse, forward_id) == reverse_id)
            .map(status),
    }
}

/// The job's age from its CreateTime (`yyyy-MM-ddTHH:mm:ssZ`, UTC).
fn age(create_time: Option<&str>) -> Age {
    match create_time.map(str::trim).filter(|t| !t.is_empty()) {
        None => Age::Unknown("the job reports no CreateTime".to_owned()),
        Some(text) => match time::parse_utc(text) {
            Some(created) => Age::CreatedAt(created),
            None => Age::Unknown(format!("the job's CreateTime {text:?} is not yyyy-MM-ddTHH:mm:ssZ")),
        },
    }
}

#[async_trait]
impl ControlPlane for DtsJobs {
    fn provider(&self) -> Provider {
        PROVIDER
    }

    fn regions(&self) -> Vec<String> {
        self.regions.clone()
    }

    async fn scan(&self, region: &str) -> Result<Scan, ScanError> {
        if !self.regions.iter().any(|r| r == region) {
            return Err(ScanError {
                operation: "DescribeDtsJobs",
                region: region.to_owned(),
                message: "not one of JANITOR_DTS_REGIONS".to_owned(),
                class: ErrorClass::Service,
            });
        }
        let mut resources = Vec::new();
        let mut seen = HashSet::new();
        for job_type in DtsJobType::ALL {
            for job in self.list(region, job_type, None).await? {
                for resource in self.resources(region, job_type, &job) {
                    // A job listed twice (it moved between pages) is judged once.
                    if seen.insert(resource.id.clone()) {
                        resources.push(resource);
                    }
                }
            }
        }
        Ok(resources)
    }

    async fn delete(&self, resource: &Resource) -> DeleteOutcome {
        let Some(JobHandle { job_id, instance_id, job_type, reverse }) = resource.handle.get() else {
            return DeleteOutcome::failed(ErrorClass::Service, "not a DTS job");
        };
        let mut params = vec![
            ("DtsJobId", job_id.clone()),
            ("JobType", job_type.as_str().to_owned()),
            ("RegionId", resource.region.clone()),
        ];
        if !instance_id.is_empty() {
            params.push(("DtsInstanceId", instance_id.clone()));
        }
        if *reverse {
            params.push(("SynchronizationDirection", "Reverse".to_owned()));
        }
        match self.client.call(&resource.region, Access::Write, "DeleteDtsJob", &params).await {
            Ok(_) => DeleteOutcome::Deleted { status: "deleting".to_owned() },
            Err(error) if is_gone(error.code().unwrap_or_default()) => {
                self.verify_gone(resource, (job_id, *job_type, *reverse), &error).await
            }
            Err(error) => delete_outcome(&resource.id, &error),
        }
    }
}

/// Maps a failed DeleteDtsJob to an outcome, by the service's error code (a not-found code is verified first).
fn delete_outcome(target: &str, error: &DtsError) -> DeleteOutcome {
    let code = error.code().unwrap_or_default();
    let class = error_class(error);
    if error.is_token_expired() || error.is_business() {
        DeleteOutcome::failed(class, error.to_string())
    } else if is_denied(code) {
        DeleteOutcome::failed(
            class,
            format!("access denied: the Alibaba Cloud credentials may not call dts:DeleteDtsJob on {target} ({error})"),
        )
    } else {
        DeleteOutcome::failed(class, format!("DeleteDtsJob failed: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn jobs() -> DtsJobs {
        DtsJobs::new(
            DtsClient::new(
                Credentials::new("id", "secret", None),
                None,
                crate::engine::calls::Caller::new(crate::engine::calls::RetryPolicy::new(1), 1),
            ),
            vec!["cn-hangzhou".into()],
            "keep",
        )
    }

    fn parse(json: &str) -> WireJob {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_job_becomes_a_resource() {
        let job = parse(
            r#"{"DtsJobId":"j1","DtsInstanceID":"dtsj1","DtsJobName":"orders","Status":"MigrationFailed",
                "CreateTime":"2024-01-02T03:04:05Z","TagList":[{"TagKey":"team","TagValue":"a"}],"ReverseJob":null,
                "ErrorMessage":" DTS-070211: Connect Source DB failed. "}"#,
        );
        let got = jobs().resources("cn-hangzhou", DtsJobType::Migration, &job);
        assert_eq!(got.len(), 1);
        let r = &got[0];
        assert_eq!((r.id.as_str(), r.name.as_str(), r.status.as_str()), ("j1", "orders", "MigrationFailed"));
        assert_eq!(r.arns, ["j1", "dtsj1"]);
        assert_eq!(r.age, Age::CreatedAt(UNIX_EPOCH + Duration::from_secs(1_704_164_645)));
        assert_eq!(r.protected_by, None);
        assert_eq!(r.failure.as_deref(), Some("DTS-070211: Connect Source DB failed."));
        assert_eq!(
            r.handle,
            Handle::new(JobHandle {
                job_id: "j1".into(),
                instance_id: "dtsj1".into(),
                job_type: DtsJobType::Migration,
                reverse: false
            })
        );
    }

    #[test]
    fn names_fall_back_ages_explain_and_tags_protect() {
        let job =
            parse(r#"{"DtsJobId":"j2","Status":"Abnormal","CreateTime":"yesterday","TagList":[{"TagKey":"keep"}]}"#);
        let r = &jobs().resources("cn-hangzhou", DtsJobType::Subscribe, &job)[0];
        assert_eq!(r.name, "j2");
        assert_eq!(r.age, Age::Unknown("the job's CreateTime \"yesterday\" is not yyyy-MM-ddTHH:mm:ssZ".into()));
        assert_eq!(r.protected_by.as_deref(), Some("tag keep on the job"));
        let bare = parse(r#"{"DtsJobId":"j3"}"#);
        assert_eq!(
            jobs().resources("cn-hangzhou", DtsJobType::Sync, &bare)[0].age,
            Age::Unknown("the job reports no CreateTime".into())
        );
        assert!(jobs().resources("cn-hangzhou", DtsJobType::Sync, &parse(r#"{"Status":"Failed"}"#)).is_empty());
    }

    #[test]
    fn the_reverse_half_is_its_own_resource() {
        let job = parse(
            r#"{"DtsJobId":"fwd","DtsInstanceID":"dtsfwd","DtsJobName":"two-way","Status":"Synchronizing",
                "CreateTime":"2024-01-02T03:04:05Z","TagList":[{"TagKey":"keep","TagValue":""}],
                "ReverseJob":{"DtsJobId":"rev","DtsInstanceID":"dtsfwd","Status":"Failed"}}"#,
        );
        let got = jobs().resources("cn-hangzhou", DtsJobType::Sync, &job);
        assert_eq!(got.len(), 2);
        let reverse = &got[1];
        assert_eq!((reverse.id.as_str(), reverse.name.as_str()), ("fwd/reverse", "two-way/reverse"));
        assert_eq!(reverse.status, "Failed");
        assert_eq!(reverse.age, got[0].age, "the reverse half without a CreateTime takes the job's");
        assert_eq!(reverse.protected_by.as_deref(), Some("tag keep on the job"));
        assert_eq!(reverse.arns, ["rev", "fwd", "dtsfwd"]);
        assert_eq!(
            reverse.handle,
            Handle::new(JobHandle {
                job_id: "rev".into(),
                instance_id: "dtsfwd".into(),
                job_type: DtsJobType::Sync,
                reverse: true
            })
        );
        let empty = parse(r#"{"DtsJobId":"one-way","Status":"Failed","ReverseJob":{}}"#);
        assert_eq!(jobs().resources("cn-hangzhou", DtsJobType::Sync, &empty).len(), 1);
    }

    #[test]
    fn only_the_forward_half_of_a_two_way_sync_may_release_another_resource() {
        let two_way =
            parse(r#"{"DtsJobId":"fwd","Status":"Failed","ReverseJob":{"DtsJobId":"rev","Status":"Synchronizing"}}"#);
        let got = jobs().resources("cn-hangzhou", DtsJobType::Sync, &two_way);
        assert_eq!(got[0].may_release.as_deref(), Some("fwd/reverse"));
        assert_eq!(got[0].may_release.as_deref(), Some(got[1].id.as_str()), "names the reverse half's resource id");
        assert_eq!(got[1].may_release, None);
        for one_way in [
            r#"{"DtsJobId":"plain","Status":"Failed"}"#,
            r#"{"DtsJobId":"plain","Status":"Failed","ReverseJob":null}"#,
            r#"{"DtsJobId":"plain","Status":"Failed","ReverseJob":{}}"#,
        ] {
            let got = jobs().resources("cn-hangzhou", DtsJobType::Sync, &parse(one_way));
            assert_eq!((got.len(), got[0].may_release.as_deref()), (1, None), "{one_way}");
        }
        let migration = jobs().resources("cn-hangzhou", DtsJobType::Migration, &parse(r#"{"DtsJobId":"m"}"#));
        assert_eq!(migration[0].may_release, None);
    }

    #[test]
    fn a_job_is_still_listed_only_under_its_own_ids() {
        let listed: Vec<WireJob> = serde_json::from_str(
            r#"[{"DtsJobId":"fwd-2","Status":"Failed"},
                {"DtsJobId":"fwd","Status":"Synchronizing","ReverseJob":{"DtsJobId":"rev","Status":"Failed"}},
                {"DtsInstanceID":"dtsnoid","Status":"Abnormal"},
                {"DtsJobId":"bare","Status":"Failed","ReverseJob":{"Status":"InitializeFailed"}}]"#,
        )
        .unwrap();
        assert_eq!(still_listed(&listed, "fwd", None).as_deref(), Some("Synchronizing"));
        assert_eq!(still_listed(&listed, "fwd", Some("rev")).as_deref(), Some("Failed"));
        assert_eq!(still_listed(&listed, "fwd", Some("other")), None);
        assert_eq!(still_listed(&listed, "fwd-", None), None, "ids are compared whole");
        assert_eq!(still_listed(&listed, "dtsnoid", None).as_deref(), Some("Abnormal"));
        assert_eq!(still_listed(&listed, "bare", Some("bare")).as_deref(), Some("InitializeFailed"));
        assert_eq!(still_listed(&listed, "fwd-2", Some("rev")), None, "a job without a reverse half");
        assert_eq!(still_listed(&[], "fwd", None), None);
    }

    #[test]
    fn codes_are_told_apart() {
        for gone in ["Forbidden.InstanceNotFound", "InvalidJobId", "DTS.Msg.JobNotExist", "InvalidDtsJobId.NotFound"] {
            assert!(is_gone(gone), "{gone}");
            assert!(!is_denied(gone), "{gone}");
        }
        for not_gone in
            ["InvalidAccessKeyId.NotFound", "InvalidSecurityToken.NotFound", "Throttling.User", "InvalidParameter"]
        {
            assert!(!is_gone(not_gone), "{not_gone}");
        }
        for denied in ["Forbidden.RAM", "NoPermission", "DTS.Msg.RamPermissionDenied", "AccessDenied"] {
            assert!(is_denied(denied), "{denied}");
        }
    }

    fn api(code: &str, message: &str, attempts: u32) -> DtsError {
        DtsError::Api { status: 400, code: code.into(), message: message.into(), request_id: None, attempts }
    }

    #[test]
    fn delete_errors_map_to_outcomes() {
        let denied = delete_outcome("j", &api("Forbidden.RAM", "not allowed", 1));
        assert_eq!(
            denied,
            DeleteOutcome::failed(
                ErrorClass::Denied,
                "access denied: the Alibaba Cloud credentials may not call dts:DeleteDtsJob on j (Forbidden.RAM: not allowed)"
            )
        );
        let throttled = delete_outcome("j", &api("Throttling.User", "slow down", 3));
        assert_eq!(
            throttled,
            DeleteOutcome::failed(
                ErrorClass::Throttled,
                "DeleteDtsJob failed: Throttling.User: slow down (gave up after 3 attempts)"
            )
        );
        let business = DtsError::Business {
            status: 400,
            code: "InvalidParameter".into(),
            message: "The Value of Input Parameter DtsJobId is not valid.".into(),
            request_id: None,
            attempts: 1,
        };
        assert_eq!(
            delete_outcome("j", &business),
            DeleteOutcome::failed(
                ErrorClass::Service,
                "InvalidParameter: The Value of Input Parameter DtsJobId is not valid."
            )
        );
        let expired = DtsError::TokenExpired {
            service: "InvalidSecurityToken.Expired: expired".into(),
            renewal: TokenRenewal::NotRereadable,
        };
        let DeleteOutcome::Failed { error, class: ErrorClass::Denied } = delete_outcome("j", &expired) else {
            panic!("an expired token fails the item");
        };
        assert!(error.starts_with("the Alibaba Cloud STS token has expired"), "{error}");
    }

    #[test]
    fn jobs_are_stale_in_the_failed_states_of_their_type() {
        use DtsJobType::*;
        let cases = [
            (Migration, "PrecheckFailed", true),
            (Migration, "MigrationFailed", true),
            (Migration, "Failed", false),
            (Migration, "Finished", false),
            (Sync, "InitializeFailed", true),
            (Sync, "Failed", true),
            (Sync, "Synchronizing", false),
            (Subscribe, "Abnormal", true),
            (Subscribe, "MigrationFailed", false),
            (Subscribe, "Normal", false),
        ];
        for (job_type, status, stale) in cases {
            assert_eq!(condition(job_type, status) == Condition::Stale, stale, "{job_type:?} {status}");
        }
        assert_eq!(condition(Sync, "deleting"), Condition::InProgress);
        assert_eq!(condition(Subscribe, "Normal"), Condition::Healthy { stale: "PrecheckFailed, Abnormal".into() });
    }
}
