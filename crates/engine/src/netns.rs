//! One network namespace's kernel state: its FIB, compiled ruleset, conntrack table,
//! match state, sysctls and listening sockets.

use crate::conntrack::Conntrack;
use crate::fib::Fib;
use crate::inetpeer::InetPeers;
use crate::ruleset::matcher::MatchState;
use crate::ruleset::CRuleset;
use crate::topology::{IfId, NsId, Topology};
use pktpath_rules::{Match, Rule, Ruleset, Target};
use pktpath_world::{L4Proto, Namespace, Sysctls, UserlandProxy};
use rand_chacha::ChaCha8Rng;
use std::net::Ipv4Addr;

/// What answers on a listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum App {
    /// An HTTP server (TCP) or an echo server (UDP).
    Server { process: String },
    /// A userland proxy (docker-proxy): forwards to the container.
    Proxy(UserlandProxy),
}

#[derive(Debug, Clone)]
pub struct Listener {
    pub proto: L4Proto,
    pub addr: Ipv4Addr,
    pub port: u16,
    pub app: App,
}

/// Per-device sysctls, resolved once (`IN_DEV_*` combine `all` and the device's value).
#[derive(Debug, Clone, Copy, Default)]
pub struct DevConf {
    /// `IN_DEV_FORWARD`: `conf.<dev>.forwarding` (set for every device by `ip_forward`).
    pub forwarding: bool,
    /// `IN_DEV_ROUTE_LOCALNET`: `all` OR the device.
    pub route_localnet: bool,
    /// `IN_DEV_RPFILTER`: max(`all`, device).
    pub rp_filter: i64,
    /// `IN_DEV_TX_REDIRECTS`: `send_redirects` of `all` OR the device (default 1).
    pub send_redirects: bool,
    /// `IN_DEV_SHARED_MEDIA`: `shared_media` of `all` OR the device (default 1).
    pub shared_media: bool,
}

#[derive(Debug, Clone)]
pub struct NsState {
    pub id: NsId,
    pub name: String,
    pub fib: Fib,
    pub rules: CRuleset,
    pub ct: Conntrack,
    pub mstate: MatchState,
    pub sysctls: Sysctls,
    /// Per interface (by index in the namespace), the sysctls the stack consults.
    pub dev_conf: Vec<DevConf>,
    pub listeners: Vec<Listener>,
    /// Per-host ICMP rate limiting and redirect back-off.
    pub peers: InetPeers,
    /// Are the conntrack hooks registered in this namespace? See [`needs_conntrack`].
    pub ct_active: bool,
}

/// Connection tracking runs in a namespace only once something asked for it:
/// `nf_ct_netns_get()` is called by the rules that need a connection (the `ct`
/// expression behind `-m conntrack`/`-m state`, the NAT expressions and targets,
/// CONNMARK, connlimit, the CT target except `--notrack`, ...). nat base chains alone do
/// not: without a connection `nf_nat_inet_fn()` returns before the chain, so an empty
/// nat table is never traversed (verified on the kernel: fuzz case 265 of seed 1).
pub fn needs_conntrack(rs: &Ruleset) -> bool {
    const MATCHES: &[&str] = &[
        "conntrack",
        "state",
        "connmark",
        "connlimit",
        "connbytes",
        "connlabel",
        "helper",
        "cluster",
        "ipvs",
    ];
    const TARGETS: &[&str] = &[
        "DNAT",
        "SNAT",
        "MASQUERADE",
        "REDIRECT",
        "NETMAP",
        "CONNMARK",
        "CONNSECMARK",
        "CT",
    ];
    let rule_needs = |r: &Rule| {
        r.matches.iter().any(|m| match m {
            Match::Conntrack(_) | Match::State(_) | Match::Connmark(_) | Match::Connlimit(_) => {
                true
            }
            Match::Unknown { name, .. } => MATCHES.contains(&name.as_str()),
            _ => false,
        }) || match &r.target {
            Some(
                Target::Dnat { .. }
                | Target::Snat { .. }
                | Target::Masquerade { .. }
                | Target::Redirect { .. }
                | Target::Connmark(_)
                | Target::Ct(_),
            ) => true,
            Some(Target::Unknown { name, .. }) => TARGETS.contains(&name.as_str()),
            _ => false,
        }
    };
    rs.tables
        .iter()
        .flat_map(|t| &t.chains)
        .flat_map(|c| &c.rules)
        .any(rule_needs)
}

/// `IN_DEV_ORCONF`: on when `all` or the device has it; both default to 1 in a new
/// namespace (`ipv4_devconf`).
fn or_conf(n: &Namespace, dev: &str, key: &str) -> bool {
    n.sysctls.conf("all", key).unwrap_or(1) != 0 || n.sysctls.conf(dev, key).unwrap_or(1) != 0
}

impl NsState {
    pub fn build(
        id: NsId,
        n: &Namespace,
        topo: &Topology,
        rng: ChaCha8Rng,
    ) -> Result<NsState, String> {
        let rules = CRuleset::compile(&n.ruleset, n.base_chains.as_ref())
            .map_err(|e| format!("namespace {}: {e}", n.name))?;
        let mut listeners: Vec<Listener> = Vec::new();
        for s in &n.sockets {
            let proxy = n
                .processes
                .iter()
                .filter_map(|p| p.proxy)
                .find(|p| p.proto == s.proto && p.host_port == s.port);
            let app = match proxy {
                Some(p) => App::Proxy(p),
                None => App::Server {
                    process: s.process.clone().unwrap_or_else(|| "server".into()),
                },
            };
            if !listeners
                .iter()
                .any(|l| l.proto == s.proto && l.addr == s.addr && l.port == s.port)
            {
                listeners.push(Listener {
                    proto: s.proto,
                    addr: s.addr,
                    port: s.port,
                    app,
                });
            }
        }
        // A proxy named only by its command line still listens on host-ip:host-port.
        for p in n.processes.iter().filter_map(|p| p.proxy) {
            if !listeners
                .iter()
                .any(|l| l.proto == p.proto && l.port == p.host_port)
            {
                listeners.push(Listener {
                    proto: p.proto,
                    addr: p.host_ip,
                    port: p.host_port,
                    app: App::Proxy(p),
                });
            }
        }
        let dev_conf = topo.ns[id.0 as usize]
            .ifaces
            .iter()
            .map(|i| DevConf {
                forwarding: match n.sysctls.conf(&i.name, "forwarding") {
                    Some(v) => v != 0,
                    None => n.sysctls.ip_forward,
                },
                route_localnet: n.sysctls.route_localnet(&i.name),
                rp_filter: n.sysctls.rp_filter(&i.name),
                send_redirects: or_conf(n, &i.name, "send_redirects"),
                shared_media: or_conf(n, &i.name, "shared_media"),
            })
            .collect();
        Ok(NsState {
            id,
            dev_conf,
            name: n.name.clone(),
            fib: Fib::build(id, n, topo),
            rules,
            ct: Conntrack::default(),
            mstate: MatchState::new(rng),
            sysctls: n.sysctls.clone(),
            listeners,
            peers: InetPeers::default(),
            ct_active: needs_conntrack(&n.ruleset),
        })
    }

    /// br_netfilter: bridged IPv4 frames traverse the iptables hooks.
    pub fn br_nf(&self) -> bool {
        self.sysctls.bridge_nf_call_iptables == Some(true)
    }

    /// `IN_DEV_FORWARD(in_dev)`: `net.ipv4.conf.<dev>.forwarding`, which
    /// `net.ipv4.ip_forward` sets for every device.
    pub fn forwarding(&self, dev: IfId) -> bool {
        self.conf(dev).forwarding
    }

    pub fn conf(&self, dev: IfId) -> DevConf {
        self.dev_conf
            .get(dev.idx as usize)
            .copied()
            .unwrap_or_default()
    }

    pub fn listener(&self, proto: L4Proto, dst: Ipv4Addr, port: u16) -> Option<&Listener> {
        // An exact bind wins over a wildcard one (inet_lookup_listener scoring).
        self.listeners
            .iter()
            .find(|l| l.proto == proto && l.port == port && l.addr == dst)
            .or_else(|| {
                self.listeners
                    .iter()
                    .find(|l| l.proto == proto && l.port == port && l.addr.is_unspecified())
            })
    }
}
