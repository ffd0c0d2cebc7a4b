//! Does a packet meet a rule? The rule header (`-s -d -i -o -p -f`) and every match
//! module, each following its kernel counterpart (xt_tcpudp, xt_multiport, xt_addrtype,
//! xt_conntrack, xt_state, xt_mark, xt_connmark, xt_statistic, xt_recent, xt_limit,
//! xt_iprange, xt_physdev, xt_mac, xt_owner, xt_pkttype, xt_sctp).

use crate::conntrack::{status, Conn};
use crate::fib::Fib;
use crate::packet::{CtInfo, Packet, L4};
use crate::topology::{IfId, Topology};
use ipnet::Ipv4Net;
use pktpath_rules::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap as HashMap;
use std::net::Ipv4Addr;

/// Mutable state some matches keep between packets (per namespace).
#[derive(Debug, Clone)]
pub struct MatchState {
    /// xt_statistic nth counters, by rule id.
    nth: HashMap<u32, u32>,
    /// xt_limit token buckets, by rule id: (credit, last refill in ms).
    limit: HashMap<u32, (f64, u64)>,
    /// xt_recent lists: name -> address -> hit times (ms).
    recent: HashMap<String, HashMap<Ipv4Addr, Vec<u64>>>,
    pub rng: ChaCha8Rng,
    /// Outcomes to use for the next `statistic --mode random` draws instead of the RNG
    /// (to replay the path the kernel took).
    pub forced: std::collections::VecDeque<bool>,
    /// Every `statistic --mode random` draw made, in order.
    pub drawn: Vec<bool>,
}

impl MatchState {
    pub fn new(rng: ChaCha8Rng) -> Self {
        MatchState {
            nth: HashMap::default(),
            limit: HashMap::default(),
            recent: HashMap::default(),
            rng,
            forced: std::collections::VecDeque::new(),
            drawn: Vec::new(),
        }
    }
}

/// What a match can see besides the packet.
pub struct MatchCtx<'a> {
    pub topo: &'a Topology,
    pub fib: &'a Fib,
    pub iif: Option<IfId>,
    pub oif: Option<IfId>,
    pub ct: Option<&'a Conn>,
    pub ctinfo: Option<CtInfo>,
    /// Simulated time, milliseconds.
    pub now_ms: u64,
    /// Set when a match the engine cannot evaluate was met (treated as matching).
    pub uncertain: bool,
}

fn iface_name(topo: &Topology, i: Option<IfId>) -> &str {
    i.map(|i| topo.name(i)).unwrap_or("")
}

fn iface_match(spec: &IfaceName, name: &str) -> bool {
    if spec.wildcard {
        name.starts_with(spec.name.as_str())
    } else {
        name == spec.name
    }
}

fn net_match(n: &Neg<Ipv4Net>, a: Ipv4Addr) -> bool {
    n.value.contains(&a) != n.negated
}

/// `-s`/`-d` (ip_packet_match()): `(addr & mask) == net`, any mask.
fn mask_match(n: &Neg<AddrMask>, a: Ipv4Addr) -> bool {
    n.value.contains(a) != n.negated
}

fn range_match(r: &Neg<PortRange>, p: u16) -> bool {
    r.value.contains(p) != r.negated
}

/// The rule header and all its matches: the reference evaluation, straight from the
/// parsed rule. The walk uses the equivalent compiled form ([`Header`] then
/// [`rest_matches`]); the equivalence is checked by the ruleset's property tests.
pub fn rule_matches(
    rule: &Rule,
    pkt: &Packet,
    ctx: &mut MatchCtx,
    st: &mut MatchState,
    id: u32,
) -> bool {
    header_matches(rule, pkt) && rest_matches(rule, pkt, ctx, st, id)
}

/// `-s`, `-d` and `-p`: the part of the header that only looks at the packet (and so
/// has no side effects; `ip_packet_match()` checks it first).
pub fn header_matches(rule: &Rule, pkt: &Packet) -> bool {
    if let Some(s) = &rule.src {
        if !mask_match(s, pkt.src) {
            return false;
        }
    }
    if let Some(d) = &rule.dst {
        if !mask_match(d, pkt.dst) {
            return false;
        }
    }
    if let Some(p) = &rule.proto {
        let m = match p.value {
            Protocol::All => true,
            other => other.number() == pkt.proto(),
        };
        if m == p.negated {
            return false;
        }
    }
    true
}

/// The rest of the rule after [`header_matches`]: interfaces, fragment flag, then the
/// match modules in order (some of which keep state: statistic, limit, recent).
pub fn rest_matches(
    rule: &Rule,
    pkt: &Packet,
    ctx: &mut MatchCtx,
    st: &mut MatchState,
    id: u32,
) -> bool {
    if let Some(i) = &rule.in_iface {
        if iface_match(&i.value, iface_name(ctx.topo, ctx.iif)) == i.negated {
            return false;
        }
    }
    if let Some(o) = &rule.out_iface {
        if iface_match(&o.value, iface_name(ctx.topo, ctx.oif)) == o.negated {
            return false;
        }
    }
    if let Some(f) = &rule.fragment {
        // The engine's packets are never fragments.
        if !f.negated {
            return false;
        }
    }
    rule.matches.iter().all(|m| match_one(m, pkt, ctx, st, id))
}

/// [`header_matches`] compiled to masks: 24 bytes per rule, kept in a dense array per
/// chain so that scanning a long chain touches little memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    src: u32,
    src_mask: u32,
    dst: u32,
    dst_mask: u32,
    /// Protocol number to compare with, when `proto_any` is false.
    proto: u8,
    proto_any: bool,
    src_neg: bool,
    dst_neg: bool,
    proto_neg: bool,
}

impl Header {
    pub fn compile(rule: &Rule) -> Header {
        // An absent `-s`/`-d` is 0.0.0.0/0 (mask 0: every address is inside).
        let net = |n: &Option<Neg<AddrMask>>| match n {
            Some(n) => (n.value.addr_bits(), n.value.mask(), n.negated),
            None => (0, 0, false),
        };
        let (src, src_mask, src_neg) = net(&rule.src);
        let (dst, dst_mask, dst_neg) = net(&rule.dst);
        let (proto, proto_any, proto_neg) = match &rule.proto {
            None => (0, true, false),
            Some(p) => match p.value {
                Protocol::All => (0, true, p.negated),
                other => (other.number(), false, p.negated),
            },
        };
        Header {
            src,
            src_mask,
            dst,
            dst_mask,
            proto,
            proto_any,
            src_neg,
            dst_neg,
            proto_neg,
        }
    }

    /// Same answer as [`header_matches`] on the rule it was compiled from.
    #[inline]
    pub fn matches(&self, pkt: &Packet) -> bool {
        ((u32::from(pkt.src) & self.src_mask == self.src) != self.src_neg)
            && ((u32::from(pkt.dst) & self.dst_mask == self.dst) != self.dst_neg)
            && ((self.proto_any || self.proto == pkt.proto()) != self.proto_neg)
    }
}

fn match_one(m: &Match, pkt: &Packet, ctx: &mut MatchCtx, st: &mut MatchState, id: u32) -> bool {
    match m {
        Match::Tcp(t) => tcp(t, pkt, ctx),
        Match::Udp(u) => {
            let ports = |sport, dport| {
                u.sport.as_ref().is_none_or(|r| range_match(r, sport))
                    && u.dport.as_ref().is_none_or(|r| range_match(r, dport))
            };
            match pkt.l4 {
                L4::Udp { sport, dport } => ports(sport, dport),
                // Only under `! -p udp` (the parser refuses `-m udp` otherwise):
                // iptables-nft compares the raw transport header, ports at offsets 0
                // and 2, whatever the protocol. TCP has its ports there too.
                L4::Tcp { sport, dport, .. } => ports(sport, dport),
                // ICMP: type/code and checksum there; the engine has no checksum.
                _ => {
                    ctx.uncertain = true;
                    true
                }
            }
        }
        Match::Icmp(n) => match pkt.l4.icmp_type_code() {
            Some((ty, code)) => {
                let m = match n.value {
                    IcmpType::Any => true,
                    IcmpType::Type { ty: t, code: c } => t == ty && c.is_none_or(|c| c == code),
                };
                m != n.negated
            }
            None => false,
        },
        Match::Multiport(mp) => multiport(mp, pkt),
        Match::AddrType(a) => addrtype(a, pkt, ctx),
        Match::Conntrack(c) => conntrack(c, ctx),
        Match::State(s) => {
            let bits = state_bits(ctx, false);
            (s.value.iter().any(|x| bits & state_bit(*x) != 0)) != s.negated
        }
        Match::Mark(mk) => ((pkt.mark & mk.mask) == mk.value) != mk.negated,
        Match::Connmark(mk) => {
            let mark = ctx.ct.map(|c| c.mark).unwrap_or(0);
            ctx.ct.is_some() && (((mark & mk.mask) == mk.value) != mk.negated)
        }
        Match::Comment(_) => true,
        Match::Statistic(s) => statistic(s, st, id),
        Match::Recent(r) => recent(r, pkt, ctx, st),
        Match::Limit(l) => limit(l, ctx, st, id),
        Match::IpRange(r) => {
            let inr = |n: &Neg<(Ipv4Addr, Ipv4Addr)>, a: Ipv4Addr| {
                (n.value.0 <= a && a <= n.value.1) != n.negated
            };
            r.src.as_ref().is_none_or(|n| inr(n, pkt.src))
                && r.dst.as_ref().is_none_or(|n| inr(n, pkt.dst))
        }
        Match::Physdev(p) => physdev(p, pkt, ctx),
        Match::Mac(n) => pkt
            .mac
            .is_some_and(|(src, _)| (src == n.value) != n.negated),
        Match::Owner(o) => owner(o, pkt),
        Match::PktType(n) => {
            let t = if pkt.dst.is_broadcast() {
                PktType::Broadcast
            } else if pkt.dst.is_multicast() {
                PktType::Multicast
            } else {
                PktType::Unicast
            };
            (t == n.value) != n.negated
        }
        // xt_sctp (.proto = IPPROTO_SCTP) only looks at SCTP packets, which the engine
        // never builds: any other protocol does not match.
        Match::Sctp(_) => {
            if pkt.proto() != 132 {
                return false;
            }
            ctx.uncertain = true;
            true
        }
        // Not modelled yet: treated like an unknown match ("may match"). hashlimit: packet
        // and byte rates (`--hashlimit-upto 1mb/s`) alike.
        Match::HashLimit(_) | Match::Connlimit(_) | Match::Rpfilter(_) | Match::Unknown { .. } => {
            ctx.uncertain = true;
            true
        }
    }
}

/// TCP options a Linux SYN carries (MSS, SACK-permitted, timestamps, NOP, window
/// scale); later segments carry NOP and timestamps.
fn tcp_has_option(flags: u8, opt: u8) -> bool {
    use crate::packet::tcp_flags::SYN;
    if flags & SYN != 0 {
        matches!(opt, 1 | 2 | 3 | 4 | 8)
    } else {
        matches!(opt, 1 | 8)
    }
}

fn tcp(t: &TcpMatch, pkt: &Packet, ctx: &mut MatchCtx) -> bool {
    let (sport, dport, flags) = match pkt.l4 {
        L4::Tcp {
            sport,
            dport,
            flags,
        } => (sport, dport, flags),
        // Only under `! -p tcp` (the parser refuses `-m tcp` otherwise, and
        // `--tcp-option` there): iptables-nft compares the raw transport header, ports at
        // offsets 0 and 2 whatever the protocol. UDP has its ports there; byte 13 (the
        // flags) is UDP payload, and ICMP has a checksum where the ports are: unknown.
        L4::Udp { sport, dport } if t.flags.is_none() => {
            return t.sport.as_ref().is_none_or(|r| range_match(r, sport))
                && t.dport.as_ref().is_none_or(|r| range_match(r, dport));
        }
        _ => {
            ctx.uncertain = true;
            return true;
        }
    };
    t.sport.as_ref().is_none_or(|r| range_match(r, sport))
        && t.dport.as_ref().is_none_or(|r| range_match(r, dport))
        && t.flags
            .as_ref()
            .is_none_or(|f| ((flags & f.value.mask) == f.value.comp) != f.negated)
        && t.option
            .as_ref()
            .is_none_or(|o| tcp_has_option(flags, o.value) != o.negated)
}

fn multiport(mp: &MultiportMatch, pkt: &Packet) -> bool {
    let (sport, dport) = match pkt.l4 {
        L4::Tcp { sport, dport, .. } | L4::Udp { sport, dport } => (sport, dport),
        _ => return false,
    };
    let hit = |p: u16| mp.ports.iter().any(|r| r.contains(p));
    let m = match mp.kind {
        MultiportKind::Source => hit(sport),
        MultiportKind::Destination => hit(dport),
        MultiportKind::Either => hit(sport) || hit(dport),
    };
    m != mp.negated
}

fn addrtype(a: &AddrTypeMatch, pkt: &Packet, ctx: &MatchCtx) -> bool {
    let dev = if a.limit_iface_in {
        ctx.iif
    } else if a.limit_iface_out {
        ctx.oif
    } else {
        None
    };
    let check = |n: &Neg<Vec<AddrType>>, addr: Ipv4Addr| {
        let t = ctx.fib.addr_type(addr, dev, ctx.topo);
        n.value.contains(&t) != n.negated
    };
    a.src_type.as_ref().is_none_or(|n| check(n, pkt.src))
        && a.dst_type.as_ref().is_none_or(|n| check(n, pkt.dst))
}

fn state_bit(s: CtState) -> u32 {
    match s {
        CtState::Invalid => 1,
        CtState::Established => 2,
        CtState::Related => 4,
        CtState::New => 8,
        CtState::Untracked => 16,
        CtState::Snat => 32,
        CtState::Dnat => 64,
    }
}

/// The state bits xt_conntrack/xt_state compute for the packet.
fn state_bits(ctx: &MatchCtx, virtual_nat: bool) -> u32 {
    let mut bits = match ctx.ctinfo {
        None | Some(CtInfo::Invalid) => state_bit(CtState::Invalid),
        Some(CtInfo::Untracked) => state_bit(CtState::Untracked),
        Some(CtInfo::New) => state_bit(CtState::New),
        Some(CtInfo::Established) | Some(CtInfo::EstablishedReply) => {
            state_bit(CtState::Established)
        }
        Some(CtInfo::Related) | Some(CtInfo::RelatedReply) => state_bit(CtState::Related),
    };
    if virtual_nat {
        if let Some(c) = ctx.ct {
            if c.status & status::SRC_NAT != 0 {
                bits |= state_bit(CtState::Snat);
            }
            if c.status & status::DST_NAT != 0 {
                bits |= state_bit(CtState::Dnat);
            }
        }
    }
    bits
}

fn conntrack(c: &ConntrackMatch, ctx: &MatchCtx) -> bool {
    if let Some(s) = &c.state {
        let bits = state_bits(ctx, true);
        if s.value.iter().any(|x| bits & state_bit(*x) != 0) == s.negated {
            return false;
        }
    }
    let only_state = c.status.is_none()
        && c.proto.is_none()
        && c.orig_src.is_none()
        && c.orig_dst.is_none()
        && c.repl_src.is_none()
        && c.repl_dst.is_none()
        && c.orig_src_port.is_none()
        && c.orig_dst_port.is_none()
        && c.repl_src_port.is_none()
        && c.repl_dst_port.is_none()
        && c.dir.is_none()
        && c.expire.is_none();
    let Some(ct) = ctx.ct else {
        // xt_conntrack: without a connection only state matching can succeed.
        return only_state;
    };
    if let Some(s) = &c.status {
        let bit = |x: CtStatus| match x {
            CtStatus::Expected => status::EXPECTED,
            CtStatus::SeenReply => status::SEEN_REPLY,
            CtStatus::Assured => status::ASSURED,
            CtStatus::Confirmed => status::CONFIRMED,
        };
        if s.value.iter().any(|x| ct.status & bit(*x) != 0) == s.negated {
            return false;
        }
    }
    if let Some(p) = &c.proto {
        let m = p.value == Protocol::All || p.value.number() == ct.orig.proto;
        if m == p.negated {
            return false;
        }
    }
    let addr = |n: &Option<Neg<Ipv4Net>>, a: Ipv4Addr| n.as_ref().is_none_or(|n| net_match(n, a));
    let port = |n: &Option<Neg<PortRange>>, p: u16| n.as_ref().is_none_or(|n| range_match(n, p));
    let dir_ok = match c.dir {
        None => true,
        Some(CtDir::Original) => !ctx.ctinfo.is_some_and(|i| i.is_reply()),
        Some(CtDir::Reply) => ctx.ctinfo.is_some_and(|i| i.is_reply()),
    };
    addr(&c.orig_src, ct.orig.src)
        && addr(&c.orig_dst, ct.orig.dst)
        && addr(&c.repl_src, ct.reply.src)
        && addr(&c.repl_dst, ct.reply.dst)
        && port(&c.orig_src_port, ct.orig.sport)
        && port(&c.orig_dst_port, ct.orig.dport)
        && port(&c.repl_src_port, ct.reply.sport)
        && port(&c.repl_dst_port, ct.reply.dport)
        && dir_ok
}

fn statistic(s: &StatisticMatch, st: &mut MatchState, id: u32) -> bool {
    let m = match s.mode {
        // xt_statistic: (get_random_u32() & 0x7FFFFFFF) < probability
        StatisticMode::Random { probability } => {
            let hit = match st.forced.pop_front() {
                Some(f) => f,
                None => (st.rng.gen::<u32>() & 0x7FFF_FFFF) < probability.kernel_value,
            };
            st.drawn.push(hit);
            hit
        }
        StatisticMode::Nth { every, packet } => {
            let count = st.nth.entry(id).or_insert(packet);
            let next = if *count >= every { 0 } else { *count + 1 };
            *count = next;
            next == 0
        }
    };
    m != s.negated
}

fn recent(r: &RecentMatch, pkt: &Packet, ctx: &MatchCtx, st: &mut MatchState) -> bool {
    let addr = if r.rdest { pkt.dst } else { pkt.src };
    let addr = match r.mask {
        Some(m) => Ipv4Addr::from(u32::from(addr) & u32::from(m)),
        None => addr,
    };
    let now = ctx.now_ms;
    // Look the list up by reference: its name is copied only when it is created.
    if !st.recent.contains_key(r.name.as_str()) {
        st.recent.insert(r.name.clone(), HashMap::default());
    }
    let list = st.recent.get_mut(r.name.as_str()).expect("just inserted");
    let hits_ok = |v: &Vec<u64>| {
        let recent = v
            .iter()
            .filter(|t| {
                r.seconds
                    .is_none_or(|s| now.saturating_sub(**t) <= s as u64 * 1000)
            })
            .count();
        recent > 0 && r.hitcount.is_none_or(|h| recent as u32 >= h)
    };
    let m = match r.command {
        RecentCommand::Set => {
            let v = list.entry(addr).or_default();
            v.push(now);
            // xt_recent keeps the last ip_pkt_list_tot (20) hits per address.
            if v.len() > 20 {
                v.remove(0);
            }
            true
        }
        RecentCommand::Rcheck => list.get(&addr).is_some_and(hits_ok),
        RecentCommand::Update => {
            let hit = list.get(&addr).is_some_and(hits_ok);
            if let Some(v) = list.get_mut(&addr) {
                v.push(now);
                if v.len() > 20 {
                    v.remove(0);
                }
            }
            hit
        }
        RecentCommand::Remove => list.remove(&addr).is_some(),
    };
    m != r.negated
}

fn limit(l: &LimitMatch, ctx: &MatchCtx, st: &mut MatchState, id: u32) -> bool {
    let per_ms = match l.per {
        RateUnit::Second => 1_000.0,
        RateUnit::Minute => 60_000.0,
        RateUnit::Hour => 3_600_000.0,
        RateUnit::Day => 86_400_000.0,
    };
    let burst = l.burst.max(1) as f64;
    let (credit, last) = st.limit.entry(id).or_insert((burst, ctx.now_ms));
    let elapsed = ctx.now_ms.saturating_sub(*last) as f64;
    *credit = (*credit + elapsed * l.rate as f64 / per_ms).min(burst);
    *last = ctx.now_ms;
    if *credit >= 1.0 {
        *credit -= 1.0;
        true
    } else {
        false
    }
}

fn physdev(p: &PhysdevMatch, pkt: &Packet, ctx: &MatchCtx) -> bool {
    let bridged_ip = pkt.phys_in.is_some() || pkt.phys_out.is_some();
    if !bridged_ip {
        // xt_physdev: no bridge info — match only if every option used is inverted.
        let neg_or_absent = |n: Option<bool>| n.is_none_or(|neg| neg);
        return neg_or_absent(p.in_dev.as_ref().map(|n| n.negated))
            && neg_or_absent(p.out_dev.as_ref().map(|n| n.negated))
            && neg_or_absent(p.is_in.as_ref().map(|n| n.negated))
            && neg_or_absent(p.is_out.as_ref().map(|n| n.negated))
            && neg_or_absent(p.is_bridged.as_ref().map(|n| n.negated));
    }
    let name_in = iface_name(ctx.topo, pkt.phys_in);
    let name_out = iface_name(ctx.topo, pkt.phys_out);
    p.is_bridged
        .as_ref()
        .is_none_or(|n| pkt.bridged != n.negated)
        && p.is_in
            .as_ref()
            .is_none_or(|n| pkt.phys_in.is_some() != n.negated)
        && p.is_out
            .as_ref()
            .is_none_or(|n| pkt.phys_out.is_some() != n.negated)
        && p.in_dev
            .as_ref()
            .is_none_or(|n| iface_match(&n.value, name_in) != n.negated)
        && p.out_dev
            .as_ref()
            .is_none_or(|n| iface_match(&n.value, name_out) != n.negated)
}

fn owner(o: &OwnerMatch, pkt: &Packet) -> bool {
    let Some(uid) = pkt.sk_uid else {
        // No local socket: xt_owner does not match.
        return false;
    };
    let gid = uid;
    o.socket_exists.as_ref().is_none_or(|n| !n.negated)
        && o.uid
            .as_ref()
            .is_none_or(|n| (n.value.0 <= uid && uid <= n.value.1) != n.negated)
        && o.gid
            .as_ref()
            .is_none_or(|n| (n.value.0 <= gid && gid <= n.value.1) != n.negated)
}
