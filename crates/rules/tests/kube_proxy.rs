//! The generated kube-proxy ruleset (shared/bench/gen-kube-proxy-ruleset.py): parses,
//! keeps every rule, and prints back to something that parses to the same model.

mod common;

use pktpath_rules::{parse_save, print_ruleset};

#[test]
fn generated_kube_proxy_ruleset() {
    let script = common::shared_dir().join("bench/gen-kube-proxy-ruleset.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .args(["50", "3"])
        .output()
        .expect("python3 runs the generator");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rs = parse_save(&text, "kube-proxy.txt").unwrap_or_else(|e| panic!("{e}"));
    let rules: usize = rs
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .map(|c| c.rules.len())
        .sum();
    assert_eq!(rules, text.lines().filter(|l| l.starts_with("-A ")).count());
    // The generator interleaves chains; iptables-save groups rules by chain and sorts
    // user chains, so the printed text differs, but it is the same ruleset.
    let printed = print_ruleset(&rs);
    let again = parse_save(&printed, "printed").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(print_ruleset(&again), printed);
    let mut a = rs.clone();
    let mut b = again.clone();
    for rs in [&mut a, &mut b] {
        for t in &mut rs.tables {
            for c in &mut t.chains {
                c.pos = Default::default();
                for r in &mut c.rules {
                    r.pos = Default::default();
                }
            }
            t.pos = Default::default();
        }
    }
    assert_eq!(a, b);
}
