//! The checks that make `iptables-restore` refuse a rule after iptables itself parsed it:
//! the kernel's per-extension checks (a target's table, hooks and protocol, as in the
//! `.table`/`.hooks`/`.proto` fields of `struct xt_target`), iptables' "DROP in nat"
//! refusal, and nf_tables' chain validation (hooks of every chain reachable from a base
//! chain, no jump loops).

use crate::model::*;

/// How many match columns a rule remembers (later matches report the rule's column).
pub const PLACES_MATCHES: usize = 8;

/// Where a rule's parts are, for error positions.
#[derive(Debug, Clone, Copy, Default)]
pub struct RulePlaces {
    pub target_col: u32,
    /// Column of `-m` for the first [`PLACES_MATCHES`] matches (0 = unknown).
    pub match_cols: [u32; PLACES_MATCHES],
}

impl RulePlaces {
    pub fn match_col(&self, i: usize, rule: &Rule) -> u32 {
        match self.match_cols.get(i) {
            Some(&c) if c != 0 => c,
            _ => rule.pos.col,
        }
    }
}

const PRE: u8 = 1;
const IN: u8 = 2;
const FWD: u8 = 4;
const OUT: u8 = 8;
const POST: u8 = 16;
const ALL: u8 = 31;

fn hook_bit(chain: &str) -> u8 {
    match chain {
        "PREROUTING" => PRE,
        "INPUT" => IN,
        "FORWARD" => FWD,
        "OUTPUT" => OUT,
        "POSTROUTING" => POST,
        _ => 0,
    }
}

fn hook_names(mask: u8) -> String {
    let names = [
        (PRE, "PREROUTING"),
        (IN, "INPUT"),
        (FWD, "FORWARD"),
        (OUT, "OUTPUT"),
        (POST, "POSTROUTING"),
    ];
    let v: Vec<&str> = names
        .iter()
        .filter(|(b, _)| mask & b != 0)
        .map(|(_, n)| *n)
        .collect();
    v.join(", ")
}

/// (name, table it is restricted to, hooks it is allowed in)
fn target_limits(t: &Target) -> Option<(&'static str, Option<TableName>, u8)> {
    Some(match t {
        Target::Dnat { .. } => ("DNAT", Some(TableName::Nat), PRE | OUT),
        Target::Snat { .. } => ("SNAT", Some(TableName::Nat), IN | POST),
        Target::Masquerade { .. } => ("MASQUERADE", Some(TableName::Nat), POST),
        Target::Redirect { .. } => ("REDIRECT", Some(TableName::Nat), PRE | OUT),
        Target::Notrack { ct_syntax: false } => ("NOTRACK", Some(TableName::Raw), ALL),
        Target::Notrack { ct_syntax: true } | Target::Ct(_) => ("CT", Some(TableName::Raw), ALL),
        Target::ChecksumFill => ("CHECKSUM", Some(TableName::Mangle), ALL),
        Target::Reject(_) => ("REJECT", Some(TableName::Filter), IN | FWD | OUT),
        Target::TcpMss(TcpMssAction::ClampToPmtu) => {
            ("TCPMSS --clamp-mss-to-pmtu", None, FWD | OUT | POST)
        }
        _ => return None,
    })
}

/// (what, hooks it is allowed in)
fn match_limits(m: &Match) -> Option<(&'static str, u8)> {
    Some(match m {
        Match::AddrType(a) if a.limit_iface_in => ("addrtype --limit-iface-in", PRE | IN | FWD),
        Match::AddrType(a) if a.limit_iface_out => ("addrtype --limit-iface-out", POST | OUT | FWD),
        Match::Owner(_) => ("owner", OUT | POST),
        Match::Rpfilter(_) => ("rpfilter", PRE),
        Match::Mac(_) => ("mac", PRE | IN | FWD),
        Match::Physdev(p) => {
            let out_ops = p.out_dev.is_some() || p.is_out.is_some();
            let bridged = matches!(p.is_bridged, Some(Neg { negated: false, .. }));
            if out_ops && !bridged {
                (
                    "physdev --physdev-out/--physdev-is-out without --physdev-is-bridged",
                    ALL & !OUT,
                )
            } else {
                return None;
            }
        }
        _ => return None,
    })
}

/// Checks that depend only on the rule and its table (done when the rule is added).
pub fn check_rule(table: TableName, rule: &Rule, p: &RulePlaces) -> Result<(), (u32, String)> {
    for (i, m) in rule.matches.iter().enumerate() {
        if matches!(m, Match::Rpfilter(_)) && !matches!(table, TableName::Raw | TableName::Mangle) {
            return Err((
                p.match_col(i, rule),
                format!(
                    "rpfilter is only valid in the raw or mangle table (the kernel refuses it in `{}`)",
                    table.as_str()
                ),
            ));
        }
    }
    let negated_proto = |p: Protocol| {
        rule.proto
            .as_ref()
            .is_some_and(|x| x.negated && x.value == p)
    };
    for (i, m) in rule.matches.iter().enumerate() {
        let refuse = match m {
            // iptables-nft turns tcp/udp ports and tcp flags into native payload matches,
            // which the kernel takes under `! -p tcp`; an empty match (ports 0:65535 are
            // dropped) or `--tcp-option` goes through the xt compat layer, whose protocol
            // check (xt_tcpudp's `.proto`, not inverted) refuses it (1.8.9 on 6.18).
            Match::Tcp(t) if negated_proto(Protocol::Tcp) => {
                let native = t.sport.is_some()
                    || t.dport.is_some()
                    || t.flags.as_ref().is_some_and(|f| f.value.mask != 0);
                (!native || t.option.is_some()).then_some(
                    "`-m tcp` under `! -p tcp` takes only --sport, --dport and --tcp-flags (the kernel refuses it otherwise)",
                )
            }
            Match::Udp(u) if negated_proto(Protocol::Udp) => (u.sport.is_none()
                && u.dport.is_none())
            .then_some("`-m udp` under `! -p udp` needs --sport or --dport (the kernel refuses it otherwise)"),
            // xt_icmp's `.proto = IPPROTO_ICMP`, not inverted.
            Match::Icmp(_) if negated_proto(Protocol::Icmp) => {
                Some("`-m icmp` under `! -p icmp`: the kernel refuses it")
            }
            // xt_hashlimit's checkentry: user2credits_byte(avg) is 0 for a cost of 1
            // (HZ * CREDITS_PER_JIFFY_BYTES < 2^32 for every HZ): "rate too high".
            Match::HashLimit(h) if h.bytes && h.avg == 1 => {
                Some("hashlimit: byte rate too high (the kernel refuses it)")
            }
            _ => None,
        };
        if let Some(why) = refuse {
            return Err((p.match_col(i, rule), why.into()));
        }
    }
    for (i, m) in rule.matches.iter().enumerate() {
        // xt_sctp registers with `.proto = IPPROTO_SCTP`: x_tables refuses the rule
        // unless it has `-p sctp` (not inverted).
        let sctp_proto = matches!(
            &rule.proto,
            Some(Neg {
                negated: false,
                value: Protocol::Number(132)
            })
        );
        if matches!(m, Match::Sctp(_)) && !sctp_proto {
            return Err((
                p.match_col(i, rule),
                "`-m sctp` requires `-p sctp` (the kernel refuses it otherwise)".into(),
            ));
        }
    }
    let Some(t) = &rule.target else {
        return Ok(());
    };
    if table == TableName::Nat && *t == Target::Drop {
        return Err((
            p.target_col,
            "the nat table is not intended for filtering; DROP is not allowed there".into(),
        ));
    }
    if let Some((name, Some(only), _)) = target_limits(t) {
        if only != table {
            return Err((
                p.target_col,
                format!(
                    "{name} is only valid in the {} table (the kernel refuses it in `{}`)",
                    only.as_str(),
                    table.as_str()
                ),
            ));
        }
    }
    if matches!(t, Target::TcpMss(_))
        && !matches!(
            &rule.proto,
            Some(Neg {
                negated: false,
                value: Protocol::Tcp
            })
        )
    {
        return Err((
            p.target_col,
            "TCPMSS requires `-p tcp` (the kernel refuses it otherwise)".into(),
        ));
    }
    Ok(())
}

/// A jump or goto between chains of a table, where it was written.
#[derive(Debug, Clone, Copy)]
pub struct JumpEdge {
    pub from: usize,
    pub to: usize,
    pub line: u32,
    pub col: u32,
}

/// A rule part that is only allowed in some hooks, where it was written.
#[derive(Debug, Clone, Copy)]
pub struct HookLimited {
    pub chain: usize,
    pub what: &'static str,
    pub allowed: u8,
    pub line: u32,
    pub col: u32,
}

/// The hook-limited parts of a rule (its target, and matches like `owner`).
pub fn hook_limits(chain: usize, rule: &Rule, p: &RulePlaces, out: &mut Vec<HookLimited>) {
    if let Some((what, _, allowed)) = rule.target.as_ref().and_then(target_limits) {
        if allowed != ALL {
            out.push(HookLimited {
                chain,
                what,
                allowed,
                line: rule.pos.line,
                col: p.target_col,
            });
        }
    }
    for (i, m) in rule.matches.iter().enumerate() {
        if let Some((what, allowed)) = match_limits(m) {
            out.push(HookLimited {
                chain,
                what,
                allowed,
                line: rule.pos.line,
                col: p.match_col(i, rule),
            });
        }
    }
}

/// nf_tables' validation of a whole table: every hook-limited rule part must suit the
/// hooks its chain is reached from, and jumps must not loop.
pub fn check_table(
    t: &Table,
    jumps: &[JumpEdge],
    limited: &[HookLimited],
) -> Result<(), (u32, u32, String)> {
    let n = t.chains.len();
    let builtins = t.name.builtin_chains();
    // Jump graph, as one edge list with per-chain offsets: (to, jump index).
    let mut offsets = vec![0usize; n + 1];
    for j in jumps {
        offsets[j.from + 1] += 1;
    }
    for i in 0..n {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut edge_list = vec![(0usize, 0usize); jumps.len()];
    for (k, j) in jumps.iter().enumerate() {
        edge_list[fill[j.from]] = (j.to, k);
        fill[j.from] += 1;
    }
    let edges = Edges {
        list: &edge_list,
        offsets: &offsets,
    };
    // Loops reachable from a base chain (nf_tables refuses the rule that completes one;
    // loops among chains no base chain reaches are accepted).
    let mut state = vec![0u8; n]; // 0 new, 1 on stack, 2 done
    for start in 0..n {
        if !builtins.contains(&t.chains[start].name.as_str()) || state[start] != 0 {
            continue;
        }
        if let Some(path) = find_loop(start, &edges, &mut state) {
            // The rule added last among the path's jumps is the one nf_tables refuses.
            let j = path
                .iter()
                .map(|&k| &jumps[k])
                .max_by_key(|j| j.line)
                .expect("a loop has jumps");
            return Err((
                j.line,
                j.col,
                "this jump makes a loop between chains reachable from a built-in chain (the kernel refuses it)".into(),
            ));
        }
    }
    if limited.is_empty() {
        return Ok(());
    }
    // Hooks reaching each chain.
    let mut hooks = vec![0u8; n];
    for (ci, c) in t.chains.iter().enumerate() {
        if builtins.contains(&c.name.as_str()) {
            hooks[ci] = hook_bit(&c.name);
        }
    }
    let mut queue: Vec<usize> = (0..n).filter(|&i| hooks[i] != 0).collect();
    while let Some(ci) = queue.pop() {
        for &(j, _) in edges.of(ci) {
            if hooks[j] | hooks[ci] != hooks[j] {
                hooks[j] |= hooks[ci];
                queue.push(j);
            }
        }
    }
    for l in limited {
        let h = hooks[l.chain];
        if h & !l.allowed != 0 {
            return Err((
                l.line,
                l.col,
                format!(
                    "{} is only valid in {}; chain `{}` is reached from {} (the kernel refuses it)",
                    l.what,
                    hook_names(l.allowed),
                    t.chains[l.chain].name,
                    hook_names(h & !l.allowed)
                ),
            ));
        }
    }
    Ok(())
}

struct Edges<'a> {
    list: &'a [(usize, usize)],
    offsets: &'a [usize],
}

impl Edges<'_> {
    fn of(&self, chain: usize) -> &[(usize, usize)] {
        &self.list[self.offsets[chain]..self.offsets[chain + 1]]
    }
}

/// Depth-first search from `start`; on a loop, the jumps (indices into the jump list)
/// from `start` down to and around the loop.
fn find_loop(start: usize, edges: &Edges, state: &mut [u8]) -> Option<Vec<usize>> {
    // (node, next edge index, the jump that led here)
    let mut stack: Vec<(usize, usize, Option<usize>)> = vec![(start, 0, None)];
    state[start] = 1;
    while let Some(top) = stack.last_mut() {
        let (node, ei) = (top.0, top.1);
        let out = edges.of(node);
        if ei < out.len() {
            top.1 += 1;
            let (to, k) = out[ei];
            match state[to] {
                1 => {
                    let mut path: Vec<usize> = stack.iter().filter_map(|f| f.2).collect();
                    path.push(k);
                    return Some(path);
                }
                0 => {
                    state[to] = 1;
                    stack.push((to, 0, Some(k)));
                }
                _ => {}
            }
        } else {
            state[node] = 2;
            stack.pop();
        }
    }
    None
}
