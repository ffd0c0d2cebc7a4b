//! The fuzz generator and minimiser, without a kernel: generated worlds are valid (their
//! snapshot loads, every rule is one the parser takes, the simulator runs every probe),
//! small, varied and reproducible from the seed; the minimiser keeps exactly what a
//! disagreement needs.

use pktpath_engine::SimOptions;
use pktpath_lab::fuzz::build::mem_source;
use pktpath_lab::fuzz::judge::{Judge, JudgeError, Run};
use pktpath_lab::fuzz::minimize::{drop_unused_chains, minimize, without_namespace};
use pktpath_lab::fuzz::shapes::MAX_RULES;
use pktpath_lab::fuzz::{generate, Case};
use pktpath_lab::ProbeVerdict;
use pktpath_rules::{TableName, Target};
use pktpath_world::{load_world_from, render_world, World};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn rules(w: &World) -> usize {
    w.namespaces
        .iter()
        .flat_map(|n| &n.ruleset.tables)
        .flat_map(|t| &t.chains)
        .map(|c| c.rules.len())
        .sum()
}

fn cases(seed: u64, n: u64) -> Vec<Case> {
    (0..n)
        .map(|i| generate(seed, i).unwrap_or_else(|e| panic!("case {i}: {e}")))
        .collect()
}

#[test]
fn every_generated_world_loads_and_simulates() {
    for case in cases(1, 150) {
        let w = &case.world;
        let i = case.index;
        assert!(
            w.namespaces.len() <= 6,
            "case {i}: {} namespaces",
            w.namespaces.len()
        );
        assert!(rules(w) <= MAX_RULES + 8, "case {i}: {} rules", rules(w));
        assert!(
            (3..=5).contains(&w.probes.len()),
            "case {i}: {} probes",
            w.probes.len()
        );
        // The snapshot written from it loads into the same world.
        let again = load_world_from(&mem_source(w), w.root.clone()).unwrap();
        assert_eq!(&again, w, "case {i}");
        // Every probe runs in the simulator.
        let rep = pktpath_report::check::check_world(w, SimOptions::default())
            .unwrap_or_else(|e| panic!("case {i} ({}): {e}", case.kind));
        assert_eq!(rep.probes.len(), w.probes.len());
        // br_netfilter is there on the lab's machine whatever the world says: a namespace
        // with a bridge says what bridge-nf-call-iptables is.
        for n in &w.namespaces {
            if n.interfaces
                .iter()
                .any(|i| i.kind == pktpath_world::IfaceKind::Bridge)
            {
                assert!(
                    n.sysctls.bridge_nf_call_iptables.is_some(),
                    "case {i}: {}",
                    n.name
                );
            }
            let fwd = n.sysctls.raw.get("net.ipv4.ip_forward").map(String::as_str);
            assert_eq!(
                fwd,
                Some(if n.sysctls.ip_forward { "1" } else { "0" }),
                "case {i}"
            );
        }
        // Rules only where the probes are traced (the lab flushes conntrack only there).
        let traced: BTreeSet<&str> = w
            .probes
            .iter()
            .filter_map(|p| p.trace_namespace.as_deref())
            .collect();
        for n in &w.namespaces {
            if !n.ruleset.tables.is_empty() {
                assert!(
                    traced.contains(n.name.as_str()),
                    "case {i}: rules in {}",
                    n.name
                );
            }
        }
    }
}

#[test]
fn a_seed_gives_the_same_cases_and_other_seeds_other_ones() {
    for i in [0, 7, 42] {
        let a = generate(3, i).unwrap();
        let b = generate(3, i).unwrap();
        assert_eq!(a.world, b.world, "case {i}");
        assert_eq!(render_world(&a.world), render_world(&b.world));
    }
    let differ = (0..20)
        .filter(|&i| generate(3, i).unwrap().world != generate(4, i).unwrap().world)
        .count();
    assert!(
        differ >= 18,
        "only {differ} of 20 cases differ between seeds"
    );
}

#[test]
fn all_shapes_and_the_interesting_constructs_show_up() {
    let cs = cases(5, 120);
    let kinds: BTreeSet<&str> = cs.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        ["bridge", "docker", "kube", "router"].into_iter().collect()
    );
    let mut targets = BTreeSet::new();
    let mut protos = BTreeSet::new();
    for c in &cs {
        for p in &c.world.probes {
            protos.insert(p.proto.as_str());
        }
        for n in &c.world.namespaces {
            for t in &n.ruleset.tables {
                for ch in &t.chains {
                    for r in &ch.rules {
                        let name = match &r.target {
                            Some(Target::Reject(_)) => "REJECT",
                            Some(Target::Dnat { .. }) => "DNAT",
                            Some(Target::Snat { .. }) => "SNAT",
                            Some(Target::Masquerade { .. }) => "MASQUERADE",
                            Some(Target::Redirect { .. }) => "REDIRECT",
                            Some(Target::Mark(_)) => "MARK",
                            Some(Target::Goto(_)) => "goto",
                            Some(Target::Notrack { .. }) => "NOTRACK",
                            _ => continue,
                        };
                        targets.insert(name);
                    }
                }
            }
        }
    }
    for t in [
        "REJECT",
        "DNAT",
        "SNAT",
        "MASQUERADE",
        "REDIRECT",
        "MARK",
        "goto",
        "NOTRACK",
    ] {
        assert!(targets.contains(t), "no {t} in 120 cases");
    }
    assert_eq!(protos, ["icmp", "tcp", "udp"].into_iter().collect());
}

#[test]
fn docker_worlds_have_docker_s_rules() {
    let c = (0..40)
        .map(|i| generate(11, i).unwrap())
        .find(|c| c.kind == "docker")
        .expect("a docker case in 40");
    let h = c.world.namespace("h").unwrap();
    let filter = h.ruleset.table(TableName::Filter).unwrap();
    let fwd = filter.chain("FORWARD").unwrap();
    assert_eq!(
        fwd.rules[0].target,
        Some(Target::Jump("DOCKER-USER".into()))
    );
    assert_eq!(
        fwd.rules[1].target,
        Some(Target::Jump("DOCKER-ISOLATION-STAGE-1".into()))
    );
    let base = h.base_chains.as_ref().unwrap();
    assert!(base.contains(&(TableName::Filter, "FORWARD".into())));
    assert!(base.contains(&(TableName::Nat, "PREROUTING".into())));
    assert!(!base.contains(&(TableName::Nat, "INPUT".into())));
}

/// A made-up judge: probe `p` "disagrees" while the world has a DNAT rule and a namespace
/// named `x`; everything else agrees.
struct Fake {
    runs: usize,
}

fn verdict(name: &str, ok: bool) -> ProbeVerdict {
    ProbeVerdict {
        name: name.into(),
        expect: None,
        kernel: "timeout".into(),
        simulated: if ok { "timeout" } else { "connected" },
        trace_match: Some(ok),
        recorded_trace_match: None,
        conntrack_match: None,
        ok,
        sport: Some(41000),
        trace_namespace: "h".into(),
        replayed_random_choices: false,
        trace_diff: None,
        recorded_trace_diff: None,
        conntrack_diff: None,
        kernel_first_packet: Vec::new(),
        simulated_first_packet: Vec::new(),
        kernel_trace: String::new(),
        simulated_trace: String::new(),
        kernel_conntrack: String::new(),
        client: String::new(),
        simulated_client_says: String::new(),
        note: None,
    }
}

fn has_dnat(w: &World) -> bool {
    w.namespaces.iter().any(|n| {
        n.ruleset.tables.iter().any(|t| {
            t.chains.iter().any(|c| {
                c.rules
                    .iter()
                    .any(|r| matches!(r.target, Some(Target::Dnat { .. })))
            })
        })
    })
}

impl Judge for Fake {
    fn run(&mut self, w: &World) -> Result<Run, JudgeError> {
        self.runs += 1;
        let bug = has_dnat(w) && w.namespace("x").is_some();
        Ok(Run {
            verdicts: w
                .probes
                .iter()
                .enumerate()
                .map(|(i, p)| verdict(&p.name, !(bug && i == w.probes.len() - 1)))
                .collect(),
            warnings: Vec::new(),
        })
    }
}

#[test]
fn the_minimiser_keeps_what_the_disagreement_needs() {
    // A docker case with a container (so there is a namespace to remove) and DNAT rules.
    let case = (0..200)
        .map(|i| generate(2, i).unwrap())
        .find(|c| c.kind == "docker" && c.world.namespaces.len() >= 3 && has_dnat(&c.world))
        .expect("a docker case with a published port");
    let w = &case.world;
    let mut judge = Fake { runs: 0 };
    let first = judge.run(w).unwrap();
    let last = w.probes.len() - 1;
    let m = minimize(&mut judge, w, &first, last, 60).unwrap();
    assert!(!m.flaky);
    assert_eq!(m.probe, w.probes[last].name);
    assert_eq!(m.world.probes.len(), 1, "the probe alone still disagrees");
    assert_eq!(rules(&m.world), 1, "one DNAT rule is all it takes");
    assert!(has_dnat(&m.world));
    let p = &m.world.probes[0];
    let mut need: BTreeSet<&str> = ["x", p.from.as_str()].into_iter().collect();
    need.insert(p.trace_namespace.as_deref().unwrap());
    // The namespace the probe goes to stays too.
    for n in &w.namespaces {
        if !p.dst.is_loopback()
            && n.interfaces
                .iter()
                .any(|i| i.addrs.iter().any(|a| a.addr == p.dst))
        {
            need.insert(n.name.as_str());
        }
    }
    let have: BTreeSet<&str> = m.world.namespaces.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(have, need);
    assert_eq!(m.steps, judge.runs - 1);
    assert!(m.steps <= 60);
    // The minimal world is a valid snapshot.
    load_world_from(&mem_source(&m.world), PathBuf::new()).unwrap();
}

#[test]
fn a_disagreement_that_does_not_come_back_is_flaky() {
    struct Once(usize);
    impl Judge for Once {
        fn run(&mut self, w: &World) -> Result<Run, JudgeError> {
            self.0 += 1;
            let n = self.0;
            Ok(Run {
                verdicts: w.probes.iter().map(|p| verdict(&p.name, n > 1)).collect(),
                warnings: Vec::new(),
            })
        }
    }
    let case = generate(2, 0).unwrap();
    let mut judge = Once(0);
    let first = judge.run(&case.world).unwrap();
    let m = minimize(&mut judge, &case.world, &first, 0, 30).unwrap();
    assert!(m.flaky);
    assert_eq!(m.world, case.world);
    assert_eq!(m.steps, 2, "the probe alone, then the whole world again");
}

#[test]
fn removing_a_namespace_removes_its_links_and_peer_ends() {
    let case = (0..100)
        .map(|i| generate(9, i).unwrap())
        .find(|c| c.kind == "docker" && c.world.namespace("c1").is_some())
        .unwrap();
    let w = without_namespace(&case.world, "c1");
    assert!(w.namespace("c1").is_none());
    assert!(w
        .links
        .iter()
        .all(|l| l.a.namespace != "c1" && l.b.namespace != "c1"));
    let h = w.namespace("h").unwrap();
    let linked: Vec<&str> = w
        .links
        .iter()
        .flat_map(|l| [&l.a, &l.b])
        .filter(|e| e.namespace == "h")
        .map(|e| e.interface.as_str())
        .collect();
    for i in &h.interfaces {
        if i.kind == pktpath_world::IfaceKind::Veth {
            assert!(linked.contains(&i.name.as_str()), "{} has no link", i.name);
        }
    }
    load_world_from(&mem_source(&w), PathBuf::new()).unwrap();
}

#[test]
fn unused_empty_user_chains_go() {
    let mut rs = pktpath_rules::parse_save(
        "*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n:C - [0:0]\n-A INPUT -j A\n-A C -j B\nCOMMIT\n",
        "t",
    )
    .unwrap();
    drop_unused_chains(&mut rs);
    let names: Vec<&str> = rs.tables[0]
        .chains
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    // A is used, C has a rule, B is jumped to by C; built-in chains always stay.
    assert_eq!(names, ["INPUT", "FORWARD", "OUTPUT", "A", "B", "C"]);
    rs.tables[0].chain_mut("C").unwrap().rules.clear();
    drop_unused_chains(&mut rs);
    let names: Vec<&str> = rs.tables[0]
        .chains
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["INPUT", "FORWARD", "OUTPUT", "A"]);
}
