//! iptables-save files, lenient parse (unknown matches/targets kept verbatim).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (rs, _warnings) = pktpath_rules::parse_save_lenient(&text, "fuzz");
    let _ = pktpath_rules::print_ruleset(&rs);
});
