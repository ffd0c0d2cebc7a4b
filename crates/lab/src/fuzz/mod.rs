//! `pktpath lab fuzz`: random worlds, each run on the kernel and in simulation.
//!
//! A case ([`case::generate`], reproducible from `--seed` and its index) is a world shaped
//! like the captured fixtures ([`shapes`]: Docker hosts, kube-proxy nodes, routers, plain
//! bridges) with realistic rules ([`docker`], [`kube`]) and random ones
//! ([`random_rules`]), built in code ([`build`]) and checked by loading its own snapshot,
//! plus a few random probes ([`probes`]). The [`driver`] runs each case through a
//! [`judge::Judge`] — the lab: real namespaces, real clients, `xtables-monitor --trace` —
//! and when kernel and simulation disagree, [`minimize`]s the world and writes it with the
//! kernel's outcome as `expect` and its trace under `probes/`.

pub mod build;
pub mod case;
pub mod docker;
pub mod driver;
pub mod judge;
pub mod kube;
pub mod minimize;
pub mod probes;
pub mod random_rules;
pub mod save;
pub mod shapes;

pub use case::{generate, Case};
pub use driver::{case_line, fuzz, summary_text, CaseResult, Disagreement, FuzzOptions, Summary};
pub use judge::{Judge, JudgeError, LabJudge, Run};
