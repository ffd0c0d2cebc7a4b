//! Never a panic, whatever the input: random bytes, and random edits of real files, as
//! world.toml and as each namespace file. Any input loads or gives a `LoadError`.

mod common;

use common::{fixture, mem_copy};
use pktpath_world::{load_world_from, MemSource};
use proptest::prelude::*;

const MANIFEST: &str = r#"
[[namespace]]
name = "dh"
role = "host"
dir = "ns/dh"

[[link]]
a = "dh:eth0"
b = "dh:veth661757e"

[[probe]]
name = "p"
from = "dh"
proto = "tcp"
dst = "10.120.0.1:11211"
"#;

const NS_FILES: [&str; 8] = [
    "iptables-save.txt",
    "ip-addr.json",
    "ip-link.json",
    "ip-route.json",
    "ip-rule.json",
    "ss.txt",
    "sysctl.txt",
    "nft-ruleset.txt",
];

/// The real `dh` namespace of docker-memcached (other namespaces are not in MANIFEST).
fn base() -> MemSource {
    mem_copy(&fixture("docker-memcached")).with("world.toml", MANIFEST)
}

fn load(m: &MemSource) {
    // The result does not matter; a panic fails the test.
    let _ = load_world_from(m, "w".into());
}

/// Apply byte edits (overwrite, insert, delete) at positions scaled into `bytes`.
fn mutate(text: &str, edits: &[(u16, u8, u8)]) -> String {
    let mut b = text.as_bytes().to_vec();
    for &(pos, op, byte) in edits {
        let at = if b.is_empty() {
            0
        } else {
            pos as usize % b.len()
        };
        match op % 3 {
            0 if !b.is_empty() => b[at] = byte,
            1 => b.insert(at, byte),
            _ if !b.is_empty() => {
                b.remove(at);
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

proptest! {
    // 256 cases each by default; more with PROPTEST_CASES=n.
    #[test]
    fn random_bytes_as_manifest(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        load(&MemSource::new("w").with("world.toml", String::from_utf8_lossy(&bytes)));
    }

    #[test]
    fn random_bytes_as_namespace_file(
        which in 0..NS_FILES.len(),
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let rel = format!("ns/dh/{}", NS_FILES[which]);
        load(&base().with(rel, String::from_utf8_lossy(&bytes)));
    }

    #[test]
    fn edited_manifest(edits in proptest::collection::vec((any::<u16>(), any::<u8>(), any::<u8>()), 1..8)) {
        let text = std::fs::read_to_string(fixture("docker-memcached").join("world.toml")).unwrap();
        let mut m = base();
        m.insert("world.toml", mutate(&text, &edits));
        load(&m);
    }

    #[test]
    fn edited_namespace_file(
        which in 0..NS_FILES.len(),
        edits in proptest::collection::vec((any::<u16>(), any::<u8>(), any::<u8>()), 1..8),
    ) {
        let rel = format!("ns/dh/{}", NS_FILES[which]);
        let mut m = base();
        let text = m.read_rel(&rel);
        m.insert(&rel, mutate(&text, &edits));
        load(&m);
    }

    #[test]
    fn edited_ss_rows(
        edits in proptest::collection::vec((any::<u16>(), any::<u8>(), prop::sample::select(b" :%[]*()\",0123456789abcdef.-".to_vec())), 1..6),
    ) {
        // Edits with the characters ss rows are made of reach deeper than random bytes.
        let text = std::fs::read_to_string(common::test_world("kernel-addr-forms").join("ns/n1/ss.txt")).unwrap();
        load(&base().with("ns/dh/ss.txt", mutate(&text, &edits)));
    }
}

trait ReadRel {
    fn read_rel(&self, rel: &str) -> String;
}

impl ReadRel for MemSource {
    fn read_rel(&self, rel: &str) -> String {
        use pktpath_world::SnapshotSource;
        self.read(std::path::Path::new(rel)).unwrap()
    }
}
