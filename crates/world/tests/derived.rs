//! Routes derived from addresses when `ip-route.json` is missing, checked against what the
//! kernel itself printed (`ip -j route show table all`) for the same addresses: every
//! fixture namespace, and `tests/worlds/kernel-addr-forms` (secondary, noprefixroute, /31,
//! /32, peer addresses, an interface that is down), captured by its `capture.sh`.

mod common;

use common::{fixture, mem_copy, test_world, FIXTURES};
use pktpath_world::*;
use std::path::Path;

/// Load `dir` twice, with and without the namespaces' `ip-route.json`, and compare the kernel-made
/// routes (those without a gateway: the fixtures' other routes all have one) per namespace.
fn compare(dir: &Path) -> usize {
    let full = mem_copy(dir);
    let paths: Vec<_> = full.paths().map(Path::to_path_buf).collect();
    let mut derived = full.clone();
    for p in paths.iter().filter(|p| p.ends_with("ip-route.json")) {
        derived.remove(p);
    }
    let full = load_world_from(&full, dir.to_path_buf()).unwrap();
    let derived = load_world_from(&derived, dir.to_path_buf()).unwrap();
    let mut compared = 0;
    for (f, d) in full.namespaces.iter().zip(&derived.namespaces) {
        let mut want: Vec<_> = f
            .routes
            .iter()
            .filter(|r| {
                r.gateway.is_none()
                    && matches!(
                        r.kind,
                        RouteType::Unicast | RouteType::Local | RouteType::Broadcast
                    )
            })
            .cloned()
            .collect();
        let mut got = d.routes.clone();
        let key = |r: &Route| {
            (
                r.table,
                r.dst,
                format!("{:?}{:?}{:?}", r.kind, r.dev, r.prefsrc),
            )
        };
        want.sort_by_key(key);
        got.sort_by_key(key);
        assert_eq!(got, want, "{}: namespace {}", dir.display(), f.name);
        compared += want.len();
    }
    compared
}

#[test]
fn fixture_namespaces_derive_the_kernels_routes() {
    for name in FIXTURES {
        assert!(compare(&fixture(name)) > 0);
    }
}

#[test]
fn kernel_addr_forms_derive_the_kernels_routes() {
    // 10.9.9.9/24 + secondary 10.9.9.10, 10.8.0.1/32, 10.7.0.1/24 noprefixroute brd +,
    // 10.6.0.1/31, 10.5.0.1 peer 10.5.0.2, 10.4.0.1/24 on d1 (down), 10.3.0.1/16 on br0, lo.
    assert_eq!(compare(&test_world("kernel-addr-forms")), 18);
}

#[test]
fn container_without_route_file() {
    // The memcached container's addresses alone: the kernel's routes but no default route.
    let mut m = mem_copy(&fixture("docker-memcached"));
    m.remove("ns/memcached/ip-route.json");
    let w = load_world_from(&m, "x".into()).unwrap();
    let routes: Vec<String> = w
        .namespace("memcached")
        .unwrap()
        .routes
        .iter()
        .map(|r| {
            format!(
                "{} {:?} {} dev {} src {}",
                r.table,
                r.kind,
                r.dst,
                r.dev.as_deref().unwrap(),
                r.prefsrc.unwrap()
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            "255 Local 127.0.0.1/32 dev lo src 127.0.0.1",
            "255 Local 127.0.0.0/8 dev lo src 127.0.0.1",
            "255 Broadcast 127.255.255.255/32 dev lo src 127.0.0.1",
            "255 Local 172.17.0.2/32 dev eth0 src 172.17.0.2",
            "255 Broadcast 172.17.255.255/32 dev eth0 src 172.17.0.2",
            "254 Unicast 172.17.0.0/16 dev eth0 src 172.17.0.2",
        ]
    );
}

#[test]
fn fresh_namespace_defaults() {
    let w = load_world(&test_world("minimal")).unwrap();
    let n = w.namespace("empty").unwrap();
    assert_eq!(n.role, Role::Client);
    assert_eq!(n.interfaces.len(), 1);
    let lo = &n.interfaces[0];
    assert_eq!(
        (lo.name.as_str(), lo.kind.clone(), lo.up, lo.addrs.len()),
        ("lo", IfaceKind::Loopback, false, 0)
    );
    assert!(n.routes.is_empty());
    assert_eq!(n.rules.len(), 3);
    assert!(!n.sysctls.ip_forward);
    assert_eq!(n.sysctls.bridge_nf_call_iptables, None);
    assert!(n.sockets.is_empty());
    assert!(n.ruleset.tables.is_empty());
    assert_eq!(n.base_chains, None);
    assert!(w.links.is_empty() && w.probes.is_empty());
    assert!(w.captured.is_empty());
    assert_eq!(w.seed, None);
}
