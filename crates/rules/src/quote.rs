//! Quoting of string values the way iptables-save prints them (libxtables'
//! `xtables_save_string`): bare if the value is non-empty and only `[A-Za-z0-9_-]`,
//! else in double quotes with `\` before `"`, `\` and `'`.

use std::fmt::Write;

/// Append ` VALUE` (with the leading space) quoted like `xtables_save_string`.
pub fn save_string(out: &mut String, value: &str) {
    out.push(' ');
    let bare = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        out.push_str(value);
        return;
    }
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' || c == '\'' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Append ` ARG` for an argument kept verbatim (unknown modules): quoted only when
/// iptables-restore would otherwise split or unescape it.
pub fn verbatim_arg(out: &mut String, value: &str) {
    let needs = value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\\' || c == '\'');
    if needs {
        save_string(out, value);
    } else {
        let _ = write!(out, " {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> String {
        let mut o = String::new();
        save_string(&mut o, s);
        o
    }

    #[test]
    fn quoting() {
        assert_eq!(q("abc_D-9"), " abc_D-9");
        assert_eq!(q("a b"), " \"a b\"");
        assert_eq!(q(""), " \"\"");
        assert_eq!(q("it's \"x\" \\"), r#" "it\'s \"x\" \\""#);
        assert_eq!(q("ns0/svc0:p80"), " \"ns0/svc0:p80\"");
    }
}
