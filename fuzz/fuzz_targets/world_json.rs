//! The JSON files of a namespace (ip-addr, ip-link, ip-route, ip-rule) through the world
//! loader: the first byte picks the file, the rest is its content; the other files of
//! the namespace are those of a small valid world.
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
    let file = [
        "ip-addr.json",
        "ip-link.json",
        "ip-route.json",
        "ip-rule.json",
    ][which as usize % 4];
    let mut src = MemSource::new("fuzz")
        .with("world.toml", MANIFEST)
        .with("ns/h/ip-addr.json", ADDR);
    src.insert(
        format!("ns/h/{file}"),
        String::from_utf8_lossy(rest).into_owned(),
    );
    let _ = load_world_from(&src, "fuzz".into());
});
