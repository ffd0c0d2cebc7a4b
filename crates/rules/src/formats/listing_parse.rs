//! Turning `iptables -L` listings (any of `-n`, `-v`, `-x`, `--line-numbers`; also the
//! slightly older layouts pasted in blog posts) back into rules, as far as the listing
//! shows them. Each rule line is translated into the iptables arguments that print it
//! (`tcp dpt:80` is `-m tcp --dport 80`, `to:172.17.0.2:11211` is
//! `--to-destination 172.17.0.2:11211`, ...) and those go through the rule parser, so the
//! result is the same model a save file gives. What a listing does not show is reported
//! in [`Lossy`]: interfaces without `-v`, names without `-n`, rounded counters, hashlimit
//! names, and any text no print function of the model makes (kept verbatim as an
//! unknown match so that the rule is not silently widened).

use super::listing::ICMP_CODES;
use crate::error::ParseError;
use crate::lex::Token;
use crate::model::*;
use crate::parse_rule::{parse_rule_args, Mode, Scratch};
use std::borrow::Cow;

/// Something the listing does not show, or shows in a way we cannot turn back exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lossy {
    pub line: u32,
    pub col: u32,
    pub what: String,
}

/// A parsed listing: the rules recovered, and what could not be.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedListing {
    pub ruleset: Ruleset,
    pub lossy: Vec<Lossy>,
}

/// One word of a listing line and its column.
#[derive(Debug, Clone)]
struct W<'a> {
    s: &'a str,
    col: u32,
    /// Byte offset in the line.
    off: usize,
}

fn words(line: &str) -> Vec<W<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    let mut col = 0u32;
    let mut start_col = 0;
    for (i, c) in line.char_indices() {
        col += 1;
        if c == ' ' || c == '\t' {
            if let Some(s) = start.take() {
                out.push(W {
                    s: &line[s..i],
                    col: start_col,
                    off: s,
                });
            }
        } else if start.is_none() {
            start = Some(i);
            start_col = col;
        }
    }
    if let Some(s) = start {
        out.push(W {
            s: &line[s..],
            col: start_col,
            off: s,
        });
    }
    out
}

/// Which columns the listing has (from its column header line).
#[derive(Debug, Clone, Copy, Default)]
struct Columns {
    num: bool,
    counters: bool,
    via: bool,
}

/// Parse a listing of table `table` (`iptables -t TABLE -L ...` output; several chains).
/// Lines that are neither a chain header, a column header nor a rule are errors.
pub fn parse_listing(
    text: &str,
    file: &str,
    table: TableName,
) -> Result<ParsedListing, ParseError> {
    let err = |line: u32, col: u32, message: String| ParseError {
        file: file.to_string(),
        line,
        col,
        message,
    };
    // First pass: chain names (a target naming one of them is a jump).
    let mut chains: Vec<Chain> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Chain ") {
            if let Some(name) = rest.split(' ').next() {
                chains.push(Chain {
                    name: name.to_string(),
                    policy: None,
                    counters: Counters::default(),
                    rules: Vec::new(),
                    pos: Pos::default(),
                });
            }
        }
    }
    let names: Vec<String> = chains.iter().map(|c| c.name.clone()).collect();
    let mut out = ParsedListing::default();
    let mut cur: Option<usize> = None;
    let mut cols: Option<Columns> = None;
    let mut noted_no_via = false;
    let mut noted_rounded = false;
    let mut scratch = Scratch::default();
    for (i, raw) in text.lines().enumerate() {
        let lineno = i as u32 + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("Chain ") {
            let (ci, c) = header(rest, lineno, &err, &chains)?;
            chains[ci].policy = c.policy;
            chains[ci].counters = c.counters;
            chains[ci].pos = Pos {
                line: lineno,
                col: 7,
            };
            if c.rounded && !noted_rounded {
                noted_rounded = true;
                out.lossy.push(Lossy {
                    line: lineno,
                    col: 1,
                    what: "counters are shown rounded (K, M, G units); list with -x for exact counters".into(),
                });
            }
            cur = Some(ci);
            cols = None;
            continue;
        }
        let Some(ci) = cur else {
            return Err(err(
                lineno,
                1,
                "expected `Chain NAME (policy ...)` or `Chain NAME (N references)` before this line".into(),
            ));
        };
        let ws = words(line);
        if cols.is_none() {
            // The column header: [num] [pkts bytes] target prot opt [in out] source destination
            let has = |w: &str| ws.iter().any(|x| x.s == w);
            if !(has("target") && has("prot") && has("source")) {
                return Err(err(
                    lineno,
                    1,
                    "expected the column header (`target prot opt source destination`, with `num`, `pkts bytes`, `in out` as listed)".into(),
                ));
            }
            let c = Columns {
                num: has("num"),
                counters: has("pkts"),
                via: has("in") && has("out"),
            };
            if !c.via && !noted_no_via {
                noted_no_via = true;
                out.lossy.push(Lossy {
                    line: lineno,
                    col: 1,
                    what: "a listing without -v does not show interfaces (-i/-o) or counters: rules that name an interface come out without it".into(),
                });
            }
            cols = Some(c);
            continue;
        }
        let c = cols.expect("set above");
        let (rule, lossy, rounded) = rule_line(
            line,
            &ws,
            c,
            lineno,
            file,
            &chains[ci].name,
            &names,
            table,
            &mut scratch,
        )?;
        if rounded && !noted_rounded {
            noted_rounded = true;
            out.lossy.push(Lossy {
                line: lineno,
                col: 1,
                what: "counters are shown rounded (K, M, G units); list with -x for exact counters"
                    .into(),
            });
        }
        out.lossy.extend(lossy);
        chains[ci].rules.push(rule);
    }
    if chains.is_empty() {
        return Ok(out);
    }
    // Jumps to chains the listing does not show (`iptables -L FORWARD`): the chains exist,
    // but what they hold is unknown.
    let mut missing: Vec<(String, u32)> = Vec::new();
    for c in &chains {
        for r in &c.rules {
            if let Some(Target::Jump(to)) | Some(Target::Goto(to)) = &r.target {
                if !chains.iter().any(|x| &x.name == to) && !missing.iter().any(|m| &m.0 == to) {
                    missing.push((to.clone(), r.pos.line));
                }
            }
        }
    }
    for (name, line) in missing {
        out.lossy.push(Lossy {
            line,
            col: 1,
            what: format!("chain `{name}` is jumped to but not listed; it is added empty"),
        });
        chains.push(Chain {
            name,
            policy: None,
            counters: Counters::default(),
            rules: Vec::new(),
            pos: Pos::default(),
        });
    }
    // Built-in chains the listing did not show exist all the same (policy ACCEPT).
    let mut t = Table {
        name: table,
        chains,
        pos: Pos { line: 1, col: 1 },
    };
    for b in table.builtin_chains() {
        if t.chain(b).is_none() {
            t.chains.push(Chain {
                name: b.to_string(),
                policy: Some(Policy::Accept),
                counters: Counters::default(),
                rules: Vec::new(),
                pos: Pos::default(),
            });
        }
    }
    for c in &mut t.chains {
        if table.builtin_chains().contains(&c.name.as_str()) && c.policy.is_none() {
            c.policy = Some(Policy::Accept);
        }
    }
    out.ruleset.tables.push(t);
    Ok(out)
}

struct Header {
    policy: Option<Policy>,
    counters: Counters,
    rounded: bool,
}

/// `NAME (policy ACCEPT [N packets, M bytes])` or `NAME (N references)`.
fn header(
    rest: &str,
    line: u32,
    err: &dyn Fn(u32, u32, String) -> ParseError,
    chains: &[Chain],
) -> Result<(usize, Header), ParseError> {
    let name = rest.split(' ').next().unwrap_or("");
    let ci = chains
        .iter()
        .position(|c| c.name == name)
        .expect("collected in the first pass");
    let after = rest[name.len()..].trim();
    let inner = after
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| {
            err(
                line,
                7 + name.len() as u32 + 1,
                "expected `(policy POLICY ...)` or `(N references)` after the chain name".into(),
            )
        })?;
    let mut h = Header {
        policy: None,
        counters: Counters::default(),
        rounded: false,
    };
    if let Some(p) = inner.strip_prefix("policy ") {
        let mut f = p.split([' ', ',']).filter(|s| !s.is_empty());
        h.policy = match f.next() {
            Some("ACCEPT") => Some(Policy::Accept),
            Some("DROP") => Some(Policy::Drop),
            other => {
                return Err(err(
                    line,
                    1,
                    format!(
                        "bad policy `{}`; expected ACCEPT or DROP",
                        other.unwrap_or("")
                    ),
                ))
            }
        };
        let nums: Vec<&str> = f.filter(|s| *s != "packets" && *s != "bytes").collect();
        if nums.len() == 2 {
            let (p, r1) = count(nums[0]);
            let (b, r2) = count(nums[1]);
            h.counters = Counters {
                packets: p,
                bytes: b,
            };
            h.rounded = r1 || r2;
        }
    } else if !inner.ends_with("references") && !inner.ends_with("reference") {
        return Err(err(
            line,
            1,
            format!("expected `(policy POLICY ...)` or `(N references)`, found `({inner})`"),
        ));
    }
    Ok((ci, h))
}

/// A counter as xtables_print_num prints it: `123`, `1282M`. (value, rounded)
fn count(s: &str) -> (u64, bool) {
    let (num, mult) = match s.chars().last() {
        Some('K') => (&s[..s.len() - 1], 1_000),
        Some('M') => (&s[..s.len() - 1], 1_000_000),
        Some('G') => (&s[..s.len() - 1], 1_000_000_000),
        Some('T') => (&s[..s.len() - 1], 1_000_000_000_000),
        _ => (s, 1),
    };
    (num.parse::<u64>().unwrap_or(0) * mult, mult != 1)
}

fn is_opt(s: &str) -> bool {
    matches!(s, "--" | "-f" | "!f")
}

/// Builds the argument list of one rule, with columns for error messages.
struct Args<'a> {
    toks: Vec<Token<'a>>,
}

impl<'a> Args<'a> {
    fn push(&mut self, s: impl Into<Cow<'a, str>>, col: u32) {
        self.toks.push(Token {
            text: s.into(),
            col,
        });
    }
}

#[allow(clippy::too_many_arguments)]
fn rule_line(
    line: &str,
    ws: &[W],
    c: Columns,
    lineno: u32,
    file: &str,
    chain: &str,
    chains: &[String],
    table: TableName,
    scratch: &mut Scratch,
) -> Result<(Rule, Vec<Lossy>, bool), ParseError> {
    let err = |col: u32, message: String| ParseError {
        file: file.to_string(),
        line: lineno,
        col,
        message,
    };
    let mut lossy = Vec::new();
    let mut k = 0;
    if c.num {
        k += 1;
    }
    let mut counters = None;
    let mut rounded = false;
    if c.counters {
        let (Some(p), Some(b)) = (ws.get(k), ws.get(k + 1)) else {
            return Err(err(1, "expected packet and byte counters".into()));
        };
        let (packets, r1) = count(p.s);
        let (bytes, r2) = count(b.s);
        counters = Some(Counters { packets, bytes });
        rounded = r1 || r2;
        k += 2;
    }
    // target (may be empty), prot, opt
    let target = if ws.get(k + 2).is_some_and(|w| is_opt(w.s)) {
        k += 1;
        Some(&ws[k - 1])
    } else if ws.get(k + 1).is_some_and(|w| is_opt(w.s)) {
        None
    } else {
        return Err(err(
            ws.get(k).map_or(1, |w| w.col),
            "expected `[target] prot opt` columns (opt is `--`, `-f` or `!f`)".into(),
        ));
    };
    let prot = &ws[k];
    let opt = &ws[k + 1];
    k += 2;
    let mut a = Args { toks: Vec::new() };
    a.push("-A", 1);
    a.push(chain.to_string(), 1);
    // prot: `6`, `tcp`, `!50`, `all`
    let (pneg, pname) = match prot.s.strip_prefix('!') {
        Some(p) => (true, p),
        None => (false, prot.s),
    };
    if pname != "0" && pname != "all" {
        if pneg {
            a.push("!", prot.col);
        }
        a.push("-p", prot.col);
        a.push(pname.to_string(), prot.col + u32::from(pneg));
    }
    match opt.s {
        "-f" => a.push("-f", opt.col),
        "!f" => {
            a.push("!", opt.col);
            a.push("-f", opt.col);
        }
        _ => {}
    }
    if c.via {
        for (flag, w) in [("-i", ws.get(k)), ("-o", ws.get(k + 1))] {
            let Some(w) = w else {
                return Err(err(
                    line.len() as u32 + 1,
                    "expected the in and out columns".into(),
                ));
            };
            let (neg, name) = match w.s.strip_prefix('!') {
                Some(n) => (true, n),
                None => (false, w.s),
            };
            if name != "*" && name != "any" {
                if neg {
                    a.push("!", w.col);
                }
                a.push(flag, w.col);
                a.push(name.to_string(), w.col + u32::from(neg));
            }
        }
        k += 2;
    }
    for (flag, w) in [("-s", ws.get(k)), ("-d", ws.get(k + 1))] {
        let Some(w) = w else {
            return Err(err(
                line.len() as u32 + 1,
                "expected the source and destination columns".into(),
            ));
        };
        let (neg, addr) = match w.s.strip_prefix('!') {
            Some(n) => (true, n),
            None => (false, w.s),
        };
        if addr == "0.0.0.0/0" || addr == "anywhere" {
            if neg {
                a.push("!", w.col);
                a.push(flag, w.col);
                a.push("0.0.0.0/0", w.col);
            }
            continue;
        }
        if !addr.starts_with(|ch: char| ch.is_ascii_digit()) {
            lossy.push(Lossy {
                line: lineno,
                col: w.col,
                what: format!(
                    "`{addr}` is a host name (listed without -n); the rule is kept without this address, so it matches more than the real one"
                ),
            });
            continue;
        }
        if neg {
            a.push("!", w.col);
        }
        a.push(flag, w.col);
        a.push(addr.to_string(), w.col + u32::from(neg));
    }
    k += 2;
    let mut goto = false;
    if ws.get(k).is_some_and(|w| w.s == "[goto]") {
        goto = true;
        k += 1;
    }
    let tname = target.map(|t| t.s);
    let rest = &ws[k..];
    let mut p = Rest {
        ws: rest,
        i: 0,
        line,
        lineno,
        lossy: &mut lossy,
    };
    let with_file = |mut e: ParseError| {
        e.file = file.to_string();
        e
    };
    let mut unknown = Vec::new();
    p.matches(&mut a, tname, &mut unknown).map_err(with_file)?;
    let mut unknown_target_args = Vec::new();
    if let Some(t) = target {
        let is_chain = chains.iter().any(|c| c == t.s);
        a.push(if goto { "-g" } else { "-j" }, t.col);
        a.push(t.s.to_string(), t.col);
        if !is_chain {
            if KNOWN_TARGETS.contains(&t.s) {
                p.target(&mut a, t.s).map_err(with_file)?;
            } else if !matches!(
                crate::parse_target::lookup(t.s),
                crate::parse_target::TargetKind::Chain
            ) {
                // A target extension the model does not know: its print text is kept.
                unknown_target_args = p.ws[p.i..].iter().map(|w| w.s.to_string()).collect();
                p.i = p.ws.len();
                p.lossy.push(Lossy {
                    line: lineno,
                    col: t.col,
                    what: format!("target `{}` is not in the model; kept verbatim", t.s),
                });
            }
        }
    }
    if p.i < p.ws.len() {
        let w = &p.ws[p.i];
        return Err(err(
            w.col,
            format!(
                "unexpected `{}` at the end of the rule; no match or target prints it",
                &line[w.off..]
            ),
        ));
    }
    let end = line.chars().count() as u32 + 1;
    let parsed = parse_rule_args(&a.toks, file, lineno, end, Mode::Lenient, scratch)?;
    let mut rule = parsed.rule;
    rule.counters = counters;
    for (name, args) in unknown {
        rule.matches.push(Match::Unknown { name, args });
    }
    if let Some(Target::Unknown { args, .. }) = &mut rule.target {
        *args = unknown_target_args;
    }
    rule.pos = Pos {
        line: lineno,
        col: 1,
    };
    let _ = table;
    Ok((rule, lossy, rounded))
}

/// The match and target text after the address columns.
struct Rest<'w, 'a, 'l> {
    ws: &'w [W<'a>],
    i: usize,
    line: &'a str,
    lineno: u32,
    lossy: &'l mut Vec<Lossy>,
}

/// conntrack's print order (conntrack_dump): a repeated or earlier option starts a new
/// `-m conntrack`.
const CT_ORDER: &[&str] = &[
    "ctstate",
    "ctproto",
    "ctorigsrc",
    "ctorigdst",
    "ctreplsrc",
    "ctrepldst",
    "ctorigsrcport",
    "ctorigdstport",
    "ctreplsrcport",
    "ctrepldstport",
    "ctstatus",
    "ctexpire",
    "ctdir",
];

/// Targets whose print text [`Rest::target`] reads back.
const KNOWN_TARGETS: &[&str] = &[
    "ACCEPT",
    "DROP",
    "RETURN",
    "REJECT",
    "LOG",
    "NFLOG",
    "MARK",
    "CONNMARK",
    "DNAT",
    "SNAT",
    "MASQUERADE",
    "REDIRECT",
    "CT",
    "NOTRACK",
    "TRACE",
    "CHECKSUM",
    "TCPMSS",
];

/// Words that begin a target's print text (so the matches end there).
fn starts_target(tname: Option<&str>, w: &str) -> bool {
    match tname {
        Some("REJECT") => w == "reject-with",
        Some("LOG") => w == "LOG",
        Some("NFLOG") => w.starts_with("nflog-"),
        Some("MARK") => w == "MARK",
        Some("CONNMARK") => w == "CONNMARK",
        Some("DNAT") | Some("SNAT") => w.starts_with("to:"),
        Some("MASQUERADE") => matches!(w, "masq" | "random" | "random-fully"),
        Some("REDIRECT") => matches!(w, "redir" | "random"),
        Some("CT") => matches!(w, "CT" | "NOTRACK"),
        Some("CHECKSUM") => w == "CHECKSUM",
        Some("TCPMSS") => w == "TCPMSS",
        _ => false,
    }
}

impl<'a> Rest<'_, 'a, '_> {
    fn peek(&self) -> Option<&'a str> {
        self.ws.get(self.i).map(|w| w.s)
    }
    fn peek_at(&self, k: usize) -> Option<&'a str> {
        self.ws.get(self.i + k).map(|w| w.s)
    }
    fn col(&self) -> u32 {
        self.ws
            .get(self.i)
            .map_or(self.line.chars().count() as u32 + 1, |w| w.col)
    }
    fn next(&mut self) -> Option<&'a str> {
        let w = self.ws.get(self.i)?;
        self.i += 1;
        Some(w.s)
    }
    fn err(&self, message: String) -> ParseError {
        ParseError {
            file: String::new(),
            line: self.lineno,
            col: self.col(),
            message,
        }
    }
    fn want(&mut self, what: &str) -> Result<&'a str, ParseError> {
        self.next()
            .ok_or_else(|| self.err(format!("expected {what} at the end of the line")))
    }
    fn bang(&mut self) -> bool {
        if self.peek() == Some("!") {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn matches(
        &mut self,
        a: &mut Args<'a>,
        tname: Option<&str>,
        unknown: &mut Vec<(String, Vec<String>)>,
    ) -> Result<(), ParseError> {
        let mut ct_last: Option<usize> = None;
        while let Some(w) = self.peek() {
            if starts_target(tname, w) {
                return Ok(());
            }
            let col = self.col();
            // conntrack options, possibly after `!`
            let (neg_next, word) = if w == "!" {
                (true, self.peek_at(1).unwrap_or(""))
            } else {
                (false, w)
            };
            if let Some(pos) = CT_ORDER.iter().position(|o| *o == word) {
                if ct_last.is_none_or(|l| pos <= l) {
                    a.push("-m", col);
                    a.push("conntrack", col);
                }
                ct_last = Some(pos);
                self.i += usize::from(neg_next) + 1;
                let v = self.want("a value")?;
                if neg_next {
                    a.push("!", col);
                }
                a.push(format!("--{word}"), col);
                a.push(v.to_string(), col);
                continue;
            }
            ct_last = None;
            match word {
                "state" => {
                    self.i += usize::from(neg_next) + 1;
                    let v = self.want("states")?;
                    a.push("-m", col);
                    a.push("state", col);
                    if neg_next {
                        a.push("!", col);
                    }
                    a.push("--state", col);
                    a.push(v.to_string(), col);
                }
                "recent:" => {
                    self.i += usize::from(neg_next) + 1;
                    self.recent(a, neg_next, col)?;
                }
                "owner" => {
                    a.push("-m", col);
                    a.push("owner", col);
                    // consecutive owner items belong to one match
                    loop {
                        let neg = self.bang();
                        if self.peek() != Some("owner") {
                            if neg {
                                self.i -= 1;
                            }
                            break;
                        }
                        self.i += 1;
                        match self.want("UID, GID or socket")? {
                            "socket" => {
                                self.want("`exists`")?;
                                if neg {
                                    a.push("!", col);
                                }
                                a.push("--socket-exists", col);
                            }
                            kind @ ("UID" | "GID") => {
                                self.want("`match`")?;
                                let v = self.want("an id")?;
                                if !v.bytes().next().is_some_and(|b| b.is_ascii_digit())
                                    && v != "root"
                                {
                                    self.lossy.push(Lossy {
                                        line: self.lineno,
                                        col,
                                        what: format!("owner `{v}` is a name (listed without -n) that only the system's user database turns back into an id; this owner test is left out, so the rule matches more than the real one"),
                                    });
                                    continue;
                                }
                                if neg {
                                    a.push("!", col);
                                }
                                a.push(
                                    if kind == "UID" {
                                        "--uid-owner"
                                    } else {
                                        "--gid-owner"
                                    },
                                    col,
                                );
                                a.push(v.to_string(), col);
                            }
                            other => return Err(self.err(format!("unexpected `owner {other}`"))),
                        }
                    }
                }
                _ if neg_next => {
                    return Err(self.err(format!("unexpected `! {word}`: no match prints it")));
                }
                "tcp" | "udp" => {
                    self.i += 1;
                    a.push("-m", col);
                    a.push(word, col);
                    self.ports_options(a, word == "tcp")?;
                }
                "icmp" | "icmptype" => {
                    self.i += 1;
                    self.icmp(a, word, col)?;
                }
                "multiport" => {
                    self.i += 1;
                    let kind = self.want("sports, dports or ports")?;
                    let opt = match kind {
                        "sports" => "--sports",
                        "dports" => "--dports",
                        "ports" => "--ports",
                        _ => return Err(self.err(format!("unexpected multiport `{kind}`"))),
                    };
                    let v = self.want("ports")?;
                    let (neg, list) = match v.strip_prefix('!') {
                        Some(l) => (true, l),
                        None => (false, v),
                    };
                    a.push("-m", col);
                    a.push("multiport", col);
                    if neg {
                        a.push("!", col);
                    }
                    a.push(opt, col);
                    a.push(list.to_string(), col);
                }
                "ADDRTYPE" => {
                    self.i += 1;
                    if self.peek() == Some("match") {
                        self.i += 1;
                    }
                    a.push("-m", col);
                    a.push("addrtype", col);
                    loop {
                        match self.peek() {
                            Some(k @ ("src-type" | "dst-type")) => {
                                self.i += 1;
                                let v = self.want("address types")?;
                                let (neg, v) = match v.strip_prefix('!') {
                                    Some(x) => (true, x),
                                    None => (false, v),
                                };
                                if neg {
                                    a.push("!", col);
                                }
                                a.push(
                                    if k == "src-type" {
                                        "--src-type"
                                    } else {
                                        "--dst-type"
                                    },
                                    col,
                                );
                                a.push(v.to_string(), col);
                            }
                            Some("limit-in") => {
                                self.i += 1;
                                a.push("--limit-iface-in", col);
                            }
                            Some("limit-out") => {
                                self.i += 1;
                                a.push("--limit-iface-out", col);
                            }
                            _ => break,
                        }
                    }
                }
                "mark" | "connmark" if self.peek_at(1) == Some("match") => {
                    self.i += 2;
                    let neg = self.bang();
                    let v = self.want("a mark")?;
                    a.push("-m", col);
                    a.push(word, col);
                    if neg {
                        a.push("!", col);
                    }
                    a.push("--mark", col);
                    a.push(v.to_string(), col);
                }
                "/*" => {
                    // The comment runs to the next ` */` (comments are printed raw).
                    let w0 = &self.ws[self.i];
                    let start = w0.off + 3;
                    let text = &self.line[start.min(self.line.len())..];
                    let Some(end) = text.find(" */").or_else(|| (text == "*/").then_some(0)) else {
                        return Err(self.err("unterminated comment: expected ` */`".into()));
                    };
                    let comment = &text[..end];
                    let stop = start + end + 3;
                    while self.i < self.ws.len() && self.ws[self.i].off < stop {
                        self.i += 1;
                    }
                    a.push("-m", col);
                    a.push("comment", col);
                    a.push("--comment", col);
                    a.push(comment.to_string(), col);
                }
                "statistic" => {
                    self.i += 1;
                    self.statistic(a, col)?;
                }
                "limit:" => {
                    self.i += 1;
                    self.limit(a, col)?;
                }
                "source" | "destination" if self.peek_at(1) == Some("IP") => {
                    a.push("-m", col);
                    a.push("iprange", col);
                    while let Some(k @ ("source" | "destination")) = self.peek() {
                        if self.peek_at(1) != Some("IP") {
                            break;
                        }
                        self.i += 3; // source IP range
                        let neg = self.bang();
                        let v = self.want("an address range")?;
                        if neg {
                            a.push("!", col);
                        }
                        a.push(
                            if k == "source" {
                                "--src-range"
                            } else {
                                "--dst-range"
                            },
                            col,
                        );
                        a.push(v.to_string(), col);
                    }
                }
                "PHYSDEV" => {
                    self.i += 1;
                    if self.peek() == Some("match") {
                        self.i += 1;
                    }
                    a.push("-m", col);
                    a.push("physdev", col);
                    loop {
                        let neg = self.bang();
                        match self.peek() {
                            Some(o @ ("--physdev-in" | "--physdev-out")) => {
                                self.i += 1;
                                let v = self.want("a device")?;
                                if neg {
                                    a.push("!", col);
                                }
                                a.push(o, col);
                                a.push(v.to_string(), col);
                            }
                            Some(
                                o @ ("--physdev-is-in"
                                | "--physdev-is-out"
                                | "--physdev-is-bridged"),
                            ) => {
                                self.i += 1;
                                if neg {
                                    a.push("!", col);
                                }
                                a.push(o, col);
                            }
                            _ => {
                                if neg {
                                    self.i -= 1;
                                }
                                break;
                            }
                        }
                    }
                }
                "MAC" => {
                    self.i += 1;
                    let neg = self.bang();
                    let v = self.want("a MAC address")?;
                    a.push("-m", col);
                    a.push("mac", col);
                    if neg {
                        a.push("!", col);
                    }
                    a.push("--mac-source", col);
                    a.push(v.to_string(), col);
                }
                "PKTTYPE" => {
                    self.i += 1;
                    let op = self.want("`=` or `!=`")?;
                    let v = self.want("a packet type")?;
                    a.push("-m", col);
                    a.push("pkttype", col);
                    if op == "!=" {
                        a.push("!", col);
                    }
                    a.push("--pkt-type", col);
                    a.push(v.to_string(), col);
                }
                "#conn" => {
                    self.i += 1;
                    let sm = self.want("src/N or dst/N")?;
                    let op = self.want("`>` or `<=`")?;
                    let n = self.want("a limit")?;
                    let (side, mask) = sm.split_once('/').unwrap_or((sm, "32"));
                    a.push("-m", col);
                    a.push("connlimit", col);
                    a.push(
                        if op == "<=" {
                            "--connlimit-upto"
                        } else {
                            "--connlimit-above"
                        },
                        col,
                    );
                    a.push(n.to_string(), col);
                    a.push("--connlimit-mask", col);
                    a.push(mask.to_string(), col);
                    a.push(
                        if side == "dst" {
                            "--connlimit-daddr"
                        } else {
                            "--connlimit-saddr"
                        },
                        col,
                    );
                }
                "rpfilter" => {
                    self.i += 1;
                    a.push("-m", col);
                    a.push("rpfilter", col);
                    while let Some(f @ ("loose" | "validmark" | "accept-local" | "invert")) =
                        self.peek()
                    {
                        self.i += 1;
                        a.push(format!("--{f}"), col);
                    }
                }
                _ => {
                    // No print function of the model makes this: keep the rest of the
                    // matches verbatim so that the rule is not widened.
                    let mut j = self.i;
                    while j < self.ws.len() && !starts_target(tname, self.ws[j].s) {
                        j += 1;
                    }
                    let start = self.ws[self.i].off;
                    let end = self.ws[j - 1].off + self.ws[j - 1].s.len();
                    let text = &self.line[start..end];
                    self.lossy.push(Lossy {
                        line: self.lineno,
                        col,
                        what: format!("`{text}` is printed by a match the model does not know; kept verbatim as an unknown match (treated as \"may match\")"),
                    });
                    unknown.push((
                        "?".to_string(),
                        self.ws[self.i..j].iter().map(|w| w.s.to_string()).collect(),
                    ));
                    self.i = j;
                }
            }
        }
        Ok(())
    }

    /// tcp/udp: `spt:80 spts:!1:2 dpt:x dpts:a:b option=!2 flags:!0x17/0x02`
    fn ports_options(&mut self, a: &mut Args<'a>, tcp: bool) -> Result<(), ParseError> {
        while let Some(w) = self.peek() {
            let col = self.col();
            let (opt, v) =
                if let Some(v) = w.strip_prefix("spt:").or_else(|| w.strip_prefix("spts:")) {
                    ("--sport", v)
                } else if let Some(v) = w.strip_prefix("dpt:").or_else(|| w.strip_prefix("dpts:")) {
                    ("--dport", v)
                } else if let Some(v) = w.strip_prefix("option=").filter(|_| tcp) {
                    ("--tcp-option", v)
                } else if let Some(v) = w.strip_prefix("flags:").filter(|_| tcp) {
                    ("--tcp-flags", v)
                } else {
                    return Ok(());
                };
            self.i += 1;
            let (neg, v) = match v.strip_prefix('!') {
                Some(x) => (true, x),
                None => (false, v),
            };
            if neg {
                a.push("!", col);
            }
            a.push(opt, col);
            if opt == "--tcp-flags" {
                let (m, c) = v
                    .split_once('/')
                    .ok_or_else(|| self.err(format!("bad tcp flags `{v}`; expected MASK/COMP")))?;
                a.push(flag_names(m), col);
                a.push(flag_names(c), col);
            } else {
                a.push(v.to_string(), col);
            }
        }
        Ok(())
    }

    fn icmp(&mut self, a: &mut Args<'a>, word: &str, col: u32) -> Result<(), ParseError> {
        a.push("-m", col);
        a.push("icmp", col);
        // `icmptype 8 [code 0 | codes 0-3]`, `icmp !type 8`, `icmp echo-request`, `icmp !echo-request`
        let (neg, numeric) = if word == "icmptype" {
            (false, true)
        } else {
            match self.peek() {
                Some("!type") => {
                    self.i += 1;
                    (true, true)
                }
                Some(n) => {
                    self.i += 1;
                    let (neg, name) = match n.strip_prefix('!') {
                        Some(x) => (true, x),
                        None => (false, n),
                    };
                    let Some(&(_, ty, lo, hi)) = ICMP_CODES.iter().find(|c| c.0 == name) else {
                        return Err(self.err(format!("unknown ICMP type name `{name}`")));
                    };
                    if neg {
                        a.push("!", col);
                    }
                    a.push("--icmp-type", col);
                    a.push(icmp_arg(ty, lo, hi), col);
                    return Ok(());
                }
                None => return Err(self.err("expected an ICMP type".into())),
            }
        };
        let _ = numeric;
        let ty: u8 = self
            .want("an ICMP type number")?
            .parse()
            .map_err(|_| self.err("bad ICMP type number".into()))?;
        let (mut lo, mut hi) = (0u8, 255u8);
        if self.peek() == Some("code") {
            self.i += 1;
            let c = self
                .want("a code")?
                .parse()
                .map_err(|_| self.err("bad ICMP code".into()))?;
            lo = c;
            hi = c;
        } else if self.peek() == Some("codes") {
            self.i += 1;
            let r = self.want("a code range")?;
            let (l, h) = r
                .split_once('-')
                .ok_or_else(|| self.err("bad ICMP code range".into()))?;
            lo = l.parse().map_err(|_| self.err("bad ICMP code".into()))?;
            hi = h.parse().map_err(|_| self.err("bad ICMP code".into()))?;
            self.lossy.push(Lossy {
                line: self.lineno,
                col,
                what: format!("ICMP code range {lo}-{hi}: the model holds a type and one code"),
            });
        }
        if neg {
            a.push("!", col);
        }
        a.push("--icmp-type", col);
        a.push(icmp_arg(ty, lo, hi), col);
        Ok(())
    }

    fn statistic(&mut self, a: &mut Args<'a>, col: u32) -> Result<(), ParseError> {
        a.push("-m", col);
        a.push("statistic", col);
        if self.want("`mode`")? != "mode" {
            return Err(self.err("expected `statistic mode ...`".into()));
        }
        let mode = self.want("random or nth")?;
        a.push("--mode", col);
        a.push(mode.to_string(), col);
        let neg = self.bang();
        match mode {
            "random" => {
                self.want("`probability`")?;
                let p = self.want("a probability")?;
                if neg {
                    a.push("!", col);
                }
                a.push("--probability", col);
                a.push(p.to_string(), col);
            }
            "nth" => {
                self.want("`every`")?;
                let e = self.want("a number")?;
                if neg {
                    a.push("!", col);
                }
                a.push("--every", col);
                a.push(e.to_string(), col);
                // `packet 0` is not printed; the parser needs it.
                let mut p = "0";
                if self.peek() == Some("packet") {
                    self.i += 1;
                    p = self.want("a number")?;
                }
                a.push("--packet", col);
                a.push(p.to_string(), col);
            }
            other => return Err(self.err(format!("unknown statistic mode `{other}`"))),
        }
        Ok(())
    }

    fn recent(&mut self, a: &mut Args<'a>, neg: bool, col: u32) -> Result<(), ParseError> {
        a.push("-m", col);
        a.push("recent", col);
        let cmd = self.want("SET, CHECK, UPDATE or REMOVE")?;
        if neg {
            a.push("!", col);
        }
        a.push(
            match cmd {
                "SET" => "--set",
                "CHECK" => "--rcheck",
                "UPDATE" => "--update",
                "REMOVE" => "--remove",
                other => return Err(self.err(format!("unknown recent command `{other}`"))),
            },
            col,
        );
        loop {
            match self.peek() {
                Some("seconds:") => {
                    self.i += 1;
                    let v = self.want("seconds")?;
                    a.push("--seconds", col);
                    a.push(v.to_string(), col);
                }
                Some("reap") => {
                    self.i += 1;
                    a.push("--reap", col);
                }
                Some("hit_count:") => {
                    self.i += 1;
                    let v = self.want("a count")?;
                    a.push("--hitcount", col);
                    a.push(v.to_string(), col);
                }
                Some("TTL-Match") => {
                    self.i += 1;
                    a.push("--rttl", col);
                }
                Some("name:") => {
                    self.i += 1;
                    let v = self.want("a name")?;
                    a.push("--name", col);
                    a.push(v.to_string(), col);
                }
                Some("side:") => {
                    self.i += 1;
                    let v = self.want("source or dest")?;
                    a.push(if v == "dest" { "--rdest" } else { "--rsource" }, col);
                }
                Some("mask:") => {
                    self.i += 1;
                    let v = self.want("a mask")?;
                    a.push("--mask", col);
                    a.push(v.to_string(), col);
                }
                _ => return Ok(()),
            }
        }
    }

    /// `limit: avg 3/min burst 5` (limit) or `limit: up to|above R burst B [mode ...] ...`
    /// (hashlimit).
    fn limit(&mut self, a: &mut Args<'a>, col: u32) -> Result<(), ParseError> {
        match self.want("avg, up to or above")? {
            "avg" => {
                let r = self.want("a rate")?;
                a.push("-m", col);
                a.push("limit", col);
                a.push("--limit", col);
                a.push(r.to_string(), col);
                if self.peek() == Some("burst") {
                    self.i += 1;
                    let b = self.want("a burst")?;
                    a.push("--limit-burst", col);
                    a.push(b.to_string(), col);
                }
                Ok(())
            }
            w @ ("up" | "above") => {
                if w == "up" {
                    self.want("`to`")?;
                }
                let r = self.want("a rate")?;
                a.push("-m", col);
                a.push("hashlimit", col);
                a.push(
                    if w == "up" {
                        "--hashlimit-upto"
                    } else {
                        "--hashlimit-above"
                    },
                    col,
                );
                a.push(r.to_string(), col);
                let name = format!("listing-{}-{}", self.lineno, col);
                self.lossy.push(Lossy {
                    line: self.lineno,
                    col,
                    what: format!("a hashlimit's name is not listed; named `{name}` here"),
                });
                a.push("--hashlimit-name", col);
                a.push(name, col);
                loop {
                    let opt = match self.peek() {
                        Some("burst") => "--hashlimit-burst",
                        Some("mode") => "--hashlimit-mode",
                        Some("htable-size") => "--hashlimit-htable-size",
                        Some("htable-max") => "--hashlimit-htable-max",
                        Some("htable-gcinterval") => "--hashlimit-htable-gcinterval",
                        Some("htable-expire") => "--hashlimit-htable-expire",
                        Some("srcmask") => "--hashlimit-srcmask",
                        Some("dstmask") => "--hashlimit-dstmask",
                        _ => return Ok(()),
                    };
                    self.i += 1;
                    let v = self.want("a value")?;
                    a.push(opt, col);
                    a.push(
                        if opt == "--hashlimit-mode" {
                            v.replace('-', ",")
                        } else {
                            v.to_string()
                        },
                        col,
                    );
                }
            }
            other => Err(self.err(format!("unexpected `limit: {other}`"))),
        }
    }

    fn target(&mut self, a: &mut Args<'a>, name: &str) -> Result<(), ParseError> {
        let col = self.col();
        match name {
            "REJECT" if self.peek() == Some("reject-with") => {
                self.i += 1;
                let v = self.want("an ICMP type")?;
                a.push("--reject-with", col);
                a.push(v.to_string(), col);
            }
            "LOG" => {
                if self.next() != Some("LOG") {
                    return Err(self.err("expected `LOG flags N level N`".into()));
                }
                let mut flags = 0u32;
                let mut level = None;
                loop {
                    match self.peek() {
                        Some("flags") => {
                            self.i += 1;
                            flags = self
                                .want("flags")?
                                .parse()
                                .map_err(|_| self.err("bad LOG flags".into()))?;
                        }
                        Some("level") => {
                            self.i += 1;
                            level = Some(self.want("a level")?.to_string());
                        }
                        Some("tcp-sequence") => {
                            self.i += 1;
                            flags |= 1;
                        }
                        Some("tcp-options") => {
                            self.i += 1;
                            flags |= 2;
                        }
                        Some("ip-options") => {
                            self.i += 1;
                            flags |= 4;
                        }
                        Some("uid") => {
                            self.i += 1;
                            flags |= 8;
                        }
                        Some("macdecode") => {
                            self.i += 1;
                            flags |= 0x20;
                        }
                        Some("prefix") => {
                            self.i += 1;
                            let p = self.quoted()?;
                            a.push("--log-prefix", col);
                            a.push(p, col);
                        }
                        _ => break,
                    }
                }
                if let Some(l) = level {
                    let l = if l == "warn" {
                        "warning".to_string()
                    } else {
                        l
                    };
                    a.push("--log-level", col);
                    a.push(l, col);
                }
                for (bit, o) in [
                    (1, "--log-tcp-sequence"),
                    (2, "--log-tcp-options"),
                    (4, "--log-ip-options"),
                    (8, "--log-uid"),
                    (0x20, "--log-macdecode"),
                ] {
                    if flags & bit != 0 {
                        a.push(o, col);
                    }
                }
            }
            "NFLOG" => loop {
                let opt = match self.peek() {
                    Some("nflog-prefix") => {
                        self.i += 1;
                        let p = self.quoted()?;
                        a.push("--nflog-prefix", col);
                        a.push(p, col);
                        continue;
                    }
                    Some(
                        o @ ("nflog-group" | "nflog-size" | "nflog-range" | "nflog-threshold"),
                    ) => o,
                    _ => break,
                };
                self.i += 1;
                let v = self.want("a number")?;
                a.push(format!("--{opt}"), col);
                a.push(v.to_string(), col);
            },
            "MARK" | "CONNMARK" => {
                self.next();
                let op = self.want("and, or, xor, set, xset, save or restore")?;
                let xmark = |v: u32, m: u32| format!("0x{v:x}/0x{m:x}");
                let num = |s: &str| -> Option<u32> {
                    u32::from_str_radix(
                        s.trim_start_matches("0x")
                            .trim_start_matches('~')
                            .trim_start_matches("0x"),
                        16,
                    )
                    .ok()
                };
                match op {
                    "and" | "or" | "xor" | "set" | "xset" => {
                        let v = self.want("a value")?;
                        let bad = || self.err(format!("bad mark `{v}`"));
                        let arg = match op {
                            "and" => xmark(0, !num(v).ok_or_else(bad)?),
                            "or" => {
                                let x = num(v).ok_or_else(bad)?;
                                xmark(x, x)
                            }
                            "xor" => xmark(num(v).ok_or_else(bad)?, 0),
                            "set" => xmark(num(v).ok_or_else(bad)?, u32::MAX),
                            _ => v.to_string(),
                        };
                        a.push("--set-xmark", col);
                        a.push(arg, col);
                    }
                    "save" | "restore" if name == "CONNMARK" => {
                        a.push(
                            if op == "save" {
                                "--save-mark"
                            } else {
                                "--restore-mark"
                            },
                            col,
                        );
                        let (mut nf, mut ct) = (u32::MAX, u32::MAX);
                        while let Some(k @ ("mask" | "nfmask" | "ctmask")) = self.peek() {
                            self.i += 1;
                            let v = self.want("a mask")?;
                            let m = num(v).ok_or_else(|| self.err(format!("bad mask `{v}`")))?;
                            match k {
                                "mask" => {
                                    nf = m;
                                    ct = m;
                                }
                                "nfmask" => nf = m,
                                _ => ct = m,
                            }
                        }
                        a.push("--nfmask", col);
                        a.push(format!("0x{nf:x}"), col);
                        a.push("--ctmask", col);
                        a.push(format!("0x{ct:x}"), col);
                    }
                    other => return Err(self.err(format!("unexpected `{name} {other}`"))),
                }
            }
            "DNAT" | "SNAT" => {
                let w = self.want("to:RANGE")?;
                let r = w
                    .strip_prefix("to:")
                    .ok_or_else(|| self.err("expected `to:RANGE`".into()))?;
                a.push(
                    if name == "DNAT" {
                        "--to-destination"
                    } else {
                        "--to-source"
                    },
                    col,
                );
                a.push(r.to_string(), col);
                self.nat_flags(a, col);
            }
            "MASQUERADE" | "REDIRECT" => {
                if matches!(self.peek(), Some("masq" | "redir")) {
                    self.i += 1;
                    if self.peek() == Some("ports:") || self.peek() == Some("ports") {
                        self.i += 1;
                    }
                    let p = self.want("ports")?;
                    a.push("--to-ports", col);
                    a.push(p.to_string(), col);
                }
                self.nat_flags(a, col);
            }
            "CT" => match self.next() {
                Some("NOTRACK") => {
                    // `-j NOTRACK` lists as target CT, print NOTRACK.
                    let last = a.toks.len() - 1;
                    a.toks[last].text = Cow::Borrowed("NOTRACK");
                }
                Some("CT") => {
                    while let Some(k @ ("notrack" | "helper" | "zone")) = self.peek() {
                        self.i += 1;
                        if k == "notrack" {
                            a.push("--notrack", col);
                        } else {
                            let v = self.want("a value")?;
                            a.push(format!("--{k}"), col);
                            a.push(v.to_string(), col);
                        }
                    }
                }
                _ => return Err(self.err("expected `CT ...` or `NOTRACK`".into())),
            },
            "CHECKSUM" => {
                self.next();
                if self.next() == Some("fill") {
                    a.push("--checksum-fill", col);
                }
            }
            "TCPMSS" => {
                self.next();
                match self.next() {
                    Some("set") => {
                        let v = self.want("an MSS")?;
                        a.push("--set-mss", col);
                        a.push(v.to_string(), col);
                    }
                    Some("clamp") => {
                        self.i += 2; // to PMTU
                        a.push("--clamp-mss-to-pmtu", col);
                    }
                    _ => {
                        return Err(
                            self.err("expected `TCPMSS set N` or `TCPMSS clamp to PMTU`".into())
                        )
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn nat_flags(&mut self, a: &mut Args<'a>, col: u32) {
        while let Some(f @ ("random" | "random-fully" | "persistent")) = self.peek() {
            self.i += 1;
            a.push(format!("--{f}"), col);
        }
    }

    /// A `"..."` string as LOG/NFLOG print it (LOG prints it raw, NFLOG escapes `"` and `\`).
    fn quoted(&mut self) -> Result<String, ParseError> {
        let Some(w0) = self.ws.get(self.i) else {
            return Err(self.err("expected a quoted string".into()));
        };
        let rest = &self.line[w0.off..];
        if !rest.starts_with('"') {
            let w = self.want("a string")?;
            return Ok(w.to_string());
        }
        // The closing quote is the last `"` before a known keyword or the end of the line.
        let body = &rest[1..];
        let mut end = None;
        let mut out = String::new();
        let mut chars = body.char_indices().peekable();
        while let Some((k, c)) = chars.next() {
            if c == '\\' {
                if let Some((_, n)) = chars.next() {
                    out.push(n);
                }
                continue;
            }
            if c == '"' {
                let after = &body[k + 1..];
                if after.is_empty() || after.starts_with(' ') {
                    end = Some(k);
                    break;
                }
            }
            out.push(c);
        }
        let Some(end) = end else {
            return Err(self.err("unterminated quoted string".into()));
        };
        let stop = w0.off + 1 + end + 1;
        while self.i < self.ws.len() && self.ws[self.i].off < stop {
            self.i += 1;
        }
        Ok(out)
    }
}

/// `0x17` as the flag names `--tcp-flags` takes.
fn flag_names(hex: &str) -> String {
    let Ok(v) = u8::from_str_radix(hex.trim_start_matches("0x"), 16) else {
        // Listed without -n: already names.
        return hex.to_string();
    };
    let names = [
        ("FIN", 0x01),
        ("SYN", 0x02),
        ("RST", 0x04),
        ("PSH", 0x08),
        ("ACK", 0x10),
        ("URG", 0x20),
        ("ECE", 0x40),
        ("CWR", 0x80),
    ];
    let v: Vec<&str> = names
        .iter()
        .filter(|(_, b)| v & b != 0)
        .map(|(n, _)| *n)
        .collect();
    if v.is_empty() {
        "NONE".into()
    } else {
        v.join(",")
    }
}

/// `--icmp-type` for a type and code range.
fn icmp_arg(ty: u8, lo: u8, hi: u8) -> String {
    if ty == 255 && lo == 0 && hi == 255 {
        "any".into()
    } else if lo == 0 && hi == 255 {
        ty.to_string()
    } else {
        format!("{ty}/{lo}")
    }
}
