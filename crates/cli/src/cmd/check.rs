//! `pktpath check`: every probe of a world against its recorded outcome and trace.

use crate::input;
use pktpath_engine::SimOptions;
use pktpath_report::check::{check_world, check_world_with, CheckError};
use std::process::ExitCode;

pub fn run(world_arg: &str, json: bool, seed: u64) -> Result<ExitCode, String> {
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
    Ok(if rep.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
