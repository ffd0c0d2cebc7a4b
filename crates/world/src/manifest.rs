//! `world.toml`: the manifest (namespaces, processes, links, probes), parsed with spans so
//! that semantic errors point at the offending value.

use crate::error::LoadError;
use crate::interfaces::parse_v4;
use crate::model::{Endpoint, L4Proto, ListenSocket, Outcome, Probe, Process, Role};
use crate::proxy;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorld {
    description: Option<String>,
    seed: Option<String>,
    #[serde(default)]
    captured: BTreeMap<String, toml::Value>,
    #[serde(default)]
    namespace: Vec<RawNamespace>,
    #[serde(default)]
    link: Vec<RawLink>,
    #[serde(default)]
    probe: Vec<RawProbe>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNamespace {
    name: Spanned<String>,
    role: Spanned<String>,
    dir: Option<Spanned<String>>,
    #[serde(default)]
    process: Vec<RawProcess>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProcess {
    name: String,
    listen: Option<Spanned<String>>,
    cmdline: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLink {
    a: Spanned<String>,
    b: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProbe {
    name: Spanned<String>,
    from: Spanned<String>,
    proto: Spanned<String>,
    dst: Spanned<String>,
    sport: Option<u16>,
    expect: Option<Spanned<String>>,
    trace: Option<Spanned<String>>,
    trace_namespace: Option<Spanned<String>>,
    note: Option<String>,
    #[serde(default)]
    keep_conntrack: bool,
}

/// The manifest, checked on its own (names, syntax of values); what needs the namespaces'
/// files (link interfaces) is checked by the loader with [`Manifest::error_at`].
pub(crate) struct Manifest {
    pub label: String,
    pub text: String,
    pub description: String,
    pub seed: Option<String>,
    pub captured: BTreeMap<String, String>,
    pub namespaces: Vec<NsDecl>,
    pub links: Vec<LinkDecl>,
    pub probes: Vec<Probe>,
}

pub(crate) struct NsDecl {
    pub name: String,
    pub role: Role,
    pub dir: PathBuf,
    pub processes: Vec<Process>,
}

pub(crate) struct LinkDecl {
    pub a: Endpoint,
    pub b: Endpoint,
    /// Byte spans of `a` and `b` in world.toml.
    pub a_span: std::ops::Range<usize>,
    pub b_span: std::ops::Range<usize>,
}

impl Manifest {
    pub fn error_at(&self, span: &std::ops::Range<usize>, msg: impl Into<String>) -> LoadError {
        LoadError::spanning(&self.label, &self.text, span.start, span.end, msg)
    }
}

pub(crate) fn parse(label: &str, text: &str) -> Result<Manifest, LoadError> {
    let raw: RawWorld = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        LoadError::spanning(label, text, span.start, span.end, e.message().trim_end())
    })?;
    let mut m = Manifest {
        label: label.to_string(),
        text: text.to_string(),
        description: raw.description.unwrap_or_default(),
        seed: raw.seed,
        captured: raw
            .captured
            .into_iter()
            .map(|(k, v)| match v {
                toml::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect(),
        namespaces: Vec::new(),
        links: Vec::new(),
        probes: Vec::new(),
    };
    let err = |span: std::ops::Range<usize>, msg: String| {
        LoadError::spanning(label, text, span.start, span.end, msg)
    };

    for ns in &raw.namespace {
        let name = ns.name.get_ref();
        if name.is_empty() || name.contains([':', '/']) || name.contains(char::is_whitespace) {
            return Err(err(
                ns.name.span(),
                format!("expected a namespace name without `:`, `/` or spaces, found `{name}`"),
            ));
        }
        if m.namespaces.iter().any(|n| &n.name == name) {
            return Err(err(
                ns.name.span(),
                format!("duplicate namespace `{name}`: expected each name once"),
            ));
        }
        let role = match ns.role.get_ref().as_str() {
            "host" => Role::Host,
            "container" => Role::Container,
            "client" => Role::Client,
            r => {
                return Err(err(
                    ns.role.span(),
                    format!("unknown role `{r}`: expected host, container or client"),
                ))
            }
        };
        let dir = match &ns.dir {
            None => PathBuf::from("ns").join(name),
            Some(d) => {
                let p = PathBuf::from(d.get_ref());
                if p.is_absolute() || d.get_ref().is_empty() {
                    return Err(err(
                        d.span(),
                        format!(
                            "expected a folder relative to the world's folder, found `{}`",
                            d.get_ref()
                        ),
                    ));
                }
                p
            }
        };
        let mut processes = Vec::new();
        for p in &ns.process {
            let listen = match &p.listen {
                None => None,
                Some(l) => {
                    Some(parse_listen(l.get_ref(), &p.name).map_err(|msg| err(l.span(), msg))?)
                }
            };
            let proxy = match &p.cmdline {
                None => None,
                Some(c) => proxy::parse(c.get_ref()).map_err(|msg| err(c.span(), msg))?,
            };
            processes.push(Process {
                name: p.name.clone(),
                listen,
                cmdline: p.cmdline.as_ref().map(|c| c.get_ref().clone()),
                proxy,
            });
        }
        m.namespaces.push(NsDecl {
            name: name.clone(),
            role,
            dir,
            processes,
        });
    }

    let known = |s: &Spanned<String>, what: &str| -> Result<(), LoadError> {
        if m.namespaces.iter().any(|n| &n.name == s.get_ref()) {
            Ok(())
        } else {
            Err(err(
                s.span(),
                format!(
                    "unknown namespace `{}` in {what}: expected one of {}",
                    s.get_ref(),
                    ns_list(&m.namespaces)
                ),
            ))
        }
    };

    let mut used: BTreeSet<(String, String)> = BTreeSet::new();
    for l in &raw.link {
        let mut ends = Vec::new();
        for s in [&l.a, &l.b] {
            let Some((ns, iface)) = s
                .get_ref()
                .split_once(':')
                .filter(|(n, i)| !n.is_empty() && !i.is_empty())
            else {
                return Err(err(
                    s.span(),
                    format!(
                        "expected `namespace:interface` (e.g. `dh:eth0`), found `{}`",
                        s.get_ref()
                    ),
                ));
            };
            if !m.namespaces.iter().any(|n| n.name == ns) {
                return Err(err(
                    s.span(),
                    format!(
                        "unknown namespace `{ns}` in link endpoint: expected one of {}",
                        ns_list(&m.namespaces)
                    ),
                ));
            }
            if !used.insert((ns.to_string(), iface.to_string())) {
                return Err(err(
                    s.span(),
                    format!(
                        "`{}` is already an end of another link: a veth has exactly one peer",
                        s.get_ref()
                    ),
                ));
            }
            ends.push(Endpoint {
                namespace: ns.to_string(),
                interface: iface.to_string(),
            });
        }
        let b = ends.pop().expect("two ends");
        let a = ends.pop().expect("two ends");
        m.links.push(LinkDecl {
            a,
            b,
            a_span: l.a.span(),
            b_span: l.b.span(),
        });
    }

    for p in &raw.probe {
        let name = p.name.get_ref();
        if name.is_empty() {
            return Err(err(p.name.span(), "expected a probe name".into()));
        }
        if m.probes.iter().any(|q| &q.name == name) {
            return Err(err(
                p.name.span(),
                format!("duplicate probe `{name}`: expected each name once"),
            ));
        }
        known(&p.from, "probe `from`")?;
        if let Some(t) = &p.trace_namespace {
            known(t, "probe `trace_namespace`")?;
        }
        let proto = match p.proto.get_ref().as_str() {
            "tcp" => L4Proto::Tcp,
            "udp" => L4Proto::Udp,
            "icmp" => L4Proto::Icmp,
            x => {
                return Err(err(
                    p.proto.span(),
                    format!("unknown protocol `{x}`: expected tcp, udp or icmp"),
                ))
            }
        };
        let (dst, dport) =
            parse_dst(p.dst.get_ref(), proto).map_err(|msg| err(p.dst.span(), msg))?;
        let expect = match &p.expect {
            None => None,
            Some(e) => Some(Outcome::parse(e.get_ref()).ok_or_else(|| {
                err(e.span(), format!("unknown outcome `{}`: expected connected, refused, reset_after_connect, timeout or no_route", e.get_ref()))
            })?),
        };
        let trace = match &p.trace {
            None => None,
            Some(t) => {
                let path = PathBuf::from(t.get_ref());
                if path.is_absolute() || t.get_ref().is_empty() {
                    return Err(err(
                        t.span(),
                        format!(
                            "expected a path relative to the world's folder, found `{}`",
                            t.get_ref()
                        ),
                    ));
                }
                Some(path)
            }
        };
        m.probes.push(Probe {
            name: name.clone(),
            from: p.from.get_ref().clone(),
            proto,
            dst,
            dport,
            sport: p.sport,
            expect,
            trace,
            trace_namespace: p.trace_namespace.as_ref().map(|t| t.get_ref().clone()),
            note: p.note.clone(),
            keep_conntrack: p.keep_conntrack,
        });
    }
    Ok(m)
}

fn ns_list(ns: &[NsDecl]) -> String {
    if ns.is_empty() {
        return "the [[namespace]] names (none declared)".into();
    }
    ns.iter()
        .map(|n| n.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `proto:addr:port`, e.g. `tcp:0.0.0.0:11211`.
fn parse_listen(s: &str, process: &str) -> Result<ListenSocket, String> {
    let expected =
        || format!("expected `proto:address:port` like `tcp:0.0.0.0:80` (IPv4), found `{s}`");
    let mut parts = s.splitn(3, ':');
    let (Some(proto), Some(addr), Some(port)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(expected());
    };
    let proto = match proto {
        "tcp" => L4Proto::Tcp,
        "udp" => L4Proto::Udp,
        p => {
            return Err(format!(
                "unknown protocol `{p}` in `{s}`: expected tcp or udp"
            ))
        }
    };
    let addr: Ipv4Addr = parse_v4(addr).ok_or_else(expected)?;
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|&p| p != 0)
        .ok_or_else(|| format!("expected a port 1-65535 in `{s}`"))?;
    Ok(ListenSocket {
        proto,
        addr,
        port,
        process: Some(process.to_string()),
        dev: None,
    })
}

/// A probe destination: `ip:port` (the port may be left out for ICMP, and is ignored there).
fn parse_dst(s: &str, proto: L4Proto) -> Result<(Ipv4Addr, Option<u16>), String> {
    let expected = || {
        format!("expected an IPv4 destination `address:port` like `10.120.0.1:8080` (port optional for icmp), found `{s}`")
    };
    let (addr, port) = match s.split_once(':') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr = parse_v4(addr).ok_or_else(expected)?;
    let port = match port {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(expected)?,
        ),
    };
    match proto {
        L4Proto::Icmp => Ok((addr, None)),
        _ => match port {
            Some(p) => Ok((addr, Some(p))),
            None => Err(format!(
                "expected a port for a {} probe: `{s}:PORT`",
                proto.as_str()
            )),
        },
    }
}
