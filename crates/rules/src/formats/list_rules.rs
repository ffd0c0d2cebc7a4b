//! `iptables -S` (`--list-rules`) output, both ways. iptables 1.8.9 prints, for one table,
//! `-P CHAIN POLICY` for each built-in chain, `-N CHAIN` for each user chain, then every
//! chain's rules as `-A` lines in iptables-save form. `-S CHAIN` prints only that chain.
//! The table is not in the text: the caller says which it is.

use super::apply::apply_command;
use super::command::{parse_command, Context};
use crate::error::ParseError;
use crate::lex::split_args;
use crate::model::*;
use crate::parse_rule::Mode;
use crate::print::{print_rule, print_rule_counted};

/// `iptables -t TABLE -S [CHAIN]`. A table the ruleset does not hold prints its built-in
/// chains with policy ACCEPT (iptables lists a table that does not exist yet that way).
/// `None` when `chain` does not exist.
pub fn print_list_rules(rs: &Ruleset, table: TableName, chain: Option<&str>) -> Option<String> {
    print_list_rules_v(rs, table, chain, false)
}

/// `iptables -t TABLE -S [CHAIN]`, with `-v`: every policy and rule carries
/// `-c PACKETS BYTES` (a rule without counters prints `-c 0 0`).
pub fn print_list_rules_v(
    rs: &Ruleset,
    table: TableName,
    chain: Option<&str>,
    verbose: bool,
) -> Option<String> {
    let mut out = String::new();
    let builtins = table.builtin_chains();
    let t = rs.table(table);
    let chains: Vec<&Chain> = match t {
        Some(t) => {
            let mut v: Vec<&Chain> = builtins
                .iter()
                .filter_map(|b| t.chains.iter().find(|c| c.name == *b))
                .collect();
            let mut user: Vec<&Chain> = t.chains.iter().filter(|c| c.policy.is_none()).collect();
            user.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
            v.extend(user);
            v
        }
        None => Vec::new(),
    };
    if t.is_none() {
        for b in builtins {
            if chain.is_none_or(|c| c == *b) {
                out.push_str(&format!(
                    "-P {b} ACCEPT{}\n",
                    if verbose { " -c 0 0" } else { "" }
                ));
            }
        }
        return (chain.is_none() || !out.is_empty()).then_some(out);
    }
    let selected: Vec<&&Chain> = chains
        .iter()
        .filter(|c| chain.is_none_or(|n| n == c.name))
        .collect();
    if selected.is_empty() {
        return None;
    }
    for c in &selected {
        match c.policy {
            Some(p) => out.push_str(&format!(
                "-P {} {}{}\n",
                c.name,
                match p {
                    Policy::Accept => "ACCEPT",
                    Policy::Drop => "DROP",
                },
                if verbose {
                    format!(" -c {} {}", c.counters.packets, c.counters.bytes)
                } else {
                    String::new()
                }
            )),
            None => out.push_str(&format!("-N {}\n", c.name)),
        }
    }
    for c in &selected {
        for r in &c.rules {
            if verbose {
                out.push_str(&print_rule_counted(
                    &c.name,
                    r,
                    r.counters.unwrap_or_default(),
                ));
            } else {
                out.push_str(&print_rule(&c.name, r));
            }
            out.push('\n');
        }
    }
    Some(out)
}

/// Parse `iptables -S` output of one table into a ruleset (applied in order, as if the
/// lines were run as commands on an empty table). `-c PKTS BYTES` after `-P` or a rule
/// (`iptables -S -v`) are read as counters.
pub fn parse_list_rules(text: &str, file: &str, table: TableName) -> Result<Ruleset, ParseError> {
    let mut rs = Ruleset::default();
    for (i, line) in text.split('\n').enumerate() {
        let lineno = i as u32 + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut toks = Vec::new();
        let end_col = split_args(line, 1, &mut toks).map_err(|e| ParseError {
            file: file.to_string(),
            line: lineno,
            col: e.col,
            message: e.message,
        })?;
        // `-P CHAIN POLICY -c P B`: policy counters.
        let mut policy_counters = None;
        if toks.first().is_some_and(|t| t.as_str() == "-P")
            && toks.len() == 6
            && toks[3].as_str() == "-c"
        {
            let num = |k: usize| toks[k].as_str().parse::<u64>().ok();
            if let (Some(p), Some(b)) = (num(4), num(5)) {
                policy_counters = Some(Counters {
                    packets: p,
                    bytes: b,
                });
                toks.truncate(3);
            }
        }
        if !matches!(toks.first().map(|t| t.as_str()), Some("-P" | "-N" | "-A")) {
            return Err(ParseError {
                file: file.to_string(),
                line: lineno,
                col: toks.first().map_or(1, |t| t.col),
                message:
                    "expected `-P CHAIN POLICY`, `-N CHAIN` or `-A CHAIN ...` (iptables -S output)"
                        .into(),
            });
        }
        let cl = parse_command(
            &toks,
            file,
            lineno,
            end_col,
            table,
            Context::Command,
            Mode::Strict,
        )?;
        apply_command(&mut rs, &cl, file)?;
        if let (Some(c), super::command::Command::Policy { chain, .. }) =
            (policy_counters, &cl.command)
        {
            if let Some(ch) = rs.table_mut(table).and_then(|t| t.chain_mut(chain)) {
                ch.counters = c;
            }
        }
    }
    Ok(rs)
}
