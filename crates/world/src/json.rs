//! JSON files (`ip -j ...` output): typed parsing with file:line:col errors, and locating a
//! value by its path (`[3, "addr_info", 0, "local"]`) to report errors found after parsing.

use crate::error::LoadError;
use serde::de::DeserializeOwned;

/// One step of a path into a JSON document.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seg<'a> {
    /// The n-th element of an array.
    Idx(usize),
    /// The value of a key of an object.
    Key(&'a str),
    /// The key itself (last step only): to point at an unexpected key.
    Name(&'a str),
}

/// A JSON file's label and text.
#[derive(Debug, Clone)]
pub(crate) struct JsonFile {
    pub label: String,
    pub text: String,
}

impl JsonFile {
    /// Deserialize the whole file; `what` names the command whose output it should be.
    pub fn parse<T: DeserializeOwned>(&self, what: &str) -> Result<T, LoadError> {
        serde_json::from_str(&self.text).map_err(|e| {
            let full = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let msg = full.strip_suffix(&suffix).unwrap_or(&full);
            LoadError::at_line_col(
                &self.label,
                &self.text,
                u32::try_from(e.line()).unwrap_or(u32::MAX).max(1),
                u32::try_from(e.column()).unwrap_or(u32::MAX).max(1),
                format!("{msg} (in what should be the JSON output of `{what}`)"),
            )
        })
    }

    /// An error covering the value (or key) found at `path` (at the start of the file when
    /// not found).
    pub fn error_at(&self, path: &[Seg], message: impl Into<String>) -> LoadError {
        let start = locate(&self.text, path).unwrap_or(0);
        let mut s = Scanner {
            b: self.text.as_bytes(),
            i: start,
        };
        let end = match s.skip_value() {
            // A whole object or array would be a large label: point at its start only.
            Some(()) if !matches!(self.text.as_bytes().get(start), Some(b'{' | b'[')) => s.i,
            _ => start,
        };
        LoadError::spanning(&self.label, &self.text, start, end, message)
    }

    /// Byte offset of the value (or key) at `path`, for ordering findings by position.
    pub fn offset_of(&self, path: &[Seg]) -> usize {
        locate(&self.text, path).unwrap_or(usize::MAX)
    }
}

/// Byte offset of the value (or, for a final [`Seg::Name`], the key) at `path`.
pub(crate) fn locate(text: &str, path: &[Seg]) -> Option<usize> {
    let mut s = Scanner {
        b: text.as_bytes(),
        i: 0,
    };
    s.ws();
    for seg in path {
        match *seg {
            Seg::Idx(n) => {
                s.eat(b'[')?;
                for k in 0.. {
                    s.ws();
                    if s.peek()? == b']' {
                        return None;
                    }
                    if k == n {
                        break;
                    }
                    s.skip_value()?;
                    s.ws();
                    if s.peek()? == b',' {
                        s.i += 1;
                    }
                }
            }
            Seg::Key(name) | Seg::Name(name) => {
                s.eat(b'{')?;
                loop {
                    s.ws();
                    if s.peek()? == b'}' {
                        return None;
                    }
                    let key_at = s.i;
                    let key = s.string()?;
                    s.ws();
                    s.eat(b':')?;
                    s.ws();
                    if key == name.as_bytes() {
                        if matches!(seg, Seg::Name(_)) {
                            return Some(key_at);
                        }
                        break;
                    }
                    s.skip_value()?;
                    s.ws();
                    if s.peek()? == b',' {
                        s.i += 1;
                    }
                }
            }
        }
    }
    Some(s.i)
}

/// A forgiving JSON scanner (the text was already validated by serde_json).
struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }
    /// A string's raw contents (escapes not decoded).
    fn string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            match self.peek()? {
                b'\\' => self.i += 2,
                b'"' => {
                    let s = &self.b[start..self.i];
                    self.i += 1;
                    return Some(s);
                }
                _ => self.i += 1,
            }
        }
    }
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'[' | b'{' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'[' | b'{' => depth += 1,
                        b']' | b'}' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                self.i += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.i += 1;
                }
                Some(())
            }
        }
    }
}

/// `#[serde(deserialize_with = "present")]`: true when the key is there, whatever its value
/// (`ip -j` prints flags such as `"not": null`).
pub(crate) fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    <serde::de::IgnoredAny as serde::Deserialize>::deserialize(d)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_values_and_keys() {
        let t = r#"[ {"a": 1, "b": [ "x", {"c": "y\"}"} ] }, {"a": 2} ]"#;
        let at = |p: &[Seg]| locate(t, p).map(|i| &t[i..i + 3]);
        assert_eq!(at(&[Seg::Idx(0), Seg::Key("a")]), Some("1, "));
        assert_eq!(
            at(&[Seg::Idx(0), Seg::Key("b"), Seg::Idx(1), Seg::Key("c")]),
            Some("\"y\\")
        );
        assert_eq!(at(&[Seg::Idx(1), Seg::Key("a")]), Some("2} "));
        assert_eq!(at(&[Seg::Idx(1), Seg::Name("a")]), Some("\"a\""));
        assert_eq!(locate(t, &[Seg::Idx(2)]), None);
        assert_eq!(locate(t, &[Seg::Idx(0), Seg::Key("zz")]), None);
    }
}
