//! The fan-out's results, read back from S3 for its one summary. Step Functions limits a state's data to 256 KiB,
//! so the batches' summaries of a large organization cannot be the Distributed Map's output: its `ResultWriter`
//! writes them to the report bucket instead, and the Map's output names the Map Run's `manifest.json`. The summary
//! step hands that location over (`{"summarizeFrom": {"bucket": ..., "key": ...}}`); [`MapResults::add_up`] reads
//! the manifest, then each result file in turn, streaming, and adds each child's per-account summaries into a
//! [`RunSummary`] as they arrive: memory holds one child's result at a time, never the run's.
//!
//! Documented (Step Functions Developer Guide, "ResultWriter (Map)"): the Map's output is
//! `{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}` with `Key` = `<Prefix>/<map run id>/manifest.json`;
//! beside the manifest, `SUCCEEDED_n.json` holds the children that succeeded, `FAILED_n.json` those that failed,
//! timed out or were aborted, `PENDING_n.json` those never started (the Map Run failed or was aborted), each file up
//! to 5 GB; without a `WriterConfig` the transformation is `NONE`: each child is its execution's metadata
//! (`ExecutionArn`, `Input`, `Name`, `Output` as a JSON *string*, `Status`, `StartDate`, `StopDate`, ...) in a JSON
//! array. The bucket must be in the state machine's account and region.
//!
//! Assumed (not in AWS's documentation; every published run's manifest and LocalStack's implementation agree): the
//! manifest's own shape, `{"DestinationBucket", "MapRunArn", "ResultFiles": {"SUCCEEDED" | "FAILED" | "PENDING":
//! [{"Key", "Size"}]}}` with keys relative to the bucket. Whatever a child's fields, this module only needs
//! `Status` and `Output`: a failed child counts as failed whichever of its fields are there.

use crate::aws;
use crate::engine::report::AccountSummary;
use crate::outputs::json_stream::{Elements, StreamError};
use crate::outputs::notify::RunSummary;
use aws_config::SdkConfig;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_smithy_types::error::display::DisplayErrorContext;
use serde::Deserialize;

/// Where the template's `ResultWriter` writes (`"Prefix": "fan-out"`, so keys are `fan-out/<map run id>/...`); the
/// state machine's role may write there, and the function read there, only.
pub const RESULTS_PREFIX: &str = "fan-out/";

/// The name Step Functions gives a Map Run's manifest.
pub const MANIFEST_NAME: &str = "manifest.json";

/// The most bytes of manifest read: it names a few files (one per 5 GB of results), so anything near this is not a
/// manifest.
const MANIFEST_BYTES: usize = 1 << 20;

/// The longest child result accepted. A child's input and output are each at most 256 KiB (the state data limit);
/// in the file both are JSON strings, where escaping can make each byte up to six (`\u0000`), so 2 x 256 KiB x 6
/// plus the execution's metadata fits in this.
pub const CHILD_BYTES: usize = 4 << 20;

/// A Map Run's results as the summary step names them: the manifest's bucket and key.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultsLocation {
    pub bucket: String,
    pub key: String,
}

/// Why the results could not be added up; nothing is notified then, and the execution fails (its alarm fires).
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// S3 refused or could not serve the object. Without `s3:ListBucket` (the function has none) S3 answers a
    /// missing key with AccessDenied rather than NoSuchKey (S3 API Reference, GetObject), hence both in the text.
    #[error("s3://{bucket}/{key} could not be read (missing, or not readable by the function's role): {cause}")]
    Read { bucket: String, key: String, cause: String },
    #[error("s3://{bucket}/{key} is not a Map Run manifest: {cause}")]
    Manifest { bucket: String, key: String, cause: String },
    /// A manifest that points elsewhere than its own Map Run: refused rather than followed.
    #[error("s3://{bucket}/{key} names {file}, which is not a result file beside it: refused")]
    Elsewhere { bucket: String, key: String, file: String },
    #[error("s3://{bucket}/{key} is not a result file this janitor can read: {cause}")]
    ResultFile { bucket: String, key: String, cause: String },
    /// The run's deadline (less `JANITOR_DEADLINE_MARGIN`) came first; a summary of part of the run would be wrong.
    #[error(
        "the run's deadline came after {read} of {files} result files were read; nothing was summarized or notified"
    )]
    Deadline { read: usize, files: usize },
}

/// What has been added up so far; kept by the caller, so that a deadline can say how far the reading got.
#[derive(Debug, Default)]
pub struct Tally {
    pub summary: RunSummary,
    /// Result files the manifest names.
    pub files: usize,
    /// Result files read to their end.
    pub files_read: usize,
}

/// The manifest's fields this module reads (see the module documentation: assumed, not documented).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Manifest {
    #[serde(default)]
    destination_bucket: Option<String>,
    result_files: ResultFiles,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
struct ResultFiles {
    #[serde(default)]
    succeeded: Vec<ResultFile>,
    #[serde(default)]
    failed: Vec<ResultFile>,
    #[serde(default)]
    pending: Vec<ResultFile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ResultFile {
    key: String,
}

/// Which file a child was found in: only a succeeded child has an answer to add up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Succeeded,
    NotSucceeded,
}

/// The fields of a child execution this module reads (the documented `NONE` transformation).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ChildExecution {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    output: Option<String>,
}

/// A batch's answer as the Map's child keeps it (the template's ResultSelector): its per-account summaries.
#[derive(Debug, Deserialize)]
struct BatchAnswer {
    accounts: Vec<AccountSummary>,
}

/// Reads Map Run results through one S3 client built at cold start.
pub struct MapResults {
    client: aws_sdk_s3::Client,
}

impl MapResults {
    pub fn new(client: aws_sdk_s3::Client) -> MapResults {
        MapResults { client }
    }

    /// A reader through a client of the process's AWS configuration, bounded in time like every call, with the
    /// SDK's standard retries; path-style addresses under a custom endpoint, as the archive's.
    pub fn from_sdk(sdk: &SdkConfig, max_attempts: u32) -> MapResults {
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .retry_config(aws::store_retry_config(max_attempts))
            .timeout_config(aws::timeout_config())
            .force_path_style(sdk.endpoint_url().is_some())
            .build();
        MapResults::new(aws_sdk_s3::Client::from_conf(config))
    }

    /// Reads the manifest at `location`, then every result file it names, one after another, adding each child
    /// into `tally`: a succeeded child's accounts, or one failed child (failed, timed out, aborted, never started,
    /// or an answer without its accounts). The caller checks `location` is the fan-out's (bucket and prefix).
    pub async fn add_up(&self, location: &ResultsLocation, tally: &mut Tally) -> Result<(), ResultsError> {
        let bucket = location.bucket.as_str();
        let manifest = self.manifest(location).await?;
        if let Some(destination) = manifest.destination_bucket.as_deref().filter(|d| *d != bucket) {
            let cause = format!("its DestinationBucket is {destination}, not the bucket it is in");
            return Err(ResultsError::Manifest { bucket: bucket.to_owned(), key: location.key.clone(), cause });
        }
        let folder = location.key.strip_suffix(MANIFEST_NAME).unwrap_or_default();
        let ResultFiles { succeeded, failed, pending } = manifest.result_files;
        let files: Vec<(Kind, String)> = succeeded
            .into_iter()
            .map(|f| (Kind::Succeeded, f.key))
            .chain(failed.into_iter().chain(pending).map(|f| (Kind::NotSucceeded, f.key)))
            .collect();
        for (_, file) in &files {
            let beside = file.strip_prefix(folder).is_some_and(|name| !name.is_empty() && !name.contains('/'));
            if folder.is_empty() || !beside || *file == location.key {
                return Err(ResultsError::Elsewhere {
                    bucket: bucket.to_owned(),
                    key: location.key.clone(),
                    file: crate::domain::text::display(file, 300),
                });
            }
        }
        tally.files = files.len();
        for (kind, key) in files {
            self.add_file(bucket, &key, kind, &mut tally.summary).await?;
            tally.files_read = tally.files_read.saturating_add(1);
        }
        Ok(())
    }

    async fn manifest(&self, location: &ResultsLocation) -> Result<Manifest, ResultsError> {
        let (bucket, key) = (location.bucket.as_str(), location.key.as_str());
        let mut body = self.open(bucket, key).await?;
        let mut text = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| read_error(bucket, key, DisplayErrorContext(&e).to_string()))?;
            if text.len().saturating_add(chunk.len()) > MANIFEST_BYTES {
                let cause = format!("it is longer than {MANIFEST_BYTES} bytes");
                return Err(ResultsError::Manifest { bucket: bucket.to_owned(), key: key.to_owned(), cause });
            }
            text.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&text).map_err(|e| ResultsError::Manifest {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            cause: e.to_string(),
        })
    }

    async fn open(&self, bucket: &str, key: &str) -> Result<aws_sdk_s3::primitives::ByteStream, ResultsError> {
        match self.client.get_object().bucket(bucket).key(key).send().await {
            Ok(object) => Ok(object.body),
            Err(error) => {
                let code = error.code().map(|c| format!("{c}: ")).unwrap_or_default();
                Err(read_error(bucket, key, format!("{code}{}", DisplayErrorContext(&error))))
            }
        }
    }

    /// One result file, streamed: each child is added as soon as its last byte arrives.
    async fn add_file(
        &self,
        bucket: &str,
        key: &str,
        kind: Kind,
        summary: &mut RunSummary,
    ) -> Result<(), ResultsError> {
        let malformed =
            |cause: String| ResultsError::ResultFile { bucket: bucket.to_owned(), key: key.to_owned(), cause };
        let stream = |e: StreamError| malformed(e.to_string());
        let mut body = self.open(bucket, key).await?;
        let mut elements = Elements::new(CHILD_BYTES);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| read_error(bucket, key, DisplayErrorContext(&e).to_string()))?;
            elements.push(&chunk).map_err(stream)?;
            while let Some(child) = elements.pop() {
                add_child(kind, &child, summary).map_err(|e| malformed(e.to_string()))?;
            }
        }
        elements.finish().map_err(stream)?;
        while let Some(child) = elements.pop() {
            add_child(kind, &child, summary).map_err(|e| malformed(e.to_string()))?;
        }
        Ok(())
    }
}

fn read_error(bucket: &str, key: &str, cause: String) -> ResultsError {
    ResultsError::Read { bucket: bucket.to_owned(), key: key.to_owned(), cause }
}

/// Adds one child: a child that is not an execution record makes the file unreadable (an error); a succeeded child
/// whose answer has no per-account summaries counts as failed, as in the old `{"summarize": [...]}` payload.
fn add_child(kind: Kind, child: &[u8], summary: &mut RunSummary) -> Result<(), serde_json::Error> {
    if child.first() != Some(&b'{') {
        return Err(serde::de::Error::custom("a child's result is not a JSON object"));
    }
    let execution: ChildExecution = serde_json::from_slice(child)?;
    let answer = match (kind, execution.status.as_deref(), execution.output.as_deref()) {
        (Kind::Succeeded, Some("SUCCEEDED"), Some(output)) => serde_json::from_str::<BatchAnswer>(output).ok(),
        _ => None,
    };
    match answer {
        Some(answer) => answer.accounts.into_iter().for_each(|account| summary.add_account(account)),
        None => summary.add_failed_child(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn child(status: &str, output: serde_json::Value) -> Vec<u8> {
        let output = output.to_string();
        serde_json::to_vec(&json!({"ExecutionArn": "arn:x", "Status": status, "Output": output})).unwrap_or_default()
    }

    #[test]
    fn a_succeeded_child_adds_its_accounts_and_anything_else_counts_as_one_failed_child() {
        let mut summary = RunSummary::default();
        let answer = json!({"accounts": [
            {"account": "111111111111", "totals": {"scanned": 4, "deleted": 1}},
            {"account": "222222222222", "error": "AccessDenied", "totals": {"failed": 1}}
        ]});
        add_child(Kind::Succeeded, &child("SUCCEEDED", answer.clone()), &mut summary).expect("a record");
        add_child(Kind::NotSucceeded, &child("SUCCEEDED", answer), &mut summary).expect("a record");
        add_child(Kind::Succeeded, &child("SUCCEEDED", json!({"no": "accounts"})), &mut summary).expect("a record");
        let failed = br#"{"Status": "FAILED", "Error": "Sandbox.Timedout", "Cause": "Task timed out"}"#;
        add_child(Kind::NotSucceeded, failed, &mut summary).expect("a record");
        assert_eq!((summary.accounts, summary.unswept_accounts, summary.failed_children), (2, 1, 3));
        assert_eq!((summary.totals.scanned, summary.totals.deleted, summary.totals.failed), (4, 1, 1));
        assert!(add_child(Kind::Succeeded, b"[1, 2]", &mut summary).is_err(), "not an execution record");
    }

    #[test]
    fn ten_thousand_accounts_none_swept_add_up_to_a_summary_that_fits_a_state() {
        let mut summary = RunSummary::default();
        for n in 0..10_000u64 {
            let error = format!("could not assume the role: AccessDenied {}", "x".repeat(5_000));
            let account = json!({"account": format!("{n:012}"), "error": error, "totals": {"failed": 1}});
            summary.add_account(serde_json::from_value(account).expect("an account summary"));
        }
        assert_eq!((summary.accounts, summary.unswept_accounts, summary.totals.failed), (10_000, 10_000, 10_000));
        assert_eq!(summary.unswept.len(), crate::outputs::notify::NAMES_PER_LIST);
        let size = serde_json::to_vec(&summary).map(|s| s.len()).unwrap_or(usize::MAX);
        assert!(size < 16 * 1024, "the answer, {size} bytes, is far below Step Functions' 256 KiB");
        let notification = summary.notification(true).expect("failures are told");
        assert!(notification.chat.content.next_steps.last().is_some_and(|s| s == "and 9995 more accounts not swept"));
    }

    #[test]
    fn the_largest_child_step_functions_can_write_fits_the_limit() {
        let state_data = 256 * 1024;
        let worst = serde_json::to_vec(&json!({
            "Input": "\u{0}".repeat(state_data),
            "Output": "\u{0}".repeat(state_data),
            "ExecutionArn": "x".repeat(2_000),
        }))
        .unwrap_or_default();
        assert!(worst.len() < CHILD_BYTES, "{} bytes", worst.len());
    }
}
