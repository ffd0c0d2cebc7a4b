//! pktpath-rules: the iptables rule language.
//!
//! [`model`] is the typed model of a ruleset; the parser turns `iptables-save` text into it
//! with file:line:col errors, and the printer writes it back exactly as `iptables-save`
//! (1.8.9, nf_tables) does.
//!
//! - [`parse_save`] / [`parse_save_lenient`]: a whole file.
//! - [`parse_rule`] / [`parse_rule_all`]: one `-A CHAIN ...` argument string.
//! - [`print_rule`] / [`print_ruleset`] (and `Display` for [`Ruleset`], [`Table`],
//!   [`Match`], [`Target`], [`Protocol`], [`IfaceName`]): back to text.
//!
//! Behaviour is checked against the real iptables 1.8.9 (nf_tables): `tests/oracle/`
//! holds what `iptables-restore`/`iptables-save` made of ~450 rules and ~50 files, and
//! `tests/corpus_oracle/` what they made of the real-world rulesets.

mod args;
mod chain_index;
pub mod error;
pub mod formats;
mod lex;
pub mod model;
mod netdb;
mod parse_match;
mod parse_rule;
mod parse_save;
mod parse_target;
mod print;
mod quote;
mod validate;
mod values;

pub use error::ParseError;
pub use formats::{apply_script, parse_script, restore_test};
pub use model::*;
pub use print::{mark_action_xmark, print_rule, print_rule_counted, print_ruleset};

use parse_rule::Mode;

/// Parse a whole `iptables-save` file. `file` is only used in error messages.
/// Unknown match modules or targets, undeclared chains and jumps to missing chains are
/// errors, as they are for `iptables-restore`.
pub fn parse_save(text: &str, file: &str) -> Result<Ruleset, ParseError> {
    parse_save::parse_file(text, file, Mode::Strict).map(|(rs, _)| rs)
}

/// Like [`parse_save`], but unknown match modules and targets (and jumps to chains that
/// do not exist) are kept verbatim as [`Match::Unknown`] / [`Target::Unknown`] and
/// reported in the returned warnings. Any other error stops the parse: the ruleset is
/// then empty and the error is the only entry of the returned list.
pub fn parse_save_lenient(text: &str, file: &str) -> (Ruleset, Vec<ParseError>) {
    match parse_save::parse_file(text, file, Mode::Lenient) {
        Ok(x) => x,
        Err(e) => (Ruleset::default(), vec![e]),
    }
}

/// Parse one rule's arguments, `-A CHAIN [options]` (as in an iptables-save line or an
/// `iptables -A ...` command line without the program name). Returns the chain and the
/// rule; `line` is used for positions (columns count from 1 in `args`).
/// Comma-separated `-s`/`-d` lists stand for several rules: use [`parse_rule_all`].
pub fn parse_rule(args: &str, file: &str, line: u32) -> Result<(String, Rule), ParseError> {
    let (chain, mut rules) = parse_rule_all(args, file, line)?;
    if rules.len() != 1 {
        return Err(ParseError {
            file: file.to_string(),
            line,
            col: 1,
            message: format!(
                "these arguments stand for {} rules (comma-separated addresses); use parse_rule_all",
                rules.len()
            ),
        });
    }
    Ok((chain, rules.remove(0)))
}

/// Like [`parse_rule`], but a comma-separated `-s`/`-d` list gives one rule per
/// source-destination combination, as iptables adds them (sources outermost).
/// `-I CHAIN [n]` is accepted like `-A`.
pub fn parse_rule_all(
    args: &str,
    file: &str,
    line: u32,
) -> Result<(String, Vec<Rule>), ParseError> {
    let mut toks = Vec::new();
    let end_col = lex::split_args(args, 1, &mut toks).map_err(|e| ParseError {
        file: file.to_string(),
        line,
        col: e.col,
        message: e.message,
    })?;
    let mut scratch = parse_rule::Scratch::default();
    let p = parse_rule::parse_rule_args(&toks, file, line, end_col, Mode::Strict, &mut scratch)?;
    let rules = if p.srcs.is_empty() && p.dsts.is_empty() {
        vec![p.rule]
    } else {
        p.expand()
    };
    Ok((p.chain.into_owned(), rules))
}
#[cfg(test)]
mod tests {
    /// Big rulesets hold hundreds of thousands of matches: keep `Match` small (large
    /// variants are boxed). Memory is what parsing time goes to on a fresh process.
    #[test]
    fn match_stays_small() {
        assert!(std::mem::size_of::<crate::Match>() <= 48);
        // 216 since `-s`/`-d` hold any netmask (AddrMask, 9 bytes each with its `!`).
        assert!(std::mem::size_of::<crate::Rule>() <= 216);
    }
}
