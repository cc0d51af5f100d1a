//! AWS STS over awsQuery (version 2011-06-15): AssumeRole, so a caller can act in a member account with the
//! credentials it gets, and GetCallerIdentity, so it can tell whose credentials it holds.
//!
//! Documented (the botocore model `sts/2011-06-15` and the STS API reference): the parameters and their constraints
//! (RoleArn 20 to 2048 characters; RoleSessionName 2 to 64 of `[\w+=,.@-]`; ExternalId 2 to 1224 of
//! `[\w+=,.@:/-]`; DurationSeconds 900 to 43200, default 3600); the answers' members (Credentials with AccessKeyId,
//! SecretAccessKey, SessionToken and Expiration; AssumedRoleUser with AssumedRoleId and Arn; GetCallerIdentity's
//! UserId, Account and Arn); the XML namespace; the common ValidationError (400) for input that fails a constraint.
//! Assumed: a role that cannot be assumed (no such account or role, a refused account, a missing or wrong ExternalId)
//! answers 403 AccessDenied "User: <caller> is not authorized to perform: sts:AssumeRole on resource: <role>", which
//! is STS's widely quoted answer for a missing role and a trust policy that refuses alike; a missing parameter and a
//! RoleArn that is not an IAM role ARN answer ValidationError too; DurationSeconds is not capped by the role's maximum
//! session duration nor by role chaining's one hour (the emulator's roles have no such setting).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use axum::http::StatusCode;
use axum::response::Response;

use crate::auth;
use crate::clock::format_iso8601;
use crate::error::ApiError;
use crate::faults::Fault;
use crate::fleet::{is_account_id, validate_sts_policy};
use crate::identity::{self, Caller};
use crate::protocol::{HttpRequest, Protocol};
use crate::query;
use crate::service::{FleetPart, Members, Route, Service};
use crate::store::Estate;
use crate::xml::Xml;

/// The API version STS's SDKs send as `Version`.
const VERSION: &str = "2011-06-15";
const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
/// The session length when DurationSeconds is not given.
const DEFAULT_DURATION: u64 = 3600;
const DURATION_RANGE: std::ops::RangeInclusive<u64> = 900..=43_200;

/// STS's registration: its policy (`sts`) is the management account's, as it says who may assume roles in members.
pub(crate) const SERVICE: Service = Service::of::<Sts>(
    Route::Query { version: VERSION },
    FleetPart {
        validate: |fleet| validate_sts_policy(&fleet.sts),
        members: Members::ManagementOnly(|fleet| (!fleet.sts.is_open()).then_some("sts")),
        generated: None,
    },
);

pub(crate) struct Sts;

pub(crate) enum Request {
    AssumeRole(AssumeRole),
    GetCallerIdentity,
}

/// A validated AssumeRole request.
pub(crate) struct AssumeRole {
    role_arn: String,
    /// The account and name the RoleArn names.
    account: String,
    role_name: String,
    session_name: String,
    external_id: Option<String>,
    duration: Duration,
}

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("ValidationError", message)
}

/// The parameter `name` (model member `member`), if given: `length` characters long, each `allowed`.
fn constrained(
    params: &BTreeMap<String, String>,
    name: &str,
    member: &str,
    length: std::ops::RangeInclusive<usize>,
    pattern: &str,
    allowed: impl Fn(char) -> bool,
) -> Result<Option<String>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(value) if length.contains(&value.chars().count()) && value.chars().all(allowed) => Ok(Some(value.clone())),
        Some(value) => Err(validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have \
             length between {} and {} and satisfy regular expression pattern: {pattern}",
            length.start(),
            length.end()
        ))),
    }
}

fn required(value: Option<String>, member: &str) -> Result<String, ApiError> {
    value.ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

/// `\w`, as the model's patterns mean it: an ASCII letter, digit or underscore.
fn word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The account and role name of `arn:<partition>:iam::<account>:role/<path/><name>`.
fn role(arn: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", "", account, resource] if partition.starts_with("aws") && is_account_id(account) => {
            let name = resource.strip_prefix("role/")?.rsplit('/').next().filter(|n| !n.is_empty())?;
            Some(((*account).to_owned(), name.to_owned()))
        }
        _ => None,
    }
}

fn assume_role(params: &BTreeMap<String, String>) -> Result<Request, ApiError> {
    let role_arn =
        required(constrained(params, "RoleArn", "roleArn", 20..=2048, ".*", |c| !c.is_control())?, "roleArn")?;
    let session_name = constrained(params, "RoleSessionName", "roleSessionName", 2..=64, r"[\w+=,.@-]*", |c| {
        word(c) || "+=,.@-".contains(c)
    })?;
    let session_name = required(session_name, "roleSessionName")?;
    let external_id = constrained(params, "ExternalId", "externalId", 2..=1224, r"[\w+=,.@:\/-]*", |c| {
        word(c) || "+=,.@:/-".contains(c)
    })?;
    let duration = match params.get("DurationSeconds") {
        None => DEFAULT_DURATION,
        Some(v) => v.parse::<u64>().ok().filter(|d| DURATION_RANGE.contains(d)).ok_or_else(|| {
            validation(format!(
                "1 validation error detected: Value '{v}' at 'durationSeconds' failed to satisfy constraint: Member \
                 must have value between {} and {}",
                DURATION_RANGE.start(),
                DURATION_RANGE.end()
            ))
        })?,
    };
    let (account, role_name) =
        role(&role_arn).ok_or_else(|| validation(format!("{role_arn} is not a valid IAM role ARN")))?;
    Ok(Request::AssumeRole(AssumeRole {
        role_arn,
        account,
        role_name,
        session_name,
        external_id,
        duration: Duration::from_secs(duration),
    }))
}

fn access_denied(caller: &Caller, role_arn: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "AccessDenied",
        format!("User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}", caller.arn),
    )
}

/// Issues credentials for the role if the fleet's STS policy lets `caller` assume it.
fn execute_assume_role(
    estate: &mut Estate,
    caller: &Caller,
    request: AssumeRole,
    now: SystemTime,
) -> Result<String, ApiError> {
    let policy = &estate.management_fleet().sts;
    let allowed = estate.is_member(&request.account)
        && !policy.denied_accounts.contains(&request.account)
        && policy.member_role.as_ref().is_none_or(|role| *role == request.role_name)
        && policy.external_id.as_ref().is_none_or(|id| request.external_id.as_ref() == Some(id));
    if !allowed {
        return Err(access_denied(caller, &request.role_arn));
    }
    let session =
        estate.sessions.issue(&request.account, &request.role_name, &request.session_name, request.duration, now);
    let mut x = Xml::default();
    x.wrap("Credentials", |x| {
        x.text("AccessKeyId", &session.access_key_id)
            .text("SecretAccessKey", &session.secret_access_key)
            .text("SessionToken", &session.session_token)
            .text("Expiration", &format_iso8601(session.expiration));
    })
    .wrap("AssumedRoleUser", |x| {
        x.text("AssumedRoleId", &session.caller.user_id).text("Arn", &session.caller.arn);
    });
    Ok(x.into_string())
}

fn caller_identity(caller: &Caller) -> String {
    let mut x = Xml::default();
    x.text("UserId", &caller.user_id).text("Account", &caller.account).text("Arn", &caller.arn);
    x.into_string()
}

impl Protocol for Sts {
    const SERVICE: &'static str = "sts";
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
        let (action, served) = query::action(&params, &["AssumeRole", "GetCallerIdentity"]);
        let request = served.and_then(|()| match action.as_str() {
            "AssumeRole" => assume_role(&params),
            _ => Ok(Request::GetCallerIdentity),
        });
        (action, request)
    }

    fn target(_http: &HttpRequest<'_>, request: Option<&Request>) -> Option<String> {
        match request? {
            Request::AssumeRole(r) => Some(r.role_arn.clone()),
            Request::GetCallerIdentity => None,
        }
    }

    fn execute(
        estate: &mut Estate,
        caller: &Caller,
        _region: &str,
        request: Request,
        _now: SystemTime,
    ) -> Result<String, ApiError> {
        match request {
            // By the real time, not the emulator's clock: sessions expire by it, as `identify` checks them.
            Request::AssumeRole(r) => execute_assume_role(estate, caller, r, SystemTime::now()),
            Request::GetCallerIdentity => Ok(caller_identity(caller)),
        }
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
    use axum::http::{HeaderMap, HeaderValue, Uri};

    use super::*;
    use crate::fleet::Fleet;
    use crate::fleet::{StsPolicy, MANAGEMENT_ACCOUNT};

    const MEMBER: &str = "210987654321";
    const OTHER: &str = "310987654321";

    fn estate(sts: StsPolicy) -> Estate {
        let mut e = Estate::default();
        let members = [(MEMBER.to_owned(), Fleet::default()), (OTHER.to_owned(), Fleet::default())].into();
        e.replace(Fleet { member_accounts: members, sts, ..Fleet::default() });
        e
    }

    fn run(estate: &mut Estate, caller: &Caller, body: &str) -> Result<String, ApiError> {
        let (uri, headers) = (Uri::from_static("/"), HeaderMap::new());
        let (_, request) = Sts::decode(&HttpRequest { uri: &uri, headers: &headers, body: body.as_bytes() });
        Sts::execute(estate, caller, "us-east-1", request?, SystemTime::now())
    }

    fn assume(account: &str, role: &str, extra: &str) -> String {
        format!("Action=AssumeRole&RoleArn=arn:aws:iam::{account}:role/{role}&RoleSessionName=janitor{extra}")
    }

    /// The text of the first `<name>` element.
    fn element<'a>(xml: &'a str, name: &str) -> &'a str {
        let open = format!("<{name}>");
        let start = xml.find(&open).map(|i| i + open.len()).unwrap_or_else(|| panic!("no {name} in {xml}"));
        &xml[start..start + xml[start..].find('<').unwrap()]
    }

    #[test]
    fn assume_role_issues_credentials_that_act_in_the_member_account() {
        let mut e = estate(StsPolicy::default());
        let before = SystemTime::now();
        let out = run(&mut e, &Caller::management(), &assume(MEMBER, "path/Janitor", "&DurationSeconds=900")).unwrap();
        let key = element(&out, "AccessKeyId");
        assert!(key.starts_with("ASIA"), "{out}");
        assert_eq!(element(&out, "Arn"), format!("arn:aws:sts::{MEMBER}:assumed-role/Janitor/janitor"));
        assert!(element(&out, "AssumedRoleId").starts_with("AROA"));
        let expiration = crate::clock::parse_timestamp(element(&out, "Expiration"), before).unwrap();
        let expected = before + Duration::from_secs(900);
        assert!(expiration >= expected - Duration::from_secs(1) && expiration <= expected + Duration::from_secs(5));

        let mut headers = HeaderMap::new();
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=ab"
        );
        headers.insert("authorization", HeaderValue::from_str(&auth).unwrap());
        headers.insert("x-amz-security-token", HeaderValue::from_str(element(&out, "SessionToken")).unwrap());
        let caller = e.sessions.identify(&headers, SystemTime::now()).unwrap();
        let identity = run(&mut e, &caller, "Action=GetCallerIdentity").unwrap();
        assert_eq!(element(&identity, "Account"), MEMBER);
        assert_eq!(element(&identity, "Arn"), format!("arn:aws:sts::{MEMBER}:assumed-role/Janitor/janitor"));
        let management = run(&mut e, &Caller::management(), "Action=GetCallerIdentity").unwrap();
        assert_eq!(element(&management, "Account"), MANAGEMENT_ACCOUNT);
    }

    #[test]
    fn the_policy_decides_which_roles_can_be_assumed() {
        let policy = StsPolicy {
            member_role: Some("Janitor".to_owned()),
            external_id: Some("ext-1".to_owned()),
            denied_accounts: [OTHER.to_owned()].into(),
        };
        let mut e = estate(policy);
        let denied = |e: &mut Estate, body: &str| {
            let err = run(e, &Caller::management(), body).unwrap_err();
            (err.code, err.status.as_u16())
        };
        assert!(run(&mut e, &Caller::management(), &assume(MEMBER, "Janitor", "&ExternalId=ext-1")).is_ok());
        assert_eq!(denied(&mut e, &assume(MEMBER, "Janitor", "")), ("AccessDenied", 403), "no external id");
        assert_eq!(denied(&mut e, &assume(MEMBER, "Janitor", "&ExternalId=ext-2")), ("AccessDenied", 403));
        assert_eq!(denied(&mut e, &assume(MEMBER, "Admin", "&ExternalId=ext-1")), ("AccessDenied", 403), "role");
        assert_eq!(denied(&mut e, &assume(OTHER, "Janitor", "&ExternalId=ext-1")), ("AccessDenied", 403), "denied");
        assert_eq!(denied(&mut e, &assume("999999999999", "Janitor", "&ExternalId=ext-1")), ("AccessDenied", 403));
        assert_eq!(denied(&mut e, &assume(MANAGEMENT_ACCOUNT, "Janitor", "&ExternalId=ext-1")), ("AccessDenied", 403));
        let message = run(&mut e, &Caller::management(), &assume(MEMBER, "Janitor", "")).unwrap_err().message;
        assert!(
            message.contains(
                "is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::210987654321:role/Janitor"
            ),
            "{message}"
        );
        let open = &mut estate(StsPolicy::default());
        assert!(
            run(open, &Caller::management(), &assume(OTHER, "AnyName", "")).is_ok(),
            "an open policy allows any role"
        );
    }

    #[test]
    fn invalid_input_is_a_validation_error() {
        let mut e = estate(StsPolicy::default());
        for body in [
            assume(MEMBER, "Janitor", "&DurationSeconds=899"),
            assume(MEMBER, "Janitor", "&DurationSeconds=43201"),
            assume(MEMBER, "Janitor", "&DurationSeconds=soon"),
            assume(MEMBER, "Janitor", "&ExternalId=x"),
            format!("Action=AssumeRole&RoleArn=arn:aws:iam::{MEMBER}:role/J&RoleSessionName=has space"),
            format!("Action=AssumeRole&RoleArn=arn:aws:iam::{MEMBER}:role/J&RoleSessionName=j"),
            format!("Action=AssumeRole&RoleArn=arn:aws:iam::{MEMBER}:role/J"),
            "Action=AssumeRole&RoleSessionName=janitor".to_owned(),
            "Action=AssumeRole&RoleArn=arn:aws:iam::21098765432:role/J&RoleSessionName=janitor".to_owned(),
            format!("Action=AssumeRole&RoleArn=arn:aws:iam::{MEMBER}:user/J&RoleSessionName=janitor"),
        ] {
            let err = run(&mut e, &Caller::management(), &body).unwrap_err();
            assert_eq!((err.code, err.status.as_u16()), ("ValidationError", 400), "{body}");
        }
        assert!(run(&mut e, &Caller::management(), &assume(MEMBER, "Janitor", "&DurationSeconds=43200")).is_ok());
        let unknown = run(&mut e, &Caller::management(), "Action=GetSessionToken").unwrap_err();
        assert_eq!(unknown.code, "InvalidAction");
    }
}
