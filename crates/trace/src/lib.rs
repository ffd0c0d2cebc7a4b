//! pktpath-trace: the `xtables-monitor --trace` format (iptables 1.8.9, nf_tables backend).
//!
//! * [`model`]: one typed [`XtLine`] per printed line (`PACKET:` and ` TRACE:` lines);
//! * [`parse()`]: text to lines, strict, with file:line:col errors ([`TraceParseError`]);
//! * [`render()`]: lines to text, byte for byte as xtables-monitor prints them;
//! * [`first_packet()`]: the steps of an exchange's first packet (definition in
//!   [`first_packet`](mod@first_packet));
//! * [`compare()`]: step-by-step comparison with a readable first divergence.
//!
//! Ground truth: the `trace.txt` files under `shared/fixtures/*/probes/*/`, captured on
//! Linux 6.18, and `iptables/xtables-monitor.c`.

pub mod compare;
pub mod error;
pub mod first_packet;
pub mod model;
pub mod parse;
pub mod render;

pub use compare::{compare, Divergence, TraceDiff};
pub use error::TraceParseError;
pub use first_packet::{first_packet, first_packet_lines, L4Shape, PacketIdentity, TraceStep};
pub use model::*;
pub use parse::parse;
pub use render::{render, render_into};
