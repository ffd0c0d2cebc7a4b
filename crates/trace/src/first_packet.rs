//! The trace of an exchange's first packet, extracted from a whole trace.
//!
//! A probe's trace holds the lines of every packet of the exchange (SYN, SYN-ACK, ACKs,
//! ICMP errors, ...), interleaved. What a simulator can be checked against most directly is
//! the path of the first packet. This module cuts it out:
//!
//! * **Packet identity.** A packet is identified by `(IP ID, LEN, L4 shape)` of its `PACKET:`
//!   line, where the L4 shape is the set of TCP flags, "ports" (UDP-like) or nothing (ICMP
//!   and others). NAT rewrites addresses and ports and loopback reinjects the packet, but these
//!   three stay (see `shared/docs/world-snapshot.md`, "Kernel traces"). Only IPv4 `PACKET:`
//!   lines have an identity (IPv6 has no IP ID).
//! * **Attribution.** Trace ids change (a copied skb gets a new one) and are reused, so each
//!   ` TRACE:` line is attributed to the identity of the *most recent* `PACKET:` line with
//!   the same trace id. A ` TRACE:` line whose trace id has not been seen on a `PACKET:` line
//!   is attributed to no packet.
//! * **The first packet** is the identity of the first `PACKET:` line that has one and is
//!   not an ICMP error made by the kernel (no transport fields, `TOS=0xc0`: `icmp_send()`
//!   sets IPTOS_PREC_INTERNETCONTROL). An exchange starts with the client's own packet;
//!   an ICMP error before it is left over from an earlier exchange (a server still
//!   retransmitting its SYN-ACK into a REJECT, seen in `lab fuzz` cases 314 and 399 of
//!   seed 1). A trace of such errors only has no first packet.
//! * **Its trace** is every ` TRACE:` line from that first `PACKET:` line up to and
//!   including the last ` TRACE:` line attributed to the first packet. This deliberately includes the lines
//!   of packets the first packet caused synchronously: a `REJECT` rule sends its ICMP error
//!   or RST from inside the rule, so those lines come before the rule's own (`DROP`) line,
//!   which is printed when the rule returns.
//!
//! Rule handles and trace ids are not part of a [`TraceStep`]: a simulator's handles differ
//! from the kernel's, and ids are random.

use std::fmt;

use crate::model::*;

/// What identifies a packet across its `PACKET:` lines (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketIdentity {
    /// The IPv4 `ID`.
    pub ip_id: u16,
    /// The IPv4 total length `LEN`.
    pub len: u16,
    /// What the transport header shows.
    pub l4: L4Shape,
}

/// The part of the transport header that survives NAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L4Shape {
    /// TCP with these flags.
    Tcp(TcpFlags),
    /// Ports printed, no TCP flags (UDP and the like).
    Ports,
    /// No transport fields printed (ICMP and others).
    Other,
}

impl PacketLine {
    /// The packet's identity, if it has an IPv4 header.
    pub fn identity(&self) -> Option<PacketIdentity> {
        let ip = self.ipv4()?;
        let l4 = match self.l4 {
            L4Info::Tcp { flags, .. } => L4Shape::Tcp(flags),
            L4Info::Ports { .. } => L4Shape::Ports,
            L4Info::None => L4Shape::Other,
        };
        Some(PacketIdentity {
            ip_id: ip.id,
            len: ip.len,
            l4,
        })
    }
}

impl PacketLine {
    /// An ICMP error the kernel sent (`icmp_send()`): no transport fields and the
    /// internetwork-control precedence `TOS=0xc0`.
    pub fn is_kernel_icmp_error(&self) -> bool {
        matches!(self.l4, L4Info::None) && self.ipv4().is_some_and(|ip| ip.tos == 0xc0)
    }
}

/// One step of a packet through the ruleset: a ` TRACE:` line without handle and trace id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceStep {
    /// The table.
    pub table: String,
    /// The chain.
    pub chain: String,
    /// The rule as printed (`-4 -t filter -A DOCKER-USER ...`); `None` for a chain policy
    /// and for a `:return:` event.
    pub rule_text: Option<String>,
    /// The verdict: the rule's, the policy, or [`Verdict::Return`] for a `:return:` event
    /// (policies are only ever ACCEPT or DROP, so this is unambiguous).
    pub verdict: Verdict,
}

impl TraceStep {
    /// The step of one ` TRACE:` line.
    pub fn from_trace_line(t: &TraceLine) -> TraceStep {
        let (rule_text, verdict) = match &t.kind {
            TraceKind::Rule {
                verdict, rule_text, ..
            } => (Some(rule_text.clone()), verdict.clone()),
            TraceKind::Policy(v) => (None, v.clone()),
            TraceKind::Return { .. } => (None, Verdict::Return),
        };
        TraceStep {
            table: t.table.clone(),
            chain: t.chain.clone(),
            rule_text,
            verdict,
        }
    }
}

impl fmt::Display for TraceStep {
    /// Like the ` TRACE:` line without family, trace id and handle:
    /// `nat:DOCKER:rule:ACCEPT  -4 -t nat -A DOCKER ...`, `raw:PREROUTING:policy:ACCEPT`,
    /// `filter:FOO:return`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:", self.table, self.chain)?;
        match (&self.rule_text, &self.verdict) {
            (Some(rule), v) => write!(f, "rule:{v}  {rule}"),
            (None, Verdict::Return) => f.write_str("return"),
            (None, v) => write!(f, "policy:{v}"),
        }
    }
}

/// The ` TRACE:` lines of the first packet of the exchange, as steps (see the module docs
/// for the exact definition). Empty if the trace has no IPv4 `PACKET:` line.
pub fn first_packet(lines: &[XtLine]) -> Vec<TraceStep> {
    first_packet_lines(lines)
        .into_iter()
        .map(TraceStep::from_trace_line)
        .collect()
}

/// Like [`first_packet`], but the ` TRACE:` lines themselves (handles and ids kept).
pub fn first_packet_lines(lines: &[XtLine]) -> Vec<&TraceLine> {
    // trace id -> identity of its most recent PACKET line. A probe has a few dozen distinct
    // ids at most, so a linear scan beats hashing.
    let mut by_id: Vec<(u32, Option<PacketIdentity>)> = Vec::new();
    let mut first: Option<PacketIdentity> = None;
    let mut start = 0; // index in `lines` of the first packet's first PACKET line
    let mut end = None; // index in `lines` of the last TRACE line of the first packet
    for (i, line) in lines.iter().enumerate() {
        match line {
            XtLine::Packet(p) => {
                let ident = p.identity();
                if first.is_none() && !p.is_kernel_icmp_error() {
                    first = ident;
                    start = i;
                }
                match by_id.iter_mut().find(|(id, _)| *id == p.trace_id) {
                    Some(slot) => slot.1 = ident,
                    None => by_id.push((p.trace_id, ident)),
                }
            }
            XtLine::Trace(t) => {
                let ident = by_id
                    .iter()
                    .find(|(id, _)| *id == t.trace_id)
                    .and_then(|(_, ident)| *ident);
                if ident.is_some() && ident == first {
                    end = Some(i);
                }
            }
        }
    }
    let Some(end) = end else {
        return Vec::new();
    };
    lines[start..=end]
        .iter()
        .filter_map(|l| match l {
            XtLine::Trace(t) => Some(t),
            XtLine::Packet(_) => None,
        })
        .collect()
}
