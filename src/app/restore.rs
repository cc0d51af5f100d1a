//! `restore`: re-makes what an archived report says a run deleted, from the definitions it kept. Dry run unless
//! asked to apply: it prints, for each resource, the call it would make and the equivalent AWS CLI command line.

use crate::engine::restore::{candidates, cli_command, plan, Candidate, NotAReport, Plan, Recreator};
use aws_config::SdkConfig;
use std::fmt;

/// What restore was asked to do.
#[derive(Clone, Debug)]
pub struct RestoreRequest {
    /// A report file, or `s3://bucket/key` of an archived one.
    pub report: String,
    /// Only these resources (ids or names); all the report's deleted ones when empty.
    pub resources: Vec<String>,
    /// Make the calls; without it only say what they would be.
    pub apply: bool,
}

/// Why restore could not start: nothing was called.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error("could not read the report {where_}: {why}")]
    Unreadable { where_: String, why: String },
    #[error("{0}")]
    NotAReport(#[from] NotAReport),
    #[error("could not tell which account these credentials are: {0}")]
    NoIdentity(String),
    #[error("the report lists no resource {0}")]
    UnknownResource(String),
}

/// What became of one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Done {
    /// Dry run: the call it would make, and the same as an AWS CLI command line.
    WouldCall {
        call: String,
        command: String,
    },
    Restored {
        call: String,
        made: String,
    },
    Refused(String),
    Failed(String),
}

/// One resource's line in restore's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    pub candidate: Candidate,
    pub done: Done,
}

impl Restored {
    pub fn is_success(&self) -> bool {
        matches!(self.done, Done::WouldCall { .. } | Done::Restored { .. })
    }
}

impl fmt::Display for Restored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.candidate;
        let name = crate::domain::text::display(&c.name, 200);
        let id = crate::domain::text::display(&c.id, 400);
        writeln!(f, "{} {name} ({id}) in {}:", c.provider, crate::domain::text::display(&c.region, 64))?;
        match &self.done {
            Done::WouldCall { call, command } => {
                write!(f, "  would call {call} (run again with --apply to make it):\n  {command}")
            }
            Done::Restored { call, made } => {
                write!(f, "  restored by {call}: {}", crate::domain::text::display(made, 400))
            }
            Done::Refused(why) => write!(f, "  refused: {}", crate::domain::text::display(why, 600)),
            Done::Failed(why) => write!(f, "  failed: {}", crate::domain::text::display(why, 600)),
        }
    }
}

/// Reads the report `request` names, from a file or from S3.
pub async fn read_report(request: &RestoreRequest, config: &SdkConfig) -> Result<String, RestoreError> {
    let unreadable = |why: String| RestoreError::Unreadable { where_: request.report.clone(), why };
    let Some(location) = request.report.strip_prefix("s3://") else {
        return tokio::fs::read_to_string(&request.report).await.map_err(|e| unreadable(e.to_string()));
    };
    let Some((bucket, key)) = location.split_once('/').filter(|(b, k)| !b.is_empty() && !k.is_empty()) else {
        return Err(unreadable("an S3 location is s3://<bucket>/<key>".to_owned()));
    };
    let client = aws_sdk_s3::Client::new(config);
    let object = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| unreadable(crate::providers::aws_sdk::error_line(&e)))?;
    let bytes = object.body.collect().await.map_err(|e| unreadable(e.to_string()))?.into_bytes();
    String::from_utf8(bytes.to_vec()).map_err(|e| unreadable(e.to_string()))
}

/// The account of the credentials in `config` (STS GetCallerIdentity).
pub async fn caller_account(config: &SdkConfig) -> Result<String, RestoreError> {
    let identity = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| RestoreError::NoIdentity(crate::providers::aws_sdk::error_line(&e)))?;
    identity.account().map(str::to_owned).ok_or_else(|| RestoreError::NoIdentity("STS named no account".to_owned()))
}

/// Restores what `report` (the text of the report at `request.report`) says was deleted, as `caller` (an account
/// id), through `recreator`: each resource's plan, its clash check, and with `apply` its call, one at a time.
pub async fn restore(
    request: &RestoreRequest,
    report: &str,
    caller: &str,
    recreator: &dyn Recreator,
) -> Result<Vec<Restored>, RestoreError> {
    let all = candidates(report)?;
    for wanted in &request.resources {
        if !all.iter().any(|c| &c.id == wanted || &c.name == wanted) {
            return Err(RestoreError::UnknownResource(crate::domain::text::display(wanted, 200)));
        }
    }
    let chosen: Vec<Candidate> = if request.resources.is_empty() {
        let deleted: Vec<Candidate> =
            all.iter().filter(|c| matches!(c.outcome.as_str(), "deleted" | "unconfirmed")).cloned().collect();
        if deleted.is_empty() {
            // Say why for one of them (a dry run's report, say) rather than answer nothing.
            all.into_iter().take(1).collect()
        } else {
            deleted
        }
    } else {
        all.into_iter().filter(|c| request.resources.iter().any(|w| w == &c.id || w == &c.name)).collect()
    };
    let mut answers = Vec::with_capacity(chosen.len());
    for candidate in chosen {
        let done = match plan(&candidate, caller, &request.report, recreator) {
            Plan::Refused(why) => Done::Refused(why),
            Plan::Recreate { call, region, input } => match recreator.clash(&call, &region, &input).await {
                Err(error) => Done::Failed(format!("could not check for a clash: {error}")),
                Ok(Some(clash)) => Done::Refused(clash),
                Ok(None) if !request.apply => Done::WouldCall { command: cli_command(&call, &region, &input), call },
                Ok(None) => match recreator.recreate(&call, &region, &input).await {
                    Ok(made) => Done::Restored { call, made },
                    Err(error) => Done::Failed(error.to_string()),
                },
            },
        };
        answers.push(Restored { candidate, done });
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::restore::{RecreateError, Recreates, RESTORED_FROM_TAG};
    use async_trait::async_trait;
    use serde_json::{json, Map, Value};
    use std::sync::Mutex;

    /// A control plane in memory: `live` names are taken, `gone` sources answer not found; calls are recorded.
    #[derive(Default)]
    struct Plane {
        live: Vec<&'static str>,
        gone: Vec<&'static str>,
        made: Mutex<Vec<Map<String, Value>>>,
    }

    impl Recreates for Plane {
        fn supports(&self, call: &str) -> bool {
            call == "rds create-integration"
        }
        fn tag_member(&self, _: &str) -> Option<&'static str> {
            Some("Tags")
        }
    }

    #[async_trait]
    impl Recreator for Plane {
        async fn clash(&self, _: &str, _: &str, input: &Map<String, Value>) -> Result<Option<String>, RecreateError> {
            let name = input["IntegrationName"].as_str().unwrap_or_default();
            Ok(self.live.contains(&name).then(|| format!("the name {name} is taken")))
        }
        async fn recreate(&self, _: &str, _: &str, input: &Map<String, Value>) -> Result<String, RecreateError> {
            if self.gone.contains(&input["SourceArn"].as_str().unwrap_or_default()) {
                return Err(RecreateError("DBClusterNotFoundFault: no such cluster".into()));
            }
            self.made.lock().unwrap().push(input.clone());
            Ok("arn:aws:rds:us-east-1:111122223333:integration:new".into())
        }
    }

    fn item(name: &str, outcome: &str) -> Value {
        json!({"kind": "rds-integration", "id": format!("arn:aws:rds:us-east-1:111122223333:integration:{name}"),
               "name": name, "status": "failed", "verdict": "delete", "reason": "r", "outcome": outcome,
               "definition": {"recreate": "rds create-integration", "input": {
                   "IntegrationName": name, "SourceArn": format!("arn:aws:rds:us-east-1:111122223333:cluster:{name}")}}})
    }

    fn report(items: Vec<Value>) -> String {
        json!({"dryRun": false, "sweeps": [{"provider": "rds", "region": "us-east-1", "items": items}]}).to_string()
    }

    fn request(resources: &[&str], apply: bool) -> RestoreRequest {
        RestoreRequest {
            report: "s3://reports/run.json".into(),
            resources: resources.iter().map(|r| (*r).to_owned()).collect(),
            apply,
        }
    }

    #[tokio::test]
    async fn without_apply_nothing_is_called_and_each_call_is_shown() {
        let plane = Plane::default();
        let report = report(vec![item("orders", "deleted"), item("billing", "kept")]);
        let answers = restore(&request(&[], false), &report, "111122223333", &plane).await.unwrap();
        assert_eq!(answers.len(), 1, "only the deleted one");
        let Done::WouldCall { command, .. } = &answers[0].done else { panic!("{:?}", answers[0].done) };
        assert!(command.starts_with("aws rds create-integration --region 'us-east-1' --cli-input-json '{"));
        assert!(command.contains(RESTORED_FROM_TAG));
        assert!(plane.made.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn apply_re_makes_the_deleted_and_refuses_taken_names_and_gone_sources() {
        let plane = Plane {
            live: vec!["taken"],
            gone: vec!["arn:aws:rds:us-east-1:111122223333:cluster:lost"],
            ..Default::default()
        };
        let report = report(vec![item("orders", "deleted"), item("taken", "deleted"), item("lost", "deleted")]);
        let answers = restore(&request(&[], true), &report, "111122223333", &plane).await.unwrap();
        let done: Vec<&Done> = answers.iter().map(|a| &a.done).collect();
        assert!(matches!(done[0], Done::Restored { made, .. } if made.ends_with(":integration:new")));
        assert_eq!(done[1], &Done::Refused("the name taken is taken".into()));
        assert_eq!(done[2], &Done::Failed("DBClusterNotFoundFault: no such cluster".into()));
        let made = plane.made.lock().unwrap();
        assert_eq!(made.len(), 1);
        assert_eq!(made[0]["Tags"], json!([{"Key": RESTORED_FROM_TAG, "Value": "s3://reports/run.json"}]));
    }

    #[tokio::test]
    async fn a_named_resource_must_be_in_the_report_and_a_dry_run_report_says_why() {
        let plane = Plane::default();
        let report = report(vec![item("orders", "deleted")]);
        let missing = restore(&request(&["nope"], true), &report, "111122223333", &plane).await.unwrap_err();
        assert_eq!(missing.to_string(), "the report lists no resource nope");
        let dry = json!({"dryRun": true, "sweeps": [{"provider": "rds", "region": "us-east-1",
                         "items": [item("orders", "wouldDelete")]}]})
        .to_string();
        let answers = restore(&request(&[], true), &dry, "111122223333", &plane).await.unwrap();
        assert!(matches!(&answers[0].done, Done::Refused(why) if why.contains("dry run")), "{answers:?}");
        assert!(plane.made.lock().unwrap().is_empty());
    }
}
