//! Parsing one rule's arguments (`-A CHAIN -s .. -p tcp -m tcp --dport 80 -j ACCEPT`):
//! the generic options of iptables' do_parse (`-s -d -i -o -p -f -m -j -g -c`), then
//! dispatch of the other options to the loaded match modules and the target, including
//! the implicit protocol match iptables loads for `-p tcp --dport 80`.

use crate::args::Args;
use crate::error::ParseError;
use crate::lex::Token;
use crate::model::*;
use crate::parse_match::{iface, neg, protocol, Pending};
use crate::parse_target::{lookup, PendingTarget, TargetKind};
use crate::validate::RulePlaces;
use crate::values::parse_addr_mask;

/// How strictly unknown match modules and targets are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Unknown modules/targets are errors (as iptables-restore without the extension).
    Strict,
    /// Unknown modules/targets are kept verbatim, with a warning.
    Lenient,
}

/// Buffers reused from rule to rule (parsing big files allocates less).
#[derive(Debug, Default)]
pub struct Scratch {
    matches: Vec<(Pending, u32)>,
    mseen: Vec<u64>,
}

/// A parsed rule plus what the file-level parser needs to check it.
#[derive(Debug)]
pub struct ParsedRule<'a> {
    pub chain: std::borrow::Cow<'a, str>,
    /// Column of the chain name after `-A`.
    pub chain_col: u32,
    pub rule: Rule,
    /// Column of the chain name after `-j`/`-g` when the target is a jump or goto.
    pub jump_col: u32,
    /// Lenient mode: what was kept verbatim.
    pub warnings: Vec<ParseError>,
    /// Columns of the target and of each match (for the table checks).
    pub places: RulePlaces,
    /// `-s a,b` / `-d c,d`: every address (iptables adds one rule per combination);
    /// empty when a single address was given.
    pub srcs: Vec<AddrMask>,
    pub dsts: Vec<AddrMask>,
    /// `-I CHAIN [n]`: insert as rule n (1-based) instead of appending; with the column
    /// of the chain name.
    pub insert_at: Option<(u32, u32)>,
}

impl ParsedRule<'_> {
    /// The rules this line stands for: one per source-destination combination of
    /// comma-separated address lists (sources outermost, as iptables orders them).
    pub fn expand(&self) -> Vec<Rule> {
        if self.srcs.is_empty() && self.dsts.is_empty() {
            return vec![self.rule.clone()];
        }
        let one = |v: &Vec<AddrMask>, cur: &Option<Neg<AddrMask>>| -> Vec<Option<Neg<AddrMask>>> {
            if v.is_empty() {
                vec![cur.clone()]
            } else {
                v.iter()
                    .map(|n| (!n.is_any()).then(|| Neg::new(*n)))
                    .collect()
            }
        };
        let mut out = Vec::new();
        for s in one(&self.srcs, &self.rule.src) {
            for d in one(&self.dsts, &self.rule.dst) {
                let mut r = self.rule.clone();
                r.src = s.clone();
                r.dst = d;
                out.push(r);
            }
        }
        out
    }
}

enum LastUnknown {
    None,
    Match(usize),
    Target,
}

/// Parse a rule's arguments. `-A CHAIN` must be among them.
pub fn parse_rule_args<'a>(
    toks: &[Token<'a>],
    file: &str,
    line: u32,
    end_col: u32,
    mode: Mode,
    scratch: &mut Scratch,
) -> Result<ParsedRule<'a>, ParseError> {
    let mut a = Args::new(toks, file, line, end_col);
    let mut rule = Rule {
        counters: None,
        src: None,
        dst: None,
        in_iface: None,
        out_iface: None,
        proto: None,
        fragment: None,
        matches: Vec::new(),
        target: None,
        pos: Pos {
            line,
            col: toks.first().map_or(1, |t| t.col),
        },
    };
    let mut chain: Option<(std::borrow::Cow<'a, str>, u32)> = None;
    let matches = &mut scratch.matches;
    matches.clear();
    let mut target: Option<(PendingTarget, u32)> = None;
    let mut jump_col = 0;
    let mut last_unknown = LastUnknown::None;
    let mut warnings = Vec::new();
    let mut inv: Option<u32> = None;
    // `-p all` sets no protocol but still counts as given.
    let mut proto_given = false;
    let mut srcs = Vec::new();
    let mut dsts = Vec::new();
    let mut in_col = 0;
    let mut out_col = 0;
    // Options already given, per match (bit = index in its options()) and for the target.
    let mseen = &mut scratch.mseen;
    mseen.clear();
    let mut insert_at: Option<(u32, u32)> = None;
    let mut tseen: u64 = 0;

    // An abbreviated long option resolved to its full name, to be handled again.
    let mut pushed: Option<Token> = None;
    loop {
        let resolved;
        let t: &Token = match pushed.take() {
            Some(t) => {
                resolved = t;
                &resolved
            }
            None => match a.next() {
                Some(t) => t,
                None => break,
            },
        };
        let s = t.as_str();
        if s == "!" {
            if inv.is_some() {
                return Err(a.err_at(t, "multiple `!` flags not allowed"));
            }
            inv = Some(t.col);
            continue;
        }
        let this_inv = inv.take();
        let no_inv = |a: &Args| -> Result<(), ParseError> {
            match this_inv {
                Some(c) => Err(a.err(c, format!("cannot have `!` before `{s}`"))),
                None => Ok(()),
            }
        };
        match s {
            "-A" | "--append" | "-I" | "--insert" => {
                no_inv(&a)?;
                if chain.is_some() {
                    return Err(a.err_at(t, "only one command (`-A` or `-I`) allowed in a rule"));
                }
                let v = a.value(t)?;
                check_chain_name(&a, v)?;
                chain = Some((v.text.clone(), v.col));
                if matches!(s, "-I" | "--insert") {
                    // `-I CHAIN [rulenum]`
                    let mut at = 1;
                    if let Some(n) = a.peek() {
                        if n.as_str().bytes().all(|b| b.is_ascii_digit()) && !n.as_str().is_empty()
                        {
                            a.next();
                            at = n
                                .as_str()
                                .parse::<u32>()
                                .ok()
                                .filter(|&x| x >= 1)
                                .ok_or_else(|| {
                                    a.err_at(n, format!("invalid rule number `{}`", n.as_str()))
                                })?;
                        }
                    }
                    insert_at = Some((at, v.col));
                }
            }
            "-s" | "--source" | "--src" | "-d" | "--destination" | "--dst" => {
                let is_src = matches!(s, "-s" | "--source" | "--src");
                let slot = if is_src { &mut rule.src } else { &mut rule.dst };
                if slot.is_some() {
                    return Err(a.err_at(
                        t,
                        format!(
                            "multiple `-{}` flags not allowed",
                            if is_src { 's' } else { 'd' }
                        ),
                    ));
                }
                let v = a.value(t)?;
                if v.as_str().contains(',') {
                    if let Some(c) = this_inv {
                        return Err(a.err(
                            c,
                            "`!` not allowed with multiple source or destination IP addresses",
                        ));
                    }
                    let list = if is_src { &mut srcs } else { &mut dsts };
                    for part in v.as_str().split(',') {
                        list.push(parse_addr_mask(part).map_err(|e| a.err_at(v, e))?);
                    }
                }
                let first = v.as_str().split(',').next().unwrap_or("");
                let net = parse_addr_mask(first).map_err(|e| a.err_at(v, e))?;
                // save_ipv4_addr prints nothing for 0.0.0.0/0; negated it can never
                // match and the kernel refuses the rule.
                if !net.is_any() {
                    *slot = Some(neg(this_inv, net));
                } else if let Some(c) = this_inv {
                    return Err(a.err(
                        c,
                        format!("`! {s} 0.0.0.0/0` never matches; the kernel refuses it"),
                    ));
                } else {
                    *slot = None;
                }
            }
            "-i" | "--in-interface" | "-o" | "--out-interface" => {
                let is_in = matches!(s, "-i" | "--in-interface");
                let slot = if is_in {
                    &mut rule.in_iface
                } else {
                    &mut rule.out_iface
                };
                if slot.is_some() {
                    return Err(a.err_at(
                        t,
                        format!(
                            "multiple `-{}` flags not allowed",
                            if is_in { 'i' } else { 'o' }
                        ),
                    ));
                }
                if is_in {
                    in_col = t.col;
                } else {
                    out_col = t.col;
                }
                let v = a.value(t)?;
                let name = iface(&a, v)?;
                // A bare `+` matches every interface: iptables-nft adds no check for
                // it and iptables-save prints nothing (`! -i +` is kept).
                *slot = if name.wildcard && name.name.is_empty() && this_inv.is_none() {
                    None
                } else {
                    Some(neg(this_inv, name))
                };
            }
            "-p" | "--protocol" => {
                if proto_given {
                    return Err(a.err_at(t, "multiple `-p` flags not allowed"));
                }
                proto_given = true;
                let v = a.value(t)?;
                let p = protocol(&a, v)?;
                if p == Protocol::All {
                    if let Some(c) = this_inv {
                        return Err(a.err(c, "rule would never match protocol (`! -p all`)"));
                    }
                    rule.proto = None;
                } else {
                    rule.proto = Some(neg(this_inv, p));
                }
            }
            "-f" | "--fragment" => {
                if rule.fragment.is_some() {
                    return Err(a.err_at(t, "multiple `-f` flags not allowed"));
                }
                rule.fragment = Some(neg(this_inv, ()));
            }
            "-m" | "--match" => {
                no_inv(&a)?;
                let v = a.value(t)?;
                let name = v.as_str();
                mseen.push(0);
                match Pending::new(name) {
                    Some(p) => matches.push((p, v.col)),
                    None => {
                        if name.is_empty() || name.starts_with('-') {
                            return Err(a.err_at(v, "expected a match module name after `-m`"));
                        }
                        match mode {
                            Mode::Strict => {
                                return Err(a.err_at(v, format!("unknown match `{name}`")))
                            }
                            Mode::Lenient => {
                                warnings.push(
                                    a.err_at(v, format!("unknown match `{name}` kept verbatim")),
                                );
                                last_unknown = LastUnknown::Match(matches.len());
                                matches.push((
                                    Pending::Unknown {
                                        name: name.to_string(),
                                        args: Vec::new(),
                                    },
                                    v.col,
                                ));
                            }
                        }
                    }
                }
            }
            "-j" | "--jump" | "-g" | "--goto" => {
                no_inv(&a)?;
                if target.is_some() {
                    return Err(a.err_at(t, "only one target (`-j` or `-g`) allowed in a rule"));
                }
                let v = a.value(t)?;
                let name = v.as_str();
                if name.is_empty() || name.starts_with('-') {
                    return Err(a.err_at(v, format!("expected a target or chain name after `{s}`")));
                }
                let goto = matches!(s, "-g" | "--goto");
                let pending = if goto {
                    jump_col = v.col;
                    PendingTarget::Plain(Target::Goto(chain_name(&a, v)?))
                } else {
                    match lookup(name) {
                        TargetKind::Known(p) => p,
                        TargetKind::Chain => {
                            jump_col = v.col;
                            PendingTarget::Plain(Target::Jump(chain_name(&a, v)?))
                        }
                        TargetKind::Unsupported => match mode {
                            Mode::Strict => {
                                return Err(a.err_at(v, format!("unsupported target `{name}`")))
                            }
                            Mode::Lenient => {
                                warnings.push(a.err_at(
                                    v,
                                    format!("unsupported target `{name}` kept verbatim"),
                                ));
                                last_unknown = LastUnknown::Target;
                                PendingTarget::Unknown {
                                    name: name.to_string(),
                                    args: Vec::new(),
                                }
                            }
                        },
                    }
                };
                target = Some((pending, v.col));
            }
            "-c" | "--set-counters" => {
                no_inv(&a)?;
                let p = a.value(t)?;
                let b = a.value(t)?;
                let num = |x: &Token| {
                    x.as_str().parse::<u64>().map_err(|_| {
                        a.err_at(
                            x,
                            format!("bad counter value `{}`; expected a number", x.as_str()),
                        )
                    })
                };
                rule.counters = Some(Counters {
                    packets: num(p)?,
                    bytes: num(b)?,
                });
            }
            _ if s.starts_with('-') && s.len() > 1 => {
                let proto = rule.proto.as_ref();
                let mut handled = false;
                for i in (0..matches.len()).rev() {
                    let m = &mut matches[i].0;
                    let Some(k) = m.options().iter().position(|o| *o == s) else {
                        continue;
                    };
                    // x6 options may be given once per match.
                    if mseen[i] & (1 << k) != 0 {
                        return Err(a.err_at(
                            t,
                            format!("{}: option `{s}` may only be given once", m.name()),
                        ));
                    }
                    mseen[i] |= 1 << k;
                    handled = m.parse_opt(t, this_inv, &mut a, proto)?;
                    break;
                }
                if !handled {
                    if let Some((tg, _)) = target.as_mut() {
                        if let Some(k) = tg.options().iter().position(|o| *o == s) {
                            if tseen & (1 << k) != 0 {
                                return Err(
                                    a.err_at(t, format!("option `{s}` may only be given once"))
                                );
                            }
                            tseen |= 1 << k;
                            handled = tg.parse_opt(t, this_inv, &mut a, proto)?;
                        }
                    }
                }
                if !handled {
                    // iptables loads the protocol's match module when an option is
                    // unknown (`-p tcp --dport 80` saves as `-p tcp -m tcp --dport 80`),
                    // also under `! -p tcp` (1.8.9 saves `! -p tcp -m tcp --dport 80`).
                    if let Some(p) = proto {
                        let pname = match p.value {
                            Protocol::Tcp => Some("tcp"),
                            Protocol::Udp => Some("udp"),
                            Protocol::Icmp => Some("icmp"),
                            Protocol::Number(132) => Some("sctp"),
                            _ => None,
                        };
                        if let Some(mut m) = pname.and_then(Pending::new) {
                            let loaded = matches.iter().any(|(x, _)| x.name() == m.name());
                            if !loaded && m.has_option(s) {
                                m.parse_opt(t, this_inv, &mut a, proto)?;
                                let k = m.options().iter().position(|o| *o == s).unwrap_or(0);
                                mseen.push(1 << k);
                                matches.push((m, t.col));
                                handled = true;
                            }
                        }
                    }
                }
                if !handled {
                    match last_unknown {
                        LastUnknown::Match(i) => {
                            handled = matches[i].0.parse_opt(t, this_inv, &mut a, proto)?
                        }
                        LastUnknown::Target => {
                            if let Some((tg, _)) = target.as_mut() {
                                handled = tg.parse_opt(t, this_inv, &mut a, proto)?;
                            }
                        }
                        LastUnknown::None => {}
                    }
                }
                if !handled && s.starts_with("--") {
                    // getopt_long accepts any unambiguous prefix of a long option.
                    match resolve_abbrev(s, matches, target.as_ref().map(|x| &x.0), proto) {
                        // An option that is already its own full name and still not handled
                        // (iptables' command options such as `--policy` inside a rule) is an
                        // error; resolving it again would loop forever.
                        Ok(Some(full)) if full != s => {
                            pushed = Some(Token {
                                text: std::borrow::Cow::Borrowed(full),
                                col: t.col,
                            });
                            inv = this_inv;
                            continue;
                        }
                        Ok(_) => {}
                        Err(cands) => {
                            return Err(a.err_at(
                                t,
                                format!(
                                    "option `{s}` is ambiguous (could be {})",
                                    cands
                                        .iter()
                                        .map(|c| format!("`{c}`"))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                ),
                            ));
                        }
                    }
                }
                if !handled {
                    return Err(a.err_at(t, unknown_option_message(s, &rule)));
                }
            }
            _ => {
                return Err(a.err_at(t, format!("unexpected argument `{s}`; expected an option")));
            }
        }
    }
    if let Some(c) = inv {
        return Err(a.err(c, "`!` at the end of the rule; expected an option after it"));
    }
    let Some((chain, chain_col)) = chain else {
        return Err(a.err(
            toks.first().map_or(1, |t| t.col),
            "expected `-A CHAIN` in the rule",
        ));
    };
    // iptables' own check (by chain name, do_command4).
    if rule.out_iface.is_some() && matches!(&*chain, "PREROUTING" | "INPUT") {
        return Err(a.err(out_col, format!("can't use -o with {chain}")));
    }
    if rule.in_iface.is_some() && matches!(&*chain, "POSTROUTING" | "OUTPUT") {
        return Err(a.err(in_col, format!("can't use -i with {chain}")));
    }
    let proto = rule.proto.clone();
    let mut places = RulePlaces::default();
    rule.matches.reserve(matches.len());
    for (i, (m, col)) in matches.drain(..).enumerate() {
        if let Some(slot) = places.match_cols.get_mut(i) {
            *slot = col;
        }
        rule.matches.push(m.finish(&a, col, proto.as_ref())?);
    }
    crate::parse_match::merge_native_matches(&mut rule.matches, &mut places.match_cols);
    if let Some((t, col)) = target {
        places.target_col = col;
        rule.target = Some(t.finish(&a, col, proto.as_ref())?);
    }
    Ok(ParsedRule {
        chain,
        chain_col,
        rule,
        jump_col,
        warnings,
        places,
        srcs,
        dsts,
        insert_at,
    })
}

/// The long options iptables itself takes (`original_opts`): they count when deciding
/// whether an abbreviation is ambiguous.
const CORE_LONG_OPTIONS: &[&str] = &[
    "--append",
    "--delete",
    "--check",
    "--insert",
    "--replace",
    "--list",
    "--list-rules",
    "--flush",
    "--zero",
    "--new-chain",
    "--delete-chain",
    "--rename-chain",
    "--policy",
    "--source",
    "--src",
    "--destination",
    "--dst",
    "--protocol",
    "--in-interface",
    "--jump",
    "--table",
    "--verbose",
    "--wait",
    "--wait-interval",
    "--exact",
    "--numeric",
    "--out-interface",
    "--match",
    "--goto",
    "--fragment",
    "--version",
    "--help",
    "--line-numbers",
    "--modprobe",
    "--set-counters",
    "--ipv4",
    "--ipv6",
];

/// Resolve an abbreviated long option against every option currently known (iptables'
/// own, the loaded matches', the target's, and the implicit protocol match's).
/// `Ok(None)`: no option starts with it; `Err`: several do.
fn resolve_abbrev(
    s: &str,
    matches: &[(Pending, u32)],
    target: Option<&PendingTarget>,
    proto: Option<&Neg<Protocol>>,
) -> Result<Option<&'static str>, Vec<&'static str>> {
    fn consider(found: &mut Vec<&'static str>, s: &str, opts: &'static [&'static str]) {
        for o in opts {
            if o.starts_with(s) && !found.contains(o) {
                found.push(o);
            }
        }
    }
    let mut found: Vec<&'static str> = Vec::new();
    consider(&mut found, s, CORE_LONG_OPTIONS);
    for (m, _) in matches {
        consider(&mut found, s, m.options());
    }
    if let Some(t) = target {
        consider(&mut found, s, t.options());
    }
    if found.len() == 1 {
        return Ok(Some(found[0]));
    }
    // getopt failed: iptables loads the protocol's match and tries again.
    let implicit = match proto.map(|p| p.value) {
        Some(Protocol::Tcp) => Pending::new("tcp"),
        Some(Protocol::Udp) => Pending::new("udp"),
        Some(Protocol::Icmp) => Pending::new("icmp"),
        Some(Protocol::Number(132)) => Pending::new("sctp"),
        _ => None,
    };
    if let Some(m) = implicit.filter(|m| !matches.iter().any(|(x, _)| x.name() == m.name())) {
        consider(&mut found, s, m.options());
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(Some(found[0])),
        _ => Err(found),
    }
}

fn unknown_option_message(opt: &str, rule: &Rule) -> String {
    if CORE_LONG_OPTIONS.contains(&opt) {
        return format!(
            "option `{opt}` is an iptables command option; it cannot be used inside a rule"
        );
    }
    let hint = match opt {
        "--dport" | "--sport" | "--destination-port" | "--source-port" if rule.proto.is_none() => {
            " (port options need `-p tcp`, `-p udp` or `-p sctp` first)"
        }
        "--icmp-type" if rule.proto.is_none() => " (needs `-p icmp` first)",
        _ => "",
    };
    format!("unknown option `{opt}`{hint}")
}

/// A chain name as `-A`, `-j`, `-g` and `:CHAIN` take it (iptables' assert_valid_chain_name:
/// under 29 characters, no blanks, not starting with `-` or `!`).
pub(crate) fn chain_name(a: &Args, v: &Token) -> Result<String, ParseError> {
    check_chain_name(a, v)?;
    Ok(v.as_str().to_string())
}

/// The checks of [`chain_name`] without making a String.
pub(crate) fn check_chain_name(a: &Args, v: &Token) -> Result<(), ParseError> {
    let s = v.as_str();
    if s.is_empty() {
        return Err(a.err_at(v, "empty chain name"));
    }
    if s.len() > 28 {
        return Err(a.err_at(
            v,
            format!("chain name `{s}` too long (must be under 29 chars)"),
        ));
    }
    if s.starts_with('-') || s.starts_with('!') {
        return Err(a.err_at(
            v,
            format!("chain name not allowed to start with `{}`", &s[..1]),
        ));
    }
    // C isspace(): ASCII blanks only.
    if s.bytes()
        .any(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
    {
        return Err(a.err_at(v, format!("invalid chain name `{s}`")));
    }
    Ok(())
}
