//! Shared helpers for the proxy tests: loopback backends, proxies started
//! in-process, bounded polling.

#![allow(dead_code)]

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use pktpath_proxy::{Options, Proto, Proxy, ProxySpec, Stats};
use rand::{RngCore, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// Upper bound for waiting on a state change (never a speed assertion).
pub const PATIENCE: Duration = Duration::from_secs(30);

pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand::rngs::SmallRng::seed_from_u64(seed).fill_bytes(&mut v);
    v
}

/// A port on 127.0.0.1 with nothing listening (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind((LOOPBACK, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TCP echo server: copies everything back and shuts down its write side
/// after the client's FIN.
pub async fn tcp_echo_backend() -> (SocketAddr, JoinHandle<()>) {
    let l = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let addr = l.local_addr().unwrap();
    let h = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
    (addr, h)
}

/// A running in-process proxy; stops (and waits for the stop) when dropped
/// via [`RunningProxy::stop`].
pub struct RunningProxy {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningProxy {
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }
}

pub fn start_proxy(
    proto: Proto,
    host: SocketAddr,
    container: SocketAddr,
    options: Options,
) -> RunningProxy {
    let spec = ProxySpec {
        proto,
        host,
        container,
        use_listen_fd: false,
    };
    let proxy = Proxy::bind(&spec, options).unwrap();
    let addr = proxy.local_addr().unwrap();
    let stats = proxy.stats();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(proxy.serve(async move {
        let _ = rx.await;
    }));
    RunningProxy {
        addr,
        stats,
        stop: Some(tx),
        task: Some(task),
    }
}

pub fn tcp_proxy_to(container: SocketAddr) -> RunningProxy {
    start_proxy(
        Proto::Tcp,
        SocketAddr::from((LOOPBACK, 0)),
        container,
        Options::default(),
    )
}

/// Polls `cond` every 10 ms until it holds; panics with `what` after
/// [`PATIENCE`].
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Bounds a whole test step in time.
pub async fn bounded<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE * 2, f)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// Sends `data`, half-closes, and reads everything back until EOF.
pub async fn send_and_collect(stream: TcpStream, data: &[u8]) -> Vec<u8> {
    let (mut r, mut w) = stream.into_split();
    let data = data.to_vec();
    let writer = tokio::spawn(async move {
        w.write_all(&data).await.unwrap();
        w.shutdown().await.unwrap();
        w
    });
    let mut got = Vec::new();
    r.read_to_end(&mut got).await.unwrap();
    drop(writer.await.unwrap());
    got
}
