//! The packet (`sk_buff`) as the engine sees it: IPv4 header fields, the L4 header,
//! and the metadata netfilter keeps with it (mark, conntrack reference, nftrace, the
//! interfaces it came in and goes out on, bridge ports).

use crate::topology::IfId;
use std::net::Ipv4Addr;

/// TCP flag bits, kernel values.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
}

pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;

pub const ICMP_ECHOREPLY: u8 = 0;
pub const ICMP_DEST_UNREACH: u8 = 3;
pub const ICMP_REDIRECT: u8 = 5;
/// `ICMP_REDIR_HOST`: redirect datagrams for the host.
pub const ICMP_REDIR_HOST: u8 = 1;
pub const ICMP_ECHO: u8 = 8;
pub const ICMP_TIME_EXCEEDED: u8 = 11;

/// ICMP destination-unreachable codes.
pub mod unreach {
    pub const NET: u8 = 0;
    pub const HOST: u8 = 1;
    pub const PROTO: u8 = 2;
    pub const PORT: u8 = 3;
    pub const NET_ANO: u8 = 9;
    pub const HOST_ANO: u8 = 10;
    pub const PKT_FILTERED: u8 = 13;
}

/// The transport header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4 {
    Tcp {
        sport: u16,
        dport: u16,
        flags: u8,
    },
    Udp {
        sport: u16,
        dport: u16,
    },
    /// Echo request/reply carry an id (conntrack uses it like a port).
    IcmpEcho {
        ty: u8,
        id: u16,
        seq: u16,
    },
    /// An ICMP error quoting the offending packet's header.
    IcmpError {
        ty: u8,
        code: u8,
        inner: InnerHeader,
    },
}

/// The IP + first 8 bytes of L4 header quoted by an ICMP error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InnerHeader {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    /// Ports, or (id, 0) for ICMP echo.
    pub sport: u16,
    pub dport: u16,
    pub len: u16,
}

impl L4 {
    pub fn proto(&self) -> u8 {
        match self {
            L4::Tcp { .. } => IPPROTO_TCP,
            L4::Udp { .. } => IPPROTO_UDP,
            L4::IcmpEcho { .. } | L4::IcmpError { .. } => IPPROTO_ICMP,
        }
    }
    /// Source and destination port (0 for ICMP).
    pub fn ports(&self) -> (u16, u16) {
        match *self {
            L4::Tcp { sport, dport, .. } | L4::Udp { sport, dport } => (sport, dport),
            _ => (0, 0),
        }
    }
    pub fn set_sport(&mut self, p: u16) {
        match self {
            L4::Tcp { sport, .. } | L4::Udp { sport, .. } => *sport = p,
            L4::IcmpEcho { id, .. } => *id = p,
            L4::IcmpError { .. } => {}
        }
    }
    pub fn set_dport(&mut self, p: u16) {
        match self {
            L4::Tcp { dport, .. } | L4::Udp { dport, .. } => *dport = p,
            L4::IcmpEcho { id, .. } => *id = p,
            L4::IcmpError { .. } => {}
        }
    }
    pub fn tcp_flags(&self) -> Option<u8> {
        match *self {
            L4::Tcp { flags, .. } => Some(flags),
            _ => None,
        }
    }
    pub fn icmp_type_code(&self) -> Option<(u8, u8)> {
        match *self {
            L4::IcmpEcho { ty, .. } => Some((ty, 0)),
            L4::IcmpError { ty, code, .. } => Some((ty, code)),
            _ => None,
        }
    }
}

/// How conntrack classified the packet (`enum ip_conntrack_info` plus untracked/invalid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtInfo {
    New,
    Established,
    Related,
    EstablishedReply,
    RelatedReply,
    Untracked,
    Invalid,
}

impl CtInfo {
    pub fn is_reply(self) -> bool {
        matches!(self, CtInfo::EstablishedReply | CtInfo::RelatedReply)
    }
}

/// The packet's conntrack attachment (`skb->_nfct`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtRef {
    pub id: u32,
    pub info: CtInfo,
}

/// A packet and the metadata the kernel keeps with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub l4: L4,
    /// Total length (IP header included).
    pub len: u16,
    pub ttl: u8,
    pub tos: u8,
    pub ip_id: u16,
    pub df: bool,
    /// `skb->mark`
    pub mark: u32,
    /// The conntrack entry, when conntrack has seen the packet (`None` before).
    pub ct: Option<CtRef>,
    /// `-j NOTRACK` / `CT --notrack` ran.
    pub notrack: bool,
    /// `skb->nf_trace`
    pub nftrace: bool,
    /// Input interface (`IN=`), set on receive.
    pub iif: Option<IfId>,
    /// Bridge port the frame entered on (physdev in).
    pub phys_in: Option<IfId>,
    /// Bridge port the frame leaves by (physdev out).
    pub phys_out: Option<IfId>,
    /// Link-layer header as received (`MACSRC=`/`MACDST=`).
    pub mac: Option<([u8; 6], [u8; 6])>,
    /// The frame came back through the loopback device (`LOOPBACK` in traces).
    pub looped: bool,
    /// A frame being bridged (br_netfilter `is_bridged`).
    pub bridged: bool,
    /// A packet the local stack generated for a socket of this uid, for `-m owner`.
    pub sk_uid: Option<u32>,
    /// Payload bytes (for the text trace; `len` already counts them).
    pub payload: u16,
    /// TCP sequence and acknowledgment numbers, relative to each side's initial
    /// sequence number (0); 0 for other protocols. Conntrack's window tracking uses them.
    pub seq: u32,
    pub ack: u32,
}

impl Packet {
    /// A packet as the local stack builds it: TTL 64, DF set, no netfilter metadata yet.
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr, l4: L4, len: u16) -> Packet {
        Packet {
            src,
            dst,
            l4,
            len,
            ttl: 64,
            tos: 0,
            ip_id: 0,
            df: true,
            mark: 0,
            ct: None,
            notrack: false,
            nftrace: false,
            iif: None,
            phys_in: None,
            phys_out: None,
            mac: None,
            looped: false,
            bridged: false,
            sk_uid: None,
            payload: 0,
            seq: 0,
            ack: 0,
        }
    }

    /// Sequence space a TCP segment occupies: its payload, plus one for SYN and FIN.
    pub fn seg_len(&self) -> u32 {
        let flags = match self.l4 {
            L4::Tcp { flags, .. } => flags,
            _ => 0,
        };
        self.payload as u32
            + u32::from(flags & tcp_flags::SYN != 0)
            + u32::from(flags & tcp_flags::FIN != 0)
    }

    pub fn proto(&self) -> u8 {
        self.l4.proto()
    }
    /// The header an ICMP error about this packet quotes.
    pub fn inner(&self) -> InnerHeader {
        let (sport, dport) = match self.l4 {
            L4::IcmpEcho { id, .. } => (id, 0),
            other => other.ports(),
        };
        InnerHeader {
            src: self.src,
            dst: self.dst,
            proto: self.proto(),
            sport,
            dport,
            len: self.len,
        }
    }
    /// Forget what netfilter knew: what `skb_scrub_packet()` does when a packet
    /// crosses into another network namespace (veth `dev_forward_skb`).
    pub fn scrub(&mut self) {
        self.ct = None;
        self.notrack = false;
        self.mark = 0;
        self.nftrace = false;
        self.iif = None;
        self.phys_in = None;
        self.phys_out = None;
        self.mac = None;
        self.looped = false;
        self.bridged = false;
        self.sk_uid = None;
    }
}
