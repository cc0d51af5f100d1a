//! The call log: what the janitor asked for and what it got, for assertions.

use serde::{Deserialize, Serialize};

/// One service call (admin calls are not logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// `dms`, `rds`, `redshift`, `sts`, `organizations` or `dts`.
    pub service: String,
    /// The DMS or Organizations operation, RDS, Redshift or STS action or DTS `x-acs-action`, e.g.
    /// `DeleteConnection` (empty if none was given).
    pub operation: String,
    /// The AWS account the call acted in: the one an STS-issued access key was issued for, the management account
    /// (123456789012) for any other key. Empty when the credentials were refused, and for DTS (Alibaba Cloud).
    pub account: String,
    /// The region of the SigV4 credential scope (empty if the request was unsigned); for DTS the
    /// `RegionId` or `Region` parameter.
    pub region: String,
    /// The resource acted on: the endpoint ARN for DMS connection calls, the ARN(s)
    /// for ListTagsForResource (comma-joined), the IntegrationIdentifier for RDS, the
    /// IntegrationArn for Redshift, the `DtsJobId` parameter for DTS.
    pub target: Option<String>,
    /// The HTTP status returned.
    pub status: u16,
    /// The error code returned, if any.
    pub error: Option<String>,
}

/// How many logged calls were of `operation`.
pub fn count(calls: &[Call], operation: &str) -> usize {
    calls.iter().filter(|c| c.operation == operation).count()
}
