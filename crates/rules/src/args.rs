//! A cursor over one rule's arguments, shared by the rule, match and target parsers:
//! it hands out option values and builds [`ParseError`]s at the right column.

use crate::error::ParseError;
use crate::lex::Token;

pub struct Args<'t, 'a> {
    toks: &'t [Token<'a>],
    pos: usize,
    pub file: &'t str,
    pub line: u32,
    /// Column just past the last argument (for "missing value" errors at end of line).
    pub end_col: u32,
}

impl<'t, 'a> Args<'t, 'a> {
    pub fn new(toks: &'t [Token<'a>], file: &'t str, line: u32, end_col: u32) -> Self {
        Args {
            toks,
            pos: 0,
            file,
            line,
            end_col,
        }
    }

    /// The next argument, advancing.
    pub fn next(&mut self) -> Option<&'t Token<'a>> {
        let t = self.toks.get(self.pos)?;
        self.pos += 1;
        Some(t)
    }

    /// The next argument without advancing.
    pub fn peek(&self) -> Option<&'t Token<'a>> {
        self.toks.get(self.pos)
    }

    /// The value of option `opt`: the next argument, which must exist.
    pub fn value(&mut self, opt: &Token) -> Result<&'t Token<'a>, ParseError> {
        match self.next() {
            Some(t) => Ok(t),
            None => Err(self.err(
                self.end_col,
                format!("option `{}` requires an argument", opt.as_str()),
            )),
        }
    }

    pub fn err(&self, col: u32, message: impl Into<String>) -> ParseError {
        ParseError {
            file: self.file.to_string(),
            line: self.line,
            col,
            message: message.into(),
        }
    }

    /// An error about token `t`.
    pub fn err_at(&self, t: &Token, message: impl Into<String>) -> ParseError {
        self.err(t.col, message)
    }
}
