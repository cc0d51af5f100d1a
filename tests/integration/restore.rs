//! `restore` as a user runs it, over real HTTP: a deleting sweep's report, then the same definitions listed again
//! (tagged with the report they came from) after `restore --apply`, nothing called without `--apply`, and each
//! case restore must refuse refused with its reason.

use crate::common::*;
use emulator::{Connection, Fleet, Integration};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

const RESTORED_FROM: &str = "replication-janitor:restored-from";

async fn cli(home: &Path, endpoint: &str, args: &[&str]) -> Output {
    let mut command = janitor_binary(home, endpoint, &[]);
    command.args(args);
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs")).await.expect("join")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// A failed integration with every field a create call takes.
fn defined(mut integration: Integration, name: &str) -> Integration {
    integration.integration_name = Some(name.to_owned());
    integration.source_arn = Some(format!("arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{name}"));
    integration.target_arn = Some(format!("arn:aws:redshift-serverless:{REGION}:{ACCOUNT}:namespace/{name}"));
    integration.create_time = std::time::SystemTime::now() - 2 * DAYS;
    integration.kms_key_id = Some(format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}"));
    integration.additional_encryption_context = BTreeMap::from([("department".to_owned(), name.to_owned())]);
    integration.description = Some(format!("{name}, for the report"));
    integration.tags = BTreeMap::from([("team".to_owned(), "data".to_owned())]);
    integration
}

fn fleet() -> Fleet {
    let mut rds = defined(integration("orders", "failed", 2 * DAYS), "orders");
    rds.data_filter = Some("include: orders.*".to_owned());
    let redshift = defined(Integration::redshift(REGION, 7), "from-dynamodb");
    let mut glue = defined(Integration::glue(REGION, 9), "catalog");
    glue.status = "FAILED".to_owned();
    glue.data_filter = Some("include: catalog.*".to_owned());
    Fleet {
        connections: vec![connection("broken", "ri", "failed")],
        integrations: vec![rds],
        redshift_integrations: vec![redshift],
        glue_integrations: vec![glue],
        ..Fleet::default()
    }
}

/// Sweeps every AWS provider with deletes on and keeps the report in `home/report.json`.
async fn deleting_sweep(home: &Path, endpoint: &str) -> String {
    let swept = cli(home, endpoint, &["sweep", "--delete", "--providers", "dms,rds,redshift,glue"]).await;
    assert!(swept.status.success(), "{}", text(&swept));
    let path = home.join("report.json");
    std::fs::write(&path, &swept.stdout).expect("the report is kept");
    path.to_str().expect("a UTF-8 path").to_owned()
}

/// The integration of `list` named `name`, without what a create cannot set (ARN, status, time).
fn definition_of(list: &[Integration], name: &str) -> Option<Integration> {
    list.iter().find(|i| i.integration_name.as_deref() == Some(name)).map(|i| Integration {
        integration_arn: String::new(),
        status: String::new(),
        create_time: std::time::UNIX_EPOCH,
        ..i.clone()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_integrations_and_a_connection_come_back_as_they_were_tagged_with_their_report() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(fleet()).await;
    let before = emulator.fleet();
    let report = deleting_sweep(home.path(), &emulator.url()).await;
    let after_delete = emulator.fleet();
    assert!(after_delete.integrations.is_empty() && after_delete.redshift_integrations.is_empty());
    assert!(after_delete.glue_integrations.is_empty() && after_delete.connections.is_empty());

    emulator.clear_calls();
    let dry = cli(home.path(), &emulator.url(), &["restore", "--report", &report]).await;
    assert!(dry.status.success(), "{}", text(&dry));
    let shown = String::from_utf8_lossy(&dry.stdout);
    for call in
        ["rds create-integration", "redshift create-integration", "glue create-integration", "dms test-connection"]
    {
        assert!(shown.contains(&format!("would call {call}")), "{shown}");
        assert!(shown.contains(&format!("aws {call} --region 'us-east-1' --cli-input-json '{{")), "{shown}");
    }
    let made: Vec<String> = emulator.calls().into_iter().map(|c| c.operation).collect();
    assert!(!made.iter().any(|op| op.starts_with("Create") || op == "TestConnection"), "{made:?}");
    assert_eq!(emulator.fleet(), after_delete, "a dry run changes nothing");

    let applied = cli(home.path(), &emulator.url(), &["restore", "--report", &report, "--apply"]).await;
    assert!(applied.status.success(), "{}", text(&applied));
    let restored = emulator.fleet();
    let tagged = |mut integration: Integration| {
        integration.tags.insert(RESTORED_FROM.to_owned(), report.clone());
        integration
    };
    for (was, now, name) in [
        (&before.integrations, &restored.integrations, "orders"),
        (&before.redshift_integrations, &restored.redshift_integrations, "from-dynamodb"),
        (&before.glue_integrations, &restored.glue_integrations, "catalog"),
    ] {
        let expected = definition_of(was, name).map(tagged);
        assert_eq!(definition_of(now, name), expected, "{name} is listed again with its definition");
    }
    let connection: &Connection = restored.connections.first().expect("the connection is made again");
    assert_eq!(
        (connection.endpoint_arn.as_str(), connection.replication_instance_arn.as_str()),
        (endpoint_arn(REGION, "broken").as_str(), instance_arn(REGION, "ri").as_str())
    );

    // Everything is live again: a second restore refuses each, naming what holds it.
    let again = cli(home.path(), &emulator.url(), &["restore", "--report", &report, "--apply"]).await;
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    let refused = String::from_utf8_lossy(&again.stdout);
    assert!(refused.contains("refused: the name orders is taken by the live integration"), "{refused}");
    assert!(refused.contains("refused: the connection between them exists"), "{refused}");
    assert_eq!(emulator.fleet().integrations.len(), 1, "no second integration was made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_a_gone_source_another_accounts_report_and_a_dts_job() {
    let home = tempfile::tempdir().expect("home");
    let mut fleet = fleet();
    let source = "arn:aws:rds:us-east-1:123456789012:cluster:lost-source".to_owned();
    fleet.integrations[0].source_arn = Some(source.clone());
    fleet.gone_arns = std::collections::BTreeSet::from([source]);
    let emulator = emulator(fleet).await;
    let report = deleting_sweep(home.path(), &emulator.url()).await;

    let one = ["restore", "--report", report.as_str(), "--resource", "orders", "--apply"];
    let gone = cli(home.path(), &emulator.url(), &one).await;
    assert_eq!(gone.status.code(), Some(1), "{}", text(&gone));
    assert!(String::from_utf8_lossy(&gone.stdout).contains("failed: DBClusterNotFoundFault"), "{}", text(&gone));
    assert!(emulator.fleet().integrations.is_empty());

    // The same report as another account's, and a DTS job's item: refused before any call.
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).unwrap();
    let sweeps = json["sweeps"].as_array_mut().expect("sweeps");
    for sweep in sweeps.iter_mut() {
        sweep["account"] = "999999999999".into();
    }
    sweeps.push(serde_json::json!({"provider": "dts", "region": "cn-hangzhou", "account": ACCOUNT, "items": [{
        "kind": "dts-job", "id": "dtsjob1", "name": "orders-sync", "status": "Failed", "verdict": "delete",
        "reason": "r", "outcome": "deleted", "definition": {"input": {"DtsJobName": "orders-sync"}}}]}));
    let other = home.path().join("other.json");
    std::fs::write(&other, json.to_string()).expect("written");
    emulator.clear_calls();
    let refused = cli(home.path(), &emulator.url(), &["restore", "--report", other.to_str().unwrap(), "--apply"]).await;
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let said = String::from_utf8_lossy(&refused.stdout);
    assert!(
        said.contains("it was in account 999999999999, but these credentials are account 123456789012's"),
        "{said}"
    );
    assert!(said.contains("dts resources cannot be re-made from what their control plane describes"), "{said}");
    let made: Vec<String> = emulator.calls().into_iter().map(|c| c.operation).collect();
    assert!(!made.iter().any(|op| op.starts_with("Create") || op == "TestConnection"), "{made:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_that_cannot_be_read_is_one_line_and_exit_2() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(Fleet::default()).await;
    let missing = cli(home.path(), &emulator.url(), &["restore", "--report", "/nonexistent/report.json"]).await;
    assert_eq!(missing.status.code(), Some(2));
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(said.starts_with("replication-janitor: could not read the report /nonexistent/report.json:"), "{said}");
    assert_eq!(said.lines().count(), 1, "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archived_report_is_read_from_s3_and_its_tag_names_that_location() {
    let home = tempfile::tempdir().expect("home");
    let emulator = emulator(fleet()).await;
    let report = deleting_sweep(home.path(), &emulator.url()).await;
    let moto = crate::moto::Moto::start();
    let s3 = moto.s3(REGION).await;
    s3.create_bucket().bucket("janitor-reports").send().await.expect("create_bucket");
    let key = "reports/2026/12/05/T031000Z-schedule-1.json";
    let body = aws_sdk_s3::primitives::ByteStream::from(std::fs::read(&report).expect("report"));
    s3.put_object().bucket("janitor-reports").key(key).body(body).send().await.expect("put_object");
    let uri = format!("s3://janitor-reports/{key}");

    let from_s3 = |args: &[&str]| {
        let mut command = janitor_binary(home.path(), &emulator.url(), &[("AWS_ENDPOINT_URL_S3", &moto.url())]);
        command.args(args);
        command
    };
    let command = from_s3(&["restore", "--report", &uri, "--resource", "orders", "--apply"]);
    let applied = tokio::task::spawn_blocking(move || {
        let mut c = command;
        c.output().expect("runs")
    })
    .await
    .unwrap();
    assert!(applied.status.success(), "{}", text(&applied));
    let restored = emulator.fleet().integrations;
    assert_eq!(restored.len(), 1, "only the resource asked for");
    assert_eq!(restored[0].tags.get(RESTORED_FROM), Some(&uri));

    let command = from_s3(&["restore", "--report", "s3://janitor-reports/reports/none.json"]);
    let missing = tokio::task::spawn_blocking(move || {
        let mut c = command;
        c.output().expect("runs")
    })
    .await
    .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(
        said.starts_with(
            "replication-janitor: could not read the report s3://janitor-reports/reports/none.json: NoSuchKey"
        ),
        "{said}"
    );
    assert_eq!(said.lines().count(), 1, "{said}");
}
