//! The five fixture worlds (captured from a real kernel) load, and what the loader makes of
//! them matches what their files say.

mod common;

use common::{fixture, FIXTURES};
use pktpath_rules::{Policy, TableName, Target};
use pktpath_world::*;
use std::net::Ipv4Addr;

fn load(name: &str) -> World {
    load_world(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn ns<'w>(w: &'w World, name: &str) -> &'w Namespace {
    w.namespace(name)
        .unwrap_or_else(|| panic!("no namespace {name}"))
}

#[test]
fn all_fixtures_load() {
    for name in FIXTURES {
        let w = load(name);
        assert_eq!(w.description, name);
        assert_eq!(w.root, fixture(name));
        assert_eq!(
            w.captured.get("kernel").map(String::as_str),
            Some("6.18 (x86_64)")
        );
        assert!(!w.probes.is_empty(), "{name}: probes");
        // Every namespace got lo up with 127.0.0.1/8 (all fixture namespaces have it up).
        for n in &w.namespaces {
            let lo = n.interface("lo").unwrap();
            assert_eq!(lo.kind, IfaceKind::Loopback);
            assert!(lo.up);
            assert_eq!(lo.addrs[0].addr, Ipv4Addr::LOCALHOST);
            assert_eq!(lo.addrs[0].prefix_len, 8);
        }
        // Every probe trace file exists.
        for p in &w.probes {
            let t = p.trace.as_ref().expect("fixture probes have traces");
            assert!(w.root.join(t).is_file(), "{name}: {}", t.display());
        }
    }
}

#[test]
fn docker_memcached_manifest() {
    let w = load("docker-memcached");
    assert_eq!(w.seed.as_deref(), Some("000_68485e773d191d3b.txt"));
    assert_eq!(w.captured["docker"], "20.10.24");
    assert_eq!(w.captured["iptables"], "1.8.9 (nf_tables)");
    let names: Vec<_> = w
        .namespaces
        .iter()
        .map(|n| (n.name.as_str(), n.role))
        .collect();
    assert_eq!(
        names,
        [
            ("dh", Role::Host),
            ("memcached", Role::Container),
            ("ext", Role::Client)
        ]
    );
    let end = |n: &str, i: &str| Endpoint {
        namespace: n.into(),
        interface: i.into(),
    };
    assert_eq!(
        w.links,
        [
            Link {
                a: end("dh", "veth661757e"),
                b: end("memcached", "eth0")
            },
            Link {
                a: end("dh", "eth0"),
                b: end("ext", "eth0")
            },
        ]
    );
}

#[test]
fn docker_memcached_probes() {
    let w = load("docker-memcached");
    use Outcome::*;
    let got: Vec<_> = w
        .probes
        .iter()
        .map(|p| (p.name.as_str(), p.expect.unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("ext-to-hostip-11211", Connected),
            ("ext-to-containerip-11211", Connected),
            ("ext-to-hostip-11212-closed", Refused),
            ("host-to-localhost-11211", Connected),
            ("host-to-hostip-11211", Connected),
            ("host-to-bridgeip-11211", Connected),
            ("host-to-containerip-11211", Connected),
            ("memcached-to-hostip-11211", Connected),
            ("memcached-to-bridgeip-11211", Connected),
            ("memcached-to-ext-8080", Connected),
            ("ext-to-containerip-80-unpublished", Timeout),
        ]
    );
    let p = &w.probes[0];
    assert_eq!(p.from, "ext");
    assert_eq!(p.proto, L4Proto::Tcp);
    assert_eq!(
        (p.dst, p.dport, p.sport),
        (v4("10.120.0.1"), Some(11211), Some(41000))
    );
    assert_eq!(
        p.trace.as_deref(),
        Some(std::path::Path::new("probes/ext-to-hostip-11211/trace.txt"))
    );
    assert_eq!(p.trace_namespace.as_deref(), Some("dh"));
    assert_eq!(
        p.note.as_deref(),
        Some("published port via DNAT in nat PREROUTING")
    );
    assert!(!p.keep_conntrack);
    let last = w.probes.last().unwrap();
    assert_eq!(
        (last.dst, last.dport, last.sport),
        (v4("172.17.0.2"), Some(80), Some(41010))
    );
    assert_eq!(
        last.note,
        Some(
            "unpublished port on the container address: no DOCKER accept rule, FORWARD policy DROP"
                .into()
        )
    );
}

#[test]
fn docker_memcached_host_interfaces() {
    let w = load("docker-memcached");
    let dh = ns(&w, "dh");
    let names: Vec<_> = dh
        .interfaces
        .iter()
        .map(|i| (i.ifindex, i.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [(1, "lo"), (2, "docker0"), (4, "veth661757e"), (5, "eth0")]
    );

    let docker0 = dh.interface("docker0").unwrap();
    assert_eq!(docker0.kind, IfaceKind::Bridge);
    assert_eq!(docker0.mac, [0x02, 0x42, 0x44, 0xd3, 0xd1, 0x6a]);
    assert_eq!(docker0.mtu, 1500);
    assert!(docker0.up);
    assert_eq!(
        docker0.addrs,
        [IfAddr {
            addr: v4("172.17.0.1"),
            prefix_len: 16,
            broadcast: Some(v4("172.17.255.255"))
        }]
    );

    let port = dh.interface("veth661757e").unwrap();
    assert_eq!(port.kind, IfaceKind::Veth);
    assert_eq!(port.master.as_deref(), Some("docker0"));
    assert!(!port.hairpin);
    assert!(
        port.addrs.is_empty(),
        "the inet6 link-local address is skipped"
    );

    let eth0 = dh.interface("eth0").unwrap();
    assert_eq!(eth0.kind, IfaceKind::Veth);
    assert_eq!(eth0.master, None);
    assert_eq!(
        eth0.addrs,
        [IfAddr {
            addr: v4("10.120.0.1"),
            prefix_len: 24,
            broadcast: None
        }]
    );
    assert_eq!(dh.interface("lo").unwrap().mtu, 65536);
}

#[test]
fn docker_memcached_host_state() {
    let w = load("docker-memcached");
    let dh = ns(&w, "dh");
    assert!(dh.sysctls.ip_forward);
    assert_eq!(dh.sysctls.bridge_nf_call_iptables, Some(true));
    assert!(!dh.sysctls.route_localnet("eth0"));
    assert_eq!(dh.sysctls.rp_filter("docker0"), 0);
    assert_eq!(dh.sysctls.raw["net.ipv4.conf.veth661757e.forwarding"], "1");

    // ss: the 0.0.0.0 row; the V6ONLY [::] row of the second docker-proxy never sees IPv4;
    // the manifest's `listen` is the same socket.
    assert_eq!(
        dh.sockets,
        [ListenSocket {
            proto: L4Proto::Tcp,
            addr: Ipv4Addr::UNSPECIFIED,
            port: 11211,
            process: Some("docker-proxy".into()),
            dev: None
        }]
    );
    assert_eq!(dh.processes.len(), 1);
    assert_eq!(
        dh.processes[0].proxy,
        Some(UserlandProxy {
            proto: L4Proto::Tcp,
            host_ip: Ipv4Addr::UNSPECIFIED,
            host_port: 11211,
            container_ip: v4("172.17.0.2"),
            container_port: 11211,
        })
    );

    assert_eq!(dh.rules.len(), 3);
    assert_eq!(
        dh.rules
            .iter()
            .map(|r| (r.priority, r.action.clone()))
            .collect::<Vec<_>>(),
        [
            (0, IpRuleAction::Table(RT_TABLE_LOCAL)),
            (32766, IpRuleAction::Table(RT_TABLE_MAIN)),
            (32767, IpRuleAction::Table(RT_TABLE_DEFAULT)),
        ]
    );

    let main: Vec<_> = dh
        .routes
        .iter()
        .filter(|r| r.table == RT_TABLE_MAIN)
        .collect();
    assert_eq!(main.len(), 2);
    assert_eq!(main[0].dst.to_string(), "10.120.0.0/24");
    assert_eq!(main[0].dev.as_deref(), Some("eth0"));
    assert_eq!(main[0].prefsrc, Some(v4("10.120.0.1")));
    assert_eq!(main[0].kind, RouteType::Unicast);
    assert!(dh.routes.iter().any(|r| r.table == RT_TABLE_LOCAL
        && r.kind == RouteType::Local
        && r.dst.to_string() == "127.0.0.0/8"
        && r.dev.as_deref() == Some("lo")));
    assert!(dh
        .routes
        .iter()
        .any(|r| r.kind == RouteType::Broadcast && r.dst.to_string() == "172.17.255.255/32"));
    assert!(dh.routes.iter().all(|r| r.metric == 0));

    let chains: Vec<_> = dh
        .base_chains
        .as_ref()
        .unwrap()
        .iter()
        .map(|(t, c)| format!("{}:{c}", t.as_str()))
        .collect();
    assert_eq!(
        chains,
        [
            "nat:OUTPUT",
            "nat:POSTROUTING",
            "nat:PREROUTING",
            "filter:FORWARD",
            "filter:OUTPUT"
        ]
    );
}

#[test]
fn docker_memcached_container_and_client() {
    let w = load("docker-memcached");
    let c = ns(&w, "memcached");
    let eth0 = c.interface("eth0").unwrap();
    assert_eq!(
        eth0.kind,
        IfaceKind::Veth,
        "named in a [[link]], no ip-link.json"
    );
    assert_eq!(eth0.ifindex, 3);
    assert_eq!(eth0.mac, [0x02, 0x42, 0xac, 0x11, 0x00, 0x02]);
    assert_eq!(eth0.addrs[0].addr, v4("172.17.0.2"));
    let default: Vec<_> = c
        .routes
        .iter()
        .filter(|r| r.dst.prefix_len() == 0)
        .collect();
    assert_eq!(default.len(), 1);
    assert_eq!(default[0].gateway, Some(v4("172.17.0.1")));
    assert_eq!(default[0].dev.as_deref(), Some("eth0"));
    assert_eq!(default[0].table, RT_TABLE_MAIN);
    assert_eq!(default[0].kind, RouteType::Unicast);
    // Missing files: kernel defaults.
    assert!(!c.sysctls.ip_forward);
    assert_eq!(c.sysctls.bridge_nf_call_iptables, None);
    assert_eq!(c.rules.len(), 3);
    assert_eq!(c.base_chains, None);
    assert!(c.ruleset.tables.is_empty());
    assert_eq!(
        c.sockets,
        [ListenSocket {
            proto: L4Proto::Tcp,
            addr: Ipv4Addr::UNSPECIFIED,
            port: 11211,
            process: Some("httpd".into()),
            dev: None
        }]
    );
    assert_eq!(
        c.processes[0].cmdline.as_deref(),
        Some("/bin/httpd -f -p 11211")
    );
    assert_eq!(c.processes[0].proxy, None);

    let ext = ns(&w, "ext");
    let r = ext.routes.iter().find(|r| r.gateway.is_some()).unwrap();
    assert_eq!(
        (r.dst.to_string(), r.gateway),
        ("172.16.0.0/12".to_string(), Some(v4("10.120.0.1")))
    );
    assert!(ext.routes.iter().all(|r| !r.dst.to_string().contains(':')));
    assert_eq!(ext.sockets[0].addr, v4("10.120.0.2"));
    assert_eq!(ext.sockets[0].port, 8080);
}

#[test]
fn docker_two_networks() {
    let w = load("docker-two-networks");
    assert_eq!(w.namespaces.len(), 6);
    assert_eq!(w.links.len(), 5);
    assert_eq!(w.probes.len(), 15);
    let dh = ns(&w, "dh");
    let br = dh.interface("br-024ee52c59e2").unwrap();
    assert_eq!(br.kind, IfaceKind::Bridge);
    assert_eq!(br.addrs[0].addr, v4("172.18.0.1"));
    for (port, master) in [
        ("veth2014557", "docker0"),
        ("vethcd8f4b1", "docker0"),
        ("veth86cbf7a", "br-024ee52c59e2"),
        ("veth1ca0051", "br-024ee52c59e2"),
    ] {
        let i = dh.interface(port).unwrap();
        assert_eq!(
            (i.kind.clone(), i.master.as_deref(), i.hairpin),
            (IfaceKind::Veth, Some(master), false)
        );
    }
    let proxy = dh.processes[0].proxy.unwrap();
    assert_eq!(
        (proxy.host_port, proxy.container_ip, proxy.container_port),
        (8081, v4("172.18.0.2"), 80)
    );
    assert_eq!(dh.sockets.len(), 1);
    assert!(ns(&w, "caddy-client").processes.is_empty());
    assert!(ns(&w, "caddy-client").sockets.is_empty());
    let p = w
        .probes
        .iter()
        .find(|p| p.name == "ext-to-nginxip-80")
        .unwrap();
    assert_eq!(p.expect, Some(Outcome::Timeout));
}

#[test]
fn manual_dnat() {
    let w = load("manual-dnat");
    assert_eq!(w.captured.get("docker"), None);
    let mhost = ns(&w, "mhost");
    assert_eq!(mhost.interface("hwchiu0").unwrap().kind, IfaceKind::Bridge);
    let veth0 = mhost.interface("veth0").unwrap();
    assert_eq!(
        (veth0.master.as_deref(), veth0.hairpin),
        (Some("hwchiu0"), false)
    );
    assert!(mhost.sockets.is_empty(), "ss.txt has only its header");
    assert!(mhost.processes.is_empty());
    let chains: Vec<_> = mhost
        .base_chains
        .as_ref()
        .unwrap()
        .iter()
        .map(|(t, c)| (*t, c.as_str()))
        .collect();
    assert_eq!(
        chains,
        [
            (TableName::Nat, "POSTROUTING"),
            (TableName::Nat, "PREROUTING"),
            (TableName::Filter, "FORWARD")
        ]
    );
    // c1's ss.txt was taken with `ss -lntp` (no Netid column).
    let c1 = ns(&w, "c1");
    assert_eq!(
        c1.sockets,
        [ListenSocket {
            proto: L4Proto::Tcp,
            addr: Ipv4Addr::UNSPECIFIED,
            port: 8000,
            process: Some("python3".into()),
            dev: None
        }]
    );
    let outcomes: Vec<_> = w
        .probes
        .iter()
        .map(|p| p.expect.unwrap().as_str())
        .collect();
    assert_eq!(
        outcomes,
        [
            "connected",
            "refused",
            "refused",
            "refused",
            "connected",
            "timeout",
            "connected"
        ]
    );
}

#[test]
fn circuit_breaker_differs_only_in_probes_and_rules() {
    let a = load("docker-memcached");
    let b = load("docker-memcached-circuit-breaker");
    assert_eq!(b.probes.len(), 8);
    assert_eq!(b.probes[0].expect, Some(Outcome::Refused));
    for (x, y) in a.namespaces.iter().zip(&b.namespaces) {
        assert_eq!(x.routes, y.routes);
        assert_eq!(x.sockets, y.sockets);
    }
    let c = load("docker-memcached-circuit-breaker-output");
    let chains = c.namespace("dh").unwrap().base_chains.clone().unwrap();
    assert!(chains.contains(&(TableName::Filter, "OUTPUT".to_string())));
}

#[test]
fn rulesets_come_from_iptables_save() {
    let w = load("docker-memcached");
    let dh = ns(&w, "dh");
    let filter = dh.ruleset.table(TableName::Filter).unwrap();
    let chains: Vec<_> = filter
        .chains
        .iter()
        .map(|c| (c.name.as_str(), c.policy))
        .collect();
    assert_eq!(
        chains,
        [
            ("INPUT", Some(Policy::Accept)),
            ("FORWARD", Some(Policy::Drop)),
            ("OUTPUT", Some(Policy::Accept)),
            ("DOCKER", None),
            ("DOCKER-ISOLATION-STAGE-1", None),
            ("DOCKER-ISOLATION-STAGE-2", None),
            ("DOCKER-USER", None),
        ]
    );
    assert_eq!(filter.chain("FORWARD").unwrap().rules.len(), 6);
    let nat = dh.ruleset.table(TableName::Nat).unwrap();
    let docker = nat.chain("DOCKER").unwrap();
    assert_eq!(docker.rules.len(), 2);
    assert!(matches!(docker.rules[1].target, Some(Target::Dnat { .. })));
    assert_eq!(dh.ruleset.tables.len(), 2, "filter and nat");

    let c = load("docker-memcached-circuit-breaker");
    let user = c
        .namespace("dh")
        .unwrap()
        .ruleset
        .table(TableName::Filter)
        .unwrap()
        .chain("DOCKER-USER")
        .unwrap()
        .rules
        .clone();
    assert!(
        matches!(user[0].target, Some(Target::Reject(_))),
        "iptables -I DOCKER-USER -d 172.17.0.2 -j REJECT"
    );

    let m = load("manual-dnat");
    let pre = m
        .namespace("mhost")
        .unwrap()
        .ruleset
        .table(TableName::Nat)
        .unwrap()
        .chain("PREROUTING")
        .unwrap()
        .rules
        .clone();
    assert_eq!(pre.len(), 1);
    assert!(matches!(pre[0].target, Some(Target::Dnat { .. })));
    // Namespaces without iptables-save.txt: no rules at all.
    assert!(m.namespace("c1").unwrap().ruleset.tables.is_empty());
}
