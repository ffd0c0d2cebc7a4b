//! TCP proxy behaviour on loopback, against docker-proxy's semantics:
//! byte-exact relaying, half-close in both directions, closing the client
//! when the backend refuses, IPv6 frontend to IPv4 backend.

mod common;

use std::net::{Ipv6Addr, SocketAddr};

use common::*;
use pktpath_proxy::{Options, Proto};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MIB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_8_mib_each_way_byte_exact() {
    let (backend, _b) = tcp_echo_backend().await;
    let proxy = tcp_proxy_to(backend);
    let data = random_bytes(8 * MIB, 1);
    let s = TcpStream::connect(proxy.addr).await.unwrap();
    let got = bounded("8 MiB echo", send_and_collect(s, &data)).await;
    assert_eq!(got.len(), data.len());
    assert!(got == data, "echoed bytes differ");
    eventually("connection closed on both sides", || {
        proxy.stats.tcp_open() == 0
    })
    .await;
    assert_eq!(
        proxy.stats.tcp_bytes_relayed(),
        (data.len() as u64, data.len() as u64)
    );
    proxy.stop().await;
}

/// The client shuts down its write side first; the backend, having seen
/// EOF, still sends a large answer, which the client must receive in full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_half_close_still_receives_backend_data() {
    let l = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let backend = l.local_addr().unwrap();
    let answer = random_bytes(4 * MIB, 2);
    let answer2 = answer.clone();
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut req = Vec::new();
        s.read_to_end(&mut req).await.unwrap(); // until the proxied FIN
        s.write_all(&(req.len() as u64).to_be_bytes())
            .await
            .unwrap();
        s.write_all(&answer2).await.unwrap();
        s.shutdown().await.unwrap();
        req
    });
    let proxy = tcp_proxy_to(backend);
    let request = random_bytes(3 * MIB + 17, 3);
    let mut c = TcpStream::connect(proxy.addr).await.unwrap();
    c.write_all(&request).await.unwrap();
    c.shutdown().await.unwrap(); // FIN: half-close
    let mut got = Vec::new();
    bounded("answer after half-close", c.read_to_end(&mut got))
        .await
        .unwrap();
    assert_eq!(&got[..8], &(request.len() as u64).to_be_bytes());
    assert!(got[8..] == answer[..], "answer differs");
    assert!(server.await.unwrap() == request, "request differs");
    eventually("connection closed", || proxy.stats.tcp_open() == 0).await;
    proxy.stop().await;
}

/// The backend half-closes first; the client keeps sending after seeing
/// EOF, and the backend receives all of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_half_close_still_receives_client_data() {
    let l = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let backend = l.local_addr().unwrap();
    let greeting = random_bytes(MIB, 4);
    let greeting2 = greeting.clone();
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        s.write_all(&greeting2).await.unwrap();
        s.shutdown().await.unwrap(); // FIN first
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await.unwrap();
        rest
    });
    let proxy = tcp_proxy_to(backend);
    let mut c = TcpStream::connect(proxy.addr).await.unwrap();
    let mut got = Vec::new();
    bounded("greeting", c.read_to_end(&mut got)).await.unwrap();
    assert!(got == greeting, "greeting differs");
    let late = random_bytes(2 * MIB, 5);
    c.write_all(&late).await.unwrap();
    c.shutdown().await.unwrap();
    let rest = bounded("late data", server).await.unwrap();
    assert!(rest == late, "data sent after the backend's FIN differs");
    eventually("connection closed", || proxy.stats.tcp_open() == 0).await;
    proxy.stop().await;
}

/// docker-proxy closes the client connection when the backend dial fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_backend_closes_client() {
    let dead = SocketAddr::from((LOOPBACK, free_port()));
    let proxy = tcp_proxy_to(dead);
    for _ in 0..3 {
        let mut c = TcpStream::connect(proxy.addr).await.unwrap();
        let mut buf = [0u8; 16];
        let n = bounded("close after refused dial", c.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(n, 0, "expected EOF from the proxy");
    }
    eventually("nothing held", || proxy.stats.tcp_open() == 0).await;
    assert_eq!(proxy.stats.tcp_accepted(), 3);
    proxy.stop().await;
}

/// Docker 20.10 starts a `-host-ip ::` proxy next to the `0.0.0.0` one for
/// the same port, both to the container's IPv4 address: the IPv6 listener
/// must be v6-only, and must forward to the IPv4 backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_frontend_is_v6only_and_reaches_ipv4_backend() {
    let (backend, _b) = tcp_echo_backend().await;
    let v4 = tcp_proxy_to(backend);
    let port = v4.addr.port();
    let v6 = start_proxy(
        Proto::Tcp,
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)),
        backend,
        Options::default(),
    );
    assert_eq!(v6.addr.port(), port);
    let data = random_bytes(256 * 1024, 6);
    let s = TcpStream::connect((Ipv6Addr::LOCALHOST, port))
        .await
        .unwrap();
    let got = bounded("echo over ::1", send_and_collect(s, &data)).await;
    assert!(got == data);
    eventually("v6 conn closed", || v6.stats.tcp_open() == 0).await;
    assert_eq!(v6.stats.tcp_accepted(), 1);
    assert_eq!(v4.stats.tcp_accepted(), 0);
    v6.stop().await;
    v4.stop().await;
}

/// On stop, open connections are closed, as docker-proxy closes them on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_closes_open_connections() {
    let (backend, _b) = tcp_echo_backend().await;
    let proxy = tcp_proxy_to(backend);
    let stats = proxy.stats.clone();
    let mut c = TcpStream::connect(proxy.addr).await.unwrap();
    c.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    c.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");
    proxy.stop().await;
    assert_eq!(stats.tcp_open(), 0);
    let mut rest = Vec::new();
    let r = bounded("close on stop", c.read_to_end(&mut rest)).await;
    assert!(matches!(r, Ok(0)) || r.is_err(), "{r:?}");
}
