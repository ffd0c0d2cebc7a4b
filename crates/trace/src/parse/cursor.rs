//! A cursor over one line of trace text: fields, printf-style numbers and hex dumps, and
//! errors that point at a column.

use crate::error::TraceParseError;

/// A position in one line, for reading fields and reporting errors.
pub(crate) struct Cursor<'a> {
    pub(crate) line: &'a str,
    pub(crate) pos: usize,
    pub(crate) file: &'a str,
    pub(crate) lineno: u32,
}

pub(crate) type PResult<T> = Result<T, TraceParseError>;

impl<'a> Cursor<'a> {
    pub(crate) fn rest(&self) -> &'a str {
        &self.line[self.pos..]
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos == self.line.len()
    }

    pub(crate) fn error_at(&self, pos: usize, message: impl Into<String>) -> TraceParseError {
        // Columns count characters, not bytes (`pos` is always a char boundary).
        let col = self.line[..pos].chars().count() + 1;
        TraceParseError {
            file: self.file.to_string(),
            line: self.lineno,
            col: u32::try_from(col).unwrap_or(u32::MAX),
            message: message.into(),
        }
    }

    /// An error at the current position, saying what was expected and what is there.
    pub(crate) fn expected(&self, what: &str) -> TraceParseError {
        self.expected_at(self.pos, what)
    }

    /// An error at `pos` saying what was expected and showing what is there, up to the end
    /// of the line.
    pub(crate) fn expected_at(&self, pos: usize, what: &str) -> TraceParseError {
        self.invalid(pos, &self.line[pos..], what)
    }

    /// An error at `pos` saying what was expected and showing `found` (a field's value).
    pub(crate) fn invalid(&self, pos: usize, found: &str, what: &str) -> TraceParseError {
        let found = if found.is_empty() {
            "end of line".to_string()
        } else {
            let shown: String = found.chars().take(24).collect();
            let more = if shown.len() < found.len() { "..." } else { "" };
            format!("`{shown}{more}`")
        };
        self.error_at(pos, format!("expected {what}, found {found}"))
    }

    /// Consume `s` if the rest starts with it.
    pub(crate) fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, s: &str, what: &str) -> PResult<()> {
        if self.eat(s) {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    /// A field value: the text up to the next space (which is consumed) — every field of a
    /// `PACKET:` line is printed with a trailing space.
    pub(crate) fn field(&mut self, what: &str) -> PResult<(usize, &'a str)> {
        let start = self.pos;
        match self.rest().find(' ') {
            Some(0) => Err(self.expected(what)),
            None => Err(self.expected(&format!("{what} followed by a space"))),
            Some(n) => {
                self.pos += n + 1;
                Ok((start, &self.line[start..start + n]))
            }
        }
    }

    /// `%d`/`%u` of an unsigned value: ASCII digits, no sign, no leading zero.
    pub(crate) fn decimal<T: TryFrom<u64>>(&self, pos: usize, s: &str, what: &str) -> PResult<T> {
        let ok = !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_digit())
            && (s == "0" || !s.starts_with('0'));
        let value = if ok { s.parse::<u64>().ok() } else { None };
        value
            .and_then(|v| T::try_from(v).ok())
            .ok_or_else(|| self.invalid(pos, s, what))
    }

    /// `%x` of an unsigned value: lowercase hex digits without leading zeros.
    pub(crate) fn hex<T: TryFrom<u64>>(&self, pos: usize, s: &str, what: &str) -> PResult<T> {
        let ok = !s.is_empty()
            && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && (s == "0" || !s.starts_with('0'));
        let value = if ok {
            u64::from_str_radix(s, 16).ok()
        } else {
            None
        };
        value
            .and_then(|v| T::try_from(v).ok())
            .ok_or_else(|| self.invalid(pos, s, what))
    }
}

/// A hex dump up to the next space (consumed). Unlike other fields it may be empty: a
/// zero-length header prints as nothing, leaving two spaces.
pub(crate) fn raw_bytes_field<'a>(cur: &mut Cursor<'a>, what: &str) -> PResult<(usize, &'a str)> {
    let start = cur.pos;
    let n = cur
        .rest()
        .find(' ')
        .ok_or_else(|| cur.expected(&format!("{what} followed by a space")))?;
    cur.pos += n + 1;
    Ok((start, &cur.line[start..start + n]))
}

/// Bytes printed with `%02x` (or `%02X`) of a signed `char`: `XX` for bytes < 0x80 and
/// `ffffffXX` for bytes >= 0x80. Unambiguous: a pair starting with 8-f can only begin a
/// sign-extended byte.
pub(crate) fn parse_signed_hex(
    cur: &Cursor<'_>,
    pos: usize,
    s: &str,
    upper: bool,
) -> PResult<Vec<u8>> {
    let what = if upper {
        "bytes as `%02X` of a signed char (`7F`, `FFFFFF80`)"
    } else {
        "bytes as `%02x` of a signed char (`7f`, `ffffff80`)"
    };
    let digit = |b: u8| -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' if !upper => Some(b - b'a' + 10),
            b'A'..=b'F' if upper => Some(b - b'A' + 10),
            _ => None,
        }
    };
    let ext: &[u8] = if upper { b"FFFFFF" } else { b"ffffff" };
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 2);
    let mut i = 0;
    while i < bytes.len() {
        let err = || cur.invalid(pos + i, &s[i..], what);
        let pair = |j: usize| -> Option<u8> {
            let hi = digit(*bytes.get(j)?)?;
            let lo = digit(*bytes.get(j + 1)?)?;
            Some(hi << 4 | lo)
        };
        let b = pair(i).ok_or_else(err)?;
        if b < 0x80 {
            out.push(b);
            i += 2;
        } else {
            // Sign-extended: "ffffff" then the byte, which must be >= 0x80.
            if !bytes[i..].starts_with(ext) {
                return Err(err());
            }
            match pair(i + 6) {
                Some(b) if b >= 0x80 => out.push(b),
                _ => return Err(err()),
            }
            i += 8;
        }
    }
    Ok(out)
}
