//! `pktpath serve`: a small server for lab worlds (HTTP on TCP, echo on UDP); see
//! `pktpath_lab::serve`.

use pktpath_lab::serve::{self, Listen, Style};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// `python`: HTTP/1.0 200 in two writes (python3 -m http.server); `busybox`: HTTP/1.1
    /// 404 in one write (busybox httpd without an index file).
    #[arg(long, default_value = "python")]
    pub style: String,
    /// Sockets to serve: `tcp:ADDR:PORT` (HTTP) or `udp:ADDR:PORT` (echo), optionally
    /// `%DEV` to bind to a device.
    #[arg(required = true)]
    pub listen: Vec<String>,
}

pub fn run(a: ServeArgs) -> Result<ExitCode, String> {
    let style = Style::parse(&a.style)
        .ok_or_else(|| format!("--style {}: expected python or busybox", a.style))?;
    let listens = a
        .listen
        .iter()
        .map(|s| Listen::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    serve::run(&listens, style)?;
    Ok(ExitCode::SUCCESS)
}
