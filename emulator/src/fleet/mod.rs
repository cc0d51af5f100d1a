//! The resources the emulator serves. The same types are the JSON file format
//! (`--fleet`, `PUT /_admin/fleet`) and what Rust tests build directly.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::clock::serde_timestamp;

mod accounts;

pub(crate) use accounts::{
    arn_in_account, generated_members, is_account_id, is_parent_id, validate_organization, validate_sts_policy,
};
pub use accounts::{
    AccountStatus, JoinedMethod, OrgAccount, Organization, StsPolicy, GENERATED_MEMBER_OU, GENERATED_MEMBER_ROLE,
    MANAGEMENT_ACCOUNT,
};

/// The tag key the sample fleet uses to mark resources the janitor must never delete.
pub const PROTECT_TAG: &str = "janitor:protect";

/// The account id used by generated and sample ARNs.
const ACCOUNT: &str = MANAGEMENT_ACCOUNT;

/// How old "old" generated resources are: well past any sensible minimum age.
const OLD: Duration = Duration::from_secs(90 * 86_400);

/// The whole emulated estate, across regions: the caller's own account's resources ([`MANAGEMENT_ACCOUNT`]) and,
/// in `member_accounts`, those of the other accounts of its organization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fleet {
    #[serde(default)]
    pub connections: Vec<Connection>,
    /// DMS resource tags (endpoints, replication instances) keyed by resource ARN.
    #[serde(default)]
    pub tags: BTreeMap<String, BTreeMap<String, String>>,
    /// RDS zero-ETL integrations (RDS's API, 2014-10-31).
    #[serde(default)]
    pub integrations: Vec<Integration>,
    /// Redshift-managed zero-ETL integrations (Redshift's API, 2012-12-01), e.g. from DynamoDB sources. Each ARN
    /// must be `arn:aws:redshift:<region>:<account>:integration:<lowercase uuid>` in the integration's region
    /// (see [`Fleet::validate`]).
    #[serde(rename = "redshiftIntegrations", default, skip_serializing_if = "Vec::is_empty")]
    pub redshift_integrations: Vec<Integration>,
    /// AWS Glue zero-ETL integrations (Glue's API, 2017-03-31), e.g. from SaaS applications into the Data Catalog.
    /// Each ARN must be `arn:aws:glue:<region>:<account>:integration:<lowercase uuid>` in the integration's region,
    /// and each Status one of Glue's, which it spells in upper case (`FAILED` when none is given; see
    /// [`Fleet::validate`]).
    #[serde(
        rename = "glueIntegrations",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "glue_integrations"
    )]
    pub glue_integrations: Vec<Integration>,
    /// Alibaba Cloud DTS jobs (any region name, e.g. `cn-hangzhou`).
    #[serde(rename = "dtsJobs", default, skip_serializing_if = "Vec::is_empty")]
    pub dts_jobs: Vec<DtsJob>,
    /// The AccessKey pairs (AccessKeyId -> secret) the DTS endpoint verifies V3 signatures against; empty means
    /// the default pair [`DTS_ACCESS_KEY_ID`] / [`DTS_ACCESS_KEY_SECRET`].
    #[serde(rename = "dtsAccessKeys", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dts_access_keys: BTreeMap<String, String>,
    /// STS security tokens (`x-acs-security-token`) the DTS endpoint refuses, once the signature holds, with 403
    /// `InvalidSecurityToken.Expired`; any other token, or none, is accepted. A test expires the token a client
    /// holds by adding it here, and renews it by handing out another one.
    #[serde(rename = "dtsExpiredTokens", default, skip_serializing_if = "BTreeSet::is_empty")]
    pub dts_expired_tokens: BTreeSet<String>,
    /// Other AWS accounts, keyed by 12-digit account id, each with its own DMS, RDS, Redshift and Glue resources (whose
    /// ARNs name it). A call acts in one of them when it is signed with credentials the emulator's STS issued for it. A
    /// member's own `memberAccounts`, `sts`, `organization` and DTS fields must be empty.
    #[serde(rename = "memberAccounts", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub member_accounts: BTreeMap<String, Fleet>,
    /// ARNs of resources that no longer exist, though what is listed (or an archived report) may still name them: the
    /// sources and targets of zero-ETL integrations, DMS endpoints and replication instances. A create that names one
    /// answers the service's not-found error (RDS CreateIntegration: DBClusterNotFoundFault, or DBInstanceNotFound for
    /// a `:db:` source, and InvalidParameterValue for a target; Redshift: IntegrationSourceNotFoundFault or
    /// IntegrationTargetNotFoundFault; Glue: ResourceNotFoundException; DMS TestConnection: ResourceNotFoundFault).
    /// Any other ARN is taken to exist. Each account has its own: a member's are in its fleet.
    #[serde(rename = "goneArns", default, skip_serializing_if = "BTreeSet::is_empty")]
    pub gone_arns: BTreeSet<String>,
    /// IAM actions (`dms:DescribeConnections`, `rds:DescribeIntegrations`, ...) this account's caller may not make:
    /// each answers the service's access-denied error, as a missing grant would.
    #[serde(rename = "deniedActions", default, skip_serializing_if = "BTreeSet::is_empty")]
    pub denied_actions: BTreeSet<String>,
    /// Which member account roles STS AssumeRole lets a caller assume.
    #[serde(default, skip_serializing_if = "StsPolicy::is_open")]
    pub sts: StsPolicy,
    /// The organization Organizations lists; `None` answers AWSOrganizationsNotInUseException.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Organization>,
}

/// A DMS connection: the pair (endpoint, replication instance) in one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Connection {
    #[serde(rename = "region", default = "default_region")]
    pub region: String,
    pub endpoint_arn: String,
    pub replication_instance_arn: String,
    /// Defaults to the endpoint ARN's last segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_identifier: Option<String>,
    /// Defaults to the replication instance ARN's last segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_instance_identifier: Option<String>,
    #[serde(default = "default_status")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure_message: Option<String>,
    #[serde(rename = "onDelete", default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<OnDelete>,
}

/// A zero-ETL integration in one region: RDS's (`integrations`), Redshift's own (`redshiftIntegrations`, whose
/// API has no DataFilter, so one given is not served) or Glue's (`glueIntegrations`, whose Status is upper case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Integration {
    #[serde(rename = "region", default = "default_region")]
    pub region: String,
    pub integration_arn: String,
    /// Defaults to the ARN's last segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_name: Option<String>,
    /// Defaults to an Aurora cluster ARN named after the integration (for a Redshift integration ARN, a DynamoDB
    /// table ARN; for a Glue one, a Glue connection ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
    /// Defaults to a Redshift Serverless namespace ARN named after the integration (for a Glue integration ARN, a
    /// Glue database ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_arn: Option<String>,
    /// Defaults to `failed` (`FAILED` in `glueIntegrations`).
    #[serde(default = "default_status")]
    pub status: String,
    /// ISO-8601 in JSON; a file may also say `now-<N><s|m|h|d>`.
    #[serde(with = "serde_timestamp", default = "month_ago")]
    pub create_time: SystemTime,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub errors: Vec<IntegrationError>,
    #[serde(rename = "KMSKeyId", default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_encryption_context: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_filter: Option<String>,
    /// Glue's only (its API's IntegrationConfig); not served by RDS or Redshift, whose APIs have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_config: Option<IntegrationConfig>,
    #[serde(rename = "onDelete", default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<OnDelete>,
}

/// A Glue integration's configuration settings, the members of Glue's `IntegrationConfig` (each optional). In a fleet
/// file as on the wire; members the emulator does not know are ignored, as they would be on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IntegrationConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub source_properties: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub continuous_sync: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_namespace: Option<String>,
}

/// One entry of an integration's `Errors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IntegrationError {
    pub error_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// Forces the outcome of deleting one resource, to exercise the janitor's error paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnDelete {
    /// The resource vanished just before the call: not-found error, and it is gone (Glue: IntegrationNotFoundFault,
    /// the other of the two not-found errors its model lists).
    NotFound,
    /// DMS InvalidResourceStateFault / RDS and Glue InvalidIntegrationStateFault / Redshift
    /// IntegrationConflictStateFault.
    InvalidState,
    /// RDS, Redshift and Glue IntegrationConflictOperationFault (DMS: like `InvalidState`).
    Conflict,
    /// Redshift UnsupportedOperation (DMS, RDS and Glue, which have no such error: like `InvalidState`).
    Unsupported,
    /// The caller's IAM policy denies the call: DMS and Glue AccessDeniedException / RDS and Redshift 403
    /// AccessDenied.
    AccessDenied,
    /// DMS AccessDeniedFault: DMS itself was denied access to the endpoint (the others: like `AccessDenied`).
    EndpointAccessDenied,
    /// Every delete is throttled.
    Throttle,
    /// A not-found error although the resource stays listed (a claim the janitor must check, not trust; Glue:
    /// IntegrationNotFoundFault, as for `NotFound`).
    NotFoundButListed,
}

/// The AccessKeyId the DTS endpoint knows when the fleet names none.
pub const DTS_ACCESS_KEY_ID: &str = "LTAIemulatorKeyId";
/// Its secret.
pub const DTS_ACCESS_KEY_SECRET: &str = "emulator-secret";

/// The kind of a DTS job, as `JobType` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DtsJobType {
    Migration,
    Sync,
    Subscribe,
}

impl DtsJobType {
    /// The `JobType` value.
    pub fn as_str(self) -> &'static str {
        match self {
            DtsJobType::Migration => "MIGRATION",
            DtsJobType::Sync => "SYNC",
            DtsJobType::Subscribe => "SUBSCRIBE",
        }
    }

    /// Parses a `JobType` value (case-insensitive).
    pub fn parse(value: &str) -> Option<DtsJobType> {
        [DtsJobType::Migration, DtsJobType::Sync, DtsJobType::Subscribe]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(value.trim()))
    }
}

/// A DTS job (migration, synchronization or change tracking) in one region, as DescribeDtsJobs lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DtsJob {
    #[serde(rename = "region", default = "default_dts_region")]
    pub region: String,
    pub dts_job_id: String,
    /// Defaults to `dts` followed by the job id.
    #[serde(rename = "DtsInstanceID", default, skip_serializing_if = "Option::is_none")]
    pub dts_instance_id: Option<String>,
    /// Defaults to the job id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dts_job_name: Option<String>,
    #[serde(default = "default_dts_job_type")]
    pub job_type: DtsJobType,
    /// Defaults to `PrecheckFailed` (a failed state of every job type).
    #[serde(default = "default_dts_status")]
    pub status: String,
    /// ISO-8601 in JSON; a file may also say `now-<N><s|m|h|d>`.
    #[serde(with = "serde_timestamp", default = "month_ago")]
    pub create_time: SystemTime,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tag_list: Vec<DtsTag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The reverse half of a two-way synchronization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverse_job: Option<DtsReverseJob>,
    #[serde(rename = "onDelete", default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<DtsOnDelete>,
}

/// One entry of a DTS job's `TagList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DtsTag {
    pub tag_key: String,
    #[serde(default)]
    pub tag_value: String,
}

/// The reverse half of a two-way synchronization (`ReverseJob`), judged and deleted on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DtsReverseJob {
    pub dts_job_id: String,
    /// Defaults to the forward job's instance.
    #[serde(rename = "DtsInstanceID", default, skip_serializing_if = "Option::is_none")]
    pub dts_instance_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dts_job_name: Option<String>,
    #[serde(default = "default_dts_status")]
    pub status: String,
    /// Defaults to the forward job's CreateTime.
    #[serde(with = "serde_opt_timestamp", default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<SystemTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(rename = "onDelete", default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<DtsOnDelete>,
}

/// Forces the outcome of deleting one DTS job (or reverse half).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DtsOnDelete {
    /// The job vanished just before the call: `Forbidden.InstanceNotFound`, and it is gone.
    NotFound,
    /// `Forbidden.InstanceNotFound`, yet the job stays and DescribeDtsJobs still lists it: a not-found answer that
    /// must not be believed without a look.
    NotFoundButListed,
    /// `Success: false` with ErrCode `InvalidParameter` and an ErrMessage whose `%s` DynamicMessage fills.
    Business,
    /// 403 `Forbidden.RAM`.
    AccessDenied,
    /// Every delete is throttled (`Throttling.User`).
    Throttle,
    /// 403 `InvalidSecurityToken.Expired`.
    ExpiredToken,
}

impl DtsJob {
    /// A month-old migration job in `PrecheckFailed` with every optional field at its default.
    pub fn new(region: &str, dts_job_id: &str) -> Self {
        DtsJob {
            region: region.to_owned(),
            dts_job_id: dts_job_id.to_owned(),
            dts_instance_id: None,
            dts_job_name: None,
            job_type: default_dts_job_type(),
            status: default_dts_status(),
            create_time: month_ago(),
            tag_list: Vec::new(),
            error_message: None,
            reverse_job: None,
            on_delete: None,
        }
    }

    /// The DtsInstanceID DTS reports (given, or derived from the job id).
    pub fn instance_id(&self) -> String {
        self.dts_instance_id.clone().unwrap_or_else(|| format!("dts{}", self.dts_job_id))
    }

    /// The DtsJobName DTS reports (given, or the job id).
    pub fn name(&self) -> &str {
        self.dts_job_name.as_deref().unwrap_or(&self.dts_job_id)
    }
}

fn default_dts_region() -> String {
    "cn-hangzhou".to_owned()
}

fn default_dts_job_type() -> DtsJobType {
    DtsJobType::Migration
}

fn default_dts_status() -> String {
    "PrecheckFailed".to_owned()
}

/// Serde adapter for an optional timestamp (ISO-8601 or relative `now-…`).
mod serde_opt_timestamp {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => crate::clock::serde_timestamp::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
        #[derive(Deserialize)]
        struct Wrapped(#[serde(with = "crate::clock::serde_timestamp")] SystemTime);
        Ok(Option::<Wrapped>::deserialize(d)?.map(|Wrapped(t)| t))
    }
}

/// Why a fleet file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("cannot read fleet file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("invalid fleet JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "redshiftIntegrations: {arn:?} is not a Redshift integration ARN \
         (arn:aws:redshift:<region>:<account>:integration:<lowercase uuid>)"
    )]
    RedshiftIntegrationArn { arn: String },
    #[error("redshiftIntegrations: {arn:?} is an ARN of another region than the integration's {region:?}")]
    RedshiftIntegrationRegion { arn: String, region: String },
    #[error("redshiftIntegrations: {arn:?} is listed twice")]
    DuplicateRedshiftIntegration { arn: String },
    #[error(
        "glueIntegrations: {arn:?} is not a Glue integration ARN \
         (arn:aws:glue:<region>:<account>:integration:<lowercase uuid>)"
    )]
    GlueIntegrationArn { arn: String },
    #[error("glueIntegrations: {arn:?} is an ARN of another region than the integration's {region:?}")]
    GlueIntegrationRegion { arn: String, region: String },
    #[error("glueIntegrations: {arn:?} is listed twice")]
    DuplicateGlueIntegration { arn: String },
    #[error("glueIntegrations: {arn:?} has Status {status:?}; Glue's are {}", GLUE_STATUSES.join(" | "))]
    GlueIntegrationStatus { arn: String, status: String },
    #[error("{field}: {id:?} is not a 12-digit account id (or, in memberAccounts, is the management account's)")]
    AccountId { field: &'static str, id: String },
    #[error("memberAccounts.{account}: {field} belongs in the management account's fleet only")]
    MemberField { account: String, field: &'static str },
    #[error("memberAccounts.{account}: {arn:?} names another account than the member's")]
    MemberArnAccount { account: String, arn: String },
    #[error("organization: {id:?} is not an organization id (o- and 10 to 32 lowercase letters or digits)")]
    OrganizationId { id: String },
    #[error("organization: {id:?} is not a root id (r- and 4 to 32 lowercase letters or digits)")]
    RootId { id: String },
    #[error("organization: account {id:?} is listed twice")]
    DuplicateOrgAccount { id: String },
    #[error("organization: account {account:?} has parent {parent:?}, neither the root {root:?} nor an OU of it")]
    ParentId { account: String, parent: String, root: String },
}

/// The Status values of Glue's model (`IntegrationStatus`), which spells them in upper case.
pub(crate) const GLUE_STATUSES: [&str; 7] =
    ["CREATING", "ACTIVE", "MODIFYING", "FAILED", "DELETING", "SYNCING", "NEEDS_ATTENTION"];

/// The region of `arn` if it matches the model's IntegrationArn pattern for Redshift,
/// `^arn:aws[a-z\-]*:redshift:[a-z0-9\-]*:[0-9]*:integration:<uuid in lowercase hex>$` (at most 255 characters).
pub(crate) fn redshift_integration_region(arn: &str) -> Option<&str> {
    integration_region(arn, "redshift")
}

/// The region of `arn` if it is a Glue integration ARN: at most 128 characters, as Glue's model says; the form,
/// Redshift's with service `glue`, is assumed, as the model gives no pattern.
pub(crate) fn glue_integration_region(arn: &str) -> Option<&str> {
    integration_region(arn, "glue").filter(|_| arn.len() <= 128)
}

/// The region of `arn:aws[a-z-]*:<service>:<region>:<digits>:integration:<lowercase uuid>` (at most 255 characters).
fn integration_region<'a>(arn: &'a str, service: &str) -> Option<&'a str> {
    if arn.len() > 255 {
        return None;
    }
    let parts: Vec<&str> = arn.splitn(7, ':').collect();
    match parts.as_slice() {
        ["arn", partition, s, region, account, "integration", id]
            if *s == service
                && partition
                    .strip_prefix("aws")
                    .is_some_and(|p| p.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
                && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && account.bytes().all(|b| b.is_ascii_digit())
                && is_lowercase_uuid(id) =>
        {
            Some(region)
        }
        _ => None,
    }
}

fn is_lowercase_uuid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, len)| {
            group.len() == len && group.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

fn default_region() -> String {
    "us-east-1".to_owned()
}

fn default_status() -> String {
    "failed".to_owned()
}

/// Glue spells the failed status in upper case, as every Status of its model.
const GLUE_FAILED: &str = "FAILED";

/// `glueIntegrations` as the file has them, a missing Status being Glue's `FAILED` rather than the lower-case
/// default of RDS and Redshift (which is decided per field, before the ARN could tell whose integration it is).
fn glue_integrations<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Integration>, D::Error> {
    Vec::<serde_json::Value>::deserialize(d)?
        .into_iter()
        .map(|mut value| {
            if let Some(fields) = value.as_object_mut() {
                fields.entry("Status").or_insert_with(|| GLUE_FAILED.into());
            }
            serde_json::from_value(value).map_err(serde::de::Error::custom)
        })
        .collect()
}

pub(crate) fn month_ago() -> SystemTime {
    ago(Duration::from_secs(30 * 86_400))
}

fn ago(d: Duration) -> SystemTime {
    let now = SystemTime::now();
    now.checked_sub(d).unwrap_or(now)
}

/// The part of an ARN after its last `:` (or `/`), used for default names.
pub(crate) fn last_segment(arn: &str) -> &str {
    arn.rsplit([':', '/']).next().unwrap_or(arn)
}

/// The account field of an ARN, or the emulator's default account.
pub(crate) fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).filter(|a| !a.is_empty()).unwrap_or(ACCOUNT)
}

impl Connection {
    /// A failed connection with every optional field at its default.
    pub fn new(region: &str, endpoint_arn: &str, replication_instance_arn: &str) -> Self {
        Connection {
            region: region.to_owned(),
            endpoint_arn: endpoint_arn.to_owned(),
            replication_instance_arn: replication_instance_arn.to_owned(),
            endpoint_identifier: None,
            replication_instance_identifier: None,
            status: default_status(),
            last_failure_message: None,
            on_delete: None,
        }
    }

    /// The EndpointIdentifier DMS reports (given, or derived from the ARN).
    pub fn endpoint_identifier(&self) -> &str {
        self.endpoint_identifier.as_deref().unwrap_or_else(|| last_segment(&self.endpoint_arn))
    }

    /// The ReplicationInstanceIdentifier DMS reports (given, or derived from the ARN).
    pub fn replication_instance_identifier(&self) -> &str {
        self.replication_instance_identifier.as_deref().unwrap_or_else(|| last_segment(&self.replication_instance_arn))
    }
}

impl Integration {
    /// A failed, month-old integration with every optional field at its default (`FAILED` for a Glue ARN, as Glue
    /// spells it).
    pub fn new(region: &str, integration_arn: &str) -> Self {
        let status =
            if glue_integration_region(integration_arn).is_some() { GLUE_FAILED.to_owned() } else { default_status() };
        Integration {
            region: region.to_owned(),
            integration_arn: integration_arn.to_owned(),
            integration_name: None,
            source_arn: None,
            target_arn: None,
            status,
            create_time: month_ago(),
            tags: BTreeMap::new(),
            errors: Vec::new(),
            kms_key_id: None,
            additional_encryption_context: BTreeMap::new(),
            description: None,
            data_filter: None,
            integration_config: None,
            on_delete: None,
        }
    }

    /// The IntegrationName RDS reports (given, or derived from the ARN).
    pub fn name(&self) -> &str {
        self.integration_name.as_deref().unwrap_or_else(|| last_segment(&self.integration_arn))
    }

    /// A failed, month-old Redshift integration in `region` whose ARN is [`Integration::redshift_arn`]`(region, n)`.
    pub fn redshift(region: &str, n: u64) -> Self {
        Integration::new(region, &Integration::redshift_arn(region, n))
    }

    /// A Redshift integration ARN of the emulator's account, unique for each `n`, of the form the model requires.
    pub fn redshift_arn(region: &str, n: u64) -> String {
        format!(
            "arn:aws:redshift:{region}:{ACCOUNT}:integration:{:08x}-0000-4000-a000-{:012x}",
            n >> 48,
            n & 0xffff_ffff_ffff
        )
    }

    /// A `FAILED`, month-old Glue integration in `region` whose ARN is [`Integration::glue_arn`]`(region, n)`.
    pub fn glue(region: &str, n: u64) -> Self {
        Integration::new(region, &Integration::glue_arn(region, n))
    }

    /// A Glue integration ARN of the emulator's account, unique for each `n`, of the form [`Fleet::validate`] wants.
    pub fn glue_arn(region: &str, n: u64) -> String {
        format!(
            "arn:aws:glue:{region}:{ACCOUNT}:integration:{:08x}-0000-4000-b000-{:012x}",
            n >> 48,
            n & 0xffff_ffff_ffff
        )
    }

    /// The SourceArn reported (given, or named after the integration: an Aurora cluster for an RDS integration, a
    /// DynamoDB table for a Redshift one, as the Redshift model allows only DynamoDB and S3 sources, and a Glue
    /// connection, as to a SaaS application, for a Glue one).
    pub fn source_arn(&self) -> String {
        self.source_arn.clone().unwrap_or_else(|| {
            let account = account_of(&self.integration_arn);
            if redshift_integration_region(&self.integration_arn).is_some() {
                format!("arn:aws:dynamodb:{}:{account}:table/{}", self.region, self.name())
            } else if glue_integration_region(&self.integration_arn).is_some() {
                format!("arn:aws:glue:{}:{account}:connection/{}", self.region, self.name())
            } else {
                format!("arn:aws:rds:{}:{account}:cluster:{}", self.region, self.name())
            }
        })
    }

    /// The TargetArn reported (given, or a Redshift Serverless namespace; for a Glue integration, a Data Catalog
    /// database).
    pub fn target_arn(&self) -> String {
        self.target_arn.clone().unwrap_or_else(|| {
            if glue_integration_region(&self.integration_arn).is_some() {
                let account = account_of(&self.integration_arn);
                return format!("arn:aws:glue:{}:{account}:database/{}", self.region, self.name());
            }
            format!(
                "arn:aws:redshift-serverless:{}:{}:namespace/{}",
                self.region,
                account_of(&self.integration_arn),
                self.name()
            )
        })
    }

    /// Whether `identifier` names this integration: its ARN, its name, or its id (the ARN's last segment, which
    /// AWS's own examples pass as `IntegrationIdentifier`).
    pub fn is_named(&self, identifier: &str) -> bool {
        self.integration_arn == identifier
            || self.name() == identifier
            || self.integration_arn.rsplit_once(":integration:").is_some_and(|(_, id)| id == identifier)
    }
}

/// Loading a fleet ([`Fleet::from_json`], [`Fleet::load`], [`Fleet::sample`]) checks it ([`Fleet::validate`]) as
/// every service's registration says, and copies for member accounts ([`Fleet::in_account`]) are made as they say:
/// those are in `services`, which knows the registrations. What is here is the data.
impl Fleet {
    /// A deterministic fleet for benchmarks: unique ARNs spread round-robin over
    /// `regions` (default `us-east-1`); `stale_share` of each kind failed and old,
    /// spread evenly, the rest healthy.
    pub fn generated(dms_connections: usize, integrations: usize, stale_share: f64, regions: &[&str]) -> Fleet {
        Fleet {
            connections: generated_connections(dms_connections, stale_share, regions),
            integrations: generated_rds_integrations(integrations, stale_share, regions),
            ..Fleet::default()
        }
    }

    /// Redshift-managed integrations for a benchmark fleet, shaped like [`Fleet::generated`]'s RDS ones (round-robin
    /// over `regions`, `stale_share` failed and old, the rest active), with DynamoDB sources and
    /// [`Integration::redshift_arn`] ARNs.
    pub fn generated_redshift_integrations(count: usize, stale_share: f64, regions: &[&str]) -> Vec<Integration> {
        generated_integrations(count, stale_share, regions, Integration::redshift, "gen-redshift-integration", "active")
    }

    /// Glue integrations for a benchmark fleet, shaped like [`Fleet::generated`]'s RDS ones but with Glue's upper-case
    /// statuses (`FAILED`, `ACTIVE`), Glue connection sources and [`Integration::glue_arn`] ARNs.
    pub fn generated_glue_integrations(count: usize, stale_share: f64, regions: &[&str]) -> Vec<Integration> {
        generated_integrations(count, stale_share, regions, Integration::glue, "gen-glue-integration", "ACTIVE")
    }
}

/// `count` DMS connections for a benchmark fleet: round-robin over `regions` (default `us-east-1`), spread over 16
/// replication instances, `stale_share` of them failed, the rest successful.
pub(crate) fn generated_connections(count: usize, stale_share: f64, regions: &[&str]) -> Vec<Connection> {
    let regions = generated_regions(regions);
    let stale = stale_at(stale_share);
    (0..count)
        .map(|i| {
            let region = regions[i % regions.len()];
            let mut c = Connection::new(
                region,
                &format!("arn:aws:dms:{region}:{ACCOUNT}:endpoint:GENEP{i:021}"),
                &format!("arn:aws:dms:{region}:{ACCOUNT}:rep:GENRI{:021}", i % 16),
            );
            c.endpoint_identifier = Some(format!("gen-endpoint-{i}"));
            c.replication_instance_identifier = Some(format!("gen-ri-{}", i % 16));
            if stale(i) {
                c.last_failure_message = Some("Test connection failed: timeout".to_owned());
            } else {
                c.status = "successful".to_owned();
            }
            c
        })
        .collect()
}

/// `count` RDS integrations for a benchmark fleet, round-robin over `regions`, `stale_share` of them failed and old,
/// the rest active.
pub(crate) fn generated_rds_integrations(count: usize, stale_share: f64, regions: &[&str]) -> Vec<Integration> {
    generated_integrations(count, stale_share, regions, rds_integration, "gen-integration", "active")
}

/// Generated RDS integration n.
fn rds_integration(region: &str, n: u64) -> Integration {
    Integration::new(region, &format!("arn:aws:rds:{region}:{ACCOUNT}:integration:00000000-0000-4000-8000-{n:012x}"))
}

/// Copies of `integrations` as account `account` holds them: the ARNs (their own, their sources' and targets') name
/// it.
pub(crate) fn integrations_in_account(integrations: &[Integration], account: &str) -> Vec<Integration> {
    let mut integrations = integrations.to_vec();
    for i in &mut integrations {
        i.integration_arn = arn_in_account(&i.integration_arn, account);
        i.source_arn = i.source_arn.as_deref().map(|a| arn_in_account(a, account));
        i.target_arn = i.target_arn.as_deref().map(|a| arn_in_account(a, account));
    }
    integrations
}

/// The integrations' own ARNs.
pub(crate) fn integration_arns(integrations: &[Integration]) -> Vec<&str> {
    integrations.iter().map(|i| i.integration_arn.as_str()).collect()
}

/// `count` integrations made by `make(region, n)`, round-robin over `regions`, named `<prefix>-<n>`, old, `stale_share`
/// of them failed, the rest `active` (as the service spells it).
fn generated_integrations(
    count: usize,
    stale_share: f64,
    regions: &[&str],
    make: fn(&str, u64) -> Integration,
    prefix: &str,
    active: &str,
) -> Vec<Integration> {
    let regions = generated_regions(regions);
    let stale = stale_at(stale_share);
    let old = ago(OLD);
    (0..count)
        .map(|i| {
            let region = regions[i % regions.len()];
            generated_integration(make(region, i as u64), &format!("{prefix}-{i}"), stale(i), old, active)
        })
        .collect()
}

/// The regions of a generated fleet: those given, or `us-east-1`.
fn generated_regions<'a>(regions: &'a [&'a str]) -> &'a [&'a str] {
    if regions.is_empty() {
        &["us-east-1"]
    } else {
        regions
    }
}

/// Whether generated item i is stale: when the running stale count steps up at i, which makes exactly
/// floor(n * share) of n items stale, evenly interleaved with healthy ones.
fn stale_at(stale_share: f64) -> impl Fn(usize) -> bool {
    let share = stale_share.clamp(0.0, 1.0);
    move |i| ((i + 1) as f64 * share).floor() > (i as f64 * share).floor()
}

/// A generated integration created at `created`, named `name`, failed with an error if `stale` (keeping its failed
/// status), else `active`.
fn generated_integration(
    mut integration: Integration,
    name: &str,
    stale: bool,
    created: SystemTime,
    active: &str,
) -> Integration {
    integration.integration_name = Some(name.to_owned());
    integration.create_time = created;
    if stale {
        integration.errors = vec![IntegrationError {
            error_code: "SOURCE_CLUSTER_NOT_FOUND".to_owned(),
            error_message: Some("The source cluster no longer exists.".to_owned()),
        }];
    } else {
        integration.status = active.to_owned();
    }
    integration
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_file_parses_and_tells_the_story() {
        let fleet = Fleet::sample();
        let regions: std::collections::BTreeSet<_> = fleet.connections.iter().map(|c| c.region.as_str()).collect();
        assert_eq!(regions.into_iter().collect::<Vec<_>>(), ["eu-west-1", "us-east-1"]);
        for status in ["failed", "successful", "testing", "deleting"] {
            assert!(fleet.connections.iter().any(|c| c.status == status), "{status}");
        }
        for status in ["failed", "active", "needs_attention"] {
            assert!(fleet.integrations.iter().any(|i| i.status == status), "{status}");
        }
        let hour_ago = ago(Duration::from_secs(3600));
        assert!(fleet.integrations.iter().any(|i| i.status == "failed" && i.create_time > hour_ago));
        assert!(fleet.integrations.iter().any(|i| i.tags.contains_key(PROTECT_TAG)));
        // One connection protected through its endpoint, one through its replication instance.
        let protected = |arn: &str| fleet.tags.get(arn).is_some_and(|t| t.contains_key(PROTECT_TAG));
        assert!(fleet.connections.iter().any(|c| protected(&c.endpoint_arn)));
        assert!(fleet.connections.iter().any(|c| protected(&c.replication_instance_arn)));
        // DTS: every failed state of every job type, old; a young failure; a protected one; healthy ones; and a
        // two-way synchronization whose reverse half failed.
        let dts = |job_type: DtsJobType, status: &str| {
            fleet.dts_jobs.iter().any(|j| j.job_type == job_type && j.status == status && j.create_time < hour_ago)
        };
        for (job_type, status) in [
            (DtsJobType::Migration, "PrecheckFailed"),
            (DtsJobType::Migration, "MigrationFailed"),
            (DtsJobType::Sync, "PrecheckFailed"),
            (DtsJobType::Sync, "InitializeFailed"),
            (DtsJobType::Sync, "Failed"),
            (DtsJobType::Subscribe, "PrecheckFailed"),
            (DtsJobType::Subscribe, "Abnormal"),
            (DtsJobType::Migration, "Finished"),
            (DtsJobType::Sync, "Synchronizing"),
            (DtsJobType::Subscribe, "Normal"),
        ] {
            assert!(dts(job_type, status), "{job_type:?} {status}");
        }
        assert!(fleet.dts_jobs.iter().any(|j| j.status == "Failed" && j.create_time > hour_ago));
        assert!(fleet.dts_jobs.iter().any(|j| j.tag_list.iter().any(|t| t.tag_key == PROTECT_TAG)));
        assert!(fleet
            .dts_jobs
            .iter()
            .any(|j| j.status == "Synchronizing" && j.reverse_job.as_ref().is_some_and(|r| r.status == "Failed")));
        let dts_regions: std::collections::BTreeSet<_> = fleet.dts_jobs.iter().map(|j| j.region.as_str()).collect();
        assert_eq!(dts_regions.into_iter().collect::<Vec<_>>(), ["ap-southeast-1", "cn-hangzhou"]);
        assert!(fleet.dts_access_keys.is_empty(), "the sample uses the default key pair");
    }

    #[test]
    fn dts_jobs_parse_with_defaults() {
        let fleet = Fleet::from_json(
            r#"{"dtsJobs":[{"DtsJobId":"j1"},
                {"region":"ap-southeast-1","DtsJobId":"j2","DtsInstanceID":"dtsX","DtsJobName":"two-way","JobType":"SYNC",
                 "Status":"Synchronizing","CreateTime":"2024-01-02T03:04:05Z","TagList":[{"TagKey":"janitor:protect"}],
                 "ReverseJob":{"DtsJobId":"j2r","Status":"Failed","CreateTime":"now-2d","onDelete":"Throttle"},"onDelete":"ExpiredToken"}],
               "dtsAccessKeys":{"LTAIother":"other-secret"},"dtsExpiredTokens":["STS.old"]}"#,
        )
        .unwrap();
        let j1 = &fleet.dts_jobs[0];
        assert_eq!(
            (j1.region.as_str(), j1.job_type, j1.status.as_str()),
            ("cn-hangzhou", DtsJobType::Migration, "PrecheckFailed")
        );
        assert_eq!((j1.instance_id(), j1.name()), ("dtsj1".to_owned(), "j1"));
        assert!(j1.create_time < ago(Duration::from_secs(29 * 86_400)));
        let j2 = &fleet.dts_jobs[1];
        assert_eq!(j2.instance_id(), "dtsX");
        assert_eq!(j2.tag_list[0].tag_value, "");
        assert_eq!(j2.on_delete, Some(DtsOnDelete::ExpiredToken));
        let reverse = j2.reverse_job.as_ref().unwrap();
        assert_eq!((reverse.status.as_str(), reverse.on_delete), ("Failed", Some(DtsOnDelete::Throttle)));
        assert!(reverse.create_time.is_some_and(|t| t < ago(Duration::from_secs(86_400))));
        assert_eq!(fleet.dts_access_keys["LTAIother"], "other-secret");
        assert_eq!(fleet.dts_expired_tokens.iter().collect::<Vec<_>>(), ["STS.old"]);
        for bad in [
            r#"{"dtsJobs":[{"DtsJobId":"j","JobType":"ETL"}]}"#,
            r#"{"dtsJobs":[{"DtsJobId":"j","onDelete":"Sometimes"}]}"#,
            r#"{"dtsJobs":[{"DtsJobID":"j"}]}"#,
            r#"{"dtsJobs":[{"DtsJobId":"j","ReverseJob":{"Status":"Failed"}}]}"#,
            r#"{"dtsExpiredTokens":"STS.old"}"#,
        ] {
            assert!(Fleet::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_fill_everything_but_region_and_arns() {
        let fleet = Fleet::from_json(
            r#"{"connections":[{"EndpointArn":"arn:aws:dms:us-east-1:1:endpoint:E1","ReplicationInstanceArn":"arn:aws:dms:us-east-1:1:rep:R1"}],
                "integrations":[{"region":"eu-west-1","IntegrationArn":"arn:aws:rds:eu-west-1:1:integration:abc"}]}"#,
        )
        .unwrap();
        let c = &fleet.connections[0];
        assert_eq!((c.region.as_str(), c.status.as_str(), c.endpoint_identifier()), ("us-east-1", "failed", "E1"));
        assert_eq!(c.replication_instance_identifier(), "R1");
        let i = &fleet.integrations[0];
        assert_eq!((i.name(), i.status.as_str()), ("abc", "failed"));
        assert_eq!(i.source_arn(), "arn:aws:rds:eu-west-1:1:cluster:abc");
        assert!(i.create_time < ago(Duration::from_secs(29 * 86_400)));
    }

    #[test]
    fn parses_the_documented_example_verbatim() {
        let fleet = Fleet::from_json(
            r#"{
  "connections": [
    {"region": "us-east-1", "EndpointArn": "arn:aws:dms:us-east-1:123456789012:endpoint:ABC", "ReplicationInstanceArn": "arn:aws:dms:us-east-1:123456789012:rep:XYZ",
     "EndpointIdentifier": "src-pg", "ReplicationInstanceIdentifier": "ri-1", "Status": "failed", "LastFailureMessage": "timeout",
     "onDelete": null}
  ],
  "tags": {"arn:aws:dms:us-east-1:123456789012:endpoint:ABC": {"janitor:protect": "true"}},
  "integrations": [
    {"region": "us-east-1", "IntegrationArn": "arn:aws:rds:us-east-1:123456789012:integration:5b9f3d79-7392-4a3e-896c-58eaa1b53231",
     "IntegrationName": "orders-to-redshift", "SourceArn": "arn:aws:rds:us-east-1:123456789012:cluster:orders", "TargetArn": "arn:aws:redshift-serverless:us-east-1:123456789012:namespace/abc",
     "Status": "failed", "CreateTime": "2024-01-02T03:04:05.000Z", "Tags": {"team": "data"}, "Errors": [{"ErrorCode": "SOURCE_LOST", "ErrorMessage": "..."}],
     "KMSKeyId": null, "Description": null, "DataFilter": null, "onDelete": null}
  ]
}"#,
        )
        .unwrap();
        assert_eq!(fleet.connections[0].endpoint_identifier(), "src-pg");
        assert_eq!(crate::clock::format_iso8601(fleet.integrations[0].create_time), "2024-01-02T03:04:05.000Z");
    }

    #[test]
    fn round_trips_through_json() {
        let fleet = Fleet::sample();
        let json = serde_json::to_string(&fleet).unwrap();
        let back = Fleet::from_json(&json).unwrap();
        // Timestamps are kept to the millisecond on the wire.
        let ms =
            |f: &Fleet| f.integrations.iter().map(|i| crate::clock::format_iso8601(i.create_time)).collect::<Vec<_>>();
        assert_eq!(ms(&fleet), ms(&back));
        assert_eq!(fleet.connections, back.connections);
        assert_eq!(fleet.tags, back.tags);
        let dts = |f: &Fleet| {
            f.dts_jobs
                .iter()
                .map(|j| (j.dts_job_id.clone(), crate::clock::format_iso8601(j.create_time), j.reverse_job.is_some()))
                .collect::<Vec<_>>()
        };
        assert_eq!(dts(&fleet), dts(&back));
    }

    #[test]
    fn gone_arns_and_integration_configs_load_and_round_trip() {
        let fleet = Fleet::from_json(
            r#"{"goneArns":["arn:aws:rds:us-east-1:123456789012:cluster:orders"],
                "glueIntegrations":[{"IntegrationArn":"arn:aws:glue:us-east-1:123456789012:integration:0a1b2c3d-0000-4000-b000-00000000beef",
                  "IntegrationConfig":{"RefreshInterval":"60","ContinuousSync":false,"SourceProperties":{"a":"1"}}}]}"#,
        )
        .unwrap();
        assert_eq!(fleet.gone_arns.iter().collect::<Vec<_>>(), ["arn:aws:rds:us-east-1:123456789012:cluster:orders"]);
        let config = fleet.glue_integrations[0].integration_config.clone().unwrap();
        assert_eq!(
            config,
            IntegrationConfig {
                refresh_interval: Some("60".to_owned()),
                source_properties: [("a".to_owned(), "1".to_owned())].into(),
                continuous_sync: Some(false),
                target_namespace: None,
            }
        );
        let json = serde_json::to_string(&fleet).unwrap();
        assert!(json.contains(r#""goneArns":["arn:aws:rds:us-east-1:123456789012:cluster:orders"]"#), "{json}");
        assert_eq!(Fleet::from_json(&json).unwrap().gone_arns, fleet.gone_arns);
        let plain = serde_json::to_string(&Fleet::default()).unwrap();
        assert!(!plain.contains("goneArns") && !plain.contains("IntegrationConfig"), "skipped when empty: {plain}");
        assert!(Fleet::from_json("{}").unwrap().gone_arns.is_empty(), "older fleet files still load");
        assert!(Fleet::from_json(r#"{"goneArns":"arn:x"}"#).is_err(), "a list");
    }

    #[test]
    fn rejects_typos_and_bad_values() {
        for bad in [
            r#"{"conections":[]}"#,
            r#"{"connections":[{"EndpointArn":"a"}]}"#,
            r#"{"integrations":[{"IntegrationArn":"a","onDelete":"Sometimes"}]}"#,
            r#"{"integrations":[{"IntegrationArn":"a","CreateTime":"last week"}]}"#,
        ] {
            assert!(Fleet::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redshift_integrations_load_and_are_validated() {
        let arn = "arn:aws:redshift:eu-west-1:123456789012:integration:0a1b2c3d-0000-4000-a000-00000000beef";
        let fleet = Fleet::from_json(&format!(
            r#"{{"redshiftIntegrations":[{{"region":"eu-west-1","IntegrationArn":"{arn}","Status":"needs_attention"}}]}}"#
        ))
        .unwrap();
        let i = &fleet.redshift_integrations[0];
        assert_eq!((i.status.as_str(), i.name()), ("needs_attention", "0a1b2c3d-0000-4000-a000-00000000beef"));
        assert_eq!(
            i.source_arn(),
            "arn:aws:dynamodb:eu-west-1:123456789012:table/0a1b2c3d-0000-4000-a000-00000000beef"
        );
        assert!(Fleet::from_json("{}").unwrap().redshift_integrations.is_empty(), "older fleet files still load");
        let json = serde_json::to_string(&fleet).unwrap();
        assert!(json.contains(r#""redshiftIntegrations":[{"region":"eu-west-1","#), "{json}");
        assert_eq!(Fleet::from_json(&json).unwrap().redshift_integrations[0].integration_arn, arn);

        let load = |region: &str, arns: &[&str]| {
            let list: Vec<String> =
                arns.iter().map(|a| format!(r#"{{"region":"{region}","IntegrationArn":"{a}"}}"#)).collect();
            Fleet::from_json(&format!(r#"{{"redshiftIntegrations":[{}]}}"#, list.join(",")))
        };
        for bad in [
            "arn:aws:rds:eu-west-1:123456789012:integration:0a1b2c3d-0000-4000-a000-00000000beef",
            "arn:aws:redshift:eu-west-1:123456789012:integration:0A1B2C3D-0000-4000-A000-00000000BEEF",
            "arn:aws:redshift:eu-west-1:123456789012:integration:not-a-uuid",
            "arn:aws:redshift:eu-west-1:12345678901x:integration:0a1b2c3d-0000-4000-a000-00000000beef",
            "arn:aws:redshift:eu-west-1:123456789012:namespace:0a1b2c3d-0000-4000-a000-00000000beef",
        ] {
            assert!(matches!(load("eu-west-1", &[bad]), Err(FleetError::RedshiftIntegrationArn { .. })), "{bad}");
        }
        assert!(matches!(load("us-east-1", &[arn]), Err(FleetError::RedshiftIntegrationRegion { .. })));
        assert!(matches!(load("eu-west-1", &[arn, arn]), Err(FleetError::DuplicateRedshiftIntegration { .. })));
        let china = "arn:aws-cn:redshift:cn-north-1:123456789012:integration:0a1b2c3d-0000-4000-a000-00000000beef";
        assert!(load("cn-north-1", &[china]).is_ok());
    }

    #[test]
    fn redshift_arns_are_unique_and_of_the_model_form() {
        let arns: std::collections::HashSet<String> = [0, 1, 0xffff_ffff_ffff, 1 << 48, u64::MAX]
            .iter()
            .map(|n| Integration::redshift_arn("us-east-1", *n))
            .collect();
        assert_eq!(arns.len(), 5);
        assert!(arns.iter().all(|a| redshift_integration_region(a) == Some("us-east-1")), "{arns:?}");
    }

    #[test]
    fn generated_redshift_integrations_are_shared_out_like_rds_ones() {
        let generated = Fleet::generated_redshift_integrations(100, 0.3, &["us-east-1", "eu-west-1"]);
        let fleet = Fleet { redshift_integrations: generated, ..Fleet::default() };
        assert_eq!(fleet.validate().map_err(|e| e.to_string()), Ok(()));
        let r = &fleet.redshift_integrations;
        assert_eq!(r.iter().filter(|i| i.status == "failed" && !i.errors.is_empty()).count(), 30);
        assert_eq!(r.iter().filter(|i| i.status == "active").count(), 70);
        assert_eq!(r.iter().filter(|i| i.region == "eu-west-1").count(), 50);
        assert!(r.iter().all(|i| i.create_time < ago(Duration::from_secs(89 * 86_400))));
        assert!(Fleet::generated_redshift_integrations(0, 0.5, &[]).is_empty());
    }

    #[test]
    fn glue_integrations_load_with_glues_status_and_are_validated() {
        let arn = "arn:aws:glue:eu-west-1:123456789012:integration:0a1b2c3d-0000-4000-b000-00000000beef";
        let fleet = Fleet::from_json(&format!(
            r#"{{"glueIntegrations":[{{"region":"eu-west-1","IntegrationArn":"{arn}"}},
                {{"region":"eu-west-1","IntegrationArn":"{}","Status":"NEEDS_ATTENTION"}}]}}"#,
            arn.replace("beef", "cafe")
        ))
        .unwrap();
        let i = &fleet.glue_integrations[0];
        assert_eq!((i.status.as_str(), i.name()), ("FAILED", "0a1b2c3d-0000-4000-b000-00000000beef"), "Glue's default");
        assert_eq!(fleet.glue_integrations[1].status, "NEEDS_ATTENTION");
        assert_eq!(
            (i.source_arn(), i.target_arn()),
            (
                "arn:aws:glue:eu-west-1:123456789012:connection/0a1b2c3d-0000-4000-b000-00000000beef".to_owned(),
                "arn:aws:glue:eu-west-1:123456789012:database/0a1b2c3d-0000-4000-b000-00000000beef".to_owned()
            )
        );
        assert_eq!(Integration::new("eu-west-1", arn).status, "FAILED", "Integration::new knows a Glue ARN");
        assert!(Fleet::from_json("{}").unwrap().glue_integrations.is_empty(), "older fleet files still load");
        let plain = serde_json::to_string(&Fleet::default()).unwrap();
        assert!(!plain.contains("glueIntegrations"), "skipped when empty: {plain}");
        let json = serde_json::to_string(&fleet).unwrap();
        assert!(json.contains(r#""glueIntegrations":[{"region":"eu-west-1","#), "{json}");
        let kept = |f: &Fleet| {
            f.glue_integrations.iter().map(|i| (i.integration_arn.clone(), i.status.clone())).collect::<Vec<_>>()
        };
        assert_eq!(kept(&Fleet::from_json(&json).unwrap()), kept(&fleet));

        let load = |region: &str, entries: &[(&str, Option<&str>)]| {
            let list: Vec<String> = entries
                .iter()
                .map(|(a, status)| match status {
                    Some(s) => format!(r#"{{"region":"{region}","IntegrationArn":"{a}","Status":"{s}"}}"#),
                    None => format!(r#"{{"region":"{region}","IntegrationArn":"{a}"}}"#),
                })
                .collect();
            Fleet::from_json(&format!(r#"{{"glueIntegrations":[{}]}}"#, list.join(",")))
        };
        for bad in [
            "arn:aws:redshift:eu-west-1:123456789012:integration:0a1b2c3d-0000-4000-b000-00000000beef",
            "arn:aws:glue:eu-west-1:123456789012:integration:0A1B2C3D-0000-4000-B000-00000000BEEF",
            "arn:aws:glue:eu-west-1:123456789012:integration:not-a-uuid",
            "arn:aws:glue:eu-west-1:123456789012:connection:0a1b2c3d-0000-4000-b000-00000000beef",
        ] {
            assert!(matches!(load("eu-west-1", &[(bad, None)]), Err(FleetError::GlueIntegrationArn { .. })), "{bad}");
        }
        let of_length = |n: usize| {
            let partition = format!("aws-{}", "x".repeat(n - 85));
            format!("arn:{partition}:glue:eu-west-1:123456789012:integration:0a1b2c3d-0000-4000-b000-00000000beef")
        };
        assert!(load("eu-west-1", &[(&of_length(128), None)]).is_ok(), "at most 128 characters, as the model says");
        assert!(matches!(load("eu-west-1", &[(&of_length(129), None)]), Err(FleetError::GlueIntegrationArn { .. })));
        assert!(matches!(load("us-east-1", &[(arn, None)]), Err(FleetError::GlueIntegrationRegion { .. })));
        assert!(matches!(
            load("eu-west-1", &[(arn, None), (arn, None)]),
            Err(FleetError::DuplicateGlueIntegration { .. })
        ));
        let err = load("eu-west-1", &[(arn, Some("failed"))]).unwrap_err();
        assert!(matches!(err, FleetError::GlueIntegrationStatus { .. }), "{err}");
        assert!(err.to_string().contains("FAILED"), "{err}");
        for status in GLUE_STATUSES {
            assert!(load("eu-west-1", &[(arn, Some(status))]).is_ok(), "{status}");
        }
        let member = Fleet { glue_integrations: vec![Integration::glue("us-east-1", 1)], ..Fleet::default() };
        let misplaced = Fleet { member_accounts: [("210987654321".to_owned(), member)].into(), ..Fleet::default() };
        assert!(matches!(misplaced.validate(), Err(FleetError::MemberArnAccount { .. })), "a member's ARNs name it");
    }

    #[test]
    fn generated_glue_integrations_are_shared_out_like_rds_ones() {
        let generated = Fleet::generated_glue_integrations(100, 0.3, &["us-east-1", "eu-west-1"]);
        let fleet = Fleet { glue_integrations: generated, ..Fleet::default() };
        assert_eq!(fleet.validate().map_err(|e| e.to_string()), Ok(()));
        let g = &fleet.glue_integrations;
        assert_eq!(g.iter().filter(|i| i.status == "FAILED" && !i.errors.is_empty()).count(), 30);
        assert_eq!(g.iter().filter(|i| i.status == "ACTIVE").count(), 70);
        assert_eq!(g.iter().filter(|i| i.region == "eu-west-1").count(), 50);
        assert!(g.iter().all(|i| i.create_time < ago(Duration::from_secs(89 * 86_400))));
        let arns: std::collections::HashSet<&str> = g.iter().map(|i| i.integration_arn.as_str()).collect();
        assert_eq!(arns.len(), 100);
        assert_ne!(Integration::glue_arn("us-east-1", 1), Integration::glue_arn("us-east-1", 1 << 48));
    }

    #[test]
    fn generated_is_deterministic_unique_and_shared_out() {
        let a = Fleet::generated(1000, 500, 0.3, &["us-east-1", "eu-west-1"]);
        let b = Fleet::generated(1000, 500, 0.3, &["us-east-1", "eu-west-1"]);
        assert_eq!(a.connections, b.connections);
        let arns: std::collections::HashSet<_> = a.connections.iter().map(|c| &c.endpoint_arn).collect();
        assert_eq!(arns.len(), 1000);
        let ids: std::collections::HashSet<_> = a.integrations.iter().map(|i| &i.integration_arn).collect();
        assert_eq!(ids.len(), 500);
        assert_eq!(a.connections.iter().filter(|c| c.status == "failed").count(), 300);
        assert_eq!(a.integrations.iter().filter(|i| i.status == "failed").count(), 150);
        assert_eq!(a.connections.iter().filter(|c| c.region == "eu-west-1").count(), 500);
        assert!(Fleet::generated(10, 10, 0.0, &[])
            .connections
            .iter()
            .all(|c| c.status == "successful" && c.region == "us-east-1"));
    }
}
