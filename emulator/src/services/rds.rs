//! AWS RDS over awsQuery: DescribeIntegrations, DeleteIntegration and CreateIntegration.
//!
//! CreateIntegration, per botocore's model `rds/2014-10-31`: SourceArn, TargetArn and IntegrationName are required
//! (MissingParameter, the common error, when one is not given); KMSKeyId, AdditionalEncryptionContext (a map,
//! `AdditionalEncryptionContext.entry.N.key`/`.value`, which "you can only include if you specify the KMSKeyId", so
//! without one InvalidParameterCombination, the common error), Tags (`Tags.Tag.N.Key`/`.Value`), DataFilter and
//! Description are optional; the answer's `CreateIntegrationResult` is the Integration itself. Its errors are the
//! model's: IntegrationAlreadyExistsFault (400) for a name an integration of the account and region has,
//! DBClusterNotFoundFault (404) for a gone source (the fleet's `goneArns`) and, for a gone `:db:` source, the
//! instance's DBInstanceNotFoundFault, whose wire code is `DBInstanceNotFound` (404). Assumed: a gone target answers the
//! common InvalidParameterValue, as none of the operation's modeled errors is about the target; a gone source that is
//! neither a cluster nor an instance answers DBClusterNotFoundFault; the name and ARN patterns are not checked. The
//! answer says `creating`, as RDS's does; the integration is then listed `active`, as RDS's becomes once it is made,
//! so that what is created can be listed, and deleted, at once.

use std::collections::BTreeMap;
use std::time::SystemTime;

use axum::http::StatusCode;
use axum::response::Response;

use crate::auth;
use crate::clock::format_iso8601;
use crate::error::ApiError;
use crate::faults::Fault;
use crate::fleet::{
    generated_rds_integrations, integration_arns, integrations_in_account, last_segment, Integration, OnDelete,
};
use crate::identity::{self, Caller};
use crate::paging;
use crate::protocol::{HttpRequest, Protocol};
use crate::query::{self, invalid};
use crate::service::{no_checks, Count, FleetPart, Generated, Members, Route, Service};
use crate::services::creation::{self, NewIntegration, Refusal, Site};
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
    Create(Box<NewIntegration>),
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

fn create(params: &BTreeMap<String, String>) -> Result<Request, ApiError> {
    let kms_key_id = params.get("KMSKeyId").cloned();
    let additional_encryption_context = query::map(params, "AdditionalEncryptionContext")?;
    if kms_key_id.is_none() && !additional_encryption_context.is_empty() {
        return Err(query::combination("AdditionalEncryptionContext can only be given with KMSKeyId"));
    }
    Ok(Request::Create(Box::new(NewIntegration {
        source_arn: query::required(params, "SourceArn")?,
        target_arn: query::required(params, "TargetArn")?,
        name: query::required(params, "IntegrationName")?,
        kms_key_id,
        additional_encryption_context,
        tags: query::tags(params, "Tags.Tag")?,
        data_filter: params.get("DataFilter").cloned(),
        description: params.get("Description").cloned(),
        integration_config: None,
    })))
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

fn execute_create(
    store: &mut Store,
    account: &str,
    region: &str,
    new: NewIntegration,
    now: SystemTime,
) -> Result<String, ApiError> {
    let (name, source, target) = (new.name.clone(), new.source_arn.clone(), new.target_arn.clone());
    let site = Site { integrations: &INTEGRATIONS, service: "rds", account, region };
    let mut created = creation::create(store, &site, new, "active", now).map_err(|refusal| match refusal {
        Refusal::NameTaken => {
            ApiError::bad_request("IntegrationAlreadyExistsFault", format!("Integration {name} already exists."))
        }
        Refusal::SourceGone if source.contains(":db:") => ApiError::new(
            StatusCode::NOT_FOUND,
            "DBInstanceNotFound",
            format!("DBInstance {} not found.", last_segment(&source)),
        ),
        Refusal::SourceGone => ApiError::new(
            StatusCode::NOT_FOUND,
            "DBClusterNotFoundFault",
            format!("DBCluster {} not found.", last_segment(&source)),
        ),
        Refusal::TargetGone => invalid(format!("The target {target} of the integration doesn't exist.")),
    })?;
    // The answer shows it being made; it is listed made (see the module's documentation).
    created.status = "creating".to_owned();
    let mut x = Xml::default();
    write_integration(&mut x, &created);
    Ok(x.into_string())
}

fn execute(
    store: &mut Store,
    account: &str,
    region: &str,
    request: Request,
    now: SystemTime,
) -> Result<String, ApiError> {
    match request {
        Request::Describe { identifier, filters, size, after } => {
            execute_describe(store, region, identifier.as_deref(), &filters, size, after)
        }
        Request::Delete(identifier) => execute_delete(store, region, &identifier),
        Request::Create(new) => execute_create(store, account, region, *new, now),
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
        let (action, served) =
            query::action(&params, &["DescribeIntegrations", "DeleteIntegration", "CreateIntegration"]);
        let request = served.and_then(|()| match action.as_str() {
            "DescribeIntegrations" => describe(&params),
            "CreateIntegration" => create(&params),
            _ => delete(&params),
        });
        (action, request)
    }

    fn target(_http: &HttpRequest<'_>, request: Option<&Request>) -> Option<String> {
        match request? {
            Request::Describe { identifier, .. } => identifier.clone(),
            Request::Delete(id) => Some(id.clone()),
            Request::Create(new) => Some(new.name.clone()),
        }
    }

    fn execute(
        estate: &mut Estate,
        caller: &Caller,
        region: &str,
        request: Request,
        now: SystemTime,
    ) -> Result<String, ApiError> {
        let store = estate.resources(caller).map_err(identity::query_error)?;
        execute(store, &caller.account, region, request, now)
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
        run_at(store, body, SystemTime::now())
    }

    fn run_at(store: &mut Store, body: &str, now: SystemTime) -> Result<String, ApiError> {
        let (uri, headers) = (Uri::from_static("/"), HeaderMap::new());
        let (_, request) = Rds::decode(&HttpRequest { uri: &uri, headers: &headers, body: body.as_bytes() });
        execute(store, ACCOUNT, "us-east-1", request?, now)
    }

    const ACCOUNT: &str = "123456789012";
    const SOURCE: &str = "arn:aws:rds:us-east-1:123456789012:cluster:orders";
    const TARGET: &str = "arn:aws:redshift-serverless:us-east-1:123456789012:namespace/abc";

    /// A CreateIntegration form of the required parameters, `name` and `more` (already encoded).
    fn create_body(name: &str, more: &str) -> String {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "Action=CreateIntegration&Version=2014-10-31&SourceArn={}&TargetArn={}&IntegrationName={name}{more}",
            encode(SOURCE),
            encode(TARGET)
        )
    }

    /// The text of the first `<name>` element of `xml`.
    fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
        let (_, rest) = xml.split_once(&format!("<{name}>"))?;
        rest.split_once(&format!("</{name}>")).map(|(text, _)| text)
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
            ("Action=ModifyIntegration", "InvalidAction"),
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
    #[test]
    fn create_answers_creating_and_lists_every_field_given() {
        let mut s = store(Fleet::default());
        let now = crate::clock::parse_timestamp("2026-05-06T07:08:09.123Z", SystemTime::now()).unwrap();
        let more = "&KMSKeyId=arn%3Aaws%3Akms%3Aus-east-1%3A123456789012%3Akey%2Fk1\
                    &AdditionalEncryptionContext.entry.1.key=dept&AdditionalEncryptionContext.entry.1.value=orders\
                    &Tags.Tag.1.Key=replication-janitor%3Arestored-from&Tags.Tag.1.Value=reports%2F2026.json\
                    &Tags.Tag.2.Key=team&Tags.Tag.2.Value=data&DataFilter=include%3A+orders.%2A\
                    &Description=restored+%3C%26%3E";
        let out = run_at(&mut s, &create_body("orders-restored", more), now).unwrap();
        assert!(out.starts_with(&format!("<SourceArn>{SOURCE}</SourceArn><TargetArn>{TARGET}</TargetArn>")), "{out}");
        assert_eq!(element(&out, "Status"), Some("creating"));
        assert_eq!(element(&out, "CreateTime"), Some("2026-05-06T07:08:09.123Z"), "the emulator's clock");
        let arn = element(&out, "IntegrationArn").unwrap().to_owned();
        assert!(arn.starts_with("arn:aws:rds:us-east-1:123456789012:integration:"), "{arn}");
        let listed = run(&mut s, &format!("Action=DescribeIntegrations&IntegrationIdentifier={arn}")).unwrap();
        assert_eq!(element(&listed, "Status"), Some("active"));
        for expected in [
            "<IntegrationName>orders-restored</IntegrationName>",
            "<KMSKeyId>arn:aws:kms:us-east-1:123456789012:key/k1</KMSKeyId>",
            "<AdditionalEncryptionContext><entry><key>dept</key><value>orders</value></entry></AdditionalEncryptionContext>",
            "<Tags><Tag><Key>replication-janitor:restored-from</Key><Value>reports/2026.json</Value></Tag>\
             <Tag><Key>team</Key><Value>data</Value></Tag></Tags>",
            "<DataFilter>include: orders.*</DataFilter>",
            "<Description>restored &lt;&amp;&gt;</Description>",
            "<CreateTime>2026-05-06T07:08:09.123Z</CreateTime>",
        ] {
            assert!(listed.contains(expected), "{expected} in {listed}");
        }
        assert!(!listed.contains("<Errors>"), "{listed}");
        run(&mut s, &format!("Action=DeleteIntegration&IntegrationIdentifier={arn}")).unwrap();
        assert!(s.fleet().integrations.is_empty(), "what is created can be deleted at once");
        let again = run(&mut s, &create_body("orders-restored", "&Tags=")).unwrap();
        assert_ne!(element(&again, "IntegrationArn"), Some(arn.as_str()), "a new one gets a new ARN");
        assert!(again.contains("<Tags></Tags>"), "{again}");
    }

    #[test]
    fn create_refuses_a_taken_name_in_the_region_only() {
        let mut existing = Integration::new("us-east-1", "arn:aws:rds:us-east-1:123456789012:integration:abc");
        existing.integration_name = Some("orders".to_owned());
        let mut elsewhere = existing.clone();
        elsewhere.region = "eu-west-1".to_owned();
        elsewhere.integration_name = Some("elsewhere".to_owned());
        let mut s = store(Fleet { integrations: vec![existing, elsewhere], ..Fleet::default() });
        let err = run(&mut s, &create_body("orders", "")).unwrap_err();
        assert_eq!((err.code, err.status), ("IntegrationAlreadyExistsFault", StatusCode::BAD_REQUEST));
        assert_eq!(err.message, "Integration orders already exists.");
        run(&mut s, &create_body("elsewhere", "")).unwrap();
        assert_eq!(s.fleet().integrations.len(), 3);
    }

    #[test]
    fn create_refuses_a_gone_source_or_target() {
        let instance = "arn:aws:rds:us-east-1:123456789012:db:orders-db";
        let gone = [SOURCE.to_owned(), TARGET.to_owned(), instance.to_owned()].into();
        let mut s = store(Fleet { gone_arns: gone, ..Fleet::default() });
        let cluster = run(&mut s, &create_body("a", "")).unwrap_err();
        assert_eq!((cluster.code, cluster.status), ("DBClusterNotFoundFault", StatusCode::NOT_FOUND));
        assert_eq!(cluster.message, "DBCluster orders not found.");
        let body = create_body("a", "").replace("cluster%3Aorders", "db%3Aorders-db");
        let db = run(&mut s, &body).unwrap_err();
        assert_eq!((db.code, db.status), ("DBInstanceNotFound", StatusCode::NOT_FOUND), "the model's wire code");
        assert_eq!(db.message, "DBInstance orders-db not found.");
        let body = create_body("a", "").replace("cluster%3Aorders", "cluster%3Alive");
        let target = run(&mut s, &body).unwrap_err();
        assert_eq!((target.code, target.status), ("InvalidParameterValue", StatusCode::BAD_REQUEST));
        assert!(target.message.contains(TARGET), "{}", target.message);
        assert!(s.fleet().integrations.is_empty());
    }

    #[test]
    fn create_validates_its_parameters() {
        let mut s = store(Fleet::default());
        for (name, dropped) in
            [("SourceArn", "SourceArn="), ("TargetArn", "TargetArn="), ("IntegrationName", "IntegrationName=")]
        {
            let body = create_body("a", "").replace(dropped, "Other=");
            let err = run(&mut s, &body).unwrap_err();
            assert_eq!(
                (err.code, err.message),
                ("MissingParameter", format!("The request must contain the parameter {name}"))
            );
        }
        let err = run(&mut s, &create_body("", "")).unwrap_err();
        assert_eq!(err.code, "MissingParameter", "an empty name is none");
        let context = "&AdditionalEncryptionContext.entry.1.key=a&AdditionalEncryptionContext.entry.1.value=1";
        assert_eq!(run(&mut s, &create_body("a", context)).unwrap_err().code, "InvalidParameterCombination");
        assert_eq!(run(&mut s, &create_body("a", "&Tags.Tag.1.Value=v")).unwrap_err().code, "InvalidParameterValue");
        assert!(s.fleet().integrations.is_empty());
    }
}
