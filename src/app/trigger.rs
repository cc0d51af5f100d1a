//! Triggers: what invoked the janitor, read from the Lambda payload. A payload can only make a run safer or
//! narrower than the configuration, never wider or more destructive, and an event can only name a resource of the
//! janitor's own account.

use crate::config::{self, Settings};
use crate::domain::resource::Provider;
use crate::engine::request::{SweepRequest, Target};
use crate::outputs::map_results::ResultsLocation;
use crate::providers::registry::{self, ArnShape, ProviderSpec};
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::SystemTime;

/// A payload the janitor cannot act on; the invocation fails with this message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TriggerError {
    #[error("the payload is not valid JSON: {0}")]
    NotJson(String),
    #[error("the payload must be a JSON object (an EventBridge event or a sweep request such as {{\"dryRun\": true, \"providers\": [\"rds\"]}}), not {0}")]
    NotAnObject(&'static str),
    #[error("the payload is not a valid sweep request: {0}")]
    BadRequest(String),
    /// `names` is what the payload asked for, as the payload spelled it (cut to a sane length).
    #[error(
        "the request names {what} {names} that this janitor is not configured for ({variable} allows {allowed:?})"
    )]
    NotConfigured { what: &'static str, names: String, variable: &'static str, allowed: Vec<String> },
}

impl TriggerError {
    /// The error for a payload that is not exactly one JSON document.
    pub fn not_json(error: &serde_json::Error) -> TriggerError {
        TriggerError::NotJson(clip(&error.to_string()))
    }
}

/// The most characters of payload text echoed into a note, a trigger name or an error.
const ECHO_LIMIT: usize = 200;

/// Payload text as it may be echoed: at most `ECHO_LIMIT` characters, then `…`, so a payload cannot bloat a report,
/// a log line or an error message.
pub fn clip(text: &str) -> String {
    match text.char_indices().nth(ECHO_LIMIT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// A manual invoke or an EventBridge Scheduler input (which has no envelope).
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManualRequest {
    pub dry_run: Option<bool>,
    pub providers: Option<Vec<String>>,
    /// Narrows an organization run to these of its accounts.
    pub accounts: Option<Vec<String>>,
    /// Narrows each cloud's providers to these of its regions, by cloud name, from the cloud's own payload key
    /// (`regions` for AWS, `dtsRegions` for Alibaba Cloud): clouds share region ids, so each cloud's are named apart.
    #[serde(skip)]
    pub regions: BTreeMap<&'static str, Vec<String>>,
}

/// A manual request from its JSON object: each cloud's payload key read into `regions`, the rest by name (an
/// unknown field is an error, so a typo never widens a run).
fn manual_request(mut object: serde_json::Map<String, Value>) -> Result<ManualRequest, TriggerError> {
    let mut regions = BTreeMap::new();
    for cloud in registry::clouds() {
        if let Some(value) = object.remove(cloud.payload_key) {
            let names: Vec<String> = serde_json::from_value(value)
                .map_err(|e| TriggerError::BadRequest(clip(&format!("{}: {e}", cloud.payload_key))))?;
            regions.insert(cloud.name, names);
        }
    }
    let mut request: ManualRequest =
        serde_json::from_value(Value::Object(object)).map_err(|e| TriggerError::BadRequest(clip(&e.to_string())))?;
    request.regions = regions;
    Ok(request)
}

/// The one field of an EventBridge schedule's envelope the janitor reads: the rule that fired, first of its
/// `resources` (the envelope's documented fields; the rest are ignored). Not the typed [`Envelope`]: a schedule runs
/// the configured sweep whatever its other fields say, so a field it does not read (a `time` that is not RFC 3339)
/// must not turn it into a no-op, nor into an error.
#[derive(Debug, Deserialize)]
struct ScheduledEvent {
    #[serde(default)]
    resources: Option<Vec<String>>,
}

/// What invoked the janitor.
#[derive(Debug, PartialEq, Eq)]
pub enum Trigger {
    /// A classic EventBridge schedule rule.
    Schedule {
        rule: Option<String>,
    },
    Manual(ManualRequest),
    /// A service event about one resource; `event` says which (source, detail-type, event id).
    Service {
        target: Target,
        event: String,
    },
    /// A service event of a kind the janitor acts on that names no resource it can find.
    Unusable {
        event: String,
        why: String,
    },
    /// A well-formed event the janitor does not act on; answered with a no-op report so it is not retried.
    Ignored {
        source: String,
        detail_type: String,
    },
    /// `{"listAccounts": true}`: the accounts an organization run would sweep (the fan-out's first step).
    ListAccounts,
    /// `{"summarize": [...]}`: the fan-out's children's results, for one summary notification.
    Summarize(Vec<Value>),
    /// `{"summarizeFrom": {"bucket": ..., "key": ...}}`: the same, read from the Map Run's results in S3 (the
    /// manifest the Distributed Map's ResultWriter names).
    SummarizeFrom(ResultsLocation),
}

/// Reads raw payload bytes (the form a Runtime API driver or a file delivers): exactly one JSON document, so
/// trailing text (`{} x`, `{}{}`) is an error.
pub fn parse_bytes(payload: &[u8]) -> Result<Trigger, TriggerError> {
    let value: Value = serde_json::from_slice(payload).map_err(|e| TriggerError::not_json(&e))?;
    parse(value)
}

/// Classifies a JSON payload.
pub fn parse(payload: Value) -> Result<Trigger, TriggerError> {
    let Value::Object(object) = &payload else {
        return Err(TriggerError::NotAnObject(match payload {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }));
    };
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    if let (Some(source), Some(detail_type)) = (text("source"), text("detail-type")) {
        if source == "aws.events" && detail_type == "Scheduled Event" {
            let event: ScheduledEvent = serde_json::from_value(payload)
                .map_err(|e| TriggerError::BadRequest(clip(&format!("malformed scheduled event: {e}"))))?;
            return Ok(Trigger::Schedule {
                rule: event.resources.and_then(|r| r.into_iter().next()).map(|r| clip(&r)),
            });
        }
        return Ok(service_event(&payload, source, detail_type));
    }
    if let Some(trigger) = fan_out_step(object)? {
        return Ok(trigger);
    }
    manual_request(object.clone()).map(Trigger::Manual)
}

/// The fan-out state machine's own payloads, each alone in its object: `{"listAccounts": true}`,
/// `{"summarizeFrom": {"bucket": ..., "key": ...}}` and the older `{"summarize": [...]}`.
fn fan_out_step(object: &serde_json::Map<String, Value>) -> Result<Option<Trigger>, TriggerError> {
    let step = match (object.get("listAccounts"), object.get("summarize"), object.get("summarizeFrom")) {
        (None, None, None) => return Ok(None),
        (Some(Value::Bool(true)), None, None) => Trigger::ListAccounts,
        (None, Some(Value::Array(results)), None) => Trigger::Summarize(results.clone()),
        (None, None, Some(location)) => Trigger::SummarizeFrom(
            ResultsLocation::deserialize(location)
                .map_err(|e| TriggerError::BadRequest(clip(&format!("summarizeFrom: {e}"))))?,
        ),
        _ => return Err(TriggerError::BadRequest(
            "the fan-out's steps are {\"listAccounts\": true}, {\"summarizeFrom\": {\"bucket\": ..., \"key\": ...}} \
                 or {\"summarize\": [child results]}"
                .to_owned(),
        )),
    };
    if object.len() > 1 {
        return Err(TriggerError::BadRequest(
            "listAccounts, summarizeFrom and summarize take no other field".to_owned(),
        ));
    }
    Ok(Some(step))
}

/// A service event's envelope as aws_lambda_events types it: `source` and `detail-type`, and when present `id`,
/// `account`, `region`, an RFC 3339 `time` and `resources` (strings). Its `detail` is an `Option`: the crate requires
/// the field for any type without a default (a `Value` included), while an event that has none can still name its
/// resource in `resources`.
type Envelope = EventBridgeEvent<Option<Value>>;

/// The fields of a service event's `detail` that carry the service's own event code (RDS's `EventID`, the
/// `eventId` of Redshift's and DMS's events), which names the event in the report's trigger.
const EVENT_CODE_KEYS: [&str; 2] = ["EventID", "eventId"];

/// Classifies an EventBridge envelope other than a schedule. The providers whose spec lists the event's source and
/// detail-type own it; an envelope that does not parse (a `time` that is not RFC 3339, `resources` that are not
/// strings) is a no-op that says why, not an error, so EventBridge does not retry an event no retry can mend. The
/// resource comes from the envelope's `resources` (the EventBridge convention), else from any ARN among the
/// detail's values, and goes to the provider whose ARN shape it has (Redshift's integration events name
/// RDS-sourced integrations by their RDS ARN, Redshift-managed ones by their Redshift ARN). The detail schemas are
/// not documented, so the parser takes what it recognises there and ignores the rest.
fn service_event(payload: &Value, source: &str, detail_type: &str) -> Trigger {
    let owners = registry::event_owners(source, detail_type);
    if owners.is_empty() {
        return Trigger::Ignored { source: clip(source), detail_type: clip(detail_type) };
    }
    let envelope = match Envelope::deserialize(payload) {
        Ok(envelope) => envelope,
        Err(error) => {
            return Trigger::Unusable {
                event: format!("{source}/{detail_type}"),
                why: format!("its envelope is not an EventBridge event's: {}", clip(&error.to_string())),
            }
        }
    };
    let detail = envelope.detail.as_ref().and_then(Value::as_object);
    let event_code = detail.and_then(|d| EVENT_CODE_KEYS.iter().find_map(|k| d.get(*k))).and_then(Value::as_str);
    let event = match event_code {
        Some(code) => format!("{source}/{detail_type} {}", clip(code)),
        None => format!("{source}/{detail_type}"),
    };
    let mut arns: Vec<&str> = envelope.resources.iter().flatten().map(String::as_str).collect();
    if let Some(detail) = detail {
        arns.extend(detail.values().filter_map(Value::as_str).filter(|v| v.starts_with("arn:")));
    }
    let shapes: Vec<(&ProviderSpec, &ArnShape)> =
        owners.iter().flat_map(|spec| spec.arns.iter().map(move |shape| (*spec, shape))).collect();
    let wanted: Vec<String> = shapes.iter().map(|(_, shape)| format!(":{}:", shape.resource_type)).collect();
    let Some(arn) = arns.into_iter().find(|arn| arn.starts_with("arn:") && wanted.iter().any(|w| arn.contains(w)))
    else {
        let mut wanted = wanted;
        wanted.dedup();
        return Trigger::Unusable {
            event,
            why: format!("it names no resource with an ARN containing {}", quoted(&wanted)),
        };
    };
    match shapes.iter().find_map(|(spec, shape)| target(spec.provider, shape, arn)) {
        Some(target) => Trigger::Service { target, event },
        None => {
            let described: Vec<&str> = owners.iter().map(|spec| spec.arn_description).collect();
            Trigger::Unusable { event, why: format!("{} is not {}", clip(arn), described.join(" or ")) }
        }
    }
}

fn quoted(texts: &[String]) -> String {
    texts.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(" or ")
}

/// The target `arn` names for `provider`, if it is a well-formed ARN of `shape`. AWS documents the forms
/// `arn:<partition>:rds:<region>:<account>:integration:<id>` (the RDS API's IntegrationArn pattern),
/// `arn:<partition>:redshift:<region>:<account>:integration:<uuid>` (the Redshift model's pattern) and
/// `arn:<partition>:dms:<region>:<account>:endpoint:<id>` (the DMS guide's ARN syntax), partitions such as `aws`,
/// `aws-cn`, `aws-us-gov`, and 12-digit account ids. Assumed, and strict on purpose (an event the janitor cannot
/// read is a no-op; the schedule still finds the resource): the id is 1 to 255 of `A-Z a-z 0-9 - _`.
fn target(provider: Provider, shape: &ArnShape, arn: &str) -> Option<Target> {
    let parts: Vec<&str> = arn.split(':').collect();
    let [prefix, partition, service, region, account, resource_type, id] = parts[..] else { return None };
    let well_formed = prefix == "arn"
        && is_partition(partition)
        && service == shape.service
        && config::is_region_name(region)
        && is_account(account)
        && resource_type == shape.resource_type
        && (1..=255).contains(&id.len())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    well_formed.then(|| Target { provider, region: region.to_owned(), arn: arn.to_owned() })
}

/// `aws`, or `aws-` and lowercase words joined by hyphens (`aws-cn`, `aws-us-gov`, `aws-iso-b`).
fn is_partition(text: &str) -> bool {
    text.strip_prefix("aws").is_some_and(|rest| {
        rest.is_empty()
            || rest.strip_prefix('-').is_some_and(|rest| {
                rest.split('-').all(|word| !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase()))
            })
    })
}

fn is_account(text: &str) -> bool {
    text.len() == 12 && text.chars().all(|c| c.is_ascii_digit())
}

/// Whose resources a service event may name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// Not known, so not checked (the CLI, tests): only the ARN's form is.
    Unchecked,
    /// The partition and account of the function's own ARN.
    Account { partition: String, account: String },
    /// The function's ARN did not say its account, so no event's resource can be shown to be ours.
    Unreadable(String),
    /// An organization run: the member accounts it sweeps, in the function's partition.
    Members { partition: String, accounts: Vec<String> },
}

impl Owner {
    /// The owner named by the invoked function's ARN, which Lambda documents as the function's, a version's or an
    /// alias's: `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`. `None` (outside Lambda):
    /// unchecked.
    pub fn of_function(function_arn: Option<&str>) -> Owner {
        let Some(arn) = function_arn else { return Owner::Unchecked };
        let parts: Vec<&str> = arn.split(':').collect();
        match parts[..] {
            ["arn", partition, "lambda", region, account, "function", name, ..]
                if parts.len() <= 8
                    && is_partition(partition)
                    && config::is_region_name(region)
                    && is_account(account)
                    && !name.is_empty() =>
            {
                Owner::Account { partition: partition.to_owned(), account: account.to_owned() }
            }
            _ => Owner::Unreadable(clip(arn)),
        }
    }

    /// Why the janitor must not touch `target`, if it must not.
    fn refuses(&self, target: &Target) -> Option<String> {
        let (target_partition, target_account) = target.owner();
        match self {
            Owner::Unchecked => None,
            Owner::Account { partition, account } if (target_partition, target_account) == (partition, account) => None,
            Owner::Account { partition, account } => Some(format!(
                "it belongs to account {target_account} in partition {target_partition}, not to this function's \
                 account {account} in partition {partition}"
            )),
            Owner::Unreadable(arn) => {
                Some(format!("this function's ARN {arn} does not say its account, so no resource can be shown ours"))
            }
            Owner::Members { partition, accounts }
                if target_partition == partition && accounts.iter().any(|a| a == target_account) =>
            {
                None
            }
            Owner::Members { partition, .. } => Some(format!(
                "account {target_account} in partition {target_partition} is not one of the member accounts this \
                 janitor sweeps in partition {partition}"
            )),
        }
    }

    /// This owner as an organization run's: the member `accounts`, in the partition of the function's own ARN
    /// (unchecked: the partition of `fallback_partition`).
    pub fn members(self, accounts: Vec<String>, fallback_partition: &str) -> Owner {
        let partition = match self {
            Owner::Account { partition, .. } | Owner::Members { partition, .. } => partition,
            Owner::Unchecked | Owner::Unreadable(_) => fallback_partition.to_owned(),
        };
        Owner::Members { partition, accounts }
    }
}

/// What a trigger may narrow a sweep to, and whose resources it may name.
#[derive(Clone, Debug)]
pub struct Scope {
    /// Every region each cloud's providers are built for (`JANITOR_REGIONS`, `JANITOR_DTS_REGIONS`), by cloud name.
    pub regions: BTreeMap<&'static str, Vec<String>>,
    pub owner: Owner,
}

/// Turns a trigger into a sweep request within the configuration and `scope`: `providers`, `regions` and
/// `dtsRegions` may only narrow it, `dryRun: false` cannot override a dry-run configuration (the report notes that
/// it was ignored), and an event about a resource outside the scope is a no-op.
pub fn resolve(
    trigger: Trigger,
    settings: &Settings,
    scope: &Scope,
    deadline: Option<SystemTime>,
) -> Result<SweepRequest, TriggerError> {
    let mut request = SweepRequest::configured(&settings.providers, settings.dry_run, "", deadline);
    match trigger {
        Trigger::Schedule { rule } => {
            request.trigger = "schedule".to_owned();
            if let Some(rule) = rule {
                request.notes.push(format!("scheduled by {rule}"));
            }
        }
        Trigger::Service { target, event } => {
            request.trigger = event;
            if let Some(why) = scope.owner.refuses(&target) {
                request.providers.clear();
                request.notes.push(format!("no-op: {} is not this janitor's to touch: {why}", clip(&target.arn)));
            } else if !settings.providers.contains(&target.provider)
                || !scope.regions.get(target.provider.cloud().name).is_some_and(|r| r.contains(&target.region))
            {
                request.providers.clear();
                request.notes.push(format!(
                    "no-op: {} in {} is outside this janitor's providers and regions",
                    clip(&target.arn),
                    target.region
                ));
            } else {
                request.providers = vec![target.provider];
                request.regions.insert(target.provider.cloud().name, vec![target.region.clone()]);
                if matches!(scope.owner, Owner::Members { .. }) {
                    request.accounts = Some(vec![target.owner().1.to_owned()]);
                }
                request.notes.push(format!("scoped to {} by the event", clip(&target.arn)));
                request.target = Some(target);
            }
        }
        Trigger::Unusable { event, why } => {
            request.notes.push(format!("no-op: the event {event} was not acted on: {why}"));
            request.trigger = event;
            request.providers.clear();
        }
        Trigger::Ignored { source, detail_type } => {
            request.trigger = format!("{source}/{detail_type}");
            request.providers.clear();
            request.notes.push(format!(
                "no-op: events with source \"{source}\" and detail-type \"{detail_type}\" are not acted on"
            ));
        }
        Trigger::Manual(manual) => narrow(&mut request, manual, settings, scope)?,
        Trigger::ListAccounts | Trigger::Summarize(_) | Trigger::SummarizeFrom(_) => {
            return Err(TriggerError::BadRequest("a fan-out step is not a sweep".to_owned()))
        }
    }
    Ok(request)
}

/// Applies a manual request to the configured one: each field may only make it safer or narrower.
fn narrow(
    request: &mut SweepRequest,
    manual: ManualRequest,
    settings: &Settings,
    scope: &Scope,
) -> Result<(), TriggerError> {
    request.trigger = "manual".to_owned();
    match (manual.dry_run, settings.dry_run) {
        (Some(true), false) => {
            request.dry_run = true;
            request.notes.push("dry run requested by the payload".to_owned());
        }
        (Some(false), true) => request.notes.push(
            "dryRun=false in the payload was ignored: JANITOR_DRY_RUN=true; a payload can only make a run safer"
                .to_owned(),
        ),
        _ => {}
    }
    if let Some(names) = manual.providers {
        let chosen: Option<Vec<Provider>> =
            names.iter().map(|n| Provider::parse(n).filter(|p| settings.providers.contains(p))).collect();
        let Some(chosen) = chosen.filter(|chosen| !chosen.is_empty()) else {
            return Err(TriggerError::NotConfigured {
                what: "providers",
                names: clip(&format!("{names:?}")),
                variable: "JANITOR_PROVIDERS",
                allowed: settings.providers.iter().map(|p| p.as_str().to_owned()).collect(),
            });
        };
        request.providers.retain(|p| chosen.contains(p));
        let shown: Vec<&str> = request.providers.iter().map(|p| p.as_str()).collect();
        request.notes.push(format!("providers narrowed by the payload to {}", shown.join(",")));
    }
    for cloud in registry::clouds() {
        if let Some(names) = manual.regions.get(cloud.name) {
            let allowed = scope.regions.get(cloud.name).map_or(&[][..], Vec::as_slice);
            let regions = within(cloud.regions_noun, names.clone(), allowed, cloud.region_setting)?;
            request.notes.push(format!("{} regions narrowed by the payload to {}", cloud.label, regions.join(",")));
            request.regions.insert(cloud.name, regions);
        }
    }
    if let Some(accounts) = manual.accounts {
        if settings.organization.is_none() {
            return Err(TriggerError::NotConfigured {
                what: "accounts",
                names: clip(&format!("{accounts:?}")),
                variable: "JANITOR_MEMBER_ROLE",
                allowed: Vec::new(),
            });
        }
        if accounts.is_empty() || !accounts.iter().all(|a| crate::app::accounts::is_account_id(a)) {
            return Err(TriggerError::BadRequest(clip(&format!(
                "accounts must be a non-empty list of 12-digit account ids, not {accounts:?}"
            ))));
        }
        let mut unique: Vec<String> = Vec::new();
        for account in accounts {
            if !unique.contains(&account) {
                unique.push(account);
            }
        }
        request.notes.push(format!("accounts narrowed by the payload to {}", clip(&unique.join(","))));
        request.accounts = Some(unique);
    }
    Ok(())
}

/// `names` without repeats, if it is a non-empty subset of `allowed` (the regions `variable` configures).
fn within(
    what: &'static str,
    names: Vec<String>,
    allowed: &[String],
    variable: &'static str,
) -> Result<Vec<String>, TriggerError> {
    if names.is_empty() || names.iter().any(|n| !allowed.contains(n)) {
        return Err(TriggerError::NotConfigured {
            what,
            names: clip(&format!("{names:?}")),
            variable,
            allowed: allowed.to_vec(),
        });
    }
    let mut unique: Vec<String> = Vec::new();
    for name in names {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    Ok(unique)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{dms, dts, rds, redshift};
    use serde_json::json;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        Settings::parse(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())).expect("settings")
    }

    const ACCOUNT: &str = "123456789012";

    fn scope() -> Scope {
        Scope {
            regions: BTreeMap::from([
                ("aws", vec!["us-east-1".into(), "eu-west-1".into()]),
                ("alibaba", vec!["cn-hangzhou".into(), "us-east-1".into()]),
            ]),
            owner: Owner::of_function(Some(&format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:janitor"))),
        }
    }

    fn manual(payload: Value) -> Trigger {
        parse(payload).expect("a manual request")
    }

    fn rds_event(arn: &str) -> Value {
        json!({"source": "aws.rds", "detail-type": "RDS Zero ETL Event", "resources": [arn], "detail": {}})
    }

    fn redshift_event(arn: &str) -> Value {
        json!({"source": "aws.redshift", "detail-type": "Redshift Integration Monitoring", "resources": [arn], "detail": {}})
    }

    #[test]
    fn a_scheduled_event_names_its_rule_or_is_refused_when_malformed() {
        let bare = json!({"source": "aws.events", "detail-type": "Scheduled Event"});
        assert_eq!(parse(bare), Ok(Trigger::Schedule { rule: None }));
        let malformed = json!({"source": "aws.events", "detail-type": "Scheduled Event", "resources": "rule/x"});
        let error = parse(malformed).expect_err("resources is not a list").to_string();
        assert!(error.starts_with("the payload is not a valid sweep request: malformed scheduled event: "), "{error}");
    }

    #[test]
    fn payloads_are_classified() {
        let schedule = json!({"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events", "account": "1",
            "time": "2026-11-23T00:00:00Z", "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:1:rule/nightly"], "detail": {}});
        assert_eq!(
            parse(schedule),
            Ok(Trigger::Schedule { rule: Some("arn:aws:events:us-east-1:1:rule/nightly".into()) })
        );
        assert_eq!(parse(json!({})), Ok(Trigger::Manual(ManualRequest::default())));
        assert_eq!(
            parse(json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "detail": {}})),
            Ok(Trigger::Ignored {
                source: "aws.ec2".into(),
                detail_type: "EC2 Instance State-change Notification".into()
            })
        );
    }

    #[test]
    fn an_envelope_that_does_not_parse_is_a_no_op_that_says_why() {
        let arn = format!("arn:aws:rds:us-east-1:{ACCOUNT}:integration:5b9f3d79-7392-4a3e-896c-58eaa1b53231");
        let event = |field: &str, value: Value| {
            let mut event = rds_event(&arn);
            event[field] = value;
            event
        };
        let well_formed = event("time", json!("2026-11-23T01:12:00Z"));
        let request = resolve(parse(well_formed).expect("event"), &settings(&[]), &scope(), None).expect("request");
        assert_eq!(request.providers, [rds::PROVIDER], "an RFC 3339 time is an envelope's");
        for (field, value) in [
            ("time", json!("yesterday")),
            ("time", json!("2026-11-23 01:12")),
            ("resources", json!([arn, 7])),
            ("account", json!(123456789012_u64)),
        ] {
            let trigger = parse(event(field, value.clone())).expect("a no-op, never an error");
            let Trigger::Unusable { event, why } = &trigger else { panic!("{field}={value}: {trigger:?}") };
            assert_eq!(event, "aws.rds/RDS Zero ETL Event");
            assert!(why.starts_with("its envelope is not an EventBridge event's: "), "{field}={value}: {why}");
            let request = resolve(trigger, &settings(&[]), &scope(), None).expect("a no-op request");
            assert!(request.providers.is_empty(), "{field}={value}: nothing is swept");
            assert_eq!(request.target, None);
            assert!(request.notes[0]
                .starts_with("no-op: the event aws.rds/RDS Zero ETL Event was not acted on: its envelope"));
        }
    }

    #[test]
    fn the_service_names_its_event_by_its_own_code() {
        let arn = format!("arn:aws:rds:us-east-1:{ACCOUNT}:integration:5b9f3d79-7392-4a3e-896c-58eaa1b53231");
        let named = |detail: Value| {
            let mut event = rds_event(&arn);
            event["detail"] = detail;
            match parse(event) {
                Ok(Trigger::Service { event, .. }) => event,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(named(json!({"EventID": "RDS-EVENT-0230"})), "aws.rds/RDS Zero ETL Event RDS-EVENT-0230");
        assert_eq!(
            named(json!({"eventId": "REDSHIFT-INTEGRATION-EVENT-0007"})),
            "aws.rds/RDS Zero ETL Event REDSHIFT-INTEGRATION-EVENT-0007"
        );
        assert_eq!(named(json!({"EventID": 230})), "aws.rds/RDS Zero ETL Event", "a code that is not text is left out");
        assert_eq!(named(json!("not an object")), "aws.rds/RDS Zero ETL Event");
        let mut without_detail = rds_event(&arn);
        without_detail.as_object_mut().expect("an object").remove("detail");
        assert!(matches!(parse(without_detail), Ok(Trigger::Service { .. })), "the detail is optional");
    }

    /// Every sample event in `events/` (what CI invokes the packaged function with) is an envelope the typed parser
    /// reads: none of them turns into the no-op of an envelope that does not parse.
    #[test]
    fn every_sample_event_is_read_as_an_envelope() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
        let mut envelopes = 0;
        for entry in std::fs::read_dir(&folder).expect("events/") {
            let path = entry.expect("an entry").path();
            let Ok(payload) = serde_json::from_slice::<Value>(&std::fs::read(&path).expect("readable")) else {
                continue;
            };
            if payload.get("detail-type").is_none() {
                continue;
            }
            envelopes += 1;
            Envelope::deserialize(&payload).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            match parse(payload) {
                Ok(Trigger::Unusable { why, .. }) => assert!(!why.contains("envelope"), "{}: {why}", path.display()),
                Ok(_) => {}
                Err(error) => panic!("{}: {error}", path.display()),
            }
        }
        assert!(envelopes >= 8, "only {envelopes} EventBridge samples in {}", folder.display());
    }

    #[test]
    fn malformed_payloads_are_clear_errors() {
        assert!(matches!(parse_bytes(b"{not json"), Err(TriggerError::NotJson(_))));
        assert_eq!(parse(json!([1])), Err(TriggerError::NotAnObject("an array")));
        assert_eq!(parse(json!("sweep")), Err(TriggerError::NotAnObject("a string")));
        let typo = parse(json!({"dry_run": false})).expect_err("typo");
        assert!(typo.to_string().contains("unknown field `dry_run`"), "{typo}");
        let wrong_type = parse(json!({"dryRun": "no"})).expect_err("type");
        assert!(wrong_type.to_string().contains("invalid type"), "{wrong_type}");
    }

    #[test]
    fn text_after_the_json_document_is_rejected() {
        for payload in [&b"{} x"[..], b"{}{}", b"{\"dryRun\": true} {\"dryRun\": false}", b"{}]"] {
            let error = parse_bytes(payload).expect_err("trailing text");
            assert!(
                error.to_string().starts_with("the payload is not valid JSON: trailing characters at line 1"),
                "{error}"
            );
        }
        assert_eq!(parse_bytes(b" {} \n"), Ok(Trigger::Manual(ManualRequest::default())), "whitespace is fine");
    }

    #[test]
    fn echoed_text_is_cut_to_a_sane_length() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(5_000);
        assert_eq!(clip(&long), format!("{}…", "é".repeat(200)));

        let huge = "x".repeat(100_000);
        let Ok(Trigger::Ignored { source, detail_type }) =
            parse(json!({"source": huge, "detail-type": huge, "detail": {}}))
        else {
            panic!("an unknown event is ignored")
        };
        assert_eq!((source.chars().count(), detail_type.chars().count()), (201, 201));
        let field = parse(json!({ huge.clone(): true })).expect_err("unknown field");
        let region = resolve(manual(json!({"regions": [huge]})), &settings(&[]), &scope(), None).expect_err("region");
        let arn = format!("arn:aws:rds:us-east-1:{ACCOUNT}:integration:{huge}");
        let Ok(Trigger::Unusable { why, .. }) = parse(rds_event(&arn)) else { panic!("an id too long") };
        let value = parse(json!({"dryRun": huge})).expect_err("not a boolean");
        for message in [field.to_string(), region.to_string(), why, value.to_string()] {
            assert!(message.chars().count() < 600, "{} characters: {message:.300}", message.chars().count());
            assert!(message.contains('…'), "{message:.300}");
        }
    }

    #[test]
    fn a_payload_cannot_turn_dry_run_off() {
        let request = resolve(manual(json!({"dryRun": false})), &settings(&[]), &scope(), None).expect("request");
        assert!(request.dry_run);
        assert!(request.notes.iter().any(|n| n.contains("dryRun=false in the payload was ignored")));
    }

    #[test]
    fn a_payload_can_turn_dry_run_on_and_narrow_the_scope() {
        let payload = json!({"dryRun": true, "providers": ["rds"], "regions": ["eu-west-1", "eu-west-1"]});
        let request =
            resolve(manual(payload), &settings(&[("JANITOR_DRY_RUN", "false")]), &scope(), None).expect("request");
        assert!(request.dry_run);
        assert_eq!(request.providers, [rds::PROVIDER]);
        assert_eq!(request.regions, BTreeMap::from([("aws", vec!["eu-west-1".to_owned()])]));
        assert_eq!(
            request.notes,
            [
                "dry run requested by the payload",
                "providers narrowed by the payload to rds",
                "AWS regions narrowed by the payload to eu-west-1"
            ]
        );
    }

    #[test]
    fn each_cloud_is_narrowed_by_its_own_field() {
        let with_dts =
            settings(&[("JANITOR_PROVIDERS", "dms,rds,dts"), ("JANITOR_DTS_REGIONS", "cn-hangzhou,us-east-1")]);
        let aws_only = resolve(manual(json!({"regions": ["us-east-1"]})), &with_dts, &scope(), None).expect("aws");
        assert_eq!(
            aws_only.regions,
            BTreeMap::from([("aws", vec!["us-east-1".to_owned()])]),
            "an AWS region does not narrow DTS, though Alibaba has one of that name"
        );
        assert_eq!(aws_only.providers, [dms::PROVIDER, rds::PROVIDER, dts::PROVIDER]);

        let dts_only = resolve(manual(json!({"dtsRegions": ["us-east-1"]})), &with_dts, &scope(), None).expect("dts");
        assert_eq!(dts_only.regions, BTreeMap::from([("alibaba", vec!["us-east-1".to_owned()])]));
        assert_eq!(dts_only.notes, ["DTS regions narrowed by the payload to us-east-1"]);

        let err = resolve(manual(json!({"dtsRegions": ["eu-west-1"]})), &with_dts, &scope(), None).expect_err("aws");
        assert_eq!(
            err.to_string(),
            "the request names DTS regions [\"eu-west-1\"] that this janitor is not configured for \
             (JANITOR_DTS_REGIONS allows [\"cn-hangzhou\", \"us-east-1\"])"
        );
        let err = resolve(manual(json!({"regions": ["cn-hangzhou"]})), &with_dts, &scope(), None).expect_err("dts");
        assert_eq!(
            err.to_string(),
            "the request names regions [\"cn-hangzhou\"] that this janitor is not configured for \
             (JANITOR_REGIONS allows [\"us-east-1\", \"eu-west-1\"])"
        );
        let err = resolve(manual(json!({"dtsRegions": []})), &with_dts, &scope(), None).expect_err("empty");
        assert!(matches!(err, TriggerError::NotConfigured { variable: "JANITOR_DTS_REGIONS", .. }), "{err}");
    }

    #[test]
    fn a_payload_cannot_widen_the_scope() {
        let only_rds = settings(&[("JANITOR_PROVIDERS", "rds")]);
        let err = resolve(manual(json!({"providers": ["dms"]})), &only_rds, &scope(), None).expect_err("dms");
        assert_eq!(
            err.to_string(),
            "the request names providers [\"dms\"] that this janitor is not configured for (JANITOR_PROVIDERS allows [\"rds\"])"
        );
        let err = resolve(manual(json!({"regions": ["ap-south-1"]})), &only_rds, &scope(), None).expect_err("region");
        assert!(matches!(err, TriggerError::NotConfigured { what: "regions", variable: "JANITOR_REGIONS", .. }));
    }

    #[test]
    fn an_ignored_event_sweeps_nothing_and_says_why() {
        let ignored = Trigger::Ignored { source: "aws.ec2".into(), detail_type: "x".into() };
        let request = resolve(ignored, &settings(&[]), &scope(), None).expect("request");
        assert!(request.providers.is_empty());
        assert_eq!(request.notes, ["no-op: events with source \"aws.ec2\" and detail-type \"x\" are not acted on"]);
    }

    #[test]
    fn an_event_is_acted_on_only_for_a_well_formed_arn_of_its_kind() {
        let id = "5b9f3d79-7392-4a3e-896c-58eaa1b53231";
        let dms = |arn: &str| json!({"source": "aws.dms", "detail-type": "DMS Replication Endpoint State Change", "resources": [arn]});
        let usable = [
            (rds_event(&format!("arn:aws:rds:us-east-1:{ACCOUNT}:integration:{id}")), rds::PROVIDER),
            (redshift_event(&format!("arn:aws:redshift:us-east-1:{ACCOUNT}:integration:{id}")), redshift::PROVIDER),
            (redshift_event(&format!("arn:aws:rds:us-east-1:{ACCOUNT}:integration:{id}")), rds::PROVIDER),
            (rds_event(&format!("arn:aws-us-gov:rds:us-gov-west-1:{ACCOUNT}:integration:{id}")), rds::PROVIDER),
            (dms(&format!("arn:aws:dms:eu-west-1:{ACCOUNT}:endpoint:ORDERSPG7QXWZ3")), dms::PROVIDER),
        ];
        for (event, provider) in usable {
            let Ok(Trigger::Service { target, .. }) = parse(event.clone()) else { panic!("usable: {event}") };
            assert_eq!(target.provider, provider, "{event}");
            assert_eq!(target.arn, event["resources"][0].as_str().unwrap_or_default(), "the ARN is kept as it came");
            assert_eq!(target.owner().1, ACCOUNT);
        }
        let redshift_arn_in_an_rds_event = format!("arn:aws:redshift:us-east-1:{ACCOUNT}:integration:{id}");
        assert!(
            matches!(parse(rds_event(&redshift_arn_in_an_rds_event)), Ok(Trigger::Unusable { .. })),
            "an RDS event speaks of RDS integrations only"
        );
        let unusable = [
            format!("arn:aws:rds:us-east-1:{ACCOUNT}:integration:"),
            format!("arn:aws:rds:us-east-1:{ACCOUNT}:integration:{id}:extra"),
            format!("arn:aws:rds:us-east-1:{ACCOUNT}:integration:{id}/x"),
            format!("arn:aws:s3:us-east-1:{ACCOUNT}:integration:{id}"),
            format!("arn:aws:rds-data:us-east-1:{ACCOUNT}:integration:{id}"),
            format!("arn:aws:rds:US-EAST-1:{ACCOUNT}:integration:{id}"),
            format!("arn:aws:rds::{ACCOUNT}:integration:{id}"),
            format!("arn:aws:rds:us-east-1:12345:integration:{id}"),
            format!("arn:aws:rds:us-east-1::integration:{id}"),
            format!("arn:azure:rds:us-east-1:{ACCOUNT}:integration:{id}"),
            format!("arn:aws:rds:us-east-1:{ACCOUNT}:cluster:integration:{id}"),
        ];
        for arn in unusable {
            let trigger = parse(rds_event(&arn)).expect("an event");
            assert!(
                matches!(&trigger, Trigger::Unusable { why, .. } if why.starts_with(&format!("{arn} is not an RDS integration ARN"))),
                "{arn}: {trigger:?}"
            );
        }
        let integration_in_a_dms_event = format!("arn:aws:rds:us-east-1:{ACCOUNT}:endpoint:{id}");
        assert!(matches!(parse(dms(&integration_in_a_dms_event)), Ok(Trigger::Unusable { .. })));
    }

    #[test]
    fn in_an_organization_run_an_event_sweeps_its_member_account_and_only_a_member() {
        let id = "5b9f3d79-7392-4a3e-896c-58eaa1b53231";
        let members = Owner::of_function(Some(&format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:janitor")))
            .members(vec!["111111111111".to_owned()], "aws");
        let scope = Scope { owner: members, ..scope() };
        let member = parse(rds_event(&format!("arn:aws:rds:us-east-1:111111111111:integration:{id}"))).expect("event");
        let request = resolve(member, &settings(&[]), &scope, None).expect("request");
        assert_eq!(request.accounts, Some(vec!["111111111111".to_owned()]));
        assert_eq!(request.providers, [rds::PROVIDER]);
        let stranger = parse(rds_event(&format!("arn:aws:rds:us-east-1:{ACCOUNT}:integration:{id}"))).expect("event");
        let request = resolve(stranger, &settings(&[]), &scope, None).expect("no-op");
        assert!(request.providers.is_empty());
        assert!(request.notes[0].contains("is not one of the member accounts"), "{:?}", request.notes);
    }

    #[test]
    fn an_event_about_another_account_or_partition_is_a_no_op() {
        let id = "5b9f3d79-7392-4a3e-896c-58eaa1b53231";
        let cases = [
            (format!("arn:aws:rds:us-east-1:210987654321:integration:{id}"), "it belongs to account 210987654321 in partition aws, not to this function's account 123456789012 in partition aws"),
            (format!("arn:aws-cn:rds:us-east-1:{ACCOUNT}:integration:{id}"), "it belongs to account 123456789012 in partition aws-cn, not to this function's account 123456789012 in partition aws"),
        ];
        for (arn, why) in cases {
            let request =
                resolve(parse(rds_event(&arn)).expect("event"), &settings(&[]), &scope(), None).expect("no-op");
            assert!(request.providers.is_empty(), "{arn}");
            assert_eq!(request.target, None);
            assert_eq!(request.notes, [format!("no-op: {arn} is not this janitor's to touch: {why}")]);
        }

        let ours = format!("arn:aws:rds:us-east-1:{ACCOUNT}:integration:{id}");
        let request = resolve(parse(rds_event(&ours)).expect("event"), &settings(&[]), &scope(), None).expect("ours");
        assert_eq!(request.providers, [rds::PROVIDER]);
        assert_eq!(request.target.map(|t| t.arn), Some(ours.clone()));

        let unchecked = Scope { owner: Owner::of_function(None), ..scope() };
        let foreign = format!("arn:aws:rds:us-east-1:210987654321:integration:{id}");
        let request =
            resolve(parse(rds_event(&foreign)).expect("event"), &settings(&[]), &unchecked, None).expect("cli");
        assert_eq!(request.providers, [rds::PROVIDER], "without a function ARN only the form is checked");

        let unreadable = Scope { owner: Owner::of_function(Some("not-an-arn")), ..scope() };
        let request =
            resolve(parse(rds_event(&ours)).expect("event"), &settings(&[]), &unreadable, None).expect("no-op");
        assert!(request.providers.is_empty());
        assert!(request.notes[0]
            .ends_with("this function's ARN not-an-arn does not say its account, so no resource can be shown ours"));
    }

    #[test]
    fn a_function_arn_names_its_owner() {
        let owner = |arn: &str| Owner::of_function(Some(arn));
        let ours = Owner::Account { partition: "aws".into(), account: ACCOUNT.into() };
        assert_eq!(owner(&format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:janitor")), ours);
        assert_eq!(owner(&format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:janitor:live")), ours);
        assert_eq!(
            owner(&format!("arn:aws-cn:lambda:cn-north-1:{ACCOUNT}:function:janitor")),
            Owner::Account { partition: "aws-cn".into(), account: ACCOUNT.into() }
        );
        for bad in [
            "",
            "arn:aws:lambda:us-east-1:1:function:janitor",
            "arn:aws:s3:::bucket",
            "arn:aws:lambda:us-east-1:123456789012:function:",
        ] {
            assert!(matches!(owner(bad), Owner::Unreadable(_)), "{bad}");
        }
    }

    mod properties {
        use super::*;
        use proptest::collection::{btree_map, vec};
        use proptest::prelude::*;

        fn pick(options: &'static [&'static str]) -> impl Strategy<Value = String> {
            proptest::sample::select(options).prop_map(str::to_owned)
        }

        /// ARNs the janitor acts on, and ARNs near and far from them.
        fn arn() -> impl Strategy<Value = String> {
            let usable = (
                pick(&["rds:us-east-1", "redshift:eu-west-1", "dms:us-east-1", "dms:eu-west-1"]),
                pick(&["123456789012", "210987654321"]),
                pick(&["5b9f3d79-7392-4a3e-896c-58eaa1b53231", "ORDERS7QX", "a_b-c"]),
            )
                .prop_map(|(service_region, account, id)| {
                    let kind = if service_region.starts_with("dms") { "endpoint" } else { "integration" };
                    format!("arn:aws:{service_region}:{account}:{kind}:{id}")
                });
            let any_parts = (
                pick(&["aws", "aws-cn", "aws-us-gov", "azure", "", "AWS"]),
                pick(&["rds", "redshift", "dms", "s3", "rds-data", ""]),
                pick(&["us-east-1", "eu-west-1", "ap-south-1", "cn-hangzhou", "US-EAST-1", ""]),
                pick(&["123456789012", "210987654321", "1", ""]),
                pick(&["integration", "endpoint", "rep", "db", ""]),
                prop_oneof![pick(&["5b9f3d79-7392-4a3e-896c-58eaa1b53231", "", "a:b", "a/b"]), ".{0,300}"],
            )
                .prop_map(|(partition, service, region, account, kind, id)| {
                    format!("arn:{partition}:{service}:{region}:{account}:{kind}:{id}")
                });
            prop_oneof![3 => usable, 1 => any_parts]
        }

        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                pick(&["dms", "rds", "dts", " RDS ", "aurora", "us-east-1", "eu-west-1", "cn-hangzhou", "ap-south-1"]),
                pick(&["aws.rds", "aws.dms", "aws.redshift", "aws.events", "aws.ec2", "Scheduled Event"]),
                pick(&[
                    "RDS Zero ETL Event",
                    "Redshift Integration Monitoring",
                    "DMS Replication Endpoint State Change"
                ]),
                arn(),
                ".{0,40}",
                ".{250,400}",
            ]
        }

        fn key() -> impl Strategy<Value = String> {
            prop_oneof![
                pick(&["dryRun", "providers", "regions", "dtsRegions", "source", "detail-type", "resources"]),
                pick(&["detail", "EventID", "eventId", "SourceArn", "id", "version", "account", "region", "time"]),
                ".{0,12}",
            ]
        }

        fn json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                text().prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 32, 6, |inner| {
                prop_oneof![
                    vec(inner.clone(), 0..6).prop_map(Value::Array),
                    btree_map(key(), inner, 0..6).prop_map(|map| Value::Object(map.into_iter().collect())),
                ]
            })
        }

        /// Objects shaped like the payloads the janitor reads, with values near and far from valid ones.
        fn payload() -> impl Strategy<Value = Value> {
            let names = |usual: &'static [&'static str]| {
                let name = prop_oneof![
                    6 => pick(usual),
                    1 => pick(&[" RDS ", "aurora", "ap-south-1", "", "dms", "cn-hangzhou", "us-east-1"]),
                    1 => text(),
                ];
                proptest::option::of(vec(name, 0..4))
            };
            let providers = names(&["dms", "rds", "dts"]);
            let regions = names(&["us-east-1", "eu-west-1"]);
            let dts_regions = names(&["cn-hangzhou", "us-east-1"]);
            let manual = (proptest::option::of(any::<bool>()), providers, regions, dts_regions).prop_map(
                |(dry_run, providers, regions, dts_regions)| {
                    let fields = [
                        ("dryRun", dry_run.map(Value::Bool)),
                        ("providers", providers.map(|p| json!(p))),
                        ("regions", regions.map(|r| json!(r))),
                        ("dtsRegions", dts_regions.map(|r| json!(r))),
                    ];
                    Value::Object(fields.into_iter().filter_map(|(k, v)| Some((k.to_owned(), v?))).collect())
                },
            );
            let kinds: Vec<(String, String)> = registry::REGISTRY
                .iter()
                .flat_map(|spec| spec.events)
                .map(|e| (e.source.to_string(), e.detail_type.to_string()))
                .chain([("aws.events".to_owned(), "Scheduled Event".to_owned())])
                .collect();
            let kind = prop_oneof![4 => proptest::sample::select(kinds), 1 => (text(), text())];
            let event = (kind, vec(prop_oneof![4 => arn(), 1 => text()], 0..3), btree_map(key(), json(), 0..4))
                .prop_map(|((source, detail_type), resources, detail)| {
                    json!({"source": source, "detail-type": detail_type, "resources": resources, "detail": detail})
                });
            prop_oneof![2 => manual, 2 => event, 1 => json()]
        }

        fn settings_and_scope() -> impl Strategy<Value = (Settings, Scope)> {
            (any::<bool>(), proptest::sample::subsequence(&["dms", "rds", "dts", "redshift"][..], 1..=4), any::<bool>())
                .prop_map(|(dry_run, providers, checked)| {
                    let providers = providers.join(",");
                    let settings = settings(&[
                        ("JANITOR_DRY_RUN", if dry_run { "true" } else { "false" }),
                        ("JANITOR_PROVIDERS", &providers),
                        ("JANITOR_DTS_REGIONS", "cn-hangzhou,us-east-1"),
                    ]);
                    let owner = if checked { scope().owner } else { Owner::Unchecked };
                    (settings, Scope { owner, ..scope() })
                })
        }

        /// What every resolved request must satisfy: never wider, never more destructive, never someone else's.
        fn within_the_configuration(request: &SweepRequest, settings: &Settings, scope: &Scope) {
            assert!(request.providers.iter().all(|p| settings.providers.contains(p)), "{request:?}");
            for (cloud, chosen) in &request.regions {
                let allowed = &scope.regions[cloud];
                assert!(!chosen.is_empty() && chosen.iter().all(|r| allowed.contains(r)), "{request:?}");
            }
            assert!(request.dry_run || !settings.dry_run, "a payload turned dry run off: {request:?}");
            if let Some(target) = &request.target {
                assert_eq!(request.providers, [target.provider]);
                assert!(scope.regions[target.provider.cloud().name].contains(&target.region));
                if let Owner::Account { account, partition } = &scope.owner {
                    assert_eq!(target.owner(), (partition.as_str(), account.as_str()));
                }
            }
            assert!(request.trigger.chars().count() <= 2 * ECHO_LIMIT + 64, "{}", request.trigger);
            for note in &request.notes {
                assert!(note.chars().count() <= 3 * ECHO_LIMIT + 300, "{note}");
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
                let _ = parse_bytes(&bytes);
            }

            #[test]
            fn arbitrary_json_text_never_panics(text in "[\\[\\]{}\",:0-9a-zA-Z .\\\\-]{0,64}") {
                let _ = parse_bytes(text.as_bytes());
            }

            #[test]
            fn a_resolved_request_stays_within_the_configuration(
                payload in payload(),
                (settings, scope) in settings_and_scope(),
            ) {
                let bytes = serde_json::to_vec(&payload).expect("serializable");
                match parse_bytes(&bytes).and_then(|trigger| resolve(trigger, &settings, &scope, None)) {
                    Ok(request) => within_the_configuration(&request, &settings, &scope),
                    Err(error) => {
                        let message = error.to_string();
                        prop_assert!(message.chars().count() <= ECHO_LIMIT + 400, "{}", message);
                    }
                }
            }
        }
    }
}
