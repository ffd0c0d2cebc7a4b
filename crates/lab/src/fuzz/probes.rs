//! Random probes for a generated world: TCP, UDP and ICMP from any namespace to the
//! addresses of the world — open ports, closed ports, ports the rules talk about,
//! published ports and service addresses, `127.0.0.1` from inside a namespace, an address
//! nobody has — traced in the namespace that has the rules.

use super::shapes::Shaped;
use pktpath_world::{L4Proto, Probe};
use rand::seq::SliceRandom;
use rand::Rng;
use std::net::Ipv4Addr;

/// An address no namespace has (routed nowhere, or to a namespace that drops it).
const NOWHERE: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cand {
    proto: L4Proto,
    dst: Ipv4Addr,
    port: Option<u16>,
}

/// Up to `n` distinct probes.
pub fn pick(sh: &Shaped, rng: &mut impl Rng, n: usize) -> Vec<Probe> {
    let w = &sh.world;
    let mut out: Vec<Probe> = Vec::new();
    let mut seen: Vec<(String, Cand)> = Vec::new();
    let mut tries = 0;
    while out.len() < n && tries < 50 * n {
        tries += 1;
        let from = &w.namespaces.choose(rng).expect("a namespace").name;
        // (open sockets, icmp targets, closed/rule ports) for this client.
        let mut open = Vec::new();
        let mut icmp = Vec::new();
        let mut closed = Vec::new();
        for ns in &w.namespaces {
            let mut addrs: Vec<Ipv4Addr> = ns
                .interfaces
                .iter()
                .flat_map(|i| i.addrs.iter().map(|a| a.addr))
                .filter(|a| !a.is_loopback())
                .collect();
            if &ns.name == from {
                addrs.push(Ipv4Addr::LOCALHOST);
            }
            for a in addrs {
                icmp.push(Cand {
                    proto: L4Proto::Icmp,
                    dst: a,
                    port: None,
                });
                for s in &ns.sockets {
                    if s.addr == a || s.addr.is_unspecified() {
                        open.push(Cand {
                            proto: s.proto,
                            dst: a,
                            port: Some(s.port),
                        });
                    }
                }
                let rp = sh.rule_ports.choose(rng).copied().unwrap_or(9999);
                for port in [9999, rp] {
                    closed.push(Cand {
                        proto: L4Proto::Tcp,
                        dst: a,
                        port: Some(port),
                    });
                    closed.push(Cand {
                        proto: L4Proto::Udp,
                        dst: a,
                        port: Some(port),
                    });
                }
            }
        }
        let targets: Vec<Cand> = sh
            .targets
            .iter()
            .filter(|t| !t.addr.is_loopback() || from == &sh.trace_ns)
            .map(|t| Cand {
                proto: t.proto,
                dst: t.addr,
                port: Some(t.port),
            })
            .collect();
        let roll = rng.gen_range(0..100);
        let pool = match roll {
            0..=29 if !targets.is_empty() => targets,
            0..=64 => open,
            65..=77 => icmp,
            78..=95 => closed,
            _ => vec![
                Cand {
                    proto: L4Proto::Tcp,
                    dst: NOWHERE,
                    port: Some(80),
                },
                Cand {
                    proto: L4Proto::Icmp,
                    dst: NOWHERE,
                    port: None,
                },
            ],
        };
        let Some(c) = pool.choose(rng).copied() else {
            continue;
        };
        if seen.iter().any(|(f, x)| f == from && *x == c) {
            continue;
        }
        seen.push((from.clone(), c));
        let i = out.len() + 1;
        let name = match c.port {
            Some(p) => format!("p{i}-{from}-{}-{}-{p}", c.proto.as_str(), c.dst),
            None => format!("p{i}-{from}-{}-{}", c.proto.as_str(), c.dst),
        };
        out.push(Probe {
            name,
            from: from.clone(),
            proto: c.proto,
            dst: c.dst,
            dport: c.port,
            sport: None,
            expect: None,
            trace: None,
            trace_namespace: Some(sh.trace_ns.clone()),
            note: None,
            keep_conntrack: false,
        });
    }
    out
}
