//! `janitor-emulator`: serves a fleet on a local port until SIGINT/SIGTERM.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;

use clap::{value_parser, Arg, CommandFactory, FromArgMatches, Parser};
use emulator::{generator_flags, generator_spec, Emulator, Faults, Fleet, RateLimit, ServerOptions};

// Besides these options, each service whose count the `generated:` spec does not give has its own count flag (e.g.
// `--redshift-integrations N`), added by `parse_from` from the library's registrations.
/// A local AWS DMS + RDS + Redshift + Glue (with STS and Organizations for member accounts, and Alibaba Cloud DTS)
/// control plane for testing the janitor.
#[derive(Debug, Parser)]
#[command(name = "janitor-emulator", version)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Fleet JSON file, the word `sample` for the built-in demo fleet, or `generated:<spec>` for a benchmark fleet
    /// (the spec's grammar comes from the library: see `--help`).
    #[arg(long)]
    fleet: String,
    /// Member accounts (100000000001 and on) to copy a `generated:` fleet's resources into (those member accounts
    /// hold: not DTS's), each with its own ARNs; an organization lists them (ACTIVE, in OU ou-root-benchmark) and role
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

/// The command line: [`Args`], and the count each generator flag gives (0 when not given), by the flag's long name.
fn parse_from(
    argv: impl IntoIterator<Item = impl Into<OsString> + Clone>,
) -> Result<(Args, BTreeMap<&'static str, usize>), clap::Error> {
    let flags = generator_flags();
    let fleet_help = format!(
        "Fleet JSON file, the word `sample` for the built-in demo fleet, or `generated:{}` for a benchmark fleet",
        generator_spec()
    );
    let command = flags.iter().fold(Args::command().mut_arg("fleet", |a| a.help(fleet_help)), |command, flag| {
        command.arg(
            Arg::new(flag.long)
                .long(flag.long)
                .value_name("N")
                .value_parser(value_parser!(usize))
                .default_value("0")
                .help(flag.help),
        )
    });
    let matches = command.try_get_matches_from(argv)?;
    let args = Args::from_arg_matches(&matches)?;
    let counts = flags.iter().map(|f| (f.long, matches.get_one::<usize>(f.long).copied().unwrap_or(0))).collect();
    Ok((args, counts))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (args, counts) = match parse_from(std::env::args_os()) {
        Ok(parsed) => parsed,
        Err(e) => e.exit(),
    };
    if (counts.values().any(|n| *n > 0) || args.member_accounts > 0) && !args.fleet.starts_with("generated:") {
        let flags: Vec<String> = counts.keys().map(|f| format!("--{f}")).collect();
        eprintln!("janitor-emulator: {} and --member-accounts need --fleet generated:...", flags.join(", "));
        return ExitCode::from(2);
    }
    let fleet = if args.fleet == "sample" {
        Fleet::sample()
    } else if let Some(spec) = args.fleet.strip_prefix("generated:") {
        match Fleet::from_generator(spec, &counts) {
            Some(fleet) => fleet.with_generated_members(args.member_accounts),
            None => {
                eprintln!("janitor-emulator: --fleet generated:{spec} is not {}", generator_spec());
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
        let (args, _) = parse_from(["janitor-emulator", "--fleet", "sample", "--clock-offset", "-10800"]).unwrap();
        assert_eq!((args.clock_offset, args.max_calls), (-10_800, 100_000));
    }

    #[test]
    fn every_generator_flag_of_the_library_is_an_option() {
        let argv = ["janitor-emulator", "--fleet", "generated:1,1,0.5", "--glue-integrations", "4"];
        let (args, counts) = parse_from(argv).unwrap();
        assert_eq!(args.fleet, "generated:1,1,0.5");
        assert_eq!(counts, BTreeMap::from([("glue-integrations", 4), ("redshift-integrations", 0)]));
        let (_, counts) =
            parse_from(["janitor-emulator", "--fleet", "sample", "--redshift-integrations", "2"]).unwrap();
        assert_eq!(counts["redshift-integrations"], 2);
        assert!(parse_from(["janitor-emulator", "--fleet", "sample", "--glue-integrations", "x"]).is_err());
        assert!(parse_from(["janitor-emulator", "--fleet", "sample", "--dms-connections", "1"]).is_err());
        let help = parse_from(["janitor-emulator", "--help"]).unwrap_err().to_string();
        assert!(
            help.contains("--glue-integrations <N>") && help.contains("generated:CONNECTIONS,INTEGRATIONS,STALE_SHARE")
        );
    }

    #[test]
    fn generated_fleets_get_the_counted_resources_and_member_accounts() {
        let argv = ["janitor-emulator", "--fleet", "generated:10,6,0.5", "--redshift-integrations", "2"];
        let (args, mut counts) =
            parse_from(argv.into_iter().chain(["--glue-integrations", "5", "--member-accounts", "3"])).unwrap();
        let spec = args.fleet.strip_prefix("generated:").unwrap();
        let fleet = Fleet::from_generator(spec, &counts).unwrap().with_generated_members(args.member_accounts);
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
        assert!(member.glue_integrations.iter().all(|i| i.integration_arn.contains(":100000000003:")));
        assert_eq!(fleet.glue_integrations.iter().filter(|i| i.status == "FAILED").count(), 2, "the spec's share");
        assert_eq!(fleet.organization.map(|o| o.accounts.len()), Some(4));
        assert_eq!(fleet.sts.member_role.as_deref(), Some(emulator::GENERATED_MEMBER_ROLE));
        counts.clear();
        let alone = Fleet::from_generator(spec, &counts).unwrap();
        assert!(alone.redshift_integrations.is_empty() && alone.glue_integrations.is_empty(), "none unless asked");
    }
}
