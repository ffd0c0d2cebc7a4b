//! Rule counters, kernel vs simulation: `reject-variants` rebuilt in namespaces, its
//! counters zeroed, a set of its probes run for real, then the firewall's
//! `iptables-save -c` compared rule by rule (packets and bytes) with the counters the
//! same probes add in simulation (`pktpath probe|check --counters`).
//!
//! The probes are the ones whose whole exchange ends inside the probe (REJECTs, a closed
//! port, UDP echoes, ping), so nothing of one probe is still in flight when the counters
//! are read. HTTP exchanges are left out: the lab's stand-in server (`pktpath serve`)
//! does not answer with the byte count of the snapshot's server, which the simulation
//! models.

mod common;

use pktpath_engine::{Sim, SimOptions};
use pktpath_lab::{Lab, ProbeRequest, Snapshot};
use pktpath_report::check::spec_of;
use pktpath_report::counters::RuleCounters;
use pktpath_rules::parse_save;
use std::process::Command;

const PREFIX: &str = "plc-";
const FIREWALL: &str = "rhost";
const PROBES: &[&str] = &[
    "rext-to-rhost-tcp-8001-tcp-reset",
    "rext-to-rhost-tcp-8005-port-unreach",
    "rext-to-rhost-tcp-8009-closed",
    "rext-to-rhost-udp-5301-port-unreach",
    "rext-to-rhost-icmp",
    "rext-to-rsrv-tcp-8081-fwd-reject",
    "rext-to-rsrv-udp-5301-fwd-reject",
    "rhost-to-rsrv-tcp-8084-out-port-unreach",
    "rext-to-rhost-udp-5300-open",
    "rext-to-rsrv-udp-5300-open",
    "rext-to-rsrv-icmp",
];

fn in_ns(ns: &str, args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .output()
        .expect("ip netns exec runs");
    assert!(
        out.status.success(),
        "{args:?} in {ns}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn counters_after_probes_are_the_kernels() {
    common::preflight();
    let dir = common::main_fixtures().join("reject-variants");
    let snap = Snapshot::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let world = &snap.world;
    let probes: Vec<_> = PROBES
        .iter()
        .map(|n| {
            world
                .probes
                .iter()
                .find(|p| p.name == *n)
                .unwrap_or_else(|| panic!("no probe {n}"))
        })
        .collect();

    // The kernel.
    let kernel_save = {
        let _cleanup = common::Cleanup::new(PREFIX, world);
        let mut lab = Lab::up(&snap, common::opts(PREFIX)).expect("lab up");
        let fw = lab.ns(FIREWALL);
        for t in ["filter", "nat", "mangle", "raw"] {
            let _ = Command::new("ip")
                .args(["netns", "exec", &fw, "iptables", "-t", t, "-Z"])
                .output();
        }
        for p in &probes {
            let k = lab
                .probe(&ProbeRequest {
                    from: p.from.clone(),
                    proto: p.proto,
                    dst: p.dst,
                    dport: p.dport,
                    sport: p.sport,
                    trace_ns: FIREWALL.into(),
                    keep_conntrack: p.keep_conntrack,
                })
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert_eq!(
                Some(k.outcome.outcome.map_or("other", |o| o.as_str())),
                p.expect.map(|e| e.as_str()),
                "{}: the kernel's outcome",
                p.name
            );
        }
        let save = in_ns(&fw, &["iptables-save", "-c"]);
        lab.down().expect("lab down");
        save
    };
    common::assert_gone(PREFIX);
    let kernel = parse_save(&kernel_save, "iptables-save -c").expect("the kernel's save parses");

    // The simulation, the same probes in the same order.
    let mut sim = Sim::new(world, SimOptions::default()).expect("world loads");
    let fw = sim.ns_by_name(FIREWALL).expect("firewall namespace");
    let mut counters = RuleCounters::new(fw);
    for p in &probes {
        let mut spec = spec_of(p);
        spec.trace_ns = Some(FIREWALL.into());
        let run = sim.probe(&spec).expect("probe runs");
        counters.add_run(&sim, &run);
    }
    let rules = &world
        .namespace(FIREWALL)
        .expect("firewall in the world")
        .ruleset;
    let simulated = counters.apply(rules);

    let mut diffs = Vec::new();
    let mut counted = 0;
    for t in &simulated.tables {
        let kt = kernel
            .table(t.name)
            .unwrap_or_else(|| panic!("the kernel has no {} table", t.name.as_str()));
        for c in &t.chains {
            let kc = kt
                .chains
                .iter()
                .find(|k| k.name == c.name)
                .unwrap_or_else(|| panic!("the kernel has no chain {}", c.name));
            if c.policy.is_some() {
                counted += kc.counters.packets;
            }
            if c.policy.is_some() && kc.counters != c.counters {
                diffs.push(format!(
                    "{}:{} policy: kernel {:?}, simulated {:?}",
                    t.name.as_str(),
                    c.name,
                    kc.counters,
                    c.counters
                ));
            }
            assert_eq!(kc.rules.len(), c.rules.len(), "{}: rule count", c.name);
            for (r, kr) in c.rules.iter().zip(&kc.rules) {
                let (s, k) = (
                    r.counters.unwrap_or_default(),
                    kr.counters.unwrap_or_default(),
                );
                counted += k.packets;
                if s != k {
                    diffs.push(format!(
                        "{}: kernel [{}:{}], simulated [{}:{}]",
                        pktpath_rules::print_rule(&c.name, r),
                        k.packets,
                        k.bytes,
                        s.packets,
                        s.bytes
                    ));
                }
            }
        }
    }
    assert!(
        counted >= PROBES.len() as u64,
        "the probes hardly touched the rules ({counted} packets): is the world right?"
    );
    assert!(
        diffs.is_empty(),
        "counters differ:\n{}\n\nkernel:\n{kernel_save}",
        diffs.join("\n")
    );
}
