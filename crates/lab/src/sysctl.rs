//! Which of a snapshot's sysctls the lab sets, and in which order.
//!
//! Only those that change a packet's path: `net.ipv4.ip_forward`, the per-device
//! `net.ipv4.conf.*` switches below, and br_netfilter's `net.bridge.bridge-nf-*`. Order
//! matters: writing `ip_forward` or `conf.all.forwarding` sets `forwarding` on every
//! device (`inet_forward_change`), so those go first and the per-device values after.
//! A new namespace starts from the init namespace's `all`/`default` values
//! (`net.core.devconf_inherit_init_net`), so every listed value is written, defaults too.

use std::collections::{BTreeMap, BTreeSet};

/// Per-device `net.ipv4.conf.<dev>.<key>` keys the lab sets.
pub const CONF_KEYS: &[&str] = &[
    "forwarding",
    "route_localnet",
    "rp_filter",
    "accept_local",
    "proxy_arp",
    "src_valid_mark",
    "bc_forwarding",
];

/// One sysctl to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlWrite {
    pub key: String,
    pub value: String,
}

/// The writes for a namespace, in order, and the keys left alone (with why).
pub fn plan(
    raw: &BTreeMap<String, String>,
    devices: &BTreeSet<String>,
) -> (Vec<SysctlWrite>, Vec<String>) {
    // (rank, key): ip_forward, all.forwarding, default.*, per-device forwarding, the rest.
    let mut writes: Vec<(u8, SysctlWrite)> = Vec::new();
    let mut skipped = Vec::new();
    for (key, value) in raw {
        let w = SysctlWrite {
            key: key.clone(),
            value: value.trim().to_string(),
        };
        if key == "net.ipv4.ip_forward" {
            writes.push((0, w));
        } else if let Some(rest) = key.strip_prefix("net.ipv4.conf.") {
            let Some((dev, k)) = rest.rsplit_once('.') else {
                skipped.push(format!("{key}: not a per-device key"));
                continue;
            };
            if !CONF_KEYS.contains(&k) {
                skipped.push(format!("{key}: does not change a packet's path here"));
                continue;
            }
            let dev_name = dev.replace('/', ".");
            let rank = match (dev, k) {
                ("all", "forwarding") => 1,
                ("all", _) | ("default", _) => 2,
                (_, "forwarding") => 3,
                _ => 4,
            };
            if rank >= 3 && !devices.contains(&dev_name) {
                skipped.push(format!("{key}: no device {dev_name} in this namespace"));
                continue;
            }
            writes.push((rank, w));
        } else if key.starts_with("net.bridge.bridge-nf-") {
            writes.push((5, w));
        } else {
            skipped.push(format!("{key}: does not change a packet's path here"));
        }
    }
    writes.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.key.cmp(&b.1.key)));
    (writes.into_iter().map(|(_, w)| w).collect(), skipped)
}

/// Whether the writes need br_netfilter's sysctls.
pub fn needs_br_netfilter(writes: &[SysctlWrite]) -> bool {
    writes.iter().any(|w| w.key.starts_with("net.bridge."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_switches_come_first_and_unknown_devices_are_skipped() {
        let raw: BTreeMap<String, String> = [
            ("net.ipv4.conf.eth0.forwarding", "0"),
            ("net.ipv4.conf.eth0.rp_filter", "1"),
            ("net.ipv4.conf.all.forwarding", "1"),
            ("net.ipv4.conf.gone0.forwarding", "1"),
            ("net.ipv4.ip_forward", "1"),
            ("net.bridge.bridge-nf-call-iptables", "1"),
            ("net.ipv4.conf.default.rp_filter", "2"),
            ("net.core.somaxconn", "4096"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let devs: BTreeSet<String> = ["lo", "eth0"].iter().map(|s| s.to_string()).collect();
        let (w, skipped) = plan(&raw, &devs);
        let keys: Vec<&str> = w.iter().map(|w| w.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "net.ipv4.ip_forward",
                "net.ipv4.conf.all.forwarding",
                "net.ipv4.conf.default.rp_filter",
                "net.ipv4.conf.eth0.forwarding",
                "net.ipv4.conf.eth0.rp_filter",
                "net.bridge.bridge-nf-call-iptables",
            ]
        );
        assert!(needs_br_netfilter(&w));
        assert_eq!(skipped.len(), 2);
    }
}
