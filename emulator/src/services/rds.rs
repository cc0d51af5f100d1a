//! AWS RDS over awsQuery: DescribeIntegrations and DeleteIntegration.

use std::collections::BTreeMap;
use std::time::SystemTime;

use axum::http::StatusCode;
use axum::response::Response;

use crate::auth;
use crate::clock::format_iso8601;
use crate::error::ApiError;
use crate::faults::Fault;
use crate::fleet::{generated_rds_integrations, integration_arns, integrations_in_account, Integration, OnDelete};
use crate::identity::{self, Caller};
use crate::paging;
use crate::protocol::{HttpRequest, Protocol};
use crate::query::{self, invalid};
use crate::service::{no_checks, Count, FleetPart, Generated, Members, Route, Service};
use crate::store::{Collection, Estate, Store};
use crate::xml::Xml;

/// The API version RDS's SDKs send as `Version`.
const VERSION: &str = "2014-10-31";
const NAMESPACE: &str = "http://rds.amazonaws.com/doc/2014-10-31/";
/// The only DescribeIntegrations filter the emulator knows (real names are undocumented).
const IDENTIFIER_FILTER: &str = "integration-identifier";

/// RDS's registration.
pub(crate) const SERVICE: Service = Service::of::<Rds>(
    Route::Query { version: VERSION },
    FleetPart {
        validate: no_checks,
        members: Members::Own {
            copy: |from, to, account| to.integrations = integrations_in_account(&from.integrations, account),
            arns: |fleet| integration_arns(&fleet.integrations),
        },
        generated: Some(Generated {
            count: Count::Spec { position: 1, name: "INTEGRATIONS" },
            fill: |fleet, count, stale_share, regions| {
                fleet.integrations = generated_rds_integrations(count, stale_share, regions);
            },
        }),
    },
);

const INTEGRATIONS: Collection<Integration> = Collection { name: "integrations", items: |f| &mut f.integrations };

pub(crate) struct Rds;

pub(crate) enum Request {
    Describe {
        identifier: Option<String>,
        /// Values of every `integration-identifier` filter; an integration must match each.
        filters: Vec<Vec<String>>,
        size: usize,
        after: Option<u64>,
    },
    Delete(String),
}

fn not_found(identifier: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "IntegrationNotFoundFault", format!("Integration {identifier} not found."))
}

fn invalid_state(i: &Integration) -> ApiError {
    ApiError::bad_request(
        "InvalidIntegrationStateFault",
        format!("Integration {} is in state {} and cannot be deleted.", i.name(), i.status),
    )
}

fn describe(params: &BTreeMap<String, String>) -> Result<Request, ApiError> {
    let (size, after) = query::paging(params)?;
    let filters = query::filters(params, "Filters.Filter")?
        .into_iter()
        .map(|f| match f.name.as_str() {
            IDENTIFIER_FILTER => Ok(f.values),
            other => Err(invalid(format!("Unrecognized filter name: {other}. Supported: {IDENTIFIER_FILTER}"))),
        })
        .collect::<Result<_, _>>()?;
    Ok(Request::Describe { identifier: params.get("IntegrationIdentifier").cloned(), filters, size, after })
}

fn delete(params: &BTreeMap<String, String>) -> Result<Request, ApiError> {
    match params.get("IntegrationIdentifier") {
        Some(id) if !id.is_empty() => Ok(Request::Delete(id.clone())),
        _ => Err(query::missing("IntegrationIdentifier")),
    }
}

/// The Integration's members, in model order, with derived defaults filled in.
fn write_integration(x: &mut Xml, i: &Integration) {
    x.text("SourceArn", &i.source_arn())
        .text("TargetArn", &i.target_arn())
        .text("IntegrationName", i.name())
        .text("IntegrationArn", &i.integration_arn)
        .opt("KMSKeyId", i.kms_key_id.as_deref());
    if !i.additional_encryption_context.is_empty() {
        x.wrap("AdditionalEncryptionContext", |x| {
            for (k, v) in &i.additional_encryption_context {
                x.wrap("entry", |x| {
                    x.text("key", k).text("value", v);
                });
            }
        });
    }
    x.text("Status", &i.status).wrap("Tags", |x| {
        for (k, v) in &i.tags {
            x.wrap("Tag", |x| {
                x.text("Key", k).text("Value", v);
            });
        }
    });
    x.opt("DataFilter", i.data_filter.as_deref())
        .opt("Description", i.description.as_deref())
        .text("CreateTime", &format_iso8601(i.create_time));
    if !i.errors.is_empty() {
        x.wrap("Errors", |x| {
            for e in &i.errors {
                x.wrap("IntegrationError", |x| {
                    x.text("ErrorCode", &e.error_code).opt("ErrorMessage", e.error_message.as_deref());
                });
            }
        });
    }
}

fn execute_describe(
    store: &mut Store,
    region: &str,
    identifier: Option<&str>,
    filters: &[Vec<String>],
    size: usize,
    after: Option<u64>,
) -> Result<String, ApiError> {
    if let Some(id) = identifier {
        store.find_mut(&INTEGRATIONS, |i| i.region == region && i.is_named(id)).ok_or_else(|| not_found(id))?;
    }
    let matching = store.sequenced(&INTEGRATIONS).filter(|(_, i)| {
        i.region == region
            && identifier.is_none_or(|id| i.is_named(id))
            && filters.iter().all(|values| values.iter().any(|v| i.is_named(v)))
    });
    let (page, marker) = paging::page(matching, after, size);
    let mut x = Xml::default();
    x.wrap("Integrations", |x| {
        for i in page {
            x.wrap("Integration", |x| write_integration(x, i));
        }
    })
    .opt("Marker", marker.as_deref());
    Ok(x.into_string())
}

fn execute_delete(store: &mut Store, region: &str, identifier: &str) -> Result<String, ApiError> {
    let found = store
        .find_mut(&INTEGRATIONS, |i| i.region == region && i.is_named(identifier))
        .ok_or_else(|| not_found(identifier))?;
    let arn = found.integration_arn.clone();
    match found.on_delete {
        Some(OnDelete::NotFound) => {
            store.remove(&INTEGRATIONS, |i| i.region == region && i.integration_arn == arn);
            return Err(not_found(identifier));
        }
        Some(OnDelete::InvalidState | OnDelete::Unsupported) => return Err(invalid_state(found)),
        Some(OnDelete::Conflict) => {
            return Err(ApiError::bad_request(
                "IntegrationConflictOperationFault",
                format!("Another operation is in progress on integration {identifier}."),
            ))
        }
        Some(OnDelete::NotFoundButListed) => return Err(not_found(identifier)),
        Some(OnDelete::AccessDenied | OnDelete::EndpointAccessDenied) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                format!("User is not authorized to perform: rds:DeleteIntegration on resource: {arn}"),
            ))
        }
        Some(OnDelete::Throttle) => return Err(query::fault(Fault::Throttle)),
        None => {}
    }
    if matches!(found.status.as_str(), "creating" | "modifying" | "deleting") {
        return Err(invalid_state(found));
    }
    let mut deleting = found.clone();
    deleting.status = "deleting".to_owned();
    store.remove(&INTEGRATIONS, |i| i.region == region && i.integration_arn == arn);
    let mut x = Xml::default();
    write_integration(&mut x, &deleting);
    Ok(x.into_string())
}

fn execute(store: &mut Store, region: &str, request: Request) -> Result<String, ApiError> {
    match request {
        Request::Describe { identifier, filters, size, after } => {
            execute_describe(store, region, identifier.as_deref(), &filters, size, after)
        }
        Request::Delete(identifier) => execute_delete(store, region, &identifier),
    }
}

impl Protocol for Rds {
    const SERVICE: &'static str = "rds";
    type Request = Request;
    type Output = String;
    type Error = ApiError;

    fn region(http: &HttpRequest<'_>) -> Option<String> {
        auth::region(http.headers)
    }

    fn authenticate(estate: &mut Estate, http: &HttpRequest<'_>) -> Result<Caller, ApiError> {
        estate.sessions.identify(http.headers, SystemTime::now()).map_err(identity::query_error)
    }

    fn decode(http: &HttpRequest<'_>) -> (String, Result<Request, ApiError>) {
        let params = query::params(http.body);
        let (action, served) = query::action(&params, &["DescribeIntegrations", "DeleteIntegration"]);
        let request = served.and_then(|()| match action.as_str() {
            "DescribeIntegrations" => describe(&params),
            _ => delete(&params),
        });
        (action, request)
    }

    fn target(_http: &HttpRequest<'_>, request: Option<&Request>) -> Option<String> {
        match request? {
            Request::Describe { identifier, .. } => identifier.clone(),
            Request::Delete(id) => Some(id.clone()),
        }
    }

    fn execute(estate: &mut Estate, caller: &Caller, region: &str, request: Request) -> Result<String, ApiError> {
        execute(estate.resources(caller).map_err(identity::query_error)?, region, request)
    }

    fn fault(fault: Fault) -> ApiError {
        query::fault(fault)
    }

    fn respond(
        _http: &HttpRequest<'_>,
        operation: &str,
        result: Result<String, ApiError>,
        request_id: &str,
    ) -> Response {
        query::respond(NAMESPACE, operation, result, request_id)
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, Uri};

    use super::*;
    use crate::fleet::{Fleet, IntegrationError};

    fn store(fleet: Fleet) -> Store {
        let mut s = Store::default();
        s.replace(fleet);
        s
    }

    fn run(store: &mut Store, body: &str) -> Result<String, ApiError> {
        let (uri, headers) = (Uri::from_static("/"), HeaderMap::new());
        let (_, request) = Rds::decode(&HttpRequest { uri: &uri, headers: &headers, body: body.as_bytes() });
        execute(store, "us-east-1", request?)
    }

    #[test]
    fn describe_validates_parameters() {
        let mut s = store(Fleet::sample());
        for (body, code) in [
            ("Action=DescribeIntegrations&MaxRecords=19", "InvalidParameterValue"),
            ("Action=DescribeIntegrations&MaxRecords=abc", "InvalidParameterValue"),
            ("Action=DescribeIntegrations&Marker=junk", "InvalidParameterValue"),
            (
                "Action=DescribeIntegrations&Filters.Filter.1.Name=status&Filters.Filter.1.Values.Value.1=failed",
                "InvalidParameterValue",
            ),
            ("Action=DescribeIntegrations&IntegrationIdentifier=nope", "IntegrationNotFoundFault"),
            ("Action=DeleteIntegration", "MissingParameter"),
            ("Action=CreateIntegration", "InvalidAction"),
            ("Version=2014-10-31", "MissingAction"),
        ] {
            assert_eq!(run(&mut s, body).unwrap_err().code, code, "{body}");
        }
        let err = run(&mut s, "Action=DescribeIntegrations&MaxRecords=101").unwrap_err();
        assert_eq!(err.message, "Invalid value for MaxRecords. Must be between 20 and 100");
    }

    #[test]
    fn describe_filters_by_identifier_and_name() {
        let mut s = store(Fleet::sample());
        let all = run(&mut s, "Action=DescribeIntegrations").unwrap();
        assert_eq!(all.matches("<Integration>").count(), 5);
        let one = run(
            &mut s,
            "Action=DescribeIntegrations&Filters.Filter.1.Name=integration-identifier&Filters.Filter.1.Values.Value.1=catalog-to-redshift-active",
        )
        .unwrap();
        assert_eq!(one.matches("<Integration>").count(), 1);
        assert!(one.contains("<DataFilter>include: catalog.*</DataFilter>"));
        let by_id =
            run(&mut s, "Action=DescribeIntegrations&IntegrationIdentifier=orders-to-redshift-failed-old").unwrap();
        assert!(by_id.contains("<AdditionalEncryptionContext><entry><key>department</key><value>orders</value></entry></AdditionalEncryptionContext>"));
        assert!(by_id.contains("<CreateTime>2026-03-14T09:26:53.589Z</CreateTime>"));
        assert!(by_id.contains("<Errors><IntegrationError><ErrorCode>SOURCE_CLUSTER_NOT_FOUND</ErrorCode>"));
    }

    #[test]
    fn text_is_escaped() {
        let mut i = Integration::new("us-east-1", "arn:aws:rds:us-east-1:1:integration:x");
        i.description = Some("a < b & \"c\"".to_owned());
        i.errors = vec![IntegrationError { error_code: "E".to_owned(), error_message: Some("<boom>".to_owned()) }];
        let mut s = store(Fleet { integrations: vec![i], ..Fleet::default() });
        let out = run(&mut s, "Action=DescribeIntegrations").unwrap();
        assert!(out.contains("<Description>a &lt; b &amp; &quot;c&quot;</Description>"));
        assert!(out.contains("<ErrorMessage>&lt;boom&gt;</ErrorMessage>"));
    }

    #[test]
    fn delete_outcomes() {
        let arn = "arn:aws:rds:us-east-1:1:integration:x";
        let with = |status: &str, on_delete: Option<OnDelete>| {
            let mut i = Integration::new("us-east-1", arn);
            i.status = status.to_owned();
            i.on_delete = on_delete;
            store(Fleet { integrations: vec![i], ..Fleet::default() })
        };
        let body = format!("Action=DeleteIntegration&IntegrationIdentifier={arn}");
        let err = |s: &mut Store| run(s, &body).unwrap_err();
        for status in ["creating", "modifying", "deleting"] {
            assert_eq!(err(&mut with(status, None)).code, "InvalidIntegrationStateFault");
        }
        assert_eq!(err(&mut with("failed", Some(OnDelete::Conflict))).code, "IntegrationConflictOperationFault");
        assert_eq!(err(&mut with("failed", Some(OnDelete::AccessDenied))).status, StatusCode::FORBIDDEN);
        assert_eq!(err(&mut with("failed", Some(OnDelete::Throttle))).code, "Throttling");
        let mut vanished = with("failed", Some(OnDelete::NotFound));
        assert_eq!(err(&mut vanished).status, StatusCode::NOT_FOUND);
        assert!(vanished.fleet().integrations.is_empty());

        let mut s = with("failed", None);
        let out = run(&mut s, &body).unwrap();
        assert!(out.starts_with("<SourceArn>"));
        assert!(out.contains("<Status>deleting</Status>"));
        assert!(s.fleet().integrations.is_empty());
        assert_eq!(err(&mut s).code, "IntegrationNotFoundFault");
    }
}
