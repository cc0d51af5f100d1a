//! The domain: what a control plane reports about one resource, in provider-neutral terms the policy can judge.

use serde::Serialize;
use std::fmt;
use std::time::SystemTime;

/// A control plane the janitor sweeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Dms,
    Rds,
    /// Alibaba Cloud Data Transmission Service.
    Dts,
}

impl Provider {
    /// Whether this control plane is an AWS service (its regions are `JANITOR_REGIONS`); DTS is Alibaba Cloud's
    /// (its regions are `JANITOR_DTS_REGIONS`). The two clouds share region ids, so they are never mixed.
    pub fn is_aws(self) -> bool {
        !matches!(self, Provider::Dts)
    }

    pub const ALL: [Provider; 3] = [Provider::Dms, Provider::Rds, Provider::Dts];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Dms => "dms",
            Provider::Rds => "rds",
            Provider::Dts => "dts",
        }
    }

    pub fn parse(name: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.as_str() == name.trim().to_ascii_lowercase())
    }

    /// What this provider's resources are called in reports.
    pub fn kind(self) -> &'static str {
        match self {
            Provider::Dms => "dms-connection",
            Provider::Rds => "rds-integration",
            Provider::Dts => "dts-job",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a delete call needs, per kind of resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handle {
    DmsConnection {
        endpoint_arn: String,
        replication_instance_arn: String,
    },
    RdsIntegration {
        arn: String,
    },
    /// A DTS job; `reverse` is the reverse half of a two-way synchronization (`SynchronizationDirection: Reverse`).
    DtsJob {
        job_id: String,
        instance_id: String,
        job_type: DtsJobType,
        reverse: bool,
    },
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

/// How old a resource is, as far as anyone can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Age {
    /// The control plane's own creation time (RDS `CreateTime`).
    CreatedAt(SystemTime),
    /// When the janitor first saw it failed (DMS connections carry no timestamp).
    FailedSince(SystemTime),
    /// Not known, and why; only a zero threshold lets such a resource go.
    Unknown(String),
}

/// One scanned resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub provider: Provider,
    pub region: String,
    /// Stable identity for reports and state: the integration ARN, or `<endpoint ARN>|<instance ARN>` for a connection.
    pub id: String,
    /// What people call it: the integration name, or `<endpoint id>@<instance id>` for a connection.
    pub name: String,
    /// ARNs that include/exclude patterns are matched against, besides the name.
    pub arns: Vec<String>,
    pub status: String,
    pub age: Age,
    /// Why it is protected (which tag on which resource), if it is.
    pub protected_by: Option<String>,
    /// The id of another scanned resource that deleting this one may take with it (the reverse half of a DTS
    /// two-way synchronization, for its forward half): this one is deleted only when that one is stale too, and
    /// only after that one's own delete has answered.
    pub may_release: Option<String>,
    /// The control plane's own word on why it failed (DMS `LastFailureMessage`, an integration's `Errors`, a DTS
    /// job's `ErrorMessage`), so the report of a deletion keeps the evidence.
    pub failure: Option<String>,
    pub handle: Handle,
}

/// How much of a control plane's failure text a report keeps.
const FAILURE_TEXT_LIMIT: usize = 500;

/// A failure text as reports carry it: trimmed, `None` when empty, cut at [`FAILURE_TEXT_LIMIT`] characters.
pub fn failure_text(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(match text.char_indices().nth(FAILURE_TEXT_LIMIT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    })
}
