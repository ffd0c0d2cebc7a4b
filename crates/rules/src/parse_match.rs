//! Parsing the options of `-m NAME` match modules (and of the implicit protocol matches
//! `-p tcp --dport ..`). Each module accepts the options, value syntax, defaults and
//! checks of its iptables 1.8.9 extension (extensions/libxt_*.c, libipt_*.c).

use crate::args::Args;
use crate::error::ParseError;
use crate::lex::Token;
use crate::model::*;
use crate::netdb;
use crate::values::*;
use ipnet::Ipv4Net;

/// A match being built while its options are read.
#[derive(Debug)]
pub enum Pending {
    Tcp(TcpMatch),
    Udp(UdpMatch),
    Icmp(Option<Neg<IcmpType>>),
    Multiport(Option<MultiportMatch>),
    AddrType(AddrTypeMatch),
    Conntrack(ConntrackMatch, bool),
    State(Option<Neg<Vec<CtState>>>),
    Mark(Option<MarkMatch>),
    Connmark(Option<MarkMatch>),
    Comment(Option<String>),
    Statistic(StatisticBuild),
    Recent(RecentBuild),
    Limit(LimitBuild),
    IpRange(IpRangeMatch),
    Physdev(PhysdevMatch),
    Mac(Option<Neg<[u8; 6]>>),
    Owner(OwnerMatch),
    PktType(Option<Neg<PktType>>),
    HashLimit(HashLimitBuild),
    Connlimit(Option<(bool, u32)>, Option<u8>, Option<bool>),
    Rpfilter(RpfilterMatch),
    Sctp(SctpMatch),
    Unknown { name: String, args: Vec<String> },
}

#[derive(Debug, Default)]
pub struct HashLimitBuild {
    /// (above, avg, unit multiplier in seconds, byte rate)
    rate: Option<(bool, u64, u64, bool)>,
    /// (value after its `k`/`m` factor, column)
    burst: Option<(u64, u32)>,
    mode: Option<(bool, bool, bool, bool)>,
    name: Option<String>,
    size: u32,
    max: u32,
    gc_interval: Option<u32>,
    expire: Option<u32>,
    srcmask: Option<u8>,
    dstmask: Option<u8>,
}

#[derive(Debug, Default)]
pub struct StatisticBuild {
    mode: Option<(bool, u32)>, // (is_nth, col)
    probability: Option<(u32, u32)>,
    every: Option<(u32, u32)>,
    packet: Option<u32>,
    negated: bool,
}

#[derive(Debug, Default)]
pub struct RecentBuild {
    negated: bool,
    command: Option<RecentCommand>,
    name: Option<String>,
    rdest: Option<bool>,
    seconds: Option<u32>,
    reap: bool,
    hitcount: Option<u32>,
    rttl: bool,
    mask: Option<std::net::Ipv4Addr>,
}

#[derive(Debug, Default)]
pub struct LimitBuild {
    avg: Option<u32>,
    burst: Option<u32>,
}

impl Pending {
    /// A fresh match for `-m name`; `None` if the module is unknown.
    pub fn new(name: &str) -> Option<Pending> {
        Some(match name {
            "tcp" => Pending::Tcp(TcpMatch::default()),
            "udp" => Pending::Udp(UdpMatch::default()),
            "icmp" => Pending::Icmp(None),
            "multiport" => Pending::Multiport(None),
            "addrtype" => Pending::AddrType(AddrTypeMatch::default()),
            "conntrack" => Pending::Conntrack(ConntrackMatch::default(), false),
            "state" => Pending::State(None),
            "mark" => Pending::Mark(None),
            "connmark" => Pending::Connmark(None),
            "comment" => Pending::Comment(None),
            "statistic" => Pending::Statistic(StatisticBuild::default()),
            "recent" => Pending::Recent(RecentBuild::default()),
            "limit" => Pending::Limit(LimitBuild::default()),
            "iprange" => Pending::IpRange(IpRangeMatch::default()),
            "physdev" => Pending::Physdev(PhysdevMatch::default()),
            "mac" => Pending::Mac(None),
            "owner" => Pending::Owner(OwnerMatch::default()),
            "pkttype" => Pending::PktType(None),
            "hashlimit" => Pending::HashLimit(HashLimitBuild::default()),
            "connlimit" => Pending::Connlimit(None, None, None),
            "rpfilter" => Pending::Rpfilter(RpfilterMatch::default()),
            "sctp" => Pending::Sctp(SctpMatch::default()),
            _ => return None,
        })
    }

    /// The module name, as `-m` takes it.
    pub fn name(&self) -> &str {
        match self {
            Pending::Tcp(_) => "tcp",
            Pending::Udp(_) => "udp",
            Pending::Icmp(_) => "icmp",
            Pending::Multiport(_) => "multiport",
            Pending::AddrType(_) => "addrtype",
            Pending::Conntrack(..) => "conntrack",
            Pending::State(_) => "state",
            Pending::Mark(_) => "mark",
            Pending::Connmark(_) => "connmark",
            Pending::Comment(_) => "comment",
            Pending::Statistic(_) => "statistic",
            Pending::Recent(_) => "recent",
            Pending::Limit(_) => "limit",
            Pending::IpRange(_) => "iprange",
            Pending::Physdev(_) => "physdev",
            Pending::Mac(_) => "mac",
            Pending::Owner(_) => "owner",
            Pending::PktType(_) => "pkttype",
            Pending::HashLimit(_) => "hashlimit",
            Pending::Connlimit(..) => "connlimit",
            Pending::Rpfilter(_) => "rpfilter",
            Pending::Sctp(_) => "sctp",
            Pending::Unknown { name, .. } => name,
        }
    }

    /// The long options this module takes (for getopt-style abbreviations, and to
    /// decide whether to load the implicit protocol match).
    pub fn options(&self) -> &'static [&'static str] {
        match self {
            Pending::Tcp(_) => &[
                "--source-port",
                "--sport",
                "--destination-port",
                "--dport",
                "--syn",
                "--tcp-flags",
                "--tcp-option",
            ],
            Pending::Udp(_) => &["--source-port", "--sport", "--destination-port", "--dport"],
            Pending::Icmp(_) => &["--icmp-type"],
            Pending::Multiport(_) => &[
                "--source-ports",
                "--sports",
                "--destination-ports",
                "--dports",
                "--ports",
            ],
            Pending::AddrType(_) => &[
                "--src-type",
                "--dst-type",
                "--limit-iface-in",
                "--limit-iface-out",
            ],
            Pending::Conntrack(..) => &[
                "--ctstate",
                "--ctproto",
                "--ctorigsrc",
                "--ctorigdst",
                "--ctreplsrc",
                "--ctrepldst",
                "--ctstatus",
                "--ctexpire",
                "--ctorigsrcport",
                "--ctorigdstport",
                "--ctreplsrcport",
                "--ctrepldstport",
                "--ctdir",
            ],
            Pending::State(_) => &["--state"],
            Pending::Mark(_) | Pending::Connmark(_) => &["--mark"],
            Pending::Comment(_) => &["--comment"],
            Pending::Statistic(_) => &["--mode", "--probability", "--every", "--packet"],
            Pending::Recent(_) => &[
                "--set",
                "--rcheck",
                "--update",
                "--remove",
                "--seconds",
                "--reap",
                "--hitcount",
                "--rttl",
                "--name",
                "--rsource",
                "--rdest",
                "--mask",
            ],
            Pending::Limit(_) => &["--limit", "--limit-burst"],
            Pending::IpRange(_) => &["--src-range", "--dst-range"],
            Pending::Physdev(_) => &[
                "--physdev-in",
                "--physdev-out",
                "--physdev-is-in",
                "--physdev-is-out",
                "--physdev-is-bridged",
            ],
            Pending::Mac(_) => &["--mac-source"],
            Pending::Owner(_) => &["--uid-owner", "--gid-owner", "--socket-exists"],
            Pending::PktType(_) => &["--pkt-type"],
            Pending::HashLimit(_) => &[
                "--hashlimit-upto",
                "--hashlimit-above",
                "--hashlimit",
                "--hashlimit-srcmask",
                "--hashlimit-dstmask",
                "--hashlimit-burst",
                "--hashlimit-htable-size",
                "--hashlimit-htable-max",
                "--hashlimit-htable-gcinterval",
                "--hashlimit-htable-expire",
                "--hashlimit-mode",
                "--hashlimit-name",
                "--hashlimit-rate-match",
                "--hashlimit-rate-interval",
            ],
            Pending::Connlimit(..) => &[
                "--connlimit-upto",
                "--connlimit-above",
                "--connlimit-mask",
                "--connlimit-saddr",
                "--connlimit-daddr",
            ],
            Pending::Rpfilter(_) => &["--loose", "--validmark", "--accept-local", "--invert"],
            Pending::Sctp(_) => &[
                "--source-port",
                "--sport",
                "--destination-port",
                "--dport",
                "--chunk-types",
            ],
            Pending::Unknown { .. } => &[],
        }
    }

    pub fn has_option(&self, opt: &str) -> bool {
        self.options().contains(&opt)
    }

    /// Try to consume option `opt` (already taken from `a`). `Ok(false)` if this module
    /// has no such option.
    pub fn parse_opt(
        &mut self,
        opt: &Token,
        inv: Option<u32>,
        a: &mut Args,
        proto: Option<&Neg<Protocol>>,
    ) -> Result<bool, ParseError> {
        let o = opt.as_str();
        let negated = inv.is_some();
        match self {
            Pending::Tcp(m) => match o {
                "--sport" | "--source-port" => {
                    once(a, opt, m.sport.is_some())?;
                    let v = a.value(opt)?;
                    m.sport = Some(neg(inv, port_range(a, v, "tcp")?));
                }
                "--dport" | "--destination-port" => {
                    once(a, opt, m.dport.is_some())?;
                    let v = a.value(opt)?;
                    m.dport = Some(neg(inv, port_range(a, v, "tcp")?));
                }
                "--syn" => {
                    if m.flags.is_some() {
                        return Err(a.err_at(opt, "only one of `--syn` or `--tcp-flags` allowed"));
                    }
                    // FIN,SYN,RST,ACK / SYN
                    m.flags = Some(neg(
                        inv,
                        TcpFlags {
                            mask: 0x17,
                            comp: 0x02,
                        },
                    ));
                }
                "--tcp-flags" => {
                    if m.flags.is_some() {
                        return Err(a.err_at(opt, "only one of `--syn` or `--tcp-flags` allowed"));
                    }
                    let mask = a.value(opt)?;
                    let mask_v = tcp_flag_list(a, mask)?;
                    let comp = match a.peek() {
                        Some(t) if !t.as_str().starts_with('-') && !t.as_str().starts_with('!') => {
                            a.next();
                            t
                        }
                        Some(t) => return Err(a.err_at(
                            t,
                            "`--tcp-flags` requires two arguments: MASK COMP (e.g. SYN,ACK SYN)",
                        )),
                        None => return Err(a.err(
                            a.end_col,
                            "`--tcp-flags` requires two arguments: MASK COMP (e.g. SYN,ACK SYN)",
                        )),
                    };
                    let comp_v = tcp_flag_list(a, comp)?;
                    m.flags = Some(neg(
                        inv,
                        TcpFlags {
                            mask: mask_v,
                            comp: comp_v,
                        },
                    ));
                }
                "--tcp-option" => {
                    once(a, opt, m.option.is_some())?;
                    let v = a.value(opt)?;
                    let n = parse_uint(v.as_str(), 1, 255).ok_or_else(|| {
                        a.err_at(
                            v,
                            format!("bad TCP option `{}`; expected 1-255", v.as_str()),
                        )
                    })?;
                    m.option = Some(neg(inv, n as u8));
                }
                _ => return Ok(false),
            },
            Pending::Udp(m) => match o {
                "--sport" | "--source-port" => {
                    once(a, opt, m.sport.is_some())?;
                    let v = a.value(opt)?;
                    // udp_parse takes a reversed range as it is (tcp_parse refuses it).
                    m.sport = Some(neg(
                        inv,
                        parse_port_range_unordered(v.as_str(), "udp")
                            .map_err(|e| a.err_at(v, e))?,
                    ));
                }
                "--dport" | "--destination-port" => {
                    once(a, opt, m.dport.is_some())?;
                    let v = a.value(opt)?;
                    // udp_parse takes a reversed range as it is (tcp_parse refuses it).
                    m.dport = Some(neg(
                        inv,
                        parse_port_range_unordered(v.as_str(), "udp")
                            .map_err(|e| a.err_at(v, e))?,
                    ));
                }
                _ => return Ok(false),
            },
            Pending::Sctp(m) => match o {
                // libxt_sctp's parse_sctp_ports: `port[:port]`, an empty side is 0 or
                // 65535, min > max is refused; names are looked up for "sctp".
                "--sport" | "--source-port" => {
                    once(a, opt, m.sport.is_some())?;
                    let v = a.value(opt)?;
                    m.sport = Some(neg(inv, port_range(a, v, "sctp")?));
                }
                "--dport" | "--destination-port" => {
                    once(a, opt, m.dport.is_some())?;
                    let v = a.value(opt)?;
                    m.dport = Some(neg(inv, port_range(a, v, "sctp")?));
                }
                "--chunk-types" => {
                    once(a, opt, m.chunks.is_some())?;
                    let kind = a.value(opt)?;
                    // The chunk list is the argument after the option's own.
                    let list = match a.peek() {
                        Some(t) if !t.as_str().starts_with(['-', '!']) => t,
                        Some(t) => return Err(a.err_at(t, SCTP_TWO_ARGS)),
                        None => return Err(a.err(a.end_col, SCTP_TWO_ARGS)),
                    };
                    let match_type = sctp_match_type(kind.as_str()).ok_or_else(|| {
                        a.err_at(
                            kind,
                            format!(
                                "bad chunk match type `{}`; expected all, any or only",
                                kind.as_str()
                            ),
                        )
                    })?;
                    a.next();
                    let chunks =
                        sctp_chunks(list.as_str(), match_type).map_err(|e| a.err_at(list, e))?;
                    m.chunks = Some(neg(inv, chunks));
                }
                _ => return Ok(false),
            },
            Pending::Icmp(m) => match o {
                "--icmp-type" => {
                    once(a, opt, m.is_some())?;
                    let v = a.value(opt)?;
                    *m = Some(neg(inv, icmp_type(a, v)?));
                }
                _ => return Ok(false),
            },
            Pending::Multiport(m) => {
                let kind = match o {
                    "--sports" | "--source-ports" => MultiportKind::Source,
                    "--dports" | "--destination-ports" => MultiportKind::Destination,
                    "--ports" => MultiportKind::Either,
                    _ => return Ok(false),
                };
                if m.is_some() {
                    return Err(a.err_at(opt, "multiport can only have one option"));
                }
                let pname = match proto {
                    Some(p) if !p.negated => match p.value.number() {
                        6 => "tcp",
                        17 => "udp",
                        136 => "udplite",
                        132 => "sctp",
                        33 => "dccp",
                        _ => "",
                    },
                    _ => "",
                };
                if pname.is_empty() {
                    return Err(a.err_at(
                        opt,
                        "multiport needs `-p tcp`, `-p udp`, `-p udplite`, `-p sctp` or `-p dccp`",
                    ));
                }
                let v = a.value(opt)?;
                let ports = multiport_list(a, v, pname)?;
                *m = Some(MultiportMatch {
                    kind,
                    negated,
                    ports,
                });
            }
            Pending::AddrType(m) => match o {
                "--src-type" => {
                    once(a, opt, m.src_type.is_some())?;
                    let v = a.value(opt)?;
                    m.src_type = Some(neg(inv, addr_types(a, v)?));
                }
                "--dst-type" => {
                    once(a, opt, m.dst_type.is_some())?;
                    let v = a.value(opt)?;
                    m.dst_type = Some(neg(inv, addr_types(a, v)?));
                }
                "--limit-iface-in" | "--limit-iface-out" => {
                    no_inv(a, inv, opt)?;
                    let is_in = o == "--limit-iface-in";
                    if (is_in && m.limit_iface_out) || (!is_in && m.limit_iface_in) {
                        return Err(a.err_at(
                            opt,
                            "addrtype: you can't specify both --limit-iface-in and --limit-iface-out",
                        ));
                    }
                    if is_in {
                        m.limit_iface_in = true;
                    } else {
                        m.limit_iface_out = true;
                    }
                }
                _ => return Ok(false),
            },
            Pending::Conntrack(m, any) => {
                match o {
                    "--ctstate" => {
                        once(a, opt, m.state.is_some())?;
                        let v = a.value(opt)?;
                        m.state = Some(neg(inv, ct_states(a, v, true)?));
                    }
                    "--ctstatus" => {
                        once(a, opt, m.status.is_some())?;
                        let v = a.value(opt)?;
                        m.status = Some(neg(inv, ct_statuses(a, v)?));
                    }
                    "--ctproto" => {
                        once(a, opt, m.proto.is_some())?;
                        let v = a.value(opt)?;
                        let p = protocol(a, v)?;
                        m.proto = Some(neg(inv, p));
                    }
                    "--ctorigsrc" | "--ctorigdst" | "--ctreplsrc" | "--ctrepldst" => {
                        let slot = match o {
                            "--ctorigsrc" => &mut m.orig_src,
                            "--ctorigdst" => &mut m.orig_dst,
                            "--ctreplsrc" => &mut m.repl_src,
                            _ => &mut m.repl_dst,
                        };
                        once(a, opt, slot.is_some())?;
                        let v = a.value(opt)?;
                        // conntrack keeps the address unmasked (`--ctorigsrc 10.1.2.3/16`
                        // is saved as written).
                        let net = parse_ipv4_addr_mask(v.as_str(), true)
                            .map(|(ip, len)| Ipv4Net::new(ip, len).expect("len <= 32"))
                            .map_err(|e| a.err_at(v, e))?;
                        *slot = Some(neg(inv, net));
                    }
                    "--ctorigsrcport" | "--ctorigdstport" | "--ctreplsrcport"
                    | "--ctrepldstport" => {
                        let slot = match o {
                            "--ctorigsrcport" => &mut m.orig_src_port,
                            "--ctorigdstport" => &mut m.orig_dst_port,
                            "--ctreplsrcport" => &mut m.repl_src_port,
                            _ => &mut m.repl_dst_port,
                        };
                        once(a, opt, slot.is_some())?;
                        let v = a.value(opt)?;
                        let r = ct_port_range(a, v)?;
                        *slot = Some(neg(inv, r));
                    }
                    "--ctexpire" => {
                        once(a, opt, m.expire.is_some())?;
                        let v = a.value(opt)?;
                        let bad = || {
                            a.err_at(
                                v,
                                format!(
                                    "invalid value `{}` for --ctexpire; expected min[:max] seconds",
                                    v.as_str()
                                ),
                            )
                        };
                        let (lo, hi) = match v.as_str().split_once(':') {
                            None => {
                                let x = parse_u32(v.as_str()).ok_or_else(bad)?;
                                (x, x)
                            }
                            Some((l, h)) => {
                                (parse_u32(l).ok_or_else(bad)?, parse_u32(h).ok_or_else(bad)?)
                            }
                        };
                        m.expire = Some(neg(inv, (lo, hi)));
                    }
                    "--ctdir" => {
                        no_inv(a, inv, opt)?;
                        once(a, opt, m.dir.is_some())?;
                        let v = a.value(opt)?;
                        m.dir = Some(match v.as_str().to_ascii_uppercase().as_str() {
                            "ORIGINAL" => CtDir::Original,
                            "REPLY" => CtDir::Reply,
                            _ => {
                                return Err(a.err_at(
                                    v,
                                    format!(
                                        "unknown --ctdir `{}`; expected ORIGINAL or REPLY",
                                        v.as_str()
                                    ),
                                ))
                            }
                        });
                    }
                    _ => return Ok(false),
                }
                *any = true;
            }
            Pending::State(m) => match o {
                "--state" => {
                    once(a, opt, m.is_some())?;
                    let v = a.value(opt)?;
                    *m = Some(neg(inv, ct_states(a, v, false)?));
                }
                _ => return Ok(false),
            },
            Pending::Mark(m) | Pending::Connmark(m) => match o {
                "--mark" => {
                    once(a, opt, m.is_some())?;
                    let v = a.value(opt)?;
                    let (value, mask) = parse_mark_mask(v.as_str()).map_err(|e| a.err_at(v, e))?;
                    *m = Some(MarkMatch {
                        negated,
                        value,
                        mask,
                    });
                }
                _ => return Ok(false),
            },
            Pending::Comment(m) => match o {
                "--comment" => {
                    no_inv(a, inv, opt)?;
                    once(a, opt, m.is_some())?;
                    let v = a.value(opt)?;
                    // xt_comment_info holds 256 bytes: longer comments are cut to 255.
                    *m = Some(truncate_bytes(v.as_str(), 255).to_string());
                }
                _ => return Ok(false),
            },
            Pending::Statistic(s) => match o {
                "--mode" => {
                    no_inv(a, inv, opt)?;
                    once(a, opt, s.mode.is_some())?;
                    let v = a.value(opt)?;
                    let nth = match v.as_str() {
                        "random" => false,
                        "nth" => true,
                        _ => {
                            return Err(a.err_at(
                                v,
                                format!("bad mode `{}`; expected random or nth", v.as_str()),
                            ))
                        }
                    };
                    s.mode = Some((nth, opt.col));
                }
                "--probability" => {
                    once(a, opt, s.probability.is_some())?;
                    let v = a.value(opt)?;
                    let p: f64 = v
                        .as_str()
                        .parse()
                        .ok()
                        .filter(|p: &f64| (0.0..=1.0).contains(p))
                        .ok_or_else(|| {
                            a.err_at(
                                v,
                                format!(
                                    "invalid --probability `{}`; expected a number between 0 and 1",
                                    v.as_str()
                                ),
                            )
                        })?;
                    // libxt_statistic: probability = lround(0x80000000 * p)
                    s.probability = Some(((0x8000_0000u64 as f64 * p).round() as u32, opt.col));
                    s.negated |= negated;
                }
                "--every" => {
                    once(a, opt, s.every.is_some())?;
                    let v = a.value(opt)?;
                    let n = parse_uint(v.as_str(), 1, u32::MAX as u64).ok_or_else(|| {
                        a.err_at(
                            v,
                            format!("invalid --every `{}`; expected a number >= 1", v.as_str()),
                        )
                    })?;
                    s.every = Some((n as u32, opt.col));
                    s.negated |= negated;
                }
                "--packet" => {
                    no_inv(a, inv, opt)?;
                    once(a, opt, s.packet.is_some())?;
                    let v = a.value(opt)?;
                    let n = parse_u32(v.as_str())
                        .ok_or_else(|| a.err_at(v, format!("invalid --packet `{}`", v.as_str())))?;
                    s.packet = Some(n);
                }
                _ => return Ok(false),
            },
            Pending::Recent(r) => match o {
                "--set" | "--rcheck" | "--update" | "--remove" => {
                    if r.command.is_some() {
                        return Err(a.err_at(
                            opt,
                            "recent: only one of `--set`, `--rcheck`, `--update` or `--remove` may be set",
                        ));
                    }
                    r.command = Some(match o {
                        "--set" => RecentCommand::Set,
                        "--rcheck" => RecentCommand::Rcheck,
                        "--update" => RecentCommand::Update,
                        _ => RecentCommand::Remove,
                    });
                    r.negated = negated;
                }
                "--seconds" | "--hitcount" => {
                    no_inv(a, inv, opt)?;
                    let v = a.value(opt)?;
                    let n = parse_uint(v.as_str(), 1, u32::MAX as u64).ok_or_else(|| {
                        a.err_at(
                            v,
                            format!(
                                "invalid value `{}` for {o}; expected 1-4294967295",
                                v.as_str()
                            ),
                        )
                    })? as u32;
                    if o == "--seconds" {
                        r.seconds = Some(n);
                    } else {
                        r.hitcount = Some(n);
                    }
                }
                "--reap" => {
                    no_inv(a, inv, opt)?;
                    r.reap = true;
                }
                "--rttl" => {
                    no_inv(a, inv, opt)?;
                    r.rttl = true;
                }
                "--name" => {
                    no_inv(a, inv, opt)?;
                    let v = a.value(opt)?;
                    if v.as_str().is_empty() || v.as_str().len() > 199 {
                        return Err(a.err_at(
                            v,
                            "recent: --name must be 1 to 199 characters (the kernel refuses it otherwise)",
                        ));
                    }
                    r.name = Some(v.as_str().to_string());
                }
                "--rsource" | "--rdest" => {
                    no_inv(a, inv, opt)?;
                    r.rdest = Some(o == "--rdest");
                }
                "--mask" => {
                    no_inv(a, inv, opt)?;
                    let v = a.value(opt)?;
                    let m = parse_ipv4(v.as_str(), true)
                        .ok_or_else(|| a.err_at(v, format!("invalid --mask `{}`", v.as_str())))?;
                    r.mask = Some(m);
                }
                _ => return Ok(false),
            },
            Pending::Limit(l) => match o {
                "--limit" => {
                    no_inv(a, inv, opt)?;
                    once(a, opt, l.avg.is_some())?;
                    let v = a.value(opt)?;
                    l.avg = Some(limit_rate(a, v)?);
                }
                "--limit-burst" => {
                    no_inv(a, inv, opt)?;
                    once(a, opt, l.burst.is_some())?;
                    let v = a.value(opt)?;
                    let b = parse_uint(v.as_str(), 0, 10000).ok_or_else(|| {
                        a.err_at(
                            v,
                            format!("invalid --limit-burst `{}`; expected 0-10000", v.as_str()),
                        )
                    })?;
                    l.burst = Some(b as u32);
                }
                _ => return Ok(false),
            },
            Pending::IpRange(m) => match o {
                "--src-range" | "--dst-range" => {
                    let slot = if o == "--src-range" {
                        &mut m.src
                    } else {
                        &mut m.dst
                    };
                    once(a, opt, slot.is_some())?;
                    let v = a.value(opt)?;
                    let bad = || {
                        a.err_at(
                            v,
                            format!(
                                "invalid address range `{}`; expected ADDR[-ADDR]",
                                v.as_str()
                            ),
                        )
                    };
                    let (lo, hi) = match v.as_str().split_once('-') {
                        Some((l, h)) => (
                            parse_ipv4(l, false).ok_or_else(bad)?,
                            parse_ipv4(h, false).ok_or_else(bad)?,
                        ),
                        None => {
                            let x = parse_ipv4(v.as_str(), false).ok_or_else(bad)?;
                            (x, x)
                        }
                    };
                    *slot = Some(neg(inv, (lo, hi)));
                }
                _ => return Ok(false),
            },
            Pending::Physdev(m) => match o {
                "--physdev-in" | "--physdev-out" => {
                    let slot = if o == "--physdev-in" {
                        &mut m.in_dev
                    } else {
                        &mut m.out_dev
                    };
                    once(a, opt, slot.is_some())?;
                    let v = a.value(opt)?;
                    *slot = Some(neg(inv, iface(a, v)?));
                }
                "--physdev-is-in" | "--physdev-is-out" | "--physdev-is-bridged" => {
                    let slot = match o {
                        "--physdev-is-in" => &mut m.is_in,
                        "--physdev-is-out" => &mut m.is_out,
                        _ => &mut m.is_bridged,
                    };
                    once(a, opt, slot.is_some())?;
                    *slot = Some(neg(inv, ()));
                }
                _ => return Ok(false),
            },
            Pending::Mac(m) => match o {
                "--mac-source" => {
                    once(a, opt, m.is_some())?;
                    let v = a.value(opt)?;
                    let mac = parse_mac(v.as_str()).ok_or_else(|| {
                        a.err_at(
                            v,
                            format!(
                                "bad mac address `{}`; expected XX:XX:XX:XX:XX:XX",
                                v.as_str()
                            ),
                        )
                    })?;
                    *m = Some(neg(inv, mac));
                }
                _ => return Ok(false),
            },
            Pending::Owner(m) => match o {
                "--uid-owner" | "--gid-owner" => {
                    let slot = if o == "--uid-owner" {
                        &mut m.uid
                    } else {
                        &mut m.gid
                    };
                    once(a, opt, slot.is_some())?;
                    let v = a.value(opt)?;
                    let r = id_range(a, v, o == "--uid-owner")?;
                    if r.0 > r.1 {
                        return Err(a.err_at(
                            v,
                            format!(
                                "owner: range `{}` has min > max (the kernel refuses it)",
                                v.as_str()
                            ),
                        ));
                    }
                    *slot = Some(neg(inv, r));
                }
                "--socket-exists" => {
                    once(a, opt, m.socket_exists.is_some())?;
                    m.socket_exists = Some(neg(inv, ()));
                }
                _ => return Ok(false),
            },
            Pending::PktType(m) => match o {
                "--pkt-type" => {
                    once(a, opt, m.is_some())?;
                    let v = a.value(opt)?;
                    let t = match v.as_str().to_ascii_lowercase().as_str() {
                        "unicast" | "host" => PktType::Unicast,
                        "broadcast" => PktType::Broadcast,
                        "multicast" => PktType::Multicast,
                        "otherhost" => PktType::OtherHost,
                        _ => return Err(a.err_at(
                            v,
                            format!(
                                "bad packet type `{}`; expected unicast, broadcast, multicast or otherhost",
                                v.as_str()
                            ),
                        )),
                    };
                    *m = Some(neg(inv, t));
                }
                _ => return Ok(false),
            },
            Pending::HashLimit(h) => match o {
                "--hashlimit-upto" | "--hashlimit-above" | "--hashlimit" => {
                    if h.rate.is_some() {
                        return Err(a.err_at(
                            opt,
                            "hashlimit: only one of --hashlimit-upto and --hashlimit-above may be given",
                        ));
                    }
                    let v = a.value(opt)?;
                    // parse_bytes() first, then parse_rate().
                    let (avg, mult, bytes) = match hashlimit_bytes(a, v)? {
                        Some(cost) => (cost, 15, true),
                        None => {
                            let (avg, mult) = hashlimit_rate(a, v)?;
                            (avg, mult, false)
                        }
                    };
                    // `!` turns upto into above and back (XT_HASHLIMIT_INVERT).
                    let above = (o == "--hashlimit-above") != negated;
                    h.rate = Some((above, avg, mult, bytes));
                }
                "--hashlimit-burst" => {
                    no_inv(a, inv, opt)?;
                    let v = a.value(opt)?;
                    // parse_burst(): a number (read as far as it goes) and an optional
                    // `k`/`m` factor (`10mb` is 10 MiB); a plain number is at most 1000000.
                    let bad = || {
                        a.err_at(
                            v,
                            "bad value for option \"--hashlimit-burst\", or out of range (1-1000000)",
                        )
                    };
                    let (n, end) = strtoul0(v.as_str())
                        .filter(|(n, _)| *n >= 1)
                        .ok_or_else(bad)?;
                    if end.is_empty() && n > 1_000_000 {
                        return Err(bad());
                    }
                    h.burst = Some((n.wrapping_mul(hashlimit_factor(end.bytes().next())), v.col));
                }
                "--hashlimit-mode" => {
                    no_inv(a, inv, opt)?;
                    let v = a.value(opt)?;
                    let mut m = (false, false, false, false);
                    for part in v.as_str().split(',') {
                        match part {
                            "srcip" => m.0 = true,
                            "srcport" => m.1 = true,
                            "dstip" => m.2 = true,
                            "dstport" => m.3 = true,
                            "none" => {}
                            _ => {
                                return Err(a.err_at(
                                    v,
                                    format!("hashlimit: invalid mode `{part}`; expected srcip, srcport, dstip, dstport or none"),
                                ))
                            }
                        }
                    }
                    h.mode = Some(m);
                }
                "--hashlimit-name" => {
                    no_inv(a, inv, opt)?;
                    let v = a.value(opt)?;
                    if v.as_str().is_empty() {
                        return Err(a.err_at(v, "hashlimit: --hashlimit-name must not be empty"));
                    }
                    h.name = Some(truncate_bytes(v.as_str(), 254).to_string());
                }
                "--hashlimit-srcmask" | "--hashlimit-dstmask" => {
                    no_inv(a, inv, opt)?;
                    let v = a.value(opt)?;
                    let n = parse_uint(v.as_str(), 0, 32).ok_or_else(|| {
                        a.err_at(
                            v,
                            format!("invalid prefix length `{}`; expected 0-32", v.as_str()),
                        )
                    })? as u8;
                    if o == "--hashlimit-srcmask" {
                        h.srcmask = Some(n);
                    } else {
                        h.dstmask = Some(n);
                    }
                }
                "--hashlimit-htable-size"
                | "--hashlimit-htable-max"
                | "--hashlimit-htable-gcinterval"
                | "--hashlimit-htable-expire" => {
                    no_inv(a, inv, opt)?;
                    let v = a.value(opt)?;
                    let n = parse_u32(v.as_str()).ok_or_else(|| {
                        a.err_at(v, format!("invalid value `{}` for {o}", v.as_str()))
                    })?;
                    match o {
                        "--hashlimit-htable-size" => h.size = n,
                        "--hashlimit-htable-max" => h.max = n,
                        "--hashlimit-htable-gcinterval" => h.gc_interval = Some(n),
                        _ => h.expire = Some(n),
                    }
                }
                _ => {
                    return Err(a.err_at(opt, format!("hashlimit: {o} is not supported")));
                }
            },
            Pending::Connlimit(limit, mask, daddr) => match o {
                "--connlimit-upto" | "--connlimit-above" => {
                    if limit.is_some() {
                        return Err(a.err_at(
                            opt,
                            "connlimit: only one of --connlimit-upto and --connlimit-above may be given",
                        ));
                    }
                    let v = a.value(opt)?;
                    let n = parse_u32(v.as_str()).ok_or_else(|| {
                        a.err_at(v, format!("invalid connection limit `{}`", v.as_str()))
                    })?;
                    let upto = (o == "--connlimit-upto") != negated;
                    *limit = Some((upto, n));
                }
                "--connlimit-mask" => {
                    no_inv(a, inv, opt)?;
                    let v = a.value(opt)?;
                    let n = parse_uint(v.as_str(), 0, 32).ok_or_else(|| {
                        a.err_at(
                            v,
                            format!("invalid prefix length `{}`; expected 0-32", v.as_str()),
                        )
                    })? as u8;
                    *mask = Some(n);
                }
                _ => {
                    no_inv(a, inv, opt)?;
                    if daddr.is_some() {
                        return Err(a.err_at(
                            opt,
                            "connlimit: only one of --connlimit-saddr and --connlimit-daddr may be given",
                        ));
                    }
                    *daddr = Some(o == "--connlimit-daddr");
                }
            },
            Pending::Rpfilter(r) => {
                no_inv(a, inv, opt)?;
                match o {
                    "--loose" => r.loose = true,
                    "--validmark" => r.validmark = true,
                    "--accept-local" => r.accept_local = true,
                    _ => r.invert = true,
                }
            }
            Pending::Unknown { args, .. } => {
                if negated {
                    args.push("!".into());
                }
                args.push(o.to_string());
                // Take the option's values: everything up to the next option or `!`.
                while let Some(t) = a.peek() {
                    let s = t.as_str();
                    if s == "!" || (s.starts_with('-') && s.len() > 1) {
                        break;
                    }
                    args.push(s.to_string());
                    a.next();
                }
            }
        }
        Ok(true)
    }

    /// Check the finished match (what each extension's final check does) and produce
    /// the model value. `name_tok` is the `-m NAME` token (for errors); `proto` the
    /// rule's final `-p`.
    pub fn finish(
        self,
        a: &Args,
        name_col: u32,
        proto: Option<&Neg<Protocol>>,
    ) -> Result<Match, ParseError> {
        // libxt_tcp/libxt_udp/libxt_icmp: "TCP match requires '-p tcp'", with or without
        // `!` (what the kernel then takes under `!` is validate::check_rule's business).
        let need_proto_any = |p: Protocol, what: &str| -> Result<(), ParseError> {
            match proto {
                Some(x) if x.value == p => Ok(()),
                _ => Err(a.err(name_col, format!("`-m {what}` requires `-p {what}`"))),
            }
        };
        Ok(match self {
            Pending::Tcp(m) => {
                need_proto_any(Protocol::Tcp, "tcp")?;
                let mut m = m;
                drop_full_range(&mut m.sport);
                drop_full_range(&mut m.dport);
                // Under `! -p tcp` the kernel takes only part of it: see
                // validate::check_rule.
                Match::Tcp(m)
            }
            Pending::Udp(m) => {
                need_proto_any(Protocol::Udp, "udp")?;
                let mut m = m;
                drop_full_range(&mut m.sport);
                drop_full_range(&mut m.dport);
                Match::Udp(m)
            }
            Pending::Icmp(m) => {
                // `! -p icmp` passes here; the kernel refuses it (validate::check_rule).
                need_proto_any(Protocol::Icmp, "icmp")?;
                Match::Icmp(m.ok_or_else(|| {
                    a.err(name_col, "icmp: option `--icmp-type` must be specified")
                })?)
            }
            Pending::Multiport(m) => Match::Multiport(m.ok_or_else(|| {
                a.err(
                    name_col,
                    "multiport expects an option: --sports, --dports or --ports",
                )
            })?),
            Pending::AddrType(m) => {
                if m.src_type.is_none() && m.dst_type.is_none() {
                    return Err(a.err(
                        name_col,
                        "addrtype: you must specify --src-type or --dst-type",
                    ));
                }
                Match::AddrType(Box::new(m))
            }
            Pending::Conntrack(m, any) => {
                if !any {
                    return Err(a.err(name_col, "conntrack: at least one option is required"));
                }
                Match::Conntrack(Box::new(m))
            }
            Pending::State(m) => Match::State(
                m.ok_or_else(|| a.err(name_col, "state match: you must specify `--state`"))?,
            ),
            Pending::Mark(m) => {
                Match::Mark(m.ok_or_else(|| a.err(name_col, "mark match: `--mark` is required"))?)
            }
            Pending::Connmark(m) => Match::Connmark(
                m.ok_or_else(|| a.err(name_col, "connmark match: `--mark` is required"))?,
            ),
            Pending::Comment(m) => Match::Comment(
                m.ok_or_else(|| a.err(name_col, "comment match: `--comment` is required"))?,
            ),
            Pending::Statistic(s) => {
                let Some((nth, _)) = s.mode else {
                    return Err(a.err(name_col, "statistic: no --mode specified"));
                };
                let mode = if nth {
                    if let Some((_, col)) = s.probability {
                        return Err(a.err(col, "--probability can only be used in random mode"));
                    }
                    let Some((every, _)) = s.every else {
                        return Err(a.err(name_col, "statistic: --every is required in nth mode"));
                    };
                    let Some(packet) = s.packet else {
                        return Err(a.err(
                            name_col,
                            "statistic: option `--every` also requires `--packet`",
                        ));
                    };
                    if packet > every - 1 {
                        return Err(a.err(
                            name_col,
                            format!("the --packet p must be 0 <= p <= n-1 (here n = {every})"),
                        ));
                    }
                    StatisticMode::Nth { every, packet }
                } else {
                    if let Some((_, col)) = s.every {
                        return Err(a.err(col, "--every can only be used in nth mode"));
                    }
                    if s.packet.is_some() {
                        return Err(a.err(name_col, "--packet can only be used in nth mode"));
                    }
                    let Some((p, _)) = s.probability else {
                        return Err(a.err(
                            name_col,
                            "statistic: --probability is required in random mode",
                        ));
                    };
                    StatisticMode::Random {
                        probability: ProbabilityText { kernel_value: p },
                    }
                };
                Match::Statistic(StatisticMatch {
                    negated: s.negated,
                    mode,
                })
            }
            Pending::Recent(r) => {
                let Some(command) = r.command else {
                    return Err(a.err(
                        name_col,
                        "recent: you must specify one of `--set`, `--rcheck`, `--update` or `--remove`",
                    ));
                };
                if r.reap && r.seconds.is_none() {
                    return Err(a.err(
                        name_col,
                        "recent: option `--reap` also requires `--seconds`",
                    ));
                }
                // xt_recent refuses modifiers on --set/--remove.
                if matches!(command, RecentCommand::Set | RecentCommand::Remove)
                    && (r.seconds.is_some() || r.hitcount.is_some() || r.reap || r.rttl)
                {
                    return Err(a.err(
                        name_col,
                        "recent: --seconds, --hitcount, --reap and --rttl only work with --rcheck or --update (the kernel refuses them otherwise)",
                    ));
                }
                Match::Recent(Box::new(RecentMatch {
                    negated: r.negated,
                    command,
                    name: r.name.unwrap_or_else(|| "DEFAULT".to_string()),
                    rdest: r.rdest.unwrap_or(false),
                    seconds: r.seconds.filter(|&s| s != 0),
                    reap: r.reap,
                    hitcount: r.hitcount.filter(|&h| h != 0),
                    rttl: r.rttl,
                    mask: r.mask.filter(|m| *m != std::net::Ipv4Addr::BROADCAST),
                }))
            }
            Pending::Limit(l) => {
                // libxt_limit defaults: 3/hour, burst 5.
                let avg = l.avg.unwrap_or(10000 * 3600 / 3);
                let (rate, per) = limit_canonical(avg);
                Match::Limit(LimitMatch {
                    rate,
                    per,
                    // nf_tables' limit uses the default burst (5) for a burst of 0.
                    burst: l.burst.filter(|&b| b != 0).unwrap_or(5),
                })
            }
            Pending::IpRange(m) => {
                if m.src.is_none() && m.dst.is_none() {
                    return Err(a.err(
                        name_col,
                        "iprange match: you must specify `--src-range` or `--dst-range`",
                    ));
                }
                Match::IpRange(m)
            }
            Pending::Physdev(m) => {
                if m == PhysdevMatch::default() {
                    return Err(a.err(name_col, "PHYSDEV: no physdev option specified"));
                }
                Match::Physdev(Box::new(m))
            }
            Pending::Mac(m) => Match::Mac(
                m.ok_or_else(|| a.err(name_col, "mac match: `--mac-source` is required"))?,
            ),
            Pending::Owner(m) => Match::Owner(m),
            Pending::PktType(m) => Match::PktType(
                m.ok_or_else(|| a.err(name_col, "pkttype match: `--pkt-type` is required"))?,
            ),
            Pending::HashLimit(h) => {
                let Some((above, avg, mult, bytes)) = h.rate else {
                    return Err(a.err(
                        name_col,
                        "hashlimit: --hashlimit-upto or --hashlimit-above is required",
                    ));
                };
                let Some(name) = h.name else {
                    return Err(a.err(
                        name_col,
                        "hashlimit: option `--hashlimit-name` must be specified",
                    ));
                };
                let mode = h.mode.unwrap_or((false, false, false, false));
                // hashlimit_mt_check(): a byte burst becomes a multiple of the rate.
                let (burst, default_expire) = if bytes {
                    match h.burst {
                        None => (0, mult * 1000),
                        Some((b, col)) => {
                            let unit = hashlimit_cost_to_bytes(avg);
                            if b < unit || unit == 0 {
                                return Err(a.err(
                                    col,
                                    format!("hashlimit: burst cannot be smaller than {unit}b"),
                                ));
                            }
                            // `uint32_t burst = cfg.burst; burst /= unit;` (truncated).
                            let mut n = ((b as u32) as u64 / unit) as u32;
                            if b % unit != 0 {
                                n = n.wrapping_add(1);
                            }
                            // XT_HASHLIMIT_BYTE_EXPIRE_BURST
                            (u64::from(n), 60 * 1000)
                        }
                    }
                } else {
                    let b = match h.burst {
                        None => 5,
                        Some((b, col)) if b > 1_000_000 => {
                            return Err(a.err(
                                col,
                                "bad value for option \"--hashlimit-burst\", or out of range (1-1000000)",
                            ))
                        }
                        Some((b, _)) => b,
                    };
                    (b, mult * 1000)
                };
                Match::HashLimit(Box::new(HashLimitMatch {
                    above,
                    bytes,
                    avg,
                    burst,
                    src_ip: mode.0,
                    src_port: mode.1,
                    dst_ip: mode.2,
                    dst_port: mode.3,
                    name,
                    htable_size: h.size,
                    htable_max: h.max,
                    gc_interval: h.gc_interval.unwrap_or(1000),
                    // Without --hashlimit-htable-expire: the rate's unit, in ms (byte
                    // rates: 15 s, or 60 s with a burst).
                    expire: h.expire.unwrap_or(default_expire as u32),
                    srcmask: h.srcmask.unwrap_or(32),
                    dstmask: h.dstmask.unwrap_or(32),
                }))
            }
            Pending::Connlimit(limit, mask, daddr) => {
                let Some((upto, limit)) = limit else {
                    return Err(a.err(
                        name_col,
                        "connlimit: --connlimit-upto or --connlimit-above is required",
                    ));
                };
                Match::Connlimit(ConnlimitMatch {
                    upto,
                    limit,
                    mask: mask.unwrap_or(32),
                    daddr: daddr.unwrap_or(false),
                })
            }
            Pending::Rpfilter(r) => Match::Rpfilter(r),
            // `-p sctp` is the kernel's check (xt_sctp's .proto), made when the rule is
            // added: see validate::check_rule.
            Pending::Sctp(m) => Match::Sctp(Box::new(m)),
            Pending::Unknown { name, args } => Match::Unknown { name, args },
        })
    }
}

pub(crate) fn neg<T>(inv: Option<u32>, value: T) -> Neg<T> {
    Neg {
        negated: inv.is_some(),
        value,
    }
}

/// Error when an option that may appear once appears again.
pub(crate) fn once(a: &Args, opt: &Token, seen: bool) -> Result<(), ParseError> {
    if seen {
        Err(a.err_at(
            opt,
            format!("option `{}` may only be given once", opt.as_str()),
        ))
    } else {
        Ok(())
    }
}

/// Error when `!` precedes an option that cannot be inverted.
pub(crate) fn no_inv(a: &Args, inv: Option<u32>, opt: &Token) -> Result<(), ParseError> {
    match inv {
        Some(col) => Err(a.err(col, format!("option `{}` cannot be inverted", opt.as_str()))),
        None => Ok(()),
    }
}

/// A port range covering every port matches everything; iptables-save omits it
/// (tcp_save prints only when `spts != 0:65535`).
fn drop_full_range(r: &mut Option<Neg<PortRange>>) {
    if let Some(n) = r {
        if !n.negated && n.value.lo == 0 && n.value.hi == 65535 {
            *r = None;
        }
    }
}

fn port_range(a: &Args, v: &Token, proto: &str) -> Result<PortRange, ParseError> {
    parse_port_range(v.as_str(), proto).map_err(|e| a.err_at(v, e))
}

/// conntrack's `port[:port]` (XTTYPE_PORTRC): numbers or service names.
fn ct_port_range(a: &Args, v: &Token) -> Result<PortRange, ParseError> {
    let s = v.as_str();
    let one = |p: &str| -> Result<u16, ParseError> {
        parse_uint(p, 0, 65535)
            .map(|x| x as u16)
            .or_else(|| netdb::service_port(p, "tcp"))
            .or_else(|| netdb::service_port(p, "udp"))
            .ok_or_else(|| a.err_at(v, format!("invalid port/service `{p}` specified")))
    };
    match s.split_once(':') {
        None => {
            let p = one(s)?;
            Ok(PortRange::single(p))
        }
        Some((l, h)) => {
            // Saved as given, even when min > max.
            let (lo, hi) = (one(l)?, one(h)?);
            Ok(PortRange { lo, hi })
        }
    }
}

/// `-p` / `--ctproto` value: number 0-255 or name, lower-cased like iptables does.
pub(crate) fn protocol(a: &Args, v: &Token) -> Result<Protocol, ParseError> {
    let s = v.as_str();
    // The usual spellings, without the name lookups.
    match s {
        "tcp" => return Ok(Protocol::Tcp),
        "udp" => return Ok(Protocol::Udp),
        "icmp" => return Ok(Protocol::Icmp),
        _ => {}
    }
    let num = match parse_uint(s, 0, 255) {
        Some(n) => n as u8,
        None => {
            let lower = s.to_ascii_lowercase();
            netdb::protocol_by_name(&lower)
                .ok_or_else(|| a.err_at(v, format!("unknown protocol `{s}` specified")))?
        }
    };
    Ok(Protocol::from_number(num))
}

/// An interface name (`-i`, `-o`, `--physdev-in`...): at most 15 characters.
pub(crate) fn iface(a: &Args, v: &Token) -> Result<IfaceName, ParseError> {
    let s = v.as_str();
    if s.len() > 15 {
        return Err(a.err_at(
            v,
            format!("interface name `{s}` must be shorter than IFNAMSIZ (15 characters at most)"),
        ));
    }
    Ok(match s.strip_suffix('+') {
        Some(p) => IfaceName {
            name: p.to_string(),
            wildcard: true,
        },
        None => IfaceName {
            name: s.to_string(),
            wildcard: false,
        },
    })
}

const TCP_FLAG_NAMES: &[(&str, u8)] = &[
    ("FIN", 0x01),
    ("SYN", 0x02),
    ("RST", 0x04),
    ("PSH", 0x08),
    ("ACK", 0x10),
    ("URG", 0x20),
    ("ALL", 0x3F),
    ("NONE", 0),
];

fn tcp_flag_list(a: &Args, v: &Token) -> Result<u8, ParseError> {
    let mut bits = 0u8;
    for f in v.as_str().split(',').filter(|f| !f.is_empty()) {
        let (_, b) = TCP_FLAG_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(f))
            .ok_or_else(|| {
                a.err_at(
                    v,
                    format!("unknown TCP flag `{f}`; expected FIN, SYN, RST, PSH, ACK, URG, ALL or NONE"),
                )
            })?;
        bits |= b;
    }
    Ok(bits)
}

/// libipt_icmp's type table: (name, type, code_min, code_max).
pub(crate) const ICMP_TYPES: &[(&str, u8, u8, u8)] = &[
    ("any", 0xFF, 0, 0xFF),
    ("echo-reply", 0, 0, 0xFF),
    ("pong", 0, 0, 0xFF),
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
    ("ping", 8, 0, 0xFF),
    ("router-advertisement", 9, 0, 0xFF),
    ("router-solicitation", 10, 0, 0xFF),
    ("time-exceeded", 11, 0, 0xFF),
    ("ttl-exceeded", 11, 0, 0xFF),
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

fn icmp_type(a: &Args, v: &Token) -> Result<IcmpType, ParseError> {
    let s = v.as_str();
    let mk = |ty: u8, lo: u8, hi: u8| {
        if ty == 0xFF {
            // icmp_save prints any type 0xFF as `any`; the kernel matches every type.
            IcmpType::Any
        } else if lo == 0 && hi == 0xFF {
            IcmpType::Type { ty, code: None }
        } else {
            IcmpType::Type { ty, code: Some(lo) }
        }
    };
    // Names match by case-insensitive prefix, like strncasecmp(name, arg, strlen(arg)).
    let mut found: Option<&(&str, u8, u8, u8)> = None;
    for e in ICMP_TYPES {
        if e.0.len() >= s.len() && e.0[..s.len()].eq_ignore_ascii_case(s) && !s.is_empty() {
            if let Some(prev) = found {
                return Err(a.err_at(
                    v,
                    format!("ambiguous ICMP type `{s}`: `{}` or `{}`?", prev.0, e.0),
                ));
            }
            found = Some(e);
        }
    }
    if let Some(&(_, ty, lo, hi)) = found {
        return Ok(mk(ty, lo, hi));
    }
    let bad = || {
        a.err_at(
            v,
            format!("invalid ICMP type `{s}`; expected a name or type[/code]"),
        )
    };
    match s.split_once('/') {
        None => {
            let ty = parse_uint(s, 0, 255).ok_or_else(bad)? as u8;
            Ok(mk(ty, 0, 0xFF))
        }
        Some((t, c)) => {
            let ty = parse_uint(t, 0, 255).ok_or_else(bad)? as u8;
            let code = parse_uint(c, 0, 255).ok_or_else(bad)? as u8;
            Ok(mk(ty, code, code))
        }
    }
}

fn multiport_list(a: &Args, v: &Token, proto: &str) -> Result<Vec<PortRange>, ParseError> {
    let mut out = Vec::new();
    let mut slots = 0;
    for part in v.as_str().split(',') {
        let (lo, hi) = match part.split_once(':') {
            Some((l, h)) => {
                let lo = parse_port(l, proto).map_err(|e| a.err_at(v, e))?;
                let hi = parse_port(h, proto).map_err(|e| a.err_at(v, e))?;
                if lo >= hi {
                    return Err(a.err_at(v, format!("invalid portrange `{part}` specified")));
                }
                slots += 2;
                (lo, hi)
            }
            None => {
                let p = parse_port(part, proto).map_err(|e| a.err_at(v, e))?;
                slots += 1;
                (p, p)
            }
        };
        if slots > 15 {
            return Err(a.err_at(
                v,
                "too many ports specified (at most 15, a range counts as 2)",
            ));
        }
        out.push(PortRange { lo, hi });
    }
    Ok(out)
}

pub(crate) const ADDR_TYPE_NAMES: &[(&str, AddrType)] = &[
    ("UNSPEC", AddrType::Unspec),
    ("UNICAST", AddrType::Unicast),
    ("LOCAL", AddrType::Local),
    ("BROADCAST", AddrType::Broadcast),
    ("ANYCAST", AddrType::Anycast),
    ("MULTICAST", AddrType::Multicast),
    ("BLACKHOLE", AddrType::Blackhole),
    ("UNREACHABLE", AddrType::Unreachable),
    ("PROHIBIT", AddrType::Prohibit),
    ("THROW", AddrType::Throw),
    ("NAT", AddrType::Nat),
    ("XRESOLVE", AddrType::Xresolve),
];

/// A comma list of address types, kept in the kernel's bit order (how iptables-save
/// prints them) without duplicates.
fn addr_types(a: &Args, v: &Token) -> Result<Vec<AddrType>, ParseError> {
    let mut bits = 0u32;
    for part in v.as_str().split(',') {
        let i = ADDR_TYPE_NAMES
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(part))
            .ok_or_else(|| a.err_at(v, format!("addrtype: invalid address type `{part}`")))?;
        bits |= 1 << i;
    }
    Ok(ADDR_TYPE_NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, (_, t))| *t)
        .collect())
}

/// The print order of conntrack states (libxt_conntrack's print_state).
pub(crate) const CT_STATE_ORDER: &[(&str, CtState)] = &[
    ("INVALID", CtState::Invalid),
    ("NEW", CtState::New),
    ("RELATED", CtState::Related),
    ("ESTABLISHED", CtState::Established),
    ("UNTRACKED", CtState::Untracked),
    ("SNAT", CtState::Snat),
    ("DNAT", CtState::Dnat),
];

fn ct_states(a: &Args, v: &Token, allow_nat: bool) -> Result<Vec<CtState>, ParseError> {
    let mut bits = 0u32;
    for part in v.as_str().split(',') {
        let i = CT_STATE_ORDER
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(part))
            .filter(|&i| allow_nat || i < 5)
            .ok_or_else(|| {
                a.err_at(
                    v,
                    if allow_nat {
                        format!("bad ctstate `{part}`; expected INVALID, NEW, RELATED, ESTABLISHED, UNTRACKED, SNAT or DNAT")
                    } else {
                        format!("bad state `{part}`; expected INVALID, NEW, RELATED, ESTABLISHED or UNTRACKED")
                    },
                )
            })?;
        bits |= 1 << i;
    }
    Ok(CT_STATE_ORDER
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, (_, s))| *s)
        .collect())
}

pub(crate) const CT_STATUS_ORDER: &[(&str, CtStatus)] = &[
    ("EXPECTED", CtStatus::Expected),
    ("SEEN_REPLY", CtStatus::SeenReply),
    ("ASSURED", CtStatus::Assured),
    ("CONFIRMED", CtStatus::Confirmed),
];

fn ct_statuses(a: &Args, v: &Token) -> Result<Vec<CtStatus>, ParseError> {
    let mut bits = 0u32;
    for part in v.as_str().split(',') {
        if part.eq_ignore_ascii_case("NONE") {
            continue;
        }
        let i = CT_STATUS_ORDER
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(part))
            .ok_or_else(|| {
                a.err_at(
                    v,
                    format!("bad ctstatus `{part}`; expected NONE, EXPECTED, SEEN_REPLY, ASSURED or CONFIRMED"),
                )
            })?;
        bits |= 1 << i;
    }
    Ok(CT_STATUS_ORDER
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, (_, s))| *s)
        .collect())
}

/// libxt_limit's parse_rate: `N[/second|/minute|/hour|/day]` (unit by prefix) into the
/// kernel's average period in 1/10000 s.
fn limit_rate(a: &Args, v: &Token) -> Result<u32, ParseError> {
    let s = v.as_str();
    let bad = || {
        a.err_at(
            v,
            format!("bad rate `{s}`; expected N/second, N/minute, N/hour or N/day"),
        )
    };
    let (num, mult) = match s.split_once('/') {
        None => (s, 1u64),
        Some((n, unit)) => {
            if unit.is_empty() {
                return Err(bad());
            }
            let is = |full: &str| {
                full.len() >= unit.len() && full[..unit.len()].eq_ignore_ascii_case(unit)
            };
            let mult = if is("second") {
                1
            } else if is("minute") {
                60
            } else if is("hour") {
                3600
            } else if is("day") {
                86400
            } else {
                return Err(bad());
            };
            (n, mult)
        }
    };
    // atoi: leading decimal digits.
    let digits: String = num.chars().take_while(|c| c.is_ascii_digit()).collect();
    let r: u64 = digits.parse().ok().filter(|&r| r != 0).ok_or_else(bad)?;
    let avg = 10000 * mult / r;
    if avg == 0 {
        return Err(a.err_at(v, format!("rate too fast `{s}`")));
    }
    Ok(avg as u32)
}

/// libxt_limit's print_rate: the unit and count iptables-save prints for a period.
pub(crate) fn limit_canonical(period: u32) -> (u32, RateUnit) {
    const RATES: [(RateUnit, u32); 4] = [
        (RateUnit::Day, 10000 * 86400),
        (RateUnit::Hour, 10000 * 3600),
        (RateUnit::Minute, 10000 * 60),
        (RateUnit::Second, 10000),
    ];
    let mut i = 1;
    while i < RATES.len() {
        let mult = RATES[i].1;
        if period > mult || mult / period < mult % period {
            break;
        }
        i += 1;
    }
    (RATES[i - 1].1 / period, RATES[i - 1].0)
}

/// owner's `id[-id]`; names only for root (there is no passwd database here).
fn id_range(a: &Args, v: &Token, uid: bool) -> Result<(u32, u32), ParseError> {
    let s = v.as_str();
    let one = |p: &str| -> Result<u32, ParseError> {
        if p == "root" {
            return Ok(0);
        }
        parse_u32(p).ok_or_else(|| {
            a.err_at(
                v,
                format!(
                    "invalid {} `{p}`; expected a number (names other than root cannot be resolved)",
                    if uid { "UID" } else { "GID" }
                ),
            )
        })
    };
    match s.split_once('-') {
        Some((l, h)) => Ok((one(l)?, one(h)?)),
        None => {
            let x = one(s)?;
            Ok((x, x))
        }
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// iptables-nft turns a tcp (or udp) match with ports or flags (but no `--tcp-option`)
/// into native payload matches; when it reads the rule back, all of them land in one
/// `-m tcp` at the place of the first, later values winning. Do the same, so that the
/// model is what iptables-save shows (`-m tcp --dport 80 -m tcp --sport 90` is saved
/// as `-m tcp --sport 90 --dport 80`).
pub(crate) fn merge_native_matches(matches: &mut Vec<Match>, cols: &mut [u32]) {
    let native_tcp = |m: &Match| {
        matches!(m, Match::Tcp(t) if t.option.is_none()
            && (t.sport.is_some() || t.dport.is_some() || t.flags.is_some()))
    };
    let native_udp =
        |m: &Match| matches!(m, Match::Udp(u) if u.sport.is_some() || u.dport.is_some());
    let mut first_tcp: Option<usize> = None;
    let mut first_udp: Option<usize> = None;
    let mut i = 0;
    while i < matches.len() {
        if native_tcp(&matches[i]) {
            if let Some(f) = first_tcp {
                let Match::Tcp(later) = matches.remove(i) else {
                    unreachable!()
                };
                remove_col(cols, i);
                if let Match::Tcp(t) = &mut matches[f] {
                    if later.sport.is_some() {
                        t.sport = later.sport;
                    }
                    if later.dport.is_some() {
                        t.dport = later.dport;
                    }
                    if later.flags.is_some() {
                        t.flags = later.flags;
                    }
                }
                continue;
            }
            first_tcp = Some(i);
        } else if native_udp(&matches[i]) {
            if let Some(f) = first_udp {
                let Match::Udp(later) = matches.remove(i) else {
                    unreachable!()
                };
                remove_col(cols, i);
                if let Match::Udp(u) = &mut matches[f] {
                    if later.sport.is_some() {
                        u.sport = later.sport;
                    }
                    if later.dport.is_some() {
                        u.dport = later.dport;
                    }
                }
                continue;
            }
            first_udp = Some(i);
        }
        i += 1;
    }
}

/// libxt_hashlimit's parse_rate (revision 3): `N[/unit]` into the period in
/// 1/1000000 s, and the unit's length in seconds.
/// libxt_hashlimit's get_factor(): `m` is MiB, `k` KiB, anything else bytes.
fn hashlimit_factor(c: Option<u8>) -> u64 {
    match c {
        Some(b'm') => 1024 * 1024,
        Some(b'k') => 1024,
        _ => 1,
    }
}

/// libxt_hashlimit's bytes_to_cost(): the cost of 16 bytes (XT_HASHLIMIT_BYTE_SHIFT) at
/// `bytes` per second; `None` where iptables divides by zero.
pub(crate) fn hashlimit_bytes_to_cost(bytes: u64) -> Option<u64> {
    let r = (bytes >> 4) as u32;
    r.checked_add(1).map(|d| u64::from(u32::MAX / d))
}

/// libxt_hashlimit's cost_to_bytes(): the byte rate a cost stands for.
pub(crate) fn hashlimit_cost_to_bytes(cost: u64) -> u64 {
    // `cost ? UINT32_MAX / cost : UINT32_MAX`
    let r = u64::from(u32::MAX)
        .checked_div(cost)
        .unwrap_or(u64::from(u32::MAX));
    r.wrapping_sub(1) << 4
}

/// libxt_hashlimit's parse_bytes(): `N[k|m]b/s` anywhere `b/s` appears after the start
/// (`1gb/s` is 1 byte/s: `g` is no factor). `None` when this is no byte rate (then it is
/// read as a packet rate).
fn hashlimit_bytes(a: &Args, v: &Token) -> Result<Option<u64>, ParseError> {
    let s = v.as_str();
    let at = match s.find("b/s") {
        Some(at) if at > 0 => at,
        _ => return Ok(None),
    };
    // atoll()
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let r = s[..digits]
        .parse::<u64>()
        .unwrap_or(if digits > 0 { i64::MAX as u64 } else { 0 });
    if r == 0 {
        return Ok(None);
    }
    let bytes = r.wrapping_mul(hashlimit_factor(Some(s.as_bytes()[at - 1])));
    match hashlimit_bytes_to_cost(bytes) {
        Some(cost) => Ok(Some(cost)),
        None => Err(a.err_at(v, format!("hashlimit: rate too high `{s}`"))),
    }
}

/// libxt_hashlimit's print_bytes(): ` RATEb/s` and, with a burst, ` {prefix}burst Nb`;
/// returns the default expiry (ms) the rule was given.
pub(crate) fn hashlimit_write_bytes(out: &mut String, avg: u64, burst: u64, prefix: &str) -> u64 {
    use std::fmt::Write;
    const UNITS: [(&str, u64); 3] = [("m", 1024 * 1024), ("k", 1024), ("", 1)];
    let r = hashlimit_cost_to_bytes(avg);
    let i = (0..2)
        .find(|&i| {
            let t = UNITS[i].1;
            // `r & ~(units[i].thresh - 1)`: the mask is a uint32_t, so it also clears
            // the bits above 32 (4096mb/s prints as 4581298432b/s).
            r >= t && hashlimit_bytes_to_cost(r & u64::from(!(t as u32 - 1))) == Some(avg)
        })
        .unwrap_or(2);
    let _ = write!(out, " {}{}b/s", r / UNITS[i].1, UNITS[i].0);
    if burst == 0 {
        return 15 * 1000;
    }
    let r = r.wrapping_mul(burst);
    let i = (0..2).find(|&i| r >= UNITS[i].1).unwrap_or(2);
    let _ = write!(out, " {prefix}burst {}{}b", r / UNITS[i].1, UNITS[i].0);
    60 * 1000
}

fn hashlimit_rate(a: &Args, v: &Token) -> Result<(u64, u64), ParseError> {
    let s = v.as_str();
    let bad = || {
        a.err_at(
            v,
            format!("bad rate `{s}`; expected N/sec, N/min, N/hour or N/day"),
        )
    };
    let (num, mult) = match s.split_once('/') {
        None => (s, 1u64),
        Some((n, unit)) => {
            if unit.is_empty() {
                return Err(bad());
            }
            let is = |full: &str| {
                full.len() >= unit.len() && full[..unit.len()].eq_ignore_ascii_case(unit)
            };
            let mult = if is("second") {
                1
            } else if is("minute") {
                60
            } else if is("hour") {
                3600
            } else if is("day") {
                86400
            } else {
                return Err(bad());
            };
            (n, mult)
        }
    };
    let digits: String = num.chars().take_while(|c| c.is_ascii_digit()).collect();
    let r: u64 = digits.parse().ok().filter(|&r| r != 0).ok_or_else(bad)?;
    let avg = 1_000_000 * mult / r;
    if avg == 0 {
        return Err(a.err_at(v, format!("rate too fast `{s}`")));
    }
    Ok((avg, mult))
}

/// libxt_hashlimit's print_rate (revision 3): the count and unit iptables-save prints,
/// and the unit's length in ms (the default htable expiry).
pub(crate) fn hashlimit_rate_text(period: u64) -> (u64, &'static str, u64) {
    const RATES: [(&str, u64); 4] = [
        ("day", 1_000_000 * 86400),
        ("hour", 1_000_000 * 3600),
        ("min", 1_000_000 * 60),
        ("sec", 1_000_000),
    ];
    let mut i = 1;
    while i < RATES.len() {
        let mult = RATES[i].1;
        if period > mult || mult / period < mult % period {
            break;
        }
        i += 1;
    }
    (
        RATES[i - 1].1 / period,
        RATES[i - 1].0,
        RATES[i - 1].1 / 1_000_000 * 1000,
    )
}

fn remove_col(cols: &mut [u32], i: usize) {
    if i < cols.len() {
        cols.copy_within(i + 1.., i);
        let last = cols.len() - 1;
        cols[last] = 0;
    }
}

const SCTP_TWO_ARGS: &str =
    "`--chunk-types` requires two arguments: all|any|only and the chunk types (e.g. any DATA,INIT)";

/// libxt_sctp's `sctp_chunk_names[]` (iptables 1.8.9): name, chunk type, valid flags
/// (one letter per bit, bit 7 first).
pub(crate) const SCTP_CHUNK_NAMES: [(&str, u8, &[u8; 8]); 22] = [
    ("DATA", 0, b"----IUBE"),
    ("INIT", 1, b"--------"),
    ("INIT_ACK", 2, b"--------"),
    ("SACK", 3, b"--------"),
    ("HEARTBEAT", 4, b"--------"),
    ("HEARTBEAT_ACK", 5, b"--------"),
    ("ABORT", 6, b"-------T"),
    ("SHUTDOWN", 7, b"--------"),
    ("SHUTDOWN_ACK", 8, b"--------"),
    ("ERROR", 9, b"--------"),
    ("COOKIE_ECHO", 10, b"--------"),
    ("COOKIE_ACK", 11, b"--------"),
    ("ECN_ECNE", 12, b"--------"),
    ("ECN_CWR", 13, b"--------"),
    ("SHUTDOWN_COMPLETE", 14, b"-------T"),
    ("I_DATA", 64, b"----IUBE"),
    ("RE_CONFIG", 130, b"--------"),
    ("PAD", 132, b"--------"),
    ("ASCONF", 193, b"--------"),
    ("ASCONF_ACK", 128, b"--------"),
    ("FORWARD_TSN", 192, b"--------"),
    ("I_FORWARD_TSN", 194, b"--------"),
];

/// XT_NUM_SCTP_FLAGS
const SCTP_MAX_FLAG_INFO: usize = 4;

/// `--chunk-types`' first argument, case-insensitive (parse_sctp_chunks).
fn sctp_match_type(s: &str) -> Option<SctpChunkMatch> {
    if s.eq_ignore_ascii_case("any") {
        Some(SctpChunkMatch::Any)
    } else if s.eq_ignore_ascii_case("all") {
        Some(SctpChunkMatch::All)
    } else if s.eq_ignore_ascii_case("only") {
        Some(SctpChunkMatch::Only)
    } else {
        None
    }
}

/// libxt_sctp's parse_sctp_chunk: `ALL`, `NONE`, or comma-separated `NAME[:FLAGS]`
/// (names case-insensitive, empty items skipped). A flag letter in upper case must be
/// set, in lower case clear; each letter is looked up (upper-cased) in the chunk's valid
/// flags, so `-` stands for the bit of the first `-` (bit 7).
fn sctp_chunks(s: &str, match_type: SctpChunkMatch) -> Result<SctpChunks, String> {
    let mut c = SctpChunks {
        match_type,
        chunkmap: [0; 8],
        flags: Vec::new(),
    };
    if s.eq_ignore_ascii_case("ALL") {
        c.chunkmap = [u32::MAX; 8];
        return Ok(c);
    }
    if s.eq_ignore_ascii_case("NONE") {
        return Ok(c);
    }
    for item in s.split(',').filter(|x| !x.is_empty()) {
        let (name, flags) = match item.split_once(':') {
            Some((n, f)) => (n, Some(f)),
            None => (item, None),
        };
        let Some(idx) = SCTP_CHUNK_NAMES
            .iter()
            .position(|(n, _, _)| n.eq_ignore_ascii_case(name))
        else {
            return Err(format!("unknown sctp chunk `{name}`"));
        };
        let (_, ty, valid) = SCTP_CHUNK_NAMES[idx];
        c.chunkmap[usize::from(ty / 32)] |= 1 << (ty % 32);
        for f in flags.unwrap_or("").bytes() {
            let Some(p) = valid.iter().position(|&v| v == f.to_ascii_uppercase()) else {
                return Err(format!(
                    "invalid flag `{}` for sctp chunk {} (valid: {})",
                    f as char,
                    SCTP_CHUNK_NAMES[idx].0,
                    std::str::from_utf8(valid).unwrap_or("")
                ));
            };
            let bit = 1u8 << (7 - p);
            let set = f.is_ascii_uppercase();
            // save_chunk_flag_info, keyed by the table index (as iptables does).
            let k = match c
                .flags
                .iter()
                .position(|x| usize::from(x.chunk_type) == idx)
            {
                Some(k) => k,
                None => {
                    if c.flags.len() == SCTP_MAX_FLAG_INFO {
                        return Err(format!(
                            "at most {SCTP_MAX_FLAG_INFO} chunk types with flags are allowed"
                        ));
                    }
                    c.flags.push(SctpFlagInfo {
                        chunk_type: idx as u8,
                        flag: 0,
                        flag_mask: 0,
                    });
                    c.flags.len() - 1
                }
            };
            c.flags[k].flag_mask |= bit;
            if set {
                c.flags[k].flag |= bit;
            }
        }
    }
    Ok(c)
}
