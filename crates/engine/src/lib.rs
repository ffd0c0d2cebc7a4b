//! pktpath-engine: the netfilter engine.
//!
//! A [`Sim`] holds a world's kernel state (per namespace: FIB, compiled ruleset,
//! conntrack) and moves packets through it as Linux does; [`Sim::probe`] runs one
//! client exchange and reports the outcome and the [`Event`]s on the way.
//! See ARCHITECTURE.md for the map.

pub mod conntrack;
pub mod endpoint;
pub mod event;
pub mod fib;
pub mod inetpeer;
pub mod nat;
pub mod netns;
pub mod packet;
pub mod probe;
pub mod ruleset;
pub mod sim;
pub mod stack;
pub mod topology;

pub use event::{DropReason, Event, Hook, RouteDecision, Verdict};
pub use probe::{trace_rules, ProbeError, ProbeRun, ProbeSpec};
pub use sim::{Sim, SimOptions};
