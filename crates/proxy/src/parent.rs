//! The start-up report to the parent process, and the process set-up Go
//! does for docker-proxy before `main`.
//!
//! dockerd starts docker-proxy with a pipe as fd 3 and waits (16 s in
//! libnetwork's `portmapper/proxy_linux.go`) for `"0\n"` (listening) or
//! `"1\n<error>"` (failed); docker-proxy writes one of them and closes fd 3.
//! pktpath does the same, but only when fd 3 is a pipe or FIFO, so that a
//! hand-started `pktpath proxy` never writes into an unrelated fd 3.

use std::fs::File;
use std::io::Write;
use std::os::fd::FromRawFd;
use std::os::unix::fs::FileTypeExt;

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// docker-proxy's status pipe (`parentPipeFd`).
pub const STATUS_FD: i32 = 3;

/// The status pipe inherited from dockerd.
pub struct StatusPipe(File);

impl StatusPipe {
    /// Takes fd 3 if it is a pipe or FIFO. Call before anything else in the
    /// process opens files, so that fd 3 is still the inherited one.
    pub fn take() -> Option<StatusPipe> {
        // stat(2) on /proc/self/fd/N follows the link to the open file itself.
        let meta = std::fs::metadata(format!("/proc/self/fd/{STATUS_FD}")).ok()?;
        if !meta.file_type().is_fifo() {
            return None;
        }
        // SAFETY: fd 3 is open (its /proc entry exists) and is a pipe
        // inherited from the parent for this purpose; nothing else in this
        // process owns it, and from here on only this File closes it.
        Some(StatusPipe(unsafe { File::from_raw_fd(STATUS_FD) }))
    }

    /// Writes `"0\n"` or `"1\n<error>"` and closes the pipe.
    pub fn report(mut self, result: Result<(), &str>) {
        let msg = match result {
            Ok(()) => "0\n".to_string(),
            Err(e) => format!("1\n{e}"),
        };
        // docker-proxy ignores write errors here (the parent may be gone).
        let _ = self.0.write_all(msg.as_bytes());
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, as the Go runtime does
/// for every Go program since Go 1.19 (`os` package init), so the proxy can
/// hold as many connections as docker-proxy can. Returns the new soft limit.
pub fn raise_nofile_limit() -> Option<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).ok()?;
    }
    Some(hard)
}
