//! Ground truth from the real iptables 1.8.9 (nf_tables): tests/oracle/expected.txt holds,
//! for every rule in tests/oracle/cases.txt, what `iptables-save` printed after
//! `iptables-restore` loaded it, or that `iptables-restore` refused it
//! (recorded by tests/oracle/capture.py). We must print the same line, and refuse what
//! iptables refuses.

use pktpath_rules::{parse_save, print_rule};

/// Rules iptables accepts that the model deliberately does not support (strict parse
/// refuses them with a clear message; the lenient parse keeps them verbatim).
const UNSUPPORTED: &[&str] = &[
    // CT with options other than --notrack.
    "-A PREROUTING -j CT",
    "-A PREROUTING -j CT --zone 1",
];

struct Case {
    input: String,
    table: String,
    outcome: Result<Vec<String>, String>,
}

fn cases() -> Vec<Case> {
    let text = include_str!("oracle/expected.txt");
    let mut out: Vec<Case> = Vec::new();
    for line in text.lines() {
        if let Some(r) = line.strip_prefix("in: ") {
            out.push(Case {
                input: r.to_string(),
                table: String::new(),
                outcome: Ok(Vec::new()),
            });
        } else if let Some(t) = line.strip_prefix("table: ") {
            out.last_mut().unwrap().table = t.to_string();
        } else if let Some(o) = line.strip_prefix("out: ") {
            if let Ok(v) = &mut out.last_mut().unwrap().outcome {
                v.push(o.to_string());
            }
        } else if let Some(e) = line.strip_prefix("error: ") {
            out.last_mut().unwrap().outcome = Err(e.to_string());
        }
    }
    out
}

#[test]
fn matches_real_iptables_save() {
    let mut failures = Vec::new();
    let all = cases();
    assert!(all.len() > 250);
    for c in &all {
        let text = format!(
            "*{}\n:X - [0:0]\n:Y - [0:0]\n{}\nCOMMIT\n",
            c.table, c.input
        );
        let got = parse_save(&text, "case").map(|rs| {
            let t = &rs.tables[0];
            let mut lines = Vec::new();
            for ch in &t.chains {
                for r in &ch.rules {
                    lines.push(print_rule(&ch.name, r));
                }
            }
            lines
        });
        match (&c.outcome, got) {
            (Ok(want), Ok(got)) => {
                if *want != got {
                    failures.push(format!(
                        "{}\n   want {:?}\n   got  {:?}",
                        c.input, want, got
                    ));
                }
            }
            (Ok(_), Err(e)) => {
                if !UNSUPPORTED.contains(&c.input.as_str()) {
                    failures.push(format!(
                        "{}\n   iptables accepts it, we refuse: {e}",
                        c.input
                    ));
                }
            }
            (Err(why), Ok(got)) => {
                failures.push(format!(
                    "{}\n   iptables refuses it ({why}), we accept: {got:?}",
                    c.input
                ));
            }
            (Err(_), Err(_)) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Whole files (tests/oracle/files/*.txt): what iptables-save printed after the real
/// iptables-restore loaded each (`.expected`), or that it refused it (`.error`).
/// iptables-restore without `--counters` zeroes all counters, so we compare without them.
#[test]
fn files_match_real_iptables() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/files"));
    let mut failures = Vec::new();
    let mut n = 0;
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    names.sort();
    for p in names {
        n += 1;
        let text = std::fs::read_to_string(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let got = parse_save(&text, &name);
        let error = p.with_extension("error");
        if error.exists() {
            if let Ok(rs) = got {
                failures.push(format!(
                    "{name}: iptables refuses it ({}), we accept:\n{}",
                    std::fs::read_to_string(&error).unwrap().trim(),
                    pktpath_rules::print_ruleset(&rs)
                ));
            }
            continue;
        }
        let want = std::fs::read_to_string(p.with_extension("expected")).unwrap();
        match got {
            Err(e) => failures.push(format!("{name}: iptables accepts it, we refuse: {e}")),
            Ok(mut rs) => {
                for t in &mut rs.tables {
                    for c in &mut t.chains {
                        c.counters = Default::default();
                        for r in &mut c.rules {
                            r.counters = None;
                        }
                    }
                }
                let got = pktpath_rules::print_ruleset(&rs);
                if got.trim_end() != want.trim_end() {
                    failures.push(format!("{name}:\n--- want\n{want}--- got\n{got}"));
                }
            }
        }
    }
    assert!(n > 40);
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
