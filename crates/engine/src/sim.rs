//! The simulator: the whole world's kernel state, a clock, and a queue of frames in
//! flight and timers. Processing one frame is synchronous, as in the kernel (a REJECT's
//! ICMP error runs through OUTPUT before the REJECT returns); a frame sent to another
//! device is queued (`netif_rx`), so loopback re-entry happens after the sender's path
//! completes.

use crate::endpoint::Endpoint;
use crate::event::Event;
use crate::netns::NsState;
use crate::packet::Packet;
use crate::topology::{IfId, NsId, Topology};
use pktpath_world::World;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Something that happens at a point in simulated time.
#[derive(Debug, Clone)]
pub enum Task {
    /// A frame arrives at an interface, with its link-layer addresses.
    Rx {
        dev: IfId,
        pkt: Box<Packet>,
        mac: ([u8; 6], [u8; 6]),
    },
    /// An endpoint's timer fires.
    Timer { ep: usize, kind: TimerKind },
    /// A process acts on its socket (in process context, after the softirq work queued
    /// before it: a woken process runs after the backlog is processed).
    App { ep: usize, action: AppAction },
}

/// What a process does on its socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppAction {
    /// Write: a TCP segment with these flags and payload.
    Send { flags: u8, payload: u16 },
    /// close(): FIN.
    Close,
    /// accept() returned in a userland proxy: it dials its backend.
    ProxyDial,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    /// Retransmit the SYN (or datagram / echo request).
    Retransmit(u8),
    /// Retransmit an unacknowledged FIN (the n-th time; RTO 200 ms, doubling).
    FinRetransmit(u8),
    /// The client gives up (curl `-m 3`).
    Deadline,
}

/// Options that make a run reproducible.
#[derive(Debug, Clone, Copy)]
pub struct SimOptions {
    /// Seed for every random choice (statistic, NAT ports, IP ids, ephemeral ports).
    pub seed: u64,
    /// Record events (off for benchmarks).
    pub record: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: 1,
            record: true,
        }
    }
}

/// Time between the end of one probe and the start of the next one in the same world
/// (the lab waits for its trace reader and conntrack between probes).
pub const PROBE_GAP_MS: i64 = 1000;

/// Upper bound on frames processed in one run (a routing loop stops here).
pub const MAX_FRAMES: usize = 20_000;

#[derive(Clone)]
pub struct Sim {
    pub topo: Topology,
    pub ns: Vec<NsState>,
    pub now: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    tasks: Vec<Option<Task>>,
    seq: u64,
    pub events: Option<Vec<Event>>,
    pub rng: ChaCha8Rng,
    pub endpoints: Vec<Endpoint>,
    pub frames: usize,
    /// Are we processing received frames or timers (softirq), as opposed to a process's
    /// system call? See [`Sim::xmit_done`].
    pub softirq: bool,
    /// A rule with a part the engine cannot evaluate was met in this run (it was treated
    /// as matching).
    pub uncertain: bool,
    /// The last packet a process handed to `ip_local_out()` was refused with this error
    /// (`NF_DROP_ERR`: a failed reroute after NAT returns EINVAL to sendmsg()).
    pub xmit_error: Option<&'static str>,
}

impl Sim {
    pub fn new(world: &World, opts: SimOptions) -> Result<Sim, String> {
        let topo = Topology::build(world)?;
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let ns = world
            .namespaces
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let r =
                    ChaCha8Rng::seed_from_u64(opts.seed.wrapping_mul(31).wrapping_add(i as u64));
                NsState::build(NsId(i as u16), n, &topo, r)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let _ = rand::Rng::gen::<u32>(&mut rng);
        Ok(Sim {
            topo,
            ns,
            now: 0,
            queue: BinaryHeap::new(),
            tasks: Vec::new(),
            seq: 0,
            events: opts.record.then(Vec::new),
            rng,
            endpoints: Vec::new(),
            frames: 0,
            softirq: false,
            xmit_error: None,
            uncertain: false,
        })
    }

    /// Does any namespace have a `statistic --mode random` rule (whose choices a run
    /// may need to replay)?
    pub fn has_random_rules(&self) -> bool {
        self.ns.iter().any(|n| {
            n.rules.tables.iter().any(|t| {
                t.chains.iter().any(|c| {
                    c.rules.iter().any(|r| {
                        r.rule.matches.iter().any(|m| {
                            matches!(
                                m,
                                pktpath_rules::Match::Statistic(pktpath_rules::StatisticMatch {
                                    mode: pktpath_rules::StatisticMode::Random { .. },
                                    ..
                                })
                            )
                        })
                    })
                })
            })
        })
    }

    /// The `statistic --mode random` draws of the last probe, per namespace.
    pub fn draws(&self) -> Vec<(NsId, Vec<bool>)> {
        self.ns
            .iter()
            .filter(|n| !n.mstate.drawn.is_empty())
            .map(|n| (n.id, n.mstate.drawn.clone()))
            .collect()
    }

    /// Make the next probe's `statistic --mode random` draws come out as given.
    pub fn force_draws(&mut self, draws: &[(NsId, Vec<bool>)]) {
        for (ns, d) in draws {
            self.ns_mut(*ns).mstate.forced = d.iter().copied().collect();
        }
    }

    pub fn ns(&self, id: NsId) -> &NsState {
        &self.ns[id.0 as usize]
    }
    pub fn ns_mut(&mut self, id: NsId) -> &mut NsState {
        &mut self.ns[id.0 as usize]
    }
    pub fn ns_by_name(&self, name: &str) -> Option<NsId> {
        self.ns.iter().find(|n| n.name == name).map(|n| n.id)
    }

    pub fn emit(&mut self, e: Event) {
        if let Some(ev) = self.events.as_mut() {
            ev.push(e);
        }
    }
    pub fn recording(&self) -> bool {
        self.events.is_some()
    }

    pub fn schedule(&mut self, delay_ms: u64, task: Task) {
        self.seq += 1;
        self.tasks.push(Some(task));
        let idx = self.tasks.len() - 1;
        self.queue
            .push(Reverse((self.now + delay_ms, self.seq, idx)));
    }

    /// A frame was queued to a device. A process sending it (not softirq) runs the
    /// softirq that processes the backlog when `dev_queue_xmit()` re-enables bottom
    /// halves, so the frame — and all it causes — is handled before the send returns
    /// (a REJECT in OUTPUT thus traces its looped-back ICMP error before its own DROP).
    pub(crate) fn xmit_done(&mut self) {
        if !self.softirq {
            self.run_until(self.now);
        }
    }

    /// Run queued work until nothing is left or `until` (ms) passes.
    pub fn run_until(&mut self, until: u64) {
        let was = self.softirq;
        self.softirq = true;
        self.run_queue(until);
        self.softirq = was;
    }

    fn run_queue(&mut self, until: u64) {
        while let Some(Reverse((t, _, idx))) = self.queue.peek().copied() {
            if t > until || self.frames > MAX_FRAMES {
                break;
            }
            self.queue.pop();
            // A woken process runs only once the softirq has drained the backlog: frames
            // queued for this instant (and all they cause) come first (net_rx_action()
            // keeps polling while the backlog refills).
            if matches!(self.tasks[idx], Some(Task::App { .. }))
                && self.queue.iter().any(|Reverse((tt, _, i))| {
                    *tt == t && matches!(self.tasks[*i], Some(Task::Rx { .. }))
                })
            {
                let task = self.tasks[idx].take().expect("peeked");
                self.seq += 1;
                self.tasks.push(Some(task));
                let idx = self.tasks.len() - 1;
                self.queue.push(Reverse((t, self.seq, idx)));
                continue;
            }
            if t != self.now {
                self.now = t;
                self.emit(Event::Time(t));
            }
            let Some(task) = self.tasks[idx].take() else {
                continue;
            };
            match task {
                Task::Rx { dev, pkt, mac } => {
                    self.frames += 1;
                    self.netif_receive(dev, *pkt, mac);
                }
                Task::Timer { ep, kind } => self.on_timer(ep, kind),
                Task::App { ep, action } => {
                    let was = self.softirq;
                    self.softirq = false;
                    self.on_app(ep, action);
                    self.softirq = was;
                }
            }
        }
    }

    /// Forget all connections and queued work (conntrack is flushed too), keeping the
    /// rulesets' match state.
    pub fn reset_traffic(&mut self, flush_conntrack: bool) {
        self.queue.clear();
        self.tasks.clear();
        self.endpoints.clear();
        self.frames = 0;
        self.uncertain = false;
        // The clock restarts at 0 for the next probe; long-lived per-host state (ICMP
        // rate limits, redirect back-off) keeps counting as if the next probe started
        // PROBE_GAP_MS after this one ended, as in the lab and the fixture captures.
        let elapsed = self.now as i64 + PROBE_GAP_MS;
        for n in &mut self.ns {
            n.mstate.drawn.clear();
            n.peers.elapse(elapsed);
        }
        if flush_conntrack {
            for n in &mut self.ns {
                n.ct.flush();
            }
        }
        if let Some(ev) = self.events.as_mut() {
            ev.clear();
        }
    }
}
