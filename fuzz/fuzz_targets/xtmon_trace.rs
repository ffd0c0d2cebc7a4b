//! `xtables-monitor --trace` output (pktpath_trace::parse).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = pktpath_trace::parse(&text, "fuzz");
});
