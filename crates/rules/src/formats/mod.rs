//! Other ways of writing a ruleset than `iptables-save`, and `iptables-restore --test`:
//!
//! - [`command`]: one `iptables ...` command line (`-A/-I/-D/-R/-C/-N/-X/-F/-Z/-P/-E/-L/-S`);
//!   [`apply`] applies it to a [`Ruleset`](crate::Ruleset) as iptables-nft would.
//! - [`script`]: shell scripts of such commands (`sudo`, comments, continuations).
//! - [`restore_test`]: what `iptables-restore --test` accepts, line by line.
//! - [`list_rules`]: `iptables -S` output, both ways.
//! - [`listing`] / [`listing_parse`]: `iptables -L [-n] [-v] [--line-numbers]` listings,
//!   both ways (parsing recovers what the listing shows and lists what it cannot).

pub mod apply;
pub mod command;
pub mod list_rules;
pub mod listing;
pub mod listing_parse;
mod names;
pub mod restore_test;
pub mod script;

pub use apply::apply_command;
pub use command::{Command, CommandLine, Context};
pub use list_rules::{parse_list_rules, print_list_rules, print_list_rules_v};
pub use listing::{print_listing, ListFormat};
pub use listing_parse::{parse_listing, Lossy, ParsedListing};
pub use restore_test::restore_test;
pub use script::{apply_script, parse_script};
