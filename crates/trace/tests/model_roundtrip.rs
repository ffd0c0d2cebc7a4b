//! Property: any model line renders to text that parses back to the same line, so the
//! printer and the parser agree on every field, not only on those the fixtures exercise.
//! (Two printed forms are ambiguous and are normalised first: TCP without flags prints
//! like UDP, and `Verdict::Other(0xfffffffb)` is how `Verdict::Return` prints.)

use std::net::{Ipv4Addr, Ipv6Addr};

use pktpath_trace::*;
use proptest::prelude::*;

fn ifname() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9@._-]{0,14}"
}

fn chain() -> impl Strategy<Value = String> {
    "[A-Z][A-Za-z0-9_-]{0,28}"
}

fn link() -> impl Strategy<Value = Option<LinkLayer>> {
    prop_oneof![
        Just(None),
        Just(Some(LinkLayer::Loopback)),
        (any::<[u8; 6]>(), any::<[u8; 6]>(), any::<u16>())
            .prop_map(|(src, dst, proto)| Some(LinkLayer::Ether(MacHeader { src, dst, proto }))),
        (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..20))
            .prop_map(|(iiftype, header)| Some(LinkLayer::Raw { iiftype, header })),
    ]
}

fn ipv4() -> impl Strategy<Value = Ipv4Header> {
    (
        (
            any::<u32>(),
            any::<u32>(),
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
        ),
        (any::<bool>(), any::<bool>(), any::<bool>(), 0u16..0x2000),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
    )
        .prop_map(
            |((s, d, len, tos, ttl, id), (ce, df, mf, frag_offset), options)| Ipv4Header {
                src: Ipv4Addr::from(s),
                dst: Ipv4Addr::from(d),
                len,
                tos,
                ttl,
                id,
                ce,
                df,
                mf,
                frag_offset,
                options,
            },
        )
}

fn ipv6() -> impl Strategy<Value = Ipv6Header> {
    (
        any::<u128>(),
        any::<u128>(),
        0u32..70000,
        any::<u8>(),
        any::<u8>(),
        0u32..0x100000,
    )
        .prop_map(|(s, d, len, tc, hoplimit, flowlabel)| Ipv6Header {
            src: Ipv6Addr::from(s),
            dst: Ipv6Addr::from(d),
            len,
            tc,
            hoplimit,
            flowlabel,
        })
}

fn l4() -> impl Strategy<Value = L4Info> {
    prop_oneof![
        Just(L4Info::None),
        (any::<u16>(), any::<u16>()).prop_map(|(sport, dport)| L4Info::Ports { sport, dport }),
        (any::<u16>(), any::<u16>(), 0u8..0x40).prop_map(|(sport, dport, f)| L4Info::Tcp {
            sport,
            dport,
            flags: TcpFlags(f)
        }),
    ]
}

fn packet() -> impl Strategy<Value = PacketLine> {
    (
        (
            prop_oneof![Just(2u8), Just(10u8), any::<u8>()],
            any::<u32>(),
        ),
        (
            proptest::option::of(ifname()),
            proptest::option::of(ifname()),
        ),
        proptest::option::of(prop_oneof![Just(2u8), Just(10u8), Just(7u8)]),
        link(),
        (
            any::<u8>(),
            ipv4(),
            ipv6(),
            proptest::collection::vec(any::<u8>(), 0..30),
        ),
        l4(),
        prop_oneof![Just(0u32), any::<u32>()],
    )
        .prop_map(
            |((family, trace_id), (iif, oif), nfproto, link, net, l4, mark)| {
                // NFPROTO= is only printed when it differs from the family.
                let nfproto = nfproto.filter(|&n| n != family);
                let eff = nfproto.unwrap_or(family);
                let (pick, v4, v6, raw) = net;
                let network = match (pick % 2, eff) {
                    (0, _) => None,
                    (_, NFPROTO_IPV4) => Some(NetworkHeader::Ipv4(v4)),
                    (_, NFPROTO_IPV6) => Some(NetworkHeader::Ipv6(v6)),
                    _ => Some(NetworkHeader::Raw(raw)),
                };
                PacketLine {
                    family,
                    trace_id,
                    iif,
                    oif,
                    nfproto,
                    link,
                    network,
                    l4,
                    mark,
                }
            },
        )
}

fn verdict() -> impl Strategy<Value = Verdict> {
    prop_oneof![
        Just(Verdict::Accept),
        Just(Verdict::Drop),
        Just(Verdict::Queue),
        Just(Verdict::Stolen),
        Just(Verdict::Break),
        Just(Verdict::Continue),
        Just(Verdict::Return),
        chain().prop_map(Verdict::Jump),
        chain().prop_map(Verdict::Goto),
        any::<u32>().prop_map(Verdict::Other),
    ]
}

fn trace() -> impl Strategy<Value = TraceLine> {
    let kind = prop_oneof![
        (any::<u64>(), verdict(), "[ -~]{0,80}").prop_map(|(handle, verdict, rule_text)| {
            TraceKind::Rule {
                handle,
                verdict,
                rule_text,
            }
        }),
        prop_oneof![Just(Verdict::Accept), Just(Verdict::Drop)].prop_map(TraceKind::Policy),
        proptest::option::of(chain()).prop_map(|target| TraceKind::Return { target }),
    ];
    (any::<u8>(), any::<u32>(), "[a-z]{1,10}", chain(), kind).prop_map(
        |(family, trace_id, table, chain, kind)| TraceLine {
            family,
            trace_id,
            table,
            chain,
            kind,
        },
    )
}

fn normalise(line: XtLine) -> XtLine {
    match line {
        XtLine::Packet(mut p) => {
            if let L4Info::Tcp {
                sport,
                dport,
                flags,
            } = p.l4
            {
                if flags == TcpFlags::empty() {
                    p.l4 = L4Info::Ports { sport, dport };
                }
            }
            XtLine::Packet(p)
        }
        XtLine::Trace(mut t) => {
            if let TraceKind::Rule { verdict, .. } = &mut t.kind {
                if *verdict == Verdict::Other(Verdict::NFT_RETURN_CODE) {
                    *verdict = Verdict::Return;
                }
            }
            XtLine::Trace(t)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn render_then_parse_is_identity(
        lines in proptest::collection::vec(
            prop_oneof![packet().prop_map(XtLine::Packet), trace().prop_map(XtLine::Trace)],
            0..6,
        )
    ) {
        let lines: Vec<XtLine> = lines.into_iter().map(normalise).collect();
        let text = render(&lines);
        let parsed = parse(&text, "generated").map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(parsed, lines);
    }
}
