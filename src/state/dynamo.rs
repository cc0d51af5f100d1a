//! The Lambda's store: a DynamoDB table shared by every invocation, so overlapping sweeps (the schedule and an
//! event) agree on when a connection was first seen failed.
//!
//! Table schema (the SAM template creates it, on-demand, with TTL on `expiresAt`):
//!
//! | attribute   | type | meaning                                                                         |
//! |-------------|------|---------------------------------------------------------------------------------|
//! | `pk`        | S    | partition key (no sort key): `{region}#{endpoint_arn}\|{replication_instance_arn}` |
//! | `firstSeen` | N    | Unix seconds of the first sighting failed                                       |
//! | `expiresAt` | N    | Unix seconds: the TTL attribute, `firstSeen` + the store's TTL                  |
//! | `region`    | S    | the region of the connection, for people reading the table                      |
//!
//! Only GetItem, BatchGetItem, PutItem and DeleteItem are used (all the role may call), so a sweep costs
//! `ceil(scanned / 100)` BatchGetItem calls, one PutItem per newly failed connection and one DeleteItem per
//! recovered one; a steady state costs the reads only.
//!
//! Without Query or Scan the store cannot list its marks, so it cannot find those of connections that are gone
//! (deleted by the janitor or by hand): DynamoDB's TTL expires them. Until then, a connection of the same endpoint
//! and replication instance that shows up failed again inherits the old first sighting, because the store never
//! saw it gone. Because TTL deletion is lazy, a mark past its `expiresAt` is treated as absent (and replaced on
//! the next failed sighting), so nothing inherits a first sighting older than the TTL.

use super::{first_seen_at, in_the_future, FirstSeenStore, Lease, Leases, Sighting, StateError, LATEST_MARK};
use async_trait::async_trait;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;
use aws_smithy_types::error::display::DisplayErrorContext;
use futures::stream::{self, StreamExt, TryStreamExt};
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime};

/// The most keys one BatchGetItem call may ask for.
const BATCH: usize = 100;
/// DynamoDB calls in flight during one reconcile.
const CALLS_IN_FLIGHT: usize = 8;
/// BatchGetItem calls per batch, the first included, before keys still unprocessed are an error.
const UNPROCESSED_ATTEMPTS: u32 = 5;
/// The wait before the first retry of unprocessed keys; it doubles after each.
const UNPROCESSED_BACKOFF: Duration = Duration::from_millis(50);
/// Conditional first writes of one key before racing sweeps are an error (each lost race re-reads the winner's
/// mark, so more than one only happens if the mark vanishes in between).
const FIRST_WRITE_ATTEMPTS: u32 = 3;
/// How much of a response body the SDK could not read goes into an error message.
const BODY_IN_ERRORS: usize = 400;

const PK: &str = "pk";
const FIRST_SEEN: &str = "firstSeen";
const EXPIRES_AT: &str = "expiresAt";
const REGION: &str = "region";
const PROJECTION: &str = "#pk, #firstSeen, #expiresAt";
const HOLDER: &str = "holder";
const UNTIL: &str = "until";
/// Lease items share the table with marks; no mark's key starts so (a scope starts with an account or provider).
const LEASE_PREFIX: &str = "lease#";
/// How long a lease item outlives its holder's deadline before DynamoDB's TTL removes it.
const LEASE_TTL_SLACK: u64 = 86_400;

/// First-seen marks in a DynamoDB table (see the module documentation for its schema).
pub struct DynamoStore {
    client: Client,
    table: String,
    ttl: Duration,
}

/// One stored mark.
#[derive(Clone, Copy, Debug)]
struct Mark {
    first_seen: u64,
    expires_at: Option<u64>,
}

impl Mark {
    /// Whether the mark still counts at `now`: DynamoDB deletes expired items lazily, so reads may still see them.
    fn live(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|expires| expires > now)
    }
}

impl DynamoStore {
    /// A store on `table` through `client`. Each mark expires `ttl` after its first sighting: the store cannot
    /// list its marks (the role may not Query or Scan), so expiry is how marks of connections that are gone go
    /// away. Choose `ttl` well above the DMS grace: a connection still failed (protected, or in dry runs) when its
    /// mark expires starts its grace again, which delays a deletion but never hastens one.
    pub fn new(client: Client, table: impl Into<String>, ttl: Duration) -> DynamoStore {
        DynamoStore { client, table: table.into(), ttl }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn pk(region: &str, key: &str) -> String {
        format!("{region}#{key}")
    }

    fn error(&self, message: impl Into<String>) -> StateError {
        StateError::Dynamo { table: self.table.clone(), message: message.into() }
    }

    /// Describes a failed call with the service's code where it has one; else with the HTTP status and body when
    /// the service answered in a form the SDK could not read, and with the whole cause chain when it did not answer.
    fn failure<E>(&self, operation: &str, error: &SdkError<E, HttpResponse>) -> StateError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let message = match (error.code(), error.message(), error.raw_response()) {
            (Some(code), message, _) if code.starts_with("AccessDenied") => format!(
                "access denied: the janitor's role may not call dynamodb:{operation} ({code}: {})",
                message.unwrap_or_default()
            ),
            (Some(code), message, _) => format!("{operation} failed: {code}: {}", message.unwrap_or_default()),
            (None, _, Some(response)) => {
                let body = response.body().bytes().map(String::from_utf8_lossy).unwrap_or_default();
                // One line, whatever the body's layout, and not all of it.
                let body: String =
                    body.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(BODY_IN_ERRORS).collect();
                format!("{operation} failed: HTTP {}: {body}", response.status().as_u16())
            }
            (None, _, None) => format!("{operation} failed: {}", DisplayErrorContext(error)),
        };
        self.error(message)
    }

    fn mark(&self, item: &HashMap<String, AttributeValue>) -> Result<(String, Mark), StateError> {
        let number = |name: &str| item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<u64>().ok());
        let pk = item.get(PK).and_then(|v| v.as_s().ok()).ok_or_else(|| self.error("an item has no string pk"))?;
        let first_seen =
            number(FIRST_SEEN).ok_or_else(|| self.error(format!("item {pk} has no numeric {FIRST_SEEN}")))?;
        Ok((pk.clone(), Mark { first_seen, expires_at: number(EXPIRES_AT) }))
    }

    fn projection_names() -> HashMap<String, String> {
        [("#pk", PK), ("#firstSeen", FIRST_SEEN), ("#expiresAt", EXPIRES_AT)]
            .into_iter()
            .map(|(alias, name)| (alias.to_owned(), name.to_owned()))
            .collect()
    }

    fn key_of(pk: String) -> HashMap<String, AttributeValue> {
        HashMap::from([(PK.to_owned(), AttributeValue::S(pk))])
    }

    /// The marks of up to [`BATCH`] partition keys, consistently read, retrying unprocessed keys a few times.
    async fn read_batch(&self, pks: Vec<String>) -> Result<Vec<(String, Mark)>, StateError> {
        let mut pending: Vec<HashMap<String, AttributeValue>> = pks.into_iter().map(Self::key_of).collect();
        let mut marks = Vec::new();
        let mut backoff = UNPROCESSED_BACKOFF;
        for attempt in 1..=UNPROCESSED_ATTEMPTS {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .projection_expression(PROJECTION)
                .set_expression_attribute_names(Some(Self::projection_names()))
                .build()
                .map_err(|e| self.error(format!("BatchGetItem request: {e}")))?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| self.failure("BatchGetItem", &e))?;
            for item in output.responses().and_then(|r| r.get(&self.table)).into_iter().flatten() {
                marks.push(self.mark(item)?);
            }
            pending = output
                .unprocessed_keys()
                .and_then(|u| u.get(&self.table))
                .map(|k| k.keys().to_vec())
                .unwrap_or_default();
            if pending.is_empty() {
                return Ok(marks);
            }
            if attempt < UNPROCESSED_ATTEMPTS {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
        Err(self.error(format!(
            "BatchGetItem left {} keys unprocessed after {UNPROCESSED_ATTEMPTS} attempts",
            pending.len()
        )))
    }

    /// The marks of `keys` in `region`, by connection key.
    async fn read(&self, region: &str, keys: &BTreeSet<&str>) -> Result<HashMap<String, Mark>, StateError> {
        let mut by_pk: HashMap<String, String> =
            keys.iter().map(|key| (Self::pk(region, key), (*key).to_owned())).collect();
        let pks: Vec<String> = by_pk.keys().cloned().collect();
        let batches: Vec<Vec<String>> = pks.chunks(BATCH).map(<[String]>::to_vec).collect();
        let found: Vec<Vec<(String, Mark)>> = stream::iter(batches)
            .map(|batch| self.read_batch(batch))
            .buffer_unordered(CALLS_IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().filter_map(|(pk, mark)| by_pk.remove(&pk).map(|key| (key, mark))).collect())
    }

    /// One consistent read of the mark of `key`.
    async fn get(&self, pk: &str) -> Result<Option<Mark>, StateError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key_of(pk.to_owned())))
            .consistent_read(true)
            .projection_expression(PROJECTION)
            .set_expression_attribute_names(Some(Self::projection_names()))
            .send()
            .await
            .map_err(|e| self.failure("GetItem", &e))?;
        output.item().map(|item| self.mark(item).map(|(_, mark)| mark)).transpose()
    }

    /// Takes the lease on `scope` unless another holder's lease is still running; else says who holds it.
    async fn take_lease(&self, scope: &str, lease: &Lease, now: u64) -> Result<Option<Lease>, StateError> {
        let pk = format!("{LEASE_PREFIX}{scope}");
        let until = lease.until.map_or(now, unix_seconds);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, AttributeValue::S(pk.clone()))
            .item(HOLDER, AttributeValue::S(lease.holder.clone()))
            .item(UNTIL, AttributeValue::N(until.to_string()))
            .item(EXPIRES_AT, AttributeValue::N(until.saturating_add(LEASE_TTL_SLACK).to_string()))
            // Free, lapsed (its holder was killed or is past its deadline), or ours already.
            .condition_expression("attribute_not_exists(#pk) OR #until <= :now OR #holder = :holder")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#until", UNTIL)
            .expression_attribute_names("#holder", HOLDER)
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":holder", AttributeValue::S(lease.holder.clone()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(None),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                let output = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(Self::key_of(pk)))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| self.failure("GetItem", &e))?;
                let item = output.item();
                let holder = item.and_then(|i| i.get(HOLDER)).and_then(|v| v.as_s().ok()).cloned();
                let until = item
                    .and_then(|i| i.get(UNTIL))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<u64>().ok())
                    .and_then(|secs| SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs)));
                Ok(Some(Lease {
                    holder: holder.unwrap_or_else(|| "another run (its lease was just released)".to_owned()),
                    until,
                }))
            }
            Err(e) => Err(self.failure("PutItem", &e)),
        }
    }

    /// Frees the lease on `scope` if it is still `holder`'s (a lapsed lease may have been taken since).
    async fn free_lease(&self, scope: &str, holder: &str) -> Result<(), StateError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key_of(format!("{LEASE_PREFIX}{scope}"))))
            .condition_expression("#holder = :holder")
            .expression_attribute_names("#holder", HOLDER)
            .expression_attribute_values(":holder", AttributeValue::S(holder.to_owned()))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => Err(self.failure("DeleteItem", &e)),
        }
    }

    /// Records `key` as first seen failed at `now` unless a live mark exists, and returns the first sighting that
    /// stands: ours, or that of the sweep that wrote first. A mark in the future, which only a clock ahead of ours
    /// wrote, is replaced by `now`.
    async fn first_sighting(&self, region: &str, key: &str, now: u64) -> Result<u64, StateError> {
        let pk = Self::pk(region, key);
        for _ in 0..FIRST_WRITE_ATTEMPTS {
            let put = self
                .client
                .put_item()
                .table_name(&self.table)
                .item(PK, AttributeValue::S(pk.clone()))
                .item(FIRST_SEEN, AttributeValue::N(now.to_string()))
                .item(EXPIRES_AT, AttributeValue::N(now.saturating_add(self.ttl.as_secs()).to_string()))
                .item(REGION, AttributeValue::S(region.to_owned()))
                // Absent, expired but not yet deleted by TTL, or in the future: a live mark is never overwritten.
                .condition_expression("attribute_not_exists(#pk) OR #expiresAt <= :now OR #firstSeen > :ahead")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#expiresAt", EXPIRES_AT)
                .expression_attribute_names("#firstSeen", FIRST_SEEN)
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                .expression_attribute_values(
                    ":ahead",
                    AttributeValue::N(now.saturating_add(super::FUTURE_MARK_TOLERANCE).to_string()),
                )
                .send()
                .await;
            match put {
                Ok(_) => return Ok(now),
                Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                    // Another sweep marked it first: its time stands.
                    if let Some(mark) =
                        self.get(&pk).await?.filter(|mark| mark.live(now) && !in_the_future(mark.first_seen, now))
                    {
                        return Ok(mark.first_seen);
                    }
                }
                Err(e) => return Err(self.failure("PutItem", &e)),
            }
        }
        Err(self.error(format!(
            "the first sighting of {pk} still conflicted with other sweeps after {FIRST_WRITE_ATTEMPTS} writes"
        )))
    }

    async fn delete_mark(&self, region: &str, key: &str) -> Result<(), StateError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key_of(Self::pk(region, key))))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.failure("DeleteItem", &e))
    }
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs()
}

#[async_trait]
impl FirstSeenStore for DynamoStore {
    /// One conditional PutItem per scope; a lease lapses at its holder's deadline, so a killed run frees it.
    async fn lease(&self, scopes: &[String], lease: &Lease) -> Result<Leases, StateError> {
        let now = unix_seconds(SystemTime::now());
        let answers: Vec<(String, Option<Lease>)> = stream::iter(scopes.to_vec())
            .map(|scope: String| async move { self.take_lease(&scope, lease, now).await.map(|busy| (scope, busy)) })
            .buffered(CALLS_IN_FLIGHT)
            .try_collect()
            .await?;
        let mut leases = Leases::default();
        for (scope, busy) in answers {
            match busy {
                None => leases.held.push(scope),
                Some(holder) => leases.busy.push((scope, holder)),
            }
        }
        Ok(leases)
    }

    async fn release(&self, scopes: &[String], lease: &Lease) -> Result<(), StateError> {
        stream::iter(scopes.to_vec())
            .map(|scope: String| async move { self.free_lease(&scope, &lease.holder).await })
            .buffer_unordered(CALLS_IN_FLIGHT)
            .try_collect::<()>()
            .await
    }

    /// Reads the marks of every scanned key, writes those of new failures, deletes those of recoveries. Whether
    /// the scan was complete does not matter: only scanned keys are touched, and marks of connections that are
    /// gone expire by TTL.
    async fn reconcile(&self, sighting: Sighting<'_>) -> Result<HashMap<String, SystemTime>, StateError> {
        let Sighting { scope: region, scanned, failed, now, .. } = sighting;
        let now = unix_seconds(now);
        let failed: BTreeSet<&str> = failed.iter().map(String::as_str).collect();
        let keys: BTreeSet<&str> = scanned.iter().map(String::as_str).chain(failed.iter().copied()).collect();
        let marks = self.read(region, &keys).await?;
        let store = || format!("DynamoDB table {}", self.table);
        // A mark beyond any date is corruption, not a clock ahead: the store is refused rather than rewritten.
        if let Some((key, mark)) = marks.iter().find(|(_, mark)| mark.first_seen > LATEST_MARK) {
            first_seen_at(store, key, mark.first_seen)?;
        }

        let mut seen: HashMap<String, u64> = HashMap::new();
        let mut new: Vec<String> = Vec::new();
        for key in &failed {
            match marks.get(*key).filter(|mark| mark.live(now) && !in_the_future(mark.first_seen, now)) {
                Some(mark) => {
                    seen.insert((*key).to_owned(), mark.first_seen);
                }
                None => new.push((*key).to_owned()),
            }
        }
        // Owned keys in the streams below: borrowed ones trip the compiler's Send check in an async trait method.
        let written: Vec<(String, u64)> = stream::iter(new)
            .map(|key: String| async move { self.first_sighting(region, &key, now).await.map(|secs| (key, secs)) })
            .buffer_unordered(CALLS_IN_FLIGHT)
            .try_collect()
            .await?;
        seen.extend(written);

        let recovered: Vec<String> = marks.into_keys().filter(|key| !failed.contains(key.as_str())).collect();
        stream::iter(recovered)
            .map(|key: String| async move { self.delete_mark(region, &key).await })
            .buffer_unordered(CALLS_IN_FLIGHT)
            .try_collect::<()>()
            .await?;

        seen.into_iter().map(|(key, secs)| first_seen_at(store, &key, secs).map(|at| (key, at))).collect()
    }

    async fn forget(&self, gone: &[(String, String)]) -> Result<(), StateError> {
        // Owned keys: borrowed ones trip the compiler's Send check in an async trait method.
        stream::iter(gone.to_vec())
            .map(|(region, key): (String, String)| async move { self.delete_mark(&region, &key).await })
            .buffer_unordered(CALLS_IN_FLIGHT)
            .try_collect::<()>()
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expired_mark_no_longer_counts() {
        assert!(Mark { first_seen: 1, expires_at: Some(11) }.live(10));
        assert!(!Mark { first_seen: 1, expires_at: Some(10) }.live(10));
        assert!(Mark { first_seen: 1, expires_at: None }.live(u64::MAX), "a mark without expiry stands");
    }

    fn failure(code: Option<&str>, status: u16, body: &str) -> String {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .build();
        let store = DynamoStore::new(Client::from_conf(config), "marks", Duration::from_secs(60));
        let mut meta = aws_sdk_dynamodb::error::ErrorMetadata::builder().message("no");
        if let Some(code) = code {
            meta = meta.code(code);
        }
        let error = aws_sdk_dynamodb::operation::get_item::GetItemError::generic(meta.build());
        let raw = HttpResponse::new(status.try_into().expect("status"), body.to_owned().into());
        store.failure("GetItem", &SdkError::service_error(error, raw)).to_string()
    }

    #[test]
    fn failures_name_the_table_and_the_cause() {
        assert_eq!(
            failure(Some("AccessDeniedException"), 400, ""),
            "DynamoDB table marks: access denied: the janitor's role may not call dynamodb:GetItem \
             (AccessDeniedException: no)"
        );
        assert_eq!(
            failure(Some("ResourceNotFoundException"), 400, ""),
            "DynamoDB table marks: GetItem failed: ResourceNotFoundException: no"
        );
        assert_eq!(
            failure(None, 502, "<html>\n  Bad   gateway\n</html>"),
            "DynamoDB table marks: GetItem failed: HTTP 502: <html> Bad gateway </html>"
        );
    }

    #[test]
    fn keys_carry_the_region() {
        assert_eq!(DynamoStore::pk("eu-west-1", "arn:e|arn:r"), "eu-west-1#arn:e|arn:r");
    }
}
