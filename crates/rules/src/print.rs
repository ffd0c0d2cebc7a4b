//! Printing rules and rulesets exactly as iptables-save 1.8.9 (nf_tables) does:
//! nft_ipv4_save_rule / save_rule_details for the generic part, then each match's and
//! target's `*_save` function from iptables' extensions, in the same order and spelling.

use crate::model::*;
use crate::netdb;
use crate::parse_match::{ADDR_TYPE_NAMES, CT_STATE_ORDER, CT_STATUS_ORDER};
use crate::parse_target::REJECT_NAMES;
use crate::quote::{save_string, verbatim_arg};
use std::fmt::{self, Write};

/// One rule as iptables-save prints it, without counters and without a newline:
/// `-A CHAIN -s 10.0.0.0/8 -p tcp -m tcp --dport 80 -j ACCEPT`.
pub fn print_rule(chain: &str, rule: &Rule) -> String {
    let mut out = String::with_capacity(96);
    write_rule(&mut out, chain, rule);
    out
}

/// A whole ruleset in iptables-save layout (without the `# Generated`/`# Completed`
/// comments). Rules with counters get the `[packets:bytes]` prefix of `iptables-save -c`.
/// Tables come in iptables-save's order (mangle, security, raw, filter, nat), chains
/// with the built-in ones first and user chains sorted by name, as iptables-save does.
pub fn print_ruleset(rs: &Ruleset) -> String {
    let mut out = String::with_capacity(rs.tables.len() * 256);
    let mut tables: Vec<&Table> = rs.tables.iter().collect();
    tables.sort_by_key(|t| crate::parse_save::save_order(t.name));
    for t in tables {
        write_table(&mut out, t);
    }
    out
}

/// The chains of `t` in iptables-save order.
fn save_chain_order(t: &Table) -> Vec<&Chain> {
    let builtins = t.name.builtin_chains();
    let mut v: Vec<&Chain> = Vec::with_capacity(t.chains.len());
    for b in builtins {
        v.extend(t.chains.iter().filter(|c| c.name == *b));
    }
    let mut users: Vec<&Chain> = t
        .chains
        .iter()
        .filter(|c| !builtins.contains(&c.name.as_str()))
        .collect();
    users.sort_unstable_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    v.extend(users);
    v
}

pub(crate) fn write_table(out: &mut String, t: &Table) {
    let _ = writeln!(out, "*{}", t.name.as_str());
    let chains = save_chain_order(t);
    for c in &chains {
        let policy = match c.policy {
            Some(Policy::Accept) => "ACCEPT",
            Some(Policy::Drop) => "DROP",
            None => "-",
        };
        let _ = writeln!(
            out,
            ":{} {} [{}:{}]",
            c.name, policy, c.counters.packets, c.counters.bytes
        );
    }
    for c in &chains {
        for r in &c.rules {
            if let Some(ctr) = r.counters {
                let _ = write!(out, "[{}:{}] ", ctr.packets, ctr.bytes);
            }
            write_rule(out, &c.name, r);
            out.push('\n');
        }
    }
    out.push_str("COMMIT\n");
}

pub(crate) fn write_rule(out: &mut String, chain: &str, r: &Rule) {
    write_rule_counted(out, chain, r, None);
}

/// `iptables -S -v`: the rule with `-c PACKETS BYTES` between its matches and its target
/// (`-A INPUT -p tcp -m tcp --dport 22 -c 3 180 -j ACCEPT`).
pub fn print_rule_counted(chain: &str, rule: &Rule, c: Counters) -> String {
    let mut out = String::with_capacity(112);
    write_rule_counted(&mut out, chain, rule, Some(c));
    out
}

fn write_rule_counted(out: &mut String, chain: &str, r: &Rule, counters: Option<Counters>) {
    out.push_str("-A ");
    out.push_str(chain);
    // save_ipv4_addr: always with the mask (`/32` included).
    if let Some(n) = &r.src {
        let _ = write!(out, "{} -s {}", bang(n.negated), n.value);
    }
    if let Some(n) = &r.dst {
        let _ = write!(out, "{} -d {}", bang(n.negated), n.value);
    }
    // save_rule_details: interfaces, protocol, fragment.
    if let Some(n) = &r.in_iface {
        write_iface(out, 'i', n);
    }
    if let Some(n) = &r.out_iface {
        write_iface(out, 'o', n);
    }
    if let Some(p) = &r.proto {
        if p.value != Protocol::All {
            let _ = write!(out, "{} -p ", bang(p.negated));
            write_proto(out, p.value);
        }
    }
    if let Some(f) = &r.fragment {
        let _ = write!(out, "{} -f", bang(f.negated));
    }
    for m in &r.matches {
        write_match(out, m);
    }
    if let Some(c) = counters {
        let _ = write!(out, " -c {} {}", c.packets, c.bytes);
    }
    if let Some(t) = &r.target {
        write_target(out, t);
    }
}

fn bang(negated: bool) -> &'static str {
    if negated {
        " !"
    } else {
        ""
    }
}

fn write_iface(out: &mut String, letter: char, n: &Neg<IfaceName>) {
    let _ = write!(
        out,
        "{} -{} {}{}",
        bang(n.negated),
        letter,
        n.value.name,
        if n.value.wildcard { "+" } else { "" }
    );
}

fn write_proto(out: &mut String, p: Protocol) {
    match netdb::protocol_name(p.number()) {
        Some(name) => out.push_str(name),
        None => {
            let _ = write!(out, "{}", p.number());
        }
    }
}

fn write_ports(out: &mut String, opt: &str, r: &Option<Neg<PortRange>>) {
    if let Some(n) = r {
        // tcp_save/udp_save skip the full range 0:65535.
        if n.value.lo == 0 && n.value.hi == 65535 {
            return;
        }
        let _ = write!(out, "{} {} ", bang(n.negated), opt);
        write_range(out, n.value, ':');
    }
}

/// A tcp/udp match whose only port options are negated full ranges (`! --dport
/// 0:65535`) vanishes from iptables-nft's output altogether (the rule never matches, but
/// that is how iptables-save prints it).
fn prints_nothing(ports: &[&Option<Neg<PortRange>>]) -> bool {
    let full = |r: &&Option<Neg<PortRange>>| matches!(r, Some(n) if n.value.lo == 0 && n.value.hi == 65535);
    ports.iter().any(full) && ports.iter().all(|r| r.is_none() || full(r))
}

fn write_range(out: &mut String, r: PortRange, sep: char) {
    if r.lo == r.hi {
        let _ = write!(out, "{}", r.lo);
    } else {
        let _ = write!(out, "{}{}{}", r.lo, sep, r.hi);
    }
}

fn write_tcp_flags(out: &mut String, mut flags: u8) {
    const NAMES: [(&str, u8); 6] = [
        ("FIN", 0x01),
        ("SYN", 0x02),
        ("RST", 0x04),
        ("PSH", 0x08),
        ("ACK", 0x10),
        ("URG", 0x20),
    ];
    if flags & 0x3F == 0 {
        out.push_str("NONE");
        return;
    }
    let mut first = true;
    for (name, bit) in NAMES {
        if flags & bit != 0 {
            if !first {
                out.push(',');
            }
            out.push_str(name);
            first = false;
            flags &= !bit;
        }
    }
}

fn write_match(out: &mut String, m: &Match) {
    match m {
        Match::Tcp(t) => {
            if prints_nothing(&[&t.sport, &t.dport]) && t.option.is_none() && t.flags.is_none() {
                return;
            }
            out.push_str(" -m tcp");
            write_ports(out, "--sport", &t.sport);
            write_ports(out, "--dport", &t.dport);
            if let Some(o) = &t.option {
                let _ = write!(out, "{} --tcp-option {}", bang(o.negated), o.value);
            }
            if let Some(f) = &t.flags {
                if f.value.mask != 0 || f.negated {
                    let _ = write!(out, "{} --tcp-flags ", bang(f.negated));
                    write_tcp_flags(out, f.value.mask);
                    out.push(' ');
                    write_tcp_flags(out, f.value.comp);
                }
            }
        }
        Match::Udp(u) => {
            if prints_nothing(&[&u.sport, &u.dport]) {
                return;
            }
            out.push_str(" -m udp");
            write_ports(out, "--sport", &u.sport);
            write_ports(out, "--dport", &u.dport);
        }
        Match::Icmp(i) => {
            out.push_str(" -m icmp");
            let _ = write!(out, "{} --icmp-type ", bang(i.negated));
            match i.value {
                IcmpType::Any => out.push_str("any"),
                IcmpType::Type { ty: 0xFF, .. } => out.push_str("any"),
                IcmpType::Type { ty, code: None } => {
                    let _ = write!(out, "{ty}");
                }
                IcmpType::Type {
                    ty,
                    code: Some(code),
                } => {
                    let _ = write!(out, "{ty}/{code}");
                }
            }
        }
        Match::Multiport(mp) => {
            out.push_str(" -m multiport");
            let _ = write!(
                out,
                "{} {} ",
                bang(mp.negated),
                match mp.kind {
                    MultiportKind::Source => "--sports",
                    MultiportKind::Destination => "--dports",
                    MultiportKind::Either => "--ports",
                }
            );
            for (i, p) in mp.ports.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_range(out, *p, ':');
            }
        }
        Match::AddrType(a) => {
            out.push_str(" -m addrtype");
            if let Some(s) = &a.src_type {
                let _ = write!(out, "{} --src-type ", bang(s.negated));
                write_addr_types(out, &s.value);
            }
            if let Some(d) = &a.dst_type {
                let _ = write!(out, "{} --dst-type ", bang(d.negated));
                write_addr_types(out, &d.value);
            }
            if a.limit_iface_in {
                out.push_str(" --limit-iface-in");
            }
            if a.limit_iface_out {
                out.push_str(" --limit-iface-out");
            }
        }
        Match::Conntrack(c) => {
            out.push_str(" -m conntrack");
            write_conntrack(out, c);
        }
        Match::State(s) => {
            let _ = write!(out, " -m state{} --state ", bang(s.negated));
            write_states(out, &s.value);
        }
        Match::Mark(mk) => {
            out.push_str(" -m mark");
            write_mark_match(out, mk);
        }
        Match::Connmark(mk) => {
            out.push_str(" -m connmark");
            write_mark_match(out, mk);
        }
        Match::Comment(c) => {
            out.push_str(" -m comment --comment");
            save_string(out, c);
        }
        Match::Statistic(s) => {
            out.push_str(" -m statistic");
            match s.mode {
                StatisticMode::Random { probability } => {
                    // printf("%.11f", probability / 0x80000000)
                    let p = probability.kernel_value as f64 / 2147483648.0;
                    let _ = write!(
                        out,
                        " --mode random{} --probability {p:.11}",
                        bang(s.negated)
                    );
                }
                StatisticMode::Nth { every, packet } => {
                    let _ = write!(
                        out,
                        " --mode nth{} --every {every} --packet {packet}",
                        bang(s.negated)
                    );
                }
            }
        }
        Match::Recent(r) => {
            out.push_str(" -m recent");
            out.push_str(bang(r.negated));
            out.push_str(match r.command {
                RecentCommand::Set => " --set",
                RecentCommand::Rcheck => " --rcheck",
                RecentCommand::Update => " --update",
                RecentCommand::Remove => " --remove",
            });
            if let Some(s) = r.seconds {
                let _ = write!(out, " --seconds {s}");
            }
            if r.reap {
                out.push_str(" --reap");
            }
            if let Some(h) = r.hitcount {
                let _ = write!(out, " --hitcount {h}");
            }
            if r.rttl {
                out.push_str(" --rttl");
            }
            let _ = write!(out, " --name {}", r.name);
            let mask = r.mask.unwrap_or(std::net::Ipv4Addr::BROADCAST);
            let _ = write!(out, " --mask {mask}");
            out.push_str(if r.rdest { " --rdest" } else { " --rsource" });
        }
        Match::Limit(l) => {
            let unit = match l.per {
                RateUnit::Second => "sec",
                RateUnit::Minute => "min",
                RateUnit::Hour => "hour",
                RateUnit::Day => "day",
            };
            let _ = write!(out, " -m limit --limit {}/{}", l.rate, unit);
            if l.burst != 5 {
                let _ = write!(out, " --limit-burst {}", l.burst);
            }
        }
        Match::IpRange(r) => {
            out.push_str(" -m iprange");
            if let Some(s) = &r.src {
                let _ = write!(
                    out,
                    "{} --src-range {}-{}",
                    bang(s.negated),
                    s.value.0,
                    s.value.1
                );
            }
            if let Some(d) = &r.dst {
                let _ = write!(
                    out,
                    "{} --dst-range {}-{}",
                    bang(d.negated),
                    d.value.0,
                    d.value.1
                );
            }
        }
        Match::Physdev(p) => {
            out.push_str(" -m physdev");
            if let Some(n) = &p.is_in {
                let _ = write!(out, "{} --physdev-is-in", bang(n.negated));
            }
            if let Some(n) = &p.in_dev {
                let _ = write!(
                    out,
                    "{} --physdev-in {}{}",
                    bang(n.negated),
                    n.value.name,
                    if n.value.wildcard { "+" } else { "" }
                );
            }
            if let Some(n) = &p.is_out {
                let _ = write!(out, "{} --physdev-is-out", bang(n.negated));
            }
            if let Some(n) = &p.out_dev {
                let _ = write!(
                    out,
                    "{} --physdev-out {}{}",
                    bang(n.negated),
                    n.value.name,
                    if n.value.wildcard { "+" } else { "" }
                );
            }
            if let Some(n) = &p.is_bridged {
                let _ = write!(out, "{} --physdev-is-bridged", bang(n.negated));
            }
        }
        Match::Mac(m) => {
            let b = m.value;
            let _ = write!(
                out,
                " -m mac{} --mac-source {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                bang(m.negated),
                b[0],
                b[1],
                b[2],
                b[3],
                b[4],
                b[5]
            );
        }
        Match::Owner(o) => {
            out.push_str(" -m owner");
            if let Some(s) = &o.socket_exists {
                let _ = write!(out, "{} --socket-exists", bang(s.negated));
            }
            for (label, v) in [("--uid-owner", &o.uid), ("--gid-owner", &o.gid)] {
                if let Some(n) = v {
                    let _ = write!(out, "{} {}", bang(n.negated), label);
                    if n.value.0 == n.value.1 {
                        let _ = write!(out, " {}", n.value.0);
                    } else {
                        let _ = write!(out, " {}-{}", n.value.0, n.value.1);
                    }
                }
            }
        }
        Match::PktType(p) => {
            let _ = write!(
                out,
                " -m pkttype{} --pkt-type {}",
                bang(p.negated),
                match p.value {
                    PktType::Unicast => "unicast",
                    PktType::Broadcast => "broadcast",
                    PktType::Multicast => "multicast",
                    PktType::OtherHost => "otherhost",
                }
            );
        }
        Match::HashLimit(h) => {
            // hashlimit_mt_save, revision 3
            let _ = write!(
                out,
                " -m hashlimit --hashlimit-{}",
                if h.above { "above" } else { "upto" }
            );
            let quantum = if h.bytes {
                crate::parse_match::hashlimit_write_bytes(out, h.avg, h.burst, "--hashlimit-")
            } else {
                let (n, unit, quantum) = crate::parse_match::hashlimit_rate_text(h.avg);
                let _ = write!(out, " {n}/{unit} --hashlimit-burst {}", h.burst);
                quantum
            };
            if h.src_ip || h.src_port || h.dst_ip || h.dst_port {
                out.push_str(" --hashlimit-mode ");
                let parts: Vec<&str> = [
                    (h.src_ip, "srcip"),
                    (h.src_port, "srcport"),
                    (h.dst_ip, "dstip"),
                    (h.dst_port, "dstport"),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, n)| *n)
                .collect();
                out.push_str(&parts.join(","));
            }
            let _ = write!(out, " --hashlimit-name {}", h.name);
            if h.htable_size != 0 {
                let _ = write!(out, " --hashlimit-htable-size {}", h.htable_size);
            }
            if h.htable_max != 0 {
                let _ = write!(out, " --hashlimit-htable-max {}", h.htable_max);
            }
            if h.gc_interval != 1000 {
                let _ = write!(out, " --hashlimit-htable-gcinterval {}", h.gc_interval);
            }
            if u64::from(h.expire) != quantum {
                let _ = write!(out, " --hashlimit-htable-expire {}", h.expire);
            }
            if h.srcmask != 32 {
                let _ = write!(out, " --hashlimit-srcmask {}", h.srcmask);
            }
            if h.dstmask != 32 {
                let _ = write!(out, " --hashlimit-dstmask {}", h.dstmask);
            }
        }
        Match::Connlimit(c) => {
            let _ = write!(
                out,
                " -m connlimit --connlimit-{} {} --connlimit-mask {} --connlimit-{}",
                if c.upto { "upto" } else { "above" },
                c.limit,
                c.mask,
                if c.daddr { "daddr" } else { "saddr" }
            );
        }
        Match::Rpfilter(r) => {
            out.push_str(" -m rpfilter");
            if r.loose {
                out.push_str(" --loose");
            }
            if r.validmark {
                out.push_str(" --validmark");
            }
            if r.accept_local {
                out.push_str(" --accept-local");
            }
            if r.invert {
                out.push_str(" --invert");
            }
        }
        Match::Sctp(m) => {
            // sctp_save: ranges printed as given (a full range too).
            out.push_str(" -m sctp");
            for (opt, r) in [("--sport", &m.sport), ("--dport", &m.dport)] {
                if let Some(n) = r {
                    let _ = write!(out, "{} {} ", bang(n.negated), opt);
                    write_range(out, n.value, ':');
                }
            }
            if let Some(c) = &m.chunks {
                let _ = write!(out, "{} --chunk-types", bang(c.negated));
                write_sctp_chunks(out, &c.value, false);
            }
        }
        Match::Unknown { name, args } => {
            let _ = write!(out, " -m {name}");
            for a in args {
                verbatim_arg(out, a);
            }
        }
    }
}

fn write_addr_types(out: &mut String, types: &[AddrType]) {
    let mut first = true;
    for (name, t) in ADDR_TYPE_NAMES {
        if types.contains(t) {
            if !first {
                out.push(',');
            }
            out.push_str(name);
            first = false;
        }
    }
}

fn write_states(out: &mut String, states: &[CtState]) {
    let mut first = true;
    for (name, s) in CT_STATE_ORDER {
        if states.contains(s) {
            if !first {
                out.push(',');
            }
            out.push_str(name);
            first = false;
        }
    }
}

fn write_mark_match(out: &mut String, m: &MarkMatch) {
    out.push_str(bang(m.negated));
    if m.mask == u32::MAX {
        let _ = write!(out, " --mark 0x{:x}", m.value);
    } else {
        let _ = write!(out, " --mark 0x{:x}/0x{:x}", m.value, m.mask);
    }
}

/// libxt_conntrack's conntrack_dump (revision 3, numeric).
fn write_conntrack(out: &mut String, c: &ConntrackMatch) {
    if let Some(s) = &c.state {
        let _ = write!(out, "{} --ctstate ", bang(s.negated));
        write_states(out, &s.value);
    }
    if let Some(p) = &c.proto {
        let _ = write!(out, "{} --ctproto {}", bang(p.negated), p.value.number());
    }
    for (opt, v) in [
        ("--ctorigsrc", &c.orig_src),
        ("--ctorigdst", &c.orig_dst),
        ("--ctreplsrc", &c.repl_src),
        ("--ctrepldst", &c.repl_dst),
    ] {
        if let Some(n) = v {
            // xtables_ipmask_to_numeric: no "/32".
            let _ = write!(out, "{} {} {}", bang(n.negated), opt, n.value.addr());
            if n.value.prefix_len() != 32 {
                let _ = write!(out, "/{}", n.value.prefix_len());
            }
        }
    }
    for (opt, v) in [
        ("--ctorigsrcport", &c.orig_src_port),
        ("--ctorigdstport", &c.orig_dst_port),
        ("--ctreplsrcport", &c.repl_src_port),
        ("--ctrepldstport", &c.repl_dst_port),
    ] {
        if let Some(n) = v {
            let _ = write!(out, "{} {} ", bang(n.negated), opt);
            write_range(out, n.value, ':');
        }
    }
    if let Some(s) = &c.status {
        let _ = write!(out, "{} --ctstatus ", bang(s.negated));
        if s.value.is_empty() {
            out.push_str("NONE");
        }
        let mut first = true;
        for (name, st) in CT_STATUS_ORDER {
            if s.value.contains(st) {
                if !first {
                    out.push(',');
                }
                out.push_str(name);
                first = false;
            }
        }
    }
    if let Some(e) = &c.expire {
        let _ = write!(out, "{} --ctexpire ", bang(e.negated));
        if e.value.0 == e.value.1 {
            let _ = write!(out, "{}", e.value.0);
        } else {
            let _ = write!(out, "{}:{}", e.value.0, e.value.1);
        }
    }
    if let Some(d) = c.dir {
        out.push_str(match d {
            CtDir::Original => " --ctdir ORIGINAL",
            CtDir::Reply => " --ctdir REPLY",
        });
    }
}

fn write_nat_flags(out: &mut String, f: &NatFlags) {
    if f.random {
        out.push_str(" --random");
    }
    if f.random_fully {
        out.push_str(" --random-fully");
    }
    if f.persistent {
        out.push_str(" --persistent");
    }
}

fn write_nat_range(out: &mut String, opt: &str, r: &NatRange) {
    let _ = write!(out, " {opt} ");
    if let Some((lo, hi)) = r.addr {
        let _ = write!(out, "{lo}");
        if lo != hi {
            let _ = write!(out, "-{hi}");
        }
    }
    if let Some(p) = r.ports {
        out.push(':');
        write_range(out, p, '-');
        if let Some(b) = r.base {
            let _ = write!(out, "/{b}");
        }
    }
}

fn write_target(out: &mut String, t: &Target) {
    match t {
        Target::Accept => out.push_str(" -j ACCEPT"),
        Target::Drop => out.push_str(" -j DROP"),
        Target::Return => out.push_str(" -j RETURN"),
        Target::Jump(c) => {
            let _ = write!(out, " -j {c}");
        }
        Target::Goto(c) => {
            let _ = write!(out, " -g {c}");
        }
        Target::Reject(w) => {
            let name = REJECT_NAMES
                .iter()
                .find(|(_, _, x)| x == w)
                .map_or("icmp-port-unreachable", |x| x.0);
            let _ = write!(out, " -j REJECT --reject-with {name}");
        }
        Target::Log(l) => {
            out.push_str(" -j LOG");
            if let Some(p) = &l.prefix {
                if !p.is_empty() {
                    out.push_str(" --log-prefix");
                    save_string(out, p);
                }
            }
            if let Some(lvl) = l.level {
                if lvl != 4 {
                    let _ = write!(out, " --log-level {lvl}");
                }
            }
            if l.tcp_sequence {
                out.push_str(" --log-tcp-sequence");
            }
            if l.tcp_options {
                out.push_str(" --log-tcp-options");
            }
            if l.ip_options {
                out.push_str(" --log-ip-options");
            }
            if l.uid {
                out.push_str(" --log-uid");
            }
            if l.macdecode {
                out.push_str(" --log-macdecode");
            }
        }
        Target::Nflog(n) => {
            out.push_str(" -j NFLOG");
            if let Some(p) = &n.prefix {
                if !p.is_empty() {
                    out.push_str(" --nflog-prefix");
                    save_string(out, p);
                }
            }
            if let Some(g) = n.group {
                if g != 0 {
                    let _ = write!(out, " --nflog-group {g}");
                }
            }
            // --nflog-range is not kept by iptables-nft, so it is never printed.
            if let Some(s) = n.size {
                let _ = write!(out, " --nflog-size {s}");
            }
            if let Some(th) = n.threshold {
                if th != 0 {
                    let _ = write!(out, " --nflog-threshold {th}");
                }
            }
        }
        Target::Mark(m) => {
            let (value, mask) = mark_action_xmark(*m);
            let _ = write!(out, " -j MARK --set-xmark 0x{value:x}/0x{mask:x}");
        }
        Target::Connmark(c) => {
            out.push_str(" -j CONNMARK");
            match *c {
                ConnmarkAction::SetXmark { value, mask } => {
                    let _ = write!(out, " --set-xmark 0x{value:x}/0x{mask:x}");
                }
                ConnmarkAction::Save { nfmask, ctmask } => {
                    let _ = write!(
                        out,
                        " --save-mark --nfmask 0x{nfmask:x} --ctmask 0x{ctmask:x}"
                    );
                }
                ConnmarkAction::Restore { nfmask, ctmask } => {
                    let _ = write!(
                        out,
                        " --restore-mark --nfmask 0x{nfmask:x} --ctmask 0x{ctmask:x}"
                    );
                }
            }
        }
        Target::Dnat { range, flags } => {
            out.push_str(" -j DNAT");
            write_nat_range(out, "--to-destination", range);
            write_nat_flags(out, flags);
        }
        Target::Snat { range, flags } => {
            out.push_str(" -j SNAT");
            write_nat_range(out, "--to-source", range);
            write_nat_flags(out, flags);
        }
        Target::Masquerade { ports, flags } => {
            out.push_str(" -j MASQUERADE");
            if let Some(p) = ports {
                out.push_str(" --to-ports ");
                write_range(out, *p, '-');
                if flags.proto_offset {
                    // The range keeps the flag, not the base.
                    out.push_str("/0");
                }
            }
            write_nat_flags(out, flags);
        }
        Target::Redirect { ports, flags } => {
            out.push_str(" -j REDIRECT");
            if let Some(p) = ports {
                out.push_str(" --to-ports ");
                write_range(out, *p, '-');
                if flags.proto_offset {
                    // The range keeps the flag, not the base.
                    out.push_str("/0");
                }
            }
            write_nat_flags(out, flags);
        }
        Target::Notrack { ct_syntax: false } => out.push_str(" -j NOTRACK"),
        Target::Notrack { ct_syntax: true } => out.push_str(" -j CT --notrack"),
        Target::Trace => out.push_str(" -j TRACE"),
        Target::Ct(ct) => {
            out.push_str(" -j CT");
            if let Some(h) = &ct.helper {
                let _ = write!(out, " --helper {h}");
            }
            if let Some(z) = ct.zone {
                let _ = write!(out, " --zone {z}");
            }
        }
        Target::ChecksumFill => out.push_str(" -j CHECKSUM --checksum-fill"),
        Target::TcpMss(TcpMssAction::SetMss(n)) => {
            let _ = write!(out, " -j TCPMSS --set-mss {n}");
        }
        Target::TcpMss(TcpMssAction::ClampToPmtu) => out.push_str(" -j TCPMSS --clamp-mss-to-pmtu"),
        Target::Unknown { name, args } => {
            let _ = write!(out, " -j {name}");
            for a in args {
                verbatim_arg(out, a);
            }
        }
    }
}

/// The `--set-xmark value/mask` form of a MARK action (libxt_MARK revision 2).
pub fn mark_action_xmark(m: MarkAction) -> (u32, u32) {
    match m {
        MarkAction::SetXmark { value, mask } => (value, mask),
        MarkAction::And(bits) => (0, !bits),
        MarkAction::Or(bits) => (bits, bits),
        MarkAction::Xor(bits) => (bits, 0),
    }
}

impl fmt::Display for Ruleset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&print_ruleset(self))
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        write_table(&mut s, self);
        f.write_str(&s)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        write_proto(&mut s, *self);
        f.write_str(&s)
    }
}

impl fmt::Display for Match {
    /// The match as iptables-save prints it, without the leading space:
    /// `-m tcp --dport 80`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        write_match(&mut s, self);
        f.write_str(s.trim_start())
    }
}

impl fmt::Display for Target {
    /// The target as iptables-save prints it, without the leading space:
    /// `-j DNAT --to-destination 10.0.0.1:80`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        write_target(&mut s, self);
        f.write_str(s.trim_start())
    }
}

impl fmt::Display for IfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.name, if self.wildcard { "+" } else { "" })
    }
}

/// libxt_sctp's print_chunks (also used by the listing, with `numeric`): the match type,
/// then `NONE`, `ALL`, or the chunk types in type order, each with the flags stored for
/// it (looked up the way iptables does, see [`SctpFlagInfo::chunk_type`]).
pub(crate) fn write_sctp_chunks(out: &mut String, c: &SctpChunks, numeric: bool) {
    out.push_str(match c.match_type {
        SctpChunkMatch::Any => " any",
        SctpChunkMatch::All => " all",
        SctpChunkMatch::Only => " only",
    });
    if c.chunkmap == [0; 8] {
        out.push_str(" NONE");
        return;
    }
    if c.chunkmap == [u32::MAX; 8] {
        out.push_str(" ALL");
        return;
    }
    let mut first = true;
    for t in 0..=255u8 {
        if !c.has(t) {
            continue;
        }
        out.push(if first { ' ' } else { ',' });
        first = false;
        if numeric {
            let _ = write!(out, "0x{t:04X}");
        } else if let Some((name, _, _)) = crate::parse_match::SCTP_CHUNK_NAMES
            .iter()
            .find(|(_, ty, _)| *ty == t)
        {
            out.push_str(name);
        }
        for f in c.flags.iter().filter(|f| f.chunk_type == t) {
            if f.flag_mask != 0 {
                out.push(':');
            }
            // print_chunk_flags indexes the name table by the chunk type.
            let valid = crate::parse_match::SCTP_CHUNK_NAMES
                .get(usize::from(t))
                .map_or(b"--------", |x| x.2);
            for i in (0..8).rev() {
                if f.flag_mask & (1 << i) != 0 {
                    let ch = valid[7 - i];
                    out.push(if f.flag & (1 << i) != 0 {
                        ch as char
                    } else {
                        ch.to_ascii_lowercase() as char
                    });
                }
            }
        }
    }
}
