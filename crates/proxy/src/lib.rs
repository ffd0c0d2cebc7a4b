//! pktpath-proxy: a userland proxy that can stand in for docker-proxy.
//!
//! It takes docker-proxy's command line ([`parse_invocation`],
//! [`parse_docker_proxy_args`]), opens the frontend socket as docker-proxy
//! does ([`Proxy::bind`]) and forwards TCP (with half-close) or UDP (with
//! per-client flows that expire when idle) to the container address
//! ([`Proxy::serve`]), on tokio.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let args: Vec<String> = "-proto tcp -host-ip 127.0.0.1 -host-port 8080 \
//!     -container-ip 127.0.0.1 -container-port 80"
//!     .split_whitespace().map(String::from).collect();
//! let spec = pktpath_proxy::parse_docker_proxy_args(&args).unwrap();
//! let proxy = pktpath_proxy::Proxy::bind(&spec, pktpath_proxy::Options::default())?;
//! proxy.serve(std::future::pending()).await
//! # }
//! ```

pub mod args;
pub mod goflag;
pub mod listen;
pub mod parent;
pub mod process;
pub mod relay;
pub mod stats;
pub mod tcp;
pub mod udp;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use args::{
    parse_docker_proxy_args, parse_invocation, ArgError, Invocation, Proto, ProxySpec, USAGE,
};
pub use listen::Frontend;
pub use parent::{raise_nofile_limit, StatusPipe};
pub use process::run_process;
pub use stats::Stats;
pub use udp::{DEFAULT_CONNTRACK_TIMEOUT, UDP_BUF_SIZE};

/// Knobs docker-proxy hard-codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// How long a UDP flow lives without a reply from the backend
    /// (docker-proxy: `UDPConnTrackTimeout`, 90 s).
    pub udp_conntrack_timeout: Duration,
    /// Send UDP replies from the destination address of the flow's first
    /// datagram (`IP_PKTINFO`), as docker-proxy does since moby 23. Off by
    /// default: Docker 20.10's docker-proxy lets routing pick the source.
    pub udp_pin_reply_source: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            udp_conntrack_timeout: DEFAULT_CONNTRACK_TIMEOUT,
            udp_pin_reply_source: false,
        }
    }
}

/// A proxy whose frontend socket is open (listening, for TCP), not yet
/// serving.
#[derive(Debug)]
pub struct Proxy {
    frontend: Frontend,
    container: SocketAddr,
    options: Options,
    stats: Arc<Stats>,
}

impl Proxy {
    /// Opens the frontend socket for `spec` (or adopts fd 4 with
    /// `-use-listen-fd`). Needs no tokio runtime, so the CLI can report
    /// failure to its parent before starting one.
    pub fn bind(spec: &ProxySpec, options: Options) -> io::Result<Proxy> {
        Ok(Proxy {
            frontend: listen::open(spec)?,
            container: spec.container,
            options,
            stats: Arc::new(Stats::default()),
        })
    }

    /// The address the proxy listens on (useful with `-host-port 0`).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.frontend.local_addr()
    }

    /// Live counters, readable while [`Proxy::serve`] runs.
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// Forwards until `shutdown` completes (then closes the frontend and
    /// every connection or flow, as docker-proxy does on SIGTERM) or the
    /// frontend fails. Must run inside a tokio runtime with I/O and time.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        match self.frontend {
            Frontend::Tcp(l) => {
                let l = tokio::net::TcpListener::from_std(l)?;
                tcp::serve(l, self.container, self.stats, shutdown).await
            }
            Frontend::Udp(s) => {
                let s = tokio::net::UdpSocket::from_std(s)?;
                let o = self.options;
                let (timeout, pin) = (o.udp_conntrack_timeout, o.udp_pin_reply_source);
                udp::serve(s, self.container, self.stats, timeout, pin, shutdown).await
            }
        }
    }
}

/// [`Proxy::bind`] then [`Proxy::serve`].
pub async fn run(
    spec: &ProxySpec,
    options: Options,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    Proxy::bind(spec, options)?.serve(shutdown).await
}
