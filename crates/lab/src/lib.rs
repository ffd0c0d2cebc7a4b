//! pktpath-lab: worlds in real namespaces, judged by the kernel.
//!
//! A world snapshot is rebuilt on the machine's own kernel — network namespaces named
//! `prefix + name`, veth pairs, bridges, addresses, routes, policy rules, sysctls,
//! iptables rules, and stand-ins for the listening processes (`pktpath serve`,
//! `pktpath proxy`) — then probed for real the way `tools/capture/probe.py` probes
//! (curl / the UDP client / ping, `xtables-monitor --trace`, `conntrack -L`), and the
//! simulation is compared with what the kernel did.
//!
//! * [`Lab`]: [`Lab::up`], [`Lab::probe`], [`Lab::down`]; [`down`] for a lab brought up
//!   by another process (its state is in `/run/pktpath-lab/<prefix>/`).
//! * [`verify()`]: up, every `[[probe]]` for real, down, and the comparison.
//! * [`serve`] and [`udp_client`]: the processes the lab runs inside its namespaces.
//!
//! Nothing here touches the root namespace's rules, routes, addresses or sysctls; the
//! only machine-wide action is `modprobe br_netfilter` when a world needs its sysctls.

pub mod classify;
pub mod error;
pub mod fuzz;
pub mod iptables;
mod lab;
pub mod netns;
pub mod probe;
pub mod routing;
pub mod serve;
pub mod snapshot;
pub mod standins;
pub mod state;
pub mod sys;
pub mod sysctl;
pub mod udp_client;
pub mod verify;

pub use error::LabError;
pub use lab::{down, DownReport, Lab, LabOptions, Timing, DEFAULT_PREFIX};
pub use probe::{KernelProbe, ProbeRequest};
pub use snapshot::Snapshot;
pub use sys::install_signal_handlers;
pub use verify::{render_text, verify, ProbeVerdict, VerifyReport};
