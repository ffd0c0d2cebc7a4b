//! Building a [`World`] in code: namespaces with `lo` up, veth pairs, bridges and their
//! ports, addresses, extra routes, sysctls, listening processes and iptables rules.
//!
//! [`Builder::finish`] renders the world as a snapshot ([`pktpath_world::render_world`]),
//! lets the loader derive the routes the kernel itself adds for the addresses
//! (`fib_add_ifaddr`), appends the extra routes, and loads the result once more: a world
//! that comes out of the builder is exactly what its snapshot folder loads into, so the
//! simulation, the lab and a fixture written from it all see the same thing.

use ipnet::Ipv4Net;
use pktpath_rules::TableName;
use pktpath_world::{
    load_world_from, render_world, IfAddr, IfaceKind, Interface, IpRule, IpRuleAction, L4Proto,
    Link, ListenSocket, MemSource, Namespace, Process, Role, Route, RouteType, Sysctls, World,
    RT_TABLE_DEFAULT, RT_TABLE_LOCAL, RT_TABLE_MAIN,
};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// A world under construction.
pub struct Builder {
    pub world: World,
    /// Routes added with `ip route add`, per namespace (the kernel's own are derived).
    extra_routes: BTreeMap<String, Vec<Route>>,
    /// The iptables-save text of each namespace that has rules.
    saves: BTreeMap<String, String>,
    next_mac: u32,
}

/// The kernel's three policy rules of a fresh namespace.
fn default_ip_rules() -> Vec<IpRule> {
    [
        (0, RT_TABLE_LOCAL),
        (32766, RT_TABLE_MAIN),
        (32767, RT_TABLE_DEFAULT),
    ]
    .into_iter()
    .map(|(priority, t)| IpRule {
        priority,
        src: None,
        dst: None,
        iif: None,
        oif: None,
        fwmark: None,
        not: false,
        action: IpRuleAction::Table(t),
    })
    .collect()
}

impl Builder {
    pub fn new(description: impl Into<String>) -> Builder {
        Builder {
            world: World {
                description: description.into(),
                seed: None,
                captured: BTreeMap::new(),
                root: PathBuf::new(),
                namespaces: Vec::new(),
                links: Vec::new(),
                probes: Vec::new(),
            },
            extra_routes: BTreeMap::new(),
            saves: BTreeMap::new(),
            next_mac: 1,
        }
    }

    fn ns_mut(&mut self, ns: &str) -> &mut Namespace {
        self.world
            .namespaces
            .iter_mut()
            .find(|n| n.name == ns)
            .unwrap_or_else(|| panic!("builder: no namespace {ns}"))
    }

    /// A namespace with `lo` up (127.0.0.1/8, which the kernel gives `lo` when it comes up).
    pub fn namespace(&mut self, name: &str, role: Role) {
        assert!(
            self.world.namespace(name).is_none(),
            "namespace {name} twice"
        );
        self.world.namespaces.push(Namespace {
            name: name.into(),
            role,
            interfaces: vec![Interface {
                name: "lo".into(),
                ifindex: 1,
                kind: IfaceKind::Loopback,
                mac: [0; 6],
                up: true,
                master: None,
                hairpin: false,
                addrs: vec![IfAddr {
                    addr: Ipv4Addr::LOCALHOST,
                    prefix_len: 8,
                    broadcast: None,
                }],
                mtu: 65536,
            }],
            routes: Vec::new(),
            rules: default_ip_rules(),
            sysctls: Sysctls::default(),
            sockets: Vec::new(),
            processes: Vec::new(),
            ruleset: Default::default(),
            base_chains: None,
        });
    }

    /// A locally administered MAC, unique in the world.
    fn mac(&mut self) -> [u8; 6] {
        let n = self.next_mac;
        self.next_mac += 1;
        [0x02, 0xf2, 0x00, (n >> 16) as u8, (n >> 8) as u8, n as u8]
    }

    fn add_iface(&mut self, ns: &str, name: &str, kind: IfaceKind) {
        let mac = self.mac();
        let n = self.ns_mut(ns);
        assert!(n.interface(name).is_none(), "{ns}:{name} twice");
        let ifindex = n.interfaces.iter().map(|i| i.ifindex).max().unwrap_or(0) + 1;
        n.interfaces.push(Interface {
            name: name.into(),
            ifindex,
            kind,
            mac,
            up: true,
            master: None,
            hairpin: false,
            addrs: Vec::new(),
            mtu: 1500,
        });
    }

    /// A veth pair `a_ns:a_if` ── `b_ns:b_if`.
    pub fn veth(&mut self, a_ns: &str, a_if: &str, b_ns: &str, b_if: &str) {
        self.add_iface(a_ns, a_if, IfaceKind::Veth);
        self.add_iface(b_ns, b_if, IfaceKind::Veth);
        self.world.links.push(Link {
            a: pktpath_world::Endpoint {
                namespace: a_ns.into(),
                interface: a_if.into(),
            },
            b: pktpath_world::Endpoint {
                namespace: b_ns.into(),
                interface: b_if.into(),
            },
        });
    }

    pub fn bridge(&mut self, ns: &str, name: &str) {
        self.add_iface(ns, name, IfaceKind::Bridge);
    }

    /// Make `port` a port of bridge `bridge`, with hairpin mode as given.
    pub fn enslave(&mut self, ns: &str, port: &str, bridge: &str, hairpin: bool) {
        let n = self.ns_mut(ns);
        let i = n
            .interfaces
            .iter_mut()
            .find(|i| i.name == port)
            .expect("bridge port exists");
        i.master = Some(bridge.into());
        i.hairpin = hairpin;
    }

    /// `ip addr add ADDR/LEN brd + dev IF` (a broadcast address for prefixes up to /30).
    pub fn addr(&mut self, ns: &str, iface: &str, cidr: &str) {
        let net: Ipv4Net = cidr.parse().expect("builder: a valid address/len");
        let broadcast = (net.prefix_len() < 31).then(|| net.broadcast());
        let n = self.ns_mut(ns);
        let i = n
            .interfaces
            .iter_mut()
            .find(|i| i.name == iface)
            .expect("interface exists");
        i.addrs.push(IfAddr {
            addr: net.addr(),
            prefix_len: net.prefix_len(),
            broadcast,
        });
    }

    /// `ip route add DST via GW dev DEV` in table main.
    pub fn route_via(&mut self, ns: &str, dst: &str, gw: Ipv4Addr, dev: &str) {
        let dst: Ipv4Net = dst.parse().expect("builder: a valid route destination");
        self.extra_routes.entry(ns.into()).or_default().push(Route {
            table: RT_TABLE_MAIN,
            kind: RouteType::Unicast,
            dst,
            gateway: Some(gw),
            dev: Some(dev.into()),
            prefsrc: None,
            metric: 0,
        });
    }

    pub fn sysctl(&mut self, ns: &str, key: &str, value: impl ToString) {
        self.ns_mut(ns)
            .sysctls
            .raw
            .insert(key.into(), value.to_string());
    }

    /// A process listening on `proto:addr:port`.
    pub fn listen(
        &mut self,
        ns: &str,
        proto: L4Proto,
        addr: Ipv4Addr,
        port: u16,
        process: &str,
        cmdline: &str,
    ) {
        let sock = ListenSocket {
            proto,
            addr,
            port,
            process: Some(process.into()),
            dev: None,
        };
        let n = self.ns_mut(ns);
        if n.sockets.iter().any(|s| {
            s.proto == proto
                && s.port == port
                && (s.addr == addr || s.addr.is_unspecified() || addr.is_unspecified())
        }) {
            return; // the port is taken (bind would fail with EADDRINUSE)
        }
        n.sockets.push(sock.clone());
        n.processes.push(Process {
            name: process.into(),
            listen: Some(sock),
            cmdline: Some(cmdline.into()),
            proxy: None, // set by the loader from cmdline
        });
    }

    /// iptables rules (iptables-save text) and the base chains nf_tables has.
    pub fn rules(&mut self, ns: &str, save: String, base: BTreeSet<(TableName, String)>) {
        self.saves.insert(ns.into(), save);
        self.ns_mut(ns).base_chains = Some(base);
    }

    /// The interfaces of a namespace (for rule generators).
    pub fn interfaces(&self, ns: &str) -> Vec<Interface> {
        self.world
            .namespace(ns)
            .map(|n| n.interfaces.clone())
            .unwrap_or_default()
    }

    /// The finished world, as its snapshot loads.
    pub fn finish(mut self) -> Result<World, String> {
        for (ns, save) in std::mem::take(&mut self.saves) {
            let rs = pktpath_rules::parse_save(&save, &format!("{ns}/iptables-save.txt"))
                .map_err(|e| format!("generated rules of {ns} do not parse: {e}\n{save}"))?;
            self.ns_mut(&ns).ruleset = rs;
        }
        // Routes the kernel derives: load without ip-route.json.
        let mut src = mem_source(&self.world);
        let route_files: Vec<PathBuf> = src
            .paths()
            .filter(|p| p.ends_with("ip-route.json"))
            .map(PathBuf::from)
            .collect();
        for p in route_files {
            src.remove(p);
        }
        let derived = load_world_from(&src, PathBuf::new())
            .map_err(|e| format!("generated world does not load: {e}"))?;
        for (n, d) in self.world.namespaces.iter_mut().zip(&derived.namespaces) {
            n.routes = d.routes.clone();
            n.routes
                .extend(self.extra_routes.get(&n.name).cloned().unwrap_or_default());
        }
        let src = mem_source(&self.world);
        load_world_from(&src, PathBuf::new())
            .map_err(|e| format!("generated world does not load: {e}"))
    }
}

/// A world's snapshot files in memory.
pub fn mem_source(world: &World) -> MemSource {
    let mut src = MemSource::new("fuzz");
    for (rel, text) in render_world(world) {
        src.insert(rel, text);
    }
    src
}
