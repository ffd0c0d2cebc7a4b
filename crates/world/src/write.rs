//! The writer: a [`World`] back to a snapshot folder (format: `shared/docs/world-snapshot.md`),
//! in the form the loader reads — `world.toml` and, per namespace, `ip-addr.json`,
//! `ip-link.json`, `ip-route.json`, `ip-rule.json`, `sysctl.txt`, `ss.txt`,
//! `iptables-save.txt` and `nft-ruleset.txt` — so that loading what was written gives the
//! same model back (rule positions aside: they are the printed file's).
//!
//! Files are written the way the commands that the format names print them (`ip -j`, `ss
//! -lntup`, `iptables-save`, `nft list ruleset`), with only the fields the loader and the
//! lab read. What the model does not hold is not invented: no process ids in `ss.txt`, no
//! counters beyond the ruleset's own, only base chains in `nft-ruleset.txt`.
//!
//! Every namespace gets its interface, route, rule and sysctl files, even when they only
//! say "the kernel's default": the routes the kernel derives are part of the model, and
//! writing them out keeps a snapshot independent of how a reader would derive them.
//! `ss.txt`, `iptables-save.txt` and `nft-ruleset.txt` are left out when there is nothing
//! to say (no sockets, no tables, base chains unknown), as the format allows.

use crate::model::*;
use pktpath_rules::{Policy, TableName};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Writing a snapshot failed: which file, and the I/O error.
#[derive(Debug, thiserror::Error)]
#[error("{}: {err}", .path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub err: std::io::Error,
}

/// Write `world` as a snapshot into folder `dir` (created if missing; files already there
/// are overwritten, others left alone). Probe records (`trace`, and the `conntrack.txt`,
/// `curl.txt`, `client.txt` next to it) that exist under [`World::root`] are copied too,
/// so a loaded world written elsewhere keeps its ground truth.
pub fn write_world(world: &World, dir: &Path) -> Result<(), WriteError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |err| WriteError { path, err }
    };
    for (rel, text) in render_world(world) {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, text).map_err(io(&path))?;
    }
    for p in &world.probes {
        let Some(trace) = &p.trace else { continue };
        let from = world.root.join(trace);
        let to = dir.join(trace);
        if !from.is_file() || same_file(&from, &to) {
            continue;
        }
        let (Some(from_dir), Some(to_dir)) = (from.parent(), to.parent()) else {
            continue;
        };
        std::fs::create_dir_all(to_dir).map_err(io(to_dir))?;
        std::fs::copy(&from, &to).map_err(io(&from))?;
        for sibling in ["conntrack.txt", "curl.txt", "client.txt"] {
            let f = from_dir.join(sibling);
            if f.is_file() && f != from {
                std::fs::copy(&f, to_dir.join(sibling)).map_err(io(&f))?;
            }
        }
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The snapshot's files, by path relative to the world's folder (what [`write_world`]
/// writes, without the copied probe records). Feed them to a
/// [`MemSource`](crate::MemSource) to load a world without touching the disk.
pub fn render_world(world: &World) -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    files.insert(PathBuf::from("world.toml"), manifest(world));
    for ns in &world.namespaces {
        let d = ns_dir(ns);
        let mut put = |name: &str, text: String| {
            files.insert(d.join(name), text);
        };
        put("ip-addr.json", ip_addr(ns));
        put("ip-link.json", ip_link(ns, world));
        put("ip-route.json", ip_route(ns));
        put("ip-rule.json", ip_rule(ns));
        put("sysctl.txt", sysctl(&ns.sysctls));
        if !ns.sockets.is_empty() {
            put("ss.txt", ss(&ns.sockets));
        }
        if !ns.ruleset.tables.is_empty() {
            put(
                "iptables-save.txt",
                pktpath_rules::print_ruleset(&ns.ruleset),
            );
        }
        if let Some(base) = &ns.base_chains {
            put("nft-ruleset.txt", nft_ruleset(ns, base));
        }
    }
    files
}

/// `ns/<name>`: where the writer puts a namespace's files.
fn ns_dir(ns: &Namespace) -> PathBuf {
    PathBuf::from("ns").join(&ns.name)
}

// ---------------------------------------------------------------- world.toml

#[derive(Serialize)]
struct TomlWorld<'a> {
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    captured: &'a BTreeMap<String, String>,
    namespace: Vec<TomlNamespace<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    link: Vec<TomlLink>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    probe: Vec<TomlProbe<'a>>,
}

#[derive(Serialize)]
struct TomlNamespace<'a> {
    name: &'a str,
    role: &'static str,
    dir: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    process: Vec<TomlProcess<'a>>,
}

#[derive(Serialize)]
struct TomlProcess<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cmdline: Option<&'a str>,
}

#[derive(Serialize)]
struct TomlLink {
    a: String,
    b: String,
}

#[derive(Serialize)]
struct TomlProbe<'a> {
    name: &'a str,
    from: &'a str,
    proto: &'static str,
    dst: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sport: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expect: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_namespace: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    keep_conntrack: bool,
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Host => "host",
        Role::Container => "container",
        Role::Client => "client",
    }
}

fn manifest(w: &World) -> String {
    let t = TomlWorld {
        description: &w.description,
        seed: w.seed.as_deref(),
        captured: &w.captured,
        namespace: w
            .namespaces
            .iter()
            .map(|n| TomlNamespace {
                name: &n.name,
                role: role_name(n.role),
                dir: ns_dir(n).to_string_lossy().replace('\\', "/"),
                process: n
                    .processes
                    .iter()
                    .map(|p| TomlProcess {
                        name: &p.name,
                        listen: p
                            .listen
                            .as_ref()
                            .map(|l| format!("{}:{}:{}", l.proto.as_str(), l.addr, l.port)),
                        cmdline: p.cmdline.as_deref(),
                    })
                    .collect(),
            })
            .collect(),
        link: w
            .links
            .iter()
            .map(|l| TomlLink {
                a: format!("{}:{}", l.a.namespace, l.a.interface),
                b: format!("{}:{}", l.b.namespace, l.b.interface),
            })
            .collect(),
        probe: w
            .probes
            .iter()
            .map(|p| TomlProbe {
                name: &p.name,
                from: &p.from,
                proto: p.proto.as_str(),
                dst: match p.dport {
                    Some(port) if p.proto != L4Proto::Icmp => format!("{}:{port}", p.dst),
                    _ => p.dst.to_string(),
                },
                sport: p.sport,
                expect: p.expect.map(Outcome::as_str),
                trace: p
                    .trace
                    .as_ref()
                    .map(|t| t.to_string_lossy().replace('\\', "/")),
                trace_namespace: p.trace_namespace.as_deref(),
                note: p.note.as_deref(),
                keep_conntrack: p.keep_conntrack,
            })
            .collect(),
    };
    let body = toml::to_string(&t).expect("the manifest serialises (strings, integers, tables)");
    format!(
        "# World snapshot (format v1): {}\n{body}",
        w.description.lines().next().unwrap_or("")
    )
}

// ---------------------------------------------------------------- ip -j addr / link

fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// `link_type` as `ip` prints it, and the `linkinfo.info_kind` that gives the model's kind
/// back. `Other(k)`: a kind the loader took from `info_kind` (e.g. `dummy`) is written
/// there; `ether` and an empty kind came from `link_type` alone.
fn link_type_and_kind(kind: &IfaceKind) -> (Option<&str>, Option<&str>) {
    match kind {
        IfaceKind::Loopback => (Some("loopback"), None),
        IfaceKind::Veth => (Some("ether"), Some("veth")),
        IfaceKind::Bridge => (Some("ether"), Some("bridge")),
        IfaceKind::Other(k) if k.is_empty() => (None, None),
        IfaceKind::Other(k) if k == "ether" => (Some("ether"), None),
        IfaceKind::Other(k) => (Some("ether"), Some(k.as_str())),
    }
}

fn flags(i: &Interface) -> Value {
    let mut f = Vec::new();
    if i.kind == IfaceKind::Loopback {
        f.push("LOOPBACK");
    } else {
        f.extend(["BROADCAST", "MULTICAST"]);
    }
    if i.up {
        f.extend(["UP", "LOWER_UP"]);
    }
    json!(f)
}

/// The fields both `ip -j addr` and `ip -j link` print for an interface.
fn link_fields(i: &Interface) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("ifindex".into(), json!(i.ifindex));
    m.insert("ifname".into(), json!(i.name));
    m.insert("flags".into(), flags(i));
    m.insert("mtu".into(), json!(i.mtu));
    if let Some(master) = &i.master {
        m.insert("master".into(), json!(master));
    }
    m.insert(
        "operstate".into(),
        json!(match (i.up, &i.kind) {
            (true, IfaceKind::Loopback) => "UNKNOWN",
            (true, _) => "UP",
            (false, _) => "DOWN",
        }),
    );
    let (link_type, _) = link_type_and_kind(&i.kind);
    if let Some(t) = link_type {
        m.insert("link_type".into(), json!(t));
        m.insert("address".into(), json!(mac_text(&i.mac)));
    } else if i.mac != [0; 6] {
        m.insert("address".into(), json!(mac_text(&i.mac)));
    }
    m
}

fn ip_addr(ns: &Namespace) -> String {
    let entries: Vec<Value> = ns
        .interfaces
        .iter()
        .map(|i| {
            let mut m = link_fields(i);
            let addrs: Vec<Value> = i
                .addrs
                .iter()
                .map(|a| {
                    let mut x = Map::new();
                    x.insert("family".into(), json!("inet"));
                    x.insert("local".into(), json!(a.addr.to_string()));
                    x.insert("prefixlen".into(), json!(a.prefix_len));
                    if let Some(b) = a.broadcast {
                        x.insert("broadcast".into(), json!(b.to_string()));
                    }
                    let scope = if a.addr.is_loopback() {
                        "host"
                    } else {
                        "global"
                    };
                    x.insert("scope".into(), json!(scope));
                    x.insert("label".into(), json!(i.name));
                    Value::Object(x)
                })
                .collect();
            m.insert("addr_info".into(), Value::Array(addrs));
            Value::Object(m)
        })
        .collect();
    pretty(&Value::Array(entries))
}

fn ip_link(ns: &Namespace, world: &World) -> String {
    let entries: Vec<Value> = ns
        .interfaces
        .iter()
        .map(|i| {
            let mut m = link_fields(i);
            // The veth peer's ifindex (`link_index`), as `ip link` shows it, when known.
            if i.kind == IfaceKind::Veth {
                if let Some(peer) = veth_peer(world, &ns.name, &i.name) {
                    m.insert("link_index".into(), json!(peer.ifindex));
                }
            }
            let (_, info_kind) = link_type_and_kind(&i.kind);
            let mut info = Map::new();
            if let Some(k) = info_kind {
                info.insert("info_kind".into(), json!(k));
            }
            if i.master.is_some() {
                // Only a bridge port has hairpin; the loader reads it from here.
                info.insert("info_slave_kind".into(), json!("bridge"));
                info.insert("info_slave_data".into(), json!({ "hairpin": i.hairpin }));
            }
            if !info.is_empty() {
                m.insert("linkinfo".into(), Value::Object(info));
            }
            Value::Object(m)
        })
        .collect();
    pretty(&Value::Array(entries))
}

fn veth_peer<'w>(world: &'w World, ns: &str, iface: &str) -> Option<&'w Interface> {
    world.links.iter().find_map(|l| {
        let (me, other) = if l.a.namespace == ns && l.a.interface == iface {
            (&l.a, &l.b)
        } else if l.b.namespace == ns && l.b.interface == iface {
            (&l.b, &l.a)
        } else {
            return None;
        };
        let _ = me;
        world
            .namespace(&other.namespace)?
            .interface(&other.interface)
    })
}

// ---------------------------------------------------------------- ip -j route / rule

fn table_name(t: u32) -> Value {
    match t {
        RT_TABLE_LOCAL => json!("local"),
        RT_TABLE_MAIN => json!("main"),
        RT_TABLE_DEFAULT => json!("default"),
        n => json!(n.to_string()),
    }
}

fn route_type(k: RouteType) -> &'static str {
    match k {
        RouteType::Unicast => "unicast",
        RouteType::Local => "local",
        RouteType::Broadcast => "broadcast",
        RouteType::Multicast => "multicast",
        RouteType::Blackhole => "blackhole",
        RouteType::Unreachable => "unreachable",
        RouteType::Prohibit => "prohibit",
        RouteType::Throw => "throw",
    }
}

/// `default`, a bare address for a /32, else `net/len` (as `ip route` prints them).
fn dst_text(d: &ipnet::Ipv4Net) -> String {
    match d.prefix_len() {
        0 => "default".into(),
        32 => d.addr().to_string(),
        _ => d.to_string(),
    }
}

fn ip_route(ns: &Namespace) -> String {
    let entries: Vec<Value> = ns
        .routes
        .iter()
        .map(|r| {
            let mut m = Map::new();
            if r.kind != RouteType::Unicast {
                m.insert("type".into(), json!(route_type(r.kind)));
            }
            m.insert("dst".into(), json!(dst_text(&r.dst)));
            if let Some(g) = r.gateway {
                m.insert("gateway".into(), json!(g.to_string()));
            }
            if let Some(d) = &r.dev {
                m.insert("dev".into(), json!(d));
            }
            if r.table != RT_TABLE_MAIN {
                m.insert("table".into(), table_name(r.table));
            }
            // The kernel's own routes (fib_add_ifaddr) say `proto kernel` with a
            // preferred source; a route someone added says neither.
            let kernel_made = r.gateway.is_none() && r.prefsrc.is_some();
            if kernel_made {
                m.insert("protocol".into(), json!("kernel"));
            }
            let scope = match r.kind {
                RouteType::Local => Some("host"),
                RouteType::Broadcast => Some("link"),
                RouteType::Unicast if r.gateway.is_none() => Some("link"),
                _ => None,
            };
            if let Some(s) = scope {
                m.insert("scope".into(), json!(s));
            }
            if r.metric != 0 {
                m.insert("metric".into(), json!(r.metric));
            }
            if let Some(p) = r.prefsrc {
                m.insert("prefsrc".into(), json!(p.to_string()));
            }
            m.insert("flags".into(), json!([]));
            Value::Object(m)
        })
        .collect();
    compact(&Value::Array(entries))
}

fn ip_rule(ns: &Namespace) -> String {
    let entries: Vec<Value> = ns
        .rules
        .iter()
        .map(|r| {
            let mut m = Map::new();
            m.insert("priority".into(), json!(r.priority));
            if r.not {
                m.insert("not".into(), Value::Null);
            }
            let mut net = |key: &str, lenkey: &str, n: &Option<ipnet::Ipv4Net>| match n {
                Some(n) => {
                    m.insert(key.into(), json!(n.addr().to_string()));
                    if n.prefix_len() != 32 {
                        m.insert(lenkey.into(), json!(n.prefix_len()));
                    }
                }
                None if key == "src" => {
                    m.insert(key.into(), json!("all"));
                }
                None => {}
            };
            net("src", "srclen", &r.src);
            net("dst", "dstlen", &r.dst);
            if let Some(i) = &r.iif {
                m.insert("iif".into(), json!(i));
            }
            if let Some(o) = &r.oif {
                m.insert("oif".into(), json!(o));
            }
            if let Some((mark, mask)) = r.fwmark {
                m.insert("fwmark".into(), json!(format!("{mark:#x}")));
                if mask != u32::MAX {
                    m.insert("fwmask".into(), json!(format!("{mask:#x}")));
                }
            }
            match r.action {
                IpRuleAction::Table(t) => {
                    m.insert("table".into(), table_name(t));
                }
                IpRuleAction::Blackhole => {
                    m.insert("action".into(), json!("blackhole"));
                }
                IpRuleAction::Unreachable => {
                    m.insert("action".into(), json!("unreachable"));
                }
                IpRuleAction::Prohibit => {
                    m.insert("action".into(), json!("prohibit"));
                }
            }
            Value::Object(m)
        })
        .collect();
    compact(&Value::Array(entries))
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON values serialise");
    s.push('\n');
    s
}

fn compact(v: &Value) -> String {
    let mut s = serde_json::to_string(v).expect("JSON values serialise");
    s.push('\n');
    s
}

// ---------------------------------------------------------------- sysctl.txt, ss.txt

/// `key = value` lines of [`Sysctls::raw`]. Where `raw` does not have the key a typed
/// field is read from (a world built in code), that field's value is written, so that it
/// loads back.
fn sysctl(s: &Sysctls) -> String {
    let mut raw = s.raw.clone();
    let has = |raw: &BTreeMap<String, String>, k: &str| raw.contains_key(k);
    if s.ip_forward
        && !has(&raw, "net.ipv4.ip_forward")
        && !has(&raw, "net.ipv4.conf.all.forwarding")
    {
        raw.insert("net.ipv4.ip_forward".into(), bit(true));
    }
    let key = "net.bridge.bridge-nf-call-iptables";
    if let (Some(on), false) = (s.bridge_nf_call_iptables, has(&raw, key)) {
        raw.insert(key.into(), bit(on));
    }
    let mut out = String::new();
    for (k, v) in &raw {
        let _ = writeln!(out, "{k} = {v}");
    }
    out
}

fn bit(on: bool) -> String {
    if on { "1" } else { "0" }.into()
}

fn ss(sockets: &[ListenSocket]) -> String {
    let mut out =
        String::from("Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n");
    for s in sockets {
        let (netid, state, sendq) = match s.proto {
            L4Proto::Tcp => ("tcp", "LISTEN", 4096),
            _ => ("udp", "UNCONN", 0),
        };
        let local = match &s.dev {
            Some(d) => format!("{}%{d}:{}", s.addr, s.port),
            None => format!("{}:{}", s.addr, s.port),
        };
        let _ = write!(
            out,
            "{netid:<5} {state:<6} 0      {sendq:<6} {local:>20} {:>14}",
            "0.0.0.0:*"
        );
        if let Some(p) = &s.process {
            let _ = write!(out, "    users:((\"{p}\"))");
        }
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------- nft-ruleset.txt

/// `type ... hook ... priority ...` of iptables-nft's base chain `table`/`chain`.
fn base_chain_decl(table: TableName, chain: &str) -> Option<String> {
    let hook = match chain {
        "PREROUTING" => "prerouting",
        "INPUT" => "input",
        "FORWARD" => "forward",
        "OUTPUT" => "output",
        "POSTROUTING" => "postrouting",
        _ => return None,
    };
    let (ty, prio) = match (table, chain) {
        (TableName::Raw, _) => ("filter", "raw"),
        (TableName::Mangle, "OUTPUT") => ("route", "mangle"),
        (TableName::Mangle, _) => ("filter", "mangle"),
        (TableName::Nat, "PREROUTING") => ("nat", "dstnat"),
        (TableName::Nat, "OUTPUT") => ("nat", "-100"),
        (TableName::Nat, "POSTROUTING") => ("nat", "srcnat"),
        (TableName::Nat, _) => ("nat", "100"),
        (TableName::Filter, _) => ("filter", "filter"),
        (TableName::Security, _) => ("filter", "security"),
    };
    Some(format!("type {ty} hook {hook} priority {prio};"))
}

fn nft_ruleset(ns: &Namespace, base: &std::collections::BTreeSet<(TableName, String)>) -> String {
    let mut out = String::from("# base chains only (the rules are in iptables-save.txt)\n");
    for t in TableName::ALL {
        let chains: Vec<&str> = t
            .builtin_chains()
            .iter()
            .copied()
            .filter(|c| base.contains(&(t, c.to_string())))
            .collect();
        if chains.is_empty() {
            continue;
        }
        let _ = writeln!(out, "table ip {} {{", t.as_str());
        for (i, c) in chains.iter().enumerate() {
            let policy = match ns
                .ruleset
                .table(t)
                .and_then(|tb| tb.chain(c))
                .and_then(|ch| ch.policy)
            {
                Some(Policy::Drop) => "drop",
                _ => "accept",
            };
            if i > 0 {
                out.push('\n');
            }
            let decl = base_chain_decl(t, c).expect("a built-in chain");
            let _ = writeln!(out, "\tchain {c} {{\n\t\t{decl} policy {policy};\n\t}}");
        }
        out.push_str("}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_destinations_print_like_ip() {
        assert_eq!(dst_text(&"0.0.0.0/0".parse().unwrap()), "default");
        assert_eq!(dst_text(&"10.0.0.1/32".parse().unwrap()), "10.0.0.1");
        assert_eq!(dst_text(&"10.0.0.0/8".parse().unwrap()), "10.0.0.0/8");
    }

    #[test]
    fn typed_sysctls_fill_in_what_raw_does_not_say() {
        let s = Sysctls {
            ip_forward: true,
            bridge_nf_call_iptables: Some(false),
            raw: BTreeMap::new(),
        };
        assert_eq!(
            sysctl(&s),
            "net.bridge.bridge-nf-call-iptables = 0\nnet.ipv4.ip_forward = 1\n"
        );
        // What raw says stays (a loaded world's typed fields come from it).
        let s = Sysctls {
            ip_forward: false,
            bridge_nf_call_iptables: None,
            raw: [("net.ipv4.conf.all.forwarding".to_string(), "1".to_string())]
                .into_iter()
                .collect(),
        };
        assert_eq!(sysctl(&s), "net.ipv4.conf.all.forwarding = 1\n");
    }

    #[test]
    fn base_chains_are_declared_as_iptables_nft_creates_them() {
        assert_eq!(
            base_chain_decl(TableName::Nat, "PREROUTING").unwrap(),
            "type nat hook prerouting priority dstnat;"
        );
        assert_eq!(
            base_chain_decl(TableName::Mangle, "OUTPUT").unwrap(),
            "type route hook output priority mangle;"
        );
        assert!(base_chain_decl(TableName::Filter, "DOCKER").is_none());
    }
}
