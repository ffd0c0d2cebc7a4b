//! Time parsing (and printing) of a large iptables-save file:
//! `cargo run --release -p pktpath-rules --example parse_bench -- FILE`.

use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("usage: parse_bench FILE");
    let text = std::fs::read_to_string(&path).expect("readable file");
    let mut best = f64::MAX;
    let mut rules = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let rs = pktpath_rules::parse_save(&text, &path).unwrap_or_else(|e| panic!("{e}"));
        best = best.min(t.elapsed().as_secs_f64());
        rules = rs
            .tables
            .iter()
            .flat_map(|t| &t.chains)
            .map(|c| c.rules.len())
            .sum::<usize>();
    }
    let rs = pktpath_rules::parse_save(&text, &path).unwrap();
    let t = Instant::now();
    let out = pktpath_rules::print_ruleset(&rs);
    let print = t.elapsed().as_secs_f64();
    println!(
        "{rules} rules: parse {:.1} ms (best of 5), print {:.1} ms ({} bytes)",
        best * 1000.0,
        print * 1000.0,
        out.len()
    );
}
