//! pktpath-rules: the iptables rule language.
//!
//! [`model`] is the typed model of a ruleset; the parser turns `iptables-save` text into it
//! with file:line:col errors, and the printer writes it back exactly as `iptables-save` does.

pub mod error;
pub mod model;

pub use error::ParseError;
pub use model::*;

/// Parse a whole `iptables-save` file. `file` is only used in error messages.
/// (Placeholder until the parser lands: always an error.)
pub fn parse_save(text: &str, file: &str) -> Result<Ruleset, ParseError> {
    let _ = text;
    Err(ParseError {
        file: file.to_string(),
        line: 1,
        col: 1,
        message: "parser not implemented yet".into(),
    })
}
