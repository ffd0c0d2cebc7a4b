//! One iptables command line (`iptables [-t T] -A/-I/-D/-R/-C/-N/-X/-F/-Z/-P/-E/-L/-S ...`),
//! parsed the way iptables 1.8.9's `do_parse` (iptables/xshared.c) reads its arguments:
//! the command and its positional arguments (chain, rule number, policy, new name), the
//! global options (`-t`, `-w`, `-v`, `-n`, ...), and the rule specification, which goes to
//! the rule parser. The same code serves `iptables-restore` lines (where `-t` and `-w` are
//! refused) and shell scripts of `iptables` commands.

use crate::error::ParseError;
use crate::lex::Token;
use crate::model::*;
use crate::parse_rule::{check_chain_name, parse_rule_args, Mode, Scratch};
use crate::parse_target::EXTENSION_TARGETS;
use std::borrow::Cow;

/// What one command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `-A CHAIN rule` (several rules for comma-separated `-s`/`-d` lists)
    Append { chain: String, rules: Vec<Rule> },
    /// `-I CHAIN [N] rule`: insert before rule N (1-based, default 1)
    Insert {
        chain: String,
        at: u32,
        rules: Vec<Rule>,
    },
    /// `-D CHAIN N`
    DeleteNum { chain: String, num: u32 },
    /// `-D CHAIN rule`: delete the first rule equal to each of these
    Delete { chain: String, rules: Vec<Rule> },
    /// `-R CHAIN N rule`
    Replace { chain: String, num: u32, rule: Rule },
    /// `-C CHAIN rule`: only checks; changes nothing
    Check { chain: String, rules: Vec<Rule> },
    /// `-N CHAIN`
    NewChain(String),
    /// `-X [CHAIN]`
    DeleteChain(Option<String>),
    /// `-F [CHAIN]`
    Flush(Option<String>),
    /// `-Z [CHAIN]`
    Zero(Option<String>),
    /// `-P CHAIN POLICY`
    Policy { chain: String, policy: Policy },
    /// `-E OLD NEW`
    Rename { from: String, to: String },
    /// `-L [CHAIN]` / `-S [CHAIN]`: print only; changes nothing
    List(Option<String>),
    /// `-h`, `-V`: iptables prints its usage or version and exits with status 0
    Help,
    /// A restore line for ip6tables (`-6`): iptables-restore skips it
    Ignored,
}

/// A command with its table and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandLine {
    pub table: TableName,
    pub command: Command,
    /// Position of the command option (`-A`, ...).
    pub pos: Pos,
    /// Lenient mode: what the rule parser kept verbatim (unknown matches and targets).
    pub warnings: Vec<ParseError>,
}

/// Where a command line comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// A line of an `iptables-restore` file: the table is given by `*table`; `-t` and
    /// `-w` are refused.
    Restore,
    /// An `iptables ...` command (the program name already removed).
    Command,
}

/// The command options, with the letter iptables names them by in messages.
const COMMANDS: &[(&str, &str, char)] = &[
    ("-A", "--append", 'A'),
    ("-C", "--check", 'C'),
    ("-D", "--delete", 'D'),
    ("-R", "--replace", 'R'),
    ("-I", "--insert", 'I'),
    ("-L", "--list", 'L'),
    ("-S", "--list-rules", 'S'),
    ("-F", "--flush", 'F'),
    ("-Z", "--zero", 'Z'),
    ("-N", "--new-chain", 'N'),
    ("-X", "--delete-chain", 'X'),
    ("-E", "--rename-chain", 'E'),
    ("-P", "--policy", 'P'),
];

/// Short options of the rule specification that take a value (`-s ADDR`, ...).
const RULE_SHORT_WITH_VALUE: &[&str] = &["-s", "-d", "-i", "-o", "-p", "-m", "-j", "-g"];

fn command_letter(s: &str) -> Option<char> {
    if s.len() > 2 && s.starts_with("--") {
        // `--list` is a prefix of `--list-rules`: an exact match wins.
        if let Some(c) = COMMANDS.iter().find(|c| c.1 == s) {
            return Some(c.2);
        }
        // getopt_long: any unambiguous prefix of a long option.
        let mut hits = COMMANDS.iter().filter(|(_, long, _)| long.starts_with(s));
        return match (hits.next(), hits.next()) {
            (Some(c), None) => Some(c.2),
            _ => None,
        };
    }
    COMMANDS.iter().find(|c| c.0 == s).map(|c| c.2)
}

fn is_long_prefix(s: &str, long: &str, min: usize) -> bool {
    s.len() >= min && long.starts_with(s)
}

/// iptables' own long options that are not part of a rule (`original_opts` in
/// iptables/xshared.c), with the short option they stand for.
const CORE_LONG: &[(&str, &str)] = &[
    ("--table", "-t"),
    ("--wait", "-w"),
    ("--wait-interval", "-W"),
    ("--verbose", "-v"),
    ("--numeric", "-n"),
    ("--exact", "-x"),
    ("--line-numbers", "--line-numbers"),
    ("--modprobe", "--modprobe"),
    ("--ipv4", "-4"),
    ("--ipv6", "-6"),
    ("--version", "-V"),
    ("--help", "-h"),
];

/// getopt_long: `--verb` is `--verbose` when no other core option starts with it.
/// (Match and target options are the rule parser's; an abbreviation shared with one of
/// them is left to it.)
fn core_long(s: &str) -> Option<&'static str> {
    if !s.starts_with("--") || s.len() < 3 {
        return None;
    }
    if let Some(c) = CORE_LONG.iter().find(|c| c.0 == s) {
        return Some(c.1);
    }
    let mut hits = CORE_LONG.iter().filter(|c| c.0.starts_with(s));
    let (Some(hit), None) = (hits.next(), hits.next()) else {
        return None;
    };
    // Rule options that share a prefix with a core option (`--in-interface`, ...).
    const RULE_LONG: &[&str] = &[
        "--in-interface",
        "--out-interface",
        "--insert",
        "--new-chain",
        "--help",
    ];
    let clash = RULE_LONG.iter().any(|r| r.starts_with(s) && hit.0 != *r);
    (!clash).then_some(hit.1)
}

/// A positional argument: present and not an option (iptables: `argv[optind][0] != '-'
/// && argv[optind][0] != '!'`).
fn positional<'t, 'a>(toks: &'t [Token<'a>], i: usize) -> Option<&'t Token<'a>> {
    toks.get(i)
        .filter(|t| !t.as_str().starts_with('-') && !t.as_str().starts_with('!'))
}

/// Expand a cluster of short options (`-nvL`, `-tnat`) like getopt does, for the options
/// of iptables itself; rule options (`-ptcp`) are left to the rule parser. `None` when
/// `t` is not such a cluster.
fn expand_cluster<'a>(t: &Token<'a>) -> Option<Vec<Token<'a>>> {
    // iptables' optstring: "-:A:C:D:R:I:L::S::M:F::Z::N:X::E:P:Vh::o:p:s:d:j:i:fbvw::W::nt:m:xc:g:46"
    const NOARG: &str = "Vvnxh46fb";
    const REQ: &str = "ACDRIMNEPt";
    const OPT: &str = "LSFZXwW";
    let mut out = Vec::new();
    {
        let s = t.as_str();
        let b = s.as_bytes();
        let core = b.len() > 2
            && b[0] == b'-'
            && b[1] != b'-'
            && (NOARG.contains(b[1] as char)
                || REQ.contains(b[1] as char)
                || OPT.contains(b[1] as char))
            && b[1] != b'f'
            && b[1] != b'b';
        if !core || !s.is_ascii() {
            return None;
        }
        let mut k = 1;
        while k < b.len() {
            let c = b[k] as char;
            let col = t.col + k as u32 - 1;
            out.push(Token {
                text: Cow::Owned(format!("-{c}")),
                col,
            });
            k += 1;
            if REQ.contains(c) || OPT.contains(c) {
                if k < b.len() {
                    out.push(Token {
                        text: Cow::Owned(s[k..].to_string()),
                        col: t.col + k as u32,
                    });
                }
                break;
            }
            if !NOARG.contains(c) {
                // A letter iptables itself does not know: leave the rest to the rule parser.
                if k < b.len() {
                    out.push(Token {
                        text: Cow::Owned(format!("-{}", &s[k..])),
                        col: t.col + k as u32,
                    });
                }
                break;
            }
        }
    }
    Some(out)
}

/// Parse one command line's arguments (without the program name).
/// `table` is the table in force (`*table` for a restore file, `filter` for a command).
pub(crate) fn parse_command(
    toks: &[Token],
    file: &str,
    line: u32,
    end_col: u32,
    table: TableName,
    ctx: Context,
    mode: Mode,
) -> Result<CommandLine, ParseError> {
    let mut scratch = CommandScratch::default();
    parse_command_in(
        toks,
        file,
        line,
        end_col,
        table,
        ctx,
        mode,
        &mut scratch,
        true,
    )
}

/// Buffers [`parse_command_in`] reuses from line to line.
#[derive(Debug, Default)]
pub(crate) struct CommandScratch<'a> {
    rest: Vec<Token<'a>>,
    rtoks: Vec<Token<'a>>,
    rule: Scratch,
}

/// [`parse_command`] with buffers kept between calls. With `build` false the line is
/// only checked, exactly as strictly: the rules of a rule command are left empty
/// (`iptables-restore --test` needs nothing more).
#[allow(clippy::too_many_arguments)]
pub(crate) fn parse_command_in<'a>(
    toks: &[Token<'a>],
    file: &str,
    line: u32,
    end_col: u32,
    table: TableName,
    ctx: Context,
    mode: Mode,
    scratch: &mut CommandScratch<'a>,
    build: bool,
) -> Result<CommandLine, ParseError> {
    let err = |col: u32, message: String| ParseError {
        file: file.to_string(),
        line,
        col,
        message,
    };
    // Copied only when a cluster of short options has to be split.
    let mut toks: Cow<[Token]> = Cow::Borrowed(toks);
    let mut table = table;
    let mut cmd: Option<(char, u32)> = None;
    // Positional arguments of the command.
    let mut chain: Option<Token> = None;
    let mut num: Option<(u32, u32)> = None;
    let mut second: Option<Token> = None;
    let rest = &mut scratch.rest;
    rest.clear();
    let mut list_only: Option<(String, u32)> = None;
    let mut help = false;
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let s = t.as_str();
        // A value of the previous rule option is never read as a command option.
        let after_opt = rest.last().is_some_and(|p: &Token<'a>| {
            let p = p.as_str();
            RULE_SHORT_WITH_VALUE.contains(&p) || (p.starts_with("--") && p.len() > 2)
        });
        if after_opt && s.starts_with('-') {
            rest.push(t.clone());
            i += 1;
            continue;
        }
        if let Some(parts) = expand_cluster(t) {
            toks.to_mut().splice(i..=i, parts);
            continue;
        }
        if let Some(c) = command_letter(s) {
            if let Some((prev, _)) = cmd {
                return Err(err(t.col, format!("cannot use -{c} with -{prev}")));
            }
            cmd = Some((c, t.col));
            i += 1;
            match c {
                'A' | 'C' | 'D' | 'R' | 'I' | 'N' | 'E' | 'P' => {
                    let Some(v) = toks.get(i) else {
                        return Err(err(end_col, format!("option `{s}` requires an argument")));
                    };
                    chain = Some(v.clone());
                    i += 1;
                    match c {
                        'D' | 'R' | 'I' => {
                            if let Some(n) = positional(&toks, i) {
                                let v = n
                                    .as_str()
                                    .parse::<u32>()
                                    .ok()
                                    .filter(|&x| x >= 1)
                                    .ok_or_else(|| {
                                        err(n.col, format!("invalid rule number `{}`", n.as_str()))
                                    })?;
                                num = Some((v, n.col));
                                i += 1;
                            } else if c == 'R' {
                                return Err(err(
                                    toks.get(i).map_or(end_col, |t| t.col),
                                    "-R requires a rule number".into(),
                                ));
                            }
                        }
                        'E' | 'P' => {
                            if let Some(n) = positional(&toks, i) {
                                second = Some(n.clone());
                                i += 1;
                            } else {
                                return Err(err(
                                    toks.get(i).map_or(end_col, |t| t.col),
                                    if c == 'E' {
                                        "-E requires old-chain-name and new-chain-name".into()
                                    } else {
                                        "-P requires a chain and a policy".into()
                                    },
                                ));
                            }
                        }
                        _ => {}
                    }
                }
                _ => {
                    // -L -S -F -Z -X: an optional chain.
                    if let Some(v) = positional(&toks, i) {
                        chain = Some(v.clone());
                        i += 1;
                        if matches!(c, 'L' | 'S' | 'Z') {
                            if let Some(n) = positional(&toks, i) {
                                if c != 'S' || n.as_str().parse::<u32>().is_err() {
                                    return Err(err(
                                        n.col,
                                        format!("bad argument `{}`", n.as_str()),
                                    ));
                                }
                                i += 1;
                            }
                        }
                    }
                }
            }
            continue;
        }
        i += 1;
        let s = core_long(s).unwrap_or(s);
        if s == "-t" || is_long_prefix(s, "--table", 3) {
            if ctx == Context::Restore {
                return Err(err(
                    t.col,
                    "the -t option cannot be used in iptables-restore (the table is given by `*table`)"
                        .into(),
                ));
            }
            let Some(v) = toks.get(i) else {
                return Err(err(end_col, format!("option `{s}` requires an argument")));
            };
            i += 1;
            table = TableName::parse(v.as_str()).ok_or_else(|| {
                err(
                    v.col,
                    format!(
                        "table `{}` does not exist; expected raw, mangle, nat, filter or security",
                        v.as_str()
                    ),
                )
            })?;
            continue;
        }
        if s == "-w"
            || is_long_prefix(s, "--wait", 4)
            || s == "-W"
            || is_long_prefix(s, "--wait-interval", 7)
        {
            if ctx == Context::Restore {
                return Err(err(
                    t.col,
                    format!("you cannot use `{s}` from iptables-restore"),
                ));
            }
            // An optional numeric value.
            if toks.get(i).is_some_and(|v| {
                !v.as_str().is_empty()
                    && v.as_str().bytes().all(|b| b.is_ascii_digit() || b == b'.')
            }) {
                i += 1;
            }
            continue;
        }
        match s {
            "-v" | "--verbose" | "-4" | "--ipv4" => continue,
            // iptables prints its version and exits (status 0).
            "-V" | "--version" => {
                help = true;
                continue;
            }
            "-6" | "--ipv6" => {
                if ctx == Context::Restore {
                    // iptables-restore skips the rest of a line meant for ip6tables.
                    return Ok(CommandLine {
                        table,
                        command: Command::Ignored,
                        pos: Pos { line, col: t.col },
                        warnings: Vec::new(),
                    });
                }
                return Err(err(
                    t.col,
                    "this is the IPv4 version of iptables (`-6` not allowed)".into(),
                ));
            }
            "-h" | "--help" => {
                help = true;
                continue;
            }
            "-n" | "--numeric" | "-x" | "--exact" | "--line-numbers" => {
                list_only.get_or_insert((s.to_string(), t.col));
                continue;
            }
            "--modprobe" => {
                i += 1;
                continue;
            }
            _ => {}
        }
        rest.push(t.clone());
    }
    if help {
        // iptables prints its usage and exits (status 0) before looking at anything else.
        return Ok(CommandLine {
            table,
            command: Command::Help,
            pos: Pos { line, col: 1 },
            warnings: Vec::new(),
        });
    }
    let Some((c, ccol)) = cmd else {
        if let Some(t) = rest.first() {
            if !t.as_str().starts_with('-') {
                return Err(err(t.col, format!("bad argument `{}`", t.as_str())));
            }
        }
        return Err(err(
            toks.first().map_or(1, |t| t.col),
            "no command specified; expected -A, -I, -D, -R, -C, -N, -X, -F, -Z, -P, -E, -L or -S"
                .into(),
        ));
    };
    let pos = Pos { line, col: ccol };
    let mut warnings = Vec::new();
    let rule_cmd = matches!(c, 'A' | 'C' | 'I' | 'R') || (c == 'D' && num.is_none());
    if let Some((o, col)) = &list_only {
        if c != 'L' {
            return Err(err(
                *col,
                format!("illegal option `{o}` with this command (-{c})"),
            ));
        }
    }
    if !rule_cmd {
        // Stray words come first (iptables reports them while reading the arguments).
        if let Some(t) = rest
            .iter()
            .find(|t| !t.as_str().starts_with('-') && t.as_str() != "!")
        {
            return Err(err(t.col, format!("bad argument `{}`", t.as_str())));
        }
        if let Some(t) = rest.first() {
            return Err(err(
                t.col,
                format!("illegal option `{}` with this command (-{c})", t.as_str()),
            ));
        }
    }
    let chain_name = |t: &Token| -> Result<String, ParseError> {
        let a = crate::args::Args::new(&[], file, line, end_col);
        check_chain_name(&a, t)?;
        Ok(t.as_str().to_string())
    };
    let command = match c {
        'A' | 'C' | 'I' | 'R' | 'D' if rule_cmd => {
            let ch = chain.clone().expect("rule commands have a chain");
            // Hand the rule to the rule parser as `-A CHAIN spec...`.
            let rtoks = &mut scratch.rtoks;
            rtoks.clear();
            rtoks.push(Token {
                text: Cow::Borrowed("-A"),
                col: ccol,
            });
            rtoks.push(ch);
            rtoks.extend(rest.iter().cloned());
            let p = parse_rule_args(rtoks, file, line, end_col, mode, &mut scratch.rule)?;
            if table == TableName::Nat && p.rule.target == Some(Target::Drop) {
                // iptables' own check (xshared.c do_parse), before anything reaches the kernel.
                return Err(err(
                    p.places.target_col,
                    "the nat table is not intended for filtering, the use of DROP is therefore inhibited"
                        .into(),
                ));
            }
            // One rule per source-destination combination (see ParsedRule::expand).
            let count = p.srcs.len().max(1) * p.dsts.len().max(1);
            let mut rules = if build { p.expand() } else { Vec::new() };
            warnings = p.warnings;
            let chain = p.chain.into_owned();
            match c {
                'A' => Command::Append { chain, rules },
                'C' => Command::Check { chain, rules },
                'D' => Command::Delete { chain, rules },
                'I' => Command::Insert {
                    chain,
                    at: num.map_or(1, |n| n.0),
                    rules,
                },
                _ => {
                    if count != 1 {
                        return Err(err(
                            ccol,
                            "-R takes one rule: no comma-separated source or destination lists"
                                .into(),
                        ));
                    }
                    Command::Replace {
                        chain,
                        num: num.map_or(1, |n| n.0),
                        rule: rules.pop().unwrap_or(p.rule),
                    }
                }
            }
        }
        'D' => Command::DeleteNum {
            chain: chain_name(&chain.clone().expect("-D has a chain"))?,
            num: num.map_or(1, |n| n.0),
        },
        'N' => {
            let t = chain.clone().expect("-N has a chain");
            let name = chain_name(&t)?;
            if EXTENSION_TARGETS.contains(&name.as_str()) {
                return Err(err(
                    t.col,
                    "chain name may not clash with target name".into(),
                ));
            }
            Command::NewChain(name)
        }
        'E' => {
            let from = chain_name(&chain.clone().expect("-E has a chain"))?;
            let t = second.clone().expect("-E has a new name");
            let to = chain_name(&t)?;
            if EXTENSION_TARGETS.contains(&to.as_str()) {
                return Err(err(
                    t.col,
                    "chain name may not clash with target name".into(),
                ));
            }
            Command::Rename { from, to }
        }
        'P' => {
            let ch = chain.clone().expect("-P has a chain");
            let pol = second.clone().expect("-P has a policy");
            let policy = match pol.as_str() {
                "ACCEPT" => Policy::Accept,
                "DROP" => Policy::Drop,
                other => {
                    if ctx == Context::Restore {
                        // iptables-nft checks the policy name only when it commits.
                        Policy::Accept
                    } else {
                        return Err(err(
                            pol.col,
                            format!("bad policy name `{other}`; expected ACCEPT or DROP"),
                        ));
                    }
                }
            };
            if table == TableName::Nat && pol.as_str() == "DROP" {
                return Err(err(
                    pol.col,
                    "the nat table is not intended for filtering, the use of DROP is therefore inhibited"
                        .into(),
                ));
            }
            Command::Policy {
                chain: chain_name(&ch)?,
                policy,
            }
        }
        'X' => Command::DeleteChain(chain.as_ref().map(chain_name).transpose()?),
        'F' => Command::Flush(chain.as_ref().map(chain_name).transpose()?),
        'Z' => Command::Zero(chain.as_ref().map(chain_name).transpose()?),
        _ => Command::List(chain.as_ref().map(chain_name).transpose()?),
    };
    Ok(CommandLine {
        table,
        command,
        pos,
        warnings,
    })
}
