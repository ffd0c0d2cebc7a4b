//! `pktpath lab ...`: worlds in real namespaces (see crates/lab).

use clap::Subcommand;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum LabCmd {}

pub fn run(cmd: LabCmd) -> Result<ExitCode, String> {
    match cmd {}
}
