//! kube-proxy's iptables mode (v1.28, as `fixtures/kube-proxy-clusterip` records it): the
//! canaries, its jump rules in its order, KUBE-SERVICES → KUBE-SVC-* (`statistic --mode
//! random` across endpoints) → KUBE-SEP-* (DNAT, KUBE-MARK-MASQ for hairpin), NodePorts
//! through KUBE-NODEPORTS / KUBE-EXT-*, KUBE-POSTROUTING's `MASQUERADE --random-fully`
//! of marked traffic, and the REJECT of a service without endpoints.

use super::save::SaveText;
use pktpath_rules::TableName::{Filter, Mangle, Nat};
use pktpath_world::L4Proto;
use rand::Rng;
use std::net::Ipv4Addr;

#[derive(Debug, Clone)]
pub struct Service {
    /// `namespace/name`
    pub name: String,
    pub cluster_ip: Ipv4Addr,
    pub port: u16,
    pub proto: L4Proto,
    pub endpoints: Vec<(Ipv4Addr, u16)>,
    pub node_port: Option<u16>,
}

/// A chain name suffix as kube-proxy makes them (16 characters of base32).
fn hash(rng: &mut impl Rng) -> String {
    const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    (0..16).map(|_| B32[rng.gen_range(0..32)] as char).collect()
}

/// kube-proxy's probability for the i-th of n endpoints (`1/(n-i)`), printed as it does.
fn probability(n_left: usize) -> String {
    format!("{:.11}", 1.0 / n_left as f64)
}

/// Write kube-proxy's rules for `services` with cluster CIDR `cluster_cidr` into `s`.
pub fn kube_rules(s: &mut SaveText, services: &[Service], cluster_cidr: &str, rng: &mut impl Rng) {
    s.chain(Mangle, "KUBE-PROXY-CANARY");
    for c in [
        "KUBE-EXTERNAL-SERVICES",
        "KUBE-FIREWALL",
        "KUBE-FORWARD",
        "KUBE-NODEPORTS",
        "KUBE-PROXY-CANARY",
        "KUBE-PROXY-FIREWALL",
        "KUBE-SERVICES",
    ] {
        s.chain(Filter, c);
    }
    for c in [
        "KUBE-MARK-MASQ",
        "KUBE-NODEPORTS",
        "KUBE-POSTROUTING",
        "KUBE-PROXY-CANARY",
        "KUBE-SERVICES",
    ] {
        s.chain(Nat, c);
    }
    let f = |s: &mut SaveText, c: &str, r: &str| s.append(Filter, c, r);
    f(s, "INPUT", "-j KUBE-FIREWALL");
    f(s, "INPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL");
    f(
        s,
        "INPUT",
        "-m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS",
    );
    f(s, "INPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES");
    f(s, "FORWARD", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL");
    f(
        s,
        "FORWARD",
        "-m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD",
    );
    f(s, "FORWARD", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES");
    f(s, "FORWARD", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible service portals\" -j KUBE-EXTERNAL-SERVICES");
    f(s, "OUTPUT", "-j KUBE-FIREWALL");
    f(s, "OUTPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes load balancer firewall\" -j KUBE-PROXY-FIREWALL");
    f(s, "OUTPUT", "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES");
    f(s, "KUBE-FIREWALL", "! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment \"block incoming localnet connections\" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP");
    f(s, "KUBE-FORWARD", "-m conntrack --ctstate INVALID -j DROP");
    f(s, "KUBE-FORWARD", "-m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT");
    f(s, "KUBE-FORWARD", "-m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");

    let n = |s: &mut SaveText, c: &str, r: &str| s.append(Nat, c, r);
    n(
        s,
        "PREROUTING",
        "-m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
    );
    n(
        s,
        "OUTPUT",
        "-m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
    );
    n(
        s,
        "POSTROUTING",
        "-m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING",
    );
    n(s, "KUBE-MARK-MASQ", "-j MARK --set-xmark 0x4000/0x4000");
    n(
        s,
        "KUBE-POSTROUTING",
        "-m mark ! --mark 0x4000/0x4000 -j RETURN",
    );
    n(s, "KUBE-POSTROUTING", "-j MARK --set-xmark 0x4000/0x0");
    n(s, "KUBE-POSTROUTING", "-m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully");

    for svc in services {
        let p = svc.proto.as_str();
        let (cip, port, name) = (svc.cluster_ip, svc.port, &svc.name);
        if svc.endpoints.is_empty() {
            f(
                s,
                "KUBE-SERVICES",
                &format!("-d {cip}/32 -p {p} -m comment --comment \"{name} has no endpoints\" -m {p} --dport {port} -j REJECT --reject-with icmp-port-unreachable"),
            );
            continue;
        }
        let svc_chain = format!("KUBE-SVC-{}", hash(rng));
        n(
            s,
            "KUBE-SERVICES",
            &format!("-d {cip}/32 -p {p} -m comment --comment \"{name} cluster IP\" -m {p} --dport {port} -j {svc_chain}"),
        );
        n(
            s,
            &svc_chain,
            &format!("! -s {cluster_cidr} -d {cip}/32 -p {p} -m comment --comment \"{name} cluster IP\" -m {p} --dport {port} -j KUBE-MARK-MASQ"),
        );
        let count = svc.endpoints.len();
        for (i, (ep, ep_port)) in svc.endpoints.iter().enumerate() {
            let sep = format!("KUBE-SEP-{}", hash(rng));
            let stat = if i + 1 < count {
                format!(
                    "-m statistic --mode random --probability {} ",
                    probability(count - i)
                )
            } else {
                String::new()
            };
            n(
                s,
                &svc_chain,
                &format!("-m comment --comment \"{name} -> {ep}:{ep_port}\" {stat}-j {sep}"),
            );
            n(
                s,
                &sep,
                &format!("-s {ep}/32 -m comment --comment \"{name}\" -j KUBE-MARK-MASQ"),
            );
            n(
                s,
                &sep,
                &format!("-p {p} -m comment --comment \"{name}\" -m {p} -j DNAT --to-destination {ep}:{ep_port}"),
            );
        }
        if let Some(np) = svc.node_port {
            let ext = format!("KUBE-EXT-{}", &svc_chain["KUBE-SVC-".len()..]);
            n(
                s,
                "KUBE-NODEPORTS",
                &format!("-p {p} -m comment --comment \"{name}\" -m {p} --dport {np} -j {ext}"),
            );
            n(
                s,
                &ext,
                &format!("-m comment --comment \"masquerade traffic for {name} external destinations\" -j KUBE-MARK-MASQ"),
            );
            n(s, &ext, &format!("-j {svc_chain}"));
        }
    }
    n(
        s,
        "KUBE-SERVICES",
        "-m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_as_kube_proxy_writes_them() {
        assert_eq!(probability(2), "0.50000000000");
        assert_eq!(probability(3), "0.33333333333");
    }
}
