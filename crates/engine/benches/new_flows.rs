//! How many new flows per second the engine pushes through a big kube-proxy ruleset,
//! measured the way `shared/bench/kernel-nat-rate.sh` measures the kernel.
//!
//! The kernel script loads `gen-kube-proxy-ruleset.py 10000 5` (162,667 rules) into a
//! host namespace (`veth0` 192.0.2.1/24, `ip_forward=1`), and a client namespace
//! (`veth0` 192.0.2.2/24, default route via 192.0.2.1) sends UDP datagrams, each from a
//! new source port, to a ClusterIP service. The host has no route to the endpoint subnet
//! (10.244.0.0/16), so each datagram is: received, tracked as a NEW connection, DNATed by
//! the nat PREROUTING chain (KUBE-SERVICES → KUBE-SVC-… → KUBE-SEP-…), then fails the
//! input route lookup and is dropped (`ip_error()`; its ICMP net-unreachable is
//! rate-limited away for all but a few packets), taking its unconfirmed conntrack entry
//! with it. We build the same world and time the same work:
//!
//! - `kube_proxy_10000x5/prerouting`: exactly that per-flow work — conntrack, the
//!   PREROUTING hook (nat table), the input route lookup, the drop. Compare this with the
//!   kernel's "with ruleset" pps.
//! - `kube_proxy_10000x5/ip_rcv`: the engine's whole receive path for the frame
//!   (`netif_receive` → `ip_rcv` → route → `ip_error`), which also sends the ICMP error
//!   through OUTPUT/POSTROUTING to the client for every flow (the engine does not model
//!   ICMP rate limiting), so it does more work per flow than the kernel does.
//! - `kube_proxy_10000x5/prerouting_unindexed`: `prerouting` with the chain indexes
//!   turned off (`IndexPolicy::Never`: every rule in order, as the kernel does).
//! - `small_world/probe/…`: one whole probe (a client exchange, timers included) in the
//!   small docker-memcached fixture, for reference; `probe_traced/…` the same recording
//!   events with the capture's TRACE rules, as `pktpath check` runs it.
//!
//! Before timing, the bench prints the parse and compile times and the heap allocations
//! per flow (counted by a wrapping global allocator).
//!
//! The destination is the *last* UDP service of KUBE-SERVICES (svc9999, 10.96.39.25:53):
//! the kernel walks all 10,000 dispatch rules for it, which is the ~7,400 flows/s the
//! issue quotes (the first UDP service, 10.96.0.19:53, runs at ~160,000/s). Override with `PKTPATH_BENCH_DST=IP:PORT`; use another ruleset file with
//! `PKTPATH_BENCH_RULES=FILE`.
//!
//! The ruleset is generated once with python3 and cached in `<target>/bench-data/`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pktpath_engine::packet::{Packet, L4};
use pktpath_engine::ruleset::index::IndexPolicy;
use pktpath_engine::sim::Task;
use pktpath_engine::stack::hooks::{HookVerdict, Hop};
use pktpath_engine::stack::route::InRoute;
use pktpath_engine::topology::{IfId, NsId};
use pktpath_engine::{Hook, ProbeSpec, Sim, SimOptions};
use pktpath_world::{MemSource, Route, RouteType, World, RT_TABLE_MAIN};
use std::alloc::{GlobalAlloc, Layout, System};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Counts heap allocations, to report how many a flow costs.
struct CountingAlloc;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to the system allocator unchanged.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Heap allocations per call of `f` (after a warm-up, so amortised growth of tables
/// that reached their size does not count).
fn allocations_per_call(mut f: impl FnMut(u32)) -> f64 {
    const N: u32 = 20_000;
    for i in 0..N {
        f(i);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for i in N..2 * N {
        f(i);
    }
    (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / N as f64
}

const SERVICES: u32 = 10_000;
const ENDPOINTS: u32 = 5;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `<repo root>/../shared`
fn shared() -> PathBuf {
    manifest_dir().join("../../../shared")
}

/// The cargo target directory this bench runs from (`<target>/release/deps/<exe>`).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|e| e.ancestors().nth(3).map(Path::to_path_buf))
        })
        .unwrap_or_else(|| manifest_dir().join("../../target"))
}

/// The generated kube-proxy ruleset (cached; the generator's output is reproducible).
fn ruleset_file() -> PathBuf {
    if let Some(p) = std::env::var_os("PKTPATH_BENCH_RULES") {
        return PathBuf::from(p);
    }
    let dir = target_dir().join("bench-data");
    let file = dir.join(format!("kube-proxy-{SERVICES}-{ENDPOINTS}.rules"));
    if file.exists() {
        return file;
    }
    std::fs::create_dir_all(&dir).expect("create bench-data dir");
    let gen = shared().join("bench/gen-kube-proxy-ruleset.py");
    let out = std::process::Command::new("python3")
        .arg(&gen)
        .arg(SERVICES.to_string())
        .arg(ENDPOINTS.to_string())
        .output()
        .unwrap_or_else(|e| panic!("running python3 {}: {e}", gen.display()));
    assert!(
        out.status.success(),
        "{} failed: {}",
        gen.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, &out.stdout).expect("write ruleset");
    std::fs::rename(&tmp, &file).expect("rename ruleset");
    file
}

fn ip_addr_json(addr: &str, mac: &str) -> String {
    format!(
        r#"[ {{ "ifindex": 1, "ifname": "lo", "flags": [ "LOOPBACK","UP","LOWER_UP" ], "mtu": 65536,
        "link_type": "loopback", "address": "00:00:00:00:00:00",
        "addr_info": [ {{ "family": "inet", "local": "127.0.0.1", "prefixlen": 8 }} ] }},
     {{ "ifindex": 2, "ifname": "veth0", "flags": [ "BROADCAST","MULTICAST","UP","LOWER_UP" ], "mtu": 1500,
        "link_type": "ether", "address": "{mac}",
        "addr_info": [ {{ "family": "inet", "local": "{addr}", "prefixlen": 24, "broadcast": "192.0.2.255" }} ] }} ]"#
    )
}

/// The world `kernel-nat-rate.sh` builds: `host` holds the ruleset, `client` sends.
fn kube_proxy_world(rules: &str) -> World {
    let src = MemSource::new("kube-proxy-bench")
        .with(
            "world.toml",
            r#"description = "kernel-nat-rate.sh: kube-proxy ruleset in host, client over a veth"
[[namespace]]
name = "host"
role = "host"
dir = "ns/host"

[[namespace]]
name = "client"
role = "client"
dir = "ns/client"

[[link]]
a = "host:veth0"
b = "client:veth0"
"#,
        )
        .with(
            "ns/host/ip-addr.json",
            ip_addr_json("192.0.2.1", "02:00:00:00:00:01"),
        )
        .with("ns/host/sysctl.txt", "net.ipv4.ip_forward = 1\n")
        .with("ns/host/iptables-save.txt", rules)
        .with(
            "ns/client/ip-addr.json",
            ip_addr_json("192.0.2.2", "02:00:00:00:00:02"),
        );
    let mut world = pktpath_world::load_world_from(&src, PathBuf::from("kube-proxy-bench"))
        .unwrap_or_else(|e| panic!("bench world: {e}"));
    // ip -n client route add default via 192.0.2.1
    let client = world.namespace_index("client").expect("client namespace");
    world.namespaces[client].routes.push(Route {
        table: RT_TABLE_MAIN,
        kind: RouteType::Unicast,
        dst: "0.0.0.0/0".parse().expect("net"),
        gateway: Some(Ipv4Addr::new(192, 0, 2, 1)),
        dev: Some("veth0".into()),
        prefsrc: None,
        metric: 0,
    });
    world
}

fn dst() -> (Ipv4Addr, u16) {
    let s = std::env::var("PKTPATH_BENCH_DST").unwrap_or_else(|_| "10.96.39.25:53".into());
    let (a, p) = s.rsplit_once(':').expect("PKTPATH_BENCH_DST=IP:PORT");
    (a.parse().expect("IP"), p.parse().expect("PORT"))
}

/// udp-blast.py's datagram: 8 payload bytes, TTL 64, a new source port each time.
fn datagram(i: u32, dst: Ipv4Addr, dport: u16) -> Packet {
    let l4 = L4::Udp {
        sport: 1024 + (i % 60_000) as u16,
        dport,
    };
    Packet {
        ip_id: i as u16,
        df: false,
        payload: 8,
        ..Packet::new(Ipv4Addr::new(192, 0, 2, 2), dst, l4, 20 + 8 + 8)
    }
}

struct KubeBench {
    sim: Sim,
    host: NsId,
    dev: IfId,
    mac: ([u8; 6], [u8; 6]),
    dst: (Ipv4Addr, u16),
}

impl KubeBench {
    fn new() -> KubeBench {
        let file = ruleset_file();
        let text = std::fs::read_to_string(&file).expect("read ruleset");
        let t = Instant::now();
        let world = kube_proxy_world(&text);
        let loaded = t.elapsed();
        let t = Instant::now();
        let sim = Sim::new(
            &world,
            SimOptions {
                seed: 1,
                record: false,
            },
        )
        .expect("Sim::new");
        let compiled = t.elapsed();
        let rules: usize = world.namespaces[0]
            .ruleset
            .tables
            .iter()
            .flat_map(|t| t.chains.iter().map(|c| c.rules.len()))
            .sum();
        eprintln!(
            "kube-proxy world: {} ({rules} rules): parse+load {:.2?}, Sim::new (compile) {:.2?}",
            file.display(),
            loaded,
            compiled
        );
        let host = sim.ns_by_name("host").expect("host");
        let client = sim.ns_by_name("client").expect("client");
        let dev = sim.topo.iface_by_name(host, "veth0").expect("host veth0");
        let cdev = sim
            .topo
            .iface_by_name(client, "veth0")
            .expect("client veth0");
        let mac = (sim.topo.iface(cdev).mac, sim.topo.iface(dev).mac);
        KubeBench {
            sim,
            host,
            dev,
            mac,
            dst: dst(),
        }
    }

    /// One new flow's first packet through the host, as the kernel handles it in the
    /// measurement: conntrack + PREROUTING, the input route, the drop.
    /// (Not inlined, so that `scripts/bench/instructions.sh` can count inside it.)
    #[inline(never)]
    fn prerouting(&mut self, i: u32) -> (HookVerdict, InRoute, Packet) {
        let mut pkt = datagram(i, self.dst.0, self.dst.1);
        // netif_receive / ip_rcv
        pkt.mac = Some(self.mac);
        pkt.iif = Some(self.dev);
        let mut hop = Hop {
            iif: Some(self.dev),
            oif: None,
            nexthop: None,
        };
        let v = self
            .sim
            .nf_hook(self.host, Hook::Prerouting, &mut pkt, &mut hop);
        let r = self.sim.route_input(self.host, &pkt, self.dev);
        // The packet is dropped (ip_error) before its connection is confirmed.
        let n = self.sim.ns_mut(self.host);
        n.ct.release(&pkt);
        // What `reset_traffic` does between probes: forget the statistic draws recorded
        // for replay (they would pile up over millions of flows).
        n.mstate.drawn.clear();
        (v, r, pkt)
    }

    /// [`KubeBench::prerouting`] under its own name, for the bench without chain indexes
    /// (so that `scripts/bench/instructions.sh` counts it apart).
    #[inline(never)]
    fn prerouting_unindexed(&mut self, i: u32) -> (HookVerdict, InRoute, Packet) {
        self.prerouting(i)
    }

    /// The engine's whole receive path for the frame (ICMP error included).
    #[inline(never)]
    fn ip_rcv(&mut self, i: u32) {
        let pkt = datagram(i, self.dst.0, self.dst.1);
        let now = self.sim.now;
        self.sim.schedule(
            0,
            Task::Rx {
                dev: self.dev,
                pkt: Box::new(pkt),
                mac: self.mac,
            },
        );
        self.sim.run_until(now);
        // Forget the queue's bookkeeping so it does not grow (and MAX_FRAMES is not hit).
        self.sim.reset_traffic(false);
    }
}

fn kube_proxy(c: &mut Criterion) {
    let mut kb = KubeBench::new();
    // The work is what we think it is: NEW, DNATed to an endpoint of the service, no route.
    let (v, r, pkt) = kb.prerouting(0);
    assert_eq!(v, HookVerdict::Accept);
    assert!(
        u32::from(pkt.dst) >> 16 == u32::from(Ipv4Addr::new(10, 244, 0, 0)) >> 16,
        "expected a DNAT into 10.244.0.0/16, got {}",
        pkt.dst
    );
    assert!(
        matches!(r, InRoute::Error(_)),
        "expected no route after DNAT"
    );
    assert!(kb.sim.ns(kb.host).ct.entries().is_empty());
    let a_pre = allocations_per_call(|i| {
        black_box(kb.prerouting(i));
    });
    let a_rcv = allocations_per_call(|i| kb.ip_rcv(i));
    eprintln!("heap allocations per flow: prerouting {a_pre:.2}, ip_rcv {a_rcv:.2}");

    let group = if std::env::var_os("PKTPATH_BENCH_RULES").is_some() {
        "kube_proxy_custom".to_string()
    } else {
        format!("kube_proxy_{SERVICES}x{ENDPOINTS}")
    };
    let dst = format!("{}:{}", kb.dst.0, kb.dst.1);
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    let mut i = 0u32;
    g.bench_function(BenchmarkId::new("prerouting", &dst), |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            black_box(kb.prerouting(i))
        })
    });
    g.bench_function(BenchmarkId::new("ip_rcv", &dst), |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            kb.ip_rcv(i)
        })
    });
    // The same work without the chain indexes (compiled headers only, every rule in
    // order): what the index buys.
    let mut linear = KubeBench {
        sim: kb.sim.clone(),
        ..kb
    };
    linear
        .sim
        .ns_mut(linear.host)
        .rules
        .reindex(IndexPolicy::Never);
    g.bench_function(BenchmarkId::new("prerouting_unindexed", &dst), |b| {
        b.iter(|| {
            i = i.wrapping_add(1);
            black_box(linear.prerouting_unindexed(i))
        })
    });
    g.finish();
}

fn small_world(c: &mut Criterion) {
    let dir = shared().join("fixtures/docker-memcached");
    let world =
        pktpath_world::load_world(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let p = &world.probes[0];
    let mut spec = ProbeSpec {
        from: p.from.clone(),
        proto: p.proto,
        dst: p.dst,
        dport: p.dport,
        sport: p.sport,
        trace_ns: None,
        keep_conntrack: false,
    };
    let mut g = c.benchmark_group("small_world");
    g.throughput(Throughput::Elements(1));
    let mut sim = Sim::new(
        &world,
        SimOptions {
            seed: 1,
            record: false,
        },
    )
    .expect("Sim::new");
    let run = sim.probe(&spec).expect("probe");
    assert_eq!(Some(run.outcome), p.expect, "{}", p.name);
    g.bench_function(BenchmarkId::new("probe", &p.name), |b| {
        b.iter(|| black_box(sim.probe(&spec).expect("probe").outcome))
    });
    // As `pktpath check` runs it: events recorded, TRACE rules inserted.
    spec.trace_ns = p.trace_namespace.clone();
    let mut sim = Sim::new(
        &world,
        SimOptions {
            seed: 1,
            record: true,
        },
    )
    .expect("Sim::new");
    g.bench_function(BenchmarkId::new("probe_traced", &p.name), |b| {
        b.iter(|| black_box(sim.probe(&spec).expect("probe").events.len()))
    });
    g.finish();
}

criterion_group!(benches, kube_proxy, small_world);
criterion_main!(benches);
