//! pktpath-rules: the iptables rule language.
//!
//! [`model`] is the typed model of a ruleset; the parser turns `iptables-save` text into it
//! with file:line:col errors, and the printer writes it back exactly as `iptables-save` does.

pub mod model;

pub use model::*;
