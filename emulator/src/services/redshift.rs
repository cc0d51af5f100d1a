//! Amazon Redshift over awsQuery (version 2012-12-01): DescribeIntegrations, DeleteIntegration and CreateIntegration,
//! for the zero-ETL integrations Redshift itself manages (e.g. from DynamoDB sources).
//!
//! Documented (the botocore model `redshift/2012-12-01` and the API reference): the parameters; the filter names
//! `integration-arn`, `source-arn`, `source-types` and `status` (list `Filters.DescribeIntegrationsFilter.N`);
//! MaxRecords 20..=100, default 100; the IntegrationArn pattern (a lowercase uuid); the Integration members; each
//! operation's errors and their HTTP statuses (IntegrationNotFoundFault 404; IntegrationConflictStateFault,
//! IntegrationConflictOperationFault and UnsupportedOperation 400). Assumed: the common InvalidParameterValue for an
//! out-of-range MaxRecords, a malformed IntegrationArn or an unknown filter name, as RDS answers; `source-types`
//! values are the source ARN's service (`dynamodb`, `s3`), compared without case (the values are not documented);
//! the values of one filter are alternatives and every filter must hold; a delete of an integration being created,
//! modified or deleted is refused with IntegrationConflictStateFault, as RDS refuses it.
//!
//! CreateIntegration, per the same model: SourceArn, TargetArn and IntegrationName are required (MissingParameter, the
//! common error, when one is not given); KMSKeyId, TagList (`TagList.Tag.N.Key`/`.Value`), AdditionalEncryptionContext
//! (`AdditionalEncryptionContext.entry.N.key`/`.value`, only with a KMSKeyId, else the common
//! InvalidParameterCombination) and Description are optional; the answer's `CreateIntegrationResult` is the
//! Integration. Documented errors: IntegrationAlreadyExistsFault (400) for a name an integration of the account and
//! region has, IntegrationSourceNotFoundFault and IntegrationTargetNotFoundFault (404) for a source or target that is
//! gone (the fleet's `goneArns`). Assumed: the name and ARN patterns are not checked (any source or target not gone
//! exists); the answer says `creating` and the integration is then listed `active`, as Redshift's becomes once made,
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
    integration_arns, integrations_in_account, redshift_integration_region, Fleet, FleetError, Integration, OnDelete,
};
use crate::identity::{self, Caller};
use crate::paging;
use crate::protocol::{HttpRequest, Protocol};
use crate::query::{self, invalid};
use crate::service::{Count, FleetPart, Generated, Members, Route, Service};
use crate::services::creation::{self, NewIntegration, Refusal, Site};
use crate::store::{Collection, Estate, Store};
use crate::xml::Xml;

/// The API version Redshift's SDKs send as `Version`.
const VERSION: &str = "2012-12-01";
const NAMESPACE: &str = "http://redshift.amazonaws.com/doc/2012-12-01/";
const FILTER_LIST: &str = "Filters.DescribeIntegrationsFilter";

/// Redshift's registration.
pub(crate) const SERVICE: Service = Service::of::<Redshift>(
    Route::Query { version: VERSION },
    FleetPart {
        validate,
        members: Members::Own {
            copy: |from, to, account| {
                to.redshift_integrations = integrations_in_account(&from.redshift_integrations, account);
            },
            arns: |fleet| integration_arns(&fleet.redshift_integrations),
        },
        generated: Some(Generated {
            count: Count::Flag {
                long: "redshift-integrations",
                help: "Redshift-managed integrations to add to a `generated:` fleet, spread and failed like its RDS \
                       integrations",
            },
            fill: |fleet, count, stale_share, regions| {
                fleet.redshift_integrations = Fleet::generated_redshift_integrations(count, stale_share, regions);
            },
        }),
    },
);

const INTEGRATIONS: Collection<Integration> =
    Collection { name: "redshiftIntegrations", items: |f| &mut f.redshift_integrations };

/// Every integration ARN has the form the model requires and the integration's region, and none is listed twice.
fn validate(fleet: &Fleet) -> Result<(), FleetError> {
    let mut seen = std::collections::HashSet::new();
    for i in &fleet.redshift_integrations {
        let arn = &i.integration_arn;
        match redshift_integration_region(arn) {
            None => return Err(FleetError::RedshiftIntegrationArn { arn: arn.clone() }),
            Some(region) if region != i.region => {
                return Err(FleetError::RedshiftIntegrationRegion { arn: arn.clone(), region: i.region.clone() })
            }
            Some(_) => {}
        }
        if !seen.insert(arn.as_str()) {
            return Err(FleetError::DuplicateRedshiftIntegration { arn: arn.clone() });
        }
    }
    Ok(())
}

pub(crate) struct Redshift;

pub(crate) enum Request {
    Describe { arn: Option<String>, filters: Vec<Filter>, size: usize, after: Option<u64> },
    Delete(String),
    Create(Box<NewIntegration>),
}

/// What a DescribeIntegrations filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    IntegrationArn,
    SourceArn,
    SourceTypes,
    Status,
}

impl Field {
    const NAMES: [(&'static str, Field); 4] = [
        ("integration-arn", Field::IntegrationArn),
        ("source-arn", Field::SourceArn),
        ("source-types", Field::SourceTypes),
        ("status", Field::Status),
    ];

    fn parse(name: &str) -> Option<Field> {
        Field::NAMES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    fn matches(self, i: &Integration, value: &str) -> bool {
        match self {
            Field::IntegrationArn => i.integration_arn == value,
            Field::SourceArn => i.source_arn() == value,
            Field::SourceTypes => i.source_arn().split(':').nth(2).is_some_and(|s| s.eq_ignore_ascii_case(value)),
            Field::Status => i.status == value,
        }
    }
}

/// One filter: an integration matches when its field equals one of the values.
pub(crate) struct Filter {
    field: Field,
    values: Vec<String>,
}

impl Filter {
    fn matches(&self, i: &Integration) -> bool {
        self.values.iter().any(|v| self.field.matches(i, v))
    }
}

fn not_found(arn: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "IntegrationNotFoundFault", format!("Integration {arn} not found."))
}

/// The IntegrationArn parameter, if given, checked against the model's pattern.
fn arn_parameter(params: &BTreeMap<String, String>) -> Result<Option<String>, ApiError> {
    match params.get("IntegrationArn") {
        None => Ok(None),
        Some(arn) if redshift_integration_region(arn).is_some() => Ok(Some(arn.clone())),
        Some(arn) => Err(invalid(format!("Invalid IntegrationArn: {arn}"))),
    }
}

fn describe(params: &BTreeMap<String, String>) -> Result<Request, ApiError> {
    let (size, after) = query::paging(params)?;
    let filters = query::filters(params, FILTER_LIST)?
        .into_iter()
        .map(|f| match Field::parse(&f.name) {
            Some(field) => Ok(Filter { field, values: f.values }),
            None => Err(invalid(format!(
                "Unrecognized filter name: {}. Valid filter names: integration-arn | source-arn | source-types | status",
                f.name
            ))),
        })
        .collect::<Result<_, _>>()?;
    Ok(Request::Describe { arn: arn_parameter(params)?, filters, size, after })
}

fn delete(params: &BTreeMap<String, String>) -> Result<Request, ApiError> {
    arn_parameter(params)?.map(Request::Delete).ok_or_else(|| query::missing("IntegrationArn"))
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
        tags: query::tags(params, "TagList.Tag")?,
        description: params.get("Description").cloned(),
        data_filter: None,
        integration_config: None,
    })))
}

/// The Integration's members, in model order, with derived defaults filled in.
fn write_integration(x: &mut Xml, i: &Integration) {
    x.text("IntegrationArn", &i.integration_arn)
        .text("IntegrationName", i.name())
        .text("SourceArn", &i.source_arn())
        .text("TargetArn", &i.target_arn())
        .text("Status", &i.status);
    if !i.errors.is_empty() {
        x.wrap("Errors", |x| {
            for e in &i.errors {
                x.wrap("IntegrationError", |x| {
                    x.text("ErrorCode", &e.error_code).opt("ErrorMessage", e.error_message.as_deref());
                });
            }
        });
    }
    x.text("CreateTime", &format_iso8601(i.create_time))
        .opt("Description", i.description.as_deref())
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
    x.wrap("Tags", |x| {
        for (k, v) in &i.tags {
            x.wrap("Tag", |x| {
                x.text("Key", k).text("Value", v);
            });
        }
    });
}

fn execute_describe(
    store: &mut Store,
    region: &str,
    arn: Option<&str>,
    filters: &[Filter],
    size: usize,
    after: Option<u64>,
) -> Result<String, ApiError> {
    if let Some(arn) = arn {
        store
            .find_mut(&INTEGRATIONS, |i| i.region == region && i.integration_arn == arn)
            .ok_or_else(|| not_found(arn))?;
    }
    let matching = store.sequenced(&INTEGRATIONS).filter(|(_, i)| {
        i.region == region && arn.is_none_or(|arn| i.integration_arn == arn) && filters.iter().all(|f| f.matches(i))
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

fn conflict_state(i: &Integration) -> ApiError {
    ApiError::bad_request(
        "IntegrationConflictStateFault",
        format!("Integration {} is in state {} and can't be deleted.", i.integration_arn, i.status),
    )
}

fn execute_delete(store: &mut Store, region: &str, arn: &str) -> Result<String, ApiError> {
    let found = store
        .find_mut(&INTEGRATIONS, |i| i.region == region && i.integration_arn == arn)
        .ok_or_else(|| not_found(arn))?;
    match found.on_delete {
        Some(OnDelete::NotFound) => {
            store.remove(&INTEGRATIONS, |i| i.region == region && i.integration_arn == arn);
            return Err(not_found(arn));
        }
        Some(OnDelete::NotFoundButListed) => return Err(not_found(arn)),
        Some(OnDelete::InvalidState) => return Err(conflict_state(found)),
        Some(OnDelete::Conflict) => {
            return Err(ApiError::bad_request(
                "IntegrationConflictOperationFault",
                format!("Another operation is in progress on integration {arn}."),
            ))
        }
        Some(OnDelete::Unsupported) => {
            return Err(ApiError::bad_request("UnsupportedOperation", "The requested operation isn't supported."))
        }
        Some(OnDelete::AccessDenied | OnDelete::EndpointAccessDenied) => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                format!("User is not authorized to perform: redshift:DeleteIntegration on resource: {arn}"),
            ))
        }
        Some(OnDelete::Throttle) => return Err(query::fault(Fault::Throttle)),
        None => {}
    }
    if matches!(found.status.as_str(), "creating" | "modifying" | "deleting") {
        return Err(conflict_state(found));
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
    let site = Site { integrations: &INTEGRATIONS, service: "redshift", account, region };
    let mut created = creation::create(store, &site, new, "active", now).map_err(|refusal| match refusal {
        Refusal::NameTaken => ApiError::bad_request(
            "IntegrationAlreadyExistsFault",
            format!("An integration named {name} already exists."),
        ),
        Refusal::SourceGone => ApiError::new(
            StatusCode::NOT_FOUND,
            "IntegrationSourceNotFoundFault",
            format!("The integration source {source} can't be found."),
        ),
        Refusal::TargetGone => ApiError::new(
            StatusCode::NOT_FOUND,
            "IntegrationTargetNotFoundFault",
            format!("The integration target {target} can't be found."),
        ),
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
        Request::Describe { arn, filters, size, after } => {
            execute_describe(store, region, arn.as_deref(), &filters, size, after)
        }
        Request::Delete(arn) => execute_delete(store, region, &arn),
        Request::Create(new) => execute_create(store, account, region, *new, now),
    }
}

impl Protocol for Redshift {
    const SERVICE: &'static str = "redshift";
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
            Request::Describe { arn, .. } => arn.clone(),
            Request::Delete(arn) => Some(arn.clone()),
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

    const REGION: &str = "us-east-1";

    fn store(integrations: Vec<Integration>) -> Store {
        let mut s = Store::default();
        s.replace(Fleet { redshift_integrations: integrations, ..Fleet::default() });
        s
    }

    fn run(store: &mut Store, body: &str) -> Result<String, ApiError> {
        run_at(store, body, SystemTime::now())
    }

    fn run_at(store: &mut Store, body: &str, now: SystemTime) -> Result<String, ApiError> {
        let (uri, headers) = (Uri::from_static("/"), HeaderMap::new());
        let (_, request) = Redshift::decode(&HttpRequest { uri: &uri, headers: &headers, body: body.as_bytes() });
        execute(store, ACCOUNT, REGION, request?, now)
    }

    const ACCOUNT: &str = "123456789012";
    const SOURCE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/orders";
    const TARGET: &str = "arn:aws:redshift-serverless:us-east-1:123456789012:namespace/abc";

    /// A CreateIntegration form of the required parameters, `name` and `more` (already encoded).
    fn create_body(name: &str, more: &str) -> String {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "Action=CreateIntegration&Version=2012-12-01&SourceArn={}&TargetArn={}&IntegrationName={name}{more}",
            encode(SOURCE),
            encode(TARGET)
        )
    }

    /// The text of the first `<name>` element of `xml`.
    fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
        let (_, rest) = xml.split_once(&format!("<{name}>"))?;
        rest.split_once(&format!("</{name}>")).map(|(text, _)| text)
    }

    /// The ARNs a DescribeIntegrations answer lists, in order.
    fn arns(xml: &str) -> Vec<String> {
        xml.split("<Integration><IntegrationArn>")
            .skip(1)
            .filter_map(|rest| rest.split_once("</IntegrationArn>").map(|(arn, _)| arn.to_owned()))
            .collect()
    }

    fn marker(xml: &str) -> Option<String> {
        let (_, rest) = xml.split_once("<Marker>")?;
        rest.split_once("</Marker>").map(|(m, _)| m.to_owned())
    }

    fn with_status(n: u64, status: &str) -> Integration {
        let mut i = Integration::redshift(REGION, n);
        i.status = status.to_owned();
        i
    }

    #[test]
    fn pages_cover_every_integration_of_the_region_once() {
        let mut fleet: Vec<Integration> = (0..45).map(|n| with_status(n, "failed")).collect();
        fleet.push(Integration::redshift("eu-west-1", 99));
        let mut s = store(fleet);
        let mut seen = Vec::new();
        let mut next: Option<String> = None;
        let mut pages = 0;
        loop {
            let body = match &next {
                Some(m) => format!("Action=DescribeIntegrations&MaxRecords=20&Marker={m}"),
                None => "Action=DescribeIntegrations&MaxRecords=20".to_owned(),
            };
            let out = run(&mut s, &body).unwrap();
            seen.extend(arns(&out));
            pages += 1;
            next = marker(&out);
            if next.is_none() {
                break;
            }
        }
        let expected: Vec<String> = (0..45).map(|n| Integration::redshift_arn(REGION, n)).collect();
        assert_eq!((seen, pages), (expected, 3));
        assert_eq!(arns(&run(&mut s, "Action=DescribeIntegrations").unwrap()).len(), 45, "MaxRecords defaults to 100");
    }

    #[test]
    fn describe_validates_its_parameters() {
        let mut s = store(vec![with_status(1, "failed")]);
        let missing = Integration::redshift_arn(REGION, 2);
        for (body, code) in [
            ("Action=DescribeIntegrations&MaxRecords=19".to_owned(), "InvalidParameterValue"),
            ("Action=DescribeIntegrations&MaxRecords=101".to_owned(), "InvalidParameterValue"),
            ("Action=DescribeIntegrations&Marker=junk".to_owned(), "InvalidParameterValue"),
            (
                "Action=DescribeIntegrations&IntegrationArn=arn:aws:rds:us-east-1:1:integration:x".to_owned(),
                "InvalidParameterValue",
            ),
            (
                "Action=DescribeIntegrations&Filters.DescribeIntegrationsFilter.1.Name=integration-identifier\
                 &Filters.DescribeIntegrationsFilter.1.Values.Value.1=x"
                    .to_owned(),
                "InvalidParameterValue",
            ),
            (format!("Action=DescribeIntegrations&IntegrationArn={missing}"), "IntegrationNotFoundFault"),
            ("Action=ModifyIntegration".to_owned(), "InvalidAction"),
        ] {
            assert_eq!(run(&mut s, &body).unwrap_err().code, code, "{body}");
        }
        let gone = run(&mut s, &format!("Action=DescribeIntegrations&IntegrationArn={missing}")).unwrap_err();
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        let err = run(&mut s, "Action=DescribeIntegrations&MaxRecords=101").unwrap_err();
        assert_eq!(err.message, "Invalid value for MaxRecords. Must be between 20 and 100");
    }

    #[test]
    fn filters_select_by_arn_source_type_and_status() {
        let mut s3 = with_status(3, "failed");
        s3.source_arn = Some("arn:aws:s3:::bucket-a".to_owned());
        let mut s =
            store(vec![with_status(1, "failed"), with_status(2, "active"), s3, with_status(4, "needs_attention")]);
        let mut filter = |pairs: &[(&str, &[&str])]| {
            let mut body = "Action=DescribeIntegrations".to_owned();
            for (n, (name, values)) in pairs.iter().enumerate() {
                body.push_str(&format!("&{FILTER_LIST}.{}.Name={name}", n + 1));
                for (m, v) in values.iter().enumerate() {
                    body.push_str(&format!("&{FILTER_LIST}.{}.Values.Value.{}={v}", n + 1, m + 1));
                }
            }
            arns(&run(&mut s, &body).unwrap())
        };
        let arn = |n| Integration::redshift_arn(REGION, n);
        assert_eq!(filter(&[("status", &["failed", "needs_attention"])]), [arn(1), arn(3), arn(4)]);
        assert_eq!(filter(&[("integration-arn", &[&arn(2), &arn(9)])]), [arn(2)]);
        assert_eq!(filter(&[("source-types", &["S3"])]), [arn(3)]);
        assert_eq!(filter(&[("source-types", &["dynamodb"]), ("status", &["failed"])]), [arn(1)]);
        let source = Integration::redshift(REGION, 2).source_arn();
        assert!(source.starts_with("arn:aws:dynamodb:us-east-1:123456789012:table/"), "{source}");
        assert_eq!(filter(&[("source-arn", &[&source])]), [arn(2)]);
        assert_eq!(filter(&[("status", &["deleting"])]), Vec::<String>::new());
        let one = run(&mut s, &format!("Action=DescribeIntegrations&IntegrationArn={}", arn(4))).unwrap();
        assert_eq!(arns(&one), [arn(4)]);
    }

    #[test]
    fn members_are_written_in_model_order_and_escaped() {
        let mut i = with_status(7, "failed");
        i.integration_name = Some("orders".to_owned());
        i.description = Some("a < b & \"c\"".to_owned());
        i.errors = vec![IntegrationError { error_code: "E".to_owned(), error_message: Some("<boom>".to_owned()) }];
        i.kms_key_id = Some("k1".to_owned());
        i.additional_encryption_context = [("dept".to_owned(), "orders".to_owned())].into();
        i.tags = [("team".to_owned(), "data".to_owned())].into();
        i.data_filter = Some("include: *.*".to_owned());
        let mut s = store(vec![i]);
        let out = run(&mut s, "Action=DescribeIntegrations").unwrap();
        let order = [
            "<IntegrationArn>",
            "<IntegrationName>orders<",
            "<SourceArn>",
            "<TargetArn>",
            "<Status>failed<",
            "<Errors><IntegrationError><ErrorCode>E</ErrorCode><ErrorMessage>&lt;boom&gt;</ErrorMessage>",
            "<CreateTime>",
            "<Description>a &lt; b &amp; &quot;c&quot;</Description>",
            "<KMSKeyId>k1</KMSKeyId>",
            "<AdditionalEncryptionContext><entry><key>dept</key><value>orders</value></entry>",
            "<Tags><Tag><Key>team</Key><Value>data</Value></Tag></Tags>",
        ];
        let positions: Vec<usize> =
            order.iter().map(|m| out.find(m).unwrap_or_else(|| panic!("{m} in {out}"))).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{out}");
        assert!(!out.contains("DataFilter"), "Redshift's Integration has no DataFilter");
    }

    #[test]
    fn delete_outcomes() {
        let arn = Integration::redshift_arn(REGION, 1);
        let with = |status: &str, on_delete: Option<OnDelete>| {
            let mut i = with_status(1, status);
            i.on_delete = on_delete;
            store(vec![i])
        };
        let body = format!("Action=DeleteIntegration&IntegrationArn={arn}");
        let err = |s: &mut Store| run(s, &body).unwrap_err();
        for status in ["creating", "modifying", "deleting"] {
            assert_eq!(err(&mut with(status, None)).code, "IntegrationConflictStateFault", "{status}");
        }
        for (on_delete, code, status) in [
            (OnDelete::InvalidState, "IntegrationConflictStateFault", StatusCode::BAD_REQUEST),
            (OnDelete::Conflict, "IntegrationConflictOperationFault", StatusCode::BAD_REQUEST),
            (OnDelete::Unsupported, "UnsupportedOperation", StatusCode::BAD_REQUEST),
            (OnDelete::AccessDenied, "AccessDenied", StatusCode::FORBIDDEN),
            (OnDelete::Throttle, "Throttling", StatusCode::BAD_REQUEST),
        ] {
            let mut s = with("failed", Some(on_delete));
            let e = err(&mut s);
            assert_eq!((e.code, e.status), (code, status), "{on_delete:?}");
            assert_eq!(s.fleet().redshift_integrations.len(), 1, "{on_delete:?} keeps it");
        }
        let mut listed = with("failed", Some(OnDelete::NotFoundButListed));
        assert_eq!(err(&mut listed).status, StatusCode::NOT_FOUND);
        assert_eq!(arns(&run(&mut listed, "Action=DescribeIntegrations").unwrap()), [arn.as_str()]);
        let mut vanished = with("failed", Some(OnDelete::NotFound));
        assert_eq!(err(&mut vanished).code, "IntegrationNotFoundFault");
        assert!(vanished.fleet().redshift_integrations.is_empty());

        let mut s = with("failed", None);
        let out = run(&mut s, &body).unwrap();
        assert!(out.starts_with(&format!("<IntegrationArn>{arn}</IntegrationArn>")), "{out}");
        assert!(out.contains("<Status>deleting</Status>"));
        assert!(s.fleet().redshift_integrations.is_empty());
        assert_eq!(err(&mut s).code, "IntegrationNotFoundFault");
        assert_eq!(run(&mut s, "Action=DeleteIntegration").unwrap_err().code, "MissingParameter");
        let by_name = run(&mut s, "Action=DeleteIntegration&IntegrationArn=orders").unwrap_err();
        assert_eq!(by_name.code, "InvalidParameterValue", "Redshift takes the ARN only");
    }

    #[test]
    fn integrations_of_rds_are_not_redshifts() {
        let mut s = Store::default();
        let rds = Integration::new(REGION, "arn:aws:rds:us-east-1:123456789012:integration:abc");
        s.replace(Fleet { integrations: vec![rds], ..Fleet::default() });
        assert!(arns(&run(&mut s, "Action=DescribeIntegrations").unwrap()).is_empty());
    }
    #[test]
    fn create_answers_creating_and_lists_every_field_given() {
        let mut s = store(vec![]);
        let now = crate::clock::parse_timestamp("2026-05-06T07:08:09.123Z", SystemTime::now()).unwrap();
        let more = "&KMSKeyId=k2&AdditionalEncryptionContext.entry.1.key=dept\
                    &AdditionalEncryptionContext.entry.1.value=orders\
                    &TagList.Tag.1.Key=replication-janitor%3Arestored-from&TagList.Tag.1.Value=reports%2Fr.json\
                    &Description=restored+%3C%26%3E&DataFilter=ignored";
        let out = run_at(&mut s, &create_body("ddb-restored", more), now).unwrap();
        let arn = element(&out, "IntegrationArn").unwrap().to_owned();
        assert!(out.starts_with("<IntegrationArn>arn:aws:redshift:us-east-1:123456789012:integration:"), "{out}");
        assert_eq!(redshift_integration_region(&arn), Some(REGION), "the model's pattern: {arn}");
        assert_eq!(
            (element(&out, "Status"), element(&out, "CreateTime")),
            (Some("creating"), Some("2026-05-06T07:08:09.123Z"))
        );
        let listed = run(&mut s, &format!("Action=DescribeIntegrations&IntegrationArn={arn}")).unwrap();
        assert_eq!(arns(&listed), [arn.as_str()]);
        for expected in [
            "<IntegrationName>ddb-restored</IntegrationName>",
            &format!("<SourceArn>{SOURCE}</SourceArn><TargetArn>{TARGET}</TargetArn><Status>active</Status>"),
            "<CreateTime>2026-05-06T07:08:09.123Z</CreateTime><Description>restored &lt;&amp;&gt;</Description>",
            "<KMSKeyId>k2</KMSKeyId>",
            "<AdditionalEncryptionContext><entry><key>dept</key><value>orders</value></entry></AdditionalEncryptionContext>",
            "<Tags><Tag><Key>replication-janitor:restored-from</Key><Value>reports/r.json</Value></Tag></Tags>",
        ] {
            assert!(listed.contains(expected), "{expected} in {listed}");
        }
        assert!(!listed.contains("DataFilter"), "Redshift's API has none");
        run(&mut s, &format!("Action=DeleteIntegration&IntegrationArn={arn}")).unwrap();
        assert!(s.fleet().redshift_integrations.is_empty(), "what is created can be deleted at once");
    }

    #[test]
    fn create_refuses_a_taken_name_in_the_region_only() {
        let mut taken = with_status(1, "failed");
        taken.integration_name = Some("orders".to_owned());
        let mut s = store(vec![taken]);
        let err = run(&mut s, &create_body("orders", "")).unwrap_err();
        assert_eq!((err.code, err.status), ("IntegrationAlreadyExistsFault", StatusCode::BAD_REQUEST));
        assert_eq!(s.fleet().redshift_integrations.len(), 1);
        s.replace(Fleet { redshift_integrations: vec![Integration::redshift("eu-west-1", 1)], ..Fleet::default() });
        let name = s.fleet().redshift_integrations[0].name().to_owned();
        run(&mut s, &create_body(&name, "")).unwrap();
    }

    #[test]
    fn create_refuses_a_gone_source_or_target() {
        for (gone, code) in [(SOURCE, "IntegrationSourceNotFoundFault"), (TARGET, "IntegrationTargetNotFoundFault")] {
            let mut s = Store::default();
            s.replace(Fleet { gone_arns: [gone.to_owned()].into(), ..Fleet::default() });
            let err = run(&mut s, &create_body("a", "")).unwrap_err();
            assert_eq!((err.code, err.status), (code, StatusCode::NOT_FOUND));
            assert!(err.message.contains(gone), "{}", err.message);
            assert!(s.fleet().redshift_integrations.is_empty());
        }
    }

    #[test]
    fn create_validates_its_parameters() {
        let mut s = store(vec![]);
        for name in ["SourceArn", "TargetArn", "IntegrationName"] {
            let body = create_body("a", "").replace(&format!("&{name}="), "&Other=");
            let err = run(&mut s, &body).unwrap_err();
            assert_eq!(
                (err.code, err.message),
                ("MissingParameter", format!("The request must contain the parameter {name}"))
            );
        }
        let context = "&AdditionalEncryptionContext.entry.1.key=a&AdditionalEncryptionContext.entry.1.value=1";
        assert_eq!(run(&mut s, &create_body("a", context)).unwrap_err().code, "InvalidParameterCombination");
        let twice = "&TagList.Tag.1.Key=a&TagList.Tag.2.Key=a";
        assert_eq!(run(&mut s, &create_body("a", twice)).unwrap_err().code, "InvalidParameterValue");
        assert!(s.fleet().redshift_integrations.is_empty());
    }
}
