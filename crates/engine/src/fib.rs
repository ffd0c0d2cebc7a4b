//! The FIB: routing tables, policy rules, and the kernel's lookups over them —
//! output routes for local sockets (`ip_route_output_key`), input routes for received
//! packets (`ip_route_input_slow`), and address types (`inet_addr_type`, which
//! `-m addrtype` and nft's `fib daddr type` ask).

use crate::topology::{IfId, NsId, Topology};
use ipnet::Ipv4Net;
use pktpath_rules::AddrType;
use pktpath_world::{IpRule, IpRuleAction, Namespace, Route, RouteType, RT_TABLE_LOCAL};
use std::net::Ipv4Addr;

/// Why a route lookup failed, as the errno the kernel returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteError {
    /// No route at all: `ENETUNREACH` ("Network is unreachable").
    NetUnreachable,
    /// An `unreachable` route, or forwarding disabled: `EHOSTUNREACH`.
    HostUnreachable,
    /// A `prohibit` route: `EACCES`.
    Prohibited,
    /// A `blackhole` route: `EINVAL`, dropped silently.
    Blackhole,
    /// A martian source or destination: dropped silently.
    Martian(&'static str),
}

/// A route that was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FibResult {
    pub kind: RouteType,
    pub table: u32,
    pub dst: Ipv4Net,
    pub dev: Option<IfId>,
    pub gateway: Option<Ipv4Addr>,
    pub prefsrc: Option<Ipv4Addr>,
}

/// One namespace's routing state.
#[derive(Debug, Clone)]
pub struct Fib {
    ns: NsId,
    /// (table id, routes sorted by prefix length, longest first, then metric)
    tables: Vec<(u32, Vec<CompiledRoute>)>,
    rules: Vec<IpRule>,
}

#[derive(Debug, Clone)]
struct CompiledRoute {
    route: Route,
    dev: Option<IfId>,
}

/// What a lookup is keyed on (`struct flowi4`).
#[derive(Debug, Clone, Copy)]
pub struct Flow {
    pub dst: Ipv4Addr,
    pub src: Option<Ipv4Addr>,
    pub iif: Option<IfId>,
    pub oif: Option<IfId>,
    pub mark: u32,
}

impl Fib {
    pub fn build(ns: NsId, n: &Namespace, topo: &Topology) -> Fib {
        let mut tables: Vec<(u32, Vec<CompiledRoute>)> = Vec::new();
        for r in &n.routes {
            let dev = r.dev.as_deref().and_then(|d| topo.iface_by_name(ns, d));
            let cr = CompiledRoute {
                route: r.clone(),
                dev,
            };
            match tables.iter_mut().find(|(t, _)| *t == r.table) {
                Some((_, v)) => v.push(cr),
                None => tables.push((r.table, vec![cr])),
            }
        }
        for (_, v) in &mut tables {
            v.sort_by(|a, b| {
                b.route
                    .dst
                    .prefix_len()
                    .cmp(&a.route.dst.prefix_len())
                    .then(a.route.metric.cmp(&b.route.metric))
            });
        }
        let mut rules = n.rules.clone();
        rules.sort_by_key(|r| r.priority);
        Fib { ns, tables, rules }
    }

    fn table_lookup(&self, table: u32, flow: &Flow, topo: &Topology) -> Option<&CompiledRoute> {
        let (_, routes) = self.tables.iter().find(|(t, _)| *t == table)?;
        routes.iter().find(|r| {
            r.route.dst.contains(&flow.dst)
                && flow.oif.is_none_or(|o| r.dev.is_none_or(|d| d == o))
                // A route through a device that is down is not used (its nexthop is dead),
                // but the local route of an address on a down device still answers.
                && (r.route.kind == RouteType::Local || r.dev.is_none_or(|d| topo.iface(d).up))
        })
    }

    /// `fib_lookup()`: walk the policy rules, then the tables they name.
    pub fn lookup(&self, flow: &Flow, topo: &Topology) -> Result<FibResult, RouteError> {
        for rule in &self.rules {
            if !rule_matches(rule, flow, topo) {
                continue;
            }
            let table = match rule.action {
                IpRuleAction::Table(t) => t,
                IpRuleAction::Blackhole => return Err(RouteError::Blackhole),
                IpRuleAction::Unreachable => return Err(RouteError::HostUnreachable),
                IpRuleAction::Prohibit => return Err(RouteError::Prohibited),
            };
            let Some(r) = self.table_lookup(table, flow, topo) else {
                continue;
            };
            match r.route.kind {
                RouteType::Throw => continue,
                RouteType::Blackhole => return Err(RouteError::Blackhole),
                RouteType::Unreachable => return Err(RouteError::HostUnreachable),
                RouteType::Prohibit => return Err(RouteError::Prohibited),
                kind => {
                    return Ok(FibResult {
                        kind,
                        table,
                        dst: r.route.dst,
                        dev: r.dev,
                        gateway: r.route.gateway,
                        prefsrc: r.route.prefsrc,
                    })
                }
            }
        }
        Err(RouteError::NetUnreachable)
    }

    /// `inet_dev_addr_type()`: the type of `addr` as the local table says, optionally
    /// only if the route's device is `dev` (`--limit-iface-in/out`).
    pub fn addr_type(&self, addr: Ipv4Addr, dev: Option<IfId>, topo: &Topology) -> AddrType {
        let o = addr.octets();
        if addr.is_unspecified() || addr.is_broadcast() || o[0] == 0 {
            return AddrType::Broadcast;
        }
        if addr.is_multicast() {
            return AddrType::Multicast;
        }
        let flow = Flow {
            dst: addr,
            src: None,
            iif: None,
            oif: None,
            mark: 0,
        };
        match self.table_lookup(RT_TABLE_LOCAL, &flow, topo) {
            Some(r) if dev.is_none() || r.dev == dev => match r.route.kind {
                RouteType::Local => AddrType::Local,
                RouteType::Broadcast => AddrType::Broadcast,
                RouteType::Multicast => AddrType::Multicast,
                RouteType::Unicast => AddrType::Unicast,
                RouteType::Blackhole => AddrType::Blackhole,
                RouteType::Unreachable => AddrType::Unreachable,
                RouteType::Prohibit => AddrType::Prohibit,
                RouteType::Throw => AddrType::Throw,
            },
            _ => AddrType::Unicast,
        }
    }

    pub fn is_local(&self, addr: Ipv4Addr, topo: &Topology) -> bool {
        self.addr_type(addr, None, topo) == AddrType::Local
    }

    /// `inet_select_addr()`: the source address to use on `dev` toward `dst`:
    /// a primary address of `dev` whose subnet holds `dst`, else its first address,
    /// else the first address of any device of the namespace (in interface order, lo
    /// first). Host-scope addresses (127.0.0.0/8, which `ip` and the kernel add with
    /// `scope host`) are skipped: "if (min(ifa->ifa_scope, localnet_scope) > scope)
    /// continue;" for the universe and link scopes asked here. So MASQUERADE out of `lo`
    /// keeps a packet's own address instead of picking 127.0.0.1.
    pub fn select_addr(&self, dev: IfId, dst: Ipv4Addr, topo: &Topology) -> Option<Ipv4Addr> {
        let eligible = |a: &&pktpath_world::IfAddr| !a.addr.is_loopback();
        let i = topo.iface(dev);
        if let Some(a) = i
            .addrs
            .iter()
            .filter(eligible)
            .find(|a| a.net().contains(&dst))
        {
            return Some(a.addr);
        }
        if let Some(a) = i.addrs.iter().find(eligible) {
            return Some(a.addr);
        }
        // for_each_netdev_rcu(): in_dev_select_addr() on every device; no check that
        // the device is up.
        topo.ns[self.ns.0 as usize]
            .ifaces
            .iter()
            .flat_map(|f| f.addrs.iter())
            .find(eligible)
            .map(|a| a.addr)
    }
}

fn rule_matches(rule: &IpRule, flow: &Flow, topo: &Topology) -> bool {
    let mut m = true;
    if let Some(s) = rule.src {
        m &= flow.src.is_some_and(|a| s.contains(&a));
    }
    if let Some(d) = rule.dst {
        m &= d.contains(&flow.dst);
    }
    if let Some(i) = &rule.iif {
        m &= flow.iif.is_some_and(|f| topo.name(f) == i);
    }
    if let Some(o) = &rule.oif {
        m &= flow.oif.is_some_and(|f| topo.name(f) == o);
    }
    if let Some((v, mask)) = rule.fwmark {
        m &= flow.mark & mask == v;
    }
    m != rule.not
}
