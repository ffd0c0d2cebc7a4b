//! ` TRACE:` lines (`trace_print_hdr()`, `print_verdict()`, `trace_cb()`).

use super::cursor::{Cursor, PResult};
use super::parse_family_and_id;
use crate::model::*;

pub(crate) fn parse_trace(cur: &mut Cursor<'_>) -> PResult<TraceLine> {
    let (family, trace_id) = parse_family_and_id(cur)?;
    // "<table>:<chain>:" then "rule:", "policy:" or "return:". Table names have no colon;
    // the chain ends at the first of the three markers.
    let table_start = cur.pos;
    let colon = cur
        .rest()
        .find(':')
        .filter(|&n| n > 0 && !cur.rest()[..n].contains(' '))
        .ok_or_else(|| cur.expected("`<table>:<chain>:`"))?;
    let table = cur.line[table_start..table_start + colon].to_string();
    cur.pos += colon + 1;
    let rest = cur.rest();
    let marker = [":rule:", ":policy:", ":return:"]
        .iter()
        .filter_map(|m| rest.find(m).map(|i| (i, *m)))
        .min();
    let (n, marker) = match marker {
        Some((n, m)) if n > 0 => (n, m),
        _ => {
            return Err(cur.expected(
                "`<chain>:rule:`, `<chain>:policy:` or `<chain>:return:` after the table",
            ))
        }
    };
    let chain = rest[..n].to_string();
    cur.pos += n + marker.len();
    let kind = match marker {
        ":rule:" => {
            cur.expect("0x", "the rule handle as `0x<hex>`")?;
            let start = cur.pos;
            let n = cur
                .rest()
                .find(':')
                .ok_or_else(|| cur.expected("the rule handle followed by `:`"))?;
            let handle = cur.hex(
                start,
                &cur.line[start..start + n],
                "the rule handle as `%x`",
            )?;
            cur.pos += n + 1;
            let verdict = parse_verdict(cur)?;
            // print_verdict() ends with a space and trace_cb() adds another one.
            cur.expect("  ", "two spaces after the verdict")?;
            TraceKind::Rule {
                handle,
                verdict,
                rule_text: cur.rest().to_string(),
            }
        }
        ":policy:" => {
            let pos = cur.pos;
            let verdict = parse_verdict(cur)?;
            if !matches!(verdict, Verdict::Accept | Verdict::Drop) {
                let word = &cur.line[pos..cur.pos];
                return Err(cur.invalid(pos, word, "a chain policy (`ACCEPT` or `DROP`)"));
            }
            cur.expect(" ", "a space after the policy")?;
            if !cur.at_end() {
                return Err(cur.expected("the end of the line after the policy"));
            }
            TraceKind::Policy(verdict)
        }
        _ => {
            let target = cur.rest();
            TraceKind::Return {
                target: (!target.is_empty()).then(|| target.to_string()),
            }
        }
    };
    Ok(TraceLine {
        family,
        trace_id,
        table,
        chain,
        kind,
    })
}

/// A verdict as `print_verdict()` prints it, up to (not including) the following space.
fn parse_verdict(cur: &mut Cursor<'_>) -> PResult<Verdict> {
    let start = cur.pos;
    let n = cur
        .rest()
        .find(' ')
        .ok_or_else(|| cur.expected("a verdict followed by a space"))?;
    let word = &cur.line[start..start + n];
    let verdict = match word {
        "ACCEPT" => Verdict::Accept,
        "DROP" => Verdict::Drop,
        "QUEUE" => Verdict::Queue,
        "STOLEN" => Verdict::Stolen,
        "BREAK" => Verdict::Break,
        "CONTINUE" => Verdict::Continue,
        _ => {
            if let Some(chain) = word.strip_prefix("JUMP:").filter(|c| !c.is_empty()) {
                Verdict::Jump(chain.to_string())
            } else if let Some(chain) = word.strip_prefix("GOTO:").filter(|c| !c.is_empty()) {
                Verdict::Goto(chain.to_string())
            } else if let Some(hex) = word.strip_prefix("0x") {
                let code: u32 = cur.hex(start + 2, hex, "a verdict code as `%x`")?;
                if code == Verdict::NFT_RETURN_CODE {
                    Verdict::Return
                } else {
                    Verdict::Other(code)
                }
            } else {
                return Err(cur.invalid(
                    start,
                    word,
                    "a verdict (ACCEPT, DROP, QUEUE, STOLEN, BREAK, CONTINUE, \
                     JUMP:<chain>, GOTO:<chain> or 0x<code>)",
                ));
            }
        }
    };
    cur.pos += n;
    Ok(verdict)
}
