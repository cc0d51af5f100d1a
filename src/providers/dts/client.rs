//! A small DTS RPC client: `POST /` with every parameter in the query string and an empty body, signed with V3,
//! JSON answers, retried and paced like every control plane's calls ([`crate::engine::calls`]) for throttling, 5xx and
//! transport failures. An expired
//! STS token has the credentials read again from their source (once per expiry) and the call retried once.

use super::credentials::{Credentials, CredentialsSource, RenewableCredentials, Renewal, Signing};
use super::sign::{self, Signable};
use super::time;
use crate::engine::calls::{Access, Attempt, Caller, Lane};
use serde_json::Value;
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// The DTS API version every call names.
pub const API_VERSION: &str = "2020-01-01";
/// The central endpoint, used by the regions the official SDK maps to it.
pub const CENTRAL_ENDPOINT: &str = "https://dts.aliyuncs.com";

/// Regions the official SDK (Dts20200101 client, endpoint map) sends to `dts.aliyuncs.com`; every other region
/// uses `dts.<region>.aliyuncs.com`.
const CENTRAL_REGIONS: &[&str] = &[
    "cn-qingdao",
    "cn-beijing",
    "cn-zhangjiakou",
    "cn-huhehaote",
    "cn-hangzhou",
    "cn-shanghai",
    "cn-shenzhen",
    "cn-hongkong",
    "cn-chengdu",
    "cn-wulanchabu",
    "cn-wuhan",
    "cn-fujian",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-5",
    "ap-south-1",
    "eu-west-1",
    "eu-central-1",
    "us-west-1",
    "us-east-1",
    "me-east-1",
    "cn-hangzhou-finance",
    "cn-shanghai-finance-1",
    "cn-shenzhen-finance-1",
    "cn-beijing-finance-1",
    "cn-north-2-gov-1",
];

/// Error codes that mean "slow down"; retried like 5xx answers.
const THROTTLING: &[&str] =
    &["Throttling", "Throttling.User", "Throttling.Api", "Throttling.Tps", "ServiceUnavailable"];
/// The code of an expired STS token.
pub const TOKEN_EXPIRED: &str = "InvalidSecurityToken.Expired";
/// Codes of a request whose signature the service rejected.
const SIGNATURE_REJECTED: &[&str] = &["SignatureDoesNotMatch", "IncompleteSignature"];

/// The endpoint for `region`: the central one for the regions the official SDK maps to it, else the regional one.
pub fn endpoint_for_region(region: &str) -> String {
    if CENTRAL_REGIONS.contains(&region) {
        CENTRAL_ENDPOINT.to_owned()
    } else {
        format!("https://dts.{region}.aliyuncs.com")
    }
}

/// Why a call failed. Never holds a credential: only what the service or the network said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DtsError {
    /// The gateway or service refused the request (`Code`/`Message`, e.g. throttling, signature, token).
    Api { status: u16, code: String, message: String, request_id: Option<String>, attempts: u32 },
    /// The service answered `Success: false` (`ErrCode`, `ErrMessage` with each `%s` filled from `DynamicMessage`).
    Business { status: u16, code: String, message: String, request_id: Option<String>, attempts: u32 },
    /// No answer: connection, TLS or timeout.
    Transport { message: String, attempts: u32 },
    /// An answer that is not the JSON expected.
    Decode { status: u16, message: String },
    /// The endpoint is not a usable URL.
    Endpoint { endpoint: String, message: String },
    /// The STS token has expired (`service`: the service's code and message), and reading the credentials again
    /// did not help or could not be done.
    TokenExpired { service: String, renewal: TokenRenewal },
}

/// What became of an expired STS token's credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenRenewal {
    /// They came from the environment (or were given as they are): never read again.
    NotRereadable,
    /// Read again from `origin`: it still holds an expired token (the same one, or a new one the service refused
    /// as expired too).
    StillExpired { origin: String },
    /// Reading `origin` again failed (`problem` never quotes a secret).
    RereadFailed { origin: String, problem: String },
}

impl DtsError {
    /// The service's error code, if it gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            DtsError::Api { code, .. } | DtsError::Business { code, .. } => Some(code),
            DtsError::TokenExpired { .. } => Some(TOKEN_EXPIRED),
            _ => None,
        }
    }

    /// The message that came with the code (filled), if any.
    pub fn message(&self) -> Option<&str> {
        match self {
            DtsError::Api { message, .. } | DtsError::Business { message, .. } => Some(message),
            _ => None,
        }
    }

    pub fn is_business(&self) -> bool {
        matches!(self, DtsError::Business { .. })
    }

    pub fn is_throttling(&self) -> bool {
        self.code().is_some_and(|c| THROTTLING.contains(&c) && c != "ServiceUnavailable")
    }

    pub fn is_token_expired(&self) -> bool {
        self.code() == Some(TOKEN_EXPIRED)
    }

    /// Worth another attempt: throttling, a 5xx answer, or no answer at all.
    pub fn is_retryable(&self) -> bool {
        match self {
            DtsError::Api { status, code, .. } | DtsError::Business { status, code, .. } => {
                code != TOKEN_EXPIRED
                    && (THROTTLING.contains(&code.as_str()) || matches!(status, 500 | 502 | 503 | 504))
            }
            DtsError::Transport { .. } => true,
            DtsError::Decode { status, .. } => matches!(status, 500 | 502 | 503 | 504),
            DtsError::Endpoint { .. } | DtsError::TokenExpired { .. } => false,
        }
    }

    /// How many attempts were made before giving up.
    pub fn attempts(&self) -> u32 {
        match self {
            DtsError::Api { attempts, .. }
            | DtsError::Business { attempts, .. }
            | DtsError::Transport { attempts, .. } => *attempts,
            _ => 1,
        }
    }

    fn with_attempts(mut self, n: u32) -> DtsError {
        if let DtsError::Api { attempts, .. }
        | DtsError::Business { attempts, .. }
        | DtsError::Transport { attempts, .. } = &mut self
        {
            *attempts = n;
        }
        self
    }
}

impl fmt::Display for DtsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DtsError::TokenExpired { service, renewal: TokenRenewal::NotRereadable } => write!(
                f,
                "the Alibaba Cloud STS token has expired ({service}); credentials from the environment are not read \
                 again: renew ALIBABA_CLOUD_SECURITY_TOKEN (credentials in the secret JANITOR_DTS_SECRET_ARN are read \
                 again when their token expires)"
            )?,
            DtsError::TokenExpired { service, renewal: TokenRenewal::StillExpired { origin } } => write!(
                f,
                "the Alibaba Cloud STS token in {origin} has expired and must be renewed ({service}); read again, it \
                 still holds an expired token"
            )?,
            DtsError::TokenExpired { service, renewal: TokenRenewal::RereadFailed { origin, problem } } => write!(
                f,
                "the Alibaba Cloud STS token in {origin} has expired and must be renewed ({service}); reading it \
                 again failed: {problem}"
            )?,
            DtsError::Api { code, message, .. } if SIGNATURE_REJECTED.contains(&code.as_str()) => {
                write!(
                    f,
                    "{code}: {message} (the request signature was rejected: check that the AccessKey secret belongs to \
                     the AccessKey ID)"
                )?;
            }
            DtsError::Api { code, message, .. } | DtsError::Business { code, message, .. } => {
                write!(f, "{code}: {message}")?;
            }
            DtsError::Transport { message, .. } => write!(f, "no answer from the DTS endpoint: {message}")?,
            DtsError::Decode { status, message } => write!(f, "unexpected answer (HTTP {status}): {message}")?,
            DtsError::Endpoint { endpoint, message } => write!(f, "invalid DTS endpoint {endpoint}: {message}")?,
        }
        let attempts = self.attempts();
        if attempts > 1 {
            write!(f, " (gave up after {attempts} attempts)")?;
        }
        Ok(())
    }
}

impl std::error::Error for DtsError {}

/// Fills each `%s` of `template` from `dynamic`: the whole of it for a single `%s`, else its comma-separated parts
/// in order. Placeholders without a value are left as they are.
pub fn fill_placeholders(template: &str, dynamic: &str) -> String {
    let dynamic = dynamic.trim();
    let holes = template.matches("%s").count();
    if holes == 0 || dynamic.is_empty() {
        return template.to_owned();
    }
    let values: Vec<&str> = if holes == 1 { vec![dynamic] } else { dynamic.split(',').map(str::trim).collect() };
    let mut out = String::with_capacity(template.len() + dynamic.len());
    let mut rest = template;
    let mut values = values.into_iter();
    while let Some(at) = rest.find("%s") {
        out.push_str(&rest[..at]);
        match values.next() {
            Some(value) => out.push_str(value),
            None => out.push_str("%s"),
        }
        rest = &rest[at + 2..];
    }
    out.push_str(rest);
    out
}

/// A signed DTS client for every region, built once per process. Clones share the credentials and their renewal.
#[derive(Clone)]
pub struct DtsClient {
    http: reqwest::Client,
    credentials: Arc<RenewableCredentials>,
    endpoint: Option<String>,
    caller: Caller,
    /// One lane per region: DTS limits calls per account and region.
    lanes: Arc<Mutex<HashMap<String, Arc<Lane>>>>,
    /// Where the `Date` of each answer goes, to tell whether this machine's clock is off.
    clocks: Option<Arc<crate::domain::clock::Clocks>>,
}

impl fmt::Debug for DtsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DtsClient")
            .field("credentials", &self.credentials)
            .field("endpoint", &self.endpoint)
            .field("retry", &self.caller.policy())
            .finish()
    }
}

impl DtsClient {
    /// `endpoint` (JANITOR_DTS_ENDPOINT) replaces the per-region endpoint for every region; `caller` retries and
    /// paces the calls like every other control plane's.
    pub fn new(credentials: Credentials, endpoint: Option<String>, caller: Caller) -> DtsClient {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        DtsClient {
            http,
            credentials: Arc::new(RenewableCredentials::new(credentials, None)),
            endpoint: endpoint.map(|e| e.trim().trim_end_matches('/').to_owned()).filter(|e| !e.is_empty()),
            caller,
            lanes: Arc::new(Mutex::new(HashMap::new())),
            clocks: None,
        }
    }

    /// Reports the `Date` of every answer to `clocks`.
    pub fn watching_clocks(mut self, clocks: &Arc<crate::domain::clock::Clocks>) -> DtsClient {
        self.clocks = Some(Arc::clone(clocks));
        self
    }

    /// `source` is where the credentials came from: when the service says their STS token has expired, it is read
    /// again (once per expiry, for every clone of this client) and the call retried once with what it holds.
    /// Without it, credentials are never read again.
    pub fn reread_on_expiry(mut self, source: Arc<dyn CredentialsSource>) -> DtsClient {
        let credentials = Credentials::clone(&self.credentials.current().credentials);
        self.credentials = Arc::new(RenewableCredentials::new(credentials, Some(source)));
        self
    }

    /// The endpoint calls for `region` go to.
    pub fn endpoint(&self, region: &str) -> String {
        self.endpoint.clone().unwrap_or_else(|| endpoint_for_region(region))
    }

    pub fn max_attempts(&self) -> u32 {
        self.caller.policy().max_attempts
    }

    fn lane(&self, region: &str) -> Arc<Lane> {
        match self.lanes.lock() {
            Ok(mut lanes) => {
                Arc::clone(lanes.entry(region.to_owned()).or_insert_with(|| Lane::new(format!("dts {region}"))))
            }
            Err(_) => Lane::new(format!("dts {region}")),
        }
    }

    /// Calls `action` in `region` with `params` (all in the query string), retrying what is worth retrying; after an
    /// expired STS token, once more with the credentials read again. Returns the answer's JSON when it succeeded.
    pub async fn call(
        &self,
        region: &str,
        access: Access,
        action: &str,
        params: &[(&str, String)],
    ) -> Result<Value, DtsError> {
        let target = self.target(region, params)?;
        let call = Call { target: &target, region, access, action };
        let signing = self.credentials.current();
        match self.send(&call, &signing.credentials).await {
            Err(error) if error.is_token_expired() => self.after_expiry(&call, &signing, &error).await,
            result => result,
        }
    }

    /// The call `signing` failed with `expired`: one retry with fresh credentials, or a clear error.
    async fn after_expiry(&self, call: &Call<'_>, signing: &Signing, expired: &DtsError) -> Result<Value, DtsError> {
        let service = format!("{}: {}", expired.code().unwrap_or_default(), expired.message().unwrap_or_default());
        let renewal = match self.credentials.renew(signing).await {
            Renewal::Fresh { signing, origin } => match self.send(call, &signing.credentials).await {
                Err(again) if again.is_token_expired() => TokenRenewal::StillExpired { origin },
                result => return result,
            },
            Renewal::NotRenewable => TokenRenewal::NotRereadable,
            Renewal::Unchanged { origin } => TokenRenewal::StillExpired { origin },
            Renewal::Failed { origin, error } => TokenRenewal::RereadFailed { origin, problem: error.problem },
        };
        Err(DtsError::TokenExpired { service, renewal })
    }

    /// Where a call goes: the URL with the canonical query, and the host and path it is signed with.
    fn target(&self, region: &str, params: &[(&str, String)]) -> Result<Target, DtsError> {
        let endpoint = self.endpoint(region);
        let mut url = reqwest::Url::parse(&endpoint)
            .map_err(|e| DtsError::Endpoint { endpoint: endpoint.clone(), message: e.to_string() })?;
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => {
                return Err(DtsError::Endpoint { endpoint, message: "the URL has no host".to_owned() });
            }
        };
        let owned: Vec<(String, String)> = params.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        let query = sign::canonical_query(&owned);
        url.set_query(if query.is_empty() { None } else { Some(&query) });
        let path = if url.path().is_empty() { "/".to_owned() } else { url.path().to_owned() };
        Ok(Target { url, host, path, query })
    }

    /// One call with `credentials`, retried and paced on its region's lane while the error is worth retrying.
    async fn send(&self, call: &Call<'_>, credentials: &Credentials) -> Result<Value, DtsError> {
        let lane = self.lane(call.region);
        let classify = |error: &DtsError| {
            if error.is_throttling() {
                Attempt::Throttled
            } else if error.is_retryable() {
                Attempt::Transient
            } else {
                Attempt::Final
            }
        };
        let attempt = || self.attempt(call.target, call.action, credentials);
        let result = self.caller.call(&lane, call.access, classify, attempt).await;
        result.map_err(|failed| failed.error.with_attempts(failed.attempts))
    }

    /// One signed request: fresh date and nonce each time.
    async fn attempt(&self, target: &Target, action: &str, credentials: &Credentials) -> Result<Value, DtsError> {
        let Target { url, host, path, query } = target;
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        headers.insert("host".into(), host.clone());
        headers.insert("x-acs-action".into(), action.to_owned());
        headers.insert("x-acs-version".into(), API_VERSION.to_owned());
        headers.insert("x-acs-date".into(), time::format_utc(SystemTime::now()));
        headers.insert("x-acs-signature-nonce".into(), nonce());
        headers.insert("x-acs-content-sha256".into(), sign::EMPTY_BODY_SHA256.to_owned());
        if let Some(token) = &credentials.security_token {
            headers.insert("x-acs-security-token".into(), token.clone());
        }
        let signable =
            Signable { method: "POST", path, query, headers: &headers, payload_hash: sign::EMPTY_BODY_SHA256 };
        let authorization = signable.authorization(&credentials.access_key_id, &credentials.access_key_secret);
        let mut request = self.http.post(url.clone()).header("authorization", authorization);
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let sent = std::time::SystemTime::now();
        let response = request.send().await.map_err(|e| DtsError::Transport { message: chain(&e), attempts: 1 })?;
        if let Some(clocks) = &self.clocks {
            let headers = response.headers();
            let date = headers.get("date").and_then(|d| d.to_str().ok());
            if let Some(server) = crate::aws::answer_date(date, headers.contains_key("age")) {
                clocks.observe("dts", server, sent, std::time::SystemTime::now());
            }
        }
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| DtsError::Transport { message: chain(&e), attempts: 1 })?;
        interpret(status, &body)
    }
}

/// One call: where it goes and what it does.
struct Call<'a> {
    target: &'a Target,
    region: &'a str,
    access: Access,
    action: &'a str,
}

/// Where one call goes (the same for each of its attempts).
struct Target {
    url: reqwest::Url,
    host: String,
    path: String,
    query: String,
}

/// Turns one HTTP answer into the JSON of a success or the error it describes.
fn interpret(status: u16, body: &[u8]) -> Result<Value, DtsError> {
    let json: Value = match serde_json::from_slice(body) {
        Ok(json) => json,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let snippet: String = text.chars().take(200).collect();
            let decode = DtsError::Decode { status, message: format!("the body is not JSON: {:?}", snippet.trim()) };
            return Err(decode);
        }
    };
    let text = |key: &str| -> Option<String> {
        match json.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    };
    let request_id = text("RequestId");
    let failed = match json.get("Success") {
        Some(Value::Bool(b)) => !b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("false"),
        _ => false,
    };
    if failed || (status >= 400 && text("ErrCode").is_some() && text("Code").is_none()) {
        let status = text("HttpStatusCode").and_then(|s| s.parse().ok()).unwrap_or(status);
        let dynamic_code = text("DynamicCode").unwrap_or_default();
        let dynamic_message = text("DynamicMessage").unwrap_or_default();
        let code = fill_placeholders(&text("ErrCode").or_else(|| text("Code")).unwrap_or_default(), &dynamic_code);
        let message =
            fill_placeholders(&text("ErrMessage").or_else(|| text("Message")).unwrap_or_default(), &dynamic_message);
        let code = if code.is_empty() { format!("HTTP{status}") } else { code };
        return Err(DtsError::Business { status, code, message, request_id, attempts: 1 });
    }
    if status >= 400 {
        let code = text("Code").or_else(|| text("ErrCode")).unwrap_or_else(|| format!("HTTP{status}"));
        let message = text("Message").or_else(|| text("ErrMessage")).unwrap_or_default();
        return Err(DtsError::Api { status, code, message, request_id, attempts: 1 });
    }
    if !json.is_object() {
        return Err(DtsError::Decode { status, message: "the body is JSON but not an object".to_owned() });
    }
    Ok(json)
}

/// An error and its causes, on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A random 64-bit value from the standard library's randomly keyed hasher.
fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(since) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
        hasher.write_u128(since.as_nanos());
    }
    hasher.finish()
}

/// A nonce unique per request: random bits and a process-wide counter.
fn nonce() -> String {
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}{:016x}", random_u64(), count ^ random_u64().rotate_left(32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::calls::RetryPolicy;

    #[test]
    fn endpoints_follow_the_official_map() {
        for region in ["cn-hangzhou", "cn-shanghai", "ap-southeast-1", "us-east-1", "eu-central-1", "cn-chengdu"] {
            assert_eq!(endpoint_for_region(region), "https://dts.aliyuncs.com", "{region}");
        }
        assert_eq!(endpoint_for_region("ap-northeast-1"), "https://dts.ap-northeast-1.aliyuncs.com");
        assert_eq!(endpoint_for_region("cn-guangzhou"), "https://dts.cn-guangzhou.aliyuncs.com");
        let client = DtsClient::new(
            Credentials::new("id", "secret", None),
            Some("http://127.0.0.1:9/".into()),
            Caller::new(RetryPolicy::new(0), 1),
        );
        assert_eq!(client.endpoint("ap-northeast-1"), "http://127.0.0.1:9");
        assert_eq!(client.max_attempts(), 1);
    }

    #[test]
    fn placeholders_are_filled_from_the_dynamic_message() {
        let template = "The Value of Input Parameter %s is not valid.";
        assert_eq!(fill_placeholders(template, "DtsJobId"), "The Value of Input Parameter DtsJobId is not valid.");
        assert_eq!(fill_placeholders(template, ""), template);
        assert_eq!(fill_placeholders("no holes", "x"), "no holes");
        assert_eq!(fill_placeholders("%s and %s", "a, b"), "a and b");
        assert_eq!(fill_placeholders("%s, %s and %s", "a,b"), "a, b and %s");
        assert_eq!(fill_placeholders("only %s", "a,b"), "only a,b");
    }

    #[test]
    fn answers_are_classified() {
        let ok = interpret(200, br#"{"RequestId":"r","Success":true,"DtsJobList":[]}"#).unwrap();
        assert_eq!(ok["RequestId"], "r");
        let gateway = interpret(
            400,
            br#"{"RequestId":"r","Code":"Throttling.User","Message":"Request was denied due to user flow control."}"#,
        )
        .unwrap_err();
        assert!(gateway.is_retryable() && gateway.is_throttling());
        assert_eq!(gateway.to_string(), "Throttling.User: Request was denied due to user flow control.");
        let business = interpret(
            200,
            br#"{"RequestId":"r","Success":false,"HttpStatusCode":400,"ErrCode":"InvalidParameter","ErrMessage":"The Value of Input Parameter %s is not valid.","DynamicMessage":"DtsInstanceId"}"#,
        )
        .unwrap_err();
        assert!(business.is_business() && !business.is_retryable());
        assert_eq!(business.to_string(), "InvalidParameter: The Value of Input Parameter DtsInstanceId is not valid.");
        let string_false = interpret(200, br#"{"Success":"false","ErrCode":"X","ErrMessage":"y"}"#).unwrap_err();
        assert_eq!(string_false.code(), Some("X"));
        let expired = interpret(
            403,
            br#"{"Code":"InvalidSecurityToken.Expired","Message":"Specified SecurityToken is expired."}"#,
        )
        .unwrap_err();
        assert!(expired.is_token_expired() && !expired.is_retryable());
        assert_eq!(expired.to_string(), "InvalidSecurityToken.Expired: Specified SecurityToken is expired.");
        let unavailable = interpret(503, br#"{"Code":"ServiceUnavailable","Message":"later"}"#).unwrap_err();
        assert!(unavailable.is_retryable() && !unavailable.is_throttling());
        let internal = interpret(500, br#"{"Code":"InternalError","Message":"oops"}"#).unwrap_err();
        assert!(internal.is_retryable());
        let signature = interpret(
            400,
            br#"{"Code":"SignatureDoesNotMatch","Message":"Specified signature does not match our calculation."}"#,
        )
        .unwrap_err();
        assert!(!signature.is_retryable());
        assert!(signature.to_string().contains("the request signature was rejected"), "{signature}");
        let text = interpret(502, b"<html>bad gateway</html>").unwrap_err();
        assert!(matches!(text, DtsError::Decode { status: 502, .. }) && text.is_retryable());
        assert!(!interpret(404, b"not json").unwrap_err().is_retryable());
    }

    #[test]
    fn an_expired_token_says_where_it_must_be_renewed() {
        let expired = |renewal| DtsError::TokenExpired {
            service: "InvalidSecurityToken.Expired: Specified SecurityToken is expired.".into(),
            renewal,
        };
        let from_env = expired(TokenRenewal::NotRereadable);
        assert!(from_env.is_token_expired() && !from_env.is_retryable());
        assert_eq!(
            from_env.to_string(),
            "the Alibaba Cloud STS token has expired (InvalidSecurityToken.Expired: Specified SecurityToken is \
             expired.); credentials from the environment are not read again: renew ALIBABA_CLOUD_SECURITY_TOKEN \
             (credentials in the secret JANITOR_DTS_SECRET_ARN are read again when their token expires)"
        );
        let origin = "Secrets Manager secret arn:aws:secretsmanager:us-east-1:1:secret:dts".to_owned();
        assert_eq!(
            expired(TokenRenewal::StillExpired { origin: origin.clone() }).to_string(),
            "the Alibaba Cloud STS token in Secrets Manager secret arn:aws:secretsmanager:us-east-1:1:secret:dts has \
             expired and must be renewed (InvalidSecurityToken.Expired: Specified SecurityToken is expired.); read \
             again, it still holds an expired token"
        );
        let failed = expired(TokenRenewal::RereadFailed { origin, problem: "GetSecretValue failed: boom".into() });
        assert!(failed.to_string().ends_with("has expired and must be renewed (InvalidSecurityToken.Expired: Specified SecurityToken is expired.); reading it again failed: GetSecretValue failed: boom"), "{failed}");
    }

    #[test]
    fn attempts_are_reported_when_more_than_one() {
        let error = DtsError::Api {
            status: 400,
            code: "Throttling.User".into(),
            message: "slow down".into(),
            request_id: None,
            attempts: 1,
        }
        .with_attempts(4);
        assert_eq!(error.to_string(), "Throttling.User: slow down (gave up after 4 attempts)");
    }

    #[test]
    fn nonces_are_unique() {
        let nonces: std::collections::HashSet<String> = (0..10_000).map(|_| nonce()).collect();
        assert_eq!(nonces.len(), 10_000);
        assert!(nonces.iter().all(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit())));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let client = DtsClient::new(
            Credentials::new("LTAI", "very-secret", Some("tok-en".into())),
            None,
            Caller::new(RetryPolicy::new(3), 1),
        );
        let shown = format!("{client:?}");
        assert!(!shown.contains("very-secret") && !shown.contains("tok-en"), "{shown}");
    }
}
