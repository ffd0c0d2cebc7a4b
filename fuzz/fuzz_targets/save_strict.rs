//! iptables-save files, strict parse: any input must give a ruleset or an error, never a
//! panic; what parses must print and parse back to the same ruleset.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(rs) = pktpath_rules::parse_save(&text, "fuzz") {
        let printed = pktpath_rules::print_ruleset(&rs);
        let again = pktpath_rules::parse_save(&printed, "printed")
            .unwrap_or_else(|e| panic!("printed ruleset does not parse: {e}\n{printed}"));
        assert_eq!(
            printed,
            pktpath_rules::print_ruleset(&again),
            "print is not stable"
        );
    }
});
