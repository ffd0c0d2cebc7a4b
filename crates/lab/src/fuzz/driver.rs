//! The fuzz loop: for each case, generate the world, run its probes on the kernel and in
//! simulation ([`Judge`]), and when they disagree, minimise the world and write it as a
//! snapshot whose `expect`, traces and client logs are the kernel's — ready to become a
//! regression fixture.
//!
//! A case *agrees* when every probe does: same outcome, same first-packet trace.

use super::case::{generate, Case};
use super::judge::{Judge, JudgeError, Run};
use super::minimize::{minimize, signature, Minimized};
use crate::verify::ProbeVerdict;
use pktpath_world::{write_world, L4Proto, Outcome, World};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct FuzzOptions {
    pub seed: u64,
    /// The first case index and how many cases.
    pub start: u64,
    pub cases: u64,
    /// Where disagreements are written (`case-NNNN/` minimal, `case-NNNN-original/`).
    pub keep: PathBuf,
    /// Most kernel runs spent minimising one disagreement.
    pub minimize_budget: usize,
    /// Also write every agreeing case (`case-NNNN-original/`, with the kernel's outcomes
    /// and traces as `expect`), so a later engine can be judged again offline with
    /// `pktpath check` without the kernel.
    pub record_all: bool,
}

/// A disagreement, as the summary lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Disagreement {
    pub case: u64,
    pub kind: &'static str,
    pub probe: String,
    pub kernel: String,
    pub simulated: &'static str,
    pub trace_match: Option<bool>,
    /// Other probes of the case that disagreed too.
    pub also: Vec<String>,
    /// It did not show again on the same world.
    pub flaky: bool,
    /// The kernel's client said something none of the five outcomes names (`other: ...`):
    /// the lab's classification, not the engine, is in question; not minimised.
    pub unclassified: bool,
    /// Kernel runs spent minimising.
    pub steps: usize,
    /// Size of the minimal world.
    pub namespaces: usize,
    pub rules: usize,
    /// The minimal world's folder, and the whole case's.
    pub dir: Option<String>,
    pub original: Option<String>,
}

/// One case's result, as the per-case line says it.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub case: u64,
    pub kind: &'static str,
    pub probes: usize,
    /// `agree`, `disagree` or `error`.
    pub verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disagreement: Option<Disagreement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Per probe: name, kernel outcome, simulated outcome, trace match.
    pub detail: Vec<(String, String, &'static str, Option<bool>)>,
    /// What the lab noticed while building the world (it differs from the snapshot...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub cases: u64,
    pub agree: u64,
    pub disagreements: Vec<Disagreement>,
    /// Cases that could not be run (the world could not be built or probed).
    pub errors: Vec<String>,
    /// The run stopped early (Ctrl-C).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

fn rule_count(w: &World) -> usize {
    w.namespaces
        .iter()
        .flat_map(|n| &n.ruleset.tables)
        .flat_map(|t| &t.chains)
        .map(|c| c.rules.len())
        .sum()
}

/// Run the cases; `on_case` hears about each as it ends.
pub fn fuzz(
    opts: &FuzzOptions,
    judge: &mut dyn Judge,
    on_case: &mut dyn FnMut(&CaseResult),
) -> Summary {
    let mut sum = Summary {
        cases: 0,
        agree: 0,
        disagreements: Vec::new(),
        errors: Vec::new(),
        interrupted: false,
    };
    for index in opts.start..opts.start + opts.cases {
        let result = match generate(opts.seed, index) {
            Err(e) => CaseResult {
                case: index,
                kind: "?",
                probes: 0,
                verdict: "error",
                disagreement: None,
                error: Some(e),
                detail: Vec::new(),
                warnings: Vec::new(),
            },
            Ok(case) => match run_case(opts, judge, &case) {
                Ok(r) => r,
                Err(JudgeError::Interrupted) => {
                    sum.interrupted = true;
                    break;
                }
                Err(JudgeError::Failed(e)) => CaseResult {
                    case: index,
                    kind: case.kind,
                    probes: case.world.probes.len(),
                    verdict: "error",
                    disagreement: None,
                    error: Some(e),
                    detail: Vec::new(),
                    warnings: Vec::new(),
                },
            },
        };
        sum.cases += 1;
        match result.verdict {
            "agree" => sum.agree += 1,
            "error" => sum.errors.push(format!(
                "case {index}: {}",
                result.error.as_deref().unwrap_or("")
            )),
            _ => {}
        }
        if let Some(d) = &result.disagreement {
            sum.disagreements.push(d.clone());
        }
        on_case(&result);
    }
    sum
}

fn detail(world: &World, run: &Run) -> Vec<(String, String, &'static str, Option<bool>)> {
    world
        .probes
        .iter()
        .zip(&run.verdicts)
        .map(|(p, v)| (p.name.clone(), v.kernel.clone(), v.simulated, v.trace_match))
        .collect()
}

fn run_case(
    opts: &FuzzOptions,
    judge: &mut dyn Judge,
    case: &Case,
) -> Result<CaseResult, JudgeError> {
    let run = judge.run(&case.world)?;
    let failing: Vec<usize> = run
        .verdicts
        .iter()
        .enumerate()
        .filter(|(_, v)| signature(v).is_some())
        .map(|(i, _)| i)
        .collect();
    let mut result = CaseResult {
        case: case.index,
        kind: case.kind,
        probes: case.world.probes.len(),
        verdict: "agree",
        disagreement: None,
        error: None,
        detail: detail(&case.world, &run),
        warnings: run.warnings.clone(),
    };
    let Some(&first) = failing.first() else {
        if opts.record_all {
            let dir = opts.keep.join(format!("case-{:04}-original", case.index));
            if let Err(e) = write_case(&case.world, &run, &dir, case, None) {
                result
                    .warnings
                    .push(format!("could not record the case: {e}"));
            }
        }
        return Ok(result);
    };
    result.verdict = "disagree";
    let v = &run.verdicts[first];
    let original = opts.keep.join(format!("case-{:04}-original", case.index));
    let wrote_original = write_case(&case.world, &run, &original, case, None).is_ok();
    let unclassified = v.kernel.starts_with("other");
    let min = if unclassified {
        Minimized {
            world: case.world.clone(),
            run: run.clone(),
            probe: case.world.probes[first].name.clone(),
            steps: 0,
            flaky: false,
        }
    } else {
        minimize(judge, &case.world, &run, first, opts.minimize_budget)?
    };
    let dir = opts.keep.join(format!("case-{:04}", case.index));
    let wrote = write_case(&min.world, &min.run, &dir, case, Some(&min)).is_ok();
    result.disagreement = Some(Disagreement {
        case: case.index,
        kind: case.kind,
        probe: min.probe.clone(),
        kernel: v.kernel.clone(),
        simulated: v.simulated,
        trace_match: v.trace_match,
        also: failing[1..]
            .iter()
            .map(|&i| case.world.probes[i].name.clone())
            .collect(),
        flaky: min.flaky,
        unclassified,
        steps: min.steps,
        namespaces: min.world.namespaces.len(),
        rules: rule_count(&min.world),
        dir: wrote.then(|| dir.display().to_string()),
        original: wrote_original.then(|| original.display().to_string()),
    });
    Ok(result)
}

/// The client's log file name in a probe folder, as the fixtures name it.
fn client_file(proto: L4Proto) -> &'static str {
    match proto {
        L4Proto::Tcp => "curl.txt",
        _ => "client.txt",
    }
}

/// Write `world` with the kernel's records of `run` as its ground truth into `dir`.
pub fn write_case(
    world: &World,
    run: &Run,
    dir: &Path,
    case: &Case,
    min: Option<&Minimized>,
) -> std::io::Result<()> {
    let _ = std::fs::remove_dir_all(dir);
    let mut w = world.clone();
    w.root = dir.to_path_buf();
    w.captured.insert("kernel".into(), kernel_release());
    w.captured
        .insert("iptables".into(), "1.8.9 (nf_tables)".into());
    w.captured.insert("by".into(), "pktpath lab fuzz".into());
    if let Some(m) = min {
        w.description = format!(
            "{} — minimised ({} kernel runs{})",
            case.world.description,
            m.steps,
            if m.flaky {
                ", flaky: did not show again"
            } else {
                ""
            }
        );
    }
    let mut records: Vec<(PathBuf, String)> = Vec::new();
    let mut report = String::new();
    for (p, v) in w.probes.iter_mut().zip(&run.verdicts) {
        let folder = PathBuf::from("probes").join(&p.name);
        p.expect = kernel_outcome(v);
        p.sport = v.sport;
        p.trace_namespace = Some(v.trace_namespace.clone());
        p.trace = Some(folder.join("trace.txt"));
        if signature(v).is_some() {
            p.note = Some(format!(
                "fuzz: the kernel said {}, the simulation {}{}",
                v.kernel,
                v.simulated,
                match v.trace_match {
                    Some(false) => "; first-packet traces differ",
                    _ => "",
                }
            ));
        }
        records.push((folder.join("trace.txt"), v.kernel_trace.clone()));
        records.push((folder.join("conntrack.txt"), v.kernel_conntrack.clone()));
        records.push((folder.join(client_file(p.proto)), v.client.clone()));
        report.push_str(&verdict_text(v));
    }
    write_world(&w, dir).map_err(|e| std::io::Error::other(e.to_string()))?;
    for (rel, text) in records {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    std::fs::write(dir.join("fuzz-report.txt"), report)
}

/// The outcome the kernel's client saw (`None` when it is none of the five).
fn kernel_outcome(v: &ProbeVerdict) -> Option<Outcome> {
    Outcome::parse(&v.kernel)
}

/// One probe's verdict with both traces, for people.
pub fn verdict_text(v: &ProbeVerdict) -> String {
    let mut s = format!(
        "probe {}: kernel {}, simulated {}, first-packet trace {}\n",
        v.name,
        v.kernel,
        v.simulated,
        match v.trace_match {
            Some(true) => "same",
            Some(false) => "DIFFERS",
            None => "-",
        }
    );
    if let Some(d) = &v.trace_diff {
        s += &format!("{d}\n");
    }
    if let Some(n) = &v.note {
        s += &format!("note: {n}\n");
    }
    s += "--- kernel's first packet\n";
    for l in &v.kernel_first_packet {
        s += &format!("{l}\n");
    }
    s += "--- simulated first packet\n";
    for l in &v.simulated_first_packet {
        s += &format!("{l}\n");
    }
    s += &format!("--- kernel trace (xtables-monitor)\n{}", v.kernel_trace);
    s += &format!("--- simulated trace\n{}", v.simulated_trace);
    s += &format!(
        "--- client\n{}\n--- simulated client says: {}\n\n",
        v.client.trim_end(),
        v.simulated_client_says
    );
    s
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// The per-case line for people.
pub fn case_line(r: &CaseResult) -> String {
    let mut line = match (r.verdict, &r.disagreement, &r.error) {
        ("agree", _, _) => format!("case {:4} {:7} {} probes  agree", r.case, r.kind, r.probes),
        (_, Some(d), _) => format!(
            "case {:4} {:7} {} probes  DISAGREE {}: kernel {}, simulated {}{}{} -> {} ({} ns, {} rules, {} runs)",
            r.case,
            r.kind,
            r.probes,
            d.probe,
            d.kernel,
            d.simulated,
            if d.trace_match == Some(false) { ", traces differ" } else { "" },
            if d.flaky {
                ", FLAKY"
            } else if d.unclassified {
                ", UNCLASSIFIED kernel outcome"
            } else {
                ""
            },
            d.dir.as_deref().unwrap_or("(not written)"),
            d.namespaces,
            d.rules,
            d.steps
        ),
        (_, _, e) => format!(
            "case {:4} {:7} {} probes  ERROR {}",
            r.case,
            r.kind,
            r.probes,
            e.as_deref().unwrap_or("")
        ),
    };
    for w in &r.warnings {
        line.push_str(&format!("\n    warning: {w}"));
    }
    line
}

/// The summary line for people.
pub fn summary_text(s: &Summary) -> String {
    let pct = if s.cases == 0 {
        100.0
    } else {
        100.0 * s.agree as f64 / s.cases as f64
    };
    let unclassified = s.disagreements.iter().filter(|d| d.unclassified).count();
    let flaky = s.disagreements.iter().filter(|d| d.flaky).count();
    format!(
        "{} cases, {} agree ({pct:.1}%), {} disagree ({unclassified} with a kernel outcome the lab could not classify, {flaky} flaky), {} errors{}",
        s.cases,
        s.agree,
        s.disagreements.len(),
        s.errors.len(),
        if s.interrupted { " (interrupted)" } else { "" }
    )
}
