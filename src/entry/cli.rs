//! The CLI face: `replication-janitor sweep` with the same settings as the Lambda (flags override the environment)
//! and the same sweep code; the JSON report goes to stdout.

use crate::config::{all_settings, Settings};
use crate::engine::report::Report;
use crate::engine::request::SweepRequest;
use crate::providers::registry;
use crate::state::FileStore;
use clap::{Arg, ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::collections::HashMap;
use std::io::{self, ErrorKind, Write};
use std::process::ExitCode;
use std::time::SystemTime;

#[derive(Debug, Parser)]
#[command(
    name = "replication-janitor",
    version,
    about = "Deletes failed replication resources (AWS DMS connections, RDS, Redshift and Glue zero-ETL integrations, \
        Alibaba Cloud DTS jobs) under a dry-run-by-default policy",
    long_about = "Deletes failed replication resources (AWS DMS connections, RDS, Redshift and Glue zero-ETL integrations, \
        Alibaba Cloud DTS jobs) under a dry-run-by-default policy.\n\n\
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
    /// Sweep once and print the report (exit 0 clean, 1 if a scan, delete or output failed, 2 on invalid settings,
    /// 3 if the first-seen store was unusable or missing under a grace, 4 if another run held every scope)
    Sweep(Box<SweepArgs>),
    /// Render a report for people: `report --html <report.json>` writes one self-contained HTML page (exit 2 if the
    /// file is not a report)
    Report(crate::entry::render::ReportArgs),
    /// Re-make what an archived report says a run deleted, from the definitions it kept: prints each call (and the
    /// AWS CLI line) unless --apply (exit 0 when every resource was or would be restored, 1 if any was refused or
    /// failed, 2 when the report cannot be read)
    Restore(RestoreArgs),
    /// Check this configuration without judging or deleting anything: the settings and where each came from, the
    /// credentials, the first-seen store, the archive and the topic, one scan per provider and region, and a
    /// verdict (exit 0 when it can delete, 1 when it cannot, 2 on invalid settings)
    Check(Box<SweepArgs>),
}

#[derive(Debug, Args)]
struct RestoreArgs {
    /// The report: a file, or s3://<bucket>/<key> of an archived one
    #[arg(long, value_name = "FILE_OR_S3_URI")]
    report: String,
    /// Only this resource (its id or name as the report lists it); repeat for several
    #[arg(long = "resource", value_name = "ID")]
    resources: Vec<String>,
    /// Make the calls; without it restore only says what it would call
    #[arg(long)]
    apply: bool,
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
    /// Regions to sweep, a comma list (JANITOR_REGIONS); --region is the same flag
    #[arg(
        long = "regions",
        visible_alias = "region",
        value_name = "REGIONS",
        env = "JANITOR_REGIONS",
        value_delimiter = ','
    )]
    regions: Vec<String>,
    /// Control planes to sweep, a comma list of provider names (see the settings below)
    #[arg(long, env = "JANITOR_PROVIDERS")]
    providers: Option<String>,
    /// Minimum age since creation, for resources that keep one (24h)
    #[arg(long, env = "JANITOR_MIN_AGE")]
    min_age: Option<String>,
    #[command(flatten)]
    provider_flags: ProviderFlags,
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
    /// File of first-seen marks (a per-user state path)
    #[arg(long, env = "JANITOR_STATE_FILE")]
    state_file: Option<String>,
    /// Attempts per AWS call (8)
    #[arg(long, env = "JANITOR_MAX_ATTEMPTS")]
    max_attempts: Option<String>,
    /// How long the sweep may take, e.g. 10m (no limit); it stops waiting JANITOR_DEADLINE_MARGIN before the end
    #[arg(long, value_name = "DURATION", env = "JANITOR_TIME_LIMIT")]
    time_limit: Option<String>,
    /// How to print the report
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Also print the CloudWatch EMF metric lines, to stderr
    #[arg(long)]
    emf: bool,
}

/// The flags of the providers' own settings, as their specs declare them (`--dms-grace`, `--rds-statuses`, ...).
#[derive(Debug, Default)]
struct ProviderFlags {
    values: HashMap<&'static str, String>,
}

impl FromArgMatches for ProviderFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = ProviderFlags::default();
        flags.update_from_arg_matches(matches)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        for setting in registry::provider_settings() {
            if let Some(flag) = setting.flag {
                if let Some(value) = matches.get_one::<String>(flag) {
                    self.values.insert(setting.variable, value.clone());
                }
            }
        }
        Ok(())
    }
}

impl Args for ProviderFlags {
    fn augment_args(command: clap::Command) -> clap::Command {
        registry::provider_settings().fold(command, |command, setting| match setting.flag {
            Some(flag) => command.arg(
                Arg::new(flag)
                    .long(flag)
                    .env(setting.variable)
                    .help(format!("{} ({})", setting.meaning, setting.default)),
            ),
            None => command,
        })
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        ProviderFlags::augment_args(command)
    }
}

fn settings_help() -> String {
    // Columns as wide as their widest entry, so every meaning starts in the same column.
    let variable = all_settings().map(|s| s.variable.len()).max().unwrap_or(0);
    let default = all_settings().map(|s| s.default.chars().count()).max().unwrap_or(0);
    let mut help = String::from("Settings (environment variable, default, meaning):\n");
    for setting in all_settings() {
        help.push_str(&format!(
            "  {:<variable$} {:<default$} {}\n",
            setting.variable, setting.default, setting.meaning
        ));
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
            ("JANITOR_PROTECT_TAG", &self.protect_tag),
            ("JANITOR_INCLUDE", &self.include),
            ("JANITOR_EXCLUDE", &self.exclude),
            ("JANITOR_MAX_DELETES", &self.max_deletes),
            ("JANITOR_ABORT_ABOVE_PERCENT", &self.abort_above_percent),
            ("JANITOR_CONCURRENCY", &self.concurrency),
            ("JANITOR_METRICS_NAMESPACE", &self.metrics_namespace),
            ("JANITOR_STATE_FILE", &self.state_file),
            ("JANITOR_MAX_ATTEMPTS", &self.max_attempts),
            ("JANITOR_TIME_LIMIT", &self.time_limit),
        ];
        for (variable, value) in flags {
            if let Some(value) = value {
                overrides.insert(variable, value.clone());
            }
        }
        overrides.extend(self.provider_flags.values.iter().map(|(k, v)| (*k, v.clone())));
        overrides
    }
}

/// Streams the report to stdout rather than building it as one string first: a large sweep's report is big.
fn print_json(report: &Report) -> io::Result<()> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, report)?;
    writeln!(out)?;
    out.flush()
}

fn print_table(report: &Report) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(report.to_table().as_bytes())?;
    out.flush()
}

fn print_metrics(lines: &[String]) -> io::Result<()> {
    let mut err = io::stderr().lock();
    for line in lines {
        writeln!(err, "{line}")?;
    }
    err.flush()
}

/// Tells the user on stderr; if even stderr is gone there is no one to tell, which is no reason to panic.
fn complain(message: &str) {
    let _ = writeln!(io::stderr(), "replication-janitor: {message}");
}

/// Whether some output failed for a reason worth saying. A reader that went away (`| head -1`) is the user's choice,
/// not a failure: the output just ends there.
fn output_failed(what: &str, printed: io::Result<()>) -> bool {
    match printed {
        Ok(()) => false,
        Err(error) if error.kind() == ErrorKind::BrokenPipe => false,
        Err(error) => {
            complain(&format!("could not print the {what}: {error}"));
            true
        }
    }
}

/// Runs the CLI; the exit code says whether the run was clean.
pub async fn run(cli: Cli) -> ExitCode {
    let args = match cli.command {
        Command::Sweep(args) => args,
        Command::Restore(args) => return restore(args).await,
        Command::Check(args) => return check(&args).await,
        Command::Report(args) => return crate::entry::render::run(&args),
    };
    let started = SystemTime::now();
    let janitor = match configured(&args.overrides()).await {
        Ok(janitor) => janitor,
        Err(code) => return code,
    };
    let deadline = janitor.settings().time_limit.and_then(|limit| started.checked_add(limit));
    let settings = janitor.settings();
    let request = SweepRequest::configured(&settings.providers, settings.dry_run, "cli", deadline);
    let report = janitor.sweep(&request).await;
    let metrics_unprinted = args.emf && output_failed("metrics", print_metrics(&janitor.metric_lines(&report)));
    let printed = match args.format {
        Format::Json => print_json(&report),
        Format::Table => print_table(&report),
    };
    let report_unprinted = output_failed("report", printed);
    exit_code(&report, metrics_unprinted || report_unprinted)
}

/// The janitor the settings (flags over the environment) describe, built once; an invalid setting is said in one line
/// and exits 2.
async fn configured(overrides: &HashMap<&'static str, String>) -> Result<crate::app::janitor::Janitor, ExitCode> {
    let settings = Settings::parse(|name| overrides.get(name).cloned().or_else(|| std::env::var(name).ok()));
    let default_state = FileStore::default_path(|name| std::env::var(name).ok());
    let built = match settings {
        Ok(settings) => crate::entry::startup::janitor(settings, default_state).await.map_err(|e| e.to_string()),
        Err(error) => Err(error.to_string()),
    };
    built.map_err(|error| {
        complain(&error);
        ExitCode::from(exit::INVALID_SETTINGS)
    })
}

/// `check`: the same settings as `sweep`, then one round of read-only calls, then the verdict.
async fn check(args: &SweepArgs) -> ExitCode {
    use crate::app::check::{credentials_finding, settings_with_sources, Checked};
    let overrides = args.overrides();
    let janitor = match configured(&overrides).await {
        Ok(janitor) => janitor,
        Err(code) => return code,
    };
    let mut findings = Vec::new();
    if janitor.settings().needs_aws() {
        findings.push(credentials_finding(&crate::aws::load_sdk_config().await).await);
    }
    findings.extend(janitor.check().await);
    let settings = settings_with_sources(|name| overrides.get(name).cloned(), |name| std::env::var(name).ok());
    let checked = Checked { settings, findings };
    let printed = writeln!(io::stdout().lock(), "{checked}");
    let unprinted = output_failed("check's answer", printed);
    if checked.can_delete() && !unprinted {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `restore`: the report, the credentials' account, then each resource's plan (and, with --apply, its call).
async fn restore(args: RestoreArgs) -> ExitCode {
    use crate::app::restore::{caller_account, read_report, restore, RestoreRequest};
    let request = RestoreRequest { report: args.report, resources: args.resources, apply: args.apply };
    let config = crate::aws::load_sdk_config().await;
    let restored = async {
        let report = read_report(&request, &config).await?;
        let caller = caller_account(&config).await?;
        let recreator = crate::providers::recreate::SdkRecreator::new(config.clone());
        restore(&request, &report, &caller, &recreator).await
    };
    let answers = match restored.await {
        Ok(answers) => answers,
        Err(error) => {
            complain(&error.to_string());
            return ExitCode::from(exit::INVALID_SETTINGS);
        }
    };
    let mut out = io::stdout().lock();
    let mut printed = Ok(());
    for answer in &answers {
        printed = printed.and_then(|()| writeln!(out, "{answer}"));
    }
    let unprinted = output_failed("restore's answer", printed.and_then(|()| out.flush()));
    if unprinted || answers.iter().any(|a| !a.is_success()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Exit statuses a script can act on, most urgent first.
pub mod exit {
    /// Invalid settings: nothing ran.
    pub const INVALID_SETTINGS: u8 = 2;
    /// The first-seen store could not be read or written, or none is configured: nothing under a grace can ever be
    /// deleted until it is mended, so cron must not see success.
    pub const STORE_UNUSABLE: u8 = 3;
    /// Another run held every scope this one would sweep: it swept nothing (try again later).
    pub const ALL_BUSY: u8 = 4;
}

fn exit_code(report: &Report, output_failed: bool) -> ExitCode {
    let never = report.notes.iter().find(|n| n.starts_with(crate::engine::sweep::NEVER_DELETES));
    if report.store_unusable() {
        complain("the first-seen store is unusable (see stateError in the report): nothing under a grace is deleted");
        ExitCode::from(exit::STORE_UNUSABLE)
    } else if let Some(never) = never {
        complain(never);
        ExitCode::from(exit::STORE_UNUSABLE)
    } else if report.all_busy() {
        complain("another run holds every scope this run would sweep (see busy in the report): nothing was swept");
        ExitCode::from(exit::ALL_BUSY)
    } else if output_failed || report.has_failures() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_meaning_in_the_settings_help_starts_in_one_column() {
        let help = settings_help();
        let starts: std::collections::BTreeSet<usize> = help
            .lines()
            .skip(1)
            .zip(all_settings())
            .map(|(line, setting)| line.find(setting.meaning).expect("the meaning is on its line"))
            .collect();
        assert_eq!(starts.len(), 1, "{help}");
    }
}
