//! Bridging with br_netfilter. A frame entering a bridge port is either for the bridge
//! itself (its MAC: routed by the bridge's IP stack, IN=bridge) or forwarded to another
//! port. With `bridge-nf-call-iptables = 1` both kinds run the IPv4 PREROUTING hooks once,
//! in the bridge context (`br_nf_pre_routing`; `ip_sabotage_in` stops a second pass);
//! forwarded frames then run FORWARD (IN=OUT=bridge, physdev = the ports) and
//! POSTROUTING. If PREROUTING's DNAT changes the destination, `br_nf_pre_routing_finish`
//! routes it again: out through the same bridge means the frame is bridged to the new
//! destination's MAC, else it is routed. A bridge never sends a frame back out of the
//! port it came in on unless that port is in hairpin mode (`should_deliver`).

use super::hooks::{HookVerdict, Hop};
use super::route::InRoute;
use crate::event::{DropReason, Event, Hook};
use crate::packet::Packet;
use crate::sim::Sim;
use crate::topology::IfId;

impl Sim {
    pub(crate) fn bridge_rcv(
        &mut self,
        br: IfId,
        port: IfId,
        mut pkt: Packet,
        mac: ([u8; 6], [u8; 6]),
    ) {
        let ns = br.ns;
        if !self.topo.iface(br).up {
            self.drop_pkt(ns, &pkt, DropReason::LinkDown);
            return;
        }
        let br_mac = self.topo.iface(br).mac;
        let local = mac.1 == br_mac;
        if !self.ns(ns).br_nf() {
            if local {
                self.ip_rcv(br, pkt);
            } else {
                match self.topo.fdb(br, mac.1) {
                    Some(out) => self.bridge_forward(br, port, out, pkt, mac, false),
                    None => self.drop_pkt(ns, &pkt, DropReason::NoRoute),
                }
            }
            return;
        }
        // br_nf_pre_routing(): IPv4 PREROUTING with IN=bridge, physdev in = port.
        pkt.iif = Some(br);
        pkt.phys_in = Some(port);
        pkt.bridged = !local;
        let dst0 = pkt.dst;
        let mut hop = Hop {
            iif: Some(br),
            oif: None,
            nexthop: None,
        };
        if self.nf_hook(ns, Hook::Prerouting, &mut pkt, &mut hop) == HookVerdict::Drop {
            self.drop_pkt(ns, &pkt, DropReason::Netfilter);
            return;
        }
        if pkt.dst != dst0 {
            // br_nf_pre_routing_finish(): DNAT changed the destination; route again.
            match self.route_input(ns, &pkt, br) {
                InRoute::Forward { dev, nexthop, .. } if dev == br => {
                    let Some(owner) = self.topo.arp(br, nexthop) else {
                        self.drop_pkt(ns, &pkt, DropReason::NeighbourUnreachable(nexthop));
                        return;
                    };
                    let new_mac = self.topo.iface(owner).mac;
                    let Some(out) = self.topo.fdb(br, new_mac) else {
                        self.drop_pkt(ns, &pkt, DropReason::NeighbourUnreachable(nexthop));
                        return;
                    };
                    pkt.bridged = true;
                    self.bridge_forward(br, port, out, pkt, (mac.0, new_mac), true);
                }
                _ => {
                    pkt.bridged = false;
                    self.ip_rcv_finish(br, pkt);
                }
            }
            return;
        }
        if local {
            self.ip_rcv_finish(br, pkt);
            return;
        }
        match self.topo.fdb(br, mac.1) {
            Some(out) => self.bridge_forward(br, port, out, pkt, mac, true),
            None => self.drop_pkt(ns, &pkt, DropReason::NoRoute),
        }
    }

    /// `br_forward()`: deliver a frame from `in_port` to `out_port`, with the IPv4
    /// FORWARD and POSTROUTING hooks when br_netfilter is on.
    fn bridge_forward(
        &mut self,
        br: IfId,
        in_port: IfId,
        out_port: IfId,
        mut pkt: Packet,
        mac: ([u8; 6], [u8; 6]),
        hooks: bool,
    ) {
        let ns = br.ns;
        // should_deliver(): not back out of the ingress port unless hairpin mode is on.
        if out_port == in_port && !self.topo.iface(out_port).hairpin {
            self.drop_pkt(ns, &pkt, DropReason::BridgeNoHairpin);
            return;
        }
        if self.recording() {
            self.emit(Event::Bridged {
                ns,
                bridge: br,
                in_port,
                out_port,
            });
        }
        if hooks {
            pkt.phys_out = Some(out_port);
            pkt.bridged = true;
            let mut hop = Hop {
                iif: Some(br),
                oif: Some(br),
                nexthop: Some(pkt.dst),
            };
            if self.nf_hook(ns, Hook::Forward, &mut pkt, &mut hop) == HookVerdict::Drop {
                self.drop_pkt(ns, &pkt, DropReason::Netfilter);
                return;
            }
            if self.nf_hook(ns, Hook::Postrouting, &mut pkt, &mut hop) == HookVerdict::Drop {
                self.drop_pkt(ns, &pkt, DropReason::Netfilter);
                return;
            }
            if !self.ns_mut(ns).ct.confirm(&pkt) {
                self.drop_pkt(ns, &pkt, DropReason::ConntrackClash);
                return;
            }
        }
        self.port_xmit(out_port, pkt, mac);
    }
}
