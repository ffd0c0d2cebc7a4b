//! Listings and commands embedded in the seed stories (shared/seeds/), checked against the
//! fixture worlds captured from a real kernel and Docker (shared/fixtures/):
//!
//! - seed 000 lists Docker's nat and filter chains with `iptables -nv -L`; parsed back,
//!   every listed chain holds exactly the rules of the `docker-memcached` fixture (whose
//!   container is 172.17.0.2 where the story's is 172.17.0.5);
//! - seed 000's `sudo iptables -I ...` commands, applied to the `docker-memcached`
//!   fixture, give the `docker-memcached-circuit-breaker` and `...-output` fixtures;
//! - seed 003's listings (an older iptables, kube-proxy rules) parse, with the rules the
//!   text shows.

mod formats_common;

use pktpath_rules::formats::{apply_script, parse_listing};
use pktpath_rules::{parse_save, print_rule, print_ruleset, Ruleset, TableName};

fn seed(prefix: &str) -> String {
    let dir = formats_common::shared_dir().join("seeds");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.starts_with(prefix) && !n.contains("readable")
        })
        .collect();
    names.sort();
    std::fs::read_to_string(&names[0]).unwrap()
}

fn fixture(world: &str) -> Ruleset {
    let p = formats_common::shared_dir().join(format!("fixtures/{world}/ns/dh/iptables-save.txt"));
    let mut rs = parse_save(&std::fs::read_to_string(&p).unwrap(), world).unwrap();
    zero(&mut rs);
    rs
}

fn zero(rs: &mut Ruleset) {
    for t in &mut rs.tables {
        for c in &mut t.chains {
            c.counters = Default::default();
            for r in &mut c.rules {
                r.counters = None;
            }
        }
    }
}

/// The `iptables -L` listings in a text: (table, listing text, first line number).
/// The table comes from the last `iptables ... -t TABLE` command line before it.
fn listings(text: &str) -> Vec<(TableName, String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut table = TableName::Filter;
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if l.contains("iptables ") && l.contains('L') {
            let ws: Vec<&str> = l.split_whitespace().collect();
            table = ws
                .windows(2)
                .find(|w| w[0] == "-t")
                .and_then(|w| TableName::parse(w[1]))
                .unwrap_or(TableName::Filter);
        }
        if !l.starts_with("Chain ") {
            i += 1;
            continue;
        }
        let start = i;
        let mut block = String::new();
        while i < lines.len() {
            let l = lines[i];
            let blank = l.trim().is_empty();
            let rule = l
                .split_whitespace()
                .any(|w| matches!(w, "--" | "-f" | "!f"));
            let header = l.contains("target") && l.contains("prot");
            if blank {
                // A blank line between chains of one listing.
                let next = lines[i + 1..].iter().find(|x| !x.trim().is_empty());
                if !next.is_some_and(|x| x.starts_with("Chain ")) {
                    break;
                }
            } else if !(l.starts_with("Chain ") || rule || header) {
                break;
            }
            // An author's note after a rule (`...   #拒绝...`) is not iptables output.
            let l = match l
                .find("   #")
                .filter(|&k| !l[k..].trim_start().starts_with("#conn"))
            {
                Some(k) => &l[..k],
                None => l,
            };
            block.push_str(l);
            block.push('\n');
            i += 1;
        }
        out.push((table, block, start + 1));
    }
    out
}

#[test]
fn seed_000_listings_are_the_docker_fixture_rules() {
    let text = seed("000_");
    let want = fixture("docker-memcached");
    let blocks = listings(&text);
    assert_eq!(
        blocks.len(),
        5,
        "seed 000 lists PREROUTING, DOCKER, FORWARD, POSTROUTING, OUTPUT"
    );
    let mut compared = 0;
    for (table, block, line) in &blocks {
        let parsed = parse_listing(block, &format!("seed000:{line}"), *table)
            .unwrap_or_else(|e| panic!("seed 000 listing at line {line}: {e}"));
        let t = parsed.ruleset.table(*table).unwrap();
        let wt = want.table(*table).unwrap();
        let listed: Vec<&str> = block
            .lines()
            .filter_map(|l| l.strip_prefix("Chain "))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        for chain in listed {
            let got: Vec<String> = t
                .chain(chain)
                .unwrap()
                .rules
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    r.counters = None;
                    print_rule(chain, &r).replace("172.17.0.5", "172.17.0.2")
                })
                .collect();
            let exp: Vec<String> = wt
                .chain(chain)
                .unwrap()
                .rules
                .iter()
                .map(|r| print_rule(chain, r))
                .collect();
            assert_eq!(got, exp, "seed 000 {} {chain}", table.as_str());
            compared += got.len();
        }
        // Counters are shown rounded (1449K, 24M): said so.
        assert!(
            parsed.lossy.iter().any(|l| l.what.contains("rounded")),
            "{:?}",
            parsed.lossy
        );
    }
    assert_eq!(compared, 12);
}

/// The commands of seed 000 (with the fixture's container address).
fn seed_000_commands() -> Vec<String> {
    seed("000_")
        .lines()
        .filter(|l| l.trim_start().starts_with("sudo iptables -I") && !l.contains('<'))
        .map(|l| l.trim().replace("172.17.0.5", "172.17.0.2"))
        .collect()
}

#[test]
fn seed_000_commands_turn_one_fixture_into_the_next() {
    let cmds = seed_000_commands();
    // The story gives each command twice (once explained, once in the summary).
    let docker_user: Vec<&String> = cmds.iter().filter(|c| c.contains("DOCKER-USER")).collect();
    let output: Vec<&String> = cmds.iter().filter(|c| c.contains("OUTPUT")).collect();
    assert!(!docker_user.is_empty() && !output.is_empty(), "{cmds:?}");
    let base = fixture("docker-memcached");
    let step1 = apply_script(base, docker_user[0], "seed000").unwrap();
    assert_eq!(
        print_ruleset(&step1),
        print_ruleset(&fixture("docker-memcached-circuit-breaker"))
    );
    let step2 = apply_script(step1, output[0], "seed000").unwrap();
    assert_eq!(
        print_ruleset(&step2),
        print_ruleset(&fixture("docker-memcached-circuit-breaker-output"))
    );
}

#[test]
fn seed_003_listings_parse() {
    let text = seed("003_");
    let blocks = listings(&text);
    assert!(blocks.len() >= 2, "{}", blocks.len());
    let mut all = Vec::new();
    for (table, block, line) in &blocks {
        let parsed = parse_listing(block, &format!("seed003:{line}"), *table)
            .unwrap_or_else(|e| panic!("seed 003 listing at line {line}: {e}"));
        for t in &parsed.ruleset.tables {
            for c in &t.chains {
                for r in &c.rules {
                    let mut r = r.clone();
                    r.counters = None;
                    all.push(format!("{} {}", t.name.as_str(), print_rule(&c.name, &r)));
                }
            }
        }
    }
    // Rules as the seed's listing shows them (read off the text).
    for want in [
        "filter -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT",
        "filter -A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT",
        "filter -A INPUT -j REJECT --reject-with icmp-host-prohibited",
        "filter -A FORWARD -i docker0 ! -o docker0 -j ACCEPT",
        "filter -A KUBE-FIREWALL -m comment --comment \"kubernetes firewall for dropping marked packets\" -m mark --mark 0x8000/0x8000 -j DROP",
        "nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER",
        "nat -A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000",
        "nat -A KUBE-SEP-5ZUVGKEDQRTZFI3V -p tcp -m comment --comment \"default/kubernetes:https\" -m recent --set --name KUBE-SEP-5ZUVGKEDQRTZFI3V --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 172.17.0.2:6443",
        "nat -A KUBE-SVC-GYQQTB6TY565JPRW -m comment --comment \"default/frontend:\" -m statistic --mode random --probability 0.33332999982 -j KUBE-SEP-AEX7DA47UPXHK3H4",
        "nat -A KUBE-SVC-NPX46M4PTMTKRN6Y -m comment --comment \"default/kubernetes:https\" -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-5ZUVGKEDQRTZFI3V --mask 255.255.255.255 --rsource -j KUBE-SEP-5ZUVGKEDQRTZFI3V",
    ] {
        assert!(all.iter().any(|r| r == want), "missing: {want}\nhave:\n{}", all.join("\n"));
    }
}

#[test]
fn seed_003_command_inserts_first() {
    let text = seed("003_");
    let cmd = text
        .lines()
        .find(|l| l.starts_with("iptables -I INPUT"))
        .expect("seed 003 has `iptables -I INPUT ...`");
    let (table, block, _) = listings(&text).into_iter().next().unwrap();
    let base = parse_listing(&block, "seed003", table).unwrap().ruleset;
    let rs = apply_script(base, cmd, "seed003").unwrap();
    let first = &rs
        .table(TableName::Filter)
        .unwrap()
        .chain("INPUT")
        .unwrap()
        .rules[0];
    assert_eq!(
        print_rule("INPUT", first),
        "-A INPUT -p tcp -m tcp --dport 11103 -j ACCEPT"
    );
}

/// Seed 001 shows `sudo iptables -t nat -S` and `-t filter -S` of its two-network Docker
/// host inline (one line per block, with the author's `# ...` notes between the rules).
/// Read back, they are the rules of the `docker-two-networks` fixture (whose second
/// bridge is br-024ee52c59e2 where the story's is br-ac3e0514d837).
#[test]
fn seed_001_list_rules_are_the_two_network_fixture_rules() {
    use pktpath_rules::formats::parse_list_rules;
    let text = seed("001_");
    let want = fixture("docker-two-networks");
    // The last `-t nat -S` / `-t filter -S` blocks (after caddy-1 was created).
    let block = |table: &str| -> String {
        let marker = format!("sudo iptables -t {table} -S ");
        let start = text.rfind(&marker).expect("seed 001 lists the table") + marker.len();
        let rest = &text[start..];
        let end = rest.find(['❯', '|']).unwrap_or(rest.len());
        // One `-S` line per `-P`/`-N`/`-A`; the author's notes run from ` # ` to the next.
        let body = format!(" {}", &rest[..end]);
        let mut cuts: Vec<usize> = [" -P ", " -N ", " -A "]
            .iter()
            .flat_map(|p| body.match_indices(p).map(|(k, _)| k))
            .collect();
        cuts.sort();
        cuts.push(body.len());
        let mut lines = String::new();
        for w in cuts.windows(2) {
            let piece = &body[w[0]..w[1]];
            let piece = piece.split(" # ").next().unwrap().trim();
            lines.push_str(piece);
            lines.push('\n');
        }
        lines.replace("br-ac3e0514d837", "br-024ee52c59e2")
    };
    for (name, table) in [("nat", TableName::Nat), ("filter", TableName::Filter)] {
        let s = block(name);
        let rs = parse_list_rules(&s, &format!("seed001 {name}"), table)
            .unwrap_or_else(|e| panic!("{e}\n{s}"));
        let mut w = Ruleset::default();
        w.tables.push(want.table(table).unwrap().clone());
        assert_eq!(
            print_ruleset(&rs),
            print_ruleset(&w),
            "seed 001 {name} -S:\n{s}"
        );
    }
}

/// Seed 002's commands (pasted with `sudo` and a `$ ` prompt), applied after
/// `iptables -P FORWARD DROP` (the policy the story's Docker host has), give the
/// `manual-dnat` fixture.
#[test]
fn seed_002_commands_give_the_manual_dnat_fixture() {
    let text = seed("002_");
    let cmds: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("sudo iptables -t"))
        .collect();
    assert_eq!(cmds.len(), 6, "{cmds:?}");
    let script = format!("iptables -P FORWARD DROP\n{}\n", cmds.join("\n"));
    let rs = apply_script(Ruleset::default(), &script, "seed002").unwrap_or_else(|e| panic!("{e}"));
    let p = formats_common::shared_dir().join("fixtures/manual-dnat/ns/mhost/iptables-save.txt");
    let mut want = parse_save(&std::fs::read_to_string(p).unwrap(), "manual-dnat").unwrap();
    zero(&mut want);
    assert_eq!(print_ruleset(&rs), print_ruleset(&want));
}
