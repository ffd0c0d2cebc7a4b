//! Counters a running proxy keeps, for tests and for the benchmark.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::relay::Moved;

/// Live counters of one proxy. Cheap to read at any time.
#[derive(Debug, Default)]
pub struct Stats {
    tcp_open: AtomicUsize,
    tcp_accepted: AtomicU64,
    tcp_client_to_backend: AtomicU64,
    tcp_backend_to_client: AtomicU64,
    udp_flows: AtomicUsize,
    udp_flows_created: AtomicU64,
}

impl Stats {
    /// TCP client connections currently held (accepted, not yet closed).
    pub fn tcp_open(&self) -> usize {
        self.tcp_open.load(Ordering::SeqCst)
    }
    /// TCP client connections accepted so far.
    pub fn tcp_accepted(&self) -> u64 {
        self.tcp_accepted.load(Ordering::SeqCst)
    }
    /// Bytes relayed on finished TCP connections: (client→backend, backend→client).
    pub fn tcp_bytes_relayed(&self) -> (u64, u64) {
        (
            self.tcp_client_to_backend.load(Ordering::SeqCst),
            self.tcp_backend_to_client.load(Ordering::SeqCst),
        )
    }
    /// UDP flows (per-client backend sockets) currently in the table.
    pub fn udp_flows(&self) -> usize {
        self.udp_flows.load(Ordering::SeqCst)
    }
    /// UDP flows created so far.
    pub fn udp_flows_created(&self) -> u64 {
        self.udp_flows_created.load(Ordering::SeqCst)
    }

    pub(crate) fn tcp_opened(&self) -> Held<'_> {
        self.tcp_accepted.fetch_add(1, Ordering::SeqCst);
        self.tcp_open.fetch_add(1, Ordering::SeqCst);
        Held(&self.tcp_open)
    }
    pub(crate) fn tcp_bytes(&self, m: Moved) {
        self.tcp_client_to_backend
            .fetch_add(m.client_to_backend, Ordering::SeqCst);
        self.tcp_backend_to_client
            .fetch_add(m.backend_to_client, Ordering::SeqCst);
    }
    pub(crate) fn udp_flow_added(&self) {
        self.udp_flows_created.fetch_add(1, Ordering::SeqCst);
        self.udp_flows.fetch_add(1, Ordering::SeqCst);
    }
    pub(crate) fn udp_flow_removed(&self) {
        self.udp_flows.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Decrements a gauge when dropped (connection closed, task aborted).
pub(crate) struct Held<'a>(&'a AtomicUsize);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
