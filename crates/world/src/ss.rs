//! `ss.txt` (`ss -lntup`): listening TCP sockets and unconnected UDP sockets.
//!
//! Address forms, as ss prints them: `0.0.0.0:80`, `127.0.0.1%lo:53` (bound to a device),
//! `*:80` (an IPv6 wildcard socket *without* IPV6_V6ONLY, i.e. dual-stack, which also
//! receives IPv4: recorded as 0.0.0.0), `[::]:80` (an IPv6 wildcard socket *with*
//! IPV6_V6ONLY: ss prints `*` instead when it is dual-stack, so this row never receives
//! IPv4 and is skipped), `[::ffff:127.0.0.1]:80` (IPv4-mapped: receives IPv4 for
//! 127.0.0.1), other `[v6]:port` (skipped). All of this was checked against ss 6.1 on
//! Linux 6.18 (tests/worlds/kernel-addr-forms).
//!
//! Old ss (before iproute2 4.13) printed IPv6 unbracketed (`:::80`) and did not tell V6ONLY
//! sockets apart. A `:::port` row alone (no IPv4 row for that port) is taken as dual-stack,
//! as Linux makes it with the default net.ipv6.bindv6only = 0, and recorded as 0.0.0.0.
//!
//! When only TCP or only UDP was asked for, ss prints no `Netid` column; the protocol then
//! follows from the state.

use crate::error::LoadError;
use crate::interfaces::parse_v4;
use crate::model::{L4Proto, ListenSocket};
use crate::text;
use std::net::Ipv6Addr;

/// TCP states as ss prints them (`sstate_name` in ss.c).
const TCP_STATES: [&str; 12] = [
    "UNKNOWN",
    "ESTAB",
    "SYN-SENT",
    "SYN-RECV",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "TIME-WAIT",
    "UNCONN",
    "CLOSE-WAIT",
    "LAST-ACK",
    "LISTEN",
    "CLOSING",
];

pub(crate) fn parse(label: &str, src: &str) -> Result<Vec<ListenSocket>, LoadError> {
    let mut out: Vec<ListenSocket> = Vec::new();
    // Old-format `:::port` rows, kept unless an IPv4 row has the port (see the module doc).
    let mut maybe_dual: Vec<ListenSocket> = Vec::new();
    for (start, line) in text::lines_with_offsets(src) {
        let toks = text::tokens(line);
        let Some(&(first_at, first)) = toks.first() else {
            continue;
        };
        let err = |at: usize, msg: String| LoadError::at(label, src, start + at, msg);
        if first == "Netid" || first == "State" {
            continue; // header
        }
        let (proto, state, rest) = match first {
            "tcp" | "udp" => {
                let Some(&(at, state)) = toks.get(1) else {
                    return Err(err(line.len(), "expected a socket state (LISTEN, UNCONN) after the netid".into()));
                };
                if !TCP_STATES.contains(&state) {
                    return Err(err(at, format!("expected a socket state such as LISTEN or UNCONN, found `{state}`")));
                }
                let proto = if first == "tcp" { L4Proto::Tcp } else { L4Proto::Udp };
                (proto, state, &toks[2..])
            }
            "LISTEN" => (L4Proto::Tcp, first, &toks[1..]),
            "UNCONN" => (L4Proto::Udp, first, &toks[1..]),
            _ => {
                return Err(err(
                    first_at,
                    format!("expected `tcp`, `udp` (netid) or LISTEN/UNCONN (state) at the start of an `ss -lntup` row, found `{first}`"),
                ))
            }
        };
        // Recv-Q Send-Q Local Peer [Process]
        if rest.len() < 4 {
            return Err(err(
                line.len(),
                "expected `Recv-Q Send-Q Local-Address:Port Peer-Address:Port` after the state"
                    .into(),
            ));
        }
        for &(at, q) in &rest[..2] {
            if q.parse::<u64>().is_err() {
                return Err(err(
                    at,
                    format!("expected a queue length (a number), found `{q}`"),
                ));
            }
        }
        let (local_at, local) = rest[2];
        let listening = match proto {
            L4Proto::Tcp => state == "LISTEN",
            _ => state == "UNCONN",
        };
        let parsed = parse_local(local).map_err(|m| err(local_at, m))?;
        let process = match rest.get(4) {
            Some(&(at, _)) => process_name(&line[at..]).map_err(|(o, m)| err(at + o, m))?,
            None => None,
        };
        if !listening {
            continue;
        }
        let sock = |addr, port, dev| ListenSocket {
            proto,
            addr,
            port,
            process: process.clone(),
            dev,
        };
        match parsed {
            Local::V4(addr, port, dev) => {
                let s = sock(addr, port, dev);
                if !out.iter().any(|o| same_socket(o, &s)) {
                    out.push(s);
                }
            }
            Local::OldV6Wildcard(port, dev) => {
                maybe_dual.push(sock(std::net::Ipv4Addr::UNSPECIFIED, port, dev))
            }
            Local::NoIpv4 => {}
        }
    }
    for s in maybe_dual {
        if !out.iter().any(|o| o.proto == s.proto && o.port == s.port) {
            out.push(s);
        }
    }
    Ok(out)
}

/// Sockets that accept the same packets (process names aside).
pub(crate) fn same_socket(a: &ListenSocket, b: &ListenSocket) -> bool {
    a.proto == b.proto && a.addr == b.addr && a.port == b.port && a.dev == b.dev
}

/// What a local address column means for IPv4.
#[derive(Debug, PartialEq)]
enum Local {
    /// Receives IPv4 for this address (0.0.0.0: any), port, device.
    V4(std::net::Ipv4Addr, u16, Option<String>),
    /// Old ss's `:::port`: dual-stack unless an IPv4 row has the same port.
    OldV6Wildcard(u16, Option<String>),
    /// Never receives IPv4.
    NoIpv4,
}

/// `ADDR[%DEV]:PORT`, `[V6][%DEV]:PORT`, `*:PORT` or old ss's unbracketed `V6:PORT`.
fn parse_local(s: &str) -> Result<Local, String> {
    let expected = || {
        format!("expected a local address like 0.0.0.0:80, 127.0.0.1%lo:53, *:80 or [::]:80, found `{s}`")
    };
    let (host, port) = s.rsplit_once(':').ok_or_else(expected)?;
    let port: u16 = port.parse().map_err(|_| expected())?;
    let split_dev = |h: &'_ str| -> Result<(String, Option<String>), String> {
        match h.split_once('%') {
            Some((a, d)) if !d.is_empty() => Ok((a.to_string(), Some(d.to_string()))),
            Some(_) => Err(expected()),
            None => Ok((h.to_string(), None)),
        }
    };
    let v6 = |addr: &str, dev: Option<String>, bracketed: bool| -> Result<Local, String> {
        let v6: Ipv6Addr = addr.parse().map_err(|_| expected())?;
        // An IPv4-mapped bind receives IPv4 packets for that address.
        if let Some(a) = v6.to_ipv4_mapped() {
            return Ok(Local::V4(a, port, dev));
        }
        Ok(if v6.is_unspecified() && !bracketed {
            Local::OldV6Wildcard(port, dev)
        } else {
            // Modern ss prints a dual-stack wildcard as `*`, so `[::]` is V6ONLY; any other
            // IPv6 address never matches an IPv4 packet.
            Local::NoIpv4
        })
    };
    if let Some(inner) = host.strip_prefix('[') {
        let (inner, after) = inner.split_once(']').ok_or_else(expected)?;
        let dev = match after {
            "" => None,
            d => Some(
                d.strip_prefix('%')
                    .filter(|d| !d.is_empty())
                    .ok_or_else(expected)?
                    .to_string(),
            ),
        };
        let (inner, scope) = split_dev(inner)?;
        return v6(&inner, dev.or(scope), true);
    }
    let (host, dev) = split_dev(host)?;
    if host == "*" {
        // A dual-stack IPv6 wildcard socket (net.ipv6.bindv6only = 0 and no IPV6_V6ONLY):
        // it receives IPv4 too, as ::ffff:a.b.c.d. (Old ss printed IPv4's 0.0.0.0 as `*`.)
        return Ok(Local::V4(std::net::Ipv4Addr::UNSPECIFIED, port, dev));
    }
    if host.contains(':') {
        return v6(&host, dev, false);
    }
    let addr = parse_v4(&host).ok_or_else(expected)?;
    Ok(Local::V4(addr, port, dev))
}

/// The first process name of `users:(("name",pid=1,fd=3),...)`.
fn process_name(col: &str) -> Result<Option<String>, (usize, String)> {
    let Some(at) = col.find("users:((") else {
        return Ok(None);
    };
    let name_start = at + "users:((".len();
    let rest = &col[name_start..];
    let Some(quoted) = rest.strip_prefix('"') else {
        return Err((
            name_start,
            "expected a quoted process name after `users:((`".into(),
        ));
    };
    match quoted.find('"') {
        Some(end) => Ok(Some(quoted[..end].to_string())),
        None => Err((
            name_start,
            "expected the closing `\"` of the process name".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn local_addresses() {
        let v4 = |s| parse_local(s).unwrap();
        let any = Ipv4Addr::UNSPECIFIED;
        assert_eq!(v4("0.0.0.0:80"), Local::V4(any, 80, None));
        assert_eq!(
            v4("127.0.0.1%lo:53"),
            Local::V4(Ipv4Addr::LOCALHOST, 53, Some("lo".into()))
        );
        assert_eq!(v4("*:7001"), Local::V4(any, 7001, None));
        assert_eq!(v4("[::]:7002"), Local::NoIpv4);
        assert_eq!(v4("[::1]:7008"), Local::NoIpv4);
        assert_eq!(v4("[fe80::1]%eth0:7008"), Local::NoIpv4);
        assert_eq!(
            v4("[::ffff:127.0.0.1]:7009"),
            Local::V4(Ipv4Addr::LOCALHOST, 7009, None)
        );
        // Old ss (unbracketed IPv6).
        assert_eq!(v4(":::22"), Local::OldV6Wildcard(22, None));
        assert_eq!(v4("::1:22"), Local::NoIpv4);
        assert_eq!(
            v4("::ffff:127.0.0.1:22"),
            Local::V4(Ipv4Addr::LOCALHOST, 22, None)
        );
        assert!(parse_local("0.0.0.0%:80").is_err());
        assert!(parse_local("[::]%:80").is_err());
        assert!(parse_local("0.0.0.0").is_err());
        assert!(parse_local("0.0.0.0:x").is_err());
        assert!(parse_local("300.0.0.0:80").is_err());
        assert!(parse_local("[::]:99999").is_err());
    }
}

#[cfg(test)]
mod old_format_tests {
    use super::*;

    #[test]
    fn old_v6_wildcard_alone_is_dual_stack() {
        // iproute2 < 4.13 style: `*:port` for IPv4 any, `:::port` for IPv6 any.
        let t = "State      Recv-Q Send-Q Local Address:Port  Peer Address:Port\n\
                 LISTEN     0      128    *:22               *:*\n\
                 LISTEN     0      128    :::22              :::*\n\
                 LISTEN     0      128    :::80              :::*\n";
        let got: Vec<_> = parse("t", t)
            .unwrap()
            .iter()
            .map(|s| (s.addr.to_string(), s.port))
            .collect();
        assert_eq!(
            got,
            [("0.0.0.0".to_string(), 22), ("0.0.0.0".to_string(), 80)]
        );
    }
}
