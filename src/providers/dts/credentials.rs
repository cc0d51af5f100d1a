//! Alibaba Cloud credentials: an AccessKey pair and, for STS, a security token. From the environment (read once) or
//! from an AWS Secrets Manager secret (read at cold start, and again when the service says the STS token in it has
//! expired: a warm Lambda outlives an STS token). Neither `Debug` nor any error ever shows the secret or the token.

use async_trait::async_trait;
use serde_json::{Map, Value};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// The environment variables the official Alibaba Cloud SDKs read.
pub const ENV_ACCESS_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
pub const ENV_ACCESS_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
pub const ENV_SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";

/// An AccessKey pair, with the security token of STS credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: String,
    pub security_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"<redacted>")
            .field("security_token", &self.security_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Why no credentials could be had: which source, and what is missing or wrong (never a secret value).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Alibaba Cloud credentials from {origin}: {problem}")]
pub struct CredentialsError {
    /// Where they were looked for: `the environment`, `the secret string`, `Secrets Manager secret <arn>`.
    pub origin: String,
    pub problem: String,
}

/// The JSON key names accepted in a secret, each with its alternative spelling.
const SECRET_KEYS: [(&str, &str); 3] = [
    (ENV_ACCESS_KEY_ID, "AccessKeyId"),
    (ENV_ACCESS_KEY_SECRET, "AccessKeySecret"),
    (ENV_SECURITY_TOKEN, "SecurityToken"),
];

impl Credentials {
    pub fn new(
        access_key_id: impl Into<String>,
        access_key_secret: impl Into<String>,
        security_token: Option<String>,
    ) -> Credentials {
        Credentials {
            access_key_id: access_key_id.into(),
            access_key_secret: access_key_secret.into(),
            security_token: security_token.filter(|t| !t.is_empty()),
        }
    }

    /// Like [`Credentials::from_env`], naming the missing variable when there are none.
    pub fn require_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Credentials, CredentialsError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let missing = |variable: &str| {
            CredentialsError {
            origin: "the environment".to_owned(),
            problem: format!("{variable} is not set (set {ENV_ACCESS_KEY_ID} and {ENV_ACCESS_KEY_SECRET}, and {ENV_SECURITY_TOKEN} for STS credentials, or JANITOR_DTS_SECRET_ARN)"),
        }
        };
        let id = get(ENV_ACCESS_KEY_ID).ok_or_else(|| missing(ENV_ACCESS_KEY_ID))?;
        let secret = get(ENV_ACCESS_KEY_SECRET).ok_or_else(|| missing(ENV_ACCESS_KEY_SECRET))?;
        Ok(Credentials::new(id, secret, get(ENV_SECURITY_TOKEN)))
    }

    /// A JSON object holding `ALIBABA_CLOUD_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET` and optionally
    /// `ALIBABA_CLOUD_SECURITY_TOKEN` (or `AccessKeyId`, `AccessKeySecret`, `SecurityToken`).
    pub fn from_secret_string(secret: &str) -> Result<Credentials, CredentialsError> {
        parse_secret(secret, "the secret string")
    }

    /// Reads the secret `arn` once (GetSecretValue) and parses its SecretString as [`Credentials::from_secret_string`]
    /// does.
    pub async fn from_secrets_manager(
        client: &aws_sdk_secretsmanager::Client,
        arn: &str,
    ) -> Result<Credentials, CredentialsError> {
        let origin = format!("Secrets Manager secret {arn}");
        let output = client.get_secret_value().secret_id(arn).send().await.map_err(|error| {
            use aws_smithy_types::error::metadata::ProvideErrorMetadata;
            let problem = match (error.code(), error.message()) {
                (Some(code), message) => format!(
                    "GetSecretValue failed: {code}: {}{}",
                    message.unwrap_or_default(),
                    if code == "AccessDeniedException" {
                        " (the janitor's role needs secretsmanager:GetSecretValue on this secret)"
                    } else {
                        ""
                    }
                ),
                (None, _) => {
                    format!("GetSecretValue failed: {}", aws_smithy_types::error::display::DisplayErrorContext(&error))
                }
            };
            CredentialsError { origin: origin.clone(), problem }
        })?;
        let secret = output.secret_string().ok_or_else(|| CredentialsError {
            origin: origin.clone(),
            problem: "the secret has no SecretString (a binary secret cannot hold the credentials)".to_owned(),
        })?;
        parse_secret(secret, &origin)
    }
}

/// Where credentials can be read again when the STS token in them expires.
#[async_trait]
pub trait CredentialsSource: Send + Sync {
    /// What it is, for messages (`Secrets Manager secret <arn>`); never a secret value.
    fn origin(&self) -> String;
    /// The credentials it holds now.
    async fn read(&self) -> Result<Credentials, CredentialsError>;
}

/// The Secrets Manager secret `JANITOR_DTS_SECRET_ARN` names, read with GetSecretValue.
#[derive(Clone)]
pub struct SecretsManagerSecret {
    client: aws_sdk_secretsmanager::Client,
    arn: String,
}

impl SecretsManagerSecret {
    pub fn new(client: aws_sdk_secretsmanager::Client, arn: impl Into<String>) -> SecretsManagerSecret {
        SecretsManagerSecret { client, arn: arn.into() }
    }
}

impl fmt::Debug for SecretsManagerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsManagerSecret").field("arn", &self.arn).finish()
    }
}

#[async_trait]
impl CredentialsSource for SecretsManagerSecret {
    fn origin(&self) -> String {
        format!("Secrets Manager secret {}", self.arn)
    }

    async fn read(&self) -> Result<Credentials, CredentialsError> {
        Credentials::from_secrets_manager(&self.client, &self.arn).await
    }
}

/// The credentials one call signs with, and which reading of their source they came from.
#[derive(Clone, Debug)]
pub(crate) struct Signing {
    generation: u64,
    pub(crate) credentials: Arc<Credentials>,
}

/// What reading the credentials again after an expired STS token gave.
#[derive(Debug)]
pub(crate) enum Renewal {
    /// Credentials other than the expired ones, read from `origin`: the call is retried once with these.
    Fresh { signing: Signing, origin: String },
    /// No source to read them from again (the environment, or credentials given as they are).
    NotRenewable,
    /// The source still holds the credentials whose token just expired.
    Unchanged { origin: String },
    /// The source could not be read.
    Failed { origin: String, error: CredentialsError },
}

struct Current {
    /// How many times the source was read again; a call compares it with the one it signed under.
    generation: u64,
    credentials: Arc<Credentials>,
    /// Why the last reading failed, if it did (the credentials are then still the ones before it).
    reread_error: Option<CredentialsError>,
}

/// The credentials every clone of a client signs with. When calls find their STS token expired, the source is read
/// again once (single flight: one reading per expiry however many calls failed at once; the calls that waited use
/// what it read).
pub(crate) struct RenewableCredentials {
    current: Mutex<Current>,
    source: Option<Arc<dyn CredentialsSource>>,
    rereading: tokio::sync::Mutex<()>,
}

impl fmt::Debug for RenewableCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenewableCredentials")
            .field("credentials", &self.current().credentials)
            .field("source", &self.source.as_ref().map(|source| source.origin()))
            .finish()
    }
}

impl RenewableCredentials {
    pub(crate) fn new(credentials: Credentials, source: Option<Arc<dyn CredentialsSource>>) -> RenewableCredentials {
        let current = Current { generation: 0, credentials: Arc::new(credentials), reread_error: None };
        RenewableCredentials { current: Mutex::new(current), source, rereading: tokio::sync::Mutex::new(()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What a call signs with now.
    pub(crate) fn current(&self) -> Signing {
        let current = self.lock();
        Signing { generation: current.generation, credentials: Arc::clone(&current.credentials) }
    }

    /// After the service refused `expired` as an expired STS token: reads the source again, unless another call
    /// already did since `expired` was handed out, and says what to do next.
    pub(crate) async fn renew(&self, expired: &Signing) -> Renewal {
        let Some(source) = &self.source else {
            return Renewal::NotRenewable;
        };
        let _single_flight = self.rereading.lock().await;
        if self.lock().generation == expired.generation {
            let origin = source.origin();
            tracing::info!(%origin, "the Alibaba Cloud STS token has expired; reading the credentials again");
            let read = source.read().await;
            let mut current = self.lock();
            current.generation = current.generation.wrapping_add(1);
            match read {
                Ok(credentials) => {
                    current.credentials = Arc::new(credentials);
                    current.reread_error = None;
                }
                Err(error) => {
                    tracing::warn!(%error, "reading the Alibaba Cloud credentials again failed");
                    current.reread_error = Some(error);
                }
            }
        }
        let current = self.lock();
        let origin = source.origin();
        if let Some(error) = &current.reread_error {
            Renewal::Failed { origin, error: error.clone() }
        } else if current.credentials == expired.credentials {
            Renewal::Unchanged { origin }
        } else {
            let signing = Signing { generation: current.generation, credentials: Arc::clone(&current.credentials) };
            Renewal::Fresh { signing, origin }
        }
    }
}

fn parse_secret(secret: &str, origin: &str) -> Result<Credentials, CredentialsError> {
    let error = |problem: String| CredentialsError { origin: origin.to_owned(), problem };
    // The parser's own message may quote the input, so only its position is reported.
    let object: Map<String, Value> = match serde_json::from_str::<Value>(secret) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(error("the secret is JSON but not an object".to_owned())),
        Err(e) => {
            return Err(error(format!(
                "the secret is not a JSON object (invalid JSON at line {} column {})",
                e.line(),
                e.column()
            )))
        }
    };
    let field = |(name, alias): (&str, &str)| -> Result<Option<String>, CredentialsError> {
        match object.get(name).or_else(|| object.get(alias)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(error(format!("{name} (or {alias}) is not a string"))),
        }
    };
    let [id, secret_key, token] = SECRET_KEYS;
    let missing = |(name, alias): (&str, &str)| error(format!("the secret has no {name} (or {alias})"));
    let access_key_id = field(id)?.ok_or_else(|| missing(id))?;
    let access_key_secret = field(secret_key)?.ok_or_else(|| missing(secret_key))?;
    Ok(Credentials::new(access_key_id, access_key_secret, field(token)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-Value/with+chars";
    const TOKEN: &str = "CAIS-sts-token-value";

    #[test]
    fn debug_redacts_the_secret_and_the_token() {
        let credentials = Credentials::new("LTAI123", SECRET, Some(TOKEN.to_owned()));
        let shown = format!("{credentials:?} {credentials:#?}");
        assert!(shown.contains("LTAI123"), "{shown}");
        assert!(!shown.contains(SECRET) && !shown.contains(TOKEN), "{shown}");
        assert!(shown.contains("<redacted>"));
        let without = format!("{:?}", Credentials::new("LTAI123", SECRET, None));
        assert!(without.contains("security_token: None"), "{without}");
    }

    #[test]
    fn reads_the_environment() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let full = env(&[(ENV_ACCESS_KEY_ID, "LTAI1"), (ENV_ACCESS_KEY_SECRET, SECRET), (ENV_SECURITY_TOKEN, TOKEN)]);
        assert_eq!(Credentials::require_env(full).ok(), Some(Credentials::new("LTAI1", SECRET, Some(TOKEN.into()))));
        let pair = env(&[(ENV_ACCESS_KEY_ID, "LTAI1"), (ENV_ACCESS_KEY_SECRET, SECRET), (ENV_SECURITY_TOKEN, "")]);
        assert_eq!(Credentials::require_env(pair).ok().and_then(|c| c.security_token), None);
        assert_eq!(Credentials::require_env(env(&[(ENV_ACCESS_KEY_ID, "LTAI1")])).ok(), None);
        let err = Credentials::require_env(env(&[(ENV_ACCESS_KEY_ID, "LTAI1")])).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("Alibaba Cloud credentials from the environment: ALIBABA_CLOUD_ACCESS_KEY_SECRET is not set"));
        let err = Credentials::require_env(env(&[])).unwrap_err();
        assert!(err.problem.starts_with("ALIBABA_CLOUD_ACCESS_KEY_ID is not set"), "{err}");
    }

    #[test]
    fn reads_a_secret_in_either_spelling() {
        let sdk = format!(
            r#"{{"ALIBABA_CLOUD_ACCESS_KEY_ID":"LTAI2","ALIBABA_CLOUD_ACCESS_KEY_SECRET":"{SECRET}","ALIBABA_CLOUD_SECURITY_TOKEN":"{TOKEN}"}}"#
        );
        assert_eq!(Credentials::from_secret_string(&sdk), Ok(Credentials::new("LTAI2", SECRET, Some(TOKEN.into()))));
        let pascal = format!(r#"{{"AccessKeyId":"LTAI3","AccessKeySecret":"{SECRET}","other":1}}"#);
        assert_eq!(Credentials::from_secret_string(&pascal), Ok(Credentials::new("LTAI3", SECRET, None)));
    }

    /// A source that hands out `answers` in turn (the last one again when they run out) and counts its readings.
    struct Scripted {
        answers: Vec<Result<Credentials, CredentialsError>>,
        reads: std::sync::atomic::AtomicUsize,
    }

    impl Scripted {
        fn new(answers: Vec<Result<Credentials, CredentialsError>>) -> Arc<Scripted> {
            Arc::new(Scripted { answers, reads: Default::default() })
        }

        fn reads(&self) -> usize {
            self.reads.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    #[async_trait]
    impl CredentialsSource for Scripted {
        fn origin(&self) -> String {
            "the test's source".to_owned()
        }

        async fn read(&self) -> Result<Credentials, CredentialsError> {
            let n = self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            // Let the other calls pile up on the single flight while this reading is under way.
            tokio::task::yield_now().await;
            self.answers[n.min(self.answers.len() - 1)].clone()
        }
    }

    fn sts(token: &str) -> Credentials {
        Credentials::new("STS.key", SECRET, Some(token.to_owned()))
    }

    fn renewable(source: &Arc<Scripted>) -> RenewableCredentials {
        RenewableCredentials::new(sts("old"), Some(Arc::clone(source) as Arc<dyn CredentialsSource>))
    }

    fn token_of(renewal: &Renewal) -> Option<&str> {
        match renewal {
            Renewal::Fresh { signing, .. } => signing.credentials.security_token.as_deref(),
            _ => None,
        }
    }

    #[tokio::test]
    async fn many_calls_expiring_at_once_read_the_source_once_and_all_get_the_fresh_token() {
        let source = Scripted::new(vec![Ok(sts("new")), Ok(sts("newer"))]);
        let credentials = renewable(&source);
        let expired = credentials.current();
        let renewals = futures::future::join_all((0..8).map(|_| credentials.renew(&expired))).await;
        assert_eq!(source.reads(), 1);
        assert!(renewals.iter().all(|r| token_of(r) == Some("new")), "{renewals:?}");
        assert_eq!(credentials.current().credentials.security_token.as_deref(), Some("new"));

        // The fresh token expires in its turn: that is a new expiry, read again once.
        let fresh = credentials.current();
        assert_eq!(token_of(&credentials.renew(&fresh).await), Some("newer"));
        assert_eq!(source.reads(), 2);
        // A call that signed before the first reading and failed late uses what is there now, without a reading.
        assert_eq!(token_of(&credentials.renew(&expired).await), Some("newer"));
        assert_eq!(source.reads(), 2);
    }

    #[tokio::test]
    async fn a_source_still_holding_the_expired_token_or_failing_says_so_to_every_waiting_call() {
        let unchanged = Scripted::new(vec![Ok(sts("old"))]);
        let credentials = renewable(&unchanged);
        let expired = credentials.current();
        let renewals = futures::future::join_all((0..4).map(|_| credentials.renew(&expired))).await;
        assert_eq!(unchanged.reads(), 1);
        assert!(renewals.iter().all(|r| matches!(r, Renewal::Unchanged { origin } if origin == "the test's source")));

        let problem = CredentialsError { origin: "the test's source".into(), problem: "GetSecretValue failed".into() };
        let failing = Scripted::new(vec![Err(problem.clone()), Ok(sts("new"))]);
        let credentials = renewable(&failing);
        let expired = credentials.current();
        let renewals = futures::future::join_all((0..4).map(|_| credentials.renew(&expired))).await;
        assert_eq!(failing.reads(), 1);
        assert!(renewals.iter().all(|r| matches!(r, Renewal::Failed { error, .. } if *error == problem)));
        assert_eq!(credentials.current().credentials.security_token.as_deref(), Some("old"), "nothing was replaced");
        // A later expiry (the next invocation of a warm Lambda) reads again, and gets the renewed secret.
        let later = credentials.current();
        assert_eq!(token_of(&credentials.renew(&later).await), Some("new"));
        assert_eq!(failing.reads(), 2);
    }

    #[tokio::test]
    async fn credentials_without_a_source_are_never_read_again() {
        let credentials = RenewableCredentials::new(sts(TOKEN), None);
        assert!(matches!(credentials.renew(&credentials.current()).await, Renewal::NotRenewable));
        let shown = format!("{credentials:?}");
        assert!(!shown.contains(SECRET) && !shown.contains(TOKEN), "{shown}");
    }

    #[test]
    fn secret_errors_say_what_is_wrong_and_never_quote_the_secret() {
        let cases = [
            (
                format!(r#"{{"AccessKeyId":"LTAI","AccessKeySecret":"{SECRET}""#),
                "the secret is not a JSON object (invalid JSON at line 1 column",
            ),
            (format!(r#""{SECRET}""#), "the secret is JSON but not an object"),
            (
                format!(r#"{{"AccessKeySecret":"{SECRET}"}}"#),
                "the secret has no ALIBABA_CLOUD_ACCESS_KEY_ID (or AccessKeyId)",
            ),
            (
                r#"{"AccessKeyId":"LTAI"}"#.to_owned(),
                "the secret has no ALIBABA_CLOUD_ACCESS_KEY_SECRET (or AccessKeySecret)",
            ),
            (
                format!(r#"{{"AccessKeyId":"LTAI","AccessKeySecret":["{SECRET}"]}}"#),
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET (or AccessKeySecret) is not a string",
            ),
            (SECRET.to_owned(), "the secret is not a JSON object"),
        ];
        for (input, expected) in cases {
            let err = Credentials::from_secret_string(&input).unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(expected), "{input}: {shown}");
            assert!(shown.contains("from the secret string"), "{shown}");
            assert!(!shown.contains(SECRET), "{shown}");
        }
    }
}
