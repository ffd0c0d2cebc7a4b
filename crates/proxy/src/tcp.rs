//! The TCP proxy: accept, dial the backend, relay, close.
//!
//! As docker-proxy (libnetwork `cmd/proxy/tcp_proxy.go`, moby
//! `cmd/docker-proxy/tcp_proxy_linux.go`):
//! - each accepted client gets its own backend connection, dialled without a
//!   source address and without a timeout beyond the kernel's SYN retries;
//! - if the dial fails the client connection is closed (FIN);
//! - both sockets get `TCP_NODELAY` (Go's default for every TCP conn), and
//!   the accepted one keep-alive every 15 s (Go's default for accepted conns,
//!   `TCP_KEEPIDLE` = `TCP_KEEPINTVL` = 15 s); the dialled one, opened with
//!   `net.DialTCP`, gets no keep-alive;
//! - on stop, the listener is closed and every open connection dropped.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::relay;
use crate::stats::Stats;

/// Go's default keep-alive period for accepted connections.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// Accepts until `shutdown` completes or accepting fails.
pub async fn serve(
    listener: TcpListener,
    backend: SocketAddr,
    stats: Arc<Stats>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let frontend = listener.local_addr()?;
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    let result = loop {
        tokio::select! {
            _ = &mut shutdown => break Ok(()),
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            r = listener.accept() => match r {
                Ok((client, _)) => {
                    conns.spawn(handle(client, backend, stats.clone()));
                }
                // Go's accept retries ECONNABORTED internally (a client that
                // reset before accept); any other error stops docker-proxy.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    eprintln!("Stopping proxy on tcp/{frontend} for tcp/{backend} ({e})");
                    break Err(e);
                }
            },
        }
    };
    drop(listener);
    conns.shutdown().await;
    result
}

async fn handle(client: TcpStream, backend: SocketAddr, stats: Arc<Stats>) {
    let _open = stats.tcp_opened();
    let _ = client.set_nodelay(true);
    let ka = TcpKeepalive::new()
        .with_time(KEEPALIVE)
        .with_interval(KEEPALIVE);
    let _ = SockRef::from(&client).set_tcp_keepalive(&ka);
    let server = match TcpStream::connect(backend).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Can't forward traffic to backend tcp/{backend}: {e}");
            return; // dropping `client` closes it
        }
    };
    let _ = server.set_nodelay(true);
    let moved = relay::relay(&client, &server).await;
    stats.tcp_bytes(moved);
}
