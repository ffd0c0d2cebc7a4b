//! Doing things inside a named network namespace from this process: a short-lived thread
//! joins the namespace (`setns(CLONE_NEWNET)` changes only the calling thread) and reads
//! or writes `/proc/sys/net` (per namespace) and `/proc/thread-self/net` there.

use crate::error::{LabError, Result};
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// The bind mount `ip netns add` makes for a namespace.
pub fn netns_path(ns: &str) -> PathBuf {
    PathBuf::from("/run/netns").join(ns)
}

pub fn exists(ns: &str) -> bool {
    netns_path(ns).exists()
}

/// Run `f` on a thread that has joined namespace `ns`.
pub fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> Result<T> {
    let path = netns_path(ns);
    let file = std::fs::File::open(&path).map_err(|e| LabError::io(&path, e))?;
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: setns on an open namespace file; it affects only this thread,
            // which ends when `f` returns.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            if rc != 0 {
                return Err(LabError::io(&path, std::io::Error::last_os_error()));
            }
            Ok(f())
        })
        .join()
        .map_err(|_| LabError::Other(format!("a thread in namespace {ns} panicked")))?
    })
}

/// `/proc/sys/...` for a sysctl key as `sysctl` prints it: dots separate the levels, and a
/// `/` inside a level stands for a dot in a device name (`net.ipv4.conf.eth0/100.forwarding`).
pub fn sysctl_path(key: &str) -> PathBuf {
    let mut p = PathBuf::from("/proc/sys");
    for part in key.split('.') {
        p.push(part.replace('/', "."));
    }
    p
}

/// Read sysctl `key` in namespace `ns` (`None` when it does not exist there).
pub fn read_sysctl(ns: &str, key: &str) -> Result<Option<String>> {
    let path = sysctl_path(key);
    in_netns(ns, || std::fs::read_to_string(&path).ok())
        .map(|v| v.map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")))
}

/// Write sysctl `key` in namespace `ns`.
pub fn write_sysctl(ns: &str, key: &str, value: &str) -> Result<()> {
    let path = sysctl_path(key);
    in_netns(ns, || std::fs::write(&path, format!("{value}\n")))?.map_err(|e| LabError::Command {
        cmd: format!("sysctl -w {key}={value} (namespace {ns})"),
        status: "failed".into(),
        stderr: e.to_string(),
    })
}

/// Whether `/proc/sys/net/bridge` exists in `ns` (br_netfilter loaded).
pub fn has_br_netfilter(ns: &str) -> Result<bool> {
    in_netns(ns, || std::path::Path::new("/proc/sys/net/bridge").is_dir())
}

/// A bound socket as `/proc/net/{tcp,udp}` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundSocket {
    pub addr: Ipv4Addr,
    pub port: u16,
    /// TCP state number (0x0A: LISTEN; 0x07 for an unconnected UDP socket).
    pub state: u8,
}

/// Parse `/proc/net/tcp` or `/proc/net/udp`.
pub fn parse_proc_net(text: &str) -> Vec<BoundSocket> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let local = w.nth(1)?;
            let state = u8::from_str_radix(w.nth(1)?, 16).ok()?;
            let (a, p) = local.split_once(':')?;
            // The kernel prints the network-order 32-bit word as a host-order number.
            let a = u32::from_str_radix(a, 16).ok()?;
            Some(BoundSocket {
                addr: Ipv4Addr::from(a.to_ne_bytes()),
                port: u16::from_str_radix(p, 16).ok()?,
                state,
            })
        })
        .collect()
}

/// The IPv4 sockets bound in `ns` for `proto` ("tcp" or "udp").
pub fn bound_sockets(ns: &str, proto: &str) -> Result<Vec<BoundSocket>> {
    let file = format!("/proc/thread-self/net/{proto}");
    in_netns(ns, || std::fs::read_to_string(&file))?
        .map(|t| parse_proc_net(&t))
        .map_err(|e| LabError::io(&file, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_tcp_lines() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0200780A:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0\n   1: 00000000:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2 2 0000000000000000 0\n";
        assert_eq!(
            parse_proc_net(text),
            vec![
                BoundSocket {
                    addr: Ipv4Addr::new(10, 120, 0, 2),
                    port: 8080,
                    state: 0x0a
                },
                BoundSocket {
                    addr: Ipv4Addr::UNSPECIFIED,
                    port: 5353,
                    state: 0x07
                }
            ]
        );
    }

    #[test]
    fn sysctl_keys_to_paths() {
        assert_eq!(
            sysctl_path("net.ipv4.conf.eth0/100.forwarding"),
            PathBuf::from("/proc/sys/net/ipv4/conf/eth0.100/forwarding")
        );
    }
}
