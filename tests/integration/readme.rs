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
