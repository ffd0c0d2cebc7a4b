//! NAT (`nf_nat_core`): bindings made by the nat table's targets for a connection's first
//! packet, the unique-tuple search that reallocates a source port when two connections
//! would otherwise share a reply tuple, null bindings, and the per-packet rewrite that
//! applies a binding to every later packet of both directions.

use crate::conntrack::{status, Conntrack, Tuple};
use crate::packet::{CtInfo, Packet, L4};
use rand::Rng;
use std::net::Ipv4Addr;

/// Which half of the tuple a hook rewrites (`enum nf_nat_manip_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manip {
    /// POSTROUTING and INPUT rewrite the source.
    Src,
    /// PREROUTING and OUTPUT rewrite the destination.
    Dst,
}

/// `struct nf_nat_range2`, resolved: addresses and ports to map into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatRange {
    pub addr: Option<(Ipv4Addr, Ipv4Addr)>,
    pub ports: Option<(u16, u16)>,
    /// `--random` / `--random-fully` (NF_NAT_RANGE_PROTO_RANDOM_ALL)
    pub random: bool,
    pub persistent: bool,
}

impl Manip {
    fn status_bit(self) -> u32 {
        match self {
            Manip::Src => status::SRC_NAT,
            Manip::Dst => status::DST_NAT,
        }
    }
    pub fn done_bit(self) -> u32 {
        match self {
            Manip::Src => status::SRC_NAT_DONE,
            Manip::Dst => status::DST_NAT_DONE,
        }
    }
}

fn in_range(t: &Tuple, m: Manip, r: &NatRange) -> bool {
    let (a, p) = match m {
        Manip::Src => (t.src, t.sport),
        Manip::Dst => (t.dst, t.dport),
    };
    r.addr.is_none_or(|(lo, hi)| lo <= a && a <= hi)
        && r.ports.is_none_or(|(lo, hi)| lo <= p && p <= hi)
}

/// `nf_nat_used_tuple()`: would `t`'s reply tuple collide with another connection's?
fn used(ct: &Conntrack, t: &Tuple, id: u32) -> bool {
    ct.tuple_taken(&t.invert(), id)
}

fn set_manip(t: &mut Tuple, m: Manip, addr: Option<Ipv4Addr>, port: Option<u16>) {
    match m {
        Manip::Src => {
            if let Some(a) = addr {
                t.src = a;
            }
            if let Some(p) = port {
                t.sport = p;
            }
        }
        Manip::Dst => {
            if let Some(a) = addr {
                t.dst = a;
            }
            if let Some(p) = port {
                t.dport = p;
            }
        }
    }
}

/// The `base_proto` of a target's shifted port range (NF_NAT_RANGE_PROTO_OFFSET,
/// `--to-destination a:1000-2000/3000`), `None` when the range is not shifted. SNAT and
/// MASQUERADE keep the flag but not the base, which is then 0.
pub fn proto_offset(target: &pktpath_rules::Target) -> Option<u16> {
    use pktpath_rules::Target;
    match target {
        Target::Dnat { range, .. } | Target::Snat { range, .. } => range.ports.and(range.base),
        Target::Masquerade {
            ports: Some(_),
            flags,
        } if flags.proto_offset => Some(0),
        _ => None,
    }
}

/// `get_unique_tuple()`. `offset`: the range's `base_proto` when it is shifted
/// (NF_NAT_RANGE_PROTO_OFFSET).
fn unique_tuple(
    ct: &Conntrack,
    id: u32,
    orig: &Tuple,
    r: &NatRange,
    offset: Option<u16>,
    m: Manip,
    rng: &mut impl Rng,
) -> Tuple {
    // 1) For SNAT, keep the original tuple when it is in range and unused.
    if m == Manip::Src && !r.random && in_range(orig, m, r) && !used(ct, orig, id) {
        return *orig;
    }
    // 2) find_best_ips_proto(): pick an address of the range. The kernel hashes the
    //    flow (jhash of src, and dst unless --persistent) to spread flows; any fixed
    //    choice per flow is as faithful, and keeps runs reproducible.
    let mut t = *orig;
    if let Some((lo, hi)) = r.addr {
        let span = u32::from(hi).saturating_sub(u32::from(lo)) as u64 + 1;
        let key = if r.persistent {
            u32::from(orig.src) as u64
        } else {
            u32::from(orig.src) as u64 ^ (u32::from(orig.dst) as u64) << 1
        };
        let a = Ipv4Addr::from(u32::from(lo) + (key % span) as u32);
        set_manip(&mut t, m, Some(a), None);
    }
    // 3) Keep the port when it is in range and the tuple is unique (a shifted range
    //    always maps the port).
    if !r.random {
        let port_ok = match r.ports {
            Some((lo, hi)) => {
                let p = port_of(&t, m);
                offset.is_none() && lo <= p && p <= hi && (lo == hi || !used(ct, &t, id))
            }
            None => !used(ct, &t, id),
        };
        if port_ok {
            return t;
        }
    }
    // nf_nat_l4proto_unique_tuple()
    if t.proto == 1 && m == Manip::Dst {
        return t;
    }
    let (min, size): (u32, u32) = match r.ports {
        Some((lo, hi)) => (lo as u32, hi as u32 - lo as u32 + 1),
        None => {
            // "If it's dst rewrite, can't change port"
            if m == Manip::Dst {
                return t;
            }
            let p = port_of(&t, m);
            if p < 512 {
                (1, 511)
            } else if p < 1024 {
                (600, 424)
            } else {
                (1024, 64512)
            }
        }
    };
    // A shifted range starts at `port - base` (u16 arithmetic, so it wraps); else SNAT
    // (and --random) start at a random offset, DNAT at the start of the range.
    let mut off: u16 = if let Some(base) = offset {
        port_of(&t, m).wrapping_sub(base)
    } else if r.random || m == Manip::Src {
        rng.gen::<u16>()
    } else {
        0
    };
    let mut attempts = size.min(128);
    loop {
        for _ in 0..attempts {
            let p = (min + u32::from(off) % size) as u16;
            set_manip(&mut t, m, None, Some(p));
            if !used(ct, &t, id) {
                return t;
            }
            // `off` is a u16 in the kernel: it wraps at 65536.
            off = off.wrapping_add(1);
        }
        if attempts >= size || attempts < 16 {
            return t;
        }
        attempts /= 2;
        off = rng.gen::<u16>();
    }
}

fn port_of(t: &Tuple, m: Manip) -> u16 {
    match m {
        Manip::Src => t.sport,
        Manip::Dst => t.dport,
    }
}

/// `nf_nat_setup_info()`: bind connection `id` for `m` into `r`. Returns the
/// original-direction tuple after the mapping. `offset`: the range's `base_proto` when it
/// is shifted ([`proto_offset`] of the target); the new port is then
/// `lo + (port - base) % (hi - lo + 1)` (nf_nat_l4proto_unique_tuple() with
/// NF_NAT_RANGE_PROTO_OFFSET), the next free one after it if that tuple is taken.
pub fn setup(
    ct: &mut Conntrack,
    id: u32,
    r: &NatRange,
    offset: Option<u16>,
    m: Manip,
    rng: &mut impl Rng,
) -> Option<Tuple> {
    // Without a port range the offset means nothing (the parser never gives one).
    let offset = offset.filter(|_| r.ports.is_some());
    let c = ct.get(id)?;
    if c.status & m.done_bit() != 0 {
        return None;
    }
    // "What we've got will look like inverse of reply."
    let curr = c.reply.invert();
    let new = unique_tuple(ct, id, &curr, r, offset, m, rng);
    let c = ct.get_mut(id)?;
    if new != curr {
        c.reply = new.invert();
        c.status |= m.status_bit();
    }
    c.status |= m.done_bit();
    Some(new)
}

/// `nf_nat_alloc_null_binding()`: no rule bound this manip type; record that the
/// connection keeps its addresses so later packets skip the nat table.
pub fn null_binding(ct: &mut Conntrack, id: u32, m: Manip) {
    if let Some(c) = ct.get_mut(id) {
        c.status |= m.done_bit();
    }
}

pub fn initialized(ct: &Conntrack, id: u32, m: Manip) -> bool {
    ct.get(id).is_some_and(|c| c.status & m.done_bit() != 0)
}

/// `nf_nat_packet()`: apply a connection's bindings to one packet at a nat hook.
/// Returns true when the packet changed.
pub fn manip_packet(ct: &Conntrack, pkt: &mut Packet, m: Manip) -> bool {
    let Some(r) = pkt.ct else { return false };
    let Some(c) = ct.get(r.id) else { return false };
    let reply_dir = r.info.is_reply();
    let mut bit = m.status_bit();
    // "Invert if this is reply dir."
    if reply_dir {
        bit ^= status::SRC_NAT | status::DST_NAT;
    }
    if c.status & bit == 0 {
        return false;
    }
    // Only an ICMP error quotes the connection's packet; a RELATED TCP RST (REJECT
    // --reject-with tcp-reset, `nf_ct_attach`) is rewritten like any packet of its
    // direction ("Only ICMPs can be IP_CT_IS_REPLY. Fallthrough" in nf_nat_inet_fn).
    if matches!(r.info, CtInfo::Related | CtInfo::RelatedReply)
        && matches!(pkt.l4, L4::IcmpError { .. })
    {
        return manip_icmp_error(c, pkt, m, reply_dir);
    }
    // The packet must look like the inverse of the other direction's tuple.
    let target = if reply_dir {
        c.orig.invert()
    } else {
        c.reply.invert()
    };
    let before = (pkt.src, pkt.dst, pkt.l4);
    match m {
        Manip::Src => {
            pkt.src = target.src;
            pkt.l4.set_sport(target.sport);
        }
        Manip::Dst => {
            pkt.dst = target.dst;
            pkt.l4.set_dport(target.dport);
        }
    }
    before != (pkt.src, pkt.dst, pkt.l4)
}

/// `nf_nat_icmp_reply_translation()`: an ICMP error about a NATed connection gets its
/// quoted header and its outer address rewritten.
fn manip_icmp_error(
    c: &crate::conntrack::Conn,
    pkt: &mut Packet,
    m: Manip,
    reply_dir: bool,
) -> bool {
    let target = if reply_dir {
        c.orig.invert()
    } else {
        c.reply.invert()
    };
    let before = pkt.clone();
    if let L4::IcmpError { inner, .. } = &mut pkt.l4 {
        // The quoted packet travelled the other way: rewrite its opposite half.
        match m {
            Manip::Src => {
                inner.dst = target.src;
                if inner.proto != 1 {
                    inner.dport = target.sport;
                }
            }
            Manip::Dst => {
                inner.src = target.dst;
                if inner.proto != 1 {
                    inner.sport = target.dport;
                }
            }
        }
    }
    match m {
        Manip::Src => pkt.src = target.src,
        Manip::Dst => pkt.dst = target.dst,
    }
    before != *pkt
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn tcp(dst: [u8; 4], dport: u16) -> Tuple {
        Tuple {
            src: Ipv4Addr::new(192, 168, 1, 2),
            dst: Ipv4Addr::from(dst),
            proto: 6,
            sport: 40000,
            dport,
        }
    }

    /// nf_nat_l4proto_unique_tuple() with NF_NAT_RANGE_PROTO_OFFSET:
    /// `--to-destination 10.0.0.1:1000-2000/3000` maps port p to
    /// `1000 + (u16)(p - 3000) % 1001`.
    #[test]
    fn shifted_dnat_range() {
        let ct = Conntrack::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let r = NatRange {
            addr: Some((Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 1))),
            ports: Some((1000, 2000)),
            random: false,
            persistent: false,
        };
        let map = |dport: u16, rng: &mut rand_chacha::ChaCha8Rng| {
            unique_tuple(
                &ct,
                1,
                &tcp([1, 2, 3, 4], dport),
                &r,
                Some(3000),
                Manip::Dst,
                rng,
            )
        };
        let t = map(3005, &mut rng);
        assert_eq!((t.dst, t.dport), (Ipv4Addr::new(10, 0, 0, 1), 1005));
        // A port in the range is shifted too (no "keep it" step).
        assert_eq!(
            map(1500, &mut rng).dport,
            1000 + (1500u16.wrapping_sub(3000) as u32 % 1001) as u16
        );
        // `port - base` wraps as a u16: 80 - 3000 = 62616; 62616 % 1001 = 554.
        assert_eq!(map(80, &mut rng).dport, 1554);
        // Not shifted: DNAT keeps an in-range port.
        let t = unique_tuple(
            &ct,
            1,
            &tcp([1, 2, 3, 4], 1500),
            &r,
            None,
            Manip::Dst,
            &mut rng,
        );
        assert_eq!(t.dport, 1500);
    }

    /// SNAT and MASQUERADE keep NF_NAT_RANGE_PROTO_OFFSET with base 0: the port maps to
    /// `lo + port % size` unless the original tuple is already in range and unused.
    #[test]
    fn shifted_snat_range_base_zero() {
        let ct = Conntrack::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let r = NatRange {
            addr: Some((Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 1))),
            ports: Some((1000, 2000)),
            random: false,
            persistent: false,
        };
        let t = unique_tuple(
            &ct,
            1,
            &tcp([1, 2, 3, 4], 80),
            &r,
            Some(0),
            Manip::Src,
            &mut rng,
        );
        assert_eq!(t.sport, 1000 + (40000 % 1001) as u16);
    }

    #[test]
    fn proto_offset_of_targets() {
        let rs = pktpath_rules::parse_save(
            "*nat\n-A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.1:1000-2000/3000\n-A POSTROUTING -p tcp -j SNAT --to-source 10.0.0.1:1000-2000/5\n-A POSTROUTING -p tcp -j MASQUERADE --to-ports 1000-2000/5\n-A POSTROUTING -p tcp -j MASQUERADE --to-ports 1000-2000\nCOMMIT\n",
            "t",
        )
        .unwrap();
        let t = rs.table(pktpath_rules::TableName::Nat).unwrap();
        let got: Vec<Option<u16>> = t
            .chains
            .iter()
            .flat_map(|c| c.rules.iter())
            .map(|r| proto_offset(r.target.as_ref().unwrap()))
            .collect();
        assert_eq!(got, vec![Some(3000), Some(0), Some(0), None]);
    }
}
