//! The name databases iptables consults through libc: protocol names (`/etc/protocols`,
//! `getprotobyname`/`getprotobynumber`) and service names (`/etc/services`,
//! `getservbyname`). Copies of Debian netbase 6.4's files are embedded so that parsing and
//! printing do not depend on the machine they run on; iptables 1.8.9 prints `-p` by the
//! name `getprotobynumber` returns (`-p 47` is saved as `-p gre`).

use std::collections::HashMap;
use std::sync::OnceLock;

const PROTOCOLS: &str = include_str!("data/protocols");
const SERVICES: &str = include_str!("data/services");

/// iptables' own fallback table (`xtables_chain_protos`), consulted after /etc/protocols.
const CHAIN_PROTOS: &[(&str, u8)] = &[
    ("tcp", 6),
    ("sctp", 132),
    ("udp", 17),
    ("udplite", 136),
    ("icmp", 1),
    ("icmpv6", 58),
    ("ipv6-icmp", 58),
    ("esp", 50),
    ("ah", 51),
    ("ipv6-mh", 135),
    ("mh", 135),
    ("all", 0),
];

struct Protocols {
    by_name: HashMap<&'static str, u8>,
    by_number: [Option<&'static str>; 256],
}

fn protocols() -> &'static Protocols {
    static P: OnceLock<Protocols> = OnceLock::new();
    P.get_or_init(|| {
        let mut by_name = HashMap::new();
        let mut by_number = [None; 256];
        for line in PROTOCOLS.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut f = line.split_whitespace();
            let (Some(name), Some(num)) = (f.next(), f.next()) else {
                continue;
            };
            let Ok(num) = num.parse::<u16>() else {
                continue;
            };
            let Ok(num) = u8::try_from(num) else { continue };
            // getprotobynumber returns the first entry with that number.
            if by_number[num as usize].is_none() {
                by_number[num as usize] = Some(name);
            }
            by_name.entry(name).or_insert(num);
            for alias in f {
                by_name.entry(alias).or_insert(num);
            }
        }
        Protocols { by_name, by_number }
    })
}

/// `xtables_parse_protocol` minus the numeric case: "all", then /etc/protocols, then
/// iptables' built-in names. The caller lower-cases the name first, as iptables does.
pub fn protocol_by_name(name: &str) -> Option<u8> {
    if name == "all" {
        return Some(0);
    }
    if let Some(&n) = protocols().by_name.get(name) {
        return Some(n);
    }
    CHAIN_PROTOS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, v)| v)
}

/// The name iptables 1.8.9 prints for a protocol number (`proto_to_name(proto, 0)`):
/// /etc/protocols first, then iptables' built-in names.
pub fn protocol_name(num: u8) -> Option<&'static str> {
    if num != 0 {
        if let Some(n) = protocols().by_number[num as usize] {
            return Some(n);
        }
    }
    CHAIN_PROTOS
        .iter()
        .find(|(_, v)| *v == num)
        .map(|&(n, _)| n)
}

fn services() -> &'static HashMap<(&'static str, &'static str), u16> {
    static S: OnceLock<HashMap<(&'static str, &'static str), u16>> = OnceLock::new();
    S.get_or_init(|| {
        let mut m = HashMap::new();
        for line in SERVICES.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut f = line.split_whitespace();
            let (Some(name), Some(portproto)) = (f.next(), f.next()) else {
                continue;
            };
            let Some((port, proto)) = portproto.split_once('/') else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            m.entry((name, proto)).or_insert(port);
            for alias in f {
                m.entry((alias, proto)).or_insert(port);
            }
        }
        m
    })
}

/// `getservbyname(name, proto)`.
pub fn service_port(name: &str, proto: &str) -> Option<u16> {
    services().get(&(name, proto)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(protocol_by_name("gre"), Some(47));
        assert_eq!(protocol_by_name("icmpv6"), Some(58));
        assert_eq!(protocol_by_name("all"), Some(0));
        assert_eq!(protocol_name(47), Some("gre"));
        assert_eq!(protocol_name(58), Some("ipv6-icmp"));
        assert_eq!(protocol_name(6), Some("tcp"));
        assert_eq!(protocol_name(250), None);
        assert_eq!(service_port("ssh", "tcp"), Some(22));
        assert_eq!(service_port("www", "tcp"), Some(80));
        assert_eq!(service_port("domain", "udp"), Some(53));
    }
}
