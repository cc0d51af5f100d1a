//! Undoing a deletion: which resources an archived report says a run deleted, whether each may be re-made, and the
//! call that re-makes it from the definition the report kept (`Item.definition`). Pure: the calls themselves go
//! through the [`Recreator`] port (`providers/recreate.rs`), and `app/restore.rs` reads the report and runs the plan.

use crate::domain::resource::Definition;
use async_trait::async_trait;
use serde::Deserialize;

/// The tag a re-made resource carries, naming the report it was restored from.
pub const RESTORED_FROM_TAG: &str = "replication-janitor:restored-from";
/// The longest tag value the three integration services take (RDS, Redshift and Glue document 256 characters).
const TAG_VALUE_LIMIT: usize = 256;

/// A report that cannot be read as one the janitor wrote.
#[derive(Debug, thiserror::Error)]
#[error("not a replication-janitor report: {0}")]
pub struct NotAReport(String);

/// The parts of an archived report restore reads (the report's public field names).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchivedReport {
    dry_run: bool,
    sweeps: Vec<ArchivedSweep>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchivedSweep {
    account: Option<String>,
    provider: String,
    region: String,
    items: Vec<ArchivedItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchivedItem {
    id: String,
    name: String,
    outcome: String,
    definition: Option<Definition>,
}

/// One resource of the report that restore may be asked about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub provider: String,
    pub region: String,
    /// The account it was in: the report's, or the one its ARN names.
    pub account: Option<String>,
    pub id: String,
    pub name: String,
    /// What the run did to it (`deleted`, `wouldDelete`, ...).
    pub outcome: String,
    pub definition: Option<Definition>,
    /// The report was a dry run's.
    pub dry_run: bool,
}

/// Every resource a report lists (only `deleted` and `unconfirmed` ones can be restored: see [`plan`]).
pub fn candidates(report: &str) -> Result<Vec<Candidate>, NotAReport> {
    let report: ArchivedReport = serde_json::from_str(report).map_err(|e| NotAReport(e.to_string()))?;
    let dry_run = report.dry_run;
    Ok(report
        .sweeps
        .into_iter()
        .flat_map(|sweep| {
            let ArchivedSweep { account, provider, region, items } = sweep;
            items.into_iter().map(move |item| Candidate {
                account: account.clone().or_else(|| account_of(&item.id)),
                provider: provider.clone(),
                region: region.clone(),
                id: item.id,
                name: item.name,
                outcome: item.outcome,
                definition: item.definition,
                dry_run,
            })
        })
        .collect())
}

/// The account an ARN names (the first ARN of a DMS connection's `<endpoint ARN>|<instance ARN>`).
fn account_of(id: &str) -> Option<String> {
    let arn = id.split('|').next()?;
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts[..] {
        ["arn", _, _, _, account, _] if !account.is_empty() && account.bytes().all(|b| b.is_ascii_digit()) => {
            Some(account.to_owned())
        }
        _ => None,
    }
}

/// What restore will do for one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Call `call` (as the AWS CLI names it) in `region` with `input` (the restored-from tag included).
    Recreate { call: String, region: String, input: serde_json::Map<String, serde_json::Value> },
    /// Nothing is called, for this reason.
    Refused(String),
}

/// How one kind of create call takes tags.
pub trait Recreates {
    /// Whether this adapter can make `call` (`rds create-integration`, ...).
    fn supports(&self, call: &str) -> bool;
    /// The input member that holds `call`'s tags (`Tags`, `TagList`), or `None` when the resource takes none.
    fn tag_member(&self, call: &str) -> Option<&'static str>;
}

/// The plan for `candidate`, for credentials of `caller_account`, restoring from the report at `report_key`.
pub fn plan(candidate: &Candidate, caller_account: &str, report_key: &str, recreates: &dyn Recreates) -> Plan {
    let refused = |why: String| Plan::Refused(why);
    if !matches!(candidate.outcome.as_str(), "deleted" | "unconfirmed") {
        let why = if candidate.dry_run {
            "that run was a dry run: it deleted nothing".to_owned()
        } else {
            format!("that run did not delete it (its outcome was {})", candidate.outcome)
        };
        return refused(why);
    }
    let Some(definition) = &candidate.definition else {
        return refused("the report kept no definition for it (a report from before restore existed)".to_owned());
    };
    let Some(call) = definition.recreate.as_deref() else {
        return refused(format!(
            "{} resources cannot be re-made from what their control plane describes (it returns no passwords); the \
             report keeps the definition for people",
            candidate.provider
        ));
    };
    if !recreates.supports(call) {
        return refused(format!("restore does not know the call {call}"));
    }
    match candidate.account.as_deref() {
        Some(account) if account == caller_account => {}
        Some(account) => {
            return refused(format!(
                "it was in account {account}, but these credentials are account {caller_account}'s"
            ))
        }
        None => return refused("the report does not say which account it was in".to_owned()),
    }
    let mut input = definition.input.to_map();
    if let Some(member) = recreates.tag_member(call) {
        tag_restored(&mut input, member, report_key);
    }
    Plan::Recreate { call: call.to_owned(), region: candidate.region.clone(), input }
}

/// Adds (or replaces) the restored-from tag in the tag list at `member`.
fn tag_restored(input: &mut serde_json::Map<String, serde_json::Value>, member: &str, report_key: &str) {
    let value: String = match report_key.char_indices().rev().nth(TAG_VALUE_LIMIT - 1) {
        // Too long for a tag value: its end, which names the report.
        Some((start, _)) => report_key[start..].to_owned(),
        None => report_key.to_owned(),
    };
    let mut tags: Vec<serde_json::Value> = match input.remove(member) {
        Some(serde_json::Value::Array(tags)) => tags,
        _ => Vec::new(),
    };
    tags.retain(|tag| tag.get("Key").and_then(serde_json::Value::as_str) != Some(RESTORED_FROM_TAG));
    tags.push(serde_json::json!({"Key": RESTORED_FROM_TAG, "Value": value}));
    input.insert(member.to_owned(), serde_json::Value::Array(tags));
}

/// The AWS CLI command line that makes the same call: `aws <service> <operation> --region <r> --cli-input-json '<json>'`,
/// quoted for a POSIX shell, with every character outside ASCII written as a JSON escape so a hostile name cannot
/// reorder or hide what a terminal shows.
pub fn cli_command(call: &str, region: &str, input: &serde_json::Map<String, serde_json::Value>) -> String {
    let json = ascii_json(&serde_json::Value::Object(input.clone()));
    format!("aws {call} --region {} --cli-input-json {}", shell_quoted(region), shell_quoted(&json))
}

fn ascii_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    for c in value.to_string().chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

fn shell_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Why a create call did not make the resource, in the control plane's words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RecreateError(pub String);

/// The port to the control planes' create calls.
#[async_trait]
pub trait Recreator: Recreates + Send + Sync {
    /// A live resource that the re-made one would clash with (the same name, or the same connection), described in a
    /// few words; checked before any call, so a taken name is refused with its holder rather than an error.
    async fn clash(
        &self,
        call: &str,
        region: &str,
        input: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Option<String>, RecreateError>;
    /// Makes the call; the new resource's identifier on success.
    async fn recreate(
        &self,
        call: &str,
        region: &str,
        input: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<String, RecreateError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Calls;

    impl Recreates for Calls {
        fn supports(&self, call: &str) -> bool {
            call == "rds create-integration" || call == "dms test-connection"
        }
        fn tag_member(&self, call: &str) -> Option<&'static str> {
            (call == "rds create-integration").then_some("Tags")
        }
    }

    const ARN: &str = "arn:aws:rds:us-east-1:111122223333:integration:5b9f3d79";

    fn report(dry_run: bool, outcome: &str, definition: serde_json::Value) -> String {
        serde_json::json!({
            "dryRun": dry_run, "trigger": "cli", "sweeps": [{
                "provider": "rds", "region": "us-east-1", "counts": {},
                "items": [{"kind": "rds-integration", "id": ARN, "name": "orders", "status": "failed",
                           "verdict": "delete", "reason": "failed", "outcome": outcome, "definition": definition}]
            }]
        })
        .to_string()
    }

    fn rds_definition() -> serde_json::Value {
        serde_json::json!({"recreate": "rds create-integration", "input": {
            "SourceArn": "arn:aws:rds:us-east-1:111122223333:cluster:orders", "IntegrationName": "orders",
            "Tags": [{"Key": "team", "Value": "data"}, {"Key": RESTORED_FROM_TAG, "Value": "an older report"}]}})
    }

    fn only(report: &str) -> Candidate {
        let mut all = candidates(report).expect("a report");
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    #[test]
    fn a_deleted_integration_is_re_made_with_its_tags_and_the_restored_from_tag() {
        let candidate = only(&report(false, "deleted", rds_definition()));
        assert_eq!(candidate.account.as_deref(), Some("111122223333"));
        let Plan::Recreate { call, region, input } = plan(&candidate, "111122223333", "s3://b/reports/r.json", &Calls)
        else {
            panic!("refused")
        };
        assert_eq!((call.as_str(), region.as_str()), ("rds create-integration", "us-east-1"));
        assert_eq!(
            input["Tags"],
            serde_json::json!([{"Key": "team", "Value": "data"}, {"Key": RESTORED_FROM_TAG, "Value": "s3://b/reports/r.json"}])
        );
        assert_eq!(input["IntegrationName"], "orders");
    }

    #[test]
    fn what_cannot_be_restored_is_refused_with_its_reason() {
        let refusal = |report: &str, caller: &str| match plan(&only(report), caller, "k", &Calls) {
            Plan::Refused(why) => why,
            Plan::Recreate { .. } => panic!("not refused"),
        };
        assert!(refusal(&report(true, "wouldDelete", rds_definition()), "111122223333").contains("dry run"));
        assert!(refusal(&report(false, "kept", rds_definition()), "111122223333").contains("outcome was kept"));
        assert!(refusal(&report(false, "deleted", rds_definition()), "444455556666")
            .contains("account 111122223333, but these credentials are account 444455556666's"));
        let dts = serde_json::json!({"input": {"DtsJobName": "orders"}});
        assert!(refusal(&report(false, "deleted", dts), "111122223333").contains("cannot be re-made"));
        let unknown = serde_json::json!({"recreate": "ec2 run-instances", "input": {}});
        assert!(refusal(&report(false, "deleted", unknown), "111122223333").contains("does not know"));
        assert!(refusal(&report(false, "deleted", serde_json::Value::Null), "111122223333").contains("no definition"));
    }

    #[test]
    fn a_long_report_key_keeps_its_end_in_the_tag() {
        let mut input = serde_json::Map::new();
        let key = format!("s3://bucket/{}/report.json", "x".repeat(400));
        tag_restored(&mut input, "Tags", &key);
        let value = input["Tags"][0]["Value"].as_str().expect("a value");
        assert_eq!(value.chars().count(), TAG_VALUE_LIMIT);
        assert!(value.ends_with("/report.json"));
    }

    #[test]
    fn the_cli_line_quotes_hostile_names_for_the_shell_and_the_terminal() {
        let mut input = serde_json::Map::new();
        input.insert("IntegrationName".into(), "it's \u{202e}evil\u{1F600}".into());
        let line = cli_command("rds create-integration", "us-east-1", &input);
        assert_eq!(
            line,
            r#"aws rds create-integration --region 'us-east-1' --cli-input-json '{"IntegrationName":"it'\''s \u202eevil\ud83d\ude00"}'"#
        );
    }

    #[test]
    fn a_file_that_is_not_a_report_is_said_to_be_none() {
        assert!(candidates("{\"hello\": 1}").unwrap_err().to_string().starts_with("not a replication-janitor report"));
    }
}
