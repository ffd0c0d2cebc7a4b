//! Property: a rule built from the model (in the canonical form the parser produces)
//! prints with `print_rule` and parses back with `parse_rule` to the same model.

use ipnet::Ipv4Net;
use pktpath_rules::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use std::net::Ipv4Addr;

fn neg<T: std::fmt::Debug + Clone>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Neg<T>> {
    (any::<bool>(), s).prop_map(|(negated, value)| Neg { negated, value })
}

fn addr() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

/// `-s`/`-d`: masked, never /0 (iptables-save prints nothing for it); prefix masks and,
/// less often, any other mask (iptables takes `1.0.3.0/255.0.255.0`).
fn net() -> impl Strategy<Value = AddrMask> {
    prop_oneof![
        3 => (addr(), 1u8..=32).prop_map(|(a, p)| AddrMask::from_prefix(a, p)),
        1 => (addr(), 1u32..).prop_map(|(a, m)| AddrMask::new(a, m)),
    ]
}

fn name(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-z][a-z0-9]{{0,{}}}", max - 1)).unwrap()
}

fn iface() -> impl Strategy<Value = IfaceName> {
    (name(10), any::<bool>()).prop_map(|(name, wildcard)| IfaceName { name, wildcard })
}

fn chain() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[A-Z][A-Z0-9-]{0,20}[0-9]").unwrap()
}

/// Port ranges as tcp/udp print them: never the full range.
fn ports() -> impl Strategy<Value = PortRange> {
    (any::<u16>(), any::<u16>())
        .prop_map(|(a, b)| PortRange {
            lo: a.min(b),
            hi: a.max(b),
        })
        .prop_filter("full range is not printed", |r| {
            !(r.lo == 0 && r.hi == 65535)
        })
}

fn tcp_flags() -> impl Strategy<Value = TcpFlags> {
    (1u8..=0x3F, 0u8..=0x3F).prop_map(|(mask, comp)| TcpFlags { mask, comp })
}

fn comment() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[ -~äé]{0,60}").unwrap()
}

fn states(n: usize) -> impl Strategy<Value = Vec<CtState>> {
    let all = [
        CtState::Invalid,
        CtState::New,
        CtState::Related,
        CtState::Established,
        CtState::Untracked,
        CtState::Snat,
        CtState::Dnat,
    ];
    vec(any::<bool>(), n).prop_filter_map("non-empty", move |pick| {
        let v: Vec<CtState> = all
            .iter()
            .zip(&pick)
            .filter(|(_, p)| **p)
            .map(|(s, _)| *s)
            .collect();
        (!v.is_empty()).then_some(v)
    })
}

fn addr_types() -> impl Strategy<Value = Vec<AddrType>> {
    let all = [
        AddrType::Unspec,
        AddrType::Unicast,
        AddrType::Local,
        AddrType::Broadcast,
        AddrType::Anycast,
        AddrType::Multicast,
        AddrType::Blackhole,
        AddrType::Unreachable,
        AddrType::Prohibit,
        AddrType::Throw,
        AddrType::Nat,
        AddrType::Xresolve,
    ];
    vec(any::<bool>(), 12).prop_filter_map("non-empty", move |pick| {
        let v: Vec<AddrType> = all
            .iter()
            .zip(&pick)
            .filter(|(_, p)| **p)
            .map(|(s, _)| *s)
            .collect();
        (!v.is_empty()).then_some(v)
    })
}

fn conntrack() -> impl Strategy<Value = ConntrackMatch> {
    let statuses = vec(any::<bool>(), 4).prop_map(|pick| {
        [
            CtStatus::Expected,
            CtStatus::SeenReply,
            CtStatus::Assured,
            CtStatus::Confirmed,
        ]
        .iter()
        .zip(&pick)
        .filter(|(_, p)| **p)
        .map(|(s, _)| *s)
        .collect::<Vec<_>>()
    });
    let unmasked = || (addr(), 0u8..=32).prop_map(|(a, p)| Ipv4Net::new(a, p).unwrap());
    let any_ports = (any::<u16>(), any::<u16>()).prop_map(|(lo, hi)| PortRange { lo, hi });
    (
        (
            option::of(neg(states(7))),
            option::of(neg(statuses)),
            option::of(neg((0u8..=255).prop_map(Protocol::from_number))),
            option::of(neg(unmasked())),
            option::of(neg(unmasked())),
        ),
        (
            option::of(neg(any_ports.clone())),
            option::of(neg(any_ports)),
            option::of(prop_oneof![Just(CtDir::Original), Just(CtDir::Reply)]),
            option::of(neg((any::<u32>(), any::<u32>()))),
        ),
    )
        .prop_map(
            |((state, status, proto, orig_src, repl_dst), (osp, rdp, dir, expire))| {
                ConntrackMatch {
                    state,
                    status,
                    proto,
                    orig_src,
                    repl_dst,
                    orig_src_port: osp,
                    repl_dst_port: rdp,
                    dir,
                    expire,
                    ..Default::default()
                }
            },
        )
        .prop_filter("at least one option", |c| *c != ConntrackMatch::default())
}

/// Matches that need no particular protocol.
fn generic_match() -> impl Strategy<Value = Match> {
    prop_oneof![
        (
            option::of(neg(addr_types())),
            option::of(neg(addr_types())),
            0u8..3
        )
            .prop_filter("src or dst type", |(s, d, _)| s.is_some() || d.is_some())
            .prop_map(
                |(src_type, dst_type, lim)| Match::AddrType(Box::new(AddrTypeMatch {
                    src_type,
                    dst_type,
                    limit_iface_in: lim == 1,
                    limit_iface_out: lim == 2,
                }))
            ),
        conntrack().prop_map(|c| Match::Conntrack(Box::new(c))),
        neg(states(5)).prop_map(Match::State),
        (any::<bool>(), any::<u32>(), any::<u32>()).prop_map(|(negated, value, mask)| Match::Mark(
            MarkMatch {
                negated,
                value,
                mask
            }
        )),
        (any::<bool>(), any::<u32>(), any::<u32>()).prop_map(|(negated, value, mask)| {
            Match::Connmark(MarkMatch {
                negated,
                value,
                mask,
            })
        }),
        comment().prop_map(Match::Comment),
        (any::<bool>(), 0u32..=0x8000_0000).prop_map(|(negated, kv)| Match::Statistic(
            StatisticMatch {
                negated,
                mode: StatisticMode::Random {
                    probability: ProbabilityText { kernel_value: kv }
                },
            }
        )),
        (any::<bool>(), 1u32..1000, any::<u32>()).prop_map(|(negated, every, p)| {
            Match::Statistic(StatisticMatch {
                negated,
                mode: StatisticMode::Nth {
                    every,
                    packet: p % every,
                },
            })
        }),
        (1u32..100000, 1u32..=10000).prop_map(|(rate, burst)| {
            // A canonical rate: what iptables-save prints for `rate/second`'s period.
            let (rate, per) = canonical_limit(10000 / rate.min(10000));
            Match::Limit(LimitMatch { rate, per, burst })
        }),
        (
            option::of(neg((addr(), addr()))),
            option::of(neg((addr(), addr())))
        )
            .prop_filter("a range", |(s, d)| s.is_some() || d.is_some())
            .prop_map(|(src, dst)| Match::IpRange(IpRangeMatch { src, dst })),
        neg(any::<[u8; 6]>()).prop_map(Match::Mac),
        neg(prop_oneof![
            Just(PktType::Unicast),
            Just(PktType::Broadcast),
            Just(PktType::Multicast),
            Just(PktType::OtherHost)
        ])
        .prop_map(Match::PktType),
        (any::<bool>(), any::<u32>(), 0u8..=32, any::<bool>()).prop_map(
            |(upto, limit, mask, daddr)| {
                Match::Connlimit(ConnlimitMatch {
                    upto,
                    limit,
                    mask,
                    daddr,
                })
            }
        ),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(loose, validmark, accept_local, invert)| Match::Rpfilter(RpfilterMatch {
                loose,
                validmark,
                accept_local,
                invert
            })
        ),
        (option::of(neg(iface())), option::of(neg(iface())), 0u8..27)
            .prop_map(|(in_dev, out_dev, f)| {
                let flag = |k: u8| match k % 3 {
                    0 => None,
                    1 => Some(Neg::new(())),
                    _ => Some(Neg::not(())),
                };
                PhysdevMatch {
                    in_dev,
                    out_dev,
                    is_in: flag(f),
                    is_out: flag(f / 3),
                    is_bridged: flag(f / 9),
                }
            })
            .prop_filter("an option", |p| *p != PhysdevMatch::default())
            .prop_map(|p| Match::Physdev(Box::new(p))),
        (
            option::of(neg((0u32..5000, 0u32..5000))),
            option::of(neg((0u32..5000, 0u32..5000))),
            0u8..3
        )
            .prop_map(|(uid, gid, s)| Match::Owner(OwnerMatch {
                uid: uid.map(|n| Neg {
                    negated: n.negated,
                    value: (n.value.0.min(n.value.1), n.value.0.max(n.value.1))
                }),
                gid: gid.map(|n| Neg {
                    negated: n.negated,
                    value: (n.value.0.min(n.value.1), n.value.0.max(n.value.1))
                }),
                socket_exists: match s {
                    0 => None,
                    1 => Some(Neg::new(())),
                    _ => Some(Neg::not(())),
                },
            })),
        recent(),
        hashlimit(),
    ]
}

fn canonical_limit(period: u32) -> (u32, RateUnit) {
    // Mirror of libxt_limit's print_rate (tested against real iptables in tests/oracle).
    let rates = [
        (RateUnit::Day, 10000 * 86400u32),
        (RateUnit::Hour, 10000 * 3600),
        (RateUnit::Minute, 10000 * 60),
        (RateUnit::Second, 10000),
    ];
    let mut i = 1;
    while i < rates.len() {
        let m = rates[i].1;
        if period > m || m / period < m % period {
            break;
        }
        i += 1;
    }
    (rates[i - 1].1 / period, rates[i - 1].0)
}

fn recent() -> impl Strategy<Value = Match> {
    (
        any::<bool>(),
        0u8..4,
        name(12),
        any::<bool>(),
        option::of(1u32..100000),
        option::of(1u32..300),
        any::<bool>(),
        any::<bool>(),
        option::of(addr().prop_filter("not all ones", |a| *a != Ipv4Addr::BROADCAST)),
    )
        .prop_map(
            |(negated, c, name, rdest, seconds, hitcount, reap, rttl, mask)| {
                let command = [
                    RecentCommand::Set,
                    RecentCommand::Rcheck,
                    RecentCommand::Update,
                    RecentCommand::Remove,
                ][c as usize];
                let modifiers = matches!(command, RecentCommand::Rcheck | RecentCommand::Update);
                let seconds = if modifiers { seconds } else { None };
                Match::Recent(Box::new(RecentMatch {
                    negated,
                    command,
                    name,
                    rdest,
                    seconds,
                    reap: reap && seconds.is_some(),
                    hitcount: if modifiers { hitcount } else { None },
                    rttl: rttl && modifiers,
                    mask,
                }))
            },
        )
}

fn hashlimit() -> impl Strategy<Value = Match> {
    (
        any::<bool>(),
        (1u64..1000, 0usize..4),
        1u64..=1_000_000,
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        name(20),
        (
            any::<u32>(),
            any::<u32>(),
            option::of(any::<u32>()),
            option::of(any::<u32>()),
        ),
        (0u8..=32, 0u8..=32),
    )
        .prop_map(
            |(above, (n, unit), burst, mode, name, (size, max, gc, expire), (srcmask, dstmask))| {
                let mult = [1u64, 60, 3600, 86400][unit];
                let avg = 1_000_000 * mult / n;
                // The unit iptables-save prints for this period gives the default expiry.
                let periods = [
                    1_000_000u64 * 86400,
                    1_000_000 * 3600,
                    1_000_000 * 60,
                    1_000_000,
                ];
                let mut i = 1;
                while i < 4 && !(avg > periods[i] || periods[i] / avg < periods[i] % avg) {
                    i += 1;
                }
                let quantum = (periods[i - 1] / 1_000_000 * 1000) as u32;
                Match::HashLimit(Box::new(HashLimitMatch {
                    above,
                    bytes: false,
                    avg,
                    burst,
                    src_ip: mode.0,
                    src_port: mode.1,
                    dst_ip: mode.2,
                    dst_port: mode.3,
                    name,
                    htable_size: size,
                    htable_max: max,
                    gc_interval: gc.unwrap_or(1000),
                    expire: expire.unwrap_or(quantum),
                    srcmask,
                    dstmask,
                }))
            },
        )
        .prop_filter("the printed rate reads back as the same period", |m| {
            // Printing rounds the rate; keep periods that survive the trip (iptables has
            // the same loss).
            let Match::HashLimit(h) = m else { return false };
            let periods = [
                1_000_000u64 * 86400,
                1_000_000 * 3600,
                1_000_000 * 60,
                1_000_000,
            ];
            let mut i = 1;
            while i < 4 && !(h.avg > periods[i] || periods[i] / h.avg < periods[i] % h.avg) {
                i += 1;
            }
            let n = periods[i - 1] / h.avg;
            n != 0 && periods[i - 1] / n == h.avg
        })
}

fn log_options() -> impl Strategy<Value = LogOptions> {
    (
        option::of(proptest::string::string_regex("[ -~]{1,29}").unwrap()),
        option::of((0u8..8).prop_filter("4 is the default", |l| *l != 4)),
        vec(any::<bool>(), 5),
    )
        .prop_map(|(prefix, level, f)| LogOptions {
            prefix,
            level,
            tcp_sequence: f[0],
            tcp_options: f[1],
            ip_options: f[2],
            uid: f[3],
            macdecode: f[4],
        })
}

fn target(proto: Option<Neg<Protocol>>) -> impl Strategy<Value = Target> {
    let tcp = matches!(
        proto,
        Some(Neg {
            negated: false,
            value: Protocol::Tcp
        })
    );
    let portok = matches!(&proto, Some(p) if matches!(p.value.number(), 1 | 6 | 17 | 33 | 132));
    let reject = prop_oneof![
        Just(RejectWith::IcmpNetUnreachable),
        Just(RejectWith::IcmpHostUnreachable),
        Just(RejectWith::IcmpPortUnreachable),
        Just(RejectWith::IcmpProtoUnreachable),
        Just(RejectWith::IcmpNetProhibited),
        Just(RejectWith::IcmpHostProhibited),
        Just(RejectWith::IcmpAdminProhibited),
        Just(RejectWith::TcpReset),
    ]
    .prop_filter("tcp-reset needs -p tcp", move |w| {
        tcp || *w != RejectWith::TcpReset
    });
    let nat_ports = move || {
        option::of((any::<u16>(), any::<u16>()).prop_map(|(a, b)| PortRange {
            lo: a.min(b),
            hi: a.max(b),
        }))
        .prop_map(move |p| if portok { p } else { None })
    };
    // `shift`: a shifted port range (DNAT keeps its base; SNAT's prints `/0`, which
    // iptables-restore refuses, so SNAT has none here).
    let range = move |shift: bool| {
        (
            option::of((addr(), addr())),
            nat_ports(),
            option::of(1u16..=65535),
        )
            .prop_filter("address or port", |(a, p, _)| a.is_some() || p.is_some())
            .prop_map(move |(addr, ports, base)| NatRange {
                addr,
                ports,
                // A one-port shifted range saves as `lo/base`, which iptables-restore
                // refuses: not generated.
                base: base.filter(|_| shift && ports.is_some_and(|p| p.lo != p.hi)),
            })
    };
    prop_oneof![
        Just(Target::Accept),
        Just(Target::Drop),
        Just(Target::Return),
        chain().prop_map(Target::Jump),
        chain().prop_map(Target::Goto),
        reject.prop_map(Target::Reject),
        log_options().prop_map(Target::Log),
        (
            option::of(1u16..=65535),
            option::of(proptest::string::string_regex("[ -~]{1,63}").unwrap()),
            option::of(any::<u32>()),
            option::of(1u16..=65535)
        )
            .prop_map(
                |(group, prefix, size, threshold)| Target::Nflog(NflogOptions {
                    group,
                    prefix,
                    range: None,
                    size,
                    threshold
                })
            ),
        (any::<u32>(), any::<u32>())
            .prop_map(|(value, mask)| Target::Mark(MarkAction::SetXmark { value, mask })),
        prop_oneof![
            (any::<u32>(), any::<u32>())
                .prop_map(|(value, mask)| ConnmarkAction::SetXmark { value, mask }),
            (any::<u32>(), any::<u32>())
                .prop_map(|(nfmask, ctmask)| ConnmarkAction::Save { nfmask, ctmask }),
            (any::<u32>(), any::<u32>())
                .prop_map(|(nfmask, ctmask)| ConnmarkAction::Restore { nfmask, ctmask }),
        ]
        .prop_map(Target::Connmark),
        (range(true), any::<bool>(), any::<bool>()).prop_map(|(range, random, persistent)| {
            Target::Dnat {
                range,
                flags: NatFlags {
                    random,
                    random_fully: false,
                    persistent,
                    proto_offset: false,
                },
            }
        }),
        (range(false), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(range, random, random_fully, persistent)| {
                Target::Snat {
                    range,
                    flags: NatFlags {
                        random,
                        random_fully,
                        persistent,
                        proto_offset: false,
                    },
                }
            }
        ),
        (nat_ports(), any::<bool>(), any::<bool>()).prop_map(|(ports, random, random_fully)| {
            Target::Masquerade {
                ports,
                flags: NatFlags {
                    random,
                    random_fully,
                    persistent: false,
                    proto_offset: false,
                },
            }
        }),
        (nat_ports(), any::<bool>()).prop_map(|(ports, random)| Target::Redirect {
            ports,
            flags: NatFlags {
                random,
                random_fully: false,
                persistent: false,
                proto_offset: false,
            }
        }),
        any::<bool>().prop_map(|ct_syntax| Target::Notrack { ct_syntax }),
        Just(Target::Trace),
        (option::of(name(15)), option::of(1u16..=65535))
            .prop_map(|(helper, zone)| Target::Ct(CtTarget { helper, zone })),
        Just(Target::ChecksumFill),
        prop_oneof![
            (0u16..=65535).prop_map(TcpMssAction::SetMss),
            Just(TcpMssAction::ClampToPmtu)
        ]
        .prop_map(Target::TcpMss),
    ]
}

fn rule() -> impl Strategy<Value = Rule> {
    let proto = option::of(neg(prop_oneof![
        Just(Protocol::Tcp),
        Just(Protocol::Udp),
        Just(Protocol::Icmp),
        (2u8..=255)
            .prop_filter("canonical numbers", |n| ![6, 17].contains(n))
            .prop_map(Protocol::Number),
    ]));
    (
        (
            option::of(neg(net())),
            option::of(neg(net())),
            option::of(neg(iface())),
            option::of(neg(iface())),
        ),
        proto,
        option::of(neg(Just(()))),
        option::of((any::<u32>(), any::<u32>()).prop_map(|(p, b)| Counters {
            packets: p as u64,
            bytes: b as u64,
        })),
    )
        .prop_flat_map(
            |((src, dst, in_iface, out_iface), proto, fragment, counters)| {
                let proto_matches = proto_matches(proto.clone());
                (
                    Just((
                        src,
                        dst,
                        in_iface,
                        out_iface,
                        proto.clone(),
                        fragment,
                        counters,
                    )),
                    proto_matches,
                    vec(generic_match(), 0..4),
                    option::of(target(proto)),
                )
            },
        )
        .prop_map(
            |((src, dst, in_iface, out_iface, proto, fragment, _counters), mut pm, gm, target)| {
                pm.extend(gm);
                Rule {
                    counters: None,
                    src,
                    dst,
                    in_iface,
                    out_iface,
                    proto,
                    fragment,
                    matches: pm,
                    target,
                    pos: Pos { line: 1, col: 1 },
                }
            },
        )
}

/// The protocol's own match (at most one, as iptables-nft merges them), and multiport.
fn proto_matches(proto: Option<Neg<Protocol>>) -> BoxedStrategy<Vec<Match>> {
    match proto {
        Some(Neg {
            negated: false,
            value: Protocol::Tcp,
        }) => (
            option::of(
                (
                    option::of(neg(ports())),
                    option::of(neg(ports())),
                    option::of(neg(tcp_flags())),
                    option::of(neg(1u8..=255)),
                )
                    .prop_map(|(sport, dport, flags, option)| {
                        Match::Tcp(TcpMatch {
                            sport,
                            dport,
                            flags,
                            option,
                        })
                    }),
            ),
            option::of(multiport()),
        )
            .prop_map(|(a, b)| a.into_iter().chain(b).collect())
            .boxed(),
        Some(Neg {
            negated: false,
            value: Protocol::Udp,
        }) => (
            option::of(
                (option::of(neg(ports())), option::of(neg(ports())))
                    .prop_map(|(sport, dport)| Match::Udp(UdpMatch { sport, dport })),
            ),
            option::of(multiport()),
        )
            .prop_map(|(a, b)| a.into_iter().chain(b).collect())
            .boxed(),
        Some(Neg {
            negated: false,
            value: Protocol::Icmp,
        }) => option::of(
            neg(prop_oneof![
                Just(IcmpType::Any),
                (0u8..255, option::of(any::<u8>()))
                    .prop_map(|(ty, code)| IcmpType::Type { ty, code }),
            ])
            .prop_map(Match::Icmp),
        )
        .prop_map(|m| m.into_iter().collect())
        .boxed(),
        _ => Just(Vec::new()).boxed(),
    }
}

fn multiport() -> impl Strategy<Value = Match> {
    (
        any::<bool>(),
        0u8..3,
        vec((any::<u16>(), any::<u16>()), 1..8),
    )
        .prop_map(|(negated, k, raw)| {
            let mut slots = 0;
            let mut ports = Vec::new();
            for (a, b) in raw {
                let r = if a == b {
                    PortRange::single(a)
                } else {
                    PortRange {
                        lo: a.min(b),
                        hi: a.max(b),
                    }
                };
                let need = if r.lo == r.hi { 1 } else { 2 };
                if slots + need > 15 {
                    break;
                }
                slots += need;
                ports.push(r);
            }
            Match::Multiport(MultiportMatch {
                kind: [
                    MultiportKind::Source,
                    MultiportKind::Destination,
                    MultiportKind::Either,
                ][k as usize],
                negated,
                ports,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn print_then_parse_is_identity(r in rule(), chain in chain()) {
        let text = print_rule(&chain, &r);
        let (c2, r2) = parse_rule(&text, "prop", 1).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&c2, &chain);
        prop_assert_eq!(&r2, &r, "printed as: {}", text);
        // And printing is stable.
        prop_assert_eq!(print_rule(&c2, &r2), text);
    }
}
