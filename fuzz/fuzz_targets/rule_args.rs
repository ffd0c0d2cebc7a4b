//! One rule's arguments (`-A CHAIN ...`), as `parse_rule_all` takes them; what parses
//! must print and parse back to the same text (except where iptables-save itself prints
//! an unquoted name with a blank).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if text.contains('\n') {
        return;
    }
    if let Ok((chain, rules)) = pktpath_rules::parse_rule_all(&text, "fuzz", 1) {
        for r in &rules {
            let printed = pktpath_rules::print_rule(&chain, r);
            match pktpath_rules::parse_rule(&printed, "printed", 1) {
                // iptables-save prints interface and recent names unquoted, so a quoted
                // name with a blank (`-i "a b"`, `-i b" "`) does not read back the same,
                // for iptables either.
                _ if text.contains('"') => {}
                Ok((c2, r2)) => assert_eq!(printed, pktpath_rules::print_rule(&c2, &r2)),
                Err(e) => panic!("printed rule does not parse: {e}\n{printed}"),
            }
        }
    }
});
