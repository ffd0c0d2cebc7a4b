//! pktpath-report: turning a simulation's [`Event`](pktpath_engine::Event) stream into
//! what people and tools read: `xtables-monitor --trace` lines ([`xtmon`]), a text
//! trace for people ([`text`]), and JSON ([`json`]).

pub mod check;
pub mod conntrack_cmp;
pub mod counters;
pub mod json;
pub mod text;
pub mod xtmon;
