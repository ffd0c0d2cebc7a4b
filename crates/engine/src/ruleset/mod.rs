//! A namespace's iptables ruleset compiled for evaluation: chains resolved to indices,
//! each rule's iptables-save text rendered once (for traces), and which base chains
//! exist in the kernel (nf_tables creates a built-in chain only when it is touched:
//! an untouched one is never traversed and never traced), and each chain's prefilter
//! ([`index`]) built once here so that the walk matches without allocating.

#[cfg(test)]
mod equivalence_tests;
pub mod index;
pub mod matcher;
pub mod walk;

use index::{ChainFilter, IndexPolicy};

use pktpath_rules::{print_rule, Policy, Rule, Ruleset, TableName, Target};
use std::collections::{BTreeSet, HashMap};

/// A rule's target with jumps resolved to chain indices.
#[derive(Debug, Clone)]
pub enum CTarget {
    /// No target: the rule only counts.
    None,
    Jump(u32),
    Goto(u32),
    Other(Target),
}

#[derive(Debug, Clone)]
pub struct CRule {
    pub rule: Rule,
    pub target: CTarget,
    /// `-A CHAIN ...` as iptables-save prints it.
    pub text: String,
    /// Kernel-style rule handle (allocated per table in load order, like nf_tables).
    pub handle: u64,
    /// Index into the namespace's per-rule match state.
    pub id: u32,
}

#[derive(Debug, Clone)]
pub struct CChain {
    pub name: String,
    pub policy: Option<Policy>,
    pub rules: Vec<CRule>,
    /// For a built-in chain: does the kernel have it (see module doc)?
    pub exists: bool,
    /// Compiled headers and index of `rules`; rebuilt by every [`CRuleset`] method that
    /// changes `rules` (whoever edits `rules` directly must call [`CChain::recompile`]).
    pub filter: ChainFilter,
}

impl CChain {
    /// Rebuild [`CChain::filter`] after `rules` changed.
    pub fn recompile(&mut self, policy: IndexPolicy) {
        self.filter = ChainFilter::build(&self.rules, policy);
    }
}

#[derive(Debug, Clone)]
pub struct CTable {
    pub name: TableName,
    pub chains: Vec<CChain>,
    pub index: HashMap<String, u32>,
    /// The chains named like the five hooks, by [`hook_slot`] (so that finding a hook's
    /// base chain for every packet costs no string hashing).
    hook_chains: [Option<u32>; 5],
}

impl CTable {
    fn new(name: TableName, chains: Vec<CChain>, index: HashMap<String, u32>) -> CTable {
        let mut hook_chains = [None; 5];
        for (n, &i) in &index {
            if let Some(slot) = hook_slot(n) {
                hook_chains[slot] = Some(i);
            }
        }
        CTable {
            name,
            chains,
            index,
            hook_chains,
        }
    }

    pub fn chain(&self, name: &str) -> Option<u32> {
        match hook_slot(name) {
            Some(slot) => self.hook_chains[slot],
            None => self.index.get(name).copied(),
        }
    }
}

/// The position of a built-in chain name among the hooks.
fn hook_slot(name: &str) -> Option<usize> {
    Some(match name {
        "PREROUTING" => 0,
        "INPUT" => 1,
        "FORWARD" => 2,
        "OUTPUT" => 3,
        "POSTROUTING" => 4,
        _ => return None,
    })
}

/// All tables of one namespace.
#[derive(Debug, Clone, Default)]
pub struct CRuleset {
    pub tables: Vec<CTable>,
    pub rule_count: u32,
    /// [`CRuleset::has_nat`], computed when the tables change.
    nat_hooks: bool,
}

impl CRuleset {
    /// Compile `rs`. `base_chains`: the base chains the kernel has (from
    /// `nft-ruleset.txt`); when unknown, a built-in chain exists when it has rules or
    /// a policy other than ACCEPT.
    pub fn compile(
        rs: &Ruleset,
        base_chains: Option<&BTreeSet<(TableName, String)>>,
    ) -> Result<CRuleset, String> {
        let mut out = CRuleset::default();
        let mut next_id = 0u32;
        for t in &rs.tables {
            let index: HashMap<String, u32> = t
                .chains
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.clone(), i as u32))
                .collect();
            let mut handle = 1u64;
            let mut chains = Vec::with_capacity(t.chains.len());
            for c in &t.chains {
                let builtin = t.name.builtin_chains().contains(&c.name.as_str());
                let exists = if !builtin {
                    true
                } else {
                    match base_chains {
                        Some(set) => set.contains(&(t.name, c.name.clone())),
                        None => !c.rules.is_empty() || c.policy == Some(Policy::Drop),
                    }
                };
                handle += 1;
                let mut rules = Vec::with_capacity(c.rules.len());
                for r in &c.rules {
                    let target = match &r.target {
                        None => CTarget::None,
                        Some(Target::Jump(n)) => CTarget::Jump(*index.get(n).ok_or_else(|| {
                            format!(
                                "{}: chain {} jumps to missing chain {n}",
                                t.name.as_str(),
                                c.name
                            )
                        })?),
                        Some(Target::Goto(n)) => CTarget::Goto(*index.get(n).ok_or_else(|| {
                            format!(
                                "{}: chain {} goes to missing chain {n}",
                                t.name.as_str(),
                                c.name
                            )
                        })?),
                        Some(other) => CTarget::Other(other.clone()),
                    };
                    rules.push(CRule {
                        text: print_rule(&c.name, r),
                        rule: r.clone(),
                        target,
                        handle,
                        id: next_id,
                    });
                    handle += 1;
                    next_id += 1;
                }
                chains.push(CChain {
                    name: c.name.clone(),
                    policy: c.policy,
                    filter: ChainFilter::build(&rules, IndexPolicy::Auto),
                    rules,
                    exists,
                });
            }
            out.tables.push(CTable::new(t.name, chains, index));
        }
        out.rule_count = next_id;
        out.nat_hooks = out.compute_has_nat();
        Ok(out)
    }

    pub fn table(&self, t: TableName) -> Option<&CTable> {
        self.tables.iter().find(|x| x.name == t)
    }

    /// The base chain `chain` of `table`, if the kernel has it.
    pub fn base_chain(&self, table: TableName, chain: &str) -> Option<(usize, u32)> {
        let ti = self.tables.iter().position(|x| x.name == table)?;
        let ci = self.tables[ti].chain(chain)?;
        self.tables[ti].chains[ci as usize]
            .exists
            .then_some((ti, ci))
    }

    /// Does any nat base chain exist? (Then the NAT core hooks run at all four nat
    /// hooks: `nf_nat_register_fn()` registers them together for the family.)
    pub fn has_nat(&self) -> bool {
        self.nat_hooks
    }

    fn compute_has_nat(&self) -> bool {
        self.table(TableName::Nat)
            .is_some_and(|t| t.chains.iter().any(|c| c.exists && c.policy.is_some()))
    }

    /// Insert a rule at the head of a built-in chain (as `iptables -I CHAIN 1` does),
    /// creating the table and chain when missing. Used for the capture's TRACE rules.
    pub fn insert_first(&mut self, table: TableName, chain: &str, rule: Rule) {
        let ti = match self.tables.iter().position(|x| x.name == table) {
            Some(i) => i,
            None => {
                self.tables
                    .push(CTable::new(table, Vec::new(), HashMap::new()));
                self.tables.len() - 1
            }
        };
        let t = &mut self.tables[ti];
        let ci = match t.chain(chain) {
            Some(c) => c,
            None => {
                t.chains.push(CChain {
                    name: chain.to_string(),
                    policy: Some(Policy::Accept),
                    rules: Vec::new(),
                    exists: true,
                    filter: ChainFilter::default(),
                });
                let i = (t.chains.len() - 1) as u32;
                t.index.insert(chain.to_string(), i);
                if let Some(slot) = hook_slot(chain) {
                    t.hook_chains[slot] = Some(i);
                }
                i
            }
        };
        let max_handle = t
            .chains
            .iter()
            .flat_map(|c| c.rules.iter().map(|r| r.handle))
            .max()
            .unwrap_or(1);
        let c = &mut t.chains[ci as usize];
        c.exists = true;
        let target = match &rule.target {
            Some(x) => CTarget::Other(x.clone()),
            None => CTarget::None,
        };
        c.rules.insert(
            0,
            CRule {
                text: print_rule(chain, &rule),
                rule,
                target,
                handle: max_handle + 1,
                id: self.rule_count,
            },
        );
        c.recompile(IndexPolicy::Auto);
        self.rule_count += 1;
        self.nat_hooks = self.compute_has_nat();
    }

    /// Rebuild every chain's prefilter with `policy` (`IndexPolicy::Never` gives the
    /// plain linear walk, for comparisons).
    pub fn reindex(&mut self, policy: IndexPolicy) {
        for c in self.tables.iter_mut().flat_map(|t| t.chains.iter_mut()) {
            c.recompile(policy);
        }
    }
}
