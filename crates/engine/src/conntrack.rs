//! Connection tracking (`nf_conntrack`): tuples, the per-namespace table, and how a
//! packet is classified (NEW, ESTABLISHED, RELATED, their reply forms, INVALID,
//! UNTRACKED). Entries are created unconfirmed by the first packet and inserted into
//! the table ("confirmed") when that packet leaves the last hook (POSTROUTING or INPUT);
//! a packet dropped before that takes its unconfirmed entry with it.

use crate::packet::{tcp_flags, CtInfo, CtRef, Packet, ICMP_ECHO, ICMP_ECHOREPLY, L4};
use rustc_hash::FxHashMap as HashMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// A conntrack tuple. For ICMP echo, `sport` and `dport` both hold the echo id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tuple {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
}

impl Tuple {
    /// `nf_ct_invert_tuple()`
    pub fn invert(&self) -> Tuple {
        Tuple {
            src: self.dst,
            dst: self.src,
            proto: self.proto,
            sport: self.dport,
            dport: self.sport,
        }
    }

    pub fn of(pkt: &Packet) -> Tuple {
        let (sport, dport) = match pkt.l4 {
            L4::IcmpEcho { id, .. } => (id, id),
            l4 => l4.ports(),
        };
        Tuple {
            src: pkt.src,
            dst: pkt.dst,
            proto: pkt.proto(),
            sport,
            dport,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Original,
    Reply,
}

/// `enum tcp_conntrack`
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TcpState {
    None,
    SynSent,
    SynRecv,
    Established,
    FinWait,
    CloseWait,
    LastAck,
    TimeWait,
    Close,
}

impl TcpState {
    pub fn name(self) -> &'static str {
        match self {
            TcpState::None => "NONE",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait => "FIN_WAIT",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
        }
    }
    /// Default timeouts (`nf_conntrack_tcp_timeout_*`), seconds.
    fn timeout(self) -> u32 {
        match self {
            TcpState::SynSent | TcpState::SynRecv => 120,
            TcpState::Established => 432000,
            TcpState::FinWait | TcpState::TimeWait | TcpState::LastAck => 120,
            TcpState::CloseWait => 60,
            TcpState::Close | TcpState::None => 10,
        }
    }
}

/// `enum ip_conntrack_status` bits the engine uses.
pub mod status {
    pub const EXPECTED: u32 = 1 << 0;
    pub const SEEN_REPLY: u32 = 1 << 1;
    pub const ASSURED: u32 = 1 << 2;
    pub const CONFIRMED: u32 = 1 << 3;
    pub const SRC_NAT: u32 = 1 << 4;
    pub const DST_NAT: u32 = 1 << 5;
    pub const SRC_NAT_DONE: u32 = 1 << 7;
    pub const DST_NAT_DONE: u32 = 1 << 8;
    pub const DYING: u32 = 1 << 9;
}

#[derive(Debug, Clone)]
pub struct Conn {
    pub id: u32,
    pub orig: Tuple,
    pub reply: Tuple,
    pub status: u32,
    pub tcp: TcpState,
    pub mark: u32,
    /// ICMP type of the original direction (for `conntrack -L`).
    pub icmp_type: u8,
    /// Sequence of the SYN that opened it (to order connections that reuse a tuple).
    pub created: u64,
    /// TCP window tracking (`struct ip_ct_tcp_state`), per direction.
    pub window: TcpWindow,
}

/// What conntrack knows of each direction's sequence space (`td_end`: the highest
/// sequence number seen, plus the segment's length), enough for `tcp_in_window()`'s
/// check that an ACK does not acknowledge data conntrack never saw. A connection picked
/// up mid-stream is tracked liberally ("IP_CT_TCP_FLAG_BE_LIBERAL", tcp_new()).
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpWindow {
    pub td_end: [u32; 2],
    pub init: [bool; 2],
    pub liberal: bool,
}

impl TcpWindow {
    /// `tcp_in_window()` for one segment in direction `d`; false: INVALID ("ACK is over
    /// the upper bound (ACKed data not seen yet)"). Updates what was seen when valid.
    fn in_window(&mut self, d: usize, pkt: &Packet, flags: u8) -> bool {
        if self.liberal || flags & tcp_flags::RST != 0 {
            return true;
        }
        let other = 1 - d;
        if flags & tcp_flags::SYN != 0 {
            // A SYN (re)starts its direction; a new SYN from the originator also
            // forgets the answering side (a reopened connection).
            self.td_end[d] = pkt.seq + pkt.seg_len();
            self.init[d] = true;
            if flags & tcp_flags::ACK == 0 && d == 0 {
                self.init[1] = false;
            }
            return true;
        }
        if flags & tcp_flags::ACK != 0 && self.init[other] && pkt.ack > self.td_end[other] {
            return false;
        }
        let end = pkt.seq + pkt.seg_len();
        if !self.init[d] || end > self.td_end[d] {
            self.td_end[d] = end;
            self.init[d] = true;
        }
        true
    }
}

impl Conn {
    pub fn confirmed(&self) -> bool {
        self.status & status::CONFIRMED != 0
    }
    pub fn tuple(&self, d: Dir) -> &Tuple {
        match d {
            Dir::Original => &self.orig,
            Dir::Reply => &self.reply,
        }
    }
}

/// One namespace's conntrack table.
#[derive(Debug, Clone, Default)]
pub struct Conntrack {
    conns: HashMap<u32, Conn>,
    hash: HashMap<Tuple, (u32, Dir)>,
    next_id: u32,
    seq: u64,
}

impl Conntrack {
    pub fn get(&self, id: u32) -> Option<&Conn> {
        self.conns.get(&id)
    }
    pub fn get_mut(&mut self, id: u32) -> Option<&mut Conn> {
        self.conns.get_mut(&id)
    }
    pub fn flush(&mut self) {
        self.conns.clear();
        self.hash.clear();
    }
    pub fn find(&self, t: &Tuple) -> Option<(u32, Dir)> {
        self.hash.get(t).copied()
    }

    /// `nf_conntrack_tuple_taken()`: is `reply` already some other confirmed
    /// connection's tuple? (Two entries with the same original tuple are the same flow.)
    pub fn tuple_taken(&self, reply: &Tuple, ignored: u32) -> bool {
        let Some(&(id, _)) = self.hash.get(reply) else {
            return false;
        };
        if id == ignored {
            return false;
        }
        let me = self.conns.get(&ignored).map(|c| c.orig);
        let other = self.conns.get(&id).map(|c| c.orig);
        me.is_none() || me != other
    }

    /// `nf_conntrack_in()`: attach the packet to its connection, creating an
    /// unconfirmed one for the first packet of a flow.
    pub fn classify(&mut self, pkt: &mut Packet) -> CtInfo {
        if pkt.notrack {
            pkt.ct = None;
            return CtInfo::Untracked;
        }
        // "Previously seen (loopback)? Ignore." A packet that already carries a
        // conntrack reference keeps it (nf_conntrack_in).
        if let Some(r) = pkt.ct {
            return r.info;
        }
        if let L4::IcmpError { inner, .. } = pkt.l4 {
            // icmp_error_message(): the quoted packet's tuple, inverted, names the
            // connection this error is about.
            let t = Tuple {
                src: inner.src,
                dst: inner.dst,
                proto: inner.proto,
                sport: inner.sport,
                dport: if inner.proto == 1 {
                    inner.sport
                } else {
                    inner.dport
                },
            };
            // nf_conntrack_inet_error(): "Ordinarily, we'd expect the inverted
            // tupleproto, but it's been preserved inside the ICMP": the error travels
            // opposite to the quoted packet, so the inverse of the quoted tuple is the
            // tuple of the error's own direction (after NAT the quoted tuple is not the
            // connection's original tuple, its inverse is the reply tuple).
            return match self.hash.get(&t.invert()).copied() {
                Some((id, d)) => {
                    let info = if d == Dir::Reply {
                        CtInfo::RelatedReply
                    } else {
                        CtInfo::Related
                    };
                    pkt.ct = Some(CtRef { id, info });
                    info
                }
                None => {
                    pkt.ct = None;
                    CtInfo::Invalid
                }
            };
        }
        let t = Tuple::of(pkt);
        if let Some((id, dir)) = self.hash.get(&t).copied() {
            let c = self.conns.get_mut(&id).expect("hashed conn exists");
            if let L4::Tcp { flags, .. } = pkt.l4 {
                // tcp_packet() returns -NF_ACCEPT before the state or SEEN_REPLY change.
                if !c
                    .window
                    .in_window(usize::from(dir == Dir::Reply), pkt, flags)
                {
                    pkt.ct = None;
                    return CtInfo::Invalid;
                }
            }
            let seen_reply_before = c.status & status::SEEN_REPLY != 0;
            if dir == Dir::Reply {
                c.status |= status::SEEN_REPLY;
            }
            let mut kill = false;
            let info = match pkt.l4 {
                L4::Tcp { flags, .. } => {
                    let (next, info) = tcp_step(c, dir, flags);
                    c.tcp = next;
                    // "If only reply is a RST, we can consider ourselves not to have an
                    // established connection [...] delete the conntrack immediately"
                    // (tcp_packet()); SEEN_REPLY is set only after it runs.
                    kill = flags & tcp_flags::RST != 0 && !seen_reply_before;
                    info
                }
                _ => {
                    if dir == Dir::Reply {
                        CtInfo::EstablishedReply
                    } else if c.status & status::SEEN_REPLY != 0 {
                        c.status |= status::ASSURED;
                        CtInfo::Established
                    } else {
                        CtInfo::New
                    }
                }
            };
            pkt.ct = if info == CtInfo::Invalid {
                None
            } else {
                Some(CtRef { id, info })
            };
            if kill {
                self.kill(id);
            }
            return info;
        }
        // A new flow.
        let tcp = match pkt.l4 {
            L4::Tcp { flags, .. } => {
                // tcp_new(): a flow may start with a SYN (or, with nf_conntrack_tcp_loose,
                // mid-stream); a RST or SYN-ACK alone starts nothing.
                if flags & tcp_flags::RST != 0
                    || flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN | tcp_flags::ACK
                {
                    pkt.ct = None;
                    return CtInfo::Invalid;
                }
                if flags & tcp_flags::SYN != 0 {
                    TcpState::SynSent
                } else {
                    TcpState::Established
                }
            }
            L4::IcmpEcho { ty, .. } if ty != ICMP_ECHO => {
                // An echo reply with no request seen is INVALID (icmp_new()).
                pkt.ct = None;
                return CtInfo::Invalid;
            }
            _ => TcpState::None,
        };
        self.next_id += 1;
        self.seq += 1;
        let id = self.next_id;
        let icmp_type = match pkt.l4 {
            L4::IcmpEcho { ty, .. } => ty,
            _ => 0,
        };
        self.conns.insert(
            id,
            Conn {
                id,
                orig: t,
                reply: t.invert(),
                status: 0,
                tcp,
                mark: 0,
                icmp_type,
                created: self.seq,
                window: match pkt.l4 {
                    L4::Tcp { flags, .. } if flags & tcp_flags::SYN != 0 => TcpWindow {
                        td_end: [pkt.seq + pkt.seg_len(), 0],
                        init: [true, false],
                        liberal: false,
                    },
                    _ => TcpWindow {
                        liberal: true,
                        ..TcpWindow::default()
                    },
                },
            },
        );
        pkt.ct = Some(CtRef {
            id,
            info: CtInfo::New,
        });
        CtInfo::New
    }

    /// `__nf_conntrack_confirm()`: insert the packet's new connection into the table.
    /// Returns false when another entry already holds one of its tuples (a clash: the
    /// kernel drops the packet).
    pub fn confirm(&mut self, pkt: &Packet) -> bool {
        let Some(r) = pkt.ct else { return true };
        // "if (CTINFO2DIR(ctinfo) != IP_CT_DIR_ORIGINAL) return NF_ACCEPT;": a reply-direction
        // packet (an ICMP error or RST attached to a connection) never confirms it.
        if r.info.is_reply() {
            return true;
        }
        let Some(c) = self.conns.get(&r.id) else {
            return true;
        };
        if c.confirmed() {
            return true;
        }
        let (o, rp) = (c.orig, c.reply);
        let clash = |t: &Tuple| self.hash.get(t).is_some_and(|(id, _)| *id != r.id);
        if clash(&o) || clash(&rp) {
            self.conns.remove(&r.id);
            return false;
        }
        self.hash.insert(o, (r.id, Dir::Original));
        self.hash.insert(rp, (r.id, Dir::Reply));
        self.conns.get_mut(&r.id).expect("present").status |= status::CONFIRMED;
        true
    }

    /// The packet died before its connection was confirmed: the entry goes with it.
    pub fn release(&mut self, pkt: &Packet) {
        // Only the packet that created the entry owns it: an ICMP error attached to it
        // (`nf_ct_attach`) holds just another reference, and the entry lives on with the
        // original packet.
        if let Some(r) = pkt.ct.filter(|r| r.info == CtInfo::New) {
            if self.conns.get(&r.id).is_some_and(|c| !c.confirmed()) {
                self.conns.remove(&r.id);
            }
        }
    }

    /// Take a connection out of the table (`nf_ct_kill`); packets already holding it keep
    /// their reference.
    pub fn kill(&mut self, id: u32) {
        if let Some(c) = self.conns.get_mut(&id) {
            c.status |= status::DYING;
            let (o, r) = (c.orig, c.reply);
            for t in [o, r] {
                if self.hash.get(&t).is_some_and(|(i, _)| *i == id) {
                    self.hash.remove(&t);
                }
            }
        }
    }

    /// Connections in creation order.
    pub fn entries(&self) -> Vec<&Conn> {
        let mut v: Vec<&Conn> = self
            .conns
            .values()
            .filter(|c| c.confirmed() && c.status & status::DYING == 0)
            .collect();
        v.sort_by_key(|c| c.created);
        v
    }

    /// `conntrack -L` text, one line per confirmed connection.
    pub fn dump(&self) -> String {
        let mut s = String::new();
        for c in self.entries() {
            let _ = writeln!(s, "{}", conn_line(c));
        }
        s
    }
}

/// One `conntrack -L` line.
pub fn conn_line(c: &Conn) -> String {
    let mut s = String::new();
    let tup = |t: &Tuple, s: &mut String, icmp_ty: u8| {
        let _ = write!(s, "src={} dst={} ", t.src, t.dst);
        if t.proto == 1 {
            let _ = write!(s, "type={icmp_ty} code=0 id={} ", t.sport);
        } else {
            let _ = write!(s, "sport={} dport={} ", t.sport, t.dport);
        }
    };
    match c.orig.proto {
        6 => {
            let _ = write!(s, "tcp      6 {} {} ", c.tcp.timeout(), c.tcp.name());
        }
        17 => {
            let t = if c.status & status::SEEN_REPLY != 0 {
                120
            } else {
                30
            };
            let _ = write!(s, "udp      17 {t} ");
        }
        1 => {
            let _ = write!(s, "icmp     1 30 ");
        }
        p => {
            let _ = write!(s, "unknown  {p} 600 ");
        }
    }
    tup(&c.orig, &mut s, c.icmp_type);
    if c.status & status::SEEN_REPLY == 0 {
        s.push_str("[UNREPLIED] ");
    }
    let reply_ty = if c.icmp_type == ICMP_ECHO {
        ICMP_ECHOREPLY
    } else {
        c.icmp_type
    };
    tup(&c.reply, &mut s, reply_ty);
    if c.status & status::ASSURED != 0 {
        s.push_str("[ASSURED] ");
    }
    let _ = write!(s, "mark={} use=1", c.mark);
    s
}

/// The TCP state machine, reduced to what decides ctinfo and what `conntrack -L` shows
/// (`tcp_conntracks[][][]` in nf_conntrack_proto_tcp.c).
fn tcp_step(c: &mut Conn, dir: Dir, flags: u8) -> (TcpState, CtInfo) {
    use tcp_flags::*;
    let reply = dir == Dir::Reply;
    let info = if reply {
        CtInfo::EstablishedReply
    } else if c.status & status::SEEN_REPLY != 0 {
        CtInfo::Established
    } else {
        CtInfo::New
    };
    let st = c.tcp;
    let next = if flags & RST != 0 {
        TcpState::Close
    } else if flags & SYN != 0 && flags & ACK != 0 {
        if reply && st == TcpState::SynSent {
            TcpState::SynRecv
        } else {
            st
        }
    } else if flags & SYN != 0 {
        if st >= TcpState::TimeWait && !reply {
            TcpState::SynSent
        } else {
            st
        }
    } else if flags & FIN != 0 {
        match st {
            TcpState::Established | TcpState::SynRecv => TcpState::FinWait,
            TcpState::FinWait | TcpState::CloseWait => TcpState::LastAck,
            s => s,
        }
    } else if flags & ACK != 0 {
        match st {
            TcpState::SynRecv if !reply => {
                c.status |= status::ASSURED;
                TcpState::Established
            }
            TcpState::LastAck => TcpState::TimeWait,
            TcpState::FinWait => TcpState::CloseWait,
            s => s,
        }
    } else {
        st
    };
    (next, info)
}
