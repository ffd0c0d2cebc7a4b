//! UDP proxy behaviour on loopback, against docker-proxy's semantics:
//! one flow (backend socket) per client, replies to the right client from
//! the address it wrote to, idle expiry driven by backend replies.

mod common;

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use pktpath_proxy::{Options, Proto, UDP_BUF_SIZE};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

type Peers = Arc<Mutex<Vec<SocketAddr>>>;

/// A UDP echo server that records the source of every datagram.
async fn udp_echo_backend() -> (SocketAddr, Peers, JoinHandle<()>) {
    let s = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let addr = s.local_addr().unwrap();
    let peers: Peers = Arc::default();
    let p = peers.clone();
    let h = tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        loop {
            let Ok((n, from)) = s.recv_from(&mut buf).await else {
                return;
            };
            p.lock().unwrap().push(from);
            let _ = s.send_to(&buf[..n], from).await;
        }
    });
    (addr, peers, h)
}

fn udp_proxy(host: SocketAddr, backend: SocketAddr, timeout: Duration) -> RunningProxy {
    start_proxy(
        Proto::Udp,
        host,
        backend,
        Options {
            udp_conntrack_timeout: timeout,
            ..Options::default()
        },
    )
}

async fn recv(s: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0u8; 65536];
    let (n, from) = bounded("a reply", s.recv_from(&mut buf)).await.unwrap();
    buf.truncate(n);
    (buf, from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_go_to_the_right_client() {
    let (backend, peers, _b) = udp_echo_backend().await;
    let proxy = udp_proxy((LOOPBACK, 0).into(), backend, Duration::from_secs(90));
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(UdpSocket::bind((LOOPBACK, 0)).await.unwrap());
    }
    for round in 0..20u8 {
        for (i, c) in clients.iter().enumerate() {
            c.send_to(&[i as u8, round], proxy.addr).await.unwrap();
        }
        for (i, c) in clients.iter().enumerate() {
            let (got, from) = recv(c).await;
            assert_eq!(from, proxy.addr, "reply not from the proxy's address");
            assert_eq!(
                got,
                [i as u8, round],
                "client {i} got another client's reply"
            );
        }
    }
    assert_eq!(proxy.stats.udp_flows(), 5);
    assert_eq!(proxy.stats.udp_flows_created(), 5);
    // One backend-side socket per client, none of them the client's own.
    let seen: HashSet<SocketAddr> = peers.lock().unwrap().iter().copied().collect();
    assert_eq!(seen.len(), 5);
    for c in &clients {
        assert!(!seen.contains(&c.local_addr().unwrap()));
    }
    let stats = proxy.stats.clone();
    proxy.stop().await;
    assert_eq!(stats.udp_flows(), 0, "stop closes every flow");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn largest_datagram_passes_intact() {
    let (backend, _peers, _b) = udp_echo_backend().await;
    let proxy = udp_proxy((LOOPBACK, 0).into(), backend, Duration::from_secs(90));
    let c = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let data = random_bytes(UDP_BUF_SIZE, 7);
    c.send_to(&data, proxy.addr).await.unwrap();
    let (got, _) = recv(&c).await;
    assert!(got == data, "datagram of {} bytes changed", data.len());
    proxy.stop().await;
}

/// A flow with no reply for the conntrack timeout is dropped and its socket
/// closed; the client's next datagram opens a new flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_flow_expires_and_is_recreated() {
    let (backend, peers, _b) = udp_echo_backend().await;
    let proxy = udp_proxy((LOOPBACK, 0).into(), backend, Duration::from_millis(300));
    let stats = proxy.stats.clone();
    let c = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    c.send_to(b"one", proxy.addr).await.unwrap();
    assert_eq!(recv(&c).await.0, b"one");
    assert_eq!(stats.udp_flows(), 1);
    eventually("the idle flow to expire", || stats.udp_flows() == 0).await;
    c.send_to(b"two", proxy.addr).await.unwrap();
    assert_eq!(recv(&c).await.0, b"two");
    assert_eq!(stats.udp_flows_created(), 2);
    let seen = peers.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_ne!(
        seen[0], seen[1],
        "the second flow must use a new backend socket"
    );
    proxy.stop().await;
    assert_eq!(stats.udp_flows(), 0);
}

/// docker-proxy re-arms the flow's deadline only when the backend replies:
/// a client that keeps sending to a silent backend still sees its flow
/// expire and a new one created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_traffic_alone_does_not_keep_a_flow() {
    let sink = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let backend = sink.local_addr().unwrap();
    let proxy = udp_proxy((LOOPBACK, 0).into(), backend, Duration::from_millis(200));
    let c = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut sent = 0;
    while proxy.stats.udp_flows_created() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "flow never expired");
        c.send_to(b"x", proxy.addr).await.unwrap();
        sent += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(sent > 1);
    drop(sink);
    proxy.stop().await;
}

/// With nothing listening on the backend port, ICMP port unreachable makes
/// the flow's socket report ECONNREFUSED; the flow ignores it and expires
/// on its timeout, and the proxy keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_backend_flow_still_expires() {
    let dead = {
        let s = std::net::UdpSocket::bind((LOOPBACK, 0)).unwrap();
        s.local_addr().unwrap()
    };
    let proxy = udp_proxy((LOOPBACK, 0).into(), dead, Duration::from_millis(300));
    let c = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    for _ in 0..3 {
        c.send_to(b"anyone?", proxy.addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(proxy.stats.udp_flows_created(), 1);
    eventually("the refused flow to expire", || {
        proxy.stats.udp_flows() == 0
    })
    .await;
    c.send_to(b"again", proxy.addr).await.unwrap();
    eventually("a new flow", || proxy.stats.udp_flows_created() == 2).await;
    proxy.stop().await;
}

/// Bound to the wildcard address, Docker 20.10's docker-proxy sends replies
/// with `WriteToUDP`: routing picks the source, 127.0.0.1 here, whichever
/// local address the client wrote to (checked against the real
/// docker-proxy in vs_docker_proxy.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_frontend_replies_from_the_routed_source_by_default() {
    let (backend, _peers, _b) = udp_echo_backend().await;
    let proxy = udp_proxy(
        (Ipv4Addr::UNSPECIFIED, 0).into(),
        backend,
        Duration::from_secs(90),
    );
    let port = proxy.addr.port();
    let at = |last: u8| SocketAddr::from((Ipv4Addr::new(127, 0, 0, last), port));
    let c = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    for last in [2u8, 3] {
        c.send_to(&[last], at(last)).await.unwrap();
        assert_eq!(recv(&c).await, (vec![last], at(1)));
    }
    proxy.stop().await;
}

/// With `udp_pin_reply_source` (newer docker-proxy's IP_PKTINFO source), the
/// proxy answers from the address the client wrote to, here 127.0.0.2 and
/// 127.0.0.3, taken from the flow's first datagram and kept for the flow's
/// life.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pinned_reply_source_is_the_address_written_to() {
    let (backend, _peers, _b) = udp_echo_backend().await;
    let proxy = start_proxy(
        Proto::Udp,
        (Ipv4Addr::UNSPECIFIED, 0).into(),
        backend,
        Options {
            udp_pin_reply_source: true,
            ..Options::default()
        },
    );
    let port = proxy.addr.port();
    let at = |last: u8| SocketAddr::from((Ipv4Addr::new(127, 0, 0, last), port));
    for last in [2u8, 3, 1] {
        let c = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
        c.send_to(&[last], at(last)).await.unwrap();
        let (got, from) = recv(&c).await;
        assert_eq!(got, [last]);
        assert_eq!(
            from,
            at(last),
            "reply must come from the address the client wrote to"
        );
    }
    // Same client, other address: same flow, so the first source stays.
    let c = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    c.send_to(b"a", at(2)).await.unwrap();
    assert_eq!(recv(&c).await, (b"a".to_vec(), at(2)));
    c.send_to(b"b", at(3)).await.unwrap();
    assert_eq!(recv(&c).await, (b"b".to_vec(), at(2)));
    assert_eq!(proxy.stats.udp_flows_created(), 4);
    proxy.stop().await;
}

/// The IPv6 frontend (Docker 20.10's `-host-ip ::` proxy) relays to an IPv4
/// backend and answers from [::1].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_frontend_to_ipv4_backend() {
    let (backend, _peers, _b) = udp_echo_backend().await;
    let proxy = udp_proxy(
        (Ipv6Addr::UNSPECIFIED, 0).into(),
        backend,
        Duration::from_secs(90),
    );
    let to = SocketAddr::from((Ipv6Addr::LOCALHOST, proxy.addr.port()));
    let c = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).await.unwrap();
    c.send_to(b"six", to).await.unwrap();
    let (got, from) = recv(&c).await;
    assert_eq!(got, b"six");
    assert_eq!(from, to);
    proxy.stop().await;
}
