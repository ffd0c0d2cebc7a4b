//! Random filter, nat, mangle and raw rules over the matches and targets the engine
//! evaluates: `-s/-d/-i/-o/-p`, tcp/udp ports and flags, icmp types, multiport,
//! conntrack/state, addrtype, mark, comment, iprange; ACCEPT, DROP, RETURN, REJECT (all
//! `--reject-with` types but icmp-proto-unreachable), jumps and gotos to user chains,
//! MARK, DNAT, SNAT, MASQUERADE,
//! REDIRECT, NOTRACK.
//!
//! Every rule is one `iptables-restore` accepts: a target only where its table and hooks
//! allow it (REJECT in filter; DNAT/REDIRECT in nat PREROUTING/OUTPUT; SNAT in nat
//! INPUT/POSTROUTING; MASQUERADE in POSTROUTING), `-i` only where a packet has an input
//! device and `-o` only where it has an output device, ports only with `-p tcp|udp`,
//! `tcp-reset` only with `-p tcp`. A user chain is reached only from chains whose hooks it
//! was made for, and jumps between user chains only go forward, so there are no loops.
//! Nothing here depends on time or chance in the kernel (no `limit`, `recent`,
//! `statistic`, `--random`).

use super::save::SaveText;
use ipnet::Ipv4Net;
use pktpath_rules::TableName::{self, Filter, Mangle, Nat, Raw};
use rand::seq::SliceRandom;
use rand::Rng;
use std::net::Ipv4Addr;

/// The netfilter hooks, as a bit mask.
pub const PRE: u8 = 1;
pub const IN: u8 = 2;
pub const FWD: u8 = 4;
pub const OUT: u8 = 8;
pub const POST: u8 = 16;

fn builtin_hook(chain: &str) -> u8 {
    match chain {
        "PREROUTING" => PRE,
        "INPUT" => IN,
        "FORWARD" => FWD,
        "OUTPUT" => OUT,
        "POSTROUTING" => POST,
        _ => 0,
    }
}

/// What the rules of one namespace can talk about.
#[derive(Debug, Clone, Default)]
pub struct RuleCtx {
    /// The namespace's interfaces (without `lo`).
    pub ifaces: Vec<String>,
    /// Its own addresses (without 127.0.0.1).
    pub local: Vec<Ipv4Addr>,
    /// Addresses elsewhere in the world.
    pub peers: Vec<Ipv4Addr>,
    /// Subnets of the world.
    pub nets: Vec<Ipv4Net>,
    /// Ports something listens on or that probes use.
    pub ports: Vec<u16>,
    /// Where a DNAT could send a connection: (address, port).
    pub dnat_to: Vec<(Ipv4Addr, u16)>,
    /// Local ports a REDIRECT could send a connection to.
    pub redirect_to: Vec<u16>,
}

/// A user chain made for some hooks.
#[derive(Debug, Clone)]
struct UserChain {
    table: TableName,
    name: String,
    hooks: u8,
}

/// The generator of one namespace's random rules.
pub struct RuleGen<'a, R: Rng> {
    pub ctx: &'a RuleCtx,
    pub rng: &'a mut R,
    user: Vec<UserChain>,
    /// A MARK rule was written: mark matches can mean something.
    marks: bool,
    comments: u32,
}

impl<'a, R: Rng> RuleGen<'a, R> {
    pub fn new(ctx: &'a RuleCtx, rng: &'a mut R) -> Self {
        RuleGen {
            ctx,
            rng,
            user: Vec::new(),
            marks: false,
            comments: 0,
        }
    }

    /// Add one random rule to a chain of `table` (a built-in chain, or a user chain).
    pub fn add_one(&mut self, s: &mut SaveText, table: TableName) {
        // Sometimes make (or reuse) a user chain and jump to it.
        let users: Vec<UserChain> = self
            .user
            .iter()
            .filter(|u| u.table == table)
            .cloned()
            .collect();
        if users.len() < 2 && table != Raw && self.rng.gen_bool(0.12) {
            self.new_user_chain(s, table);
            return;
        }
        let (chain, hooks) = if !users.is_empty() && self.rng.gen_bool(0.3) {
            let u = users.choose(self.rng).expect("non-empty").clone();
            (u.name, u.hooks)
        } else {
            let c = *table.builtin_chains().choose(self.rng).expect("non-empty");
            (c.to_string(), builtin_hook(c))
        };
        if let Some(r) = self.rule(table, &chain, hooks) {
            s.append(table, &chain, &r);
        }
    }

    /// Put a rule in front of a chain (e.g. Docker's DOCKER-USER) that hooks `hooks` reach.
    pub fn add_in_front(&mut self, s: &mut SaveText, table: TableName, chain: &str, hooks: u8) {
        if let Some(r) = self.rule(table, chain, hooks) {
            s.insert_first(table, chain, &r);
        }
    }

    fn new_user_chain(&mut self, s: &mut SaveText, table: TableName) {
        let n = self.user.iter().filter(|u| u.table == table).count() + 1;
        let name = format!("FZ-{}{n}", &table.as_str()[..1].to_uppercase());
        // The hooks it serves, and a caller among them.
        let hooks = match table {
            // DNAT-style chains (PREROUTING/OUTPUT) or SNAT-style (POSTROUTING).
            Nat => *[PRE | OUT, PRE, OUT, POST]
                .choose(self.rng)
                .expect("non-empty"),
            Filter => *[IN, FWD, OUT, IN | FWD, FWD | OUT, IN | OUT]
                .choose(self.rng)
                .expect("non-empty"),
            _ => *[PRE, IN, FWD, OUT, POST, PRE | IN]
                .choose(self.rng)
                .expect("non-empty"),
        };
        s.chain(table, &name);
        let callers: Vec<&str> = table
            .builtin_chains()
            .iter()
            .copied()
            .filter(|c| builtin_hook(c) & hooks != 0)
            .collect();
        let uc = UserChain {
            table,
            name: name.clone(),
            hooks,
        };
        // Jump from every caller hook, or from an earlier user chain of the same hooks.
        let earlier: Vec<UserChain> = self
            .user
            .iter()
            .filter(|u| u.table == table && u.hooks & !hooks == 0)
            .cloned()
            .collect();
        let verb = if self.rng.gen_bool(0.2) { "-g" } else { "-j" };
        if !earlier.is_empty() && self.rng.gen_bool(0.3) {
            let from = earlier.choose(self.rng).expect("non-empty").clone();
            let m = self.matches(table, from.hooks, None);
            s.append(table, &from.name, &format!("{m}{verb} {name}"));
        } else {
            for c in callers {
                let m = self.matches(table, builtin_hook(c), None);
                s.append(table, c, &format!("{m}{verb} {name}"));
            }
        }
        self.user.push(uc);
    }

    fn pick_addr(&mut self) -> Ipv4Addr {
        let pool: Vec<Ipv4Addr> = self
            .ctx
            .local
            .iter()
            .chain(&self.ctx.peers)
            .copied()
            .collect();
        pool.choose(self.rng)
            .copied()
            .unwrap_or(Ipv4Addr::new(10, 0, 0, 1))
    }

    fn addr_or_net(&mut self) -> String {
        if !self.ctx.nets.is_empty() && self.rng.gen_bool(0.3) {
            self.ctx
                .nets
                .choose(self.rng)
                .expect("non-empty")
                .to_string()
        } else if self.rng.gen_bool(0.05) {
            "127.0.0.0/8".into()
        } else {
            format!("{}/32", self.pick_addr())
        }
    }

    fn port(&mut self) -> u16 {
        if !self.ctx.ports.is_empty() && self.rng.gen_bool(0.8) {
            *self.ctx.ports.choose(self.rng).expect("non-empty")
        } else {
            self.rng.gen_range(1000..10000)
        }
    }

    fn port_spec(&mut self) -> String {
        let p = self.port();
        if self.rng.gen_bool(0.15) {
            let lo = p.saturating_sub(self.rng.gen_range(0..50));
            format!("{lo}:{}", p.saturating_add(self.rng.gen_range(0..50)))
        } else {
            p.to_string()
        }
    }

    fn not(&mut self, p: f64) -> &'static str {
        if self.rng.gen_bool(p) {
            "! "
        } else {
            ""
        }
    }

    fn iface(&mut self) -> String {
        let name = self
            .ctx
            .ifaces
            .choose(self.rng)
            .cloned()
            .unwrap_or_else(|| "eth0".into());
        if self.rng.gen_bool(0.2) {
            // A prefix: `veth+`, `eth+`, `br+`...
            let stem: String = name
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            if !stem.is_empty() {
                return format!("{stem}+");
            }
        }
        name
    }

    /// The match part of a rule (ending in a space, or empty), for hooks `hooks`;
    /// `proto` forces `-p` (`Some("any")`: tcp or udp).
    fn matches(&mut self, table: TableName, hooks: u8, proto: Option<&str>) -> String {
        self.matches_p(table, hooks, proto).0
    }

    /// [`Self::matches`] and the protocol it chose.
    fn matches_p(
        &mut self,
        table: TableName,
        hooks: u8,
        proto: Option<&str>,
    ) -> (String, Option<&'static str>) {
        let mut m = String::new();
        if self.rng.gen_bool(0.25) {
            let a = self.addr_or_net();
            m += &format!("{}-s {a} ", self.not(0.2));
        }
        if self.rng.gen_bool(0.3) {
            let a = self.addr_or_net();
            m += &format!("{}-d {a} ", self.not(0.2));
        }
        let in_ok = hooks & (OUT | POST) == 0;
        let out_ok = hooks & (PRE | IN) == 0;
        if in_ok && self.rng.gen_bool(0.25) {
            let i = self.iface();
            m += &format!("{}-i {i} ", self.not(0.15));
        }
        if out_ok && self.rng.gen_bool(0.25) {
            let o = self.iface();
            m += &format!("{}-o {o} ", self.not(0.15));
        }
        let p: Option<&'static str> = match proto {
            Some("tcp") => Some("tcp"),
            Some("udp") => Some("udp"),
            Some(_) => Some(if self.rng.gen_bool(0.6) { "tcp" } else { "udp" }),
            None if self.rng.gen_bool(0.6) => Some(
                *["tcp", "tcp", "tcp", "udp", "udp", "icmp"]
                    .choose(self.rng)
                    .expect("non-empty"),
            ),
            None => None,
        };
        if let Some(p) = p {
            m += &format!("-p {p} ");
            match p {
                "icmp" => {
                    if self.rng.gen_bool(0.5) {
                        let t = *[
                            "echo-request",
                            "echo-reply",
                            "destination-unreachable",
                            "8",
                            "port-unreachable",
                        ]
                        .choose(self.rng)
                        .expect("non-empty");
                        m += &format!("-m icmp {}--icmp-type {t} ", self.not(0.1));
                    }
                }
                _ => {
                    // One `-m tcp`/`-m udp` block, as iptables-save prints it.
                    let mut opts = String::new();
                    let mut multiport = String::new();
                    let roll: f64 = self.rng.gen();
                    if roll < 0.6 {
                        let ps = self.port_spec();
                        opts += &format!("{}--dport {ps} ", self.not(0.1));
                    } else if roll < 0.72 {
                        // The lab's clients use local ports 41000, 41001, ...
                        let lo = 41000 + self.rng.gen_range(0..6);
                        opts += &format!("--sport {lo}:{} ", lo + self.rng.gen_range(0..4));
                    } else if roll < 0.85 {
                        let a = self.port();
                        let b = self.port();
                        let ports = if a == b {
                            a.to_string()
                        } else {
                            format!("{a},{b}")
                        };
                        multiport = format!("-m multiport {}--dports {ports} ", self.not(0.1));
                    }
                    if p == "tcp" && self.rng.gen_bool(0.08) {
                        opts += &format!("{}--syn ", self.not(0.3));
                    }
                    if !opts.is_empty() {
                        m += &format!("-m {p} {opts}");
                    }
                    m += &multiport;
                }
            }
        }
        if self.rng.gen_bool(0.2) {
            let st = *[
                "NEW",
                "ESTABLISHED",
                "RELATED,ESTABLISHED",
                "INVALID",
                "DNAT",
                "NEW,ESTABLISHED",
                "SNAT",
                "UNTRACKED",
            ]
            .choose(self.rng)
            .expect("non-empty");
            if self.rng.gen_bool(0.2) {
                let st = st.replace(",SNAT", "").replace(",DNAT", "");
                if !matches!(st.as_str(), "DNAT" | "SNAT") {
                    m += &format!("-m state {}--state {st} ", self.not(0.1));
                }
            } else {
                m += &format!("-m conntrack {}--ctstate {st} ", self.not(0.1));
            }
        }
        if self.rng.gen_bool(0.12) {
            let ty = *["LOCAL", "LOCAL", "UNICAST", "BROADCAST", "MULTICAST"]
                .choose(self.rng)
                .expect("non-empty");
            let dir = if self.rng.gen_bool(0.6) {
                "--dst-type"
            } else {
                "--src-type"
            };
            m += &format!("-m addrtype {}{dir} {ty} ", self.not(0.15));
        }
        if self.marks && self.rng.gen_bool(0.25) {
            let v = self.rng.gen_range(1..4u32);
            m += &format!("-m mark {}--mark {v:#x}/0xff ", self.not(0.15));
        }
        if self.rng.gen_bool(0.06) {
            let a = self.pick_addr();
            let b = self.pick_addr();
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let dir = if self.rng.gen_bool(0.5) {
                "--src-range"
            } else {
                "--dst-range"
            };
            m += &format!("-m iprange {}{dir} {lo}-{hi} ", self.not(0.1));
        }
        if self.rng.gen_bool(0.1) {
            self.comments += 1;
            m += &format!("-m comment --comment \"fuzz rule {}\" ", self.comments);
        }
        let _ = table;
        (m, p)
    }

    /// One rule (without `-A CHAIN`) for `chain` of `table`, reached from hooks `hooks`.
    fn rule(&mut self, table: TableName, chain: &str, hooks: u8) -> Option<String> {
        let jumpable: Vec<UserChain> = self
            .user
            .iter()
            .filter(|u| u.table == table && u.name != chain && hooks & !u.hooks == 0)
            .filter(|u| {
                // Only forward between user chains (no loops).
                let me = self
                    .user
                    .iter()
                    .position(|x| x.name == chain && x.table == table);
                let them = self
                    .user
                    .iter()
                    .position(|x| x.name == u.name && x.table == table);
                match (me, them) {
                    (Some(a), Some(b)) => b > a,
                    _ => true,
                }
            })
            .cloned()
            .collect();
        match table {
            Filter => {
                let roll = self.rng.gen_range(0..100);
                let (m, p) = self.matches_p(table, hooks, None);
                let target = match roll {
                    0..=29 => "-j ACCEPT".to_string(),
                    30..=49 => "-j DROP".to_string(),
                    50..=71 => {
                        let mut opts = vec![
                            "",
                            " --reject-with icmp-port-unreachable",
                            " --reject-with icmp-host-unreachable",
                            " --reject-with icmp-net-unreachable",
                            " --reject-with icmp-host-prohibited",
                            " --reject-with icmp-net-prohibited",
                            " --reject-with icmp-admin-prohibited",
                            // Not icmp-proto-unreachable (ENOPROTOOPT, classified no_route;
                            // fixtures/proto-unreachable checks it on the kernel): adding it
                            // would change every case of the seeds recorded so far.
                        ];
                        if p == Some("tcp") {
                            opts.extend([" --reject-with tcp-reset", " --reject-with tcp-reset"]);
                        }
                        format!("-j REJECT{}", opts.choose(self.rng).expect("non-empty"))
                    }
                    72..=81 => "-j RETURN".to_string(),
                    82..=93 if !jumpable.is_empty() => {
                        let u = jumpable.choose(self.rng).expect("non-empty");
                        let verb = if self.rng.gen_bool(0.2) { "-g" } else { "-j" };
                        format!("{verb} {}", u.name)
                    }
                    _ => String::new(),
                };
                // A terminal verdict for every packet would make the world mute: keep
                // DROP/REJECT specific.
                if m.is_empty() && (target.contains("DROP") || target.contains("REJECT")) {
                    return None;
                }
                Some(format!("{m}{target}"))
            }
            Nat => {
                let dnat_hooks = hooks & (IN | POST) == 0;
                let snat_hooks = hooks & (PRE | OUT) == 0;
                let roll = self.rng.gen_range(0..100);
                if dnat_hooks && roll < 45 && !self.ctx.dnat_to.is_empty() {
                    let (m, _) = self.matches_p(table, hooks, Some("any"));
                    let (a, port) = *self.ctx.dnat_to.choose(self.rng).expect("non-empty");
                    let to = if self.rng.gen_bool(0.8) {
                        format!("{a}:{port}")
                    } else {
                        a.to_string()
                    };
                    return Some(format!("{m}-j DNAT --to-destination {to}"));
                }
                if dnat_hooks && roll < 60 && !self.ctx.redirect_to.is_empty() {
                    let (m, _) = self.matches_p(table, hooks, Some("any"));
                    let port = *self.ctx.redirect_to.choose(self.rng).expect("non-empty");
                    return Some(format!("{m}-j REDIRECT --to-ports {port}"));
                }
                if snat_hooks && roll < 60 {
                    let (m, _) = self.matches_p(table, hooks, None);
                    if hooks & IN == 0 && self.rng.gen_bool(0.6) {
                        return Some(format!("{m}-j MASQUERADE"));
                    }
                    let a = self.ctx.local.choose(self.rng).copied()?;
                    return Some(format!("{m}-j SNAT --to-source {a}"));
                }
                let m = self.matches(table, hooks, None);
                Some(match self.rng.gen_range(0..3) {
                    0 => format!("{m}-j RETURN"),
                    1 if !jumpable.is_empty() => {
                        format!(
                            "{m}-j {}",
                            jumpable.choose(self.rng).expect("non-empty").name
                        )
                    }
                    _ => format!("{m}-j ACCEPT"),
                })
            }
            Mangle => {
                let m = self.matches(table, hooks, None);
                let roll = self.rng.gen_range(0..100);
                Some(match roll {
                    0..=54 => {
                        self.marks = true;
                        let v = self.rng.gen_range(1..4u32);
                        match self.rng.gen_range(0..3) {
                            0 => format!("{m}-j MARK --set-xmark {v:#x}/0xffffffff"),
                            1 => format!("{m}-j MARK --set-mark {v:#x}"),
                            _ => format!("{m}-j MARK --or-mark {v:#x}"),
                        }
                    }
                    55..=69 => format!("{m}-j ACCEPT"),
                    70..=79 => format!("{m}-j RETURN"),
                    80..=87 if !m.is_empty() => format!("{m}-j DROP"),
                    _ if !jumpable.is_empty() => {
                        format!(
                            "{m}-j {}",
                            jumpable.choose(self.rng).expect("non-empty").name
                        )
                    }
                    _ => format!("{m}-j ACCEPT"),
                })
            }
            Raw | TableName::Security => {
                let m = self.matches(table, hooks, None);
                if m.is_empty() {
                    return None;
                }
                Some(match self.rng.gen_range(0..10) {
                    0..=3 => format!("{m}-j CT --notrack"),
                    4..=5 => format!("{m}-j DROP"),
                    _ => format!("{m}-j ACCEPT"),
                })
            }
        }
    }
}
