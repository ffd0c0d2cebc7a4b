//! `pktpath serve`: a small server for lab worlds (HTTP on TCP, echo on UDP).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ServeArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn run(a: ServeArgs) -> Result<ExitCode, String> {
    let _ = a;
    Err("pktpath serve: not built yet".into())
}
