//! `pktpath proxy`: the userland proxy (docker-proxy's arguments).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ProxyArgs {
    /// docker-proxy's flags: -proto tcp|udp -host-ip IP -host-port N -container-ip IP -container-port N
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn run(a: ProxyArgs) -> Result<ExitCode, String> {
    let _ = a;
    Err("pktpath proxy: not built yet".into())
}
