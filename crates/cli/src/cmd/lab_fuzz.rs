//! `pktpath lab fuzz`: random worlds and probes, each run on the kernel (in namespaces
//! named PREFIX+name) and in simulation; disagreements are minimised and written as world
//! snapshots under `--keep` (see `pktpath_lab::fuzz`).

use clap::Args;
use pktpath_engine::SimOptions;
use pktpath_lab::fuzz::{self, case_line, summary_text, FuzzOptions, LabJudge};
use pktpath_lab::LabOptions;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Args, Debug, Clone)]
pub struct FuzzArgs {
    /// How many cases to run.
    #[arg(long, default_value_t = 100)]
    pub cases: u64,
    /// Seed of the random worlds (a case is reproducible from the seed and its index).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Index of the first case (to rerun case K: `--start K --cases 1`).
    #[arg(long, default_value_t = 0)]
    pub start: u64,
    /// Print one JSON object per case, then `{"cases":N,"agree":M,"disagreements":[...],"errors":[...]}`.
    #[arg(long)]
    pub json: bool,
    /// Where to write the minimal world of each disagreement (and the whole case).
    #[arg(long, default_value = "fuzz-out")]
    pub keep: PathBuf,
    /// Prefix of the namespaces the cases are built in.
    #[arg(long, default_value = "fz-")]
    pub prefix: String,
    /// Most kernel runs spent minimising one disagreement.
    #[arg(long, default_value_t = 30)]
    pub minimize_budget: usize,
    /// Also write every agreeing case to `--keep` (`case-NNNN-original/`, the kernel's
    /// outcomes and traces as `expect`): `pktpath check` then judges a newer simulation
    /// against these kernel runs without root.
    #[arg(long)]
    pub record_all: bool,
    /// Only generate the worlds and check that the simulator takes them (no kernel, no root).
    #[arg(long)]
    pub dry_run: bool,
    /// Wait between starting `xtables-monitor` and the client (ms).
    #[arg(long, default_value_t = 700)]
    pub monitor_ms: u64,
    /// Wait between the client's end and `conntrack -L` (ms).
    #[arg(long, default_value_t = 1000)]
    pub settle_ms: u64,
    /// Print each command the lab runs.
    #[arg(long, short)]
    pub verbose: bool,
    /// The pktpath binary whose `serve`, `proxy` and `lab udp-client` run in the lab
    /// (default: this one).
    #[arg(long, hide = true)]
    pub exe: Option<PathBuf>,
}

fn dry_run(a: &FuzzArgs) -> Result<ExitCode, String> {
    let mut bad = 0;
    for index in a.start..a.start + a.cases {
        let line = match fuzz::generate(a.seed, index) {
            Ok(case) => {
                let rules: usize = case
                    .world
                    .namespaces
                    .iter()
                    .flat_map(|n| &n.ruleset.tables)
                    .flat_map(|t| &t.chains)
                    .map(|c| c.rules.len())
                    .sum();
                match pktpath_report::check::check_world(&case.world, SimOptions::default()) {
                    Ok(rep) => format!(
                        "case {index:4} {:7} {} namespaces, {rules} rules, probes: {}",
                        case.kind,
                        case.world.namespaces.len(),
                        rep.probes
                            .iter()
                            .map(|p| format!("{}={}", p.name, p.got))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    Err(e) => {
                        bad += 1;
                        format!("case {index:4} {:7} ERROR in simulation: {e}", case.kind)
                    }
                }
            }
            Err(e) => {
                bad += 1;
                format!("case {index:4} ERROR {e}")
            }
        };
        println!("{line}");
    }
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn run(a: FuzzArgs) -> Result<ExitCode, String> {
    if a.dry_run {
        return dry_run(&a);
    }
    pktpath_lab::install_signal_handlers();
    let exe = match &a.exe {
        Some(e) => e.clone(),
        None => {
            std::env::current_exe().map_err(|e| format!("cannot find the pktpath binary: {e}"))?
        }
    };
    let mut lab = LabOptions::new(a.prefix.clone(), exe);
    // The prefix is the fuzzer's own: a lab left by an interrupted run is removed.
    lab.force_clean = true;
    lab.verbose = a.verbose;
    lab.timing.monitor_start = Duration::from_millis(a.monitor_ms);
    lab.timing.settle = Duration::from_millis(a.settle_ms);
    let mut judge = LabJudge {
        lab,
        sim: SimOptions {
            seed: 1,
            record: true,
        },
    };
    let opts = FuzzOptions {
        seed: a.seed,
        start: a.start,
        cases: a.cases,
        keep: a.keep.clone(),
        minimize_budget: a.minimize_budget,
        record_all: a.record_all,
    };
    let json = a.json;
    let summary = fuzz::fuzz(&opts, &mut judge, &mut |r| {
        if json {
            println!(
                "{}",
                serde_json::to_string(r).expect("a case result serialises")
            );
        } else {
            println!("{}", case_line(r));
        }
    });
    if json {
        println!(
            "{}",
            serde_json::to_string(&summary).expect("the summary serialises")
        );
    } else {
        println!("{}", summary_text(&summary));
    }
    if summary.interrupted {
        return Err("interrupted; the lab's namespaces were removed".into());
    }
    Ok(
        if summary.disagreements.is_empty() && summary.errors.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}
