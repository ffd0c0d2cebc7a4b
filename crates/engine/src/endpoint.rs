//! Sockets and the processes behind them: the probe's client (curl, a UDP client,
//! ping), servers answering on listening sockets (an HTTP server, a UDP echo), and
//! userland proxies (docker-proxy) that accept a connection and open a new one from
//! their own namespace. Also the socket layer's demultiplexing (`tcp_v4_rcv`,
//! `__udp4_lib_rcv`, `icmp_rcv`), the RST for a closed TCP port and the ICMP
//! port-unreachable for a closed UDP port.

use crate::event::{DropReason, Event};
use crate::netns::App;
use crate::packet::{
    tcp_flags::*, unreach, Packet, ICMP_DEST_UNREACH, ICMP_ECHO, ICMP_ECHOREPLY,
    ICMP_TIME_EXCEEDED, L4,
};
use crate::sim::{AppAction, Sim, Task, TimerKind};
use crate::topology::NsId;
use pktpath_world::{L4Proto, UserlandProxy};
use rand::Rng;
use std::net::Ipv4Addr;

/// What an endpoint is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// The probe's client.
    Probe,
    /// A server's accepted connection (or a UDP server's flow).
    Server { process: String },
    /// docker-proxy's accepted connection; `back` is its onward connection.
    ProxyFront {
        proxy: UserlandProxy,
        back: Option<usize>,
    },
    /// docker-proxy's onward connection for `front`.
    ProxyBack { front: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpSt {
    SynSent,
    SynRecv,
    Established,
    /// We sent FIN.
    FinSent,
    Closed,
}

/// How a client's attempt ended, as the application sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientError {
    /// ECONNREFUSED: RST, or ICMP port unreachable.
    Refused,
    /// EHOSTUNREACH / ENETUNREACH / EACCES: ICMP unreachable or no route.
    Unreachable,
}

#[derive(Debug, Clone, Default)]
pub struct EpResult {
    pub connected: bool,
    pub response: bool,
    pub closed_by_peer: bool,
    pub reset: bool,
    pub error: Option<ClientError>,
    pub error_text: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub ns: NsId,
    pub proto: L4Proto,
    pub local: (Ipv4Addr, u16),
    pub remote: (Ipv4Addr, u16),
    pub role: Role,
    pub st: TcpSt,
    pub ip_id: u16,
    pub result: EpResult,
    /// A request waiting for the proxy's onward connection.
    pub pending: Option<u16>,
    /// Request payload size (the probe's HTTP request).
    pub request_len: u16,
    /// A server that answered: it closes once the answer is acknowledged (the server
    /// process wakes to close after the client's ACK, as the fixtures' traces show).
    pub close_on_ack: bool,
    /// `sk->sk_err_soft`: an ICMP error met the connected socket ("only an error on
    /// timeout"); `getsockopt(SO_ERROR)` still returns it, which is how curl's check
    /// after connect() sees it. The ICMP type and code.
    pub err_soft: Option<(u8, u8)>,
    /// The peer acknowledged our FIN (anything it sent after it carries that ACK).
    pub fin_acked: bool,
    /// Next sequence number to send and to receive (relative: both sides start at 0).
    pub snd_nxt: u32,
    pub rcv_nxt: u32,
    /// Sequence number of our FIN, once sent (a retransmission reuses it).
    pub fin_seq: Option<u32>,
}

/// Bytes of busybox httpd's 404 answer (the fixtures' servers).
const RESPONSE_LEN: u16 = 231;
/// Python's http.server: the headers, then the body (a short index.html).
const PY_HEADERS_LEN: u16 = 185;
const PY_BODY_LEN: u16 = 15;
const SYN_LEN: u16 = 60;
/// The retransmission timeout of a connection with a tiny RTT (`TCP_RTO_MIN`).
const FIN_RTO_MS: u64 = 200;
const ACK_LEN: u16 = 52;

impl Sim {
    fn base_packet(&mut self, ep: usize, l4: L4, payload: u16, fixed_id: Option<u16>) -> Packet {
        let e = &mut self.endpoints[ep];
        let hdr = match l4 {
            L4::Tcp { flags, .. } if flags & SYN != 0 => SYN_LEN,
            L4::Tcp { .. } => ACK_LEN,
            L4::Udp { .. } => 28,
            _ => 28,
        };
        let id = match fixed_id {
            Some(i) => i,
            None => {
                let i = e.ip_id;
                e.ip_id = e.ip_id.wrapping_add(1);
                i
            }
        };
        Packet {
            ip_id: id,
            sk_uid: Some(0),
            payload,
            ..Packet::new(e.local.0, e.remote.0, l4, hdr + payload)
        }
    }

    /// Send a TCP segment from endpoint `ep`.
    pub(crate) fn tcp_send(&mut self, ep: usize, flags: u8, payload: u16) {
        let e = &self.endpoints[ep];
        let (ns, local, remote) = (e.ns, e.local, e.remote);
        let l4 = L4::Tcp {
            sport: local.1,
            dport: remote.1,
            flags,
        };
        // A SYN-ACK from a listener carries IP id 0 (no connected socket yet).
        let fixed = (flags & SYN != 0 && flags & ACK != 0).then_some(0);
        let mut pkt = self.base_packet(ep, l4, payload, fixed);
        let e = &mut self.endpoints[ep];
        // A SYN (or its retransmission) is sequence 0; a retransmitted FIN keeps its own.
        pkt.seq = if flags & SYN != 0 {
            0
        } else if flags & FIN != 0 {
            *e.fin_seq.get_or_insert(e.snd_nxt + payload as u32) - payload as u32
        } else {
            e.snd_nxt
        };
        if flags & ACK != 0 {
            pkt.ack = e.rcv_nxt;
        }
        e.snd_nxt = e.snd_nxt.max(pkt.seq + pkt.seg_len());
        self.send_from(ns, pkt);
    }

    /// Route and send a locally generated packet.
    pub(crate) fn send_from(&mut self, ns: NsId, pkt: Packet) {
        match self.route_output(ns, pkt.dst, Some(pkt.src), pkt.mark) {
            Ok(r) => self.ip_local_out(ns, pkt, r),
            Err(_) => self.drop_pkt(ns, &pkt, DropReason::NoRoute),
        }
    }

    fn find_ep(
        &self,
        ns: NsId,
        proto: L4Proto,
        local: (Ipv4Addr, u16),
        remote: (Ipv4Addr, u16),
    ) -> Option<usize> {
        self.endpoints.iter().position(|e| {
            e.ns == ns
                && e.proto == proto
                && e.local == local
                && e.remote == remote
                && e.st != TcpSt::Closed
        })
    }

    pub(crate) fn new_endpoint(
        &mut self,
        ns: NsId,
        proto: L4Proto,
        local: (Ipv4Addr, u16),
        remote: (Ipv4Addr, u16),
        role: Role,
        st: TcpSt,
    ) -> usize {
        let ip_id = self.rng.gen();
        self.endpoints.push(Endpoint {
            ns,
            proto,
            local,
            remote,
            role,
            st,
            ip_id,
            result: EpResult::default(),
            pending: None,
            request_len: 0,
            close_on_ack: false,
            err_soft: None,
            fin_acked: false,
            snd_nxt: 0,
            rcv_nxt: 0,
            fin_seq: None,
        });
        self.endpoints.len() - 1
    }

    /// An ephemeral port (`ip_local_port_range` 32768–60999).
    pub(crate) fn ephemeral_port(&mut self) -> u16 {
        self.rng.gen_range(32768..=60999)
    }

    /// The socket layer: a packet delivered locally in `ns`.
    pub(crate) fn socket_rcv(&mut self, ns: NsId, pkt: Packet) {
        match pkt.l4 {
            L4::Tcp {
                sport,
                dport,
                flags,
            } => self.tcp_rcv(ns, pkt.clone(), sport, dport, flags),
            L4::Udp { sport, dport } => self.udp_rcv(ns, pkt, sport, dport),
            L4::IcmpEcho { ty, id, seq } => {
                if ty == ICMP_ECHO {
                    // icmp_echo(): the kernel answers.
                    if self.recording() {
                        self.emit(Event::Deliver {
                            ns,
                            what: "ICMP echo request: the kernel answers".into(),
                            pkt: Box::new(pkt.clone()),
                        });
                    }
                    let reply = Packet {
                        ip_id: self.next_ip_id(),
                        df: false,
                        payload: pkt.payload,
                        ..Packet::new(
                            pkt.dst,
                            pkt.src,
                            L4::IcmpEcho {
                                ty: ICMP_ECHOREPLY,
                                id,
                                seq,
                            },
                            pkt.len,
                        )
                    };
                    self.send_from(ns, reply);
                } else if ty == ICMP_ECHOREPLY {
                    if let Some(ep) = self.find_ep(ns, L4Proto::Icmp, (pkt.dst, id), (pkt.src, id))
                    {
                        if self.recording() {
                            self.emit(Event::Deliver {
                                ns,
                                what: "ICMP echo reply to ping".into(),
                                pkt: Box::new(pkt.clone()),
                            });
                        }
                        self.endpoints[ep].result.response = true;
                        self.endpoints[ep].st = TcpSt::Closed;
                    }
                }
            }
            L4::IcmpError { ty, code, inner } => {
                let proto = match inner.proto {
                    6 => L4Proto::Tcp,
                    17 => L4Proto::Udp,
                    _ => L4Proto::Icmp,
                };
                let (lp, rp) = if proto == L4Proto::Icmp {
                    (inner.sport, inner.sport)
                } else {
                    (inner.sport, inner.dport)
                };
                match self.find_ep(ns, proto, (inner.src, lp), (inner.dst, rp)) {
                    Some(ep) => {
                        if self.recording() {
                            self.emit(Event::Deliver {
                                ns,
                                what: format!(
                                    "ICMP error type {ty} code {code} for a local socket"
                                ),
                                pkt: Box::new(pkt.clone()),
                            });
                        }
                        self.socket_error(ep, ty, code);
                    }
                    None => self.drop_pkt(ns, &pkt, DropReason::NoSocket),
                }
            }
        }
    }

    /// curl's connect check found an error: it reports it and closes the socket.
    fn connect_check_failed(&mut self, ep: usize, ty: u8, code: u8) {
        let (err, text) = if ty == ICMP_DEST_UNREACH && code == unreach::PORT {
            (ClientError::Refused, "Connection refused")
        } else if ty == ICMP_DEST_UNREACH && matches!(code, unreach::NET | unreach::NET_ANO) {
            (ClientError::Unreachable, "Network is unreachable")
        } else if ty == ICMP_DEST_UNREACH && code == unreach::PROTO {
            (ClientError::Unreachable, "Protocol not available")
        } else {
            (ClientError::Unreachable, "No route to host")
        };
        if self.recording() {
            self.emit(Event::Note {
                ns: self.endpoints[ep].ns,
                text: format!(
                    "an ICMP error (type {ty} code {code}) reached the connected socket; curl's SO_ERROR check after connect() reads it: {text}"
                ),
            });
        }
        let e = &mut self.endpoints[ep];
        e.result.connected = false;
        e.result.error = Some(err);
        e.result.error_text = Some(text.into());
        self.tcp_close(ep);
    }

    /// `tcp_v4_err()` / `__udp4_lib_err()` / ping: what an ICMP error does to a socket.
    fn socket_error(&mut self, ep: usize, ty: u8, code: u8) {
        // tcp_v4_err()/__udp4_lib_err(): ICMP_TIME_EXCEEDED counts as EHOSTUNREACH;
        // other types do not concern the socket.
        if ty == ICMP_TIME_EXCEEDED {
            return self.socket_error(ep, ICMP_DEST_UNREACH, unreach::HOST);
        }
        if ty != ICMP_DEST_UNREACH {
            return;
        }
        let e = &self.endpoints[ep];
        let err = if code == unreach::PORT {
            ClientError::Refused
        } else {
            ClientError::Unreachable
        };
        match e.proto {
            L4Proto::Tcp => {
                // A request socket (SYN_RECV) is dropped on a "fatal" error
                // (tcp_req_err() with icmp_err_convert[code].fatal).
                if e.st == TcpSt::SynRecv {
                    let fatal = !matches!(code, unreach::NET | unreach::HOST | 4 | 5 | 11 | 12);
                    if fatal {
                        self.endpoints[ep].st = TcpSt::Closed;
                    }
                    return;
                }
                // In SYN_SENT every destination-unreachable aborts the connect. "If we've
                // already connected we will keep trying until we time out": the error is
                // only kept as sk_err_soft.
                if e.st != TcpSt::SynSent {
                    if matches!(e.st, TcpSt::Established | TcpSt::FinSent) {
                        self.endpoints[ep].err_soft = Some((ty, code));
                    }
                    return;
                }
            }
            // The probe's UDP client sets IP_RECVERR (tools/capture/udp_client.py), so
            // every ICMP error reaches it, not only the "fatal" ones.
            L4Proto::Udp => {}
            L4Proto::Icmp => {}
        }
        let text = match (err, code) {
            (ClientError::Refused, _) => "Connection refused",
            (_, unreach::NET) | (_, unreach::NET_ANO) => "Network is unreachable",
            // icmp_err_convert[ICMP_PROT_UNREACH] = ENOPROTOOPT
            (_, unreach::PROTO) => "Protocol not available",
            _ => "No route to host",
        };
        let e = &mut self.endpoints[ep];
        e.result.error = Some(err);
        e.result.error_text = Some(text.into());
        e.st = TcpSt::Closed;
        if let Role::ProxyBack { front } = e.role {
            self.proxy_back_failed(front);
        }
    }

    fn tcp_rcv(&mut self, ns: NsId, pkt: Packet, sport: u16, dport: u16, flags: u8) {
        if let Some(ep) = self.find_ep(ns, L4Proto::Tcp, (pkt.dst, dport), (pkt.src, sport)) {
            if self.recording() {
                self.emit(Event::Deliver {
                    ns,
                    what: format!("TCP segment to {}", describe_role(&self.endpoints[ep].role)),
                    pkt: Box::new(pkt.clone()),
                });
            }
            let e = &mut self.endpoints[ep];
            if flags & RST == 0 {
                e.rcv_nxt = e.rcv_nxt.max(pkt.seq + pkt.seg_len());
            }
            self.tcp_input(ep, flags, pkt.payload);
            return;
        }
        if flags & SYN != 0 && flags & ACK == 0 {
            if let Some(l) = self.ns(ns).listener(L4Proto::Tcp, pkt.dst, dport).cloned() {
                let role = match l.app {
                    App::Server { process } => Role::Server { process },
                    App::Proxy(p) => Role::ProxyFront {
                        proxy: p,
                        back: None,
                    },
                };
                if self.recording() {
                    self.emit(Event::Deliver {
                        ns,
                        what: format!(
                            "SYN to listening socket {}:{} ({})",
                            l.addr,
                            l.port,
                            describe_role(&role)
                        ),
                        pkt: Box::new(pkt.clone()),
                    });
                }
                let ep = self.new_endpoint(
                    ns,
                    L4Proto::Tcp,
                    (pkt.dst, dport),
                    (pkt.src, sport),
                    role,
                    TcpSt::SynRecv,
                );
                self.endpoints[ep].rcv_nxt = pkt.seq + pkt.seg_len();
                self.tcp_send(ep, SYN | ACK, 0);
                return;
            }
        }
        if flags & RST != 0 {
            self.drop_pkt(ns, &pkt, DropReason::NoSocket);
            return;
        }
        // tcp_v4_send_reset(): nothing listens here.
        if self.recording() {
            self.emit(Event::Deliver {
                ns,
                what: format!(
                    "no socket on {}:{}: the kernel answers with RST",
                    pkt.dst, dport
                ),
                pkt: Box::new(pkt.clone()),
            });
        }
        let rflags = if flags & ACK != 0 { RST } else { RST | ACK };
        let rst = Packet {
            // "if (th->ack) rep.th.seq = th->ack_seq; else { rep.th.ack = 1; rep.th.ack_seq
            // = th->seq + syn + fin + len }"
            seq: if flags & ACK != 0 { pkt.ack } else { 0 },
            ack: if flags & ACK != 0 {
                0
            } else {
                pkt.seq + pkt.seg_len()
            },
            ..Packet::new(
                pkt.dst,
                pkt.src,
                L4::Tcp {
                    sport: dport,
                    dport: sport,
                    flags: rflags,
                },
                40,
            )
        };
        self.send_from(ns, rst);
    }

    /// One segment for an existing endpoint.
    fn tcp_input(&mut self, ep: usize, flags: u8, payload: u16) {
        let st = self.endpoints[ep].st;
        if flags & RST != 0 {
            let e = &mut self.endpoints[ep];
            if st == TcpSt::SynSent {
                e.result.error = Some(ClientError::Refused);
                e.result.error_text = Some("Connection refused".into());
            } else {
                e.result.reset = true;
                e.result.closed_by_peer = true;
            }
            e.st = TcpSt::Closed;
            match e.role.clone() {
                Role::ProxyBack { front } => self.proxy_back_failed(front),
                Role::ProxyFront { back: Some(b), .. } => self.tcp_close(b),
                _ => {}
            }
            return;
        }
        match st {
            TcpSt::SynSent => {
                if flags & SYN != 0 && flags & ACK != 0 {
                    self.endpoints[ep].st = TcpSt::Established;
                    self.endpoints[ep].result.connected = true;
                    self.tcp_send(ep, ACK, 0);
                    match self.endpoints[ep].role.clone() {
                        Role::Probe => {
                            // curl wakes up from connect() and writes its request.
                            let len = self.endpoints[ep].request_len;
                            self.app(
                                ep,
                                AppAction::Send {
                                    flags: ACK | PSH,
                                    payload: len,
                                },
                            );
                        }
                        Role::ProxyBack { front } => {
                            if let Some(len) = self.endpoints[front].pending.take() {
                                self.tcp_send(ep, ACK | PSH, len);
                            }
                        }
                        _ => {}
                    }
                }
            }
            TcpSt::SynRecv => {
                if flags & SYN != 0 && flags & ACK == 0 {
                    // A retransmitted SYN: the request socket answers again.
                    self.tcp_send(ep, SYN | ACK, 0);
                } else if flags & ACK != 0 {
                    self.endpoints[ep].st = TcpSt::Established;
                    if let Role::ProxyFront { .. } = self.endpoints[ep].role {
                        // docker-proxy's accept() returns; it then dials the container.
                        self.app(ep, AppAction::ProxyDial);
                    }
                    if payload > 0 {
                        self.tcp_data(ep, payload);
                    }
                }
            }
            TcpSt::Established | TcpSt::FinSent => {
                if st == TcpSt::FinSent && flags & ACK != 0 {
                    self.endpoints[ep].fin_acked = true;
                }
                if payload > 0 {
                    self.tcp_data(ep, payload);
                } else if flags == ACK
                    && self.endpoints[ep].close_on_ack
                    && st == TcpSt::Established
                {
                    self.endpoints[ep].close_on_ack = false;
                    self.app(ep, AppAction::Close);
                }
                if flags & FIN != 0 {
                    let e = &mut self.endpoints[ep];
                    e.result.closed_by_peer = true;
                    if st == TcpSt::FinSent {
                        // Both FINs seen: ACK it; the socket rests in TIME_WAIT.
                        e.st = TcpSt::Closed;
                        self.tcp_send(ep, ACK, 0);
                    } else {
                        // The peer closed first: we close too (LAST_ACK).
                        e.st = TcpSt::FinSent;
                        self.tcp_send(ep, ACK | FIN, 0);
                    }
                    match self.endpoints[ep].role.clone() {
                        Role::ProxyBack { front } => self.tcp_close(front),
                        Role::ProxyFront { back: Some(b), .. } => self.tcp_close(b),
                        _ => {}
                    }
                }
            }
            TcpSt::Closed => {}
        }
    }

    /// Data arrived on an established connection.
    fn tcp_data(&mut self, ep: usize, payload: u16) {
        match self.endpoints[ep].role.clone() {
            Role::Probe => {
                self.endpoints[ep].result.response = true;
                self.tcp_send(ep, ACK, 0);
            }
            Role::Server { process } => {
                // The kernel ACKs the request; the server process then answers. Python's
                // http.server writes headers and body separately and closes at once;
                // busybox httpd writes once and closes after the client's ACK (as the
                // fixtures' traces show).
                self.tcp_send(ep, ACK, 0);
                if process.contains("python") {
                    for payload in [PY_HEADERS_LEN, PY_BODY_LEN] {
                        self.app(
                            ep,
                            AppAction::Send {
                                flags: ACK | PSH,
                                payload,
                            },
                        );
                    }
                    self.app(ep, AppAction::Close);
                } else {
                    self.app(
                        ep,
                        AppAction::Send {
                            flags: ACK | PSH,
                            payload: RESPONSE_LEN,
                        },
                    );
                    self.endpoints[ep].close_on_ack = true;
                }
            }
            Role::ProxyFront { back, .. } => {
                self.tcp_send(ep, ACK, 0);
                match back {
                    Some(b) if self.endpoints[b].st == TcpSt::Established => {
                        self.tcp_send(b, ACK | PSH, payload)
                    }
                    _ => self.endpoints[ep].pending = Some(payload),
                }
            }
            Role::ProxyBack { front } => {
                self.endpoints[ep].result.response = true;
                self.tcp_send(ep, ACK, 0);
                if self.endpoints[front].st == TcpSt::Established {
                    self.tcp_send(front, ACK | PSH, payload);
                }
            }
        }
    }

    /// Close our side: FIN.
    pub(crate) fn tcp_close(&mut self, ep: usize) {
        match self.endpoints[ep].st {
            TcpSt::Established => {
                self.endpoints[ep].st = TcpSt::FinSent;
                self.tcp_send(ep, ACK | FIN, 0);
                self.schedule(
                    FIN_RTO_MS,
                    Task::Timer {
                        ep,
                        kind: TimerKind::FinRetransmit(1),
                    },
                );
            }
            TcpSt::SynSent | TcpSt::SynRecv => self.endpoints[ep].st = TcpSt::Closed,
            _ => {}
        }
    }

    /// docker-proxy accepted a connection: dial the container from the proxy's namespace.
    fn proxy_dial(&mut self, front: usize, proxy: UserlandProxy) {
        let ns = self.endpoints[front].ns;
        let dst = proxy.container_ip;
        if self.recording() {
            self.emit(Event::Note {
                ns,
                text: format!(
                    "docker-proxy accepted {}:{}; it dials {}:{} from this namespace",
                    self.endpoints[front].remote.0,
                    self.endpoints[front].remote.1,
                    dst,
                    proxy.container_port
                ),
            });
        }
        let route = match self.route_output(ns, dst, None, 0) {
            Ok(r) => r,
            Err(_) => {
                self.proxy_back_failed(front);
                return;
            }
        };
        let port = self.ephemeral_port();
        let b = self.new_endpoint(
            ns,
            proxy.proto,
            (route.src, port),
            (dst, proxy.container_port),
            Role::ProxyBack { front },
            TcpSt::SynSent,
        );
        if let Role::ProxyFront { back, .. } = &mut self.endpoints[front].role {
            *back = Some(b);
        }
        self.tcp_send(b, SYN, 0);
        self.schedule(
            1000,
            Task::Timer {
                ep: b,
                kind: TimerKind::Retransmit(1),
            },
        );
        self.schedule(
            3000,
            Task::Timer {
                ep: b,
                kind: TimerKind::Retransmit(2),
            },
        );
    }

    /// The proxy's onward connection failed: it closes the client's connection.
    /// Closing a socket with unread data (the client's request) sends a RST instead of a
    /// FIN (`tcp_close()`: "data was lost").
    fn proxy_back_failed(&mut self, front: usize) {
        let ns = self.endpoints[front].ns;
        let unread = self.endpoints[front].pending.take().is_some();
        if self.recording() {
            self.emit(Event::Note {
                ns,
                text: format!(
                    "docker-proxy's onward connection failed: it closes the client's connection{}",
                    if unread { " (unread request: RST)" } else { "" }
                ),
            });
        }
        if unread && self.endpoints[front].st == TcpSt::Established {
            self.endpoints[front].st = TcpSt::Closed;
            self.tcp_send(front, ACK | RST, 0);
        } else {
            self.tcp_close(front);
        }
    }

    fn udp_rcv(&mut self, ns: NsId, pkt: Packet, sport: u16, dport: u16) {
        if let Some(ep) = self.find_ep(ns, L4Proto::Udp, (pkt.dst, dport), (pkt.src, sport)) {
            if self.recording() {
                self.emit(Event::Deliver {
                    ns,
                    what: format!(
                        "UDP datagram to {}",
                        describe_role(&self.endpoints[ep].role)
                    ),
                    pkt: Box::new(pkt.clone()),
                });
            }
            self.endpoints[ep].result.response = true;
            if let Role::ProxyBack { front } = self.endpoints[ep].role {
                let len = pkt.payload;
                self.udp_send(front, len);
            }
            return;
        }
        let Some(l) = self.ns(ns).listener(L4Proto::Udp, pkt.dst, dport).cloned() else {
            // __udp4_lib_rcv(): no socket, ICMP port unreachable.
            if self.recording() {
                self.emit(Event::Deliver {
                    ns,
                    what: format!(
                        "no socket on {}:{}/udp: the kernel answers ICMP port unreachable",
                        pkt.dst, dport
                    ),
                    pkt: Box::new(pkt.clone()),
                });
            }
            self.icmp_send(ns, &pkt, ICMP_DEST_UNREACH, unreach::PORT, true);
            return;
        };
        match l.app {
            App::Server { process } => {
                if self.recording() {
                    self.emit(Event::Deliver {
                        ns,
                        what: format!(
                            "UDP datagram to {process} on {}:{}: it echoes",
                            l.addr, l.port
                        ),
                        pkt: Box::new(pkt.clone()),
                    });
                }
                let Some(src) = self.udp_reply_source(ns, l.addr, pkt.src) else {
                    return;
                };
                let ep = self.new_endpoint(
                    ns,
                    L4Proto::Udp,
                    (src, dport),
                    (pkt.src, sport),
                    Role::Server { process },
                    TcpSt::Established,
                );
                self.udp_send(ep, pkt.payload);
                self.endpoints[ep].st = TcpSt::Closed;
            }
            App::Proxy(p) => {
                if self.recording() {
                    self.emit(Event::Deliver {
                        ns,
                        what: format!("UDP datagram to docker-proxy on {}:{}", l.addr, l.port),
                        pkt: Box::new(pkt.clone()),
                    });
                }
                let Some(src) = self.udp_reply_source(ns, l.addr, pkt.src) else {
                    return;
                };
                let front = self.new_endpoint(
                    ns,
                    L4Proto::Udp,
                    (src, dport),
                    (pkt.src, sport),
                    Role::ProxyFront {
                        proxy: p,
                        back: None,
                    },
                    TcpSt::Established,
                );
                let Ok(route) = self.route_output(ns, p.container_ip, None, 0) else {
                    return;
                };
                let port = self.ephemeral_port();
                let b = self.new_endpoint(
                    ns,
                    L4Proto::Udp,
                    (route.src, port),
                    (p.container_ip, p.container_port),
                    Role::ProxyBack { front },
                    TcpSt::Established,
                );
                self.udp_send(b, pkt.payload);
            }
        }
    }

    /// The source of what a UDP listener bound to `bound` sends back to `client`. A socket bound to
    /// 0.0.0.0 answers with sendto() (the echo server) or WriteTo() (docker-proxy, whose
    /// default -host-ip is 0.0.0.0): the source is the routing choice toward the client,
    /// not necessarily the address the datagram was sent to. `None`: no route back.
    fn udp_reply_source(&self, ns: NsId, bound: Ipv4Addr, client: Ipv4Addr) -> Option<Ipv4Addr> {
        if !bound.is_unspecified() {
            return Some(bound);
        }
        self.route_output(ns, client, None, 0).ok().map(|r| r.src)
    }

    pub(crate) fn udp_send(&mut self, ep: usize, payload: u16) {
        let e = &self.endpoints[ep];
        let (ns, local, remote) = (e.ns, e.local, e.remote);
        let pkt = self.base_packet(
            ep,
            L4::Udp {
                sport: local.1,
                dport: remote.1,
            },
            payload,
            None,
        );
        self.send_from(ns, pkt);
    }

    /// Queue a process's action on its socket (see [`Task::App`]).
    pub(crate) fn app(&mut self, ep: usize, action: AppAction) {
        self.schedule(0, Task::App { ep, action });
    }

    pub(crate) fn on_app(&mut self, ep: usize, action: AppAction) {
        match action {
            AppAction::Send { flags, payload } => {
                let e = &self.endpoints[ep];
                if e.role == Role::Probe && !e.result.response && e.st == TcpSt::Established {
                    // curl checks getsockopt(SO_ERROR) once connect() reports the socket
                    // writable; SO_ERROR hands over sk_err_soft, and curl gives up with
                    // "Failed to connect" before writing its request.
                    if let Some((ty, code)) = self.endpoints[ep].err_soft.take() {
                        self.connect_check_failed(ep, ty, code);
                        return;
                    }
                }
                if matches!(self.endpoints[ep].st, TcpSt::Established) {
                    self.tcp_send(ep, flags, payload);
                }
            }
            AppAction::Close => self.tcp_close(ep),
            AppAction::ProxyDial => {
                if let Role::ProxyFront { proxy, back: None } = self.endpoints[ep].role.clone() {
                    if self.endpoints[ep].st == TcpSt::Established {
                        self.proxy_dial(ep, proxy);
                    }
                }
            }
        }
    }

    pub(crate) fn on_timer(&mut self, ep: usize, kind: TimerKind) {
        let e = &self.endpoints[ep];
        match kind {
            TimerKind::Retransmit(_) => {
                if e.proto == L4Proto::Tcp && e.st == TcpSt::SynSent {
                    if self.recording() {
                        self.emit(Event::Note {
                            ns: e.ns,
                            text: "no answer: the SYN is sent again".into(),
                        });
                    }
                    self.tcp_send(ep, SYN, 0);
                }
            }
            TimerKind::FinRetransmit(n) => {
                // tcp_retransmit_timer(): the FIN goes again after the RTO (TCP_RTO_MIN
                // on a fast link), doubling each time. Conntrack sees a second FIN from
                // the same side: FIN_WAIT becomes LAST_ACK.
                if e.proto == L4Proto::Tcp && e.st == TcpSt::FinSent && !e.fin_acked {
                    if self.recording() {
                        self.emit(Event::Note {
                            ns: e.ns,
                            text: "our FIN was not acknowledged: it is sent again".into(),
                        });
                    }
                    self.tcp_send(ep, ACK | FIN, 0);
                    if n < 6 {
                        self.schedule(
                            FIN_RTO_MS << n,
                            Task::Timer {
                                ep,
                                kind: TimerKind::FinRetransmit(n + 1),
                            },
                        );
                    }
                }
            }
            TimerKind::Deadline => {
                if e.st != TcpSt::Closed || !e.result.response {
                    let ns = e.ns;
                    if self.recording() {
                        self.emit(Event::Note {
                            ns,
                            text: "the client gives up (3 s)".into(),
                        });
                    }
                }
            }
        }
    }
}

pub fn describe_role(r: &Role) -> String {
    match r {
        Role::Probe => "the probe's client".into(),
        Role::Server { process } => format!("{process} (server)"),
        Role::ProxyFront { proxy, .. } => format!(
            "docker-proxy (forwarding to {}:{})",
            proxy.container_ip, proxy.container_port
        ),
        Role::ProxyBack { .. } => "docker-proxy's onward connection".into(),
    }
}
