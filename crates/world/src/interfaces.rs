//! Interfaces of a namespace from `ip -j addr show` (addresses, flags, MAC, MTU) merged with
//! `ip -j -d link show` (kind, bridge master, hairpin). Containers often only have the former.

use crate::error::LoadError;
use crate::json::{JsonFile, Seg};
use crate::model::{IfAddr, IfaceKind, Interface};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

/// An interface with the address details the route derivation needs beyond the model.
#[derive(Debug, Clone)]
pub(crate) struct LoadedIface {
    pub iface: Interface,
    pub addrs: Vec<AddrDetail>,
}

/// One IPv4 address as the kernel keeps it (`struct in_ifaddr`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AddrDetail {
    pub addr: IfAddr,
    /// The peer of a point-to-point address (`ip addr add A peer P`): `"address"` in JSON.
    pub peer: Option<Ipv4Addr>,
    pub secondary: bool,
    pub noprefixroute: bool,
}

#[derive(Deserialize)]
struct AddrEntry {
    ifindex: u32,
    ifname: String,
    #[serde(default)]
    flags: Vec<String>,
    mtu: Option<u32>,
    link_type: Option<String>,
    address: Option<String>,
    master: Option<String>,
    #[serde(default)]
    addr_info: Vec<AddrInfo>,
}

#[derive(Deserialize)]
struct AddrInfo {
    family: String,
    local: Option<String>,
    address: Option<String>,
    prefixlen: Option<u8>,
    broadcast: Option<String>,
    #[serde(default)]
    secondary: bool,
    #[serde(default)]
    noprefixroute: bool,
}

#[derive(Deserialize)]
struct LinkEntry {
    ifindex: u32,
    ifname: String,
    #[serde(default)]
    flags: Vec<String>,
    mtu: Option<u32>,
    link_type: Option<String>,
    address: Option<String>,
    master: Option<String>,
    linkinfo: Option<LinkInfo>,
}

#[derive(Deserialize)]
struct LinkInfo {
    info_kind: Option<String>,
    info_slave_data: Option<SlaveData>,
}

#[derive(Deserialize)]
struct SlaveData {
    hairpin: Option<bool>,
}

/// A fresh namespace: only `lo`, down, without addresses (the kernel assigns 127.0.0.1/8
/// to `lo` only when it is brought up).
fn fresh_lo() -> LoadedIface {
    LoadedIface {
        iface: Interface {
            name: "lo".into(),
            ifindex: 1,
            kind: IfaceKind::Loopback,
            mac: [0; 6],
            up: false,
            master: None,
            hairpin: false,
            addrs: Vec::new(),
            mtu: 65536,
        },
        addrs: Vec::new(),
    }
}

/// Load and merge. `veth_names` are the interfaces named in `[[link]]`s of this namespace
/// (they are veths even when `ip-link.json` is missing).
pub(crate) fn load(
    addr_file: Option<&JsonFile>,
    link_file: Option<&JsonFile>,
    veth_names: &BTreeSet<String>,
) -> Result<Vec<LoadedIface>, LoadError> {
    let mut out: Vec<LoadedIface> = Vec::new();
    // Where each interface's "master" came from, to report an unknown master.
    let mut master_src: Vec<Option<(&JsonFile, usize)>> = Vec::new();

    if let Some(f) = addr_file {
        let entries: Vec<AddrEntry> = f.parse("ip -j addr show")?;
        for (i, e) in entries.iter().enumerate() {
            check_unique(f, &out, i, &e.ifname, e.ifindex)?;
            let link_type = e.link_type.clone().unwrap_or_default();
            let mac = parse_mac_field(f, i, e.address.as_deref(), &link_type)?;
            let mut addrs = Vec::new();
            for (j, a) in e.addr_info.iter().enumerate() {
                if a.family != "inet" {
                    continue; // IPv6 and others: the model is IPv4
                }
                addrs.push(addr_detail(f, i, j, a)?);
            }
            let kind = if e.flags.iter().any(|f| f == "LOOPBACK") || link_type == "loopback" {
                IfaceKind::Loopback
            } else if veth_names.contains(&e.ifname) {
                IfaceKind::Veth
            } else {
                IfaceKind::Other(link_type)
            };
            master_src.push(e.master.as_ref().map(|_| (f, i)));
            out.push(LoadedIface {
                iface: Interface {
                    name: e.ifname.clone(),
                    ifindex: e.ifindex,
                    kind,
                    mac,
                    up: e.flags.iter().any(|f| f == "UP"),
                    master: e.master.clone(),
                    hairpin: false,
                    addrs: addrs.iter().map(|a| a.addr).collect(),
                    mtu: e.mtu.unwrap_or(1500),
                },
                addrs,
            });
        }
    }

    if let Some(f) = link_file {
        let entries: Vec<LinkEntry> = f.parse("ip -j -d link show")?;
        let from_addr = out.len();
        let mut seen_here = BTreeSet::new();
        for (i, e) in entries.iter().enumerate() {
            if !seen_here.insert(e.ifname.as_str()) {
                return Err(f.error_at(
                    &[Seg::Idx(i), Seg::Key("ifname")],
                    format!(
                        "duplicate interface `{}`: expected each interface once",
                        e.ifname
                    ),
                ));
            }
            let existing = out.iter().position(|l| l.iface.name == e.ifname);
            let idx = match existing {
                Some(k) if k < from_addr => {
                    if out[k].iface.ifindex != e.ifindex {
                        return Err(f.error_at(
                            &[Seg::Idx(i), Seg::Key("ifindex")],
                            format!(
                                "ifindex {} of `{}` differs from ip-addr.json's {}: expected both files from the same moment",
                                e.ifindex, e.ifname, out[k].iface.ifindex
                            ),
                        ));
                    }
                    k
                }
                _ => {
                    check_unique(f, &out[from_addr..], i, &e.ifname, e.ifindex)?;
                    if out[..from_addr]
                        .iter()
                        .any(|l| l.iface.ifindex == e.ifindex)
                    {
                        return Err(f.error_at(
                            &[Seg::Idx(i), Seg::Key("ifindex")],
                            format!(
                                "ifindex {} is used by another interface in ip-addr.json",
                                e.ifindex
                            ),
                        ));
                    }
                    let link_type = e.link_type.clone().unwrap_or_default();
                    let mac = parse_mac_field(f, i, e.address.as_deref(), &link_type)?;
                    master_src.push(None);
                    out.push(LoadedIface {
                        iface: Interface {
                            name: e.ifname.clone(),
                            ifindex: e.ifindex,
                            kind: IfaceKind::Other(link_type),
                            mac,
                            up: e.flags.iter().any(|f| f == "UP"),
                            master: None,
                            hairpin: false,
                            addrs: Vec::new(),
                            mtu: e.mtu.unwrap_or(1500),
                        },
                        addrs: Vec::new(),
                    });
                    out.len() - 1
                }
            };
            let iface = &mut out[idx].iface;
            iface.kind = if e.flags.iter().any(|f| f == "LOOPBACK")
                || e.link_type.as_deref() == Some("loopback")
            {
                IfaceKind::Loopback
            } else {
                match e.linkinfo.as_ref().and_then(|l| l.info_kind.as_deref()) {
                    Some("veth") => IfaceKind::Veth,
                    Some("bridge") => IfaceKind::Bridge,
                    Some(k) => IfaceKind::Other(k.to_string()),
                    None if veth_names.contains(&e.ifname) => IfaceKind::Veth,
                    None => IfaceKind::Other(e.link_type.clone().unwrap_or_default()),
                }
            };
            if e.master.is_some() {
                iface.master = e.master.clone();
                master_src[idx] = Some((f, i));
            }
            iface.hairpin = e
                .linkinfo
                .as_ref()
                .and_then(|l| l.info_slave_data.as_ref())
                .and_then(|s| s.hairpin)
                .unwrap_or(false);
        }
    }

    if addr_file.is_none() && link_file.is_none() {
        out.push(fresh_lo());
    }

    for (k, src) in master_src.iter().enumerate() {
        let (Some(master), Some((f, i))) = (out[k].iface.master.clone(), src) else {
            continue;
        };
        if !out.iter().any(|l| l.iface.name == master) {
            return Err(f.error_at(
                &[Seg::Idx(*i), Seg::Key("master")],
                format!(
                    "unknown master `{master}`: expected one of this namespace's interfaces ({})",
                    names(&out)
                ),
            ));
        }
    }
    Ok(out)
}

fn names(ifaces: &[LoadedIface]) -> String {
    ifaces
        .iter()
        .map(|l| l.iface.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_unique(
    f: &JsonFile,
    seen: &[LoadedIface],
    i: usize,
    name: &str,
    ifindex: u32,
) -> Result<(), LoadError> {
    if name.is_empty() {
        return Err(f.error_at(
            &[Seg::Idx(i), Seg::Key("ifname")],
            "empty interface name: expected a name like eth0",
        ));
    }
    if seen.iter().any(|l| l.iface.name == name) {
        return Err(f.error_at(
            &[Seg::Idx(i), Seg::Key("ifname")],
            format!("duplicate interface `{name}`: expected each interface once"),
        ));
    }
    if seen.iter().any(|l| l.iface.ifindex == ifindex) {
        return Err(f.error_at(
            &[Seg::Idx(i), Seg::Key("ifindex")],
            format!("duplicate ifindex {ifindex}: expected each interface index once"),
        ));
    }
    Ok(())
}

fn addr_detail(f: &JsonFile, i: usize, j: usize, a: &AddrInfo) -> Result<AddrDetail, LoadError> {
    let at = |key| {
        [
            Seg::Idx(i),
            Seg::Key("addr_info"),
            Seg::Idx(j),
            Seg::Key(key),
        ]
    };
    let Some(local) = a.local.as_deref() else {
        return Err(f.error_at(
            &[Seg::Idx(i), Seg::Key("addr_info"), Seg::Idx(j)],
            "inet address without \"local\": expected the interface's IPv4 address",
        ));
    };
    let addr = parse_v4(local).ok_or_else(|| {
        f.error_at(
            &at("local"),
            format!("expected an IPv4 address, found `{local}`"),
        )
    })?;
    let prefix_len = a.prefixlen.ok_or_else(|| {
        f.error_at(
            &[Seg::Idx(i), Seg::Key("addr_info"), Seg::Idx(j)],
            "inet address without \"prefixlen\": expected a prefix length 0..=32",
        )
    })?;
    if prefix_len > 32 {
        return Err(f.error_at(
            &at("prefixlen"),
            format!("prefix length {prefix_len} is too long: expected 0..=32 for IPv4"),
        ));
    }
    let opt = |key: &'static str, v: &Option<String>| -> Result<Option<Ipv4Addr>, LoadError> {
        v.as_deref()
            .map(|s| {
                parse_v4(s).ok_or_else(|| {
                    f.error_at(&at(key), format!("expected an IPv4 address, found `{s}`"))
                })
            })
            .transpose()
    };
    Ok(AddrDetail {
        addr: IfAddr {
            addr,
            prefix_len,
            broadcast: opt("broadcast", &a.broadcast)?,
        },
        peer: opt("address", &a.address)?,
        secondary: a.secondary,
        noprefixroute: a.noprefixroute,
    })
}

pub(crate) fn parse_v4(s: &str) -> Option<Ipv4Addr> {
    match s.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    }
}

/// A MAC is required for Ethernet-like and loopback devices; other link types (tunnels,
/// `none`) may print something else, which is kept as all zeros.
fn parse_mac_field(
    f: &JsonFile,
    i: usize,
    address: Option<&str>,
    link_type: &str,
) -> Result<[u8; 6], LoadError> {
    let needs_mac = matches!(link_type, "ether" | "loopback");
    match address.map(|a| (a, parse_mac(a))) {
        Some((_, Some(mac))) => Ok(mac),
        Some((a, None)) if needs_mac => Err(f.error_at(
            &[Seg::Idx(i), Seg::Key("address")],
            format!("expected a MAC address like 02:42:ac:11:00:02, found `{a}`"),
        )),
        None if needs_mac => Err(f.error_at(
            &[Seg::Idx(i)],
            format!("{link_type} interface without \"address\": expected its MAC address"),
        )),
        _ => Ok([0; 6]),
    }
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(
            parse_mac("02:42:ac:11:0:2"),
            Some([2, 0x42, 0xac, 0x11, 0, 2])
        );
        assert_eq!(parse_mac("02:42:ac:11:00"), None);
        assert_eq!(parse_mac("02:42:ac:11:00:02:03"), None);
        assert_eq!(parse_mac("0.0.0.0"), None);
        assert_eq!(parse_mac("+2:42:ac:11:00:02"), None);
    }
}
