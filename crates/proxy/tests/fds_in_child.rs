//! A proxy running as its own process (this test binary re-run as
//! `proxy_child`, which calls `pktpath_proxy::run_process` as `pktpath
//! proxy` does), watched through /proc/PID/fd:
//! - TCP: 1,000 concurrent connections, no byte lost, the proxy's open file
//!   descriptors back to the baseline once the clients are gone;
//! - UDP: one socket per flow, closed when the flow expires.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use pktpath_proxy::Options;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Barrier;

const CHILD_ENV: &str = "PKTPATH_PROXY_TEST_CHILD_ARGS";
const CHILD_TIMEOUT_ENV: &str = "PKTPATH_PROXY_TEST_CHILD_UDP_TIMEOUT_MS";
const CONNS: usize = 1000;
const PER_CONN: usize = 64 * 1024;

/// Not a test of its own: the proxy process for the test below.
#[test]
fn proxy_child() {
    let Ok(args) = std::env::var(CHILD_ENV) else {
        return;
    };
    let args: Vec<String> = args.split_whitespace().map(String::from).collect();
    let mut options = Options::default();
    if let Some(ms) = std::env::var(CHILD_TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
    {
        options.udp_conntrack_timeout = Duration::from_millis(ms);
    }
    let code = match pktpath_proxy::run_process(&args, options) {
        Ok(c) if c == std::process::ExitCode::SUCCESS => 0,
        _ => 1,
    };
    std::process::exit(code);
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Kills the child on panic so a failed test leaves no process behind.
struct ChildGuard(Option<Child>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_connections_lose_no_bytes_and_leak_no_fds() {
    pktpath_proxy::raise_nofile_limit();
    let (backend, _b) = tcp_echo_backend().await;
    let port = free_port();
    let args = format!(
        "-proto tcp -host-ip 127.0.0.1 -host-port {port} -container-ip 127.0.0.1 -container-port {}",
        backend.port()
    );
    let mut guard = spawn_child(&args, None);
    let pid = guard.0.as_ref().unwrap().id();
    let addr = std::net::SocketAddr::from((LOOPBACK, port));

    // Wait until the proxy relays (its runtime is up), with one probe.
    let mut probe = loop {
        match TcpStream::connect(addr).await {
            Ok(s) => break s,
            Err(_) => {
                let exited = guard.0.as_mut().unwrap().try_wait().unwrap();
                assert!(exited.is_none(), "proxy exited: {exited:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let got = bounded("probe", send_and_collect_probe(&mut probe)).await;
    assert_eq!(got, b"probe");
    drop(probe);
    let baseline = stable_fd_count(pid).await;

    let barrier = Arc::new(Barrier::new(CONNS + 1));
    let mut tasks = Vec::with_capacity(CONNS);
    for i in 0..CONNS {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            // One round trip: the proxy has dialled the backend.
            s.write_all(&(i as u32).to_be_bytes()).await.unwrap();
            let mut hello = [0u8; 4];
            s.read_exact(&mut hello).await.unwrap();
            assert_eq!(u32::from_be_bytes(hello), i as u32);
            barrier.wait().await; // all connections are open now
            barrier.wait().await; // the fd count has been checked
            let data = random_bytes(PER_CONN, 1000 + i as u64);
            let got = send_and_collect(s, &data).await;
            (got.len(), got == data)
        }));
    }
    bounded("all connections open", barrier.wait()).await;
    let want = baseline + 2 * CONNS;
    eventually(
        &format!("{want} fds in the proxy (2 per connection)"),
        || fd_count(pid) == want,
    )
    .await;
    barrier.wait().await;
    let mut lost = 0usize;
    let mut corrupt = 0usize;
    for t in tasks {
        let (len, same) = bounded("transfer", t).await.unwrap();
        lost += PER_CONN.saturating_sub(len);
        corrupt += usize::from(!same);
    }
    assert_eq!(lost, 0, "bytes lost");
    assert_eq!(corrupt, 0, "connections with corrupted data");
    eventually(&format!("proxy fds back to {baseline}"), || {
        fd_count(pid) == baseline
    })
    .await;

    stop_child(guard).await;
}

fn spawn_child(args: &str, udp_timeout_ms: Option<u64>) -> ChildGuard {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "proxy_child",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .env(CHILD_ENV, args)
    .stdin(Stdio::null())
    .stdout(Stdio::null());
    if let Some(ms) = udp_timeout_ms {
        cmd.env(CHILD_TIMEOUT_ENV, ms.to_string());
    }
    ChildGuard(Some(cmd.spawn().unwrap()))
}

/// SIGTERM, docker-proxy's stop signal: the proxy exits 0.
async fn stop_child(mut guard: ChildGuard) {
    let mut child = guard.0.take().unwrap();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let status = bounded("exit after SIGTERM", async {
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return st;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(status.success(), "{status:?}");
}

/// Each UDP flow holds one socket (fd) in the proxy until it expires.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_flow_sockets_are_closed_on_expiry() {
    const FLOWS: usize = 200;
    let backend = tokio::net::UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let baddr = backend.local_addr().unwrap();
    let echo = tokio::spawn(async move {
        let mut buf = [0u8; 64];
        while let Ok((n, from)) = backend.recv_from(&mut buf).await {
            let _ = backend.send_to(&buf[..n], from).await;
        }
    });
    let port = std::net::UdpSocket::bind((LOOPBACK, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let args = format!(
        "-proto udp -host-ip 127.0.0.1 -host-port {port} -container-ip 127.0.0.1 -container-port {}",
        baddr.port()
    );
    let guard = spawn_child(&args, Some(2000));
    let pid = guard.0.as_ref().unwrap().id();
    let addr = std::net::SocketAddr::from((LOOPBACK, port));

    // Ready: a probe client gets an answer (retrying while the proxy starts).
    let probe = tokio::net::UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let mut buf = [0u8; 64];
    bounded("proxy start", async {
        loop {
            probe.send_to(b"probe", addr).await.unwrap();
            let r = tokio::time::timeout(Duration::from_millis(100), probe.recv_from(&mut buf));
            if let Ok(Ok(_)) = r.await {
                break;
            }
        }
    })
    .await;
    // The probe's flow expires too; then the count is the baseline.
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let baseline = stable_fd_count(pid).await;

    let mut clients = Vec::with_capacity(FLOWS);
    for i in 0..FLOWS {
        let c = tokio::net::UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
        c.send_to(&(i as u32).to_be_bytes(), addr).await.unwrap();
        let (n, from) = bounded("udp reply", c.recv_from(&mut buf)).await.unwrap();
        assert_eq!((&buf[..n], from), (&(i as u32).to_be_bytes()[..], addr));
        clients.push(c);
    }
    // Flows may already expire while later ones are created: at most one fd each.
    let loaded = fd_count(pid);
    assert!(
        loaded > baseline && loaded <= baseline + FLOWS,
        "{baseline} -> {loaded}"
    );
    eventually(&format!("proxy fds back to {baseline}"), || {
        fd_count(pid) == baseline
    })
    .await;
    stop_child(guard).await;
    echo.abort();
}

async fn send_and_collect_probe(s: &mut TcpStream) -> Vec<u8> {
    s.write_all(b"probe").await.unwrap();
    s.shutdown().await.unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).await.unwrap();
    got
}

/// The proxy's fd count once it has not changed for 300 ms.
async fn stable_fd_count(pid: u32) -> usize {
    let mut last = fd_count(pid);
    let mut same_for = 0;
    for _ in 0..(PATIENCE.as_millis() / 50) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = fd_count(pid);
        if now == last {
            same_for += 1;
            if same_for >= 6 {
                return now;
            }
        } else {
            same_for = 0;
            last = now;
        }
    }
    panic!("the proxy's fd count never settled");
}
