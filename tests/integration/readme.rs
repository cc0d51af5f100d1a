//! The README and the template are the user's manual: the README must document every setting the janitor reads,
//! the template must pass only settings that exist, and its dashboard must plot only metrics the janitor emits.

use crate::common::{dashboard_body, dashboard_widgets};
use replication_janitor::config::all_settings;
use replication_janitor::domain::resource::Provider;
use replication_janitor::engine::report::{Counts, Report, Sweep};
use replication_janitor::outputs::metrics::emf_lines;
use serde_json::Value;
use std::collections::BTreeSet;

#[test]
fn the_readme_documents_every_setting() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    for setting in all_settings() {
        assert!(readme.contains(&format!("`{}`", setting.variable)), "{} is not in the README", setting.variable);
    }
}

#[test]
fn the_readme_lists_every_provider_as_its_spec_says() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let table = replication_janitor::providers::registry::readme_table();
    assert!(readme.contains(&table), "README.md's providers table must read exactly:\n{table}");
}

#[test]
fn the_template_passes_every_setting_it_exposes_by_its_documented_name() {
    let template = std::fs::read_to_string("template.yaml").expect("template.yaml");
    for line in template.lines().map(str::trim).filter(|l| l.starts_with("JANITOR_")) {
        let variable = line.split(':').next().unwrap_or_default();
        assert!(all_settings().any(|s| s.variable == variable), "template.yaml sets unknown {variable}");
    }
    assert!(template.contains("JANITOR_DRY_RUN: !Ref DryRun"));
    assert!(template.contains("Default: \"true\""), "dry run is the template's default");
}

/// One plotted or emitted metric: namespace, name, and its dimensions as `(name, value)` pairs.
type Metric = (String, String, Vec<(String, String)>);

/// Every metric the janitor emits for a run of every provider, as its EMF lines declare them.
fn emitted(namespace: &str) -> BTreeSet<Metric> {
    let sweep = |provider| Sweep::new(provider, "us-east-1");
    let report = Report {
        dry_run: true,
        trigger: "schedule".to_owned(),
        started_at: String::new(),
        duration_ms: 1,
        notes: Vec::new(),
        totals: Counts::default(),
        sweeps: Provider::all().map(sweep).collect(),
        archive: None,
        account: None,
        accounts: Vec::new(),
        notify_failed: false,
        rechecks: None,
    };
    let mut metrics = BTreeSet::new();
    for line in emf_lines(&report, namespace, 0) {
        let line: Value = serde_json::from_str(&line).expect("an EMF line is JSON");
        for directive in line["_aws"]["CloudWatchMetrics"].as_array().expect("directives") {
            let namespace = directive["Namespace"].as_str().expect("namespace").to_owned();
            for dimensions in directive["Dimensions"].as_array().expect("dimension sets") {
                let dimensions: Vec<(String, String)> = dimensions
                    .as_array()
                    .expect("a dimension set")
                    .iter()
                    .map(|d| {
                        let name = d.as_str().expect("a dimension name");
                        (name.to_owned(), line[name].as_str().expect("a dimension value").to_owned())
                    })
                    .collect();
                for metric in directive["Metrics"].as_array().expect("metrics") {
                    let name = metric["Name"].as_str().expect("a metric name").to_owned();
                    metrics.insert((namespace.clone(), name, dimensions.clone()));
                }
            }
        }
    }
    metrics
}

/// A metric row of a dashboard widget: `[namespace, name, (dimension, value)..., {options}?]`.
fn plotted(row: &Value) -> Metric {
    let mut parts: Vec<&str> = row.as_array().expect("a metric row").iter().filter_map(Value::as_str).collect();
    assert!(parts.len() >= 2 && parts.len().is_multiple_of(2), "a metric row without '.' shorthand: {row}");
    let dimensions = parts.split_off(2).chunks(2).map(|pair| (pair[0].to_owned(), pair[1].to_owned())).collect();
    (parts[0].to_owned(), parts[1].to_owned(), dimensions)
}

#[test]
fn the_dashboard_is_json_and_plots_only_metrics_the_janitor_emits_with_their_dimensions() {
    let template = std::fs::read_to_string("template.yaml").expect("template.yaml");
    assert!(
        template.contains("  MetricsNamespace:\n    Type: String\n    Default: ReplicationJanitor\n"),
        "the namespace parameter's default is the janitor's"
    );
    let body = dashboard_body(|name| match name {
        "MetricsNamespace" => "ReplicationJanitor".to_owned(),
        other => format!("<{other}>"),
    });
    let emitted = emitted("ReplicationJanitor");

    let widgets = dashboard_widgets(&body, "metric");
    let rows: Vec<Metric> = widgets
        .iter()
        .flat_map(|w| w["properties"]["metrics"].as_array().expect("metrics").iter().map(plotted))
        .collect();
    assert!(!rows.is_empty());
    for metric in &rows {
        assert!(emitted.contains(metric), "the dashboard plots {metric:?}, which the janitor does not emit");
    }
    let names: BTreeSet<&str> = rows.iter().map(|(_, name, _)| name.as_str()).collect();
    for wanted in ["Deleted", "WouldDelete", "Failed", "Capped", "Protected", "DurationMs"] {
        assert!(names.contains(wanted), "the dashboard plots {wanted}");
    }
    for provider in Provider::all() {
        let per_provider = rows.iter().filter(|(_, _, d)| d == &[("Provider".to_owned(), provider.to_string())]);
        assert_eq!(per_provider.count(), 5, "{provider}: deleted, would delete, failed, capped and protected");
    }

    let timeout_secs: u64 = template
        .lines()
        .find_map(|l| l.trim().strip_prefix("Timeout: "))
        .and_then(|t| t.parse().ok())
        .expect("the function's Timeout");
    let duration =
        widgets.iter().find(|w| w["properties"]["metrics"][0][1] == "DurationMs").expect("a run duration widget");
    assert_eq!(
        duration["properties"]["annotations"]["horizontal"][0]["value"],
        timeout_secs * 1000,
        "the run duration is drawn against the function's timeout"
    );
}

/// The house's promise: the engine and the vocabulary under it speak to no SDK (the ports do), so they compile
/// without any AWS or HTTP crate in scope.
#[test]
fn the_engine_and_the_domain_name_no_sdk_crate() {
    for dir in ["src/engine", "src/domain"] {
        for entry in std::fs::read_dir(dir).expect("layer folder").flatten() {
            let source = std::fs::read_to_string(entry.path()).expect("source");
            for crate_name in ["aws_sdk_", "aws_smithy", "aws_config", "reqwest", "lambda_runtime"] {
                assert!(!source.contains(crate_name), "{} names {crate_name}", entry.path().display());
            }
        }
    }
}

/// A `rust-version` as cargo reads it: `1.94` is `1.94.0`.
fn rust_version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| p.parse::<u64>().unwrap_or_else(|e| panic!("rust-version {text:?}: {e}")));
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

/// Why `declared` is not the true MSRV of a build whose dependencies declare `needed` (`(name version,
/// rust-version)`; those that declare none are not counted): it must be exactly their highest, as a lower one
/// promises a toolchain that cannot build them and a higher one turns away toolchains that can.
fn msrv_mismatch(declared: &str, needed: &[(String, String)]) -> Option<String> {
    let highest = needed.iter().map(|(_, v)| rust_version(v)).max()?;
    let declared_version = rust_version(declared);
    let at = |version: (u64, u64, u64)| -> Vec<&str> {
        needed.iter().filter(|(_, v)| rust_version(v) == version).map(|(name, _)| name.as_str()).collect()
    };
    if highest > declared_version {
        let above: Vec<String> = needed
            .iter()
            .filter(|(_, v)| rust_version(v) > declared_version)
            .map(|(name, v)| format!("{name} ({v})"))
            .collect();
        return Some(format!(
            "rust-version = \"{declared}\" is below what locked dependencies declare: {}; raise it (and the README's \
             Rust version) or hold them back",
            above.join(", ")
        ));
    }
    (highest < declared_version).then(|| {
        format!(
            "rust-version = \"{declared}\" is above every locked dependency's: the highest, {}.{}.{}, is declared by \
             {}",
            highest.0,
            highest.1,
            highest.2,
            at(highest).join(", ")
        )
    })
}

#[test]
fn the_msrv_check_refuses_a_version_below_or_above_the_highest_a_dependency_declares() {
    let needed = |versions: &[(&str, &str)]| -> Vec<(String, String)> {
        versions.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    };
    let locked = needed(&[("aws-config 1.13.0", "1.94.1"), ("tokio 1.0.0", "1.70"), ("serde 1.0.0", "1.31")]);
    assert_eq!(msrv_mismatch("1.94.1", &locked), None);
    let below = msrv_mismatch("1.94", &locked).expect("1.94 is 1.94.0, below 1.94.1");
    assert!(below.contains("aws-config 1.13.0 (1.94.1)") && !below.contains("tokio"), "{below}");
    let above = msrv_mismatch("1.95", &locked).expect("above");
    assert!(above.ends_with("the highest, 1.94.1, is declared by aws-config 1.13.0"), "{above}");
    assert_eq!(msrv_mismatch("1.70.0", &needed(&[("tokio 1.0.0", "1.70")])), None, "1.70 and 1.70.0 are one version");
}

/// The package's `rust-version` is its true MSRV: exactly the highest `rust-version` that any locked dependency of
/// the Lambda binary declares (normal and build dependencies, transitively, for the Lambda package's target
/// x86_64-unknown-linux-gnu, as `cargo metadata --locked` resolves them), and the README says it. A Rust test,
/// not a script: `cargo test` runs it where a dependency is bumped, and CI's `cargo test --workspace` with it. It
/// checks the claim; building on exactly that toolchain needs a toolchain download, which CI cannot make.
#[test]
fn the_declared_rust_version_is_the_highest_a_locked_dependency_of_the_binary_declares() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--filter-platform", "x86_64-unknown-linux-gnu"])
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let package = |id: &str| packages.iter().find(|p| p["id"] == id).unwrap_or_else(|| panic!("package {id}"));
    let janitor = packages.iter().find(|p| p["name"] == "replication-janitor").expect("the janitor's package");
    let declared = janitor["rust_version"].as_str().expect("the package declares a rust-version").to_owned();

    let nodes = metadata["resolve"]["nodes"].as_array().expect("the resolve graph");
    let node = |id: &str| nodes.iter().find(|n| n["id"] == id).unwrap_or_else(|| panic!("node {id}"));
    let mut seen = BTreeSet::new();
    let mut stack = vec![janitor["id"].as_str().expect("an id").to_owned()];
    while let Some(id) = stack.pop() {
        if !seen.insert(id.clone()) {
            continue;
        }
        for dep in node(&id)["deps"].as_array().expect("deps") {
            // `kind` null is a normal dependency; dev-dependencies do not build the binary.
            let builds = dep["dep_kinds"].as_array().expect("dep_kinds").iter().any(|k| k["kind"] != "dev");
            if builds {
                stack.push(dep["pkg"].as_str().expect("a package id").to_owned());
            }
        }
    }
    seen.remove(janitor["id"].as_str().expect("an id"));
    let needed: Vec<(String, String)> = seen
        .iter()
        .map(|id| package(id))
        .filter_map(|p| {
            Some((
                format!("{} {}", p["name"].as_str()?, p["version"].as_str()?),
                p["rust_version"].as_str()?.to_owned(),
            ))
        })
        .collect();
    assert!(needed.len() > 100, "the binary's dependencies: {}", needed.len());
    assert!(needed.iter().any(|(name, _)| name.starts_with("aws-config ")), "aws-config builds the binary");
    if let Some(mismatch) = msrv_mismatch(&declared, &needed) {
        panic!("{mismatch}");
    }
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    assert!(readme.contains(&format!("Rust {declared} or later")), "the README names the MSRV, Rust {declared}");
}
