//! Running a netfilter hook: the hook's tables in priority order (raw -300,
//! conntrack -200, mangle -150, nat -100/+100, filter 0, security 50), the NAT core
//! wrapped around the nat table, and OUTPUT's re-route when a table changed the
//! destination or mark (`ip_route_me_harder`).

use crate::conntrack::status;
use crate::event::{DropReason, Event, Hook};
use crate::nat::{self, Manip, NatRange};
use crate::packet::{CtInfo, Packet, ICMP_REDIRECT, L4};
use crate::ruleset::matcher::MatchCtx;
use crate::ruleset::walk::{ChainResult, CtChanges, Walk};
use crate::sim::Sim;
use crate::topology::{IfId, NsId};
use pktpath_rules::{TableName, Target};
use std::net::Ipv4Addr;

/// A hook's verdict on a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookVerdict {
    Accept,
    Drop,
}

/// Where the packet is headed (OUTPUT may change it).
#[derive(Debug, Clone, Copy)]
pub struct Hop {
    pub iif: Option<IfId>,
    pub oif: Option<IfId>,
    pub nexthop: Option<Ipv4Addr>,
}

#[derive(Clone, Copy)]
enum Step {
    Table(TableName),
    Conntrack,
}

fn steps(hook: Hook) -> &'static [Step] {
    use Step::*;
    use TableName::*;
    match hook {
        Hook::Prerouting => &[Table(Raw), Conntrack, Table(Mangle), Table(Nat)],
        Hook::Input => &[Table(Mangle), Table(Filter), Table(Security), Table(Nat)],
        Hook::Forward => &[Table(Mangle), Table(Filter), Table(Security)],
        Hook::Output => &[
            Table(Raw),
            Conntrack,
            Table(Mangle),
            Table(Nat),
            Table(Filter),
            Table(Security),
        ],
        Hook::Postrouting => &[Table(Mangle), Table(Nat)],
    }
}

impl Sim {
    /// Run every table of `hook` on `pkt`.
    pub fn nf_hook(
        &mut self,
        ns: NsId,
        hook: Hook,
        pkt: &mut Packet,
        hop: &mut Hop,
    ) -> HookVerdict {
        // The hook's state (`struct nf_hook_state`) is fixed when NF_HOOK is called: a
        // reroute inside the hook (ip_route_me_harder() after DNAT or a mark change in
        // OUTPUT) gives the packet a new route, but the later tables of the same hook
        // still see the old output device (`-o`, OUT= in traces); the new device shows
        // from POSTROUTING on.
        // (A reroute writes the new device and next hop into `hop`; the device is put
        // back for the tables that follow and restored when the hook ends.)
        let state_out = hop.oif;
        let mut routed_out = state_out;
        for step in steps(hook) {
            if hop.oif != state_out {
                routed_out = hop.oif;
                hop.oif = state_out;
            }
            let v = match *step {
                Step::Conntrack => {
                    let n = &mut self.ns[ns.0 as usize];
                    if !n.ct_active {
                        pkt.ct = None;
                        continue;
                    }
                    let had = pkt.ct.is_some();
                    let info = n.ct.classify(pkt);
                    let orig = pkt.ct.and_then(|r| n.ct.get(r.id)).map(|c| c.orig);
                    if self.recording() {
                        self.emit(Event::Conntrack {
                            ns,
                            hook,
                            info,
                            orig,
                            new: !had && info == CtInfo::New,
                        });
                    }
                    HookVerdict::Accept
                }
                Step::Table(TableName::Nat) => self.nat_step(ns, hook, pkt, hop),
                Step::Table(t) => {
                    let (dst0, mark0) = (pkt.dst, pkt.mark);
                    let v = self.table_step(ns, hook, t, pkt, hop);
                    if v == HookVerdict::Accept
                        && hook == Hook::Output
                        && t == TableName::Mangle
                        && (pkt.dst != dst0 || pkt.mark != mark0)
                    {
                        self.reroute(ns, pkt, hop)
                    } else {
                        v
                    }
                }
            };
            if v == HookVerdict::Drop {
                return HookVerdict::Drop;
            }
        }
        if hop.oif != state_out {
            routed_out = hop.oif;
        }
        hop.oif = routed_out;
        HookVerdict::Accept
    }

    /// `ip_route_me_harder()`
    fn reroute(&mut self, ns: NsId, pkt: &mut Packet, hop: &mut Hop) -> HookVerdict {
        match self.route_output(ns, pkt.dst, Some(pkt.src), pkt.mark) {
            Ok(r) => {
                hop.oif = Some(r.dev);
                hop.nexthop = Some(r.nexthop);
                HookVerdict::Accept
            }
            Err(_) => {
                // ip_route_me_harder() fails with -EINVAL (e.g. a 127.0.0.0/8 source toward
                // another device): "ret = NF_DROP_ERR(err)", and a process sending the
                // packet gets the error from sendmsg().
                self.xmit_error = Some("Invalid argument");
                if self.recording() {
                    self.emit(Event::Drop {
                        ns,
                        reason: DropReason::RerouteFailed,
                        pkt: Box::new(pkt.clone()),
                    });
                }
                HookVerdict::Drop
            }
        }
    }

    /// Run one table's base chain for `hook`, if the kernel has it.
    fn table_step(
        &mut self,
        ns: NsId,
        hook: Hook,
        table: TableName,
        pkt: &mut Packet,
        hop: &mut Hop,
    ) -> HookVerdict {
        match self.run_base_chain(ns, hook, table, pkt, hop) {
            None | Some(ChainResult::Accept) | Some(ChainResult::Nat { .. }) => HookVerdict::Accept,
            Some(ChainResult::Drop) => HookVerdict::Drop,
            Some(ChainResult::Reject { with, chain, rule }) => {
                self.reject(ns, hook, pkt, with);
                let traced = pkt.nftrace;
                if self.recording() {
                    self.emit(Event::Rule {
                        ns,
                        table,
                        chain,
                        rule,
                        verdict: crate::event::Verdict::Drop,
                        traced,
                        len: pkt.len,
                    });
                }
                HookVerdict::Drop
            }
        }
    }

    /// Walk `table`'s base chain for `hook`; `None` when the chain does not exist.
    fn run_base_chain(
        &mut self,
        ns: NsId,
        hook: Hook,
        table: TableName,
        pkt: &mut Packet,
        hop: &Hop,
    ) -> Option<ChainResult> {
        let (ti, ci) = self.ns[ns.0 as usize]
            .rules
            .base_chain(table, hook.chain_name())?;
        if self.recording() {
            self.emit(Event::Chain {
                ns,
                hook,
                table,
                chain: ci,
                pkt: Box::new(pkt.clone()),
                oif: hop.oif,
            });
        }
        let now = self.now;
        let Sim {
            ns: nss,
            events,
            topo,
            ..
        } = self;
        let n = &mut nss[ns.0 as usize];
        let conn = pkt.ct.and_then(|r| n.ct.get(r.id)).cloned();
        let mut ctc = CtChanges {
            mark: conn.as_ref().map(|c| c.mark),
        };
        let mut ctx = MatchCtx {
            topo,
            fib: &n.fib,
            iif: hop.iif,
            oif: hop.oif,
            ct: conn.as_ref(),
            ctinfo: pkt.ct.map(|r| r.info).or(Some(CtInfo::Invalid)).map(|i| {
                if pkt.notrack {
                    CtInfo::Untracked
                } else {
                    i
                }
            }),
            now_ms: now,
            uncertain: false,
        };
        let mut walk = Walk {
            ns,
            rs: &n.rules,
            table: ti,
            events: events.as_mut(),
        };
        let res = walk.run(ci, pkt, &mut ctx, &mut n.mstate, &mut ctc);
        let uncertain = ctx.uncertain;
        if let (Some(m), Some(r)) = (ctc.mark, pkt.ct) {
            if let Some(c) = n.ct.get_mut(r.id) {
                c.mark = m;
            }
        }
        if uncertain {
            self.uncertain = true;
            if self.recording() {
                self.emit(Event::Note {
                    ns,
                    text: format!(
                        "{} {}: a rule uses a match pktpath cannot evaluate; it was treated as matching (may match)",
                        table.as_str(),
                        hook.chain_name()
                    ),
                });
            }
        }
        Some(res)
    }

    /// The nat table inside the NAT core (`nf_nat_inet_fn`): the chain is consulted only
    /// for a connection's first packet (per manip type), a null binding is made when no
    /// rule bound it, and every packet is then rewritten by the connection's bindings.
    fn nat_step(&mut self, ns: NsId, hook: Hook, pkt: &mut Packet, hop: &mut Hop) -> HookVerdict {
        if !self.ns[ns.0 as usize].rules.has_nat() {
            return HookVerdict::Accept;
        }
        let manip = match hook {
            Hook::Prerouting | Hook::Output => Manip::Dst,
            _ => Manip::Src,
        };
        let Some(r) = pkt.ct else {
            return HookVerdict::Accept;
        };
        let is_icmp_error = matches!(pkt.l4, L4::IcmpError { .. });
        if let L4::IcmpError {
            ty: ICMP_REDIRECT, ..
        } = pkt.l4
        {
            // nf_nat_icmp_reply_translation(): "If NAT isn't finished, assume it and
            // drop", and a redirect about a NATed connection is dropped as well.
            let st = self.ns[ns.0 as usize].ct.get(r.id).map_or(0, |c| c.status);
            let done = status::SRC_NAT_DONE | status::DST_NAT_DONE;
            if st & done != done || st & (status::SRC_NAT | status::DST_NAT) != 0 {
                if self.recording() {
                    self.emit(Event::Note {
                        ns,
                        text: "ICMP redirect about a connection whose NAT is not finished (or is NATed): dropped by the NAT core".into(),
                    });
                }
                return HookVerdict::Drop;
            }
        }
        let first = match r.info {
            CtInfo::Related | CtInfo::RelatedReply if is_icmp_error => false,
            // "Only ICMPs can be IP_CT_IS_REPLY. Fallthrough": other related packets are
            // treated like a new connection's.
            CtInfo::New | CtInfo::Related | CtInfo::RelatedReply => {
                !nat::initialized(&self.ns[ns.0 as usize].ct, r.id, manip)
            }
            _ => false,
        };
        if first {
            match self.run_base_chain(ns, hook, TableName::Nat, pkt, hop) {
                Some(ChainResult::Drop) | Some(ChainResult::Reject { .. }) => {
                    return HookVerdict::Drop
                }
                Some(ChainResult::Nat { target })
                    if !self.nat_target(ns, hook, manip, &target, pkt, hop) =>
                {
                    return HookVerdict::Drop;
                }
                _ => {}
            }
            nat::null_binding(&mut self.ns[ns.0 as usize].ct, r.id, manip);
        }
        let before = (pkt.src, pkt.dst, pkt.l4.ports().0, pkt.l4.ports().1);
        let changed = nat::manip_packet(&self.ns[ns.0 as usize].ct, pkt, manip);
        if changed {
            if self.recording() {
                self.emit(Event::Nat {
                    ns,
                    hook,
                    before,
                    after: (pkt.src, pkt.dst, pkt.l4.ports().0, pkt.l4.ports().1),
                    first,
                });
            }
            if hook == Hook::Output {
                // nf_nat_ipv4_local_fn(): a changed destination is routed again.
                return self.reroute(ns, pkt, hop);
            }
        }
        HookVerdict::Accept
    }

    /// Set up the binding a nat target asks for. False when it cannot (the kernel drops).
    fn nat_target(
        &mut self,
        ns: NsId,
        hook: Hook,
        manip: Manip,
        target: &Target,
        pkt: &Packet,
        hop: &Hop,
    ) -> bool {
        let addr_range = |r: &pktpath_rules::NatRange| r.addr;
        let ports = |r: Option<pktpath_rules::PortRange>| r.map(|p| (p.lo, p.hi));
        let range = match target {
            Target::Dnat { range, flags } | Target::Snat { range, flags } => NatRange {
                addr: addr_range(range),
                ports: ports(range.ports),
                random: flags.random || flags.random_fully,
                persistent: flags.persistent,
            },
            Target::Masquerade { ports: p, flags } => {
                // nf_nat_masquerade_ipv4(): the output device's address toward the next hop.
                let Some(oif) = hop.oif else { return false };
                let nh = hop.nexthop.unwrap_or(pkt.dst);
                let Some(a) = self.ns(ns).fib.select_addr(oif, nh, &self.topo) else {
                    return false;
                };
                NatRange {
                    addr: Some((a, a)),
                    ports: ports(*p),
                    random: flags.random || flags.random_fully,
                    persistent: false,
                }
            }
            Target::Redirect { ports: p, flags } => {
                // nf_nat_redirect_ipv4(): the input device's primary address, or
                // 127.0.0.1 for locally generated packets.
                let a = if hook == Hook::Output {
                    Ipv4Addr::LOCALHOST
                } else {
                    match hop
                        .iif
                        .and_then(|i| self.topo.iface(i).addrs.first().map(|a| a.addr))
                    {
                        Some(a) => a,
                        None => return false,
                    }
                };
                NatRange {
                    addr: Some((a, a)),
                    ports: ports(*p),
                    random: flags.random || flags.random_fully,
                    persistent: false,
                }
            }
            _ => return true,
        };
        let Some(r) = pkt.ct else { return true };
        let Sim { ns: nss, rng, .. } = self;
        // A shifted port range (`--to-destination a:lo-hi/base`) maps each port by its
        // offset from `base` (NF_NAT_RANGE_PROTO_OFFSET).
        nat::setup(
            &mut nss[ns.0 as usize].ct,
            r.id,
            &range,
            nat::proto_offset(target),
            manip,
            rng,
        );
        true
    }
}
