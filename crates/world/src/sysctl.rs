//! `sysctl.txt`: `key = value` lines (as `sysctl` prints them), `#`/`;` comments.

use crate::error::LoadError;
use crate::model::Sysctls;
use crate::text;

/// A fresh namespace: `net.ipv4.ip_forward = 0`, br_netfilter not loaded.
pub(crate) fn defaults() -> Sysctls {
    Sysctls::default()
}

pub(crate) fn parse(label: &str, src: &str) -> Result<Sysctls, LoadError> {
    let mut s = Sysctls::default();
    // Where each key was last set, to report a bad value of a key we interpret.
    let mut value_at = std::collections::BTreeMap::new();
    for (start, line) in text::lines_with_offsets(src) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let lead = line.len() - trimmed.len();
        let Some(eq) = line.find('=') else {
            return Err(LoadError::at(
                label,
                src,
                start + lead,
                format!("expected `key = value`, found `{}`", trimmed.trim_end()),
            ));
        };
        let key = line[..eq].trim();
        if key.is_empty() {
            return Err(LoadError::at(
                label,
                src,
                start + lead,
                "expected a sysctl name before `=`",
            ));
        }
        if let Some(bad) = key.find(|c: char| c.is_whitespace()) {
            return Err(LoadError::at(
                label,
                src,
                start + lead + bad,
                format!("expected one sysctl name before `=`, found `{key}`"),
            ));
        }
        // `sysctl` accepts `/` as separator too (net/ipv4/ip_forward).
        let key = key.replace('/', ".");
        let value = line[eq + 1..].trim();
        let value_start =
            start + eq + 1 + (line[eq + 1..].len() - line[eq + 1..].trim_start().len());
        value_at.insert(key.clone(), value_start);
        s.raw.insert(key, value.to_string());
    }
    let int = |key: &str| -> Result<Option<i64>, LoadError> {
        match s.raw.get(key) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                LoadError::at(
                    label,
                    src,
                    value_at[key],
                    format!("expected an integer for {key}, found `{v}`"),
                )
            }),
        }
    };
    // net.ipv4.ip_forward and net.ipv4.conf.all.forwarding are one setting (writing either
    // sets both: devinet_sysctl_forward / ipv4_sysctl_forward).
    let fwd = match int("net.ipv4.ip_forward")? {
        Some(v) => Some(v),
        None => int("net.ipv4.conf.all.forwarding")?,
    };
    s.ip_forward = fwd.unwrap_or(0) != 0;
    s.bridge_nf_call_iptables = int("net.bridge.bridge-nf-call-iptables")?.map(|v| v != 0);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines() {
        let s = parse(
            "t",
            "# c\n\nnet/ipv4/ip_forward=1\n  net.bridge.bridge-nf-call-iptables = 0 \n",
        )
        .unwrap();
        assert!(s.ip_forward);
        assert_eq!(s.bridge_nf_call_iptables, Some(false));
        assert_eq!(s.raw["net.ipv4.ip_forward"], "1");
        let s = parse("t", "net.ipv4.conf.all.forwarding = 1\n").unwrap();
        assert!(s.ip_forward);
        assert_eq!(s.bridge_nf_call_iptables, None);
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("t", "a = 1\n  bogus line\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 3));
        let e = parse("t", "net.ipv4.ip_forward = yes\n").unwrap_err();
        assert_eq!((e.line, e.col), (1, 23));
    }
}
