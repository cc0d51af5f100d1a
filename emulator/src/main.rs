//! `janitor-emulator`: serves a fleet on a local port until SIGINT/SIGTERM.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use emulator::{Emulator, Faults, Fleet, RateLimit, ServerOptions};

/// A local AWS DMS + RDS + Redshift + Glue (with STS and Organizations for member accounts, and Alibaba Cloud DTS)
/// control plane for testing the janitor.
#[derive(Debug, Parser)]
#[command(name = "janitor-emulator", version)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Fleet JSON file, the word `sample` for the built-in demo fleet, or
    /// `generated:CONNECTIONS,INTEGRATIONS,STALE_SHARE[,REGION...]` for a benchmark fleet.
    #[arg(long)]
    fleet: String,
    /// Redshift-managed integrations to add to a `generated:` fleet, spread and failed like its RDS integrations.
    #[arg(long, default_value_t = 0)]
    redshift_integrations: usize,
    /// Glue zero-ETL integrations to add to a `generated:` fleet, spread and failed like its RDS integrations.
    #[arg(long, default_value_t = 0)]
    glue_integrations: usize,
    /// Member accounts (100000000001 and on) to copy a `generated:` fleet's DMS, RDS, Redshift and Glue resources into,
    /// each with its own ARNs; an organization lists them (ACTIVE, in OU ou-root-benchmark) and role
    /// ReplicationJanitorMember can be assumed in each.
    #[arg(long, default_value_t = 0)]
    member_accounts: u32,
    /// Delay before answering each service call.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Probability (0..=1) of throttling a call.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    throttle_rate: f64,
    /// Probability (0..=1) of a 503 answer.
    #[arg(long, default_value_t = 0.0, value_parser = probability)]
    error_rate: f64,
    /// Server-side rate limit of each service in each account and region: PER_SECOND[/BURST] (burst defaults to
    /// PER_SECOND, at least 1).
    #[arg(long, value_parser = rate_limit)]
    rate_limit: Option<RateLimit>,
    /// Seed of the fault randomness.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Seconds (negative: behind) to add to the real time in service answers' Date header, to test clients'
    /// clock-skew handling; settable later with PUT /_admin/clock.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    clock_offset: i64,
    /// The most calls the call log keeps (GET /_admin/calls); older ones are dropped and counted in its
    /// x-calls-dropped header.
    #[arg(long, default_value_t = ServerOptions::default().max_calls)]
    max_calls: usize,
}

fn probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("{s:?} is not a probability between 0 and 1")),
    }
}

fn rate_limit(s: &str) -> Result<RateLimit, String> {
    let (rate, burst) = match s.split_once('/') {
        Some((rate, burst)) => (rate, Some(burst)),
        None => (s, None),
    };
    let per_second = match rate.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => r,
        _ => return Err(format!("{rate:?} is not a positive number of calls per second")),
    };
    let burst = match burst {
        None => per_second.ceil().clamp(1.0, f64::from(u32::MAX)) as u32,
        Some(b) => match b.parse::<u32>() {
            Ok(b) if b > 0 => b,
            _ => return Err(format!("{b:?} is not a positive burst size")),
        },
    };
    Ok(RateLimit { per_second, burst })
}

/// What the `generated:` fleet gets besides its spec.
#[derive(Debug, Clone, Copy, Default)]
struct Extras {
    redshift_integrations: usize,
    glue_integrations: usize,
    member_accounts: u32,
}

/// Reads `CONNECTIONS,INTEGRATIONS,STALE_SHARE[,REGION...]`, adding the Redshift and Glue integrations `extras` asks
/// for, and copies the whole into its member accounts.
fn generated(spec: &str, extras: Extras) -> Option<Fleet> {
    let mut parts = spec.split(',');
    let connections = parts.next()?.trim().parse().ok()?;
    let integrations = parts.next()?.trim().parse().ok()?;
    let share: f64 = parts.next()?.trim().parse().ok().filter(|s| (0.0..=1.0).contains(s))?;
    let regions: Vec<&str> = parts.map(str::trim).filter(|r| !r.is_empty()).collect();
    let fleet = Fleet {
        redshift_integrations: Fleet::generated_redshift_integrations(extras.redshift_integrations, share, &regions),
        glue_integrations: Fleet::generated_glue_integrations(extras.glue_integrations, share, &regions),
        ..Fleet::generated(connections, integrations, share, &regions)
    };
    Some(fleet.with_generated_members(extras.member_accounts))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let extras = Extras {
        redshift_integrations: args.redshift_integrations,
        glue_integrations: args.glue_integrations,
        member_accounts: args.member_accounts,
    };
    if (extras.redshift_integrations > 0 || extras.glue_integrations > 0 || extras.member_accounts > 0)
        && !args.fleet.starts_with("generated:")
    {
        eprintln!(
            "janitor-emulator: --redshift-integrations, --glue-integrations and --member-accounts need --fleet \
             generated:..."
        );
        return ExitCode::from(2);
    }
    let fleet = if args.fleet == "sample" {
        Fleet::sample()
    } else if let Some(spec) = args.fleet.strip_prefix("generated:") {
        match generated(spec, extras) {
            Some(fleet) => fleet,
            None => {
                eprintln!("janitor-emulator: --fleet generated:{spec} is not CONNECTIONS,INTEGRATIONS,STALE_SHARE[,REGION...]");
                return ExitCode::from(2);
            }
        }
    } else {
        match Fleet::load(Path::new(&args.fleet)) {
            Ok(fleet) => fleet,
            Err(e) => {
                eprintln!("janitor-emulator: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let faults = Faults {
        latency_ms: args.latency_ms,
        throttle_rate: args.throttle_rate,
        error_rate: args.error_rate,
        rate_limit: args.rate_limit,
        seed: args.seed,
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let options = ServerOptions { max_calls: args.max_calls, ..ServerOptions::default() };
    let emulator = match Emulator::start_with(addr, fleet, faults, options).await {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("janitor-emulator: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    emulator.set_clock_offset(args.clock_offset);
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "listening on {}", emulator.url()).and_then(|()| stdout.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    if let Err(e) = stop_signal().await {
        eprintln!("janitor-emulator: cannot wait for signals: {e}");
        return ExitCode::FAILURE;
    }
    drop(emulator);
    ExitCode::SUCCESS
}

/// Resolves on the first SIGINT or SIGTERM.
#[cfg(unix)]
async fn stop_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn stop_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_offset_may_be_negative_and_the_call_log_is_bounded_by_default() {
        let args = Args::try_parse_from(["janitor-emulator", "--fleet", "sample", "--clock-offset", "-10800"]).unwrap();
        assert_eq!((args.clock_offset, args.max_calls), (-10_800, 100_000));
    }

    fn extras(redshift_integrations: usize, glue_integrations: usize, member_accounts: u32) -> Extras {
        Extras { redshift_integrations, glue_integrations, member_accounts }
    }

    #[test]
    fn generated_fleets_add_the_redshift_and_glue_integrations_asked_for() {
        let fleet = generated("10,6,0.5,us-east-1,eu-west-1", extras(8, 6, 0)).unwrap();
        assert_eq!((fleet.connections.len(), fleet.integrations.len()), (10, 6));
        let redshift = &fleet.redshift_integrations;
        assert_eq!(redshift.len(), 8);
        assert_eq!(redshift.iter().filter(|i| i.status == "failed").count(), 4, "the spec's stale share");
        assert_eq!(redshift.iter().filter(|i| i.region == "eu-west-1").count(), 4, "the spec's regions");
        let glue = &fleet.glue_integrations;
        assert_eq!(glue.len(), 6);
        assert_eq!(glue.iter().filter(|i| i.status == "FAILED" && !i.errors.is_empty()).count(), 3, "Glue's spelling");
        assert_eq!(glue.iter().filter(|i| i.status == "ACTIVE").count(), 3);
        assert_eq!(glue.iter().filter(|i| i.region == "eu-west-1").count(), 3);
        assert_eq!(fleet.validate().map_err(|e| e.to_string()), Ok(()));
        let plain = generated("10,6,0.5", Extras::default()).unwrap();
        assert!(plain.redshift_integrations.is_empty() && plain.glue_integrations.is_empty(), "none unless asked");
        assert!(generated("10,x,0.5", extras(8, 8, 0)).is_none());
        let args =
            Args::try_parse_from(["janitor-emulator", "--fleet", "generated:1,1,0.5", "--glue-integrations", "4"]);
        assert_eq!(args.map(|a| a.glue_integrations).ok(), Some(4));
    }

    #[test]
    fn generated_fleets_are_copied_into_the_member_accounts_asked_for() {
        let alone = generated("10,6,0.5", extras(2, 2, 0)).unwrap();
        assert!(alone.member_accounts.is_empty() && alone.organization.is_none(), "none unless asked");
        let fleet = generated("10,6,0.5", extras(2, 5, 3)).unwrap();
        assert_eq!(fleet.member_accounts.len(), 3);
        let member = &fleet.member_accounts["100000000003"];
        assert_eq!(
            (
                member.connections.len(),
                member.integrations.len(),
                member.redshift_integrations.len(),
                member.glue_integrations.len()
            ),
            (10, 6, 2, 5)
        );
        assert!(member.redshift_integrations.iter().all(|i| i.integration_arn.contains(":100000000003:")));
        assert!(member.glue_integrations.iter().all(|i| i.integration_arn.contains(":100000000003:")));
        assert_eq!(fleet.organization.map(|o| o.accounts.len()), Some(4));
        assert_eq!(fleet.sts.member_role.as_deref(), Some(emulator::GENERATED_MEMBER_ROLE));
    }
}
