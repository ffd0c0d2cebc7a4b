//! The trace for people: per packet, the namespace, hook, table, chain, each matched
//! rule as iptables-save text with its position, verdicts, conntrack and NAT changes,
//! routing decisions, interfaces crossed, deliveries and drops. Colour when asked.

use owo_colors::OwoColorize;
use pktpath_engine::event::DropReason;
use pktpath_engine::packet::{tcp_flags, Packet, L4};
use pktpath_engine::topology::IfId;
use pktpath_engine::{Event, ProbeRun, RouteDecision, Sim, Verdict};
use std::fmt::Write as _;

/// Render options.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    pub color: bool,
}

struct Out {
    s: String,
    color: bool,
}

impl Out {
    fn line(&mut self, indent: usize, text: &str) {
        let _ = writeln!(self.s, "{:indent$}{text}", "", indent = indent);
    }
    fn paint(&self, text: &str, style: Style) -> String {
        if !self.color {
            return text.to_string();
        }
        match style {
            Style::Ns => text.cyan().bold().to_string(),
            Style::Accept => text.green().to_string(),
            Style::Drop => text.red().bold().to_string(),
            Style::Dim => text.dimmed().to_string(),
            Style::Nat => text.magenta().to_string(),
            Style::Head => text.bold().to_string(),
        }
    }
}

#[derive(Clone, Copy)]
enum Style {
    Ns,
    Accept,
    Drop,
    Dim,
    Nat,
    Head,
}

/// A one-line summary of a packet: `TCP 10.0.0.2:41000 → 10.0.0.1:80 [SYN] len 60`.
pub fn packet_summary(p: &Packet) -> String {
    match p.l4 {
        L4::Tcp {
            sport,
            dport,
            flags,
        } => format!(
            "TCP {}:{} → {}:{} [{}] len {}",
            p.src,
            sport,
            p.dst,
            dport,
            flag_names(flags),
            p.len
        ),
        L4::Udp { sport, dport } => format!(
            "UDP {}:{} → {}:{} len {}",
            p.src, sport, p.dst, dport, p.len
        ),
        L4::IcmpEcho { ty, id, .. } => format!(
            "ICMP {} {} → {} id {}",
            if ty == 8 {
                "echo-request"
            } else {
                "echo-reply"
            },
            p.src,
            p.dst,
            id
        ),
        L4::IcmpError { ty, code, inner } => format!(
            "ICMP error type {ty} code {code} {} → {} (about {}:{} → {}:{})",
            p.src, p.dst, inner.src, inner.sport, inner.dst, inner.dport
        ),
    }
}

pub fn flag_names(f: u8) -> String {
    let mut v = Vec::new();
    for (bit, name) in [
        (tcp_flags::SYN, "SYN"),
        (tcp_flags::ACK, "ACK"),
        (tcp_flags::FIN, "FIN"),
        (tcp_flags::RST, "RST"),
        (tcp_flags::PSH, "PSH"),
    ] {
        if f & bit != 0 {
            v.push(name);
        }
    }
    v.join(",")
}

fn ifname(sim: &Sim, i: IfId) -> String {
    format!("{}:{}", sim.ns(i.ns).name, sim.topo.name(i))
}

fn verdict_text(
    sim: &Sim,
    run: &ProbeRun,
    ns: pktpath_engine::topology::NsId,
    table: pktpath_rules::TableName,
    v: Verdict,
) -> String {
    let name = |c: u32| {
        run.rules(sim, ns)
            .table(table)
            .map(|t| t.chains[c as usize].name.clone())
            .unwrap_or_default()
    };
    match v {
        Verdict::Accept => "ACCEPT".into(),
        Verdict::Drop => "DROP".into(),
        Verdict::Continue => "continue".into(),
        Verdict::Jump(c) => format!("jump {}", name(c)),
        Verdict::Goto(c) => format!("goto {}", name(c)),
        Verdict::Return => "RETURN".into(),
    }
}

/// Render a probe run.
pub fn render(
    sim: &Sim,
    run: &ProbeRun,
    only_ns: Option<pktpath_engine::topology::NsId>,
    opts: TextOptions,
) -> String {
    let mut o = Out {
        s: String::new(),
        color: opts.color,
    };
    let mut last_pkt: Option<Packet> = None;
    for e in &run.events {
        let ns_of = match e {
            Event::Chain { ns, .. }
            | Event::Rule { ns, .. }
            | Event::Policy { ns, .. }
            | Event::Conntrack { ns, .. }
            | Event::Nat { ns, .. }
            | Event::Route { ns, .. }
            | Event::Bridged { ns, .. }
            | Event::Deliver { ns, .. }
            | Event::Send { ns, .. }
            | Event::Drop { ns, .. }
            | Event::Log { ns, .. }
            | Event::Note { ns, .. } => Some(*ns),
            Event::Xmit { from, .. } => Some(from.ns),
            Event::Time(_) => None,
        };
        if let (Some(f), Some(n)) = (only_ns, ns_of) {
            if f != n {
                continue;
            }
        }
        let tag = |o: &Out, ns: pktpath_engine::topology::NsId| {
            o.paint(&format!("[{}]", sim.ns(ns).name), Style::Ns)
        };
        match e {
            Event::Time(t) => o.line(0, &o.paint(&format!("── t = {t} ms ──"), Style::Dim)),
            Event::Send { ns, what, pkt } => {
                o.line(
                    0,
                    &format!(
                        "{} {}: {}",
                        tag(&o, *ns),
                        o.paint(what, Style::Head),
                        packet_summary(pkt)
                    ),
                );
                last_pkt = Some((**pkt).clone());
            }
            Event::Route { ns, decision } => {
                let d = match decision {
                    RouteDecision::Local => "local delivery".to_string(),
                    RouteDecision::Forward { dev, via } => format!(
                        "forward out {}{}",
                        sim.topo.name(*dev),
                        via.map(|v| format!(" via {v}")).unwrap_or_default()
                    ),
                    RouteDecision::Output { dev, via, src } => format!(
                        "output dev {}{} src {src}",
                        sim.topo.name(*dev),
                        via.map(|v| format!(" via {v}")).unwrap_or_default()
                    ),
                    RouteDecision::Error(e) => e.clone(),
                };
                o.line(2, &format!("{} routing: {d}", tag(&o, *ns)));
            }
            Event::Chain {
                ns,
                hook,
                table,
                pkt,
                oif,
                ..
            } => {
                let inout = format!(
                    "{}{}",
                    pkt.iif
                        .map(|i| format!(" IN={}", sim.topo.name(i)))
                        .unwrap_or_default(),
                    oif.map(|i| format!(" OUT={}", sim.topo.name(i)))
                        .unwrap_or_default()
                );
                let changed = last_pkt.as_ref() != Some(pkt);
                let summary = if changed {
                    format!("  {}", packet_summary(pkt))
                } else {
                    String::new()
                };
                o.line(
                    2,
                    &format!(
                        "{} {} {}{}{}",
                        tag(&o, *ns),
                        hook.chain_name(),
                        table.as_str(),
                        o.paint(&inout, Style::Dim),
                        summary
                    ),
                );
                last_pkt = Some((**pkt).clone());
            }
            Event::Rule {
                ns,
                table,
                chain,
                rule,
                verdict,
                ..
            } => {
                let rs = run.rules(sim, *ns);
                let Some(t) = rs.table(*table) else { continue };
                let c = &t.chains[*chain as usize];
                let r = &c.rules[*rule as usize];
                let v = verdict_text(sim, run, *ns, *table, *verdict);
                let style = match verdict {
                    Verdict::Accept => Style::Accept,
                    Verdict::Drop => Style::Drop,
                    _ => Style::Dim,
                };
                o.line(
                    6,
                    &format!(
                        "{}:{} rule {}: {}  → {}",
                        table.as_str(),
                        c.name,
                        rule + 1,
                        r.text,
                        o.paint(&v, style)
                    ),
                );
            }
            Event::Policy {
                ns,
                table,
                chain,
                verdict,
                ..
            } => {
                let rs = run.rules(sim, *ns);
                let Some(t) = rs.table(*table) else { continue };
                let c = &t.chains[*chain as usize];
                let v = verdict_text(sim, run, *ns, *table, *verdict);
                let style = if *verdict == Verdict::Drop {
                    Style::Drop
                } else {
                    Style::Accept
                };
                o.line(
                    6,
                    &format!(
                        "{}:{} policy {}",
                        table.as_str(),
                        c.name,
                        o.paint(&v, style)
                    ),
                );
            }
            Event::Conntrack {
                info, orig, new, ..
            } => {
                let t = orig
                    .map(|t| format!(" {}:{} → {}:{}", t.src, t.sport, t.dst, t.dport))
                    .unwrap_or_default();
                o.line(
                    6,
                    &o.paint(
                        &format!(
                            "conntrack: {:?}{}{}",
                            info,
                            if *new { " (new entry)" } else { "" },
                            t
                        ),
                        Style::Dim,
                    ),
                );
            }
            Event::Nat {
                hook,
                before,
                after,
                first,
                ..
            } => {
                let kind = match hook {
                    pktpath_engine::Hook::Prerouting | pktpath_engine::Hook::Output => {
                        "destination"
                    }
                    _ => "source",
                };
                o.line(
                    6,
                    &o.paint(
                        &format!(
                            "NAT ({kind}{}): {}:{} → {}:{}  becomes  {}:{} → {}:{}",
                            if *first {
                                ", new binding"
                            } else {
                                ", from the connection's binding"
                            },
                            before.0,
                            before.2,
                            before.1,
                            before.3,
                            after.0,
                            after.2,
                            after.1,
                            after.3
                        ),
                        Style::Nat,
                    ),
                );
            }
            Event::Xmit { from, to, .. } => {
                if from == to {
                    o.line(
                        2,
                        &format!("→ loopback {} (re-enters PREROUTING)", ifname(sim, *from)),
                    );
                } else {
                    o.line(
                        2,
                        &format!("→ {} ⇒ {}", ifname(sim, *from), ifname(sim, *to)),
                    );
                }
            }
            Event::Bridged {
                bridge,
                in_port,
                out_port,
                ..
            } => o.line(
                2,
                &format!(
                    "bridge {}: {} → {}",
                    sim.topo.name(*bridge),
                    sim.topo.name(*in_port),
                    sim.topo.name(*out_port)
                ),
            ),
            Event::Deliver { ns, what, .. } => o.line(2, &format!("{} {}", tag(&o, *ns), what)),
            Event::Drop { ns, reason, pkt } => {
                let why = drop_text(reason);
                o.line(
                    2,
                    &format!(
                        "{} {} {} ({})",
                        tag(&o, *ns),
                        o.paint("DROPPED:", Style::Drop),
                        why,
                        packet_summary(pkt)
                    ),
                );
            }
            Event::Log { ns, text } | Event::Note { ns, text } => {
                o.line(2, &format!("{} {text}", tag(&o, *ns)))
            }
        }
    }
    o.s
}

pub fn drop_text(r: &DropReason) -> String {
    match r {
        DropReason::ForwardingDisabled => {
            "forwarding is disabled on the input interface (ip_forward=0); no ICMP is sent".into()
        }
        DropReason::NoRoute => "no route".into(),
        DropReason::Blackhole => "blackhole route".into(),
        DropReason::MartianSource => "martian source".into(),
        DropReason::MartianDestination => {
            "martian destination (127.0.0.0/8 from outside needs route_localnet)".into()
        }
        DropReason::BridgeNoHairpin => {
            "the bridge does not send a frame back out of the port it came in on (hairpin off)"
                .into()
        }
        DropReason::NeighbourUnreachable(ip) => format!("nobody answers ARP for {ip}"),
        DropReason::LinkDown => "interface down".into(),
        DropReason::TtlExceeded => "TTL exceeded".into(),
        DropReason::ConntrackClash => "conntrack clash".into(),
        DropReason::NoSocket => "no socket wants it".into(),
        DropReason::RerouteFailed => "re-routing after NAT failed".into(),
        DropReason::Netfilter => "by the verdict above".into(),
    }
}
