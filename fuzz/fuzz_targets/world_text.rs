//! The text files of a namespace (ss.txt, sysctl.txt, iptables-save.txt) through the world
//! loader: the first byte picks the file, the rest is its content.
#![no_main]
use libfuzzer_sys::fuzz_target;
use pktpath_world::{load_world_from, MemSource};

const MANIFEST: &str =
    "description = \"fuzz\"\n[[namespace]]\nname = \"h\"\nrole = \"host\"\ndir = \"ns/h\"\n";
const ADDR: &str = r#"[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"operstate":"UNKNOWN","link_type":"loopback","address":"00:00:00:00:00:00","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host","label":"lo"}]}]"#;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let file = ["ss.txt", "sysctl.txt", "iptables-save.txt"][which as usize % 3];
    let mut src = MemSource::new("fuzz")
        .with("world.toml", MANIFEST)
        .with("ns/h/ip-addr.json", ADDR);
    src.insert(
        format!("ns/h/{file}"),
        String::from_utf8_lossy(rest).into_owned(),
    );
    let _ = load_world_from(&src, "fuzz".into());
});
