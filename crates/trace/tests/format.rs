//! Fields the fixtures do not exercise, checked against the format strings of
//! `trace_print_packet()` / `print_verdict()` / `trace_cb()` in iptables 1.8.9's
//! `iptables/xtables-monitor.c`. Each expected line was written by hand from those strings.

use std::net::{Ipv4Addr, Ipv6Addr};

use pktpath_trace::*;

fn packet(p: PacketLine) -> String {
    render(&[XtLine::Packet(p)])
}

fn bare(family: u8) -> PacketLine {
    PacketLine {
        family,
        trace_id: 0x2a,
        iif: None,
        oif: None,
        nfproto: None,
        link: None,
        network: None,
        l4: L4Info::None,
        mark: 0,
    }
}

fn round_trip(text: &str) {
    let lines = parse(text, "format").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(render(&lines), text);
}

/// `LEN=%d TOS=0x%x TTL=%d ID=%d ` then `CE ` `DF ` `MF `, `FRAG:%u `, and
/// `OPT (` + `%02X` per (signed) option byte + `) `; ICMP prints nothing more.
#[test]
fn ipv4_fragment_with_options_and_mark() {
    let mut ip = Ipv4Header::new(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
    ip.len = 1500;
    ip.tos = 0x10;
    ip.ttl = 1;
    ip.id = 7;
    ip.ce = true;
    ip.mf = true;
    ip.frag_offset = 185;
    ip.options = Some(vec![0x94, 0x04, 0x80, 0x00]);
    let p = PacketLine {
        oif: Some("eth0".into()),
        network: Some(NetworkHeader::Ipv4(ip)),
        mark: 0x2a,
        ..bare(2)
    };
    let want = "PACKET: 2 0000002a OUT=eth0 SRC=10.0.0.1 DST=10.0.0.2 LEN=1500 TOS=0x10 TTL=1 \
                ID=7 CE MF FRAG:185 OPT (FFFFFF9404FFFFFF8000) MARK=0x2a \n";
    assert_eq!(packet(p), want);
    round_trip(want);
}

/// `NFPROTO=%d ` when it differs from the family (an inet table, family 1), then the IPv6
/// branch `LEN=%zu TC=%u HOPLIMIT=%u FLOWLBL=%u ` and UDP-like `SPORT=%d DPORT=%d `.
#[test]
fn ipv6_in_inet_table() {
    let p = PacketLine {
        iif: Some("eth0".into()),
        nfproto: Some(10),
        network: Some(NetworkHeader::Ipv6(Ipv6Header {
            src: "fe80::1".parse::<Ipv6Addr>().unwrap(),
            dst: "ff02::1:2".parse::<Ipv6Addr>().unwrap(),
            len: 60,
            tc: 0,
            hoplimit: 255,
            flowlabel: 12345,
        })),
        l4: L4Info::Ports {
            sport: 546,
            dport: 547,
        },
        ..bare(1)
    };
    let want = "PACKET: 1 0000002a IN=eth0 NFPROTO=10 SRC=fe80::1 DST=ff02::1:2 LEN=60 TC=0 \
                HOPLIMIT=255 FLOWLBL=12345 SPORT=546 DPORT=547 \n";
    assert_eq!(packet(p), want);
    round_trip(want);
}

/// TCP flags are tested and printed in the order SYN ACK FIN RST PSH URG.
#[test]
fn tcp_flag_order() {
    let p = PacketLine {
        l4: L4Info::Tcp {
            sport: 1,
            dport: 2,
            flags: TcpFlags::URG | TcpFlags::PSH | TcpFlags::RST | TcpFlags::FIN | TcpFlags::ACK,
        },
        ..bare(2)
    };
    assert_eq!(
        packet(p),
        "PACKET: 2 0000002a SPORT=1 DPORT=2 ACK FIN RST PSH URG \n"
    );
}

/// `print_verdict()` names ACCEPT DROP QUEUE STOLEN BREAK CONTINUE, `GOTO:`/`JUMP:` with the
/// target, and prints anything else `0x%x`; `:return:` is followed by the jump target only.
#[test]
fn verdicts_and_return_lines() {
    let text =
        " TRACE: 2 0000002a filter:INPUT:rule:0x1:QUEUE  -4 -t filter -A INPUT -j NFQUEUE\n \
TRACE: 2 0000002a filter:INPUT:rule:0x2:0x10003  -4 -t filter -A INPUT -j NFQUEUE --queue-num 1\n \
TRACE: 2 0000002a filter:INPUT:rule:0x3:GOTO:FOO  -4 -t filter -A INPUT -g FOO\n \
TRACE: 2 0000002a filter:FOO:return:\n \
TRACE: 2 0000002a filter:FOO:return:BAR\n \
TRACE: 2 0000002a filter:INPUT:policy:DROP \n";
    let lines = parse(text, "verdicts").unwrap();
    let kinds: Vec<&TraceKind> = lines
        .iter()
        .map(|l| match l {
            XtLine::Trace(t) => &t.kind,
            XtLine::Packet(_) => panic!("no packet lines here"),
        })
        .collect();
    assert!(matches!(
        kinds[0],
        TraceKind::Rule {
            verdict: Verdict::Queue,
            handle: 1,
            ..
        }
    ));
    assert!(matches!(
        kinds[1],
        TraceKind::Rule {
            verdict: Verdict::Other(0x10003),
            ..
        }
    ));
    assert!(matches!(kinds[2], TraceKind::Rule { verdict: Verdict::Goto(c), .. } if c == "FOO"));
    assert_eq!(kinds[3], &TraceKind::Return { target: None });
    assert_eq!(
        kinds[4],
        &TraceKind::Return {
            target: Some("BAR".into())
        }
    );
    assert_eq!(kinds[5], &TraceKind::Policy(Verdict::Drop));
    assert_eq!(render(&lines), text);
}

/// The signed-char quirk in `LL=` on bridge post-routing, from
/// docker-two-networks/probes/nginx-client-to-nginxip-80/trace.txt line 13: the header is
/// dst 02:42:ac:11:00:02, src 02:42:ac:11:00:03, type 0x0800.
#[test]
fn raw_link_layer_bytes_are_sign_extended() {
    let line = "PACKET: 2 92d0564c OUT=docker0 LL=0x0 0242ffffffac1100020242ffffffac1100030800 \
                SRC=172.17.0.3 DST=172.17.0.2 LEN=60 TOS=0x0 TTL=64 ID=32932 DF SPORT=41042 \
                DPORT=80 SYN \n";
    let lines = parse(line, "ll").unwrap();
    let XtLine::Packet(p) = &lines[0] else {
        panic!()
    };
    assert_eq!(
        p.link,
        Some(LinkLayer::Raw {
            iiftype: 0,
            header: vec![2, 0x42, 0xac, 0x11, 0, 2, 2, 0x42, 0xac, 0x11, 0, 3, 8, 0],
        })
    );
    assert_eq!(render(&lines), line);
}

/// glibc `ether_ntoa()` prints `%x` per byte: no leading zeros.
#[test]
fn mac_without_leading_zeros() {
    let p = PacketLine {
        iif: Some("docker0".into()),
        link: Some(LinkLayer::Ether(MacHeader {
            src: [0x02, 0x42, 0xac, 0x11, 0x00, 0x03],
            dst: [0x0e, 0x3b, 0xe0, 0xd0, 0x4a, 0x9b],
            proto: 0x0800,
        })),
        ..bare(2)
    };
    assert_eq!(
        packet(p),
        "PACKET: 2 0000002a IN=docker0 MACSRC=2:42:ac:11:0:3 MACDST=e:3b:e0:d0:4a:9b MACPROTO=0800 \n"
    );
}
