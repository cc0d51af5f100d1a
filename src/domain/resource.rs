//! The domain: what a control plane reports about one resource, in provider-neutral terms the policy can judge.

use serde::Serialize;
use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use std::time::SystemTime;

/// Whose API a provider speaks, as data: settings, payloads, start-up and the sweep read what they need of a cloud
/// from here and never branch on which one it is. Each cloud's regions are configured apart, because clouds share
/// region ids (Alibaba Cloud's `us-east-1` is not AWS's).
#[derive(Debug)]
pub struct Cloud {
    /// Its name, the key of its regions in settings and requests (`aws`).
    pub name: &'static str,
    /// What people call it (`Alibaba Cloud`).
    pub title: &'static str,
    /// The setting that lists its regions (`JANITOR_REGIONS`).
    pub region_setting: &'static str,
    /// The key of a manual payload that narrows its regions (`regions`).
    pub payload_key: &'static str,
    /// Its regions in an error about a payload (`regions`, `DTS regions`).
    pub regions_noun: &'static str,
    /// Who its regions are, in a note (`AWS` regions).
    pub label: &'static str,
    /// A valid list, for errors (`region names such as us-east-1,eu-west-1`).
    pub region_example: &'static str,
    /// Whether a name has the shape of one of its regions: a typo (`us-east1`) is an error at start, not a sweep
    /// of a region that does not exist.
    pub region_shape: fn(&str) -> bool,
    /// Whether its clients come from the AWS configuration (credentials, endpoints), whose region stands in when its
    /// region setting is unset; else that setting is required.
    pub aws_credentials: bool,
    /// Whether an organization run sweeps its providers in each member account (through the member role), rather
    /// than once with the janitor's own credentials.
    pub per_account: bool,
}

impl PartialEq for Cloud {
    fn eq(&self, other: &Cloud) -> bool {
        self.name == other.name
    }
}

impl Eq for Cloud {}

/// Amazon Web Services: regions from `JANITOR_REGIONS` or the AWS configuration; clients from the AWS configuration.
pub static AWS: Cloud = Cloud {
    name: "aws",
    title: "AWS",
    region_setting: "JANITOR_REGIONS",
    payload_key: "regions",
    regions_noun: "regions",
    label: "AWS",
    region_example: "region names such as us-east-1,eu-west-1",
    region_shape: is_aws_region,
    aws_credentials: true,
    per_account: true,
};

/// Alibaba Cloud (DTS): regions from `JANITOR_DTS_REGIONS`, swept once with the janitor's own AccessKey.
pub static ALIBABA: Cloud = Cloud {
    name: "alibaba",
    title: "Alibaba Cloud",
    region_setting: "JANITOR_DTS_REGIONS",
    payload_key: "dtsRegions",
    regions_noun: "DTS regions",
    label: "DTS",
    region_example: "Alibaba Cloud regions such as cn-hangzhou,ap-southeast-1",
    region_shape: is_region_name,
    aws_credentials: false,
    per_account: false,
};

/// Whether `name` has the form of a region name: lowercase words and digits joined by hyphens (`us-east-1`,
/// `cn-hangzhou`), at most 64 characters.
pub fn is_region_name(name: &str) -> bool {
    name.len() <= 64
        && name.split('-').count() >= 2
        && name
            .split('-')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
}

/// Whether `name` has the form of an AWS region code: a two-letter area, words, and a number (`us-east-1`,
/// `us-gov-west-1`, `ap-southeast-7`), as every region in AWS's list of region codes has it.
pub fn is_aws_region(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    let letters = |p: &&str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase());
    is_region_name(name)
        && parts.len() >= 3
        && parts[0].len() == 2
        && parts[1..parts.len() - 1].iter().all(letters)
        && parts.last().is_some_and(|n| !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit()))
}

/// A provider's first-seen grace: how long the janitor must have seen a resource stale before it may delete it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grace {
    pub duration: Duration,
    /// The setting that sets it, for reasons.
    pub variable: &'static str,
}

/// A control plane the janitor sweeps, by the name settings, payloads and reports use (`dms`, `rds`, ...), on its
/// cloud. Each provider module declares its own; the registry (`providers::registry`) lists them and says
/// everything else. Two providers are the same when their names are.
#[derive(Clone, Copy, Debug)]
pub struct Provider {
    name: &'static str,
    cloud: &'static Cloud,
}

impl Provider {
    pub const fn on(name: &'static str, cloud: &'static Cloud) -> Provider {
        Provider { name, cloud }
    }

    pub fn as_str(self) -> &'static str {
        self.name
    }

    pub fn cloud(self) -> &'static Cloud {
        self.cloud
    }
}

impl PartialEq for Provider {
    fn eq(&self, other: &Provider) -> bool {
        self.name == other.name
    }
}

impl Eq for Provider {}

impl std::hash::Hash for Provider {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl PartialOrd for Provider {
    fn partial_cmp(&self, other: &Provider) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Provider {
    fn cmp(&self, other: &Provider) -> std::cmp::Ordering {
        self.name.cmp(other.name)
    }
}

impl Serialize for Provider {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// What a delete call needs, owned by the provider that scanned the resource: the policy and the sweep never look
/// inside, and only that provider's adapter reads it back (by its own type).
#[derive(Clone)]
pub struct Handle(Arc<dyn HandleData>);

/// A provider's delete data: any comparable, printable value.
trait HandleData: Any + fmt::Debug + Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn equals(&self, other: &dyn Any) -> bool;
}

impl<T: Any + fmt::Debug + PartialEq + Send + Sync> HandleData for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn equals(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<T>() == Some(self)
    }
}

impl Handle {
    pub fn new<T: Any + fmt::Debug + PartialEq + Send + Sync>(data: T) -> Handle {
        Handle(Arc::new(data))
    }

    /// The data, if it is of the provider's type `T`.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref::<T>()
    }
}

impl PartialEq for Handle {
    fn eq(&self, other: &Handle) -> bool {
        self.0.equals(other.0.as_any())
    }
}

impl Eq for Handle {}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a status means, as the provider that knows it classifies it: the policy judges this, never the status text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// Failed for good: a candidate for deletion.
    Stale,
    /// Already on its way out (`deleting`): nothing to do.
    InProgress,
    /// Anything else; `stale` lists the statuses that would have made it stale, for the reason.
    Healthy { stale: Arc<str> },
}

/// When the janitor first saw a stale resource stale (its first-seen mark), as the sweep found it in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Not looked up: the resource is not stale, or its provider's grace is zero.
    Unmarked,
    Since(SystemTime),
    /// Not known, and why (no store, or the store failed): the grace cannot be proven, so it waits.
    Unknown(String),
}

/// How old a resource is, as its control plane tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Age {
    /// The control plane's own creation time (`CreateTime`).
    CreatedAt(SystemTime),
    /// The control plane keeps no creation time for this kind (DMS connections): only the first-seen grace applies.
    NotKept,
    /// It should have one but did not say, and why; only a zero `JANITOR_MIN_AGE` lets such a resource go.
    Unknown(String),
}

/// One scanned resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub provider: Provider,
    pub region: String,
    /// Stable identity for reports and state: the integration ARN, or `<endpoint ARN>|<instance ARN>` for a connection.
    pub id: String,
    /// What people call it: the integration name, or `<endpoint id>@<instance id>` for a connection.
    pub name: String,
    /// ARNs that include/exclude patterns are matched against, besides the name.
    pub arns: Vec<String>,
    pub status: String,
    pub condition: Condition,
    pub age: Age,
    /// Set by the sweep from the first-seen store; providers leave it [`Mark::Unmarked`].
    pub mark: Mark,
    /// Why it is protected (which tag on which resource), if it is.
    pub protected_by: Option<String>,
    /// The id of another scanned resource that deleting this one may take with it (the reverse half of a DTS
    /// two-way synchronization, for its forward half): this one is deleted only when that one is stale too, and
    /// only after that one's own delete has answered.
    pub may_release: Option<String>,
    /// The control plane's own word on why it failed (DMS `LastFailureMessage`, an integration's `Errors`, a DTS
    /// job's `ErrorMessage`), so the report of a deletion keeps the evidence.
    pub failure: Option<String>,
    /// What re-making it takes, for a resource the policy may delete (`None` for the others: nothing is kept that
    /// no deletion needs).
    pub definition: Option<Definition>,
    pub handle: Handle,
}

/// What re-making a deleted resource takes, in its control plane's own words: the archived report keeps it for each
/// deleted (or would-delete) resource, so a deletion can be undone (`restore`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Definition {
    /// The call that re-makes it, as the AWS CLI names it (`rds create-integration`); `None` when nothing can (a DTS
    /// job: its description holds no passwords).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recreate: Option<Cow<'static, str>>,
    /// The call's input in the API's own member names (what the AWS CLI's `--cli-input-json` takes); when nothing
    /// can re-make the resource, what its control plane described, for people.
    pub input: Fields,
}

impl Definition {
    /// An empty definition re-made by `recreate`.
    pub fn of(recreate: Option<&'static str>) -> Definition {
        Definition { recreate: recreate.map(Cow::Borrowed), input: Fields::default() }
    }

    /// With `key` set to `value`, unless it is absent or empty (the create calls take no empty strings).
    pub fn text(mut self, key: &'static str, value: Option<&str>) -> Definition {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            self.input.insert(key, serde_json::Value::String(value.to_owned()));
        }
        self
    }

    /// With `key` set to a string map, unless it is absent or empty; sorted, so a definition reads the same twice.
    pub fn map<'a>(
        mut self,
        key: &'static str,
        entries: Option<impl IntoIterator<Item = (&'a String, &'a String)>>,
    ) -> Definition {
        let map: std::collections::BTreeMap<&String, &String> = entries.into_iter().flatten().collect();
        if !map.is_empty() {
            let object = map.into_iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
            self.input.insert(key, serde_json::Value::Object(object));
        }
        self
    }

    /// With `key` set to a tag list (`[{"Key": .., "Value": ..}]`, the create calls' shape), unless it is empty.
    pub fn tags<'a>(
        mut self,
        key: &'static str,
        tags: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
    ) -> Definition {
        let tags: Vec<serde_json::Value> = tags
            .into_iter()
            .filter_map(|(k, v)| k.map(|k| serde_json::json!({"Key": k, "Value": v.unwrap_or_default()})))
            .collect();
        if !tags.is_empty() {
            self.input.insert(key, serde_json::Value::Array(tags));
        }
        self
    }

    /// The text at `key`, if it is one.
    pub fn get_text(&self, key: &str) -> Option<&str> {
        self.input.get(key).and_then(serde_json::Value::as_str)
    }
}

/// A definition's members, in the order they were set, read and written as a JSON object. A list, not a map: every
/// stale resource of a sweep keeps one, and a B-tree map spends a node of eleven entries (over 600 bytes) on the two
/// members of a DMS connection; the keys a provider sets are static.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields(Vec<(Cow<'static, str>, serde_json::Value)>);

impl Fields {
    pub fn get(&self, key: &str) -> Option<&serde_json::Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key` to `value`, in place of any value it had.
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: serde_json::Value) {
        let key = key.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, old)) => *old = value,
            None => self.0.push((key, value)),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<serde_json::Value> {
        let at = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(at).1)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The members as a JSON object (what a create call's input is built from).
    pub fn to_map(&self) -> serde_json::Map<String, serde_json::Value> {
        self.0.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }
}

impl From<serde_json::Map<String, serde_json::Value>> for Fields {
    fn from(map: serde_json::Map<String, serde_json::Value>) -> Fields {
        Fields(map.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect())
    }
}

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> serde::Deserialize<'de> for Fields {
    /// In the order the object lists its members, as they were written.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Fields, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Fields::default();
                while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                    fields.insert(key, value);
                }
                Ok(fields)
            }
        }
        deserializer.deserialize_map(Members)
    }
}

/// How much of a control plane's failure text a report keeps.
const FAILURE_TEXT_LIMIT: usize = 500;

/// A failure text as reports carry it: trimmed, `None` when empty, cut at [`FAILURE_TEXT_LIMIT`] characters.
pub fn failure_text(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(match text.char_indices().nth(FAILURE_TEXT_LIMIT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    })
}

/// What kind of failure a call met, as far as a caller can do something about it: metrics split failures by it,
/// and the sweep and the operator react to it (a denial needs IAM, throttling needs patience, a wrong state needs
/// nothing but time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ErrorClass {
    /// The janitor's credentials may not make the call (IAM, RAM).
    Denied,
    /// Still throttled after every attempt.
    Throttled,
    /// No answer in time.
    TimedOut,
    /// The connection failed, or the answer could not be read.
    Transport,
    /// The control plane says it is not there, and it still is (a not-found that a second look contradicted).
    NotFound,
    /// The resource is not in a state for the call.
    WrongState,
    /// Any other refusal by the service (a 5xx after every attempt, a code the janitor does not know, a refusal
    /// the service has about its own access).
    Service,
}

impl ErrorClass {
    pub const ALL: [ErrorClass; 7] = [
        ErrorClass::Denied,
        ErrorClass::Throttled,
        ErrorClass::TimedOut,
        ErrorClass::Transport,
        ErrorClass::NotFound,
        ErrorClass::WrongState,
        ErrorClass::Service,
    ];

    /// The suffix of its metric (`FailedDenied`, ...).
    pub fn metric_suffix(self) -> &'static str {
        match self {
            ErrorClass::Denied => "Denied",
            ErrorClass::Throttled => "Throttled",
            ErrorClass::TimedOut => "TimedOut",
            ErrorClass::Transport => "Transport",
            ErrorClass::NotFound => "NotFound",
            ErrorClass::WrongState => "WrongState",
            ErrorClass::Service => "Service",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_definition_reads_and_writes_as_the_json_object_a_create_call_takes() {
        let mut definition = Definition::of(Some("dms test-connection"))
            .text("ReplicationInstanceArn", Some("arn:aws:dms:us-east-1:1:rep:R"))
            .text("EndpointArn", Some("arn:aws:dms:us-east-1:1:endpoint:E"))
            .text("Skipped", Some(""));
        definition.input.insert("EndpointArn", "arn:aws:dms:us-east-1:1:endpoint:F".into());
        let json = serde_json::to_string(&definition).expect("serializes");
        assert_eq!(
            json,
            r#"{"recreate":"dms test-connection","input":{"ReplicationInstanceArn":"arn:aws:dms:us-east-1:1:rep:R","EndpointArn":"arn:aws:dms:us-east-1:1:endpoint:F"}}"#
        );
        let read: Definition = serde_json::from_str(&json).expect("reads back");
        assert_eq!(read, definition);
        assert_eq!(read.get_text("EndpointArn"), Some("arn:aws:dms:us-east-1:1:endpoint:F"));
        let mut input = read.input;
        assert!(input.remove("EndpointArn").is_some() && input.get("EndpointArn").is_none());
    }

    #[test]
    fn aws_region_codes_have_their_shape_and_typos_do_not() {
        for code in ["us-east-1", "us-gov-west-1", "ap-southeast-7", "cn-north-1", "il-central-1", "us-isob-east-1"] {
            assert!(is_aws_region(code), "{code}");
        }
        for typo in ["us-east1", "useast-1", "us-east-100", "eu-west-a", "US-EAST-1", "us--east-1", "cn-hangzhou"] {
            assert!(!is_aws_region(typo), "{typo}");
        }
        assert!(is_region_name("cn-hangzhou") && !is_region_name("cn_hangzhou"));
    }
}
