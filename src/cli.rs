//! The CLI face: `replication-janitor sweep` with the same settings as the Lambda (flags override the environment)
//! and the same sweep code; the JSON report goes to stdout.

use crate::config::{Settings, SETTINGS};
use crate::state::FileStore;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "replication-janitor",
    version,
    about = "Deletes failed AWS DMS connections and RDS zero-ETL integrations under a dry-run-by-default policy",
    long_about = "Deletes failed AWS DMS connections and RDS zero-ETL integrations under a dry-run-by-default policy.\n\n\
        With AWS_LAMBDA_RUNTIME_API set it serves the Lambda Runtime API; otherwise it is this CLI. Both read the same \
        settings from the environment; flags override them. AWS credentials, region and endpoints come from the usual \
        AWS configuration (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, ...).",
    after_help = settings_help()
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sweep once and print the report (exit 1 if a scan or delete failed, 2 on invalid settings)
    Sweep(SweepArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Json,
    Table,
}

#[derive(Debug, Args)]
struct SweepArgs {
    /// Delete what is stale (JANITOR_DRY_RUN=false); without it JANITOR_DRY_RUN decides, and it defaults to true
    #[arg(long, conflicts_with = "dry_run")]
    delete: bool,
    /// Only report (JANITOR_DRY_RUN=true), whatever the environment says
    #[arg(long)]
    dry_run: bool,
    /// Region to sweep; repeat or comma-separate for several
    #[arg(long = "region", value_name = "REGION", env = "JANITOR_REGIONS", value_delimiter = ',')]
    regions: Vec<String>,
    /// Control planes to sweep: dms, rds
    #[arg(long, env = "JANITOR_PROVIDERS")]
    providers: Option<String>,
    /// Integrations: minimum age since CreateTime (24h)
    #[arg(long, env = "JANITOR_MIN_AGE")]
    min_age: Option<String>,
    /// DMS connections: minimum time since first seen failed (1h)
    #[arg(long, env = "JANITOR_DMS_GRACE")]
    dms_grace: Option<String>,
    /// Integration statuses to delete: failed, needs_attention
    #[arg(long, env = "JANITOR_RDS_STATUSES")]
    rds_statuses: Option<String>,
    /// Tag key that protects a resource (any value)
    #[arg(long, env = "JANITOR_PROTECT_TAG")]
    protect_tag: Option<String>,
    /// Only sweep resources whose name or ARN matches one of these globs
    #[arg(long, env = "JANITOR_INCLUDE")]
    include: Option<String>,
    /// Never delete resources whose name or ARN matches one of these globs
    #[arg(long, env = "JANITOR_EXCLUDE")]
    exclude: Option<String>,
    /// Deletions per run (100)
    #[arg(long, env = "JANITOR_MAX_DELETES")]
    max_deletes: Option<String>,
    /// Delete nothing for a provider whose stale share is above this percentage (off)
    #[arg(long, env = "JANITOR_ABORT_ABOVE_PERCENT")]
    abort_above_percent: Option<String>,
    /// Deletes in flight (8)
    #[arg(long, env = "JANITOR_CONCURRENCY")]
    concurrency: Option<String>,
    /// CloudWatch EMF namespace (ReplicationJanitor)
    #[arg(long, env = "JANITOR_METRICS_NAMESPACE")]
    metrics_namespace: Option<String>,
    /// File of first-seen marks for DMS connections (a per-user state path)
    #[arg(long, env = "JANITOR_STATE_FILE")]
    state_file: Option<String>,
    /// Attempts per AWS call (8)
    #[arg(long, env = "JANITOR_MAX_ATTEMPTS")]
    max_attempts: Option<String>,
    /// How to print the report
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Also print the CloudWatch EMF metric lines, to stderr
    #[arg(long)]
    emf: bool,
}

fn settings_help() -> String {
    let mut help = String::from("Settings (environment variable, default, meaning):\n");
    for setting in SETTINGS {
        help.push_str(&format!("  {:<28} {:<12} {}\n", setting.variable, setting.default, setting.meaning));
    }
    help
}

impl SweepArgs {
    /// The flags as settings variables, so they go through the same parser and errors as the environment.
    fn overrides(&self) -> HashMap<&'static str, String> {
        let mut overrides = HashMap::new();
        if self.delete {
            overrides.insert("JANITOR_DRY_RUN", "false".to_owned());
        }
        if self.dry_run {
            overrides.insert("JANITOR_DRY_RUN", "true".to_owned());
        }
        if !self.regions.is_empty() {
            overrides.insert("JANITOR_REGIONS", self.regions.join(","));
        }
        let flags = [
            ("JANITOR_PROVIDERS", &self.providers),
            ("JANITOR_MIN_AGE", &self.min_age),
            ("JANITOR_DMS_GRACE", &self.dms_grace),
            ("JANITOR_RDS_STATUSES", &self.rds_statuses),
            ("JANITOR_PROTECT_TAG", &self.protect_tag),
            ("JANITOR_INCLUDE", &self.include),
            ("JANITOR_EXCLUDE", &self.exclude),
            ("JANITOR_MAX_DELETES", &self.max_deletes),
            ("JANITOR_ABORT_ABOVE_PERCENT", &self.abort_above_percent),
            ("JANITOR_CONCURRENCY", &self.concurrency),
            ("JANITOR_METRICS_NAMESPACE", &self.metrics_namespace),
            ("JANITOR_STATE_FILE", &self.state_file),
            ("JANITOR_MAX_ATTEMPTS", &self.max_attempts),
        ];
        for (variable, value) in flags {
            if let Some(value) = value {
                overrides.insert(variable, value.clone());
            }
        }
        overrides
    }
}

/// Streams the report to stdout rather than building it as one string first: a large sweep's report is big.
fn print_json(report: &crate::report::Report) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, report)?;
    writeln!(out)?;
    out.flush()
}

/// Runs the CLI; the exit code says whether the run was clean.
pub async fn run(cli: Cli) -> ExitCode {
    let Command::Sweep(args) = cli.command;
    let overrides = args.overrides();
    let settings = match Settings::parse(|name| overrides.get(name).cloned().or_else(|| std::env::var(name).ok())) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("replication-janitor: {error}");
            return ExitCode::from(2);
        }
    };
    let default_state = FileStore::default_path(|name| std::env::var(name).ok());
    let janitor = match crate::startup::janitor(settings, default_state).await {
        Ok(janitor) => janitor,
        Err(error) => {
            eprintln!("replication-janitor: {error}");
            return ExitCode::from(2);
        }
    };
    let report = janitor.sweep(&janitor.configured_request("cli")).await;
    if args.emf {
        for line in janitor.metric_lines(&report) {
            eprintln!("{line}");
        }
    }
    let printed = match args.format {
        Format::Json => print_json(&report),
        Format::Table => {
            print!("{}", report.to_table());
            Ok(())
        }
    };
    if let Err(error) = printed {
        eprintln!("replication-janitor: could not print the report: {error}");
        return ExitCode::FAILURE;
    }
    if report.has_failures() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
