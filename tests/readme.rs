//! The README is the user's manual: it must document every setting the janitor reads and every sample event.

use replication_janitor::config::SETTINGS;

#[test]
fn the_readme_documents_every_setting() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    for setting in SETTINGS {
        assert!(readme.contains(&format!("`{}`", setting.variable)), "{} is not in the README", setting.variable);
    }
}

#[test]
fn the_template_passes_every_setting_it_exposes_by_its_documented_name() {
    let template = std::fs::read_to_string("template.yaml").expect("template.yaml");
    for line in template.lines().map(str::trim).filter(|l| l.starts_with("JANITOR_")) {
        let variable = line.split(':').next().unwrap_or_default();
        assert!(SETTINGS.iter().any(|s| s.variable == variable), "template.yaml sets unknown {variable}");
    }
    assert!(template.contains("JANITOR_DRY_RUN: !Ref DryRun"));
    assert!(template.contains("Default: \"true\""), "dry run is the template's default");
}
