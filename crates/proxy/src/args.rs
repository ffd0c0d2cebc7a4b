//! docker-proxy's command line: its flag set, defaults and the checks it
//! makes, turned into a [`ProxySpec`].
//!
//! Flags (moby `cmd/docker-proxy/main_linux.go`, libnetwork `cmd/proxy/main.go`):
//! `-proto` (default `tcp`), `-host-ip`, `-host-port`, `-container-ip`,
//! `-container-port`, and the newer booleans `-use-listen-fd`, `-v`,
//! `-version`. Parsing follows Go's `flag` package ([`crate::goflag`]);
//! arguments after the flags are ignored, as docker-proxy ignores
//! `flag.Args()`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::goflag::{self, FlagError, Kind};

/// The transport docker-proxy forwards. (docker-proxy also knows `sctp`,
/// which pktpath does not proxy.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

impl std::fmt::Display for Proto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        })
    }
}

/// One port mapping: listen on `host`, forward to `container`.
///
/// `host` may be IPv6 while `container` is IPv4: Docker 20.10 starts one
/// docker-proxy for `0.0.0.0` and one for `::` per published port, both
/// forwarding to the container's IPv4 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxySpec {
    pub proto: Proto,
    pub host: SocketAddr,
    pub container: SocketAddr,
    /// `-use-listen-fd`: the listening socket is inherited as fd 4 instead
    /// of being opened on `host` (newer dockerd binds the port itself).
    pub use_listen_fd: bool,
}

/// What a docker-proxy command line asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invocation {
    Run(ProxySpec),
    /// `-h`, `-help`: print [`USAGE`], exit 0 (Go's `flag.ErrHelp`).
    Help,
    /// `-v`, `-version`: print the version, exit 0.
    Version,
}

/// Why a docker-proxy command line cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgError {
    /// Rejected by Go's `flag` package: docker-proxy exits 2.
    Flag(String),
    /// Parsed but unusable, such as an unsupported protocol (docker-proxy:
    /// `log.Fatalf`) or a port out of range: docker-proxy exits 1.
    Fatal(String),
}

impl ArgError {
    /// docker-proxy's exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            ArgError::Flag(_) => 2,
            ArgError::Fatal(_) => 1,
        }
    }
    pub fn message(&self) -> &str {
        match self {
            ArgError::Flag(m) | ArgError::Fatal(m) => m,
        }
    }
}

impl std::fmt::Display for ArgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// The usage text, listing the flags as Go's `flag.PrintDefaults` would.
pub const USAGE: &str = "\
Usage of pktpath proxy (docker-proxy's flags):
  -container-ip value
    \tcontainer ip (default 0.0.0.0)
  -container-port int
    \tcontainer port (default -1)
  -host-ip value
    \thost ip (default 0.0.0.0)
  -host-port int
    \thost port (default -1)
  -proto string
    \tproxy protocol (default \"tcp\")
  -use-listen-fd
    \tuse a supplied listen fd
  -v\tprint version information and quit
  -version
    \tprint version information and quit
";

const FLAGS: &[(&str, Kind)] = &[
    ("proto", Kind::Value),
    ("host-ip", Kind::Value),
    ("host-port", Kind::Value),
    ("container-ip", Kind::Value),
    ("container-port", Kind::Value),
    ("use-listen-fd", Kind::Bool),
    ("v", Kind::Bool),
    ("version", Kind::Bool),
];

/// Parses docker-proxy's arguments (without the program name).
pub fn parse_invocation(args: &[String]) -> Result<Invocation, ArgError> {
    let parsed = match goflag::parse(FLAGS, args) {
        Ok(p) => p,
        Err(FlagError::Help) => return Ok(Invocation::Help),
        Err(FlagError::Bad(m)) => return Err(ArgError::Flag(m)),
    };
    let v = &parsed.values;
    let flag_true = |name: &str| v.get(name).is_some_and(|s| s == "true");
    // docker-proxy checks -v/-version right after flag.Parse, before anything else.
    if flag_true("v") || flag_true("version") {
        return Ok(Invocation::Version);
    }
    let proto = match v.get("proto").map(String::as_str).unwrap_or("tcp") {
        "tcp" => Proto::Tcp,
        "udp" => Proto::Udp,
        other => return Err(ArgError::Fatal(format!("unsupported protocol {other}"))),
    };
    // An empty -host-ip is Go's nil IP, which is not IPv4: docker-proxy then
    // listens on "tcp6"/"udp6" with the wildcard address.
    let host_ip = ip_flag(
        v.get("host-ip"),
        "host-ip",
        IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    )
    .map_err(ArgError::Flag)?;
    let container_ip = ip_flag(
        v.get("container-ip"),
        "container-ip",
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    )
    .map_err(ArgError::Flag)?;
    let host_port = port_flag(v.get("host-port"), "host-port")?;
    let container_port = port_flag(v.get("container-port"), "container-port")?;
    Ok(Invocation::Run(ProxySpec {
        proto,
        host: SocketAddr::new(host_ip, host_port),
        container: SocketAddr::new(container_ip, container_port),
        use_listen_fd: flag_true("use-listen-fd"),
    }))
}

/// Parses docker-proxy's arguments into the mapping to run; `-h` and `-v`
/// are errors here (use [`parse_invocation`] to act on them).
pub fn parse_docker_proxy_args(args: &[String]) -> Result<ProxySpec, String> {
    match parse_invocation(args).map_err(|e| e.to_string())? {
        Invocation::Run(spec) => Ok(spec),
        Invocation::Help => Err(USAGE.to_string()),
        Invocation::Version => Err("-v/-version asks for the version, not a proxy".into()),
    }
}

/// An IP flag: absent gives `0.0.0.0` (docker-proxy's default), empty gives
/// `empty`, an IPv4-mapped IPv6 address counts as IPv4 (Go's `IP.To4`).
fn ip_flag(value: Option<&String>, name: &str, empty: IpAddr) -> Result<IpAddr, String> {
    let Some(s) = value else {
        return Ok(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    };
    if s.is_empty() {
        return Ok(empty);
    }
    s.parse::<IpAddr>()
        .map(|ip| ip.to_canonical())
        .map_err(|_| format!("invalid value {s:?} for flag -{name}: invalid IP address: {s}"))
}

/// A port flag: a Go integer (default -1) that must be a TCP/UDP port. A
/// value Go's `flag` cannot parse is a flag error; a number that is not a
/// port fails later in docker-proxy (at listen or dial), so is fatal.
fn port_flag(value: Option<&String>, name: &str) -> Result<u16, ArgError> {
    let n = match value {
        None => -1,
        Some(s) => goflag::parse_int(s)
            .map_err(|e| ArgError::Flag(format!("invalid value {s:?} for flag -{name}: {e}")))?,
    };
    u16::try_from(n).map_err(|_| {
        ArgError::Fatal(if value.is_none() {
            format!("missing flag -{name} (a port number 0..65535)")
        } else {
            format!("invalid port {n} for flag -{name}: want 0..65535")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn spec(s: &str) -> ProxySpec {
        parse_docker_proxy_args(&argv(s)).unwrap()
    }

    #[test]
    fn dockerd_20_10_command_lines() {
        // As libnetwork's portmapper builds them (proxy_linux.go newProxyCommand).
        let s = spec("-proto tcp -host-ip 0.0.0.0 -host-port 8080 -container-ip 172.17.0.2 -container-port 80");
        assert_eq!(s.proto, Proto::Tcp);
        assert_eq!(s.host, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(s.container, "172.17.0.2:80".parse().unwrap());
        assert!(!s.use_listen_fd);
        let s = spec(
            "-proto udp -host-ip :: -host-port 53 -container-ip 172.17.0.2 -container-port 53",
        );
        assert_eq!(s.proto, Proto::Udp);
        assert_eq!(s.host, "[::]:53".parse().unwrap());
        assert_eq!(s.container, "172.17.0.2:53".parse().unwrap());
    }

    #[test]
    fn newer_flags_and_go_forms() {
        let s = spec("--proto=tcp -host-ip=127.0.0.1 --host-port 0x1F90 -container-ip ::ffff:10.0.0.1 -container-port=80 -use-listen-fd");
        assert_eq!(s.host, "127.0.0.1:8080".parse().unwrap());
        // IPv4-mapped counts as IPv4, as Go's To4() does.
        assert_eq!(s.container, "10.0.0.1:80".parse().unwrap());
        assert!(s.use_listen_fd);
        assert!(!spec("-use-listen-fd=false -host-port 1 -container-port 2").use_listen_fd);
    }

    #[test]
    fn defaults() {
        let s = spec("-host-port 1 -container-port 2");
        assert_eq!(s.proto, Proto::Tcp);
        assert_eq!(s.host, "0.0.0.0:1".parse().unwrap());
        assert_eq!(s.container, "0.0.0.0:2".parse().unwrap());
    }

    #[test]
    fn exit_codes_follow_docker_proxy() {
        let code = |s: &str| parse_invocation(&argv(s)).unwrap_err().exit_code();
        assert_eq!(code("-bogus"), 2); // flag.ExitOnError
        assert_eq!(code("-host-port x"), 2);
        assert_eq!(code("-proto sctp -host-port 1 -container-port 2"), 1); // log.Fatalf
        assert_eq!(code("-host-port 1"), 1);
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse_invocation(&argv("-h")), Ok(Invocation::Help));
        assert_eq!(parse_invocation(&argv("-help")), Ok(Invocation::Help));
        assert_eq!(parse_invocation(&argv("-v")), Ok(Invocation::Version));
        assert_eq!(
            parse_invocation(&argv("-host-port 1 --version")),
            Ok(Invocation::Version)
        );
    }

    #[test]
    fn trailing_arguments_are_ignored() {
        let s = spec("-host-port 1 -container-port 2 extra -proto udp");
        assert_eq!(s.proto, Proto::Tcp);
    }

    #[test]
    fn clear_errors() {
        let err = |s: &str| parse_docker_proxy_args(&argv(s)).unwrap_err();
        assert_eq!(
            err("-proto sctp -host-port 1 -container-port 2"),
            "unsupported protocol sctp"
        );
        assert_eq!(
            err("-host-ip 1.2.3 -host-port 1 -container-port 2"),
            "invalid value \"1.2.3\" for flag -host-ip: invalid IP address: 1.2.3"
        );
        assert_eq!(
            err("-host-port http -container-port 2"),
            "invalid value \"http\" for flag -host-port: parse error"
        );
        assert_eq!(
            err("-host-port 65536 -container-port 2"),
            "invalid port 65536 for flag -host-port: want 0..65535"
        );
        assert_eq!(
            err("-host-port 1"),
            "missing flag -container-port (a port number 0..65535)"
        );
        assert_eq!(
            err("-host-port 1 -container-port 2 -bogus"),
            "flag provided but not defined: -bogus"
        );
        assert_eq!(err("-host-port"), "flag needs an argument: -host-port");
    }
}
