//! The IPv4 stack, split as the kernel splits it: netfilter hook traversal
//! ([`hooks`]), routing calls ([`route`]), receive/forward/output paths ([`ip`]),
//! bridging with br_netfilter ([`bridge`]), ICMP errors and REJECT ([`icmp`]).

pub mod bridge;
pub mod hooks;
pub mod icmp;
pub mod ip;
pub mod route;
