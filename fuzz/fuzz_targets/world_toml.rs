//! world.toml through the world loader (a MemSource holding only the manifest).
#![no_main]
use libfuzzer_sys::fuzz_target;
use pktpath_world::{load_world_from, MemSource};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let src = MemSource::new("fuzz").with("world.toml", text);
    let _ = load_world_from(&src, "fuzz".into());
});
