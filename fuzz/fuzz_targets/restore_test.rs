//! `iptables-restore --test` emulation (pktpath rules validate), strict and lenient.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = pktpath_rules::restore_test(&text, "fuzz", false);
    let _ = pktpath_rules::restore_test(&text, "fuzz", true);
});
