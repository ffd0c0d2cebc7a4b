//! `pktpath probe`: one simulated exchange, printed as text, JSON or xtables-monitor.

use crate::{input, Color, CounterArgs, Format, Proto};
use pktpath_engine::{ProbeSpec, Sim, SimOptions};
use pktpath_report::{json, text, xtmon};
use pktpath_world::{L4Proto, Role};
use std::net::Ipv4Addr;
use std::process::ExitCode;

pub struct Args {
    pub world: String,
    pub from: String,
    pub proto: Proto,
    pub dst: String,
    pub sport: Option<u16>,
    pub format: Format,
    pub trace_ns: Option<String>,
    pub seed: u64,
    pub color: Color,
    pub counters: CounterArgs,
}

/// `IP:PORT`, or `IP` for icmp.
pub fn parse_dst(s: &str, proto: L4Proto) -> Result<(Ipv4Addr, Option<u16>), String> {
    let bad = || {
        format!(
            "--dst `{s}`: expected IP:PORT (for example 10.120.0.1:11211){}",
            if proto == L4Proto::Icmp { " or IP" } else { "" }
        )
    };
    match s.rsplit_once(':') {
        Some((ip, port)) => {
            let ip: Ipv4Addr = ip.parse().map_err(|_| bad())?;
            let port: u16 = port.parse().map_err(|_| bad())?;
            Ok((ip, Some(port)))
        }
        None if proto == L4Proto::Icmp => Ok((s.parse().map_err(|_| bad())?, None)),
        None => Err(bad()),
    }
}

pub fn run(a: Args) -> Result<ExitCode, String> {
    let world = input::load(&a.world)?;
    let proto = match a.proto {
        Proto::Tcp => L4Proto::Tcp,
        Proto::Udp => L4Proto::Udp,
        Proto::Icmp => L4Proto::Icmp,
    };
    let (dst, dport) = parse_dst(&a.dst, proto)?;
    if world.namespace(&a.from).is_none() {
        return Err(format!(
            "--from {}: no such namespace (the world has: {})",
            a.from,
            world
                .namespaces
                .iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let trace_ns = match (&a.trace_ns, a.format) {
        (Some(n), _) => Some(n.clone()),
        (None, Format::XtablesMonitor) => Some(
            world
                .namespaces
                .iter()
                .find(|n| n.role == Role::Host)
                .map(|n| n.name.clone())
                .ok_or(
                    "--format xtables-monitor needs --trace-ns (the world has no host namespace)",
                )?,
        ),
        (None, _) => None,
    };
    let mut sim = Sim::new(
        &world,
        SimOptions {
            seed: a.seed,
            record: true,
        },
    )?;
    let spec = ProbeSpec {
        from: a.from.clone(),
        proto,
        dst,
        dport,
        sport: a.sport,
        trace_ns: if a.format == Format::XtablesMonitor {
            trace_ns.clone()
        } else {
            None
        },
        keep_conntrack: false,
    };
    let counters_ns = super::counters::namespace(&world, &sim, &a.counters)?;
    let run = sim.probe(&spec).map_err(|e| e.to_string())?;
    match a.format {
        Format::XtablesMonitor => {
            let ns = sim
                .ns_by_name(trace_ns.as_deref().unwrap_or_default())
                .ok_or("--trace-ns: no such namespace")?;
            print!("{}", pktpath_trace::render(&xtmon::lines(&sim, &run, ns)));
        }
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json::render(&sim, &run)).unwrap_or_default()
        ),
        Format::Text => {
            let only = match &trace_ns {
                Some(n) => Some(
                    sim.ns_by_name(n)
                        .ok_or_else(|| format!("--trace-ns {n}: no such namespace"))?,
                ),
                None => None,
            };
            let color = super::use_color(a.color);
            print!(
                "{}",
                text::render(&sim, &run, only, text::TextOptions { color })
            );
            println!();
            if run.uncertain {
                println!("note: some rule could not be evaluated and was treated as matching; the outcome may differ");
            }
            println!(
                "outcome: {}  ({} {} from {} to {})",
                run.outcome.as_str(),
                run.client_says,
                proto.as_str(),
                a.from,
                a.dst
            );
        }
    }
    if let Some((ns, world_ns)) = counters_ns {
        let mut c = pktpath_report::counters::RuleCounters::new(ns);
        c.add_run(&sim, &run);
        super::counters::print(&c, &world.namespaces[world_ns].ruleset, &a.counters);
    }
    Ok(ExitCode::SUCCESS)
}
