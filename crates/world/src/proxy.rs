//! Userland proxies recognised from a process's command line: docker-proxy
//! (`docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 8080 -container-ip 172.17.0.2
//! -container-port 80`) and pktpath's own compatible `pktpath proxy ...`.
//!
//! Flags follow Go's `flag` package: `-name value`, `-name=value`, one or two dashes, any
//! order; `-proto` defaults to tcp. Unknown flags (e.g. boolean `-use-listen-fd`) are skipped.

use crate::interfaces::parse_v4;
use crate::model::{L4Proto, UserlandProxy};

/// `Ok(None)`: not a proxy command line; `Err`: a proxy with unusable flags.
pub(crate) fn parse(cmdline: &str) -> Result<Option<UserlandProxy>, String> {
    let words: Vec<&str> = cmdline.split_whitespace().collect();
    let Some(prog) = words.first() else {
        return Ok(None);
    };
    let base = prog.rsplit('/').next().unwrap_or(prog);
    let args = match base {
        "docker-proxy" => &words[1..],
        "pktpath" if words.get(1) == Some(&"proxy") => &words[2..],
        _ => return Ok(None),
    };
    let mut proto = None;
    let mut host_ip = None;
    let mut host_port = None;
    let mut container_ip = None;
    let mut container_port = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        i += 1;
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (flag, None),
        };
        let slot = match name {
            "proto" => &mut proto,
            "host-ip" => &mut host_ip,
            "host-port" => &mut host_port,
            "container-ip" => &mut container_ip,
            "container-port" => &mut container_port,
            _ => continue,
        };
        let value = match inline {
            Some(v) => v,
            None => {
                let v = args
                    .get(i)
                    .ok_or_else(|| format!("expected a value after `-{name}`"))?;
                i += 1;
                v
            }
        };
        *slot = Some(value);
    }
    let proto = match proto.unwrap_or("tcp") {
        "tcp" => L4Proto::Tcp,
        "udp" => L4Proto::Udp,
        p => {
            return Err(format!(
                "unsupported proxy protocol `{p}`: expected -proto tcp or udp"
            ))
        }
    };
    let ip = |name: &str, v: Option<&str>| -> Result<Option<std::net::Ipv4Addr>, String> {
        let v = v.ok_or_else(|| {
            format!("expected `-{name} <IPv4 address>` in the proxy's command line")
        })?;
        if v.contains(':') {
            return Ok(None); // an IPv6 proxy: it never sees IPv4 traffic
        }
        parse_v4(v)
            .map(Some)
            .ok_or_else(|| format!("expected an IPv4 address after `-{name}`, found `{v}`"))
    };
    let port = |name: &str, v: Option<&str>| -> Result<u16, String> {
        let v =
            v.ok_or_else(|| format!("expected `-{name} <port>` in the proxy's command line"))?;
        v.parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("expected a port 1-65535 after `-{name}`, found `{v}`"))
    };
    let (Some(host_ip), Some(container_ip)) =
        (ip("host-ip", host_ip)?, ip("container-ip", container_ip)?)
    else {
        return Ok(None);
    };
    Ok(Some(UserlandProxy {
        proto,
        host_ip,
        host_port: port("host-port", host_port)?,
        container_ip,
        container_port: port("container-port", container_port)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn docker_proxy_flags_in_any_order() {
        let p = parse("/usr/bin/docker-proxy -container-port 80 -host-port=8081 --host-ip 0.0.0.0 -use-listen-fd -container-ip 172.18.0.2")
            .unwrap()
            .unwrap();
        assert_eq!(
            p,
            UserlandProxy {
                proto: L4Proto::Tcp,
                host_ip: Ipv4Addr::UNSPECIFIED,
                host_port: 8081,
                container_ip: Ipv4Addr::new(172, 18, 0, 2),
                container_port: 80
            }
        );
        let p = parse("pktpath proxy -proto udp -host-ip 127.0.0.1 -host-port 53 -container-ip 10.0.0.2 -container-port 5353")
            .unwrap()
            .unwrap();
        assert_eq!(p.proto, L4Proto::Udp);
    }

    #[test]
    fn not_proxies_and_errors() {
        assert_eq!(parse("/bin/httpd -f -p 80"), Ok(None));
        assert_eq!(parse("pktpath simulate x"), Ok(None));
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("docker-proxy -proto tcp -host-ip :: -host-port 1 -container-ip fd00::2 -container-port 1"), Ok(None));
        assert!(parse("docker-proxy -host-ip 0.0.0.0 -host-port 1 -container-ip 1.2.3.4").is_err());
        assert!(parse("docker-proxy -proto sctp -host-ip 0.0.0.0").is_err());
        assert!(parse("docker-proxy -host-ip 0.0.0.0 -host-port 70000 -container-ip 1.2.3.4 -container-port 1").is_err());
        assert!(parse("docker-proxy -host-ip").is_err());
    }
}
