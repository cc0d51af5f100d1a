//! The fan-out's summary step over S3 (moto's server): a Map Run's results written as the Step Functions Developer
//! Guide documents ResultWriter's (a manifest beside SUCCEEDED_n.json / FAILED_n.json arrays of execution records,
//! each child's answer a JSON string in `Output`), 10,000 accounts in 1,000 batches plus failed batches, added up by
//! the janitor from `{"summarizeFrom": {"bucket", "key"}}` into the run's one answer and notification; and what it
//! refuses (another bucket, a file outside the Map Run) or cannot read (a missing file, a truncated one, a deadline
//! too near), each an error that names the object and notifies nothing.

use crate::common::{settings, REGION};
use crate::moto::{HttpSubscriber, Moto};
use aws_sdk_s3::primitives::ByteStream;
use replication_janitor::app::janitor::{Answer, AnswerError, Janitor};
use replication_janitor::app::trigger::TriggerError;
use replication_janitor::engine::calls::RetryPolicy;
use replication_janitor::engine::report::Totals;
use replication_janitor::entry::startup;
use replication_janitor::outputs::map_results::ResultsError;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

const BUCKET: &str = "janitor-reports";
/// The Map Run's folder, as ResultWriter names it: `<Prefix>/<map run id>/`.
const RUN: &str = "fan-out/5f1c7a3e-0b7e-4a2d-9f4c-1d2e3f4a5b6c/";
const BATCH: usize = 10;
const ACCOUNTS: usize = 10_000;
/// Batches that failed as a whole (a timed-out invocation), besides the 10,000 accounts' batches.
const FAILED_BATCHES: usize = 3;

/// What the results hold, added up while they were written: what the summary must say.
#[derive(Debug, Default)]
struct Written {
    accounts: usize,
    unswept: usize,
    totals: Totals,
}

/// Account `n`'s summary as a batch answers it: every 250th could not be swept (its role), the rest scanned.
fn account(n: usize, written: &mut Written) -> Value {
    let id = format!("{:012}", 100_000_000_000 + n);
    written.accounts += 1;
    if n.is_multiple_of(250) {
        written.unswept += 1;
        written.totals.failed += 1;
        return json!({"account": id, "error": format!("could not assume arn:aws:iam::{id}:role/Member: AccessDenied"),
                      "totals": {"failed": 1}});
    }
    let (scanned, stale, would_delete, protected) = (n % 7 + 1, n % 3, n % 3 / 2, n % 5 / 4);
    written.totals.scanned += scanned;
    written.totals.stale += stale;
    written.totals.would_delete += would_delete;
    written.totals.protected += protected;
    json!({"account": id, "archive": format!("s3://{BUCKET}/reports/2026/01/01/T000000Z-{id}-fan-out.json"),
           "totals": {"scanned": scanned, "stale": stale, "wouldDelete": would_delete, "protected": protected}})
}

/// One child execution as ResultWriter keeps it without a WriterConfig (Transformation NONE): its execution
/// metadata, Input and Output as JSON strings; a failed one with its Error and Cause instead of an Output.
fn record(n: usize, items: &[String], answer: Option<&Value>) -> Value {
    let name = format!("{n:08}-0b7e-4a2d-9f4c-1d2e3f4a5b6c");
    let mut record = json!({
        "ExecutionArn": format!("arn:aws:states:{REGION}:123456789012:execution:FanOut/sweep:{name}"),
        "Input": json!({"Items": items}).to_string(),
        "InputDetails": {"Included": true},
        "Name": name,
        "RedriveCount": 0,
        "StartDate": "2026-01-01T00:00:00.000Z",
        "StateMachineArn": format!("arn:aws:states:{REGION}:123456789012:stateMachine:FanOut/sweep"),
        "StopDate": "2026-01-01T00:01:00.000Z",
    });
    let fields = match answer {
        Some(answer) => {
            json!({"Status": "SUCCEEDED", "Output": answer.to_string(), "OutputDetails": {"Included": true},
                               "RedriveStatus": "NOT_REDRIVABLE"})
        }
        None => json!({"Status": "FAILED", "Error": "Sandbox.Timedout", "Cause": "Task timed out after 300.00 seconds",
                       "RedriveStatus": "REDRIVABLE"}),
    };
    if let (Some(record), Value::Object(fields)) = (record.as_object_mut(), fields) {
        record.extend(fields);
    }
    record
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>) {
    s3.put_object().bucket(bucket).key(key).body(ByteStream::from(body)).send().await.expect("put_object");
}

/// Writes the Map Run: SUCCEEDED_0.json and SUCCEEDED_1.json (the 10,000 accounts, half each), FAILED_0.json (the
/// failed batches), and the manifest naming them; returns what they hold.
async fn write_map_run(s3: &aws_sdk_s3::Client) -> Written {
    let mut written = Written::default();
    let mut succeeded = Vec::new();
    for (b, start) in (0..ACCOUNTS).step_by(BATCH).enumerate() {
        let ids: Vec<String> = (start..start + BATCH).map(|n| format!("{:012}", 100_000_000_000 + n)).collect();
        let answer = json!({"accounts": (start..start + BATCH).map(|n| account(n, &mut written)).collect::<Vec<_>>()});
        succeeded.push(record(b, &ids, Some(&answer)));
    }
    let failed: Vec<Value> = (0..FAILED_BATCHES)
        .map(|b| {
            let ids: Vec<String> = (0..BATCH).map(|n| format!("{:012}", 900_000_000_000 + b * BATCH + n)).collect();
            record(ACCOUNTS / BATCH + b, &ids, None)
        })
        .collect();
    let half = succeeded.len() / 2;
    let mut files = json!({"SUCCEEDED": [], "FAILED": [], "PENDING": []});
    for (status, name, children) in [
        ("SUCCEEDED", "SUCCEEDED_0.json", &succeeded[..half]),
        ("SUCCEEDED", "SUCCEEDED_1.json", &succeeded[half..]),
        ("FAILED", "FAILED_0.json", &failed[..]),
    ] {
        let body = serde_json::to_vec(children).expect("a result file");
        let key = format!("{RUN}{name}");
        files[status].as_array_mut().expect("a list").push(json!({"Key": key, "Size": body.len()}));
        put(s3, BUCKET, &key, body).await;
    }
    let manifest = json!({
        "DestinationBucket": BUCKET,
        "MapRunArn": format!("arn:aws:states:{REGION}:123456789012:mapRun:FanOut/sweep:5f1c7a3e"),
        "ResultFiles": files,
    });
    put(s3, BUCKET, &format!("{RUN}manifest.json"), manifest.to_string().into_bytes()).await;
    written
}

/// A moto server with the report bucket, a topic with a subscriber, and the janitor built as at cold start
/// (startup), configured for an organization and that bucket.
async fn fan_out_janitor() -> (Moto, aws_sdk_s3::Client, HttpSubscriber, Janitor) {
    let moto = Moto::start();
    let s3 = moto.s3(REGION).await;
    s3.create_bucket().bucket(BUCKET).send().await.expect("create_bucket");
    let (topic_arn, subscriber) = moto.topic_with_subscriber(REGION, "janitor-runs").await;
    let vars = [
        ("JANITOR_PROVIDERS", "dms"),
        ("JANITOR_MEMBER_ROLE", "ReplicationJanitorMember"),
        ("JANITOR_ACCOUNTS", "111111111111"),
        ("JANITOR_REPORT_BUCKET", BUCKET),
        ("JANITOR_NOTIFY_TOPIC_ARN", topic_arn.as_str()),
    ];
    let settings = settings(&vars);
    let retry = RetryPolicy::new(settings.max_attempts);
    let janitor = startup::janitor_with(&moto.sdk(REGION).await, settings, None, retry).await.expect("janitor");
    (moto, s3, subscriber, janitor)
}

fn summarize_from(bucket: &str, key: &str) -> Value {
    json!({"summarizeFrom": {"bucket": bucket, "key": key}})
}

fn in_a_minute() -> Option<SystemTime> {
    Some(SystemTime::now() + Duration::from_secs(60))
}

#[tokio::test]
async fn ten_thousand_accounts_results_in_s3_add_up_to_one_summary_and_one_notification() {
    let (_moto, s3, subscriber, janitor) = fan_out_janitor().await;
    let written = write_map_run(&s3).await;
    assert_eq!((written.accounts, written.unswept), (ACCOUNTS, 40));

    let answer = janitor.respond(summarize_from(BUCKET, &format!("{RUN}manifest.json")), in_a_minute(), None).await;
    let Ok(Answer::Summary(summary)) = answer else { panic!("a summary: {answer:?}") };
    assert_eq!(summary.accounts, ACCOUNTS);
    assert_eq!(summary.unswept_accounts, written.unswept);
    assert_eq!(summary.failed_children, FAILED_BATCHES);
    assert_eq!(summary.totals, written.totals);
    let listed: Vec<&str> = summary.unswept.iter().map(|a| a.account.as_str()).collect();
    assert_eq!(listed, ["100000000000", "100000000250", "100000000500", "100000000750", "100000001000"]);
    let answer_bytes = serde_json::to_vec(&summary).map(|a| a.len()).unwrap_or(usize::MAX);
    assert!(answer_bytes < 8 * 1024, "the Summarize state's output is small whatever the run: {answer_bytes} bytes");

    let delivery = subscriber.next().expect("the run's one notification");
    let subject = delivery["Subject"].as_str().unwrap_or_default();
    assert_eq!(
        subject,
        format!(
            "replication-janitor dry run over 10000 accounts: deleted 0, would delete {}, failed 40, capped 0",
            written.totals.would_delete
        )
    );
    let message = delivery["Message"].as_str().unwrap_or_default();
    assert!(message.contains("3 batches of accounts failed as a whole"), "{message}");
    assert!(message.contains("and 35 more accounts not swept"), "{message}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(subscriber.pending().is_empty(), "one notification for the whole run");
}

#[tokio::test]
async fn results_that_cannot_be_read_or_are_not_the_fan_outs_are_errors_that_notify_nothing() {
    let (moto, s3, subscriber, janitor) = fan_out_janitor().await;
    write_map_run(&s3).await;
    let answer = |key: &str| janitor.respond(summarize_from(BUCKET, key), in_a_minute(), None);

    // A manifest naming a result file that is not there: S3's NoSuchKey, named (an IAM-enforced bucket without
    // s3:ListBucket would answer AccessDenied, which the text allows for).
    let missing = format!("{RUN}SUCCEEDED_7.json");
    let manifest = json!({"ResultFiles": {"SUCCEEDED": [{"Key": format!("{RUN}SUCCEEDED_0.json")}, {"Key": missing}]}});
    let gone = "fan-out/0a0a0a0a-missing-file/";
    let manifest = manifest.to_string().replace(RUN, gone);
    put(&s3, BUCKET, &format!("{gone}manifest.json"), manifest.into_bytes()).await;
    s3.copy_object()
        .bucket(BUCKET)
        .key(format!("{gone}SUCCEEDED_0.json"))
        .copy_source(format!("{BUCKET}/{RUN}SUCCEEDED_0.json"))
        .send()
        .await
        .expect("copy_object");
    let outcome = answer(&format!("{gone}manifest.json")).await;
    let Err(AnswerError::Results(error @ ResultsError::Read { .. })) = &outcome else {
        panic!("a read error: {outcome:?}")
    };
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "s3://{BUCKET}/{gone}SUCCEEDED_7.json could not be read (missing, or not readable by the function's role): \
             NoSuchKey: "
        )),
        "{text}"
    );

    // A result file cut short: an error, never a smaller sum.
    let cut = "fan-out/0b0b0b0b-truncated/";
    let body = s3.get_object().bucket(BUCKET).key(format!("{RUN}FAILED_0.json")).send().await.expect("get_object");
    let bytes = body.body.collect().await.expect("the body").into_bytes();
    put(&s3, BUCKET, &format!("{cut}FAILED_0.json"), bytes[..bytes.len() / 2].to_vec()).await;
    let manifest = json!({"ResultFiles": {"FAILED": [{"Key": format!("{cut}FAILED_0.json")}]}});
    put(&s3, BUCKET, &format!("{cut}manifest.json"), manifest.to_string().into_bytes()).await;
    let outcome = answer(&format!("{cut}manifest.json")).await;
    assert_eq!(
        outcome.err().map(|e| e.to_string()),
        Some(format!(
            "s3://{BUCKET}/{cut}FAILED_0.json is not a result file this janitor can read: it ends inside an element \
             or before its closing bracket (truncated)"
        ))
    );

    // A manifest pointing outside its Map Run (at a report): refused, not followed.
    let astray = "fan-out/0c0c0c0c-astray/";
    let manifest = json!({"ResultFiles": {"SUCCEEDED": [{"Key": "reports/2026/01/01/T000000Z-schedule-1.json"}]}});
    put(&s3, BUCKET, &format!("{astray}manifest.json"), manifest.to_string().into_bytes()).await;
    let outcome = answer(&format!("{astray}manifest.json")).await;
    assert_eq!(
        outcome.err().map(|e| e.to_string()),
        Some(format!(
            "s3://{BUCKET}/{astray}manifest.json names reports/2026/01/01/T000000Z-schedule-1.json, which is not a \
             result file beside it: refused"
        ))
    );

    // The same Map Run in another bucket: refused before anything is read from it.
    s3.create_bucket().bucket("someone-elses-bucket").send().await.expect("create_bucket");
    let manifest = s3.get_object().bucket(BUCKET).key(format!("{RUN}manifest.json")).send().await.expect("get");
    let manifest = manifest.body.collect().await.expect("the body").into_bytes().to_vec();
    put(&s3, "someone-elses-bucket", &format!("{RUN}manifest.json"), manifest).await;
    let outcome = janitor
        .respond(summarize_from("someone-elses-bucket", &format!("{RUN}manifest.json")), in_a_minute(), None)
        .await;
    assert!(
        matches!(
            &outcome,
            Err(AnswerError::Payload(TriggerError::NotConfigured {
                what: "bucket",
                variable: "JANITOR_REPORT_BUCKET",
                ..
            }))
        ),
        "{outcome:?}"
    );
    let reads = |bucket: &str| moto.log().lines().filter(|l| l.contains(&format!("\"GET /{bucket}/"))).count();
    assert!(reads(BUCKET) > 0, "moto logs each read: {}", moto.log());
    assert_eq!(reads("someone-elses-bucket"), 0, "{}", moto.log());

    // A deadline too near for the reading: an error saying how far it got, not a partial summary.
    let soon = SystemTime::now() + Duration::from_millis(10_500);
    let outcome = janitor.respond(summarize_from(BUCKET, &format!("{RUN}manifest.json")), Some(soon), None).await;
    assert!(matches!(&outcome, Err(AnswerError::Results(ResultsError::Deadline { read: 0, .. }))), "{outcome:?}");

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(subscriber.pending().is_empty(), "nothing was notified");
}
