//! The UDP proxy: per-client flows with idle expiry.
//!
//! As docker-proxy (libnetwork `cmd/proxy/udp_proxy.go`, moby
//! `cmd/docker-proxy/udp_proxy_linux.go`):
//! - datagrams are read from the frontend socket into a buffer of
//!   `UDPBufSize` = 65507 bytes (longer datagrams are truncated);
//! - each client address (IP, port) gets a "connection": its own socket,
//!   unbound and connected to the backend, created at the client's first
//!   datagram; the client's datagrams are written to it;
//! - a reply loop per flow reads the backend's replies and sends each one to
//!   the client from the frontend socket. Docker 20.10's docker-proxy (the
//!   ground truth here: Debian's docker.io 20.10.24) sends them with
//!   `WriteToUDP`, so routing picks the source address; docker-proxy in
//!   moby 23 and later pins it (via `IP_PKTINFO`/`IPV6_PKTINFO`) to the
//!   destination address of the flow's first datagram, which
//!   [`crate::Options::udp_pin_reply_source`] selects;
//! - the flow expires when no reply has come for `UDPConnTrackTimeout`
//!   (90 s): docker-proxy sets the read deadline before each read of a
//!   reply, so client→backend traffic alone does not keep a flow alive;
//! - `ECONNREFUSED` on that read (the kernel's report of an ICMP port
//!   unreachable for an earlier write) is ignored without re-arming the
//!   deadline (docker-proxy's `goto again`); any other error, or a failure
//!   sending to the client, ends the flow;
//! - on stop, every flow socket is closed.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::io::{self, ErrorKind, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nix::libc;
use nix::sys::socket::{
    recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn, SockaddrIn6,
    SockaddrStorage,
};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::stats::Stats;

/// docker-proxy's `UDPBufSize`: the largest IPv4 UDP payload.
pub const UDP_BUF_SIZE: usize = 65507;

/// docker-proxy's `UDPConnTrackTimeout`.
pub const DEFAULT_CONNTRACK_TIMEOUT: Duration = Duration::from_secs(90);

thread_local! {
    static REPLY_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0u8; UDP_BUF_SIZE].into_boxed_slice());
}

struct Shared {
    listener: UdpSocket,
    /// Flows keyed by client (IP, port), as docker-proxy's `connTrackKey`.
    table: Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>,
    stats: Arc<Stats>,
    timeout: Duration,
}

impl Shared {
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Arc<UdpSocket>>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Relays datagrams until `shutdown` completes or reading the frontend fails.
pub async fn serve(
    listener: UdpSocket,
    backend: SocketAddr,
    stats: Arc<Stats>,
    timeout: Duration,
    pin_reply_source: bool,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let frontend = listener.local_addr()?;
    let shared = Arc::new(Shared {
        listener,
        table: Mutex::new(HashMap::new()),
        stats,
        timeout,
    });
    let mut flows = JoinSet::new();
    let mut buf = vec![0u8; UDP_BUF_SIZE];
    let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo);
    tokio::pin!(shutdown);
    let result = loop {
        tokio::select! {
            _ = &mut shutdown => break Ok(()),
            Some(_) = flows.join_next(), if !flows.is_empty() => {}
            r = shared.listener.readable() => {
                if let Err(e) = r {
                    break Err(e);
                }
                let fd = shared.listener.as_raw_fd();
                let got = shared
                    .listener
                    .try_io(Interest::READABLE, || recv_with_dst(fd, &mut buf, &mut cmsg));
                let (n, from, dst) = match got {
                    Ok(x) => x,
                    Err(e) if is_retry(&e) => continue,
                    Err(e) => {
                        eprintln!("Stopping proxy on udp/{frontend} for udp/{backend} ({e})");
                        break Err(e);
                    }
                };
                let key = SocketAddr::new(from.ip(), from.port());
                let flow = {
                    let mut table = shared.table();
                    match table.get(&key) {
                        Some(f) => f.clone(),
                        None => match dial(backend) {
                            Ok(sock) => {
                                let f = Arc::new(sock);
                                table.insert(key, f.clone());
                                shared.stats.udp_flow_added();
                                let src = if pin_reply_source { dst } else { None };
                                flows.spawn(reply_loop(shared.clone(), f.clone(), key, from, src));
                                f
                            }
                            Err(e) => {
                                eprintln!("Can't proxy a datagram to udp/{backend}: {e}");
                                continue;
                            }
                        },
                    }
                };
                if let Err(e) = flow.send(&buf[..n]).await {
                    eprintln!("Can't proxy a datagram to udp/{backend}: {e}");
                }
            }
        }
    };
    flows.shutdown().await;
    let drained = shared.table().drain().count();
    for _ in 0..drained {
        shared.stats.udp_flow_removed();
    }
    result
}

/// `net.DialUDP("udp", nil, backend)`: an unbound socket connected to the backend.
fn dial(backend: SocketAddr) -> io::Result<UdpSocket> {
    let local = match backend {
        SocketAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        SocketAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    };
    let sock = std::net::UdpSocket::bind(local)?;
    sock.connect(backend)?;
    sock.set_nonblocking(true)?;
    UdpSocket::from_std(sock)
}

/// What one wake-up of the reply loop did.
enum Reply {
    /// Readiness without a datagram.
    Spurious,
    /// A reply was read and sent on.
    Sent,
    /// A reply was read; the frontend socket was full, so it waits here.
    Pending(Vec<u8>),
    /// The read reported ECONNREFUSED.
    Refused,
    /// Reading or sending failed: the flow ends.
    Failed,
}

async fn reply_loop(
    shared: Arc<Shared>,
    flow: Arc<UdpSocket>,
    key: SocketAddr,
    client: SocketAddr,
    src: Option<IpAddr>,
) {
    let fd = shared.listener.as_raw_fd();
    let mut deadline = Instant::now() + shared.timeout;
    loop {
        match tokio::time::timeout_at(deadline, flow.readable()).await {
            Err(_elapsed) => break,
            Ok(Err(_)) => break,
            Ok(Ok(())) => {}
        }
        let step = REPLY_BUF.with(|b| {
            let mut buf = b.borrow_mut();
            let n = match flow.try_recv(&mut buf[..]) {
                Ok(n) => n,
                Err(e) if is_retry(&e) => return Reply::Spurious,
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => return Reply::Refused,
                Err(_) => return Reply::Failed,
            };
            let data = &buf[..n];
            match shared
                .listener
                .try_io(Interest::WRITABLE, || send_from(fd, data, client, src))
            {
                Ok(()) => Reply::Sent,
                Err(e) if is_retry(&e) => Reply::Pending(data.to_vec()),
                Err(_) => Reply::Failed,
            }
        });
        match step {
            Reply::Spurious | Reply::Refused => continue,
            Reply::Failed => break,
            Reply::Sent => {}
            Reply::Pending(data) => loop {
                if shared.listener.writable().await.is_err() {
                    return remove_flow(&shared, key, &flow);
                }
                match shared
                    .listener
                    .try_io(Interest::WRITABLE, || send_from(fd, &data, client, src))
                {
                    Ok(()) => break,
                    Err(e) if is_retry(&e) => {}
                    Err(_) => return remove_flow(&shared, key, &flow),
                }
            },
        }
        deadline = Instant::now() + shared.timeout;
    }
    remove_flow(&shared, key, &flow);
}

fn remove_flow(shared: &Shared, key: SocketAddr, flow: &Arc<UdpSocket>) {
    let mut table = shared.table();
    if table.get(&key).is_some_and(|f| Arc::ptr_eq(f, flow)) {
        table.remove(&key);
        shared.stats.udp_flow_removed();
    }
}

/// recvmsg(2) on the frontend socket: length, sender, and the packet's
/// destination address from `IP_PKTINFO`/`IPV6_PKTINFO` if present.
fn recv_with_dst(
    fd: RawFd,
    buf: &mut [u8],
    cmsg: &mut [u8],
) -> io::Result<(usize, SocketAddr, Option<IpAddr>)> {
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrStorage>(fd, &mut iov, Some(cmsg), MsgFlags::empty())
        .map_err(io::Error::from)?;
    let from = msg
        .address
        .as_ref()
        .and_then(to_socket_addr)
        .ok_or_else(|| io::Error::new(ErrorKind::InvalidData, "datagram without a sender"))?;
    let mut dst = None;
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            match c {
                ControlMessageOwned::Ipv4PacketInfo(pi) => {
                    dst = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(pi.ipi_addr.s_addr))));
                }
                ControlMessageOwned::Ipv6PacketInfo(pi) => {
                    dst = Some(IpAddr::V6(Ipv6Addr::from(pi.ipi6_addr.s6_addr)));
                }
                _ => {}
            }
        }
    }
    Ok((msg.bytes, from, dst))
}

fn to_socket_addr(s: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(a) = s.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*a)));
    }
    s.as_sockaddr_in6()
        .map(|a| SocketAddr::V6(SocketAddrV6::from(*a)))
}

/// sendmsg(2) from the frontend socket to `client`, with the source address
/// pinned to `src` if given (newer docker-proxy's `ControlMessage{Src: ..}`:
/// `ipi_spec_dst` for IPv4, `ipi6_addr` for IPv6, interface 0 = chosen by
/// routing), else chosen by routing.
fn send_from(fd: RawFd, data: &[u8], client: SocketAddr, src: Option<IpAddr>) -> io::Result<()> {
    let iov = [IoSlice::new(data)];
    let r = match client {
        SocketAddr::V4(c) => {
            let to = SockaddrIn::from(c);
            match src {
                Some(IpAddr::V4(s)) if !s.is_unspecified() => {
                    let pi = libc::in_pktinfo {
                        ipi_ifindex: 0,
                        ipi_spec_dst: libc::in_addr {
                            s_addr: u32::from(s).to_be(),
                        },
                        ipi_addr: libc::in_addr { s_addr: 0 },
                    };
                    let cm = [ControlMessage::Ipv4PacketInfo(&pi)];
                    sendmsg(fd, &iov, &cm, MsgFlags::empty(), Some(&to))
                }
                _ => sendmsg(fd, &iov, &[], MsgFlags::empty(), Some(&to)),
            }
        }
        SocketAddr::V6(c) => {
            let to = SockaddrIn6::from(c);
            match src {
                Some(IpAddr::V6(s)) if !s.is_unspecified() => {
                    let pi = libc::in6_pktinfo {
                        ipi6_addr: libc::in6_addr {
                            s6_addr: s.octets(),
                        },
                        ipi6_ifindex: 0,
                    };
                    let cm = [ControlMessage::Ipv6PacketInfo(&pi)];
                    sendmsg(fd, &iov, &cm, MsgFlags::empty(), Some(&to))
                }
                _ => sendmsg(fd, &iov, &[], MsgFlags::empty(), Some(&to)),
            }
        }
    };
    r.map(|_| ()).map_err(io::Error::from)
}

fn is_retry(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted)
}
