//! One module per subcommand.

pub mod check;
pub mod counters;
pub mod demo;
pub mod lab;
pub mod lab_fuzz;
pub mod probe;
pub mod proxy;
pub mod rules;
pub mod serve;

use crate::Color;
use std::io::IsTerminal;

pub fn use_color(c: Color) -> bool {
    match c {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}
