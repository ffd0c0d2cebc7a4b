//! Routing as the stack calls it: `ip_route_output_key()` for locally generated packets
//! (source address selection included) and `ip_route_input_slow()` for received ones
//! (martian checks, local delivery, forwarding, and the errors that become ICMP).

use crate::fib::{Flow, RouteError};
use crate::packet::Packet;
use crate::sim::Sim;
use crate::topology::{IfId, NsId};
use pktpath_world::RouteType;
use std::net::Ipv4Addr;

/// An output route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutRoute {
    pub dev: IfId,
    pub nexthop: Ipv4Addr,
    pub src: Ipv4Addr,
    pub local: bool,
}

/// Where a received packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InRoute {
    Local,
    /// `redirect`: the route goes back out of the input device towards a host the
    /// sender reaches directly (`IPSKB_DOREDIRECT`), so `ip_forward()` sends an ICMP
    /// redirect.
    Forward {
        dev: IfId,
        nexthop: Ipv4Addr,
        redirect: bool,
    },
    Error(RouteError),
}

fn is_loopback(a: Ipv4Addr) -> bool {
    a.octets()[0] == 127
}

impl Sim {
    /// `ip_route_output_key()`.
    pub fn route_output(
        &self,
        ns: NsId,
        dst: Ipv4Addr,
        src: Option<Ipv4Addr>,
        mark: u32,
    ) -> Result<OutRoute, RouteError> {
        let n = self.ns(ns);
        let lo = self.topo.loopback(ns);
        let flow = Flow {
            dst,
            src,
            iif: Some(lo),
            oif: None,
            mark,
        };
        let r = n.fib.lookup(&flow, &self.topo)?;
        if r.kind == RouteType::Local {
            // Local destinations leave through the loopback device.
            if !self.topo.iface(lo).up {
                return Err(RouteError::NetUnreachable);
            }
            let src = src.or(r.prefsrc).unwrap_or(dst);
            return Ok(OutRoute {
                dev: lo,
                nexthop: dst,
                src,
                local: true,
            });
        }
        let dev = r.dev.ok_or(RouteError::NetUnreachable)?;
        let src = match src {
            Some(s) => s,
            None => r
                .prefsrc
                .or_else(|| n.fib.select_addr(dev, r.gateway.unwrap_or(dst), &self.topo))
                .ok_or(RouteError::NetUnreachable)?,
        };
        // __mkroute_output(): a 127/8 source may only leave through loopback,
        // unless route_localnet is set on the output device.
        if is_loopback(src) && !self.topo.iface(dev).is_loopback() && !n.conf(dev).route_localnet {
            return Err(RouteError::Martian(
                "loopback source toward a non-loopback device",
            ));
        }
        Ok(OutRoute {
            dev,
            nexthop: r.gateway.unwrap_or(dst),
            src,
            local: false,
        })
    }

    /// `ip_route_input_slow()` for a packet received on `dev`.
    pub fn route_input(&self, ns: NsId, pkt: &Packet, dev: IfId) -> InRoute {
        let n = self.ns(ns);
        let on_lo = self.topo.iface(dev).is_loopback();
        let localnet = n.conf(dev).route_localnet;
        if pkt.src.is_multicast() || pkt.src.is_broadcast() {
            return InRoute::Error(RouteError::Martian("martian source"));
        }
        if !on_lo && is_loopback(pkt.src) && !localnet {
            return InRoute::Error(RouteError::Martian("martian source (127.0.0.0/8)"));
        }
        if !on_lo && is_loopback(pkt.dst) && !localnet {
            return InRoute::Error(RouteError::Martian("martian destination (127.0.0.0/8)"));
        }
        let flow = Flow {
            dst: pkt.dst,
            src: Some(pkt.src),
            iif: Some(dev),
            oif: None,
            mark: pkt.mark,
        };
        let r = match n.fib.lookup(&flow, &self.topo) {
            Ok(r) => r,
            Err(e) => return InRoute::Error(e),
        };
        match r.kind {
            RouteType::Local | RouteType::Broadcast | RouteType::Multicast => {
                // fib_validate_source(): a packet claiming one of our own addresses as
                // source, from outside, is a martian (accept_local = 0).
                if !on_lo && n.fib.is_local(pkt.src, &self.topo) {
                    return InRoute::Error(RouteError::Martian("source is a local address"));
                }
                if !self.rp_filter_ok(ns, pkt, dev) {
                    return InRoute::Error(RouteError::Martian("rp_filter"));
                }
                InRoute::Local
            }
            _ => {
                if !n.forwarding(dev) {
                    // "if (!IN_DEV_FORWARD(in_dev)) { err = -EHOSTUNREACH; goto no_route; }"
                    return InRoute::Error(RouteError::HostUnreachable);
                }
                if !self.rp_filter_ok(ns, pkt, dev) {
                    return InRoute::Error(RouteError::Martian("rp_filter"));
                }
                match r.dev {
                    Some(out) => InRoute::Forward {
                        dev: out,
                        nexthop: r.gateway.unwrap_or(pkt.dst),
                        redirect: out == dev && self.do_redirect(ns, pkt, dev, r.gateway),
                    },
                    None => InRoute::Error(RouteError::NetUnreachable),
                }
            }
        }
    }

    /// `__mkroute_input()`: "if (out_dev == in_dev && err && IN_DEV_TX_REDIRECTS(out_dev))"
    /// where `err` is `fib_validate_source()`'s answer "the source is directly connected
    /// through this device" (the route back has no gateway: `nhc_scope >= RT_SCOPE_HOST`),
    /// and then "IN_DEV_SHARED_MEDIA(out_dev) || inet_addr_onlink(out_dev, saddr, gw)".
    fn do_redirect(&self, ns: NsId, pkt: &Packet, dev: IfId, gw: Option<Ipv4Addr>) -> bool {
        let n = self.ns(ns);
        let conf = n.conf(dev);
        if !conf.send_redirects {
            return false;
        }
        let back = |oif: Option<IfId>| {
            n.fib.lookup(
                &Flow {
                    dst: pkt.src,
                    src: Some(pkt.dst),
                    iif: oif.is_none().then_some(dev),
                    oif,
                    mark: pkt.mark,
                },
                &self.topo,
            )
        };
        let direct = match back(None) {
            Ok(r) if r.dev == Some(dev) => r.gateway.is_none(),
            // rp_filter = 1 failed before this point; otherwise the kernel asks again
            // with the output device forced.
            _ => matches!(back(Some(dev)), Ok(r) if r.gateway.is_none() && r.dev == Some(dev)),
        };
        if !direct {
            return false;
        }
        conf.shared_media || {
            let on_link = |a: Ipv4Addr| {
                self.topo
                    .iface(dev)
                    .addrs
                    .iter()
                    .any(|x| x.net().contains(&a))
            };
            on_link(pkt.src) && gw.is_none_or(on_link)
        }
    }

    /// Reverse-path filter: strict (1) wants the route back to the source through the
    /// input device; loose (2) wants any route back.
    fn rp_filter_ok(&self, ns: NsId, pkt: &Packet, dev: IfId) -> bool {
        let n = self.ns(ns);
        let mode = n.conf(dev).rp_filter;
        if mode == 0 || self.topo.iface(dev).is_loopback() {
            return true;
        }
        let flow = Flow {
            dst: pkt.src,
            src: Some(pkt.dst),
            iif: None,
            oif: None,
            mark: pkt.mark,
        };
        match n.fib.lookup(&flow, &self.topo) {
            Ok(r) => mode == 2 || r.dev == Some(dev),
            Err(_) => false,
        }
    }
}
