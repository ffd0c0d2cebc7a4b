//! `PACKET:` lines (`trace_print_packet()`).

use std::net::{Ipv4Addr, Ipv6Addr};

use super::cursor::{parse_signed_hex, raw_bytes_field, Cursor, PResult};
use super::parse_family_and_id;
use crate::model::*;

pub(crate) fn parse_packet(cur: &mut Cursor<'_>) -> PResult<PacketLine> {
    let (family, trace_id) = parse_family_and_id(cur)?;
    let mut p = PacketLine {
        family,
        trace_id,
        iif: None,
        oif: None,
        nfproto: None,
        link: None,
        network: None,
        l4: L4Info::None,
        mark: 0,
    };
    if cur.eat("IN=") {
        p.iif = Some(cur.field("an interface name")?.1.to_string());
    }
    if cur.eat("OUT=") {
        p.oif = Some(cur.field("an interface name")?.1.to_string());
    }
    if cur.eat("NFPROTO=") {
        let (pos, s) = cur.field("a protocol number")?;
        let nfproto: u8 = cur.decimal(pos, s, "the protocol as a decimal number 0-255")?;
        if nfproto == family {
            // xtables-monitor prints NFPROTO= only when it differs from the family.
            return Err(cur.error_at(
                pos,
                format!(
                    "NFPROTO={nfproto} is only printed when it differs from the family {family}"
                ),
            ));
        }
        p.nfproto = Some(nfproto);
    }
    p.link = parse_link(cur)?;
    p.network = match p.effective_nfproto() {
        NFPROTO_IPV4 if cur.rest().starts_with("SRC=") => {
            Some(NetworkHeader::Ipv4(parse_ipv4(cur)?))
        }
        NFPROTO_IPV6 if cur.rest().starts_with("SRC=") => {
            Some(NetworkHeader::Ipv6(parse_ipv6(cur)?))
        }
        NFPROTO_IPV4 | NFPROTO_IPV6 => None,
        _ if cur.eat("NH=") => {
            let (pos, s) = raw_bytes_field(cur, "the network header bytes")?;
            Some(NetworkHeader::Raw(parse_signed_hex(cur, pos, s, false)?))
        }
        _ => None,
    };
    if cur.eat("SPORT=") {
        p.l4 = parse_l4(cur)?;
    }
    if cur.eat("MARK=0x") {
        let (pos, s) = cur.field("the mark (hex)")?;
        let mark: u32 = cur.hex(pos, s, "the mark as `%x` (lowercase hex, no leading zeros)")?;
        if mark == 0 {
            return Err(cur.error_at(pos, "MARK= is only printed when the mark is not 0"));
        }
        p.mark = mark;
    }
    if !cur.at_end() {
        return Err(cur.expected(
            "the next PACKET field in xtables-monitor order \
             (IN= OUT= NFPROTO= MACSRC=/LOOPBACK/LL= SRC= SPORT= with TCP flags in the order \
             SYN ACK FIN RST PSH URG, MARK=) or the end of the line",
        ));
    }
    Ok(p)
}

fn parse_link(cur: &mut Cursor<'_>) -> PResult<Option<LinkLayer>> {
    if cur.eat("MACSRC=") {
        let (pos, s) = cur.field("a MAC address")?;
        let src = parse_mac(cur, pos, s)?;
        cur.expect("MACDST=", "`MACDST=`")?;
        let (pos, s) = cur.field("a MAC address")?;
        let dst = parse_mac(cur, pos, s)?;
        cur.expect("MACPROTO=", "`MACPROTO=`")?;
        let (pos, s) = cur.field("the ethertype (4 hex digits)")?;
        if s.len() != 4 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(cur.invalid(pos, s, "the ethertype as 4 lowercase hex digits (`%04x`)"));
        }
        let proto = u16::from_str_radix(s, 16).map_err(|_| cur.invalid(pos, s, "hex"))?;
        Ok(Some(LinkLayer::Ether(MacHeader { src, dst, proto })))
    } else if cur.eat("LOOPBACK ") {
        Ok(Some(LinkLayer::Loopback))
    } else if cur.eat("LL=0x") {
        let (pos, s) = cur.field("the device type (hex)")?;
        let iiftype: u16 = cur.hex(pos, s, "the device type as `%x`")?;
        let (pos, s) = raw_bytes_field(cur, "the link-layer header bytes")?;
        let header = parse_signed_hex(cur, pos, s, false)?;
        Ok(Some(LinkLayer::Raw { iiftype, header }))
    } else {
        Ok(None)
    }
}

/// glibc `ether_ntoa()`: six `%x` bytes separated by `:`.
fn parse_mac(cur: &Cursor<'_>, pos: usize, s: &str) -> PResult<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    let mut off = pos;
    for byte in mac.iter_mut() {
        let part = parts
            .next()
            .ok_or_else(|| cur.invalid(pos, s, "a MAC address as 6 `%x` bytes separated by `:`"))?;
        *byte = cur.hex(
            off,
            part,
            "a MAC address byte as `%x` (1-2 lowercase hex digits)",
        )?;
        off += part.len() + 1;
    }
    if parts.next().is_some() {
        return Err(cur.invalid(pos, s, "a MAC address as 6 `%x` bytes separated by `:`"));
    }
    Ok(mac)
}

fn parse_ipv4(cur: &mut Cursor<'_>) -> PResult<Ipv4Header> {
    cur.expect("SRC=", "`SRC=`")?;
    let src = ipv4_field(cur)?;
    cur.expect("DST=", "`DST=`")?;
    let dst = ipv4_field(cur)?;
    cur.expect("LEN=", "`LEN=`")?;
    let (pos, s) = cur.field("the total length")?;
    let len = cur.decimal(pos, s, "the total length as a decimal number 0-65535")?;
    cur.expect("TOS=0x", "`TOS=0x`")?;
    let (pos, s) = cur.field("the TOS")?;
    let tos = cur.hex(pos, s, "the TOS as `%x` (0-ff)")?;
    cur.expect("TTL=", "`TTL=`")?;
    let (pos, s) = cur.field("the TTL")?;
    let ttl = cur.decimal(pos, s, "the TTL as a decimal number 0-255")?;
    cur.expect("ID=", "`ID=`")?;
    let (pos, s) = cur.field("the IP id")?;
    let id = cur.decimal(pos, s, "the IP id as a decimal number 0-65535")?;
    let mut ip = Ipv4Header {
        src,
        dst,
        len,
        tos,
        ttl,
        id,
        ce: cur.eat("CE "),
        df: cur.eat("DF "),
        mf: cur.eat("MF "),
        frag_offset: 0,
        options: None,
    };
    if cur.eat("FRAG:") {
        let (pos, s) = cur.field("the fragment offset")?;
        let off: u16 = cur.decimal(pos, s, "the fragment offset as a decimal number")?;
        if off == 0 || off > 0x1fff {
            return Err(cur.error_at(pos, "expected a fragment offset 1-8191 (0 is not printed)"));
        }
        ip.frag_offset = off;
    }
    if cur.eat("OPT (") {
        let start = cur.pos;
        let n = cur
            .rest()
            .find(") ")
            .ok_or_else(|| cur.expected("the IP options followed by `) `"))?;
        cur.pos += n + 2;
        ip.options = Some(parse_signed_hex(
            cur,
            start,
            &cur.line[start..start + n],
            true,
        )?);
    }
    Ok(ip)
}

fn ipv4_field(cur: &mut Cursor<'_>) -> PResult<Ipv4Addr> {
    let (pos, s) = cur.field("an IPv4 address")?;
    s.parse()
        .map_err(|_| cur.invalid(pos, s, "an IPv4 address in dotted decimal"))
}

fn parse_ipv6(cur: &mut Cursor<'_>) -> PResult<Ipv6Header> {
    cur.expect("SRC=", "`SRC=`")?;
    let src = ipv6_field(cur)?;
    cur.expect("DST=", "`DST=`")?;
    let dst = ipv6_field(cur)?;
    cur.expect("LEN=", "`LEN=`")?;
    let (pos, s) = cur.field("the length")?;
    let len = cur.decimal(pos, s, "the length as a decimal number")?;
    cur.expect("TC=", "`TC=`")?;
    let (pos, s) = cur.field("the traffic class")?;
    let tc = cur.decimal(pos, s, "the traffic class as a decimal number 0-255")?;
    cur.expect("HOPLIMIT=", "`HOPLIMIT=`")?;
    let (pos, s) = cur.field("the hop limit")?;
    let hoplimit = cur.decimal(pos, s, "the hop limit as a decimal number 0-255")?;
    cur.expect("FLOWLBL=", "`FLOWLBL=`")?;
    let (pos, s) = cur.field("the flow label")?;
    let flowlabel: u32 = cur.decimal(pos, s, "the flow label as a decimal number")?;
    if flowlabel > 0xfffff {
        return Err(cur.error_at(pos, "expected a 20-bit flow label (0-1048575)"));
    }
    Ok(Ipv6Header {
        src,
        dst,
        len,
        tc,
        hoplimit,
        flowlabel,
    })
}

fn ipv6_field(cur: &mut Cursor<'_>) -> PResult<Ipv6Addr> {
    let (pos, s) = cur.field("an IPv6 address")?;
    s.parse()
        .map_err(|_| cur.invalid(pos, s, "an IPv6 address"))
}

/// After `SPORT=`: `<sport> DPORT=<dport> ` and, for TCP, the set flags in print order.
/// Flags can only be printed for TCP; without flags the line could be TCP with no flag or
/// UDP-like: it is read as [`L4Info::Ports`] (a flagless TCP segment prints the same).
fn parse_l4(cur: &mut Cursor<'_>) -> PResult<L4Info> {
    let (pos, s) = cur.field("the source port")?;
    let sport = cur.decimal(pos, s, "the source port as a decimal number 0-65535")?;
    cur.expect("DPORT=", "`DPORT=`")?;
    let (pos, s) = cur.field("the destination port")?;
    let dport = cur.decimal(pos, s, "the destination port as a decimal number 0-65535")?;
    let mut flags = TcpFlags::empty();
    for (flag, name) in TcpFlags::PRINT_ORDER {
        let rest = cur.rest();
        if rest.starts_with(name) && rest.as_bytes().get(name.len()) == Some(&b' ') {
            cur.pos += name.len() + 1;
            flags |= flag;
        }
    }
    Ok(if flags == TcpFlags::empty() {
        L4Info::Ports { sport, dport }
    } else {
        L4Info::Tcp {
            sport,
            dport,
            flags,
        }
    })
}
