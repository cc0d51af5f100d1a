//! Names no one would choose, as a control plane may still return them: 65,536 and 100,000 characters, terminal
//! escapes, carriage returns and newlines that would forge rows, bidi overrides, and chat mentions and links. The
//! CLI binary's table against the emulator, and the SNS notification through moto's server (which refuses a
//! message over 262,144 bytes, as SNS does).

use crate::common::*;
use crate::moto::Moto;
use emulator::{DtsJob, Emulator, Fleet, DTS_ACCESS_KEY_ID, DTS_ACCESS_KEY_SECRET};
use replication_janitor::app::janitor::Janitor;
use replication_janitor::domain::text::is_hazard;
use replication_janitor::engine::report::Report;
use replication_janitor::outputs::notify::{Notifier, SNS_MESSAGE_BYTES};
use std::process::Output;

const DTS_REGION: &str = "cn-hangzhou";

/// The name: one character over what a format width may be.
const LONG: usize = 65_536;

/// DTS jobs (JSON answers carry any character) with hostile names.
const HOSTILE_JOBS: [(&str, &str); 3] = [
    ("ansi", "\x1b[31mred\x1b[0m\x1b[2J"),
    ("forged", "innocent\n  deleted       forged-row\r  failed"),
    ("bidi", "report\u{202E}fdp.exe\u{2066}\u{200F}"),
];

/// A stale RDS integration with a name of [`LONG`] characters, a short one, and the hostile DTS jobs.
fn hostile_fleet() -> Fleet {
    let mut long = integration("long-one", "failed", 2 * DAYS);
    long.integration_name = Some("n".repeat(LONG));
    let jobs = HOSTILE_JOBS
        .iter()
        .map(|(id, name)| {
            let mut job = DtsJob::new(DTS_REGION, id);
            job.dts_job_name = Some((*name).to_owned());
            job
        })
        .collect();
    Fleet { integrations: vec![long, integration("short", "failed", 2 * DAYS)], dts_jobs: jobs, ..Fleet::default() }
}

/// Runs the CLI binary against `emulator` sweeping RDS and DTS, with `args` after `sweep`.
async fn cli(emulator: &Emulator, args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("home");
    let url = emulator.url();
    let vars = [
        ("JANITOR_PROVIDERS", "rds,dts"),
        ("JANITOR_DTS_REGIONS", DTS_REGION),
        ("JANITOR_DTS_ENDPOINT", url.as_str()),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", DTS_ACCESS_KEY_ID),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", DTS_ACCESS_KEY_SECRET),
        ("RUST_LOG", "off"),
    ];
    let mut command = janitor_binary(home.path(), &url, &vars);
    command.arg("sweep").args(args);
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs")).await.expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleting_run_prints_a_bounded_table_of_hostile_names_and_the_json_keeps_them_whole() {
    let emulator = emulator(hostile_fleet()).await;

    let dry = cli(&emulator, &[]).await;
    assert_eq!(dry.status.code(), Some(0), "{}", String::from_utf8_lossy(&dry.stderr));
    let report: serde_json::Value = serde_json::from_slice(&dry.stdout).expect("the JSON report");
    let names: Vec<&str> = report["sweeps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["items"].as_array().into_iter().flatten())
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert!(names.iter().any(|n| n.chars().count() == LONG), "the JSON report keeps the long name whole");
    for (_, hostile) in HOSTILE_JOBS {
        assert!(names.contains(&hostile), "the JSON report keeps {hostile:?} exact: {names:?}");
    }

    let output = cli(&emulator, &["--delete", "--format", "table"]).await;
    let table = String::from_utf8(output.stdout).expect("UTF-8");
    assert_eq!(output.status.code(), Some(0), "{}\n{table}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(deletes(&emulator).len(), 5, "every stale resource was deleted");

    assert!(table.starts_with("deleting run (cli)"), "{table}");
    let headers = table.lines().filter(|l| l.starts_with("  OUTCOME       VERDICT     NAME")).count();
    assert_eq!(headers, 2, "a header row per sweep with items: {table}");
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("  deleted ")).collect();
    assert_eq!(rows.len(), 5, "one line per resource, none forged: {table}");
    assert!(!table.chars().any(|c| c != '\n' && is_hazard(c)), "no control or bidi character: {table:?}");
    assert!(table.lines().all(|l| l.chars().count() <= 600), "every line is bounded: {table}");
    assert!(table.contains(&format!("{}…", "n".repeat(59))), "the long name is cut: {table}");
    assert!(!table.contains(&"n".repeat(61)), "{table}");
    let short = rows.iter().find(|r| r.contains(" short ")).expect("the short name's row");
    let header = table.lines().find(|l| l.starts_with("  OUTCOME")).unwrap_or_default();
    assert_eq!(short.find("failed"), header.find("STATUS"), "the columns line up at the name's bound: {table}");
    assert_eq!(header.find("STATUS"), Some(2 + 13 + 1 + 11 + 1 + 60 + 2), "{header}");
    assert!(table.contains("innocent\\u{a}  deleted       forged-row\\u{d}  failed"), "{table}");
    assert!(table.contains("\\u{1b}[31mred\\u{1b}[0m\\u{1b}[2J"), "{table}");
    assert!(table.contains("report\\u{202e}fdp.exe\\u{2066}\\u{200f}"), "{table}");
}

/// A janitor deleting in `emulator`'s account, notifying `topic_arn` on `moto`.
async fn notifying(emulator: &Emulator, moto: &Moto, topic_arn: &str) -> Janitor {
    let sdk = moto.sdk(REGION).await;
    janitor(emulator, &[("JANITOR_DRY_RUN", "false"), ("JANITOR_PROVIDERS", "rds")])
        .await
        .with_notifier(Notifier::from_sdk(&sdk, topic_arn, 2))
}

/// The aggregate EMF line of a run.
fn aggregate(janitor: &Janitor, report: &Report) -> serde_json::Value {
    let lines = janitor.metric_lines(report);
    serde_json::from_str(lines.last().map(String::as_str).unwrap_or_default()).expect("the aggregate line")
}

#[tokio::test]
async fn five_huge_hostile_names_reach_the_chat_inert_in_one_message() {
    let moto = Moto::start();
    let (topic_arn, subscriber) = moto.topic_with_subscriber(REGION, "janitor-runs").await;
    let hostile = ["x` <!channel> `", "@here", "<@U123>", "<http://evil|click>", "[click](http://evil)"];
    let integrations = hostile
        .iter()
        .enumerate()
        .map(|(n, prefix)| {
            let mut i = integration(&format!("huge-{n}"), "failed", 2 * DAYS);
            i.integration_name = Some(format!("{prefix}{}", "🦀".repeat(100_000)));
            i
        })
        .collect();
    let emulator = emulator(Fleet { integrations, ..Fleet::default() }).await;
    let janitor = notifying(&emulator, &moto, &topic_arn).await;

    let report = sweep(&janitor).await;
    assert_eq!(report.totals.deleted, 5, "{:?}", report.notes);
    assert!(!report.notify_failed, "{:?}", report.notes);
    assert_eq!(aggregate(&janitor, &report)["NotifyFailed"], 0);

    let delivery = subscriber.next().expect("the run's notification was delivered");
    let message = delivery["Message"].as_str().expect("Message is a string");
    assert!(message.len() < SNS_MESSAGE_BYTES, "{} bytes", message.len());
    let chat: serde_json::Value = serde_json::from_str(message).expect("chat JSON");
    let description = chat["content"]["description"].as_str().expect("description");
    let deleted = description.lines().find(|l| l.starts_with("Deleted: ")).expect("a deleted list");
    assert!(deleted.starts_with("Deleted: `x｀ ＜!channel＞ ｀🦀🦀"), "{deleted}");
    assert_eq!(deleted.matches('`').count(), 10, "five code spans, each closed where it opened: {deleted}");
    for interpreted in ["<!channel>", "@here", "<@U123>", "<http", "[click]", "]("] {
        assert!(!message.contains(interpreted), "{interpreted} survived in {deleted}");
    }
}

#[tokio::test]
async fn a_notification_that_cannot_be_published_is_noted_and_sets_notify_failed() {
    let moto = Moto::start();
    let emulator =
        emulator(Fleet { integrations: vec![integration("gone", "failed", 2 * DAYS)], ..Fleet::default() }).await;
    let topic_arn = format!("arn:aws:sns:{REGION}:{ACCOUNT}:no-such-topic");
    let janitor = notifying(&emulator, &moto, &topic_arn).await;

    let report = sweep(&janitor).await;
    assert_eq!(report.totals.deleted, 1, "the deletes stand");
    assert!(report.notify_failed);
    let note = report.notes.iter().find(|n| n.starts_with("the notification could not be published: "));
    assert!(note.is_some_and(|n| n.contains(&topic_arn)), "{:?}", report.notes);
    assert_eq!(serde_json::to_value(&report).expect("json")["notifyFailed"], true);
    let aggregate = aggregate(&janitor, &report);
    assert_eq!((aggregate["NotifyFailed"].as_u64(), aggregate["ArchiveFailed"].as_u64()), (Some(1), Some(0)));
}
