//! Triggers: what invoked the janitor, read from the Lambda payload. A payload can only make a run safer or
//! narrower than the configuration, never wider or more destructive.

use crate::config::Settings;
use crate::resource::Provider;
use crate::sweep::SweepRequest;
use serde::Deserialize;
use serde_json::Value;
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
    #[error(
        "the request names {what} {names:?} that this janitor is not configured for ({variable} allows {allowed:?})"
    )]
    NotConfigured { what: &'static str, names: Vec<String>, variable: &'static str, allowed: Vec<String> },
}

/// A manual invoke or an EventBridge Scheduler input (which has no envelope).
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManualRequest {
    pub dry_run: Option<bool>,
    pub providers: Option<Vec<String>>,
    pub regions: Option<Vec<String>>,
}

/// One resource a service event names: the sweep judges only it (DMS: the connections of an endpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub provider: Provider,
    pub region: String,
    /// An integration ARN (RDS) or an endpoint ARN (DMS).
    pub arn: String,
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
}

/// Reads raw payload bytes (the form a Runtime API driver or a file delivers).
pub fn parse_bytes(payload: &[u8]) -> Result<Trigger, TriggerError> {
    let value: Value = serde_json::from_slice(payload).map_err(|e| TriggerError::NotJson(e.to_string()))?;
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
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
    if let (Some(source), Some(detail_type)) = (text("source"), text("detail-type")) {
        if source == "aws.events" && detail_type == "Scheduled Event" {
            let event: aws_lambda_events::eventbridge::EventBridgeEvent = serde_json::from_value(payload)
                .map_err(|e| TriggerError::BadRequest(format!("malformed scheduled event: {e}")))?;
            return Ok(Trigger::Schedule { rule: event.resources.and_then(|r| r.into_iter().next()) });
        }
        return Ok(service_event(object, source, detail_type));
    }
    serde_json::from_value(payload).map(Trigger::Manual).map_err(|e| TriggerError::BadRequest(e.to_string()))
}

/// The detail-types the janitor acts on, by source, and what their resource is.
const SERVICE_EVENTS: &[(&str, &str, Provider)] = &[
    ("aws.rds", "RDS Zero ETL Event", Provider::Rds),
    ("aws.redshift", "Redshift Integration Monitoring", Provider::Rds),
    ("aws.redshift", "Redshift Integration Configuration", Provider::Rds),
    ("aws.redshift", "Redshift Integration Operation", Provider::Rds),
    ("aws.dms", "DMS Replication Endpoint State Change", Provider::Dms),
];

/// Classifies an EventBridge envelope other than a schedule. The resource comes from the envelope's `resources`
/// (the EventBridge convention), else from any ARN among the detail's values; the detail schemas are not documented,
/// so the parser takes what it recognises and ignores the rest.
fn service_event(object: &serde_json::Map<String, Value>, source: String, detail_type: String) -> Trigger {
    let Some((_, _, provider)) = SERVICE_EVENTS.iter().find(|(s, d, _)| *s == source && *d == detail_type) else {
        return Trigger::Ignored { source, detail_type };
    };
    let detail = object.get("detail");
    let event_id = detail
        .and_then(|d| ["EventID", "eventId", "EventId", "eventID", "event-id"].iter().find_map(|k| d.get(*k)))
        .and_then(Value::as_str);
    let event = match event_id {
        Some(id) => format!("{source}/{detail_type} {id}"),
        None => format!("{source}/{detail_type}"),
    };
    let mut arns: Vec<&str> = Vec::new();
    if let Some(Value::Array(resources)) = object.get("resources") {
        arns.extend(resources.iter().filter_map(Value::as_str));
    }
    if let Some(Value::Object(detail)) = detail {
        arns.extend(detail.values().filter_map(Value::as_str).filter(|v| v.starts_with("arn:")));
    }
    let wanted = match provider {
        Provider::Dms => ":endpoint:",
        _ => ":integration:",
    };
    let Some(arn) = arns.into_iter().find(|arn| arn.starts_with("arn:") && arn.contains(wanted)) else {
        return Trigger::Unusable { event, why: format!("it names no resource with an ARN containing {wanted:?}") };
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let (Some(service), Some(region)) = (parts.get(2), parts.get(3).filter(|r| !r.is_empty())) else {
        return Trigger::Unusable { event, why: format!("{arn} is not a regional ARN") };
    };
    // A Redshift-side ARN of a zero-ETL integration names the same integration as its RDS ARN (assumed; see README).
    let arn = if *service == "redshift" { arn.replacen(":redshift:", ":rds:", 1) } else { arn.to_owned() };
    Trigger::Service { target: Target { provider: *provider, region: region.to_string(), arn }, event }
}

/// Turns a trigger into a sweep request within the configuration (`regions`: every region the janitor can sweep):
/// `providers`/`regions` may only narrow it, and
/// `dryRun: false` cannot override a dry-run configuration (the report notes that it was ignored).
pub fn resolve(
    trigger: Trigger,
    settings: &Settings,
    regions: &[String],
    deadline: Option<SystemTime>,
) -> Result<SweepRequest, TriggerError> {
    let mut request = SweepRequest::configured(settings, "", deadline);
    match trigger {
        Trigger::Schedule { rule } => {
            request.trigger = "schedule".to_owned();
            if let Some(rule) = rule {
                request.notes.push(format!("scheduled by {rule}"));
            }
        }
        Trigger::Service { target, event } => {
            request.trigger = event;
            if !settings.providers.contains(&target.provider) || !regions.contains(&target.region) {
                request.providers.clear();
                request.notes.push(format!(
                    "no-op: {} in {} is outside this janitor's providers and regions",
                    target.arn, target.region
                ));
            } else {
                request.providers = vec![target.provider];
                request.regions = Some(vec![target.region.clone()]);
                request.notes.push(format!("scoped to {} by the event", target.arn));
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
            request
                .notes
                .push(format!("no-op: events with source {source:?} and detail-type {detail_type:?} are not acted on"));
        }
        Trigger::Manual(manual) => {
            request.trigger = "manual".to_owned();
            match (manual.dry_run, settings.dry_run) {
                (Some(true), false) => {
                    request.dry_run = true;
                    request.notes.push("dry run requested by the payload".to_owned());
                }
                (Some(false), true) => request
                    .notes
                    .push("dryRun=false in the payload was ignored: JANITOR_DRY_RUN=true; a payload can only make a run safer".to_owned()),
                _ => {}
            }
            if let Some(names) = manual.providers {
                let allowed: Vec<String> = settings.providers.iter().map(|p| p.as_str().to_owned()).collect();
                let chosen: Vec<Option<Provider>> =
                    names.iter().map(|n| Provider::parse(n).filter(|p| settings.providers.contains(p))).collect();
                if chosen.iter().any(Option::is_none) || names.is_empty() {
                    return Err(TriggerError::NotConfigured {
                        what: "providers",
                        names,
                        variable: "JANITOR_PROVIDERS",
                        allowed,
                    });
                }
                request.providers.retain(|p| chosen.contains(&Some(*p)));
                request.notes.push(format!("providers narrowed by the payload to {}", names.join(",")));
            }
            if let Some(names) = manual.regions {
                if names.is_empty() || names.iter().any(|n| !regions.contains(n)) {
                    return Err(TriggerError::NotConfigured {
                        what: "regions",
                        names,
                        variable: "JANITOR_REGIONS",
                        allowed: regions.to_vec(),
                    });
                }
                request.regions = Some(names.clone());
                request.notes.push(format!("regions narrowed by the payload to {}", names.join(",")));
            }
        }
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        Settings::parse(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())).expect("settings")
    }

    fn regions() -> Vec<String> {
        vec!["us-east-1".into(), "eu-west-1".into()]
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
    fn a_payload_cannot_turn_dry_run_off() {
        let manual = Trigger::Manual(ManualRequest { dry_run: Some(false), ..Default::default() });
        let request = resolve(manual, &settings(&[]), &regions(), None).expect("request");
        assert!(request.dry_run);
        assert!(request.notes.iter().any(|n| n.contains("dryRun=false in the payload was ignored")));
    }

    #[test]
    fn a_payload_can_turn_dry_run_on_and_narrow_the_scope() {
        let manual = Trigger::Manual(ManualRequest {
            dry_run: Some(true),
            providers: Some(vec!["rds".into()]),
            regions: Some(vec!["eu-west-1".into()]),
        });
        let request = resolve(manual, &settings(&[("JANITOR_DRY_RUN", "false")]), &regions(), None).expect("request");
        assert!(request.dry_run);
        assert_eq!(request.providers, [Provider::Rds]);
        assert_eq!(request.regions, Some(vec!["eu-west-1".to_owned()]));
    }

    #[test]
    fn a_payload_cannot_widen_the_scope() {
        let only_rds = settings(&[("JANITOR_PROVIDERS", "rds")]);
        let err = resolve(
            Trigger::Manual(ManualRequest { providers: Some(vec!["dms".into()]), ..Default::default() }),
            &only_rds,
            &regions(),
            None,
        )
        .expect_err("dms not configured");
        assert_eq!(
            err.to_string(),
            "the request names providers [\"dms\"] that this janitor is not configured for (JANITOR_PROVIDERS allows [\"rds\"])"
        );
        let err = resolve(
            Trigger::Manual(ManualRequest { regions: Some(vec!["ap-south-1".into()]), ..Default::default() }),
            &only_rds,
            &regions(),
            None,
        )
        .expect_err("region not configured");
        assert!(matches!(err, TriggerError::NotConfigured { what: "regions", .. }));
    }

    #[test]
    fn an_ignored_event_sweeps_nothing_and_says_why() {
        let ignored = Trigger::Ignored { source: "aws.ec2".into(), detail_type: "x".into() };
        let request = resolve(ignored, &settings(&[]), &regions(), None).expect("request");
        assert!(request.providers.is_empty());
        assert_eq!(request.notes, ["no-op: events with source \"aws.ec2\" and detail-type \"x\" are not acted on"]);
    }
}
