//! The lab never changes the root network namespace: its iptables rules, nf_tables
//! ruleset, interfaces, addresses, routes, policy rules and forwarding-related sysctls are
//! the same before and after a lab's whole life (up, probes of every kind, down) and
//! after a lab that failed halfway.

mod common;

use pktpath_lab::{Lab, ProbeRequest, Snapshot};
use pktpath_world::L4Proto;
use std::collections::BTreeMap;
use std::process::Command;

fn out(args: &[&str]) -> String {
    let o = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// JSON from `ip -j`, without the fields that move on their own (address lifetimes).
fn ip_json(args: &[&str]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(&out(args)).expect("ip -j prints JSON");
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("valid_life_time");
                m.remove("preferred_life_time");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

/// Counters move with the root namespace's own traffic.
fn without_counters(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("counter packets") {
            Some(i) => {
                let rest = &l[i..];
                let end = rest.find(" bytes ").map(|j| {
                    let after = &rest[j + 7..];
                    j + 7 + after.find(' ').unwrap_or(after.len())
                });
                format!("{}counter{}", &l[..i], end.map_or("", |e| &rest[e..]))
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `net.ipv4.ip_forward`, every `net.ipv4.conf.*.{forwarding,route_localnet,rp_filter}`
/// and `net.bridge.*` of this (the root) namespace.
fn sysctls() -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    m.insert(
        "net.ipv4.ip_forward".into(),
        read(std::path::Path::new("/proc/sys/net/ipv4/ip_forward")),
    );
    for e in std::fs::read_dir("/proc/sys/net/ipv4/conf")
        .unwrap()
        .flatten()
    {
        for k in ["forwarding", "route_localnet", "rp_filter"] {
            m.insert(
                format!("net.ipv4.conf.{}.{k}", e.file_name().to_string_lossy()),
                read(&e.path().join(k)),
            );
        }
    }
    if let Ok(rd) = std::fs::read_dir("/proc/sys/net/bridge") {
        for e in rd.flatten() {
            m.insert(
                format!("net.bridge.{}", e.file_name().to_string_lossy()),
                read(&e.path()),
            );
        }
    }
    m
}

#[derive(Debug, PartialEq)]
struct RootState {
    iptables: BTreeMap<String, Vec<String>>,
    nft: String,
    links: Vec<String>,
    addrs: serde_json::Value,
    routes: serde_json::Value,
    rules: serde_json::Value,
    sysctls: BTreeMap<String, String>,
}

fn root_state() -> RootState {
    let links = ip_json(&["ip", "-j", "link", "show"])
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["ifname"].as_str().unwrap_or("").to_string())
        .collect();
    RootState {
        iptables: pktpath_lab::iptables::normalize_save(&out(&["iptables-save"])),
        nft: if pktpath_lab::sys::find_tool("nft").is_some() {
            without_counters(&out(&["nft", "list", "ruleset"]))
        } else {
            String::new()
        },
        links,
        addrs: ip_json(&["ip", "-j", "addr", "show"]),
        routes: ip_json(&["ip", "-j", "route", "show", "table", "all"]),
        rules: ip_json(&["ip", "-j", "rule", "show"]),
        sysctls: sysctls(),
    }
}

fn diff(a: &RootState, b: &RootState) -> String {
    let mut d = Vec::new();
    macro_rules! cmp {
        ($f:ident) => {
            if a.$f != b.$f {
                d.push(format!(
                    "{} changed:\n  before: {:?}\n  after:  {:?}",
                    stringify!($f),
                    a.$f,
                    b.$f
                ));
            }
        };
    }
    cmp!(iptables);
    cmp!(nft);
    cmp!(links);
    cmp!(addrs);
    cmp!(routes);
    cmp!(rules);
    if a.sysctls != b.sysctls {
        for (k, v) in &a.sysctls {
            if b.sysctls.get(k) != Some(v) {
                d.push(format!("sysctl {k}: {v} -> {:?}", b.sysctls.get(k)));
            }
        }
        for k in b.sysctls.keys().filter(|k| !a.sysctls.contains_key(*k)) {
            d.push(format!("sysctl {k} appeared"));
        }
    }
    d.join("\n")
}

#[test]
fn the_root_namespace_is_the_same_after_a_lab() {
    common::preflight();
    // br_netfilter's sysctls appear when the module is first loaded (the lab may load
    // it): load it first so that only a change of value would show.
    let _ = Command::new("modprobe").arg("br_netfilter").status();
    let before = root_state();

    // A Docker world (bridge, br_netfilter, route_localnet, docker-proxy stand-ins).
    let dir = common::shared_fixtures().join("docker-memcached");
    let snap = Snapshot::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let prefix = "plr-";
    let _cleanup = common::Cleanup::new(prefix, &snap.world);
    let mut lab = Lab::up(&snap, common::opts(prefix)).expect("up");
    for (from, proto, dst, dport) in [
        ("ext", L4Proto::Tcp, "10.120.0.1", Some(11211)),
        ("dh", L4Proto::Tcp, "127.0.0.1", Some(11211)),
        ("memcached", L4Proto::Udp, "10.120.0.2", Some(5300)),
        ("ext", L4Proto::Icmp, "172.17.0.2", None),
    ] {
        lab.probe(&ProbeRequest {
            from: from.into(),
            proto,
            dst: dst.parse().unwrap(),
            dport,
            sport: None,
            trace_ns: "dh".into(),
            keep_conntrack: false,
        })
        .unwrap_or_else(|e| panic!("probe from {from}: {e}"));
    }
    lab.down().expect("down");
    common::assert_gone(prefix);

    // And a lab that fails halfway.
    let broken = Snapshot::load(&common::data("broken-route")).expect("loads");
    assert!(Lab::up(&broken, common::opts("plr-broken-")).is_err());
    common::assert_gone("plr-broken-");

    let after = root_state();
    let d = diff(&before, &after);
    assert!(d.is_empty(), "the root namespace changed:\n{d}");
}
