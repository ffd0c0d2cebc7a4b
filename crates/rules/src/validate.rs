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
    pub jump_col: u32,
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

/// nf_tables' validation of a whole table: every chain's rules must suit the hooks it is
/// reached from, and jumps must not loop. `places[c][r]` belongs to `t.chains[c].rules[r]`.
pub fn check_table(
    t: &Table,
    places: &[Vec<RulePlaces>],
    index: &crate::chain_index::ChainIndex,
) -> Result<(), (u32, u32, String)> {
    let n = t.chains.len();
    let index = |name: &str| index.get(name).copied();
    let builtins = t.name.builtin_chains();
    // Jump graph, as one edge list with per-chain offsets: (to, rule index).
    let mut edge_list: Vec<(usize, usize)> = Vec::new();
    let mut offsets: Vec<usize> = Vec::with_capacity(n + 1);
    for c in &t.chains {
        offsets.push(edge_list.len());
        for (ri, r) in c.rules.iter().enumerate() {
            if let Some(Target::Jump(to) | Target::Goto(to)) = &r.target {
                if let Some(j) = index(to) {
                    edge_list.push((j, ri));
                }
            }
        }
    }
    offsets.push(edge_list.len());
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
            let &(ci, ri) = path
                .iter()
                .max_by_key(|&&(ci, ri)| t.chains[ci].rules[ri].pos.line)
                .expect("a loop has jumps");
            let r = &t.chains[ci].rules[ri];
            return Err((
                r.pos.line,
                places[ci][ri].jump_col,
                "this jump makes a loop between chains reachable from a built-in chain (the kernel refuses it)".into(),
            ));
        }
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
    for (ci, c) in t.chains.iter().enumerate() {
        let h = hooks[ci];
        if h == 0 {
            continue;
        }
        for (ri, r) in c.rules.iter().enumerate() {
            let pl = &places[ci][ri];
            if let Some((name, _, allowed)) = r.target.as_ref().and_then(target_limits) {
                if h & !allowed != 0 {
                    return Err((
                        r.pos.line,
                        pl.target_col,
                        format!(
                            "{name} is only valid in {}; chain `{}` is reached from {} (the kernel refuses it)",
                            hook_names(allowed),
                            c.name,
                            hook_names(h & !allowed)
                        ),
                    ));
                }
            }
            for (mi, m) in r.matches.iter().enumerate() {
                if let Some((name, allowed)) = match_limits(m) {
                    if h & !allowed != 0 {
                        return Err((
                            r.pos.line,
                            pl.match_col(mi, r),
                            format!(
                                "{name} is only valid in {}; chain `{}` is reached from {} (the kernel refuses it)",
                                hook_names(allowed),
                                c.name,
                                hook_names(h & !allowed)
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Depth-first search from `start`; on a loop, the jumps (chain, rule) from `start` down
/// to and around the loop.
struct Edges<'a> {
    list: &'a [(usize, usize)],
    offsets: &'a [usize],
}

impl Edges<'_> {
    fn of(&self, chain: usize) -> &[(usize, usize)] {
        &self.list[self.offsets[chain]..self.offsets[chain + 1]]
    }
}

fn find_loop(start: usize, edges: &Edges, state: &mut [u8]) -> Option<Vec<(usize, usize)>> {
    // (node, next edge index, rule index of the jump that led here)
    let mut stack: Vec<(usize, usize, Option<(usize, usize)>)> = vec![(start, 0, None)];
    state[start] = 1;
    while let Some(top) = stack.last_mut() {
        let (node, ei) = (top.0, top.1);
        let out = edges.of(node);
        if ei < out.len() {
            top.1 += 1;
            let (to, rule) = out[ei];
            match state[to] {
                1 => {
                    let mut path: Vec<(usize, usize)> = stack.iter().filter_map(|f| f.2).collect();
                    path.push((node, rule));
                    return Some(path);
                }
                0 => {
                    state[to] = 1;
                    stack.push((to, 0, Some((node, rule))));
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
