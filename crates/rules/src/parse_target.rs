//! Parsing `-j TARGET` and its options, following iptables 1.8.9's target extensions
//! (extensions/libxt_*.c, libipt_*.c): accepted spellings, defaults, and checks.

use crate::args::Args;
use crate::error::ParseError;
use crate::lex::Token;
use crate::model::*;
use crate::parse_match::{no_inv, once, truncate_bytes};
use crate::values::*;
use std::net::Ipv4Addr;

/// Target extensions iptables ships (a `-j` with one of these names is a target, never a
/// chain; a chain may not be called like one). Those the model does not know are
/// refused by the strict parser and kept verbatim by the lenient one.
pub const EXTENSION_TARGETS: &[&str] = &[
    "ACCEPT",
    "DROP",
    "RETURN",
    "QUEUE",
    "AUDIT",
    "CHECKSUM",
    "CLASSIFY",
    "CLUSTERIP",
    "CONNMARK",
    "CONNSECMARK",
    "CT",
    "DNAT",
    "DNPT",
    "DSCP",
    "ECN",
    "HL",
    "HMARK",
    "IDLETIMER",
    "LED",
    "LOG",
    "MARK",
    "MASQUERADE",
    "NETMAP",
    "NFLOG",
    "NFQUEUE",
    "NOTRACK",
    "RATEEST",
    "REDIRECT",
    "REJECT",
    "SECMARK",
    "SET",
    "SNAT",
    "SNPT",
    "SYNPROXY",
    "TCPMSS",
    "TCPOPTSTRIP",
    "TEE",
    "TOS",
    "TPROXY",
    "TRACE",
    "TTL",
    "ULOG",
];

/// A target being built while its options are read.
#[derive(Debug)]
pub enum PendingTarget {
    /// ACCEPT, DROP, RETURN, NOTRACK, TRACE, jumps and gotos: no options.
    Plain(Target),
    Reject(Option<RejectWith>),
    Log(LogOptions, bool),
    Nflog(NflogOptions),
    Mark(Option<MarkAction>),
    Connmark(ConnmarkBuild),
    Dnat(Option<NatRange>, NatFlags),
    Snat(Option<NatRange>, NatFlags),
    Masquerade(Option<PortRange>, NatFlags),
    Redirect(Option<PortRange>, NatFlags),
    /// (--notrack given, the other options)
    Ct(bool, CtTarget),
    Checksum(bool),
    TcpMss(Option<TcpMssAction>),
    Unknown {
        name: String,
        args: Vec<String>,
    },
}

#[derive(Debug, Default)]
pub struct ConnmarkBuild {
    /// 0 = none, 1 = set, 2 = save, 3 = restore
    mode: u8,
    /// which of --mask, --nfmask, --ctmask were given (bits 0, 1, 2)
    masks_given: u8,
    ctmark: u32,
    ctmask: Option<u32>,
    nfmask: Option<u32>,
}

/// What `-j NAME` is.
pub enum TargetKind {
    Known(PendingTarget),
    /// A target extension the model does not support.
    Unsupported,
    /// Not a target: a jump to a chain.
    Chain,
}

pub fn lookup(name: &str) -> TargetKind {
    let p = match name {
        "ACCEPT" => PendingTarget::Plain(Target::Accept),
        "DROP" => PendingTarget::Plain(Target::Drop),
        "RETURN" => PendingTarget::Plain(Target::Return),
        "NOTRACK" => PendingTarget::Plain(Target::Notrack { ct_syntax: false }),
        "TRACE" => PendingTarget::Plain(Target::Trace),
        "REJECT" => PendingTarget::Reject(None),
        "LOG" => PendingTarget::Log(LogOptions::default(), false),
        "NFLOG" => PendingTarget::Nflog(NflogOptions::default()),
        "MARK" => PendingTarget::Mark(None),
        "CONNMARK" => PendingTarget::Connmark(ConnmarkBuild::default()),
        "DNAT" => PendingTarget::Dnat(None, NatFlags::default()),
        "SNAT" => PendingTarget::Snat(None, NatFlags::default()),
        "MASQUERADE" => PendingTarget::Masquerade(None, NatFlags::default()),
        "REDIRECT" => PendingTarget::Redirect(None, NatFlags::default()),
        "CT" => PendingTarget::Ct(false, CtTarget::default()),
        "CHECKSUM" => PendingTarget::Checksum(false),
        "TCPMSS" => PendingTarget::TcpMss(None),
        // Target names are short and all upper case; most chain names are not.
        _ if name.len() > 11 || !name.bytes().all(|b| b.is_ascii_uppercase()) => {
            return TargetKind::Chain
        }
        _ => {
            return if EXTENSION_TARGETS.contains(&name) {
                TargetKind::Unsupported
            } else {
                TargetKind::Chain
            }
        }
    };
    TargetKind::Known(p)
}

/// `--reject-with` names and aliases (libipt_REJECT's reject_table).
pub(crate) const REJECT_NAMES: &[(&str, &str, RejectWith)] = &[
    (
        "icmp-net-unreachable",
        "net-unreach",
        RejectWith::IcmpNetUnreachable,
    ),
    (
        "icmp-host-unreachable",
        "host-unreach",
        RejectWith::IcmpHostUnreachable,
    ),
    (
        "icmp-proto-unreachable",
        "proto-unreach",
        RejectWith::IcmpProtoUnreachable,
    ),
    (
        "icmp-port-unreachable",
        "port-unreach",
        RejectWith::IcmpPortUnreachable,
    ),
    (
        "icmp-net-prohibited",
        "net-prohib",
        RejectWith::IcmpNetProhibited,
    ),
    (
        "icmp-host-prohibited",
        "host-prohib",
        RejectWith::IcmpHostProhibited,
    ),
    ("tcp-reset", "tcp-rst", RejectWith::TcpReset),
    (
        "icmp-admin-prohibited",
        "admin-prohib",
        RejectWith::IcmpAdminProhibited,
    ),
];

const LOG_LEVELS: &[(&str, u8)] = &[
    ("alert", 1),
    ("crit", 2),
    ("debug", 7),
    ("emerg", 0),
    ("error", 3),
    ("info", 6),
    ("notice", 5),
    ("panic", 0),
    ("warning", 4),
];

/// libxt_NAT & co accept a port with these protocols (`! -p tcp` included: the check
/// looks at the number only).
fn ports_ok(proto: Option<&Neg<Protocol>>) -> bool {
    matches!(proto, Some(p) if matches!(p.value.number(), 1 | 6 | 17 | 33 | 132))
}

impl PendingTarget {
    pub fn parse_opt(
        &mut self,
        opt: &Token,
        inv: Option<u32>,
        a: &mut Args,
        proto: Option<&Neg<Protocol>>,
    ) -> Result<bool, ParseError> {
        let o = opt.as_str();
        if !matches!(self, PendingTarget::Unknown { .. }) && !self.has_option(o) {
            return Ok(false);
        }
        if !matches!(self, PendingTarget::Unknown { .. }) {
            no_inv(a, inv, opt)?;
        }
        let snat = matches!(self, PendingTarget::Snat(..));
        let redirect = matches!(self, PendingTarget::Redirect(..));
        match self {
            PendingTarget::Plain(_) => return Ok(false),
            PendingTarget::Reject(w) => {
                once(a, opt, w.is_some())?;
                let v = a.value(opt)?;
                let s = v.as_str();
                // strncasecmp(name, arg, strlen(arg)): any prefix of a name or alias.
                let pre = |n: &str| {
                    !s.is_empty() && n.len() >= s.len() && n[..s.len()].eq_ignore_ascii_case(s)
                };
                let found = REJECT_NAMES
                    .iter()
                    .find(|(n, al, _)| pre(n) || pre(al))
                    .ok_or_else(|| a.err_at(v, format!("unknown reject type `{s}`")))?;
                *w = Some(found.2);
            }
            PendingTarget::Log(l, level_seen) => match o {
                "--log-level" => {
                    once(a, opt, *level_seen)?;
                    let v = a.value(opt)?;
                    let s = v.as_str();
                    let lvl = parse_uint(s, 0, 7)
                        .map(|x| x as u8)
                        .or_else(|| LOG_LEVELS.iter().find(|(n, _)| *n == s).map(|x| x.1))
                        .ok_or_else(|| {
                            a.err_at(
                                v,
                                format!("bad log level `{s}`; expected 0-7 or emerg, alert, crit, error, warning, notice, info, debug"),
                            )
                        })?;
                    *level_seen = true;
                    // Level 4 (warning) is the default and is not saved.
                    l.level = (lvl != 4).then_some(lvl);
                }
                "--log-prefix" => {
                    once(a, opt, l.prefix.is_some())?;
                    let v = a.value(opt)?;
                    let s = v.as_str();
                    if s.is_empty() {
                        return Err(a.err_at(v, "--log-prefix must not be empty"));
                    }
                    if s.contains('\n') {
                        return Err(a.err_at(v, "newlines not allowed in --log-prefix"));
                    }
                    // xt_log_info holds 30 bytes: longer prefixes are cut to 29.
                    l.prefix = Some(truncate_bytes(s, 29).to_string());
                }
                "--log-tcp-sequence" => l.tcp_sequence = true,
                "--log-tcp-options" => l.tcp_options = true,
                "--log-ip-options" => l.ip_options = true,
                "--log-uid" => l.uid = true,
                "--log-macdecode" => l.macdecode = true,
                _ => unreachable!(),
            },
            PendingTarget::Nflog(n) => {
                let v = a.value(opt)?;
                let s = v.as_str();
                let num = |max: u64| {
                    parse_uint(s, 0, max).ok_or_else(|| {
                        a.err_at(v, format!("invalid value `{s}` for {o}; expected 0-{max}"))
                    })
                };
                match o {
                    "--nflog-group" => n.group = Some(num(65535)? as u16).filter(|&g| g != 0),
                    "--nflog-prefix" => {
                        if s.is_empty() {
                            return Err(a.err_at(v, "--nflog-prefix must not be empty"));
                        }
                        n.prefix = Some(truncate_bytes(s, 63).to_string());
                    }
                    "--nflog-range" => {
                        // Accepted but lost: iptables-nft turns NFLOG into nft's `log`,
                        // which has no such field ("--nflog-range has never worked").
                        num(u32::MAX as u64)?;
                        if n.size.is_some() {
                            return Err(a.err_at(
                                opt,
                                "NFLOG: --nflog-range and --nflog-size are mutually exclusive",
                            ));
                        }
                        n.range = Some(0);
                    }
                    "--nflog-size" => {
                        if n.range.is_some() {
                            return Err(a.err_at(
                                opt,
                                "NFLOG: --nflog-range and --nflog-size are mutually exclusive",
                            ));
                        }
                        n.size = Some(num(u32::MAX as u64)? as u32)
                    }
                    "--nflog-threshold" => {
                        n.threshold = Some(num(65535)? as u16).filter(|&t| t != 0)
                    }
                    _ => unreachable!(),
                }
            }
            PendingTarget::Mark(m) => {
                if m.is_some() {
                    return Err(a.err_at(
                        opt,
                        "MARK target: only one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark may be given",
                    ));
                }
                let v = a.value(opt)?;
                let s = v.as_str();
                // libxt_MARK (revision 2) turns every form into mark/mask for
                // `(skb->mark & ~mask) ^ mark`.
                let (mark, mask) = match o {
                    "--set-xmark" => parse_mark_mask(s).map_err(|e| a.err_at(v, e))?,
                    "--set-mark" => {
                        let (v_, m_) = parse_mark_mask(s).map_err(|e| a.err_at(v, e))?;
                        (v_, v_ | m_)
                    }
                    _ => {
                        let bits = parse_u32(s)
                            .ok_or_else(|| a.err_at(v, format!("bad mark value `{s}` for {o}")))?;
                        match o {
                            "--and-mark" => (0, !bits),
                            "--or-mark" => (bits, bits),
                            _ => (bits, 0),
                        }
                    }
                };
                *m = Some(MarkAction::SetXmark { value: mark, mask });
            }
            PendingTarget::Connmark(c) => {
                let set_mode = |c: &mut ConnmarkBuild, mode: u8| -> Result<(), ParseError> {
                    if c.mode != 0 {
                        return Err(a.err_at(
                            opt,
                            "CONNMARK target: only one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark, --save-mark, --restore-mark may be given",
                        ));
                    }
                    c.mode = mode;
                    Ok(())
                };
                match o {
                    "--save-mark" => set_mode(c, 2)?,
                    "--restore-mark" => set_mode(c, 3)?,
                    "--mask" | "--nfmask" | "--ctmask" => {
                        let bit = match o {
                            "--mask" => 1,
                            "--nfmask" => 2,
                            _ => 4,
                        };
                        if c.masks_given & bit != 0 {
                            return Err(
                                a.err_at(opt, format!("option `{o}` may only be given once"))
                            );
                        }
                        if (bit == 1 && c.masks_given != 0) || (bit != 1 && c.masks_given & 1 != 0)
                        {
                            return Err(a.err_at(
                                opt,
                                "CONNMARK: --mask cannot be used together with --nfmask or --ctmask",
                            ));
                        }
                        c.masks_given |= bit;
                        let v = a.value(opt)?;
                        let m = parse_u32(v.as_str()).ok_or_else(|| {
                            a.err_at(v, format!("bad mask value `{}` for {o}", v.as_str()))
                        })?;
                        if o != "--ctmask" {
                            c.nfmask = Some(m);
                        }
                        if o != "--nfmask" {
                            c.ctmask = Some(m);
                        }
                    }
                    _ => {
                        set_mode(c, 1)?;
                        let v = a.value(opt)?;
                        let s = v.as_str();
                        let (mark, mask) = match o {
                            "--set-xmark" => parse_mark_mask(s).map_err(|e| a.err_at(v, e))?,
                            "--set-mark" => {
                                let (v_, m_) = parse_mark_mask(s).map_err(|e| a.err_at(v, e))?;
                                (v_, v_ | m_)
                            }
                            _ => {
                                let bits = parse_u32(s).ok_or_else(|| {
                                    a.err_at(v, format!("bad mark value `{s}` for {o}"))
                                })?;
                                match o {
                                    "--and-mark" => (0, !bits),
                                    "--or-mark" => (bits, bits),
                                    _ => (bits, 0),
                                }
                            }
                        };
                        c.ctmark = mark;
                        c.ctmask = Some(mask);
                    }
                }
            }
            PendingTarget::Dnat(range, flags) | PendingTarget::Snat(range, flags) => match o {
                "--to-destination" | "--to-source" => {
                    if range.is_some() {
                        return Err(a.err_at(opt, format!("multiple {o} are not supported")));
                    }
                    let v = a.value(opt)?;
                    *range = Some(nat_range(a, v, ports_ok(proto), snat)?);
                }
                "--random" => flags.random = true,
                "--random-fully" => flags.random_fully = true,
                "--persistent" => flags.persistent = true,
                _ => unreachable!(),
            },
            PendingTarget::Masquerade(ports, flags) | PendingTarget::Redirect(ports, flags) => {
                match o {
                    "--to-ports" => {
                        once(a, opt, ports.is_some())?;
                        let v = a.value(opt)?;
                        if !ports_ok(proto) {
                            return Err(a.err_at(
                                opt,
                                "need TCP, UDP, SCTP or DCCP with port specification",
                            ));
                        }
                        let (range, base) = port_span(a, v, v.as_str())?;
                        if base.is_some() {
                            if redirect {
                                // libxt_NAT's REDIRECT (revision 0) has no room for it.
                                return Err(a.err_at(
                                    v,
                                    "shifted portmap ranges not supported with this kernel",
                                ));
                            }
                            flags.proto_offset = true;
                        }
                        *ports = Some(range);
                    }
                    "--random" => flags.random = true,
                    "--random-fully" => flags.random_fully = true,
                    _ => unreachable!(),
                }
            }
            PendingTarget::Ct(n, ct) => match o {
                "--notrack" => *n = true,
                "--helper" => {
                    let v = a.value(opt)?;
                    if v.as_str().is_empty() || v.as_str().len() > 15 {
                        return Err(a.err_at(v, "CT: --helper needs a name of 1 to 15 characters"));
                    }
                    ct.helper = Some(v.as_str().to_string());
                }
                _ => {
                    let v = a.value(opt)?;
                    let z = parse_uint(v.as_str(), 0, 65535).ok_or_else(|| {
                        a.err_at(v, format!("bad --zone `{}`; expected 0-65535", v.as_str()))
                    })?;
                    ct.zone = Some(z as u16).filter(|&z| z != 0);
                }
            },
            PendingTarget::Checksum(f) => *f = true,
            PendingTarget::TcpMss(m) => {
                if m.is_some() {
                    return Err(a.err_at(opt, "TCPMSS target: only one option may be specified"));
                }
                *m = Some(if o == "--set-mss" {
                    let v = a.value(opt)?;
                    let n = parse_uint(v.as_str(), 0, 65535).ok_or_else(|| {
                        a.err_at(v, format!("bad TCP MSS value `{}`", v.as_str()))
                    })?;
                    TcpMssAction::SetMss(n as u16)
                } else {
                    TcpMssAction::ClampToPmtu
                });
            }
            PendingTarget::Unknown { args, .. } => {
                if inv.is_some() {
                    args.push("!".into());
                }
                args.push(o.to_string());
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

    /// The long options this target takes.
    pub fn options(&self) -> &'static [&'static str] {
        match self {
            PendingTarget::Plain(_) | PendingTarget::Unknown { .. } => &[],
            PendingTarget::Reject(_) => &["--reject-with"],
            PendingTarget::Log(..) => &[
                "--log-level",
                "--log-prefix",
                "--log-tcp-sequence",
                "--log-tcp-options",
                "--log-ip-options",
                "--log-uid",
                "--log-macdecode",
            ],
            PendingTarget::Nflog(_) => &[
                "--nflog-group",
                "--nflog-prefix",
                "--nflog-range",
                "--nflog-size",
                "--nflog-threshold",
            ],
            PendingTarget::Mark(_) => &[
                "--set-xmark",
                "--set-mark",
                "--and-mark",
                "--or-mark",
                "--xor-mark",
            ],
            PendingTarget::Connmark(_) => &[
                "--set-xmark",
                "--set-mark",
                "--and-mark",
                "--or-mark",
                "--xor-mark",
                "--save-mark",
                "--restore-mark",
                "--mask",
                "--nfmask",
                "--ctmask",
            ],
            PendingTarget::Dnat(..) => &["--to-destination", "--random", "--persistent"],
            PendingTarget::Snat(..) => {
                &["--to-source", "--random", "--random-fully", "--persistent"]
            }
            PendingTarget::Masquerade(..) => &["--to-ports", "--random", "--random-fully"],
            PendingTarget::Redirect(..) => &["--to-ports", "--random"],
            PendingTarget::Ct(..) => &["--notrack", "--helper", "--zone"],
            PendingTarget::Checksum(_) => &["--checksum-fill"],
            PendingTarget::TcpMss(_) => &["--set-mss", "--clamp-mss-to-pmtu"],
        }
    }

    fn has_option(&self, o: &str) -> bool {
        self.options().contains(&o)
    }

    pub fn finish(
        self,
        a: &Args,
        name_col: u32,
        proto: Option<&Neg<Protocol>>,
    ) -> Result<Target, ParseError> {
        Ok(match self {
            PendingTarget::Plain(t) => t,
            PendingTarget::Reject(w) => {
                let w = w.unwrap_or(RejectWith::IcmpPortUnreachable);
                if w == RejectWith::TcpReset
                    && !matches!(proto, Some(p) if !p.negated && p.value == Protocol::Tcp)
                {
                    return Err(a.err(
                        name_col,
                        "REJECT --reject-with tcp-reset requires `-p tcp` (the kernel refuses it otherwise)",
                    ));
                }
                Target::Reject(w)
            }
            PendingTarget::Log(l, _) => Target::Log(l),
            PendingTarget::Nflog(mut n) => {
                n.range = None;
                Target::Nflog(n)
            }
            PendingTarget::Mark(m) => Target::Mark(m.ok_or_else(|| {
                a.err(
                    name_col,
                    "MARK target: one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark is required",
                )
            })?),
            PendingTarget::Connmark(c) => Target::Connmark(match c.mode {
                1 => ConnmarkAction::SetXmark {
                    value: c.ctmark,
                    mask: c.ctmask.unwrap_or(u32::MAX),
                },
                2 => ConnmarkAction::Save {
                    nfmask: c.nfmask.unwrap_or(u32::MAX),
                    ctmask: c.ctmask.unwrap_or(u32::MAX),
                },
                3 => ConnmarkAction::Restore {
                    nfmask: c.nfmask.unwrap_or(u32::MAX),
                    ctmask: c.ctmask.unwrap_or(u32::MAX),
                },
                _ => {
                    return Err(a.err(name_col, "CONNMARK target: no operation specified"));
                }
            }),
            PendingTarget::Dnat(range, flags) => Target::Dnat {
                range: range.ok_or_else(|| {
                    a.err(name_col, "DNAT target: --to-destination is required")
                })?,
                flags,
            },
            PendingTarget::Snat(range, flags) => Target::Snat {
                range: range
                    .ok_or_else(|| a.err(name_col, "SNAT target: --to-source is required"))?,
                flags,
            },
            PendingTarget::Masquerade(ports, flags) => Target::Masquerade { ports, flags },
            PendingTarget::Redirect(ports, flags) => Target::Redirect { ports, flags },
            PendingTarget::Ct(notrack, ct) => {
                if !notrack {
                    Target::Ct(ct)
                } else if ct == CtTarget::default() {
                    Target::Notrack { ct_syntax: true }
                } else {
                    return Err(a.err(
                        name_col,
                        "CT --notrack combined with other CT options is not supported",
                    ));
                }
            }
            PendingTarget::Checksum(fill) => {
                if !fill {
                    return Err(a.err(
                        name_col,
                        "CHECKSUM target: parameter --checksum-fill is required",
                    ));
                }
                Target::ChecksumFill
            }
            PendingTarget::TcpMss(m) => Target::TcpMss(m.ok_or_else(|| {
                a.err(
                    name_col,
                    "TCPMSS target: one of --set-mss or --clamp-mss-to-pmtu is required",
                )
            })?),
            PendingTarget::Unknown { name, args } => Target::Unknown { name, args },
        })
    }
}

/// `[ipaddr[-ipaddr]][:port[-port[/base]]]` (libxt_NAT's parse_to for IPv4). `snat`: the
/// base of a shifted range is dropped (SNAT's range keeps only the flag).
fn nat_range(a: &Args, v: &Token, portok: bool, snat: bool) -> Result<NatRange, ParseError> {
    let s = v.as_str();
    let (addr_part, port_part) = match s.split_once(':') {
        Some((x, p)) => (x, Some(p)),
        None => (s, None),
    };
    let (ports, base) = match port_part {
        None => (None, None),
        Some(p) => {
            if !portok {
                return Err(a.err_at(v, "need TCP, UDP, SCTP or DCCP with port specification"));
            }
            if p.contains(':') {
                return Err(a.err_at(v, "invalid port:port syntax - use dash"));
            }
            let (range, base) = port_span(a, v, p)?;
            (Some(range), base.map(|b| if snat { 0 } else { b }))
        }
    };
    let addr = if addr_part.is_empty() {
        None
    } else {
        let ip = |x: &str| -> Result<Ipv4Addr, ParseError> {
            x.parse::<Ipv4Addr>()
                .map_err(|_| a.err_at(v, format!("bad IP address `{x}`")))
        };
        Some(match addr_part.split_once('-') {
            Some((l, h)) => (ip(l)?, ip(h)?),
            None => {
                let x = ip(addr_part)?;
                (x, x)
            }
        })
    };
    if addr.is_none() && ports.is_none() {
        return Err(a.err_at(
            v,
            format!("bad NAT range `{s}`; expected [ipaddr[-ipaddr]][:port[-port]]"),
        ));
    }
    Ok(NatRange { addr, ports, base })
}

/// libxt_NAT's parse_ports: `port[-port[/base]]`, each a number 0-65535 (read as far as
/// it goes) or, failing that, the whole rest as a service name; the base of a shifted
/// range is 1-65535 (also read as far as it goes: `/30x` is 30) or a service name.
fn port_span(a: &Args, v: &Token, p: &str) -> Result<(PortRange, Option<u16>), ParseError> {
    fn one<'x>(a: &Args, v: &Token, x: &'x str) -> Result<(u16, &'x str), ParseError> {
        match strtoul0(x) {
            Some((n, rest)) if n <= 65535 => Ok((n as u16, rest)),
            _ => crate::netdb::service_port(x, "tcp")
                .map(|n| (n, ""))
                .ok_or_else(|| a.err_at(v, format!("port `{x}` not valid"))),
        }
    }
    let one = |x| one(a, v, x);
    let (lo, rest) = one(p)?;
    let (hi, rest2) = match rest.as_bytes().first() {
        None => return Ok((PortRange::single(lo), None)),
        Some(b'-') => one(&rest[1..])?,
        Some(b':') => return Err(a.err_at(v, "invalid port:port syntax - use dash")),
        Some(_) => return Err(a.err_at(v, format!("garbage after port value: `{rest}`"))),
    };
    if hi < lo {
        return Err(a.err_at(v, format!("port range `{p}` funky (min > max)")));
    }
    let range = PortRange { lo, hi };
    let base = match rest2.as_bytes().first() {
        None => return Ok((range, None)),
        Some(b'/') => &rest2[1..],
        Some(_) => return Err(a.err_at(v, format!("garbage after port range: `{rest2}`"))),
    };
    let base = match strtoul0(base) {
        Some((n, _)) if (1..=65535).contains(&n) => n as u16,
        _ => crate::netdb::service_port(base, "tcp")
            .ok_or_else(|| a.err_at(v, format!("port `{base}` not valid")))?,
    };
    Ok((range, Some(base)))
}
