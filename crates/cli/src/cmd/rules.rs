//! `pktpath rules ...`: the rule language on its own (validate, convert).

use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum RulesCmd {}

pub fn run(cmd: RulesCmd) -> Result<ExitCode, String> {
    match cmd {}
}
