//! Shared helpers of the formats_* tests: where `shared/` is, and a scratch network
//! namespace in which the real iptables 1.8.9 (nf_tables) is the oracle.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// `<repo root>/../shared` (CI clones the repo next to `shared/`).
pub fn shared_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared"))
}

/// `<repo root>` (for the repo's own fixtures/).
pub fn repo_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// This crate's tests/formats_data/.
pub fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/formats_data"))
}

/// A network namespace of our own, deleted when dropped (also when a test fails).
pub struct Netns {
    pub name: String,
}

fn need(tool: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is not installed: these tests compare with the real iptables 1.8.9 (nf_tables); \
         install it (Debian: apt-get install iptables iproute2) and run them as root"
    );
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        need("iptables-restore");
        need("iptables");
        need("ip");
        let name = format!("pktpath-fmt-{tag}-{}", std::process::id());
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("run ip");
        assert!(
            out.status.success(),
            "cannot create network namespace {name} (these tests must run as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Netns { name }
    }

    /// Run a command inside the namespace, with `stdin` as standard input.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ip netns exec");
        // iptables-restore may stop reading early: a broken pipe is fine.
        let _ = child.stdin.take().expect("piped").write_all(stdin);
        child.wait_with_output().expect("wait")
    }

    /// Run and insist on success; the standard output.
    pub fn ok(&self, args: &[&str], stdin: &[u8]) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// What `iptables-restore --test` said about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreVerdict {
    pub accepted: bool,
    /// The line it names when it refuses (`Error occurred at line: N`,
    /// `iptables-restore: line N failed`, `COMMIT expected at line N`).
    pub line: Option<u32>,
    pub stderr: String,
}

pub fn restore_test(ns: &Netns, text: &[u8]) -> RestoreVerdict {
    let out = ns.run(&["iptables-restore", "--test"], text);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    RestoreVerdict {
        accepted: out.status.success(),
        line: iptables_line(&stderr),
        stderr,
    }
}

/// The line number in iptables-restore's error output.
pub fn iptables_line(stderr: &str) -> Option<u32> {
    let num_after = |pat: &str| -> Option<u32> {
        let k = stderr.find(pat)? + pat.len();
        let digits: String = stderr[k..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    };
    num_after("Error occurred at line: ")
        .or_else(|| num_after("COMMIT expected at line "))
        .or_else(|| num_after(": line "))
}
