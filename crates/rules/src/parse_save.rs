//! Parsing whole `iptables-save` files the way `iptables-restore` (1.8.9, nf_tables)
//! reads them: `*table`, `:CHAIN POLICY [p:b]`, `[p:b] -A ...` rules, `COMMIT`, `#`
//! comments and blank lines. Rules are checked like the restore would: `-A` needs a
//! declared (or built-in) chain, and a jump or goto needs a user chain declared before
//! the rule (nf_tables resolves `-j` when the rule is added).

use crate::error::ParseError;
use crate::lex::{split_args, Token};
use crate::model::*;
use crate::parse_rule::{parse_rule_args, Mode, ParsedRule};
use crate::validate::{check_rule, check_table, RulePlaces};
use std::collections::HashMap;

struct TableBuild {
    table: Table,
    index: HashMap<String, usize>,
    /// `places[c][r]`: columns of `table.chains[c].rules[r]`'s parts.
    places: Vec<Vec<RulePlaces>>,
}

/// Parse a whole file. In lenient mode unknown matches/targets (and jumps to missing
/// chains) are kept verbatim and reported as warnings.
pub fn parse_file(
    text: &str,
    file: &str,
    mode: Mode,
) -> Result<(Ruleset, Vec<ParseError>), ParseError> {
    let mut rs = Ruleset::default();
    let mut warnings = Vec::new();
    let mut cur: Option<TableBuild> = None;
    let mut toks: Vec<Token> = Vec::with_capacity(32);
    let err = |line: u32, col: u32, msg: String| ParseError {
        file: file.to_string(),
        line,
        col,
        message: msg,
    };
    let mut last_line = 0u32;
    for (i, raw) in text.split('\n').enumerate() {
        let lineno = (i + 1) as u32;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim_end();
        if trimmed.trim_start().is_empty() {
            continue;
        }
        last_line = lineno;
        let first = trimmed.as_bytes()[0];
        match first {
            b'#' => continue,
            b'*' => {
                if let Some(tb) = &cur {
                    return Err(err(
                        lineno,
                        1,
                        format!(
                            "expected `COMMIT` for table `{}` before a new table",
                            tb.table.name.as_str()
                        ),
                    ));
                }
                let name = trimmed[1..].trim();
                let Some(tn) = TableName::parse(name) else {
                    return Err(err(
                        lineno,
                        2,
                        format!(
                            "unknown table `{name}`; expected raw, mangle, nat, filter or security"
                        ),
                    ));
                };
                if rs.table(tn).is_some() {
                    return Err(err(
                        lineno,
                        2,
                        format!("table `{name}` appears twice in the file"),
                    ));
                }
                cur = Some(TableBuild {
                    table: Table {
                        name: tn,
                        chains: Vec::new(),
                        pos: Pos {
                            line: lineno,
                            col: 1,
                        },
                    },
                    index: HashMap::new(),
                    places: Vec::new(),
                });
            }
            b':' => {
                let Some(tb) = cur.as_mut() else {
                    return Err(err(
                        lineno,
                        1,
                        "chain declaration outside a table; expected `*table` first".into(),
                    ));
                };
                declare_chain(tb, &trimmed[1..], lineno, file)?;
            }
            _ if trimmed == "COMMIT" => {
                let Some(tb) = cur.take() else {
                    return Err(err(
                        lineno,
                        1,
                        "`COMMIT` outside a table; expected `*table` first".into(),
                    ));
                };
                if let Err((line, col, msg)) = check_table(&tb.table, &tb.places) {
                    return Err(err(line, col, msg));
                }
                rs.tables.push(finish_table(tb));
            }
            b'-' | b'[' => {
                let Some(tb) = cur.as_mut() else {
                    return Err(err(
                        lineno,
                        1,
                        "rule outside a table; expected `*table` first".into(),
                    ));
                };
                toks.clear();
                let mut body = trimmed;
                let mut body_col = 1u32;
                let mut counters = None;
                if first == b'[' {
                    let close = trimmed.find(']').ok_or_else(|| {
                        err(lineno, 1, "bad counters; expected `[packets:bytes]`".into())
                    })?;
                    counters = Some(parse_counters(&trimmed[..=close]).ok_or_else(|| {
                        err(
                            lineno,
                            1,
                            format!(
                                "bad counters `{}`; expected `[packets:bytes]`",
                                &trimmed[..=close]
                            ),
                        )
                    })?);
                    body = &trimmed[close + 1..];
                    body_col = trimmed[..=close].chars().count() as u32 + 1;
                }
                split_args(body, body_col, &mut toks).map_err(|e| err(lineno, e.col, e.message))?;
                if let Some(t) = toks.first() {
                    check_command(t, file, lineno)?;
                }
                let end_col = body_col + body.chars().count() as u32;
                let parsed = parse_rule_args(&toks, file, lineno, end_col, mode)?;
                add_rule(tb, parsed, counters, file, mode, &mut warnings)?;
            }
            _ => {
                return Err(err(
                    lineno,
                    1,
                    "unexpected line; expected `*table`, `:CHAIN POLICY [packets:bytes]`, `-A CHAIN ...`, `COMMIT` or a `#` comment".into(),
                ));
            }
        }
    }
    if let Some(tb) = cur {
        return Err(err(
            last_line.max(1),
            1,
            format!(
                "end of input in table `{}`; expected `COMMIT`",
                tb.table.name.as_str()
            ),
        ));
    }
    Ok((rs, warnings))
}

fn check_command(t: &Token, file: &str, line: u32) -> Result<(), ParseError> {
    let s = t.as_str();
    let unsupported = matches!(
        s,
        "-I" | "--insert"
            | "-N"
            | "--new-chain"
            | "-P"
            | "--policy"
            | "-F"
            | "--flush"
            | "-X"
            | "--delete-chain"
            | "-D"
            | "--delete"
            | "-R"
            | "--replace"
            | "-Z"
            | "--zero"
            | "-E"
            | "--rename-chain"
    );
    if unsupported {
        return Err(ParseError {
            file: file.to_string(),
            line,
            col: t.col,
            message: format!("command `{s}` is not supported in a rules file; expected `-A CHAIN`"),
        });
    }
    Ok(())
}

/// `[packets:bytes]`
pub(crate) fn parse_counters(s: &str) -> Option<Counters> {
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    let (p, b) = inner.split_once(':')?;
    Some(Counters {
        packets: p.parse().ok()?,
        bytes: b.parse().ok()?,
    })
}

fn declare_chain(tb: &mut TableBuild, rest: &str, line: u32, file: &str) -> Result<(), ParseError> {
    let mut toks = Vec::new();
    split_args(rest, 2, &mut toks).map_err(|e| ParseError {
        file: file.to_string(),
        line,
        col: e.col,
        message: e.message,
    })?;
    let a = crate::args::Args::new(&toks, file, line, 2 + rest.chars().count() as u32);
    let Some(name_tok) = toks.first() else {
        return Err(a.err(2, "expected a chain name after `:`"));
    };
    let name = crate::parse_rule::chain_name(&a, name_tok)?;
    if crate::parse_target::EXTENSION_TARGETS.contains(&name.as_str()) {
        return Err(a.err_at(name_tok, "chain name may not clash with target name"));
    }
    let builtin = tb.table.name.builtin_chains().contains(&name.as_str());
    let Some(pol_tok) = toks.get(1) else {
        return Err(a.err(
            a.end_col,
            format!("expected a policy (ACCEPT, DROP or -) after chain `{name}`"),
        ));
    };
    let policy = match pol_tok.as_str() {
        "ACCEPT" => Some(Policy::Accept),
        "DROP" => Some(Policy::Drop),
        "-" => None,
        other => {
            return Err(a.err_at(
                pol_tok,
                format!("bad policy `{other}`; expected ACCEPT, DROP or -"),
            ))
        }
    };
    // iptables-nft gives built-in chains ACCEPT for `-` and ignores a user chain's policy.
    let policy = if builtin {
        Some(policy.unwrap_or(Policy::Accept))
    } else {
        None
    };
    let counters = match toks.get(2) {
        None => Counters::default(),
        Some(t) => parse_counters(t.as_str()).ok_or_else(|| {
            a.err_at(
                t,
                format!("bad counters `{}`; expected `[packets:bytes]`", t.as_str()),
            )
        })?,
    };
    if let Some(t) = toks.get(3) {
        return Err(a.err_at(
            t,
            format!("unexpected `{}` after the chain's counters", t.as_str()),
        ));
    }
    match tb.index.get(&name) {
        Some(&i) => {
            // Declaring a chain again is harmless for iptables-restore; a built-in
            // chain takes the last policy.
            let c = &mut tb.table.chains[i];
            if builtin {
                c.policy = policy;
                c.counters = counters;
            }
        }
        None => {
            tb.index.insert(name.clone(), tb.table.chains.len());
            tb.places.push(Vec::new());
            tb.table.chains.push(Chain {
                name,
                policy,
                counters,
                rules: Vec::new(),
                pos: Pos {
                    line,
                    col: name_tok.col,
                },
            });
        }
    }
    Ok(())
}

fn add_rule(
    tb: &mut TableBuild,
    parsed: ParsedRule,
    counters: Option<Counters>,
    file: &str,
    mode: Mode,
    warnings: &mut Vec<ParseError>,
) -> Result<(), ParseError> {
    let expanded = if parsed.srcs.is_empty() && parsed.dsts.is_empty() {
        None
    } else {
        Some(parsed.expand())
    };
    let ParsedRule {
        chain,
        chain_col,
        mut rule,
        jump_col,
        warnings: w,
        places,
        ..
    } = parsed;
    warnings.extend(w);
    let line = rule.pos.line;
    let err = |col: u32, message: String| ParseError {
        file: file.to_string(),
        line,
        col,
        message,
    };
    if counters.is_some() {
        rule.counters = counters;
    }
    let tname = tb.table.name;
    let builtins = tname.builtin_chains();
    // Jumps and gotos: the chain must exist already and be a user chain.
    let jump_to = match &rule.target {
        Some(Target::Jump(c)) | Some(Target::Goto(c)) => Some(c.as_str()),
        _ => None,
    };
    if let Some(to) = jump_to {
        if builtins.contains(&to) {
            return Err(err(
                jump_col,
                format!("cannot jump to built-in chain `{to}`"),
            ));
        }
        if !tb.index.contains_key(to) {
            match mode {
                Mode::Strict => {
                    return Err(err(
                        jump_col,
                        format!(
                            "chain `{to}` does not exist in table `{}`; declare it with `:{to} - [0:0]` before this rule",
                            tname.as_str()
                        ),
                    ))
                }
                Mode::Lenient => {
                    warnings.push(err(
                        jump_col,
                        format!("jump to missing chain or unknown target `{to}` kept verbatim"),
                    ));
                    let name = to.to_string();
                    rule.target = Some(Target::Unknown {
                        name,
                        args: Vec::new(),
                    });
                }
            }
        }
    }
    let idx = match tb.index.get(&chain) {
        Some(&i) => i,
        None if builtins.contains(&chain.as_str()) => {
            // nf_tables creates a table's base chains on demand.
            let i = tb.table.chains.len();
            tb.index.insert(chain.clone(), i);
            tb.places.push(Vec::new());
            tb.table.chains.push(Chain {
                name: chain,
                policy: Some(Policy::Accept),
                counters: Counters::default(),
                rules: Vec::new(),
                pos: rule.pos,
            });
            i
        }
        None => {
            return Err(err(
                chain_col,
                format!(
                    "chain `{chain}` does not exist in table `{}`; declare it with `:{chain} - [0:0]` first",
                    tname.as_str()
                ),
            ))
        }
    };
    if let Err((col, msg)) = check_rule(tname, &rule, &places) {
        return Err(err(col, msg));
    }
    match expanded {
        None => {
            tb.table.chains[idx].rules.push(rule);
            tb.places[idx].push(places);
        }
        Some(rules) => {
            for mut r in rules {
                r.counters = rule.counters;
                r.target = rule.target.clone();
                tb.table.chains[idx].rules.push(r);
                tb.places[idx].push(places.clone());
            }
        }
    }
    Ok(())
}

/// Give the table iptables-save's chain order: built-in chains first (all of them:
/// nf_tables creates the missing ones with policy ACCEPT), then user chains by name.
fn finish_table(tb: TableBuild) -> Table {
    let mut t = tb.table;
    let builtins = t.name.builtin_chains();
    let pos = t.pos;
    let mut chains = std::mem::take(&mut t.chains);
    let mut out = Vec::with_capacity(chains.len() + builtins.len());
    for b in builtins {
        match chains.iter().position(|c| c.name == *b) {
            Some(i) => out.push(chains.swap_remove(i)),
            None => out.push(Chain {
                name: b.to_string(),
                policy: Some(Policy::Accept),
                counters: Counters::default(),
                rules: Vec::new(),
                pos,
            }),
        }
    }
    chains.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    out.extend(chains);
    t.chains = out;
    t
}
