//! What the zero-ETL integration providers share. RDS's (`rds.rs`), Redshift's (`redshift.rs`) and Glue's
//! (`glue.rs`) integrations are one idea behind three APIs: the same statuses (lower case in the RDS and Redshift
//! models, upper case in Glue's), a `CreateTime`, `Errors` and `Tags` on every integration, a paginated
//! DescribeIntegrations and a DeleteIntegration. So the facts, the statuses, the options and the one
//! describe -> delete -> verify flow live here; each provider module says only how its SDK spells them
//! ([`ZeroEtlApi`]) and what its model documents ([`Profile`]).
//!
//! Why every provider filters by ARN: an integration is judged only by the provider whose ARN it has
//! (`arn:<partition>:<service>:<region>:<account>:integration:<id>`). Whether one service's DescribeIntegrations
//! also lists integrations another service manages is not documented anywhere the janitor could check, so each
//! provider keeps only its own ARNs: no integration is judged (or deleted) twice, or by a provider whose delete call
//! does not own it.

use super::aws_sdk::{
    classify, delete_claim, no_client, no_client_to_delete, paginate, regional, regions_of, scan_error, verified,
    Claim, DeleteCodes, PageError, Recheck, Regional,
};
use super::spec::{Build, BuildError, ProviderOptions};
use super::{ControlPlane, DeleteOutcome, Scan, ScanError};
use crate::domain::resource::{failure_text, Age, Condition, Definition, ErrorClass, Handle, Mark, Provider, Resource};
use crate::domain::setting::{invalid, ConfigError, Env};
use crate::engine::calls::{Access, Caller};
use async_trait::async_trait;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The statuses of one service's zero-ETL integrations, as its model spells them.
#[derive(Debug, PartialEq, Eq)]
pub struct Statuses {
    /// The statuses one may choose to delete; the first is the default. Each service's guide says `failed` is
    /// unrecoverable ("delete and recreate"), while `needs_attention` asks for a person: deleting it is opt-in.
    pub choices: &'static [&'static str],
    /// The status of an integration on its way out.
    pub deleting: &'static str,
}

/// RDS's and Redshift's `ZeroETLIntegrationStatus`.
pub const LOWER_CASE: Statuses = Statuses { choices: &["failed", "needs_attention"], deleting: "deleting" };
/// Glue's `IntegrationStatus`.
pub const UPPER_CASE: Statuses = Statuses { choices: &["FAILED", "NEEDS_ATTENTION"], deleting: "DELETING" };

/// The settings of a zero-ETL integration provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntegrationOptions {
    /// The statuses to delete, as the service spells them.
    pub stale: Vec<String>,
}

impl IntegrationOptions {
    /// Reads the statuses to delete from `variable`: a comma list of `statuses.choices`, in any case (a user need
    /// not remember which service shouts), kept in the service's own spelling; unset, the first choice.
    pub fn parse(
        env: &Env<'_>,
        variable: &'static str,
        statuses: &Statuses,
    ) -> Result<IntegrationOptions, ConfigError> {
        let Some(value) = env.get(variable) else {
            return Ok(IntegrationOptions {
                stale: statuses.choices.iter().take(1).map(|s| (*s).to_owned()).collect(),
            });
        };
        let expected = format!("a comma list of {}", statuses.choices.join(", "));
        let mut stale: Vec<String> = Vec::new();
        for chosen in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let Some(choice) = statuses.choices.iter().find(|c| c.eq_ignore_ascii_case(chosen)) else {
                return Err(invalid(variable, &value, &expected));
            };
            if !stale.iter().any(|s| s == choice) {
                stale.push((*choice).to_owned());
            }
        }
        if stale.is_empty() {
            return Err(invalid(variable, &value, &expected));
        }
        Ok(IntegrationOptions { stale })
    }

    /// The options a build was given, or why they are missing.
    pub fn of<'a>(build: &'a Build<'_>) -> Result<&'a IntegrationOptions, BuildError> {
        build.settings.options::<IntegrationOptions>().ok_or_else(|| BuildError {
            provider: build.settings.provider,
            message: "its settings were not read".to_owned(),
        })
    }
}

impl ProviderOptions for IntegrationOptions {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// How an integration's status classifies under the statuses to delete. Compared ignoring case: the services
/// disagree on it, and a status is the same status however it is spelled.
pub fn integration_condition(status: &str, stale: &[String], deleting: &str, healthy: &Arc<str>) -> Condition {
    if stale.iter().any(|s| s.eq_ignore_ascii_case(status)) {
        Condition::Stale
    } else if status.eq_ignore_ascii_case(deleting) {
        Condition::InProgress
    } else {
        Condition::Healthy { stale: Arc::clone(healthy) }
    }
}

/// An integration's errors (`Errors` in every model) as one failure text.
pub fn errors_text<'a>(errors: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>) -> Option<String> {
    failure_text(
        &errors
            .map(|(code, message)| format!("{}: {}", code.unwrap_or("?"), message.unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// What a zero-ETL integration says of itself, in any service's model.
pub struct IntegrationFacts<'a> {
    pub arn: &'a str,
    pub name: Option<&'a str>,
    pub status: &'a str,
    pub created: Option<&'a aws_smithy_types::DateTime>,
    /// Whether its `Tags` hold the protect tag.
    pub protected: bool,
    /// Its `Errors`, as one failure text.
    pub failure: Option<String>,
}

/// What a delete of one integration needs: its ARN.
#[derive(Debug, PartialEq, Eq)]
pub struct IntegrationHandle {
    pub arn: String,
}

/// The resource a zero-ETL integration is, for `provider` in `region`, judged stale in the statuses `stale`
/// (`healthy` names them for the reason).
pub fn integration_resource(
    provider: Provider,
    region: &str,
    facts: IntegrationFacts<'_>,
    (stale, deleting, healthy): (&[String], &str, &Arc<str>),
    protect_tag: &str,
) -> Resource {
    let arn = facts.arn.to_owned();
    let age = match facts.created {
        Some(created) => Age::CreatedAt(to_system_time(created)),
        None => Age::Unknown("the integration reports no CreateTime".to_owned()),
    };
    Resource {
        provider,
        region: region.to_owned(),
        id: arn.clone(),
        name: facts.name.filter(|n| !n.is_empty()).map(str::to_owned).unwrap_or_else(|| arn.clone()),
        arns: vec![arn.clone()],
        condition: integration_condition(facts.status, stale, deleting, healthy),
        status: facts.status.to_owned(),
        age,
        mark: Mark::Unmarked,
        protected_by: facts.protected.then(|| format!("tag {protect_tag} on the integration")),
        may_release: None,
        definition: None,
        failure: facts.failure,
        handle: Handle::new(IntegrationHandle { arn }),
    }
}

/// A model timestamp as the clock's time.
pub fn to_system_time(time: &aws_smithy_types::DateTime) -> SystemTime {
    let secs = time.secs();
    let offset = Duration::new(secs.unsigned_abs(), time.subsec_nanos());
    let moved =
        if secs >= 0 { SystemTime::UNIX_EPOCH.checked_add(offset) } else { SystemTime::UNIX_EPOCH.checked_sub(offset) };
    // A time beyond what the clock can hold is taken as now: the integration then counts as too young to delete.
    moved.unwrap_or_else(SystemTime::now)
}

/// Whether `arn` is an integration ARN of `service` (`arn:aws*:<service>:<region>:<account>:integration:<id>`):
/// only those are a provider's to judge and to delete.
pub fn owns(service: &str, arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    matches!(parts[..], ["arn", partition, s, _, _, "integration", id]
        if partition.starts_with("aws") && s == service && !id.is_empty())
}

/// What one service's model documents for its zero-ETL calls, as the shared flow needs it.
pub struct Profile {
    pub provider: Provider,
    /// Whether an integration ARN is its own (`arn:<partition>:<its service>:...:integration:<id>`, see [`owns`]).
    pub owns: fn(&str) -> bool,
    /// What its integrations are called when a resource is not one (`an RDS integration`).
    pub noun: &'static str,
    pub statuses: &'static Statuses,
    /// The IAM action of the delete, for a denial's reason.
    pub delete_action: &'static str,
    pub delete_codes: DeleteCodes,
    /// The codes DescribeIntegrations answers when its identifier names no integration.
    pub describe_gone: &'static [&'static str],
    /// DescribeIntegrations' `MaxRecords`.
    pub page_size: i32,
    /// The identifier both calls take for an integration ARN (the ARN itself, or RDS's id).
    pub identifier: fn(&str) -> &str,
}

/// One service's zero-ETL calls in its SDK: how to send them and how to read their answers.
pub trait ZeroEtlApi: Send + Sync + 'static {
    type Client: Send + Sync + 'static;
    type Integration: Send + Sync;
    type Page: Send;
    type DescribeError: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static;
    type Deleted: Send;
    type DeleteError: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static;

    const PROFILE: Profile;

    /// One page of DescribeIntegrations: every integration, or only the one `identifier` names.
    fn describe(
        client: &Self::Client,
        identifier: Option<&str>,
        page_size: i32,
        marker: Option<String>,
    ) -> impl Future<Output = Result<Self::Page, SdkError<Self::DescribeError, HttpResponse>>> + Send;
    fn marker(page: &Self::Page) -> Option<&str>;
    fn integrations(page: Self::Page) -> Vec<Self::Integration>;
    fn arn(integration: &Self::Integration) -> &str;
    fn facts<'a>(integration: &'a Self::Integration, protect_tag: &str) -> IntegrationFacts<'a>;
    /// What the service's CreateIntegration needs to re-make `integration`, in its own member names.
    fn definition(integration: &Self::Integration) -> Definition;
    fn delete(
        client: &Self::Client,
        identifier: &str,
    ) -> impl Future<Output = Result<Self::Deleted, SdkError<Self::DeleteError, HttpResponse>>> + Send;
    /// The status DeleteIntegration answered with, if it said.
    fn deleted_status(deleted: &Self::Deleted) -> Option<&str>;
}

/// One service's integrations in each region the run may sweep, one client per region built at start.
pub struct Integrations<A: ZeroEtlApi> {
    clients: Vec<Regional<A::Client>>,
    caller: Caller,
    protect_tag: String,
    stale: Vec<String>,
}

impl<A: ZeroEtlApi> Integrations<A> {
    pub fn new(
        clients: Vec<Regional<A::Client>>,
        caller: Caller,
        protect_tag: impl Into<String>,
        stale: Vec<String>,
    ) -> Integrations<A> {
        Integrations { clients, caller, protect_tag: protect_tag.into(), stale }
    }

    /// The plane a build asks for, over `clients`.
    pub fn built(build: &Build<'_>, clients: Vec<Regional<A::Client>>) -> Result<Arc<dyn ControlPlane>, BuildError> {
        let options = IntegrationOptions::of(build)?;
        Ok(Arc::new(Integrations::<A>::new(clients, build.caller.clone(), build.protect_tag, options.stale.clone())))
    }

    fn resource(&self, region: &str, integration: &A::Integration, healthy: &Arc<str>) -> Resource {
        let facts = A::facts(integration, &self.protect_tag);
        let judged = (self.stale.as_slice(), A::PROFILE.statuses.deleting, healthy);
        let mut resource = integration_resource(A::PROFILE.provider, region, facts, judged, &self.protect_tag);
        if resource.condition == Condition::Stale {
            resource.definition = Some(A::definition(integration));
        }
        resource
    }

    /// Every integration of this provider in `region`, or only the one `identifier` names (one that is gone
    /// yields nothing). Integrations whose ARN is another service's are left out.
    async fn describe(
        &self,
        regional: &Regional<A::Client>,
        identifier: Option<&str>,
    ) -> Result<Vec<A::Integration>, ScanError> {
        let profile = &A::PROFILE;
        let mut integrations = Vec::new();
        let send = |marker: Option<String>| A::describe(&regional.client, identifier, profile.page_size, marker);
        let pages = paginate(&self.caller, regional, "DescribeIntegrations", send, A::marker, |page| {
            let listed = A::integrations(page).into_iter();
            integrations.extend(listed.filter(|i| (profile.owns)(A::arn(i))));
        });
        match pages.await {
            Ok(()) => Ok(integrations),
            Err(PageError::Call(failed))
                if identifier.is_some()
                    && failed.error.code().is_some_and(|code| profile.describe_gone.contains(&code)) =>
            {
                Ok(Vec::new())
            }
            Err(PageError::Call(failed)) => {
                Err(scan_error("DescribeIntegrations", (regional.service, &regional.region), &failed))
            }
            Err(PageError::Marker(error)) => Err(error),
        }
    }

    async fn scan_region(&self, region: &str, identifier: Option<&str>) -> Result<Scan, ScanError> {
        let regional = regional(&self.clients, region).ok_or_else(|| no_client("DescribeIntegrations", region))?;
        let integrations = self.describe(regional, identifier).await?;
        let healthy: Arc<str> = self.stale.join(", ").into();
        Ok(integrations.iter().map(|i| self.resource(region, i, &healthy)).collect())
    }
}

#[async_trait]
impl<A: ZeroEtlApi> ControlPlane for Integrations<A> {
    fn provider(&self) -> Provider {
        A::PROFILE.provider
    }

    fn regions(&self) -> Vec<String> {
        regions_of(&self.clients)
    }

    async fn scan(&self, region: &str) -> Result<Scan, ScanError> {
        self.scan_region(region, None).await
    }

    async fn scan_target(&self, region: &str, target: &str) -> Result<Scan, ScanError> {
        self.scan_region(region, Some((A::PROFILE.identifier)(target))).await
    }

    async fn delete(&self, resource: &Resource) -> DeleteOutcome {
        let profile = &A::PROFILE;
        // Another provider's integration (or an ARN of another form) is never this provider's to delete.
        let handle = resource.handle.get::<IntegrationHandle>();
        let Some(IntegrationHandle { arn }) =
            handle.filter(|h| resource.provider == profile.provider && (profile.owns)(&h.arn))
        else {
            return DeleteOutcome::failed(ErrorClass::Service, format!("not {}", profile.noun));
        };
        let Some(regional) = regional(&self.clients, &resource.region) else {
            return no_client_to_delete(&resource.region);
        };
        let identifier = (profile.identifier)(arn);
        let sent =
            self.caller.call(&regional.lane, Access::Write, classify, || A::delete(&regional.client, identifier)).await;
        match sent {
            Ok(deleted) => DeleteOutcome::Deleted {
                status: A::deleted_status(&deleted)
                    .filter(|s| !s.is_empty())
                    .unwrap_or(profile.statuses.deleting)
                    .to_owned(),
            },
            Err(failed) => match delete_claim(profile.delete_action, arn, &profile.delete_codes, &failed) {
                Claim::Outcome(outcome) => outcome,
                Claim::Gone(claim) => {
                    let recheck = self.describe(regional, Some(identifier)).await.map(|listed| {
                        listed.iter().find(|i| A::arn(i) == arn.as_str()).map_or(Recheck::Absent, |i| {
                            Recheck::Listed(A::facts(i, &self.protect_tag).status.to_owned())
                        })
                    });
                    verified("DeleteIntegration", &claim, recheck)
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::setting::Env;
    use crate::engine::calls::RetryPolicy;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;
    use aws_smithy_types::DateTime;
    use std::collections::HashMap;
    use std::sync::Mutex;

    const FAKE: Provider = Provider::on("fake-zero-etl", &crate::domain::resource::AWS);

    /// One integration the fake service lists: (ARN, name, status, created, tags).
    #[derive(Clone, Debug)]
    struct Listed {
        arn: String,
        name: String,
        status: String,
        created: Option<DateTime>,
        tags: Vec<String>,
    }

    /// A zero-ETL service in memory, pages of two, answering a delete with `answers[arn]` (an error code) or by
    /// marking the integration deleting; `vanish` removes an integration when its delete is answered.
    #[derive(Default)]
    struct Service {
        listed: Mutex<Vec<Listed>>,
        answers: HashMap<String, &'static str>,
        vanish: Vec<String>,
        deletes: Mutex<Vec<String>>,
        describes: Mutex<Vec<Option<String>>>,
    }

    fn error(code: &str) -> SdkError<ErrorMetadata, HttpResponse> {
        let raw = HttpResponse::new(400.try_into().expect("a status"), SdkBody::empty());
        SdkError::service_error(ErrorMetadata::builder().code(code).message("from the fake").build(), raw)
    }

    struct Fake;

    fn service(client: &Arc<Service>) -> &Service {
        client
    }

    impl ZeroEtlApi for Fake {
        type Client = Arc<Service>;
        type Integration = Listed;
        type Page = (Vec<Listed>, Option<String>);
        type DescribeError = ErrorMetadata;
        type Deleted = String;
        type DeleteError = ErrorMetadata;

        const PROFILE: Profile = Profile {
            provider: FAKE,
            owns: |arn| owns("glue", arn),
            noun: "a fake integration",
            statuses: &UPPER_CASE,
            delete_action: "fake:DeleteIntegration",
            delete_codes: DeleteCodes {
                gone: &["IntegrationNotFoundFault"],
                wrong_state: &["InvalidIntegrationStateFault"],
                explained: &[],
            },
            describe_gone: &["IntegrationNotFoundFault"],
            page_size: 2,
            identifier: |arn| arn,
        };

        fn describe(
            client: &Arc<Service>,
            identifier: Option<&str>,
            page_size: i32,
            marker: Option<String>,
        ) -> impl Future<Output = Result<Self::Page, SdkError<ErrorMetadata, HttpResponse>>> + Send {
            let service = service(client);
            if let Ok(mut describes) = service.describes.lock() {
                describes.push(identifier.map(str::to_owned));
            }
            let listed = service.listed.lock().map(|l| l.clone()).unwrap_or_default();
            let answer = match identifier {
                Some(arn) => match listed.into_iter().find(|l| l.arn == arn) {
                    Some(one) => Ok((vec![one], None)),
                    None => Err(error("IntegrationNotFoundFault")),
                },
                None => {
                    let start: usize = marker.and_then(|m| m.parse().ok()).unwrap_or(0);
                    let end = (start + page_size as usize).min(listed.len());
                    let next = (end < listed.len()).then(|| end.to_string());
                    Ok((listed[start..end].to_vec(), next))
                }
            };
            std::future::ready(answer)
        }

        fn marker(page: &Self::Page) -> Option<&str> {
            page.1.as_deref()
        }

        fn integrations(page: Self::Page) -> Vec<Listed> {
            page.0
        }

        fn arn(i: &Listed) -> &str {
            &i.arn
        }

        fn facts<'a>(i: &'a Listed, protect_tag: &str) -> IntegrationFacts<'a> {
            IntegrationFacts {
                arn: &i.arn,
                name: Some(&i.name),
                status: &i.status,
                created: i.created.as_ref(),
                protected: i.tags.iter().any(|t| t == protect_tag),
                failure: None,
            }
        }

        fn definition(i: &Listed) -> Definition {
            Definition::of(Some("fake create-integration")).text("IntegrationName", Some(&i.name))
        }

        fn delete(
            client: &Arc<Service>,
            identifier: &str,
        ) -> impl Future<Output = Result<String, SdkError<ErrorMetadata, HttpResponse>>> + Send {
            let service = service(client);
            if let Ok(mut deletes) = service.deletes.lock() {
                deletes.push(identifier.to_owned());
            }
            let answer = match service.answers.get(identifier) {
                Some(code) => Err(error(code)),
                None => Ok("DELETING".to_owned()),
            };
            if service.vanish.iter().any(|v| v == identifier) {
                if let Ok(mut listed) = service.listed.lock() {
                    listed.retain(|l| l.arn != identifier);
                }
            }
            std::future::ready(answer)
        }

        fn deleted_status(deleted: &String) -> Option<&str> {
            Some(deleted)
        }
    }

    fn arn(service: &str, id: &str) -> String {
        format!("arn:aws:{service}:us-east-1:123456789012:integration:{id}")
    }

    fn listed(id: &str, status: &str) -> Listed {
        Listed {
            arn: arn("glue", id),
            name: id.to_owned(),
            status: status.to_owned(),
            created: Some(DateTime::from_secs(1_700_000_000)),
            tags: Vec::new(),
        }
    }

    fn plane(service: &Arc<Service>, stale: &[&str]) -> Integrations<Fake> {
        let clients = vec![Regional::new("fake", "us-east-1", Arc::clone(service))];
        let caller = Caller::new(RetryPolicy::new(2), 4);
        Integrations::new(clients, caller, "keep", stale.iter().map(|s| (*s).to_owned()).collect())
    }

    fn by_name<'a>(scan: &'a Scan, name: &str) -> &'a Resource {
        scan.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("no {name} in {scan:#?}"))
    }

    #[test]
    fn statuses_are_read_in_any_case_and_kept_in_the_services_spelling() {
        let read = |value: &str, statuses: &Statuses| {
            let lookup = |_: &str| Some(value.to_owned());
            IntegrationOptions::parse(&Env::new(&lookup), "JANITOR_X_STATUSES", statuses)
        };
        assert_eq!(
            read("failed, Needs_Attention,FAILED", &UPPER_CASE).map(|o| o.stale),
            Ok(vec!["FAILED".to_owned(), "NEEDS_ATTENTION".to_owned()])
        );
        assert_eq!(read("FAILED", &LOWER_CASE).map(|o| o.stale), Ok(vec!["failed".to_owned()]));
        let error = read("FAILED,ACTIVE", &UPPER_CASE).expect_err("ACTIVE is never deleted");
        assert_eq!(
            error.to_string(),
            "invalid setting JANITOR_X_STATUSES=\"FAILED,ACTIVE\": expected a comma list of FAILED, NEEDS_ATTENTION"
        );
        assert!(read(" , ", &UPPER_CASE).is_err(), "a list of nothing is not the default");
        let unset = |_: &str| None;
        let default = IntegrationOptions::parse(&Env::new(&unset), "JANITOR_X_STATUSES", &UPPER_CASE);
        assert_eq!(default.map(|o| o.stale), Ok(vec!["FAILED".to_owned()]), "unset: FAILED only");
    }

    #[test]
    fn a_status_classifies_whatever_its_case() {
        let healthy: Arc<str> = "FAILED".into();
        let stale = ["FAILED".to_owned()];
        assert_eq!(integration_condition("failed", &stale, "DELETING", &healthy), Condition::Stale);
        assert_eq!(integration_condition("Deleting", &stale, "DELETING", &healthy), Condition::InProgress);
        let kept = integration_condition("NEEDS_ATTENTION", &stale, "DELETING", &healthy);
        assert_eq!(kept, Condition::Healthy { stale: healthy });
    }

    #[test]
    fn an_arn_belongs_to_its_service_only() {
        let id = "03cabe77-79e7-4b7a-b3da-8c160bea6bbf";
        assert!(owns("glue", &arn("glue", id)));
        assert!(owns("glue", &format!("arn:aws-cn:glue:cn-north-1:123456789012:integration:{id}")));
        assert!(!owns("glue", &arn("rds", id)));
        assert!(!owns("glue", &arn("redshift", id)));
        assert!(!owns("rds", &arn("glue", id)));
        assert!(!owns("redshift", &arn("glue", id)));
        assert!(!owns("glue", &format!("arn:aws:glue:us-east-1:123456789012:integration/{id}")), "another form");
        assert!(!owns("glue", "arn:aws:glue:us-east-1:123456789012:integration:"));
        assert!(!owns("glue", "arn:aws:glue:us-east-1:123456789012:job:integration"));
        assert!(!owns("glue", ""));
    }

    #[tokio::test]
    async fn a_scan_reads_every_page_and_judges_only_its_own_arns() {
        let service = Arc::new(Service::default());
        let mut foreign = listed("from-rds", "FAILED");
        foreign.arn = arn("rds", "from-rds");
        let mut protected = listed("kept-by-tag", "FAILED");
        protected.tags = vec!["keep".to_owned()];
        let mut undated = listed("undated", "FAILED");
        undated.created = None;
        *service.listed.lock().expect("list") = vec![
            listed("failed-one", "FAILED"),
            listed("needs-a-person", "NEEDS_ATTENTION"),
            foreign,
            listed("on-its-way", "DELETING"),
            protected,
            undated,
            listed("fine", "ACTIVE"),
        ];
        let scan = plane(&service, &["FAILED"]).scan("us-east-1").await.expect("scan");
        let names: Vec<&str> = scan.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["failed-one", "needs-a-person", "on-its-way", "kept-by-tag", "undated", "fine"]);
        assert_eq!(service.describes.lock().expect("calls").len(), 4, "pages of two until no Marker");
        assert_eq!(by_name(&scan, "failed-one").condition, Condition::Stale);
        assert_eq!(by_name(&scan, "failed-one").id, arn("glue", "failed-one"));
        assert_eq!(by_name(&scan, "needs-a-person").condition, Condition::Healthy { stale: "FAILED".into() });
        assert_eq!(by_name(&scan, "on-its-way").condition, Condition::InProgress);
        assert_eq!(by_name(&scan, "kept-by-tag").protected_by.as_deref(), Some("tag keep on the integration"));
        assert_eq!(by_name(&scan, "undated").age, Age::Unknown("the integration reports no CreateTime".into()));
        let asked = plane(&service, &["FAILED", "NEEDS_ATTENTION"]).scan("us-east-1").await.expect("scan");
        assert_eq!(by_name(&asked, "needs-a-person").condition, Condition::Stale, "only when asked");
    }

    #[tokio::test]
    async fn a_delete_is_verified_skipped_or_failed_as_its_answer_says() {
        let gone = arn("glue", "gone");
        let still_there = arn("glue", "still-there");
        let going = arn("glue", "going");
        let busy = arn("glue", "busy");
        let denied = arn("glue", "denied");
        let service = Arc::new(Service {
            answers: HashMap::from([
                (gone.clone(), "IntegrationNotFoundFault"),
                (still_there.clone(), "IntegrationNotFoundFault"),
                (going.clone(), "IntegrationNotFoundFault"),
                (busy.clone(), "InvalidIntegrationStateFault"),
                (denied.clone(), "AccessDeniedException"),
            ]),
            vanish: vec![gone.clone()],
            ..Service::default()
        });
        *service.listed.lock().expect("list") = vec![
            listed("fine", "FAILED"),
            listed("gone", "FAILED"),
            listed("still-there", "FAILED"),
            listed("going", "DELETING"),
            listed("busy", "FAILED"),
            listed("denied", "FAILED"),
        ];
        let plane = plane(&service, &["FAILED"]);
        let scan = plane.scan("us-east-1").await.expect("scan");
        let outcome = |name: &str| {
            let resource = by_name(&scan, name).clone();
            let plane = &plane;
            async move { plane.delete(&resource).await }
        };
        assert_eq!(outcome("fine").await, DeleteOutcome::Deleted { status: "DELETING".into() });
        assert_eq!(outcome("gone").await, DeleteOutcome::AlreadyGone, "not found, and a describe agrees");
        let DeleteOutcome::Failed { error, class } = outcome("still-there").await else { panic!("listed still") };
        assert_eq!(class, ErrorClass::NotFound);
        assert!(error.ends_with("but it is still listed with status FAILED"), "{error}");
        assert!(matches!(outcome("going").await, DeleteOutcome::Skipped { .. }), "DELETING is another delete");
        let DeleteOutcome::Skipped { reason } = outcome("busy").await else { panic!("a state fault skips") };
        assert_eq!(reason, "InvalidIntegrationStateFault: from the fake");
        let DeleteOutcome::Failed { error, class } = outcome("denied").await else { panic!("denied") };
        assert_eq!(class, ErrorClass::Denied);
        assert!(error.starts_with("access denied: the janitor's role may not call fake:DeleteIntegration"), "{error}");
        let rechecks: Vec<Option<String>> = service.describes.lock().expect("calls")[3..].to_vec();
        assert_eq!(rechecks, [Some(gone), Some(still_there), Some(going)], "one describe of that ARN per claim");
    }

    #[tokio::test]
    async fn another_providers_integration_is_never_deleted() {
        let service = Arc::new(Service::default());
        let plane = plane(&service, &["FAILED"]);
        let mut resource = {
            let facts = IntegrationFacts {
                arn: "arn:aws:rds:us-east-1:123456789012:integration:x",
                name: Some("rds-one"),
                status: "failed",
                created: None,
                protected: false,
                failure: None,
            };
            let healthy: Arc<str> = "failed".into();
            integration_resource(FAKE, "us-east-1", facts, (&["failed".to_owned()], "deleting", &healthy), "keep")
        };
        let refused = DeleteOutcome::failed(ErrorClass::Service, "not a fake integration");
        assert_eq!(plane.delete(&resource).await, refused, "an RDS ARN");
        resource.handle = Handle::new(IntegrationHandle { arn: arn("glue", "x") });
        resource.provider = Provider::on("rds", &crate::domain::resource::AWS);
        assert_eq!(plane.delete(&resource).await, refused, "another provider's resource");
        assert!(service.deletes.lock().expect("calls").is_empty(), "no delete call was made");
    }
}
