//! Routes: `ip -j route show table all` (IPv4 entries only), or, when the snapshot has no
//! `ip-route.json`, the routes the kernel itself derives from the interface addresses.

use crate::error::LoadError;
use crate::interfaces::{parse_v4, LoadedIface};
use crate::json::{JsonFile, Seg};
use crate::model::{Route, RouteType, RT_TABLE_DEFAULT, RT_TABLE_LOCAL, RT_TABLE_MAIN};
use ipnet::Ipv4Net;
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::net::Ipv4Addr;

#[derive(Deserialize)]
struct RouteEntry {
    #[serde(rename = "type")]
    kind: Option<String>,
    dst: String,
    gateway: Option<String>,
    dev: Option<String>,
    prefsrc: Option<String>,
    metric: Option<u32>,
    table: Option<serde_json::Value>,
    /// Only IPv6 routes carry a router preference.
    pref: Option<IgnoredAny>,
    nexthops: Option<IgnoredAny>,
    via: Option<IgnoredAny>,
    encap: Option<IgnoredAny>,
}

/// Parse `ip -j route show table all`; `ifaces` are the namespace's interfaces (a route's
/// `dev` must be one of them).
pub(crate) fn parse(f: &JsonFile, ifaces: &[LoadedIface]) -> Result<Vec<Route>, LoadError> {
    let entries: Vec<RouteEntry> = f.parse("ip -j route show table all")?;
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let at = |key| [Seg::Idx(i), Seg::Key(key)];
        let is_v6 = e.pref.is_some()
            || [Some(&e.dst), e.gateway.as_ref(), e.prefsrc.as_ref()]
                .into_iter()
                .flatten()
                .any(|s| s.contains(':'));
        if is_v6 {
            continue;
        }
        for (key, present) in [
            ("nexthops", e.nexthops.is_some()),
            ("via", e.via.is_some()),
            ("encap", e.encap.is_some()),
        ] {
            if present {
                return Err(f.error_at(
                    &[Seg::Idx(i), Seg::Name(key)],
                    format!("unsupported route attribute `{key}` (multipath, cross-family gateway or encapsulation): expected a route with at most one `gateway` and `dev`"),
                ));
            }
        }
        let kind = match e.kind.as_deref() {
            None | Some("unicast") => RouteType::Unicast,
            Some("local") => RouteType::Local,
            Some("broadcast") => RouteType::Broadcast,
            Some("multicast") => RouteType::Multicast,
            Some("blackhole") => RouteType::Blackhole,
            Some("unreachable") => RouteType::Unreachable,
            Some("prohibit") => RouteType::Prohibit,
            Some("throw") => RouteType::Throw,
            Some(other) => {
                return Err(f.error_at(
                    &at("type"),
                    format!("unsupported route type `{other}`: expected unicast, local, broadcast, multicast, blackhole, unreachable, prohibit or throw"),
                ))
            }
        };
        let dst = parse_dst(&e.dst).map_err(|m| f.error_at(&at("dst"), m))?;
        let table = match &e.table {
            None => RT_TABLE_MAIN,
            Some(v) => table_id(v).map_err(|m| f.error_at(&at("table"), m))?,
        };
        let addr = |key: &'static str, v: &Option<String>| {
            v.as_deref()
                .map(|s| {
                    parse_v4(s).ok_or_else(|| {
                        f.error_at(&at(key), format!("expected an IPv4 address, found `{s}`"))
                    })
                })
                .transpose()
        };
        let gateway = addr("gateway", &e.gateway)?;
        let prefsrc = addr("prefsrc", &e.prefsrc)?;
        if let Some(dev) = &e.dev {
            if !ifaces.iter().any(|l| &l.iface.name == dev) {
                return Err(f.error_at(
                    &at("dev"),
                    format!(
                        "unknown interface `{dev}`: expected one of this namespace's interfaces ({})",
                        ifaces.iter().map(|l| l.iface.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        } else if matches!(
            kind,
            RouteType::Unicast | RouteType::Local | RouteType::Broadcast
        ) {
            return Err(f.error_at(
                &[Seg::Idx(i)],
                "route without \"dev\": expected the output interface of a unicast/local/broadcast route",
            ));
        }
        out.push(Route {
            table,
            kind,
            dst,
            gateway,
            dev: e.dev.clone(),
            prefsrc,
            metric: e.metric.unwrap_or(0),
        });
    }
    Ok(out)
}

/// `default`, `A.B.C.D/len` or a host `A.B.C.D` (= /32).
fn parse_dst(s: &str) -> Result<Ipv4Net, String> {
    if s == "default" {
        return Ok(Ipv4Net::default());
    }
    let net = match s.split_once('/') {
        Some((a, len)) => {
            let a = parse_v4(a);
            let len = len.parse::<u8>().ok();
            match (a, len) {
                (Some(a), Some(len)) => Ipv4Net::new(a, len).ok(),
                _ => None,
            }
        }
        None => parse_v4(s).map(Ipv4Net::from),
    };
    let net = net.ok_or_else(|| {
        format!("expected a destination like 10.0.0.0/8, 10.0.0.1 or default, found `{s}`")
    })?;
    if net.trunc() != net {
        // The kernel refuses such a route ("Invalid prefix for given prefix length").
        return Err(format!(
            "`{s}` has host bits set: expected the network address {}",
            net.trunc()
        ));
    }
    Ok(net)
}

/// A routing table as `ip` prints it: `local`, `main`, `default` or a number.
pub(crate) fn table_id(v: &serde_json::Value) -> Result<u32, String> {
    let bad = || {
        format!("expected a routing table (local, main, default or a number), found {v} (use `ip -N` to print custom table names as numbers)")
    };
    match v {
        serde_json::Value::String(s) => match s.as_str() {
            "local" => Ok(RT_TABLE_LOCAL),
            "main" => Ok(RT_TABLE_MAIN),
            "default" => Ok(RT_TABLE_DEFAULT),
            n => n.parse().map_err(|_| bad()),
        },
        serde_json::Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// The routes the kernel adds for the addresses (`fib_add_ifaddr` in net/ipv4/fib_frontend.c):
/// - `local ADDR` in table local for every address, even on an interface that is down;
/// - then, only when the interface is up: `broadcast BRD` for an explicit broadcast address
///   (not 255.255.255.255); for a primary address whose prefix is not 0.0.0.0/8 and is not the
///   address itself as a /32: the prefix route (in table main, or `local` in table local when
///   the device is a loopback, e.g. `local 127.0.0.0/8 dev lo`; skipped with `noprefixroute`),
///   and `broadcast` of the prefix's last address when the prefix is shorter than /31.
///
/// The prefix of a point-to-point address is its peer's. Routes of a secondary address use the
/// primary address of that subnet as preferred source, as the kernel's `prim` does.
pub(crate) fn derive(ifaces: &[LoadedIface]) -> Vec<Route> {
    let mut out: Vec<Route> = Vec::new();
    let mut add = |r: Route| {
        if !out.contains(&r) {
            out.push(r);
        }
    };
    for l in ifaces {
        let dev = &l.iface.name;
        for a in &l.addrs {
            let addr = a.addr.addr;
            let len = a.addr.prefix_len;
            let mask = Ipv4Net::new(Ipv4Addr::UNSPECIFIED, len)
                .map(|n| n.netmask())
                .unwrap_or(Ipv4Addr::BROADCAST);
            let prefix_of = |x: Ipv4Addr| Ipv4Addr::from(u32::from(x) & u32::from(mask));
            let prefix = prefix_of(a.peer.unwrap_or(addr));
            let prim = if a.secondary {
                l.addrs
                    .iter()
                    .find(|p| {
                        !p.secondary
                            && p.addr.prefix_len == len
                            && prefix_of(p.peer.unwrap_or(p.addr.addr)) == prefix
                    })
                    .map_or(addr, |p| p.addr.addr)
            } else {
                addr
            };
            let route = |table, kind, dst: Ipv4Net| Route {
                table,
                kind,
                dst,
                gateway: None,
                dev: Some(dev.clone()),
                prefsrc: Some(prim),
                metric: 0,
            };
            add(route(RT_TABLE_LOCAL, RouteType::Local, Ipv4Net::from(addr)));
            if !l.iface.up {
                continue;
            }
            if let Some(brd) = a.addr.broadcast {
                if brd != Ipv4Addr::BROADCAST && brd != Ipv4Addr::UNSPECIFIED {
                    add(route(
                        RT_TABLE_LOCAL,
                        RouteType::Broadcast,
                        Ipv4Net::from(brd),
                    ));
                }
            }
            let zeronet = prefix.octets()[0] == 0;
            if !zeronet && !a.secondary && (prefix != addr || len < 32) {
                let net = Ipv4Net::new(prefix, len).unwrap_or_default();
                if !a.noprefixroute {
                    if l.iface.kind == crate::model::IfaceKind::Loopback {
                        add(route(RT_TABLE_LOCAL, RouteType::Local, net));
                    } else {
                        let mut r = route(RT_TABLE_MAIN, RouteType::Unicast, net);
                        r.prefsrc = Some(addr);
                        add(r);
                    }
                }
                if len < 31 {
                    let last = Ipv4Addr::from(u32::from(prefix) | !u32::from(mask));
                    add(route(
                        RT_TABLE_LOCAL,
                        RouteType::Broadcast,
                        Ipv4Net::from(last),
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        assert_eq!(parse_dst("default").unwrap().to_string(), "0.0.0.0/0");
        assert_eq!(parse_dst("10.1.2.3").unwrap().to_string(), "10.1.2.3/32");
        assert_eq!(parse_dst("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert!(parse_dst("10.0.0.1/8").is_err());
        assert!(parse_dst("10.0.0.0/33").is_err());
        assert!(parse_dst("x").is_err());
    }

    #[test]
    fn tables() {
        let t = |s: &str| table_id(&serde_json::from_str(s).unwrap());
        assert_eq!(t("\"local\""), Ok(255));
        assert_eq!(t("\"main\""), Ok(254));
        assert_eq!(t("\"default\""), Ok(253));
        assert_eq!(t("\"100\""), Ok(100));
        assert_eq!(t("100"), Ok(100));
        assert!(t("\"vrf-blue\"").is_err());
    }
}
