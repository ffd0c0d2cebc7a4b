//! `pktpath lab ...`: worlds in real namespaces (see crates/lab): `up`, `down`, `probe`,
//! `verify`, and the hidden `udp-client` the lab runs inside its namespaces.

use crate::Proto;
use clap::Subcommand;
use pktpath_engine::SimOptions;
use pktpath_lab::{Lab, LabOptions, ProbeRequest, Snapshot, DEFAULT_PREFIX};
use pktpath_world::L4Proto;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum LabCmd {
    /// Build WORLD in network namespaces named PREFIX+name (veths, bridges, addresses,
    /// routes, rules, sysctls, iptables) with stand-ins for its servers and proxies;
    /// it stays up until `lab down` (needs root).
    Up {
        /// A world snapshot folder.
        world: String,
        /// Prefix of the namespace names (and name of the lab's state folder).
        #[arg(long, default_value = DEFAULT_PREFIX)]
        prefix: String,
        /// Remove a lab left with the same prefix (its processes and namespaces) first.
        #[arg(long)]
        force_clean: bool,
        /// Print each command.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Remove a lab: stop the processes it started and delete its namespaces (needs root).
    Down {
        world: String,
        #[arg(long, default_value = DEFAULT_PREFIX)]
        prefix: String,
        /// Also delete namespaces PREFIX+name of this world that no lab state records.
        #[arg(long)]
        force_clean: bool,
    },
    /// One real probe in a lab that is up: the client's outcome, the kernel's
    /// `xtables-monitor --trace` and `conntrack -L` (needs root).
    Probe {
        world: String,
        #[arg(long, default_value = DEFAULT_PREFIX)]
        prefix: String,
        /// The namespace the client runs in (world name, without the prefix).
        #[arg(long)]
        from: String,
        #[arg(long, value_enum, default_value_t = Proto::Tcp)]
        proto: Proto,
        /// Destination `IP:PORT` (just `IP` for icmp).
        #[arg(long)]
        dst: String,
        /// The client's local port (default: 41000, 41001, ... per lab).
        #[arg(long)]
        sport: Option<u16>,
        /// Namespace to trace (default: the world's host namespace).
        #[arg(long)]
        trace_ns: Option<String>,
        /// Do not flush the trace namespace's conntrack table first.
        #[arg(long)]
        keep_conntrack: bool,
    },
    /// Bring WORLD up, run every [[probe]] for real and in simulation, compare outcomes,
    /// first-packet traces and conntrack, bring it down. Exit 1 on any disagreement
    /// (needs root).
    Verify {
        world: String,
        #[arg(long, default_value = DEFAULT_PREFIX)]
        prefix: String,
        /// Print `{"probes":[{"name":...,"expect":...,"kernel":...,"simulated":...,"trace_match":...}],...}`.
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Remove a lab left with the same prefix first.
        #[arg(long)]
        force_clean: bool,
        #[arg(long, short)]
        verbose: bool,
    },
    /// Random worlds and probes, each run on the kernel and in simulation; disagreements
    /// are written as minimal world snapshots.
    Fuzz(super::lab_fuzz::FuzzArgs),
    /// The lab's UDP client (one datagram from a fixed port, IP_RECVERR on); prints a log
    /// ending in `result: <outcome>`.
    #[command(hide = true)]
    UdpClient {
        #[arg(long)]
        sport: u16,
        #[arg(long, default_value_t = 3.0)]
        timeout: f64,
        dst: Ipv4Addr,
        dport: u16,
    },
}

fn opts(prefix: String, force_clean: bool, verbose: bool) -> Result<LabOptions, String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the pktpath binary: {e}"))?;
    let mut o = LabOptions::new(prefix, exe);
    o.force_clean = force_clean;
    o.verbose = verbose;
    Ok(o)
}

fn load(world: &str) -> Result<Snapshot, String> {
    if world.starts_with("builtin:") {
        return Err(format!(
            "{world}: the lab builds worlds from a snapshot folder; give its path"
        ));
    }
    Snapshot::load(Path::new(world)).map_err(|e| e.to_string())
}

fn l4(p: Proto) -> L4Proto {
    match p {
        Proto::Tcp => L4Proto::Tcp,
        Proto::Udp => L4Proto::Udp,
        Proto::Icmp => L4Proto::Icmp,
    }
}

pub fn run(cmd: LabCmd) -> Result<ExitCode, String> {
    if !matches!(cmd, LabCmd::UdpClient { .. }) {
        pktpath_lab::install_signal_handlers();
    }
    match cmd {
        LabCmd::Fuzz(a) => super::lab_fuzz::run(a),
        LabCmd::Up {
            world,
            prefix,
            force_clean,
            verbose,
        } => {
            let snap = load(&world)?;
            let lab =
                Lab::up(&snap, opts(prefix, force_clean, verbose)?).map_err(|e| e.to_string())?;
            for w in &lab.warnings {
                eprintln!("warning: {w}");
            }
            let st = lab.state();
            println!(
                "up: namespaces {}; {} processes; state in {}",
                st.namespaces.join(" "),
                st.processes.len(),
                lab.state_dir().display()
            );
            lab.leave_up();
            Ok(ExitCode::SUCCESS)
        }
        LabCmd::Down {
            world,
            prefix,
            force_clean,
        } => {
            let snap = load(&world)?;
            let names: Vec<String> = snap
                .world
                .namespaces
                .iter()
                .map(|n| n.name.clone())
                .collect();
            let rep = pktpath_lab::down(&opts(prefix, force_clean, false)?, &names)
                .map_err(|e| e.to_string())?;
            println!(
                "down: removed namespaces {}; stopped {} processes",
                if rep.namespaces.is_empty() {
                    "(none)".to_string()
                } else {
                    rep.namespaces.join(" ")
                },
                rep.processes
            );
            Ok(ExitCode::SUCCESS)
        }
        LabCmd::Probe {
            world,
            prefix,
            from,
            proto,
            dst,
            sport,
            trace_ns,
            keep_conntrack,
        } => {
            let snap = load(&world)?;
            let proto = l4(proto);
            let (dst, dport) = super::probe::parse_dst(&dst, proto)?;
            let trace_ns = match trace_ns {
                Some(t) => t,
                None => snap
                    .world
                    .namespaces
                    .iter()
                    .find(|n| n.role == pktpath_world::Role::Host)
                    .map(|n| n.name.clone())
                    .ok_or("the world has no host namespace: name one with --trace-ns")?,
            };
            let mut lab =
                Lab::attach(&snap, opts(prefix, false, false)?).map_err(|e| e.to_string())?;
            let k = lab
                .probe(&ProbeRequest {
                    from,
                    proto,
                    dst,
                    dport,
                    sport,
                    trace_ns: trace_ns.clone(),
                    keep_conntrack,
                })
                .map_err(|e| e.to_string())?;
            let tns = lab.ns(&trace_ns);
            println!("outcome: {}", k.outcome.text);
            for m in &k.outcome.messages {
                println!("  {m}");
            }
            println!("--- client\n{}", k.client.render().trim_end());
            println!(
                "--- xtables-monitor --trace -4 ({tns})\n{}",
                k.trace.trim_end()
            );
            println!("--- conntrack -L ({tns})\n{}", k.conntrack.trim_end());
            Ok(ExitCode::SUCCESS)
        }
        LabCmd::Verify {
            world,
            prefix,
            json,
            seed,
            force_clean,
            verbose,
        } => {
            let snap = load(&world)?;
            let rep = pktpath_lab::verify(
                &snap,
                opts(prefix, force_clean, verbose)?,
                SimOptions { seed, record: true },
            )
            .map_err(|e| e.to_string())?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&rep).map_err(|e| e.to_string())?
                );
            } else {
                print!("{}", pktpath_lab::render_text(&rep));
            }
            Ok(if rep.all_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        LabCmd::UdpClient {
            sport,
            timeout,
            dst,
            dport,
        } => {
            let (log, connected) = pktpath_lab::udp_client::run(sport, timeout, dst, dport);
            println!("{log}");
            Ok(if connected {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
