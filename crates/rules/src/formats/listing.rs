//! `iptables -L` listings as iptables 1.8.9 (nf_tables) prints them: `print_header`,
//! `print_rule_details`, `print_fragment`, `print_ifaces` and `print_ipv4_addresses` of
//! iptables/xshared.c for the columns, then each match's and the target's `print`
//! function (extensions/libxt_*.c, libipt_*.c) for the rest of the line.
//! Column widths, `Chain X (policy ACCEPT 0 packets, 0 bytes)`, `(N references)` and the
//! blank line between chains are iptables' own. With `numeric: false` iptables asks the
//! resolver for host names; we print addresses as numbers there (what iptables prints when
//! nothing resolves), and service and protocol names from netbase's tables.

use crate::model::*;
use crate::netdb;
use std::fmt::Write;

/// Which of `-n`, `-v`, `-x`, `--line-numbers` the listing was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListFormat {
    /// `-n`
    pub numeric: bool,
    /// `-v`: counters and the `in`/`out` columns.
    pub verbose: bool,
    /// `-x`: exact counters instead of 1K/1M units.
    pub exact: bool,
    /// `--line-numbers`
    pub line_numbers: bool,
}

impl ListFormat {
    /// `-n -v --line-numbers`
    pub const NVL_LINES: ListFormat = ListFormat {
        numeric: true,
        verbose: true,
        exact: false,
        line_numbers: true,
    };
}

/// `iptables -t TABLE -L [CHAIN]` with these options. A table the ruleset does not hold
/// is listed as iptables lists a table that does not exist yet: its built-in chains,
/// empty, policy ACCEPT. `None` when `chain` does not exist.
pub fn print_listing(
    rs: &Ruleset,
    table: TableName,
    chain: Option<&str>,
    f: ListFormat,
) -> Option<String> {
    let empty;
    let t = match rs.table(table) {
        Some(t) => t,
        None => {
            empty = Table {
                name: table,
                chains: table
                    .builtin_chains()
                    .iter()
                    .map(|c| Chain {
                        name: c.to_string(),
                        policy: Some(Policy::Accept),
                        counters: Counters::default(),
                        rules: Vec::new(),
                        pos: Pos::default(),
                    })
                    .collect(),
                pos: Pos::default(),
            };
            &empty
        }
    };
    let mut out = String::new();
    let mut first = true;
    for c in list_order(t) {
        if chain.is_some_and(|n| n != c.name) {
            continue;
        }
        if !first {
            out.push('\n');
        }
        first = false;
        write_header(&mut out, t, c, f);
        for (i, r) in c.rules.iter().enumerate() {
            write_listing_rule(&mut out, i as u32 + 1, r, f);
        }
    }
    if first && chain.is_some() {
        return None;
    }
    Some(out)
}

/// Built-in chains in hook order, then user chains by name (as iptables-nft lists them).
fn list_order(t: &Table) -> Vec<&Chain> {
    let builtins = t.name.builtin_chains();
    let mut v: Vec<&Chain> = builtins
        .iter()
        .filter_map(|b| t.chains.iter().find(|c| c.name == *b))
        .collect();
    let mut user: Vec<&Chain> = t
        .chains
        .iter()
        .filter(|c| !builtins.contains(&c.name.as_str()))
        .collect();
    user.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    v.extend(user);
    v
}

/// How many rules of the table jump or go to `chain`.
pub fn references(t: &Table, chain: &str) -> usize {
    t.chains
        .iter()
        .flat_map(|c| &c.rules)
        .filter(
            |r| matches!(&r.target, Some(Target::Jump(x)) | Some(Target::Goto(x)) if x == chain),
        )
        .count()
}

/// xtables_print_num: `%8llu ` with `-x`, else up to 99999 as is, then K, M, G, T.
/// `notable`: the header's form (no padding).
fn write_num(out: &mut String, n: u64, f: ListFormat, notable: bool) {
    if f.exact {
        if notable {
            let _ = write!(out, "{n} ");
        } else {
            let _ = write!(out, "{n:>8} ");
        }
        return;
    }
    if n <= 99999 {
        if notable {
            let _ = write!(out, "{n} ");
        } else {
            let _ = write!(out, "{n:>5} ");
        }
        return;
    }
    let mut n = n;
    for unit in ['K', 'M', 'G'] {
        n = (n + 500) / 1000;
        if n <= 9999 {
            if notable {
                let _ = write!(out, "{n}{unit} ");
            } else {
                let _ = write!(out, "{n:>4}{unit} ");
            }
            return;
        }
    }
    n = (n + 500) / 1000;
    if notable {
        let _ = write!(out, "{n}T ");
    } else {
        let _ = write!(out, "{n:>4}T ");
    }
}

fn write_header(out: &mut String, t: &Table, c: &Chain, f: ListFormat) {
    let _ = write!(out, "Chain {}", c.name);
    match c.policy {
        Some(p) => {
            let _ = write!(
                out,
                " (policy {}",
                match p {
                    Policy::Accept => "ACCEPT",
                    Policy::Drop => "DROP",
                }
            );
            if f.verbose {
                out.push(' ');
                write_num(out, c.counters.packets, f, true);
                out.push_str("packets, ");
                write_num(out, c.counters.bytes, f, true);
                out.push_str("bytes");
            }
            out.push_str(")\n");
        }
        None => {
            let _ = writeln!(out, " ({} references)", references(t, &c.name));
        }
    }
    if f.line_numbers {
        let _ = write!(out, "{:<4} ", "num");
    }
    if f.verbose {
        if f.exact {
            let _ = write!(out, "{:>8} {:>10} ", "pkts", "bytes");
        } else {
            let _ = write!(out, "{:>5} {:>5} ", "pkts", "bytes");
        }
    }
    let _ = write!(out, "{:<9} ", "target");
    out.push_str(" prot opt");
    if f.verbose {
        let _ = write!(out, " {:<6} {:<6} ", "in", "out");
    }
    let _ = write!(out, " {:<19} ", "source");
    let _ = writeln!(out, " {:<19} ", "destination");
}

/// The target column: a standard verdict, a chain, or an extension's name.
pub fn target_name(t: &Option<Target>) -> String {
    let Some(t) = t else {
        return String::new();
    };
    match t {
        Target::Accept => "ACCEPT",
        Target::Drop => "DROP",
        Target::Return => "RETURN",
        Target::Reject(_) => "REJECT",
        Target::Jump(c) | Target::Goto(c) => return c.clone(),
        Target::Log(_) => "LOG",
        Target::Nflog(_) => "NFLOG",
        Target::Mark(_) => "MARK",
        Target::Connmark(_) => "CONNMARK",
        Target::Dnat { .. } => "DNAT",
        Target::Snat { .. } => "SNAT",
        Target::Masquerade { .. } => "MASQUERADE",
        Target::Redirect { .. } => "REDIRECT",
        // iptables-nft lists NOTRACK as the CT target it is made of.
        Target::Notrack { .. } | Target::Ct(_) => "CT",
        Target::Trace => "TRACE",
        Target::ChecksumFill => "CHECKSUM",
        Target::TcpMss(_) => "TCPMSS",
        Target::Unknown { name, .. } => return name.clone(),
    }
    .to_string()
}

/// One rule line (with its newline).
pub fn write_listing_rule(out: &mut String, num: u32, r: &Rule, f: ListFormat) {
    if f.line_numbers {
        let _ = write!(out, "{num:<4} ");
    }
    if f.verbose {
        let c = r.counters.unwrap_or_default();
        write_num(out, c.packets, f, false);
        write_num(out, c.bytes, f, false);
    }
    let _ = write!(out, "{:<9} ", target_name(&r.target));
    let (pinv, pnum) = match &r.proto {
        Some(p) => (p.negated, p.value.number()),
        None => (false, 0),
    };
    out.push(if pinv { '!' } else { ' ' });
    if f.numeric {
        let _ = write!(out, "{pnum:<4} ");
    } else {
        match proto_name(pnum) {
            Some(n) => {
                let _ = write!(out, "{n:<4} ");
            }
            None => {
                let _ = write!(out, "{pnum:<4} ");
            }
        }
    }
    // print_fragment
    match &r.fragment {
        Some(n) => {
            out.push(if n.negated { '!' } else { '-' });
            out.push('f');
        }
        None => out.push_str("--"),
    }
    out.push(' ');
    if f.verbose {
        let iface = |n: &Option<Neg<IfaceName>>| -> String {
            match n {
                Some(n) => format!(
                    "{}{}{}",
                    if n.negated { "!" } else { "" },
                    n.value.name,
                    if n.value.wildcard { "+" } else { "" }
                ),
                None => (if f.numeric { "*" } else { "any" }).to_string(),
            }
        };
        let _ = write!(out, " {:<6} ", iface(&r.in_iface));
        let _ = write!(out, "{:<6} ", iface(&r.out_iface));
    }
    for a in [&r.src, &r.dst] {
        let inv = a.as_ref().is_some_and(|n| n.negated);
        out.push(if inv { '!' } else { ' ' });
        let text = match a {
            None if !f.numeric => "anywhere".to_string(),
            None => "0.0.0.0/0".to_string(),
            Some(n) => mask_text(n.value),
        };
        let _ = write!(out, "{text:<19} ");
    }
    if matches!(r.target, Some(Target::Goto(_))) {
        out.push_str("[goto] ");
    }
    let proto = r.proto.as_ref().map_or(0, |p| p.value.number());
    for m in &r.matches {
        write_match(out, m, f.numeric, proto);
    }
    if let Some(t) = &r.target {
        write_target(out, t, f.numeric);
    }
    out.push('\n');
}

/// `getprotobynumber` (with iptables' own names as fallback), `all` for 0.
fn proto_name(n: u8) -> Option<&'static str> {
    if n == 0 {
        return Some("all");
    }
    netdb::protocol_name(n)
}

/// xtables_ipaddr_to_numeric + xtables_ipmask_to_numeric for `-s`/`-d`: `/32` is left
/// out, a non-contiguous mask is dotted.
fn mask_text(n: AddrMask) -> String {
    match n.prefix_len() {
        Some(32) => n.addr().to_string(),
        Some(len) => format!("{}/{len}", n.addr()),
        None => format!("{}/{}", n.addr(), n.netmask()),
    }
}

/// xtables_ipaddr_to_numeric + xtables_ipmask_to_numeric: `/32` is left out.
fn addr_text(n: ipnet::Ipv4Net) -> String {
    if n.prefix_len() == 32 {
        n.addr().to_string()
    } else {
        format!("{}/{}", n.addr(), n.prefix_len())
    }
}

/// getservbyport(port, proto): the first name /etc/services gives the port.
fn service_name(port: u16, proto: u8) -> Option<&'static str> {
    let proto = match proto {
        6 => "tcp",
        17 => "udp",
        132 => "sctp",
        33 => "dccp",
        _ => return None,
    };
    super::names::service_name(port, proto)
}

fn write_port(out: &mut String, port: u16, numeric: bool, proto: u8) {
    match (!numeric).then(|| service_name(port, proto)).flatten() {
        Some(n) => out.push_str(n),
        None => {
            let _ = write!(out, "{port}");
        }
    }
}

/// libxt_tcp/libxt_udp print_ports.
fn write_ports(out: &mut String, name: &str, p: &Option<Neg<PortRange>>, numeric: bool, proto: u8) {
    let Some(p) = p else { return };
    let (lo, hi, inv) = (p.value.lo, p.value.hi, p.negated);
    if lo == 0 && hi == 0xFFFF && !inv {
        return;
    }
    let _ = write!(out, " {name}");
    let bang = if inv { "!" } else { "" };
    if lo == hi {
        let _ = write!(out, ":{bang}");
        write_port(out, lo, numeric, proto);
    } else {
        let _ = write!(out, "s:{bang}");
        write_port(out, lo, numeric, proto);
        out.push(':');
        write_port(out, hi, numeric, proto);
    }
}

fn tcp_flag_names(out: &mut String, mut flags: u8) {
    const NAMES: [(&str, u8); 6] = [
        ("FIN", 0x01),
        ("SYN", 0x02),
        ("RST", 0x04),
        ("PSH", 0x08),
        ("ACK", 0x10),
        ("URG", 0x20),
    ];
    let mut have = false;
    for (n, b) in NAMES {
        if flags & b != 0 {
            if have {
                out.push(',');
            }
            out.push_str(n);
            have = true;
            flags &= !b;
        }
    }
    if !have {
        out.push_str("NONE");
    }
}

const STATE_NAMES: [(CtState, &str); 7] = [
    (CtState::Invalid, "INVALID"),
    (CtState::New, "NEW"),
    (CtState::Related, "RELATED"),
    (CtState::Established, "ESTABLISHED"),
    (CtState::Untracked, "UNTRACKED"),
    (CtState::Snat, "SNAT"),
    (CtState::Dnat, "DNAT"),
];

fn states_text(states: &[CtState]) -> String {
    let v: Vec<&str> = STATE_NAMES
        .iter()
        .filter(|(s, _)| states.contains(s))
        .map(|(_, n)| *n)
        .collect();
    v.join(",")
}

const ADDR_TYPES: [(AddrType, &str); 12] = [
    (AddrType::Unspec, "UNSPEC"),
    (AddrType::Unicast, "UNICAST"),
    (AddrType::Local, "LOCAL"),
    (AddrType::Broadcast, "BROADCAST"),
    (AddrType::Anycast, "ANYCAST"),
    (AddrType::Multicast, "MULTICAST"),
    (AddrType::Blackhole, "BLACKHOLE"),
    (AddrType::Unreachable, "UNREACHABLE"),
    (AddrType::Prohibit, "PROHIBIT"),
    (AddrType::Throw, "THROW"),
    (AddrType::Nat, "NAT"),
    (AddrType::Xresolve, "XRESOLVE"),
];

fn bang_sp(negated: bool) -> &'static str {
    if negated {
        " !"
    } else {
        ""
    }
}

fn write_range(out: &mut String, r: PortRange, sep: char) {
    if r.lo == r.hi {
        let _ = write!(out, "{}", r.lo);
    } else {
        let _ = write!(out, "{}{sep}{}", r.lo, r.hi);
    }
}

fn write_match(out: &mut String, m: &Match, numeric: bool, proto: u8) {
    match m {
        Match::Tcp(t) => {
            out.push_str(" tcp");
            write_ports(out, "spt", &t.sport, numeric, 6);
            write_ports(out, "dpt", &t.dport, numeric, 6);
            if let Some(o) = &t.option {
                if o.value != 0 || o.negated {
                    let _ = write!(
                        out,
                        " option={}{}",
                        if o.negated { "!" } else { "" },
                        o.value
                    );
                }
            }
            if let Some(fl) = &t.flags {
                if fl.value.mask != 0 || fl.negated {
                    let _ = write!(out, " flags:{}", if fl.negated { "!" } else { "" });
                    if numeric {
                        let _ = write!(out, "0x{:02X}/0x{:02X}", fl.value.mask, fl.value.comp);
                    } else {
                        tcp_flag_names(out, fl.value.mask);
                        out.push('/');
                        tcp_flag_names(out, fl.value.comp);
                    }
                }
            }
        }
        Match::Udp(u) => {
            out.push_str(" udp");
            write_ports(out, "spt", &u.sport, numeric, 17);
            write_ports(out, "dpt", &u.dport, numeric, 17);
        }
        Match::Icmp(i) => {
            out.push_str(" icmp");
            let (ty, lo, hi) = match i.value {
                IcmpType::Any => (255u8, 0u8, 255u8),
                IcmpType::Type { ty, code: None } => (ty, 0, 255),
                IcmpType::Type { ty, code: Some(c) } => (ty, c, c),
            };
            if !numeric {
                if let Some(name) = icmp_name(ty, lo, hi) {
                    let _ = write!(out, " {}{name}", if i.negated { "!" } else { "" });
                    return;
                }
            }
            if i.negated {
                out.push_str(" !");
            }
            let _ = write!(out, "type {ty}");
            if lo == hi {
                let _ = write!(out, " code {lo}");
            } else if lo != 0 || hi != 255 {
                let _ = write!(out, " codes {lo}-{hi}");
            }
        }
        Match::Multiport(mp) => {
            out.push_str(" multiport ");
            out.push_str(match mp.kind {
                MultiportKind::Source => "sports ",
                MultiportKind::Destination => "dports ",
                MultiportKind::Either => "ports ",
            });
            if mp.negated {
                out.push_str(" !");
            }
            for (i, p) in mp.ports.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_port(out, p.lo, numeric, proto);
                if p.hi != p.lo {
                    out.push(':');
                    write_port(out, p.hi, numeric, proto);
                }
            }
        }
        Match::AddrType(a) => {
            out.push_str(" ADDRTYPE match");
            for (label, v) in [("src-type", &a.src_type), ("dst-type", &a.dst_type)] {
                if let Some(v) = v {
                    let _ = write!(out, " {label} {}", if v.negated { "!" } else { "" });
                    let names: Vec<&str> = ADDR_TYPES
                        .iter()
                        .filter(|(t, _)| v.value.contains(t))
                        .map(|(_, n)| *n)
                        .collect();
                    out.push_str(&names.join(","));
                }
            }
            if a.limit_iface_in {
                out.push_str(" limit-in");
            }
            if a.limit_iface_out {
                out.push_str(" limit-out");
            }
        }
        Match::Conntrack(c) => write_conntrack(out, c, numeric),
        Match::State(s) => {
            let _ = write!(
                out,
                "{} state {}",
                bang_sp(s.negated),
                states_text(&s.value)
            );
        }
        Match::Mark(mk) => {
            let _ = write!(out, " mark match{}", bang_sp(mk.negated));
            write_mark(out, mk.value, mk.mask);
        }
        Match::Connmark(mk) => {
            let _ = write!(out, " connmark match {}", if mk.negated { "!" } else { "" });
            write_mark(out, mk.value, mk.mask);
        }
        Match::Comment(c) => {
            let _ = write!(out, " /* {c} */");
        }
        Match::Statistic(s) => {
            out.push_str(" statistic");
            match s.mode {
                StatisticMode::Random { probability } => {
                    let p = probability.kernel_value as f64 / 2147483648.0;
                    let _ = write!(
                        out,
                        " mode random{} probability {p:.11}",
                        bang_sp(s.negated)
                    );
                }
                StatisticMode::Nth { every, packet } => {
                    let _ = write!(out, " mode nth{} every {every}", bang_sp(s.negated));
                    if packet != 0 {
                        let _ = write!(out, " packet {packet}");
                    }
                }
            }
        }
        Match::Recent(r) => {
            if r.negated {
                out.push_str(" !");
            }
            out.push_str(" recent:");
            out.push_str(match r.command {
                RecentCommand::Set => " SET",
                RecentCommand::Rcheck => " CHECK",
                RecentCommand::Update => " UPDATE",
                RecentCommand::Remove => " REMOVE",
            });
            if let Some(s) = r.seconds.filter(|&s| s != 0) {
                let _ = write!(out, " seconds: {s}");
            }
            if r.reap {
                out.push_str(" reap");
            }
            if let Some(h) = r.hitcount.filter(|&h| h != 0) {
                let _ = write!(out, " hit_count: {h}");
            }
            if r.rttl {
                out.push_str(" TTL-Match");
            }
            let _ = write!(out, " name: {}", r.name);
            out.push_str(if r.rdest {
                " side: dest"
            } else {
                " side: source"
            });
            let _ = write!(
                out,
                " mask: {}",
                r.mask.unwrap_or(std::net::Ipv4Addr::BROADCAST)
            );
        }
        Match::Limit(l) => {
            let _ = write!(
                out,
                " limit: avg {}/{} burst {}",
                l.rate,
                unit_name(l.per),
                l.burst
            );
        }
        Match::IpRange(r) => {
            if let Some(s) = &r.src {
                let _ = write!(
                    out,
                    " source IP range {}{}-{}",
                    if s.negated { "! " } else { "" },
                    s.value.0,
                    s.value.1
                );
            }
            if let Some(d) = &r.dst {
                let _ = write!(
                    out,
                    " destination IP range {}{}-{}",
                    if d.negated { "! " } else { "" },
                    d.value.0,
                    d.value.1
                );
            }
        }
        Match::Physdev(p) => {
            out.push_str(" PHYSDEV match");
            let dev = |n: &IfaceName| format!("{}{}", n.name, if n.wildcard { "+" } else { "" });
            if let Some(n) = &p.is_in {
                let _ = write!(out, "{} --physdev-is-in", bang_sp(n.negated));
            }
            if let Some(n) = &p.in_dev {
                let _ = write!(out, "{} --physdev-in {}", bang_sp(n.negated), dev(&n.value));
            }
            if let Some(n) = &p.is_out {
                let _ = write!(out, "{} --physdev-is-out", bang_sp(n.negated));
            }
            if let Some(n) = &p.out_dev {
                let _ = write!(
                    out,
                    "{} --physdev-out {}",
                    bang_sp(n.negated),
                    dev(&n.value)
                );
            }
            if let Some(n) = &p.is_bridged {
                let _ = write!(out, "{} --physdev-is-bridged", bang_sp(n.negated));
            }
        }
        Match::Mac(m) => {
            let b = m.value;
            let _ = write!(
                out,
                " MAC {}{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                if m.negated { "! " } else { "" },
                b[0],
                b[1],
                b[2],
                b[3],
                b[4],
                b[5]
            );
        }
        Match::Owner(o) => {
            if let Some(s) = &o.socket_exists {
                let _ = write!(out, "{} owner socket exists", bang_sp(s.negated));
            }
            for (label, v) in [("UID", &o.uid), ("GID", &o.gid)] {
                if let Some(v) = v {
                    let _ = write!(
                        out,
                        "{} owner {label} match {}",
                        bang_sp(v.negated),
                        v.value.0
                    );
                    if v.value.1 > v.value.0 {
                        let _ = write!(out, "-{}", v.value.1);
                    }
                }
            }
        }
        Match::PktType(p) => {
            let _ = write!(
                out,
                " PKTTYPE {}= {}",
                if p.negated { "!" } else { "" },
                match p.value {
                    PktType::Unicast => "unicast",
                    PktType::Broadcast => "broadcast",
                    PktType::Multicast => "multicast",
                    PktType::OtherHost => "otherhost",
                }
            );
        }
        Match::HashLimit(h) => {
            let _ = write!(out, " limit: {}", if h.above { "above" } else { "up to" });
            let quantum = if h.bytes {
                crate::parse_match::hashlimit_write_bytes(out, h.avg, h.burst, "")
            } else {
                let (n, unit, quantum) = crate::parse_match::hashlimit_rate_text(h.avg);
                let _ = write!(out, " {n}/{unit} burst {}", h.burst);
                quantum
            };
            if h.src_ip || h.src_port || h.dst_ip || h.dst_port {
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
                let _ = write!(out, " mode {}", parts.join("-"));
            }
            if h.htable_size != 0 {
                let _ = write!(out, " htable-size {}", h.htable_size);
            }
            if h.htable_max != 0 {
                let _ = write!(out, " htable-max {}", h.htable_max);
            }
            if h.gc_interval != 1000 {
                let _ = write!(out, " htable-gcinterval {}", h.gc_interval);
            }
            if u64::from(h.expire) != quantum {
                let _ = write!(out, " htable-expire {}", h.expire);
            }
            if h.srcmask != 32 {
                let _ = write!(out, " srcmask {}", h.srcmask);
            }
            if h.dstmask != 32 {
                let _ = write!(out, " dstmask {}", h.dstmask);
            }
        }
        Match::Connlimit(c) => {
            let _ = write!(
                out,
                " #conn {}/{} {} {}",
                if c.daddr { "dst" } else { "src" },
                c.mask,
                if c.upto { "<=" } else { ">" },
                c.limit
            );
        }
        Match::Rpfilter(r) => {
            out.push_str(" rpfilter");
            for (on, n) in [
                (r.loose, " loose"),
                (r.validmark, " validmark"),
                (r.accept_local, " accept-local"),
                (r.invert, " invert"),
            ] {
                if on {
                    out.push_str(n);
                }
            }
        }
        Match::Sctp(m) => {
            // sctp_print: ports as tcp/udp print them (names looked up for sctp).
            out.push_str(" sctp");
            write_ports(out, "spt", &m.sport, numeric, 132);
            write_ports(out, "dpt", &m.dport, numeric, 132);
            if let Some(c) = &m.chunks {
                if c.negated {
                    out.push_str(" !");
                }
                crate::print::write_sctp_chunks(out, &c.value, numeric);
            }
        }
        Match::Unknown { name, args } => {
            // No print function is known: show the module and its arguments.
            let _ = write!(out, " {name}");
            for a in args {
                let _ = write!(out, " {a}");
            }
        }
    }
}

fn unit_name(u: RateUnit) -> &'static str {
    match u {
        RateUnit::Second => "sec",
        RateUnit::Minute => "min",
        RateUnit::Hour => "hour",
        RateUnit::Day => "day",
    }
}

fn write_mark(out: &mut String, value: u32, mask: u32) {
    let _ = write!(out, " 0x{value:x}");
    if mask != 0xffff_ffff {
        let _ = write!(out, "/0x{mask:x}");
    }
}

fn write_conntrack(out: &mut String, c: &ConntrackMatch, _numeric: bool) {
    if let Some(s) = &c.state {
        let _ = write!(
            out,
            "{} ctstate {}",
            bang_sp(s.negated),
            states_text(&s.value)
        );
    }
    if let Some(p) = &c.proto {
        let _ = write!(out, "{} ctproto {}", bang_sp(p.negated), p.value.number());
    }
    for (label, a) in [
        ("ctorigsrc", &c.orig_src),
        ("ctorigdst", &c.orig_dst),
        ("ctreplsrc", &c.repl_src),
        ("ctrepldst", &c.repl_dst),
    ] {
        if let Some(a) = a {
            let _ = write!(out, "{} {label} {}", bang_sp(a.negated), addr_text(a.value));
        }
    }
    for (label, p) in [
        ("ctorigsrcport", &c.orig_src_port),
        ("ctorigdstport", &c.orig_dst_port),
        ("ctreplsrcport", &c.repl_src_port),
        ("ctrepldstport", &c.repl_dst_port),
    ] {
        if let Some(p) = p {
            let _ = write!(out, "{} {label} ", bang_sp(p.negated));
            write_range(out, p.value, ':');
        }
    }
    if let Some(s) = &c.status {
        let _ = write!(out, "{} ctstatus ", bang_sp(s.negated));
        let names: Vec<&str> = [
            (CtStatus::Expected, "EXPECTED"),
            (CtStatus::SeenReply, "SEEN_REPLY"),
            (CtStatus::Assured, "ASSURED"),
            (CtStatus::Confirmed, "CONFIRMED"),
        ]
        .iter()
        .filter(|(st, _)| s.value.contains(st))
        .map(|(_, n)| *n)
        .collect();
        if names.is_empty() {
            out.push_str("NONE");
        } else {
            out.push_str(&names.join(","));
        }
    }
    if let Some(e) = &c.expire {
        let _ = write!(out, "{} ctexpire {}", bang_sp(e.negated), e.value.0);
        if e.value.1 != e.value.0 {
            let _ = write!(out, ":{}", e.value.1);
        }
    }
    if let Some(d) = c.dir {
        out.push_str(match d {
            CtDir::Original => " ctdir ORIGINAL",
            CtDir::Reply => " ctdir REPLY",
        });
    }
}

fn write_nat_range(out: &mut String, r: &NatRange) {
    if let Some((a, b)) = r.addr {
        let _ = write!(out, "{a}");
        if a != b {
            let _ = write!(out, "-{b}");
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

/// `print` of the target extensions; standard verdicts and chains print nothing here.
fn write_target(out: &mut String, t: &Target, numeric: bool) {
    match t {
        Target::Reject(w) => {
            let _ = write!(out, " reject-with {}", reject_name(*w));
        }
        Target::Log(l) => {
            let flags = u32::from(l.tcp_sequence)
                | u32::from(l.tcp_options) << 1
                | u32::from(l.ip_options) << 2
                | u32::from(l.uid) << 3
                | u32::from(l.macdecode) << 5;
            let level = l.level.unwrap_or(4);
            if numeric {
                let _ = write!(out, " LOG flags {flags} level {level}");
            } else {
                // libxt_LOG's log_names, first name per level.
                const NAMES: [&str; 8] = [
                    "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
                ];
                match NAMES.get(level as usize) {
                    Some(n) => {
                        let _ = write!(out, " LOG level {n}");
                    }
                    None => {
                        let _ = write!(out, " UNKNOWN level {level}");
                    }
                }
                for (bit, n) in [
                    (1, " tcp-sequence"),
                    (2, " tcp-options"),
                    (4, " ip-options"),
                    (8, " uid"),
                    (0x20, " macdecode"),
                ] {
                    if flags & bit != 0 {
                        out.push_str(n);
                    }
                }
            }
            if let Some(p) = l.prefix.as_ref().filter(|p| !p.is_empty()) {
                let _ = write!(out, " prefix \"{p}\"");
            }
        }
        Target::Nflog(n) => {
            if let Some(p) = n.prefix.as_ref().filter(|p| !p.is_empty()) {
                out.push_str(" nflog-prefix ");
                save_string(out, p);
            }
            if let Some(g) = n.group.filter(|&g| g != 0) {
                let _ = write!(out, " nflog-group {g}");
            }
            if let Some(s) = n.size {
                let _ = write!(out, " nflog-size {s}");
            } else if let Some(r) = n.range.filter(|&r| r != 0) {
                let _ = write!(out, " nflog-range {r}");
            }
            if let Some(t) = n.threshold {
                let _ = write!(out, " nflog-threshold {t}");
            }
        }
        Target::Mark(m) => {
            let (value, mask) = crate::print::mark_action_xmark(*m);
            write_xmark(out, "MARK", value, mask);
        }
        Target::Connmark(c) => match *c {
            ConnmarkAction::SetXmark { value, mask } => write_xmark(out, "CONNMARK", value, mask),
            ConnmarkAction::Save { nfmask, ctmask } => {
                if nfmask == u32::MAX && ctmask == u32::MAX {
                    out.push_str(" CONNMARK save");
                } else if nfmask == ctmask {
                    let _ = write!(out, " CONNMARK save mask 0x{nfmask:x}");
                } else {
                    let _ = write!(
                        out,
                        " CONNMARK save nfmask 0x{nfmask:x} ctmask ~0x{ctmask:x}"
                    );
                }
            }
            ConnmarkAction::Restore { nfmask, ctmask } => {
                if nfmask == u32::MAX && ctmask == u32::MAX {
                    out.push_str(" CONNMARK restore");
                } else if nfmask == ctmask {
                    let _ = write!(out, " CONNMARK restore mask 0x{ctmask:x}");
                } else {
                    let _ = write!(
                        out,
                        " CONNMARK restore ctmask 0x{ctmask:x} nfmask ~0x{nfmask:x}"
                    );
                }
            }
        },
        Target::Dnat { range, flags } | Target::Snat { range, flags } => {
            out.push_str(" to:");
            write_nat_range(out, range);
            write_nat_flags(out, flags);
        }
        Target::Masquerade { ports, flags } => {
            if let Some(p) = ports {
                out.push_str(" masq ports: ");
                write_range(out, *p, '-');
                if flags.proto_offset {
                    out.push_str("/0");
                }
            }
            write_nat_flags(out, flags);
        }
        Target::Redirect { ports, flags } => {
            if let Some(p) = ports {
                out.push_str(" redir ports ");
                write_range(out, *p, '-');
                if flags.proto_offset {
                    out.push_str("/0");
                }
            }
            write_nat_flags(out, flags);
        }
        Target::Notrack { ct_syntax: false } => out.push_str(" NOTRACK"),
        Target::Notrack { ct_syntax: true } => out.push_str(" CT notrack"),
        Target::Ct(c) => {
            out.push_str(" CT");
            if let Some(h) = &c.helper {
                let _ = write!(out, " helper {h}");
            }
            if let Some(z) = c.zone.filter(|&z| z != 0) {
                let _ = write!(out, " zone {z}");
            }
        }
        Target::ChecksumFill => out.push_str(" CHECKSUM fill"),
        Target::TcpMss(TcpMssAction::ClampToPmtu) => out.push_str(" TCPMSS clamp to PMTU"),
        Target::TcpMss(TcpMssAction::SetMss(m)) => {
            let _ = write!(out, " TCPMSS set {m}");
        }
        Target::Unknown { args, .. } => {
            for a in args {
                let _ = write!(out, " {a}");
            }
        }
        Target::Accept
        | Target::Drop
        | Target::Return
        | Target::Jump(_)
        | Target::Goto(_)
        | Target::Trace => {}
    }
}

fn write_nat_flags(out: &mut String, f: &NatFlags) {
    if f.random {
        out.push_str(" random");
    }
    if f.random_fully {
        out.push_str(" random-fully");
    }
    if f.persistent {
        out.push_str(" persistent");
    }
}

/// libxt_MARK/libxt_CONNMARK print (revision 2/1).
fn write_xmark(out: &mut String, name: &str, value: u32, mask: u32) {
    let _ = if value == 0 {
        write!(out, " {name} and 0x{:x}", !mask)
    } else if value == mask {
        write!(out, " {name} or 0x{value:x}")
    } else if mask == 0 {
        write!(out, " {name} xor 0x{value:x}")
    } else if mask == u32::MAX {
        write!(out, " {name} set 0x{value:x}")
    } else {
        write!(out, " {name} xset 0x{value:x}/0x{mask:x}")
    };
}

/// xtables_save_string: always quoted, `"` and `\` escaped.
fn save_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

pub(crate) fn reject_name(w: RejectWith) -> &'static str {
    match w {
        RejectWith::IcmpNetUnreachable => "icmp-net-unreachable",
        RejectWith::IcmpHostUnreachable => "icmp-host-unreachable",
        RejectWith::IcmpPortUnreachable => "icmp-port-unreachable",
        RejectWith::IcmpProtoUnreachable => "icmp-proto-unreachable",
        RejectWith::IcmpNetProhibited => "icmp-net-prohibited",
        RejectWith::IcmpHostProhibited => "icmp-host-prohibited",
        RejectWith::IcmpAdminProhibited => "icmp-admin-prohibited",
        RejectWith::TcpReset => "tcp-reset",
    }
}

/// libxt_icmp's icmp_codes table: names for (type, code range).
pub(crate) const ICMP_CODES: &[(&str, u8, u8, u8)] = &[
    ("any", 0xFF, 0, 0xFF),
    ("echo-reply", 0, 0, 0xFF),
    ("destination-unreachable", 3, 0, 0xFF),
    ("network-unreachable", 3, 0, 0),
    ("host-unreachable", 3, 1, 1),
    ("protocol-unreachable", 3, 2, 2),
    ("port-unreachable", 3, 3, 3),
    ("fragmentation-needed", 3, 4, 4),
    ("source-route-failed", 3, 5, 5),
    ("network-unknown", 3, 6, 6),
    ("host-unknown", 3, 7, 7),
    ("network-prohibited", 3, 9, 9),
    ("host-prohibited", 3, 10, 10),
    ("TOS-network-unreachable", 3, 11, 11),
    ("TOS-host-unreachable", 3, 12, 12),
    ("communication-prohibited", 3, 13, 13),
    ("host-precedence-violation", 3, 14, 14),
    ("precedence-cutoff", 3, 15, 15),
    ("source-quench", 4, 0, 0xFF),
    ("redirect", 5, 0, 0xFF),
    ("network-redirect", 5, 0, 0),
    ("host-redirect", 5, 1, 1),
    ("TOS-network-redirect", 5, 2, 2),
    ("TOS-host-redirect", 5, 3, 3),
    ("echo-request", 8, 0, 0xFF),
    ("router-advertisement", 9, 0, 0xFF),
    ("router-solicitation", 10, 0, 0xFF),
    ("time-exceeded", 11, 0, 0xFF),
    ("ttl-zero-during-transit", 11, 0, 0),
    ("ttl-zero-during-reassembly", 11, 1, 1),
    ("parameter-problem", 12, 0, 0xFF),
    ("ip-header-bad", 12, 0, 0),
    ("required-option-missing", 12, 1, 1),
    ("timestamp-request", 13, 0, 0xFF),
    ("timestamp-reply", 14, 0, 0xFF),
    ("address-mask-request", 17, 0, 0xFF),
    ("address-mask-reply", 18, 0, 0xFF),
];

fn icmp_name(ty: u8, lo: u8, hi: u8) -> Option<&'static str> {
    ICMP_CODES
        .iter()
        .find(|(_, t, l, h)| *t == ty && *l == lo && *h == hi)
        .map(|c| c.0)
}
