//! AWS DMS over awsJson1_1: DescribeConnections, DeleteConnection, TestConnection,
//! ListTagsForResource.
//!
//! TestConnection, per botocore's model `dms/2016-01-01`: ReplicationInstanceArn and EndpointArn are required; the
//! answer is `{"Connection": …}` in status `testing`; its errors include ResourceNotFoundFault and
//! InvalidResourceStateFault. It (re)creates the connection of the pair, as DMS does, so the `restore` of a deleted
//! connection is a test of it: an endpoint or replication instance that is gone (the fleet's `goneArns`) answers
//! ResourceNotFoundFault, and a connection being deleted InvalidResourceStateFault. DMS runs the test in the
//! background; the emulator has no endpoint to reach, so the test succeeds at once: the connection is then listed
//! `successful`, without a LastFailureMessage.

use std::time::SystemTime;

use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth;
use crate::awsjson::{self, parse};
use crate::error::ApiError;
use crate::faults::Fault;
use crate::fleet::{arn_in_account, generated_connections, Connection, Fleet, OnDelete};
use crate::identity::{self, Caller};
use crate::paging;
use crate::protocol::{HttpRequest, Protocol};
use crate::service::{no_checks, Count, FleetPart, Generated, Members, Route, Service};
use crate::store::{Collection, Estate, Store};

/// The `X-Amz-Target` prefix of DMS's operations.
const TARGET_PREFIX: &str = "AmazonDMSv20160101";

/// DMS's registration. It also answers `X-Amz-Target`s no service claims, as it did when it was the only awsJson
/// service. Its tags are its own, and so are a member's copies of them.
pub(crate) const SERVICE: Service = Service::of::<Dms>(
    Route::JsonTarget { prefix: TARGET_PREFIX, fallback: true },
    FleetPart {
        validate: no_checks,
        members: Members::Own { copy: copy_to_member, arns: resource_arns },
        generated: Some(Generated {
            count: Count::Spec { position: 0, name: "CONNECTIONS" },
            fill: |fleet, count, stale_share, regions| {
                fleet.connections = generated_connections(count, stale_share, regions);
            },
        }),
    },
);

const CONNECTIONS: Collection<Connection> = Collection { name: "connections", items: |f| &mut f.connections };

fn copy_to_member(from: &Fleet, to: &mut Fleet, account: &str) {
    to.connections = from.connections.clone();
    for c in &mut to.connections {
        c.endpoint_arn = arn_in_account(&c.endpoint_arn, account);
        c.replication_instance_arn = arn_in_account(&c.replication_instance_arn, account);
    }
    to.tags = from.tags.iter().map(|(arn, tags)| (arn_in_account(arn, account), tags.clone())).collect();
}

fn resource_arns(fleet: &Fleet) -> Vec<&str> {
    let connections = fleet.connections.iter().flat_map(|c| [&c.endpoint_arn, &c.replication_instance_arn]);
    connections.chain(fleet.tags.keys()).map(String::as_str).collect()
}

pub(crate) struct Dms;

pub(crate) enum Request {
    Describe { filters: Vec<Filter>, size: usize, after: Option<u64> },
    Delete(Pair),
    Test(Pair),
    ListTags(Vec<String>),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeInput {
    #[serde(default)]
    filters: Vec<Filter>,
    max_records: Option<i64>,
    marker: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Filter {
    name: String,
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PairInput {
    endpoint_arn: Option<String>,
    replication_instance_arn: Option<String>,
}

/// What identifies a connection.
pub(crate) struct Pair {
    endpoint_arn: String,
    replication_instance_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListTagsInput {
    resource_arn: Option<String>,
    #[serde(default)]
    resource_arn_list: Vec<String>,
}

/// A Connection exactly as the DMS model has it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct WireConnection<'a> {
    replication_instance_arn: &'a str,
    endpoint_arn: &'a str,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_failure_message: Option<&'a str>,
    endpoint_identifier: &'a str,
    replication_instance_identifier: &'a str,
}

impl<'a> From<&'a Connection> for WireConnection<'a> {
    fn from(c: &'a Connection) -> Self {
        WireConnection {
            replication_instance_arn: &c.replication_instance_arn,
            endpoint_arn: &c.endpoint_arn,
            status: &c.status,
            last_failure_message: c.last_failure_message.as_deref(),
            endpoint_identifier: c.endpoint_identifier(),
            replication_instance_identifier: c.replication_instance_identifier(),
        }
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidParameterValueException", message)
}

fn not_found(pair: &Pair) -> ApiError {
    ApiError::bad_request(
        "ResourceNotFoundFault",
        format!(
            "Connection between endpoint {} and replication instance {} not found",
            pair.endpoint_arn, pair.replication_instance_arn
        ),
    )
}

fn resource_not_found(message: String) -> ApiError {
    ApiError::bad_request("ResourceNotFoundFault", message)
}

fn invalid_state(status: &str) -> ApiError {
    ApiError::bad_request(
        "InvalidResourceStateFault",
        format!("Connection is in state {status} and cannot be changed now"),
    )
}

fn pair(body: &[u8]) -> Result<Pair, ApiError> {
    let input: PairInput = parse(body)?;
    match (input.endpoint_arn, input.replication_instance_arn) {
        (Some(endpoint_arn), Some(replication_instance_arn))
            if !endpoint_arn.is_empty() && !replication_instance_arn.is_empty() =>
        {
            Ok(Pair { endpoint_arn, replication_instance_arn })
        }
        _ => Err(invalid("EndpointArn and ReplicationInstanceArn are both required")),
    }
}

fn describe(body: &[u8]) -> Result<Request, ApiError> {
    let input: DescribeInput = parse(body)?;
    let size = paging::page_size(input.max_records).map_err(invalid)?;
    if let Some(f) = input.filters.iter().find(|f| f.name != "endpoint-arn" && f.name != "replication-instance-arn") {
        return Err(invalid(format!(
            "Unrecognized filter name: {}. Valid filter names: endpoint-arn | replication-instance-arn",
            f.name
        )));
    }
    let after = match input.marker.as_deref() {
        None => None,
        Some(m) => Some(paging::decode_marker(m).ok_or_else(|| invalid("Invalid Marker"))?),
    };
    Ok(Request::Describe { filters: input.filters, size, after })
}

fn list_tags(body: &[u8]) -> Result<Request, ApiError> {
    let input: ListTagsInput = parse(body)?;
    let arns: Vec<String> = input.resource_arn.into_iter().chain(input.resource_arn_list).collect();
    if arns.is_empty() {
        return Err(invalid("ResourceArn or ResourceArnList is required"));
    }
    Ok(Request::ListTags(arns))
}

fn matches(filters: &[Filter], c: &Connection) -> bool {
    filters.iter().all(|f| {
        let field = if f.name == "endpoint-arn" { &c.endpoint_arn } else { &c.replication_instance_arn };
        f.values.contains(field)
    })
}

/// Whether `c` is the connection `pair` names in `region`.
fn is(pair: &Pair, region: &str, c: &Connection) -> bool {
    c.region == region
        && c.endpoint_arn == pair.endpoint_arn
        && c.replication_instance_arn == pair.replication_instance_arn
}

fn delete(store: &mut Store, region: &str, pair: &Pair) -> Result<Value, ApiError> {
    let ep = pair.endpoint_arn.as_str();
    let it = |c: &Connection| is(pair, region, c);
    let connection = store.find_mut(&CONNECTIONS, it).ok_or_else(|| not_found(pair))?;
    match connection.on_delete {
        Some(OnDelete::NotFound) => {
            store.remove(&CONNECTIONS, it);
            return Err(not_found(pair));
        }
        Some(OnDelete::InvalidState | OnDelete::Conflict | OnDelete::Unsupported) => {
            return Err(invalid_state(&connection.status))
        }
        Some(OnDelete::AccessDenied) => {
            return Err(ApiError::bad_request(
                "AccessDeniedException",
                format!("User: arn:aws:sts::000000000000:assumed-role/janitor/session is not authorized to perform: dms:DeleteConnection on resource: {ep}"),
            ))
        }
        Some(OnDelete::EndpointAccessDenied) => {
            return Err(ApiError::bad_request(
                "AccessDeniedFault",
                "AWS DMS was denied access to the endpoint. Check that the role is correctly configured.",
            ))
        }
        Some(OnDelete::NotFoundButListed) => return Err(not_found(pair)),
        Some(OnDelete::Throttle) => return Err(Dms::fault(Fault::Throttle)),
        None => {}
    }
    if matches!(connection.status.as_str(), "testing" | "deleting") {
        return Err(invalid_state(&connection.status));
    }
    connection.status = "deleting".to_owned();
    let out = json!({ "Connection": WireConnection::from(&*connection) });
    store.remove(&CONNECTIONS, it);
    Ok(out)
}

fn test(store: &mut Store, region: &str, pair: Pair) -> Result<Value, ApiError> {
    let gone = &store.fleet().gone_arns;
    if gone.contains(&pair.endpoint_arn) {
        return Err(resource_not_found(format!("Endpoint {} not found", pair.endpoint_arn)));
    }
    if gone.contains(&pair.replication_instance_arn) {
        return Err(resource_not_found(format!("Replication instance {} not found", pair.replication_instance_arn)));
    }
    let it = |c: &Connection| is(&pair, region, c);
    if store.find_mut(&CONNECTIONS, it).is_none() {
        store.push(&CONNECTIONS, Connection::new(region, &pair.endpoint_arn, &pair.replication_instance_arn));
    }
    let connection = store.find_mut(&CONNECTIONS, it).ok_or_else(|| not_found(&pair))?;
    if connection.status == "deleting" {
        return Err(invalid_state(&connection.status));
    }
    connection.status = "testing".to_owned();
    let answer = json!({ "Connection": WireConnection::from(&*connection) });
    // The test completes at once (see the module's documentation).
    connection.status = "successful".to_owned();
    connection.last_failure_message = None;
    Ok(answer)
}

fn tag_list(store: &Store, arns: &[String]) -> Value {
    let tags: Vec<Value> = arns
        .iter()
        .flat_map(|arn| {
            let tags = store.fleet().tags.get(arn).into_iter().flatten();
            tags.map(move |(k, v)| json!({ "Key": k, "Value": v, "ResourceArn": arn }))
        })
        .collect();
    json!({ "TagList": tags })
}

fn execute(store: &mut Store, region: &str, request: Request) -> Result<Value, ApiError> {
    match request {
        Request::Describe { filters, size, after } => {
            let matching = store
                .sequenced(&CONNECTIONS)
                .filter(|(_, c)| c.region == region && matches(&filters, c))
                .map(|(seq, c)| (seq, WireConnection::from(c)));
            let (connections, marker) = paging::page(matching, after, size);
            let mut out = json!({ "Connections": connections });
            if let Some(marker) = marker {
                out["Marker"] = Value::String(marker);
            }
            Ok(out)
        }
        Request::Delete(pair) => delete(store, region, &pair),
        Request::Test(pair) => test(store, region, pair),
        Request::ListTags(arns) => Ok(tag_list(store, &arns)),
    }
}

impl Protocol for Dms {
    const SERVICE: &'static str = "dms";
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
        let body = http.body;
        let target = awsjson::target(http.headers);
        let operation = match awsjson::operation(target, TARGET_PREFIX) {
            Ok(operation) => operation,
            Err(e) => return (target.to_owned(), Err(e)),
        };
        let request = match operation {
            "DescribeConnections" => describe(body),
            "DeleteConnection" => pair(body).map(Request::Delete),
            "TestConnection" => pair(body).map(Request::Test),
            "ListTagsForResource" => list_tags(body),
            other => Err(awsjson::unknown_operation(other)),
        };
        (operation.to_owned(), request)
    }

    fn target(_http: &HttpRequest<'_>, request: Option<&Request>) -> Option<String> {
        match request? {
            Request::Describe { .. } => None,
            Request::Delete(p) | Request::Test(p) => Some(p.endpoint_arn.clone()),
            Request::ListTags(arns) => Some(arns.join(",")),
        }
    }

    fn execute(
        estate: &mut Estate,
        caller: &Caller,
        region: &str,
        request: Request,
        _now: SystemTime,
    ) -> Result<Value, ApiError> {
        execute(estate.resources(caller).map_err(identity::json_error)?, region, request)
    }

    fn fault(fault: Fault) -> ApiError {
        match fault {
            Fault::Throttle => ApiError::bad_request("ThrottlingException", "Rate exceeded"),
            Fault::Unavailable => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailableException",
                "Service is temporarily unavailable",
            ),
            Fault::Denied => ApiError::bad_request(
                "AccessDeniedException",
                "User is not authorized to perform this action because no identity-based policy allows it",
            ),
        }
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
                let body = json!({ "__type": e.code, "message": e.message });
                awsjson::respond(e.status, Some(e.code), &body, request_id)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, Uri};

    use super::*;
    use crate::fleet::Fleet;

    fn store(fleet: Fleet) -> Store {
        let mut s = Store::default();
        s.replace(fleet);
        s
    }

    fn run(store: &mut Store, op: &str, body: &str) -> Result<Value, ApiError> {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-target", format!("{TARGET_PREFIX}.{op}").parse().unwrap());
        let uri = Uri::from_static("/");
        let (_, request) = Dms::decode(&HttpRequest { uri: &uri, headers: &headers, body: body.as_bytes() });
        execute(store, "us-east-1", request?)
    }

    #[test]
    fn describe_validates_max_records_filters_and_marker() {
        let mut s = store(Fleet::sample());
        for body in [
            r#"{"MaxRecords":19}"#,
            r#"{"MaxRecords":101}"#,
            r#"{"Filters":[{"Name":"status","Values":["failed"]}]}"#,
            r#"{"Marker":"not-ours"}"#,
        ] {
            let err = run(&mut s, "DescribeConnections", body).unwrap_err();
            assert_eq!(err.code, "InvalidParameterValueException", "{body}");
        }
        let err = run(&mut s, "DescribeConnections", "{").unwrap_err();
        assert_eq!(err.code, "SerializationException");
    }

    #[test]
    fn describe_is_per_region_and_filtered() {
        let mut s = store(Fleet::sample());
        let all = run(&mut s, "DescribeConnections", "").unwrap();
        let n = all["Connections"].as_array().unwrap().len();
        assert_eq!(n, 6);
        assert!(all.get("Marker").is_none());
        let ri = "arn:aws:dms:us-east-1:123456789012:rep:PRODRI2A1S3D5F7G9H2J4K6L8Z";
        let body = format!(r#"{{"Filters":[{{"Name":"replication-instance-arn","Values":["{ri}"]}}]}}"#);
        let some = run(&mut s, "DescribeConnections", &body).unwrap();
        assert_eq!(some["Connections"].as_array().unwrap().len(), 2);
        let first = &all["Connections"][0];
        let keys: Vec<_> = first.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 6, "{keys:?}");
    }

    #[test]
    fn delete_honours_state_and_on_delete() {
        let ep = "arn:aws:dms:us-east-1:1:endpoint:E";
        let ri = "arn:aws:dms:us-east-1:1:rep:R";
        let body = format!(r#"{{"EndpointArn":"{ep}","ReplicationInstanceArn":"{ri}"}}"#);
        let with = |status: &str, on_delete: Option<OnDelete>| {
            let mut c = Connection::new("us-east-1", ep, ri);
            c.status = status.to_owned();
            c.on_delete = on_delete;
            store(Fleet { connections: vec![c], ..Fleet::default() })
        };
        let code = |s: &mut Store| run(s, "DeleteConnection", &body).unwrap_err().code;
        assert_eq!(code(&mut with("testing", None)), "InvalidResourceStateFault");
        assert_eq!(code(&mut with("failed", Some(OnDelete::Conflict))), "InvalidResourceStateFault");
        assert_eq!(code(&mut with("failed", Some(OnDelete::AccessDenied))), "AccessDeniedException");
        assert_eq!(code(&mut with("failed", Some(OnDelete::EndpointAccessDenied))), "AccessDeniedFault");
        let mut listed = with("failed", Some(OnDelete::NotFoundButListed));
        assert_eq!(code(&mut listed), "ResourceNotFoundFault");
        assert_eq!(listed.fleet().connections.len(), 1);
        assert_eq!(code(&mut with("failed", Some(OnDelete::Throttle))), "ThrottlingException");
        let mut vanished = with("failed", Some(OnDelete::NotFound));
        assert_eq!(code(&mut vanished), "ResourceNotFoundFault");
        assert!(vanished.fleet().connections.is_empty());

        let mut s = with("failed", None);
        let out = run(&mut s, "DeleteConnection", &body).unwrap();
        assert_eq!(out["Connection"]["Status"], "deleting");
        assert_eq!(out["Connection"]["EndpointIdentifier"], "E");
        assert!(s.fleet().connections.is_empty());
        assert_eq!(code(&mut s), "ResourceNotFoundFault");
        let missing = run(&mut s, "DeleteConnection", r#"{"EndpointArn":"x"}"#).unwrap_err();
        assert_eq!(missing.code, "InvalidParameterValueException");
    }

    const EP: &str = "arn:aws:dms:us-east-1:123456789012:endpoint:E";
    const RI: &str = "arn:aws:dms:us-east-1:123456789012:rep:R";

    fn test_body() -> String {
        format!(r#"{{"ReplicationInstanceArn":"{RI}","EndpointArn":"{EP}"}}"#)
    }

    #[test]
    fn test_connection_creates_the_connection_which_is_then_listed_successful() {
        let mut s = store(Fleet::default());
        let out = run(&mut s, "TestConnection", &test_body()).unwrap();
        assert_eq!(
            out["Connection"],
            json!({ "ReplicationInstanceArn": RI, "EndpointArn": EP, "Status": "testing", "EndpointIdentifier": "E",
                    "ReplicationInstanceIdentifier": "R" })
        );
        let listed = run(&mut s, "DescribeConnections", "{}").unwrap();
        let mut expected = out["Connection"].clone();
        expected["Status"] = json!("successful");
        assert_eq!(listed["Connections"], json!([expected]));
        run(&mut s, "DeleteConnection", &test_body()).unwrap();
        assert!(s.fleet().connections.is_empty(), "what is created can be deleted at once");
    }

    #[test]
    fn test_connection_retests_an_existing_connection() {
        let mut failed = Connection::new("us-east-1", EP, RI);
        failed.last_failure_message = Some("timeout".to_owned());
        failed.endpoint_identifier = Some("src-pg".to_owned());
        let mut s = store(Fleet { connections: vec![failed], ..Fleet::default() });
        let out = run(&mut s, "TestConnection", &test_body()).unwrap();
        assert_eq!(
            (&out["Connection"]["Status"], &out["Connection"]["EndpointIdentifier"]),
            (&json!("testing"), &json!("src-pg"))
        );
        let connections = &s.fleet().connections;
        assert_eq!(connections.len(), 1, "the pair's connection, re-tested");
        assert_eq!(
            (connections[0].status.as_str(), connections[0].last_failure_message.as_deref()),
            ("successful", None)
        );
        let mut deleting = Connection::new("us-east-1", EP, RI);
        deleting.status = "deleting".to_owned();
        let mut s = store(Fleet { connections: vec![deleting], ..Fleet::default() });
        assert_eq!(run(&mut s, "TestConnection", &test_body()).unwrap_err().code, "InvalidResourceStateFault");
    }

    #[test]
    fn test_connection_refuses_a_gone_endpoint_or_instance_and_missing_parameters() {
        for (gone, message) in
            [(EP, format!("Endpoint {EP} not found")), (RI, format!("Replication instance {RI} not found"))]
        {
            let mut s = store(Fleet { gone_arns: [gone.to_owned()].into(), ..Fleet::default() });
            let err = run(&mut s, "TestConnection", &test_body()).unwrap_err();
            assert_eq!(
                (err.code, err.status, err.message),
                ("ResourceNotFoundFault", StatusCode::BAD_REQUEST, message)
            );
            assert!(s.fleet().connections.is_empty());
        }
        let mut s = store(Fleet::default());
        for body in [format!(r#"{{"EndpointArn":"{EP}"}}"#), format!(r#"{{"ReplicationInstanceArn":"{RI}"}}"#)] {
            assert_eq!(run(&mut s, "TestConnection", &body).unwrap_err().code, "InvalidParameterValueException");
        }
        assert!(s.fleet().connections.is_empty());
    }

    #[test]
    fn list_tags_includes_resource_arn() {
        let mut s = store(Fleet::sample());
        let ep = "arn:aws:dms:us-east-1:123456789012:endpoint:LEGACYMYSQLPROTECTED4R8T2Y";
        let out =
            run(&mut s, "ListTagsForResource", &format!(r#"{{"ResourceArnList":["{ep}","arn:unknown"]}}"#)).unwrap();
        let tags = out["TagList"].as_array().unwrap();
        assert_eq!(tags.len(), 2);
        assert!(tags.iter().all(|t| t["ResourceArn"] == ep));
        let out = run(&mut s, "ListTagsForResource", &format!(r#"{{"ResourceArn":"{ep}"}}"#)).unwrap();
        assert_eq!(out["TagList"][0]["ResourceArn"], ep);
        assert!(run(&mut s, "ListTagsForResource", "{}").is_err());
    }

    #[test]
    fn unknown_operation() {
        let mut s = store(Fleet::default());
        assert_eq!(run(&mut s, "DescribeEndpoints", "{}").unwrap_err().code, "UnknownOperationException");
    }
}
