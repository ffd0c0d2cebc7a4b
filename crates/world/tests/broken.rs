//! Broken worlds (`tests/broken/<case>/`): each load fails with file:line:col and what was
//! expected; the rendered error (one-line form and miette's graphical report) is snapshotted.

use miette::{GraphicalReportHandler, GraphicalTheme};
use pktpath_world::load_world;
use std::path::Path;

fn render(case: &str) -> String {
    // A relative root (the tests run in the crate's folder) keeps paths machine-independent.
    let dir = Path::new("tests/broken").join(case);
    let err = match load_world(&dir) {
        Ok(_) => panic!("{case}: loaded without error"),
        Err(e) => e,
    };
    let mut graphical = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut graphical, &err)
        .unwrap();
    format!("{err}\n\n{graphical}")
}

macro_rules! broken {
    ($($name:ident => $case:literal,)*) => {$(
        #[test]
        fn $name() {
            insta::assert_snapshot!($case, render($case));
        }
    )*};
}

broken! {
    toml_syntax => "toml-syntax",
    toml_wrong_type => "toml-wrong-type",
    toml_unknown_field => "toml-unknown-field",
    unknown_role => "unknown-role",
    duplicate_namespace => "duplicate-namespace",
    link_unknown_namespace => "link-unknown-namespace",
    link_bad_endpoint => "link-bad-endpoint",
    link_interface_missing => "link-interface-missing",
    link_to_bridge => "link-to-bridge",
    unknown_outcome => "unknown-outcome",
    probe_unknown_namespace => "probe-unknown-namespace",
    probe_bad_dst => "probe-bad-dst",
    probe_duplicate => "probe-duplicate",
    bad_listen => "bad-listen",
    bad_proxy_cmdline => "bad-proxy-cmdline",
    missing_manifest => "missing-manifest",
    bad_json => "bad-json",
    json_wrong_type => "json-wrong-type",
    bad_address => "bad-address",
    unknown_master => "unknown-master",
    route_host_bits => "route-host-bits",
    route_unknown_dev => "route-unknown-dev",
    rule_unsupported => "rule-unsupported",
    bad_ss_line => "bad-ss-line",
    ss_unknown_netid => "ss-unknown-netid",
    bad_sysctl_line => "bad-sysctl-line",
    bad_sysctl_value => "bad-sysctl-value",
    bad_nft => "bad-nft",
    bad_rules_file => "bad-rules-file",
}

#[test]
fn every_case_folder_is_tested() {
    let src = include_str!("broken.rs");
    for entry in std::fs::read_dir("tests/broken").unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            src.contains(&format!("=> \"{name}\"")),
            "tests/broken/{name} has no test"
        );
    }
}
