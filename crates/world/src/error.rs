//! Load errors: every error names the file, the line and column (1-based, columns counted in
//! characters) and says what was expected there.
//!
//! `Display` is the one-line form `file:line:col: message`; the `miette::Diagnostic` impl
//! also carries the file's text and a label on the offending spot for graphical reports.

use crate::text;
use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};
use std::fmt;

/// An error in a world snapshot: where it is and what was expected there.
#[derive(Clone, thiserror::Error)]
#[error("{file}:{line}:{col}: {message}")]
pub struct LoadError {
    /// The file, as the snapshot source labels it (a path, or `name/rel` for built-in worlds).
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub message: String,
    /// The file's text and the byte span of the offending spot, for graphical reports
    /// (boxed: errors travel in `Result`s and should stay small).
    snippet: Option<Box<Snippet>>,
}

#[derive(Clone)]
struct Snippet {
    source: NamedSource<String>,
    span: SourceSpan,
}

impl LoadError {
    /// An error at byte `offset` of `text` (the contents of `file`).
    pub(crate) fn at(file: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let offset = text::floor_char_boundary(text, offset);
        let (line, col) = text::line_col(text, offset);
        let len = text[offset..].chars().next().map_or(0, char::len_utf8);
        LoadError {
            file: file.to_string(),
            line,
            col,
            message: message.into(),
            snippet: Some(Box::new(Snippet {
                source: NamedSource::new(file, text.to_string()),
                span: SourceSpan::new(offset.into(), len),
            })),
        }
    }

    /// An error covering the byte range `start..end` of `text`.
    pub(crate) fn spanning(
        file: &str,
        text: &str,
        start: usize,
        end: usize,
        message: impl Into<String>,
    ) -> Self {
        let mut e = LoadError::at(file, text, start, message);
        let start = text::floor_char_boundary(text, start);
        let end = text::floor_char_boundary(text, end);
        if let (true, Some(snippet)) = (end > start, e.snippet.as_mut()) {
            snippet.span = SourceSpan::new(start.into(), end - start);
        }
        e
    }

    /// An error at a 1-based line and column of `text` (column counted in characters).
    pub(crate) fn at_line_col(
        file: &str,
        text: &str,
        line: u32,
        col: u32,
        message: impl Into<String>,
    ) -> Self {
        let offset = text::offset_of(text, line, col);
        let mut e = LoadError::at(file, text, offset, message);
        // Keep the position as reported (it may point past the end of a line, e.g. at EOF).
        e.line = line.max(1);
        e.col = col.max(1);
        e
    }

    /// An error about a file as a whole (reported at 1:1), e.g. a missing required file.
    pub(crate) fn whole_file(file: &str, message: impl Into<String>) -> Self {
        LoadError {
            file: file.to_string(),
            line: 1,
            col: 1,
            message: message.into(),
            snippet: None,
        }
    }
}

impl fmt::Debug for LoadError {
    // The one-line form: the attached file text would drown the position.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LoadError({self})")
    }
}

impl Diagnostic for LoadError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("pktpath::world"))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.snippet.as_ref().map(|s| &s.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.snippet.as_ref()?.span;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some("here".to_string()),
            span,
        ))))
    }
}

impl LoadError {
    /// A parse error of the rules parser, with the text it was found in (for the label).
    pub(crate) fn from_rules(e: pktpath_rules::ParseError, text: &str) -> Self {
        LoadError::at_line_col(&e.file, text, e.line, e.col, e.message)
    }
}
