//! Parse errors with file, line and column, and what was expected.

/// An error in trace text: where it is (1-based line and column, in characters) and what
/// was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("{file}:{line}:{col}: {message}")]
pub struct TraceParseError {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub message: String,
}
