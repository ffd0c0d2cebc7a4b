//! What every lab test needs: root, the tools, the `pktpath` binary (its `serve`, `proxy`
//! and `lab udp-client` run inside the lab's namespaces), and the fixture folders.
//!
//! These tests build real namespaces. They fail — never skip — when not root or when a
//! tool is missing, saying what to do.

#![allow(dead_code)]

use pktpath_lab::{sys, LabOptions};
use std::path::{Path, PathBuf};

/// The repository root (crates/lab/../..).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `<repo>/../shared/fixtures` (CI clones the repo with `shared/` beside it).
pub fn shared_fixtures() -> PathBuf {
    repo().join("../shared/fixtures")
}

pub fn main_fixtures() -> PathBuf {
    repo().join("fixtures")
}

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Root and the tools, or a clear failure.
pub fn preflight() {
    let euid = sys::euid();
    assert!(
        euid == 0,
        "the pktpath-lab tests build network namespaces and need root (running as uid {euid}); run them as root, e.g. `sudo -E cargo test -p pktpath-lab`"
    );
    if let Err(e) = sys::require_tools(sys::LAB_TOOLS) {
        panic!("the pktpath-lab tests need the lab's tools: {e}");
    }
}

/// The modification times of the files under `dir`.
fn mtimes(dir: &Path, out: &mut Vec<(std::time::SystemTime, PathBuf)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            mtimes(&p, out);
        } else if let Ok(t) = e.metadata().and_then(|m| m.modified()) {
            out.push((t, p));
        }
    }
}

/// The `pktpath` binary next to this test's (`target/<profile>/pktpath`; `cargo test
/// --workspace` builds it), or `$PKTPATH_BIN`, checked once per test binary.
pub fn pktpath_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(find_pktpath_bin).clone()
}

/// The binary must not be older than a source of the crates whose code runs in the lab
/// (cli, lab, proxy) that this test binary was built after: then it was not rebuilt with
/// them (`cargo test -p pktpath-lab` does not rebuild it). Sources edited after this test
/// binary was built only get a note.
fn find_pktpath_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("PKTPATH_BIN") {
        return PathBuf::from(p);
    }
    let me = std::env::current_exe().expect("test binary path");
    let bin = me
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .join("pktpath");
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let Some(built) = mtime(&bin) else {
        panic!(
            "{} is not built: run `cargo build -p pktpath` first (`cargo test --workspace` builds it), or set PKTPATH_BIN",
            bin.display()
        )
    };
    let test_built = mtime(&me).expect("test binary mtime");
    let mut sources = Vec::new();
    for krate in ["cli", "lab", "proxy"] {
        mtimes(&repo().join("crates").join(krate).join("src"), &mut sources);
    }
    for (t, p) in sources.iter().filter(|(t, _)| *t > built) {
        if *t <= test_built {
            panic!(
                "{} is older than {}: rebuild it (`cargo build -p pktpath`) so that the lab runs the current code",
                bin.display(),
                p.display()
            );
        }
        eprintln!(
            "note: {} changed after {} was built",
            p.display(),
            bin.display()
        );
    }
    bin
}

/// Options for a lab with `prefix` (one per test, so that tests can run in parallel).
pub fn opts(prefix: &str) -> LabOptions {
    LabOptions::new(prefix, pktpath_bin())
}

/// Network namespaces whose name starts with `prefix`.
pub fn namespaces_with(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/run/netns")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// PIDs of processes whose command line contains `needle`.
pub fn processes_with(needle: &str) -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter(|&pid| pid != me)
                .filter(|pid| {
                    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                        String::from_utf8_lossy(&c)
                            .replace('\0', " ")
                            .contains(needle)
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Nothing of the lab with `prefix` is left: no namespace, no state folder.
pub fn assert_gone(prefix: &str) {
    let left = namespaces_with(prefix);
    assert!(left.is_empty(), "namespaces left behind: {left:?}");
    let state = Path::new(pktpath_lab::state::DEFAULT_STATE_ROOT).join(prefix);
    assert!(
        !state.exists(),
        "state folder left behind: {}",
        state.display()
    );
}

/// Removes the lab with `prefix` (and namespaces `prefix + name` of the given world
/// names) when created — leftovers of an earlier run that crashed — and when dropped,
/// also when the test panics.
pub struct Cleanup {
    prefix: String,
    names: Vec<String>,
}

impl Cleanup {
    pub fn new(prefix: &str, world: &pktpath_world::World) -> Cleanup {
        let c = Cleanup {
            prefix: prefix.into(),
            names: world.namespaces.iter().map(|n| n.name.clone()).collect(),
        };
        c.clean();
        c
    }

    fn clean(&self) {
        let mut o = LabOptions::new(self.prefix.clone(), PathBuf::from("pktpath"));
        o.force_clean = true;
        let _ = pktpath_lab::down(&o, &self.names);
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.clean();
    }
}
