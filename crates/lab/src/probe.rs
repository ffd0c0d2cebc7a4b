//! One real probe in a lab, exactly as `tools/capture/probe.py` runs it:
//!
//! 1. the capture's TRACE rules ([`pktpath_engine::trace_rules`]), each inserted at
//!    position 1 of the raw table of the trace namespace;
//! 2. `conntrack -F` there, unless `keep_conntrack`;
//! 3. `xtables-monitor --trace -4` there, 0.7 s before the client starts;
//! 4. the client in the `from` namespace: curl (tcp), the UDP client (udp), ping (icmp),
//!    with a 3 s limit;
//! 5. `conntrack -L` in the trace namespace 1 s after the client returned;
//! 6. the monitor stopped, the TRACE rules deleted (and checked gone).

use crate::classify::{classify, Classified, ClientLog};
use crate::error::{LabError, Result};
use crate::lab::Lab;
use crate::state::ProcRecord;
use crate::sys::{self, in_ns, run, run_ok, run_with};
use pktpath_world::L4Proto;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The client's limit, in seconds (`curl -m 3`, `ping -W 3`, the UDP client's timeout).
pub const CLIENT_TIMEOUT: &str = "3";

/// What to probe (world namespace names, without the prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    pub from: String,
    pub proto: L4Proto,
    pub dst: Ipv4Addr,
    /// Destination port; `None` for icmp.
    pub dport: Option<u16>,
    /// The client's local port; `None`: the lab's next one (41000, 41001, ...).
    pub sport: Option<u16>,
    pub trace_ns: String,
    pub keep_conntrack: bool,
}

/// What the kernel did.
#[derive(Debug, Clone)]
pub struct KernelProbe {
    /// The local port used (`None` for icmp).
    pub sport: Option<u16>,
    pub outcome: Classified,
    pub client: ClientLog,
    /// `xtables-monitor --trace -4` output in the trace namespace.
    pub trace: String,
    /// `conntrack -L` in the trace namespace (stdout and stderr, as the capture saves it).
    pub conntrack: String,
    pub client_duration: Duration,
}

/// The TRACE rules as `iptables` arguments: (insert, delete).
fn trace_rule_args(proto: L4Proto, sport: u16) -> Vec<(Vec<String>, Vec<String>)> {
    pktpath_engine::trace_rules(proto, sport)
        .into_iter()
        .map(|(chain, text)| {
            // "-A CHAIN match... -j TRACE" -> "-I CHAIN 1 match..." / "-D CHAIN match..."
            let rest: Vec<String> = text
                .split_whitespace()
                .skip(2)
                .map(str::to_string)
                .collect();
            let base = ["iptables", "-t", "raw"].map(String::from);
            let mut ins: Vec<String> = base.to_vec();
            ins.extend(["-I".into(), chain.to_string(), "1".into()]);
            ins.extend(rest.iter().cloned());
            let mut del: Vec<String> = base.to_vec();
            del.extend(["-D".into(), chain.to_string()]);
            del.extend(rest);
            (ins, del)
        })
        .collect()
}

impl Lab<'_> {
    /// The client's command line (run inside `from`).
    pub fn client_argv(
        &self,
        proto: L4Proto,
        dst: Ipv4Addr,
        dport: u16,
        sport: u16,
    ) -> Vec<String> {
        let s = |x: &str| x.to_string();
        match proto {
            L4Proto::Tcp => vec![
                s("curl"),
                s("-sS"),
                s("-v"),
                s("-o"),
                s("/dev/null"),
                s("-m"),
                s(CLIENT_TIMEOUT),
                s("-w"),
                s("%{http_code}"),
                s("--local-port"),
                sport.to_string(),
                format!("http://{dst}:{dport}/"),
            ],
            L4Proto::Udp => vec![
                self.opts.exe.display().to_string(),
                s("lab"),
                s("udp-client"),
                s("--sport"),
                sport.to_string(),
                s("--timeout"),
                s(CLIENT_TIMEOUT),
                dst.to_string(),
                dport.to_string(),
            ],
            L4Proto::Icmp => vec![
                s("ping"),
                s("-n"),
                s("-c"),
                s("1"),
                s("-W"),
                s(CLIENT_TIMEOUT),
                dst.to_string(),
            ],
        }
    }

    fn check_request(&self, req: &ProbeRequest) -> Result<()> {
        for n in [&req.from, &req.trace_ns] {
            if self.snap.world.namespace(n).is_none() {
                let names: Vec<&str> = self
                    .snap
                    .world
                    .namespaces
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect();
                return Err(LabError::World(format!(
                    "no namespace `{n}` in this world (it has {})",
                    names.join(", ")
                )));
            }
        }
        match (req.proto, req.dport, req.sport) {
            (L4Proto::Icmp, None, None) => Ok(()),
            (L4Proto::Icmp, _, _) => Err(LabError::World(
                "an icmp probe has no ports: --dst IP, no --sport".into(),
            )),
            (_, Some(_), _) => Ok(()),
            (p, None, _) => Err(LabError::World(format!(
                "a {} probe needs a destination port: --dst IP:PORT",
                p.as_str()
            ))),
        }
    }

    /// The next free local port of this lab (41000, 41001, ... as probe.py counts).
    fn next_port(&mut self) -> Result<u16> {
        let p = self.state.next_port;
        self.state.next_port = p.checked_add(1).unwrap_or(crate::state::FIRST_PORT);
        self.save()?;
        Ok(p)
    }

    /// Run one probe. The TRACE rules are removed and the monitor stopped whatever happens.
    pub fn probe(&mut self, req: &ProbeRequest) -> Result<KernelProbe> {
        self.check_request(req)?;
        let sport = match req.proto {
            L4Proto::Icmp => None,
            _ => Some(match req.sport {
                Some(p) => p,
                None => self.next_port()?,
            }),
        };
        let tns = self.ns(&req.trace_ns);
        let rules = trace_rule_args(req.proto, sport.unwrap_or(0));
        let mut inserted = Vec::new();
        let result = (|| {
            for (ins, del) in &rules {
                run_ok(&in_ns(
                    &tns,
                    &ins.iter().map(String::as_str).collect::<Vec<_>>(),
                ))?;
                inserted.push(del.clone());
            }
            if !req.keep_conntrack {
                // probe.py ignores a failure here too (no conntrack table yet).
                let _ = run(&in_ns(&tns, &["conntrack", "-F"]));
            }
            self.monitored(req, sport, &tns)
        })();
        let mut problems = Vec::new();
        for del in inserted {
            if let Err(e) = run_ok(&in_ns(
                &tns,
                &del.iter().map(String::as_str).collect::<Vec<_>>(),
            )) {
                problems.push(e.to_string());
            }
        }
        match run_ok(&in_ns(&tns, &["iptables-save", "-t", "raw"])) {
            Ok(o) if o.stdout.contains("-j TRACE") => {
                problems.push(format!("TRACE rule left behind in {tns}"))
            }
            Ok(_) => {}
            Err(e) => problems.push(e.to_string()),
        }
        match (result, problems.is_empty()) {
            (Ok(p), true) => Ok(p),
            (Err(e), _) => Err(e),
            (Ok(_), false) => Err(LabError::Other(problems.join("; "))),
        }
    }

    /// Steps 3-5 with the monitor running; the monitor is stopped on every path.
    fn monitored(
        &mut self,
        req: &ProbeRequest,
        sport: Option<u16>,
        tns: &str,
    ) -> Result<KernelProbe> {
        let tfile = self.dir.dir.join("trace.txt");
        let f = std::fs::File::create(&tfile).map_err(|e| LabError::io(&tfile, e))?;
        let f2 = f.try_clone().map_err(|e| LabError::io(&tfile, e))?;
        let mon_argv = in_ns(tns, &["xtables-monitor", "--trace", "-4"]);
        let mut mon = Command::new(&mon_argv[0])
            .args(&mon_argv[1..])
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(f2)
            .spawn()
            .map_err(|e| LabError::Command {
                cmd: sys::shell_words(&mon_argv),
                status: "could not start".into(),
                stderr: e.to_string(),
            })?;
        // Recorded, so that `lab down` stops it should this process die.
        let rec = ProcRecord {
            pid: mon.id(),
            starttime: sys::proc_starttime(mon.id()).unwrap_or(0),
            ns: tns.to_string(),
            what: "xtables-monitor".into(),
            argv: mon_argv.clone(),
            log: Some(tfile.clone()),
        };
        self.state.processes.push(rec.clone());
        let saved = self.save();
        let r = saved.and_then(|()| self.client(req, sport, tns));
        // SIGTERM: xtables-monitor flushes what it printed (probe.py stops it the same way).
        // SAFETY: kill(2) on our own child, not yet reaped, so its PID is still its own.
        unsafe { libc::kill(mon.id() as libc::pid_t, libc::SIGTERM) };
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end && matches!(mon.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Ok(None) = mon.try_wait() {
            let _ = mon.kill();
        }
        let _ = mon.wait();
        self.state.processes.retain(|p| *p != rec);
        self.save()?;
        let mut probe = r?;
        probe.trace = std::fs::read_to_string(&tfile).map_err(|e| LabError::io(&tfile, e))?;
        let _ = std::fs::remove_file(&tfile);
        Ok(probe)
    }

    fn client(&mut self, req: &ProbeRequest, sport: Option<u16>, tns: &str) -> Result<KernelProbe> {
        sys::sleep(self.opts.timing.monitor_start)?;
        let client = self.client_argv(
            req.proto,
            req.dst,
            req.dport.unwrap_or(0),
            sport.unwrap_or(0),
        );
        let a = in_ns(
            &self.ns(&req.from),
            &client.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        let t0 = Instant::now();
        let out = run_with(&a, None, Duration::from_secs(30))?;
        let client_duration = t0.elapsed();
        sys::sleep(self.opts.timing.settle)?;
        let ct = run(&in_ns(tns, &["conntrack", "-L"]))?;
        let outcome = classify(req.proto, out.code(), &out.stdout, &out.stderr);
        Ok(KernelProbe {
            sport,
            outcome,
            client: ClientLog {
                command: sys::shell_words(&a),
                code: out.code(),
                stdout: out.stdout,
                stderr: out.stderr,
            },
            trace: String::new(),
            conntrack: format!("{}{}", ct.stdout, ct.stderr),
            client_duration,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_rules_as_probe_py_inserts_and_deletes_them() {
        let r = trace_rule_args(L4Proto::Tcp, 41000);
        assert_eq!(r.len(), 6);
        assert_eq!(
            r[0].0.join(" "),
            "iptables -t raw -I PREROUTING 1 -p tcp -m tcp --sport 41000 -j TRACE"
        );
        assert_eq!(
            r[0].1.join(" "),
            "iptables -t raw -D PREROUTING -p tcp -m tcp --sport 41000 -j TRACE"
        );
        assert_eq!(
            r[5].0.join(" "),
            "iptables -t raw -I OUTPUT 1 -p icmp -j TRACE"
        );
        assert_eq!(trace_rule_args(L4Proto::Icmp, 0).len(), 2);
    }
}
