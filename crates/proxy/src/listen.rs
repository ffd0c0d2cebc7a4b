//! Opening the frontend socket the way docker-proxy (Go's `net` package)
//! opens it, or adopting the one dockerd passes on fd 4 (`-use-listen-fd`).
//!
//! Go details reproduced:
//! - `net.ListenTCP("tcp6", ..)`/`ListenUDP("udp6", ..)` for an IPv6 host
//!   IP set `IPV6_V6ONLY` (Go `favoriteAddrFamily`: a network ending in "6"
//!   means ipv6only), so the `::` proxy does not collide with the
//!   `0.0.0.0` proxy Docker starts for the same port;
//! - TCP listeners get `SO_REUSEADDR` and a backlog of
//!   `/proc/sys/net/core/somaxconn` (Go `maxListenerBacklog`);
//! - errors read as Go's: `listen tcp4 0.0.0.0:8080: bind: address already
//!   in use` (dockerd shows this text as "Error starting userland proxy: ..");
//! - UDP listeners get `IP_PKTINFO` / `IPV6_RECVPKTINFO`, so that replies can
//!   be sent from the address the client wrote to when
//!   [`crate::Options::udp_pin_reply_source`] asks for it.

use std::fs;
use std::io;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::fd::{FromRawFd, OwnedFd};

use nix::sys::socket::{setsockopt, sockopt};
use socket2::{Domain, Protocol, Socket, Type};

use crate::args::{Proto, ProxySpec};

/// The file descriptor dockerd passes the bound socket on with
/// `-use-listen-fd` (moby `main_linux.go`: `listenSockFd = 4`).
pub const LISTEN_FD: i32 = 4;

/// An open frontend socket, not yet registered with a tokio runtime.
#[derive(Debug)]
pub enum Frontend {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

impl Frontend {
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Frontend::Tcp(l) => l.local_addr(),
            Frontend::Udp(s) => s.local_addr(),
        }
    }
}

/// Opens (or adopts) the frontend socket for `spec`. Needs no runtime.
pub fn open(spec: &ProxySpec) -> io::Result<Frontend> {
    let sock = if spec.use_listen_fd {
        let sock = adopt_listen_fd()?;
        let want = match spec.proto {
            Proto::Tcp => Type::STREAM,
            Proto::Udp => Type::DGRAM,
        };
        if sock.r#type()? != want {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "unexpected socket type for listener fd (want {})",
                    spec.proto
                ),
            ));
        }
        sock
    } else {
        let ty = match spec.proto {
            Proto::Tcp => Type::STREAM,
            Proto::Udp => Type::DGRAM,
        };
        let proto = match spec.proto {
            Proto::Tcp => Protocol::TCP,
            Proto::Udp => Protocol::UDP,
        };
        let net = format!("{}{}", spec.proto, if spec.host.is_ipv4() { 4 } else { 6 });
        let fail = |op: &str, e: io::Error| go_listen_error(&net, spec.host, op, e);
        let sock = Socket::new(Domain::for_address(spec.host), ty, Some(proto))
            .map_err(|e| fail("socket", e))?;
        if spec.host.is_ipv6() {
            sock.set_only_v6(true).map_err(|e| fail("setsockopt", e))?;
        }
        if spec.proto == Proto::Tcp {
            sock.set_reuse_address(true)
                .map_err(|e| fail("setsockopt", e))?;
        }
        sock.bind(&spec.host.into()).map_err(|e| fail("bind", e))?;
        if spec.proto == Proto::Tcp {
            sock.listen(listen_backlog())
                .map_err(|e| fail("listen", e))?;
        }
        sock
    };
    sock.set_nonblocking(true)?;
    Ok(match spec.proto {
        Proto::Tcp => Frontend::Tcp(sock.into()),
        Proto::Udp => {
            let udp: UdpSocket = sock.into();
            enable_pktinfo(&udp)?;
            Frontend::Udp(udp)
        }
    })
}

/// Go's `*net.OpError` text for a failed listen: `listen NET ADDR: OP: ERRNO`,
/// the errno in Go's wording (glibc's `strerror` with a lower-case initial).
fn go_listen_error(net: &str, addr: SocketAddr, op: &str, e: io::Error) -> io::Error {
    let text = match e.raw_os_error() {
        Some(code) => {
            let desc = nix::errno::Errno::from_raw(code).desc();
            let mut c = desc.chars();
            match c.next() {
                Some(first) => first.to_lowercase().chain(c).collect(),
                None => e.to_string(),
            }
        }
        None => e.to_string(),
    };
    io::Error::new(e.kind(), format!("listen {net} {addr}: {op}: {text}"))
}

/// Asks the kernel for the destination address of each datagram received.
fn enable_pktinfo(udp: &UdpSocket) -> io::Result<()> {
    let r = if udp.local_addr()?.is_ipv4() {
        setsockopt(udp, sockopt::Ipv4PacketInfo, &true)
    } else {
        setsockopt(udp, sockopt::Ipv6RecvPacketInfo, &true)
    };
    r.map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("failed to setsockopt(PKTINFO): {e}"),
        )
    })
}

/// Go's `maxListenerBacklog`: somaxconn, falling back to 128 (`SOMAXCONN`).
fn listen_backlog() -> i32 {
    fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(128)
}

/// Takes ownership of fd 4 after checking that it is an open socket.
fn adopt_listen_fd() -> io::Result<Socket> {
    let link = fs::read_link(format!("/proc/self/fd/{LISTEN_FD}")).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("-use-listen-fd: fd {LISTEN_FD} is not open: {e}"),
        )
    })?;
    if !link.to_string_lossy().starts_with("socket:") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "-use-listen-fd: fd {LISTEN_FD} is {}, not a socket",
                link.display()
            ),
        ));
    }
    // SAFETY: fd 4 is open (checked above) and, per docker-proxy's contract
    // with dockerd, handed to this process to own; nothing else in this
    // process uses it (the caller adopts it before starting a runtime).
    let fd = unsafe { OwnedFd::from_raw_fd(LISTEN_FD) };
    Ok(Socket::from(fd))
}
