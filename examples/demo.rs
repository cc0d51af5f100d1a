//! The janitor on its embedded default: starts the project's emulator in-process with a sample fleet in two
//! regions, then runs a dry-run sweep and a deleting sweep through the real code path (official SDK clients over
//! HTTP), printing what was kept, what was deleted and why.
//!
//! Run it with `cargo run --example demo` (add `-- --json` for the full JSON reports).

use aws_config::{BehaviorVersion, Region};
use aws_sdk_databasemigration::config::Credentials;
use emulator::{Emulator, Fleet, Integration, IntegrationError};
use replication_janitor::config::Settings;
use replication_janitor::engine::calls::RetryPolicy;
use replication_janitor::entry::startup;
use std::collections::BTreeMap;
use std::time::Duration;

/// Long enough to show a stale resource marked, then waiting out its grace, short enough for a demo.
const DEMO_GRACE: &str = "2s";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let json = std::env::args().any(|a| a == "--json");
    let emulator = Emulator::start(with_glue(Fleet::sample())).await?;
    let state = tempfile::tempdir()?;
    let state_file = state.path().join("first-seen.json");
    println!(
        "emulator with the sample fleet at {} (DMS, RDS, Redshift and Glue; us-east-1 and eu-west-1)\n",
        emulator.url()
    );

    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(emulator.url())
        .credentials_provider(Credentials::new("AKIDDEMO", "demo-secret", None, None, "demo"))
        .load()
        .await;
    let settings = |dry_run: &str| {
        let vars = [
            ("JANITOR_DRY_RUN", dry_run.to_owned()),
            ("JANITOR_REGIONS", "us-east-1,eu-west-1".to_owned()),
            ("JANITOR_PROVIDERS", "dms,rds,redshift,glue".to_owned()),
            ("JANITOR_DMS_GRACE", DEMO_GRACE.to_owned()),
            ("JANITOR_RDS_GRACE", DEMO_GRACE.to_owned()),
            ("JANITOR_REDSHIFT_GRACE", DEMO_GRACE.to_owned()),
            ("JANITOR_GLUE_GRACE", DEMO_GRACE.to_owned()),
            ("JANITOR_STATE_FILE", state_file.display().to_string()),
        ];
        Settings::parse(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
    };

    for (step, dry_run) in [("1. dry run (the default)", "true"), ("2. deleting run (JANITOR_DRY_RUN=false)", "false")]
    {
        if dry_run == "false" {
            println!(
                "... waiting {DEMO_GRACE}: the dry run marked each stale resource as first seen; now each has been seen \
                 stale for its provider's grace (JANITOR_DMS_GRACE, JANITOR_RDS_GRACE, JANITOR_REDSHIFT_GRACE, \
                 JANITOR_GLUE_GRACE)\n"
            );
            tokio::time::sleep(Duration::from_millis(2_100)).await;
        }
        emulator.clear_calls();
        let settings = settings(dry_run)?;
        let retry = RetryPolicy::new(settings.max_attempts);
        let janitor = startup::janitor_with(&sdk, settings, None, retry).await?;
        let report = janitor.sweep(&janitor.configured_request("demo")).await;
        println!("== {step}");
        if json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", report.to_table());
        }
        let deletes: Vec<String> = emulator
            .calls()
            .into_iter()
            .filter(|c| c.operation.starts_with("Delete"))
            .map(|c| format!("{} {}", c.operation, c.target.unwrap_or_default()))
            .collect();
        println!("delete calls the emulator received: {}", deletes.len());
        for call in deletes {
            println!("  {call}");
        }
        println!();
    }
    println!(
        "left in the fleet: {} connections, {} RDS integrations, {} Redshift integrations, {} Glue integrations",
        emulator.fleet().connections.len(),
        emulator.fleet().integrations.len(),
        emulator.fleet().redshift_integrations.len(),
        emulator.fleet().glue_integrations.len()
    );
    Ok(())
}

/// The sample fleet and a few AWS Glue zero-ETL integrations (from SaaS applications into a data lake): one failed
/// for good, one that needs a person, one failed but protected by its tag, and a healthy one in eu-west-1.
fn with_glue(mut fleet: Fleet) -> Fleet {
    let glue = |region: &str, n: u64, name: &str, status: &str| {
        let mut integration = Integration::glue(region, n);
        integration.integration_name = Some(name.to_owned());
        integration.status = status.to_owned();
        integration
    };
    let mut failed = glue("us-east-1", 1, "salesforce-to-lake", "FAILED");
    failed.errors = vec![IntegrationError {
        error_code: "SourceAccessDenied".to_owned(),
        error_message: Some("The connection's credentials were revoked".to_owned()),
    }];
    let mut protected = glue("us-east-1", 3, "servicenow-to-lake", "FAILED");
    protected.tags = BTreeMap::from([("janitor:protect".to_owned(), "audit".to_owned())]);
    fleet.glue_integrations.extend([
        failed,
        glue("us-east-1", 2, "zendesk-to-lake", "NEEDS_ATTENTION"),
        protected,
        glue("eu-west-1", 4, "sap-to-lake", "ACTIVE"),
    ]);
    fleet
}
