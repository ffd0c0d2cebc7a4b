//! Helpers shared by the integration tests: where the fixtures are.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// `<repo root>/../shared`, where CI puts the shared fixtures next to the repository.
pub fn shared_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")).to_path_buf()
}

/// Every `fixtures/*/probes/*/trace.txt`, sorted, as (path relative to `shared/`, text).
pub fn fixture_traces() -> Vec<(String, String)> {
    let fixtures = shared_dir().join("fixtures");
    let mut out = Vec::new();
    let worlds = std::fs::read_dir(&fixtures)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", fixtures.display()));
    for world in worlds {
        let probes = world.unwrap().path().join("probes");
        let Ok(probes) = std::fs::read_dir(&probes) else {
            continue; // _capture and other folders without probes
        };
        for probe in probes {
            let path = probe.unwrap().path().join("trace.txt");
            if let Ok(text) = std::fs::read_to_string(&path) {
                let rel = path
                    .strip_prefix(shared_dir())
                    .unwrap()
                    .display()
                    .to_string();
                out.push((rel, text));
            }
        }
    }
    out.sort();
    out
}

/// The text of one fixture trace, by `<world>/<probe>`.
pub fn fixture_trace(world_probe: &str) -> (String, String) {
    let (world, probe) = world_probe.split_once('/').unwrap();
    let rel = format!("fixtures/{world}/probes/{probe}/trace.txt");
    let text = std::fs::read_to_string(shared_dir().join(&rel))
        .unwrap_or_else(|e| panic!("cannot read {rel}: {e}"));
    (rel, text)
}
