//! One rule's arguments (`-A CHAIN ...`), as `parse_rule_all` takes them; what parses
//! must print and parse back to the same text.
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
            let (c2, r2) = pktpath_rules::parse_rule(&printed, "printed", 1)
                .unwrap_or_else(|e| panic!("printed rule does not parse: {e}\n{printed}"));
            assert_eq!(printed, pktpath_rules::print_rule(&c2, &r2));
        }
    }
});
