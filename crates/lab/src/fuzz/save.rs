//! An iptables ruleset being written, chain by chain, as the text `iptables-save` would
//! print (the world loader parses it; the printer gives it back in canonical form), and
//! which nf_tables base chains it leaves in the kernel.

use pktpath_rules::TableName;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default)]
struct TableText {
    /// Built-in chain policies other than ACCEPT.
    policies: BTreeMap<String, &'static str>,
    /// User chains, in creation order.
    user: Vec<String>,
    /// Rules per chain, in order.
    rules: BTreeMap<String, Vec<String>>,
}

/// A ruleset under construction.
#[derive(Debug, Clone, Default)]
pub struct SaveText {
    tables: BTreeMap<TableName, TableText>,
    /// Built-in chains that exist in nf_tables without rules (touched by a tool, e.g. a
    /// `-C` or policy set).
    touched: BTreeSet<(TableName, String)>,
}

fn is_builtin(t: TableName, chain: &str) -> bool {
    t.builtin_chains().contains(&chain)
}

impl SaveText {
    fn table(&mut self, t: TableName) -> &mut TableText {
        self.tables.entry(t).or_default()
    }

    /// Declare a user chain (idempotent).
    pub fn chain(&mut self, t: TableName, name: &str) {
        assert!(!is_builtin(t, name));
        let tt = self.table(t);
        if !tt.user.iter().any(|c| c == name) {
            tt.user.push(name.into());
        }
    }

    pub fn has_chain(&self, t: TableName, name: &str) -> bool {
        is_builtin(t, name)
            || self
                .tables
                .get(&t)
                .is_some_and(|tt| tt.user.iter().any(|c| c == name))
    }

    /// Set a built-in chain's policy (this creates the base chain).
    pub fn policy(&mut self, t: TableName, chain: &str, policy: &'static str) {
        assert!(is_builtin(t, chain));
        self.table(t).policies.insert(chain.into(), policy);
        self.touched.insert((t, chain.into()));
    }

    /// A built-in chain that exists although it may stay empty.
    pub fn touch(&mut self, t: TableName, chain: &str) {
        assert!(is_builtin(t, chain));
        self.table(t);
        self.touched.insert((t, chain.into()));
    }

    /// `-A CHAIN rest`; a user chain is declared on first use.
    pub fn append(&mut self, t: TableName, chain: &str, rest: &str) {
        if !is_builtin(t, chain) {
            self.chain(t, chain);
        }
        self.table(t)
            .rules
            .entry(chain.into())
            .or_default()
            .push(rest.trim().to_string());
    }

    /// `-I CHAIN 1 rest`.
    pub fn insert_first(&mut self, t: TableName, chain: &str, rest: &str) {
        if !is_builtin(t, chain) {
            self.chain(t, chain);
        }
        self.table(t)
            .rules
            .entry(chain.into())
            .or_default()
            .insert(0, rest.trim().to_string());
    }

    pub fn rule_count(&self) -> usize {
        self.tables
            .values()
            .flat_map(|t| t.rules.values())
            .map(Vec::len)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// The iptables-save text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (t, tt) in &self.tables {
            out.push_str(&format!("*{}\n", t.as_str()));
            for b in t.builtin_chains() {
                let p = tt.policies.get(*b).copied().unwrap_or("ACCEPT");
                out.push_str(&format!(":{b} {p} [0:0]\n"));
            }
            for u in &tt.user {
                out.push_str(&format!(":{u} - [0:0]\n"));
            }
            let order = t
                .builtin_chains()
                .iter()
                .map(|s| s.to_string())
                .chain(tt.user.iter().cloned());
            for c in order {
                for r in tt.rules.get(&c).into_iter().flatten() {
                    out.push_str(&format!("-A {c} {r}\n"));
                }
            }
            out.push_str("COMMIT\n");
        }
        out
    }

    /// The base chains nf_tables has once this ruleset is restored with iptables-nft:
    /// those with rules, a policy set, or touched otherwise.
    pub fn base_chains(&self) -> BTreeSet<(TableName, String)> {
        let mut set = self.touched.clone();
        for (t, tt) in &self.tables {
            for (c, rules) in &tt.rules {
                if is_builtin(*t, c) && !rules.is_empty() {
                    set.insert((*t, c.clone()));
                }
            }
        }
        set
    }
}
