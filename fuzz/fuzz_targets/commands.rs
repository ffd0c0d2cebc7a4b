//! Scripts of `iptables` commands (sudo, comments, continuations), applied to an empty
//! ruleset.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(rs) = pktpath_rules::apply_script(Default::default(), &text, "fuzz") {
        let _ = pktpath_rules::print_ruleset(&rs);
    }
});
