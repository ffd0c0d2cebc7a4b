//! pktpath-rules: the iptables rule language.
//!
//! [`model`] is the typed model of a ruleset; the parser turns `iptables-save` text into it
//! with file:line:col errors, and the printer writes it back exactly as `iptables-save`
//! (1.8.9, nf_tables) does.
//!
//! - [`parse_save`] / [`parse_save_lenient`]: a whole file.
//! - [`parse_rule`]: one `-A CHAIN ...` argument string.
//! - [`print_rule`] / [`print_ruleset`]: back to text.

mod args;
mod chain_index;
pub mod error;
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
pub use model::*;
pub use print::{mark_action_xmark, print_rule, print_ruleset};

use parse_rule::Mode;

/// Parse a whole `iptables-save` file. `file` is only used in error messages.
/// Unknown match modules or targets, undeclared chains and jumps to missing chains are
/// errors, as they are for `iptables-restore`.
pub fn parse_save(text: &str, file: &str) -> Result<Ruleset, ParseError> {
    parse_save::parse_file(text, file, Mode::Strict).map(|(rs, _)| rs)
}

/// Like [`parse_save`], but unknown match modules and targets (and jumps to chains that
/// do not exist) are kept verbatim as [`Match::Unknown`] / [`Target::Unknown`] and
/// reported in the returned warnings. Other errors stop the parse: the ruleset then
/// holds what was read before the error, and the error is the last warning.
pub fn parse_save_lenient(text: &str, file: &str) -> (Ruleset, Vec<ParseError>) {
    match parse_save::parse_file(text, file, Mode::Lenient) {
        Ok(x) => x,
        Err(e) => (Ruleset::default(), vec![e]),
    }
}

/// Parse one rule's arguments, `-A CHAIN [options]` (as in an iptables-save line or an
/// `iptables -A ...` command line without the program name). Returns the chain and the
/// rule; `line` is used for positions (columns count from 1 in `args`).
pub fn parse_rule(args: &str, file: &str, line: u32) -> Result<(String, Rule), ParseError> {
    let mut toks = Vec::new();
    lex::split_args(args, 1, &mut toks).map_err(|e| ParseError {
        file: file.to_string(),
        line,
        col: e.col,
        message: e.message,
    })?;
    let end_col = 1 + args.chars().count() as u32;
    let mut scratch = parse_rule::Scratch::default();
    let p = parse_rule::parse_rule_args(&toks, file, line, end_col, Mode::Strict, &mut scratch)?;
    Ok((p.chain.into_owned(), p.rule))
}
#[cfg(test)]
mod size_probe {
    use crate::*;
    #[test]
    fn sizes() {
        use std::mem::size_of;
        eprintln!("Rule {} Match {} Target {} Tcp {} Udp {} Multiport {} AddrType {} Conntrack {} Statistic {} Recent {} Limit {} IpRange {} Physdev {} Owner {} HashLimit {} Neg<Vec<CtState>> {} IfaceName {} LogOptions {} Nflog {} NatRange {}",
            size_of::<Rule>(), size_of::<Match>(), size_of::<Target>(), size_of::<TcpMatch>(), size_of::<UdpMatch>(), size_of::<MultiportMatch>(), size_of::<AddrTypeMatch>(), size_of::<ConntrackMatch>(), size_of::<StatisticMatch>(), size_of::<RecentMatch>(), size_of::<LimitMatch>(), size_of::<IpRangeMatch>(), size_of::<PhysdevMatch>(), size_of::<OwnerMatch>(), size_of::<HashLimitMatch>(), size_of::<Neg<Vec<CtState>>>(), size_of::<IfaceName>(), size_of::<LogOptions>(), size_of::<NflogOptions>(), size_of::<NatRange>());
    }
}
