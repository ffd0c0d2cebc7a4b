//! The compiled walk (headers, per-chain indexes, fixed jump stack) against the plain
//! linear walk that matches every rule straight from the parsed rule: random rulesets
//! (iptables-save text through the real parser) and random packet sequences must give
//! the same verdicts, trace events, packet changes, conntrack-mark changes, "uncertain"
//! flags and match state (statistic draws and counters), under every index policy.

use super::index::{IndexPolicy, KeyKind};
use super::matcher::{header_matches, Header, MatchCtx, MatchState};
use super::walk::{CtChanges, Walk};
use super::CRuleset;
use crate::fib::Fib;
use crate::packet::{CtInfo, Packet, L4};
use crate::topology::{NsId, Topology};
use pktpath_rules::{parse_save, TableName};
use pktpath_world::{MemSource, World};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::net::Ipv4Addr;
use std::path::PathBuf;

const CHAINS: usize = 4;

fn world() -> World {
    let addrs = r#"[ { "ifindex": 1, "ifname": "lo", "flags": [ "LOOPBACK","UP" ], "link_type": "loopback",
          "address": "00:00:00:00:00:00", "addr_info": [ { "family": "inet", "local": "127.0.0.1", "prefixlen": 8 } ] },
        { "ifindex": 2, "ifname": "eth0", "flags": [ "UP" ], "link_type": "ether", "address": "02:00:00:00:00:01",
          "addr_info": [ { "family": "inet", "local": "10.0.0.1", "prefixlen": 24 } ] },
        { "ifindex": 3, "ifname": "eth1", "flags": [ "UP" ], "link_type": "ether", "address": "02:00:00:00:00:02",
          "addr_info": [ { "family": "inet", "local": "10.0.1.1", "prefixlen": 24 } ] } ]"#;
    let src = MemSource::new("equivalence")
        .with(
            "world.toml",
            "[[namespace]]\nname = \"n\"\nrole = \"host\"\ndir = \"ns/n\"\n",
        )
        .with("ns/n/ip-addr.json", addrs);
    pktpath_world::load_world_from(&src, PathBuf::from("equivalence")).expect("test world")
}

/// Addresses drawn from a small pool so that keys collide and rules match.
fn addr() -> impl Strategy<Value = Ipv4Addr> {
    (0u8..2, 1u8..5).prop_map(|(c, d)| Ipv4Addr::new(10, 0, c, d))
}

fn port() -> impl Strategy<Value = u16> {
    prop::sample::select(vec![53u16, 80, 443, 8080])
}

fn net_opt(flag: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(String::new()),
        4 => addr().prop_map(move |a| format!(" {flag} {a}/32")),
        1 => addr().prop_map(move |a| format!(" ! {flag} {a}/32")),
        1 => (0u8..2).prop_map(move |c| format!(" {flag} 10.0.{c}.0/24")),
        // A non-contiguous mask (iptables takes any): matches 10.0.c.{1,3} and more.
        1 => (0u8..2).prop_map(move |c| format!(" {flag} 10.0.{c}.1/255.255.254.253")),
        1 => Just(format!(" {flag} 0.0.0.0/0")),
    ]
}

/// One `-m` block for a rule whose protocol is `proto` ("" when none). Weighted toward
/// what the index cares about: exact `--dport`s and stateful matches around them.
fn module(proto: &'static str) -> BoxedStrategy<String> {
    let mut v: Vec<(u32, BoxedStrategy<String>)> = vec![
        (
            3,
            Just(" -m statistic --mode random --probability 0.50000000000".to_string()).boxed(),
        ),
        (
            1,
            (2u32..4)
                .prop_map(|n| format!(" -m statistic --mode nth --every {n} --packet 0"))
                .boxed(),
        ),
        (1, Just(" -m mark --mark 0x1/0x1".to_string()).boxed()),
        (1, Just(" -m mark ! --mark 0x1/0x1".to_string()).boxed()),
        (1, Just(" -m comment --comment \"x\"".to_string()).boxed()),
        (1, Just(" -m conntrack --ctstate NEW".to_string()).boxed()),
        (
            1,
            Just(" -m limit --limit 2/sec --limit-burst 1".to_string()).boxed(),
        ),
    ];
    if proto == "tcp" || proto == "udp" {
        v.push((
            5,
            port()
                .prop_map(move |p| format!(" -m {proto} --dport {p}"))
                .boxed(),
        ));
        v.push((
            1,
            port()
                .prop_map(move |p| format!(" -m {proto} ! --dport {p}"))
                .boxed(),
        ));
        v.push((
            1,
            port()
                .prop_map(move |p| format!(" -m {proto} --sport {p}"))
                .boxed(),
        ));
        v.push((1, Just(format!(" -m {proto} --dport 53:80")).boxed()));
    }
    prop::strategy::Union::new_weighted(v).boxed()
}

/// `-A CHAIN ...` body (after the chain name) for chain number `me`.
fn rule(me: usize) -> impl Strategy<Value = String> {
    let proto = prop::sample::select(vec!["", "tcp", "tcp", "udp", "udp", "icmp", "all"]);
    let not_proto = any::<bool>();
    (proto, not_proto).prop_flat_map(move |(proto, not_proto)| {
        let p = match proto {
            "" => String::new(),
            "tcp" | "udp" => format!(" -p {proto}"),
            "icmp" if not_proto => " ! -p icmp".to_string(),
            other => format!(" -p {other}"),
        };
        let iface = prop_oneof![
            4 => Just(String::new()),
            1 => Just(" -i eth0".to_string()),
            1 => Just(" ! -i eth1".to_string()),
            1 => Just(" -i eth+".to_string()),
        ];
        let mut targets: Vec<BoxedStrategy<String>> = vec![
            Just(String::new()).boxed(),
            Just(" -j ACCEPT".to_string()).boxed(),
            Just(" -j DROP".to_string()).boxed(),
            Just(" -j RETURN".to_string()).boxed(),
            Just(" -j REJECT --reject-with icmp-port-unreachable".to_string()).boxed(),
            Just(" -j MARK --set-xmark 0x1/0x1".to_string()).boxed(),
            Just(" -j CONNMARK --set-xmark 0x2/0x2".to_string()).boxed(),
        ];
        if me + 1 < CHAINS {
            targets.push(((me + 1)..CHAINS).prop_map(|c| format!(" -j U{c}")).boxed());
            targets.push(((me + 1)..CHAINS).prop_map(|c| format!(" -j U{c}")).boxed());
            targets.push(((me + 1)..CHAINS).prop_map(|c| format!(" -g U{c}")).boxed());
        }
        (
            net_opt("-s"),
            net_opt("-d"),
            iface,
            prop::collection::vec(module(proto), 0..3),
            prop::strategy::Union::new(targets),
        )
            .prop_map(move |(s, d, i, m, t)| format!("{s}{d}{i}{p}{}{t}", m.concat()))
    })
}

/// A filter table: INPUT (policy ACCEPT or DROP) and user chains U1.. (acyclic jumps).
fn ruleset_text() -> impl Strategy<Value = String> {
    let chains: Vec<_> = (0..CHAINS)
        .map(|c| prop::collection::vec(rule(c), 0..24))
        .collect();
    (chains, any::<bool>()).prop_map(|(chains, drop)| {
        let mut s = format!(
            "*filter\n:INPUT {} [0:0]\n",
            if drop { "DROP" } else { "ACCEPT" }
        );
        for c in 1..CHAINS {
            s += &format!(":U{c} - [0:0]\n");
        }
        for (c, rules) in chains.iter().enumerate() {
            let name = if c == 0 {
                "INPUT".to_string()
            } else {
                format!("U{c}")
            };
            for r in rules {
                s += &format!("-A {name}{r}\n");
            }
        }
        s + "COMMIT\n"
    })
}

fn packet() -> impl Strategy<Value = (Packet, bool, bool)> {
    let l4 = prop_oneof![
        (port(), port()).prop_map(|(sport, dport)| L4::Tcp {
            sport,
            dport,
            flags: 2
        }),
        (port(), port()).prop_map(|(sport, dport)| L4::Udp { sport, dport }),
        Just(L4::IcmpEcho {
            ty: 8,
            id: 1,
            seq: 1
        }),
    ];
    (addr(), addr(), l4, 0u32..2, any::<bool>(), any::<bool>()).prop_map(
        |(src, dst, l4, mark, on_eth1, new)| {
            let pkt = Packet {
                ip_id: 1,
                mark,
                ..Packet::new(src, dst, l4, 60)
            };
            (pkt, on_eth1, new)
        },
    )
}

/// Everything a walk produces or changes, for comparison.
type Outcome = (String, Vec<String>, Packet, Option<u32>, bool);

fn walk(
    rs: &CRuleset,
    topo: &Topology,
    fib: &Fib,
    st: &mut MatchState,
    input: &(Packet, bool, bool),
    now_ms: u64,
    linear: bool,
) -> Outcome {
    let (mut pkt, on_eth1, new) = input.clone();
    let iif = topo.iface_by_name(NsId(0), if on_eth1 { "eth1" } else { "eth0" });
    let ti = rs
        .tables
        .iter()
        .position(|t| t.name == TableName::Filter)
        .expect("filter table");
    let base = rs.tables[ti].chain("INPUT").expect("INPUT");
    let mut ctx = MatchCtx {
        topo,
        fib,
        iif,
        oif: None,
        ct: None,
        ctinfo: Some(if new {
            CtInfo::New
        } else {
            CtInfo::Established
        }),
        now_ms,
        uncertain: false,
    };
    let mut events = Vec::new();
    let mut ctc = CtChanges::default();
    let mut w = Walk {
        ns: NsId(0),
        rs,
        table: ti,
        events: Some(&mut events),
    };
    let res = if linear {
        w.run_linear(base, &mut pkt, &mut ctx, st, &mut ctc)
    } else {
        w.run(base, &mut pkt, &mut ctx, st, &mut ctc)
    };
    (
        format!("{res:?}"),
        events.iter().map(|e| format!("{e:?}")).collect(),
        pkt,
        ctc.mark,
        ctx.uncertain,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn compiled_walk_equals_linear_walk(
        text in ruleset_text(),
        packets in prop::collection::vec(packet(), 1..10),
        seed in any::<u64>(),
    ) {
        let parsed = parse_save(&text, "<proptest>").map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let w = world();
        let topo = Topology::build(&w).expect("topology");
        let fib = Fib::build(NsId(0), &w.namespaces[0], &topo);
        let reference = CRuleset::compile(&parsed, None).expect("compile");
        for policy in [
            IndexPolicy::Auto,
            IndexPolicy::Never,
            IndexPolicy::Always(KeyKind::Dst),
            IndexPolicy::Always(KeyKind::DstPort),
        ] {
            let mut compiled = reference.clone();
            compiled.reindex(policy);
            let mut st_lin = MatchState::new(ChaCha8Rng::seed_from_u64(seed));
            let mut st_fast = MatchState::new(ChaCha8Rng::seed_from_u64(seed));
            for (i, p) in packets.iter().enumerate() {
                let now = 100 * i as u64;
                let want = walk(&reference, &topo, &fib, &mut st_lin, p, now, true);
                let got = walk(&compiled, &topo, &fib, &mut st_fast, p, now, false);
                prop_assert_eq!(&got, &want, "policy {:?}, packet {}\n{}", policy, i, text);
            }
            // Same random draws consumed.
            prop_assert_eq!(st_lin.rng.gen::<u64>(), st_fast.rng.gen::<u64>());
        }
    }

    #[test]
    fn compiled_header_equals_rule_header(text in ruleset_text(), packets in prop::collection::vec(packet(), 1..10)) {
        let parsed = parse_save(&text, "<proptest>").map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        for r in parsed.tables.iter().flat_map(|t| t.chains.iter()).flat_map(|c| c.rules.iter()) {
            let h = Header::compile(r);
            for (p, _, _) in &packets {
                prop_assert_eq!(h.matches(p), header_matches(r, p));
            }
        }
    }
}

/// A kube-proxy-like dispatch chain gets a destination index, a nodeport-like chain a
/// port index, and a short chain none.
#[test]
fn long_chains_are_indexed_on_the_key_that_splits_them() {
    let mut s =
        String::from("*nat\n:PREROUTING ACCEPT [0:0]\n:SVC - [0:0]\n:NP - [0:0]\n:X - [0:0]\n");
    for i in 0..100 {
        s += &format!("-A SVC -d 10.96.0.{i}/32 -p udp -m udp --dport 53 -j X\n");
        s += &format!("-A NP -p tcp -m tcp --dport {} -j X\n", 30000 + i);
    }
    s += "-A SVC -m addrtype --dst-type LOCAL -j NP\n-A X -j ACCEPT\nCOMMIT\n";
    let rs = CRuleset::compile(&parse_save(&s, "<test>").expect("parse"), None).expect("compile");
    let t = rs.table(TableName::Nat).expect("nat");
    let kind = |c: &str| {
        t.chains[t.chain(c).expect("chain") as usize]
            .filter
            .index_kind()
    };
    assert_eq!(kind("SVC"), Some(KeyKind::Dst));
    assert_eq!(kind("NP"), Some(KeyKind::DstPort));
    assert_eq!(kind("X"), None);
}

/// A `-m statistic` before `--dport` draws a random number even for packets to other
/// ports, so that rule must stay a candidate for every packet.
#[test]
fn a_random_draw_before_the_port_match_is_kept() {
    let mut s = String::from("*filter\n:INPUT ACCEPT [0:0]\n");
    s += "-A INPUT -p udp -m statistic --mode random --probability 0.50000000000 -m udp --dport 53 -j DROP\n";
    s += "-A INPUT -p udp -m udp --dport 80 -j DROP\n";
    s += "-A INPUT -p udp -m statistic --mode random --probability 0.50000000000 -j DROP\n";
    s += "COMMIT\n";
    let reference =
        CRuleset::compile(&parse_save(&s, "<test>").expect("parse"), None).expect("compile");
    let mut compiled = reference.clone();
    compiled.reindex(IndexPolicy::Always(KeyKind::DstPort));
    let w = world();
    let topo = Topology::build(&w).expect("topology");
    let fib = Fib::build(NsId(0), &w.namespaces[0], &topo);
    let mut pkt = (
        packet_to(
            Ipv4Addr::new(10, 0, 0, 1),
            L4::Udp {
                sport: 1000,
                dport: 443,
            },
        ),
        false,
        true,
    );
    let (mut st_lin, mut st_fast) = (
        MatchState::new(ChaCha8Rng::seed_from_u64(7)),
        MatchState::new(ChaCha8Rng::seed_from_u64(7)),
    );
    for i in 0..32 {
        pkt.0.ip_id = i;
        let want = walk(&reference, &topo, &fib, &mut st_lin, &pkt, 0, true);
        let got = walk(&compiled, &topo, &fib, &mut st_fast, &pkt, 0, false);
        assert_eq!(got, want, "packet {i}");
    }
}

/// Non-contiguous `-s`/`-d` masks, and `! -p tcp --dport N`: iptables-nft compares the
/// raw transport header, so a UDP datagram's port counts; an ICMP message "may match".
#[test]
fn odd_masks_and_ports_under_a_negated_protocol() {
    let mut s = String::from("*filter\n:INPUT ACCEPT [0:0]\n");
    s += "-A INPUT -d 10.0.0.0/255.255.255.1 -j DROP\n";
    s += "-A INPUT ! -p tcp -m tcp --dport 80 -j DROP\n";
    s += "-A INPUT ! -p udp -m udp --sport 7 -j REJECT\n";
    s += "COMMIT\n";
    let rs = CRuleset::compile(&parse_save(&s, "<test>").expect("parse"), None).expect("compile");
    let w = world();
    let topo = Topology::build(&w).expect("topology");
    let fib = Fib::build(NsId(0), &w.namespaces[0], &topo);
    let mut st = MatchState::new(ChaCha8Rng::seed_from_u64(7));
    let mut run = |dst: [u8; 4], l4: L4| {
        let pkt = (packet_to(Ipv4Addr::from(dst), l4), false, true);
        let lin = walk(&rs, &topo, &fib, &mut st, &pkt, 0, true);
        let fast = walk(&rs, &topo, &fib, &mut st, &pkt, 0, false);
        assert_eq!(lin, fast);
        (lin.0, lin.4)
    };
    let udp = |sport, dport| L4::Udp { sport, dport };
    let tcp = |sport, dport| L4::Tcp {
        sport,
        dport,
        flags: 0x10,
    };
    // 10.0.0.2 & 255.255.255.1 == 10.0.0.0: dropped whatever the port.
    assert!(run([10, 0, 0, 2], udp(1000, 443)).0.contains("Drop"));
    // 10.0.0.3 & mask == 10.0.0.1: not the first rule; UDP dport 80 meets the second.
    assert!(run([10, 0, 0, 3], udp(1000, 80)).0.contains("Drop"));
    // TCP source port 7 meets `! -p udp --sport 7`; TCP dport 80 is excluded by `! -p tcp`.
    assert!(run([10, 0, 0, 3], tcp(7, 80)).0.contains("Reject"));
    let (verdict, uncertain) = run([10, 0, 0, 3], udp(1000, 443));
    assert!(!uncertain, "{verdict}");
    // ICMP: a checksum where the destination port would be.
    let (_, uncertain) = run(
        [10, 0, 0, 3],
        L4::IcmpEcho {
            ty: 8,
            id: 1,
            seq: 1,
        },
    );
    assert!(uncertain);
}

fn packet_to(dst: Ipv4Addr, l4: L4) -> Packet {
    Packet {
        ip_id: 1,
        ..Packet::new(Ipv4Addr::new(10, 0, 1, 1), dst, l4, 60)
    }
}
