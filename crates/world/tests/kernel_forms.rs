//! `tests/worlds/kernel-addr-forms`, captured from a real kernel by its `capture.sh`: rule,
//! route, interface and socket forms beyond those of the shared fixtures.

mod common;

use common::test_world;
use pktpath_world::*;
use std::net::Ipv4Addr;

fn world() -> World {
    load_world(&test_world("kernel-addr-forms")).unwrap()
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn manifest_extras() {
    let w = world();
    assert_eq!(
        w.captured["year"], "2026",
        "non-string values keep their TOML form"
    );
    let p = &w.probes[0];
    assert_eq!(
        (p.proto, p.dst, p.dport, p.sport),
        (L4Proto::Icmp, v4("10.9.9.1"), None, None)
    );
    assert!(p.keep_conntrack);
    assert_eq!(p.expect, None);
    let n1 = w.namespace("n1").unwrap();
    assert_eq!(
        n1.processes[1].proxy,
        Some(UserlandProxy {
            proto: L4Proto::Udp,
            host_ip: Ipv4Addr::LOCALHOST,
            host_port: 5353,
            container_ip: v4("10.9.9.1"),
            container_port: 53,
        })
    );
}

#[test]
fn interfaces() {
    let w = world();
    let n1 = w.namespace("n1").unwrap();
    let d0 = n1.interface("d0").unwrap();
    assert_eq!(d0.kind, IfaceKind::Veth);
    // Secondary, /32, noprefixroute, /31 and peer addresses are all the interface's.
    let addrs: Vec<_> = d0
        .addrs
        .iter()
        .map(|a| format!("{}/{}", a.addr, a.prefix_len))
        .collect();
    assert_eq!(
        addrs,
        [
            "10.9.9.9/24",
            "10.8.0.1/32",
            "10.7.0.1/24",
            "10.6.0.1/31",
            "10.5.0.1/32",
            "10.9.9.10/24"
        ]
    );
    assert_eq!(d0.addrs[2].broadcast, Some(v4("10.7.0.255")));
    assert!(!n1.interface("d1").unwrap().up);
    let d3 = n1.interface("d3").unwrap();
    assert_eq!((d3.master.as_deref(), d3.hairpin), (Some("br0"), true));
    assert!(!n1.interface("d2").unwrap().hairpin);
    assert_eq!(n1.interface("br0").unwrap().kind, IfaceKind::Bridge);
}

#[test]
fn routes() {
    let w = world();
    let n1 = w.namespace("n1").unwrap();
    let find = |table: u32, dst: &str| {
        n1.routes
            .iter()
            .find(|r| r.table == table && r.dst.to_string() == dst)
            .unwrap_or_else(|| panic!("no route {dst} in table {table}"))
    };
    let r = find(100, "10.60.0.0/16");
    assert_eq!(
        (r.gateway, r.metric, r.dev.as_deref()),
        (Some(v4("10.9.9.1")), 50, Some("d0"))
    );
    assert_eq!(find(1000, "10.70.0.0/16").kind, RouteType::Blackhole);
    assert_eq!(
        find(RT_TABLE_MAIN, "10.50.0.0/16").kind,
        RouteType::Unreachable
    );
    assert_eq!(find(100, "10.90.0.0/16").kind, RouteType::Throw);
    assert_eq!(
        find(RT_TABLE_MAIN, "10.91.0.0/16").kind,
        RouteType::Prohibit
    );
    assert_eq!(
        find(RT_TABLE_MAIN, "0.0.0.0/0").gateway,
        Some(v4("10.9.9.1"))
    );
    // The secondary's local route has the primary as preferred source.
    assert_eq!(
        find(RT_TABLE_LOCAL, "10.9.9.10/32").prefsrc,
        Some(v4("10.9.9.9"))
    );
    // IPv6 routes (fe80::/64, ff00::/8, ::1) are skipped.
    assert!(n1.routes.iter().all(|r| !r.dst.to_string().contains(':')));
}

#[test]
fn ip_rules() {
    let w = world();
    let rules = &w.namespace("n1").unwrap().rules;
    let net = |s: &str| Some(s.parse::<ipnet::Ipv4Net>().unwrap());
    let base = |priority, action| IpRule {
        priority,
        src: None,
        dst: None,
        iif: None,
        oif: None,
        fwmark: None,
        not: false,
        action,
    };
    assert_eq!(
        rules,
        &[
            base(0, IpRuleAction::Table(RT_TABLE_LOCAL)),
            IpRule {
                src: net("10.0.0.0/8"),
                dst: net("192.168.1.1/32"),
                iif: Some("d0".into()),
                fwmark: Some((1, 0xff)),
                ..base(100, IpRuleAction::Table(100))
            },
            IpRule {
                not: true,
                src: net("10.1.0.0/16"),
                oif: Some("d0".into()),
                fwmark: Some((2, u32::MAX)),
                ..base(101, IpRuleAction::Prohibit)
            },
            IpRule {
                src: net("10.2.0.1/32"),
                ..base(102, IpRuleAction::Blackhole)
            },
            IpRule {
                dst: net("10.3.0.0/16"),
                ..base(103, IpRuleAction::Unreachable)
            },
            base(104, IpRuleAction::Table(RT_TABLE_DEFAULT)),
            base(105, IpRuleAction::Table(1000)),
            base(32766, IpRuleAction::Table(RT_TABLE_MAIN)),
            base(32767, IpRuleAction::Table(RT_TABLE_DEFAULT)),
        ]
    );
}

#[test]
fn sockets() {
    let w = world();
    let got: Vec<String> = w
        .namespace("n1")
        .unwrap()
        .sockets
        .iter()
        .map(|s| {
            let dev = s
                .dev
                .as_deref()
                .map(|d| format!("%{d}"))
                .unwrap_or_default();
            format!(
                "{} {}{dev}:{} {}",
                s.proto.as_str(),
                s.addr,
                s.port,
                s.process.as_deref().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "udp 0.0.0.0:7006 python3",
            "udp 127.0.0.1:7007 python3",
            "udp 0.0.0.0:7005 python3", // *:7005, dual-stack
            "tcp 127.0.0.1%lo:7004 python3",
            "tcp 0.0.0.0:7003 python3", // also the manifest's listen: one socket
            "tcp 0.0.0.0%lo:7010 python3",
            "tcp 127.0.0.1:7009 python3", // [::ffff:127.0.0.1]
            "tcp 0.0.0.0:7001 python3",   // *:7001, dual-stack; [::1] and V6ONLY [::] skipped
            "udp 127.0.0.1:5353 pktpath", // from the manifest only
        ]
    );
}
