//! The UDP probe client (`pktpath lab udp-client`), a port of
//! `tools/capture/udp_client.py` with the same behaviour and the same log: a socket bound
//! to 0.0.0.0:SPORT (SO_REUSEADDR), `IP_RECVERR` on, `connect()`ed to the destination;
//! one datagram; up to TIMEOUT seconds for one reply. The last line is
//! `result: <outcome>`.
//!
//! `IP_RECVERR` matters: without it Linux reports only "hard" ICMP errors (port
//! unreachable, the prohibited codes) to a connected UDP socket (`__udp4_lib_err`), and
//! host/net unreachable would look like silence. The error queue then says which ICMP
//! type/code came back and who sent it.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::{Duration, Instant};

/// The payload udp_client.py sends.
pub const PAYLOAD: &str = "pktpath udp probe\n";

/// errno names as Python's `errno.errorcode` prints them.
pub fn errno_name(e: i32) -> String {
    let name = match e {
        libc::EPERM => "EPERM",
        libc::EACCES => "EACCES",
        libc::EINVAL => "EINVAL",
        libc::EAGAIN => "EAGAIN",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENETDOWN => "ENETDOWN",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ECONNRESET => "ECONNRESET",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EHOSTDOWN => "EHOSTDOWN",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::EPROTO => "EPROTO",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::ETIMEDOUT => "ETIMEDOUT",
        _ => return e.to_string(),
    };
    name.into()
}

/// strerror without Rust's ` (os error N)` suffix.
fn strerror(e: i32) -> String {
    let s = std::io::Error::from_raw_os_error(e).to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn classify_errno(e: i32) -> String {
    let name = errno_name(e);
    match outcome_of_errno(&name) {
        Some(o) => o.into(),
        None => format!("other:{name}"),
    }
}

/// The outcome an errno of the UDP client means, by its name (`ECONNREFUSED`...); also
/// used to read older client logs whose `result:` line said `other:ERRNO`.
pub fn outcome_of_errno(name: &str) -> Option<&'static str> {
    match name {
        "ECONNREFUSED" => Some("refused"),
        // ENOPROTOOPT: an ICMP protocol unreachable (REJECT --reject-with
        // icmp-proto-unreachable); like every destination unreachable but the port's, it
        // says "no route" to the client. EINVAL from send(): NAT in OUTPUT asked for a
        // route that cannot exist (ip_route_me_harder() fails, e.g. a 127.0.0.1 source
        // DNATed to a pod).
        "EHOSTUNREACH" | "ENETUNREACH" | "ENOPROTOOPT" | "EINVAL" => Some("no_route"),
        _ => None,
    }
}

fn setsockopt_int(fd: i32, level: i32, name: i32, v: i32) -> std::io::Result<()> {
    // SAFETY: setsockopt with a pointer to a live int and its size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            &v as *const i32 as *const libc::c_void,
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A UDP socket with SO_REUSEADDR and IP_RECVERR, bound to 0.0.0.0:sport.
fn open_socket(sport: u16) -> std::io::Result<UdpSocket> {
    // SAFETY: plain socket(2); the fd is owned by the UdpSocket right away.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh socket we own.
    let sock = unsafe { UdpSocket::from_raw_fd(fd) };
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    setsockopt_int(fd, libc::SOL_IP, libc::IP_RECVERR, 1)?;
    // std's bind is on the socket address type; do it by hand on the fd.
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: sport.to_be(),
        sin_addr: libc::in_addr { s_addr: 0 },
        sin_zero: [0; 8],
    };
    // SAFETY: bind with a valid sockaddr_in and its size.
    let rc = unsafe {
        libc::bind(
            fd,
            &addr as *const libc::sockaddr_in as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(sock)
}

/// Read what the error queue holds (`MSG_ERRQUEUE`): the ICMP errors matched to the socket.
fn read_errqueue(sock: &UdpSocket) -> Vec<String> {
    let fd = sock.as_raw_fd();
    let mut lines = Vec::new();
    for _ in 0..4 {
        let mut data = [0u8; 2048];
        let mut control = [0u64; 64];
        let mut iov = libc::iovec {
            iov_base: data.as_mut_ptr() as *mut libc::c_void,
            iov_len: data.len(),
        };
        // SAFETY: a zeroed msghdr pointing at live buffers.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: recvmsg on our socket with the buffers above.
        let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT) };
        if n < 0 {
            break;
        }
        // SAFETY: walking the control messages the kernel wrote into `control`.
        let mut c = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        while !c.is_null() {
            // SAFETY: c points at a control message header inside `control`.
            let (level, typ, len) = unsafe { ((*c).cmsg_level, (*c).cmsg_type, (*c).cmsg_len) };
            // SAFETY: CMSG_DATA of a valid header.
            let p = unsafe { libc::CMSG_DATA(c) };
            // SAFETY: CMSG_LEN(0) is a constant computation.
            let header = unsafe { libc::CMSG_LEN(0) } as usize;
            // cmsg_len is a size_t on glibc, a socklen_t elsewhere.
            #[allow(clippy::unnecessary_cast)]
            let data_len = (len as usize).saturating_sub(header);
            if level == libc::SOL_IP && typ == libc::IP_RECVERR && data_len >= 16 {
                // SAFETY: data_len bytes at p are the control message's payload.
                let b = unsafe { std::slice::from_raw_parts(p, data_len) };
                let ee_errno = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as i32;
                let origin = match b[4] {
                    0 => "none".to_string(),
                    1 => "local".to_string(),
                    2 => "icmp".to_string(),
                    3 => "icmp6".to_string(),
                    o => o.to_string(),
                };
                let info = u32::from_ne_bytes([b[8], b[9], b[10], b[11]]);
                // SO_EE_OFFENDER: a sockaddr_in right after the 16-byte header.
                let offender = if data_len >= 24
                    && u16::from_ne_bytes([b[16], b[17]]) == libc::AF_INET as u16
                {
                    Ipv4Addr::new(b[20], b[21], b[22], b[23]).to_string()
                } else {
                    "-".to_string()
                };
                lines.push(format!(
                    "error queue: errno={} origin={origin} icmp_type={} icmp_code={} info={info} offender={offender}",
                    errno_name(ee_errno),
                    b[5],
                    b[6]
                ));
            }
            // SAFETY: next header within the same msghdr.
            c = unsafe { libc::CMSG_NXTHDR(&msg, c) };
        }
    }
    lines
}

/// `{:g}` of Python for the timeouts we use.
fn g(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// Run one probe; returns the log (last line `result: ...`) and whether a reply came.
pub fn run(sport: u16, timeout: f64, dst: Ipv4Addr, dport: u16) -> (String, bool) {
    let mut out = vec![format!(
        "udp client: local port {sport} -> {dst}:{dport}, timeout {} s, IP_RECVERR on",
        g(timeout)
    )];
    let sock = match open_socket(sport) {
        Ok(s) => s,
        Err(e) => {
            let n = e.raw_os_error().unwrap_or(0);
            out.push(format!("bind failed: {} ({})", errno_name(n), strerror(n)));
            out.push(format!("result: {}", classify_errno(n)));
            return (out.join("\n"), false);
        }
    };
    let t0 = Instant::now();
    let mut result: Option<String> = None;
    let sent = sock.connect(SocketAddrV4::new(dst, dport)).and_then(|()| {
        if let Ok(std::net::SocketAddr::V4(l)) = sock.local_addr() {
            out.push(format!(
                "connected socket {}:{} -> {dst}:{dport}",
                l.ip(),
                l.port()
            ));
        }
        sock.send(PAYLOAD.as_bytes())
    });
    match sent {
        Ok(n) => out.push(format!("sent {n} bytes")),
        Err(e) => {
            let n = e.raw_os_error().unwrap_or(0);
            out.push(format!("send failed: {} ({})", errno_name(n), strerror(n)));
            if n == libc::EPERM {
                // A DROP or REJECT verdict in this namespace's OUTPUT: like curl, whose
                // SYN is dropped the same way, keep waiting for what comes back.
                out.push(
                    "EPERM means netfilter dropped the datagram in OUTPUT; waiting for an ICMP error"
                        .into(),
                );
            } else {
                result = Some(classify_errno(n));
            }
        }
    }
    if result.is_none() {
        let _ = sock.set_read_timeout(Some(Duration::from_secs_f64(timeout.max(0.001))));
        let mut buf = vec![0u8; 65535];
        result = Some(match sock.recv(&mut buf) {
            Ok(n) => {
                out.push(format!(
                    "received {n} bytes after {:.3} s: {}",
                    t0.elapsed().as_secs_f64(),
                    py_bytes(&buf[..n])
                ));
                "connected".into()
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                out.push(format!("no reply within {} s", g(timeout)));
                "timeout".into()
            }
            Err(e) => {
                let n = e.raw_os_error().unwrap_or(0);
                out.push(format!(
                    "recv failed after {:.3} s: {} ({})",
                    t0.elapsed().as_secs_f64(),
                    errno_name(n),
                    strerror(n)
                ));
                classify_errno(n)
            }
        });
    }
    out.extend(read_errqueue(&sock));
    let result = result.unwrap_or_default();
    let connected = result == "connected";
    out.push(format!("result: {result}"));
    (out.join("\n"), connected)
}

/// Python's `repr(bytes)` for the printable payloads we see.
fn py_bytes(b: &[u8]) -> String {
    let mut s = String::from("b'");
    for &c in b {
        match c {
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("\\'"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push('\'');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_on_loopback_is_connected_and_a_closed_port_is_refused() {
        // An echo server on an ephemeral loopback port, in this namespace.
        let srv = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = srv.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let mut b = [0u8; 100];
            let (n, peer) = srv.recv_from(&mut b).unwrap();
            srv.send_to(&b[..n], peer).unwrap();
        });
        let sport = {
            let s = UdpSocket::bind("0.0.0.0:0").unwrap();
            s.local_addr().unwrap().port()
        };
        let (log, ok) = run(sport, 3.0, Ipv4Addr::LOCALHOST, port);
        t.join().unwrap();
        assert!(ok, "{log}");
        assert!(log.contains("b'pktpath udp probe\\n'"), "{log}");
        assert!(log.ends_with("result: connected"), "{log}");

        // Nothing listens on the port we just freed: ICMP port unreachable.
        let closed = {
            let s = UdpSocket::bind("127.0.0.1:0").unwrap();
            s.local_addr().unwrap().port()
        };
        let (log, ok) = run(sport, 3.0, Ipv4Addr::LOCALHOST, closed);
        assert!(!ok);
        assert!(log.ends_with("result: refused"), "{log}");
        assert!(
            log.contains("errno=ECONNREFUSED origin=icmp icmp_type=3 icmp_code=3"),
            "{log}"
        );
    }
}
