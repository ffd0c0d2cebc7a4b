//! One rule's arguments (`-A CHAIN ...`), as `parse_rule_all` takes them; what parses
//! must print and parse back to the same text (except where iptables-save itself prints
//! what iptables-restore does not read back: an unquoted name with a blank, a shifted
//! SNAT/MASQUERADE range (`/0`), a shifted one-port DNAT range (`1000/5`), a byte-rate
//! hashlimit (`0b/s`, rounded bursts)).
#![no_main]
use libfuzzer_sys::fuzz_target;
use pktpath_rules::{Match, Rule, Target};

/// iptables 1.8.9 saves this rule in a form its own iptables-restore refuses or reads
/// differently (tests/oracle/expected.txt has examples of each).
fn saved_form_is_lossy(r: &Rule) -> bool {
    let target = match &r.target {
        Some(Target::Snat { range, .. }) => range.base.is_some(),
        // `1000-1000/5` is saved as `1000/5`: "Garbage after port value".
        Some(Target::Dnat { range, .. }) => {
            range.base.is_some() && range.ports.is_some_and(|p| p.lo == p.hi)
        }
        Some(Target::Masquerade { flags, .. }) => flags.proto_offset,
        _ => false,
    };
    target
        || r
            .matches
            .iter()
            .any(|m| matches!(m, Match::HashLimit(h) if h.bytes))
}

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
                _ if saved_form_is_lossy(r) => {}
                Ok((c2, r2)) => assert_eq!(printed, pktpath_rules::print_rule(&c2, &r2)),
                Err(e) => panic!("printed rule does not parse: {e}\n{printed}"),
            }
        }
    }
});
