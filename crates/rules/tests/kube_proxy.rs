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

fn generate(services: &str, endpoints: &str) -> String {
    let script = common::shared_dir().join("bench/gen-kube-proxy-ruleset.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .args([services, endpoints])
        .output()
        .expect("python3 runs the generator");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// Big files are parsed on several threads: the result and the errors must be what a
/// line-by-line parse gives.
#[test]
fn big_file_parses_like_small_pieces() {
    let text = generate("1500", "3");
    assert!(
        text.lines().count() > 20_000,
        "big enough for the parallel path"
    );
    let rs = parse_save(&text, "big").unwrap_or_else(|e| panic!("{e}"));
    let rules: usize = rs
        .tables
        .iter()
        .flat_map(|t| &t.chains)
        .map(|c| c.rules.len())
        .sum();
    assert_eq!(rules, text.lines().filter(|l| l.starts_with("-A ")).count());
    // Every rule line parses alone to the rule the big parse produced (same chain, same
    // order within the chain).
    let mut per_chain: std::collections::HashMap<(&str, String), Vec<String>> = Default::default();
    let mut table = "";
    for l in text.lines() {
        if let Some(t) = l.strip_prefix('*') {
            table = t;
        }
        if !l.starts_with("-A ") {
            continue;
        }
        let (chain, rule) = pktpath_rules::parse_rule(l, "line", 1).unwrap();
        let printed = pktpath_rules::print_rule(&chain, &rule);
        per_chain.entry((table, chain)).or_default().push(printed);
    }
    for t in &rs.tables {
        for c in &t.chains {
            let want = per_chain
                .remove(&(t.name.as_str(), c.name.clone()))
                .unwrap_or_default();
            let got: Vec<String> = c
                .rules
                .iter()
                .map(|r| pktpath_rules::print_rule(&c.name, r))
                .collect();
            assert_eq!(got, want, "chain {}", c.name);
        }
    }
}

#[test]
fn big_file_reports_the_first_error() {
    let text = generate("1500", "3");
    let mut lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    // A bad rule late in the file, and an earlier structural error (a rule for a chain
    // that does not exist): the earlier one is reported.
    lines.insert(n - 100, "-A KUBE-SERVICES -p tcp --dport nope -j ACCEPT");
    lines.insert(n / 2, "-A NO-SUCH-CHAIN -j ACCEPT");
    let broken = lines.join("\n");
    let e = parse_save(&broken, "big").unwrap_err();
    assert_eq!((e.line, e.col), ((n / 2 + 1) as u32, 4), "{e}");
    // Without the earlier error, the late one is found, at its place.
    lines.remove(n / 2);
    let e = parse_save(&lines.join("\n"), "big").unwrap_err();
    assert_eq!(e.line, (n - 100 + 1) as u32, "{e}");
    assert_eq!(e.col, 33, "{e}");
}
