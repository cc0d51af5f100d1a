//! Who a call is from: the account its SigV4 access key acts in, and the temporary credentials the emulator's STS
//! issues for member accounts.
//!
//! Documented: access key ids of temporary credentials created by STS begin with `ASIA` (STS GetAccessKeyInfo
//! reference), role unique ids with `AROA` (IAM identifiers); an assumed-role ARN is
//! `arn:aws:sts::<account>:assumed-role/<role name>/<session name>` and its user id `<role id>:<session name>`
//! (STS AssumeRole reference and GetCallerIdentity examples); temporary credentials are sent with their session token
//! in `X-Amz-Security-Token` (SigV4 reference); the common errors InvalidClientTokenId (awsQuery) and
//! UnrecognizedClientException (awsJson), 403, for credentials AWS does not know, and ExpiredTokenException, 403, for
//! an expired token (AWS common errors pages). Assumed: awsQuery services (RDS, Redshift, STS) spell the expired token
//! `ExpiredToken`, as STS's and RDS's answers are widely quoted; a session token other than the one issued with the
//! key is answered like an unknown key; an `ASIA` key the emulator did not issue is refused rather than taken for the
//! management account's (which could act on the wrong account's resources); the management account's caller is an
//! IAM user whose ARN and id are made up.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode};

use crate::auth;
use crate::error::ApiError;
use crate::fleet::MANAGEMENT_ACCOUNT;

/// The prefix of access key ids of STS-issued credentials.
const TEMPORARY_KEY_PREFIX: &str = "ASIA";

/// Why a call's credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// No well-formed SigV4 Authorization header.
    Missing,
    /// A temporary key the emulator does not know, or not with the session token it was issued with.
    InvalidToken,
    /// An issued key past its expiration.
    Expired,
}

/// Who a call authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The AWS account the call acts in (empty for DTS, an Alibaba Cloud service).
    pub(crate) account: String,
    /// The principal's ARN, as GetCallerIdentity reports it.
    pub(crate) arn: String,
    /// The principal's unique id, as GetCallerIdentity reports it.
    pub(crate) user_id: String,
}

impl Caller {
    /// The caller of every access key the emulator's STS did not issue: the management account's.
    pub(crate) fn management() -> Caller {
        Caller {
            account: MANAGEMENT_ACCOUNT.to_owned(),
            arn: format!("arn:aws:iam::{MANAGEMENT_ACCOUNT}:user/janitor-emulator-caller"),
            user_id: "AIDAEMULATORCALLER000".to_owned(),
        }
    }

    /// A DTS caller, authenticated by Alibaba Cloud's own scheme: no AWS account.
    pub(crate) fn alibaba() -> Caller {
        Caller { account: String::new(), arn: String::new(), user_id: String::new() }
    }
}

/// Temporary credentials issued by AssumeRole.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: String,
    pub(crate) expiration: SystemTime,
    /// The assumed role's session: the account it acts in, its ARN and AssumedRoleId.
    pub(crate) caller: Caller,
}

/// Every credential the emulator's STS has issued, by access key id.
#[derive(Debug)]
pub(crate) struct Sessions {
    by_key: HashMap<String, Session>,
    issued: u64,
    rng: fastrand::Rng,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions { by_key: HashMap::new(), issued: 0, rng: fastrand::Rng::new() }
    }
}

/// FNV-1a: a stable, made-up unique id for a role.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

impl Sessions {
    /// New credentials for role `role_name` of `account`, session `session_name`, valid for `duration` from `now`.
    pub(crate) fn issue(
        &mut self,
        account: &str,
        role_name: &str,
        session_name: &str,
        duration: Duration,
        now: SystemTime,
    ) -> Session {
        self.issued = self.issued.wrapping_add(1);
        let role_id = format!("AROA{:017X}", fnv(&format!("{account}/{role_name}")));
        let session = Session {
            access_key_id: format!("{TEMPORARY_KEY_PREFIX}{:016X}", self.issued),
            secret_access_key: (0..40).map(|_| self.rng.alphanumeric()).collect(),
            session_token: (0..64).map(|_| self.rng.alphanumeric()).collect(),
            expiration: now.checked_add(duration).unwrap_or(now),
            caller: Caller {
                account: account.to_owned(),
                arn: format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}"),
                user_id: format!("{role_id}:{session_name}"),
            },
        };
        self.by_key.insert(session.access_key_id.clone(), session.clone());
        session
    }

    /// Who a SigV4-signed call is from at `now`: an issued key's session (if its token matches and it has not
    /// expired), or the management account for any other key.
    pub(crate) fn identify(&self, headers: &HeaderMap, now: SystemTime) -> Result<Caller, AuthFailure> {
        let scope = auth::scope(headers).ok_or(AuthFailure::Missing)?;
        match self.by_key.get(&scope.access_key_id) {
            Some(session) => {
                let token = headers.get("x-amz-security-token").and_then(|v| v.to_str().ok());
                if token != Some(session.session_token.as_str()) {
                    Err(AuthFailure::InvalidToken)
                } else if now >= session.expiration {
                    Err(AuthFailure::Expired)
                } else {
                    Ok(session.caller.clone())
                }
            }
            None if scope.access_key_id.starts_with(TEMPORARY_KEY_PREFIX) => Err(AuthFailure::InvalidToken),
            None => Ok(Caller::management()),
        }
    }

    /// Expires every credential issued so far.
    pub(crate) fn expire_all(&mut self) {
        for session in self.by_key.values_mut() {
            session.expiration = UNIX_EPOCH;
        }
    }

    /// Forgets the credentials of accounts `keep` refuses (their keys become unknown).
    pub(crate) fn retain_accounts(&mut self, keep: impl Fn(&str) -> bool) {
        self.by_key.retain(|_, session| keep(&session.caller.account));
    }
}

const INVALID_TOKEN: &str = "The security token included in the request is invalid.";
const EXPIRED_TOKEN: &str = "The security token included in the request is expired";

/// The error an awsJson service (DMS, Organizations, Glue) answers refused credentials with.
pub(crate) fn json_error(failure: AuthFailure) -> ApiError {
    match failure {
        AuthFailure::Missing => {
            ApiError::bad_request("MissingAuthenticationTokenException", "Missing Authentication Token")
        }
        AuthFailure::InvalidToken => ApiError::new(StatusCode::FORBIDDEN, "UnrecognizedClientException", INVALID_TOKEN),
        AuthFailure::Expired => ApiError::new(StatusCode::FORBIDDEN, "ExpiredTokenException", EXPIRED_TOKEN),
    }
}

/// The error an awsQuery service (RDS, Redshift, STS) answers refused credentials with.
pub(crate) fn query_error(failure: AuthFailure) -> ApiError {
    match failure {
        AuthFailure::Missing => ApiError::new(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ),
        AuthFailure::InvalidToken => ApiError::new(StatusCode::FORBIDDEN, "InvalidClientTokenId", INVALID_TOKEN),
        AuthFailure::Expired => ApiError::new(StatusCode::FORBIDDEN, "ExpiredToken", EXPIRED_TOKEN),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn signed(access_key_id: &str, token: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={access_key_id}/20260101/us-east-1/dms/aws4_request, SignedHeaders=host, Signature=ab"
        );
        h.insert("authorization", HeaderValue::from_str(&auth).unwrap());
        if let Some(token) = token {
            h.insert("x-amz-security-token", HeaderValue::from_str(token).unwrap());
        }
        h
    }

    #[test]
    fn issued_keys_act_in_their_account_with_their_token_until_they_expire() {
        let mut sessions = Sessions::default();
        let now = SystemTime::now();
        let s = sessions.issue("210987654321", "Janitor", "sweep", Duration::from_secs(900), now);
        assert!(s.access_key_id.starts_with("ASIA") && s.access_key_id.len() == 20, "{}", s.access_key_id);
        assert_eq!(s.expiration, now + Duration::from_secs(900));
        assert_eq!(s.caller.arn, "arn:aws:sts::210987654321:assumed-role/Janitor/sweep");
        assert!(s.caller.user_id.starts_with("AROA") && s.caller.user_id.ends_with(":sweep"));
        let good = signed(&s.access_key_id, Some(&s.session_token));
        assert_eq!(sessions.identify(&good, now).map(|c| c.account), Ok("210987654321".to_owned()));
        let later = now + Duration::from_secs(900);
        assert_eq!(sessions.identify(&good, later), Err(AuthFailure::Expired));
        assert_eq!(sessions.identify(&signed(&s.access_key_id, None), now), Err(AuthFailure::InvalidToken));
        assert_eq!(sessions.identify(&signed(&s.access_key_id, Some("forged")), now), Err(AuthFailure::InvalidToken));
        let other = sessions.issue("210987654321", "Janitor", "sweep", Duration::from_secs(900), now);
        assert_ne!((&other.access_key_id, &other.session_token), (&s.access_key_id, &s.session_token));
        sessions.expire_all();
        assert_eq!(sessions.identify(&good, now), Err(AuthFailure::Expired));
    }

    #[test]
    fn other_keys_are_the_management_accounts_unless_they_claim_to_be_temporary() {
        let mut sessions = Sessions::default();
        let now = SystemTime::now();
        let caller = sessions.identify(&signed("AKIDEXAMPLE", Some("any token")), now).unwrap();
        assert_eq!(caller.account, MANAGEMENT_ACCOUNT);
        assert_eq!(sessions.identify(&signed("ASIAUNKNOWN000000000", Some("t")), now), Err(AuthFailure::InvalidToken));
        assert_eq!(sessions.identify(&HeaderMap::new(), now), Err(AuthFailure::Missing));
        let s = sessions.issue("210987654321", "Janitor", "sweep", Duration::from_secs(900), now);
        sessions.retain_accounts(|account| account != "210987654321");
        let forgotten = signed(&s.access_key_id, Some(&s.session_token));
        assert_eq!(sessions.identify(&forgotten, now), Err(AuthFailure::InvalidToken));
    }

    #[test]
    fn each_protocol_family_spells_the_failures_its_way() {
        let codes = |f: fn(AuthFailure) -> ApiError| {
            [AuthFailure::Missing, AuthFailure::InvalidToken, AuthFailure::Expired]
                .map(|a| (f(a).code, f(a).status.as_u16()))
        };
        assert_eq!(
            codes(json_error),
            [
                ("MissingAuthenticationTokenException", 400),
                ("UnrecognizedClientException", 403),
                ("ExpiredTokenException", 403)
            ]
        );
        assert_eq!(
            codes(query_error),
            [("MissingAuthenticationToken", 403), ("InvalidClientTokenId", 403), ("ExpiredToken", 403)]
        );
    }
}
