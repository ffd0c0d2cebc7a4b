//! Running the machine's tools (`ip`, `iptables-restore`, `conntrack`, curl...), root and
//! tool checks, Ctrl-C, and the processes the lab started (identified by PID and start
//! time, so that a recycled PID is never signalled).

use crate::error::{LabError, Result};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Catch SIGINT, SIGTERM and SIGHUP: long operations then stop at the next check and
/// remove what they created. (Children get the terminal's SIGINT themselves.)
pub fn install_signal_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a plain sigaction with a handler that only stores an atomic.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Whether a signal asked us to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// `Err(Interrupted)` once a signal arrived.
pub fn check_interrupt() -> Result<()> {
    if interrupted() {
        Err(LabError::Interrupted)
    } else {
        Ok(())
    }
}

/// Sleep, waking early (with `Err`) on Ctrl-C.
pub fn sleep(d: Duration) -> Result<()> {
    let end = Instant::now() + d;
    loop {
        check_interrupt()?;
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        std::thread::sleep((end - now).min(Duration::from_millis(20)));
    }
}

pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

/// Fail clearly unless we are root.
pub fn require_root(what: &str) -> Result<()> {
    match euid() {
        0 => Ok(()),
        euid => Err(LabError::NotRoot {
            what: what.into(),
            euid,
        }),
    }
}

/// The Debian package that has `tool`.
fn package_of(tool: &str) -> &'static str {
    match tool {
        "ip" => "iproute2",
        "iptables" | "iptables-restore" | "iptables-save" | "xtables-monitor" => "iptables",
        "conntrack" => "conntrack",
        "nft" => "nftables",
        "curl" => "curl",
        "ping" => "iputils-ping",
        "modprobe" => "kmod",
        _ => "?",
    }
}

/// Where `tool` is on PATH (and in the sbin folders, which a non-login root shell may lack).
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// The tools every lab command runs.
pub const LAB_TOOLS: &[&str] = &[
    "ip",
    "iptables",
    "iptables-restore",
    "iptables-save",
    "xtables-monitor",
    "conntrack",
    "curl",
    "ping",
];

/// Fail with the list of missing tools and their packages.
pub fn require_tools(tools: &[&str]) -> Result<()> {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| find_tool(t).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut packages: Vec<&str> = missing.iter().map(|t| package_of(t)).collect();
    packages.dedup();
    Err(LabError::MissingTools {
        tools: missing.join(", "),
        packages: packages.join(" "),
    })
}

/// A finished command.
#[derive(Debug, Clone)]
pub struct Output {
    pub argv: Vec<String>,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
    /// `Err(Command)` unless it exited 0.
    pub fn ok(self) -> Result<Output> {
        if self.status.success() {
            Ok(self)
        } else {
            Err(LabError::Command {
                cmd: shell_words(&self.argv),
                status: status_text(self.status),
                stderr: self.stderr.trim().to_string(),
            })
        }
    }
}

pub fn status_text(s: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => "unknown status".into(),
    }
}

/// A command line as a shell would take it back.
pub fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@+%".contains(&b))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `ip netns exec NS argv...`
pub fn in_ns(ns: &str, argv: &[&str]) -> Vec<String> {
    ["ip", "netns", "exec", ns]
        .iter()
        .chain(argv)
        .map(|s| s.to_string())
        .collect()
}

pub fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

/// Run to completion, capturing output, with `input` on stdin; Ctrl-C kills the child
/// and returns `Err(Interrupted)`, and so does `limit` (`Err(Command)` naming the limit).
pub fn run_with(argv: &[String], input: Option<&str>, limit: Duration) -> Result<Output> {
    check_interrupt()?;
    exec(argv, input, limit, true)
}

/// Run a cleanup command: it runs even after Ctrl-C (which is when cleanup matters most).
pub fn run_cleanup(argv: &[String]) -> Result<Output> {
    exec(argv, None, Duration::from_secs(60), false)
}

fn exec(
    argv: &[String],
    input: Option<&str>,
    limit: Duration,
    interruptible: bool,
) -> Result<Output> {
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| LabError::Command {
        cmd: shell_words(argv),
        status: "could not start".into(),
        stderr: e.to_string(),
    })?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        use std::io::Write;
        // A child that exits early closes the pipe; its status tells what happened.
        let _ = stdin.write_all(text.as_bytes());
    }
    let out = reader(child.stdout.take());
    let err = reader(child.stderr.take());
    let status = wait(&mut child, limit, argv, interruptible)?;
    Ok(Output {
        argv: argv.to_vec(),
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// [`run_with`] without input and a 60 s limit.
pub fn run(argv: &[String]) -> Result<Output> {
    run_with(argv, None, Duration::from_secs(60))
}

/// [`run`], and `Err` unless it exited 0.
pub fn run_ok(argv: &[String]) -> Result<Output> {
    run(argv)?.ok()
}

fn reader<R: Read + Send + 'static>(r: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Wait for a child we started, polling for Ctrl-C; past `limit` it is killed.
pub fn wait_child(child: &mut Child, limit: Duration, argv: &[String]) -> Result<ExitStatus> {
    wait(child, limit, argv, true)
}

fn wait(
    child: &mut Child,
    limit: Duration,
    argv: &[String],
    interruptible: bool,
) -> Result<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(st) = child
            .try_wait()
            .map_err(|e| LabError::Other(e.to_string()))?
        {
            return Ok(st);
        }
        if (interruptible && interrupted()) || start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            if interruptible {
                check_interrupt()?;
            }
            return Err(LabError::Command {
                cmd: shell_words(argv),
                status: format!("still running after {} s, killed", limit.as_secs()),
                stderr: String::new(),
            });
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The start time of process `pid` (field 22 of `/proc/PID/stat`, clock ticks since
/// boot): with the PID it names one process for good.
pub fn proc_starttime(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Alive and not a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 2..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Stop a process the lab started: SIGTERM, then SIGKILL after 2 s. Only when its start
/// time is still the recorded one (so a recycled PID is left alone). Returns whether a
/// signal was sent.
pub fn stop_process(pid: u32, starttime: u64) -> bool {
    if pid <= 1 || proc_starttime(pid) != Some(starttime) {
        return false;
    }
    let Ok(p) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) on a PID we verified is the process we started.
    unsafe { libc::kill(p, libc::SIGTERM) };
    let end = Instant::now() + Duration::from_secs(2);
    while Instant::now() < end {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if proc_starttime(pid) == Some(starttime) {
        // SAFETY: as above.
        unsafe { libc::kill(p, libc::SIGKILL) };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_quotes_what_a_shell_would_split() {
        let a = argv(&["curl", "-w", "%{http_code}", "http://1.2.3.4:80/", "it's"]);
        assert_eq!(
            shell_words(&a),
            r"curl -w '%{http_code}' http://1.2.3.4:80/ 'it'\''s'"
        );
    }

    #[test]
    fn starttime_of_ourselves() {
        assert!(proc_starttime(std::process::id()).is_some());
        assert!(proc_starttime(u32::MAX).is_none());
    }
}
