//! Docker 20.10's iptables rules, as its bridge driver and port mapper write them (compare
//! the captured `iptables-save.txt` of `shared/fixtures/docker-*` and `fixtures/docker-*`):
//! per network (newest first) the FORWARD quartet, the two isolation stages, MASQUERADE of
//! the subnet, `-i BRIDGE -j RETURN` in nat DOCKER; per published port a DNAT in nat
//! DOCKER, an ACCEPT in filter DOCKER and a hairpin MASQUERADE.
//!
//! `--userland-proxy=false` changes what `fixtures/docker-no-userland-proxy` shows: no
//! `! -d 127.0.0.0/8` in nat OUTPUT, no `! -i BRIDGE` on the DNAT, no RETURN for the
//! bridge in nat DOCKER, a `-o BRIDGE -m addrtype --src-type LOCAL -j MASQUERADE`, hairpin
//! mode on the bridge ports and `route_localnet` on the bridge. `--icc=false` turns the
//! bridge's `-i B -o B -j ACCEPT` into DROP.

use super::save::SaveText;
use ipnet::Ipv4Net;
use pktpath_rules::TableName::{Filter, Nat};
use pktpath_world::L4Proto;
use std::net::Ipv4Addr;

/// A Docker network (a bridge).
#[derive(Debug, Clone)]
pub struct DockerNet {
    pub bridge: String,
    pub subnet: Ipv4Net,
    pub icc: bool,
}

/// `-p [HOST_IP:]HOST_PORT:CONTAINER_PORT[/udp]`.
#[derive(Debug, Clone)]
pub struct Published {
    pub proto: L4Proto,
    /// `None`: all addresses (0.0.0.0).
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_ip: Ipv4Addr,
    pub container_port: u16,
    pub bridge: String,
}

impl Published {
    /// docker-proxy's command line for this mapping.
    pub fn proxy_cmdline(&self) -> String {
        format!(
            "/usr/sbin/docker-proxy -proto {} -host-ip {} -host-port {} -container-ip {} -container-port {}",
            self.proto.as_str(),
            self.host_ip.unwrap_or(Ipv4Addr::UNSPECIFIED),
            self.host_port,
            self.container_ip,
            self.container_port
        )
    }
}

/// Write Docker's rules for `nets` (in creation order) and `published` (in `docker run`
/// order) into `s`.
pub fn docker_rules(
    s: &mut SaveText,
    nets: &[DockerNet],
    published: &[Published],
    userland_proxy: bool,
) {
    for c in [
        "DOCKER",
        "DOCKER-ISOLATION-STAGE-1",
        "DOCKER-ISOLATION-STAGE-2",
        "DOCKER-USER",
    ] {
        s.chain(Filter, c);
    }
    s.chain(Nat, "DOCKER");
    s.policy(Filter, "FORWARD", "DROP");
    // dockerd checks (`-C`) filter OUTPUT... at start: the base chain exists, empty.
    s.touch(Filter, "OUTPUT");

    s.append(Filter, "FORWARD", "-j DOCKER-USER");
    s.append(Filter, "FORWARD", "-j DOCKER-ISOLATION-STAGE-1");
    for n in nets.iter().rev() {
        let b = &n.bridge;
        s.append(
            Filter,
            "FORWARD",
            &format!("-o {b} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
        );
        s.append(Filter, "FORWARD", &format!("-o {b} -j DOCKER"));
        s.append(Filter, "FORWARD", &format!("-i {b} ! -o {b} -j ACCEPT"));
        let icc = if n.icc { "ACCEPT" } else { "DROP" };
        s.append(Filter, "FORWARD", &format!("-i {b} -o {b} -j {icc}"));
    }
    for n in nets.iter().rev() {
        let b = &n.bridge;
        s.append(
            Filter,
            "DOCKER-ISOLATION-STAGE-1",
            &format!("-i {b} ! -o {b} -j DOCKER-ISOLATION-STAGE-2"),
        );
    }
    s.append(Filter, "DOCKER-ISOLATION-STAGE-1", "-j RETURN");
    for n in nets.iter().rev() {
        s.append(
            Filter,
            "DOCKER-ISOLATION-STAGE-2",
            &format!("-o {} -j DROP", n.bridge),
        );
    }
    s.append(Filter, "DOCKER-ISOLATION-STAGE-2", "-j RETURN");
    s.append(Filter, "DOCKER-USER", "-j RETURN");

    s.append(Nat, "PREROUTING", "-m addrtype --dst-type LOCAL -j DOCKER");
    if userland_proxy {
        s.append(
            Nat,
            "OUTPUT",
            "! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER",
        );
    } else {
        s.append(Nat, "OUTPUT", "-m addrtype --dst-type LOCAL -j DOCKER");
    }
    for n in nets.iter().rev() {
        if !userland_proxy {
            s.append(
                Nat,
                "POSTROUTING",
                &format!("-o {} -m addrtype --src-type LOCAL -j MASQUERADE", n.bridge),
            );
        }
        s.append(
            Nat,
            "POSTROUTING",
            &format!("-s {} ! -o {} -j MASQUERADE", n.subnet, n.bridge),
        );
        if userland_proxy {
            s.append(Nat, "DOCKER", &format!("-i {} -j RETURN", n.bridge));
        }
    }
    for p in published {
        let proto = p.proto.as_str();
        let (c, cp, b) = (p.container_ip, p.container_port, &p.bridge);
        s.append(
            Filter,
            "DOCKER",
            &format!("-d {c}/32 ! -i {b} -o {b} -p {proto} -m {proto} --dport {cp} -j ACCEPT"),
        );
        s.append(
            Nat,
            "POSTROUTING",
            &format!("-s {c}/32 -d {c}/32 -p {proto} -m {proto} --dport {cp} -j MASQUERADE"),
        );
        let host = p.host_ip.map(|h| format!("-d {h}/32 ")).unwrap_or_default();
        let not_in = if userland_proxy {
            format!("! -i {b} ")
        } else {
            String::new()
        };
        s.append(
            Nat,
            "DOCKER",
            &format!(
                "{host}{not_in}-p {proto} -m {proto} --dport {} -j DNAT --to-destination {c}:{cp}",
                p.host_port
            ),
        );
    }
}
