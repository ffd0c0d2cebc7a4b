//! `write_world` writes what `load_world` reads: every captured world (the shared fixtures,
//! the workspace's own fixtures and this crate's test worlds), written to a fresh folder and
//! loaded again, is the same model — and the copy still has its probes' kernel records.

use pktpath_rules::{Pos, Ruleset};
use pktpath_world::*;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every world folder (one with a `world.toml`) under the given folders.
fn worlds() -> Vec<PathBuf> {
    let root = repo_root();
    let mut out = Vec::new();
    for parent in [
        root.join("../shared/fixtures"),
        root.join("fixtures"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/worlds"),
    ] {
        let Ok(rd) = std::fs::read_dir(&parent) else {
            panic!("{} is missing", parent.display());
        };
        let mut found: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("world.toml").is_file())
            .collect();
        found.sort();
        out.extend(found);
    }
    out
}

/// Rule positions are where the rule was in the file read; they are not the world.
fn clear_positions(rs: &mut Ruleset) {
    for t in &mut rs.tables {
        t.pos = Pos::default();
        for c in &mut t.chains {
            c.pos = Pos::default();
            for r in &mut c.rules {
                r.pos = Pos::default();
            }
        }
    }
}

fn normalized(mut w: World) -> World {
    w.root = PathBuf::new();
    for n in &mut w.namespaces {
        clear_positions(&mut n.ruleset);
    }
    w
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "pktpath-write-roundtrip-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn every_fixture_world_survives_write_and_load() {
    let all = worlds();
    assert!(
        all.len() >= 11,
        "expected the 11 fixture worlds, found {all:?}"
    );
    for dir in all {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let before = load_world(&dir).unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = scratch(&name);
        write_world(&before, &out).unwrap_or_else(|e| panic!("{name}: {e}"));
        let after = load_world(&out).unwrap_or_else(|e| panic!("{name} (written): {e}"));
        // Probe records were copied next to the new manifest.
        for p in &after.probes {
            if let Some(t) = &p.trace {
                if dir.join(t).is_file() {
                    assert_eq!(
                        std::fs::read_to_string(out.join(t)).unwrap(),
                        std::fs::read_to_string(dir.join(t)).unwrap(),
                        "{name}: trace of {}",
                        p.name
                    );
                }
            }
        }
        let (before, after) = (normalized(before), normalized(after));
        // Per namespace first, for a readable failure.
        for (a, b) in before.namespaces.iter().zip(&after.namespaces) {
            assert_eq!(a, b, "{name}: namespace {}", a.name);
        }
        assert_eq!(before, after, "{name}");
        std::fs::remove_dir_all(&out).unwrap();
    }
}

#[test]
fn written_worlds_load_from_memory_too() {
    let dir = repo_root().join("../shared/fixtures/docker-memcached");
    let before = load_world(&dir).unwrap();
    let mut src = MemSource::new("mem");
    for (rel, text) in render_world(&before) {
        src.insert(rel, text);
    }
    let after = load_world_from(&src, PathBuf::new()).unwrap();
    assert_eq!(normalized(before), normalized(after));
}

#[test]
fn what_the_files_say_is_what_the_kernel_printed() {
    // Spot checks against the captured files: the writer speaks the same formats.
    let dir = repo_root().join("../shared/fixtures/docker-memcached");
    let w = load_world(&dir).unwrap();
    let files = render_world(&w);
    let get = |p: &str| files.get(Path::new(p)).unwrap_or_else(|| panic!("{p}"));
    // ip -j rule show, as captured.
    let captured: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("ns/dh/ip-rule.json")).unwrap())
            .unwrap();
    let written: serde_json::Value = serde_json::from_str(get("ns/dh/ip-rule.json")).unwrap();
    assert_eq!(written, captured);
    // The nf_tables base chains of the capture, in `nft list ruleset` form.
    let nft = get("ns/dh/nft-ruleset.txt");
    assert!(nft.contains("table ip nat {\n\tchain PREROUTING {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t}"));
    assert!(nft.contains("type filter hook forward priority filter; policy drop;"));
    // iptables-save text: the capture's, without its `#` comment lines.
    let save = std::fs::read_to_string(dir.join("ns/dh/iptables-save.txt")).unwrap();
    let bare: String = save
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(get("ns/dh/iptables-save.txt"), &bare);
    // A world without ss.txt / iptables-save.txt gets none.
    assert!(!files.contains_key(Path::new("ns/ext/iptables-save.txt")));
}
