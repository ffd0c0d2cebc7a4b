//! `nft-ruleset.txt` (`nft list ruleset`): which base chains the nf_tables backend created.
//!
//! With iptables-nft a built-in chain exists in the kernel only once it has been touched (a
//! rule added or its policy set); `iptables-save` prints all built-in chains anyway, so this
//! file is what tells them apart. A base chain is a `chain X {` of a `table ip NAME {` block
//! whose first statement is `type ... hook ...`. Tables of other families, and `ip` tables
//! that are not one of iptables' five, are not iptables' business and are skipped.

use crate::error::LoadError;
use crate::text;
use pktpath_rules::TableName;
use std::collections::BTreeSet;

pub(crate) type BaseChains = BTreeSet<(TableName, String)>;

pub(crate) fn parse(label: &str, src: &str) -> Result<BaseChains, LoadError> {
    let mut out = BaseChains::new();
    let mut depth = 0usize;
    // The iptables table of the `table ip NAME {` block we are in, if any.
    let mut table: Option<Option<TableName>> = None;
    // A chain whose first statement decides whether it is a base chain.
    let mut pending: Option<String> = None;
    let mut last_open = 0usize;
    for (start, line) in text::lines_with_offsets(src) {
        let trimmed = line.trim();
        let lead = line.len() - line.trim_start().len();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let err = |msg: String| LoadError::at(label, src, start + lead, msg);
        if let Some(chain) = pending.take() {
            if depth == 2 && trimmed.starts_with("type ") && has_word(trimmed, "hook") {
                if let Some(Some(t)) = table {
                    out.insert((t, chain));
                }
            }
        }
        let toks: Vec<&str> = trimmed.split_whitespace().collect();
        match depth {
            0 => {
                if toks.first() != Some(&"table") || toks.last() != Some(&"{") || toks.len() != 4 {
                    return Err(err(format!(
                        "expected `table <family> <name> {{` (nft list ruleset), found `{trimmed}`"
                    )));
                }
                table = Some(if toks[1] == "ip" {
                    TableName::parse(unquote(toks[2]))
                } else {
                    None
                });
            }
            1 if toks.first() == Some(&"chain") => {
                if toks.len() != 3 || toks[2] != "{" {
                    return Err(err(format!(
                        "expected `chain <name> {{`, found `{trimmed}`"
                    )));
                }
                pending = Some(unquote(toks[1]).to_string());
            }
            _ => {}
        }
        // Braces outside of quoted strings (comments, set elements) change the depth.
        let mut in_quote = false;
        for (i, c) in line.char_indices() {
            match c {
                '"' => in_quote = !in_quote,
                '{' if !in_quote => {
                    depth += 1;
                    last_open = start + i;
                }
                '}' if !in_quote => {
                    if depth == 0 {
                        return Err(LoadError::at(
                            label,
                            src,
                            start + i,
                            "unbalanced `}`: expected a `table ... {` before it",
                        ));
                    }
                    depth -= 1;
                    if depth == 0 {
                        table = None;
                    }
                }
                _ => {}
            }
        }
    }
    if depth != 0 {
        return Err(LoadError::at(
            label,
            src,
            last_open,
            "this `{` is never closed: expected a matching `}` before the end of the file",
        ));
    }
    Ok(out)
}

fn has_word(line: &str, w: &str) -> bool {
    line.split(|c: char| c.is_whitespace() || c == ';')
        .any(|t| t == w)
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_chains() {
        let t = "table ip filter {\n\tchain DOCKER {\n\t\tcounter accept\n\t}\n\n\tchain FORWARD {\n\t\ttype filter hook forward priority filter; policy drop;\n\t\tip daddr { 1.2.3.4, 5.6.7.8 } comment \"x { y\" accept\n\t}\n}\ntable inet x {\n\tchain INPUT {\n\t\ttype filter hook input priority 0;\n\t}\n}\ntable ip nat {\n\tchain OUTPUT {\n\t\ttype nat hook output priority -100; policy accept;\n\t}\n}\n";
        let b = parse("t", t).unwrap();
        let v: Vec<_> = b
            .iter()
            .map(|(t, c)| format!("{}/{c}", t.as_str()))
            .collect();
        assert_eq!(v, vec!["nat/OUTPUT", "filter/FORWARD"]);
    }

    #[test]
    fn errors() {
        let e = parse("t", "table ip filter {\n\tchain X {\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 10));
        let e = parse("t", "bogus\n").unwrap_err();
        assert_eq!((e.line, e.col), (1, 1));
        let e = parse("t", "}\n").unwrap_err();
        assert_eq!((e.line, e.col), (1, 1));
    }
}
