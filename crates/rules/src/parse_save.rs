//! Parsing whole `iptables-save` files the way `iptables-restore` (1.8.9, nf_tables)
//! reads them: `*table`, `:CHAIN POLICY [p:b]`, `[p:b] -A ...` rules, `COMMIT`, `#`
//! comments and blank lines. Rules are checked like the restore would: `-A` needs a
//! declared (or built-in) chain, and a jump or goto needs a user chain declared before
//! the rule (nf_tables resolves `-j` when the rule is added).

use crate::args::Args;
use crate::chain_index::ChainIndex;
use crate::error::ParseError;
use crate::lex::{split_args, split_args_nl, Token};
use crate::model::*;
use crate::parse_rule::{chain_name, parse_rule_args, Mode, ParsedRule, Scratch};
use crate::validate::{check_rule, check_table, hook_limits, HookLimited, JumpEdge};
use std::collections::VecDeque;

struct TableBuild {
    table: Table,
    index: ChainIndex,
    /// Jumps between the table's chains and hook-limited rule parts, for the
    /// table-wide checks at COMMIT.
    jumps: Vec<JumpEdge>,
    limited: Vec<HookLimited>,
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
    let mut scratch = Scratch::default();
    let err = |line: u32, col: u32, msg: String| ParseError {
        file: file.to_string(),
        line,
        col,
        message: msg,
    };
    let mut last_line = 0u32;
    let lines: Vec<&str> = text.split('\n').collect();
    // Big files: rule lines are parsed ahead, in batches, on several threads (parsing a
    // rule needs no context); the checks that do need context run in file order below.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let parallel = threads > 1 && lines.len() >= PARALLEL_MIN_LINES;
    let mut pre: VecDeque<(usize, Result<LineCmd, ParseError>)> = VecDeque::new();
    for (i, &line) in lines.iter().enumerate() {
        let lineno = (i + 1) as u32;
        if line.is_empty() {
            continue;
        }
        last_line = lineno;
        if line.ends_with('\r') {
            // iptables-restore takes the `\r` as part of the last word and fails.
            return Err(err(lineno, line.chars().count() as u32, CR_MESSAGE.into()));
        }
        let first = line.as_bytes()[0];
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
                let name = line[1..].trim_matches(|c| c == ' ' || c == '\t');
                let Some(tn) = TableName::parse(name) else {
                    return Err(err(
                        lineno,
                        2,
                        format!(
                            "unknown table `{name}`; expected raw, mangle, nat, filter or security"
                        ),
                    ));
                };
                // A table given again starts over (iptables-restore flushes it).
                rs.tables.retain(|t| t.name != tn);
                cur = Some(TableBuild {
                    table: Table {
                        name: tn,
                        chains: Vec::new(),
                        pos: Pos {
                            line: lineno,
                            col: 1,
                        },
                    },
                    index: ChainIndex::default(),
                    jumps: Vec::new(),
                    limited: Vec::new(),
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
                declare_chain(tb, &line[1..], lineno, file)?;
            }
            _ if line == "COMMIT" => {
                let Some(tb) = cur.take() else {
                    return Err(err(
                        lineno,
                        1,
                        "`COMMIT` outside a table; expected `*table` first".into(),
                    ));
                };
                if let Err((line, col, msg)) = check_table(&tb.table, &tb.jumps, &tb.limited) {
                    return Err(err(line, col, msg));
                }
                // nf_tables only creates a table once something is put in it.
                if !tb.table.chains.is_empty() {
                    rs.tables.push(finish_table(tb));
                }
            }
            _ => {
                let Some(tb) = cur.as_mut() else {
                    return Err(err(
                        lineno,
                        1,
                        "expected `*table` (raw, mangle, nat, filter or security) before this line"
                            .into(),
                    ));
                };
                let cmd = match pre.front() {
                    Some((j, _)) if *j == i => pre.pop_front().expect("front exists").1,
                    _ => {
                        if parallel && pre.is_empty() {
                            pre = parse_batch(&lines, i, file, mode, threads);
                        }
                        match pre.front() {
                            Some((j, _)) if *j == i => pre.pop_front().expect("front exists").1,
                            _ => parse_command_line(
                                line,
                                lineno,
                                file,
                                mode,
                                &mut toks,
                                &mut scratch,
                            ),
                        }
                    }
                }?;
                match cmd {
                    LineCmd::NewChain | LineCmd::Policy => {
                        toks.clear();
                        split_args(line, 1, &mut toks)
                            .map_err(|e| err(lineno, e.col, e.message))?;
                        if matches!(cmd, LineCmd::NewChain) {
                            new_chain(tb, &toks, lineno, file)?;
                        } else {
                            set_policy(tb, &toks, lineno, file)?;
                        }
                    }
                    LineCmd::Rule(counters, parsed) => {
                        add_rule(tb, parsed, counters, file, mode, &mut warnings)?;
                    }
                }
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
    // iptables-save's table order.
    rs.tables.sort_by_key(|t| save_order(t.name));
    Ok((rs, warnings))
}

/// Files with fewer lines are parsed on one thread.
const PARALLEL_MIN_LINES: usize = 20_000;
/// Lines parsed ahead per batch.
const BATCH_LINES: usize = 8192;

/// What a command line (`-A ...`, `[p:b] -A ...`, `-N X`, `-P X ACCEPT`) is.
// Nearly every line is a rule: boxing it would cost an allocation per rule.
#[allow(clippy::large_enum_variant)]
enum LineCmd<'a> {
    Rule(Option<Counters>, ParsedRule<'a>),
    /// `-N`/`-P`: applied in order (they are rare and cheap).
    NewChain,
    Policy,
}

/// Whether line `l` is a command line (not blank, comment, table, chain or COMMIT).
fn is_command_line(l: &str) -> bool {
    !l.is_empty() && !matches!(l.as_bytes()[0], b'#' | b'*' | b':') && l != "COMMIT"
}

/// Parse the command lines among `lines[from..from + BATCH_LINES]` on `threads` threads.
fn parse_batch<'a>(
    lines: &[&'a str],
    from: usize,
    file: &str,
    mode: Mode,
    threads: usize,
) -> VecDeque<(usize, Result<LineCmd<'a>, ParseError>)> {
    let idx: Vec<usize> = (from..lines.len().min(from + BATCH_LINES))
        .filter(|&j| is_command_line(lines[j]))
        .collect();
    let per = idx.len().div_ceil(threads).max(1);
    let work = |part: &[usize]| {
        let mut toks = Vec::with_capacity(32);
        let mut scratch = Scratch::default();
        part.iter()
            .map(|&j| {
                let r = parse_command_line(
                    lines[j],
                    (j + 1) as u32,
                    file,
                    mode,
                    &mut toks,
                    &mut scratch,
                );
                (j, r)
            })
            .collect::<Vec<_>>()
    };
    let mut out = VecDeque::with_capacity(idx.len());
    std::thread::scope(|sc| {
        let mut parts = idx.chunks(per);
        let first = parts.next().unwrap_or(&[]);
        let handles: Vec<_> = parts.map(|p| sc.spawn(move || work(p))).collect();
        out.extend(work(first));
        for h in handles {
            out.extend(h.join().expect("parser thread does not panic"));
        }
    });
    out
}

/// Split and parse one command line.
fn parse_command_line<'a>(
    line: &'a str,
    lineno: u32,
    file: &str,
    mode: Mode,
    toks: &mut Vec<Token<'a>>,
    scratch: &mut Scratch,
) -> Result<LineCmd<'a>, ParseError> {
    let err = |col: u32, message: String| ParseError {
        file: file.to_string(),
        line: lineno,
        col,
        message,
    };
    let lead = line.len() - line.trim_start_matches([' ', '\t']).len();
    let rest = &line[lead..];
    let mut body = rest;
    let mut body_col = lead as u32 + 1;
    let mut counters = None;
    if rest.starts_with('[') {
        let close = rest
            .find(']')
            .ok_or_else(|| err(body_col, "bad counters; expected `[packets:bytes]`".into()))?;
        counters = Some(parse_counters(&rest[..=close]).ok_or_else(|| {
            err(
                body_col,
                format!(
                    "bad counters `{}`; expected `[packets:bytes]`",
                    &rest[..=close]
                ),
            )
        })?);
        body = &rest[close + 1..];
        body_col += rest[..=close].chars().count() as u32;
    }
    toks.clear();
    // Every line but the last ended with a newline; a rule on the last line has no
    // COMMIT after it and fails anyway, so the newline is assumed.
    let end_col = split_args_nl(body, body_col, true, toks).map_err(|e| err(e.col, e.message))?;
    let Some(t0) = toks.first() else {
        return Err(err(
            1,
            "line has only blanks; iptables-restore refuses it (no command specified)".into(),
        ));
    };
    if !t0.as_str().starts_with('-') || t0.as_str() == "-" {
        return Err(err(
            t0.col,
            format!(
                "unexpected `{}`; expected `*table`, `:CHAIN POLICY [packets:bytes]`, `-A CHAIN ...`, `COMMIT` or a `#` comment at the start of a line",
                t0.as_str()
            ),
        ));
    }
    match t0.as_str() {
        "-N" | "--new-chain" => Ok(LineCmd::NewChain),
        "-P" | "--policy" => Ok(LineCmd::Policy),
        _ => {
            check_command(t0, file, lineno)?;
            let parsed = parse_rule_args(toks, file, lineno, end_col, mode, scratch)?;
            Ok(LineCmd::Rule(counters, parsed))
        }
    }
}

pub(crate) const CR_MESSAGE: &str =
    "carriage return in line (CRLF line ending?); iptables-restore refuses it";

/// The order iptables-save (nf_tables) lists tables in.
pub(crate) fn save_order(t: TableName) -> u8 {
    match t {
        TableName::Mangle => 0,
        TableName::Security => 1,
        TableName::Raw => 2,
        TableName::Filter => 3,
        TableName::Nat => 4,
    }
}

fn check_command(t: &Token, file: &str, line: u32) -> Result<(), ParseError> {
    let s = t.as_str();
    let unsupported = matches!(
        s,
        "-F" | "--flush"
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
            message: format!(
                "command `{s}` is not supported in a rules file; expected `-A`, `-I`, `-N` or `-P`"
            ),
        });
    }
    Ok(())
}

/// `-N CHAIN`: like `:CHAIN - [0:0]`, but an existing chain is an error.
fn new_chain(tb: &mut TableBuild, toks: &[Token], line: u32, file: &str) -> Result<(), ParseError> {
    let a = Args::new(toks, file, line, 0);
    let Some(name_tok) = toks.get(1) else {
        return Err(a.err_at(&toks[0], "option `-N` requires a chain name"));
    };
    if let Some(t) = toks.get(2) {
        return Err(a.err_at(t, format!("unexpected `{}` after `-N CHAIN`", t.as_str())));
    }
    let name = chain_name(&a, name_tok)?;
    if tb.index.contains_key(&name) || tb.table.name.builtin_chains().contains(&name.as_str()) {
        return Err(a.err_at(name_tok, format!("chain `{name}` already exists")));
    }
    push_chain(
        tb,
        name,
        None,
        Counters::default(),
        Pos {
            line,
            col: name_tok.col,
        },
    );
    Ok(())
}

/// `-P CHAIN POLICY` for a built-in chain.
fn set_policy(
    tb: &mut TableBuild,
    toks: &[Token],
    line: u32,
    file: &str,
) -> Result<(), ParseError> {
    let a = Args::new(toks, file, line, 0);
    let (Some(name_tok), Some(pol_tok)) = (toks.get(1), toks.get(2)) else {
        return Err(a.err_at(
            &toks[0],
            "`-P` requires a chain and a policy (ACCEPT or DROP)",
        ));
    };
    if let Some(t) = toks.get(3) {
        return Err(a.err_at(
            t,
            format!("unexpected `{}` after `-P CHAIN POLICY`", t.as_str()),
        ));
    }
    let name = name_tok.as_str();
    if !tb.table.name.builtin_chains().contains(&name) {
        return Err(a.err_at(name_tok, format!("bad built-in chain name `{name}`")));
    }
    let policy = match pol_tok.as_str() {
        "ACCEPT" => Policy::Accept,
        "DROP" => Policy::Drop,
        other => {
            return Err(a.err_at(
                pol_tok,
                format!("bad policy `{other}`; expected ACCEPT or DROP"),
            ))
        }
    };
    let idx = builtin_index(
        tb,
        name,
        Pos {
            line,
            col: name_tok.col,
        },
    );
    tb.table.chains[idx].policy = Some(policy);
    Ok(())
}

fn push_chain(
    tb: &mut TableBuild,
    name: String,
    policy: Option<Policy>,
    counters: Counters,
    pos: Pos,
) -> usize {
    let i = tb.table.chains.len();
    tb.index.insert(name.clone(), i);
    tb.table.chains.push(Chain {
        name,
        policy,
        counters,
        rules: Vec::new(),
        pos,
    });
    i
}

/// The index of built-in chain `name`, creating it (policy ACCEPT) if needed: nf_tables
/// creates a table's base chains on demand.
fn builtin_index(tb: &mut TableBuild, name: &str, pos: Pos) -> usize {
    match tb.index.get(name) {
        Some(&i) => i,
        None => push_chain(
            tb,
            name.to_string(),
            Some(Policy::Accept),
            Counters::default(),
            pos,
        ),
    }
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
    let a = Args::new(&toks, file, line, 2 + rest.chars().count() as u32);
    let Some(name_tok) = toks.first() else {
        return Err(a.err(2, "expected a chain name after `:`"));
    };
    let name = chain_name(&a, name_tok)?;
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
    // iptables-restore ignores the counters (and anything after them) unless run with
    // --counters; they are kept here when they are well-formed.
    let counters = toks
        .get(2)
        .and_then(|t| parse_counters(t.as_str()))
        .unwrap_or_default();
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
            push_chain(
                tb,
                name,
                policy,
                counters,
                Pos {
                    line,
                    col: name_tok.col,
                },
            );
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
        insert_at,
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
    let mut jump_index = None;
    if let Some(to) = jump_to {
        if builtins.contains(&to) {
            return Err(err(
                jump_col,
                format!("cannot jump to built-in chain `{to}`"),
            ));
        }
        jump_index = tb.index.get(to).copied();
        if jump_index.is_none() {
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
    let idx = match tb.index.get(&*chain) {
        Some(&i) => i,
        None if builtins.contains(&&*chain) => builtin_index(tb, &chain, rule.pos),
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
    if let Some(to) = jump_index {
        tb.jumps.push(JumpEdge {
            from: idx,
            to,
            line,
            col: jump_col,
        });
    }
    hook_limits(idx, &rule, &places, &mut tb.limited);
    let mut at = tb.table.chains[idx].rules.len();
    if let Some((n, col)) = insert_at {
        if n as usize - 1 > at {
            return Err(err(
                col,
                format!("index of insertion too big: chain `{chain}` has {at} rules"),
            ));
        }
        at = n as usize - 1;
    }
    let c = &mut tb.table.chains[idx];
    let Some(rules) = expanded else {
        c.rules.insert(at, rule);
        return Ok(());
    };
    for (k, mut r) in rules.into_iter().enumerate() {
        r.counters = rule.counters;
        r.target = rule.target.clone();
        c.rules.insert(at + k, r);
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
    // Sort positions rather than the chains themselves (fewer bytes to move); names are
    // unique, so an unstable sort gives the same order.
    let mut order: Vec<u32> = (0..chains.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| {
        chains[a as usize]
            .name
            .as_bytes()
            .cmp(chains[b as usize].name.as_bytes())
    });
    let mut slots: Vec<Option<Chain>> = chains.into_iter().map(Some).collect();
    out.extend(
        order
            .into_iter()
            .map(|i| slots[i as usize].take().expect("each once")),
    );
    t.chains = out;
    t
}
