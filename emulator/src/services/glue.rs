//! AWS Glue over awsJson1_1 (`X-Amz-Target: AWSGlue.<Operation>`, signing name `glue`): DescribeIntegrations,
//! DeleteIntegration and CreateIntegration, for the zero-ETL integrations Glue itself manages (e.g. from SaaS
//! applications).
//!
//! Verified in botocore's model `glue/2017-03-31` (service-2.json): the target prefix `AWSGlue`; the inputs
//! (DescribeIntegrations: IntegrationIdentifier, Marker and Filters' values of 1 to 128 characters, MaxRecords an
//! integer, Filters of Name and Values; DeleteIntegration: IntegrationIdentifier, required); the outputs
//! (`Integrations` and `Marker`; DeleteIntegrationResponse, the integration's members at top level) and the
//! Integration members, Tags a list of `{key, value}` and Status in upper case (CREATING, ACTIVE, MODIFYING, FAILED,
//! DELETING, SYNCING, NEEDS_ATTENTION); CreateTime a timestamp, sent as epoch seconds (awsJson's default); every error
//! structure's member `Message`; InternalServiceException the only error marked a fault. DescribeIntegrations'
//! errors are ValidationException, AccessDeniedException, InternalServerException, IntegrationNotFoundFault,
//! EntityNotFoundException, InternalServiceException and InvalidInputException; DeleteIntegration's those and
//! IntegrationConflictOperationFault, InvalidIntegrationStateFault, ConflictException and InvalidStateException.
//! ThrottlingException is a Glue error shape but neither operation lists it. The filter names Status,
//! IntegrationName (one value only) and SourceArn are the model's documentation.
//!
//! Assumed: errors are HTTP 400 but InternalServerException (500), as the model gives no status; of the two
//! not-found errors the model lists, an integration that is not there answers EntityNotFoundException and one forced
//! to vanish (`onDelete` NotFound, NotFoundButListed) IntegrationNotFoundFault, so a client meets both; injected
//! throttling and a delete forced to Throttle answer ThrottlingException, and
//! other injected failures InternalServerException; IntegrationIdentifier is the ARN only (as the model documents it);
//! MaxRecords is 20 to 100, default 100, as RDS's and Redshift's (Glue's model gives no range); input that breaks a
//! constraint (and an unknown filter name, a Marker not of ours) answers ValidationException; a filter's values are
//! alternatives, compared exactly, and every filter must hold; deleting an integration being created, modified or
//! deleted is refused with InvalidIntegrationStateFault, as RDS refuses it.
//!
//! CreateIntegration, verified in the same model: IntegrationName (String128), SourceArn and TargetArn (String512) are
//! required; Description (at most 1000), DataFilter and KmsKeyId (String2048), AdditionalEncryptionContext (a map,
//! "only if KMSKeyId is provided"), Tags (a list of `{key, value}`, Glue's Tag shape, key 1 to 128 characters, value
//! at most 256) and IntegrationConfig (RefreshInterval, SourceProperties, ContinuousSync, TargetNamespace) are
//! optional; the answer, CreateIntegrationResponse, is the Integration's members at top level, IntegrationConfig
//! included (as DescribeIntegrations' Integration has it, and DeleteIntegrationResponse does not). Its errors include
//! ValidationException, ResourceNotFoundException, IntegrationConflictOperationFault and EntityNotFoundException, and
//! no "already exists" error. Assumed: a name an integration of the account and region has answers
//! IntegrationConflictOperationFault (the model's "the requested operation conflicts with another operation"); a gone
//! source or target (the fleet's `goneArns`) answers ResourceNotFoundException, which the model lists for
//! CreateIntegration and the operations naming a source or target resource (the *IntegrationResourceProperty ones)
//! but not for Describe or Delete, whose missing integration is EntityNotFoundException; encryption context without
//! a KmsKeyId, a tag key given twice, or a tag without a key answers ValidationException; IntegrationConfig is kept as
//! given, unchecked, and a tag without a value has the empty one; the answer says `CREATING` and the integration is
//! then listed `ACTIVE`, as Glue's becomes once made, so that what is created can be listed, and deleted, at once.

use std::collections::BTreeMap;
use std::time::SystemTime;

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::auth;
use crate::awsjson::{self, parse};
use crate::clock::epoch_seconds;
use crate::error::ApiError;
use crate::faults::Fault;
use crate::fleet::{
    glue_integration_region, integration_arns, integrations_in_account, Fleet, FleetError, Integration,
    IntegrationConfig, OnDelete, GLUE_STATUSES,
};
use crate::identity::{self, Caller};
use crate::paging;
use crate::protocol::{HttpRequest, Protocol};
use crate::service::{Count, FleetPart, Generated, Members, Route, Service};
use crate::services::creation::{self, NewIntegration, Refusal, Site};
use crate::store::{Collection, Estate, Store};

/// The `X-Amz-Target` prefix of Glue's operations.
const TARGET_PREFIX: &str = "AWSGlue";
/// The model's String128: IntegrationIdentifier, IntegrationName, Marker, a filter's Name and values, a tag's key.
const MAX_STRING: usize = 128;
/// The model's String512: a source's or target's ARN.
const MAX_ARN: usize = 512;
/// The model's String2048: DataFilter, KmsKeyId.
const MAX_LONG_STRING: usize = 2048;
/// The model's IntegrationDescription (which may be empty).
const MAX_DESCRIPTION: usize = 1000;
/// The model's TagValue (which may be empty).
const MAX_TAG_VALUE: usize = 256;

/// Glue's registration.
pub(crate) const SERVICE: Service = Service::of::<Glue>(
    Route::JsonTarget { prefix: TARGET_PREFIX, fallback: false },
    FleetPart {
        validate,
        members: Members::Own {
            copy: |from, to, account| to.glue_integrations = integrations_in_account(&from.glue_integrations, account),
            arns: |fleet| integration_arns(&fleet.glue_integrations),
        },
        generated: Some(Generated {
            count: Count::Flag {
                long: "glue-integrations",
                help: "Glue zero-ETL integrations to add to a `generated:` fleet, spread and failed like its RDS \
                       integrations",
            },
            fill: |fleet, count, stale_share, regions| {
                fleet.glue_integrations = Fleet::generated_glue_integrations(count, stale_share, regions);
            },
        }),
    },
);

const INTEGRATIONS: Collection<Integration> =
    Collection { name: "glueIntegrations", items: |f| &mut f.glue_integrations };

/// Every integration ARN is a Glue integration ARN of the integration's region, none is listed twice, and every
/// Status is one of Glue's.
fn validate(fleet: &Fleet) -> Result<(), FleetError> {
    let mut seen = std::collections::HashSet::new();
    for i in &fleet.glue_integrations {
        let arn = &i.integration_arn;
        match glue_integration_region(arn) {
            None => return Err(FleetError::GlueIntegrationArn { arn: arn.clone() }),
            Some(region) if region != i.region => {
                return Err(FleetError::GlueIntegrationRegion { arn: arn.clone(), region: i.region.clone() })
            }
            Some(_) => {}
        }
        if !GLUE_STATUSES.contains(&i.status.as_str()) {
            return Err(FleetError::GlueIntegrationStatus { arn: arn.clone(), status: i.status.clone() });
        }
        if !seen.insert(arn.as_str()) {
            return Err(FleetError::DuplicateGlueIntegration { arn: arn.clone() });
        }
    }
    Ok(())
}

pub(crate) struct Glue;

pub(crate) enum Request {
    Describe { identifier: Option<String>, filters: Vec<Filter>, size: usize, after: Option<u64> },
    Delete(String),
    Create(Box<NewIntegration>),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeInput {
    integration_identifier: Option<String>,
    marker: Option<String>,
    max_records: Option<i64>,
    #[serde(default)]
    filters: Vec<FilterInput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FilterInput {
    name: Option<String>,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteInput {
    integration_identifier: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateInput {
    integration_name: Option<String>,
    source_arn: Option<String>,
    target_arn: Option<String>,
    description: Option<String>,
    data_filter: Option<String>,
    kms_key_id: Option<String>,
    #[serde(default)]
    additional_encryption_context: BTreeMap<String, String>,
    #[serde(default)]
    tags: Vec<TagInput>,
    integration_config: Option<IntegrationConfig>,
}

/// Glue's Tag shape, whose members are lower case.
#[derive(Deserialize)]
struct TagInput {
    key: Option<String>,
    value: Option<String>,
}

/// What a DescribeIntegrations filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Status,
    IntegrationName,
    SourceArn,
}

impl Field {
    const NAMES: [(&'static str, Field); 3] =
        [("Status", Field::Status), ("IntegrationName", Field::IntegrationName), ("SourceArn", Field::SourceArn)];

    fn parse(name: &str) -> Option<Field> {
        Field::NAMES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    fn matches(self, i: &Integration, value: &str) -> bool {
        match self {
            Field::Status => i.status == value,
            Field::IntegrationName => i.name() == value,
            Field::SourceArn => i.source_arn() == value,
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

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("ValidationException", message)
}

/// Checks a value's length as the model constrains it (`member` as the error names it).
fn check_length(value: &str, member: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let length = value.chars().count();
    if length < min || length > max {
        let constraint = if min == 0 {
            format!("Member must have length less than or equal to {max}")
        } else {
            format!("Member must have length between {min} and {max}")
        };
        return Err(validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
        )));
    }
    Ok(())
}

/// Checks a String128 value as the model constrains it (`member` as the error names it).
fn check128(value: &str, member: &str) -> Result<(), ApiError> {
    check_length(value, member, 1, MAX_STRING)
}

/// A required member that is not given.
fn null(member: &str) -> ApiError {
    validation(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ))
}

/// A required member, checked to be `min..=max` characters long.
fn required(value: Option<String>, member: &str, min: usize, max: usize) -> Result<String, ApiError> {
    let value = value.ok_or_else(|| null(member))?;
    check_length(&value, member, min, max)?;
    Ok(value)
}

/// An optional member, checked to be `min..=max` characters long if given.
fn optional(value: Option<String>, member: &str, min: usize, max: usize) -> Result<Option<String>, ApiError> {
    if let Some(v) = &value {
        check_length(v, member, min, max)?;
    }
    Ok(value)
}

/// An optional String128 member, checked if given.
fn string128(value: Option<String>, member: &str) -> Result<Option<String>, ApiError> {
    if let Some(v) = &value {
        check128(v, member)?;
    }
    Ok(value)
}

/// The integration is not there at all.
fn entity_not_found(arn: &str) -> ApiError {
    ApiError::bad_request("EntityNotFoundException", format!("Integration {arn} not found."))
}

/// The integration was there a moment ago (a forced not-found).
fn integration_not_found(arn: &str) -> ApiError {
    ApiError::bad_request("IntegrationNotFoundFault", format!("Integration {arn} was not found."))
}

fn invalid_state(i: &Integration) -> ApiError {
    ApiError::bad_request(
        "InvalidIntegrationStateFault",
        format!("Integration {} is in state {} and cannot be deleted.", i.integration_arn, i.status),
    )
}

fn fault(fault: Fault) -> ApiError {
    match fault {
        Fault::Throttle => ApiError::bad_request("ThrottlingException", "Rate exceeded"),
        Fault::Unavailable => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerException",
            "An internal server error occurred.",
        ),
        Fault::Denied => ApiError::bad_request(
            "AccessDeniedException",
            "User is not authorized to perform this action because no identity-based policy allows it",
        ),
    }
}

fn describe(body: &[u8]) -> Result<Request, ApiError> {
    let input: DescribeInput = parse(body)?;
    let identifier = string128(input.integration_identifier, "integrationIdentifier")?;
    let size = paging::page_size(input.max_records).map_err(validation)?;
    let after = match string128(input.marker, "marker")? {
        None => None,
        Some(m) => Some(paging::decode_marker(&m).ok_or_else(|| validation("Invalid Marker"))?),
    };
    let filters = input.filters.into_iter().map(filter).collect::<Result<_, _>>()?;
    Ok(Request::Describe { identifier, filters, size, after })
}

fn filter(input: FilterInput) -> Result<Filter, ApiError> {
    let name = string128(input.name, "filters.member.name")?.unwrap_or_default();
    let field = Field::parse(&name).ok_or_else(|| {
        validation(format!("Unsupported filter name: {name:?}. Supported: Status | IntegrationName | SourceArn"))
    })?;
    if field == Field::IntegrationName && input.values.len() > 1 {
        return Err(validation("The IntegrationName filter takes only one value"));
    }
    for value in &input.values {
        check128(value, "filters.member.values.member")?;
    }
    Ok(Filter { field, values: input.values })
}

fn delete(body: &[u8]) -> Result<Request, ApiError> {
    let input: DeleteInput = parse(body)?;
    string128(input.integration_identifier, "integrationIdentifier")?
        .map(Request::Delete)
        .ok_or_else(|| null("integrationIdentifier"))
}

fn create(body: &[u8]) -> Result<Request, ApiError> {
    let input: CreateInput = parse(body)?;
    let name = required(input.integration_name, "integrationName", 1, MAX_STRING)?;
    let source_arn = required(input.source_arn, "sourceArn", 1, MAX_ARN)?;
    let target_arn = required(input.target_arn, "targetArn", 1, MAX_ARN)?;
    let description = optional(input.description, "description", 0, MAX_DESCRIPTION)?;
    let data_filter = optional(input.data_filter, "dataFilter", 1, MAX_LONG_STRING)?;
    let kms_key_id = optional(input.kms_key_id, "kmsKeyId", 1, MAX_LONG_STRING)?;
    if kms_key_id.is_none() && !input.additional_encryption_context.is_empty() {
        return Err(validation("AdditionalEncryptionContext can only be provided if KmsKeyId is provided"));
    }
    let mut tags = BTreeMap::new();
    for tag in input.tags {
        let key = required(tag.key, "tags.member.key", 1, MAX_STRING)?;
        let value = optional(tag.value, "tags.member.value", 0, MAX_TAG_VALUE)?.unwrap_or_default();
        if tags.insert(key.clone(), value).is_some() {
            return Err(validation(format!("Duplicate tag key: {key}")));
        }
    }
    Ok(Request::Create(Box::new(NewIntegration {
        name,
        source_arn,
        target_arn,
        kms_key_id,
        additional_encryption_context: input.additional_encryption_context,
        tags,
        description,
        data_filter,
        integration_config: input.integration_config,
    })))
}

/// DeleteIntegration's answer: the Integration's members but IntegrationConfig, with derived defaults filled in.
fn wire_integration(i: &Integration) -> Value {
    let mut out = Map::new();
    out.insert("SourceArn".into(), json!(i.source_arn()));
    out.insert("TargetArn".into(), json!(i.target_arn()));
    out.insert("IntegrationName".into(), json!(i.name()));
    out.insert("IntegrationArn".into(), json!(i.integration_arn));
    out.insert("Status".into(), json!(i.status));
    out.insert("CreateTime".into(), json!(epoch_seconds(i.create_time)));
    let tags: Vec<Value> = i.tags.iter().map(|(k, v)| json!({ "key": k, "value": v })).collect();
    out.insert("Tags".into(), Value::Array(tags));
    let optional = [
        ("Description", i.description.as_deref()),
        ("KmsKeyId", i.kms_key_id.as_deref()),
        ("DataFilter", i.data_filter.as_deref()),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            out.insert(name.into(), json!(value));
        }
    }
    if !i.additional_encryption_context.is_empty() {
        out.insert("AdditionalEncryptionContext".into(), json!(i.additional_encryption_context));
    }
    if !i.errors.is_empty() {
        let errors: Vec<Value> = i
            .errors
            .iter()
            .map(|e| match &e.error_message {
                Some(message) => json!({ "ErrorCode": e.error_code, "ErrorMessage": message }),
                None => json!({ "ErrorCode": e.error_code }),
            })
            .collect();
        out.insert("Errors".into(), Value::Array(errors));
    }
    Value::Object(out)
}

/// The Integration as DescribeIntegrations lists it and CreateIntegration answers it: [`wire_integration`] and its
/// IntegrationConfig, if it has one.
fn wire_integration_and_config(i: &Integration) -> Value {
    let mut out = wire_integration(i);
    let config = i.integration_config.as_ref().and_then(|c| serde_json::to_value(c).ok());
    if let (Some(config), Some(members)) = (config, out.as_object_mut()) {
        members.insert("IntegrationConfig".into(), config);
    }
    out
}

fn execute_describe(
    store: &mut Store,
    region: &str,
    identifier: Option<&str>,
    filters: &[Filter],
    size: usize,
    after: Option<u64>,
) -> Result<Value, ApiError> {
    if let Some(arn) = identifier {
        store
            .find_mut(&INTEGRATIONS, |i| i.region == region && i.integration_arn == arn)
            .ok_or_else(|| entity_not_found(arn))?;
    }
    let matching = store
        .sequenced(&INTEGRATIONS)
        .filter(|(_, i)| {
            i.region == region
                && identifier.is_none_or(|arn| i.integration_arn == arn)
                && filters.iter().all(|f| f.matches(i))
        })
        .map(|(seq, i)| (seq, wire_integration_and_config(i)));
    let (page, marker) = paging::page(matching, after, size);
    let mut out = json!({ "Integrations": page });
    if let Some(marker) = marker {
        out["Marker"] = Value::String(marker);
    }
    Ok(out)
}

fn execute_delete(store: &mut Store, region: &str, arn: &str) -> Result<Value, ApiError> {
    let found = store
        .find_mut(&INTEGRATIONS, |i| i.region == region && i.integration_arn == arn)
        .ok_or_else(|| entity_not_found(arn))?;
    match found.on_delete {
        Some(OnDelete::NotFound) => {
            store.remove(&INTEGRATIONS, |i| i.region == region && i.integration_arn == arn);
            return Err(integration_not_found(arn));
        }
        Some(OnDelete::NotFoundButListed) => return Err(integration_not_found(arn)),
        Some(OnDelete::InvalidState | OnDelete::Unsupported) => return Err(invalid_state(found)),
        Some(OnDelete::Conflict) => {
            return Err(ApiError::bad_request(
                "IntegrationConflictOperationFault",
                format!("Another operation is in progress on integration {arn}."),
            ))
        }
        Some(OnDelete::AccessDenied | OnDelete::EndpointAccessDenied) => {
            return Err(ApiError::bad_request(
                "AccessDeniedException",
                format!("User is not authorized to perform: glue:DeleteIntegration on resource: {arn}"),
            ))
        }
        Some(OnDelete::Throttle) => return Err(fault(Fault::Throttle)),
        None => {}
    }
    if matches!(found.status.as_str(), "CREATING" | "MODIFYING" | "DELETING") {
        return Err(invalid_state(found));
    }
    let mut deleting = found.clone();
    deleting.status = "DELETING".to_owned();
    store.remove(&INTEGRATIONS, |i| i.region == region && i.integration_arn == arn);
    Ok(wire_integration(&deleting))
}

fn execute_create(
    store: &mut Store,
    account: &str,
    region: &str,
    new: NewIntegration,
    now: SystemTime,
) -> Result<Value, ApiError> {
    let (name, source, target) = (new.name.clone(), new.source_arn.clone(), new.target_arn.clone());
    let site = Site { integrations: &INTEGRATIONS, service: "glue", account, region };
    let mut created = creation::create(store, &site, new, "ACTIVE", now).map_err(|refusal| match refusal {
        Refusal::NameTaken => ApiError::bad_request(
            "IntegrationConflictOperationFault",
            format!("An integration named {name} already exists."),
        ),
        Refusal::SourceGone => {
            ApiError::bad_request("ResourceNotFoundException", format!("The source {source} could not be found."))
        }
        Refusal::TargetGone => {
            ApiError::bad_request("ResourceNotFoundException", format!("The target {target} could not be found."))
        }
    })?;
    // The answer shows it being made; it is listed made (see the module's documentation).
    created.status = "CREATING".to_owned();
    Ok(wire_integration_and_config(&created))
}

fn execute(
    store: &mut Store,
    account: &str,
    region: &str,
    request: Request,
    now: SystemTime,
) -> Result<Value, ApiError> {
    match request {
        Request::Describe { identifier, filters, size, after } => {
            execute_describe(store, region, identifier.as_deref(), &filters, size, after)
        }
        Request::Delete(arn) => execute_delete(store, region, &arn),
        Request::Create(new) => execute_create(store, account, region, *new, now),
    }
}

impl Protocol for Glue {
    const SERVICE: &'static str = "glue";
    type Request = Request;
    type Output = Value;
    type Error = ApiError;

    fn region(http: &HttpRequest<'_>) -> Option<String> {
        auth::region(http.headers)
    }

    fn authenticate(estate: &mut Estate, http: &HttpRequest<'_>) -> Result<Caller, ApiError> {
        estate.sessions.identify(http.headers, SystemTime::now()).map_err(identity::json_error)
    }

    fn decode(http: &HttpRequest<'_>) -> (String, Result<Request, ApiError>) {
        let target = awsjson::target(http.headers);
        let operation = match awsjson::operation(target, TARGET_PREFIX) {
            Ok(operation) => operation,
            Err(e) => return (target.to_owned(), Err(e)),
        };
        let request = match operation {
            "DescribeIntegrations" => describe(http.body),
            "DeleteIntegration" => delete(http.body),
            "CreateIntegration" => create(http.body),
            other => Err(awsjson::unknown_operation(other)),
        };
        (operation.to_owned(), request)
    }

    fn target(_http: &HttpRequest<'_>, request: Option<&Request>) -> Option<String> {
        match request? {
            Request::Describe { identifier, .. } => identifier.clone(),
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
    ) -> Result<Value, ApiError> {
        let store = estate.resources(caller).map_err(identity::json_error)?;
        execute(store, &caller.account, region, request, now)
    }

    fn fault(f: Fault) -> ApiError {
        fault(f)
    }

    fn respond(
        _http: &HttpRequest<'_>,
        _operation: &str,
        result: Result<Value, ApiError>,
        request_id: &str,
    ) -> Response {
        match result {
            Ok(body) => awsjson::respond(StatusCode::OK, None, &body, request_id),
            Err(e) => {
                // `Message`, as every Glue error structure names its member (DMS's own answers spell it `message`).
                let body = json!({ "__type": e.code, "Message": e.message });
                awsjson::respond(e.status, Some(e.code), &body, request_id)
            }
        }
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
        s.replace(Fleet { glue_integrations: integrations, ..Fleet::default() });
        s
    }

    fn run(store: &mut Store, op: &str, body: &str) -> Result<Value, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-target", format!("{TARGET_PREFIX}.{op}").parse().unwrap());
        let uri = Uri::from_static("/");
        let (_, request) = Glue::decode(&HttpRequest { uri: &uri, headers: &headers, body: body.as_bytes() });
        execute(store, ACCOUNT, REGION, request?, SystemTime::now())
    }

    const ACCOUNT: &str = "123456789012";
    const SOURCE: &str = "arn:aws:glue:us-east-1:123456789012:connection/salesforce";
    const TARGET: &str = "arn:aws:glue:us-east-1:123456789012:database/crm";

    /// A CreateIntegration body of the required members and `more` (JSON members, each followed by a comma).
    fn create_body(name: &str, more: &str) -> String {
        format!(r#"{{{more}"IntegrationName":"{name}","SourceArn":"{SOURCE}","TargetArn":"{TARGET}"}}"#)
    }

    fn arns(out: &Value) -> Vec<String> {
        out["Integrations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["IntegrationArn"].as_str().unwrap().to_owned())
            .collect()
    }

    fn with_status(n: u64, status: &str) -> Integration {
        let mut i = Integration::glue(REGION, n);
        i.status = status.to_owned();
        i
    }

    #[test]
    fn pages_cover_every_integration_of_the_region_once() {
        let mut fleet: Vec<Integration> = (0..45).map(|n| with_status(n, "FAILED")).collect();
        fleet.push(Integration::glue("eu-west-1", 99));
        let mut s = store(fleet);
        let (mut seen, mut pages, mut marker) = (Vec::new(), 0, None::<String>);
        loop {
            let body = match &marker {
                Some(m) => format!(r#"{{"MaxRecords":20,"Marker":"{m}"}}"#),
                None => r#"{"MaxRecords":20}"#.to_owned(),
            };
            let out = run(&mut s, "DescribeIntegrations", &body).unwrap();
            seen.extend(arns(&out));
            pages += 1;
            marker = out["Marker"].as_str().map(str::to_owned);
            if marker.is_none() {
                break;
            }
        }
        let expected: Vec<String> = (0..45).map(|n| Integration::glue_arn(REGION, n)).collect();
        assert_eq!((seen, pages), (expected, 3));
        let all = run(&mut s, "DescribeIntegrations", "{}").unwrap();
        assert_eq!((arns(&all).len(), all.get("Marker")), (45, None), "MaxRecords defaults to 100");
    }

    #[test]
    fn describe_validates_its_input() {
        let mut s = store(vec![with_status(1, "FAILED")]);
        let long = "x".repeat(129);
        for (body, code) in [
            (r#"{"MaxRecords":19}"#.to_owned(), "ValidationException"),
            (r#"{"MaxRecords":101}"#.to_owned(), "ValidationException"),
            (r#"{"Marker":"junk"}"#.to_owned(), "ValidationException"),
            (format!(r#"{{"IntegrationIdentifier":"{long}"}}"#), "ValidationException"),
            (r#"{"IntegrationIdentifier":""}"#.to_owned(), "ValidationException"),
            (r#"{"Filters":[{"Name":"status","Values":["FAILED"]}]}"#.to_owned(), "ValidationException"),
            (r#"{"Filters":[{"Values":["FAILED"]}]}"#.to_owned(), "ValidationException"),
            (r#"{"Filters":[{"Name":"IntegrationName","Values":["a","b"]}]}"#.to_owned(), "ValidationException"),
            (r#"{"MaxRecords":"many"}"#.to_owned(), "SerializationException"),
        ] {
            assert_eq!(run(&mut s, "DescribeIntegrations", &body).unwrap_err().code, code, "{body}");
        }
        let missing = Integration::glue_arn(REGION, 2);
        let body = format!(r#"{{"IntegrationIdentifier":"{missing}"}}"#);
        let err = run(&mut s, "DescribeIntegrations", &body).unwrap_err();
        assert_eq!((err.code, err.status), ("EntityNotFoundException", StatusCode::BAD_REQUEST));
        assert_eq!(run(&mut s, "ModifyIntegration", "{}").unwrap_err().code, "UnknownOperationException");
    }

    #[test]
    fn filters_select_by_status_name_and_source() {
        let mut named = with_status(3, "FAILED");
        named.integration_name = Some("salesforce-accounts".to_owned());
        named.source_arn = Some("arn:aws:glue:us-east-1:123456789012:connection/salesforce".to_owned());
        let mut s =
            store(vec![with_status(1, "FAILED"), with_status(2, "ACTIVE"), named, with_status(4, "NEEDS_ATTENTION")]);
        let mut filter =
            |filters: &str| arns(&run(&mut s, "DescribeIntegrations", &format!(r#"{{"Filters":{filters}}}"#)).unwrap());
        let arn = |n| Integration::glue_arn(REGION, n);
        assert_eq!(filter(r#"[{"Name":"Status","Values":["FAILED","NEEDS_ATTENTION"]}]"#), [arn(1), arn(3), arn(4)]);
        assert_eq!(filter(r#"[{"Name":"Status","Values":["failed"]}]"#), Vec::<String>::new(), "compared exactly");
        assert_eq!(filter(r#"[{"Name":"IntegrationName","Values":["salesforce-accounts"]}]"#), [arn(3)]);
        let source = r#"[{"Name":"SourceArn","Values":["arn:aws:glue:us-east-1:123456789012:connection/salesforce"]}]"#;
        assert_eq!(filter(source), [arn(3)]);
        let default_source = Integration::glue(REGION, 2).source_arn();
        assert_eq!(
            default_source,
            format!("arn:aws:glue:us-east-1:123456789012:connection/{}", arn(2).rsplit(':').next().unwrap())
        );
        assert_eq!(
            filter(
                r#"[{"Name":"Status","Values":["FAILED"]},{"Name":"IntegrationName","Values":["salesforce-accounts"]}]"#
            ),
            [arn(3)]
        );
        let one = run(&mut s, "DescribeIntegrations", &format!(r#"{{"IntegrationIdentifier":"{}"}}"#, arn(4))).unwrap();
        assert_eq!(arns(&one), [arn(4)]);
    }

    #[test]
    fn integrations_carry_the_model_members() {
        let mut i = with_status(7, "FAILED");
        i.integration_name = Some("orders".to_owned());
        i.description = Some("a < b & \"c\"".to_owned());
        i.errors = vec![
            IntegrationError { error_code: "E".to_owned(), error_message: Some("boom".to_owned()) },
            IntegrationError { error_code: "BARE".to_owned(), error_message: None },
        ];
        i.kms_key_id = Some("k1".to_owned());
        i.additional_encryption_context = [("dept".to_owned(), "orders".to_owned())].into();
        i.tags = [("team".to_owned(), "data".to_owned())].into();
        i.data_filter = Some("include: *.*".to_owned());
        let created = i.create_time;
        let mut s = store(vec![i, with_status(8, "ACTIVE")]);
        let out = run(&mut s, "DescribeIntegrations", "{}").unwrap();
        let rich = &out["Integrations"][0];
        let mut keys: Vec<&str> = rich.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "AdditionalEncryptionContext",
                "CreateTime",
                "DataFilter",
                "Description",
                "Errors",
                "IntegrationArn",
                "IntegrationName",
                "KmsKeyId",
                "SourceArn",
                "Status",
                "Tags",
                "TargetArn"
            ]
        );
        assert_eq!(rich["Tags"], json!([{ "key": "team", "value": "data" }]));
        assert_eq!(rich["Errors"], json!([{ "ErrorCode": "E", "ErrorMessage": "boom" }, { "ErrorCode": "BARE" }]));
        assert_eq!(rich["AdditionalEncryptionContext"], json!({ "dept": "orders" }));
        assert_eq!(rich["CreateTime"].as_f64(), Some(epoch_seconds(created)));
        assert!(rich["TargetArn"].as_str().unwrap().starts_with("arn:aws:glue:us-east-1:123456789012:database/"));
        let plain = &out["Integrations"][1];
        assert_eq!((plain["Tags"].clone(), plain.get("Errors")), (json!([]), None));
    }

    #[test]
    fn delete_outcomes() {
        let arn = Integration::glue_arn(REGION, 1);
        let with = |status: &str, on_delete: Option<OnDelete>| {
            let mut i = with_status(1, status);
            i.on_delete = on_delete;
            store(vec![i])
        };
        let body = format!(r#"{{"IntegrationIdentifier":"{arn}"}}"#);
        let err = |s: &mut Store| run(s, "DeleteIntegration", &body).unwrap_err();
        for status in ["CREATING", "MODIFYING", "DELETING"] {
            assert_eq!(err(&mut with(status, None)).code, "InvalidIntegrationStateFault", "{status}");
        }
        for (on_delete, code) in [
            (OnDelete::InvalidState, "InvalidIntegrationStateFault"),
            (OnDelete::Unsupported, "InvalidIntegrationStateFault"),
            (OnDelete::Conflict, "IntegrationConflictOperationFault"),
            (OnDelete::AccessDenied, "AccessDeniedException"),
            (OnDelete::EndpointAccessDenied, "AccessDeniedException"),
            (OnDelete::Throttle, "ThrottlingException"),
            (OnDelete::NotFoundButListed, "IntegrationNotFoundFault"),
        ] {
            let mut s = with("FAILED", Some(on_delete));
            let e = err(&mut s);
            assert_eq!((e.code, e.status), (code, StatusCode::BAD_REQUEST), "{on_delete:?}");
            assert_eq!(s.fleet().glue_integrations.len(), 1, "{on_delete:?} keeps it");
        }
        let mut vanished = with("FAILED", Some(OnDelete::NotFound));
        assert_eq!(err(&mut vanished).code, "IntegrationNotFoundFault");
        assert!(vanished.fleet().glue_integrations.is_empty());

        for status in ["FAILED", "ACTIVE", "SYNCING", "NEEDS_ATTENTION"] {
            let mut s = with(status, None);
            let out = run(&mut s, "DeleteIntegration", &body).unwrap();
            assert_eq!(
                (out["IntegrationArn"].as_str(), out["Status"].as_str()),
                (Some(arn.as_str()), Some("DELETING"))
            );
            assert!(out.get("Integrations").is_none(), "the integration's members at top level");
            assert!(s.fleet().glue_integrations.is_empty(), "{status}");
            assert_eq!(err(&mut s).code, "EntityNotFoundException");
        }
        let mut s = with("FAILED", None);
        assert_eq!(run(&mut s, "DeleteIntegration", "{}").unwrap_err().code, "ValidationException");
        let by_name = run(&mut s, "DeleteIntegration", r#"{"IntegrationIdentifier":"gen-glue-integration-1"}"#);
        assert_eq!(by_name.unwrap_err().code, "EntityNotFoundException", "Glue takes the ARN only");
    }

    #[test]
    fn integrations_of_rds_and_redshift_are_not_glues() {
        let mut s = Store::default();
        let rds = Integration::new(REGION, "arn:aws:rds:us-east-1:123456789012:integration:abc");
        s.replace(Fleet {
            integrations: vec![rds],
            redshift_integrations: vec![Integration::redshift(REGION, 1)],
            ..Fleet::default()
        });
        assert!(arns(&run(&mut s, "DescribeIntegrations", "{}").unwrap()).is_empty());
    }
    #[test]
    fn create_answers_creating_and_lists_every_field_given() {
        let mut s = store(vec![]);
        let more = r#""Description":"restored <&>","DataFilter":"include: Account.*","KmsKeyId":"k3",
            "AdditionalEncryptionContext":{"dept":"sales"},
            "Tags":[{"key":"replication-janitor:restored-from","value":"reports/r.json"},{"key":"bare"}],
            "IntegrationConfig":{"RefreshInterval":"60","SourceProperties":{"a":"1"},"ContinuousSync":true},"#;
        let before = epoch_seconds(SystemTime::now());
        let out = run(&mut s, "CreateIntegration", &create_body("crm-restored", more)).unwrap();
        let arn = out["IntegrationArn"].as_str().unwrap().to_owned();
        assert_eq!(glue_integration_region(&arn), Some(REGION), "{arn}");
        assert!(arn.starts_with("arn:aws:glue:us-east-1:123456789012:integration:"), "{arn}");
        assert_eq!(out["Status"], "CREATING");
        assert!(out["CreateTime"].as_f64().is_some_and(|t| t >= before.floor()), "{out}");
        let listed = run(&mut s, "DescribeIntegrations", &format!(r#"{{"IntegrationIdentifier":"{arn}"}}"#)).unwrap();
        let i = &listed["Integrations"][0];
        assert_eq!(i["Status"], "ACTIVE");
        let mut expected = out.clone();
        expected["Status"] = json!("ACTIVE");
        assert_eq!(i, &expected, "listed with every member the answer has");
        assert_eq!(
            (&i["IntegrationName"], &i["SourceArn"], &i["TargetArn"]),
            (&json!("crm-restored"), &json!(SOURCE), &json!(TARGET))
        );
        assert_eq!(
            i["Tags"],
            json!([{ "key": "bare", "value": "" }, { "key": "replication-janitor:restored-from", "value": "reports/r.json" }])
        );
        assert_eq!(
            (&i["Description"], &i["DataFilter"], &i["KmsKeyId"]),
            (&json!("restored <&>"), &json!("include: Account.*"), &json!("k3"))
        );
        assert_eq!(i["AdditionalEncryptionContext"], json!({ "dept": "sales" }));
        assert_eq!(
            i["IntegrationConfig"],
            json!({ "RefreshInterval": "60", "SourceProperties": { "a": "1" }, "ContinuousSync": true })
        );
        let deleted = run(&mut s, "DeleteIntegration", &format!(r#"{{"IntegrationIdentifier":"{arn}"}}"#)).unwrap();
        assert!(deleted.get("IntegrationConfig").is_none(), "DeleteIntegrationResponse has none");
        assert!(s.fleet().glue_integrations.is_empty(), "what is created can be deleted at once");
        let plain = run(&mut s, "CreateIntegration", &create_body("crm-restored", "")).unwrap();
        assert_eq!((plain["Tags"].clone(), plain.get("IntegrationConfig")), (json!([]), None));
        assert_ne!(plain["IntegrationArn"], json!(arn), "a new one gets a new ARN");
    }

    #[test]
    fn create_refuses_a_taken_name_in_the_region_only() {
        let mut taken = with_status(1, "FAILED");
        taken.integration_name = Some("crm".to_owned());
        let mut s = store(vec![taken]);
        let err = run(&mut s, "CreateIntegration", &create_body("crm", "")).unwrap_err();
        assert_eq!((err.code, err.status), ("IntegrationConflictOperationFault", StatusCode::BAD_REQUEST));
        let mut elsewhere = Integration::glue("eu-west-1", 2);
        elsewhere.integration_name = Some("elsewhere".to_owned());
        s.replace(Fleet { glue_integrations: vec![elsewhere], ..Fleet::default() });
        run(&mut s, "CreateIntegration", &create_body("elsewhere", "")).unwrap();
        assert_eq!(s.fleet().glue_integrations.len(), 2);
    }

    #[test]
    fn create_refuses_a_gone_source_or_target() {
        for gone in [SOURCE, TARGET] {
            let mut s = Store::default();
            s.replace(Fleet { gone_arns: [gone.to_owned()].into(), ..Fleet::default() });
            let err = run(&mut s, "CreateIntegration", &create_body("crm", "")).unwrap_err();
            assert_eq!((err.code, err.status), ("ResourceNotFoundException", StatusCode::BAD_REQUEST));
            assert!(err.message.contains(gone), "{}", err.message);
            assert!(s.fleet().glue_integrations.is_empty());
        }
    }

    #[test]
    fn create_validates_its_input() {
        let mut s = store(vec![]);
        for (body, member) in [
            (format!(r#"{{"SourceArn":"{SOURCE}","TargetArn":"{TARGET}"}}"#), "integrationName"),
            (format!(r#"{{"IntegrationName":"a","TargetArn":"{TARGET}"}}"#), "sourceArn"),
            (format!(r#"{{"IntegrationName":"a","SourceArn":"{SOURCE}"}}"#), "targetArn"),
        ] {
            let err = run(&mut s, "CreateIntegration", &body).unwrap_err();
            assert_eq!(err.code, "ValidationException", "{body}");
            assert_eq!(
                err.message,
                format!("1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null")
            );
        }
        let long = "x".repeat(129);
        for more in [
            format!(r#""Description":"{}","#, "d".repeat(1001)),
            r#""DataFilter":"","#.to_owned(),
            r#""AdditionalEncryptionContext":{"a":"1"},"#.to_owned(),
            r#""Tags":[{"value":"v"}],"#.to_owned(),
            format!(r#""Tags":[{{"key":"{long}"}}],"#),
            r#""Tags":[{"key":"a"},{"key":"a","value":"b"}],"#.to_owned(),
        ] {
            let err = run(&mut s, "CreateIntegration", &create_body("a", &more)).unwrap_err();
            assert_eq!(err.code, "ValidationException", "{more}");
        }
        assert_eq!(run(&mut s, "CreateIntegration", &create_body(&long, "")).unwrap_err().code, "ValidationException");
        let typed =
            run(&mut s, "CreateIntegration", &create_body("a", r#""IntegrationConfig":{"ContinuousSync":"yes"},"#));
        assert_eq!(typed.unwrap_err().code, "SerializationException");
        assert!(s.fleet().glue_integrations.is_empty());
        run(&mut s, "CreateIntegration", &create_body("a", r#""Description":"","#)).unwrap();
    }
}
