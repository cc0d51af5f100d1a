//! The report archive: every run's full report (every item, verdict, reason, outcome and the control plane's
//! failure text) as one JSON object in S3, under a key by date, time and trigger, so the record of what was deleted
//! outlives the invocation's response (which EventBridge discards) and the log retention.
//!
//! An archive that fails never changes what the run did: [`ReportArchive::store`] runs after the sweep and returns
//! its failure as an error for the caller to report.
//!
//! A report is created, never replaced: every write is conditional on its key being free (`If-None-Match: *`), and
//! the template's bucket policy refuses any write that is not.
//!
//! Beside each JSON report, its HTML rendering for people ([`html`]) under the same key with `.html`
//! ([`ReportArchive::store_html`]), written once the same way. An HTML write that fails is recorded
//! (`archive.htmlError`) and logged, never an error of the run: the JSON is the record of what was done.

use crate::aws;
use crate::engine::report::{ArchiveRecord, Report};
use crate::outputs::html;
use aws_config::SdkConfig;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::put_object::PutObjectError;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::date_time::{DateTime, Format};
use aws_smithy_types::error::display::DisplayErrorContext;
use std::time::SystemTime;

/// Where every key starts: the template grants `s3:PutObject` on this prefix only.
pub const KEY_PREFIX: &str = "reports/";

/// The longest trigger slug a key carries; an event's trigger names its source and detail-type.
const TRIGGER_IN_KEY: usize = 48;

/// Keys one report tries, each with a fresh nonce, while S3 answers that the key is taken. Two runs started in the
/// same second drawing the same 32-bit nonce is already unlikely; a key still taken after this many draws means
/// something else writes there, and the report says so instead of looping.
pub const KEY_ATTEMPTS: u32 = 3;

/// Why a report was not archived; either way the report is still in the response and the logs.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("the report could not be serialized for s3://{bucket}/{key}: {cause}")]
    Serialize { bucket: String, key: String, cause: serde_json::Error },
    /// S3 refused the write or could not be reached.
    #[error("s3://{bucket}/{key} could not be written: {cause}")]
    Write { bucket: String, key: String, cause: String },
}

impl ArchiveError {
    /// What the report and the notification say about an archive that failed.
    pub fn record(&self) -> ArchiveRecord {
        let (ArchiveError::Serialize { bucket, key, .. } | ArchiveError::Write { bucket, key, .. }) = self;
        ArchiveRecord {
            bucket: bucket.clone(),
            key: key.clone(),
            error: Some(self.to_string()),
            ..ArchiveRecord::default()
        }
    }
}

/// Reports written to one bucket, through one client built at cold start.
pub struct ReportArchive {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl ReportArchive {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> ReportArchive {
        ReportArchive { client, bucket: bucket.into() }
    }

    /// Whether the bucket answers HeadBucket (`check`): `Ok` with what was found, `Err` when it is missing or out of
    /// reach. A denied HeadBucket is not an error: runs need only `s3:PutObject`, which HeadBucket does not prove.
    pub async fn reachable(&self) -> Result<String, String> {
        use aws_smithy_types::error::metadata::ProvideErrorMetadata;
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(format!("s3://{} answers", self.bucket)),
            Err(error) => match error.raw_response().map(|r| r.status().as_u16()) {
                Some(403) => Ok(format!(
                    "s3://{} exists; this role may not HeadBucket it (runs need only s3:PutObject, not checked)",
                    self.bucket
                )),
                Some(404) => Err(format!("s3://{}: no such bucket", self.bucket)),
                _ => Err(format!(
                    "s3://{}: {}",
                    self.bucket,
                    error.code().map_or_else(|| crate::providers::aws_sdk::one_line(&error), str::to_owned)
                )),
            },
        }
    }

    /// The archive of `bucket` through a client of the process's AWS configuration, bounded in time like every
    /// call, with the SDK's standard retries. A custom endpoint (`AWS_ENDPOINT_URL`: moto, LocalStack, MinIO) gets
    /// path-style addresses, since a bucket name cannot be a subdomain of an IP address.
    pub fn from_sdk(sdk: &SdkConfig, bucket: impl Into<String>, max_attempts: u32) -> ReportArchive {
        let config = aws_sdk_s3::config::Builder::from(sdk)
            .retry_config(aws::store_retry_config(max_attempts))
            .timeout_config(aws::timeout_config())
            .force_path_style(sdk.endpoint_url().is_some())
            .build();
        ReportArchive::new(aws_sdk_s3::Client::from_conf(config), bucket)
    }

    /// The record of a report this archive did not write, and why.
    pub fn unwritten(&self, why: &str) -> ArchiveRecord {
        ArchiveRecord { bucket: self.bucket.clone(), error: Some(why.to_owned()), ..ArchiveRecord::default() }
    }

    /// Writes the full report under a new key ([`report_key`]) and says where; never over an existing object.
    ///
    /// The report is serialized once, into one buffer that becomes the request body without a copy: PutObject
    /// needs the length before the body (a streamed upload would need a multipart upload or aws-chunked signing),
    /// and a retried attempt, or another key, resends the same buffer rather than serializing again.
    pub async fn store(&self, report: &Report) -> Result<ArchiveRecord, ArchiveError> {
        self.store_with_nonces(report, || fastrand::u32(..)).await
    }

    /// [`ReportArchive::store`] with each key's nonce drawn from `nonce`: tests pick the keys.
    ///
    /// Every PutObject carries `If-None-Match: *`. From the S3 User Guide ("How to prevent object overwrites with
    /// conditional writes") and the PutObject API reference: S3 then writes only if no object has the key, and
    /// answers 412 Precondition Failed when one does; 409 ConditionalRequestConflict when a conflicting write or
    /// delete of the key raced it (to be retried). Either way this report takes another key, with a fresh nonce, up
    /// to [`KEY_ATTEMPTS`] keys. (In a versioned bucket the check is against the current version.) moto's server
    /// also answers 412 PreconditionFailed and keeps the object (tests/integration/moto_backed.rs).
    ///
    /// An SDK retry of a write that did land but whose answer was lost meets its own object: the report is then
    /// archived twice, under two keys, and never overwritten.
    pub async fn store_with_nonces(
        &self,
        report: &Report,
        mut nonce: impl FnMut() -> u32 + Send,
    ) -> Result<ArchiveRecord, ArchiveError> {
        let now = SystemTime::now();
        let mut key = report_key(report, now, nonce());
        let body = serde_json::to_vec(report).map_err(|cause| ArchiveError::Serialize {
            bucket: self.bucket.clone(),
            key: key.clone(),
            cause,
        })?;
        let body = SdkBody::from(body);
        let mut attempt = 1;
        loop {
            let Some(this_body) = body.try_clone() else {
                // An in-memory body always clones; said as an error rather than assumed.
                return Err(self.write_error(key, "the report's body could not be resent".to_owned()));
            };
            let sent = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .if_none_match("*")
                .content_type("application/json")
                .body(ByteStream::new(this_body))
                .send()
                .await;
            let error = match sent {
                Ok(_) => {
                    let region = self.client.config().region().map(|r| r.to_string());
                    return Ok(ArchiveRecord { bucket: self.bucket.clone(), key, region, ..ArchiveRecord::default() });
                }
                Err(error) => error,
            };
            let cause = DisplayErrorContext(&error).to_string();
            if !key_taken(&error) {
                return Err(self.write_error(key, cause));
            }
            if attempt >= KEY_ATTEMPTS {
                let cause = format!("{cause} (each of the {KEY_ATTEMPTS} keys tried was taken; none was overwritten)");
                return Err(self.write_error(key, cause));
            }
            tracing::warn!(bucket = %self.bucket, %key, "a report's key is taken; the report takes another");
            attempt += 1;
            key = report_key(report, now, nonce());
        }
    }

    /// Writes the HTML rendering of `report`, archived as `record` says, beside its JSON ([`html_key`]), and records
    /// in `record` where it went (`html_key`) or why it did not (`html_error`, also logged). Never over an existing
    /// object (`If-None-Match: *`, as the JSON), and never at another key: the page belongs beside its report. A
    /// record of a report that was not archived gets no page (the page's restore command would name nothing).
    ///
    /// Rendered from the report's JSON, as `replication-janitor report --html` renders a file, so both pages are the
    /// same page.
    pub async fn store_html(&self, report: &Report, record: &mut ArchiveRecord) {
        if record.error.is_some() || record.key.is_empty() {
            return;
        }
        let key = html_key(&record.key);
        let page = serde_json::to_vec(report)
            .map_err(|e| e.to_string())
            .and_then(|json| html::render(&json, Some(record)).map_err(|e| e.to_string()));
        let page = match page {
            Ok(page) => page,
            Err(cause) => {
                let error = format!("the HTML report for s3://{}/{key} could not be rendered: {cause}", self.bucket);
                tracing::warn!(%error, "the HTML report was not archived");
                record.html_error = Some(error);
                return;
            }
        };
        let sent = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .if_none_match("*")
            .content_type("text/html; charset=utf-8")
            .body(ByteStream::from(page.into_bytes()))
            .send()
            .await;
        match sent {
            Ok(_) => record.html_key = Some(key),
            Err(error) => {
                let error = self.write_error(key, DisplayErrorContext(&error).to_string()).to_string();
                tracing::warn!(%error, "the HTML report was not archived");
                record.html_error = Some(error);
            }
        }
    }

    fn write_error(&self, key: String, cause: String) -> ArchiveError {
        ArchiveError::Write { bucket: self.bucket.clone(), key, cause }
    }
}

/// S3 refused a conditional write because the key exists (412 PreconditionFailed) or another write or delete of it
/// raced (409 ConditionalRequestConflict): another key will do. The status is checked too, for an answer without a
/// body to read the code from.
fn key_taken(error: &SdkError<PutObjectError, HttpResponse>) -> bool {
    matches!(error.code(), Some("PreconditionFailed" | "ConditionalRequestConflict"))
        || error.raw_response().is_some_and(|response| response.status().as_u16() == 412)
}

/// Where a report's HTML rendering goes: its JSON's key with `.html` in place of `.json`.
pub fn html_key(json_key: &str) -> String {
    format!("{}.html", json_key.strip_suffix(".json").unwrap_or(json_key))
}

/// The AWS console's page of the archived HTML report (an "Open" button there shows it in the browser), or `None`
/// when the record has no HTML, no region, or a region without a public console.
///
/// Why a console link and not a presigned URL: a URL presigned with the Lambda role's credentials stops working when
/// that role session's credentials expire, whatever expiry it asks for (S3 User Guide, "Download and upload objects
/// with presigned URLs": a presigned URL made with temporary credentials expires when they do), so a link in a chat
/// would die within hours and unpredictably; and while it works, anyone the message reaches (or is forwarded to)
/// could read the report. The console link never expires and grants nothing: it opens for whoever may read the
/// object (console access and `s3:GetObject` on `reports/*`).
pub fn console_url(record: &ArchiveRecord) -> Option<String> {
    let key = record.html_key.as_deref()?;
    let region = record.region.as_deref()?;
    let plain_region =
        !region.is_empty() && region.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let host = match region {
        _ if !plain_region => return None,
        r if r.starts_with("cn-") => "console.amazonaws.cn",
        r if r.starts_with("us-gov-") => "console.amazonaws-us-gov.com",
        r if r.contains("-iso") => return None,
        _ => "console.aws.amazon.com",
    };
    Some(format!(
        "https://{host}/s3/object/{}?region={region}&bucketType=general&prefix={}",
        url_encoded(&record.bucket, false),
        url_encoded(key, true)
    ))
}

/// `text` percent-encoded: only ASCII letters, digits, `-` and `.` (and `/` in a key) stay as they are, so the
/// link holds nothing a chat's markdown interprets (`_`, `~`, `*`) and nothing a URL parser would read as structure.
fn url_encoded(text: &str, keep_slash: bool) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' => encoded.push(char::from(byte)),
            b'/' if keep_slash => encoded.push('/'),
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

/// `reports/YYYY/MM/DD/THHMMSSZ-[<account>-]<trigger>-<nonce>.json`: by the run's start (UTC; `now` if the report has none),
/// then its trigger, so a listing by date reads in order; the nonce keeps two runs started in the same second (a
/// schedule and an event) apart, and the conditional write keeps either from overwriting the other.
pub fn report_key(report: &Report, now: SystemTime, nonce: u32) -> String {
    let started = DateTime::from_str(&report.started_at, Format::DateTime).unwrap_or_else(|_| DateTime::from(now));
    let (date, time) = utc_parts(started).unwrap_or_else(|| ("0000/00/00".to_owned(), "000000".to_owned()));
    let account = report.account.as_ref().map(|a| format!("{}-", trigger_slug(a))).unwrap_or_default();
    format!("{KEY_PREFIX}{date}/T{time}Z-{account}{}-{nonce:08x}.json", trigger_slug(&report.trigger))
}

/// `("YYYY/MM/DD", "HHMMSS")` of a time, from its RFC 3339 form in whole seconds (`YYYY-MM-DDTHH:MM:SSZ`); `None`
/// for a year that does not have four digits.
fn utc_parts(time: DateTime) -> Option<(String, String)> {
    let text = DateTime::from_secs(time.secs()).fmt(Format::DateTime).ok()?;
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 20
        && text.is_ascii()
        && [4, 7].iter().all(|&i| bytes[i] == b'-')
        && bytes[10] == b'T'
        && [13, 16].iter().all(|&i| bytes[i] == b':')
        && bytes[19] == b'Z';
    if !shaped {
        return None;
    }
    Some((format!("{}/{}/{}", &text[0..4], &text[5..7], &text[8..10]), text[11..19].replace(':', "")))
}

/// The trigger in lower-case letters, digits and single dashes, at most [`TRIGGER_IN_KEY`] characters: a key
/// readable in a listing and safe in any tool, whatever an event's detail-type holds.
fn trigger_slug(trigger: &str) -> String {
    let mut slug = String::new();
    for c in trigger.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= TRIGGER_IN_KEY {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "run".to_owned()
    } else {
        slug.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::report::Counts;
    use std::time::{Duration, UNIX_EPOCH};

    fn report(started_at: &str, trigger: &str) -> Report {
        Report {
            dry_run: true,
            trigger: trigger.to_owned(),
            started_at: started_at.to_owned(),
            duration_ms: 1,
            notes: Vec::new(),
            totals: Counts::default(),
            sweeps: Vec::new(),
            archive: None,
            account: None,
            accounts: Vec::new(),
            notify_failed: false,
            rechecks: None,
        }
    }

    #[test]
    fn a_key_names_the_day_the_second_and_the_trigger_of_the_run() {
        let key = report_key(&report("2026-11-25T03:10:00.482Z", "schedule"), UNIX_EPOCH, 0x00ab_cdef);
        assert_eq!(key, "reports/2026/11/25/T031000Z-schedule-00abcdef.json");
    }

    #[test]
    fn an_event_trigger_becomes_a_short_slug() {
        let key = report_key(
            &report("2026-01-02T23:59:59Z", "aws.redshift/Redshift Integration Monitoring (event REDSHIFT-0006)"),
            UNIX_EPOCH,
            1,
        );
        assert_eq!(key, "reports/2026/01/02/T235959Z-aws-redshift-redshift-integration-monitoring-eve-00000001.json");
        let slug = trigger_slug("«»//");
        assert_eq!(slug, "run", "nothing usable in the trigger");
    }

    #[test]
    fn a_report_without_a_start_time_is_filed_under_now() {
        let now = UNIX_EPOCH + Duration::from_secs(1_764_040_200); // 2025-11-25T03:10:00Z
        assert_eq!(report_key(&report("", "cli"), now, 7), "reports/2025/11/25/T031000Z-cli-00000007.json");
    }

    #[test]
    fn the_record_names_the_object() {
        let record = ArchiveRecord { bucket: "b".into(), key: "reports/k.json".into(), ..ArchiveRecord::default() };
        assert_eq!(record.uri(), "s3://b/reports/k.json");
        assert_eq!(
            serde_json::to_value(&record).ok(),
            Some(serde_json::json!({"bucket": "b", "key": "reports/k.json"}))
        );
    }

    #[test]
    fn the_html_report_is_beside_its_json() {
        assert_eq!(
            html_key("reports/2026/11/25/T031000Z-schedule-00abcdef.json"),
            "reports/2026/11/25/T031000Z-schedule-00abcdef.html"
        );
        assert_eq!(html_key("reports/odd"), "reports/odd.html");
    }

    #[test]
    fn the_console_link_opens_the_html_report_in_its_partitions_console() {
        let record = ArchiveRecord {
            bucket: "janitor-reports".into(),
            key: "reports/2026/11/25/T031000Z-schedule-1.json".into(),
            region: Some("eu-west-1".into()),
            html_key: Some("reports/2026/11/25/T031000Z-schedule-1.html".into()),
            ..ArchiveRecord::default()
        };
        assert_eq!(
            console_url(&record).as_deref(),
            Some(
                "https://console.aws.amazon.com/s3/object/janitor-reports?region=eu-west-1&bucketType=general\
                 &prefix=reports/2026/11/25/T031000Z-schedule-1.html"
            )
        );
        let china = ArchiveRecord { region: Some("cn-north-1".into()), ..record.clone() };
        assert!(console_url(&china).is_some_and(|u| u.starts_with("https://console.amazonaws.cn/s3/object/")));
        let gov = ArchiveRecord { region: Some("us-gov-west-1".into()), ..record.clone() };
        assert!(console_url(&gov).is_some_and(|u| u.starts_with("https://console.amazonaws-us-gov.com/s3/object/")));
        for no_console in [None, Some("us-iso-east-1"), Some("eu-west-1&x=1"), Some("")] {
            let record = ArchiveRecord { region: no_console.map(str::to_owned), ..record.clone() };
            assert_eq!(console_url(&record), None, "{no_console:?}");
        }
        assert_eq!(console_url(&ArchiveRecord { html_key: None, ..record.clone() }), None, "no page, no link");
        let odd = ArchiveRecord { html_key: Some("reports/a_b~c*d e&f=g.html".into()), ..record };
        assert!(
            console_url(&odd).is_some_and(|u| u.ends_with("&prefix=reports/a%5Fb%7Ec%2Ad%20e%26f%3Dg.html")),
            "{:?}",
            console_url(&odd)
        );
    }
}
