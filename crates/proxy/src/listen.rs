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
//! - UDP listeners get `IP_PKTINFO` / `IPV6_RECVPKTINFO` so replies can be
//!   sent from the address the client wrote to.

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
        let sock = Socket::new(Domain::for_address(spec.host), ty, Some(proto))?;
        if spec.host.is_ipv6() {
            sock.set_only_v6(true)?;
        }
        if spec.proto == Proto::Tcp {
            sock.set_reuse_address(true)?;
        }
        sock.bind(&spec.host.into()).map_err(|e| {
            io::Error::new(e.kind(), format!("failed to listen on {}: {e}", spec.host))
        })?;
        if spec.proto == Proto::Tcp {
            sock.listen(listen_backlog())?;
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
