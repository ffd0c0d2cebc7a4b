//! `-S` and `-nvL --line-numbers` of every fixture world's iptables-save.txt, against the
//! real iptables 1.8.9 (nf_tables): each file is restored into a scratch network
//! namespace, listed there with `iptables -t T -S` and `iptables -t T -nvL
//! --line-numbers`, and our printers must print the same text from the parsed file;
//! parsing iptables' texts back must give the same rules (lossless for these listings).

mod formats_common;

use formats_common::Netns;
use pktpath_rules::formats::{
    parse_list_rules, parse_listing, print_list_rules, print_listing, ListFormat,
};
use pktpath_rules::{parse_save, print_ruleset, Ruleset, TableName};
use std::path::PathBuf;

/// Every `ns/*/iptables-save.txt` of shared/fixtures/*/ and of the repo's fixtures/*/.
fn fixture_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for root in [
        formats_common::shared_dir().join("fixtures"),
        formats_common::repo_dir().join("fixtures"),
    ] {
        let Ok(worlds) = std::fs::read_dir(&root) else {
            continue;
        };
        for w in worlds.flatten() {
            let Ok(nss) = std::fs::read_dir(w.path().join("ns")) else {
                continue;
            };
            for ns in nss.flatten() {
                let f = ns.path().join("iptables-save.txt");
                if f.is_file() {
                    out.push(f);
                }
            }
        }
    }
    out.sort();
    out
}

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

/// The rules of one table, as iptables-save prints them (counters zeroed).
fn table_text(rs: &Ruleset, t: TableName) -> String {
    let mut one = Ruleset::default();
    if let Some(x) = rs.table(t) {
        one.tables.push(x.clone());
    }
    zero_counters(&mut one);
    print_ruleset(&one)
}

#[test]
fn fixture_listings_match_real_iptables() {
    let files = fixture_files();
    assert!(files.len() >= 5, "fixtures found: {files:?}");
    let mut bad = Vec::new();
    let mut checked = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let name = f.display().to_string();
        let mut rs = parse_save(&text, &name).unwrap_or_else(|e| panic!("{e}"));
        zero_counters(&mut rs);
        let ns = Netns::new("fixtures");
        ns.ok(&["iptables-restore"], text.as_bytes());
        for t in &rs.tables {
            let tn = t.name.as_str();
            checked += 1;
            let real_s = ns.ok(&["iptables", "-t", tn, "-S"], b"");
            let real_l = ns.ok(&["iptables", "-t", tn, "-nvL", "--line-numbers"], b"");
            let ours_s = print_list_rules(&rs, t.name, None).unwrap();
            let ours_l = print_listing(&rs, t.name, None, ListFormat::NVL_LINES).unwrap();
            if ours_s != real_s {
                bad.push(format!(
                    "{name} {tn}: -S differs:\n--- iptables\n{real_s}--- ours\n{ours_s}"
                ));
            }
            if ours_l != real_l {
                bad.push(format!(
                    "{name} {tn}: -nvL differs:\n--- iptables\n{real_l}--- ours\n{ours_l}"
                ));
            }
            // Back from iptables' own texts.
            let want = table_text(&rs, t.name);
            match parse_list_rules(&real_s, "S", t.name) {
                Ok(back) => {
                    if table_text(&back, t.name) != want {
                        bad.push(format!(
                            "{name} {tn}: -S parsed back differs:\n{}",
                            table_text(&back, t.name)
                        ));
                    }
                }
                Err(e) => bad.push(format!("{name} {tn}: -S does not parse: {e}")),
            }
            match parse_listing(&real_l, "L", t.name) {
                Ok(back) => {
                    if !back.lossy.is_empty() {
                        bad.push(format!(
                            "{name} {tn}: -nvL reported losses: {:?}",
                            back.lossy
                        ));
                    }
                    let mut b = back.ruleset;
                    zero_counters(&mut b);
                    if table_text(&b, t.name) != want {
                        bad.push(format!(
                            "{name} {tn}: -nvL parsed back differs:\n{}",
                            table_text(&b, t.name)
                        ));
                    }
                }
                Err(e) => bad.push(format!("{name} {tn}: -nvL does not parse: {e}")),
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(checked >= 10, "{checked} tables checked");
}

/// Counters: restored with `iptables-restore -c`, listed with and without `-x` (1K/1M/1G/1T
/// units, xtables_print_num), and a target name wider than its column.
#[test]
fn counters_match_real_iptables() {
    let f = formats_common::data_dir().join("counters.rules");
    let text = std::fs::read_to_string(&f).unwrap();
    let rs = parse_save(&text, "counters.rules").unwrap();
    let ns = Netns::new("counters");
    ns.ok(&["iptables-restore", "-c"], text.as_bytes());
    for (args, f) in [
        (vec!["-nvL", "--line-numbers"], ListFormat::NVL_LINES),
        (
            vec!["-nvxL"],
            ListFormat {
                numeric: true,
                verbose: true,
                exact: true,
                line_numbers: false,
            },
        ),
    ] {
        let mut a = vec!["iptables"];
        a.extend(args.iter().copied());
        let real = ns.ok(&a, b"");
        let ours = print_listing(&rs, TableName::Filter, None, f).unwrap();
        assert_eq!(ours, real, "{args:?}");
        // Exact counters come back exactly; rounded ones are said to be rounded.
        let back = parse_listing(&real, "L", TableName::Filter).unwrap();
        let rounded = back.lossy.iter().any(|l| l.what.contains("rounded"));
        assert_eq!(rounded, !f.exact, "{:?}", back.lossy);
        if f.exact {
            assert_eq!(print_ruleset(&back.ruleset), print_ruleset(&rs));
        }
    }
}
