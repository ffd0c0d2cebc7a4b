//! Shared helpers of the integration tests: where the fixtures are, and copying a world
//! into a [`MemSource`] (to remove or replace files).
#![allow(dead_code)]

use pktpath_world::MemSource;
use std::path::{Path, PathBuf};

/// `<repo root>/../shared/fixtures` (CI clones the repo with `shared/` as a sibling).
pub fn fixtures() -> PathBuf {
    let p = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures"
    ));
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

pub fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

/// This crate's own test worlds.
pub fn test_world(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/worlds")).join(name)
}

/// The five fixture worlds.
pub const FIXTURES: [&str; 5] = [
    "docker-memcached",
    "docker-memcached-circuit-breaker",
    "docker-memcached-circuit-breaker-output",
    "docker-two-networks",
    "manual-dnat",
];

/// Every file of `dir` (except the bulky `probes/`) in memory, keyed by relative path.
pub fn mem_copy(dir: &Path) -> MemSource {
    let mut m = MemSource::new(dir.file_name().unwrap().to_string_lossy());
    copy_into(&mut m, dir, Path::new(""));
    m
}

fn copy_into(m: &mut MemSource, root: &Path, rel: &Path) {
    for entry in std::fs::read_dir(root.join(rel)).unwrap() {
        let entry = entry.unwrap();
        let rel = rel.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if rel != Path::new("probes") {
                copy_into(m, root, &rel);
            }
        } else if let Ok(text) = std::fs::read_to_string(root.join(&rel)) {
            m.insert(&rel, text);
        }
    }
}
