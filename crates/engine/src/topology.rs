//! The compiled topology: namespaces, interfaces (loopback, veth pairs, bridges and their
//! ports), and layer-2 reachability — which interface answers ARP for an address on a
//! segment, and which bridge port leads to a MAC address (the bridge's FDB, learned here
//! from the topology instead of from traffic).

use pktpath_world::{IfAddr, IfaceKind, World};
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// A network namespace, by position in the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NsId(pub u16);

/// An interface: its namespace and its position there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfId {
    pub ns: NsId,
    pub idx: u16,
}

#[derive(Debug, Clone)]
pub struct Iface {
    pub name: String,
    pub kind: IfaceKind,
    pub mac: [u8; 6],
    pub up: bool,
    pub addrs: Vec<IfAddr>,
    /// The bridge this interface is a port of.
    pub master: Option<IfId>,
    pub hairpin: bool,
    /// The other end of a veth pair.
    pub peer: Option<IfId>,
    /// For a bridge: its ports.
    pub ports: Vec<IfId>,
}

impl Iface {
    pub fn is_loopback(&self) -> bool {
        self.kind == IfaceKind::Loopback
    }
    pub fn is_bridge(&self) -> bool {
        self.kind == IfaceKind::Bridge
    }
    pub fn has_addr(&self, a: Ipv4Addr) -> bool {
        self.addrs.iter().any(|x| x.addr == a)
    }
}

#[derive(Debug, Clone)]
pub struct NsTopo {
    pub name: String,
    pub ifaces: Vec<Iface>,
}

#[derive(Debug, Clone)]
pub struct Topology {
    pub ns: Vec<NsTopo>,
}

/// The loopback MAC the kernel shows for `lo`.
const ZERO_MAC: [u8; 6] = [0; 6];

impl Topology {
    pub fn build(world: &World) -> Result<Topology, String> {
        let mut ns: Vec<NsTopo> = world
            .namespaces
            .iter()
            .map(|n| {
                let mut ifaces: Vec<Iface> = n
                    .interfaces
                    .iter()
                    .map(|i| Iface {
                        name: i.name.clone(),
                        kind: if i.name == "lo" {
                            IfaceKind::Loopback
                        } else {
                            i.kind.clone()
                        },
                        mac: i.mac,
                        up: i.up,
                        addrs: i.addrs.clone(),
                        master: None,
                        hairpin: i.hairpin,
                        peer: None,
                        ports: Vec::new(),
                    })
                    .collect();
                if !ifaces.iter().any(|i| i.name == "lo") {
                    // Every namespace has a loopback device, down until brought up.
                    ifaces.insert(
                        0,
                        Iface {
                            name: "lo".into(),
                            kind: IfaceKind::Loopback,
                            mac: ZERO_MAC,
                            up: false,
                            addrs: Vec::new(),
                            master: None,
                            hairpin: false,
                            peer: None,
                            ports: Vec::new(),
                        },
                    );
                }
                NsTopo {
                    name: n.name.clone(),
                    ifaces,
                }
            })
            .collect();
        // bridge membership
        for (ni, n) in world.namespaces.iter().enumerate() {
            for i in &n.interfaces {
                if let Some(m) = &i.master {
                    let nsid = NsId(ni as u16);
                    let port = find(&ns[ni], i.name.as_str())
                        .ok_or_else(|| format!("{}: no interface {}", n.name, i.name))?;
                    let br = find(&ns[ni], m).ok_or_else(|| {
                        format!(
                            "{}: {} has master {m}, which does not exist",
                            n.name, i.name
                        )
                    })?;
                    ns[ni].ifaces[port as usize].master = Some(IfId { ns: nsid, idx: br });
                    ns[ni].ifaces[br as usize].ports.push(IfId {
                        ns: nsid,
                        idx: port,
                    });
                    ns[ni].ifaces[br as usize].kind = IfaceKind::Bridge;
                }
            }
        }
        // veth pairs
        for l in &world.links {
            let a = resolve(world, &ns, &l.a.namespace, &l.a.interface)?;
            let b = resolve(world, &ns, &l.b.namespace, &l.b.interface)?;
            ns[a.ns.0 as usize].ifaces[a.idx as usize].peer = Some(b);
            ns[b.ns.0 as usize].ifaces[b.idx as usize].peer = Some(a);
        }
        Ok(Topology { ns })
    }

    pub fn iface(&self, id: IfId) -> &Iface {
        &self.ns[id.ns.0 as usize].ifaces[id.idx as usize]
    }

    pub fn iface_by_name(&self, ns: NsId, name: &str) -> Option<IfId> {
        find(&self.ns[ns.0 as usize], name).map(|idx| IfId { ns, idx })
    }

    pub fn name(&self, id: IfId) -> &str {
        &self.iface(id).name
    }

    pub fn loopback(&self, ns: NsId) -> IfId {
        let idx = self.ns[ns.0 as usize]
            .ifaces
            .iter()
            .position(|i| i.is_loopback())
            .expect("every namespace has lo") as u16;
        IfId { ns, idx }
    }

    /// Every interface of `ns` holding address `a`.
    pub fn owner_in_ns(&self, ns: NsId, a: Ipv4Addr) -> Option<IfId> {
        self.ns[ns.0 as usize]
            .ifaces
            .iter()
            .position(|i| i.up && i.has_addr(a))
            .map(|idx| IfId {
                ns,
                idx: idx as u16,
            })
    }

    /// ARP: which interface on the segment that `out` transmits onto answers for `ip`.
    /// Walks veth pairs and bridges (a bridge floods ARP to all its ports).
    pub fn arp(&self, out: IfId, ip: Ipv4Addr) -> Option<IfId> {
        let mut seen = Vec::new();
        self.arp_walk_tx(out, ip, &mut seen)
    }

    fn arp_walk_tx(&self, tx: IfId, ip: Ipv4Addr, seen: &mut Vec<IfId>) -> Option<IfId> {
        if seen.contains(&tx) {
            return None;
        }
        seen.push(tx);
        let i = self.iface(tx);
        if !i.up {
            return None;
        }
        if i.is_bridge() {
            for &p in &i.ports {
                if let Some(o) = self.arp_walk_tx(p, ip, seen) {
                    return Some(o);
                }
            }
            return None;
        }
        let peer = i.peer?;
        self.arp_walk_rx(peer, ip, seen)
    }

    fn arp_walk_rx(&self, rx: IfId, ip: Ipv4Addr, seen: &mut Vec<IfId>) -> Option<IfId> {
        let i = self.iface(rx);
        if !i.up {
            return None;
        }
        if let Some(br) = i.master {
            seen.push(rx);
            let b = self.iface(br);
            if b.up && b.has_addr(ip) {
                return Some(br);
            }
            for &p in &b.ports {
                if p != rx {
                    if let Some(o) = self.arp_walk_tx(p, ip, seen) {
                        return Some(o);
                    }
                }
            }
            return None;
        }
        if i.has_addr(ip) {
            return Some(rx);
        }
        None
    }

    /// The bridge FDB: which port of `br` leads to the interface with `mac`.
    pub fn fdb(&self, br: IfId, mac: [u8; 6]) -> Option<IfId> {
        let b = self.iface(br);
        for &p in &b.ports {
            let mut seen = vec![br];
            if self.reaches_mac(p, mac, &mut seen) {
                return Some(p);
            }
        }
        None
    }

    fn reaches_mac(&self, tx: IfId, mac: [u8; 6], seen: &mut Vec<IfId>) -> bool {
        if seen.contains(&tx) {
            return false;
        }
        seen.push(tx);
        let Some(peer) = self.iface(tx).peer else {
            return false;
        };
        let pi = self.iface(peer);
        if pi.mac == mac {
            return true;
        }
        if let Some(br) = pi.master {
            if self.iface(br).mac == mac {
                return true;
            }
            let ports = self.iface(br).ports.clone();
            seen.push(br);
            return ports
                .into_iter()
                .any(|p| p != peer && self.reaches_mac(p, mac, seen));
        }
        false
    }

    /// Interfaces keyed by name per namespace, for lookups by rule text.
    pub fn name_map(&self, ns: NsId) -> HashMap<&str, IfId> {
        self.ns[ns.0 as usize]
            .ifaces
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.as_str(), IfId { ns, idx: i as u16 }))
            .collect()
    }
}

fn find(ns: &NsTopo, name: &str) -> Option<u16> {
    ns.ifaces
        .iter()
        .position(|i| i.name == name)
        .map(|i| i as u16)
}

fn resolve(world: &World, ns: &[NsTopo], nsname: &str, ifname: &str) -> Result<IfId, String> {
    let ni = world
        .namespace_index(nsname)
        .ok_or_else(|| format!("link names namespace {nsname}, which does not exist"))?;
    let idx = find(&ns[ni], ifname)
        .ok_or_else(|| format!("link names {nsname}:{ifname}, which does not exist"))?;
    Ok(IfId {
        ns: NsId(ni as u16),
        idx,
    })
}
