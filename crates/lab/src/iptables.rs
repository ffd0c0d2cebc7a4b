//! A namespace's iptables rules: what to feed `iptables-restore` so that the kernel ends
//! up with the snapshot's rules *and* the snapshot's set of nf_tables base chains, and the
//! checks that it did.
//!
//! iptables-save (nf_tables backend) prints every built-in chain of a table, but the kernel
//! only has those that were touched (`nft-ruleset.txt` says which). `iptables-restore`
//! creates a built-in chain for each `:CHAIN POLICY` line it reads, so those lines are left
//! out for chains that did not exist; a chain with rules is still created by its first
//! `-A` (iptables-nft's `nft_xt_builtin_init` creates only the chain a rule needs).

use pktpath_rules::TableName;
use std::collections::{BTreeMap, BTreeSet};

/// Which built-in chains exist: from `nft-ruleset.txt` when the snapshot has it, else
/// (as the engine assumes) those with rules or a policy other than ACCEPT.
fn chain_exists(
    base_chains: Option<&BTreeSet<(TableName, String)>>,
    table: TableName,
    chain: &str,
    policy: &str,
    has_rules: bool,
) -> bool {
    match base_chains {
        Some(set) => set.contains(&(table, chain.to_string())),
        None => has_rules || policy != "ACCEPT",
    }
}

/// The text to feed `iptables-restore` for a namespace whose `iptables-save` output is
/// `save`.
pub fn restore_text(save: &str, base_chains: Option<&BTreeSet<(TableName, String)>>) -> String {
    // Which chains have rules, per table.
    let mut with_rules: BTreeSet<(String, String)> = BTreeSet::new();
    let mut table = String::new();
    for line in save.lines() {
        if let Some(t) = line.strip_prefix('*') {
            table = t.trim().to_string();
        } else if let Some(rest) = line.strip_prefix("-A ") {
            if let Some(chain) = rest.split_whitespace().next() {
                with_rules.insert((table.clone(), chain.to_string()));
            }
        }
    }
    let mut out = String::new();
    let mut table: Option<TableName> = None;
    for line in save.lines() {
        if let Some(t) = line.strip_prefix('*') {
            table = TableName::parse(t.trim());
        } else if let (Some(t), Some(decl)) = (table, line.strip_prefix(':')) {
            let mut w = decl.split_whitespace();
            let (name, policy) = (w.next().unwrap_or(""), w.next().unwrap_or("-"));
            if t.builtin_chains().contains(&name) {
                let has_rules = with_rules.contains(&(t.as_str().to_string(), name.to_string()));
                if !chain_exists(base_chains, t, name, policy, has_rules) {
                    continue;
                }
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The base chains the snapshot says exist, as (table, chain) names; `None` when it does
/// not say (no `nft-ruleset.txt`).
pub fn expected_base_chains(
    save: &str,
    base_chains: Option<&BTreeSet<(TableName, String)>>,
) -> BTreeSet<(String, String)> {
    match base_chains {
        Some(set) => set
            .iter()
            .map(|(t, c)| (t.as_str().to_string(), c.clone()))
            .collect(),
        None => {
            // What restore_text keeps, plus chains created by their rules.
            let text = restore_text(save, None);
            let mut set = BTreeSet::new();
            let mut table = String::new();
            for line in text.lines() {
                if let Some(t) = line.strip_prefix('*') {
                    table = t.trim().to_string();
                    continue;
                }
                let name = line
                    .strip_prefix(':')
                    .or_else(|| line.strip_prefix("-A "))
                    .and_then(|r| r.split_whitespace().next());
                if let (Some(t), Some(name)) = (TableName::parse(&table), name) {
                    if t.builtin_chains().contains(&name) {
                        set.insert((table.clone(), name.to_string()));
                    }
                }
            }
            set
        }
    }
}

/// Base chains (those with a hook) of family `ip` in `nft -j list chains` output.
pub fn parse_nft_chains(json: &str) -> Result<BTreeSet<(String, String)>, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut set = BTreeSet::new();
    for item in v
        .get("nftables")
        .and_then(|n| n.as_array())
        .ok_or("no `nftables` array")?
    {
        let Some(c) = item.get("chain") else { continue };
        if c.get("family").and_then(|f| f.as_str()) == Some("ip") && c.get("hook").is_some() {
            if let (Some(t), Some(n)) = (
                c.get("table").and_then(|t| t.as_str()),
                c.get("name").and_then(|n| n.as_str()),
            ) {
                set.insert((t.to_string(), n.to_string()));
            }
        }
    }
    Ok(set)
}

/// `iptables-save` output reduced to what the kernel holds: tables, chain declarations with
/// their policies, rules (no comments, no counters, no timestamps), tables in name order.
pub fn normalize_save(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut table = String::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') || line == "COMMIT" {
            continue;
        }
        if let Some(t) = line.strip_prefix('*') {
            table = t.to_string();
            tables.entry(table.clone()).or_default();
            continue;
        }
        let line = match line.strip_prefix(':') {
            // `:NAME POLICY [packets:bytes]`
            Some(decl) => {
                let w: Vec<&str> = decl.split_whitespace().take(2).collect();
                format!(":{}", w.join(" "))
            }
            None => line.to_string(),
        };
        tables.entry(table.clone()).or_default().push(line);
    }
    tables
}

/// Differences between two `iptables-save` outputs, as lines `-`/`+` (expected/got).
pub fn save_diff(expected: &str, got: &str) -> Vec<String> {
    let (e, g) = (normalize_save(expected), normalize_save(got));
    let mut out = Vec::new();
    let names: BTreeSet<&String> = e.keys().chain(g.keys()).collect();
    for t in names {
        let empty = Vec::new();
        let (el, gl) = (e.get(t).unwrap_or(&empty), g.get(t).unwrap_or(&empty));
        if el != gl {
            for l in el.iter().filter(|l| !gl.contains(l)) {
                out.push(format!("-{t}: {l}"));
            }
            for l in gl.iter().filter(|l| !el.contains(l)) {
                out.push(format!("+{t}: {l}"));
            }
            if out.is_empty() {
                out.push(format!("~{t}: same lines in another order"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAVE: &str = "# Generated by iptables-save v1.8.9 (nf_tables)\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER - [0:0]\n-A FORWARD -j DOCKER\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n";

    fn set(v: &[(TableName, &str)]) -> BTreeSet<(TableName, String)> {
        v.iter().map(|(t, c)| (*t, c.to_string())).collect()
    }

    #[test]
    fn restore_keeps_only_the_base_chains_nft_had() {
        let nft = set(&[
            (TableName::Filter, "FORWARD"),
            (TableName::Filter, "OUTPUT"),
            (TableName::Nat, "PREROUTING"),
            (TableName::Nat, "POSTROUTING"),
        ]);
        let text = restore_text(SAVE, Some(&nft));
        assert!(!text.contains(":INPUT"), "{text}");
        assert!(text.contains(":OUTPUT ACCEPT [0:0]\n:DOCKER - [0:0]"));
        assert!(!text.contains("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT"));
        assert!(text.contains(":PREROUTING ACCEPT"));
        assert!(!text.contains("*nat\n:PREROUTING ACCEPT [0:0]\n:OUTPUT"));
        assert_eq!(
            expected_base_chains(SAVE, Some(&nft)).len(),
            4,
            "as nft-ruleset.txt says"
        );
    }

    #[test]
    fn without_nft_ruleset_chains_with_rules_or_a_policy_exist() {
        let text = restore_text(SAVE, None);
        assert!(text.contains(":FORWARD DROP"));
        assert!(!text.contains(":INPUT"));
        assert!(!text.contains(":OUTPUT"));
        assert!(text.contains(":POSTROUTING ACCEPT"));
        let want: BTreeSet<(String, String)> = [("filter", "FORWARD"), ("nat", "POSTROUTING")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(expected_base_chains(SAVE, None), want);
    }

    #[test]
    fn nft_json_base_chains() {
        let j = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"chain": {"family": "ip", "table": "filter", "name": "FORWARD", "handle": 2, "type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}}, {"chain": {"family": "ip", "table": "filter", "name": "DOCKER", "handle": 5}}]}"#;
        let got = parse_nft_chains(j).unwrap();
        assert_eq!(got.len(), 1);
        assert!(got.contains(&("filter".to_string(), "FORWARD".to_string())));
    }

    #[test]
    fn save_diff_ignores_counters_and_comments() {
        let other = SAVE
            .replace("[0:0]", "[12:3456]")
            .replace("# Generated", "# Made");
        assert!(save_diff(SAVE, &other).is_empty());
        let changed = SAVE.replace("-j DOCKER", "-j ACCEPT");
        assert_eq!(
            save_diff(SAVE, &changed),
            vec![
                "-filter: -A FORWARD -j DOCKER",
                "+filter: -A FORWARD -j ACCEPT"
            ]
        );
    }
}
