//! `iptables -S` output.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ =
        pktpath_rules::formats::parse_list_rules(&text, "fuzz", pktpath_rules::TableName::Filter);
});
