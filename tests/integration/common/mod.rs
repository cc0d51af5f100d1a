//! Shared harness: the emulator in-process and a janitor wired to it through the real SDK over HTTP.
#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region};
use aws_sdk_databasemigration::config::Credentials;
use emulator::{Connection, Emulator, Fleet, Integration};
use replication_janitor::app::janitor::Janitor;
use replication_janitor::config::Settings;
use replication_janitor::engine::calls::RetryPolicy;
use replication_janitor::engine::report::{Item, Report};
use replication_janitor::entry::startup;
use std::time::{Duration, SystemTime};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

pub fn endpoint_arn(region: &str, id: &str) -> String {
    format!("arn:aws:dms:{region}:{ACCOUNT}:endpoint:{id}")
}

pub fn instance_arn(region: &str, id: &str) -> String {
    format!("arn:aws:dms:{region}:{ACCOUNT}:rep:{id}")
}

pub fn integration_arn(region: &str, id: &str) -> String {
    format!("arn:aws:rds:{region}:{ACCOUNT}:integration:{id}")
}

/// A connection of endpoint `endpoint` on instance `instance` in us-east-1.
pub fn connection(endpoint: &str, instance: &str, status: &str) -> Connection {
    let mut c = Connection::new(REGION, &endpoint_arn(REGION, endpoint), &instance_arn(REGION, instance));
    c.endpoint_identifier = Some(endpoint.to_owned());
    c.replication_instance_identifier = Some(instance.to_owned());
    c.status = status.to_owned();
    c
}

/// An integration named `name` in us-east-1, created `age` ago.
pub fn integration(name: &str, status: &str, age: Duration) -> Integration {
    let mut i = Integration::new(REGION, &integration_arn(REGION, name));
    i.integration_name = Some(name.to_owned());
    i.status = status.to_owned();
    i.create_time = SystemTime::now() - age;
    i
}

pub const DAYS: Duration = Duration::from_secs(86_400);

/// The janitor binary with a clean environment that points every AWS call at `endpoint`, then `vars` on top.
pub fn janitor_binary(home: &std::path::Path, endpoint: &str, vars: &[(&str, &str)]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_replication-janitor"));
    command
        .env_clear()
        .env("HOME", home)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIDEMULATOR")
        .env("AWS_SECRET_ACCESS_KEY", "emulator-secret")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(NO_GRACE.iter().copied())
        .envs(vars.iter().copied());
    command
}

pub async fn emulator(fleet: Fleet) -> Emulator {
    Emulator::start(fleet).await.expect("emulator starts")
}

/// Every provider's first-seen grace off: most tests are about one run; the grace tests set it.
pub const NO_GRACE: &[(&str, &str)] = &[
    ("JANITOR_DMS_GRACE", "0"),
    ("JANITOR_RDS_GRACE", "0"),
    ("JANITOR_DTS_GRACE", "0"),
    ("JANITOR_REDSHIFT_GRACE", "0"),
    ("JANITOR_GLUE_GRACE", "0"),
];

/// Settings from `vars` only (never the process environment), with every grace off unless a test sets it.
pub fn settings(vars: &[(&str, &str)]) -> Settings {
    let mut all: Vec<(&str, &str)> = NO_GRACE.to_vec();
    all.push(("JANITOR_REGIONS", REGION));
    all.retain(|(k, _)| !vars.iter().any(|(v, _)| v == k));
    all.extend_from_slice(vars);
    Settings::parse(|name| all.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())).expect("valid settings")
}

/// A janitor whose SDK clients talk to `emulator`, with fast retries so fault tests stay quick.
pub async fn janitor(emulator: &Emulator, vars: &[(&str, &str)]) -> Janitor {
    let settings = settings(vars);
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(emulator.url())
        .credentials_provider(Credentials::new("AKIDEMULATOR", "emulator-secret", None, None, "tests"))
        .load()
        .await;
    let retry = RetryPolicy {
        max_attempts: settings.max_attempts,
        base: Duration::from_millis(2),
        cap: Duration::from_millis(50),
    };
    startup::janitor_with(&sdk, settings, None, retry).await.expect("janitor")
}

/// Runs the whole configuration once, as the CLI does.
pub async fn sweep(janitor: &Janitor) -> Report {
    janitor.sweep(&janitor.configured_request("test")).await
}

pub fn items(report: &Report) -> Vec<&Item> {
    report.sweeps.iter().flat_map(|s| &s.items).collect()
}

/// The item named `name`; panics with the whole report if it is missing.
pub fn item<'a>(report: &'a Report, name: &str) -> &'a Item {
    items(report).into_iter().find(|i| i.name == name).unwrap_or_else(|| panic!("no item {name} in {report:#?}"))
}

/// `(verdict, outcome)` of the item named `name`, as the report's JSON spells them.
pub fn fate(report: &Report, name: &str) -> (String, String) {
    let item = item(report, name);
    let text = |v: serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    (
        text(serde_json::to_value(item.verdict).expect("verdict")),
        text(serde_json::to_value(item.outcome).expect("outcome")),
    )
}

pub fn deletes(emulator: &Emulator) -> Vec<String> {
    emulator
        .calls()
        .into_iter()
        .filter(|c| c.operation.starts_with("Delete"))
        .map(|c| c.target.unwrap_or_default())
        .collect()
}

/// The CloudWatch dashboard's body in template.yaml (the JSON block under `DashboardBody: !Sub |`), each `${name}`
/// replaced by `substitute(name)`.
pub fn dashboard_body(substitute: impl Fn(&str) -> String) -> serde_json::Value {
    let template = std::fs::read_to_string("template.yaml").expect("template.yaml");
    let indent = |line: &str| line.len() - line.trim_start().len();
    let mut lines = template.lines().skip_while(|l| l.trim() != "DashboardBody: !Sub |");
    let header = lines.next().expect("a `DashboardBody: !Sub |` block in template.yaml");
    let block: Vec<&str> = lines.take_while(|l| l.trim().is_empty() || indent(l) > indent(header)).collect();
    let mut text = String::new();
    let mut rest = block.join("\n");
    while let Some(start) = rest.find("${") {
        let end = rest[start..].find('}').map(|e| start + e).expect("a closed ${...}");
        text.push_str(&rest[..start]);
        text.push_str(&substitute(&rest[start + 2..end]));
        rest = rest[end + 1..].to_owned();
    }
    text.push_str(&rest);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the dashboard body is not JSON: {e}\n{text}"))
}

/// Every widget of the dashboard of type `kind` (`metric`, `log`, `alarm`, `text`).
pub fn dashboard_widgets(body: &serde_json::Value, kind: &str) -> Vec<serde_json::Value> {
    body["widgets"].as_array().expect("widgets").iter().filter(|w| w["type"] == kind).cloned().collect()
}
