//! Alibaba Cloud DTS over RPC (version 2020-01-01): DescribeDtsJobs and DeleteDtsJob.
//!
//! Requests are `POST /` with the operation in `x-acs-action`, every parameter in the query string, and a V3
//! signature (`ACS3-HMAC-SHA256`) that is verified against the fleet's key table before anything else. Errors come
//! in the two shapes the service uses: gateway errors (`RequestId`, `HostId`, `Code`, `Message`, `Recommend`) with
//! their HTTP status, and business errors (`Success: false`, `ErrCode`, `ErrMessage` with `%s`, `DynamicMessage`)
//! on HTTP 200 with the status in `HttpStatusCode`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use axum::body::Body;
use axum::http::{header::CONTENT_TYPE, HeaderMap, StatusCode};
use axum::response::Response;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::clock::format_iso8601;
use crate::error::WireError;
use crate::faults::Fault;
use crate::fleet::{DtsJob, DtsJobType, DtsOnDelete, DTS_ACCESS_KEY_ID, DTS_ACCESS_KEY_SECRET};
use crate::identity::Caller;
use crate::protocol::{HttpRequest, Protocol};
use crate::service::{no_checks, FleetPart, Members, Route, Service};
use crate::store::{Collection, Estate, Store};

/// The only API version served.
const VERSION: &str = "2020-01-01";
const ALGORITHM: &str = "ACS3-HMAC-SHA256";
/// DescribeDtsJobs page sizes: 20 when none is given, at most 30 (the SDK documents 10, 20 and 30).
const DEFAULT_PAGE_SIZE: usize = 20;
const MAX_PAGE_SIZE: usize = 30;
/// Headers every V3 request must carry and sign.
const REQUIRED_SIGNED: [&str; 6] =
    ["host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"];
const INVALID_PARAMETER: &str = "The Value of Input Parameter %s is not valid.";

/// Why a call failed, in one of the service's two error shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// `Code` / `Message`, with an HTTP error status.
    Gateway { status: StatusCode, code: &'static str, message: String },
    /// `Success: false`, on HTTP 200, with `HttpStatusCode`.
    Business { status: StatusCode, code: &'static str, message: &'static str, dynamic: String },
}

impl WireError for Failure {
    /// A gateway error's status; HTTP 200 for a business error, whose status is in its body.
    fn http_status(&self) -> StatusCode {
        match self {
            Failure::Gateway { status, .. } => *status,
            Failure::Business { .. } => StatusCode::OK,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Failure::Gateway { code, .. } | Failure::Business { code, .. } => code,
        }
    }
}

fn gateway(status: StatusCode, code: &'static str, message: impl Into<String>) -> Failure {
    Failure::Gateway { status, code, message: message.into() }
}

fn invalid_parameter(name: &str) -> Failure {
    Failure::Business {
        status: StatusCode::BAD_REQUEST,
        code: "InvalidParameter",
        message: INVALID_PARAMETER,
        dynamic: name.to_owned(),
    }
}

fn missing(name: &'static str) -> Failure {
    gateway(StatusCode::BAD_REQUEST, missing_code(name), format!("{name} is mandatory for this action."))
}

fn missing_code(name: &str) -> &'static str {
    match name {
        "Region" => "MissingRegion",
        _ => "MissingDtsJobId",
    }
}

fn incomplete(detail: &str) -> Failure {
    gateway(
        StatusCode::BAD_REQUEST,
        "IncompleteSignature",
        format!("The request signature does not conform to Aliyun standards. {detail}"),
    )
}

fn not_found(job_id: &str) -> Failure {
    gateway(
        StatusCode::NOT_FOUND,
        "Forbidden.InstanceNotFound",
        format!("The specified DTS job {job_id} does not exist."),
    )
}

/// 403 `InvalidSecurityToken.Expired`, as the DeleteDtsJob and DescribeDtsJobs references list it.
fn expired_token() -> Failure {
    gateway(StatusCode::FORBIDDEN, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
}

fn fault(fault: Fault) -> Failure {
    match fault {
        Fault::Throttle => {
            gateway(StatusCode::BAD_REQUEST, "Throttling.User", "Request was denied due to user flow control.")
        }
        Fault::Unavailable => gateway(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        ),
        Fault::Denied => {
            gateway(StatusCode::FORBIDDEN, "Forbidden.RAM", "User not authorized to operate on the specified resource.")
        }
    }
}

/// A decoded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    Describe {
        region: String,
        job_type: DtsJobType,
        status: Option<String>,
        job_ids: Option<Vec<String>>,
        page_number: usize,
        page_size: usize,
    },
    Delete {
        region: Option<String>,
        job_id: String,
        instance_id: Option<String>,
        reverse: bool,
    },
}

/// RFC 3986 encoding, as the signature canonicalizes the query.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn hmac_hex(key: &str, message: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
        Ok(mut mac) => {
            mac.update(message.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// The parts of `Authorization: ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..`.
struct Authorization<'a> {
    access_key_id: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let rest = value.trim().strip_prefix(ALGORITHM)?.strip_prefix(' ')?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim) {
        match part.split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => {}
        }
    }
    let (access_key_id, signed, signature) = (credential?, signed?, signature?);
    if access_key_id.is_empty() || signed.is_empty() || signature.is_empty() {
        return None;
    }
    Some(Authorization { access_key_id, signed_headers: signed.split(';').collect(), signature })
}

/// The query string as the signature sees it: decoded, re-encoded, sorted.
fn canonical_query(raw: &str) -> String {
    let mut pairs: Vec<(String, String)> =
        form_urlencoded::parse(raw.as_bytes()).map(|(k, v)| (encode(&k), encode(&v))).collect();
    pairs.sort();
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect();
    (!values.is_empty()).then(|| values.iter().map(|v| v.trim()).collect::<Vec<_>>().join(","))
}

/// Verifies the V3 signature of a request (and spends its nonce), as the gateway does before anything else.
fn authenticate(store: &mut Store, headers: &HeaderMap, raw_query: &str, body: &[u8]) -> Result<(), Failure> {
    let authorization =
        header_value(headers, "authorization").ok_or_else(|| incomplete("The Authorization header is missing."))?;
    let auth = parse_authorization(&authorization).ok_or_else(|| {
        incomplete(
            "Expected Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<names>,Signature=<hex>.",
        )
    })?;
    for name in REQUIRED_SIGNED {
        if header_value(headers, name).is_none() {
            return Err(incomplete(&format!("The {name} header is missing.")));
        }
        if !auth.signed_headers.contains(&name) {
            return Err(incomplete(&format!("The {name} header is not signed.")));
        }
    }
    for name in headers.keys().map(|n| n.as_str()).filter(|n| n.starts_with("x-acs-")) {
        if !auth.signed_headers.contains(&name) {
            return Err(incomplete(&format!("The {name} header is not signed.")));
        }
    }
    let payload_hash = header_value(headers, "x-acs-content-sha256").unwrap_or_default();
    if payload_hash != hex_sha256(body) {
        return Err(gateway(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            "Specified signature does not match our calculation: x-acs-content-sha256 is not the SHA-256 of the body.",
        ));
    }
    let keys = &store.fleet().dts_access_keys;
    let secret = if keys.is_empty() {
        (auth.access_key_id == DTS_ACCESS_KEY_ID).then(|| DTS_ACCESS_KEY_SECRET.to_owned())
    } else {
        keys.get(auth.access_key_id).cloned()
    };
    let Some(secret) = secret else {
        return Err(gateway(
            StatusCode::NOT_FOUND,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        ));
    };
    let mut names = auth.signed_headers.clone();
    names.sort_unstable();
    let canonical_headers: String =
        names.iter().map(|name| format!("{name}:{}\n", header_value(headers, name).unwrap_or_default())).collect();
    let canonical_request =
        format!("POST\n/\n{}\n{canonical_headers}\n{}\n{payload_hash}", canonical_query(raw_query), names.join(";"));
    let string_to_sign = format!("{ALGORITHM}\n{}", hex_sha256(canonical_request.as_bytes()));
    if hmac_hex(&secret, &string_to_sign) != auth.signature {
        return Err(gateway(
            StatusCode::BAD_REQUEST,
            "SignatureDoesNotMatch",
            format!("Specified signature does not match our calculation. server StringToSign is [{string_to_sign}]"),
        ));
    }
    let expired = &store.fleet().dts_expired_tokens;
    if header_value(headers, "x-acs-security-token").is_some_and(|token| expired.contains(&token)) {
        return Err(expired_token());
    }
    let nonce = header_value(headers, "x-acs-signature-nonce").unwrap_or_default();
    if !store.nonces.insert(nonce) {
        return Err(gateway(
            StatusCode::BAD_REQUEST,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    Ok(())
}

fn number(
    params: &BTreeMap<String, String>,
    name: &str,
    default: usize,
    range: (usize, usize),
) -> Result<usize, Failure> {
    match params.get(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (range.0..=range.1).contains(n))
            .ok_or_else(|| invalid_parameter(name)),
    }
}

/// The operation and version from the headers, the parameters from the query string.
fn decode(action: &str, version: &str, params: &BTreeMap<String, String>) -> Result<Request, Failure> {
    if version != VERSION {
        return Err(gateway(StatusCode::BAD_REQUEST, "InvalidVersion", "Specified parameter Version is not valid."));
    }
    let given = |name: &str| params.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    match action {
        "DescribeDtsJobs" => {
            let region = given("Region").ok_or_else(|| missing("Region"))?;
            let job_type = match given("JobType") {
                None => DtsJobType::Migration,
                Some(t) => DtsJobType::parse(&t).ok_or_else(|| invalid_parameter("JobType"))?,
            };
            Ok(Request::Describe {
                region,
                job_type,
                status: given("Status"),
                job_ids: given("DtsJobId").map(|ids| ids.split(',').map(|id| id.trim().to_owned()).collect()),
                page_number: number(params, "PageNumber", 1, (1, i32::MAX as usize))?,
                page_size: number(params, "PageSize", DEFAULT_PAGE_SIZE, (1, MAX_PAGE_SIZE))?,
            })
        }
        "DeleteDtsJob" => {
            let job_id = given("DtsJobId").ok_or_else(|| missing("DtsJobId"))?;
            if let Some(t) = given("JobType") {
                DtsJobType::parse(&t).ok_or_else(|| invalid_parameter("JobType"))?;
            }
            let reverse = match given("SynchronizationDirection").as_deref() {
                None | Some("Forward") => false,
                Some("Reverse") => true,
                Some(_) => return Err(invalid_parameter("SynchronizationDirection")),
            };
            Ok(Request::Delete { region: given("RegionId"), job_id, instance_id: given("DtsInstanceId"), reverse })
        }
        _ => Err(gateway(
            StatusCode::NOT_FOUND,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        )),
    }
}

/// `yyyy-MM-ddTHH:mm:ssZ`, as DTS reports CreateTime.
fn dts_time(t: std::time::SystemTime) -> String {
    let iso = format_iso8601(t);
    format!("{}Z", iso.split('.').next().unwrap_or(&iso))
}

fn wire_job(job: &DtsJob) -> Value {
    let mut out = json!({
        "DtsJobId": job.dts_job_id,
        "DtsInstanceID": job.instance_id(),
        "DtsJobName": job.name(),
        "JobType": job.job_type.as_str(),
        "Status": job.status,
        "CreateTime": dts_time(job.create_time),
        "DtsJobDirection": "Forward",
        "TagList": job.tag_list.iter().map(|t| json!({"TagKey": t.tag_key, "TagValue": t.tag_value})).collect::<Vec<_>>(),
    });
    if let Some(message) = &job.error_message {
        out["ErrorMessage"] = json!(message);
    }
    if let Some(reverse) = &job.reverse_job {
        let mut wire = json!({
            "DtsJobId": reverse.dts_job_id,
            "DtsInstanceID": reverse.dts_instance_id.clone().unwrap_or_else(|| job.instance_id()),
            "DtsJobName": reverse.dts_job_name.as_deref().unwrap_or(job.name()),
            "DtsJobDirection": "Reverse",
            "Status": reverse.status,
            "CreateTime": dts_time(reverse.create_time.unwrap_or(job.create_time)),
        });
        if let Some(message) = &reverse.error_message {
            wire["ErrorMessage"] = json!(message);
        }
        out["ReverseJob"] = wire;
    }
    out
}

/// One page of the jobs of `job_type` in `region`. `DtsJobId` is taken as an exact filter on the forward job's id
/// (a comma list allowed), never matching a reverse half's id: an assumption, since the API reference and the
/// SDK model only name the parameter ("the ID of the data migration, data synchronization, or change tracking
/// task"). A filter that matches nothing answers an empty list, as any query with no match does.
fn describe(
    store: &Store,
    region: &str,
    job_type: DtsJobType,
    status: Option<&str>,
    job_ids: Option<&[String]>,
    page_number: usize,
    page_size: usize,
) -> Value {
    let matching: Vec<&DtsJob> = store
        .fleet()
        .dts_jobs
        .iter()
        .filter(|j| j.region == region && j.job_type == job_type)
        .filter(|j| status.is_none_or(|s| j.status == s))
        .filter(|j| job_ids.is_none_or(|ids| ids.contains(&j.dts_job_id)))
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(page_number.saturating_sub(1).saturating_mul(page_size))
        .take(page_size)
        .map(|j| wire_job(j))
        .collect();
    json!({
        "HttpStatusCode": 200,
        "Success": true,
        "PageNumber": page_number,
        "PageRecordCount": page.len(),
        "TotalRecordCount": matching.len(),
        "DtsJobList": page,
    })
}

fn delete(
    store: &mut Store,
    region: Option<&str>,
    job_id: &str,
    instance_id: Option<&str>,
    reverse: bool,
) -> Result<Value, Failure> {
    let is_it = |j: &DtsJob| {
        region.is_none_or(|r| j.region == r)
            && (j.dts_job_id == job_id
                || (reverse && j.reverse_job.as_ref().is_some_and(|rev| rev.dts_job_id == job_id)))
    };
    let Some(job) = store.find_mut(&JOBS, is_it) else {
        return Err(not_found(job_id));
    };
    let on_delete = if reverse {
        let Some(rev) = &job.reverse_job else {
            return Err(invalid_parameter("SynchronizationDirection"));
        };
        let rev_instance = rev.dts_instance_id.clone().unwrap_or_else(|| job.instance_id());
        if instance_id.is_some_and(|i| i != rev_instance && i != job.instance_id()) {
            return Err(not_found(job_id));
        }
        rev.on_delete
    } else {
        if instance_id.is_some_and(|i| i != job.instance_id()) {
            return Err(not_found(job_id));
        }
        job.on_delete
    };
    // What releasing the forward task of a two-way synchronization does to the instance and its reverse half is
    // not documented (the SDK's summary of DeleteDtsJob says it "releases" the instance). The emulator assumes the
    // conservative case: the whole job goes, reverse half included. This is chosen because it makes order matter:
    // a janitor that deletes a forward half before judging (and deleting) its reverse half would take a reverse
    // half it had not judged stale.
    let remove = |store: &mut Store| {
        if reverse {
            if let Some(job) = store.find_mut(&JOBS, is_it) {
                job.reverse_job = None;
            }
        } else {
            store.remove_first(&JOBS, is_it);
        }
    };
    match on_delete {
        Some(DtsOnDelete::NotFound) => {
            remove(store);
            return Err(not_found(job_id));
        }
        Some(DtsOnDelete::NotFoundButListed) => return Err(not_found(job_id)),
        Some(DtsOnDelete::Business) => return Err(invalid_parameter("DtsInstanceId")),
        Some(DtsOnDelete::AccessDenied) => {
            return Err(gateway(
                StatusCode::FORBIDDEN,
                "Forbidden.RAM",
                "User not authorized to operate on the specified resource, or this API doesn't support RAM.",
            ))
        }
        Some(DtsOnDelete::Throttle) => return Err(fault(Fault::Throttle)),
        Some(DtsOnDelete::ExpiredToken) => return Err(expired_token()),
        None => {}
    }
    remove(store);
    Ok(json!({ "HttpStatusCode": 200, "Success": true }))
}

fn execute(store: &mut Store, request: Request) -> Result<Value, Failure> {
    match request {
        Request::Describe { region, job_type, status, job_ids, page_number, page_size } => {
            Ok(describe(store, &region, job_type, status.as_deref(), job_ids.as_deref(), page_number, page_size))
        }
        Request::Delete { region, job_id, instance_id, reverse } => {
            delete(store, region.as_deref(), &job_id, instance_id.as_deref(), reverse)
        }
    }
}

/// The answer's JSON body.
fn body(result: &Result<Value, Failure>, request_id: &str, host: &str) -> Value {
    match result {
        Ok(value) => {
            let mut value = value.clone();
            value["RequestId"] = json!(request_id);
            value
        }
        Err(Failure::Gateway { code, message, .. }) => json!({
            "RequestId": request_id,
            "HostId": host,
            "Code": code,
            "Message": message,
            "Recommend": format!("https://api.aliyun.com/troubleshoot?q={code}&product=Dts"),
        }),
        Err(Failure::Business { status, code, message, dynamic }) => json!({
            "RequestId": request_id,
            "HttpStatusCode": status.as_u16(),
            "Success": false,
            "ErrCode": code,
            "ErrMessage": message,
            "DynamicCode": "",
            "DynamicMessage": dynamic,
        }),
    }
}

/// The call's parameters: every one is in the query string.
fn query_params(http: &HttpRequest<'_>) -> BTreeMap<String, String> {
    form_urlencoded::parse(http.uri.query().unwrap_or_default().as_bytes()).into_owned().collect()
}

/// DTS's registration: the management account's alone, as its calls act in no AWS account.
pub(crate) const SERVICE: Service = Service::of::<Dts>(
    Route::Header("x-acs-action"),
    FleetPart {
        validate: no_checks,
        members: Members::ManagementOnly(|fleet| {
            [
                ("dtsJobs", !fleet.dts_jobs.is_empty()),
                ("dtsAccessKeys", !fleet.dts_access_keys.is_empty()),
                ("dtsExpiredTokens", !fleet.dts_expired_tokens.is_empty()),
            ]
            .into_iter()
            .find_map(|(field, given)| given.then_some(field))
        }),
        generated: None,
    },
);

/// The jobs, in fleet order (DescribeDtsJobs pages by position, not by marker).
const JOBS: Collection<DtsJob> = Collection { name: "dtsJobs", items: |f| &mut f.dts_jobs };

pub(crate) struct Dts;

impl Protocol for Dts {
    const SERVICE: &'static str = "dts";
    type Request = Request;
    type Output = Value;
    type Error = Failure;

    /// `RegionId`, else `Region` (DescribeDtsJobs documents `Region`, DeleteDtsJob `RegionId`).
    fn region(http: &HttpRequest<'_>) -> Option<String> {
        let params = query_params(http);
        params.get("RegionId").or_else(|| params.get("Region")).cloned()
    }

    /// Alibaba Cloud's own V3 signature, against the management account's fleet's keys: DTS calls act in no AWS
    /// account.
    fn authenticate(estate: &mut Estate, http: &HttpRequest<'_>) -> Result<Caller, Failure> {
        authenticate(estate.management(), http.headers, http.uri.query().unwrap_or_default(), http.body)?;
        Ok(Caller::alibaba())
    }

    fn decode(http: &HttpRequest<'_>) -> (String, Result<Request, Failure>) {
        let action = header_value(http.headers, "x-acs-action").unwrap_or_default();
        let version = header_value(http.headers, "x-acs-version").unwrap_or_default();
        let request = decode(&action, &version, &query_params(http));
        (action, request)
    }

    /// The `DtsJobId` parameter as sent, even when the call is refused.
    fn target(http: &HttpRequest<'_>, _request: Option<&Request>) -> Option<String> {
        query_params(http).remove("DtsJobId")
    }

    /// Each request names its own region (`Region`, or the optional `RegionId` of a delete).
    fn execute(
        estate: &mut Estate,
        _caller: &Caller,
        _region: &str,
        request: Request,
        _now: SystemTime,
    ) -> Result<Value, Failure> {
        execute(estate.management(), request)
    }

    fn fault(f: Fault) -> Failure {
        fault(f)
    }

    fn respond(http: &HttpRequest<'_>, _operation: &str, result: Result<Value, Failure>, request_id: &str) -> Response {
        let host = header_value(http.headers, "host").unwrap_or_default();
        let status = result.as_ref().map_or_else(Failure::http_status, |_| StatusCode::OK);
        Response::builder()
            .status(status)
            .header(CONTENT_TYPE, "application/json;charset=utf-8")
            .header("x-acs-request-id", request_id)
            .body(Body::from(body(&result, request_id, &host).to_string()))
            .unwrap_or_else(|_| Response::new(Body::empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{DtsReverseJob, DtsTag, Fleet};
    use axum::http::HeaderValue;

    fn store(jobs: Vec<DtsJob>) -> Store {
        let mut s = Store::default();
        s.replace(Fleet { dts_jobs: jobs, ..Fleet::default() });
        s
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn run(store: &mut Store, action: &str, pairs: &[(&str, &str)]) -> Result<Value, Failure> {
        execute(store, decode(action, VERSION, &params(pairs))?)
    }

    fn job(id: &str, job_type: DtsJobType, status: &str) -> DtsJob {
        let mut j = DtsJob::new("cn-hangzhou", id);
        j.job_type = job_type;
        j.status = status.to_owned();
        j
    }

    #[test]
    fn pages_like_the_real_api() {
        let mut jobs: Vec<DtsJob> =
            (0..45).map(|n| job(&format!("m{n}"), DtsJobType::Migration, "Migrating")).collect();
        jobs.push(job("s0", DtsJobType::Sync, "Failed"));
        let mut other = job("elsewhere", DtsJobType::Migration, "Migrating");
        other.region = "ap-southeast-1".into();
        jobs.push(other);
        let mut s = store(jobs);
        let first = run(&mut s, "DescribeDtsJobs", &[("Region", "cn-hangzhou"), ("PageSize", "30")]).unwrap();
        assert_eq!((first["PageNumber"].as_u64(), first["PageRecordCount"].as_u64()), (Some(1), Some(30)));
        assert_eq!(first["TotalRecordCount"], 45);
        let second =
            run(&mut s, "DescribeDtsJobs", &[("Region", "cn-hangzhou"), ("PageSize", "30"), ("PageNumber", "2")])
                .unwrap();
        assert_eq!(second["PageRecordCount"], 15);
        assert_eq!(second["DtsJobList"][0]["DtsJobId"], "m30");
        let past = run(&mut s, "DescribeDtsJobs", &[("Region", "cn-hangzhou"), ("PageNumber", "9")]).unwrap();
        assert_eq!((past["PageRecordCount"].as_u64(), past["TotalRecordCount"].as_u64()), (Some(0), Some(45)));
        let default_size = run(&mut s, "DescribeDtsJobs", &[("Region", "cn-hangzhou")]).unwrap();
        assert_eq!(default_size["PageRecordCount"], 20);
        let sync = run(&mut s, "DescribeDtsJobs", &[("Region", "cn-hangzhou"), ("JobType", "SYNC")]).unwrap();
        assert_eq!(sync["TotalRecordCount"], 1);
        let filtered = run(&mut s, "DescribeDtsJobs", &[("Region", "cn-hangzhou"), ("DtsJobId", "m1,m2")]).unwrap();
        assert_eq!(filtered["TotalRecordCount"], 2);
        for bad in [("PageSize", "31"), ("PageSize", "0"), ("PageNumber", "0"), ("JobType", "ETL")] {
            let err = run(&mut s, "DescribeDtsJobs", &[("Region", "cn-hangzhou"), bad]).unwrap_err();
            assert_eq!(err, invalid_parameter(bad.0), "{bad:?}");
        }
        assert_eq!(run(&mut s, "DescribeDtsJobs", &[]).unwrap_err().code(), "MissingRegion");
    }

    #[test]
    fn jobs_are_listed_in_the_documented_shape() {
        let mut j = job("fwd", DtsJobType::Sync, "Synchronizing");
        j.dts_job_name = Some("two-way".into());
        j.tag_list = vec![DtsTag { tag_key: "janitor:protect".into(), tag_value: "true".into() }];
        j.create_time =
            crate::clock::parse_timestamp("2024-01-02T03:04:05.678Z", std::time::SystemTime::now()).unwrap();
        j.reverse_job = Some(DtsReverseJob {
            dts_job_id: "rev".into(),
            dts_instance_id: None,
            dts_job_name: None,
            status: "Failed".into(),
            create_time: None,
            error_message: Some("DTS-1001: boom".into()),
            on_delete: None,
        });
        let wire = wire_job(&j);
        assert_eq!(wire["DtsInstanceID"], "dtsfwd");
        assert_eq!(wire["CreateTime"], "2024-01-02T03:04:05Z");
        assert_eq!(wire["TagList"][0]["TagKey"], "janitor:protect");
        assert_eq!(wire["ReverseJob"]["DtsJobId"], "rev");
        assert_eq!(wire["ReverseJob"]["DtsInstanceID"], "dtsfwd");
        assert_eq!(wire["ReverseJob"]["Status"], "Failed");
        assert_eq!(wire["ReverseJob"]["CreateTime"], "2024-01-02T03:04:05Z");
        assert!(wire_job(&job("one-way", DtsJobType::Migration, "Finished")).get("ReverseJob").is_none());
    }

    #[test]
    fn delete_honours_direction_instance_and_on_delete() {
        let two_way = || {
            let mut j = job("fwd", DtsJobType::Sync, "Synchronizing");
            j.reverse_job = Some(DtsReverseJob {
                dts_job_id: "rev".into(),
                dts_instance_id: None,
                dts_job_name: None,
                status: "Failed".into(),
                create_time: None,
                error_message: None,
                on_delete: None,
            });
            j
        };
        let mut s = store(vec![two_way()]);
        let reverse = [("DtsJobId", "rev"), ("RegionId", "cn-hangzhou"), ("SynchronizationDirection", "Reverse")];
        assert_eq!(run(&mut s, "DeleteDtsJob", &reverse).unwrap()["Success"], true);
        assert_eq!(s.fleet().dts_jobs.len(), 1);
        assert!(s.fleet().dts_jobs[0].reverse_job.is_none(), "only the reverse half went");
        assert_eq!(run(&mut s, "DeleteDtsJob", &reverse).unwrap_err().code(), "Forbidden.InstanceNotFound");
        let by_forward_id = [("DtsJobId", "fwd"), ("SynchronizationDirection", "Reverse")];
        assert_eq!(
            run(&mut s, "DeleteDtsJob", &by_forward_id).unwrap_err(),
            invalid_parameter("SynchronizationDirection")
        );
        let wrong_instance = [("DtsJobId", "fwd"), ("DtsInstanceId", "dtsother")];
        assert_eq!(run(&mut s, "DeleteDtsJob", &wrong_instance).unwrap_err().code(), "Forbidden.InstanceNotFound");
        let wrong_region = [("DtsJobId", "fwd"), ("RegionId", "ap-southeast-1")];
        assert_eq!(run(&mut s, "DeleteDtsJob", &wrong_region).unwrap_err().code(), "Forbidden.InstanceNotFound");
        assert!(run(&mut s, "DeleteDtsJob", &[("DtsJobId", "fwd"), ("DtsInstanceId", "dtsfwd")]).is_ok());
        assert!(s.fleet().dts_jobs.is_empty());

        let mut both = store(vec![two_way()]);
        assert!(run(&mut both, "DeleteDtsJob", &[("DtsJobId", "fwd")]).is_ok());
        assert!(both.fleet().dts_jobs.is_empty(), "releasing the forward half takes the reverse half with it");
        assert_eq!(run(&mut both, "DeleteDtsJob", &reverse).unwrap_err().code(), "Forbidden.InstanceNotFound");

        let with = |on_delete| {
            let mut j = job("j", DtsJobType::Migration, "MigrationFailed");
            j.on_delete = Some(on_delete);
            store(vec![j])
        };
        let code = |mut s: Store| run(&mut s, "DeleteDtsJob", &[("DtsJobId", "j")]).unwrap_err();
        assert_eq!(code(with(DtsOnDelete::Business)), invalid_parameter("DtsInstanceId"));
        assert_eq!(code(with(DtsOnDelete::AccessDenied)).code(), "Forbidden.RAM");
        assert_eq!(code(with(DtsOnDelete::Throttle)).code(), "Throttling.User");
        assert_eq!(code(with(DtsOnDelete::ExpiredToken)).code(), "InvalidSecurityToken.Expired");
        let mut vanished = with(DtsOnDelete::NotFound);
        assert_eq!(
            run(&mut vanished, "DeleteDtsJob", &[("DtsJobId", "j")]).unwrap_err().code(),
            "Forbidden.InstanceNotFound"
        );
        assert!(vanished.fleet().dts_jobs.is_empty());
        let mut listed = with(DtsOnDelete::NotFoundButListed);
        assert_eq!(
            run(&mut listed, "DeleteDtsJob", &[("DtsJobId", "j")]).unwrap_err().code(),
            "Forbidden.InstanceNotFound"
        );
        let still = run(&mut listed, "DescribeDtsJobs", &[("Region", "cn-hangzhou"), ("DtsJobId", "j")]).unwrap();
        assert_eq!(
            (still["TotalRecordCount"].as_u64(), still["DtsJobList"][0]["DtsJobId"].as_str()),
            (Some(1), Some("j"))
        );
        assert_eq!(run(&mut vanished, "DeleteDtsJob", &[]).unwrap_err().code(), "MissingDtsJobId");
        assert_eq!(
            run(&mut vanished, "DeleteDtsJob", &[("DtsJobId", "j"), ("SynchronizationDirection", "Sideways")])
                .unwrap_err(),
            invalid_parameter("SynchronizationDirection")
        );
    }

    #[test]
    fn unknown_actions_and_versions_are_refused() {
        assert_eq!(decode("DescribeDtsJobs", "2016-08-01", &params(&[])).unwrap_err().code(), "InvalidVersion");
        assert_eq!(decode("CreateDtsInstance", VERSION, &params(&[])).unwrap_err().code(), "InvalidAction.NotFound");
    }

    #[test]
    fn error_bodies_have_the_service_shapes() {
        let gateway = body(&Err(fault(Fault::Throttle)), "r-1", "dts.aliyuncs.com");
        assert_eq!(gateway["Code"], "Throttling.User");
        assert_eq!(gateway["HostId"], "dts.aliyuncs.com");
        assert_eq!(gateway["RequestId"], "r-1");
        let business = body(&Err(invalid_parameter("DtsJobId")), "r-2", "h");
        assert_eq!(business["Success"], false);
        assert_eq!(business["HttpStatusCode"], 400);
        assert_eq!(business["ErrMessage"], INVALID_PARAMETER);
        assert_eq!(business["DynamicMessage"], "DtsJobId");
        assert_eq!(invalid_parameter("x").http_status(), StatusCode::OK);
    }

    #[test]
    fn the_signature_is_checked_against_the_key_table() {
        let mut s = store(Vec::new());
        let mut headers = HeaderMap::new();
        assert_eq!(authenticate(&mut s, &headers, "", b"").unwrap_err().code(), "IncompleteSignature");
        headers.insert("authorization", HeaderValue::from_static("ACS3-HMAC-SHA256 Credential=LTAIemulatorKeyId"));
        assert_eq!(authenticate(&mut s, &headers, "", b"").unwrap_err().code(), "IncompleteSignature");
        fn sign(
            key: &str,
            secret: &str,
            query: &str,
            nonce: &str,
            extra: Option<(&'static str, &str, bool)>,
        ) -> HeaderMap {
            let mut h: BTreeMap<&'static str, String> = BTreeMap::new();
            h.insert("host", "127.0.0.1:1".into());
            h.insert("x-acs-action", "DescribeDtsJobs".into());
            h.insert("x-acs-version", VERSION.into());
            h.insert("x-acs-date", "2026-01-01T00:00:00Z".into());
            h.insert("x-acs-signature-nonce", nonce.into());
            h.insert("x-acs-content-sha256", hex_sha256(b""));
            let mut signed: Vec<&str> = h.keys().copied().collect();
            if let Some((name, value, sign_it)) = extra {
                h.insert(name, value.into());
                if sign_it {
                    signed = h.keys().copied().collect();
                }
            }
            let canonical_headers: String = signed.iter().map(|n| format!("{n}:{}\n", h[n])).collect();
            let canonical = format!(
                "POST\n/\n{}\n{canonical_headers}\n{}\n{}",
                canonical_query(query),
                signed.join(";"),
                hex_sha256(b"")
            );
            let signature = hmac_hex(secret, &format!("{ALGORITHM}\n{}", hex_sha256(canonical.as_bytes())));
            let mut headers = HeaderMap::new();
            for (k, v) in &h {
                headers.insert(*k, HeaderValue::from_str(v).unwrap());
            }
            let auth = format!("{ALGORITHM} Credential={key},SignedHeaders={},Signature={signature}", signed.join(";"));
            headers.insert("authorization", HeaderValue::from_str(&auth).unwrap());
            headers
        }
        let query = "Region=cn-hangzhou&JobType=SYNC";
        let good = sign(DTS_ACCESS_KEY_ID, DTS_ACCESS_KEY_SECRET, query, "n1", None);
        assert_eq!(authenticate(&mut s, &good, query, b""), Ok(()));
        assert_eq!(authenticate(&mut s, &good, query, b"").unwrap_err().code(), "SignatureNonceUsed");
        let tampered = sign(DTS_ACCESS_KEY_ID, DTS_ACCESS_KEY_SECRET, query, "n2", None);
        let err = authenticate(&mut s, &tampered, "Region=cn-shanghai&JobType=SYNC", b"").unwrap_err();
        assert_eq!(err.code(), "SignatureDoesNotMatch");
        let wrong_secret = sign(DTS_ACCESS_KEY_ID, "not-the-secret", query, "n3", None);
        assert_eq!(authenticate(&mut s, &wrong_secret, query, b"").unwrap_err().code(), "SignatureDoesNotMatch");
        let unknown = sign("LTAIsomeoneElse", DTS_ACCESS_KEY_SECRET, query, "n4", None);
        assert_eq!(authenticate(&mut s, &unknown, query, b"").unwrap_err().code(), "InvalidAccessKeyId.NotFound");
        let body_changed = sign(DTS_ACCESS_KEY_ID, DTS_ACCESS_KEY_SECRET, query, "n5", None);
        assert_eq!(authenticate(&mut s, &body_changed, query, b"x").unwrap_err().code(), "SignatureDoesNotMatch");
        let token =
            sign(DTS_ACCESS_KEY_ID, DTS_ACCESS_KEY_SECRET, query, "n6", Some(("x-acs-security-token", "t", true)));
        assert_eq!(authenticate(&mut s, &token, query, b""), Ok(()));
        let unsigned_token =
            sign(DTS_ACCESS_KEY_ID, DTS_ACCESS_KEY_SECRET, query, "n7", Some(("x-acs-security-token", "t", false)));
        assert_eq!(authenticate(&mut s, &unsigned_token, query, b"").unwrap_err().code(), "IncompleteSignature");

        let mut fleet = s.fleet().clone();
        fleet.dts_expired_tokens.insert("old".into());
        s.replace(fleet);
        let expired =
            sign(DTS_ACCESS_KEY_ID, DTS_ACCESS_KEY_SECRET, query, "n10", Some(("x-acs-security-token", "old", true)));
        assert_eq!(authenticate(&mut s, &expired, query, b"").unwrap_err(), expired_token());
        let renewed =
            sign(DTS_ACCESS_KEY_ID, DTS_ACCESS_KEY_SECRET, query, "n11", Some(("x-acs-security-token", "new", true)));
        assert_eq!(authenticate(&mut s, &renewed, query, b""), Ok(()), "any token not listed as expired is accepted");
        let wrong_and_expired =
            sign(DTS_ACCESS_KEY_ID, "not-the-secret", query, "n12", Some(("x-acs-security-token", "old", true)));
        assert_eq!(authenticate(&mut s, &wrong_and_expired, query, b"").unwrap_err().code(), "SignatureDoesNotMatch");

        let mut fleet = s.fleet().clone();
        fleet.dts_access_keys.insert("LTAIother".into(), "other-secret".into());
        s.replace(fleet);
        let table = sign("LTAIother", "other-secret", query, "n8", None);
        assert_eq!(authenticate(&mut s, &table, query, b""), Ok(()));
        let default_gone = sign(DTS_ACCESS_KEY_ID, DTS_ACCESS_KEY_SECRET, query, "n9", None);
        assert_eq!(authenticate(&mut s, &default_gone, query, b"").unwrap_err().code(), "InvalidAccessKeyId.NotFound");
    }
}
