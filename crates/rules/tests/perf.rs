//! Speed: the 162,667-rule kube-proxy ruleset (`gen-kube-proxy-ruleset.py 10000 5`,
//! 23.5 MB) must parse well under 150 ms in release builds (iptables-restore --test takes
//! 1.64 s). Ignored by default (timing on a shared machine is noisy); run with
//! `cargo test --release -p pktpath-rules --test perf -- --ignored`.
//! `examples/parse_bench.rs` reports wall and CPU time in detail.

mod common;

#[test]
#[ignore]
fn kube_proxy_10000_services_parses_fast() {
    let script = common::shared_dir().join("bench/gen-kube-proxy-ruleset.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .args(["10000", "5"])
        .output()
        .expect("python3 runs the generator");
    let text = String::from_utf8(out.stdout).unwrap();
    // Warm up the allocator once, then take the best of three (wall time: big files are
    // parsed on several threads). On a busy machine this is noisy, hence `#[ignore]`.
    drop(pktpath_rules::parse_save(&text, "kp").unwrap());
    let mut best = std::time::Duration::MAX;
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let rs = pktpath_rules::parse_save(&text, "kp").unwrap();
        best = best.min(t.elapsed());
        drop(rs);
    }
    eprintln!("best parse: {best:?}");
    if !cfg!(debug_assertions) {
        assert!(best.as_millis() < 150, "parse took {best:?}");
    }
}
