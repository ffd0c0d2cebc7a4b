//! A short `lab fuzz` on the real kernel (needs root, as CI runs it): ten random worlds are
//! built in namespaces, probed for real and in simulation, and removed again — nothing
//! with the fuzzer's prefix is left — and every disagreement found is written as a world
//! snapshot that loads, with the kernel's outcome as `expect` and its trace on disk.
//!
//! `PKTPATH_FUZZ_CASES` / `PKTPATH_FUZZ_SEED` change the run; `PKTPATH_BIN` names the pktpath
//! binary whose `serve`, `proxy` and `lab udp-client` the lab runs (default: the one next
//! to this test, built first if missing).

use pktpath_engine::SimOptions;
use pktpath_lab::fuzz::{case_line, fuzz, summary_text, FuzzOptions, LabJudge};
use pktpath_lab::LabOptions;
use pktpath_world::load_world;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The pktpath binary: `PKTPATH_BIN`, or `target/<profile>/pktpath` (built if missing).
fn pktpath_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("PKTPATH_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("the test's path");
    // target/<profile>/deps/fuzz_smoke-HASH -> target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>");
    let bin = profile_dir.join("pktpath");
    if !bin.is_file() {
        let target = profile_dir.parent().expect("target dir");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "pktpath", "--bin", "pktpath", "--target-dir"])
            .arg(target)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let st = cmd.status().expect("cargo runs");
        assert!(st.success(), "building the pktpath binary failed");
    }
    bin
}

fn namespaces_with(prefix: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_short_fuzz_run_completes_and_cleans_up() {
    if !is_root() {
        eprintln!("skipped: `lab fuzz` builds network namespaces and needs root");
        return;
    }
    let cases: u64 = std::env::var("PKTPATH_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let seed: u64 = std::env::var("PKTPATH_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let prefix = format!("fzs{}-", std::process::id() % 100_000);
    let keep = std::env::temp_dir().join(format!("pktpath-fuzz-smoke-{}", std::process::id()));
    let mut lab = LabOptions::new(prefix.clone(), pktpath_bin());
    lab.force_clean = true;
    lab.timing.monitor_start = Duration::from_millis(400);
    lab.timing.settle = Duration::from_millis(300);
    let mut judge = LabJudge {
        lab,
        sim: SimOptions::default(),
    };
    let opts = FuzzOptions {
        seed,
        start: 0,
        cases,
        keep: keep.clone(),
        minimize_budget: 4,
        record_all: false,
    };
    let summary = fuzz(&opts, &mut judge, &mut |r| eprintln!("{}", case_line(r)));
    eprintln!("{}", summary_text(&summary));
    eprintln!("{}", serde_json::to_string(&summary).unwrap());

    assert!(!summary.interrupted);
    assert_eq!(summary.cases, cases);
    assert!(
        summary.errors.is_empty(),
        "worlds the lab could not build or probe: {:#?}",
        summary.errors
    );
    assert_eq!(
        summary.agree + summary.disagreements.len() as u64,
        cases,
        "every case agrees or disagrees"
    );
    assert!(
        namespaces_with(&prefix).is_empty(),
        "namespaces left: {:?}",
        namespaces_with(&prefix)
    );
    assert!(
        !PathBuf::from("/run/pktpath-lab").join(&prefix).exists(),
        "the lab's state folder was left"
    );
    // Each disagreement is a snapshot with the kernel's records.
    for d in &summary.disagreements {
        let dir = PathBuf::from(d.dir.as_ref().expect("written"));
        let w = load_world(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let p = w
            .probes
            .iter()
            .find(|p| p.name == d.probe)
            .expect("the disagreeing probe is in the minimal world");
        if !d.kernel.starts_with("other") {
            assert_eq!(p.expect.map(|o| o.as_str()), Some(d.kernel.as_str()));
        }
        assert!(dir.join(p.trace.as_ref().expect("a trace path")).is_file());
        assert!(dir.join("fuzz-report.txt").is_file());
    }
    let _ = std::fs::remove_dir_all(&keep);
}
