//! `pktpath proxy`: the userland proxy, taking docker-proxy's arguments so it
//! can stand in for it (`-proto tcp|udp -host-ip IP -host-port N
//! -container-ip IP -container-port N`, parsed with Go `flag` rules by
//! pktpath-proxy).

use std::process::ExitCode;

#[derive(clap::Args)]
#[command(disable_help_flag = true)]
pub struct ProxyArgs {
    /// docker-proxy's flags: -proto tcp|udp -host-ip IP -host-port N -container-ip IP -container-port N
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn run(a: ProxyArgs) -> Result<ExitCode, String> {
    pktpath_proxy::run_process(&a.args, pktpath_proxy::Options::default())
}
