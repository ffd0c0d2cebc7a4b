//! Packet and byte counters of one namespace's rules, accumulated over simulated probes,
//! and printed as the kernel's tools print them: `iptables-save -c`, `iptables -S -v`,
//! `iptables -nvL --line-numbers`.
//!
//! The kernel adds a packet (and its length) to a rule's counters when all the rule's
//! matches hold, whatever its target, and to a base chain's counters when its policy
//! applies; nat chains only see a connection's first packet. The engine's `Rule` and
//! `Policy` events are exactly those moments, so the counters are a fold over the events.
//! The capture's TRACE rules (inserted at the head of the trace namespace's raw chains for
//! the run) are not part of the world's rules and are skipped.

use pktpath_engine::topology::NsId;
use pktpath_engine::{Event, ProbeRun, Sim};
use pktpath_rules::formats::{print_list_rules_v, print_listing, ListFormat};
use pktpath_rules::{print_ruleset, Counters, Ruleset, TableName};
use std::collections::HashMap;

/// The formats counters are printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterFormat {
    /// `iptables-save -c`: `[packets:bytes]` before each rule and policy.
    Save,
    /// `iptables -S -v` per table: `-c PACKETS BYTES`.
    ListRules,
    /// `iptables -nvL --line-numbers` per table.
    Listing,
}

/// Counters of one namespace's rules, keyed by table, chain name and rule position.
#[derive(Debug, Clone)]
pub struct RuleCounters {
    ns: NsId,
    rules: HashMap<(TableName, String, usize), Counters>,
    policies: HashMap<(TableName, String), Counters>,
}

fn add(c: &mut Counters, len: u16) {
    c.packets += 1;
    c.bytes += u64::from(len);
}

impl RuleCounters {
    pub fn new(ns: NsId) -> RuleCounters {
        RuleCounters {
            ns,
            rules: HashMap::new(),
            policies: HashMap::new(),
        }
    }

    /// Add what one probe's packets did to the namespace's rules.
    pub fn add_run(&mut self, sim: &Sim, run: &ProbeRun) {
        let ran = run.rules(sim, self.ns);
        let world = &sim.ns(self.ns).rules;
        for ev in &run.events {
            match ev {
                Event::Rule {
                    ns,
                    table,
                    chain,
                    rule,
                    len,
                    ..
                } if *ns == self.ns => {
                    let (Some(t_ran), Some(t_world)) = (ran.table(*table), world.table(*table))
                    else {
                        continue;
                    };
                    let c_ran = &t_ran.chains[*chain as usize];
                    // Chains keep their positions; inserted TRACE rules sit at the head.
                    let Some(c_world) = t_world.chains.iter().find(|c| c.name == c_ran.name) else {
                        continue;
                    };
                    let inserted = c_ran.rules.len().saturating_sub(c_world.rules.len());
                    let Some(pos) = (*rule as usize).checked_sub(inserted) else {
                        continue;
                    };
                    add(
                        self.rules
                            .entry((*table, c_ran.name.clone(), pos))
                            .or_default(),
                        *len,
                    );
                }
                Event::Policy {
                    ns,
                    table,
                    chain,
                    len,
                    ..
                } if *ns == self.ns => {
                    let Some(t_ran) = ran.table(*table) else {
                        continue;
                    };
                    let name = t_ran.chains[*chain as usize].name.clone();
                    add(self.policies.entry((*table, name)).or_default(), *len);
                }
                _ => {}
            }
        }
    }

    /// `rs` (the namespace's rules as loaded) with these counters, every other rule and
    /// policy at zero.
    pub fn apply(&self, rs: &Ruleset) -> Ruleset {
        let mut out = rs.clone();
        for t in &mut out.tables {
            for c in &mut t.chains {
                c.counters = if c.policy.is_some() {
                    self.policies
                        .get(&(t.name, c.name.clone()))
                        .copied()
                        .unwrap_or_default()
                } else {
                    Counters::default()
                };
                for (i, r) in c.rules.iter_mut().enumerate() {
                    r.counters = Some(
                        self.rules
                            .get(&(t.name, c.name.clone(), i))
                            .copied()
                            .unwrap_or_default(),
                    );
                }
            }
        }
        out
    }
}

/// Print `rs` (with counters) as `format` says; per-table formats print every table of
/// the ruleset in iptables-save's order, each under a `# iptables -t TABLE ...` line.
pub fn print_counted(rs: &Ruleset, format: CounterFormat) -> String {
    match format {
        CounterFormat::Save => print_ruleset(rs),
        CounterFormat::ListRules | CounterFormat::Listing => {
            let mut out = String::new();
            for name in [
                TableName::Raw,
                TableName::Mangle,
                TableName::Nat,
                TableName::Filter,
                TableName::Security,
            ] {
                if rs.table(name).is_none() {
                    continue;
                }
                let t = name.as_str();
                if format == CounterFormat::ListRules {
                    out.push_str(&format!("# iptables -t {t} -S -v\n"));
                    out.push_str(&print_list_rules_v(rs, name, None, true).unwrap_or_default());
                } else {
                    out.push_str(&format!("# iptables -t {t} -nvL --line-numbers\n"));
                    out.push_str(
                        &print_listing(rs, name, None, ListFormat::NVL_LINES).unwrap_or_default(),
                    );
                }
            }
            out
        }
    }
}
