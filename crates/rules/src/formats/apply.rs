//! Applying iptables commands to a [`Ruleset`] the way iptables 1.8.9 (nf_tables) changes
//! the kernel's tables: a table springs into existence with all its built-in chains
//! (policy ACCEPT) the first time a command changes it, user chains must exist before a
//! rule jumps to them, a chain can only be deleted when it is empty and unreferenced,
//! and the kernel's checks (a target's table and hooks, jump loops) run after each change.
//! Error messages carry iptables' own wording.

use super::command::{Command, CommandLine};
use crate::error::ParseError;
use crate::model::*;
use crate::print::print_rule;
use crate::validate::{check_rule, check_table, hook_limits, JumpEdge, RulePlaces};

/// Apply one command. On error the ruleset is left as it was before the command.
pub fn apply_command(rs: &mut Ruleset, cl: &CommandLine, file: &str) -> Result<(), ParseError> {
    let err = |message: String| ParseError {
        file: file.to_string(),
        line: cl.pos.line,
        col: cl.pos.col,
        message,
    };
    let tname = cl.table;
    let builtins = tname.builtin_chains();
    // Read-only commands do not create the table.
    match &cl.command {
        Command::List(Some(c)) => {
            let exists = builtins.contains(&c.as_str())
                || rs.table(tname).is_some_and(|t| t.chain(c).is_some());
            if !exists {
                return Err(err(format!(
                    "No chain/target/match by that name: chain `{c}` does not exist in table `{}`",
                    tname.as_str()
                )));
            }
            return Ok(());
        }
        Command::List(None) | Command::Help | Command::Ignored => return Ok(()),
        _ => {}
    }
    let before = rs.clone();
    let r = apply_inner(rs, cl, &err);
    if r.is_err() {
        *rs = before;
    }
    r
}

fn apply_inner(
    rs: &mut Ruleset,
    cl: &CommandLine,
    err: &dyn Fn(String) -> ParseError,
) -> Result<(), ParseError> {
    let tname = cl.table;
    let builtins = tname.builtin_chains();
    let t = table_entry(rs, tname);
    let no_chain = |c: &str| {
        err(format!(
            "No chain/target/match by that name: chain `{c}` does not exist in table `{}`",
            tname.as_str()
        ))
    };
    let chain_idx = |t: &Table, c: &str| t.chains.iter().position(|x| x.name == c);
    match &cl.command {
        Command::Append { chain, rules }
        | Command::Insert { chain, rules, .. }
        | Command::Check { chain, rules } => {
            let ci = chain_idx(t, chain).ok_or_else(|| no_chain(chain))?;
            for r in rules {
                check_target_chain(t, r, err)?;
                check_rule(tname, r, &RulePlaces::default()).map_err(|(_, m)| err(m))?;
            }
            match &cl.command {
                Command::Append { .. } => t.chains[ci].rules.extend(rules.iter().cloned()),
                Command::Insert { at, .. } => {
                    let len = t.chains[ci].rules.len();
                    let at = *at as usize - 1;
                    if at > len {
                        return Err(err(format!(
                            "Index of insertion too big: chain `{chain}` has {len} rules"
                        )));
                    }
                    for (k, r) in rules.iter().enumerate() {
                        t.chains[ci].rules.insert(at + k, r.clone());
                    }
                }
                _ => {
                    // -C: every rule must be there.
                    for r in rules {
                        if find_rule(&t.chains[ci], r).is_none() {
                            return Err(err(format!("Bad rule (does a matching rule exist in that chain?): no rule `{}`", print_rule(chain, r))));
                        }
                    }
                }
            }
        }
        Command::Replace { chain, num, rule } => {
            let ci = chain_idx(t, chain).ok_or_else(|| no_chain(chain))?;
            check_target_chain(t, rule, err)?;
            check_rule(tname, rule, &RulePlaces::default()).map_err(|(_, m)| err(m))?;
            let len = t.chains[ci].rules.len();
            if *num as usize > len {
                return Err(err(format!(
                    "No chain/target/match by that name: chain `{chain}` has {len} rules, no rule {num} to replace"
                )));
            }
            t.chains[ci].rules[*num as usize - 1] = rule.clone();
        }
        Command::DeleteNum { chain, num } => {
            let ci = chain_idx(t, chain).ok_or_else(|| no_chain(chain))?;
            let len = t.chains[ci].rules.len();
            if *num as usize > len {
                return Err(err(format!(
                    "No chain/target/match by that name: chain `{chain}` has {len} rules, no rule {num} to delete"
                )));
            }
            t.chains[ci].rules.remove(*num as usize - 1);
        }
        Command::Delete { chain, rules } => {
            let ci = chain_idx(t, chain).ok_or_else(|| no_chain(chain))?;
            for r in rules {
                let k = find_rule(&t.chains[ci], r).ok_or_else(|| {
                    err(format!(
                        "Bad rule (does a matching rule exist in that chain?): no rule `{}`",
                        print_rule(chain, r)
                    ))
                })?;
                t.chains[ci].rules.remove(k);
            }
        }
        Command::NewChain(c) => {
            if chain_idx(t, c).is_some() {
                return Err(err(format!("Chain already exists: `{c}`")));
            }
            t.chains.push(Chain {
                name: c.clone(),
                policy: None,
                counters: Counters::default(),
                rules: Vec::new(),
                pos: cl.pos,
            });
        }
        Command::DeleteChain(which) => {
            let names: Vec<String> = match which {
                Some(c) => {
                    if builtins.contains(&c.as_str()) {
                        return Err(err(format!("cannot delete built-in chain `{c}`")));
                    }
                    chain_idx(t, c).ok_or_else(|| no_chain(c))?;
                    vec![c.clone()]
                }
                None => t
                    .chains
                    .iter()
                    .filter(|c| c.policy.is_none())
                    .map(|c| c.name.clone())
                    .collect(),
            };
            for n in &names {
                let ci = chain_idx(t, n).expect("listed above");
                if !t.chains[ci].rules.is_empty() {
                    return Err(err(format!(
                        "CHAIN_DEL failed (Device or resource busy): chain {n} still has rules"
                    )));
                }
                let referenced = t.chains.iter().any(|c| {
                    !names.contains(&c.name) && c.rules.iter().any(|r| jumps_to(r) == Some(n))
                });
                if referenced {
                    return Err(err(format!(
                        "CHAIN_DEL failed (Device or resource busy): chain {n} is referenced by a rule"
                    )));
                }
            }
            t.chains.retain(|c| !names.contains(&c.name));
        }
        Command::Flush(which) => match which {
            Some(c) => {
                let ci = chain_idx(t, c).ok_or_else(|| no_chain(c))?;
                t.chains[ci].rules.clear();
            }
            None => t.chains.iter_mut().for_each(|c| c.rules.clear()),
        },
        Command::Zero(which) => {
            let zero = |c: &mut Chain| {
                c.counters = Counters::default();
                for r in &mut c.rules {
                    if r.counters.is_some() {
                        r.counters = Some(Counters::default());
                    }
                }
            };
            match which {
                Some(c) => {
                    let ci = chain_idx(t, c).ok_or_else(|| no_chain(c))?;
                    zero(&mut t.chains[ci]);
                }
                None => t.chains.iter_mut().for_each(zero),
            }
        }
        Command::Policy { chain, policy } => {
            if !builtins.contains(&chain.as_str()) {
                return Err(err(format!("Bad built-in chain name: `{chain}`")));
            }
            let ci = chain_idx(t, chain).expect("tables hold their built-in chains");
            t.chains[ci].policy = Some(*policy);
        }
        Command::Rename { from, to } => {
            if builtins.contains(&from.as_str()) {
                return Err(err(format!(
                    "No chain/target/match by that name: built-in chain `{from}` cannot be renamed"
                )));
            }
            let ci = chain_idx(t, from).ok_or_else(|| no_chain(from))?;
            if chain_idx(t, to).is_some() {
                return Err(err(format!("File exists: chain `{to}` already exists")));
            }
            t.chains[ci].name = to.clone();
            for c in &mut t.chains {
                for r in &mut c.rules {
                    match &mut r.target {
                        Some(Target::Jump(x)) | Some(Target::Goto(x)) if x == from => {
                            *x = to.clone()
                        }
                        _ => {}
                    }
                }
            }
        }
        Command::List(_) | Command::Help | Command::Ignored => {}
    }
    kernel_checks(t).map_err(err)?;
    sort_chains(t);
    Ok(())
}

/// The table, created with all its built-in chains (policy ACCEPT) when missing.
fn table_entry(rs: &mut Ruleset, name: TableName) -> &mut Table {
    if rs.table(name).is_none() {
        rs.tables.push(Table {
            name,
            chains: name
                .builtin_chains()
                .iter()
                .map(|c| Chain {
                    name: c.to_string(),
                    policy: Some(Policy::Accept),
                    counters: Counters::default(),
                    rules: Vec::new(),
                    pos: Pos::default(),
                })
                .collect(),
            pos: Pos::default(),
        });
        rs.tables
            .sort_by_key(|t| crate::parse_save::save_order(t.name));
    }
    rs.table_mut(name).expect("just made")
}

fn jumps_to(r: &Rule) -> Option<&String> {
    match &r.target {
        Some(Target::Jump(c)) | Some(Target::Goto(c)) => Some(c),
        _ => None,
    }
}

/// A jump or goto needs an existing user chain (iptables-nft: "Chain 'X' does not exist").
fn check_target_chain(
    t: &Table,
    r: &Rule,
    err: &dyn Fn(String) -> ParseError,
) -> Result<(), ParseError> {
    if let Some(to) = jumps_to(r) {
        if t.name.builtin_chains().contains(&to.as_str()) {
            return Err(err(format!("cannot jump to built-in chain `{to}`")));
        }
        if t.chain(to).is_none() {
            return Err(err(format!("Chain '{to}' does not exist")));
        }
    }
    Ok(())
}

/// The first rule equal to `r` (compared as iptables-save prints them; counters aside).
fn find_rule(c: &Chain, r: &Rule) -> Option<usize> {
    let want = print_rule(&c.name, &strip(r));
    c.rules
        .iter()
        .position(|x| print_rule(&c.name, &strip(x)) == want)
}

fn strip(r: &Rule) -> Rule {
    let mut r = r.clone();
    r.counters = None;
    r
}

/// nf_tables' validation of the changed table: hooks of hook-limited targets and matches,
/// and no jump loops (see `validate::check_table`).
fn kernel_checks(t: &Table) -> Result<(), String> {
    let mut jumps = Vec::new();
    let mut limited = Vec::new();
    for (ci, c) in t.chains.iter().enumerate() {
        for r in &c.rules {
            if let Some(to) = jumps_to(r) {
                if let Some(k) = t.chains.iter().position(|x| &x.name == to) {
                    jumps.push(JumpEdge {
                        from: ci,
                        to: k,
                        line: r.pos.line,
                        col: r.pos.col,
                    });
                }
            }
            hook_limits(ci, r, &RulePlaces::default(), &mut limited);
        }
    }
    check_table(t, &jumps, &limited).map_err(|(_, _, m)| m)
}

/// iptables-save's chain order: built-in chains first, then user chains by name.
fn sort_chains(t: &mut Table) {
    let builtins = t.name.builtin_chains();
    t.chains.sort_by(|a, b| {
        let ka = builtins.iter().position(|x| *x == a.name);
        let kb = builtins.iter().position(|x| *x == b.name);
        match (ka, kb) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.name.as_bytes().cmp(b.name.as_bytes()),
        }
    });
}
