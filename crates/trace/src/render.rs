//! The printer: writes [`XtLine`]s exactly as `xtables-monitor --trace` (iptables 1.8.9)
//! prints them, trailing spaces included.
//!
//! Each `Display` impl writes one line without its newline; [`render`] joins lines with `\n`
//! after each. The format strings are those of `trace_print_packet()`, `trace_print_hdr()`,
//! `print_verdict()` and `trace_cb()` in `iptables/xtables-monitor.c`.

use std::fmt::{self, Write};

use crate::model::*;

/// Render lines as `xtables-monitor --trace` prints them, one `\n`-terminated line each.
pub fn render(lines: &[XtLine]) -> String {
    // Most lines are 100-200 bytes; one reservation avoids regrowing for typical traces.
    let mut out = String::with_capacity(lines.len() * 160);
    render_into(&mut out, lines);
    out
}

/// Like [`render`], appending to `out`.
pub fn render_into(out: &mut String, lines: &[XtLine]) {
    for line in lines {
        // Writing into a String cannot fail.
        let _ = writeln!(out, "{line}");
    }
}

impl fmt::Display for XtLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XtLine::Packet(p) => p.fmt(f),
            XtLine::Trace(t) => t.fmt(f),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Accept => f.write_str("ACCEPT"),
            Verdict::Drop => f.write_str("DROP"),
            Verdict::Queue => f.write_str("QUEUE"),
            Verdict::Stolen => f.write_str("STOLEN"),
            Verdict::Break => f.write_str("BREAK"),
            Verdict::Continue => f.write_str("CONTINUE"),
            Verdict::Jump(chain) => write!(f, "JUMP:{chain}"),
            Verdict::Goto(chain) => write!(f, "GOTO:{chain}"),
            // print_verdict() has no case for NFT_RETURN: default branch, "0x%x".
            Verdict::Return => write!(f, "0x{:x}", Verdict::NFT_RETURN_CODE),
            Verdict::Other(code) => write!(f, "0x{code:x}"),
        }
    }
}

impl fmt::Display for TraceLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // trace_print_hdr(): " TRACE: %d %08x %s:%s"
        write!(
            f,
            " TRACE: {} {:08x} {}:{}",
            self.family, self.trace_id, self.table, self.chain
        )?;
        match &self.kind {
            // ":rule:0x%" PRIx64 ":", print_verdict() (verdict + " "), printf(" "), then
            // rule_cb(): "-4 " "-t <table> " and the iptables-save form of the rule.
            TraceKind::Rule {
                handle,
                verdict,
                rule_text,
            } => write!(f, ":rule:0x{handle:x}:{verdict}  {rule_text}"),
            // ":policy:" then print_verdict(), which ends with a space.
            TraceKind::Policy(verdict) => write!(f, ":policy:{verdict} "),
            // ":return:" then the jump target if any, no trailing space.
            TraceKind::Return { target } => {
                f.write_str(":return:")?;
                match target {
                    Some(t) => f.write_str(t),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Bytes printed with `printf("%02x", c)` where `c` is a (signed) `char`: bytes >= 0x80
/// are sign-extended to `int`, so they print as `ffffffXX`.
struct SignedHex<'a> {
    bytes: &'a [u8],
    upper: bool,
}

impl fmt::Display for SignedHex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in self.bytes {
            match (b >= 0x80, self.upper) {
                (false, false) => write!(f, "{b:02x}")?,
                (false, true) => write!(f, "{b:02X}")?,
                (true, false) => write!(f, "ffffff{b:02x}")?,
                (true, true) => write!(f, "FFFFFF{b:02X}")?,
            }
        }
        Ok(())
    }
}

/// A MAC address as glibc's `ether_ntoa()` prints it: `%x:%x:%x:%x:%x:%x`.
struct EtherNtoa<'a>(&'a [u8; 6]);

impl fmt::Display for EtherNtoa<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:x}:{:x}:{:x}:{:x}:{:x}:{:x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl fmt::Display for PacketLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every field is printed with a trailing space, so the line ends with one.
        write!(f, "PACKET: {} {:08x} ", self.family, self.trace_id)?;
        if let Some(iif) = &self.iif {
            write!(f, "IN={iif} ")?;
        }
        if let Some(oif) = &self.oif {
            write!(f, "OUT={oif} ")?;
        }
        if let Some(nfproto) = self.nfproto {
            write!(f, "NFPROTO={nfproto} ")?;
        }
        match &self.link {
            None => {}
            Some(LinkLayer::Ether(mac)) => write!(
                f,
                "MACSRC={} MACDST={} MACPROTO={:04x} ",
                EtherNtoa(&mac.src),
                EtherNtoa(&mac.dst),
                mac.proto
            )?,
            Some(LinkLayer::Loopback) => f.write_str("LOOPBACK ")?,
            Some(LinkLayer::Raw { iiftype, header }) => write!(
                f,
                "LL=0x{iiftype:x} {} ",
                SignedHex {
                    bytes: header,
                    upper: false
                }
            )?,
        }
        match &self.network {
            None => {}
            Some(NetworkHeader::Ipv4(ip)) => {
                write!(
                    f,
                    "SRC={} DST={} LEN={} TOS=0x{:x} TTL={} ID={} ",
                    ip.src, ip.dst, ip.len, ip.tos, ip.ttl, ip.id
                )?;
                if ip.ce {
                    f.write_str("CE ")?;
                }
                if ip.df {
                    f.write_str("DF ")?;
                }
                if ip.mf {
                    f.write_str("MF ")?;
                }
                if ip.frag_offset != 0 {
                    write!(f, "FRAG:{} ", ip.frag_offset)?;
                }
                if let Some(opts) = &ip.options {
                    write!(
                        f,
                        "OPT ({}) ",
                        SignedHex {
                            bytes: opts,
                            upper: true
                        }
                    )?;
                }
            }
            Some(NetworkHeader::Ipv6(ip)) => write!(
                f,
                "SRC={} DST={} LEN={} TC={} HOPLIMIT={} FLOWLBL={} ",
                ip.src, ip.dst, ip.len, ip.tc, ip.hoplimit, ip.flowlabel
            )?,
            Some(NetworkHeader::Raw(bytes)) => write!(
                f,
                "NH={} ",
                SignedHex {
                    bytes,
                    upper: false
                }
            )?,
        }
        match self.l4 {
            L4Info::None => {}
            L4Info::Ports { sport, dport } => write!(f, "SPORT={sport} DPORT={dport} ")?,
            L4Info::Tcp {
                sport,
                dport,
                flags,
            } => {
                write!(f, "SPORT={sport} DPORT={dport} ")?;
                for (flag, name) in TcpFlags::PRINT_ORDER {
                    if flags.contains(flag) {
                        write!(f, "{name} ")?;
                    }
                }
            }
        }
        if self.mark != 0 {
            write!(f, "MARK=0x{:x} ", self.mark)?;
        }
        Ok(())
    }
}
