//! replication-janitor: deletes failed replication resources (AWS DMS connections, RDS, Redshift-managed and Glue zero-ETL
//! integrations, Alibaba Cloud DTS jobs) under a policy that is dry run by default, with a report, metrics, an
//! archive and a notification for every run.
//!
//! The house, from the top floor down (each layer imports only layers below it):
//! - [`entry`]: the faces: the Lambda handler, the CLI, and `startup`, which builds everything once per process;
//! - [`app`]: the janitor: a payload or a command in, a run's report out (triggers, organization accounts);
//! - [`outputs`]: where a report goes: EMF metrics, the S3 archive, the chat notification;
//! - [`config`]: the environment read into settings;
//! - [`engine`]: the sweep (leases, scans, judgements, deletes), the policy, paced calls and the report;
//! - [`providers`]: the port every control plane implements, the registry that lists them, one module each;
//! - [`state`]: the port for first-seen marks and leases, and its stores (a file, a DynamoDB table);
//! - [`aws`]: what every AWS SDK client shares (time limits, retries, the clock watch);
//! - [`domain`]: the vocabulary: resources, providers, durations, patterns, safe text, clocks, settings' words.

pub mod app;
pub mod aws;
pub mod config;
pub mod domain;
pub mod engine;
pub mod entry;
pub mod outputs;
pub mod providers;
pub mod state;
