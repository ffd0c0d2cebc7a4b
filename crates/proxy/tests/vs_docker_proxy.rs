//! Differential tests against the real docker-proxy (Debian's docker.io,
//! /usr/sbin/docker-proxy, or $DOCKER_PROXY): the same scenarios run
//! against docker-proxy and against `pktpath proxy` (this test binary
//! re-run as `proxy_child`, which calls `pktpath_proxy::run_process`), both
//! started as dockerd starts docker-proxy, with a pipe on fd 3; what the
//! clients observe must be the same. Skipped (with a note) when docker-proxy
//! is not installed.

mod common;

use std::collections::HashSet;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use common::*;
use pktpath_proxy::Options;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

const CHILD_ENV: &str = "PKTPATH_PROXY_VS_CHILD_ARGS";

/// Not a test of its own: `pktpath proxy` for the tests below.
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

fn docker_proxy() -> Option<PathBuf> {
    let mut c: Vec<PathBuf> = std::env::var_os("DOCKER_PROXY")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    c.extend(["/usr/sbin/docker-proxy", "/usr/bin/docker-proxy"].map(PathBuf::from));
    c.into_iter().find(|p| p.is_file())
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Impl {
    DockerProxy,
    Pktpath,
}

/// A proxy process started with a pipe on fd 3; killed when dropped.
struct Started {
    child: Child,
    /// What the proxy wrote on fd 3 before closing it.
    status: String,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(which: Impl, flags: &str) -> Started {
    // fd 3 = the stdout pipe, stdout itself to /dev/null (dockerd passes
    // its status pipe as the first ExtraFiles entry, fd 3).
    let mut cmd = Command::new("bash");
    cmd.arg("-c").arg(r#"exec "$0" "$@" 3>&1 1>/dev/null"#);
    match which {
        Impl::DockerProxy => {
            cmd.arg(docker_proxy().unwrap());
            cmd.args(flags.split_whitespace());
        }
        Impl::Pktpath => {
            cmd.arg(std::env::current_exe().unwrap());
            cmd.args([
                "--exact",
                "proxy_child",
                "--nocapture",
                "--test-threads",
                "1",
            ]);
            cmd.env(CHILD_ENV, flags);
        }
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s); // EOF once fd 3 is closed
        let _ = tx.send(s);
    });
    let status = rx
        .recv_timeout(PATIENCE)
        .unwrap_or_else(|_| panic!("{which:?} wrote no status on fd 3"));
    Started { child, status }
}

fn flags(proto: &str, host_ip: &str, host_port: u16, backend: SocketAddr) -> String {
    format!(
        "-proto {proto} -host-ip {host_ip} -host-port {host_port} -container-ip {} -container-port {}",
        backend.ip(),
        backend.port()
    )
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind((LOOPBACK, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

macro_rules! need_docker_proxy {
    () => {
        if docker_proxy().is_none() {
            eprintln!("skipped: docker-proxy not installed (apt-get install -y docker.io)");
            return;
        }
    };
}

/// Start-up report on fd 3 and exit status: listening, port taken,
/// unsupported protocol.
#[test]
fn startup_status_pipe_and_exit_codes() {
    need_docker_proxy!();
    let taken = std::net::TcpListener::bind((LOOPBACK, 0)).unwrap();
    let busy = taken.local_addr().unwrap().port();
    let taken_udp = std::net::UdpSocket::bind((LOOPBACK, busy)).ok();
    let backend = SocketAddr::from((LOOPBACK, free_port()));
    let mut seen = Vec::new();
    for which in [Impl::DockerProxy, Impl::Pktpath] {
        let mut obs = Vec::new();
        let ok = start(which, &flags("tcp", "127.0.0.1", free_port(), backend));
        obs.push((ok.status.clone(), None));
        let mut cases = vec![flags("tcp", "127.0.0.1", busy, backend)];
        if taken_udp.is_some() {
            cases.push(flags("udp", "127.0.0.1", busy, backend));
        }
        cases.push(flags("sctp2", "127.0.0.1", free_port(), backend));
        for f in cases {
            let mut bad = start(which, &f);
            let code = bad.child.wait().unwrap().code();
            obs.push((bad.status.clone(), code));
        }
        seen.push(obs);
    }
    let want_busy = format!("1\nlisten tcp4 127.0.0.1:{busy}: bind: address already in use");
    assert_eq!(seen[0][0], ("0\n".to_string(), None));
    assert_eq!(seen[0][1], (want_busy, Some(1)));
    assert_eq!(seen[0].last().unwrap(), &(String::new(), Some(1)));
    assert_eq!(seen[1], seen[0]);
}

/// What a client sees through the proxy: the backend's answer after the
/// client's half-close, the bytes the backend got, and what a client of a
/// proxy whose backend refuses reads.
async fn tcp_observations(which: Impl) -> (usize, bool, usize, String) {
    let l = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let backend = l.local_addr().unwrap();
    let answer = random_bytes(1 << 20, 11);
    let a2 = answer.clone();
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut req = Vec::new();
        s.read_to_end(&mut req).await.unwrap();
        s.write_all(&a2).await.unwrap();
        s.shutdown().await.unwrap();
        req.len()
    });
    let port = free_port();
    let _p = start(which, &flags("tcp", "127.0.0.1", port, backend));
    let mut c = TcpStream::connect((LOOPBACK, port)).await.unwrap();
    c.write_all(&random_bytes(300_000, 12)).await.unwrap();
    c.shutdown().await.unwrap();
    let mut got = Vec::new();
    bounded("answer", c.read_to_end(&mut got)).await.unwrap();
    let req_len = server.await.unwrap();

    let dead = SocketAddr::from((LOOPBACK, free_port()));
    let port2 = free_port();
    let _q = start(which, &flags("tcp", "127.0.0.1", port2, dead));
    let mut c = TcpStream::connect((LOOPBACK, port2)).await.unwrap();
    let mut buf = [0u8; 8];
    let refused = match bounded("refused", c.read(&mut buf)).await {
        Ok(n) => format!("read {n}"),
        Err(e) => format!("error {:?}", e.kind()),
    };
    (got.len(), got == answer, req_len, refused)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_half_close_and_refused_backend_match() {
    need_docker_proxy!();
    let d = tcp_observations(Impl::DockerProxy).await;
    let p = tcp_observations(Impl::Pktpath).await;
    assert_eq!(d, (1 << 20, true, 300_000, "read 0".to_string()));
    assert_eq!(p, d);
}

/// Sources of the replies clients get from a wildcard-bound UDP proxy, and
/// how many backend-side sockets (flows) the backend saw.
async fn udp_observations(which: Impl) -> (Vec<SocketAddr>, usize) {
    let b = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let backend = b.local_addr().unwrap();
    let peers: Arc<Mutex<HashSet<SocketAddr>>> = Arc::default();
    let p2 = peers.clone();
    let echo = tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        loop {
            let Ok((n, from)) = b.recv_from(&mut buf).await else {
                return;
            };
            p2.lock().unwrap().insert(from);
            let _ = b.send_to(&buf[..n], from).await;
        }
    });
    let port = free_udp_port();
    let _p = start(which, &flags("udp", "0.0.0.0", port, backend));
    let at = |last: u8| SocketAddr::from((Ipv4Addr::new(127, 0, 0, last), port));
    let mut sources = Vec::new();
    // One client writing to .2 then .3, then a new client writing to .3.
    let c1 = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    let c2 = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    for (c, to) in [(&c1, at(2)), (&c1, at(3)), (&c2, at(3))] {
        c.send_to(b"hi", to).await.unwrap();
        let mut buf = [0u8; 16];
        let (_, from) = bounded("udp reply", c.recv_from(&mut buf)).await.unwrap();
        sources.push(from);
    }
    echo.abort();
    let n = peers.lock().unwrap().len();
    (sources, n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_flows_and_reply_source_match() {
    need_docker_proxy!();
    let d = udp_observations(Impl::DockerProxy).await;
    let p = udp_observations(Impl::Pktpath).await;
    // Ports differ between the runs: compare the addresses.
    let ips = |o: &(Vec<SocketAddr>, usize)| (o.0.iter().map(|a| a.ip()).collect::<Vec<_>>(), o.1);
    // Docker 20.10's docker-proxy answers with WriteToUDP: routing picks
    // 127.0.0.1, whichever loopback address the client wrote to.
    let one = Ipv4Addr::LOCALHOST.into();
    assert_eq!(ips(&d), (vec![one, one, one], 2));
    assert_eq!(ips(&p), ips(&d));
}
