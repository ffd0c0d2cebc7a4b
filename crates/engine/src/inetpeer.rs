//! Long-lived per-peer state of a namespace (`struct inet_peer`, net/ipv4/inetpeer.c):
//! the token bucket that rate-limits ICMP errors to one host (`inet_peer_xrlim_allow`)
//! and the back-off of ICMP redirects (`ip_rt_send_redirect`). Both share the peer's
//! `rate_last` and `rate_tokens`, which is why a redirect silences the ICMP error that
//! follows it (a REJECT behind a redirecting router is never heard by the client).
//!
//! Time is the simulator's clock in milliseconds, taken as jiffies with HZ = 1000.

use std::collections::HashMap;
use std::net::Ipv4Addr;

/// `net.ipv4.icmp_ratelimit` (default 1000 ms).
pub const ICMP_RATELIMIT_MS: i64 = 1000;
/// `XRLIM_BURST_FACTOR`: a quiet peer may receive this many errors at once.
const XRLIM_BURST_FACTOR: i64 = 6;
/// `ip_rt_redirect_load` = HZ / 50.
const REDIRECT_LOAD_MS: i64 = 20;
/// `ip_rt_redirect_number`: after this many unanswered redirects, stop sending.
const REDIRECT_NUMBER: u32 = 9;
/// `ip_rt_redirect_silence` = (HZ / 50) << (ip_rt_redirect_number + 1).
const REDIRECT_SILENCE_MS: i64 = REDIRECT_LOAD_MS << (REDIRECT_NUMBER + 1);

/// `net.ipv4.icmp_ratemask` (default 0x1818): the ICMP types that are rate-limited
/// (destination unreachable, source quench, time exceeded, parameter problem).
pub fn icmp_type_ratelimited(ty: u8) -> bool {
    ty < 32 && (0x1818u32 >> ty) & 1 == 1
}

#[derive(Debug, Clone, Copy)]
pub struct InetPeer {
    rate_tokens: i64,
    rate_last: i64,
    n_redirects: u32,
}

impl InetPeer {
    /// `inet_getpeer()` creates a peer with `rate_last = jiffies - 60 * HZ` so that the
    /// first token computation is at its maximum.
    fn new(now: i64) -> Self {
        InetPeer {
            rate_tokens: 0,
            rate_last: now - 60_000,
            n_redirects: 0,
        }
    }

    /// `inet_peer_xrlim_allow()`: a token bucket refilled by elapsed time, capped at
    /// `XRLIM_BURST_FACTOR * timeout`; each allowed message costs `timeout`.
    pub fn xrlim_allow(&mut self, now: i64, timeout: i64) -> bool {
        let mut token = self.rate_tokens + (now - self.rate_last);
        self.rate_last = now;
        token = token.min(XRLIM_BURST_FACTOR * timeout);
        let allow = token >= timeout;
        if allow {
            token -= timeout;
        }
        self.rate_tokens = token;
        allow
    }

    /// `ip_rt_send_redirect()`'s back-off: true when a redirect is to be sent now.
    pub fn redirect_allow(&mut self, now: i64) -> bool {
        // "No redirected packets during ip_rt_redirect_silence; reset the algorithm."
        if now > self.rate_last + REDIRECT_SILENCE_MS {
            self.rate_tokens = 0;
            self.n_redirects = 0;
        }
        // "Too many ignored redirects; do not send anything."
        if self.n_redirects >= REDIRECT_NUMBER {
            self.rate_last = now;
            return false;
        }
        if self.n_redirects == 0 || now > self.rate_last + (REDIRECT_LOAD_MS << self.n_redirects) {
            self.rate_last = now;
            self.n_redirects += 1;
            return true;
        }
        false
    }
}

/// The namespace's peers (`net->ipv4.peers`), created on first use.
#[derive(Debug, Clone, Default)]
pub struct InetPeers {
    peers: HashMap<Ipv4Addr, InetPeer>,
}

impl InetPeers {
    /// The clock is about to restart at 0 after `ms` more milliseconds: shift every
    /// peer's last timestamp back so elapsed times stay right.
    pub fn elapse(&mut self, ms: i64) {
        for p in self.peers.values_mut() {
            p.rate_last -= ms;
        }
    }

    pub fn get(&mut self, addr: Ipv4Addr, now: i64) -> &mut InetPeer {
        self.peers.entry(addr).or_insert_with(|| InetPeer::new(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_peer_gets_a_burst_of_six_then_one_per_second() {
        let mut p = InetPeer::new(0);
        let allowed = (0..10).filter(|_| p.xrlim_allow(0, 1000)).count();
        assert_eq!(allowed, 6);
        assert!(!p.xrlim_allow(999, 1000));
        assert!(p.xrlim_allow(2000, 1000));
    }

    #[test]
    fn a_redirect_silences_the_next_error() {
        let mut p = InetPeer::new(0);
        assert!(p.redirect_allow(0));
        assert!(!p.xrlim_allow(0, 1000));
        // The next redirect waits 40 ms (load << 1), the one after 80 ms.
        assert!(!p.redirect_allow(30));
        assert!(p.redirect_allow(1000));
        assert!(!p.xrlim_allow(1000, 1000));
    }

    #[test]
    fn ratemask_covers_unreachable_and_time_exceeded_not_redirect() {
        assert!(icmp_type_ratelimited(3));
        assert!(icmp_type_ratelimited(11));
        assert!(!icmp_type_ratelimited(5));
        assert!(!icmp_type_ratelimited(0));
    }
}
