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
pub fn split_args<'a>(
    line: &'a str,
    first_col: u32,
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
        while i < n && is_blank(bytes[i]) {
            i += 1;
        }
        if i == n {
            break;
        }
        let start = i;
        // Unquoted run.
        while i < n && !is_blank(bytes[i]) && bytes[i] != b'"' {
            i += 1;
        }
        if i == n || bytes[i] != b'"' {
            out.push(Token {
                text: Cow::Borrowed(&line[start..i]),
                col: col_of(start),
            });
            continue;
        }
        // The argument has a quoted part: build it. A closing quote ends the argument.
        let mut buf = String::with_capacity(32);
        buf.push_str(&line[start..i]);
        let quote_at = i;
        i += 1;
        let mut seg = i;
        loop {
            if i == n {
                return Err(LexError {
                    col: col_of(quote_at),
                    message: "unterminated quoted string; expected a closing `\"`".into(),
                });
            }
            match bytes[i] {
                b'\\' => {
                    buf.push_str(&line[seg..i]);
                    i += 1;
                    if i == n {
                        continue;
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
                _ => i += 1,
            }
        }
        out.push(Token {
            text: Cow::Owned(buf),
            col: col_of(start),
        });
    }
    Ok(col_of(n))
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\n' || b == b'\r'
}

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

    #[test]
    fn unterminated() {
        let mut v = Vec::new();
        let e = split_args(r#"-m comment --comment "abc"#, 1, &mut v).unwrap_err();
        assert_eq!(e.col, 22);
    }
}
