//! Which processes stand in for a world's listeners: `pktpath serve` for servers (HTTP on
//! TCP, echo on UDP) and `pktpath proxy` for userland proxies (docker-proxy), decided the
//! way the engine decides what answers on a socket (`NsState::build`): a socket whose
//! protocol and port are a proxy's host side is that proxy; a proxy named only by its
//! command line still listens on host-ip:host-port.

use crate::serve::{Listen, Style};
use pktpath_world::{L4Proto, Namespace, UserlandProxy};
use std::net::Ipv4Addr;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StandIn {
    Serve {
        ns: String,
        style: Style,
        listen: Vec<Listen>,
    },
    Proxy {
        ns: String,
        proxy: UserlandProxy,
    },
}

impl StandIn {
    pub fn ns(&self) -> &str {
        match self {
            StandIn::Serve { ns, .. } | StandIn::Proxy { ns, .. } => ns,
        }
    }

    /// The sockets it will have bound once ready: (tcp?, address, port).
    pub fn sockets(&self) -> Vec<(bool, Ipv4Addr, u16)> {
        match self {
            StandIn::Serve { listen, .. } => {
                listen.iter().map(|l| (l.tcp, l.addr, l.port)).collect()
            }
            StandIn::Proxy { proxy, .. } => {
                vec![(proxy.proto == L4Proto::Tcp, proxy.host_ip, proxy.host_port)]
            }
        }
    }

    /// A short name for logs.
    pub fn name(&self) -> String {
        match self {
            StandIn::Serve { ns, style, .. } => format!("{ns}-serve-{}", style.as_str()),
            StandIn::Proxy { ns, proxy } => {
                format!("{ns}-proxy-{}-{}", proxy.proto.as_str(), proxy.host_port)
            }
        }
    }

    /// The command line, with `exe` the pktpath binary.
    pub fn argv(&self, exe: &Path) -> Vec<String> {
        let mut a = vec![exe.display().to_string()];
        match self {
            StandIn::Serve { style, listen, .. } => {
                a.extend(["serve".into(), "--style".into(), style.as_str().into()]);
                a.extend(listen.iter().map(|l| l.to_string()));
            }
            StandIn::Proxy { proxy: p, .. } => {
                a.extend([
                    "proxy".into(),
                    "-proto".into(),
                    p.proto.as_str().into(),
                    "-host-ip".into(),
                    p.host_ip.to_string(),
                    "-host-port".into(),
                    p.host_port.to_string(),
                    "-container-ip".into(),
                    p.container_ip.to_string(),
                    "-container-port".into(),
                    p.container_port.to_string(),
                ]);
            }
        }
        a
    }
}

/// The stand-ins for one namespace: one `serve` per style with all its sockets, one
/// `proxy` per userland proxy.
pub fn plan(ns: &Namespace) -> Vec<StandIn> {
    let mut python: Vec<Listen> = Vec::new();
    let mut busybox: Vec<Listen> = Vec::new();
    let mut proxies: Vec<UserlandProxy> = Vec::new();
    let mut seen: Vec<(L4Proto, Ipv4Addr, u16)> = Vec::new();
    for s in &ns.sockets {
        if s.proto == L4Proto::Icmp || seen.contains(&(s.proto, s.addr, s.port)) {
            continue;
        }
        seen.push((s.proto, s.addr, s.port));
        let proxy = ns
            .processes
            .iter()
            .filter_map(|p| p.proxy)
            .find(|p| p.proto == s.proto && p.host_port == s.port);
        match proxy {
            Some(p) => {
                if !proxies.contains(&p) {
                    proxies.push(p);
                }
            }
            None => {
                let l = Listen {
                    tcp: s.proto == L4Proto::Tcp,
                    addr: s.addr,
                    port: s.port,
                    dev: s.dev.clone(),
                };
                match Style::of_process(s.process.as_deref().unwrap_or("")) {
                    Style::Python => python.push(l),
                    Style::Busybox => busybox.push(l),
                }
            }
        }
    }
    for p in ns.processes.iter().filter_map(|p| p.proxy) {
        if !proxies.contains(&p) {
            proxies.push(p);
        }
    }
    let mut out = Vec::new();
    for (style, listen) in [(Style::Python, python), (Style::Busybox, busybox)] {
        if !listen.is_empty() {
            out.push(StandIn::Serve {
                ns: ns.name.clone(),
                style,
                listen,
            });
        }
    }
    out.extend(proxies.into_iter().map(|proxy| StandIn::Proxy {
        ns: ns.name.clone(),
        proxy,
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn docker_memcached_gets_a_proxy_and_two_kinds_of_server() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/docker-memcached");
        let w = pktpath_world::load_world(&dir).expect("loads");
        let dh = plan(w.namespace("dh").unwrap());
        assert_eq!(dh.len(), 1, "{dh:?}");
        assert_eq!(
            dh[0].argv(Path::new("pktpath")).join(" "),
            "pktpath proxy -proto tcp -host-ip 0.0.0.0 -host-port 11211 -container-ip 172.17.0.2 -container-port 11211"
        );
        assert_eq!(dh[0].sockets(), vec![(true, Ipv4Addr::UNSPECIFIED, 11211)]);
        let mc = plan(w.namespace("memcached").unwrap());
        assert_eq!(
            mc[0].argv(Path::new("pktpath")).join(" "),
            "pktpath serve --style busybox tcp:0.0.0.0:11211"
        );
        let ext = plan(w.namespace("ext").unwrap());
        assert_eq!(
            ext[0].argv(Path::new("pktpath")).join(" "),
            "pktpath serve --style python tcp:10.120.0.2:8080"
        );
    }
}
