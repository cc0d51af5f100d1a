//! AWS Organizations over awsJson1_1 (`X-Amz-Target: AWSOrganizationsV20161128.<Operation>`): ListAccounts and
//! ListAccountsForParent, so the janitor can find the accounts it sweeps.
//!
//! Documented (the botocore model `organizations/2016-11-28` and the Organizations API reference): the parameters
//! (NextToken; MaxResults 1 to 20; ParentId `r-` and 4 to 32, or `ou-`, 4 to 32, `-`, 8 to 32, lowercase letters or
//! digits); the Account members (Id, Arn, Email, Name, Status, State, JoinedMethod, JoinedTimestamp) and their enums;
//! each operation's errors (AccessDeniedException, AWSOrganizationsNotInUseException, InvalidInputException with a
//! Reason, ParentNotFoundException for ListAccountsForParent, TooManyRequestsException, and ServiceException, a
//! server fault) with a `Message` member; ListAccountsForParent lists only the accounts directly in the parent; only
//! the management account (or a delegated administrator) may call either operation; JoinedTimestamp, a timestamp, is
//! sent as epoch seconds (awsJson's default). Assumed: every error is HTTP 400 but ServiceException (500), as the
//! model gives no status; MaxResults defaults to 20; an out-of-range MaxResults, a malformed or missing ParentId and a
//! NextToken that is not one of ours answer InvalidInputException with the model's Reasons MIN_VALUE_EXCEEDED /
//! MAX_VALUE_EXCEEDED, INVALID_PATTERN / INPUT_REQUIRED and INVALID_NEXT_TOKEN; an account's `State` is its `Status`;
//! Organizations checks it is in use before it checks the caller; no member account is a delegated administrator.

use std::time::SystemTime;

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth;
use crate::awsjson::{self, parse};
use crate::clock::epoch_seconds;
use crate::error::{ApiError, WireError};
use crate::faults::Fault;
use crate::fleet::{is_parent_id, validate_organization, OrgAccount, Organization, MANAGEMENT_ACCOUNT};
use crate::identity::{self, Caller};
use crate::paging;
use crate::protocol::{HttpRequest, Protocol};
use crate::service::{FleetPart, Members, Route, Service};
use crate::store::Estate;

/// The `X-Amz-Target` prefix of Organizations' operations.
const TARGET_PREFIX: &str = "AWSOrganizationsV20161128";
/// The page size when MaxResults is not given.
const DEFAULT_PAGE: usize = 20;
const PAGE_RANGE: std::ops::RangeInclusive<i64> = 1..=20;

/// Organizations' registration: the organization is the management account's.
pub(crate) const SERVICE: Service = Service::of::<Organizations>(
    Route::JsonTarget { prefix: TARGET_PREFIX, fallback: false },
    FleetPart {
        validate: |fleet| fleet.organization.as_ref().map_or(Ok(()), validate_organization),
        members: Members::ManagementOnly(|fleet| fleet.organization.is_some().then_some("organization")),
        generated: None,
    },
);

pub(crate) struct Organizations;

/// A validated listing: every account, or those of one parent.
pub(crate) struct Request {
    parent_id: Option<String>,
    size: usize,
    /// The index of the last account of the previous page.
    after: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListInput {
    parent_id: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// An Organizations error: an [`ApiError`] and, for InvalidInputException, its Reason.
#[derive(Debug)]
pub(crate) struct Failure {
    error: ApiError,
    reason: Option<&'static str>,
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure { error, reason: None }
    }
}

impl WireError for Failure {
    fn http_status(&self) -> StatusCode {
        self.error.status
    }

    fn code(&self) -> &'static str {
        self.error.code
    }
}

fn invalid_input(reason: &'static str, message: impl Into<String>) -> Failure {
    Failure { error: ApiError::bad_request("InvalidInputException", message), reason: Some(reason) }
}

fn decode(operation: &str, body: &[u8]) -> Result<Request, Failure> {
    let for_parent = match operation {
        "ListAccounts" => false,
        "ListAccountsForParent" => true,
        other => return Err(awsjson::unknown_operation(other).into()),
    };
    let input: ListInput = parse(body)?;
    let size = match input.max_results {
        None => DEFAULT_PAGE,
        Some(n) if n < *PAGE_RANGE.start() => {
            return Err(invalid_input("MIN_VALUE_EXCEEDED", "MaxResults must be at least 1"))
        }
        Some(n) => usize::try_from(n)
            .ok()
            .filter(|_| PAGE_RANGE.contains(&n))
            .ok_or_else(|| invalid_input("MAX_VALUE_EXCEEDED", "MaxResults must be at most 20"))?,
    };
    let after = match input.next_token.as_deref() {
        None => None,
        Some(token) => Some(
            paging::decode_marker(token)
                .ok_or_else(|| invalid_input("INVALID_NEXT_TOKEN", "The NextToken is not valid"))?,
        ),
    };
    let parent_id = match (for_parent, input.parent_id) {
        (false, _) => None,
        (true, None) => return Err(invalid_input("INPUT_REQUIRED", "ParentId is required")),
        (true, Some(id)) if is_parent_id(&id) => Some(id),
        (true, Some(id)) => {
            return Err(invalid_input("INVALID_PATTERN", format!("ParentId {id:?} is not a root or OU id")))
        }
    };
    Ok(Request { parent_id, size, after })
}

fn wire_account(organization: &Organization, account: &OrgAccount) -> Value {
    json!({
        "Id": account.id,
        "Arn": organization.account_arn(&account.id),
        "Email": account.email(),
        "Name": account.name,
        "Status": account.status.as_str(),
        "State": account.status.as_str(),
        "JoinedMethod": account.joined_method.as_str(),
        "JoinedTimestamp": epoch_seconds(account.joined_timestamp),
    })
}

fn list(estate: &Estate, caller: &Caller, request: Request) -> Result<Value, Failure> {
    let Some(organization) = &estate.management_fleet().organization else {
        return Err(ApiError::bad_request(
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        )
        .into());
    };
    if caller.account != MANAGEMENT_ACCOUNT {
        return Err(ApiError::bad_request(
            "AccessDeniedException",
            "You don't have permissions to access this resource: only the management account can list accounts.",
        )
        .into());
    }
    let parent = request.parent_id.as_deref();
    if let Some(parent) = parent.filter(|p| !organization.has_parent(p)) {
        return Err(ApiError::bad_request(
            "ParentNotFoundException",
            format!("We can't find a root or OU with the ParentId {parent}."),
        )
        .into());
    }
    let accounts = (0_u64..)
        .zip(&organization.accounts)
        .filter(|(_, a)| parent.is_none_or(|p| a.parent_id == p))
        .map(|(index, a)| (index, wire_account(organization, a)));
    let (page, next_token) = paging::page(accounts, request.after, request.size);
    let mut out = json!({ "Accounts": page });
    if let Some(token) = next_token {
        out["NextToken"] = Value::String(token);
    }
    Ok(out)
}

impl Protocol for Organizations {
    const SERVICE: &'static str = "organizations";
    type Request = Request;
    type Output = Value;
    type Error = Failure;

    fn region(http: &HttpRequest<'_>) -> Option<String> {
        auth::region(http.headers)
    }

    fn authenticate(estate: &mut Estate, http: &HttpRequest<'_>) -> Result<Caller, Failure> {
        Ok(estate.sessions.identify(http.headers, SystemTime::now()).map_err(identity::json_error)?)
    }

    fn decode(http: &HttpRequest<'_>) -> (String, Result<Request, Failure>) {
        let target = awsjson::target(http.headers);
        match awsjson::operation(target, TARGET_PREFIX) {
            Ok(operation) => (operation.to_owned(), decode(operation, http.body)),
            Err(e) => (target.to_owned(), Err(e.into())),
        }
    }

    fn target(_http: &HttpRequest<'_>, request: Option<&Request>) -> Option<String> {
        request?.parent_id.clone()
    }

    fn execute(
        estate: &mut Estate,
        caller: &Caller,
        _region: &str,
        request: Request,
        _now: SystemTime,
    ) -> Result<Value, Failure> {
        list(estate, caller, request)
    }

    fn fault(fault: Fault) -> Failure {
        match fault {
            Fault::Throttle => ApiError::bad_request(
                "TooManyRequestsException",
                "You have sent too many requests in too short a period of time.",
            ),
            Fault::Denied => {
                ApiError::bad_request("AccessDeniedException", "You don't have permissions to access this resource.")
            }
            Fault::Unavailable => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                "Organizations can't complete your request because of an internal service error.",
            ),
        }
        .into()
    }

    fn respond(
        _http: &HttpRequest<'_>,
        _operation: &str,
        result: Result<Value, Failure>,
        request_id: &str,
    ) -> Response {
        match result {
            Ok(body) => awsjson::respond(StatusCode::OK, None, &body, request_id),
            Err(Failure { error, reason }) => {
                let mut body = json!({ "__type": error.code, "Message": error.message });
                if let Some(reason) = reason {
                    body["Reason"] = Value::String(reason.to_owned());
                }
                awsjson::respond(error.status, Some(error.code), &body, request_id)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Fleet;
    use crate::fleet::{AccountStatus, GENERATED_MEMBER_OU};

    fn estate(organization: Option<Organization>) -> Estate {
        let mut e = Estate::default();
        e.replace(Fleet { organization, ..Fleet::default() });
        e
    }

    /// An organization of the management account (under the root) and `members` accounts in the bench OU.
    fn organization(members: u64) -> Organization {
        let mut accounts = vec![OrgAccount::new(MANAGEMENT_ACCOUNT, "management", "r-root")];
        accounts.extend(
            (1..=members).map(|n| {
                OrgAccount::new(&format!("{:012}", 100_000_000_000 + n), &format!("m{n}"), GENERATED_MEMBER_OU)
            }),
        );
        Organization { id: "o-abcdefghij".to_owned(), root_id: "r-root".to_owned(), accounts }
    }

    fn run(estate: &Estate, caller: &Caller, operation: &str, body: &str) -> Result<Value, Failure> {
        list(estate, caller, decode(operation, body.as_bytes())?)
    }

    fn ids(page: &Value) -> Vec<String> {
        page["Accounts"].as_array().unwrap().iter().map(|a| a["Id"].as_str().unwrap().to_owned()).collect()
    }

    fn code(result: Result<Value, Failure>) -> (&'static str, Option<&'static str>) {
        let failure = result.unwrap_err();
        (failure.error.code, failure.reason)
    }

    #[test]
    fn list_accounts_pages_with_next_token() {
        let e = estate(Some(organization(44)));
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            let body = match &token {
                Some(t) => format!(r#"{{"NextToken":"{t}"}}"#),
                None => "{}".to_owned(),
            };
            let page = run(&e, &Caller::management(), "ListAccounts", &body).unwrap();
            seen.extend(ids(&page));
            pages += 1;
            token = page["NextToken"].as_str().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        assert_eq!(pages, 3, "45 accounts, 20 a page by default");
        let expected: Vec<String> = organization(44).accounts.into_iter().map(|a| a.id).collect();
        assert_eq!(seen, expected);
        let small = run(&e, &Caller::management(), "ListAccounts", r#"{"MaxResults":1}"#).unwrap();
        assert_eq!((ids(&small), small["NextToken"].is_string()), (vec![MANAGEMENT_ACCOUNT.to_owned()], true));
    }

    #[test]
    fn accounts_carry_the_model_members() {
        let mut org = organization(1);
        org.accounts[1].status = AccountStatus::Suspended;
        let e = estate(Some(org));
        let page = run(&e, &Caller::management(), "ListAccounts", "{}").unwrap();
        let member = &page["Accounts"][1];
        assert_eq!(member["Id"], "100000000001");
        assert_eq!(member["Arn"], "arn:aws:organizations::123456789012:account/o-abcdefghij/100000000001");
        assert_eq!((member["Status"].as_str(), member["State"].as_str()), (Some("SUSPENDED"), Some("SUSPENDED")));
        assert_eq!((member["Name"].as_str(), member["JoinedMethod"].as_str()), (Some("m1"), Some("CREATED")));
        assert_eq!(member["Email"], "account-100000000001@example.com");
        let joined = member["JoinedTimestamp"].as_f64().unwrap();
        let now = epoch_seconds(SystemTime::now());
        assert!(joined < now - 29.0 * 86_400.0 && joined > now - 31.0 * 86_400.0, "{joined}");
    }

    #[test]
    fn list_accounts_for_parent_lists_the_parents_accounts_only() {
        let e = estate(Some(organization(3)));
        let members = run(
            &e,
            &Caller::management(),
            "ListAccountsForParent",
            &format!(r#"{{"ParentId":"{GENERATED_MEMBER_OU}"}}"#),
        );
        assert_eq!(ids(&members.unwrap()), ["100000000001", "100000000002", "100000000003"]);
        let root = run(&e, &Caller::management(), "ListAccountsForParent", r#"{"ParentId":"r-root"}"#).unwrap();
        assert_eq!(ids(&root), [MANAGEMENT_ACCOUNT]);
        let missing = run(&e, &Caller::management(), "ListAccountsForParent", r#"{"ParentId":"ou-root-elsewhere"}"#);
        assert_eq!(code(missing), ("ParentNotFoundException", None));
        let malformed = run(&e, &Caller::management(), "ListAccountsForParent", r#"{"ParentId":"ou-root-bench"}"#);
        assert_eq!(code(malformed), ("InvalidInputException", Some("INVALID_PATTERN")));
        let none = run(&e, &Caller::management(), "ListAccountsForParent", "{}");
        assert_eq!(code(none), ("InvalidInputException", Some("INPUT_REQUIRED")));
    }

    #[test]
    fn refusals() {
        let e = estate(Some(organization(1)));
        for (body, reason) in [
            (r#"{"MaxResults":0}"#, "MIN_VALUE_EXCEEDED"),
            (r#"{"MaxResults":21}"#, "MAX_VALUE_EXCEEDED"),
            (r#"{"NextToken":"garbage"}"#, "INVALID_NEXT_TOKEN"),
        ] {
            assert_eq!(
                code(run(&e, &Caller::management(), "ListAccounts", body)),
                ("InvalidInputException", Some(reason))
            );
        }
        assert_eq!(
            code(run(&e, &Caller::management(), "ListAccounts", r#"{"MaxResults":"x"}"#)).0,
            "SerializationException"
        );
        let member = Caller { account: "100000000001".to_owned(), ..Caller::management() };
        assert_eq!(code(run(&e, &member, "ListAccounts", "{}")), ("AccessDeniedException", None));
        let alone = estate(None);
        assert_eq!(
            code(run(&alone, &Caller::management(), "ListAccounts", "{}")).0,
            "AWSOrganizationsNotInUseException"
        );
        assert_eq!(code(run(&alone, &member, "ListAccounts", "{}")).0, "AWSOrganizationsNotInUseException");
        assert_eq!(code(run(&e, &Caller::management(), "DescribeOrganization", "{}")).0, "UnknownOperationException");
    }
}
