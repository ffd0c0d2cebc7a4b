//! Load generator and backend for `scripts/proxy-bench/compare.sh`, which
//! measures `pktpath proxy` against Debian's docker-proxy on loopback.
//!
//! ```text
//! loadgen backend [--max-secs S]
//!     TCP and UDP servers on one 127.0.0.1 port (printed as "port N").
//!     TCP: the first byte picks the mode: 'E' echo, 'S' sink (answers the
//!     byte count after EOF), 'G' generate (reads a u64 n, sends n bytes).
//!     UDP: echo. Exits after S seconds (default 1800) at the latest.
//! loadgen tcp --target ADDR [--pid PID] [--out FILE] [--bulk-mib N] [--reps N]
//!             [--rtts N] [--conns N] [--per-conn BYTES] [--idle N]
//! loadgen udp --target ADDR [--pid PID] [--out FILE] [--rtts N] [--flows N]
//! loadgen freeport
//!     Prints a 127.0.0.1 port free for both TCP and UDP.
//! loadgen table LABEL=FILE[,FILE...]...
//!     Prints the results side by side: per metric the median over the
//!     files (rounds), or the worst value for failure counts.
//! ```
//!
//! `--pid` is the proxy's process id, for memory (VmRSS), CPU time and
//! open file descriptors from /proc. Every step has a time limit; traffic
//! goes only to the given loopback address.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use rand::{RngCore, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

const STEP_LIMIT: Duration = Duration::from_secs(120);

type Res<T> = Result<T, String>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let r = match args.first().map(String::as_str) {
        Some("backend") => rt.block_on(backend(&Flags::parse(&args[1..]))),
        Some("tcp") => rt.block_on(tcp_bench(&Flags::parse(&args[1..]))),
        Some("udp") => rt.block_on(udp_bench(&Flags::parse(&args[1..]))),
        Some("table") => table(&args[1..]),
        Some("freeport") => {
            bind_pair().map(|(t, _)| println!("{}", t.local_addr().unwrap().port()))
        }
        _ => Err("usage: loadgen backend|tcp|udp|table ... (see the source's header)".into()),
    };
    if let Err(e) = r {
        eprintln!("loadgen: {e}");
        std::process::exit(1);
    }
}

/// `--name value` pairs.
struct Flags(BTreeMap<String, String>);

impl Flags {
    fn parse(args: &[String]) -> Flags {
        let mut m = BTreeMap::new();
        let mut it = args.iter();
        while let Some(k) = it.next() {
            if let Some(name) = k.strip_prefix("--") {
                m.insert(name.to_string(), it.next().cloned().unwrap_or_default());
            }
        }
        Flags(m)
    }
    fn num(&self, name: &str, default: u64) -> u64 {
        self.0
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }
    fn target(&self) -> Res<SocketAddr> {
        let t = self.0.get("target").ok_or("--target ADDR is required")?;
        let a: SocketAddr = t.parse().map_err(|e| format!("--target {t}: {e}"))?;
        if !a.ip().is_loopback() {
            return Err(format!("--target {a}: only loopback targets are allowed"));
        }
        Ok(a)
    }
    fn pid(&self) -> Option<u32> {
        self.0.get("pid").and_then(|p| p.parse().ok())
    }
}

async fn limit<T>(what: &str, f: impl std::future::Future<Output = T>) -> Res<T> {
    tokio::time::timeout(STEP_LIMIT, f)
        .await
        .map_err(|_| format!("{what}: no progress within {STEP_LIMIT:?}"))
}

fn io<T>(what: &str, r: std::io::Result<T>) -> Res<T> {
    r.map_err(|e| format!("{what}: {e}"))
}

// ---------------------------------------------------------------- backend

async fn backend(f: &Flags) -> Res<()> {
    let max = Duration::from_secs(f.num("max-secs", 1800));
    let (tcp, udp) = bind_pair()?;
    println!("port {}", tcp.local_addr().unwrap().port());
    tcp.set_nonblocking(true).unwrap();
    udp.set_nonblocking(true).unwrap();
    let tcp = io("listener", TcpListener::from_std(tcp))?;
    let udp = io("udp", UdpSocket::from_std(udp))?;
    let tcp_task = async move {
        loop {
            let Ok((s, _)) = tcp.accept().await else {
                continue;
            };
            let _ = s.set_nodelay(true);
            tokio::spawn(serve_tcp(s));
        }
    };
    let udp_task = async move {
        let mut buf = vec![0u8; 65536];
        loop {
            if let Ok((n, from)) = udp.recv_from(&mut buf).await {
                let _ = udp.send_to(&buf[..n], from).await;
            }
        }
    };
    tokio::select! {
        _ = tcp_task => {}
        _ = udp_task => {}
        _ = tokio::time::sleep(max) => {}
    }
    Ok(())
}

/// A TCP listener and a UDP socket on the same free loopback port.
fn bind_pair() -> Res<(std::net::TcpListener, std::net::UdpSocket)> {
    for _ in 0..50 {
        // A deep accept queue (std's bind uses 128), so that the backend is
        // never the bottleneck when a proxy dials 1,000 connections at once.
        let sock = io(
            "socket",
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None),
        )?;
        io(
            "bind",
            sock.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into()),
        )?;
        io("listen", sock.listen(4096))?;
        let t: std::net::TcpListener = sock.into();
        let port = t.local_addr().unwrap().port();
        if let Ok(u) = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, port)) {
            return Ok((t, u));
        }
    }
    Err("no port free for both TCP and UDP".into())
}

async fn serve_tcp(mut s: TcpStream) {
    let mut mode = [0u8; 1];
    if s.read_exact(&mut mode).await.is_err() {
        return;
    }
    let mut buf = vec![0u8; 256 * 1024];
    match mode[0] {
        b'E' => {
            let (mut r, mut w) = s.split();
            let _ = tokio::io::copy(&mut r, &mut w).await;
            let _ = w.shutdown().await;
        }
        b'S' => {
            let mut n = 0u64;
            while let Ok(k) = s.read(&mut buf).await {
                if k == 0 {
                    break;
                }
                n += k as u64;
            }
            let _ = s.write_all(&n.to_be_bytes()).await;
            let _ = s.shutdown().await;
        }
        b'G' => {
            let mut len = [0u8; 8];
            if s.read_exact(&mut len).await.is_err() {
                return;
            }
            let mut left = u64::from_be_bytes(len);
            while left > 0 {
                let k = left.min(buf.len() as u64) as usize;
                if s.write_all(&buf[..k]).await.is_err() {
                    return;
                }
                left -= k as u64;
            }
            let _ = s.shutdown().await;
            let _ = s.read(&mut buf).await;
        }
        _ => {}
    }
}

// ---------------------------------------------------------------- /proc

#[derive(Clone, Copy, Default)]
struct Sample {
    rss_kib: u64,
    fds: u64,
    cpu_ticks: u64,
}

fn sample(pid: Option<u32>) -> Sample {
    let Some(pid) = pid else {
        return Sample::default();
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after "(comm)": state is field 3; utime and stime are 14 and 15.
    let cpu_ticks = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            get(11) + get(12)
        })
        .unwrap_or(0);
    Sample {
        rss_kib,
        fds,
        cpu_ticks,
    }
}

/// Clock ticks per second for /proc/PID/stat (USER_HZ, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

// ---------------------------------------------------------------- results

struct Out(Vec<(String, String)>);

impl Out {
    fn put(&mut self, k: &str, v: impl std::fmt::Display) {
        println!("{k} {v}");
        self.0.push((k.to_string(), v.to_string()));
    }
    fn save(&self, f: &Flags) -> Res<()> {
        if let Some(path) = f.0.get("out") {
            let mut s = String::new();
            for (k, v) in &self.0 {
                let _ = writeln!(s, "{k} {v}");
            }
            io("write --out", std::fs::write(path, s))?;
        }
        Ok(())
    }
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn fnv1a(h: &mut u64, data: &[u8]) {
    for b in data {
        *h ^= *b as u64;
        *h = h.wrapping_mul(0x100000001b3);
    }
}

// ---------------------------------------------------------------- TCP

async fn tcp_bench(f: &Flags) -> Res<()> {
    let target = f.target()?;
    let pid = f.pid();
    let mut out = Out(Vec::new());
    let idle = f.num("idle", 1000) as usize;
    let conns = f.num("conns", 1000) as usize;
    let per_conn = f.num("per-conn", 64 * 1024) as usize;
    let bulk = f.num("bulk-mib", 512) << 20;
    let reps = f.num("reps", 3).max(1);
    let rtts = f.num("rtts", 20000) as usize;

    // Warm-up: one echo round trip through the proxy.
    limit("warm-up", echo_once(target, b"warm")).await??;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let base = sample(pid);
    if pid.is_some() {
        out.put("tcp.rss_kib.base", base.rss_kib);
        out.put("tcp.fds.base", base.fds);
    }

    // Memory and fds per idle connection (each connection has done one round trip).
    let mut held = Vec::with_capacity(idle);
    for i in 0..idle {
        let mut s = io(
            "idle connect",
            limit("idle connect", TcpStream::connect(target)).await?,
        )?;
        io(
            "idle write",
            limit("idle", s.write_all(&[b'E', i as u8])).await?,
        )?;
        let mut b = [0u8; 1];
        io("idle read", limit("idle", s.read_exact(&mut b)).await?)?;
        held.push(s);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let loaded = sample(pid);
    out.put("tcp.idle.conns", idle);
    drop(held);
    if pid.is_some() {
        out.put(
            "tcp.idle.rss_kib_per_conn",
            format!(
                "{:.2}",
                (loaded.rss_kib as f64 - base.rss_kib as f64) / idle as f64
            ),
        );
        out.put(
            "tcp.idle.fds_per_conn",
            format!("{:.2}", (loaded.fds as f64 - base.fds as f64) / idle as f64),
        );
        let after_idle = settle_fds(pid, base.fds).await;
        out.put(
            "tcp.idle.fds_left_after_close",
            after_idle as i64 - base.fds as i64,
        );
    }

    // Bulk throughput, each way, best of `reps`.
    for (name, mode) in [("upload", b'S'), ("download", b'G')] {
        let mut best = 0f64;
        let mut cpu = 0f64;
        for _ in 0..reps {
            let before = sample(pid);
            let t = Instant::now();
            limit(name, bulk_once(target, mode, bulk)).await??;
            let secs = t.elapsed().as_secs_f64();
            let after = sample(pid);
            let mbps = bulk as f64 / 1e6 / secs;
            if mbps > best {
                best = mbps;
                cpu = (after.cpu_ticks - before.cpu_ticks) as f64 / TICKS_PER_SEC;
            }
        }
        out.put(&format!("tcp.{name}.mb_per_s"), format!("{best:.0}"));
        if pid.is_some() {
            out.put(
                &format!("tcp.{name}.proxy_cpu_s_per_gb"),
                format!("{:.2}", cpu / (bulk as f64 / 1e9)),
            );
        }
    }

    // Round-trip latency of 64-byte messages on one connection.
    let lat = limit("latency", tcp_latency(target, rtts)).await??;
    out.put("tcp.rtt.n", rtts);
    out.put(
        "tcp.rtt.p50_us",
        format!("{:.1}", percentile(&lat, 0.50) as f64 / 1e3),
    );
    out.put(
        "tcp.rtt.p99_us",
        format!("{:.1}", percentile(&lat, 0.99) as f64 / 1e3),
    );

    // Many concurrent connections, every byte checked.
    let t = Instant::now();
    let (lost, corrupt, peak_fds) =
        limit("concurrent", concurrent(target, conns, per_conn, pid)).await??;
    let secs = t.elapsed().as_secs_f64();
    out.put("tcp.concurrent.conns", conns);
    out.put(
        "tcp.concurrent.mb_per_s",
        format!("{:.0}", (2 * conns * per_conn) as f64 / 1e6 / secs),
    );
    out.put("tcp.concurrent.bytes_lost", lost);
    out.put("tcp.concurrent.conns_corrupt", corrupt);
    if pid.is_some() {
        out.put("tcp.concurrent.peak_fds", peak_fds);
        let end = settle_fds(pid, base.fds).await;
        out.put("tcp.fds.leaked_at_end", end as i64 - base.fds as i64);
        out.put("tcp.rss_kib.end", sample(pid).rss_kib);
    }
    out.save(f)
}

/// Waits (at most 30 s) for the proxy's fd count to drop to `base`.
async fn settle_fds(pid: Option<u32>, base: u64) -> u64 {
    let t = Instant::now();
    loop {
        let n = sample(pid).fds;
        if n <= base || t.elapsed() > Duration::from_secs(30) {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn echo_once(target: SocketAddr, msg: &[u8]) -> Res<()> {
    let mut s = io("connect", TcpStream::connect(target).await)?;
    io("write", s.write_all(b"E").await)?;
    io("write", s.write_all(msg).await)?;
    let mut b = vec![0u8; msg.len()];
    io("read", s.read_exact(&mut b).await)?;
    if b != msg {
        return Err("echo mismatch".into());
    }
    Ok(())
}

async fn bulk_once(target: SocketAddr, mode: u8, bytes: u64) -> Res<()> {
    let mut s = io("connect", TcpStream::connect(target).await)?;
    let mut buf = vec![0u8; 1 << 20];
    rand::rngs::SmallRng::seed_from_u64(9).fill_bytes(&mut buf);
    if mode == b'S' {
        io("write", s.write_all(b"S").await)?;
        let mut left = bytes;
        while left > 0 {
            let k = left.min(buf.len() as u64) as usize;
            io("write", s.write_all(&buf[..k]).await)?;
            left -= k as u64;
        }
        io("shutdown", s.shutdown().await)?;
        let mut n = [0u8; 8];
        io("read count", s.read_exact(&mut n).await)?;
        if u64::from_be_bytes(n) != bytes {
            return Err(format!(
                "sink got {} of {bytes} bytes",
                u64::from_be_bytes(n)
            ));
        }
    } else {
        io("write", s.write_all(b"G").await)?;
        io("write", s.write_all(&bytes.to_be_bytes()).await)?;
        let mut got = 0u64;
        loop {
            let k = io("read", s.read(&mut buf).await)?;
            if k == 0 {
                break;
            }
            got += k as u64;
        }
        if got != bytes {
            return Err(format!("got {got} of {bytes} bytes"));
        }
    }
    Ok(())
}

async fn tcp_latency(target: SocketAddr, n: usize) -> Res<Vec<u64>> {
    let mut s = io("connect", TcpStream::connect(target).await)?;
    io("nodelay", s.set_nodelay(true))?;
    io("write", s.write_all(b"E").await)?;
    let msg = [7u8; 64];
    let mut back = [0u8; 64];
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        io("write", s.write_all(&msg).await)?;
        io("read", s.read_exact(&mut back).await)?;
        lat.push(t.elapsed().as_nanos() as u64);
    }
    lat.sort_unstable();
    Ok(lat)
}

/// `conns` connections open at once, each echoing `per_conn` random bytes
/// with a half-close; returns (bytes lost, corrupt connections, peak fds).
async fn concurrent(
    target: SocketAddr,
    conns: usize,
    per_conn: usize,
    pid: Option<u32>,
) -> Res<(u64, u64, u64)> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(conns + 1));
    let mut tasks = Vec::with_capacity(conns);
    for i in 0..conns {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let s = TcpStream::connect(target).await;
            barrier.wait().await;
            let mut s = s.map_err(|e| format!("connect: {e}"))?;
            let mut data = vec![0u8; per_conn];
            rand::rngs::SmallRng::seed_from_u64(i as u64).fill_bytes(&mut data);
            let mut want = 0xcbf29ce484222325u64;
            fnv1a(&mut want, &data);
            s.write_all(b"E").await.map_err(|e| e.to_string())?;
            let (mut r, mut w) = s.into_split();
            let writer = tokio::spawn(async move {
                let _ = w.write_all(&data).await;
                let _ = w.shutdown().await;
            });
            let mut got = 0usize;
            let mut h = 0xcbf29ce484222325u64;
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let k = r.read(&mut buf).await.map_err(|e| e.to_string())?;
                if k == 0 {
                    break;
                }
                fnv1a(&mut h, &buf[..k]);
                got += k;
            }
            let _ = writer.await;
            Ok::<_, String>((got, h == want))
        }));
    }
    barrier.wait().await;
    let peak = sample(pid).fds;
    let (mut lost, mut corrupt) = (0u64, 0u64);
    for t in tasks {
        let (got, same) = t.await.map_err(|e| e.to_string())??;
        lost += per_conn.saturating_sub(got) as u64;
        corrupt += u64::from(!same);
    }
    Ok((lost, corrupt, peak))
}

// ---------------------------------------------------------------- UDP

async fn udp_bench(f: &Flags) -> Res<()> {
    let target = f.target()?;
    let pid = f.pid();
    let rtts = f.num("rtts", 20000) as usize;
    let flows = f.num("flows", 1000) as usize;
    let mut out = Out(Vec::new());

    let s = io("bind", UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await)?;
    io("connect", s.connect(target).await)?;
    // Warm-up (also creates this client's flow).
    let mut back = [0u8; 128];
    for _ in 0..50 {
        io("send", s.send(b"warm").await)?;
        if tokio::time::timeout(Duration::from_millis(200), s.recv(&mut back))
            .await
            .is_ok()
        {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let base = sample(pid);

    // Memory and fds per flow.
    let mut held = Vec::with_capacity(flows);
    let mut unanswered = 0u64;
    for i in 0..flows {
        let c = io("bind", UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await)?;
        io("connect", c.connect(target).await)?;
        io("send", c.send(&(i as u32).to_be_bytes()).await)?;
        if tokio::time::timeout(Duration::from_secs(1), c.recv(&mut back))
            .await
            .is_err()
        {
            unanswered += 1;
        }
        held.push(c);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let loaded = sample(pid);
    out.put("udp.flows", flows);
    out.put("udp.flows.unanswered", unanswered);
    if pid.is_some() {
        out.put(
            "udp.flows.rss_kib_per_flow",
            format!(
                "{:.2}",
                (loaded.rss_kib as f64 - base.rss_kib as f64) / flows as f64
            ),
        );
        out.put(
            "udp.flows.fds_per_flow",
            format!(
                "{:.2}",
                (loaded.fds as f64 - base.fds as f64) / flows as f64
            ),
        );
    }
    drop(held);

    // Round-trip latency of 64-byte datagrams.
    let msg = [5u8; 64];
    let mut lat = Vec::with_capacity(rtts);
    let mut lost = 0u64;
    for _ in 0..rtts {
        let t = Instant::now();
        io("send", s.send(&msg).await)?;
        match tokio::time::timeout(Duration::from_secs(1), s.recv(&mut back)).await {
            Ok(r) => {
                io("recv", r)?;
                lat.push(t.elapsed().as_nanos() as u64);
            }
            Err(_) => lost += 1,
        }
    }
    lat.sort_unstable();
    out.put("udp.rtt.n", rtts);
    out.put("udp.rtt.lost", lost);
    out.put(
        "udp.rtt.p50_us",
        format!("{:.1}", percentile(&lat, 0.50) as f64 / 1e3),
    );
    out.put(
        "udp.rtt.p99_us",
        format!("{:.1}", percentile(&lat, 0.99) as f64 / 1e3),
    );
    out.save(f)
}

// ---------------------------------------------------------------- table

fn table(args: &[String]) -> Res<()> {
    let mut cols: Vec<(String, BTreeMap<String, Vec<String>>)> = Vec::new();
    let mut order: Vec<String> = Vec::new();
    for a in args {
        let (label, files) = a
            .split_once('=')
            .ok_or(format!("{a}: want LABEL=FILE[,FILE]"))?;
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for file in files.split(',').filter(|f| !f.is_empty()) {
            let text = io(file, std::fs::read_to_string(file))?;
            for line in text.lines() {
                if let Some((k, v)) = line.split_once(' ') {
                    if !order.iter().any(|o| o == k) {
                        order.push(k.to_string());
                    }
                    m.entry(k.to_string()).or_default().push(v.to_string());
                }
            }
        }
        cols.push((label.to_string(), m));
    }
    let w0 = order.iter().map(String::len).max().unwrap_or(6).max(6);
    let widths: Vec<usize> = cols.iter().map(|(l, _)| l.len().max(10)).collect();
    let mut line = format!("{:<w0$}", "metric");
    for ((l, _), w) in cols.iter().zip(&widths) {
        let _ = write!(line, "  {l:>w$}");
    }
    println!("{line}");
    println!("{}", "-".repeat(line.len()));
    for k in &order {
        let mut line = format!("{k:<w0$}");
        for ((_, m), w) in cols.iter().zip(&widths) {
            let v = m.get(k).map(|vs| summarize(k, vs)).unwrap_or("-".into());
            let _ = write!(line, "  {v:>w$}");
        }
        println!("{line}");
    }
    Ok(())
}

/// Several rounds of one metric: the worst for a failure count (bytes
/// lost, fds leaked, ...), the median otherwise.
fn summarize(key: &str, values: &[String]) -> String {
    let mut nums: Vec<f64> = values.iter().filter_map(|v| v.parse().ok()).collect();
    if nums.len() != values.len() || nums.is_empty() {
        return values.last().cloned().unwrap_or_default();
    }
    nums.sort_by(|a, b| a.total_cmp(b));
    let worst = ["lost", "leak", "corrupt", "unanswered", "left"]
        .iter()
        .any(|w| key.contains(w));
    let v = if worst {
        nums[nums.len() - 1]
    } else if nums.len() % 2 == 1 {
        nums[nums.len() / 2]
    } else {
        (nums[nums.len() / 2 - 1] + nums[nums.len() / 2]) / 2.0
    };
    let decimals = values[0].split_once('.').map_or(0, |(_, d)| d.len());
    format!("{v:.decimals$}")
}
