//! What the engine reports as it moves packets: every base chain entered, every rule
//! that matched and its verdict, policies, conntrack and NAT changes, routing decisions,
//! deliveries, transmissions and drops. Renderers (text, JSON, xtables-monitor) read
//! this stream; chain and rule references are indices into the namespace's compiled
//! ruleset so recording costs no allocation per rule.

use crate::conntrack::Tuple;
use crate::packet::{CtInfo, Packet};
use crate::topology::{IfId, NsId};
use pktpath_rules::TableName;
use serde::Serialize;
use std::net::Ipv4Addr;

/// Netfilter hooks (`enum nf_inet_hooks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Hook {
    Prerouting,
    Input,
    Forward,
    Output,
    Postrouting,
}

impl Hook {
    pub fn chain_name(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
        }
    }
}

/// A verdict as nf_tables traces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Drop,
    Continue,
    /// Jump to chain (index in the table).
    Jump(u32),
    Goto(u32),
    Return,
}

/// Why a packet died outside netfilter's chains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// Forwarding needed but disabled on the input device.
    ForwardingDisabled,
    NoRoute,
    Blackhole,
    MartianSource,
    MartianDestination,
    /// A bridge will not send a frame back out of the port it came in on without hairpin.
    BridgeNoHairpin,
    /// Nobody on the segment answers ARP for the next hop.
    NeighbourUnreachable(Ipv4Addr),
    /// The interface is down.
    LinkDown,
    TtlExceeded,
    /// conntrack said INVALID and a later step refused it, or a confirm clash.
    ConntrackClash,
    /// The socket layer had no use for it (e.g. a stray segment).
    NoSocket,
    /// Re-routing after NAT failed (e.g. a 127.0.0.0/8 source toward a non-loopback device).
    RerouteFailed,
    /// The packet was dropped by a rule or policy (see the preceding chain events).
    Netfilter,
}

/// Where routing sent a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteDecision {
    Local,
    Forward {
        dev: IfId,
        via: Option<Ipv4Addr>,
    },
    Output {
        dev: IfId,
        via: Option<Ipv4Addr>,
        src: Ipv4Addr,
    },
    Error(String),
}

#[derive(Debug, Clone)]
pub enum Event {
    /// A packet enters a base chain (the hook's table).
    Chain {
        ns: NsId,
        hook: Hook,
        table: TableName,
        chain: u32,
        pkt: Box<Packet>,
        oif: Option<IfId>,
    },
    /// A rule matched (nf_tables traces only matching rules).
    Rule {
        ns: NsId,
        table: TableName,
        chain: u32,
        rule: u32,
        verdict: Verdict,
        traced: bool,
        /// The packet's length (what the rule's byte counter adds).
        len: u16,
    },
    /// The base chain's policy applied.
    Policy {
        ns: NsId,
        table: TableName,
        chain: u32,
        verdict: Verdict,
        traced: bool,
        len: u16,
    },
    Conntrack {
        ns: NsId,
        hook: Hook,
        info: CtInfo,
        orig: Option<Tuple>,
        new: bool,
    },
    Nat {
        ns: NsId,
        hook: Hook,
        before: (Ipv4Addr, Ipv4Addr, u16, u16),
        after: (Ipv4Addr, Ipv4Addr, u16, u16),
        first: bool,
    },
    Route {
        ns: NsId,
        decision: RouteDecision,
    },
    /// A frame crosses from one interface to another (veth, bridge port, loopback).
    Xmit {
        from: IfId,
        to: IfId,
        pkt: Box<Packet>,
    },
    /// The bridge forwards a frame between ports.
    Bridged {
        ns: NsId,
        bridge: IfId,
        in_port: IfId,
        out_port: IfId,
    },
    /// Delivered to a local socket (or answered by the stack).
    Deliver {
        ns: NsId,
        what: String,
        pkt: Box<Packet>,
    },
    /// The stack or a process sent something new.
    Send {
        ns: NsId,
        what: String,
        pkt: Box<Packet>,
    },
    Drop {
        ns: NsId,
        reason: DropReason,
        pkt: Box<Packet>,
    },
    Log {
        ns: NsId,
        text: String,
    },
    /// A note for people (proxy accepted, client gave up, ...).
    Note {
        ns: NsId,
        text: String,
    },
    /// Simulated time advanced (ms).
    Time(u64),
}
