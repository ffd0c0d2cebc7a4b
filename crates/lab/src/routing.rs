//! Routes and policy rules: make a namespace's tables equal to the snapshot's.
//!
//! The kernel derives the local, broadcast and connected routes from the addresses by
//! itself (`fib_add_ifaddr`), so the lab does not add routes: it compares what the kernel
//! has once the addresses are up with what the snapshot lists (`ip -j route show table
//! all`, IPv4 entries) and adds what is missing and deletes what is extra. Policy rules
//! (`ip -j rule show`) the same way, starting from the kernel's three defaults.

use crate::error::{LabError, Result};
use serde_json::Value;
use std::net::Ipv4Addr;

/// What identifies a route in the kernel (`fib_table_insert` refuses a second route with
/// the same table, prefix, type, TOS, priority and next hop).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RouteKey {
    pub table: u32,
    pub kind: String,
    pub dst: String,
    pub gateway: Option<String>,
    pub dev: Option<String>,
    pub metric: u32,
}

/// One IPv4 route of `ip -j route` output.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteEntry {
    pub key: RouteKey,
    pub prefsrc: Option<String>,
    pub protocol: Option<String>,
    pub scope: Option<String>,
    pub onlink: bool,
}

/// Table numbers for the names `/etc/iproute2/rt_tables` always has.
pub fn table_id(name: &str) -> Option<u32> {
    match name {
        "local" => Some(255),
        "main" => Some(254),
        "default" => Some(253),
        "unspec" => Some(0),
        n => n.parse().ok(),
    }
}

fn is_v4(s: &str) -> bool {
    s.parse::<Ipv4Addr>().is_ok()
}

/// `default` → `0.0.0.0/0`, a bare address → `/32`.
fn norm_dst(d: &str) -> Option<String> {
    if d == "default" {
        return Some("0.0.0.0/0".into());
    }
    let (a, len) = d.split_once('/').unwrap_or((d, "32"));
    let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
    is_v4(a).then(|| format!("{a}/{len}"))
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(|x| x.as_str()).map(str::to_string)
}

/// The IPv4 routes of `ip -j route show table all` output (IPv6 entries are skipped: they
/// have `:` in an address or a `pref`).
pub fn parse_routes(label: &str, json: &str) -> Result<Vec<RouteEntry>> {
    let v: Value = serde_json::from_str(json)
        .map_err(|e| LabError::World(format!("{label}: {e}: expected `ip -j route` output")))?;
    let arr = v
        .as_array()
        .ok_or_else(|| LabError::World(format!("{label}: expected a JSON array")))?;
    let mut out = Vec::new();
    for r in arr {
        let dst = s(r, "dst").unwrap_or_default();
        let v6 = r.get("pref").is_some()
            || [&Some(dst.clone()), &s(r, "gateway"), &s(r, "prefsrc")]
                .iter()
                .any(|a| a.as_deref().is_some_and(|a| a.contains(':')));
        if v6 {
            continue;
        }
        if r.get("nexthops").is_some() || r.get("nhid").is_some() {
            return Err(LabError::Unsupported(format!(
                "{label}: multipath / nexthop-object route to {dst}"
            )));
        }
        let Some(dst_n) = norm_dst(&dst) else {
            return Err(LabError::World(format!(
                "{label}: route destination `{dst}`: expected default, an address or address/len"
            )));
        };
        let table_name = s(r, "table").unwrap_or_else(|| "main".into());
        let table = table_id(&table_name).ok_or_else(|| {
            LabError::Unsupported(format!(
                "{label}: routing table named `{table_name}` (only local, main, default and numbers are known)"
            ))
        })?;
        out.push(RouteEntry {
            key: RouteKey {
                table,
                kind: s(r, "type").unwrap_or_else(|| "unicast".into()),
                dst: dst_n,
                gateway: s(r, "gateway"),
                dev: s(r, "dev"),
                metric: r.get("metric").and_then(|m| m.as_u64()).unwrap_or(0) as u32,
            },
            prefsrc: s(r, "prefsrc"),
            protocol: s(r, "protocol"),
            scope: s(r, "scope"),
            onlink: r
                .get("flags")
                .and_then(|f| f.as_array())
                .is_some_and(|f| f.iter().any(|x| x.as_str() == Some("onlink"))),
        });
    }
    Ok(out)
}

/// `ip route add` arguments for a route.
pub fn route_add_args(r: &RouteEntry) -> Vec<String> {
    let k = &r.key;
    let mut a: Vec<String> = vec!["route".into(), "add".into(), k.kind.clone(), k.dst.clone()];
    if let Some(g) = &k.gateway {
        a.extend(["via".into(), g.clone()]);
    }
    if let Some(d) = &k.dev {
        a.extend(["dev".into(), d.clone()]);
    }
    if let Some(p) = &r.prefsrc {
        a.extend(["src".into(), p.clone()]);
    }
    a.extend(["table".into(), k.table.to_string()]);
    if k.metric != 0 {
        a.extend(["metric".into(), k.metric.to_string()]);
    }
    if let Some(p) = &r.protocol {
        a.extend(["proto".into(), p.clone()]);
    }
    if let Some(sc) = &r.scope {
        a.extend(["scope".into(), sc.clone()]);
    }
    if r.onlink {
        a.push("onlink".into());
    }
    a
}

/// `ip route del` arguments for a route.
pub fn route_del_args(r: &RouteEntry) -> Vec<String> {
    let k = &r.key;
    let mut a: Vec<String> = vec!["route".into(), "del".into(), k.kind.clone(), k.dst.clone()];
    if let Some(g) = &k.gateway {
        a.extend(["via".into(), g.clone()]);
    }
    if let Some(d) = &k.dev {
        a.extend(["dev".into(), d.clone()]);
    }
    a.extend(["table".into(), k.table.to_string()]);
    a.extend(["metric".into(), k.metric.to_string()]);
    a
}

/// What to change: routes to add (those without a gateway first: a gateway must be
/// reachable through a route that is already there) and routes to delete.
pub fn route_changes(
    want: &[RouteEntry],
    have: &[RouteEntry],
) -> (Vec<RouteEntry>, Vec<RouteEntry>) {
    let mut add: Vec<RouteEntry> = want
        .iter()
        .filter(|w| !have.iter().any(|h| h.key == w.key))
        .cloned()
        .collect();
    add.sort_by_key(|r| r.key.gateway.is_some());
    let del = have
        .iter()
        .filter(|h| !want.iter().any(|w| w.key == h.key))
        .cloned()
        .collect();
    (add, del)
}

/// The IPv4 policy rules of `ip -j rule show` output, as JSON objects (compared as such:
/// both sides come from the same printer).
pub fn parse_rules(label: &str, json: &str) -> Result<Vec<Value>> {
    let v: Value = serde_json::from_str(json)
        .map_err(|e| LabError::World(format!("{label}: {e}: expected `ip -j rule` output")))?;
    let arr = v
        .as_array()
        .ok_or_else(|| LabError::World(format!("{label}: expected a JSON array")))?;
    Ok(arr
        .iter()
        .filter(|r| {
            !["src", "dst"]
                .iter()
                .any(|k| s(r, k).is_some_and(|a| a.contains(':')))
        })
        .cloned()
        .collect())
}

/// The fields of `ip -j rule` output the lab knows, in the order it passes them on.
const RULE_FIELDS: &[&str] = &[
    "not",
    "priority",
    "src",
    "srclen",
    "dst",
    "dstlen",
    "iif",
    "oif",
    "tos",
    "dsfield",
    "fwmark",
    "fwmask",
    "uidrange",
    "ipproto",
    "sport",
    "dport",
    "protocol",
    "l3mdev",
    "suppress_prefixlen",
    "suppress_ifgroup",
    "table",
    "goto",
    "action",
    "flags",
];

/// `ip rule add`/`del` selector and action arguments for a rule object.
pub fn rule_args(r: &Value) -> Result<Vec<String>> {
    let obj = r
        .as_object()
        .ok_or_else(|| LabError::World("ip rule entry: expected a JSON object".into()))?;
    if let Some(k) = obj.keys().find(|k| !RULE_FIELDS.contains(&k.as_str())) {
        return Err(LabError::Unsupported(format!(
            "policy rule field `{k}` in {r}"
        )));
    }
    let text = |k: &str| {
        obj.get(k).map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        })
    };
    let prefixed = |addr: String, len: &str| match obj.get(len).and_then(|l| l.as_u64()) {
        Some(l) => format!("{addr}/{l}"),
        None => addr,
    };
    let mut a: Vec<String> = Vec::new();
    if obj.contains_key("not") {
        a.push("not".into());
    }
    for k in RULE_FIELDS {
        let Some(v) = text(k) else { continue };
        let (word, value) = match *k {
            "priority" => ("priority", v),
            "src" if v != "all" => ("from", prefixed(v, "srclen")),
            "dst" if v != "all" => ("to", prefixed(v, "dstlen")),
            "iif" | "oif" | "ipproto" | "sport" | "dport" | "protocol" | "table" | "goto" => {
                (*k, v)
            }
            "tos" | "dsfield" => ("tos", v),
            "uidrange" => ("uidrange", v),
            "suppress_prefixlen" => ("suppress_prefixlength", v),
            "suppress_ifgroup" => ("suppress_ifgroup", v),
            "fwmark" => (
                "fwmark",
                match text("fwmask") {
                    Some(m) => format!("{v}/{m}"),
                    None => v,
                },
            ),
            "l3mdev" => {
                a.push("l3mdev".into());
                continue;
            }
            "action" => {
                a.push(v);
                continue;
            }
            _ => continue,
        };
        a.extend([word.to_string(), value]);
    }
    Ok(a)
}

/// Rules to add and to delete.
pub fn rule_changes(want: &[Value], have: &[Value]) -> (Vec<Value>, Vec<Value>) {
    let add = want.iter().filter(|w| !have.contains(w)).cloned().collect();
    let del = have.iter().filter(|h| !want.contains(h)).cloned().collect();
    (add, del)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_entries_are_skipped_and_keys_normalised() {
        let j = r#"[{"dst":"default","gateway":"10.120.0.1","dev":"eth0","flags":[]},
            {"type":"local","dst":"10.120.0.2","dev":"eth0","table":"local","protocol":"kernel","scope":"host","prefsrc":"10.120.0.2","flags":[]},
            {"dst":"fe80::/64","dev":"eth0","protocol":"kernel","metric":256,"flags":[],"pref":"medium"},
            {"type":"multicast","dst":"ff00::/8","dev":"eth0","table":"local","protocol":"kernel","metric":256,"flags":[],"pref":"medium"}]"#;
        let r = parse_routes("x", j).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].key.dst, "0.0.0.0/0");
        assert_eq!(r[0].key.table, 254);
        assert_eq!(r[1].key.dst, "10.120.0.2/32");
        assert_eq!(r[1].key.kind, "local");
        assert_eq!(
            route_add_args(&r[0]).join(" "),
            "route add unicast 0.0.0.0/0 via 10.120.0.1 dev eth0 table 254"
        );
    }

    #[test]
    fn only_the_difference_is_changed() {
        let want = parse_routes(
            "w",
            r#"[{"dst":"default","gateway":"10.1.0.1","dev":"eth0"},{"dst":"10.1.0.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"10.1.0.2"},{"dst":"10.9.0.0/16","dev":"eth0","scope":"link"}]"#,
        )
        .unwrap();
        let have = parse_routes(
            "h",
            r#"[{"dst":"10.1.0.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"10.1.0.2"},{"dst":"10.7.0.0/16","dev":"eth0"}]"#,
        )
        .unwrap();
        let (add, del) = route_changes(&want, &have);
        let add: Vec<_> = add.iter().map(|r| r.key.dst.as_str()).collect();
        assert_eq!(add, ["10.9.0.0/16", "0.0.0.0/0"], "gateway routes last");
        assert_eq!(del.len(), 1);
        assert_eq!(del[0].key.dst, "10.7.0.0/16");
    }

    #[test]
    fn rules_translate_to_ip_rule_arguments() {
        let r: Value = serde_json::from_str(
            r#"{"priority":100,"not":null,"src":"10.0.0.0","srclen":8,"fwmark":"0x1","fwmask":"0xff","table":"42"}"#,
        )
        .unwrap();
        assert_eq!(
            rule_args(&r).unwrap().join(" "),
            "not priority 100 from 10.0.0.0/8 fwmark 0x1/0xff table 42"
        );
        let defaults = parse_rules(
            "k",
            r#"[{"priority":0,"src":"all","table":"local"},{"priority":32766,"src":"all","table":"main"}]"#,
        )
        .unwrap();
        let (add, del) = rule_changes(&defaults[..1], &defaults);
        assert!(add.is_empty());
        assert_eq!(
            rule_args(&del[0]).unwrap().join(" "),
            "priority 32766 table main"
        );
    }
}
