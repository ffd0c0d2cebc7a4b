//! `pktpath demo`: seed 000's story on worlds built into the binary, recorded on a real
//! kernel with Docker 20.10. A REJECT in DOCKER-USER stops outside clients but not
//! `curl localhost:11211`: docker-proxy answers on localhost and opens its own
//! connection to the container, which leaves through OUTPUT and never meets FORWARD.
//! Adding `iptables -I OUTPUT -d 172.17.0.2 -j REJECT` completes the block. Every
//! simulated result is printed next to what the kernel recorded.

use super::use_color;
use crate::{input, Color};
use pktpath_engine::{ProbeSpec, Sim, SimOptions};
use pktpath_report::{check::spec_of, text, xtmon};
use pktpath_rules::{parse_rule, TableName};
use pktpath_world::World;
use std::path::Path;
use std::process::ExitCode;

const BLOCK_OUTSIDE: &str =
    "-A DOCKER-USER -d 172.17.0.2/32 -j REJECT --reject-with icmp-port-unreachable";
const BLOCK_LOCAL: &str =
    "-A OUTPUT -d 172.17.0.2/32 -j REJECT --reject-with icmp-port-unreachable";

/// `iptables -I CHAIN 1 ...` on a world's namespace, in memory.
fn insert_rule(world: &mut World, ns: &str, table: TableName, rule: &str) -> Result<(), String> {
    let (chain, r) = parse_rule(rule, "<demo>", 1).map_err(|e| e.to_string())?;
    let n = world
        .namespaces
        .iter_mut()
        .find(|n| n.name == ns)
        .ok_or("no namespace")?;
    let t = n.ruleset.table_mut(table).ok_or("no table")?;
    let c = t
        .chain_mut(&chain)
        .ok_or_else(|| format!("no chain {chain}"))?;
    c.rules.insert(0, r);
    if let Some(b) = n.base_chains.as_mut() {
        b.insert((table, chain));
    }
    Ok(())
}

struct Row {
    name: String,
    client: String,
    outcome: &'static str,
    says: String,
}

fn run_probes(world: &World) -> Result<Vec<Row>, String> {
    let mut sim = Sim::new(world, SimOptions::default())?;
    let mut rows = Vec::new();
    for p in &world.probes {
        let mut spec: ProbeSpec = spec_of(p);
        spec.trace_ns = None;
        let run = sim.probe(&spec).map_err(|e| e.to_string())?;
        rows.push(Row {
            name: p.name.clone(),
            client: format!("{} → {}:{}", p.from, p.dst, p.dport.unwrap_or(0)),
            outcome: run.outcome.as_str(),
            says: run.client_says,
        });
    }
    Ok(rows)
}

fn table(rows: &[Row], recorded: &World, out: &mut String) -> (usize, usize) {
    let mut agree = 0;
    let mut n = 0;
    out.push_str(&format!(
        "    {:34} {:22} {:22} {}\n",
        "client", "simulated", "kernel recorded", "curl says (simulated)"
    ));
    for r in rows {
        let rec = recorded
            .probes
            .iter()
            .find(|p| p.name == r.name)
            .and_then(|p| p.expect)
            .map(|o| o.as_str());
        let mark = match rec {
            Some(k) if k == r.outcome => {
                agree += 1;
                n += 1;
                "✓"
            }
            Some(_) => {
                n += 1;
                "✗"
            }
            None => " ",
        };
        out.push_str(&format!(
            "    {:34} {:22} {:20} {} {}\n",
            r.client,
            r.outcome,
            rec.unwrap_or("-"),
            mark,
            r.says
        ));
    }
    (agree, n)
}

pub fn run(color: Color, list: bool) -> Result<ExitCode, String> {
    if list {
        for n in input::builtin_names() {
            println!("builtin:{n}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let color = use_color(color);
    let base = input::builtin("docker-memcached")?;
    let rec_a = input::builtin("docker-memcached-circuit-breaker")?;
    let rec_b = input::builtin("docker-memcached-circuit-breaker-output")?;
    let mut out = String::new();
    out.push_str(
        "pktpath demo: \"circuit-breaking\" a Docker service with iptables (seed 000)\n\n",
    );
    out.push_str("World (captured from Linux 6.18 + Docker 20.10): host `dh` 10.120.0.1 runs memcached in a\n");
    out.push_str("container 172.17.0.2, published with `docker run -p 11211:11211`; `ext` 10.120.0.2 is an\n");
    out.push_str("outside client. Docker's userland proxy (docker-proxy) listens on 0.0.0.0:11211 in dh.\n\n");

    // Step 1: the DOCKER-USER rule, applied in memory to the plain world.
    let mut a = base.clone();
    insert_rule(&mut a, "dh", TableName::Filter, BLOCK_OUTSIDE)?;
    a.probes = rec_a.probes.clone();
    out.push_str("1. The operator blocks the container the documented way:\n");
    out.push_str("     iptables -I DOCKER-USER -d 172.17.0.2 -j REJECT\n\n");
    let rows_a = run_probes(&a)?;
    let (ag1, n1) = table(&rows_a, &rec_a, &mut out);
    out.push_str("\n   Outside clients are refused — but `curl localhost:11211` on the host still connects.\n\n");

    // Step 2: why.
    out.push_str(
        "2. Why: follow `curl 127.0.0.1:11211` on the host (simulated, namespace dh):\n\n",
    );
    let mut sim = Sim::new(&a, SimOptions::default())?;
    let p = a
        .probes
        .iter()
        .find(|p| p.name == "host-to-localhost-11211")
        .ok_or("probe missing")?;
    let mut spec = spec_of(p);
    spec.trace_ns = None;
    let run = sim.probe(&spec).map_err(|e| e.to_string())?;
    let dh = sim.ns_by_name("dh").ok_or("no dh")?;
    let t = text::render(&sim, &run, Some(dh), text::TextOptions { color });
    // The story is in two packets: curl's SYN to localhost, and the proxy's own SYN to the
    // container, up to where it leaves dh. Lines about the handshake in between are elided.
    let lines: Vec<&str> = t.lines().collect();
    let proxy = lines
        .iter()
        .position(|l| l.contains("docker-proxy accepted"))
        .unwrap_or(0);
    let first_syn_end = lines
        .iter()
        .position(|l| l.contains("to listening socket"))
        .unwrap_or(0);
    let leaves = lines
        .iter()
        .skip(proxy)
        .position(|l| l.contains("⇒ memcached:"))
        .map(|i| i + proxy)
        .unwrap_or(lines.len().saturating_sub(1));
    for (i, l) in lines.iter().enumerate() {
        if i <= first_syn_end || (proxy..=leaves).contains(&i) {
            out.push_str("   ");
            out.push_str(l);
            out.push('\n');
        } else if i == first_syn_end + 1 {
            out.push_str("   ... (handshake with docker-proxy, curl's request) ...\n");
        }
    }
    out.push('\n');
    out.push_str("   - nat OUTPUT jumps to DOCKER only for `! -d 127.0.0.0/8`: 127.0.0.1 is not DNATed, so the\n");
    out.push_str("     SYN loops back to docker-proxy, listening on 0.0.0.0:11211.\n");
    out.push_str("   - docker-proxy accepts and opens its own connection 172.17.0.1 → 172.17.0.2:11211. A local\n");
    out.push_str("     process's packet goes OUTPUT → POSTROUTING, never FORWARD, and DOCKER-USER is called only\n");
    out.push_str("     from FORWARD. The REJECT never sees it.\n\n");

    // Step 3: the OUTPUT rule.
    let mut b = a.clone();
    insert_rule(&mut b, "dh", TableName::Filter, BLOCK_LOCAL)?;
    b.probes = rec_b.probes.clone();
    out.push_str("3. The rule that completes the block filters what the host itself sends to the container:\n");
    out.push_str("     iptables -I OUTPUT -d 172.17.0.2 -j REJECT\n\n");
    let rows_b = run_probes(&b)?;
    let (ag2, n2) = table(&rows_b, &rec_b, &mut out);
    out.push_str("\n   Now localhost gets `Empty reply from server` (reset_after_connect): the handshake with\n");
    out.push_str("   docker-proxy succeeds, then its onward connection is rejected in OUTPUT and it closes.\n\n");

    // Step 4: proof by trace.
    out.push_str("4. Proof: the first packet of `ext → 10.120.0.1:11211`, as `xtables-monitor --trace` shows it in\n");
    out.push_str("   dh — simulated, then recorded on the kernel:\n\n");
    let p = rec_a
        .probes
        .iter()
        .find(|p| p.name == "ext-to-hostip-11211")
        .ok_or("probe missing")?;
    let mut sim = Sim::new(&a, SimOptions::default())?;
    let run = sim.probe(&spec_of(p)).map_err(|e| e.to_string())?;
    let ours = xtmon::lines(&sim, &run, dh);
    let kernel_text = p
        .trace
        .as_deref()
        .and_then(|t| input::builtin_file("docker-memcached-circuit-breaker", Path::new(t)))
        .ok_or("recorded trace missing")?;
    let kernel = pktpath_trace::parse(&kernel_text, "recorded").map_err(|e| e.to_string())?;
    let (fo, fk) = (
        pktpath_trace::first_packet(&ours),
        pktpath_trace::first_packet(&kernel),
    );
    out.push_str("   simulated:\n");
    for s in &fo {
        out.push_str(&format!("     {s}\n"));
    }
    out.push_str("   kernel:\n");
    for s in &fk {
        out.push_str(&format!("     {s}\n"));
    }
    let d = pktpath_trace::compare(&fk, &fo);
    out.push_str(&format!("   → {}\n\n", d));
    out.push_str(&format!(
        "Simulated outcomes equal the kernel's for {}/{} clients before and {}/{} after the fix.\n",
        ag1, n1, ag2, n2
    ));
    print!("{out}");
    Ok(if ag1 == n1 && ag2 == n2 && d.is_match() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
