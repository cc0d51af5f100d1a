//! The report as the HTML page reads it: the JSON report (the contract the CLI prints and the archive keeps), read
//! back under the same field names, with only what the page shows.
//!
//! Why not `Report` itself: a `Report` names its provider as a `Provider` (a `&'static` name and its cloud, which
//! only the registry, a layer above the engine, can resolve) and an item's kind as a `&'static str`. Reading those
//! back would need the registry and would refuse a report naming a provider this build does not know; this view
//! keeps every name as the text it is, borrowed from the JSON where it can be. Counts, verdicts, outcomes, error
//! classes, account summaries and the archive record are the report's own types.

use crate::domain::resource::ErrorClass;
use crate::engine::policy::Verdict;
use crate::engine::report::{AccountSummary, ArchiveRecord, Busy, Counts, Outcome};
use serde::Deserialize;
use std::borrow::Cow;

/// A whole run. The fields every report has are required, so a JSON file that is not a report is refused.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run<'a> {
    pub dry_run: bool,
    #[serde(borrow)]
    pub trigger: Cow<'a, str>,
    #[serde(borrow)]
    pub started_at: Cow<'a, str>,
    pub duration_ms: u64,
    pub notes: Vec<String>,
    pub totals: Counts,
    #[serde(borrow)]
    pub sweeps: Vec<Sweep<'a>>,
    #[serde(default)]
    pub archive: Option<ArchiveRecord>,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub accounts: Vec<AccountSummary>,
    #[serde(default)]
    pub notify_failed: bool,
}

/// One provider in one region (of one account).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sweep<'a> {
    #[serde(default)]
    pub account: Option<String>,
    #[serde(borrow)]
    pub provider: Cow<'a, str>,
    #[serde(borrow)]
    pub region: Cow<'a, str>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_class: Option<ErrorClass>,
    #[serde(default)]
    pub state_error: Option<String>,
    pub tripwire_tripped: bool,
    #[serde(default)]
    pub timed_out: bool,
    #[serde(default)]
    pub busy: Option<Busy>,
    #[serde(default)]
    pub items_omitted: usize,
    pub counts: Counts,
    #[serde(borrow)]
    pub items: Vec<Item<'a>>,
}

/// One scanned resource (its `definition`, for `restore`, is not read).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item<'a> {
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow)]
    pub status: Cow<'a, str>,
    pub verdict: Verdict,
    #[serde(borrow)]
    pub reason: Cow<'a, str>,
    pub outcome: Outcome,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_class: Option<ErrorClass>,
    #[serde(default)]
    pub failure: Option<String>,
    #[serde(default)]
    pub deletable_at: Option<String>,
}

impl<'a> Run<'a> {
    /// The run of a report's JSON.
    pub fn read(json: &'a [u8]) -> Result<Run<'a>, serde_json::Error> {
        serde_json::from_slice(json)
    }
}
