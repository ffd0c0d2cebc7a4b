//! The `-S` and `-L` printers (and parsers) against what the real iptables 1.8.9
//! (nf_tables) printed for the same rules: tests/formats_data/listing/TABLE.* were
//! recorded by scripts/rules/capture-listings.py from every rule of the save oracle
//! (tests/oracle/expected.txt) plus a few more. Rules the model cannot hold (the strict
//! parser refuses them) are skipped, and counted.

mod formats_common;

use pktpath_rules::formats::{parse_listing, print_list_rules, print_listing, ListFormat};
use pktpath_rules::{parse_rule, print_rule, Rule, Ruleset, TableName};

const TABLES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];

fn read(name: &str) -> String {
    std::fs::read_to_string(formats_common::data_dir().join("listing").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A chain's name and rules (None: a rule the model cannot hold).
type ChainRules = (String, Vec<Option<Rule>>);

/// The chains of a save file, with their rules.
fn load(table: &str) -> (Ruleset, Vec<ChainRules>) {
    let text = read(&format!("{table}.save"));
    let mut chains: Vec<ChainRules> = Vec::new();
    let mut keep = String::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix(':') {
            chains.push((rest.split(' ').next().unwrap().to_string(), Vec::new()));
        }
        if line.starts_with("-A ") {
            let parsed = parse_rule(line, "save", i as u32 + 1).ok().map(|(_, r)| r);
            let chain = line.split(' ').nth(1).unwrap();
            let c = chains.iter_mut().find(|c| c.0 == chain).unwrap();
            if parsed.is_none() {
                c.1.push(None);
                continue;
            }
            c.1.push(parsed);
        }
        keep.push_str(line);
        keep.push('\n');
    }
    let rs = pktpath_rules::parse_save(&keep, "save").expect("the supported rules load");
    (rs, chains)
}

/// The listing split into chain blocks: (header lines, rule lines).
fn blocks(listing: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let mut out = Vec::new();
    for block in listing.split("\n\n") {
        let lines: Vec<String> = block.lines().map(str::to_string).collect();
        if lines.is_empty() {
            continue;
        }
        out.push((lines[..2].to_vec(), lines[2..].to_vec()));
    }
    out
}

fn check_listing(ext: &str, f: ListFormat) {
    let mut bad = Vec::new();
    let (mut compared, mut skipped) = (0, 0);
    for table in TABLES {
        let (rs, chains) = load(table);
        let tname = TableName::parse(table).unwrap();
        let want = blocks(&read(&format!("{table}.{ext}")));
        let ours_text = print_listing(&rs, tname, None, f).unwrap();
        let ours = blocks(&ours_text);
        assert_eq!(want.len(), ours.len(), "{table}.{ext}: number of chains");
        for (((wh, wr), (oh, orules)), (cname, rules)) in want.iter().zip(&ours).zip(&chains) {
            if wh != oh {
                bad.push(format!(
                    "{table} {cname} header:\n  want {wh:?}\n  got  {oh:?}"
                ));
            }
            let mut k = 0;
            for (i, r) in rules.iter().enumerate() {
                let Some(_) = r else {
                    skipped += 1;
                    continue;
                };
                compared += 1;
                let mut line = String::new();
                pktpath_rules::formats::listing::write_listing_rule(
                    &mut line,
                    i as u32 + 1,
                    rs.table(tname)
                        .unwrap()
                        .chain(cname)
                        .unwrap()
                        .rules
                        .get(k)
                        .unwrap(),
                    f,
                );
                k += 1;
                let got = line.trim_end_matches('\n');
                if got != wr[i] && !resolver_names(&wr[i], got) {
                    bad.push(format!(
                        "{table} {cname} #{}:\n  want {:?}\n  got  {got:?}",
                        i + 1,
                        wr[i]
                    ));
                }
            }
            let _ = orules;
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {compared} lines differ ({skipped} skipped):\n{}",
        bad.len(),
        bad.join("\n")
    );
    assert!(compared > 300, "{compared} rules compared");
}

#[test]
fn nvl_line_numbers_matches_iptables() {
    check_listing("nvL", ListFormat::NVL_LINES);
}

#[test]
fn nl_matches_iptables() {
    check_listing(
        "nL",
        ListFormat {
            numeric: true,
            ..Default::default()
        },
    );
}

#[test]
fn vl_matches_iptables() {
    check_listing(
        "vL",
        ListFormat {
            verbose: true,
            ..Default::default()
        },
    );
}

#[test]
fn list_rules_matches_iptables() {
    for table in TABLES {
        let (rs, chains) = load(table);
        let tname = TableName::parse(table).unwrap();
        let want = read(&format!("{table}.S"));
        let ours = print_list_rules(&rs, tname, None).unwrap();
        // Drop the -A lines of rules the model cannot hold from iptables' output.
        let unsupported: Vec<String> = chains
            .iter()
            .flat_map(|(c, rules)| {
                rules
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.is_none())
                    .map(move |(i, _)| (c.clone(), i))
            })
            .map(|(c, i)| {
                want.lines()
                    .filter(|l| *l == format!("-A {c}") || l.starts_with(&format!("-A {c} ")))
                    .nth(i)
                    .unwrap()
                    .to_string()
            })
            .collect();
        let want: String = want
            .lines()
            .filter(|l| !unsupported.iter().any(|u| u == l))
            .map(|l| format!("{l}\n"))
            .collect();
        first_difference(&ours, &want, table);
    }
}

/// Without `-n` iptables asks the resolver and the user database for names (hosts, users,
/// groups): we print numbers there. These are the names this machine's iptables found.
fn resolver_names(want: &str, got: &str) -> bool {
    const NAMES: &[(&str, &str)] = &[
        ("loopback/8 ", "127.0.0.0/8"),
        ("localhost ", "127.0.0.1"),
        ("UID match root", "UID match 0"),
        ("GID match tty", "GID match 5"),
        ("GID match users", "GID match 100"),
    ];
    let mut w = want.to_string();
    for (name, num) in NAMES {
        // Address columns keep their width: pad the number to the name's length.
        let padded = if name.ends_with(' ') {
            format!("{num:<width$}", width = name.len())
        } else {
            num.to_string()
        };
        w = w.replace(name, &padded);
    }
    w != want && w.trim_end() == got.trim_end()
}

/// Fail with the first line that differs (the texts are long).
fn first_difference(got: &str, want: &str, what: &str) {
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "{what}: line {} differs", i + 1);
    }
    assert_eq!(
        got.lines().count(),
        want.lines().count(),
        "{what}: number of lines"
    );
}

/// Parse iptables' own listing back: every rule must come back as the rule that was
/// listed (printed in iptables-save form), except for what the listing does not show.
fn check_parse_back(ext: &str, expect_lossy: &[&str], normalize: fn(&str) -> String) {
    let mut bad = Vec::new();
    let mut compared = 0;
    for table in TABLES {
        let (_, chains) = load(table);
        let tname = TableName::parse(table).unwrap();
        let listing = read(&format!("{table}.{ext}"));
        // Leave out the lines of rules the model cannot hold.
        let mut kept = String::new();
        let mut ci = 0usize;
        let mut ri = 0usize;
        let mut in_rules = false;
        for line in listing.lines() {
            if line.starts_with("Chain ") {
                ci = chains
                    .iter()
                    .position(|c| line[6..].starts_with(&format!("{} ", c.0)))
                    .unwrap();
                ri = 0;
                in_rules = false;
            } else if line.contains("target") && line.contains("prot") {
                in_rules = true;
            } else if in_rules && !line.is_empty() {
                ri += 1;
                if chains[ci].1[ri - 1].is_none() {
                    continue;
                }
            }
            kept.push_str(line);
            kept.push('\n');
        }
        let parsed = parse_listing(&kept, &format!("{table}.{ext}"), tname)
            .unwrap_or_else(|e| panic!("{table}.{ext}: {e}"));
        for l in &parsed.lossy {
            if !expect_lossy.iter().any(|e| l.what.contains(e)) {
                bad.push(format!(
                    "{table}.{ext}:{}: unexpected loss: {}",
                    l.line, l.what
                ));
            }
        }
        let t = parsed.ruleset.table(tname).expect("table parsed");
        for (cname, rules) in &chains {
            let got = &t
                .chain(cname)
                .unwrap_or_else(|| panic!("{table} {cname} missing"))
                .rules;
            let want: Vec<&Rule> = rules.iter().flatten().collect();
            assert_eq!(got.len(), want.len(), "{table} {cname}: number of rules");
            for (g, w) in got.iter().zip(want) {
                compared += 1;
                let mut g = g.clone();
                g.counters = None;
                let gs = normalize(&print_rule(cname, &g));
                let ws = normalize(&print_rule(cname, w));
                // Two `-m conntrack` listed in conntrack's print order read back as one
                // (the same test).
                let merged = |x: &str| x.replace(" -m conntrack", "");
                let names_lost = parsed.lossy.iter().any(|l| {
                    l.line == g.pos.line
                        && (l.what.contains("host name") || l.what.contains("is a name"))
                });
                if gs != ws && merged(&gs) != merged(&ws) && !names_lost {
                    bad.push(format!("{table} {cname}:\n  want {ws}\n  got  {gs}"));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} problems in {compared} rules:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// A hashlimit's name is not listed: compare without it.
fn without_hashlimit_name(s: &str) -> String {
    let mut out = Vec::new();
    let mut skip = false;
    for w in s.split(' ') {
        if skip {
            skip = false;
            continue;
        }
        if w == "--hashlimit-name" {
            skip = true;
            continue;
        }
        out.push(w);
    }
    out.join(" ")
}

#[test]
fn nvl_parses_back_to_the_same_rules() {
    check_parse_back("nvL", &["hashlimit's name"], without_hashlimit_name);
}

#[test]
fn nl_parses_back_without_interfaces() {
    fn no_ifaces(s: &str) -> String {
        let s = without_hashlimit_name(s);
        let mut out = Vec::new();
        let ws: Vec<&str> = s.split(' ').collect();
        let mut i = 0;
        while i < ws.len() {
            if matches!(ws[i], "-i" | "-o") {
                if out.last() == Some(&"!") {
                    out.pop();
                }
                i += 2;
                continue;
            }
            out.push(ws[i]);
            i += 1;
        }
        out.join(" ")
    }
    check_parse_back("nL", &["hashlimit's name", "without -v"], no_ifaces);
}

#[test]
fn vl_parses_back_with_names() {
    check_parse_back(
        "vL",
        &["hashlimit's name", "host name", "is a name"],
        without_hashlimit_name,
    );
}
