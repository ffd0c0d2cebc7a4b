//! The engine's events as `xtables-monitor --trace` prints them in one namespace:
//! a PACKET line at the first traced event of each base-chain invocation, then a TRACE
//! line per matched rule or policy. Only packets whose `nftrace` is set are traced (the
//! capture's `-j TRACE` rules in the raw table set it), untouched built-in chains do not
//! exist and so never appear, and REJECT is traced DROP after the lines of what it sent.

use pktpath_engine::packet::{Packet, L4};
use pktpath_engine::ruleset::CRuleset;
use pktpath_engine::topology::{IfId, NsId, Topology};
use pktpath_engine::{Event, Hook, ProbeRun, Sim, Verdict};
use pktpath_rules::TableName;
use pktpath_trace::{
    Ipv4Header, L4Info, LinkLayer, MacHeader, NetworkHeader, PacketLine, TcpFlags, TraceKind,
    TraceLine, Verdict as XtVerdict, XtLine,
};

struct Invocation {
    table: TableName,
    pkt: Box<Packet>,
    oif: Option<IfId>,
    hook: Hook,
    dumped: bool,
    id: u32,
}

/// Render the trace of namespace `ns` from a probe's events.
pub fn lines(sim: &Sim, run: &ProbeRun, ns: NsId) -> Vec<XtLine> {
    let rs = run.rules(sim, ns);
    let topo = &sim.topo;
    let events = &run.events;
    let mut out = Vec::new();
    let mut stack: Vec<Invocation> = Vec::new();
    for e in events {
        match e {
            Event::Chain {
                ns: n,
                hook,
                table,
                pkt,
                oif,
                ..
            } if *n == ns => {
                let id = trace_id(pkt, *hook);
                stack.push(Invocation {
                    table: *table,
                    pkt: pkt.clone(),
                    oif: *oif,
                    hook: *hook,
                    dumped: false,
                    id,
                });
            }
            Event::Rule {
                ns: n,
                table,
                chain,
                rule,
                verdict,
                traced,
                ..
            } if *n == ns => {
                let terminal = matches!(verdict, Verdict::Accept | Verdict::Drop);
                if *traced {
                    let inv = top(&mut stack, *table);
                    let id = emit_packet(&mut out, inv, topo);
                    let c = &rs_table(rs, *table).chains[*chain as usize];
                    let r = &c.rules[*rule as usize];
                    out.push(XtLine::Trace(TraceLine {
                        family: 2,
                        trace_id: id,
                        table: table.as_str().to_string(),
                        chain: c.name.clone(),
                        kind: TraceKind::Rule {
                            handle: r.handle,
                            verdict: xt_verdict(*verdict, rs, *table),
                            rule_text: format!("-4 -t {} {}", table.as_str(), r.text),
                        },
                    }));
                }
                if terminal {
                    pop(&mut stack, *table);
                }
            }
            Event::Policy {
                ns: n,
                table,
                chain,
                verdict,
                traced,
                ..
            } if *n == ns => {
                if *traced {
                    let inv = top(&mut stack, *table);
                    let id = emit_packet(&mut out, inv, topo);
                    let c = &rs_table(rs, *table).chains[*chain as usize];
                    out.push(XtLine::Trace(TraceLine {
                        family: 2,
                        trace_id: id,
                        table: table.as_str().to_string(),
                        chain: c.name.clone(),
                        kind: TraceKind::Policy(xt_verdict(*verdict, rs, *table)),
                    }));
                }
                pop(&mut stack, *table);
            }
            _ => {}
        }
    }
    out
}

fn rs_table(rs: &CRuleset, t: TableName) -> &pktpath_engine::ruleset::CTable {
    rs.table(t).expect("events name existing tables")
}

fn top(stack: &mut [Invocation], table: TableName) -> Option<&mut Invocation> {
    stack.iter_mut().rev().find(|i| i.table == table)
}

fn pop(stack: &mut Vec<Invocation>, table: TableName) {
    if let Some(i) = stack.iter().rposition(|i| i.table == table) {
        stack.remove(i);
    }
}

fn emit_packet(out: &mut Vec<XtLine>, inv: Option<&mut Invocation>, topo: &Topology) -> u32 {
    let Some(inv) = inv else { return 0 };
    if !inv.dumped {
        inv.dumped = true;
        out.push(XtLine::Packet(packet_line(
            &inv.pkt, inv.oif, inv.hook, inv.id, topo,
        )));
    }
    inv.id
}

/// A stand-in for the kernel's trace id (a hash of the skb): stable for one packet
/// within one hook pass.
fn trace_id(p: &Packet, hook: Hook) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut mix = |x: u32| {
        h ^= x;
        h = h.wrapping_mul(0x0100_0193);
    };
    mix(p.ip_id as u32);
    mix(p.len as u32);
    mix(u32::from(p.src));
    mix(p.looped as u32);
    mix(p.iif.map(|i| i.idx as u32 + 1).unwrap_or(0));
    mix(matches!(hook, Hook::Forward | Hook::Postrouting) as u32);
    h
}

fn packet_line(p: &Packet, oif: Option<IfId>, hook: Hook, id: u32, topo: &Topology) -> PacketLine {
    let iif = p.iif.map(|i| topo.name(i).to_string());
    let oif = match hook {
        Hook::Prerouting | Hook::Input => None,
        _ => oif.map(|i| topo.name(i).to_string()),
    };
    let link = if p.looped {
        Some(LinkLayer::Loopback)
    } else {
        match (hook, p.mac) {
            (Hook::Output, _) => None,
            (_, Some((src, dst))) if p.iif.is_some() => Some(LinkLayer::Ether(MacHeader {
                src,
                dst,
                proto: 0x0800,
            })),
            _ => None,
        }
    };
    let mut ip = Ipv4Header::new(p.src, p.dst);
    ip.len = p.len;
    ip.tos = p.tos;
    ip.ttl = p.ttl;
    ip.id = p.ip_id;
    ip.df = p.df;
    let l4 = match p.l4 {
        L4::Tcp {
            sport,
            dport,
            flags,
        } => L4Info::Tcp {
            sport,
            dport,
            flags: TcpFlags(flags),
        },
        L4::Udp { sport, dport } => L4Info::Ports { sport, dport },
        _ => L4Info::None,
    };
    PacketLine {
        family: 2,
        trace_id: id,
        iif,
        oif,
        nfproto: None,
        link,
        network: Some(NetworkHeader::Ipv4(ip)),
        l4,
        mark: p.mark,
    }
}

fn xt_verdict(v: Verdict, rs: &CRuleset, table: TableName) -> XtVerdict {
    let name = |c: u32| rs_table(rs, table).chains[c as usize].name.clone();
    match v {
        Verdict::Accept => XtVerdict::Accept,
        Verdict::Drop => XtVerdict::Drop,
        Verdict::Continue => XtVerdict::Continue,
        Verdict::Jump(c) => XtVerdict::Jump(name(c)),
        Verdict::Goto(c) => XtVerdict::Goto(name(c)),
        Verdict::Return => XtVerdict::Return,
    }
}
