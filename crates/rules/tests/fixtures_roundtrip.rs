//! Every iptables-save.txt captured from a real kernel (shared/fixtures/*/ns/*/) parses
//! and prints back byte for byte (minus the `#` comment lines iptables-save adds).

mod common;

use pktpath_rules::{parse_save, print_ruleset};

#[test]
fn fixtures_round_trip() {
    let root = common::shared_dir().join("fixtures");
    let mut n = 0;
    for scenario in std::fs::read_dir(&root).expect("shared/fixtures exists") {
        let ns_dir = scenario.unwrap().path().join("ns");
        let Ok(nss) = std::fs::read_dir(&ns_dir) else {
            continue;
        };
        for ns in nss {
            let f = ns.unwrap().path().join("iptables-save.txt");
            let Ok(text) = std::fs::read_to_string(&f) else {
                continue;
            };
            let name = f.display().to_string();
            let rs = parse_save(&text, &name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                print_ruleset(&rs),
                common::strip_comments(&text),
                "round trip of {name}"
            );
            n += 1;
        }
    }
    assert!(n >= 5, "expected at least 5 fixture files, found {n}");
}
