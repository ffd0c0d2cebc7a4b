//! 1,000 concurrent connections through a proxy running as its own process
//! (this test binary re-run as `proxy_child`, which calls
//! `pktpath_proxy::run_process` as `pktpath proxy` does): no byte lost, and
//! the proxy's open file descriptors (/proc/PID/fd) back to the baseline
//! once the clients are gone.

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
const CONNS: usize = 1000;
const PER_CONN: usize = 64 * 1024;

/// Not a test of its own: the proxy process for the test below.
#[test]
fn proxy_child() {
    let Ok(args) = std::env::var(CHILD_ENV) else {
        return;
    };
    let args: Vec<String> = args.split_whitespace().map(String::from).collect();
    let code = match pktpath_proxy::run_process(&args, Options::default()) {
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
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "proxy_child",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut guard = ChildGuard(Some(child));
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

    // SIGTERM: docker-proxy's stop signal; the proxy exits 0.
    kill(Pid::from_raw(pid as i32), Signal::SIGTERM).unwrap();
    let mut child = guard.0.take().unwrap();
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
