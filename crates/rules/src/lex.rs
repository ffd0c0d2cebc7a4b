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
    let start_len = out.len();
    // Fast path: ASCII without quotes, where columns are byte offsets. On anything
    // else, start over on the general path.
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && is_blank(bytes[i]) {
            i += 1;
        }
        if i == bytes.len() {
            break;
        }
        let start = i;
        while i < bytes.len() && !is_blank(bytes[i]) {
            let b = bytes[i];
            if b == b'"' || b >= 0x80 {
                out.truncate(start_len);
                split_slow(line, first_col, out)?;
                return Ok(first_col + line.chars().count() as u32);
            }
            i += 1;
        }
        out.push(Token {
            text: Cow::Borrowed(&line[start..i]),
            col: first_col + start as u32,
        });
    }
    Ok(first_col + bytes.len() as u32)
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t' || b == b'\n' || b == b'\r'
}

fn split_slow<'a>(line: &'a str, first_col: u32, out: &mut Vec<Token<'a>>) -> Result<(), LexError> {
    let mut buf = String::new();
    let mut in_arg = false;
    let mut arg_col = 0u32;
    let mut arg_start = 0usize; // byte offset, for borrowing unquoted args
    let mut quoted_any = false;
    let mut quote_open = false;
    let mut quote_col = 0u32;
    let mut escaped = false;
    let mut col = first_col;
    for (off, c) in line.char_indices() {
        let this_col = col;
        col += 1;
        if quote_open {
            if escaped {
                buf.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                // A closing quote ends the argument (even an empty one).
                quote_open = false;
                out.push(Token {
                    text: Cow::Owned(std::mem::take(&mut buf)),
                    col: arg_col,
                });
                in_arg = false;
                quoted_any = false;
            } else {
                buf.push(c);
            }
            continue;
        }
        if c == '"' {
            if !in_arg {
                in_arg = true;
                arg_col = this_col;
                arg_start = off;
                buf.clear();
            } else if !quoted_any {
                buf.push_str(&line[arg_start..off]);
            }
            quoted_any = true;
            quote_open = true;
            quote_col = this_col;
            continue;
        }
        if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
            if in_arg {
                finish(line, arg_start, off, arg_col, quoted_any, &mut buf, out);
                in_arg = false;
                quoted_any = false;
            }
            continue;
        }
        if !in_arg {
            in_arg = true;
            arg_col = this_col;
            arg_start = off;
            buf.clear();
        }
        if quoted_any {
            buf.push(c);
        }
    }
    if quote_open {
        return Err(LexError {
            col: quote_col,
            message: "unterminated quoted string; expected a closing `\"`".into(),
        });
    }
    if in_arg {
        finish(
            line,
            arg_start,
            line.len(),
            arg_col,
            quoted_any,
            &mut buf,
            out,
        );
    }
    Ok(())
}

fn finish<'a>(
    line: &'a str,
    start: usize,
    end: usize,
    col: u32,
    quoted_any: bool,
    buf: &mut String,
    out: &mut Vec<Token<'a>>,
) {
    let text = if quoted_any {
        Cow::Owned(std::mem::take(buf))
    } else {
        Cow::Borrowed(&line[start..end])
    };
    out.push(Token { text, col });
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
