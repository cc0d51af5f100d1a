//! `check`: whether this configuration can delete, and if not, why, before a first real run. One round of calls,
//! in parallel: the credentials, the first-seen store (a lease taken and released), the archive bucket and the
//! topic, and one read-only scan per provider and region to prove the grants. Nothing is judged or deleted.

use crate::domain::resource::Provider;
use crate::engine::plane::ControlPlane;
use crate::state::{FirstSeen, Lease};
use futures::stream::{self, StreamExt};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// One thing checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What was checked (`credentials`, `first-seen store`, `dms us-east-1`, ...).
    pub subject: String,
    /// What was found, in a line.
    pub detail: String,
    pub status: Status,
}

/// How a finding bears on deleting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Worth knowing; does not stop a delete (a setting left unset, say).
    Note,
    /// Broken, but deletes go on (a report bucket that does not exist: nothing is archived).
    Fails,
    /// Stops deletes (everywhere, or where `subject` says).
    Blocks,
}

/// What `check` found, and its verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// Each setting: its variable, value, and where it came from.
    pub settings: Vec<(&'static str, String, Source)>,
    pub findings: Vec<Finding>,
}

/// Where a setting's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Flag,
    Environment,
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flag => "flag",
            Source::Environment => "environment",
            Source::Default => "default",
        })
    }
}

impl Checked {
    /// Whether this configuration can delete: no finding blocks it.
    pub fn can_delete(&self) -> bool {
        !self.findings.iter().any(|f| f.status == Status::Blocks)
    }

    /// The verdict in plain words.
    pub fn verdict(&self) -> String {
        let blocking: Vec<String> = self
            .findings
            .iter()
            .filter(|f| f.status == Status::Blocks)
            .map(|f| format!("{}: {}", f.subject, f.detail))
            .collect();
        if blocking.is_empty() {
            "this configuration can delete".to_owned()
        } else {
            format!("this configuration cannot delete:\n  - {}", blocking.join("\n  - "))
        }
    }
}

impl fmt::Display for Checked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.settings.iter().map(|(v, _, _)| v.len()).max().unwrap_or(0);
        let value_width = self.settings.iter().map(|(_, v, _)| v.chars().count()).max().unwrap_or(0).min(40);
        writeln!(f, "Settings (value, where it came from):")?;
        for (variable, value, source) in &self.settings {
            writeln!(f, "  {variable:<width$} {} {source}", crate::domain::text::pad(value, value_width))?;
        }
        writeln!(f, "\nChecks:")?;
        for finding in &self.findings {
            let mark = match finding.status {
                Status::Ok => "ok  ",
                Status::Note => "note",
                Status::Fails => "FAIL",
                Status::Blocks => "STOP",
            };
            writeln!(f, "  {mark} {}: {}", finding.subject, crate::domain::text::display(&finding.detail, 300))?;
        }
        write!(f, "\n{}", self.verdict())
    }
}

/// The settings as `check` shows them: each variable's value from `flags`, else the environment, else its default.
pub fn settings_with_sources(
    flags: impl Fn(&str) -> Option<String>,
    env: impl Fn(&str) -> Option<String>,
) -> Vec<(&'static str, String, Source)> {
    crate::config::all_settings()
        .map(|setting| {
            let (value, source) =
                match (flags(setting.variable), env(setting.variable).filter(|v| !v.trim().is_empty())) {
                    (Some(value), _) => (value, Source::Flag),
                    (None, Some(value)) => (value, Source::Environment),
                    (None, None) => (setting.default.to_owned(), Source::Default),
                };
            (setting.variable, crate::domain::text::display(&value, 80), source)
        })
        .collect()
}

/// What the run's configuration says of deleting before any call: dry run, and graces without a store.
pub fn configuration_findings(dry_run: bool, first_seen: &FirstSeen, graced: &[(Provider, String)]) -> Vec<Finding> {
    let mut findings = Vec::new();
    if dry_run {
        findings.push(Finding {
            subject: "dry run".to_owned(),
            detail: "JANITOR_DRY_RUN is true (the default): runs only report; set it to false (or pass --delete) to \
                     delete"
                .to_owned(),
            status: Status::Blocks,
        });
    }
    if matches!(first_seen, FirstSeen::NoStore) && !graced.is_empty() {
        let names: Vec<String> = graced.iter().map(|(p, grace)| format!("{p} ({grace})")).collect();
        findings.push(Finding {
            subject: "first-seen store".to_owned(),
            detail: format!(
                "none is configured (JANITOR_STATE_TABLE or JANITOR_STATE_FILE): nothing under a grace will ever be \
                 deleted: {}",
                names.join(", ")
            ),
            status: Status::Blocks,
        });
    }
    findings
}

/// Takes and releases a lease on a probe scope: the store is reachable and takes writes.
pub async fn store_finding(first_seen: &FirstSeen) -> Option<Finding> {
    let FirstSeen::Store(store) = first_seen else { return None };
    let scope = vec!["check/probe".to_owned()];
    let lease = Lease::for_this_run(SystemTime::now() + Duration::from_secs(60));
    let probed = async {
        let leases = store.lease(&scope, &lease).await?;
        store.release(&leases.held, &lease).await?;
        Ok::<bool, crate::state::StateError>(leases.held.is_empty())
    };
    Some(match probed.await {
        Ok(false) => Finding {
            subject: "first-seen store".to_owned(),
            detail: "reachable and writable (a lease taken and released)".to_owned(),
            status: Status::Ok,
        },
        Ok(true) => Finding {
            subject: "first-seen store".to_owned(),
            detail: "reachable; another check holds its probe lease".to_owned(),
            status: Status::Note,
        },
        Err(error) => Finding {
            subject: "first-seen store".to_owned(),
            detail: format!("unusable: {error}"),
            status: Status::Blocks,
        },
    })
}

/// Whether the AWS configuration yields credentials, and from which source (never the secret).
pub async fn credentials_finding(config: &aws_config::SdkConfig) -> Finding {
    use aws_credential_types::credential_feature::AwsCredentialFeature;
    use aws_credential_types::provider::error::CredentialsError;
    use aws_credential_types::provider::ProvideCredentials;
    let finding = |detail: String, status| Finding { subject: "AWS credentials".to_owned(), detail, status };
    let none = || format!("no AWS credentials found ({})", crate::providers::aws_sdk::CREDENTIAL_SOURCES);
    let Some(provider) = config.credentials_provider() else { return finding(none(), Status::Blocks) };
    match provider.provide_credentials().await {
        Ok(credentials) => {
            let features = credentials.get_property::<Vec<AwsCredentialFeature>>().cloned().unwrap_or_default();
            let mut sources: Vec<&str> = features.iter().filter_map(source_of).collect();
            sources.dedup();
            let from = if sources.is_empty() { "the AWS configuration".to_owned() } else { sources.join(", then ") };
            finding(format!("resolved from {from}"), Status::Ok)
        }
        Err(CredentialsError::CredentialsNotLoaded(_)) => finding(none(), Status::Blocks),
        Err(error) => {
            let mut innermost: &dyn std::error::Error = &error;
            while let Some(cause) = innermost.source() {
                innermost = cause;
            }
            finding(format!("{}; the last source tried said: {innermost}", none()), Status::Blocks)
        }
    }
}

/// The words for where credentials came from, as the SDK records it on them.
fn source_of(feature: &aws_credential_types::credential_feature::AwsCredentialFeature) -> Option<&'static str> {
    use aws_credential_types::credential_feature::AwsCredentialFeature as F;
    Some(match feature {
        F::CredentialsCode => "the code",
        F::CredentialsEnvVars => "the environment",
        F::CredentialsEnvVarsStsWebIdToken | F::CredentialsStsAssumeRoleWebId | F::CredentialsProfileStsWebIdToken => {
            "web identity"
        }
        F::CredentialsProfile | F::CredentialsProfileSourceProfile | F::CredentialsProfileNamedProvider => "a profile",
        F::CredentialsProfileSso | F::CredentialsSso => "SSO",
        F::CredentialsProfileProcess | F::CredentialsProcess => "a credential process",
        F::CredentialsHttp => "the container",
        F::CredentialsImds => "instance metadata",
        F::CredentialsStsAssumeRole | F::CredentialsStsAssumeRoleSaml => "an assumed role",
        _ => return None,
    })
}

/// One scan per provider and region, 8 at a time: what the grants allow. A scan that fails blocks deletes there.
pub async fn grant_findings(planes: &[Arc<dyn ControlPlane>]) -> Vec<Finding> {
    let scans: Vec<(Arc<dyn ControlPlane>, String)> =
        planes.iter().flat_map(|p| p.regions().into_iter().map(move |r| (Arc::clone(p), r))).collect();
    let mut findings: Vec<(usize, Finding)> = stream::iter(scans.into_iter().enumerate())
        .map(|(n, (plane, region))| async move {
            let subject = format!("{} {region}", plane.provider());
            let finding = match plane.scan(&region).await {
                Ok(scan) => Finding { subject, detail: format!("listed {} resources", scan.len()), status: Status::Ok },
                Err(error) => Finding { subject, detail: error.message, status: Status::Blocks },
            };
            (n, finding)
        })
        .buffer_unordered(8)
        .collect()
        .await;
    findings.sort_by_key(|(n, _)| *n);
    findings.into_iter().map(|(_, f)| f).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::memory::{job, Fake};

    #[test]
    fn a_default_configuration_cannot_delete_and_says_why() {
        let graced = [(crate::providers::dms::PROVIDER, "JANITOR_DMS_GRACE=1h".to_owned())];
        let checked =
            Checked { settings: Vec::new(), findings: configuration_findings(true, &FirstSeen::NoStore, &graced) };
        assert!(!checked.can_delete());
        let verdict = checked.verdict();
        assert!(verdict.starts_with("this configuration cannot delete:"), "{verdict}");
        assert!(verdict.contains("dry run: JANITOR_DRY_RUN is true"), "{verdict}");
        assert!(
            verdict.contains("nothing under a grace will ever be deleted: dms (JANITOR_DMS_GRACE=1h)"),
            "{verdict}"
        );
        let deleting =
            Checked { settings: Vec::new(), findings: configuration_findings(false, &FirstSeen::NotNeeded, &graced) };
        assert_eq!((deleting.can_delete(), deleting.verdict().as_str()), (true, "this configuration can delete"));
    }

    #[test]
    fn each_setting_says_where_it_came_from() {
        let flags = |v: &str| (v == "JANITOR_DRY_RUN").then(|| "false".to_owned());
        let env = |v: &str| (v == "JANITOR_REGIONS").then(|| "eu-west-1".to_owned());
        let shown = settings_with_sources(flags, env);
        let of =
            |name: &str| shown.iter().find(|(v, _, _)| *v == name).map(|(_, value, source)| (value.clone(), *source));
        assert_eq!(of("JANITOR_DRY_RUN"), Some(("false".to_owned(), Source::Flag)));
        assert_eq!(of("JANITOR_REGIONS"), Some(("eu-west-1".to_owned(), Source::Environment)));
        assert_eq!(of("JANITOR_MAX_DELETES").map(|(_, s)| s), Some(Source::Default));
    }

    #[tokio::test]
    async fn a_scan_the_grants_refuse_blocks_deletes_there() {
        let mut plane = Fake::new(vec![job("a", "Failed", None), job("b", "Normal", None)]);
        plane.regions.push("cn-shanghai".to_owned());
        plane.unreachable.push("cn-shanghai".to_owned());
        let planes: Vec<Arc<dyn ControlPlane>> = vec![Arc::new(plane)];
        let findings = grant_findings(&planes).await;
        let seen: Vec<(&str, &str, Status)> =
            findings.iter().map(|f| (f.subject.as_str(), f.detail.as_str(), f.status)).collect();
        assert_eq!(
            seen,
            [
                ("fake cn-hangzhou", "listed 2 resources", Status::Ok),
                ("fake cn-shanghai", "connection refused", Status::Blocks)
            ]
        );
        let checked = Checked { settings: Vec::new(), findings };
        assert!(checked.verdict().contains("fake cn-shanghai: connection refused"), "{}", checked.verdict());
    }
}
