//! Parsers for the value types iptables options take, with libxtables' exact rules:
//! numbers in C `strtoul(.., 0)` style (`0x` hex, leading `0` octal), dotted IPv4
//! addresses with autocompletion (`10` is `10.0.0.0`), `/len` or dotted masks, ports by
//! number or service name, `lo:hi` port ranges, `value/mask` marks.
//! Errors are plain messages; the caller attaches the position.

use crate::model::{prefix_mask, AddrMask, PortRange};
use crate::netdb;
use std::net::Ipv4Addr;

/// C `strtoumax(s, &end, 0)` restricted to what xtables accepts (no leading `-`).
/// Returns the value and the unparsed rest, or `None` if no digits were read.
pub fn strtoul0(s: &str) -> Option<(u64, &str)> {
    let t = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.starts_with('-') {
        return None;
    }
    let b = t.as_bytes();
    let (radix, digits_from) = if b.len() >= 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') {
        if b.len() > 2 && (b[2] as char).is_ascii_hexdigit() {
            (16, 2)
        } else {
            // "0x" without hex digits: strtoul reads the "0" and stops at 'x'.
            return Some((0, &t[1..]));
        }
    } else if !b.is_empty() && b[0] == b'0' {
        (8, 0)
    } else {
        (10, 0)
    };
    let digits = &t[digits_from..];
    let n = digits
        .bytes()
        .take_while(|c| (*c as char).is_digit(radix))
        .count();
    if n == 0 {
        return None;
    }
    let mut v: u64 = 0;
    for c in digits[..n].bytes() {
        v = v
            .checked_mul(radix as u64)?
            .checked_add((c as char).to_digit(radix)? as u64)?;
    }
    Some((v, &digits[n..]))
}

/// `xtables_strtoui(s, NULL, &v, min, max)`: the whole string must be a number in range.
pub fn parse_uint(s: &str, min: u64, max: u64) -> Option<u64> {
    // Plain decimal (no leading zero), the usual case.
    let b = s.as_bytes();
    if !b.is_empty() && b.len() <= 10 && b[0] != b'0' && b.iter().all(u8::is_ascii_digit) {
        let v = b.iter().fold(0u64, |acc, d| acc * 10 + (d - b'0') as u64);
        return (v >= min && v <= max).then_some(v);
    }
    match strtoul0(s) {
        Some((v, "")) if v >= min && v <= max => Some(v),
        _ => None,
    }
}

/// A plain decimal-or-C-style number into u32, whole string.
pub fn parse_u32(s: &str) -> Option<u32> {
    parse_uint(s, 0, u32::MAX as u64).map(|v| v as u32)
}

/// libxtables' `__numeric_to_ipaddr`: up to four dot-separated bytes (each C-style
/// number); fewer parts are completed with zeros unless this is a mask.
pub fn parse_ipv4(s: &str, is_mask: bool) -> Option<Ipv4Addr> {
    if s.len() >= 20 || s.is_empty() {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for (i, slot) in octets.iter_mut().enumerate() {
        match parts.next() {
            Some(p) => *slot = parse_uint(p, 0, 255)? as u8,
            None => {
                if is_mask || i == 0 {
                    return None;
                }
                break;
            }
        }
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// `address[/mask]` as conntrack's address options (`--ctorigsrc` ...) take it: the mask
/// as a prefix length (`/24` or `/255.255.255.0`), address not masked. A length above 32
/// counts as 32. A non-contiguous dotted mask counts as `/32`: libxtables' hostmask parser
/// keeps no such mask (iptables-save prints `--ctorigsrc 10.0.0.0` for
/// `10.0.0.0/255.0.255.0`, and the kernel then matches 10.0.0.0 only; checked on a 6.18
/// kernel with iptables 1.8.9).
pub fn parse_ipv4_addr_mask(s: &str, lenient_len: bool) -> Result<(Ipv4Addr, u8), String> {
    let (ip, mask) = parse_addr_mask_bits(s, lenient_len)?;
    let len = if mask.leading_ones() + mask.trailing_zeros() >= 32 {
        mask.leading_ones() as u8
    } else {
        32
    };
    Ok((ip, len))
}

/// `address[/mask]` with the mask as bits: `/len` or any dotted mask (xtables_ipparse_any);
/// the address is not masked. `lenient_len`: a length above 32 counts as 32, else it is
/// an error.
fn parse_addr_mask_bits(s: &str, lenient_len: bool) -> Result<(Ipv4Addr, u32), String> {
    if let Some((ip, len)) = fast_dotted_prefix(s) {
        return Ok((ip, prefix_mask(len)));
    }
    let (addr, mask) = match s.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (s, None),
    };
    let mask = match mask {
        None => u32::MAX,
        Some(m) if m.contains('.') => {
            u32::from(parse_ipv4(m, true).ok_or_else(|| format!("invalid mask `{m}` specified"))?)
        }
        Some(m) => {
            let max = if lenient_len { u32::MAX as u64 } else { 32 };
            let len = parse_uint(m, 0, max)
                .ok_or_else(|| format!("invalid mask `{m}` specified; expected 0-32"))?
                .min(32) as u8;
            prefix_mask(len)
        }
    };
    let ip = parse_ipv4(addr, false).ok_or_else(|| {
        format!("host/network `{addr}` not found; expected a numeric IPv4 address")
    })?;
    Ok((ip, mask))
}

/// The common spelling `a.b.c.d[/len]` in plain decimal (no leading zeros), parsed
/// without the general machinery; `None` for anything else.
fn fast_dotted_prefix(s: &str) -> Option<(Ipv4Addr, u8)> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut octets = [0u8; 4];
    for (k, slot) in octets.iter_mut().enumerate() {
        let start = i;
        let mut v: u32 = 0;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 3 {
            v = v * 10 + (b[i] - b'0') as u32;
            i += 1;
        }
        let len = i - start;
        if len == 0 || v > 255 || (len > 1 && b[start] == b'0') {
            return None;
        }
        *slot = v as u8;
        if k < 3 {
            if i >= b.len() || b[i] != b'.' {
                return None;
            }
            i += 1;
        }
    }
    let prefix = if i == b.len() {
        32
    } else {
        if b[i] != b'/' {
            return None;
        }
        let rest = &b[i + 1..];
        if rest.is_empty() || rest.len() > 2 || !rest.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if rest.len() == 2 && rest[0] == b'0' {
            return None;
        }
        let p = rest
            .iter()
            .fold(0u32, |acc, d| acc * 10 + (d - b'0') as u32);
        if p > 32 {
            return None;
        }
        p as u8
    };
    Some((Ipv4Addr::from(octets), prefix))
}

/// `-s`/`-d` style `address[/mask]`, masked like iptables does (`10.1.2.3/8` is
/// `10.0.0.0/8`, `1.2.3.4/255.0.255.0` is `1.0.3.0/255.0.255.0`). Only numeric
/// addresses: there is no DNS here.
pub fn parse_addr_mask(s: &str) -> Result<AddrMask, String> {
    let (ip, mask) = parse_addr_mask_bits(s, false)?;
    Ok(AddrMask::new(ip, mask))
}

/// `xtables_parse_port(name, proto)`: a number 0-65535 or a service name.
pub fn parse_port(s: &str, proto: &str) -> Result<u16, String> {
    if let Some(v) = parse_uint(s, 0, 65535) {
        return Ok(v as u16);
    }
    if let Some(p) = netdb::service_port(s, proto) {
        return Ok(p);
    }
    Err(format!("invalid port/service `{s}` specified"))
}

/// `port[:port]` as tcp/udp `--sport`/`--dport` take it; empty ends mean 0 / 65535.
pub fn parse_port_range(s: &str, proto: &str) -> Result<PortRange, String> {
    match s.split_once(':') {
        None => {
            let p = parse_port(s, proto)?;
            Ok(PortRange { lo: p, hi: p })
        }
        Some((a, b)) => {
            let lo = if a.is_empty() {
                0
            } else {
                parse_port(a, proto)?
            };
            let hi = if b.is_empty() {
                65535
            } else {
                parse_port(b, proto)?
            };
            if lo > hi {
                return Err(format!("invalid portrange `{s}` (min > max)"));
            }
            Ok(PortRange { lo, hi })
        }
    }
}

/// Like [`parse_port_range`], but `min > max` is kept as given (libxt_udp 1.8.9 takes
/// `--dport 60000:29`; the range then matches no packet).
pub fn parse_port_range_unordered(s: &str, proto: &str) -> Result<PortRange, String> {
    match s.split_once(':') {
        None => parse_port(s, proto).map(PortRange::single),
        Some((a, b)) => Ok(PortRange {
            lo: if a.is_empty() {
                0
            } else {
                parse_port(a, proto)?
            },
            hi: if b.is_empty() {
                65535
            } else {
                parse_port(b, proto)?
            },
        }),
    }
}

/// `value[/mask]` (mask defaults to all ones), as `--mark` and `--set-xmark` take it.
pub fn parse_mark_mask(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("bad mark value `{s}`; expected value[/mask]");
    let (v, rest) = strtoul0(s).ok_or_else(bad)?;
    let v = u32::try_from(v).map_err(|_| bad())?;
    if rest.is_empty() {
        return Ok((v, u32::MAX));
    }
    let m = rest.strip_prefix('/').ok_or_else(bad)?;
    let m = parse_u32(m).ok_or_else(bad)?;
    Ok((v, m))
}

/// An Ethernet address `xx:xx:xx:xx:xx:xx`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = s.split(':');
    for slot in out.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *slot = u8::from_str_radix(p, 16).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(strtoul0("0x10"), Some((16, "")));
        assert_eq!(strtoul0("010"), Some((8, "")));
        assert_eq!(strtoul0("12/3"), Some((12, "/3")));
        assert_eq!(strtoul0("0"), Some((0, "")));
        assert_eq!(strtoul0("-1"), None);
        assert_eq!(parse_uint("65536", 0, 65535), None);
    }

    #[test]
    fn addresses() {
        assert_eq!(parse_ipv4("10", false), Some(Ipv4Addr::new(10, 0, 0, 0)));
        assert_eq!(parse_ipv4("10.1", false), Some(Ipv4Addr::new(10, 1, 0, 0)));
        assert_eq!(parse_ipv4("10.1", true), None);
        assert_eq!(parse_ipv4("1.2.3.4.5", false), None);
        assert_eq!(
            parse_addr_mask("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_addr_mask("10.1.2.3/255.255.0.0").unwrap().to_string(),
            "10.1.0.0/16"
        );
        assert_eq!(
            parse_addr_mask("1.2.3.4").unwrap().to_string(),
            "1.2.3.4/32"
        );
        assert!(parse_addr_mask("example.com").is_err());
        // Non-contiguous masks (iptables 1.8.9: saved as `-s 1.0.3.0/255.0.255.0`).
        let m = parse_addr_mask("1.2.3.4/255.0.255.0").unwrap();
        assert_eq!(m.to_string(), "1.0.3.0/255.0.255.0");
        assert_eq!(m.prefix_len(), None);
        assert!(m.contains(Ipv4Addr::new(1, 9, 3, 7)));
        assert!(!m.contains(Ipv4Addr::new(1, 9, 4, 7)));
        // conntrack keeps no such mask: /32.
        assert_eq!(
            parse_ipv4_addr_mask("1.2.3.4/255.0.255.0", true).unwrap(),
            (Ipv4Addr::new(1, 2, 3, 4), 32)
        );
    }

    #[test]
    fn ports_and_marks() {
        assert_eq!(
            parse_port_range("ssh", "tcp").unwrap(),
            PortRange::single(22)
        );
        assert_eq!(
            parse_port_range(":80", "tcp").unwrap(),
            PortRange { lo: 0, hi: 80 }
        );
        assert!(parse_port_range("90:80", "tcp").is_err());
        assert_eq!(parse_mark_mask("0x4000/0x4000").unwrap(), (0x4000, 0x4000));
        assert_eq!(parse_mark_mask("1").unwrap(), (1, u32::MAX));
        assert_eq!(
            parse_mac("00:1A:2b:3c:4d:5e"),
            Some([0, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e])
        );
    }
}
