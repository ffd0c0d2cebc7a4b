//! Running a probe: the client's attempt from a namespace (curl for TCP, a UDP client
//! sending one datagram, ping for ICMP), the whole exchange it causes, and what the
//! client saw. When a trace namespace is named, the capture's TRACE rules are inserted
//! into its raw table first, exactly as `tools/capture/probe.py` does on the real kernel.

use crate::endpoint::{ClientError, Role, TcpSt};
use crate::event::Event;
use crate::packet::{tcp_flags, Packet, ICMP_ECHO, L4};
use crate::ruleset::CRuleset;
use crate::sim::{Sim, Task, TimerKind};
use crate::topology::NsId;
use pktpath_rules::{parse_rule, TableName};
use pktpath_world::{L4Proto, Outcome};
use std::net::Ipv4Addr;

/// What to probe.
#[derive(Debug, Clone)]
pub struct ProbeSpec {
    pub from: String,
    pub proto: L4Proto,
    pub dst: Ipv4Addr,
    pub dport: Option<u16>,
    pub sport: Option<u16>,
    /// Insert the capture's TRACE rules in this namespace.
    pub trace_ns: Option<String>,
    /// Keep conntrack entries of earlier probes (the capture's `--keep-conntrack`).
    pub keep_conntrack: bool,
}

/// The result of a probe.
#[derive(Debug, Clone)]
pub struct ProbeRun {
    pub outcome: Outcome,
    /// What the client printed, in its words (curl's error, ping's summary...).
    pub client_says: String,
    pub sport: u16,
    pub events: Vec<Event>,
    /// A rule the engine cannot evaluate was met (treated as matching).
    pub uncertain: bool,
    /// The trace namespace's ruleset as it was during the run (with the TRACE rules),
    /// which the events' rule indices refer to.
    pub traced_rules: Option<(NsId, CRuleset)>,
}

impl ProbeRun {
    /// The ruleset the events of namespace `ns` refer to.
    pub fn rules<'a>(&'a self, sim: &'a Sim, ns: NsId) -> &'a CRuleset {
        match &self.traced_rules {
            Some((n, rs)) if *n == ns => rs,
            _ => &sim.ns(ns).rules,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("no namespace named `{0}` in this world")]
    NoNamespace(String),
    #[error("a {0} probe needs a destination port")]
    NoPort(&'static str),
}

/// The client gives up after 3 s (`curl -m 3`, `ping -W 3`, the UDP client's timeout).
pub const CLIENT_TIMEOUT_MS: u64 = 3000;
const UDP_PAYLOAD: u16 = 18;
const PING_PAYLOAD: u16 = 56;

/// The capture's TRACE rules for a probe from local port `lport`, in insertion order
/// (each is inserted at position 1).
pub fn trace_rules(proto: L4Proto, lport: u16) -> Vec<(&'static str, String)> {
    if proto == L4Proto::Icmp {
        return vec![
            ("PREROUTING", "-A PREROUTING -p icmp -j TRACE".into()),
            ("OUTPUT", "-A OUTPUT -p icmp -j TRACE".into()),
        ];
    }
    let p = proto.as_str();
    let mut v = Vec::new();
    for chain in ["PREROUTING", "OUTPUT"] {
        v.push((
            chain,
            format!("-A {chain} -p {p} -m {p} --sport {lport} -j TRACE"),
        ));
        v.push((
            chain,
            format!("-A {chain} -p {p} -m {p} --dport {lport} -j TRACE"),
        ));
        v.push((chain, format!("-A {chain} -p icmp -j TRACE")));
    }
    v
}

impl Sim {
    pub fn probe(&mut self, spec: &ProbeSpec) -> Result<ProbeRun, ProbeError> {
        let ns = self
            .ns_by_name(&spec.from)
            .ok_or_else(|| ProbeError::NoNamespace(spec.from.clone()))?;
        let trace_ns = match &spec.trace_ns {
            Some(n) => Some(
                self.ns_by_name(n)
                    .ok_or_else(|| ProbeError::NoNamespace(n.clone()))?,
            ),
            None => None,
        };
        let dport = match spec.proto {
            L4Proto::Icmp => 0,
            L4Proto::Tcp => spec.dport.ok_or(ProbeError::NoPort("tcp"))?,
            L4Proto::Udp => spec.dport.ok_or(ProbeError::NoPort("udp"))?,
        };
        self.reset_traffic(!spec.keep_conntrack);
        self.now = 0;
        let sport = spec.sport.unwrap_or_else(|| self.ephemeral_port());
        let saved = trace_ns.map(|t| {
            let saved = self.ns(t).rules.clone();
            for (chain, text) in trace_rules(spec.proto, sport) {
                let (_, rule) =
                    parse_rule(&text, "<trace rule>", 1).expect("TRACE rules are valid");
                self.ns_mut(t)
                    .rules
                    .insert_first(TableName::Raw, chain, rule);
            }
            (t, saved)
        });
        let mut run = self.run_client(ns, spec, sport, dport);
        if let Some((t, rules)) = saved {
            let traced = std::mem::replace(&mut self.ns_mut(t).rules, rules);
            run.traced_rules = Some((t, traced));
        }
        Ok(run)
    }

    fn run_client(&mut self, ns: NsId, spec: &ProbeSpec, sport: u16, dport: u16) -> ProbeRun {
        let route = match self.route_output(ns, spec.dst, None, 0) {
            Ok(r) => r,
            Err(e) => {
                let says = match e {
                    crate::fib::RouteError::NetUnreachable => "connect: Network is unreachable",
                    crate::fib::RouteError::Prohibited => "connect: Permission denied",
                    crate::fib::RouteError::Blackhole => "connect: Invalid argument",
                    _ => "connect: No route to host",
                };
                if self.recording() {
                    self.emit(Event::Note {
                        ns,
                        text: format!(
                            "the client's own routing has no way to {}: {says}",
                            spec.dst
                        ),
                    });
                }
                return ProbeRun {
                    outcome: Outcome::NoRoute,
                    client_says: says.into(),
                    sport,
                    events: self.events.as_mut().map(std::mem::take).unwrap_or_default(),
                    uncertain: false,
                    traced_rules: None,
                };
            }
        };
        let (remote_port, local_port) = match spec.proto {
            L4Proto::Icmp => (sport, sport),
            _ => (dport, sport),
        };
        let ep = self.new_endpoint(
            ns,
            spec.proto,
            (route.src, local_port),
            (spec.dst, remote_port),
            Role::Probe,
            if spec.proto == L4Proto::Tcp {
                TcpSt::SynSent
            } else {
                TcpSt::Established
            },
        );
        match spec.proto {
            L4Proto::Tcp => {
                // curl's request: "GET / HTTP/1.1\r\nHost: IP:PORT\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
                let host = format!("{}:{}", spec.dst, dport);
                self.endpoints[ep].request_len = 64 + host.len() as u16;
                self.tcp_send(ep, tcp_flags::SYN, 0);
                // SYN retransmissions (RTO 1 s, doubling) until curl gives up.
                self.schedule(
                    1000,
                    Task::Timer {
                        ep,
                        kind: TimerKind::Retransmit(1),
                    },
                );
                self.schedule(
                    3000,
                    Task::Timer {
                        ep,
                        kind: TimerKind::Retransmit(2),
                    },
                );
            }
            L4Proto::Udp => {
                self.xmit_error = None;
                self.udp_send(ep, UDP_PAYLOAD);
                if let Some(err) = self.xmit_error.take() {
                    // send() failed: the client reports it and stops. The route the NAT
                    // asked for does not exist, so it counts as "no route".
                    let e = &mut self.endpoints[ep];
                    e.result.error = Some(ClientError::Unreachable);
                    e.result.error_text = Some(format!("send failed: {err}"));
                    e.st = TcpSt::Closed;
                }
            }
            L4Proto::Icmp => {
                let id = self.endpoints[ep].ip_id;
                let pkt = Packet {
                    ip_id: id,
                    sk_uid: Some(0),
                    payload: PING_PAYLOAD,
                    ..Packet::new(
                        route.src,
                        spec.dst,
                        L4::IcmpEcho {
                            ty: ICMP_ECHO,
                            id: sport,
                            seq: 1,
                        },
                        28 + PING_PAYLOAD,
                    )
                };
                self.send_from(ns, pkt);
            }
        }
        self.schedule(
            CLIENT_TIMEOUT_MS + 1,
            Task::Timer {
                ep,
                kind: TimerKind::Deadline,
            },
        );
        self.run_until(CLIENT_TIMEOUT_MS + 1);
        let r = self.endpoints[ep].result.clone();
        let (outcome, says) = match spec.proto {
            L4Proto::Tcp => {
                if r.connected {
                    if r.response {
                        (Outcome::Connected, "HTTP response received".to_string())
                    } else if r.closed_by_peer || r.reset {
                        (
                            Outcome::ResetAfterConnect,
                            if r.reset {
                                "curl: (56) Recv failure: Connection reset by peer".to_string()
                            } else {
                                "curl: (52) Empty reply from server".to_string()
                            },
                        )
                    } else {
                        (Outcome::Timeout, "curl: (28) Operation timed out after 3000 milliseconds with 0 bytes received".into())
                    }
                } else {
                    match r.error {
                        Some(ClientError::Refused) => {
                            (Outcome::Refused, "curl: (7) Connection refused".into())
                        }
                        Some(ClientError::Unreachable) => (
                            Outcome::NoRoute,
                            format!("curl: (7) {}", r.error_text.clone().unwrap_or_default()),
                        ),
                        None => (
                            Outcome::Timeout,
                            "curl: (28) Connection timed out after 3001 milliseconds".into(),
                        ),
                    }
                }
            }
            L4Proto::Udp | L4Proto::Icmp => {
                if r.response {
                    (Outcome::Connected, "reply received".into())
                } else {
                    match r.error {
                        Some(ClientError::Refused) => {
                            (Outcome::Refused, "Connection refused".into())
                        }
                        Some(ClientError::Unreachable) => {
                            (Outcome::NoRoute, r.error_text.clone().unwrap_or_default())
                        }
                        None => (Outcome::Timeout, "no reply within 3 s".into()),
                    }
                }
            }
        };
        let events = match self.events.as_mut() {
            Some(e) => std::mem::take(e),
            None => Vec::new(),
        };
        ProbeRun {
            outcome,
            client_says: says,
            sport,
            events,
            uncertain: self.uncertain,
            traced_rules: None,
        }
    }
}
