//! `pktpath serve`: the stand-in for a world's servers. TCP sockets answer any HTTP
//! request with a small response and close; UDP sockets echo each datagram back from an
//! unconnected socket (`sendto`, so the reply's source address is what routing picks, as
//! `tools/capture/udp_echo.py` does).
//!
//! Two styles, after the servers the fixtures ran (the engine models both the same way):
//! `python` (`python3 -m http.server`: HTTP/1.0 200, headers and body in two writes, close
//! at once) and `busybox` (busybox `httpd` without an index file: HTTP/1.1 404 in one
//! write, then close).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::FromRawFd;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Python,
    Busybox,
}

impl Style {
    pub fn parse(s: &str) -> Option<Style> {
        match s {
            "python" => Some(Style::Python),
            "busybox" => Some(Style::Busybox),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Style::Python => "python",
            Style::Busybox => "busybox",
        }
    }
    /// The style of a world's process, by its name (as the engine tells them apart).
    pub fn of_process(name: &str) -> Style {
        if name.contains("python") {
            Style::Python
        } else {
            Style::Busybox
        }
    }
}

/// One socket to serve: `tcp:ADDR:PORT` or `udp:ADDR:PORT`, optionally `%DEV`
/// (`SO_BINDTODEVICE`), as world.toml's `listen`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listen {
    pub tcp: bool,
    pub addr: Ipv4Addr,
    pub port: u16,
    pub dev: Option<String>,
}

impl Listen {
    pub fn parse(s: &str) -> Result<Listen, String> {
        let bad = || format!("`{s}`: expected tcp:ADDR:PORT or udp:ADDR:PORT (optionally %DEV)");
        let (spec, dev) = match s.split_once('%') {
            Some((a, d)) if !d.is_empty() => (a, Some(d.to_string())),
            Some(_) => return Err(bad()),
            None => (s, None),
        };
        let mut it = spec.splitn(3, ':');
        let tcp = match it.next() {
            Some("tcp") => true,
            Some("udp") => false,
            _ => return Err(bad()),
        };
        let addr = it.next().and_then(|a| a.parse().ok()).ok_or_else(bad)?;
        let port = it.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        Ok(Listen {
            tcp,
            addr,
            port,
            dev,
        })
    }
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = if self.tcp { "tcp" } else { "udp" };
        write!(f, "{p}:{}:{}", self.addr, self.port)?;
        if let Some(d) = &self.dev {
            write!(f, "%{d}")?;
        }
        Ok(())
    }
}

fn setsockopt(fd: i32, level: i32, name: i32, v: &[u8]) -> std::io::Result<()> {
    // SAFETY: setsockopt with a pointer to a live buffer and its length.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            v.as_ptr() as *const libc::c_void,
            v.len() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A bound socket (listening, for TCP) with SO_REUSEADDR and the device binding set
/// before `bind`, as servers do.
fn bind(l: &Listen) -> std::io::Result<i32> {
    let typ = if l.tcp {
        libc::SOCK_STREAM
    } else {
        libc::SOCK_DGRAM
    };
    // SAFETY: plain socket(2).
    let fd = unsafe { libc::socket(libc::AF_INET, typ | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let fail = |fd: i32| {
        let e = std::io::Error::last_os_error();
        // SAFETY: closing the fd we opened above.
        unsafe { libc::close(fd) };
        e
    };
    if setsockopt(
        fd,
        libc::SOL_SOCKET,
        libc::SO_REUSEADDR,
        &1i32.to_ne_bytes(),
    )
    .is_err()
    {
        return Err(fail(fd));
    }
    if let Some(dev) = &l.dev {
        if setsockopt(fd, libc::SOL_SOCKET, libc::SO_BINDTODEVICE, dev.as_bytes()).is_err() {
            return Err(fail(fd));
        }
    }
    let sa = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: l.port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(l.addr.octets()),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: bind with a valid sockaddr_in.
    let rc = unsafe {
        libc::bind(
            fd,
            &sa as *const libc::sockaddr_in as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(fail(fd));
    }
    // SAFETY: listen on our bound TCP socket.
    if l.tcp && unsafe { libc::listen(fd, 128) } != 0 {
        return Err(fail(fd));
    }
    Ok(fd)
}

/// The response for a request, in the writes the style makes.
pub fn response(style: Style) -> Vec<Vec<u8>> {
    match style {
        Style::Python => {
            let body = b"hello from pktpath serve\n".to_vec();
            let head = format!(
                "HTTP/1.0 200 OK\r\nServer: pktpath-serve\r\nContent-type: text/html\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            vec![head.into_bytes(), body]
        }
        Style::Busybox => {
            let body = "<HTML><HEAD><TITLE>404 Not Found</TITLE></HEAD>\n<BODY><H1>404 Not Found</H1>\nThe requested URL was not found\n</BODY></HTML>\n";
            vec![format!(
                "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-type: text/html\r\n\r\n{body}"
            )
            .into_bytes()]
        }
    }
}

/// Read one request (up to the blank line, EOF, 64 KiB or 5 s), answer, close.
fn answer(mut s: TcpStream, style: Style) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut req = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                req.extend_from_slice(&buf[..n]);
                if req.windows(4).any(|w| w == b"\r\n\r\n") || req.len() > 65536 {
                    break;
                }
            }
        }
    }
    if req.is_empty() {
        return;
    }
    for part in response(style) {
        if s.write_all(&part).is_err() {
            return;
        }
    }
}

fn serve_tcp(l: TcpListener, style: Style) {
    for conn in l.incoming() {
        match conn {
            Ok(s) => {
                std::thread::spawn(move || answer(s, style));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn serve_udp(s: UdpSocket) {
    let mut buf = vec![0u8; 65535];
    loop {
        if let Ok((n, peer)) = s.recv_from(&mut buf) {
            let _ = s.send_to(&buf[..n], peer);
        }
    }
}

/// Bind every socket, print one `listening on ...` line per socket and `ready`, then
/// serve until killed. Errors only when a socket cannot be bound.
pub fn run(listens: &[Listen], style: Style) -> Result<(), String> {
    if listens.is_empty() {
        return Err("nothing to serve: give at least one tcp:ADDR:PORT or udp:ADDR:PORT".into());
    }
    let mut fds = Vec::new();
    for l in listens {
        let fd = bind(l).map_err(|e| format!("cannot bind {l}: {e}"))?;
        fds.push((l.clone(), fd));
    }
    let mut out = std::io::stdout().lock();
    let mut threads = Vec::new();
    for (l, fd) in fds {
        let _ = writeln!(out, "listening on {l} ({})", style.as_str());
        threads.push(if l.tcp {
            // SAFETY: fd is a listening TCP socket we own.
            let t = unsafe { TcpListener::from_raw_fd(fd) };
            std::thread::spawn(move || serve_tcp(t, style))
        } else {
            // SAFETY: fd is a bound UDP socket we own.
            let u = unsafe { UdpSocket::from_raw_fd(fd) };
            std::thread::spawn(move || serve_udp(u))
        });
    }
    let _ = writeln!(out, "ready");
    let _ = out.flush();
    drop(out);
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_specs() {
        let l = Listen::parse("tcp:10.120.0.2:8080").unwrap();
        assert!(l.tcp);
        assert_eq!(l.port, 8080);
        assert_eq!(l.to_string(), "tcp:10.120.0.2:8080");
        let u = Listen::parse("udp:0.0.0.0:53%lo").unwrap();
        assert_eq!(u.dev.as_deref(), Some("lo"));
        assert_eq!(u.to_string(), "udp:0.0.0.0:53%lo");
        for bad in [
            "sctp:1.2.3.4:1",
            "tcp:1.2.3:1",
            "tcp:1.2.3.4",
            "tcp:1.2.3.4:99999",
            "udp:0.0.0.0:1%",
        ] {
            assert!(Listen::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_http_and_echoes_udp_on_loopback() {
        let free = |tcp: bool| {
            if tcp {
                TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port()
            } else {
                UdpSocket::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port()
            }
        };
        let (tp, up) = (free(true), free(false));
        let specs = vec![
            Listen::parse(&format!("tcp:127.0.0.1:{tp}")).unwrap(),
            Listen::parse(&format!("udp:127.0.0.1:{up}")).unwrap(),
        ];
        std::thread::spawn(move || run(&specs, Style::Busybox));
        let mut s = None;
        for _ in 0..100 {
            if let Ok(c) = TcpStream::connect(("127.0.0.1", tp)) {
                s = Some(c);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut s = s.expect("server listens");
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        assert!(resp.starts_with("HTTP/1.1 404 Not Found\r\n"), "{resp}");

        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        c.send_to(b"ping", ("127.0.0.1", up)).unwrap();
        let mut b = [0u8; 10];
        let (n, _) = c.recv_from(&mut b).unwrap();
        assert_eq!(&b[..n], b"ping");
    }
}
