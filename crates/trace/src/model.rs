//! The typed model of `xtables-monitor --trace` output (iptables 1.8.9, nf_tables backend).
//!
//! One [`XtLine`] per printed line. xtables-monitor prints one line per part of an
//! `NFT_MSG_TRACE` netlink event (see `trace_cb()` in `iptables/xtables-monitor.c`):
//!
//! * a `PACKET:` line ([`PacketLine`]) when the event is of type `NFT_TRACETYPE_RULE` and
//!   carries packet headers. The kernel dumps the headers only in the first event of each
//!   base-chain evaluation (`info->packet_dumped` in `nft_trace_notify()`), so a `PACKET:`
//!   line starts the lines of every hook a packet passes;
//! * a ` TRACE:` line ([`TraceLine`]) for a rule with a handle, a chain policy or a return.
//!
//! Since Linux 6.3 the end of a chain is a sentinel "last" rule with no handle: falling off a
//! base chain emits a rule event without `NFTA_TRACE_RULE_HANDLE`, so xtables-monitor prints
//! only its `PACKET:` line (if the headers were not dumped yet in that hook) and then the
//! `:policy:` line. That is why a `PACKET:` line can be directly followed by a policy line.
//!
//! Every field keeps exactly what is printed, so that [`crate::render()`] reproduces the text
//! byte for byte; fields xtables-monitor does not print (e.g. ICMP type, IP protocol) are not
//! in the model.

use std::net::{Ipv4Addr, Ipv6Addr};

/// `NFPROTO_IPV4`, the family of every iptables (`-4`) trace.
pub const NFPROTO_IPV4: u8 = 2;
/// `NFPROTO_IPV6`.
pub const NFPROTO_IPV6: u8 = 10;

/// One line of `xtables-monitor --trace` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XtLine {
    /// `PACKET: 2 088a4fd0 IN=eth0 ... SYN `
    Packet(PacketLine),
    /// ` TRACE: 2 088a4fd0 raw:PREROUTING:rule:0x2:CONTINUE  -4 -t raw -A PREROUTING ...`
    Trace(TraceLine),
}

impl XtLine {
    /// The trace id (`NFTA_TRACE_ID`) of the line.
    pub fn trace_id(&self) -> u32 {
        match self {
            XtLine::Packet(p) => p.trace_id,
            XtLine::Trace(t) => t.trace_id,
        }
    }
}

/// A `PACKET:` line: the packet as the kernel dumped it in a trace event
/// (`trace_print_packet()`). Fields appear in this order, each followed by one space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketLine {
    /// The table family (`NFTA_TRACE_FAMILY`, `%d`): 2 for iptables.
    pub family: u8,
    /// `NFTA_TRACE_ID`, printed `%08x`. The kernel derives it from the skb, so it is kept
    /// through NAT but changes when a packet is copied, and ids are reused.
    pub trace_id: u32,
    /// `IN=<name>`: the input device (`if_indextoname`, `(null)` if it is gone).
    pub iif: Option<String>,
    /// `OUT=<name>`: the output device.
    pub oif: Option<String>,
    /// `NFPROTO=<n>`: only printed when the packet's protocol differs from the table family
    /// (inet/bridge/netdev tables). `None` when not printed.
    pub nfproto: Option<u8>,
    /// The link-layer header (`NFTA_TRACE_LL_HEADER`), if the kernel sent one.
    pub link: Option<LinkLayer>,
    /// The network header (`NFTA_TRACE_NETWORK_HEADER`), if printed.
    pub network: Option<NetworkHeader>,
    /// The transport header fields that are printed.
    pub l4: L4Info,
    /// `MARK=0x<mark>`: printed only when non-zero; 0 means not printed.
    pub mark: u32,
}

impl PacketLine {
    /// The IPv4 header, if the line has one.
    pub fn ipv4(&self) -> Option<&Ipv4Header> {
        match &self.network {
            Some(NetworkHeader::Ipv4(h)) => Some(h),
            _ => None,
        }
    }

    /// The protocol the network header is decoded as: `NFPROTO=` if printed, else the family.
    pub fn effective_nfproto(&self) -> u8 {
        self.nfproto.unwrap_or(self.family)
    }
}

/// How the link-layer header is printed, chosen by the input device type
/// (`NFTA_TRACE_IIFTYPE`, 0 when there is no input device).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkLayer {
    /// `ARPHRD_ETHER`: `MACSRC=<ether_ntoa> MACDST=<ether_ntoa> MACPROTO=%04x`.
    Ether(MacHeader),
    /// `ARPHRD_LOOPBACK`: `LOOPBACK`.
    Loopback,
    /// Any other device type: `LL=0x<type> <bytes>`. xtables-monitor prints the bytes with
    /// `printf("%02x", linklayer[i])` on a signed `char`, so a byte >= 0x80 comes out
    /// sign-extended as `ffffffXX`. This happens on bridge post-routing (no input device,
    /// type 0) with br_netfilter: `LL=0x0 0242ffffffac110002...`.
    Raw {
        /// `NFTA_TRACE_IIFTYPE` (`ARPHRD_*`), printed `0x%x`.
        iiftype: u16,
        /// The raw header bytes (destination MAC, source MAC, ethertype for Ethernet).
        header: Vec<u8>,
    },
}

/// An Ethernet header as printed for `ARPHRD_ETHER` devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacHeader {
    /// `MACSRC=`; `ether_ntoa()` prints each byte `%x` (no leading zero: `e:3b:e0:d0:4a:9b`).
    pub src: [u8; 6],
    /// `MACDST=`.
    pub dst: [u8; 6],
    /// `MACPROTO=%04x` (host order of `h_proto`), e.g. `0800`.
    pub proto: u16,
}

/// The printed network header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkHeader {
    /// IPv4 (`SRC= DST= LEN= TOS= TTL= ID= [CE] [DF] [MF] [FRAG:] [OPT (..)]`).
    Ipv4(Ipv4Header),
    /// IPv6 (`SRC= DST= LEN= TC= HOPLIMIT= FLOWLBL=`).
    Ipv6(Ipv6Header),
    /// Another protocol: `NH=<bytes>` (signed `%02x`, like [`LinkLayer::Raw`]).
    Raw(Vec<u8>),
}

/// An IPv4 header as printed by xtables-monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Header {
    /// `SRC=` (`inet_ntop`).
    pub src: Ipv4Addr,
    /// `DST=`.
    pub dst: Ipv4Addr,
    /// `LEN=%d`: total length.
    pub len: u16,
    /// `TOS=0x%x`.
    pub tos: u8,
    /// `TTL=%d`.
    pub ttl: u8,
    /// `ID=%d`.
    pub id: u16,
    /// `CE`: the reserved ("congestion experienced") bit 0x8000 of `frag_off`.
    pub ce: bool,
    /// `DF`: don't fragment.
    pub df: bool,
    /// `MF`: more fragments.
    pub mf: bool,
    /// `FRAG:%u`: the fragment offset (in 8-byte units), printed when non-zero.
    pub frag_offset: u16,
    /// `OPT (<bytes>)`: IP options, printed when `ihl > 5`, each byte `%02X` on a signed
    /// `char` (so bytes >= 0x80 come out as `FFFFFFXX`).
    pub options: Option<Vec<u8>>,
}

impl Ipv4Header {
    /// A header with the given addresses and everything else zero/unset.
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr) -> Self {
        Ipv4Header {
            src,
            dst,
            len: 0,
            tos: 0,
            ttl: 0,
            id: 0,
            ce: false,
            df: false,
            mf: false,
            frag_offset: 0,
            options: None,
        }
    }
}

/// An IPv6 header as printed by xtables-monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Header {
    /// `SRC=` (`inet_ntop`).
    pub src: Ipv6Addr,
    /// `DST=`.
    pub dst: Ipv6Addr,
    /// `LEN=%zu`: xtables-monitor prints `payload_len + sizeof(struct iphdr)`, i.e. payload
    /// length + 20 (not 40): this is the printed value.
    pub len: u32,
    /// `TC=%u`: traffic class.
    pub tc: u8,
    /// `HOPLIMIT=%u`.
    pub hoplimit: u8,
    /// `FLOWLBL=%u` (20 bits).
    pub flowlabel: u32,
}

/// What is printed of the transport header. xtables-monitor prints ports for TCP, UDP,
/// UDP-Lite, SCTP and DCCP, TCP flags for TCP, and nothing at all for ICMP or any other
/// protocol (it does not print the IP protocol either).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L4Info {
    /// `SPORT=%d DPORT=%d` followed by the set flags in the order `SYN ACK FIN RST PSH URG`.
    Tcp {
        sport: u16,
        dport: u16,
        flags: TcpFlags,
    },
    /// `SPORT=%d DPORT=%d` for UDP, UDP-Lite, SCTP and DCCP (indistinguishable in the output).
    Ports { sport: u16, dport: u16 },
    /// Nothing printed (ICMP, other protocols, no or truncated transport header).
    None,
}

/// TCP flags, with the kernel's bit values in the 13th byte of the TCP header
/// (`TCPHDR_FIN` ... `TCPHDR_URG`). Only these six are printed by xtables-monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);
    pub const URG: TcpFlags = TcpFlags(0x20);

    /// The flags in the order xtables-monitor tests and prints them.
    pub const PRINT_ORDER: [(TcpFlags, &'static str); 6] = [
        (TcpFlags::SYN, "SYN"),
        (TcpFlags::ACK, "ACK"),
        (TcpFlags::FIN, "FIN"),
        (TcpFlags::RST, "RST"),
        (TcpFlags::PSH, "PSH"),
        (TcpFlags::URG, "URG"),
    ];

    /// No flag set.
    pub const fn empty() -> TcpFlags {
        TcpFlags(0)
    }

    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

/// A ` TRACE:` line: one step of a packet through the ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLine {
    /// The table family, `%d` (2 for iptables).
    pub family: u8,
    /// `NFTA_TRACE_ID`, printed `%08x`.
    pub trace_id: u32,
    /// The table (`raw`, `mangle`, `nat`, `filter`, `security`).
    pub table: String,
    /// The chain.
    pub chain: String,
    /// What happened.
    pub kind: TraceKind,
}

/// The event type of a ` TRACE:` line (`NFTA_TRACE_TYPE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceKind {
    /// `NFT_TRACETYPE_RULE`: `:rule:0x<handle>:<verdict>  <rule>`. A rule that ends without a
    /// verdict (a match-only rule, `-j TRACE`, a target like `LOG`) is traced `CONTINUE`;
    /// `-j REJECT` is traced `DROP` (the reject target sends its ICMP error or RST and then
    /// drops, so its line comes after the lines of the packet it sent).
    Rule {
        /// The kernel's rule handle (`0x%llx`).
        handle: u64,
        /// The verdict.
        verdict: Verdict,
        /// The rule as xtables-monitor fetched and printed it, without the two spaces that
        /// precede it: `-4 -t nat -A DOCKER ! -i docker0 -p tcp ...`.
        rule_text: String,
    },
    /// `NFT_TRACETYPE_POLICY`: `:policy:<ACCEPT|DROP> `, the base chain's policy applied.
    Policy(Verdict),
    /// `NFT_TRACETYPE_RETURN`: `:return:[<chain>]`. Not produced by Linux 6.18 for iptables
    /// rulesets (an explicit `-j RETURN` is a rule event with verdict `0xfffffffb`, an implicit
    /// return at the end of a chain prints nothing); kept so older traces parse.
    Return {
        /// The jump target, printed only if the kernel sent one.
        target: Option<String>,
    },
}

/// A verdict as printed by `print_verdict()`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// `NF_ACCEPT`: `ACCEPT`.
    Accept,
    /// `NF_DROP`: `DROP`.
    Drop,
    /// `NF_QUEUE` (queue number 0): `QUEUE`.
    Queue,
    /// `NF_STOLEN`: `STOLEN`.
    Stolen,
    /// `NFT_BREAK`: `BREAK`.
    Break,
    /// `NFT_CONTINUE`: `CONTINUE` (the rule did not end the chain).
    Continue,
    /// `NFT_JUMP`: `JUMP:<chain>`.
    Jump(String),
    /// `NFT_GOTO`: `GOTO:<chain>`.
    Goto(String),
    /// `NFT_RETURN` (-5): not named by xtables-monitor, printed `0xfffffffb`.
    Return,
    /// Any other code, printed `0x%x` (e.g. `NF_QUEUE` with a queue number).
    Other(u32),
}

impl Verdict {
    /// `NFT_RETURN` as the unsigned value xtables-monitor prints.
    pub const NFT_RETURN_CODE: u32 = -5i32 as u32;
}
