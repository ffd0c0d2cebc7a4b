//! A chain's compile-once prefilter: each rule's header as masks ([`Header`]), and for
//! long chains an index that, for a packet, lists only the rules that can match it —
//! in rule order, so first-match semantics are kept exactly.
//!
//! The index is keyed on one packet field: the destination address (for rules with
//! `-d A/32`, like kube-proxy's KUBE-SERVICES: one `-d CLUSTER-IP/32 ... -j KUBE-SVC-…`
//! rule per service), or the protocol and destination port (for rules with
//! `-m tcp|udp --dport P`, like KUBE-NODEPORTS). A rule with such a key can only match
//! packets with that key; every other rule is a "wildcard" and is always a candidate.
//! Skipping a keyed rule whose key differs is exact: the walk would have evaluated it
//! and found no match, and nothing with a side effect runs before the keyed test fails
//! (`-d` is checked before every match module; a `--dport` key is only taken from a match
//! preceded by side-effect-free matches, never after `-m statistic`, `-m limit`, ...).
//! `equivalence_tests` checks indexed walks against the plain linear walk.

use super::matcher::Header;
use super::CRule;
use crate::packet::{Packet, IPPROTO_TCP, IPPROTO_UDP, L4};
use pktpath_rules::{Match, Neg, PortRange, Rule};
use rustc_hash::FxHashMap;

/// Chains shorter than this are scanned linearly (the index would not pay for itself).
pub const INDEX_MIN_RULES: usize = 16;

/// Which packet field a chain's index is keyed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// The destination address (rules with `-d A/32`).
    Dst,
    /// Protocol and destination port (rules with `-m tcp|udp --dport P`).
    DstPort,
}

impl KeyKind {
    /// The packet's key.
    fn of_packet(self, pkt: &Packet) -> Option<u32> {
        match self {
            KeyKind::Dst => Some(u32::from(pkt.dst)),
            KeyKind::DstPort => match pkt.l4 {
                L4::Tcp { dport, .. } => Some(port_key(IPPROTO_TCP, dport)),
                L4::Udp { dport, .. } => Some(port_key(IPPROTO_UDP, dport)),
                _ => None,
            },
        }
    }

    /// The key every packet the rule matches has, if the rule pins one (see module doc).
    fn of_rule(self, rule: &Rule) -> Option<u32> {
        match self {
            KeyKind::Dst => match &rule.dst {
                Some(Neg {
                    negated: false,
                    value,
                }) if value.is_host() => Some(value.addr_bits()),
                _ => None,
            },
            KeyKind::DstPort => {
                for m in &rule.matches {
                    let key = match m {
                        Match::Tcp(t) => exact_port(&t.dport).map(|p| port_key(IPPROTO_TCP, p)),
                        Match::Udp(u) => exact_port(&u.dport).map(|p| port_key(IPPROTO_UDP, p)),
                        _ => None,
                    };
                    if key.is_some() {
                        return key;
                    }
                    if !side_effect_free(m) {
                        return None;
                    }
                }
                None
            }
        }
    }
}

fn port_key(proto: u8, port: u16) -> u32 {
    (proto as u32) << 16 | port as u32
}

fn exact_port(r: &Option<Neg<PortRange>>) -> Option<u16> {
    match r {
        Some(Neg {
            negated: false,
            value,
        }) if value.lo == value.hi => Some(value.lo),
        _ => None,
    }
}

/// Matches whose evaluation changes nothing (no counters, buckets, lists, random draws,
/// nor the "uncertain" flag). Anything not listed is treated as having side effects.
fn side_effect_free(m: &Match) -> bool {
    matches!(
        m,
        Match::Tcp(_)
            | Match::Udp(_)
            | Match::Icmp(_)
            | Match::Multiport(_)
            | Match::AddrType(_)
            | Match::Conntrack(_)
            | Match::State(_)
            | Match::Mark(_)
            | Match::Connmark(_)
            | Match::Comment(_)
            | Match::IpRange(_)
            | Match::Physdev(_)
            | Match::Mac(_)
            | Match::Owner(_)
            | Match::PktType(_)
    )
}

/// When to build an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexPolicy {
    /// For chains of [`INDEX_MIN_RULES`] rules or more, the key that leaves the fewest
    /// candidates, if it at least halves them.
    Auto,
    /// No index: every chain is scanned linearly.
    Never,
    /// Always index on this key when at least one rule has one (for tests).
    Always(KeyKind),
}

#[derive(Debug, Clone)]
struct ChainIndex {
    kind: KeyKind,
    /// Key -> positions of the rules with that key, ascending.
    buckets: FxHashMap<u32, Box<[u32]>>,
    /// Positions of the rules without a key, ascending.
    wild: Box<[u32]>,
}

/// A chain's compiled prefilter (see module doc).
#[derive(Debug, Clone, Default)]
pub struct ChainFilter {
    /// One per rule, in rule order.
    pub headers: Box<[Header]>,
    index: Option<ChainIndex>,
}

impl ChainFilter {
    pub fn build(rules: &[CRule], policy: IndexPolicy) -> ChainFilter {
        let headers = rules.iter().map(|r| Header::compile(&r.rule)).collect();
        let index = match policy {
            IndexPolicy::Never => None,
            IndexPolicy::Always(kind) => {
                let ix = ChainIndex::build(rules, kind);
                (!ix.buckets.is_empty()).then_some(ix)
            }
            IndexPolicy::Auto if rules.len() < INDEX_MIN_RULES => None,
            IndexPolicy::Auto => [KeyKind::Dst, KeyKind::DstPort]
                .into_iter()
                .map(|k| ChainIndex::build(rules, k))
                .map(|ix| (ix.worst_case(), ix))
                .filter(|(cost, _)| cost * 2 <= rules.len())
                .min_by_key(|(cost, _)| *cost)
                .map(|(_, ix)| ix),
        };
        ChainFilter { headers, index }
    }

    /// The key the chain is indexed on, if it is.
    pub fn index_kind(&self) -> Option<KeyKind> {
        self.index.as_ref().map(|i| i.kind)
    }

    /// The positions, from `from` on, of the rules that can match `pkt`, in order.
    #[inline]
    pub fn candidates(&self, pkt: &Packet, from: usize) -> Candidates<'_> {
        let Some(ix) = &self.index else {
            return Candidates::Linear {
                pos: from,
                len: self.headers.len(),
            };
        };
        let bucket: &[u32] = ix
            .kind
            .of_packet(pkt)
            .and_then(|k| ix.buckets.get(&k))
            .map_or(&[], |b| b);
        let skip = |v: &'_ [u32]| v.partition_point(|&p| (p as usize) < from);
        Candidates::Indexed {
            a: &bucket[skip(bucket)..],
            b: &ix.wild[skip(&ix.wild)..],
        }
    }
}

impl ChainIndex {
    fn build(rules: &[CRule], kind: KeyKind) -> ChainIndex {
        let mut buckets: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        let mut wild = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            match kind.of_rule(&r.rule) {
                Some(k) => buckets.entry(k).or_default().push(i as u32),
                None => wild.push(i as u32),
            }
        }
        ChainIndex {
            kind,
            buckets: buckets
                .into_iter()
                .map(|(k, v)| (k, v.into_boxed_slice()))
                .collect(),
            wild: wild.into_boxed_slice(),
        }
    }

    /// The most rules a packet can still have to look at.
    fn worst_case(&self) -> usize {
        self.wild.len() + self.buckets.values().map(|b| b.len()).max().unwrap_or(0)
    }
}

/// Candidate rule positions, ascending (an iterator that never allocates).
#[derive(Debug, Clone)]
pub enum Candidates<'a> {
    Linear {
        pos: usize,
        len: usize,
    },
    /// Two disjoint ascending lists (the key's bucket and the wildcards), merged.
    Indexed {
        a: &'a [u32],
        b: &'a [u32],
    },
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        match self {
            Candidates::Linear { pos, len } => {
                if *pos < *len {
                    *pos += 1;
                    Some(*pos - 1)
                } else {
                    None
                }
            }
            Candidates::Indexed { a, b } => {
                let take_a = match (a.first(), b.first()) {
                    (Some(x), Some(y)) => x < y,
                    (Some(_), None) => true,
                    (None, Some(_)) => false,
                    (None, None) => return None,
                };
                let list = if take_a { a } else { b };
                let p = list[0];
                *list = &list[1..];
                Some(p as usize)
            }
        }
    }
}
