//! The whole life of a `pktpath proxy` process, in docker-proxy's order:
//! take the status pipe, parse the flags, open the frontend, report to the
//! parent, forward until SIGTERM or SIGINT, exit 0.

use std::process::ExitCode;

use tokio::signal::unix::{signal, SignalKind};

use crate::args::{parse_invocation, ArgError, Invocation, Proto, USAGE};
use crate::parent::{raise_nofile_limit, StatusPipe};
use crate::{Options, Proxy};

/// Runs the proxy for docker-proxy's arguments `args` (without the program
/// name) until SIGTERM/SIGINT. Exit codes as docker-proxy's: 0 after a
/// signal, `-h` or `-v`; 1 when the frontend cannot be opened (reported on
/// the status pipe too) or for an unusable argument such as an unsupported
/// protocol; a flag error is returned as `Err` (the caller exits 2, as Go's
/// `flag.ExitOnError` does). Unlike docker-proxy, which exits 0 when
/// accepting fails, this exits 1 then.
///
/// Threads: a TCP proxy runs one tokio worker per CPU (as Go's GOMAXPROCS
/// does for docker-proxy), since connections are independent; a UDP proxy
/// runs on one thread, since all datagrams pass through one frontend socket
/// and a hand-off between threads per reply only adds latency (measured:
/// p50 round trip ~48 us on two workers against ~40 us on one, the latter
/// on par with docker-proxy). `PKTPATH_PROXY_WORKERS=N` overrides this
/// (0: single-threaded).
pub fn run_process(args: &[String], options: Options) -> Result<ExitCode, String> {
    // Before anything can open a file and take fd 3's place.
    let status = StatusPipe::take();
    let parsed = match parse_invocation(args) {
        Ok(p) => p,
        Err(e @ ArgError::Flag(_)) => return Err(e.to_string()),
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(e.exit_code()));
        }
    };
    let spec = match parsed {
        Invocation::Run(spec) => spec,
        Invocation::Help => {
            eprint!("{USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        Invocation::Version => {
            println!(
                "pktpath proxy (docker-proxy compatible) version {}",
                env!("CARGO_PKG_VERSION")
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    raise_nofile_limit();
    let fail = |status: Option<StatusPipe>, msg: String| {
        if let Some(s) = status {
            s.report(Err(&msg));
        }
        eprintln!("{msg}");
        Ok(ExitCode::from(1))
    };
    // Opened before the runtime so that fd 4 (-use-listen-fd) is still the
    // inherited socket.
    let proxy = match Proxy::bind(&spec, options) {
        Ok(p) => p,
        Err(e) => return fail(status, e.to_string()),
    };
    let workers = std::env::var("PKTPATH_PROXY_WORKERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    let built = match (workers, spec.proto) {
        (Some(0), _) | (None, Proto::Udp) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        (Some(n), _) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build(),
        (None, Proto::Tcp) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    };
    let rt = match built {
        Ok(rt) => rt,
        Err(e) => return fail(status, format!("cannot start the runtime: {e}")),
    };
    rt.block_on(async move {
        let (mut term, mut int) = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(t), Ok(i)) => (t, i),
            (Err(e), _) | (_, Err(e)) => {
                return fail(status, format!("cannot handle signals: {e}"));
            }
        };
        if let Some(s) = status {
            s.report(Ok(()));
        }
        let stop = async {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        };
        match proxy.serve(stop).await {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(_) => Ok(ExitCode::from(1)),
        }
    })
}
