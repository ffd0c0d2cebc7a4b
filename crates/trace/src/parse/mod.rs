//! The parser: `xtables-monitor --trace` text to [`XtLine`]s.
//!
//! The parser is strict: it accepts exactly what [`crate::render()`] prints (field order,
//! single spaces, trailing spaces, lowercase hex without leading zeros, `%08x` trace ids), so
//! `render(parse(text)) == text` for every accepted text. Anything else is an error with
//! file:line:col and what was expected; it never panics.
//!
//! `cursor` reads fields and numbers of one line; `packet` and `trace` read the two
//! kinds of lines.

mod cursor;
mod packet;
mod trace;

use crate::error::TraceParseError;
use crate::model::XtLine;
use cursor::{Cursor, PResult};

/// Parse the text of `xtables-monitor --trace` output. `file` is only used in error messages.
///
/// Every line must end with `\n` (as printed); a line that is not a `PACKET:` or ` TRACE:`
/// line is an error.
pub fn parse(text: &str, file: &str) -> Result<Vec<XtLine>, TraceParseError> {
    // A line is at least ~40 bytes; this over-reserves a little and never regrows.
    let mut lines = Vec::with_capacity(text.len() / 40 + 1);
    let mut rest = text;
    let mut lineno: u32 = 0;
    while !rest.is_empty() {
        lineno += 1;
        let (line, next, has_newline) = match rest.find('\n') {
            Some(i) => (&rest[..i], &rest[i + 1..], true),
            None => (rest, "", false),
        };
        let mut cur = Cursor {
            line,
            pos: 0,
            file,
            lineno,
        };
        lines.push(parse_line(&mut cur)?);
        if !has_newline {
            return Err(cur.error_at(line.len(), "expected a newline at the end of the line"));
        }
        rest = next;
    }
    Ok(lines)
}

fn parse_line(cur: &mut Cursor<'_>) -> PResult<XtLine> {
    if cur.line.ends_with('\r') {
        return Err(cur.error_at(
            cur.line.len() - 1,
            "expected `\\n` line endings, found `\\r`",
        ));
    }
    if cur.eat("PACKET: ") {
        packet::parse_packet(cur).map(XtLine::Packet)
    } else if cur.eat(" TRACE: ") {
        trace::parse_trace(cur).map(XtLine::Trace)
    } else {
        Err(cur.expected("a line starting with `PACKET: ` or ` TRACE: `"))
    }
}

/// `<family> <%08x trace id> ` (shared by both line kinds).
pub(crate) fn parse_family_and_id(cur: &mut Cursor<'_>) -> PResult<(u8, u32)> {
    let (pos, fam) = cur.field("the family (a decimal number)")?;
    let family = cur.decimal(pos, fam, "the family as a decimal number 0-255")?;
    let (pos, id) = cur.field("the trace id (8 hex digits)")?;
    if id.len() != 8 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(cur.invalid(pos, id, "the trace id as 8 lowercase hex digits (`%08x`)"));
    }
    let trace_id = u32::from_str_radix(id, 16).map_err(|_| cur.invalid(pos, id, "8 hex digits"))?;
    Ok((family, trace_id))
}
