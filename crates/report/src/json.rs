//! A probe run as JSON: the outcome, what the client saw, and every event with rule
//! text resolved, for tools and CI.

use crate::text::{drop_text, packet_summary};
use pktpath_engine::{Event, ProbeRun, RouteDecision, Sim, Verdict};
use serde_json::{json, Value};

fn verdict(
    sim: &Sim,
    run: &ProbeRun,
    ns: pktpath_engine::topology::NsId,
    t: pktpath_rules::TableName,
    v: Verdict,
) -> String {
    let name = |c: u32| {
        run.rules(sim, ns)
            .table(t)
            .map(|x| x.chains[c as usize].name.clone())
            .unwrap_or_default()
    };
    match v {
        Verdict::Accept => "ACCEPT".into(),
        Verdict::Drop => "DROP".into(),
        Verdict::Continue => "CONTINUE".into(),
        Verdict::Jump(c) => format!("JUMP:{}", name(c)),
        Verdict::Goto(c) => format!("GOTO:{}", name(c)),
        Verdict::Return => "RETURN".into(),
    }
}

/// The whole run.
pub fn render(sim: &Sim, run: &ProbeRun) -> Value {
    let nsname = |n: pktpath_engine::topology::NsId| sim.ns(n).name.clone();
    let events: Vec<Value> = run
        .events
        .iter()
        .map(|e| match e {
            Event::Time(t) => json!({"type": "time", "ms": t}),
            Event::Chain { ns, hook, table, chain, pkt, oif } => json!({
                "type": "chain", "ns": nsname(*ns), "hook": hook.chain_name(), "table": table.as_str(),
                "chain": run.rules(sim, *ns).table(*table).map(|t| t.chains[*chain as usize].name.clone()),
                "in": pkt.iif.map(|i| sim.topo.name(i).to_string()),
                "out": oif.map(|i| sim.topo.name(i).to_string()),
                "packet": packet_summary(pkt),
            }),
            Event::Rule { ns, table, chain, rule, verdict: v, traced, .. } => {
                let c = run.rules(sim, *ns).table(*table).map(|t| &t.chains[*chain as usize]);
                json!({
                    "type": "rule", "ns": nsname(*ns), "table": table.as_str(),
                    "chain": c.map(|c| c.name.clone()), "position": rule + 1,
                    "rule": c.map(|c| c.rules[*rule as usize].text.clone()),
                    "verdict": verdict(sim, run, *ns, *table, *v), "traced": traced,
                })
            }
            Event::Policy { ns, table, chain, verdict: v, .. } => json!({
                "type": "policy", "ns": nsname(*ns), "table": table.as_str(),
                "chain": run.rules(sim, *ns).table(*table).map(|t| t.chains[*chain as usize].name.clone()),
                "verdict": verdict(sim, run, *ns, *table, *v),
            }),
            Event::Conntrack { ns, hook, info, orig, new } => json!({
                "type": "conntrack", "ns": nsname(*ns), "hook": hook.chain_name(), "state": format!("{info:?}"), "new": new,
                "orig": orig.map(|t| format!("{}:{} -> {}:{}", t.src, t.sport, t.dst, t.dport)),
            }),
            Event::Nat { ns, hook, before, after, first } => json!({
                "type": "nat", "ns": nsname(*ns), "hook": hook.chain_name(), "first": first,
                "before": format!("{}:{} -> {}:{}", before.0, before.2, before.1, before.3),
                "after": format!("{}:{} -> {}:{}", after.0, after.2, after.1, after.3),
            }),
            Event::Route { ns, decision } => json!({
                "type": "route", "ns": nsname(*ns), "decision": match decision {
                    RouteDecision::Local => "local".to_string(),
                    RouteDecision::Forward { dev, via } => format!("forward dev {}{}", sim.topo.name(*dev), via.map(|v| format!(" via {v}")).unwrap_or_default()),
                    RouteDecision::Output { dev, via, src } => format!("output dev {}{} src {src}", sim.topo.name(*dev), via.map(|v| format!(" via {v}")).unwrap_or_default()),
                    RouteDecision::Error(e) => e.clone(),
                }
            }),
            Event::Xmit { from, to, pkt } => json!({
                "type": "xmit", "from": format!("{}:{}", nsname(from.ns), sim.topo.name(*from)),
                "to": format!("{}:{}", nsname(to.ns), sim.topo.name(*to)), "packet": packet_summary(pkt),
            }),
            Event::Bridged { ns, bridge, in_port, out_port } => json!({
                "type": "bridge", "ns": nsname(*ns), "bridge": sim.topo.name(*bridge),
                "in_port": sim.topo.name(*in_port), "out_port": sim.topo.name(*out_port),
            }),
            Event::Deliver { ns, what, pkt } => json!({"type": "deliver", "ns": nsname(*ns), "what": what, "packet": packet_summary(pkt)}),
            Event::Send { ns, what, pkt } => json!({"type": "send", "ns": nsname(*ns), "what": what, "packet": packet_summary(pkt)}),
            Event::Drop { ns, reason, pkt } => json!({"type": "drop", "ns": nsname(*ns), "reason": drop_text(reason), "packet": packet_summary(pkt)}),
            Event::Log { ns, text } => json!({"type": "log", "ns": nsname(*ns), "text": text}),
            Event::Note { ns, text } => json!({"type": "note", "ns": nsname(*ns), "text": text}),
        })
        .collect();
    json!({
        "outcome": run.outcome.as_str(),
        "client_says": run.client_says,
        "sport": run.sport,
        "uncertain": run.uncertain,
        "events": events,
    })
}
