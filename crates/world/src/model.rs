//! The world model: namespaces, their interfaces, addresses, routes, sysctls, sockets,
//! processes and rulesets, the veth links between namespaces, and the probes to run.
//!
//! This is what a world snapshot folder (`world.toml` + `ns/<name>/...`) loads into.
//! Everything is IPv4 (IPv6 entries of `ip -j` output are skipped on load).

use ipnet::Ipv4Net;
use pktpath_rules::{Ruleset, TableName};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub struct World {
    pub description: String,
    pub seed: Option<String>,
    /// `[captured]`: where the ground truth was recorded (kernel, iptables, docker versions).
    /// Non-string values are kept in their TOML form.
    pub captured: BTreeMap<String, String>,
    /// The folder the world was loaded from (for resolving probe trace paths).
    pub root: PathBuf,
    pub namespaces: Vec<Namespace>,
    pub links: Vec<Link>,
    pub probes: Vec<Probe>,
}

impl World {
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.name == name)
    }
    pub fn namespace_index(&self, name: &str) -> Option<usize> {
        self.namespaces.iter().position(|n| n.name == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Host,
    Container,
    Client,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Namespace {
    pub name: String,
    pub role: Role,
    pub interfaces: Vec<Interface>,
    /// All routes of all tables (`ip -j route show table all`, IPv4 only); when the snapshot
    /// has no `ip-route.json`, the routes the kernel derives from the addresses.
    pub routes: Vec<Route>,
    /// Policy routing rules; the kernel's three defaults when `ip-rule.json` is missing.
    pub rules: Vec<IpRule>,
    pub sysctls: Sysctls,
    /// Listening sockets from `ss.txt` and from `[[namespace.process]] listen`.
    pub sockets: Vec<ListenSocket>,
    pub processes: Vec<Process>,
    pub ruleset: Ruleset,
    /// Base chains that exist in the kernel (nf_tables creates a built-in chain only when
    /// it is touched). From `nft-ruleset.txt` when present; `None` means "unknown", and the
    /// engine then derives it from the ruleset (a chain with rules or a non-ACCEPT policy).
    pub base_chains: Option<BTreeSet<(TableName, String)>>,
}

impl Namespace {
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfaceKind {
    Loopback,
    Veth,
    Bridge,
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Interface {
    pub name: String,
    pub ifindex: u32,
    pub kind: IfaceKind,
    pub mac: [u8; 6],
    /// Administratively up (flag UP).
    pub up: bool,
    /// The bridge this interface is a port of (`"master"`).
    pub master: Option<String>,
    /// Hairpin mode on this bridge port.
    pub hairpin: bool,
    pub addrs: Vec<IfAddr>,
    pub mtu: u32,
}

/// An address with its prefix, as `ip addr` shows it (`10.120.0.1/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfAddr {
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
    pub broadcast: Option<Ipv4Addr>,
}

impl IfAddr {
    pub fn net(&self) -> Ipv4Net {
        Ipv4Net::new(self.addr, self.prefix_len)
            .expect("prefix <= 32")
            .trunc()
    }
}

/// Routing table ids as the kernel numbers them.
pub const RT_TABLE_LOCAL: u32 = 255;
pub const RT_TABLE_MAIN: u32 = 254;
pub const RT_TABLE_DEFAULT: u32 = 253;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteType {
    Unicast,
    Local,
    Broadcast,
    Multicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub table: u32,
    pub kind: RouteType,
    pub dst: Ipv4Net,
    pub gateway: Option<Ipv4Addr>,
    pub dev: Option<String>,
    pub prefsrc: Option<Ipv4Addr>,
    pub metric: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpRuleAction {
    Table(u32),
    Blackhole,
    Unreachable,
    Prohibit,
}

/// One `ip rule` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRule {
    pub priority: u32,
    pub src: Option<Ipv4Net>,
    pub dst: Option<Ipv4Net>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub fwmark: Option<(u32, u32)>,
    pub not: bool,
    pub action: IpRuleAction,
}

/// The sysctls the engine looks at. Per-interface values are looked up with the kernel's
/// rules (`all` OR/AND per-device as each sysctl defines); unknown keys are kept in `raw`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sysctls {
    /// `net.ipv4.ip_forward`
    pub ip_forward: bool,
    /// `net.bridge.bridge-nf-call-iptables` (None: br_netfilter not loaded)
    pub bridge_nf_call_iptables: Option<bool>,
    /// Every `key = value` line, as written.
    pub raw: BTreeMap<String, String>,
}

impl Sysctls {
    /// `net.ipv4.conf.<dev>.<key>` with `all` and `default` fallbacks, as an integer.
    pub fn conf(&self, dev: &str, key: &str) -> Option<i64> {
        self.raw
            .get(&format!("net.ipv4.conf.{dev}.{key}"))
            .and_then(|v| v.trim().parse().ok())
    }
    /// `route_localnet` is on for a device when `all` or the device has it (kernel: IN_DEV_ROUTE_LOCALNET uses IN_DEV_ORCONF).
    pub fn route_localnet(&self, dev: &str) -> bool {
        self.conf("all", "route_localnet").unwrap_or(0) != 0
            || self.conf(dev, "route_localnet").unwrap_or(0) != 0
    }
    /// `rp_filter` effective value: max(all, dev) (kernel: IN_DEV_RPFILTER uses IN_DEV_MAXCONF).
    pub fn rp_filter(&self, dev: &str) -> i64 {
        self.conf("all", "rp_filter")
            .unwrap_or(0)
            .max(self.conf(dev, "rp_filter").unwrap_or(0))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum L4Proto {
    Tcp,
    Udp,
    Icmp,
}

impl L4Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            L4Proto::Tcp => "tcp",
            L4Proto::Udp => "udp",
            L4Proto::Icmp => "icmp",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenSocket {
    pub proto: L4Proto,
    /// 0.0.0.0 for a wildcard bind.
    pub addr: Ipv4Addr,
    pub port: u16,
    /// The process name, when known (ss `users:(("name",...))` or the manifest).
    pub process: Option<String>,
    /// The device the socket is bound to (`SO_BINDTODEVICE`, ss `127.0.0.53%lo:53`): it only
    /// receives packets that arrived on that device.
    pub dev: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub name: String,
    pub listen: Option<ListenSocket>,
    pub cmdline: Option<String>,
    /// Set when `cmdline` is a userland proxy (docker-proxy and compatible).
    pub proxy: Option<UserlandProxy>,
}

/// docker-proxy's forwarding: accept on host-ip:host-port, connect to container-ip:container-port
/// from the proxy's own namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserlandProxy {
    pub proto: L4Proto,
    pub host_ip: Ipv4Addr,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
}

/// A veth pair between two namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub a: Endpoint,
    pub b: Endpoint,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub namespace: String,
    pub interface: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Connected,
    Refused,
    ResetAfterConnect,
    Timeout,
    NoRoute,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Connected => "connected",
            Outcome::Refused => "refused",
            Outcome::ResetAfterConnect => "reset_after_connect",
            Outcome::Timeout => "timeout",
            Outcome::NoRoute => "no_route",
        }
    }
    pub fn parse(s: &str) -> Option<Outcome> {
        [
            Outcome::Connected,
            Outcome::Refused,
            Outcome::ResetAfterConnect,
            Outcome::Timeout,
            Outcome::NoRoute,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub name: String,
    pub from: String,
    pub proto: L4Proto,
    pub dst: Ipv4Addr,
    /// Destination port; `None` for ICMP.
    pub dport: Option<u16>,
    pub sport: Option<u16>,
    pub expect: Option<Outcome>,
    /// Path of the recorded kernel trace, relative to the world root.
    pub trace: Option<PathBuf>,
    pub trace_namespace: Option<String>,
    pub note: Option<String>,
    /// `keep_conntrack = true`: the conntrack table is not flushed before this probe.
    pub keep_conntrack: bool,
}
