//! Snapshots of what people and tools read, for one recorded world: the simulated
//! xtables-monitor trace of a whole exchange and the text trace. Regressions show as a
//! diff; correctness against the kernel is `fixtures_agree.rs`'s job.

use pktpath_engine::{Sim, SimOptions};
use pktpath_report::{check::spec_of, text, xtmon};
use std::path::PathBuf;

fn world(name: &str) -> pktpath_world::World {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(name);
    pktpath_world::load_world(&p).unwrap()
}

#[test]
fn xtables_monitor_trace_of_a_published_port() {
    let w = world("docker-memcached");
    let mut sim = Sim::new(&w, SimOptions::default()).unwrap();
    let p = w
        .probes
        .iter()
        .find(|p| p.name == "ext-to-hostip-11211")
        .unwrap();
    let run = sim.probe(&spec_of(p)).unwrap();
    let dh = sim.ns_by_name("dh").unwrap();
    insta::assert_snapshot!(pktpath_trace::render(&xtmon::lines(&sim, &run, dh)));
}

#[test]
fn text_trace_of_localhost_through_docker_proxy() {
    let w = world("docker-memcached-circuit-breaker-output");
    let mut sim = Sim::new(&w, SimOptions::default()).unwrap();
    let p = w
        .probes
        .iter()
        .find(|p| p.name == "host-to-localhost-11211")
        .unwrap();
    let mut spec = spec_of(p);
    spec.trace_ns = None;
    let run = sim.probe(&spec).unwrap();
    insta::assert_snapshot!(text::render(
        &sim,
        &run,
        None,
        text::TextOptions { color: false }
    ));
}
