//! The real-world rulesets in shared/corpus/real-rulesets/ (mostly iptables-save output
//! of older iptables versions). Ground truth is tests/corpus_oracle/: what the real
//! iptables-restore 1.8.9 made of each file (`NAME.expected`, the iptables-save output)
//! or that it refused it (`NAME.error`), recorded by tests/corpus_oracle/capture.py.
//! We must accept exactly what iptables accepts and print what iptables-save printed
//! (counters aside: iptables-restore without --counters zeroes them).

mod common;

use pktpath_rules::{parse_save, print_ruleset, Ruleset};

fn zero_counters(rs: &mut Ruleset) {
    for t in &mut rs.tables {
        for c in &mut t.chains {
            c.counters = Default::default();
            for r in &mut c.rules {
                r.counters = None;
            }
        }
    }
}

#[test]
fn real_rulesets() {
    let dir = common::shared_dir().join("corpus/real-rulesets");
    let oracle = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus_oracle"));
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("shared/corpus/real-rulesets exists")
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    assert_eq!(names.len(), 38);
    let mut report = String::new();
    let mut failures = Vec::new();
    for name in &names {
        let text = String::from_utf8_lossy(&std::fs::read(dir.join(name)).unwrap()).to_string();
        let expected = std::fs::read_to_string(oracle.join(format!("{name}.expected"))).ok();
        match (parse_save(&text, name), expected) {
            (Ok(mut rs), Some(want)) => {
                let canonical = print_ruleset(&rs) == common::strip_comments(&text);
                zero_counters(&mut rs);
                let got = print_ruleset(&rs);
                if got.trim_end() != want.trim_end() {
                    failures.push(format!("{name}: printed differs from iptables-save"));
                    for (g, w) in got.lines().zip(want.lines()) {
                        if g != w {
                            failures.push(format!("  got  {g}\n  want {w}"));
                            break;
                        }
                    }
                }
                report.push_str(&format!(
                    "{name}: ok{}\n",
                    if canonical {
                        ", already canonical (round-trips)"
                    } else {
                        ""
                    }
                ));
            }
            (Ok(_), None) => {
                failures.push(format!("{name}: iptables-restore refuses it, we accept it"));
                report.push_str(&format!("{name}: ok (but iptables refuses it!)\n"));
            }
            (Err(e), want) => {
                if want.is_some() {
                    failures.push(format!(
                        "{name}: iptables-restore accepts it, we refuse: {e}"
                    ));
                }
                report.push_str(&format!("{name}: error: {e}\n"));
            }
        }
    }
    insta::assert_snapshot!(report);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
