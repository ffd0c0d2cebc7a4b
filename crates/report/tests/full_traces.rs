//! The whole exchange, not only its first packet: every TRACE line the kernel printed for
//! the probe, in order (rule handles and trace ids aside), against the simulation's.
//! Reported, not asserted: timing-dependent packets (retransmissions, delayed ACKs) make a
//! strict comparison of whole exchanges meaningless; the counts show how close we are.

use pktpath_engine::{Sim, SimOptions};
use pktpath_report::{check::spec_of, xtmon};
use pktpath_trace::{TraceStep, XtLine};
use std::path::PathBuf;

fn steps(lines: &[XtLine]) -> Vec<TraceStep> {
    lines
        .iter()
        .filter_map(|l| match l {
            XtLine::Trace(t) => Some(TraceStep::from_trace_line(t)),
            _ => None,
        })
        .collect()
}

#[test]
#[ignore = "a report: run with --ignored --nocapture"]
fn whole_exchange_traces() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    let own = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut worlds: Vec<PathBuf> = Vec::new();
    for d in [root, own] {
        if let Ok(rd) = std::fs::read_dir(d) {
            worlds.extend(
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.join("world.toml").exists()),
            );
        }
    }
    worlds.sort();
    let (mut same, mut total) = (0, 0);
    for w in worlds {
        let world = pktpath_world::load_world(&w).unwrap();
        let mut sim = Sim::new(&world, SimOptions::default()).unwrap();
        for p in &world.probes {
            let (Some(tr), Some(tns)) = (&p.trace, &p.trace_namespace) else {
                continue;
            };
            let run = sim.probe(&spec_of(p)).unwrap();
            let ns = sim.ns_by_name(tns).unwrap();
            let ours = steps(&xtmon::lines(&sim, &run, ns));
            let text = std::fs::read_to_string(world.root.join(tr)).unwrap();
            let kernel = steps(&pktpath_trace::parse(&text, "k").unwrap());
            total += 1;
            let d = pktpath_trace::compare(&kernel, &ours);
            if d.is_match() {
                same += 1;
            } else {
                println!(
                    "{}/{}: {}",
                    w.file_name().unwrap().to_string_lossy(),
                    p.name,
                    d.to_string().lines().next().unwrap_or("")
                );
                for l in d.to_string().lines().skip(1).take(6) {
                    println!("    {l}");
                }
            }
        }
    }
    println!("whole-exchange traces identical: {same}/{total}");
}
