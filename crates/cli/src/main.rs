//! The `pktpath` command line: `probe`, `check`, `demo`.

mod cmd;
mod input;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "pktpath",
    version,
    about = "A faithful twin of Linux container networking: simulate packets through netfilter, routing, bridges and Docker/kube-proxy rules, exactly as the kernel would."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// For people: every hook, table, chain and rule, NAT, conntrack, routing.
    Text,
    /// Machine-readable: the outcome and every event.
    Json,
    /// Exactly what `xtables-monitor --trace` prints in the trace namespace.
    XtablesMonitor,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
}

/// `--counters NS [--counters-format F]`, shared by `probe` and `check`.
#[derive(clap::Args, Clone)]
pub struct CounterArgs {
    /// Afterwards, print namespace NS's rules with the packet and byte counters the
    /// simulated packets added (what `iptables -Z` then the same traffic would show).
    #[arg(long, value_name = "NS")]
    pub counters: Option<String>,
    /// How to print the counters: `save` (iptables-save -c), `S` (iptables -S -v per
    /// table) or `L` (iptables -nvL --line-numbers per table).
    #[arg(long, value_enum, default_value_t = CountersAs::L)]
    pub counters_format: CountersAs,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum CountersAs {
    #[value(name = "save")]
    Save,
    #[value(name = "S")]
    S,
    #[value(name = "L")]
    L,
}

#[derive(Subcommand)]
enum Cmd {
    /// Simulate one client exchange (curl, a UDP datagram, or ping) and show its path.
    Probe {
        /// A world snapshot folder, or `builtin:NAME` (see `pktpath demo --list`).
        world: String,
        /// The namespace the client runs in.
        #[arg(long)]
        from: String,
        #[arg(long, value_enum, default_value_t = Proto::Tcp)]
        proto: Proto,
        /// Destination `IP:PORT` (just `IP` for icmp).
        #[arg(long)]
        dst: String,
        /// The client's source port (default: an ephemeral port).
        #[arg(long)]
        sport: Option<u16>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Namespace whose trace to show (xtables-monitor format: required unless the
        /// world has a host namespace; text format: only this namespace).
        #[arg(long)]
        trace_ns: Option<String>,
        /// Seed for random choices (statistic, NAT ports, ephemeral ports).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
        #[command(flatten)]
        counters: CounterArgs,
    },
    /// Run every [[probe]] of a world and compare with the recorded outcome and trace.
    Check {
        world: String,
        /// Print `{"probes":[...],"passed":N,"failed":M}`.
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Counters accumulated over all the world's probes, run in order.
        #[command(flatten)]
        counters: CounterArgs,
    },
    /// Tell seed 000's story on worlds built into the binary: why a DOCKER-USER REJECT
    /// does not block `curl localhost`, and the OUTPUT rule that does.
    Demo {
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
        /// List the built-in worlds and exit.
        #[arg(long)]
        list: bool,
    },
    /// Build a world in real network namespaces, probe it for real, and let the kernel
    /// judge the simulation (needs root).
    #[command(subcommand)]
    Lab(cmd::lab::LabCmd),
    /// pktpath's userland proxy; accepts docker-proxy's arguments so it can stand in for it.
    Proxy(cmd::proxy::ProxyArgs),
    /// A small server for lab worlds: answers HTTP on TCP, echoes on UDP.
    Serve(cmd::serve::ServeArgs),
    /// The rule language: validate like `iptables-restore --test`, convert between formats.
    #[command(subcommand)]
    Rules(cmd::rules::RulesCmd),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.cmd {
        Cmd::Probe {
            world,
            from,
            proto,
            dst,
            sport,
            format,
            trace_ns,
            seed,
            color,
            counters,
        } => cmd::probe::run(cmd::probe::Args {
            world,
            from,
            proto,
            dst,
            sport,
            format,
            trace_ns,
            seed,
            color,
            counters,
        }),
        Cmd::Check {
            world,
            json,
            seed,
            counters,
        } => cmd::check::run(&world, json, seed, &counters),
        Cmd::Demo { color, list } => cmd::demo::run(color, list),
        Cmd::Lab(c) => cmd::lab::run(c),
        Cmd::Proxy(a) => cmd::proxy::run(a),
        Cmd::Serve(a) => cmd::serve::run(a),
        Cmd::Rules(c) => cmd::rules::run(c),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
