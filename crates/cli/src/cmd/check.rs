//! `pktpath check`: every probe of a world against its recorded outcome and trace.

use crate::{input, CounterArgs};
use pktpath_engine::{Sim, SimOptions};
use pktpath_report::check::{check_world, check_world_with, spec_of, CheckError};
use pktpath_report::counters::RuleCounters;
use std::process::ExitCode;

pub fn run(
    world_arg: &str,
    json: bool,
    seed: u64,
    counters: &CounterArgs,
) -> Result<ExitCode, String> {
    let world = input::load(world_arg)?;
    let opts = SimOptions { seed, record: true };
    let rep = match world_arg.strip_prefix("builtin:") {
        Some(name) => check_world_with(&world, opts, &|rel| {
            input::builtin_file(name, rel).ok_or_else(|| {
                CheckError::World(format!("builtin:{name}: no file {}", rel.display()))
            })
        }),
        None => check_world(&world, opts),
    }
    .map_err(|e| e.to_string())?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&rep).map_err(|e| e.to_string())?
        );
    } else {
        for p in &rep.probes {
            let mark = if p.ok { "ok  " } else { "FAIL" };
            let trace = match p.trace_match {
                Some(true) if p.replayed_random_choices => {
                    "  trace: same as the kernel's (with the kernel's statistic choices)"
                }
                Some(true) => "  trace: same as the kernel's",
                Some(false) => "  trace: DIFFERS from the kernel's",
                None => "",
            };
            println!(
                "{mark} {:40} expect {:20} got {:20}{trace}",
                p.name,
                p.expect.unwrap_or("-"),
                p.got
            );
            if let Some(d) = &p.trace_diff {
                for l in d.lines() {
                    println!("       {l}");
                }
            }
        }
        println!("{} passed, {} failed", rep.passed, rep.failed);
    }
    if counters.counters.is_some() {
        // The world's probes again, in order, in one simulator (as `check` runs them),
        // counting what they do to the namespace's rules.
        let mut sim = Sim::new(&world, opts)?;
        if let Some((ns, idx)) = super::counters::namespace(&world, &sim, counters)? {
            let mut c = RuleCounters::new(ns);
            for p in &world.probes {
                let run = sim
                    .probe(&spec_of(p))
                    .map_err(|e| format!("probe {}: {e}", p.name))?;
                c.add_run(&sim, &run);
            }
            super::counters::print(&c, &world.namespaces[idx].ruleset, counters);
        }
    }
    Ok(if rep.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
