//! Time parsing (and printing) of a large iptables-save file:
//! `cargo run --release -p pktpath-rules --example parse_bench -- FILE`.
//! Reports wall time and, because the machine may be shared, the CPU time the thread
//! actually got (from /proc/thread-self/schedstat).

use std::time::Instant;

/// Nanoseconds this thread has run on a CPU (Linux), if available.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: parse_bench FILE");
    let text = std::fs::read_to_string(&path).expect("readable file");
    let mut best_wall = f64::MAX;
    let mut best_cpu = f64::MAX;
    let mut rules = 0;
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    for _ in 0..runs {
        let c0 = cpu_ns();
        let t = Instant::now();
        let rs = pktpath_rules::parse_save(&text, &path).unwrap_or_else(|e| panic!("{e}"));
        best_wall = best_wall.min(t.elapsed().as_secs_f64() * 1000.0);
        if let (Some(a), Some(b)) = (c0, cpu_ns()) {
            best_cpu = best_cpu.min((b - a) as f64 / 1e6);
            eprintln!("  parse: {:.1} ms CPU", (b - a) as f64 / 1e6);
        }
        rules = rs
            .tables
            .iter()
            .flat_map(|t| &t.chains)
            .map(|c| c.rules.len())
            .sum::<usize>();
        drop(rs);
    }
    let rs = pktpath_rules::parse_save(&text, &path).unwrap();
    let t = Instant::now();
    let out = pktpath_rules::print_ruleset(&rs);
    let print = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "{rules} rules: parse {best_wall:.1} ms wall, {best_cpu:.1} ms CPU (best of 5); print {print:.1} ms ({} bytes)",
        out.len()
    );
}
