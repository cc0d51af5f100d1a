//! AWS Glue zero-ETL integrations over the official SDK (awsJson1.1, API 2017-03-31, target prefix `AWSGlue`):
//! DescribeIntegrations and DeleteIntegration, through the flow every zero-ETL provider shares (`zero_etl.rs`).
//!
//! Verified, and where:
//! - botocore 1.44.18's model (`botocore/data/glue/2017-03-31/service-2.json`): both calls are `POST /`;
//!   DescribeIntegrations takes `IntegrationIdentifier` ("The Amazon Resource Name (ARN) for the integration", 1 to
//!   128 characters), `Marker`, `MaxRecords` (an integer with no bounds in the model) and `Filters` (`Name`/`Values`;
//!   "Supported keys are Status, IntegrationName, and SourceArn"), and answers `Integrations` and `Marker`;
//!   DeleteIntegration requires `IntegrationIdentifier` (the ARN, same words) and answers the integration.
//!   `Integration` requires `IntegrationArn`, `IntegrationName`, `Status` (`CREATING | ACTIVE | MODIFYING | FAILED |
//!   DELETING | SYNCING | NEEDS_ATTENTION`) and `CreateTime` (a timestamp: epoch seconds in awsJson); `Tags` are
//!   `{key, value}` in lower case; `Errors` are `{ErrorCode, ErrorMessage}`.
//! - The errors, in the same model and in aws-sdk-glue 1.184.0's generated `DescribeIntegrationsError` and
//!   `DeleteIntegrationError` (the same names): DescribeIntegrations `ValidationException`, `AccessDeniedException`,
//!   `InternalServerException`, `IntegrationNotFoundFault`, `EntityNotFoundException`, `InternalServiceException`,
//!   `InvalidInputException`; DeleteIntegration those and `IntegrationConflictOperationFault`,
//!   `InvalidIntegrationStateFault`, `ConflictException`, `InvalidStateException`. The model marks none retryable.
//!   So: both not-found codes are a claim the janitor verifies by describing that ARN; the conflict and state faults
//!   are `skipped` (a later run retries); `AccessDeniedException` is an IAM denial; the rest fail with their code
//!   (throttling and 5xx answers are retried first, as for every AWS provider).
//! - The SDK reads a required member the answer lacks as its default (its "error correction"): an integration
//!   without `CreateTime` reads as 1970-01-01T00:00:00Z. That instant is taken as "no CreateTime", so a missing field
//!   never makes an integration old enough to delete.
//! - Glue's guide ("Monitoring an integration"): "Failed - ... You must delete and recreate the integration";
//!   "Needs attention - ... requires manual intervention": `FAILED` is stale, `NEEDS_ATTENTION` only when asked.
//!   Its example ARN is `arn:aws:glue:us-east-1:123456789012:integration:03cabe77-79e7-4b7a-b3da-8c160bea6bbf`.
//! - The Service Authorization Reference (Glue): `glue:DescribeIntegrations` (List) and `glue:DeleteIntegration`
//!   (Write) both take the `integration` resource (`arn:${Partition}:glue:${Region}:${Account}:integration:
//!   ${IntegrationId}`, required), condition key `aws:ResourceTag/${TagKey}`.
//! - No events: the EventBridge events reference for AWS Glue lists job, crawler, catalog, statistics and data
//!   quality events and none for zero-ETL integrations, and Glue's zero-ETL monitoring guide documents statuses and
//!   CloudWatch Logs only. The schedule finds them.
//!
//! Assumed, each on the side that cannot delete the wrong thing:
//! - `MaxRecords=100` is accepted (the model sets no bounds; RDS's and Redshift's allow 20 to 100).
//! - Only `arn:<partition>:glue:<region>:<account>:integration:<id>` ARNs are this provider's: an RDS or Redshift
//!   integration (should Glue's listing ever show one) and an ARN of any other form (the guide's log sample writes
//!   `integration/<id>`) are not judged.
//! - No `Filters` are sent: a scan must see every integration (healthy ones are reported and count in the
//!   tripwire's stale share, and a recovered one's first-seen mark is dropped only when it is seen), and statuses
//!   and ARNs are judged on the client, whatever the server's filter would do.

use super::aws_sdk::{sdk_clients, DeleteCodes};
use super::spec::{ArnShape, Build, Building, ProviderSpec};
use super::zero_etl::{
    errors_text, owns, IntegrationFacts, IntegrationOptions, Integrations, Profile, ZeroEtlApi, UPPER_CASE,
};
use crate::domain::resource::{Definition, Provider, AWS};
use crate::domain::setting::Setting;
use aws_sdk_glue::error::SdkError;
use aws_sdk_glue::operation::delete_integration::{DeleteIntegrationError, DeleteIntegrationOutput};
use aws_sdk_glue::operation::describe_integrations::{DescribeIntegrationsError, DescribeIntegrationsOutput};
use aws_sdk_glue::types::Integration;
use aws_sdk_glue::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub const PROVIDER: Provider = Provider::on("glue", &AWS);

/// The call that re-makes an integration, as the AWS CLI names it.
pub const RECREATE: &str = "glue create-integration";

pub const SPEC: ProviderSpec = ProviderSpec {
    provider: PROVIDER,
    kind: "glue-integration",
    title: "AWS Glue zero-ETL integrations",
    default_enabled: false,
    grace_variable: "JANITOR_GLUE_GRACE",
    default_grace: Duration::from_secs(3_600),
    settings: &[
        Setting {
            variable: "JANITOR_GLUE_GRACE",
            default: "1h",
            meaning: "Glue integrations: minimum time since first seen stale, besides JANITOR_MIN_AGE (0 to 3650d)",
            flag: Some("glue-grace"),
        },
        Setting {
            variable: "JANITOR_GLUE_STATUSES",
            default: "FAILED",
            meaning: "Glue integration statuses to delete: FAILED, NEEDS_ATTENTION (any case)",
            flag: Some("glue-statuses"),
        },
    ],
    parse: |env| Ok(Arc::new(IntegrationOptions::parse(env, "JANITOR_GLUE_STATUSES", &UPPER_CASE)?)),
    events: &[],
    arns: &[ArnShape { service: "glue", resource_type: "integration" }],
    arn_description: "a Glue integration ARN (arn:<partition>:glue:<region>:<12-digit account>:integration:<id>)",
    build,
};

fn build(build: Build<'_>) -> Building<'_> {
    Box::pin(async move {
        let clients = sdk_clients("glue", build.regions, |region| {
            let config = aws_sdk_glue::config::Builder::from(build.sdk)
                .region(region)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .timeout_config(crate::aws::timeout_config())
                .interceptor(crate::aws::ClockWatch::new("glue", build.clocks))
                .build();
            Client::from_conf(config)
        });
        GlueIntegrations::built(&build, clients)
    })
}

/// Glue zero-ETL integrations in each region the run may sweep.
pub type GlueIntegrations = Integrations<Glue>;

/// Whether `arn` is a Glue integration ARN: only those are this provider's.
fn is_glue_integration(arn: &str) -> bool {
    owns("glue", arn)
}

/// Glue's zero-ETL calls.
pub struct Glue;

impl ZeroEtlApi for Glue {
    type Client = Client;
    type Integration = Integration;
    type Page = DescribeIntegrationsOutput;
    type DescribeError = DescribeIntegrationsError;
    type Deleted = DeleteIntegrationOutput;
    type DeleteError = DeleteIntegrationError;

    const PROFILE: Profile = Profile {
        provider: PROVIDER,
        owns: is_glue_integration,
        noun: "a Glue integration",
        statuses: &UPPER_CASE,
        delete_action: "glue:DeleteIntegration",
        delete_codes: DeleteCodes {
            gone: &["IntegrationNotFoundFault", "EntityNotFoundException"],
            wrong_state: &[
                "InvalidIntegrationStateFault",
                "IntegrationConflictOperationFault",
                "ConflictException",
                "InvalidStateException",
            ],
            explained: &[],
        },
        describe_gone: &["IntegrationNotFoundFault", "EntityNotFoundException"],
        page_size: 100,
        identifier: |arn| arn,
    };

    fn describe(
        client: &Client,
        arn: Option<&str>,
        page_size: i32,
        marker: Option<String>,
    ) -> impl Future<Output = Result<DescribeIntegrationsOutput, SdkError<DescribeIntegrationsError, HttpResponse>>> + Send
    {
        client
            .describe_integrations()
            .set_integration_identifier(arn.map(str::to_owned))
            .max_records(page_size)
            .set_marker(marker)
            .send()
    }

    fn marker(page: &DescribeIntegrationsOutput) -> Option<&str> {
        page.marker()
    }

    fn integrations(page: DescribeIntegrationsOutput) -> Vec<Integration> {
        page.integrations.unwrap_or_default()
    }

    fn arn(integration: &Integration) -> &str {
        integration.integration_arn()
    }

    fn facts<'a>(integration: &'a Integration, protect_tag: &str) -> IntegrationFacts<'a> {
        let created = integration.create_time();
        IntegrationFacts {
            arn: integration.integration_arn(),
            name: Some(integration.integration_name()),
            status: integration.status().as_str(),
            // The SDK fills a missing CreateTime with the epoch (see the module's notes): that is no time at all.
            created: (created.secs() != 0 || created.subsec_nanos() != 0).then_some(created),
            protected: integration.tags().iter().any(|tag| tag.key() == Some(protect_tag)),
            failure: errors_text(integration.errors().iter().map(|e| (e.error_code(), e.error_message()))),
        }
    }

    fn definition(i: &Integration) -> Definition {
        let mut definition = Definition::of(Some(RECREATE))
            .text("IntegrationName", Some(i.integration_name()))
            .text("SourceArn", Some(i.source_arn()))
            .text("TargetArn", Some(i.target_arn()))
            .text("Description", i.description())
            .text("DataFilter", i.data_filter())
            .text("KmsKeyId", i.kms_key_id())
            .map("AdditionalEncryptionContext", i.additional_encryption_context())
            .tags("Tags", i.tags().iter().map(|t| (t.key(), t.value())));
        if let Some(config) = i.integration_config() {
            let shape = Definition::of(None)
                .text("RefreshInterval", config.refresh_interval())
                .map("SourceProperties", config.source_properties())
                .text("TargetNamespace", config.target_namespace());
            let mut input = shape.input.to_map();
            if let Some(continuous) = config.continuous_sync() {
                input.insert("ContinuousSync".to_owned(), serde_json::Value::Bool(continuous));
            }
            if !input.is_empty() {
                definition.input.insert("IntegrationConfig", serde_json::Value::Object(input));
            }
        }
        definition
    }

    fn delete(
        client: &Client,
        arn: &str,
    ) -> impl Future<Output = Result<DeleteIntegrationOutput, SdkError<DeleteIntegrationError, HttpResponse>>> + Send
    {
        client.delete_integration().integration_identifier(arn).send()
    }

    fn deleted_status(deleted: &DeleteIntegrationOutput) -> Option<&str> {
        Some(deleted.status().as_str())
    }
}

#[cfg(test)]
mod tests {
    //! The real Glue client against a fake Glue behind its HTTP connector: the wire format (target, members,
    //! epoch-second times, lower-case tags, `__type` errors) is the SDK's own, the answers are the fake's.

    use super::*;
    use crate::domain::resource::{Age, Condition, ErrorClass, Handle, Resource};
    use crate::domain::setting::Env;
    use crate::engine::calls::{Caller, RetryPolicy};
    use crate::providers::aws_sdk::Regional;
    use crate::providers::rds::Rds;
    use crate::providers::redshift::Redshift;
    use crate::providers::zero_etl::IntegrationHandle;
    use crate::providers::{ControlPlane, DeleteOutcome, Scan};
    use aws_smithy_runtime_api::client::http::{
        http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_types::body::SdkBody;
    use serde_json::{json, Value};
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::time::SystemTime;

    const REGION: &str = "us-east-1";

    fn arn(service: &str, id: &str) -> String {
        format!("arn:aws:{service}:{REGION}:123456789012:integration:{id}")
    }

    /// Glue's answers: its integrations (as JSON), the error a delete of an ARN gets (and whether the integration
    /// is gone once it has answered), pages of `page` integrations, and every request it was sent.
    #[derive(Debug, Default)]
    struct FakeGlue {
        integrations: Mutex<Vec<Value>>,
        on_delete: HashMap<String, (&'static str, bool)>,
        page: usize,
        requests: Mutex<Vec<(String, Value)>>,
    }

    #[derive(Debug)]
    struct Connector(Arc<FakeGlue>);

    fn answer(status: u16, body: Value) -> HttpResponse {
        let mut response = HttpResponse::new(status.try_into().expect("a status"), SdkBody::from(body.to_string()));
        response.headers_mut().insert("content-type", "application/x-amz-json-1.1");
        response
    }

    fn fault(code: &str) -> HttpResponse {
        answer(400, json!({"__type": code, "Message": format!("{code} from the fake")}))
    }

    impl FakeGlue {
        fn answer(&self, request: &HttpRequest) -> HttpResponse {
            let target = request.headers().get("x-amz-target").unwrap_or_default().to_owned();
            let body: Value = request.body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default();
            if let Ok(mut requests) = self.requests.lock() {
                requests.push((target.clone(), body.clone()));
            }
            let Ok(mut integrations) = self.integrations.lock() else { return answer(500, json!({})) };
            match target.as_str() {
                "AWSGlue.DescribeIntegrations" => match body["IntegrationIdentifier"].as_str() {
                    Some(wanted) => match integrations.iter().find(|i| i["IntegrationArn"] == wanted) {
                        Some(one) => answer(200, json!({"Integrations": [one]})),
                        None => fault("IntegrationNotFoundFault"),
                    },
                    None => {
                        let start: usize = body["Marker"].as_str().and_then(|m| m.parse().ok()).unwrap_or(0);
                        let end = (start + self.page).min(integrations.len());
                        let mut page = json!({"Integrations": integrations[start..end]});
                        if end < integrations.len() {
                            page["Marker"] = json!(end.to_string());
                        }
                        answer(200, page)
                    }
                },
                "AWSGlue.DeleteIntegration" => {
                    let wanted = body["IntegrationIdentifier"].as_str().unwrap_or_default();
                    if let Some((code, vanish)) = self.on_delete.get(wanted) {
                        if *vanish {
                            integrations.retain(|i| i["IntegrationArn"] != wanted);
                        }
                        return fault(code);
                    }
                    match integrations.iter_mut().find(|i| i["IntegrationArn"] == wanted) {
                        Some(one) => {
                            one["Status"] = json!("DELETING");
                            answer(200, one.clone())
                        }
                        None => fault("IntegrationNotFoundFault"),
                    }
                }
                _ => fault("UnknownOperationException"),
            }
        }
    }

    impl HttpConnector for Connector {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            HttpConnectorFuture::ready(Ok(self.0.answer(&request)))
        }
    }

    /// A Glue integration as DescribeIntegrations spells it.
    fn integration(id: &str, status: &str) -> Value {
        json!({
            "SourceArn": "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
            "TargetArn": "arn:aws:glue:us-east-1:123456789012:database/lake",
            "IntegrationName": id,
            "IntegrationArn": arn("glue", id),
            "Status": status,
            "CreateTime": 1_700_000_000.5,
            "Tags": [{"key": "team", "value": "data"}],
        })
    }

    fn plane(fake: &Arc<FakeGlue>, stale: &[&str]) -> GlueIntegrations {
        let connector = SharedHttpConnector::new(Connector(Arc::clone(fake)));
        let config = aws_sdk_glue::Config::builder()
            .behavior_version(aws_sdk_glue::config::BehaviorVersion::latest())
            .region(aws_sdk_glue::config::Region::new(REGION))
            .credentials_provider(aws_sdk_glue::config::Credentials::new("AKIDFAKE", "secret", None, None, "test"))
            .http_client(http_client_fn(move |_, _| connector.clone()))
            .retry_config(aws_sdk_glue::config::retry::RetryConfig::disabled())
            .build();
        let clients = vec![Regional::new("glue", REGION, Client::from_conf(config))];
        let stale = stale.iter().map(|s| (*s).to_owned()).collect();
        GlueIntegrations::new(clients, Caller::new(RetryPolicy::new(1), 4), "janitor:protect", stale)
    }

    fn by_name<'a>(scan: &'a Scan, name: &str) -> &'a Resource {
        scan.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("no {name} in {scan:#?}"))
    }

    fn requests(fake: &FakeGlue) -> Vec<(String, Value)> {
        fake.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    #[test]
    fn the_spec_is_an_aws_provider_off_by_default_with_its_own_grace_and_statuses() {
        assert_eq!((SPEC.provider.as_str(), SPEC.kind, SPEC.provider.cloud()), ("glue", "glue-integration", &AWS));
        let defaults = crate::config::Settings::parse(|_| None).expect("the defaults are valid");
        assert!(!defaults.providers.contains(&PROVIDER), "off unless JANITOR_PROVIDERS names it");
        assert_eq!((SPEC.grace_variable, SPEC.default_grace), ("JANITOR_GLUE_GRACE", Duration::from_secs(3_600)));
        let flags: Vec<(&str, Option<&str>)> = SPEC.settings.iter().map(|s| (s.variable, s.flag)).collect();
        assert_eq!(
            flags,
            [("JANITOR_GLUE_GRACE", Some("glue-grace")), ("JANITOR_GLUE_STATUSES", Some("glue-statuses"))]
        );
        assert!(SPEC.events.is_empty(), "Glue documents no zero-ETL integration events");
        let stale = |value: Option<&str>| {
            let value = value.map(str::to_owned);
            let lookup = move |name: &str| (name == "JANITOR_GLUE_STATUSES").then(|| value.clone()).flatten();
            let options = (SPEC.parse)(&Env::new(&lookup)).expect("valid");
            options.as_any().downcast_ref::<IntegrationOptions>().map(|o| o.stale.clone()).unwrap_or_default()
        };
        assert_eq!(stale(None), ["FAILED"]);
        assert_eq!(stale(Some("failed,needs_attention")), ["FAILED", "NEEDS_ATTENTION"]);
    }

    #[test]
    fn an_integration_arn_is_judged_by_the_provider_of_its_service_only() {
        let id = "03cabe77-79e7-4b7a-b3da-8c160bea6bbf";
        let owners = |arn: &str| {
            [("rds", Rds::PROFILE.owns), ("redshift", Redshift::PROFILE.owns), ("glue", Glue::PROFILE.owns)]
                .into_iter()
                .filter(|(_, owns)| owns(arn))
                .map(|(name, _)| name)
                .collect::<Vec<_>>()
        };
        assert_eq!(owners(&arn("glue", id)), ["glue"]);
        assert_eq!(owners(&arn("rds", id)), ["rds"]);
        assert_eq!(owners(&arn("redshift", id)), ["redshift"]);
        assert_eq!(owners(&format!("arn:aws-us-gov:glue:us-gov-west-1:123456789012:integration:{id}")), ["glue"]);
        assert!(owners(&format!("arn:aws:glue:{REGION}:123456789012:integration/{id}")).is_empty());
        assert!(owners(&format!("arn:aws:glue:{REGION}:123456789012:connection:{id}")).is_empty());
    }

    #[tokio::test]
    async fn a_scan_pages_through_glue_and_judges_what_a_user_expects() {
        let mut protected = integration("kept-by-tag", "FAILED");
        protected["Tags"] = json!([{"key": "janitor:protect", "value": ""}]);
        let mut undated = integration("undated", "FAILED");
        undated.as_object_mut().map(|o| o.remove("CreateTime"));
        let mut from_rds = integration("from-rds", "FAILED");
        from_rds["IntegrationArn"] = json!(arn("rds", "from-rds"));
        let mut from_redshift = integration("from-redshift", "FAILED");
        from_redshift["IntegrationArn"] = json!(arn("redshift", "from-redshift"));
        let mut failed = integration("failed-one", "FAILED");
        failed["Errors"] =
            json!([{"ErrorCode": "SourceAccessDenied", "ErrorMessage": "the role cannot read the table"}]);
        let fake = Arc::new(FakeGlue {
            integrations: Mutex::new(vec![
                failed,
                integration("needs-a-person", "NEEDS_ATTENTION"),
                from_rds,
                integration("on-its-way", "DELETING"),
                protected,
                from_redshift,
                undated,
                integration("fine", "ACTIVE"),
            ]),
            page: 3,
            ..FakeGlue::default()
        });
        let scan = plane(&fake, &["FAILED"]).scan(REGION).await.expect("scan");

        let names: Vec<&str> = scan.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["failed-one", "needs-a-person", "on-its-way", "kept-by-tag", "undated", "fine"]);
        let sent = requests(&fake);
        let markers: Vec<&Value> = sent.iter().map(|(_, body)| &body["Marker"]).collect();
        assert_eq!(markers, [&Value::Null, &json!("3"), &json!("6")], "every page, by Marker");
        for (target, body) in &sent {
            assert_eq!(target, "AWSGlue.DescribeIntegrations");
            assert_eq!(body["MaxRecords"], 100);
            assert!(body.get("Filters").is_none(), "statuses are judged here, on every integration");
        }
        let failed = by_name(&scan, "failed-one");
        assert_eq!((failed.condition.clone(), failed.status.as_str()), (Condition::Stale, "FAILED"));
        assert_eq!(failed.id, arn("glue", "failed-one"));
        let created = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_500);
        assert_eq!(failed.age, Age::CreatedAt(created), "CreateTime in epoch seconds");
        assert_eq!(failed.failure.as_deref(), Some("SourceAccessDenied: the role cannot read the table"));
        assert_eq!(by_name(&scan, "needs-a-person").condition, Condition::Healthy { stale: "FAILED".into() });
        assert_eq!(by_name(&scan, "on-its-way").condition, Condition::InProgress);
        assert_eq!(
            by_name(&scan, "kept-by-tag").protected_by.as_deref(),
            Some("tag janitor:protect on the integration"),
            "the lower-case key of Glue's Tags"
        );
        assert_eq!(by_name(&scan, "fine").protected_by, None, "another tag protects nothing");
        assert_eq!(
            by_name(&scan, "undated").age,
            Age::Unknown("the integration reports no CreateTime".into()),
            "a missing CreateTime is no time, never 1970"
        );

        let asked = plane(&fake, &["FAILED", "NEEDS_ATTENTION"]).scan(REGION).await.expect("scan");
        assert_eq!(by_name(&asked, "needs-a-person").condition, Condition::Stale, "NEEDS_ATTENTION only when asked");
    }

    #[tokio::test]
    async fn a_delete_names_the_arn_and_its_answer_is_verified_skipped_or_failed() {
        let fault_ids = [
            ("gone", "IntegrationNotFoundFault", true),
            ("entity-gone", "EntityNotFoundException", true),
            ("still-listed", "IntegrationNotFoundFault", false),
            ("state", "InvalidIntegrationStateFault", false),
            ("operation", "IntegrationConflictOperationFault", false),
            ("conflict", "ConflictException", false),
            ("invalid-state", "InvalidStateException", false),
            ("denied", "AccessDeniedException", false),
            ("bad-input", "InvalidInputException", false),
        ];
        let fake = Arc::new(FakeGlue {
            integrations: Mutex::new(
                std::iter::once("fine")
                    .chain(fault_ids.iter().map(|(id, _, _)| *id))
                    .map(|id| integration(id, "FAILED"))
                    .collect(),
            ),
            on_delete: fault_ids.iter().map(|(id, code, vanish)| (arn("glue", id), (*code, *vanish))).collect(),
            page: 100,
            ..FakeGlue::default()
        });
        let plane = plane(&fake, &["FAILED"]);
        let scan = plane.scan(REGION).await.expect("scan");
        let delete = |name: &str| {
            let resource = by_name(&scan, name).clone();
            let plane = &plane;
            async move { plane.delete(&resource).await }
        };

        assert_eq!(delete("fine").await, DeleteOutcome::Deleted { status: "DELETING".into() });
        let (target, body) = requests(&fake).pop().expect("a delete");
        assert_eq!(target, "AWSGlue.DeleteIntegration");
        assert_eq!(body, json!({"IntegrationIdentifier": arn("glue", "fine")}), "the ARN, as the model says");

        assert_eq!(delete("gone").await, DeleteOutcome::AlreadyGone);
        let (target, body) = requests(&fake).pop().expect("a describe of that ARN");
        assert_eq!(target, "AWSGlue.DescribeIntegrations");
        assert_eq!(body["IntegrationIdentifier"], json!(arn("glue", "gone")));
        assert_eq!(delete("entity-gone").await, DeleteOutcome::AlreadyGone);
        let DeleteOutcome::Failed { error, class } = delete("still-listed").await else { panic!("still listed") };
        assert_eq!(class, ErrorClass::NotFound);
        assert_eq!(
            error,
            "DeleteIntegration answered IntegrationNotFoundFault: IntegrationNotFoundFault from the fake, but it is \
             still listed with status FAILED"
        );
        for (name, code) in [
            ("state", "InvalidIntegrationStateFault"),
            ("operation", "IntegrationConflictOperationFault"),
            ("conflict", "ConflictException"),
            ("invalid-state", "InvalidStateException"),
        ] {
            assert_eq!(
                delete(name).await,
                DeleteOutcome::Skipped { reason: format!("{code}: {code} from the fake") },
                "{name}: not failed, a later run retries"
            );
        }
        let DeleteOutcome::Failed { error, class } = delete("denied").await else { panic!("denied") };
        assert_eq!(class, ErrorClass::Denied);
        assert!(
            error.starts_with("access denied: the janitor's role may not call glue:DeleteIntegration on "),
            "{error}"
        );
        let DeleteOutcome::Failed { error, class } = delete("bad-input").await else { panic!("bad input") };
        assert_eq!(class, ErrorClass::Service);
        assert_eq!(error, "glue:DeleteIntegration failed: InvalidInputException: InvalidInputException from the fake");
    }

    #[tokio::test]
    async fn an_rds_or_redshift_integration_is_never_deleted_by_glue() {
        let fake = Arc::new(FakeGlue {
            integrations: Mutex::new(vec![integration("mine", "FAILED")]),
            page: 100,
            ..FakeGlue::default()
        });
        let glue = plane(&fake, &["FAILED"]);
        let mine = glue.scan(REGION).await.expect("scan").remove(0);
        let before = requests(&fake).len();
        for service in ["rds", "redshift"] {
            let theirs =
                Resource { handle: Handle::new(IntegrationHandle { arn: arn(service, "theirs") }), ..mine.clone() };
            let refused = DeleteOutcome::failed(ErrorClass::Service, "not a Glue integration");
            assert_eq!(glue.delete(&theirs).await, refused, "{service}");
        }
        assert_eq!(requests(&fake).len(), before, "no call was sent");
    }
}
