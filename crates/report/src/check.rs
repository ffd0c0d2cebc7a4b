//! `pktpath check`: run every `[[probe]]` of a world and compare with what the kernel
//! recorded — the outcome (`expect`) and, when the snapshot has the kernel's trace, the
//! first packet's path through the trace namespace's rules.

use crate::xtmon;
use pktpath_engine::{ProbeSpec, Sim, SimOptions};
use pktpath_trace::{compare, first_packet, TraceDiff};
use pktpath_world::{Outcome, Probe, World};
use serde::Serialize;

/// One probe's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeCheck {
    pub name: String,
    pub expect: Option<&'static str>,
    pub got: &'static str,
    pub ok: bool,
    /// `None` when the world has no kernel trace for the probe.
    pub trace_match: Option<bool>,
    #[serde(skip)]
    pub trace_diff: Option<String>,
    /// The kernel took another `statistic --mode random` branch than the first run; the
    /// run shown replays the kernel's choices.
    pub replayed_random_choices: bool,
    /// `None` when the world has no `conntrack -L` record for the probe.
    pub conntrack_match: Option<bool>,
    #[serde(skip)]
    pub conntrack_diff: Option<String>,
    pub client_says: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub probes: Vec<ProbeCheck>,
    pub passed: usize,
    pub failed: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{0}")]
    World(String),
    #[error("probe {probe}: {msg}")]
    Probe { probe: String, msg: String },
    #[error("{0}")]
    Trace(#[from] pktpath_trace::TraceParseError),
    #[error("{path}: {err}")]
    Io { path: String, err: std::io::Error },
}

pub fn spec_of(p: &Probe) -> ProbeSpec {
    ProbeSpec {
        from: p.from.clone(),
        proto: p.proto,
        dst: p.dst,
        dport: p.dport,
        sport: p.sport,
        trace_ns: p.trace_namespace.clone(),
        keep_conntrack: p.keep_conntrack,
    }
}

/// Run all probes of `world` in order, in one simulator (conntrack is flushed before
/// each probe unless it says `keep_conntrack`). Kernel traces are read from the world's
/// folder.
pub fn check_world(world: &World, opts: SimOptions) -> Result<CheckReport, CheckError> {
    let root = world.root.clone();
    check_world_with(world, opts, &|rel| {
        let full = root.join(rel);
        std::fs::read_to_string(&full).map_err(|err| CheckError::Io {
            path: full.display().to_string(),
            err,
        })
    })
}

/// [`check_world`] with a way to read the world's recorded files (for built-in worlds).
pub fn check_world_with(
    world: &World,
    opts: SimOptions,
    read: &dyn Fn(&std::path::Path) -> Result<String, CheckError>,
) -> Result<CheckReport, CheckError> {
    let mut sim = Sim::new(world, opts).map_err(CheckError::World)?;
    let random = sim.has_random_rules();
    let mut probes = Vec::new();
    for p in &world.probes {
        let spec = spec_of(p);
        let before = random.then(|| sim.clone());
        let probe_err = |e: pktpath_engine::ProbeError| CheckError::Probe {
            probe: p.name.clone(),
            msg: e.to_string(),
        };
        let mut run = sim.probe(&spec).map_err(probe_err)?;
        let kernel = match (&p.trace, &p.trace_namespace) {
            (Some(path), Some(tns)) => {
                let text = read(path)?;
                let label = world.root.join(path).display().to_string();
                let ns = sim.ns_by_name(tns).ok_or_else(|| CheckError::Probe {
                    probe: p.name.clone(),
                    msg: format!("no namespace {tns}"),
                })?;
                Some((first_packet(&pktpath_trace::parse(&text, &label)?), ns))
            }
            _ => None,
        };
        let diff_of = |sim: &Sim, run: &pktpath_engine::ProbeRun| -> Option<TraceDiff> {
            kernel
                .as_ref()
                .map(|(k, ns)| compare(k, &first_packet(&xtmon::lines(sim, run, *ns))))
        };
        let mut d = diff_of(&sim, &run);
        let mut replayed = false;
        // `statistic --mode random` chose differently from the kernel: the kernel's path
        // is one the simulation can take if its draws come out the other way. Try the
        // other outcomes of the (few) draws made.
        if let (Some(before), Some(false)) = (before, d.as_ref().map(|d| d.is_match())) {
            let draws = sim.draws();
            let n: usize = draws.iter().map(|(_, v)| v.len()).sum();
            if (1..=10).contains(&n) {
                for mask in 1u32..(1 << n) {
                    let mut bits = (0..n).map(|i| mask & (1 << i) != 0);
                    let alt: Vec<_> = draws
                        .iter()
                        .map(|(ns, v)| {
                            (
                                *ns,
                                v.iter().map(|b| b ^ bits.next().unwrap_or(false)).collect(),
                            )
                        })
                        .collect();
                    let mut s2 = before.clone();
                    s2.force_draws(&alt);
                    let r2 = s2.probe(&spec).map_err(probe_err)?;
                    let d2 = diff_of(&s2, &r2);
                    if d2.as_ref().is_some_and(|d| d.is_match()) {
                        sim = s2;
                        run = r2;
                        d = d2;
                        replayed = true;
                        break;
                    }
                }
            }
        }
        let (trace_match, trace_diff) = match &d {
            Some(d) => (Some(d.is_match()), (!d.is_match()).then(|| d.to_string())),
            None => (None, None),
        };
        // The capture recorded `conntrack -L` in the trace namespace next to the trace.
        let (conntrack_match, conntrack_diff) = match (&p.trace, &p.trace_namespace) {
            (Some(path), Some(tns)) => {
                let ct_path = path.with_file_name("conntrack.txt");
                match (read(&ct_path), sim.ns_by_name(tns)) {
                    (Ok(text), Some(ns)) => {
                        let keep: Vec<u16> =
                            [Some(run.sport), p.dport].into_iter().flatten().collect();
                        match crate::conntrack_cmp::compare(&text, &sim.ns(ns).ct.entries(), &keep)
                        {
                            Ok(()) => (Some(true), None),
                            Err(d) => (Some(false), Some(d)),
                        }
                    }
                    _ => (None, None),
                }
            }
            _ => (None, None),
        };
        let ok = p.expect.is_none_or(|e| e == run.outcome) && trace_match != Some(false);
        probes.push(ProbeCheck {
            name: p.name.clone(),
            expect: p.expect.map(Outcome::as_str),
            got: run.outcome.as_str(),
            ok,
            trace_match,
            trace_diff,
            replayed_random_choices: replayed,
            conntrack_match,
            conntrack_diff,
            client_says: run.client_says.clone(),
        });
    }
    let passed = probes.iter().filter(|p| p.ok).count();
    let failed = probes.len() - passed;
    Ok(CheckReport {
        probes,
        passed,
        failed,
    })
}
