//! `lab verify`: the kernel judges the simulation. Bring the world up, run every
//! `[[probe]]` for real (in order, as the capture did), bring it down, then simulate the
//! same probes (same local ports, same trace namespaces, same conntrack flushes) and
//! compare, probe by probe: the outcome, the first packet's trace
//! ([`pktpath_trace::first_packet`]) and the conntrack table — with
//! [`pktpath_report::check`], fed the lab's kernel records instead of the recorded ones.
//! The lab's kernel is also compared with what the snapshot recorded (`expect`, `trace`).

use crate::error::{LabError, Result};
use crate::lab::{Lab, LabOptions};
use crate::probe::{KernelProbe, ProbeRequest};
use crate::snapshot::Snapshot;
use pktpath_engine::{Sim, SimOptions};
use pktpath_report::check::{check_world_with, spec_of, CheckError};
use pktpath_trace::{compare, first_packet, TraceStep};
use pktpath_world::{L4Proto, Outcome, Role, World};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One probe's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeVerdict {
    pub name: String,
    /// The outcome the snapshot recorded, if any.
    pub expect: Option<&'static str>,
    /// What the kernel did in the lab (`other: ...` when the client said something else).
    pub kernel: String,
    /// What the simulation says.
    pub simulated: &'static str,
    /// The simulated first-packet trace equals the lab kernel's.
    pub trace_match: Option<bool>,
    /// The lab kernel's first-packet trace equals the one the snapshot recorded.
    pub recorded_trace_match: Option<bool>,
    /// The simulated conntrack table equals the lab kernel's `conntrack -L`.
    pub conntrack_match: Option<bool>,
    /// kernel == simulated (outcome and trace), and kernel == expect where given.
    pub ok: bool,
    pub sport: Option<u16>,
    pub trace_namespace: String,
    /// The simulation replayed the kernel's `statistic --mode random` choices.
    pub replayed_random_choices: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_diff: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_trace_diff: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conntrack_diff: Option<String>,
    /// The lab kernel's first packet, one step a line.
    pub kernel_first_packet: Vec<String>,
    pub simulated_first_packet: Vec<String>,
    /// Everything `xtables-monitor --trace` printed in the lab.
    pub kernel_trace: String,
    /// The simulation's xtables-monitor output (without the replayed random choices).
    pub simulated_trace: String,
    pub kernel_conntrack: String,
    /// The client's log (command, exit code, output).
    pub client: String,
    pub simulated_client_says: String,
    /// A problem with the kernel's records (e.g. a trace line pktpath cannot read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub world: String,
    pub probes: Vec<ProbeVerdict>,
    pub passed: usize,
    pub failed: usize,
    /// What `lab up` noticed (the kernel's state differs from the snapshot's somewhere...).
    pub warnings: Vec<String>,
}

impl VerifyReport {
    pub fn all_ok(&self) -> bool {
        self.failed == 0
    }
}

/// The namespace whose trace a probe records: its `trace_namespace`, else the world's
/// host namespace, else the client's own.
pub fn trace_ns_of(world: &World, p: &pktpath_world::Probe) -> String {
    p.trace_namespace
        .clone()
        .or_else(|| {
            world
                .namespaces
                .iter()
                .find(|n| n.role == Role::Host)
                .map(|n| n.name.clone())
        })
        .unwrap_or_else(|| p.from.clone())
}

/// Run every probe of the world in a lab (up, probes, down).
pub fn run_kernel(snap: &Snapshot, opts: LabOptions) -> Result<(Vec<KernelProbe>, Vec<String>)> {
    let world = &snap.world;
    let mut lab = Lab::up(snap, opts)?;
    let fixed: BTreeSet<u16> = world.probes.iter().filter_map(|p| p.sport).collect();
    let mut next = crate::state::FIRST_PORT;
    let mut out = Vec::new();
    for p in &world.probes {
        let sport = match (p.proto, p.sport) {
            (L4Proto::Icmp, _) => None,
            (_, Some(s)) => Some(s),
            (_, None) => {
                // probe.py's counter, skipping the ports other probes name.
                while fixed.contains(&next) {
                    next += 1;
                }
                next += 1;
                Some(next - 1)
            }
        };
        let req = ProbeRequest {
            from: p.from.clone(),
            proto: p.proto,
            dst: p.dst,
            dport: p.dport,
            sport,
            trace_ns: trace_ns_of(world, p),
            keep_conntrack: p.keep_conntrack,
        };
        // An error drops `lab`, which removes it.
        let k = lab.probe(&req).map_err(|e| match e {
            LabError::Interrupted => e,
            e => LabError::Other(format!("probe {}: {e}", p.name)),
        })?;
        out.push(k);
    }
    let warnings = lab.warnings.clone();
    lab.down()?;
    Ok((out, warnings))
}

fn steps(s: &[TraceStep]) -> Vec<String> {
    s.iter().map(|x| x.to_string()).collect()
}

/// Compare the lab kernel's records with the simulation (and the snapshot's records).
pub fn judge(
    snap: &Snapshot,
    kernel: &[KernelProbe],
    sim_opts: SimOptions,
) -> Result<Vec<ProbeVerdict>> {
    let world = &snap.world;
    // The world as the lab saw it: each probe's outcome, port and trace are the kernel's.
    let mut w2 = world.clone();
    let mut files: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut notes: Vec<Option<String>> = Vec::new();
    let mut kernel_fp: Vec<Option<Vec<TraceStep>>> = Vec::new();
    for (i, (p, k)) in w2.probes.iter_mut().zip(kernel).enumerate() {
        let dir = PathBuf::from(format!("lab/{i}"));
        p.expect = k.outcome.outcome;
        p.sport = k.sport;
        p.trace_namespace = Some(trace_ns_of(world, p));
        match pktpath_trace::parse(&k.trace, &format!("kernel trace of {}", p.name)) {
            Ok(lines) => {
                kernel_fp.push(Some(first_packet(&lines)));
                p.trace = Some(dir.join("trace.txt"));
                files.insert(dir.join("trace.txt"), k.trace.clone());
                files.insert(dir.join("conntrack.txt"), k.conntrack.clone());
                notes.push(None);
            }
            Err(e) => {
                kernel_fp.push(None);
                p.trace = None;
                notes.push(Some(format!("the kernel's trace does not parse: {e}")));
            }
        }
    }
    let read = |rel: &Path| -> std::result::Result<String, CheckError> {
        files
            .get(rel)
            .cloned()
            .ok_or_else(|| CheckError::World(format!("no lab record {}", rel.display())))
    };
    let rep = check_world_with(&w2, sim_opts, &read).map_err(|e| LabError::Other(e.to_string()))?;

    // The simulation's own traces, for people (check only says where they diverge).
    let mut sim = Sim::new(&w2, sim_opts).map_err(LabError::World)?;
    let mut verdicts = Vec::new();
    for (i, ((p, k), c)) in world.probes.iter().zip(kernel).zip(&rep.probes).enumerate() {
        let tns = trace_ns_of(world, p);
        let spec = spec_of(&w2.probes[i]);
        let (sim_trace, sim_fp) = match (sim.probe(&spec), sim.ns_by_name(&tns)) {
            (Ok(run), Some(ns)) => {
                let lines = pktpath_report::xtmon::lines(&sim, &run, ns);
                (pktpath_trace::render(&lines), first_packet(&lines))
            }
            (Err(e), _) => (format!("(simulation failed: {e})"), Vec::new()),
            (_, None) => (String::new(), Vec::new()),
        };
        let recorded = p
            .trace
            .as_ref()
            .and_then(|t| snap.file(t).map(|text| (t, text)))
            .and_then(|(t, text)| {
                pktpath_trace::parse(&text, &world.root.join(t).display().to_string()).ok()
            })
            .map(|lines| first_packet(&lines));
        let recorded_diff = match (&recorded, &kernel_fp[i]) {
            (Some(r), Some(k)) => Some(compare(r, k)),
            _ => None,
        };
        let expect = p.expect.map(Outcome::as_str);
        let kernel_ok =
            k.outcome.outcome.is_some() && p.expect.is_none_or(|e| Some(e) == k.outcome.outcome);
        verdicts.push(ProbeVerdict {
            name: p.name.clone(),
            expect,
            kernel: k.outcome.text.clone(),
            simulated: c.got,
            trace_match: c.trace_match,
            recorded_trace_match: recorded_diff.as_ref().map(|d| d.is_match()),
            conntrack_match: c.conntrack_match,
            ok: kernel_ok && c.ok,
            sport: k.sport,
            trace_namespace: tns,
            replayed_random_choices: c.replayed_random_choices,
            trace_diff: c.trace_diff.clone(),
            recorded_trace_diff: recorded_diff
                .filter(|d| !d.is_match())
                .map(|d| format!("(expected: recorded, got: lab kernel) {d}")),
            conntrack_diff: c.conntrack_diff.clone(),
            kernel_first_packet: kernel_fp[i].as_deref().map(steps).unwrap_or_default(),
            simulated_first_packet: steps(&sim_fp),
            kernel_trace: k.trace.clone(),
            simulated_trace: sim_trace,
            kernel_conntrack: k.conntrack.clone(),
            client: k.client.render(),
            simulated_client_says: c.client_says.clone(),
            note: notes[i].clone(),
        });
    }
    Ok(verdicts)
}

/// `lab verify`: up, every probe for real, down, then the comparison.
pub fn verify(snap: &Snapshot, opts: LabOptions, sim_opts: SimOptions) -> Result<VerifyReport> {
    let (kernel, warnings) = run_kernel(snap, opts)?;
    let probes = judge(snap, &kernel, sim_opts)?;
    let passed = probes.iter().filter(|p| p.ok).count();
    Ok(VerifyReport {
        world: snap.world.root.display().to_string(),
        failed: probes.len() - passed,
        passed,
        probes,
        warnings,
    })
}

/// The report for people.
pub fn render_text(rep: &VerifyReport) -> String {
    let mut s = String::new();
    for w in &rep.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    for p in &rep.probes {
        let mark = if p.ok { "ok  " } else { "FAIL" };
        let t = |m: Option<bool>| match m {
            Some(true) => "same",
            Some(false) => "DIFFERS",
            None => "-",
        };
        s.push_str(&format!(
            "{mark} {:40} expect {:20} kernel {:20} simulated {:20} trace {} (recorded {}) conntrack {}\n",
            p.name,
            p.expect.unwrap_or("-"),
            p.kernel,
            p.simulated,
            t(p.trace_match),
            t(p.recorded_trace_match),
            t(p.conntrack_match),
        ));
        let indent =
            |text: &str| -> String { text.lines().map(|l| format!("       {l}\n")).collect() };
        if let Some(n) = &p.note {
            s.push_str(&indent(n));
        }
        if p.trace_match == Some(false) {
            s.push_str(&indent(p.trace_diff.as_deref().unwrap_or("")));
            s.push_str("       kernel's first packet:\n");
            s.push_str(&indent(&p.kernel_first_packet.join("\n")));
            s.push_str("       simulated first packet:\n");
            s.push_str(&indent(&p.simulated_first_packet.join("\n")));
        }
        if let Some(d) = &p.recorded_trace_diff {
            s.push_str(&indent(d));
        }
        if let Some(d) = &p.conntrack_diff {
            s.push_str(&indent(&format!(
                "conntrack (kernel only / ours only):\n{d}"
            )));
        }
        if !p.ok && p.kernel.starts_with("other") {
            s.push_str(&indent(&p.client));
        }
    }
    s.push_str(&format!("{} passed, {} failed\n", rep.passed, rep.failed));
    s
}
