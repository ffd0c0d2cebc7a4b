//! Policy routing rules from `ip -j rule show`; the kernel's three defaults when missing.

use crate::error::LoadError;
use crate::interfaces::parse_v4;
use crate::json::{present, JsonFile, Seg};
use crate::model::{IpRule, IpRuleAction, RT_TABLE_DEFAULT, RT_TABLE_LOCAL, RT_TABLE_MAIN};
use crate::routes::table_id;
use ipnet::Ipv4Net;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct RuleEntry {
    priority: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    not: bool,
    src: Option<String>,
    srclen: Option<u8>,
    dst: Option<String>,
    dstlen: Option<u8>,
    iif: Option<String>,
    oif: Option<String>,
    fwmark: Option<serde_json::Value>,
    fwmask: Option<serde_json::Value>,
    table: Option<serde_json::Value>,
    action: Option<String>,
    #[serde(flatten)]
    other: BTreeMap<String, serde_json::Value>,
}

/// Keys `ip -j rule show` prints that do not change which packets a rule matches
/// (`*_detached`: the named device does not exist, so nothing arrives or leaves through it).
const HARMLESS: [&str; 3] = ["iif_detached", "oif_detached", "protocol"];

/// The rules of a fresh namespace (`fib_default_rules_init`): 0 local, 32766 main, 32767 default.
pub(crate) fn defaults() -> Vec<IpRule> {
    [
        (0, RT_TABLE_LOCAL),
        (32766, RT_TABLE_MAIN),
        (32767, RT_TABLE_DEFAULT),
    ]
    .into_iter()
    .map(|(priority, t)| IpRule {
        priority,
        src: None,
        dst: None,
        iif: None,
        oif: None,
        fwmark: None,
        not: false,
        action: IpRuleAction::Table(t),
    })
    .collect()
}

pub(crate) fn parse(f: &JsonFile) -> Result<Vec<IpRule>, LoadError> {
    let entries: Vec<RuleEntry> = f.parse("ip -j rule show")?;
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let at = |key| [Seg::Idx(i), Seg::Key(key)];
        let unsupported = e
            .other
            .keys()
            .filter(|k| !HARMLESS.contains(&k.as_str()))
            .min_by_key(|k| f.offset_of(&[Seg::Idx(i), Seg::Name(k)]));
        if let Some(key) = unsupported {
            return Err(f.error_at(
                &[Seg::Idx(i), Seg::Name(key)],
                format!("unsupported ip rule attribute `{key}`: expected only priority, not, from/to, iif/oif, fwmark and a table or blackhole/unreachable/prohibit action"),
            ));
        }
        let net =
            |key: &'static str, addr: &Option<String>, lenkey: &'static str, len: Option<u8>| {
                match addr.as_deref() {
                    None | Some("all") => Ok(None),
                    Some(s) => {
                        let a = parse_v4(s).ok_or_else(|| {
                            f.error_at(
                                &at(key),
                                format!("expected an IPv4 address or `all`, found `{s}`"),
                            )
                        })?;
                        // Without a length, `ip` prints a host address (/32).
                        let len = len.unwrap_or(32);
                        // The kernel matches `(addr ^ rule) & mask` (fib4_rule_match): host bits
                        // beyond the length do not matter.
                        Ipv4Net::new(a, len).map(|n| Some(n.trunc())).map_err(|_| {
                            f.error_at(
                                &at(lenkey),
                                format!("prefix length {len} is too long: expected 0..=32"),
                            )
                        })
                    }
                }
            };
        let src = net("src", &e.src, "srclen", e.srclen)?;
        let dst = net("dst", &e.dst, "dstlen", e.dstlen)?;
        let fwmark = match &e.fwmark {
            None => None,
            Some(v) => {
                let mark = number(v).ok_or_else(|| {
                    f.error_at(
                        &at("fwmark"),
                        format!("expected a mark like 0x1, found {v}"),
                    )
                })?;
                let mask = match &e.fwmask {
                    None => u32::MAX,
                    Some(m) => number(m).ok_or_else(|| {
                        f.error_at(
                            &at("fwmask"),
                            format!("expected a mask like 0xff, found {m}"),
                        )
                    })?,
                };
                Some((mark, mask))
            }
        };
        let action = match (&e.table, e.action.as_deref()) {
            (Some(t), None) => {
                IpRuleAction::Table(table_id(t).map_err(|m| f.error_at(&at("table"), m))?)
            }
            (None, Some("blackhole")) => IpRuleAction::Blackhole,
            (None, Some("unreachable")) => IpRuleAction::Unreachable,
            (None, Some("prohibit")) => IpRuleAction::Prohibit,
            (None, Some(a)) => {
                return Err(f.error_at(
                    &at("action"),
                    format!(
                    "unsupported rule action `{a}`: expected blackhole, unreachable or prohibit"
                ),
                ))
            }
            (Some(_), Some(_)) => {
                return Err(f.error_at(
                    &[Seg::Idx(i), Seg::Name("action")],
                    "a rule has either a table or an action, not both",
                ))
            }
            (None, None) => {
                return Err(f.error_at(
                    &[Seg::Idx(i)],
                    "rule without \"table\" or \"action\": expected what the rule does",
                ))
            }
        };
        out.push(IpRule {
            priority: e.priority.unwrap_or(0),
            src,
            dst,
            iif: e.iif.clone(),
            oif: e.oif.clone(),
            fwmark,
            not: e.not,
            action,
        });
    }
    Ok(out)
}

/// `"0x1"`, `"17"` or `17`.
fn number(v: &serde_json::Value) -> Option<u32> {
    match v {
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        serde_json::Value::String(s) => match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))
        {
            Some(hex) if hex.bytes().all(|c| c.is_ascii_hexdigit()) => {
                u32::from_str_radix(hex, 16).ok()
            }
            Some(_) => None,
            None => s.parse().ok(),
        },
        _ => None,
    }
}
