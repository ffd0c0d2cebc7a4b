//! Comparing the conntrack table after a probe with the kernel's `conntrack -L`.
//!
//! Ports the kernel picks at random (a proxy's ephemeral source port, a source port NAT
//! reallocated) cannot be the simulation's; they are compared as "some other port".
//! Everything else must be equal: protocol, TCP state, both tuples, ASSURED/UNREPLIED.

use pktpath_engine::conntrack::{conn_line, Conn};
use std::collections::BTreeMap;

/// One `conntrack -L` line, normalised.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CtEntry(pub String);

fn normalise(line: &str, keep_ports: &[u16]) -> Option<CtEntry> {
    let line = line.trim();
    if line.is_empty() || line.starts_with("conntrack v") {
        return None;
    }
    let mut words: Vec<String> = Vec::new();
    for (i, w) in line.split_whitespace().enumerate() {
        // drop the timeout (3rd field) and the use count
        if i == 2 || w.starts_with("use=") {
            continue;
        }
        if w.starts_with("id=") {
            // ping picks its own echo id
            words.push("id=*".into());
            continue;
        }
        if let Some(p) = w
            .strip_prefix("sport=")
            .or_else(|| w.strip_prefix("dport="))
        {
            let key = &w[..5];
            let kept = p.parse::<u16>().is_ok_and(|p| keep_ports.contains(&p));
            words.push(if kept {
                w.to_string()
            } else {
                format!("{key}=*")
            });
            continue;
        }
        words.push(w.to_string());
    }
    Some(CtEntry(words.join(" ")))
}

/// Compare; `Err` carries a readable difference.
pub fn compare(kernel_text: &str, ours: &[&Conn], keep_ports: &[u16]) -> Result<(), String> {
    let mut count: BTreeMap<CtEntry, i32> = BTreeMap::new();
    for l in kernel_text.lines() {
        if let Some(e) = normalise(l, keep_ports) {
            *count.entry(e).or_default() += 1;
        }
    }
    for c in ours {
        if let Some(e) = normalise(&conn_line(c), keep_ports) {
            *count.entry(e).or_default() -= 1;
        }
    }
    let diff: Vec<String> = count
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|(e, n)| {
            format!(
                "{} {}",
                if n > 0 {
                    "kernel only:"
                } else {
                    "ours only:  "
                },
                e.0
            )
        })
        .collect();
    if diff.is_empty() {
        Ok(())
    } else {
        Err(diff.join("\n"))
    }
}
