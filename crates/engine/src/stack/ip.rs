//! The IPv4 paths: receive (`ip_rcv` → PREROUTING → routing), local delivery
//! (`ip_local_deliver` → INPUT), forwarding (`ip_forward` → FORWARD), local output
//! (`ip_local_out` → OUTPUT) and the common tail (`ip_output` → POSTROUTING →
//! neighbour → device). Conntrack confirms a new connection when its first packet
//! leaves POSTROUTING or INPUT.

use super::hooks::{HookVerdict, Hop};
use super::route::{InRoute, OutRoute};
use crate::event::{DropReason, Event, Hook, RouteDecision};
use crate::fib::RouteError;
use crate::packet::{unreach, Packet, ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED};
use crate::sim::{Sim, Task};
use crate::topology::{IfId, NsId};
use std::net::Ipv4Addr;

impl Sim {
    pub(crate) fn drop_pkt(&mut self, ns: NsId, pkt: &Packet, reason: DropReason) {
        self.ns_mut(ns).ct.release(pkt);
        if self.recording() {
            self.emit(Event::Drop {
                ns,
                reason,
                pkt: Box::new(pkt.clone()),
            });
        }
    }

    /// A frame arrives at `dev` (`__netif_receive_skb`).
    pub(crate) fn netif_receive(&mut self, dev: IfId, mut pkt: Packet, mac: ([u8; 6], [u8; 6])) {
        let iface = self.topo.iface(dev);
        if !iface.up {
            self.drop_pkt(dev.ns, &pkt, DropReason::LinkDown);
            return;
        }
        if iface.is_loopback() {
            pkt.looped = true;
            pkt.mac = None;
        } else {
            pkt.mac = Some(mac);
        }
        if let Some(br) = iface.master {
            self.bridge_rcv(br, dev, pkt, mac);
        } else {
            self.ip_rcv(dev, pkt);
        }
    }

    /// `ip_rcv()`: PREROUTING, then the routing decision.
    pub(crate) fn ip_rcv(&mut self, dev: IfId, mut pkt: Packet) {
        let ns = dev.ns;
        pkt.iif = Some(dev);
        let mut hop = Hop {
            iif: Some(dev),
            oif: None,
            nexthop: None,
        };
        if self.nf_hook(ns, Hook::Prerouting, &mut pkt, &mut hop) == HookVerdict::Drop {
            self.drop_pkt(ns, &pkt, DropReason::Netfilter);
            return;
        }
        self.ip_rcv_finish(dev, pkt);
    }

    /// `ip_rcv_finish()`: route the packet and hand it on.
    pub(crate) fn ip_rcv_finish(&mut self, dev: IfId, pkt: Packet) {
        let ns = dev.ns;
        match self.route_input(ns, &pkt, dev) {
            InRoute::Local => {
                if self.recording() {
                    self.emit(Event::Route {
                        ns,
                        decision: RouteDecision::Local,
                    });
                }
                self.ip_local_deliver(dev, pkt);
            }
            InRoute::Forward {
                dev: out,
                nexthop,
                redirect,
            } => {
                if self.recording() {
                    self.emit(Event::Route {
                        ns,
                        decision: RouteDecision::Forward {
                            dev: out,
                            via: (nexthop != pkt.dst).then_some(nexthop),
                        },
                    });
                }
                self.ip_forward(dev, out, nexthop, redirect, pkt);
            }
            InRoute::Error(e) => {
                if self.recording() {
                    self.emit(Event::Route {
                        ns,
                        decision: RouteDecision::Error(route_error_text(e)),
                    });
                }
                // ip_error(): unreachable routes answer with ICMP; martians and
                // blackholes are dropped silently.
                let code = match e {
                    RouteError::HostUnreachable => Some(unreach::HOST),
                    RouteError::NetUnreachable => Some(unreach::NET),
                    RouteError::Prohibited => Some(unreach::PKT_FILTERED),
                    RouteError::Blackhole | RouteError::Martian(_) => None,
                };
                let reason = match e {
                    RouteError::HostUnreachable
                        if self.route_input_would_forward(ns, &pkt, dev) =>
                    {
                        DropReason::ForwardingDisabled
                    }
                    RouteError::Martian(m) if m.contains("destination") => {
                        DropReason::MartianDestination
                    }
                    RouteError::Martian(_) => DropReason::MartianSource,
                    RouteError::Blackhole => DropReason::Blackhole,
                    _ => DropReason::NoRoute,
                };
                // ip_error(): "if (!IN_DEV_FORWARD(in_dev)) ... goto out": with forwarding
                // off on the input device nothing is sent back.
                if let Some(code) = code.filter(|_| self.ns(ns).forwarding(dev)) {
                    self.icmp_send(ns, &pkt, ICMP_DEST_UNREACH, code, false);
                }
                self.drop_pkt(ns, &pkt, reason);
            }
        }
    }

    fn route_input_would_forward(&self, ns: NsId, pkt: &Packet, dev: IfId) -> bool {
        !self.ns(ns).forwarding(dev)
            && self
                .ns(ns)
                .fib
                .lookup(
                    &crate::fib::Flow {
                        dst: pkt.dst,
                        src: Some(pkt.src),
                        iif: Some(dev),
                        oif: None,
                        mark: pkt.mark,
                    },
                    &self.topo,
                )
                .is_ok()
    }

    /// `ip_local_deliver()`: INPUT, confirm, then the socket layer.
    pub(crate) fn ip_local_deliver(&mut self, dev: IfId, mut pkt: Packet) {
        let ns = dev.ns;
        let mut hop = Hop {
            iif: Some(dev),
            oif: None,
            nexthop: None,
        };
        if self.nf_hook(ns, Hook::Input, &mut pkt, &mut hop) == HookVerdict::Drop {
            self.drop_pkt(ns, &pkt, DropReason::Netfilter);
            return;
        }
        if !self.ns_mut(ns).ct.confirm(&pkt) {
            self.drop_pkt(ns, &pkt, DropReason::ConntrackClash);
            return;
        }
        self.socket_rcv(ns, pkt);
    }

    /// `ip_forward()`: TTL, redirect, FORWARD, then output.
    pub(crate) fn ip_forward(
        &mut self,
        in_dev: IfId,
        out: IfId,
        nexthop: Ipv4Addr,
        redirect: bool,
        mut pkt: Packet,
    ) {
        let ns = in_dev.ns;
        if pkt.ttl <= 1 {
            self.icmp_send(ns, &pkt, ICMP_TIME_EXCEEDED, 0, false);
            self.drop_pkt(ns, &pkt, DropReason::TtlExceeded);
            return;
        }
        // ip_forward() decrements the TTL before the FORWARD hook.
        pkt.ttl -= 1;
        // "We now generate an ICMP HOST REDIRECT giving the route we calculated", before
        // the FORWARD hook: the packet itself is still forwarded.
        if redirect {
            self.ip_rt_send_redirect(ns, &pkt, nexthop);
        }
        let mut hop = Hop {
            iif: Some(in_dev),
            oif: Some(out),
            nexthop: Some(nexthop),
        };
        if self.nf_hook(ns, Hook::Forward, &mut pkt, &mut hop) == HookVerdict::Drop {
            self.drop_pkt(ns, &pkt, DropReason::Netfilter);
            return;
        }
        self.ip_output(ns, pkt, hop);
    }

    /// `ip_local_out()` for a packet a local socket (or the stack) sends.
    pub(crate) fn ip_local_out(&mut self, ns: NsId, mut pkt: Packet, route: OutRoute) {
        pkt.iif = None;
        if self.recording() {
            self.emit(Event::Route {
                ns,
                decision: RouteDecision::Output {
                    dev: route.dev,
                    via: (route.nexthop != pkt.dst).then_some(route.nexthop),
                    src: route.src,
                },
            });
        }
        let mut hop = Hop {
            iif: None,
            oif: Some(route.dev),
            nexthop: Some(route.nexthop),
        };
        if self.nf_hook(ns, Hook::Output, &mut pkt, &mut hop) == HookVerdict::Drop {
            self.drop_pkt(ns, &pkt, DropReason::Netfilter);
            return;
        }
        self.ip_output(ns, pkt, hop);
    }

    /// `ip_output()`: POSTROUTING, confirm, transmit.
    pub(crate) fn ip_output(&mut self, ns: NsId, mut pkt: Packet, mut hop: Hop) {
        if self.nf_hook(ns, Hook::Postrouting, &mut pkt, &mut hop) == HookVerdict::Drop {
            self.drop_pkt(ns, &pkt, DropReason::Netfilter);
            return;
        }
        if !self.ns_mut(ns).ct.confirm(&pkt) {
            self.drop_pkt(ns, &pkt, DropReason::ConntrackClash);
            return;
        }
        let (Some(dev), Some(nh)) = (hop.oif, hop.nexthop) else {
            self.drop_pkt(ns, &pkt, DropReason::NoRoute);
            return;
        };
        self.dev_xmit(dev, nh, pkt);
    }

    /// Put a routed packet on `dev` toward `nexthop`: loopback re-entry, a veth's peer,
    /// or a bridge's port (found through ARP and the FDB).
    pub(crate) fn dev_xmit(&mut self, dev: IfId, nexthop: Ipv4Addr, pkt: Packet) {
        let ns = dev.ns;
        let iface = self.topo.iface(dev);
        if !iface.up {
            self.drop_pkt(ns, &pkt, DropReason::LinkDown);
            return;
        }
        if iface.is_loopback() {
            if self.recording() {
                self.emit(Event::Xmit {
                    from: dev,
                    to: dev,
                    pkt: Box::new(pkt.clone()),
                });
            }
            self.schedule(
                0,
                Task::Rx {
                    dev,
                    pkt: Box::new(pkt),
                    mac: ([0; 6], [0; 6]),
                },
            );
            self.xmit_done();
            return;
        }
        let Some(owner) = self.topo.arp(dev, nexthop) else {
            self.drop_pkt(ns, &pkt, DropReason::NeighbourUnreachable(nexthop));
            return;
        };
        let src_mac = iface.mac;
        let dst_mac = self.topo.iface(owner).mac;
        if iface.is_bridge() {
            // br_dev_xmit(): the bridge sends its own frame out of the port that leads to
            // the destination MAC (no br_netfilter hooks for locally originated frames).
            let Some(port) = self.topo.fdb(dev, dst_mac) else {
                self.drop_pkt(ns, &pkt, DropReason::NeighbourUnreachable(nexthop));
                return;
            };
            self.port_xmit(port, pkt, (src_mac, dst_mac));
        } else {
            self.port_xmit(dev, pkt, (src_mac, dst_mac));
        }
    }

    /// A frame leaves through a veth end: it arrives at the peer (a fresh skb in the
    /// peer's namespace: `skb_scrub_packet()` when it crosses namespaces).
    pub(crate) fn port_xmit(&mut self, dev: IfId, mut pkt: Packet, mac: ([u8; 6], [u8; 6])) {
        let Some(peer) = self.topo.iface(dev).peer else {
            self.drop_pkt(dev.ns, &pkt, DropReason::LinkDown);
            return;
        };
        if !self.topo.iface(dev).up || !self.topo.iface(peer).up {
            self.drop_pkt(dev.ns, &pkt, DropReason::LinkDown);
            return;
        }
        if self.recording() {
            self.emit(Event::Xmit {
                from: dev,
                to: peer,
                pkt: Box::new(pkt.clone()),
            });
        }
        if peer.ns != dev.ns {
            pkt.scrub();
        } else {
            pkt.iif = None;
            pkt.phys_in = None;
            pkt.phys_out = None;
            pkt.bridged = false;
        }
        self.schedule(
            0,
            Task::Rx {
                dev: peer,
                pkt: Box::new(pkt),
                mac,
            },
        );
        self.xmit_done();
    }
}

pub fn route_error_text(e: RouteError) -> String {
    match e {
        RouteError::NetUnreachable => "no route (ENETUNREACH)".into(),
        RouteError::HostUnreachable => "host unreachable (EHOSTUNREACH)".into(),
        RouteError::Prohibited => "prohibited (EACCES)".into(),
        RouteError::Blackhole => "blackhole".into(),
        RouteError::Martian(m) => format!("dropped: {m}"),
    }
}
