//! The shapes of random worlds, after the captured fixtures:
//!
//! * `docker`: a Docker host `h` (docker0, sometimes a second network), one to three
//!   containers, an outside client `x`; Docker 20.10's rules with published ports, the
//!   userland proxy on or off, icc on or off; a few rules of one's own in DOCKER-USER and
//!   elsewhere.
//! * `kube`: a node `k` with the bridge CNI's cni0 (hairpin on), pods, an outside client;
//!   kube-proxy's rules for ClusterIP services (with `statistic` across endpoints), NodePorts
//!   and a service without endpoints.
//! * `router`: client ── router ── server(s), forwarding on or off, random filter and nat
//!   rules on the router (port forwards, masquerading, REJECT variants).
//! * `bridge`: a host with one or two plain bridges and containers, an outside client;
//!   random sysctls (forwarding, br_netfilter, hairpin, route_localnet) and random rules.
//!
//! Rules live only in the namespace that is traced (the host, node or router): the lab
//! flushes conntrack only there before each probe, as the capture did.

use super::build::Builder;
use super::docker::{docker_rules, DockerNet, Published};
use super::kube::{kube_rules, Service};
use super::random_rules::{RuleCtx, RuleGen, FWD};
use super::save::SaveText;
use ipnet::Ipv4Net;
use pktpath_rules::TableName::{Filter, Nat};
use pktpath_world::{L4Proto, Role, World};
use rand::seq::SliceRandom;
use rand::Rng;
use std::net::Ipv4Addr;

/// Most rules a world gets (a case must run fast on a real kernel).
pub const MAX_RULES: usize = 60;

/// Something worth probing besides what listens: a published port, a service address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub proto: L4Proto,
    pub addr: Ipv4Addr,
    pub port: u16,
}

/// A generated world (without probes) and what the probe picker should know.
pub struct Shaped {
    pub kind: &'static str,
    pub world: World,
    /// The namespace with the rules, whose trace the probes record.
    pub trace_ns: String,
    pub targets: Vec<Target>,
    /// Ports the rules talk about (probing them is interesting even when nothing listens).
    pub rule_ports: Vec<u16>,
}

fn hex(rng: &mut impl Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).expect("a hex digit"))
        .collect()
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}

/// Sysctls every namespace gets written out, so that nothing is inherited from the
/// machine's initial namespace (`devconf_inherit_init_net`): forwarding, rp_filter and
/// route_localnet for `all`, `default` and each device.
fn base_sysctls(b: &mut Builder, ns: &str, forward: bool, rp_filter: u8) {
    b.sysctl(ns, "net.ipv4.ip_forward", u8::from(forward));
    let devs: Vec<String> = b.interfaces(ns).into_iter().map(|i| i.name).collect();
    for d in ["all", "default"].iter().map(|s| s.to_string()).chain(devs) {
        let rp = if d == "all" { rp_filter } else { 0 };
        b.sysctl(ns, &format!("net.ipv4.conf.{d}.rp_filter"), rp);
        b.sysctl(ns, &format!("net.ipv4.conf.{d}.route_localnet"), 0);
    }
}

/// What the rules of `ns` can talk about, from the world built so far.
fn rule_ctx(b: &Builder, ns: &str, extra_ports: &[u16], dnat_to: Vec<(Ipv4Addr, u16)>) -> RuleCtx {
    let w = &b.world;
    let mut ctx = RuleCtx {
        dnat_to,
        ..RuleCtx::default()
    };
    for n in &w.namespaces {
        for i in &n.interfaces {
            for a in &i.addrs {
                if a.addr.is_loopback() {
                    continue;
                }
                if n.name == ns {
                    ctx.local.push(a.addr);
                } else {
                    ctx.peers.push(a.addr);
                }
                let net = Ipv4Net::new(a.addr, a.prefix_len).expect("valid").trunc();
                if !ctx.nets.contains(&net) {
                    ctx.nets.push(net);
                }
            }
            if n.name == ns && i.name != "lo" {
                ctx.ifaces.push(i.name.clone());
            }
        }
        for s in &n.sockets {
            if !ctx.ports.contains(&s.port) {
                ctx.ports.push(s.port);
            }
            if n.name == ns && !ctx.redirect_to.contains(&s.port) {
                ctx.redirect_to.push(s.port);
            }
        }
    }
    for p in extra_ports {
        if !ctx.ports.contains(p) {
            ctx.ports.push(*p);
        }
    }
    ctx.ports.push(9999);
    ctx
}

/// (address, port) of every socket in namespaces other than `ns` (DNAT targets).
fn remote_services(b: &Builder, ns: &str) -> Vec<(Ipv4Addr, u16)> {
    let mut out = Vec::new();
    for n in b.world.namespaces.iter().filter(|n| n.name != ns) {
        let addrs: Vec<Ipv4Addr> = n
            .interfaces
            .iter()
            .flat_map(|i| i.addrs.iter().map(|a| a.addr))
            .filter(|a| !a.is_loopback())
            .collect();
        for s in &n.sockets {
            if s.addr.is_unspecified() {
                out.extend(addrs.iter().map(|a| (*a, s.port)));
            } else {
                out.push((s.addr, s.port));
            }
        }
    }
    out
}

/// Add random rules to `s` until it has `want` more (bounded by [`MAX_RULES`]).
fn random_rules(s: &mut SaveText, ctx: &RuleCtx, rng: &mut impl Rng, want: usize) {
    let target = (s.rule_count() + want).min(MAX_RULES);
    let mut g = RuleGen::new(ctx, rng);
    let mut tries = 0;
    while s.rule_count() < target && tries < 4 * want + 4 {
        tries += 1;
        let table = *[
            Filter,
            Filter,
            Filter,
            Filter,
            Filter,
            Nat,
            Nat,
            Nat,
            pktpath_rules::TableName::Mangle,
            pktpath_rules::TableName::Mangle,
            pktpath_rules::TableName::Raw,
        ]
        .choose(g.rng)
        .expect("non-empty");
        g.add_one(s, table);
    }
}

pub fn docker(rng: &mut impl Rng) -> Result<Shaped, String> {
    let mut b = Builder::new("fuzz: docker");
    b.namespace("h", Role::Host);
    b.namespace("x", Role::Client);
    b.veth("h", "eth0", "x", "eth0");
    b.addr("h", "eth0", "10.120.0.1/24");
    b.addr("x", "eth0", "10.120.0.2/24");
    if rng.gen_bool(0.7) {
        b.route_via("x", "172.16.0.0/12", v4(10, 120, 0, 1), "eth0");
    }
    b.listen(
        "x",
        L4Proto::Tcp,
        v4(10, 120, 0, 2),
        8080,
        "python3",
        "python3 -m http.server 8080 --bind 10.120.0.2",
    );
    if rng.gen_bool(0.4) {
        b.listen(
            "x",
            L4Proto::Udp,
            Ipv4Addr::UNSPECIFIED,
            5300,
            "python3",
            "python3 udp-echo.py 5300",
        );
    }
    let userland_proxy = rng.gen_bool(0.7);
    let mut nets = vec![DockerNet {
        bridge: "docker0".into(),
        subnet: "172.17.0.0/16".parse().expect("valid"),
        icc: rng.gen_bool(0.8),
    }];
    if rng.gen_bool(0.3) {
        nets.push(DockerNet {
            bridge: format!("br-{}", hex(rng, 12)),
            subnet: "172.18.0.0/16".parse().expect("valid"),
            icc: true,
        });
    }
    for n in &nets {
        b.bridge("h", &n.bridge);
        let gw = n.subnet.hosts().next().expect("a host");
        b.addr("h", &n.bridge, &format!("{gw}/16"));
    }
    let mut published = Vec::new();
    let mut host_ports = vec![8080u16, 8081, 9000, 11211, 5000];
    host_ports.shuffle(rng);
    let mut next_ip = vec![2u8; nets.len()];
    let containers = rng.gen_range(1..=3);
    for c in 1..=containers {
        let name = format!("c{c}");
        let ni = rng.gen_range(0..nets.len());
        let net = nets[ni].clone();
        let o = net.subnet.network().octets();
        let ip = v4(o[0], o[1], 0, next_ip[ni]);
        next_ip[ni] += 1;
        let gw = net.subnet.hosts().next().expect("a host");
        b.namespace(&name, Role::Container);
        let veth = format!("veth{}", hex(rng, 7));
        b.veth("h", &veth, &name, "eth0");
        b.enslave("h", &veth, &net.bridge, !userland_proxy);
        b.addr(&name, "eth0", &format!("{ip}/16"));
        b.route_via(&name, "0.0.0.0/0", gw, "eth0");
        let port = *[80u16, 8080, 8000].choose(rng).expect("non-empty");
        b.listen(
            &name,
            L4Proto::Tcp,
            Ipv4Addr::UNSPECIFIED,
            port,
            "httpd",
            &format!("/bin/httpd -f -p {port}"),
        );
        let udp = rng.gen_bool(0.3);
        if udp {
            b.listen(
                &name,
                L4Proto::Udp,
                Ipv4Addr::UNSPECIFIED,
                5353,
                "python3",
                "python3 udp-echo.py 5353",
            );
        }
        if rng.gen_bool(0.65) {
            let (proto, cport) = if udp && rng.gen_bool(0.4) {
                (L4Proto::Udp, 5353)
            } else {
                (L4Proto::Tcp, port)
            };
            let host_ip = match rng.gen_range(0..20) {
                0..=1 => Some(v4(10, 120, 0, 1)),
                2 => Some(Ipv4Addr::LOCALHOST),
                _ => None,
            };
            published.push(Published {
                proto,
                host_ip,
                host_port: host_ports.pop().expect("enough host ports"),
                container_ip: ip,
                container_port: cport,
                bridge: net.bridge.clone(),
            });
        }
        base_sysctls(&mut b, &name, false, 0);
    }
    if userland_proxy {
        for p in &published {
            b.listen(
                "h",
                p.proto,
                p.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
                p.host_port,
                "docker-proxy",
                &p.proxy_cmdline(),
            );
        }
    }
    base_sysctls(&mut b, "h", rng.gen_bool(0.95), 0);
    base_sysctls(&mut b, "x", false, 0);
    b.sysctl(
        "h",
        "net.bridge.bridge-nf-call-iptables",
        u8::from(rng.gen_bool(0.85)),
    );
    if !userland_proxy {
        for n in &nets {
            b.sysctl(
                "h",
                &format!("net.ipv4.conf.{}.route_localnet", n.bridge),
                1,
            );
        }
    }
    let mut s = SaveText::default();
    docker_rules(&mut s, &nets, &published, userland_proxy);
    let ports: Vec<u16> = published.iter().map(|p| p.host_port).collect();
    let ctx = rule_ctx(&b, "h", &ports, remote_services(&b, "h"));
    {
        let mut g = RuleGen::new(&ctx, rng);
        for _ in 0..g.rng.gen_range(0..=3) {
            g.add_in_front(&mut s, Filter, "DOCKER-USER", FWD);
        }
    }
    let extra = rng.gen_range(0..=8);
    random_rules(&mut s, &ctx, rng, extra);
    b.rules("h", s.render(), s.base_chains());
    let mut targets = Vec::new();
    for p in &published {
        let addrs = match p.host_ip {
            Some(a) => vec![a],
            None => vec![v4(10, 120, 0, 1), v4(172, 17, 0, 1), Ipv4Addr::LOCALHOST],
        };
        targets.extend(addrs.into_iter().map(|addr| Target {
            proto: p.proto,
            addr,
            port: p.host_port,
        }));
    }
    Ok(Shaped {
        kind: "docker",
        world: b.finish()?,
        trace_ns: "h".into(),
        targets,
        rule_ports: ctx.ports,
    })
}

pub fn kube(rng: &mut impl Rng) -> Result<Shaped, String> {
    let mut b = Builder::new("fuzz: kube-proxy");
    b.namespace("k", Role::Host);
    b.namespace("x", Role::Client);
    b.veth("k", "eth0", "x", "eth0");
    b.addr("k", "eth0", "10.150.0.1/24");
    b.addr("x", "eth0", "10.150.0.2/24");
    b.route_via("k", "0.0.0.0/0", v4(10, 150, 0, 2), "eth0");
    if rng.gen_bool(0.5) {
        b.route_via("x", "10.96.0.0/12", v4(10, 150, 0, 1), "eth0");
    }
    if rng.gen_bool(0.3) {
        b.route_via("x", "10.244.0.0/16", v4(10, 150, 0, 1), "eth0");
    }
    b.listen(
        "x",
        L4Proto::Tcp,
        v4(10, 150, 0, 2),
        8080,
        "python3",
        "python3 -m http.server 8080 --bind 10.150.0.2",
    );
    b.bridge("k", "cni0");
    b.addr("k", "cni0", "10.244.0.1/24");
    let pods = rng.gen_range(2..=3);
    let mut udp_pods = Vec::new();
    let mut tcp_pods = Vec::new();
    for i in 0..pods {
        let name = format!("pod{}", i + 1);
        let ip = v4(10, 244, 0, 2 + i);
        b.namespace(&name, Role::Container);
        let veth = format!("veth{}", hex(rng, 8));
        b.veth("k", &veth, &name, "eth0");
        b.enslave("k", &veth, "cni0", rng.gen_bool(0.9));
        b.addr(&name, "eth0", &format!("{ip}/24"));
        b.route_via(&name, "0.0.0.0/0", v4(10, 244, 0, 1), "eth0");
        b.listen(
            &name,
            L4Proto::Tcp,
            Ipv4Addr::UNSPECIFIED,
            8080,
            "python3",
            "python3 -m http.server 8080",
        );
        tcp_pods.push(ip);
        if rng.gen_bool(0.3) {
            b.listen(
                &name,
                L4Proto::Udp,
                Ipv4Addr::UNSPECIFIED,
                5300,
                "python3",
                "python3 udp-echo.py 5300",
            );
            udp_pods.push(ip);
        }
        base_sysctls(&mut b, &name, false, 0);
    }
    base_sysctls(&mut b, "k", true, 0);
    base_sysctls(&mut b, "x", false, 0);
    b.sysctl(
        "k",
        "net.bridge.bridge-nf-call-iptables",
        u8::from(rng.gen_bool(0.9)),
    );
    if rng.gen_bool(0.8) {
        b.sysctl("k", "net.ipv4.conf.all.route_localnet", 1);
    }
    let mut services = Vec::new();
    let mut targets = Vec::new();
    for i in 0..rng.gen_range(1..=3u8) {
        let udp = !udp_pods.is_empty() && rng.gen_bool(0.25);
        let (proto, port, ep_port, pool) = if udp {
            (L4Proto::Udp, 53u16, 5300u16, &udp_pods)
        } else {
            (L4Proto::Tcp, 80, 8080, &tcp_pods)
        };
        let n = *[0usize, 1, 1, 2, 2].choose(rng).expect("non-empty");
        let endpoints: Vec<(Ipv4Addr, u16)> = pool
            .choose_multiple(rng, n.min(pool.len()))
            .map(|a| (*a, ep_port))
            .collect();
        let cluster_ip = v4(10, 96, 0, 10 + i);
        let node_port =
            (!endpoints.is_empty() && rng.gen_bool(0.5)).then_some(30080 + u16::from(i));
        targets.push(Target {
            proto,
            addr: cluster_ip,
            port,
        });
        if let Some(np) = node_port {
            for addr in [v4(10, 150, 0, 1), v4(10, 244, 0, 1), Ipv4Addr::LOCALHOST] {
                targets.push(Target {
                    proto,
                    addr,
                    port: np,
                });
            }
        }
        services.push(Service {
            name: format!("default/svc{i}"),
            cluster_ip,
            port,
            proto,
            endpoints,
            node_port,
        });
    }
    let mut s = SaveText::default();
    kube_rules(&mut s, &services, "10.244.0.0/16", rng);
    let ports: Vec<u16> = targets.iter().map(|t| t.port).collect();
    let ctx = rule_ctx(&b, "k", &ports, remote_services(&b, "k"));
    let extra = rng.gen_range(0..=6);
    random_rules(&mut s, &ctx, rng, extra);
    b.rules("k", s.render(), s.base_chains());
    Ok(Shaped {
        kind: "kube",
        world: b.finish()?,
        trace_ns: "k".into(),
        targets,
        rule_ports: ctx.ports,
    })
}

pub fn router(rng: &mut impl Rng) -> Result<Shaped, String> {
    let mut b = Builder::new("fuzz: router");
    b.namespace("r", Role::Host);
    b.namespace("a", Role::Client);
    b.namespace("s", Role::Container);
    b.veth("r", "eth0", "a", "eth0");
    b.veth("r", "eth1", "s", "eth0");
    b.addr("r", "eth0", "10.130.0.1/24");
    b.addr("a", "eth0", "10.130.0.2/24");
    b.addr("r", "eth1", "10.131.0.1/24");
    b.addr("s", "eth0", "10.131.0.2/24");
    let second = rng.gen_bool(0.3);
    if second {
        b.namespace("s2", Role::Container);
        b.veth("r", "eth2", "s2", "eth0");
        b.addr("r", "eth2", "10.132.0.1/24");
        b.addr("s2", "eth0", "10.132.0.2/24");
        b.route_via("s2", "0.0.0.0/0", v4(10, 132, 0, 1), "eth0");
        b.listen(
            "s2",
            L4Proto::Tcp,
            Ipv4Addr::UNSPECIFIED,
            8080,
            "httpd",
            "/bin/httpd -f -p 8080",
        );
    }
    if rng.gen_bool(0.5) {
        b.route_via("a", "0.0.0.0/0", v4(10, 130, 0, 1), "eth0");
    } else {
        b.route_via("a", "10.131.0.0/24", v4(10, 130, 0, 1), "eth0");
        if second {
            b.route_via("a", "10.132.0.0/24", v4(10, 130, 0, 1), "eth0");
        }
    }
    if rng.gen_bool(0.85) {
        b.route_via("s", "0.0.0.0/0", v4(10, 131, 0, 1), "eth0");
    }
    for port in [8000u16, 8001] {
        b.listen(
            "r",
            L4Proto::Tcp,
            Ipv4Addr::UNSPECIFIED,
            port,
            "httpd",
            &format!("/bin/httpd -f -p {port}"),
        );
    }
    b.listen(
        "r",
        L4Proto::Udp,
        Ipv4Addr::UNSPECIFIED,
        5300,
        "python3",
        "python3 udp-echo.py 5300",
    );
    for port in [8080u16, 8081] {
        b.listen(
            "s",
            L4Proto::Tcp,
            Ipv4Addr::UNSPECIFIED,
            port,
            "python3",
            &format!("python3 -m http.server {port}"),
        );
    }
    b.listen(
        "s",
        L4Proto::Udp,
        Ipv4Addr::UNSPECIFIED,
        5300,
        "python3",
        "python3 udp-echo.py 5300",
    );
    b.listen(
        "a",
        L4Proto::Tcp,
        v4(10, 130, 0, 2),
        8080,
        "python3",
        "python3 -m http.server 8080 --bind 10.130.0.2",
    );
    let rp = if rng.gen_bool(0.1) { 1 } else { 0 };
    base_sysctls(&mut b, "r", rng.gen_bool(0.75), rp);
    for n in ["a", "s"].into_iter().chain(second.then_some("s2")) {
        base_sysctls(&mut b, n, false, 0);
    }
    let mut s = SaveText::default();
    if rng.gen_bool(0.25) {
        s.policy(Filter, "FORWARD", "DROP");
    }
    if rng.gen_bool(0.1) {
        s.policy(Filter, "INPUT", "DROP");
    }
    if rng.gen_bool(0.5) {
        s.append(
            Filter,
            "FORWARD",
            "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        );
    }
    if rng.gen_bool(0.3) {
        s.append(
            Filter,
            "INPUT",
            "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        );
    }
    if rng.gen_bool(0.4) {
        s.append(Nat, "POSTROUTING", "-s 10.130.0.0/24 -o eth1 -j MASQUERADE");
    }
    let ctx = rule_ctx(&b, "r", &[8090, 2345], remote_services(&b, "r"));
    let extra = rng.gen_range(5..=30);
    random_rules(&mut s, &ctx, rng, extra);
    b.rules("r", s.render(), s.base_chains());
    Ok(Shaped {
        kind: "router",
        world: b.finish()?,
        trace_ns: "r".into(),
        targets: vec![
            Target {
                proto: L4Proto::Tcp,
                addr: v4(10, 130, 0, 1),
                port: 8090,
            },
            Target {
                proto: L4Proto::Tcp,
                addr: v4(10, 130, 0, 1),
                port: 2345,
            },
        ],
        rule_ports: ctx.ports,
    })
}

pub fn bridge(rng: &mut impl Rng) -> Result<Shaped, String> {
    let mut b = Builder::new("fuzz: bridge");
    b.namespace("h", Role::Host);
    b.namespace("x", Role::Client);
    b.veth("h", "eth0", "x", "eth0");
    b.addr("h", "eth0", "10.210.0.1/24");
    b.addr("x", "eth0", "10.210.0.2/24");
    b.route_via("x", "10.200.0.0/15", v4(10, 210, 0, 1), "eth0");
    b.listen(
        "x",
        L4Proto::Tcp,
        v4(10, 210, 0, 2),
        8080,
        "python3",
        "python3 -m http.server 8080 --bind 10.210.0.2",
    );
    let bridges = if rng.gen_bool(0.4) { 2 } else { 1 };
    for i in 0..bridges {
        b.bridge("h", &format!("br{i}"));
        b.addr("h", &format!("br{i}"), &format!("10.{}.0.1/24", 200 + i));
    }
    let containers = rng.gen_range(1..=3u8);
    for c in 1..=containers {
        let name = format!("c{c}");
        let bi = rng.gen_range(0..bridges);
        let ip = v4(10, 200 + bi, 0, 1 + c);
        b.namespace(&name, Role::Container);
        let veth = format!("vc{c}");
        b.veth("h", &veth, &name, "eth0");
        b.enslave("h", &veth, &format!("br{bi}"), rng.gen_bool(0.3));
        b.addr(&name, "eth0", &format!("{ip}/24"));
        if rng.gen_bool(0.85) {
            b.route_via(&name, "0.0.0.0/0", v4(10, 200 + bi, 0, 1), "eth0");
        }
        let port = *[80u16, 8080].choose(rng).expect("non-empty");
        b.listen(
            &name,
            L4Proto::Tcp,
            Ipv4Addr::UNSPECIFIED,
            port,
            "httpd",
            &format!("/bin/httpd -f -p {port}"),
        );
        if rng.gen_bool(0.3) {
            b.listen(
                &name,
                L4Proto::Udp,
                Ipv4Addr::UNSPECIFIED,
                5300,
                "python3",
                "python3 udp-echo.py 5300",
            );
        }
        base_sysctls(&mut b, &name, false, 0);
    }
    if rng.gen_bool(0.5) {
        let addr = if rng.gen_bool(0.2) {
            Ipv4Addr::LOCALHOST
        } else {
            Ipv4Addr::UNSPECIFIED
        };
        b.listen(
            "h",
            L4Proto::Tcp,
            addr,
            8000,
            "python3",
            "python3 -m http.server 8000",
        );
    }
    if rng.gen_bool(0.3) {
        b.listen(
            "h",
            L4Proto::Udp,
            Ipv4Addr::UNSPECIFIED,
            5300,
            "python3",
            "python3 udp-echo.py 5300",
        );
    }
    base_sysctls(&mut b, "h", rng.gen_bool(0.6), 0);
    base_sysctls(&mut b, "x", false, 0);
    b.sysctl(
        "h",
        "net.bridge.bridge-nf-call-iptables",
        u8::from(rng.gen_bool(0.7)),
    );
    match rng.gen_range(0..10) {
        0 => b.sysctl("h", "net.ipv4.conf.all.route_localnet", 1),
        1 => b.sysctl("h", "net.ipv4.conf.br0.route_localnet", 1),
        _ => {}
    }
    let mut s = SaveText::default();
    if rng.gen_bool(0.5) {
        s.append(
            Nat,
            "POSTROUTING",
            "-s 10.200.0.0/15 ! -d 10.200.0.0/15 -j MASQUERADE",
        );
    }
    if rng.gen_bool(0.2) {
        s.policy(Filter, "FORWARD", "DROP");
        s.append(
            Filter,
            "FORWARD",
            "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        );
    }
    let ctx = rule_ctx(&b, "h", &[8090], remote_services(&b, "h"));
    let extra = rng.gen_range(3..=30);
    random_rules(&mut s, &ctx, rng, extra);
    b.rules("h", s.render(), s.base_chains());
    Ok(Shaped {
        kind: "bridge",
        world: b.finish()?,
        trace_ns: "h".into(),
        targets: vec![Target {
            proto: L4Proto::Tcp,
            addr: v4(10, 210, 0, 1),
            port: 8090,
        }],
        rule_ports: ctx.ports,
    })
}
