//! The janitor's own AWS services over their real protocols, against moto's server (one binary, so the SDK crates
//! are linked once):
//! - the DynamoDB first-seen store: marks across runs, the conditional first write under concurrent sweeps, mark
//!   removal, the TTL attribute, and what a sweep does when the table is missing or denied;
//! - the S3 report archive: the whole report under its key, never over an existing object (a conditional write; a
//!   taken key moves the report to another), and a write that fails is an error naming the object; its HTML page
//!   beside it, written once the same way, and a page that cannot be written recorded without touching the JSON;
//! - the SNS notification: what a subscriber receives for a run worth telling, in the chat integration's format.
//!
//! Each test starts its own moto server, so tests share nothing.

use crate::common::*;
use crate::moto::Moto;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::types::{AttributeValue, TimeToLiveStatus};
use aws_sdk_s3::primitives::ByteStream;
use emulator::{Emulator, Fleet};
use replication_janitor::app::janitor::Janitor;
use replication_janitor::engine::calls::{Caller, RetryPolicy};
use replication_janitor::engine::report::{ArchiveRecord, Report};
use replication_janitor::outputs::archive::{report_key, ArchiveError, ReportArchive, KEY_ATTEMPTS};
use replication_janitor::outputs::notify::{self, Notifier, NotifyError};
use replication_janitor::providers::aws_sdk::Regional;
use replication_janitor::providers::dms::DmsConnections;
use replication_janitor::providers::rds::RdsIntegrations;
use replication_janitor::providers::ControlPlane;
use replication_janitor::state::FirstSeen;
use replication_janitor::state::{DynamoStore, FirstSeenStore, Sighting};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const TABLE: &str = "janitor-marks";
const TTL: Duration = Duration::from_secs(7 * 86_400);

/// Unix seconds of now, whole: every time below is a whole number of seconds from here.
fn base() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn keys(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// A connection key as the DMS provider builds it.
fn key(endpoint: &str) -> String {
    format!("{}|{}", endpoint_arn(REGION, endpoint), instance_arn(REGION, "ri"))
}

/// A moto server with the marks table created, and a client of it.
async fn moto_with_table() -> (Moto, aws_sdk_dynamodb::Client) {
    let moto = Moto::start();
    let client = moto.dynamodb(REGION).await;
    moto.create_table(&client, TABLE).await;
    (moto, client)
}

/// The sighting of a complete scan of us-east-1 at `secs` that saw `failed` failed and nothing else.
async fn reconcile_failed(store: &DynamoStore, failed: &[String], secs: u64) -> HashMap<String, SystemTime> {
    let sighting = Sighting { scope: REGION, scanned: failed, failed, complete: true, now: at(secs) };
    store.reconcile(sighting).await.expect("reconcile")
}

/// The stored item of `key` in `region`, read consistently.
async fn stored(client: &aws_sdk_dynamodb::Client, region: &str, key: &str) -> Option<HashMap<String, AttributeValue>> {
    client
        .get_item()
        .table_name(TABLE)
        .key("pk", AttributeValue::S(format!("{region}#{key}")))
        .consistent_read(true)
        .send()
        .await
        .expect("get_item")
        .item
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{name} in {item:?}"))
}

#[tokio::test]
async fn first_sightings_hold_across_runs_and_regions() {
    let (_moto, client) = moto_with_table().await;
    let store = DynamoStore::new(client.clone(), TABLE, TTL);
    let t0 = base();
    let (a, b, c) = (key("a"), key("b"), key("c"));

    let first = reconcile_failed(&store, &[a.clone(), b.clone()], t0).await;
    assert_eq!(first, HashMap::from([(a.clone(), at(t0)), (b.clone(), at(t0))]));

    // A later run by a new store (a new Lambda instance) finds the marks and does not move them forward.
    let later = DynamoStore::new(client.clone(), TABLE, TTL);
    let second = reconcile_failed(&later, &[a.clone(), b.clone(), c.clone()], t0 + 600).await;
    assert_eq!(second, HashMap::from([(a.clone(), at(t0)), (b.clone(), at(t0)), (c.clone(), at(t0 + 600))]));
    assert_eq!(number(&stored(&client, REGION, &a).await.expect("a's mark"), "firstSeen"), t0);

    // The same connection key in another region is another connection.
    let only_a = vec![a.clone()];
    let elsewhere =
        Sighting { scope: "eu-west-1", scanned: &only_a, failed: &only_a, complete: true, now: at(t0 + 900) };
    assert_eq!(later.reconcile(elsewhere).await.expect("eu-west-1"), HashMap::from([(a.clone(), at(t0 + 900))]));
    assert_eq!(reconcile_failed(&later, &only_a, t0 + 1_200).await, HashMap::from([(a, at(t0))]));
}

/// What one client sent and got back; optionally holding its first response (its BatchGetItem) until another
/// client has read too.
#[derive(Clone, Debug, Default)]
struct Recorder(Arc<Recorded>);

#[derive(Debug, Default)]
struct Recorded {
    /// The operation of every request, e.g. `BatchGetItem`.
    operations: Mutex<Vec<String>>,
    statuses: Mutex<Vec<u16>>,
    responses: AtomicUsize,
    rendezvous: Option<Arc<(Mutex<usize>, Condvar)>>,
}

impl Recorder {
    fn holding_first_read_until_both_read(rendezvous: Arc<(Mutex<usize>, Condvar)>) -> Recorder {
        Recorder(Arc::new(Recorded { rendezvous: Some(rendezvous), ..Recorded::default() }))
    }

    /// Calls of each operation since the last take.
    fn take_counts(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for operation in std::mem::take(&mut *self.0.operations.lock().expect("operations")) {
            *counts.entry(operation).or_default() += 1;
        }
        counts
    }

    fn statuses(&self) -> Vec<u16> {
        self.0.statuses.lock().expect("statuses").clone()
    }

    /// A DynamoDB client of `moto` that reports to this recorder.
    async fn client(&self, moto: &Moto) -> aws_sdk_dynamodb::Client {
        let base = moto.dynamodb(REGION).await;
        aws_sdk_dynamodb::Client::from_conf(base.config().to_builder().interceptor(self.clone()).build())
    }
}

type HookResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> HookResult {
        let target = context.request().headers().get("x-amz-target").unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
        self.0.operations.lock().expect("operations").push(operation);
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> HookResult {
        self.0.statuses.lock().expect("statuses").push(context.response().status().as_u16());
        let Some(rendezvous) = &self.0.rendezvous else { return Ok(()) };
        if self.0.responses.fetch_add(1, Ordering::SeqCst) == 0 {
            tokio::task::block_in_place(|| {
                let (arrived, all_here) = &**rendezvous;
                let mut arrived = arrived.lock().expect("rendezvous");
                *arrived += 1;
                all_here.notify_all();
                let (arrived, waited) =
                    all_here.wait_timeout_while(arrived, Duration::from_secs(20), |n| *n < 2).expect("rendezvous");
                assert!(!waited.timed_out(), "the other sweep never read: {}", *arrived);
            });
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_sweep_costs_a_batched_read_per_hundred_connections_and_a_write_per_change() {
    let moto = Moto::start();
    let recorder = Recorder::default();
    let client = recorder.client(&moto).await;
    moto.create_table(&client, TABLE).await;
    recorder.take_counts();
    let store = DynamoStore::new(client, TABLE, TTL);
    let t0 = base();
    // 250 connections: three BatchGetItem calls' worth; a third of them failed.
    let scanned: Vec<String> = (0..250).map(|i| key(&format!("ep{i:03}"))).collect();
    let failed: Vec<String> = scanned.iter().step_by(3).cloned().collect();
    let calls = |batch: usize, put: usize, delete: usize| {
        [("BatchGetItem", batch), ("PutItem", put), ("DeleteItem", delete)]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(operation, n)| (operation.to_owned(), n))
            .collect::<HashMap<_, _>>()
    };

    let sighting = Sighting { scope: REGION, scanned: &scanned, failed: &failed, complete: true, now: at(t0) };
    assert_eq!(store.reconcile(sighting).await.expect("first").len(), failed.len());
    assert_eq!(recorder.take_counts(), calls(3, failed.len(), 0), "a write per new failure");

    let again = store.reconcile(Sighting { now: at(t0 + 60), ..sighting }).await.expect("steady");
    assert_eq!(again.len(), failed.len());
    assert!(again.values().all(|t| *t == at(t0)), "every mark was found in the batched reads");
    assert_eq!(recorder.take_counts(), calls(3, 0, 0), "a steady state costs the reads only");

    let still_failed: Vec<String> = failed[10..].to_vec();
    let sighting = Sighting { failed: &still_failed, now: at(t0 + 120), ..sighting };
    assert_eq!(store.reconcile(sighting).await.expect("recoveries").len(), still_failed.len());
    assert_eq!(recorder.take_counts(), calls(3, 0, 10), "a delete per recovery");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_sweeps_agree_on_the_first_sighting() {
    let moto = Moto::start();
    moto.create_table(&moto.dynamodb(REGION).await, TABLE).await;
    // Each sweep's read is held until the other has read too: both see no mark, so both try the first write.
    let rendezvous = Arc::new((Mutex::new(0), Condvar::new()));
    let t0 = base();
    let mut sweeps = Vec::new();
    for secs in [t0, t0 + 7] {
        let recorder = Recorder::holding_first_read_until_both_read(rendezvous.clone());
        let store = DynamoStore::new(recorder.client(&moto).await, TABLE, TTL);
        let seen = tokio::spawn(async move {
            let failed = vec![key("contested")];
            let sighting = Sighting { scope: REGION, scanned: &failed, failed: &failed, complete: true, now: at(secs) };
            store.reconcile(sighting).await
        });
        sweeps.push((seen, recorder));
    }
    let mut seen = Vec::new();
    for (sweep, _) in &mut sweeps {
        seen.push(sweep.await.expect("task").expect("sweep"));
    }

    assert_eq!(seen[0], seen[1], "both sweeps report the same first sighting");
    let first_seen = seen[0][&key("contested")];
    assert!(first_seen == at(t0) || first_seen == at(t0 + 7), "{first_seen:?}");
    let item = stored(&moto.dynamodb(REGION).await, REGION, &key("contested")).await.expect("the mark");
    assert_eq!(at(number(&item, "firstSeen")), first_seen, "the stored mark is the one both report");
    // Exactly one conditional write was refused (400); that sweep re-read the winner's mark.
    let (a, b) = (sweeps[0].1.statuses(), sweeps[1].1.statuses());
    assert_eq!(a.iter().chain(&b).filter(|s| **s == 400).count(), 1, "{a:?} {b:?}");
    let loser = if a.contains(&400) { &sweeps[0].1 } else { &sweeps[1].1 };
    assert_eq!(
        loser.take_counts(),
        HashMap::from([("BatchGetItem".into(), 1), ("PutItem".into(), 1), ("GetItem".into(), 1)])
    );
}

#[tokio::test]
async fn marks_go_when_connections_recover_and_a_partial_sighting_touches_only_what_it_scanned() {
    let (_moto, client) = moto_with_table().await;
    let store = DynamoStore::new(client.clone(), TABLE, TTL);
    let t0 = base();
    let (ep1, ep2, ep3) = (key("ep1"), key("ep2"), key("ep3"));
    reconcile_failed(&store, &[ep1.clone(), ep2.clone(), ep3.clone()], t0).await;

    // An event-scoped scan of ep1's connections only: ep1 is healthy again.
    let (scanned, failed) = (vec![ep1.clone()], Vec::new());
    let partial = Sighting { scope: REGION, scanned: &scanned, failed: &failed, complete: false, now: at(t0 + 60) };
    assert!(store.reconcile(partial).await.expect("partial").is_empty());
    assert!(stored(&client, REGION, &ep1).await.is_none(), "the recovered connection's mark is gone");
    assert!(stored(&client, REGION, &ep2).await.is_some(), "a connection the partial scan did not see keeps its mark");
    assert!(stored(&client, REGION, &ep3).await.is_some());

    // A complete scan: ep2 healthy, ep3 still failed since t0.
    let (scanned, failed) = (vec![ep2.clone(), ep3.clone()], vec![ep3.clone()]);
    let complete = Sighting { scope: REGION, scanned: &scanned, failed: &failed, complete: true, now: at(t0 + 120) };
    assert_eq!(store.reconcile(complete).await.expect("complete"), HashMap::from([(ep3.clone(), at(t0))]));
    assert!(stored(&client, REGION, &ep2).await.is_none());
    assert_eq!(number(&stored(&client, REGION, &ep3).await.expect("ep3"), "firstSeen"), t0);

    // ep1 fails again: its grace starts again.
    assert_eq!(
        reconcile_failed(&store, std::slice::from_ref(&ep1), t0 + 180).await,
        HashMap::from([(ep1, at(t0 + 180))])
    );
}

#[tokio::test]
async fn marks_carry_the_ttl_attribute_the_table_expires_on() {
    let (_moto, client) = moto_with_table().await;
    let store = DynamoStore::new(client.clone(), TABLE, TTL);
    let t0 = base();
    reconcile_failed(&store, &[key("a")], t0).await;

    let item = stored(&client, REGION, &key("a")).await.expect("the mark");
    assert_eq!(item["pk"].as_s().expect("pk"), &format!("{REGION}#{}", key("a")));
    assert_eq!(item["region"].as_s().expect("region"), REGION);
    assert_eq!(number(&item, "firstSeen"), t0);
    assert_eq!(number(&item, "expiresAt"), t0 + TTL.as_secs());
    let ttl = client.describe_time_to_live().table_name(TABLE).send().await.expect("describe_time_to_live");
    let ttl = ttl.time_to_live_description().expect("a TTL description");
    assert_eq!(ttl.attribute_name(), Some("expiresAt"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}

#[tokio::test]
async fn an_expired_mark_that_ttl_has_not_yet_deleted_does_not_count() {
    let (_moto, client) = moto_with_table().await;
    let store = DynamoStore::new(client.clone(), TABLE, TTL);
    let t0 = base();
    // DynamoDB deletes expired items lazily: a mark from a connection long gone may still be read.
    client
        .put_item()
        .table_name(TABLE)
        .item("pk", AttributeValue::S(format!("{REGION}#{}", key("reborn"))))
        .item("firstSeen", AttributeValue::N((t0 - 30 * 86_400).to_string()))
        .item("expiresAt", AttributeValue::N((t0 - 1).to_string()))
        .send()
        .await
        .expect("put_item");
    let seen = reconcile_failed(&store, &[key("reborn")], t0).await;
    assert_eq!(seen, HashMap::from([(key("reborn"), at(t0))]), "the grace starts now, not 30 days ago");
    let item = stored(&client, REGION, &key("reborn")).await.expect("the new mark");
    assert_eq!((number(&item, "firstSeen"), number(&item, "expiresAt")), (t0, t0 + TTL.as_secs()));
}

#[tokio::test]
async fn a_mark_beyond_any_date_is_a_store_error_not_a_panic() {
    let (_moto, client) = moto_with_table().await;
    let store = DynamoStore::new(client.clone(), TABLE, TTL);
    client
        .put_item()
        .table_name(TABLE)
        .item("pk", AttributeValue::S(format!("{REGION}#{}", key("garbled"))))
        .item("firstSeen", AttributeValue::N(u64::MAX.to_string()))
        .item("expiresAt", AttributeValue::N(u64::MAX.to_string()))
        .send()
        .await
        .expect("put_item");
    let failed = keys(&[&key("garbled")]);
    let sighting = Sighting { scope: REGION, scanned: &failed, failed: &failed, complete: true, now: at(base()) };
    let error = store.reconcile(sighting).await.expect_err("corrupt").to_string();
    assert_eq!(
        error,
        format!(
            "DynamoDB table {TABLE}: the first-seen mark of {} is 18446744073709551615, beyond any date (corrupt state)",
            key("garbled")
        )
    );
}

#[tokio::test]
async fn a_missing_table_is_an_error_naming_the_table() {
    let moto = Moto::start();
    let store = DynamoStore::new(moto.dynamodb(REGION).await, "no-such-table", TTL);
    let failed = keys(&[&key("a")]);
    let sighting = Sighting { scope: REGION, scanned: &failed, failed: &failed, complete: true, now: at(base()) };
    let error = store.reconcile(sighting).await.expect_err("no table").to_string();
    assert!(error.starts_with("DynamoDB table no-such-table: "), "{error}");
    assert!(error.contains("ResourceNotFoundException"), "{error}");
}

#[tokio::test]
async fn a_denied_table_is_an_error_naming_the_table() {
    let (moto, _) = moto_with_table().await;
    let (access_key, secret) = moto.user_without_permissions("janitor-without-dynamodb");
    moto.enforce_iam();
    let store = DynamoStore::new(moto.dynamodb_as(REGION, &access_key, &secret).await, TABLE, TTL);
    let failed = keys(&[&key("a")]);
    let sighting = Sighting { scope: REGION, scanned: &failed, failed: &failed, complete: true, now: at(base()) };
    let error = store.reconcile(sighting).await.expect_err("denied").to_string();
    // moto denies with HTTP 403 and an XML body where DynamoDB answers 400 with JSON `AccessDeniedException`, so
    // the SDK finds no error code here and the message carries the status and body instead.
    assert!(error.starts_with(&format!("DynamoDB table {TABLE}: ")), "{error}\n{}", moto.log());
    assert!(error.contains("AccessDenied"), "{error}");
    assert!(error.contains("is not authorized to perform: dynamodb:BatchGetItem"), "{error}");
}

/// A janitor like the Lambda's, with DMS and RDS served by `emulator` and first sightings in `store`.
async fn janitor_with_store(emulator: &Emulator, vars: &[(&str, &str)], store: DynamoStore) -> Janitor {
    let settings = settings(vars);
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(emulator.url())
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "AKIDEMULATOR",
            "emulator-secret",
            None,
            None,
            "tests",
        ))
        .retry_config(RetryConfig::standard().with_max_attempts(2).with_initial_backoff(Duration::from_millis(5)))
        .load()
        .await;
    let caller = Caller::new(RetryPolicy::new(2), settings.concurrency);
    let planes: Vec<Arc<dyn ControlPlane>> = vec![
        Arc::new(DmsConnections::new(
            vec![Regional::new("dms", REGION, aws_sdk_databasemigration::Client::new(&sdk))],
            caller.clone(),
            settings.protect_tag.clone(),
        )),
        Arc::new(RdsIntegrations::new(
            vec![Regional::new("rds", REGION, aws_sdk_rds::Client::new(&sdk))],
            caller,
            settings.protect_tag.clone(),
            vec!["failed".to_owned()],
        )),
    ];
    Janitor::with_first_seen(settings, planes, FirstSeen::Store(Arc::new(store)))
}

#[tokio::test]
async fn without_its_table_a_sweep_judges_everything_and_deletes_nothing() {
    let moto = Moto::start();
    let emulator = emulator(Fleet {
        connections: vec![connection("broken", "ri", "failed")],
        integrations: vec![integration("int", "failed", 2 * DAYS)],
        ..Fleet::default()
    })
    .await;
    let store = DynamoStore::new(moto.dynamodb(REGION).await, "missing-marks", TTL);
    let vars = [("JANITOR_DRY_RUN", "false"), ("JANITOR_DMS_GRACE", "1s")];
    let janitor = janitor_with_store(&emulator, &vars, store).await;
    let report = sweep(&janitor).await;

    assert_eq!(fate(&report, "broken@ri"), ("waiting".into(), "kept".into()));
    let reason = &item(&report, "broken@ri").reason;
    assert!(reason.starts_with("first-seen store unavailable, so the grace cannot be proven"), "{reason}");
    assert!(
        reason.contains("DynamoDB table missing-marks") && reason.contains("ResourceNotFoundException"),
        "{reason}"
    );
    let dms = report.sweeps.iter().find(|s| s.provider.as_str() == "dms").expect("dms sweep");
    assert!(dms.state_error.as_deref().unwrap_or_default().contains("DynamoDB table missing-marks"), "{dms:?}");
    let aggregate: serde_json::Value =
        serde_json::from_str(janitor.metric_lines(&report).last().expect("aggregate")).expect("json");
    assert_eq!(aggregate["StateUnavailable"], 1);
    // Without the table no scope can be leased, so no run can know it is alone: even the integration, which needs
    // no mark, waits (two overlapping runs could otherwise each spend the whole cap).
    assert_eq!(fate(&report, "int"), ("waiting".into(), "kept".into()), "judged, and reported");
    let reason = &item(&report, "int").reason;
    assert!(reason.starts_with("first-seen store unusable, so this run could not lease its scopes"), "{reason}");
    assert!(deletes(&emulator).is_empty(), "nothing is deleted without a lease");
}

#[tokio::test]
async fn a_connection_is_deleted_once_failed_for_the_grace_across_sweeps() {
    let (_moto, client) = moto_with_table().await;
    let fleet = Fleet {
        connections: vec![connection("flaky", "ri", "failed"), connection("broken", "ri", "failed")],
        ..Fleet::default()
    };
    let emulator = emulator(fleet).await;
    let vars = [("JANITOR_DRY_RUN", "false"), ("JANITOR_DMS_GRACE", "2s")];
    let janitor = janitor_with_store(&emulator, &vars, DynamoStore::new(client.clone(), TABLE, TTL)).await;

    let first = sweep(&janitor).await;
    assert_eq!(fate(&first, "broken@ri"), ("waiting".into(), "kept".into()));
    assert_eq!(fate(&first, "flaky@ri"), ("waiting".into(), "kept".into()));
    assert!(deletes(&emulator).is_empty());
    let marked = stored(&client, "dms/us-east-1", &key("broken")).await.expect("broken's mark");

    let mut recovered = emulator.fleet();
    recovered.connections[0].status = "successful".into();
    emulator.set_fleet(recovered);
    tokio::time::sleep(Duration::from_millis(2_100)).await;

    let second = sweep(&janitor).await;
    assert_eq!(fate(&second, "broken@ri"), ("delete".into(), "deleted".into()));
    assert_eq!(fate(&second, "flaky@ri"), ("healthy".into(), "kept".into()));
    assert!(emulator.calls().iter().any(|c| c.operation == "DeleteConnection"));
    assert_eq!(deletes(&emulator), [endpoint_arn(REGION, "broken")]);
    assert!(stored(&client, "dms/us-east-1", &key("flaky")).await.is_none(), "scanned healthy: its mark is cleared");

    // The store may not Query or Scan, so it could never find the mark of a connection it no longer sees; the
    // janitor forgets the mark of what it deleted, so a connection recreated on the same endpoint and instance
    // starts its grace afresh instead of inheriting this first sighting.
    assert!(marked.contains_key("firstSeen"));
    assert!(stored(&client, REGION, &key("broken")).await.is_none(), "a deleted connection's mark is dropped");
    let mut recreated = emulator.fleet();
    recreated.connections.push(connection("broken", "ri", "failed"));
    emulator.set_fleet(recreated);
    let third = sweep(&janitor).await;
    assert_eq!(fate(&third, "broken@ri").0, "waiting", "the recreated connection waits out its own grace");
}

const BUCKET: &str = "janitor-reports";

/// A dry run of the sample fleet in us-east-1 through the real janitor: one failed connection and one old failed
/// integration would be deleted; three others are protected.
async fn dry_run_report() -> Report {
    let emulator = emulator(Fleet::sample()).await;
    let report = sweep(&janitor(&emulator, &[]).await).await;
    assert!(report.totals.would_delete > 0, "the sample fleet has something to delete: {report:#?}");
    report
}

/// A moto server with the reports bucket created.
async fn moto_with_bucket() -> (Moto, aws_sdk_s3::Client) {
    let moto = Moto::start();
    let s3 = moto.s3(REGION).await;
    s3.create_bucket().bucket(BUCKET).send().await.expect("create_bucket");
    (moto, s3)
}

async fn object(s3: &aws_sdk_s3::Client, key: &str) -> (Option<String>, serde_json::Value) {
    let object = s3.get_object().bucket(BUCKET).key(key).send().await.expect("get_object");
    let content_type = object.content_type.clone();
    let body = object.body.collect().await.expect("the object's body").into_bytes();
    (content_type, serde_json::from_slice(&body).expect("the archived report is JSON"))
}

#[tokio::test]
async fn a_report_is_archived_whole_under_a_key_by_its_date_time_and_trigger() {
    let (moto, s3) = moto_with_bucket().await;
    let mut report = dry_run_report().await;
    // Far more items than a Lambda response carries (4 MiB of items): the archive keeps every one.
    let template = report.sweeps[0].items[0].clone();
    report.sweeps[0].items.extend((0..30_000).map(|n| {
        let mut item = template.clone();
        item.id = format!("{}-copy-{n}", template.id);
        item
    }));
    let archive = ReportArchive::from_sdk(&moto.sdk(REGION).await, BUCKET, 3);

    let record = archive.store(&report).await.expect("archived");

    assert_eq!(record.bucket, BUCKET);
    assert_eq!(record.error, None);
    let day = report.started_at[..10].replace('-', "/");
    let second = report.started_at[11..19].replace(':', "");
    let prefix = format!("reports/{day}/T{second}Z-test-");
    assert!(record.key.starts_with(&prefix) && record.key.ends_with(".json"), "{} (expected {prefix}...)", record.key);
    let (content_type, stored) = object(&s3, &record.key).await;
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(stored, serde_json::to_value(&report).expect("report JSON"), "the whole report, as it was");
    assert!(serde_json::to_vec(&report).expect("json").len() > 6_291_456, "larger than any Lambda response");

    let again = archive.store(&report).await.expect("archived again");
    assert_ne!(again.key, record.key, "a second run in the same second gets its own object");
}

#[tokio::test]
async fn an_archive_that_cannot_be_written_is_an_error_naming_the_object() {
    let moto = Moto::start();
    let report = dry_run_report().await;
    let missing = ReportArchive::from_sdk(&moto.sdk(REGION).await, "no-such-bucket", 2);
    let error = missing.store(&report).await.expect_err("no bucket");
    let ArchiveError::Write { bucket, key, .. } = &error else { panic!("{error:?}") };
    assert_eq!(bucket, "no-such-bucket");
    assert!(key.starts_with("reports/"), "{key}");
    let text = error.to_string();
    assert!(text.starts_with(&format!("s3://no-such-bucket/{key} could not be written: ")), "{text}");
    assert!(text.contains("NoSuchBucket"), "{text}");
    let record = error.record();
    assert_eq!((record.key.as_str(), record.error.as_deref()), (key.as_str(), Some(text.as_str())));

    let s3 = moto.s3(REGION).await;
    s3.create_bucket().bucket(BUCKET).send().await.expect("create_bucket");
    let (access_key, secret) = moto.user_without_permissions("janitor-without-s3");
    moto.enforce_iam();
    let denied = ReportArchive::from_sdk(&moto.sdk_as(REGION, &access_key, &secret).await, BUCKET, 2);
    let text = denied.store(&report).await.expect_err("denied").to_string();
    assert!(text.starts_with(&format!("s3://{BUCKET}/reports/")), "{text}");
    assert!(text.contains("AccessDenied"), "{text}\n{}", moto.log());
}

/// An object put at `key` before the janitor writes, as another run or another writer would have.
async fn put_earlier(s3: &aws_sdk_s3::Client, key: &str) -> serde_json::Value {
    let earlier = serde_json::json!({"earlier": key});
    let body = serde_json::to_vec(&earlier).expect("json");
    s3.put_object().bucket(BUCKET).key(key).body(ByteStream::from(body)).send().await.expect("the earlier object");
    earlier
}

async fn keys_in_bucket(s3: &aws_sdk_s3::Client) -> Vec<String> {
    let listed = s3.list_objects_v2().bucket(BUCKET).send().await.expect("list_objects_v2");
    listed.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect()
}

#[tokio::test]
async fn a_report_never_overwrites_an_object_at_its_key_and_takes_another() {
    let (moto, s3) = moto_with_bucket().await;
    let report = dry_run_report().await;
    // The report has its start time, so its key is the nonce's alone: the time given is not used.
    let taken = report_key(&report, SystemTime::now(), 7);
    let earlier = put_earlier(&s3, &taken).await;
    let archive = ReportArchive::from_sdk(&moto.sdk(REGION).await, BUCKET, 3);
    let mut nonces = vec![7, 8].into_iter();

    let record = archive.store_with_nonces(&report, move || nonces.next().expect("two keys")).await.expect("archived");

    assert_eq!(record.key, report_key(&report, SystemTime::now(), 8), "the key of the next nonce");
    assert_eq!(record.error, None);
    assert_eq!(object(&s3, &taken).await.1, earlier, "the object already there is as it was");
    assert_eq!(object(&s3, &record.key).await.1, serde_json::to_value(&report).expect("report JSON"));
    assert_eq!(keys_in_bucket(&s3).await.len(), 2);
}

#[tokio::test]
async fn a_report_whose_every_key_is_taken_is_an_error_and_overwrites_nothing() {
    let (moto, s3) = moto_with_bucket().await;
    let report = dry_run_report().await;
    let taken = report_key(&report, SystemTime::now(), 5);
    let earlier = put_earlier(&s3, &taken).await;
    let archive = ReportArchive::from_sdk(&moto.sdk(REGION).await, BUCKET, 3);
    let mut draws = 0;

    let error = archive
        .store_with_nonces(&report, || {
            draws += 1;
            5
        })
        .await
        .expect_err("every key is taken");

    assert_eq!(draws, KEY_ATTEMPTS, "a bounded number of keys, each with a fresh nonce");
    let ArchiveError::Write { bucket, key, .. } = &error else { panic!("{error:?}") };
    assert_eq!((bucket.as_str(), key.as_str()), (BUCKET, taken.as_str()));
    let text = error.to_string();
    assert!(text.contains("PreconditionFailed") && text.contains("none was overwritten"), "{text}");
    assert_eq!(object(&s3, &taken).await.1, earlier, "the object already there is as it was");
    assert_eq!(keys_in_bucket(&s3).await, [taken]);
}

#[tokio::test]
async fn a_run_worth_telling_reaches_a_subscriber_as_a_chat_notification_naming_the_archive() {
    let (moto, _s3) = moto_with_bucket().await;
    let (topic_arn, subscriber) = moto.topic_with_subscriber(REGION, "janitor-runs").await;
    let sdk = moto.sdk(REGION).await;
    let report = dry_run_report().await;
    let record = ReportArchive::from_sdk(&sdk, BUCKET, 3).store(&report).await.expect("archived");
    let notification = notify::notification(&report, Some(&record)).expect("a dry run that would delete notifies");

    let message_id = Notifier::from_sdk(&sdk, &topic_arn, 3).publish(&notification).await.expect("published");

    let delivery = subscriber.next().expect("the subscriber got the notification");
    assert_eq!(delivery["Type"], "Notification");
    assert_eq!(delivery["TopicArn"], topic_arn.as_str());
    assert_eq!(delivery["MessageId"], message_id.as_str());
    let subject = format!("replication-janitor dry run (test): would delete {}", report.totals.would_delete);
    assert_eq!(delivery["Subject"], subject.as_str());
    let chat: serde_json::Value =
        serde_json::from_str(delivery["Message"].as_str().expect("Message is a string")).expect("chat JSON");
    assert_eq!(chat["version"], "1.0");
    assert_eq!(chat["source"], "custom");
    assert_eq!(chat["content"]["textType"], "client-markdown");
    assert_eq!(chat["content"]["title"], subject.as_str());
    let description = chat["content"]["description"].as_str().expect("description");
    assert!(description.contains(&format!("Full report: `s3://{BUCKET}/{}`", record.key)), "{description}");
    let lines: Vec<&str> = description.lines().collect();
    assert!(lines[0].starts_with(&format!("Dry run started {}, trigger `test`", report.started_at)), "{description}");
    assert_eq!(
        lines[1..4],
        [
            "• dms us-east-1: would delete 1, protected 2",
            "• rds us-east-1: would delete 1, protected 1",
            // A name's `@` is shown full-width, so no name can mention anyone in the chat.
            "Would delete: `orders-pg-source＠prod-ri-1` (dms us-east-1), `orders-to-redshift-failed-old` (rds us-east-1)",
        ],
        "{description}"
    );
    assert_eq!(chat["metadata"]["additionalContext"]["report"], record.uri().as_str());
    assert!(subscriber.pending().is_empty(), "one message per run");
}

#[tokio::test]
async fn a_notification_to_a_missing_topic_is_an_error_naming_it() {
    let moto = Moto::start();
    let report = dry_run_report().await;
    let notification = notify::notification(&report, None).expect("notifies");
    let topic_arn = format!("arn:aws:sns:{REGION}:{ACCOUNT}:no-such-topic");
    let error = Notifier::from_sdk(&moto.sdk(REGION).await, &topic_arn, 2).publish(&notification).await;
    let Err(error @ NotifyError::Publish { .. }) = error else { panic!("{error:?}") };
    let text = error.to_string();
    assert!(text.starts_with(&format!("the notification could not be published to {topic_arn}: ")), "{text}");
    assert!(text.contains("NotFound"), "{text}");
}

#[tokio::test]
async fn every_run_is_archived_and_told_and_a_failing_archive_changes_nothing_deleted() {
    let (moto, s3) = moto_with_bucket().await;
    let (topic_arn, subscriber) = moto.topic_with_subscriber(REGION, "janitor-runs").await;
    let sdk = moto.sdk(REGION).await;
    let emulator = emulator(Fleet::sample()).await;
    let janitor = janitor(&emulator, &[("JANITOR_DRY_RUN", "false")])
        .await
        .with_archive(ReportArchive::from_sdk(&sdk, BUCKET, 2))
        .with_notifier(Notifier::from_sdk(&sdk, &topic_arn, 2));

    let report = sweep(&janitor).await;
    let record = report.archive.clone().expect("the run names its archive");
    assert_eq!(record.error, None);
    let (_, stored) = object(&s3, &record.key).await;
    assert_eq!(stored["totals"]["deleted"], report.totals.deleted);
    let delivery = subscriber.next().expect("a deleting run notifies");
    assert!(delivery["Message"].as_str().unwrap_or_default().contains(&record.key), "{delivery}");
    // The page is beside the JSON, names the restore command, and the notification links to it in the console.
    let html_key = record.html_key.clone().expect("the HTML page was archived");
    assert_eq!(html_key, record.key.replace(".json", ".html"));
    let (_, page) = page(&s3, &html_key).await;
    let restore = format!("replication-janitor restore --report s3://{BUCKET}/{}", record.key);
    assert!(page.contains(&format!("<pre id=\"restore-command\"><code>{restore}</code></pre>")), "{page}");
    let link = format!(
        "https://console.aws.amazon.com/s3/object/{BUCKET}?region={REGION}&bucketType=general&prefix={html_key}"
    );
    let chat: serde_json::Value = serde_json::from_str(delivery["Message"].as_str().unwrap_or_default()).expect("chat");
    assert!(
        chat["content"]["description"]
            .as_str()
            .unwrap_or_default()
            .ends_with(&format!("Report to read (S3 console): {link}")),
        "{chat}"
    );
    let aggregate: serde_json::Value =
        serde_json::from_str(janitor.metric_lines(&report).last().expect("aggregate")).expect("json");
    assert_eq!(aggregate["ArchiveFailed"], 0);

    // The same fleet again, with the bucket gone: the deletes go ahead, the report and the metric say so.
    emulator.set_fleet(Fleet::sample());
    let broken = janitor_with_missing_bucket(&emulator, &sdk).await;
    let report = sweep(&broken).await;
    assert!(report.totals.deleted > 0, "{:?}", report.totals);
    let record = report.archive.clone().expect("the failed archive is reported");
    assert!(record.error.as_deref().unwrap_or_default().contains("NoSuchBucket"), "{record:?}");
    let aggregate: serde_json::Value =
        serde_json::from_str(broken.metric_lines(&report).last().expect("aggregate")).expect("json");
    assert_eq!(aggregate["ArchiveFailed"], 1);
}

/// An archived page: its content type and its text.
async fn page(s3: &aws_sdk_s3::Client, key: &str) -> (Option<String>, String) {
    let object = s3.get_object().bucket(BUCKET).key(key).send().await.expect("get_object");
    let content_type = object.content_type.clone();
    let body = object.body.collect().await.expect("the object's body").into_bytes();
    (content_type, String::from_utf8(body.to_vec()).expect("the page is UTF-8"))
}

#[tokio::test]
async fn each_archived_report_gets_its_html_page_beside_it_written_once() {
    let (moto, s3) = moto_with_bucket().await;
    let report = dry_run_report().await;
    let archive = ReportArchive::from_sdk(&moto.sdk(REGION).await, BUCKET, 3);
    let mut record = archive.store(&report).await.expect("archived");
    assert_eq!((record.html_key.as_deref(), record.region.as_deref()), (None, Some(REGION)), "the JSON first");

    archive.store_html(&report, &mut record).await;

    assert_eq!(record.html_error, None);
    let html_key = record.html_key.clone().expect("the page was written");
    assert_eq!(html_key, record.key.replace(".json", ".html"));
    let (content_type, written) = page(&s3, &html_key).await;
    assert_eq!(content_type.as_deref(), Some("text/html; charset=utf-8"));
    assert!(written.starts_with("<!DOCTYPE html>"), "{written}");
    let would_delete = format!("data-total=\"wouldDelete\"><b>{}</b>", report.totals.would_delete);
    assert!(written.contains(&would_delete), "{written}");
    assert!(written.contains(&format!("<code>s3://{BUCKET}/{}</code>", record.key)), "it names its JSON");

    // A page already at the key is never replaced: the failure is recorded and the JSON's record is untouched.
    let mut again = ArchiveRecord { html_key: None, ..record.clone() };
    archive.store_html(&report, &mut again).await;
    assert_eq!((again.html_key.as_deref(), again.error.as_deref()), (None, None));
    let error = again.html_error.unwrap_or_default();
    assert!(error.starts_with(&format!("s3://{BUCKET}/{html_key} could not be written: ")), "{error}");
    assert!(error.contains("PreconditionFailed"), "{error}");
    assert_eq!(page(&s3, &html_key).await.1, written, "the page already there is as it was");

    // A report that was not archived gets no page.
    let mut unarchived = ArchiveRecord { error: Some("denied".to_owned()), ..ArchiveRecord::default() };
    archive.store_html(&report, &mut unarchived).await;
    assert_eq!((unarchived.html_key, unarchived.html_error), (None, None));
    assert_eq!(keys_in_bucket(&s3).await.len(), 2, "the JSON and its page");
}

async fn janitor_with_missing_bucket(emulator: &Emulator, sdk: &aws_config::SdkConfig) -> Janitor {
    janitor(emulator, &[("JANITOR_DRY_RUN", "false")]).await.with_archive(ReportArchive::from_sdk(
        sdk,
        "gone-bucket",
        2,
    ))
}

#[tokio::test]
async fn an_organization_run_archives_and_tells_each_account_on_its_own() {
    use crate::organizations::{organization, A, B, DENIED, OU, ROLE};
    let (moto, s3) = moto_with_bucket().await;
    let (topic_arn, subscriber) = moto.topic_with_subscriber(REGION, "janitor-runs").await;
    let sdk = moto.sdk(REGION).await;
    let emulator = emulator(organization()).await;
    let vars = [("JANITOR_DRY_RUN", "false"), ("JANITOR_MEMBER_ROLE", ROLE), ("JANITOR_ORGANIZATIONAL_UNITS", OU)];
    let janitor = janitor(&emulator, &vars)
        .await
        .with_archive(ReportArchive::from_sdk(&sdk, BUCKET, 2))
        .with_notifier(Notifier::from_sdk(&sdk, &topic_arn, 2));
    let report = sweep(&janitor).await;

    let archived: Vec<(&str, bool)> =
        report.accounts.iter().map(|a| (a.account.as_str(), a.archive.is_some())).collect();
    assert_eq!(archived, [(A, true), (B, true), (DENIED, false)], "an account not swept has no report of its own");
    for summary in &report.accounts[..2] {
        let uri = summary.archive.as_deref().unwrap_or_default();
        let key = uri.strip_prefix(&format!("s3://{BUCKET}/")).expect("an S3 URI in the bucket");
        assert!(key.contains(&format!("-{}-test-", summary.account)), "the key names the account: {key}");
        let (_, stored) = object(&s3, key).await;
        assert_eq!(stored["account"], summary.account.as_str());
        assert_eq!(stored["totals"]["deleted"], 2);
        let accounts: BTreeSet<&str> =
            stored["sweeps"].as_array().into_iter().flatten().filter_map(|s| s["account"].as_str()).collect();
        assert_eq!(accounts, BTreeSet::from([summary.account.as_str()]), "only its own sweeps");
    }
    let mut told: Vec<String> = (0..2)
        .map(|_| {
            let delivery = subscriber.next().expect("one message per account with something to tell");
            delivery["Subject"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    told.sort();
    assert!(told[0].contains(&format!("in account {A}")) && told[1].contains(&format!("in account {B}")), "{told:?}");
    assert!(subscriber.pending().is_empty(), "nothing for the account that was not swept");

    // Under the fan-out, the summary is the run's one notification: the accounts are archived, not told.
    emulator.set_fleet(organization());
    let quiet = [vars.as_slice(), &[("JANITOR_ACCOUNT_NOTIFICATIONS", "false")]].concat();
    let quiet_janitor = crate::common::janitor(&emulator, &quiet)
        .await
        .with_archive(ReportArchive::from_sdk(&sdk, BUCKET, 2))
        .with_notifier(Notifier::from_sdk(&sdk, &topic_arn, 2));
    let report = sweep(&quiet_janitor).await;
    assert_eq!(report.totals.deleted, 4);
    assert!(report.accounts[..2].iter().all(|a| a.archive.is_some()));
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(subscriber.pending().is_empty(), "no notification per account");
}
