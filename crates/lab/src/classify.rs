//! What the client saw, as a probe outcome: the rules of `tools/capture/probe.py`, applied
//! to curl's exit code and messages, the UDP client's `result:` line, and ping's output.

use pktpath_world::{L4Proto, Outcome};

/// A client run's outcome: one of the five, or `other: ...` (something the capture
/// conventions do not name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub outcome: Option<Outcome>,
    /// `outcome.as_str()`, or `other: <messages>`.
    pub text: String,
    /// The client's lines that tell why (curl's errors, ping's `From ...` lines...).
    pub messages: Vec<String>,
}

impl Classified {
    fn known(o: Outcome, messages: Vec<String>) -> Classified {
        Classified {
            outcome: Some(o),
            text: o.as_str().into(),
            messages,
        }
    }
    fn other(messages: Vec<String>) -> Classified {
        Classified {
            outcome: None,
            text: format!("other: {}", messages.join(" | ")),
            messages,
        }
    }
}

/// Classify a client run of `proto` from its exit code and output.
pub fn classify(proto: L4Proto, code: Option<i32>, stdout: &str, stderr: &str) -> Classified {
    match proto {
        L4Proto::Tcp => classify_tcp(code, stdout, stderr),
        L4Proto::Udp => classify_udp(stdout),
        L4Proto::Icmp => classify_icmp(code, stdout, stderr),
    }
}

/// curl: `connected` (exit 0 with an HTTP code), `refused` (exit 7, Connection refused),
/// `no_route` (exit 7, No route to host / Host is unreachable / Network is unreachable /
/// Protocol not available),
/// `timeout` (exit 28), `reset_after_connect` (exit 52 or 56, or exit 7 with "Connection
/// reset by peer").
pub fn classify_tcp(code: Option<i32>, stdout: &str, stderr: &str) -> Classified {
    let connect_fail: Vec<&str> = stderr
        .lines()
        // curl 7.88 reports a connect() that fails at once (ENETUNREACH) as
        // `* Immediate connect fail for IP: Network is unreachable`.
        .filter(|l| {
            (l.contains("connect to") && l.contains("failed:"))
                || l.contains("Immediate connect fail")
        })
        .collect();
    let curl_err = stderr.lines().filter(|l| l.starts_with("curl: ("));
    let msgs: Vec<String> = connect_fail
        .iter()
        .copied()
        .chain(curl_err)
        .map(str::to_string)
        .collect();
    let http = stdout.trim();
    let any = |pats: &[&str]| {
        connect_fail
            .iter()
            .any(|l| pats.iter().any(|p| l.contains(p)))
    };
    match code {
        Some(0) if !http.is_empty() && http != "000" => Classified::known(Outcome::Connected, msgs),
        Some(7) if any(&["Connection refused"]) => Classified::known(Outcome::Refused, msgs),
        // The handshake completed, then a RST arrived before curl's connect check read
        // SO_ERROR (ECONNRESET): a reset after connect, which curl words as a failed
        // connect (fuzz seed 2, case 47).
        Some(7) if any(&["Connection reset by peer"]) => {
            Classified::known(Outcome::ResetAfterConnect, msgs)
        }
        Some(7)
            if any(&[
                "No route to host",
                "Host is unreachable",
                "Network is unreachable",
                // ENOPROTOOPT: ICMP protocol unreachable (icmp-proto-unreachable).
                "Protocol not available",
            ]) =>
        {
            Classified::known(Outcome::NoRoute, msgs)
        }
        Some(28) => Classified::known(Outcome::Timeout, msgs),
        Some(52) | Some(56) => Classified::known(Outcome::ResetAfterConnect, msgs),
        _ => Classified::other(msgs),
    }
}

/// The UDP client's last `result: <outcome>` line.
pub fn classify_udp(stdout: &str) -> Classified {
    let msgs: Vec<String> = stdout
        .lines()
        .filter(|l| l.contains("failed") || l.contains("error queue"))
        .map(str::to_string)
        .collect();
    let result = stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("result: "))
        .map(str::trim);
    // A log written before an errno got its outcome says `other:ERRNO`.
    let result = result.map(|r| {
        r.strip_prefix("other:")
            .and_then(crate::udp_client::outcome_of_errno)
            .unwrap_or(r)
    });
    match result.and_then(Outcome::parse) {
        Some(o) => Classified::known(o, msgs),
        None => Classified {
            outcome: None,
            text: match result {
                Some(r) => format!("other: {r}"),
                None => "other: no result line".into(),
            },
            messages: msgs,
        },
    }
}

/// ping's words for the ICMP errors that mean "no route".
const NO_ROUTE_PING: &[&str] = &[
    "Destination Host Unreachable",
    "Destination Net Unreachable",
    "Destination Host Prohibited",
    "Destination Net Prohibited",
    "Packet filtered",
    "Network is unreachable",
    "No route to host",
    "Destination Protocol Unreachable",
];

/// ping: `connected` (an echo reply), `no_route` (host/net unreachable or prohibited,
/// packet filtered), `refused` (port unreachable), `timeout` (exit 1, nothing).
pub fn classify_icmp(code: Option<i32>, stdout: &str, stderr: &str) -> Classified {
    let text = format!("{stdout}{stderr}");
    let msgs: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("From ") || l.contains("ping:"))
        .map(str::to_string)
        .collect();
    let replied = text
        .lines()
        .any(|l| l.contains("bytes from ") && l.contains("icmp_seq="));
    if code == Some(0) && replied {
        Classified::known(Outcome::Connected, msgs)
    } else if NO_ROUTE_PING.iter().any(|s| text.contains(s)) {
        Classified::known(Outcome::NoRoute, msgs)
    } else if text.contains("Destination Port Unreachable") {
        Classified::known(Outcome::Refused, msgs)
    } else if code == Some(1) {
        Classified::known(Outcome::Timeout, msgs)
    } else {
        Classified::other(msgs)
    }
}

/// A client log as the capture writes it (`curl.txt`, `client.txt`): `$ command`,
/// `--- exit code: N`, `--- stdout:` ..., `--- stderr:` ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientLog {
    pub command: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl ClientLog {
    pub fn parse(text: &str) -> Option<ClientLog> {
        let command = text.lines().next()?.strip_prefix("$ ")?.to_string();
        let code_at = text.find("--- exit code: ")?;
        let rest = &text[code_at + "--- exit code: ".len()..];
        let code = rest.lines().next()?.trim().parse().ok();
        let out_at = rest.find("--- stdout:\n")? + "--- stdout:\n".len();
        let err_at = rest.find("--- stderr:")?;
        let stdout = rest.get(out_at..err_at)?.to_string();
        let stderr = rest[err_at + "--- stderr:".len()..]
            .strip_prefix('\n')
            .unwrap_or("")
            .to_string();
        Some(ClientLog {
            command,
            code,
            stdout,
            stderr,
        })
    }

    pub fn render(&self) -> String {
        format!(
            "$ {}\n--- exit code: {}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.command,
            self.code.map_or("none".into(), |c| c.to_string()),
            self.stdout.trim_end_matches('\n'),
            self.stderr
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immediate_connect_fail_is_no_route() {
        let c = classify_tcp(
            Some(7),
            "000",
            "* Immediate connect fail for 172.17.0.1: Network is unreachable\ncurl: (7) Failed to connect to 172.17.0.1 port 8081 after 0 ms: Couldn't connect to server\n",
        );
        assert_eq!(c.outcome, Some(Outcome::NoRoute));
    }

    #[test]
    fn client_log_round_trip() {
        let text = "$ ip netns exec rext curl -m 3 http://10.130.0.1:8001/\n--- exit code: 7\n--- stdout:\n000\n--- stderr:\n* connect to 10.130.0.1 port 8001 failed: Connection refused\ncurl: (7) Failed\n";
        let log = ClientLog::parse(text).unwrap();
        assert_eq!(log.code, Some(7));
        assert_eq!(log.stdout, "000\n");
        let c = classify_tcp(log.code, &log.stdout, &log.stderr);
        assert_eq!(c.outcome, Some(Outcome::Refused));
        assert_eq!(c.messages.len(), 2);
        assert_eq!(ClientLog::parse(&log.render()).unwrap(), log);
    }

    /// curl 7.88.1's words on the kernel, recorded by `lab fuzz --seed 2` (case 47).
    #[test]
    fn reset_before_the_connect_check_is_reset_after_connect() {
        let c = classify_tcp(
            Some(7),
            "000",
            "* connect to 10.120.0.1 port 11211 failed: Connection reset by peer\ncurl: (7) Failed to connect to 10.120.0.1 port 11211 after 7 ms: Couldn't connect to server\n",
        );
        assert_eq!(c.outcome, Some(Outcome::ResetAfterConnect));
    }

    #[test]
    fn unknown_curl_exit_is_other() {
        let c = classify_tcp(Some(6), "", "curl: (6) Could not resolve host\n");
        assert_eq!(c.outcome, None);
        assert_eq!(c.text, "other: curl: (6) Could not resolve host");
    }
}
