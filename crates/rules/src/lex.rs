//! Splits one line of rules text into arguments, the way `iptables-restore` does
//! (`add_param_to_argv` in iptables' xshared.c): blanks separate arguments, a double
//! quote opens a quoted part in which `\` escapes the next character, and a closing
//! quote ends the argument. Outside quotes a backslash is an ordinary character.
//! Each argument keeps the 1-based column where it starts, for error messages.

use std::borrow::Cow;

/// One argument of a rule line and the column (1-based, in characters) it starts at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    pub text: Cow<'a, str>,
    pub col: u32,
}

impl Token<'_> {
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Why a line could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub col: u32,
    pub message: String,
}

/// Split `line` into arguments, appending them to `out`. `first_col` is the column of
/// `line`'s first character in its source line. Returns the column just past the line.
/// A quote left open runs to the end of the line (as in iptables-restore).
pub fn split_args<'a>(
    line: &'a str,
    first_col: u32,
    out: &mut Vec<Token<'a>>,
) -> Result<u32, LexError> {
    split_args_nl(line, first_col, false, out)
}

/// [`split_args`] for a line that ended with a newline in its file (`newline`): a quote
/// left open takes the newline into its argument, as add_param_to_argv() does with the
/// line fgets() read (iptables-save then prints the value over two lines).
pub fn split_args_nl<'a>(
    line: &'a str,
    first_col: u32,
    newline: bool,
    out: &mut Vec<Token<'a>>,
) -> Result<u32, LexError> {
    let bytes = line.as_bytes();
    let ascii = line.is_ascii();
    // Columns count characters: byte offsets for ASCII lines, counted otherwise.
    let col_of = |off: usize| -> u32 {
        if ascii {
            first_col + off as u32
        } else {
            first_col + line[..off].chars().count() as u32
        }
    };
    let mut i = 0;
    let n = bytes.len();
    while i < n {
        while i < n && CLASS[bytes[i] as usize] == BLANK {
            i += 1;
        }
        if i == n {
            break;
        }
        if bytes[i] == b'\r' {
            return Err(LexError {
                col: col_of(i),
                message: crate::parse_save::CR_MESSAGE.into(),
            });
        }
        let start = i;
        // Unquoted run.
        i = word_end(bytes, i);
        if i < n && bytes[i] == b'\r' {
            return Err(LexError {
                col: col_of(i),
                message: crate::parse_save::CR_MESSAGE.into(),
            });
        }
        if i == n || bytes[i] != b'"' {
            out.push(Token {
                text: Cow::Borrowed(&line[start..i]),
                col: col_of(start),
            });
            continue;
        }
        // The argument has a quoted part: build it. A closing quote ends the argument.
        let quote_at = i;
        let stop = quoted_stop(bytes, i + 1);
        if stop < n && bytes[stop] == b'"' && start == quote_at {
            // `"text"` without escapes (the usual case): borrow it.
            out.push(Token {
                text: Cow::Borrowed(&line[quote_at + 1..stop]),
                col: col_of(start),
            });
            i = stop + 1;
            continue;
        }
        if stop < n && bytes[stop] == b'"' {
            // No escapes: one exact allocation.
            let mut buf = String::with_capacity(stop - start - 1);
            buf.push_str(&line[start..quote_at]);
            buf.push_str(&line[quote_at + 1..stop]);
            out.push(Token {
                text: Cow::Owned(buf),
                col: col_of(start),
            });
            i = stop + 1;
            continue;
        }
        let mut buf = String::with_capacity(stop - start);
        buf.push_str(&line[start..i]);
        i += 1;
        let mut seg = i;
        loop {
            if i == n {
                // The quote is left open: the rest of the line (and its newline) is the
                // argument's.
                buf.push_str(&line[seg..n]);
                if newline {
                    buf.push('\n');
                }
                break;
            }
            i = quoted_stop(bytes, i);
            if i == n {
                continue;
            }
            match bytes[i] {
                b'\\' => {
                    buf.push_str(&line[seg..i]);
                    i += 1;
                    if i == n {
                        // A backslash escapes the newline itself.
                        if newline {
                            buf.push('\n');
                        }
                        break;
                    }
                    // The escaped character, whole (it may be multi-byte).
                    let ch_len = line[i..].chars().next().map_or(1, char::len_utf8);
                    buf.push_str(&line[i..i + ch_len]);
                    i += ch_len;
                    seg = i;
                }
                b'"' => {
                    buf.push_str(&line[seg..i]);
                    i += 1;
                    break;
                }
                _ => unreachable!("quoted_stop stops at a backslash or a quote"),
            }
        }
        out.push(Token {
            text: Cow::Owned(buf),
            col: col_of(start),
        });
    }
    Ok(col_of(n))
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Bit 7 of each byte of `w` that equals `c` (exact for the lowest such byte).
#[inline]
fn bytes_eq(w: u64, c: u8) -> u64 {
    let x = w ^ (LO * c as u64);
    x.wrapping_sub(LO) & !x & HI
}

/// The end of the unquoted run starting at `i`: the first blank, `"` or `\r`.
/// Eight bytes at a time (arguments are mostly longer than that).
#[inline]
fn word_end(bytes: &[u8], mut i: usize) -> usize {
    while i + 8 <= bytes.len() {
        let w = u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let m = bytes_eq(w, b' ')
            | bytes_eq(w, b'\t')
            | bytes_eq(w, b'\n')
            | bytes_eq(w, b'"')
            | bytes_eq(w, b'\r');
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() && CLASS[bytes[i] as usize] == WORD {
        i += 1;
    }
    i
}

/// Inside quotes: the next `\` or `"` from `i` (or the end).
#[inline]
fn quoted_stop(bytes: &[u8], mut i: usize) -> usize {
    while i + 8 <= bytes.len() {
        let w = u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let m = bytes_eq(w, b'\\') | bytes_eq(w, b'"');
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() && bytes[i] != b'\\' && bytes[i] != b'"' {
        i += 1;
    }
    i
}

const WORD: u8 = 0;
const BLANK: u8 = 1;
/// `"` and `\r`: characters that end an unquoted run without being blanks.
const SPECIAL: u8 = 2;

/// Byte classes: iptables-restore separates arguments at space, tab and newline.
static CLASS: [u8; 256] = {
    let mut t = [WORD; 256];
    t[b' ' as usize] = BLANK;
    t[b'\t' as usize] = BLANK;
    t[b'\n' as usize] = BLANK;
    t[b'"' as usize] = SPECIAL;
    t[b'\r' as usize] = SPECIAL;
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<(String, u32)> {
        let mut v = Vec::new();
        split_args(s, 1, &mut v).unwrap();
        v.into_iter()
            .map(|t| (t.text.into_owned(), t.col))
            .collect()
    }

    #[test]
    fn plain() {
        assert_eq!(
            toks("-A  INPUT -j ACCEPT"),
            vec![
                ("-A".into(), 1),
                ("INPUT".into(), 5),
                ("-j".into(), 11),
                ("ACCEPT".into(), 14)
            ]
        );
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(
            toks(r#"--comment "a \"b\" \\ c" x"#),
            vec![
                ("--comment".into(), 1),
                (r#"a "b" \ c"#.into(), 11),
                ("x".into(), 26)
            ]
        );
        assert_eq!(
            toks(r#"ab"c d"e"#),
            vec![("abc d".into(), 1), ("e".into(), 8)]
        );
        assert_eq!(toks(r#""""#), vec![("".into(), 1)]);
        assert_eq!(toks(r"a\b"), vec![(r"a\b".into(), 1)]);
    }

    /// iptables-restore 1.8.9 takes a quote left open to the end of the line, newline
    /// included (tests/oracle/files/quote-*.txt hold what it then saves).
    #[test]
    fn unterminated() {
        let nl = |s: &str| {
            let mut v = Vec::new();
            split_args_nl(s, 1, true, &mut v).unwrap();
            v.into_iter()
                .map(|t| t.text.into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(nl(r#"--comment "abc -j"#), vec!["--comment", "abc -j\n"]);
        assert_eq!(nl(r#"--comment ab"c"#), vec!["--comment", "abc\n"]);
        assert_eq!(nl("--comment \"abc\\"), vec!["--comment", "abc\n"]);
        assert_eq!(toks(r#"x "abc"#), vec![("x".into(), 1), ("abc".into(), 3)]);
    }
}
