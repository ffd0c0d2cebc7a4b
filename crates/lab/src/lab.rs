//! A world built in real network namespaces: [`Lab::up`] creates it, [`Lab::down`] (or
//! dropping the [`Lab`], or [`down`] from another process) removes exactly what was
//! created, as recorded in the state folder.
//!
//! Build order: namespaces; veth pairs from `[[link]]` (created with the peer directly in
//! its namespace, so interface names are reused as they are); bridges and other virtual
//! devices; MAC addresses and MTUs; bridge ports and hairpin; addresses; sysctls; links up;
//! routes and policy rules (only the difference with what the kernel derived); iptables
//! rules (`iptables-restore`); stand-ins for the listening processes, waited for until
//! their sockets are bound.

use crate::error::{LabError, Result};
use crate::netns;
use crate::routing;
use crate::snapshot::Snapshot;
use crate::standins::{self, StandIn};
use crate::state::{self, ProcRecord, State, StateDir};
use crate::sys::{self, argv, in_ns, run_ok, run_with};
use crate::{iptables, sysctl};
use pktpath_world::IfaceKind;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The default namespace prefix.
pub const DEFAULT_PREFIX: &str = "pp-";

/// Waits the lab makes.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// From starting `xtables-monitor --trace` to starting the client (probe.py: 0.7 s).
    pub monitor_start: Duration,
    /// From the client's end to `conntrack -L` (probe.py: 1 s).
    pub settle: Duration,
    /// How long a stand-in may take to bind its sockets.
    pub ready: Duration,
    /// After the world is up, before it is used: the kernel's own first packets (IGMP
    /// reports of a new bridge address, sent up to 1 s apart) are over (the capture's
    /// run.sh waits 2 s after setup too).
    pub quiet: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            monitor_start: Duration::from_millis(700),
            settle: Duration::from_secs(1),
            ready: Duration::from_secs(10),
            quiet: Duration::from_secs(2),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LabOptions {
    /// Namespace names are `prefix + name`; the state folder is `state_root/prefix`.
    pub prefix: String,
    /// The pktpath binary (its `serve`, `proxy` and `lab udp-client` run in the lab).
    pub exe: PathBuf,
    /// Remove a lab left with the same prefix (state and namespaces) first.
    pub force_clean: bool,
    pub state_root: PathBuf,
    /// Print each command to stderr.
    pub verbose: bool,
    pub timing: Timing,
}

impl LabOptions {
    pub fn new(prefix: impl Into<String>, exe: impl Into<PathBuf>) -> LabOptions {
        LabOptions {
            prefix: prefix.into(),
            exe: exe.into(),
            force_clean: false,
            state_root: PathBuf::from(state::DEFAULT_STATE_ROOT),
            verbose: false,
            timing: Timing::default(),
        }
    }
}

/// A world that is up.
pub struct Lab<'s> {
    pub snap: &'s Snapshot,
    pub opts: LabOptions,
    pub(crate) dir: StateDir,
    pub(crate) state: State,
    /// Stand-ins this process started (reaped when stopped).
    children: Vec<Child>,
    /// What the lab noticed while building: the kernel's state differs from the snapshot's
    /// somewhere, a sysctl was skipped, br_netfilter was loaded...
    pub warnings: Vec<String>,
    /// Tear down on drop.
    armed: bool,
}

impl<'s> Lab<'s> {
    /// Build `snap`'s world. On any error (and on Ctrl-C) everything created so far is
    /// removed before the error is returned.
    pub fn up(snap: &'s Snapshot, opts: LabOptions) -> Result<Lab<'s>> {
        sys::require_root("lab up")?;
        sys::require_tools(sys::LAB_TOOLS)?;
        state::check_prefix(&opts.prefix)?;
        let names: Vec<String> = snap
            .world
            .namespaces
            .iter()
            .map(|n| format!("{}{}", opts.prefix, n.name))
            .collect();
        if opts.force_clean {
            clean(&opts, &names)?;
        }
        let dir = StateDir::create(&opts.state_root, &opts.prefix)?;
        if let Some(n) = names.iter().find(|n| netns::exists(n)) {
            let _ = dir.remove();
            return Err(LabError::NamespaceExists(n.clone()));
        }
        let state = State::new(&opts.prefix, &snap.world.root.display().to_string());
        dir.save(&state)?;
        let mut lab = Lab {
            snap,
            opts,
            dir,
            state,
            children: Vec::new(),
            warnings: Vec::new(),
            armed: true,
        };
        match lab.build() {
            Ok(()) => Ok(lab),
            Err(e) => {
                let problems = lab.teardown();
                lab.armed = false;
                if problems.is_empty() {
                    Err(e)
                } else {
                    Err(LabError::Other(format!(
                        "{e}\nwhile removing the lab: {}",
                        problems.join("; ")
                    )))
                }
            }
        }
    }

    /// The lab that is up with `opts.prefix` (for `lab probe`); dropping it leaves it up.
    pub fn attach(snap: &'s Snapshot, opts: LabOptions) -> Result<Lab<'s>> {
        sys::require_root("lab probe")?;
        sys::require_tools(sys::LAB_TOOLS)?;
        state::check_prefix(&opts.prefix)?;
        let dir = StateDir::open(&opts.state_root, &opts.prefix)?;
        let state = dir.load()?;
        if !state.complete {
            return Err(LabError::Other(format!(
                "the lab with prefix `{}` is not fully up (state in {}): `pktpath lab down` it and bring it up again",
                opts.prefix,
                dir.dir.display()
            )));
        }
        Ok(Lab {
            snap,
            opts,
            dir,
            state,
            children: Vec::new(),
            warnings: Vec::new(),
            armed: false,
        })
    }

    /// The real name of world namespace `name`.
    pub fn ns(&self, name: &str) -> String {
        format!("{}{}", self.opts.prefix, name)
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn state_dir(&self) -> &Path {
        &self.dir.dir
    }

    /// Leave the world up (for `lab up`): the stand-ins keep running, `lab down` removes it.
    pub fn leave_up(mut self) {
        self.armed = false;
        self.children.clear();
    }

    /// Remove everything this lab created.
    pub fn down(mut self) -> Result<()> {
        self.armed = false;
        let problems = self.teardown();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(LabError::Other(problems.join("\n")))
        }
    }

    pub(crate) fn save(&self) -> Result<()> {
        self.dir.save(&self.state)
    }

    fn log(&self, a: &[String]) {
        if self.opts.verbose {
            eprintln!("+ {}", sys::shell_words(a));
        }
    }

    /// `ip -n NS args...`
    fn ip(&self, ns: &str, args: &[&str]) -> Result<sys::Output> {
        let mut a = argv(&["ip", "-n", ns]);
        a.extend(args.iter().map(|s| s.to_string()));
        self.log(&a);
        run_ok(&a)
    }

    fn build(&mut self) -> Result<()> {
        let world = &self.snap.world;
        for n in &world.namespaces {
            let full = self.ns(&n.name);
            let a = argv(&["ip", "netns", "add", &full]);
            self.log(&a);
            run_ok(&a)?;
            self.state.namespaces.push(full);
            self.save()?;
        }
        self.links()?;
        self.devices()?;
        self.addresses()?;
        self.sysctls()?;
        for n in &world.namespaces {
            let full = self.ns(&n.name);
            for i in n.interfaces.iter().filter(|i| i.up) {
                self.ip(&full, &["link", "set", "dev", &i.name, "up"])?;
            }
        }
        self.routes()?;
        self.iptables()?;
        self.standins()?;
        self.state.complete = true;
        self.save()?;
        sys::sleep(self.opts.timing.quiet)
    }

    /// Veth pairs, each end created directly in its namespace.
    fn links(&self) -> Result<()> {
        for l in &self.snap.world.links {
            let (a, b) = (self.ns(&l.a.namespace), self.ns(&l.b.namespace));
            let mut args = vec![
                "link",
                "add",
                &l.a.interface,
                "type",
                "veth",
                "peer",
                "name",
                &l.b.interface,
            ];
            if a != b {
                args.extend(["netns", &b]);
            }
            self.ip(&a, &args)?;
        }
        Ok(())
    }

    /// Bridges and other devices, then MACs, MTUs, bridge ports and hairpin.
    fn devices(&self) -> Result<()> {
        let world = &self.snap.world;
        for n in &world.namespaces {
            let full = self.ns(&n.name);
            for i in &n.interfaces {
                match &i.kind {
                    IfaceKind::Loopback => {}
                    IfaceKind::Veth => {
                        let linked = world.links.iter().any(|l| {
                            [&l.a, &l.b]
                                .iter()
                                .any(|e| e.namespace == n.name && e.interface == i.name)
                        });
                        if !linked {
                            return Err(LabError::Unsupported(format!(
                                "veth `{}` in namespace `{}` has no [[link]] in world.toml, so its peer is unknown",
                                i.name, n.name
                            )));
                        }
                    }
                    IfaceKind::Bridge => {
                        let mut args: Vec<String> = argv(&["link", "add", &i.name, "type", "bridge"]);
                        args.extend(self.bridge_options(&n.name, &i.name));
                        let a: Vec<&str> = args.iter().map(String::as_str).collect();
                        self.ip(&full, &a)?;
                    }
                    IfaceKind::Other(k) if k == "dummy" => {
                        self.ip(&full, &["link", "add", &i.name, "type", "dummy"])?;
                    }
                    IfaceKind::Other(k) => {
                        return Err(LabError::Unsupported(format!(
                            "interface `{}` in namespace `{}` is of kind `{k}`; the lab builds veth, bridge and dummy devices",
                            i.name, n.name
                        )))
                    }
                }
            }
            for i in n
                .interfaces
                .iter()
                .filter(|i| i.kind != IfaceKind::Loopback)
            {
                let mut args: Vec<String> = argv(&["link", "set", "dev", &i.name]);
                if i.mac != [0; 6] {
                    let mac = i
                        .mac
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<Vec<_>>()
                        .join(":");
                    args.extend(["address".into(), mac]);
                }
                if i.mtu != 1500 && i.mtu != 0 {
                    args.extend(["mtu".into(), i.mtu.to_string()]);
                }
                if args.len() > 4 {
                    let a: Vec<&str> = args.iter().map(String::as_str).collect();
                    self.ip(&full, &a)?;
                }
            }
            for i in &n.interfaces {
                if let Some(m) = &i.master {
                    self.ip(&full, &["link", "set", "dev", &i.name, "master", m])?;
                    if i.hairpin {
                        self.ip(
                            &full,
                            &[
                                "link",
                                "set",
                                "dev",
                                &i.name,
                                "type",
                                "bridge_slave",
                                "hairpin",
                                "on",
                            ],
                        )?;
                    }
                }
            }
        }
        Ok(())
    }

    /// `ip link add ... type bridge` options that change forwarding, from the snapshot's
    /// `ip -d link` details.
    fn bridge_options(&self, ns: &str, dev: &str) -> Vec<String> {
        let Some((_, text)) = self.snap.ns_file(ns, "ip-link.json") else {
            return Vec::new();
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            return Vec::new();
        };
        let Some(data) = v.as_array().and_then(|a| {
            a.iter()
                .find(|l| l.get("ifname").and_then(|n| n.as_str()) == Some(dev))
                .and_then(|l| l.pointer("/linkinfo/info_data"))
        }) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for key in ["stp_state", "vlan_filtering", "nf_call_iptables"] {
            if let Some(x) = data.get(key).and_then(|x| x.as_u64()).filter(|x| *x != 0) {
                out.extend([key.to_string(), x.to_string()]);
            }
        }
        out
    }

    fn addresses(&self) -> Result<()> {
        for n in &self.snap.world.namespaces {
            let full = self.ns(&n.name);
            for i in &n.interfaces {
                for a in &i.addrs {
                    // The kernel gives lo 127.0.0.1/8 when it comes up (inet_set_ifa).
                    if i.kind == IfaceKind::Loopback
                        && a.addr == std::net::Ipv4Addr::LOCALHOST
                        && a.prefix_len == 8
                    {
                        continue;
                    }
                    let cidr = format!("{}/{}", a.addr, a.prefix_len);
                    let mut args = vec!["addr", "add", &cidr];
                    let brd = a.broadcast.map(|b| b.to_string());
                    if let Some(b) = &brd {
                        args.extend(["broadcast", b]);
                    }
                    args.extend(["dev", &i.name]);
                    self.ip(&full, &args)?;
                }
            }
        }
        Ok(())
    }

    fn sysctls(&mut self) -> Result<()> {
        let mut warnings = Vec::new();
        for n in &self.snap.world.namespaces {
            let full = self.ns(&n.name);
            let devices = n.interfaces.iter().map(|i| i.name.clone()).collect();
            let (mut writes, _skipped) = sysctl::plan(&n.sysctls.raw, &devices);
            // A snapshot without br_netfilter's sysctls means the module is not loaded there
            // (the simulation bridges without iptables). Where the module is loaded (or
            // built in) a new namespace starts with bridge-nf-call-iptables = 1: turn it off.
            let has_bridge = n
                .interfaces
                .iter()
                .any(|i| i.kind == IfaceKind::Bridge || i.master.is_some());
            if has_bridge
                && n.sysctls.bridge_nf_call_iptables.is_none()
                && netns::has_br_netfilter(&full)?
            {
                for key in [
                    "net.bridge.bridge-nf-call-iptables",
                    "net.bridge.bridge-nf-call-ip6tables",
                    "net.bridge.bridge-nf-call-arptables",
                ] {
                    writes.push(sysctl::SysctlWrite {
                        key: key.to_string(),
                        value: "0".to_string(),
                    });
                }
                warnings.push(format!(
                    "{}: the snapshot has no br_netfilter sysctls; bridge-nf-call-iptables set to 0 to match",
                    n.name
                ));
            }
            if sysctl::needs_br_netfilter(&writes) && !netns::has_br_netfilter(&full)? {
                // br_netfilter's sysctls exist (per namespace) only once the module is in.
                let a = argv(&["modprobe", "br_netfilter"]);
                self.log(&a);
                run_ok(&a)?;
                warnings.push("loaded the br_netfilter module (modprobe br_netfilter)".into());
                if !netns::has_br_netfilter(&full)? {
                    return Err(LabError::Unsupported(
                        "net.bridge.* sysctls are missing even with br_netfilter loaded".into(),
                    ));
                }
            }
            for w in &writes {
                if self.opts.verbose {
                    eprintln!("+ ip netns exec {full} sysctl -w {}={}", w.key, w.value);
                }
                netns::write_sysctl(&full, &w.key, &w.value)?;
            }
            for w in &writes {
                let got = netns::read_sysctl(&full, &w.key)?;
                let want = w.value.split_whitespace().collect::<Vec<_>>().join(" ");
                if got.as_deref() != Some(want.as_str()) {
                    warnings.push(format!(
                        "{full}: {} is {} (snapshot: {want})",
                        w.key,
                        got.as_deref().unwrap_or("missing")
                    ));
                }
            }
        }
        self.warnings.extend(warnings);
        Ok(())
    }

    /// Routes and policy rules: add what the snapshot has and the kernel does not, delete
    /// what the kernel derived and the snapshot does not have.
    fn routes(&mut self) -> Result<()> {
        for n in &self.snap.world.namespaces {
            let full = self.ns(&n.name);
            if let Some((label, text)) = self.snap.ns_file(&n.name, "ip-route.json") {
                let want = routing::parse_routes(&label, &text)?;
                let out = self.ip(&full, &["-4", "-j", "route", "show", "table", "all"])?;
                let have = routing::parse_routes("ip -j route", &out.stdout)?;
                let (add, del) = routing::route_changes(&want, &have);
                // A gateway must be reachable: retry what failed once others are in.
                let mut pending = add;
                while !pending.is_empty() {
                    let mut failed = Vec::new();
                    let mut last_err = None;
                    for r in &pending {
                        let args = routing::route_add_args(r);
                        let a: Vec<&str> = args.iter().map(String::as_str).collect();
                        if let Err(e) = self.ip(&full, &a) {
                            failed.push(r.clone());
                            last_err = Some(e);
                        }
                    }
                    if failed.len() == pending.len() {
                        return Err(last_err.expect("a failure"));
                    }
                    pending = failed;
                }
                for r in &del {
                    let args = routing::route_del_args(r);
                    let a: Vec<&str> = args.iter().map(String::as_str).collect();
                    self.ip(&full, &a)?;
                }
                // Did it converge?
                let out = self.ip(&full, &["-4", "-j", "route", "show", "table", "all"])?;
                let now = routing::parse_routes("ip -j route", &out.stdout)?;
                let (missing, extra) = routing::route_changes(&want, &now);
                for (what, rs) in [("missing", missing), ("extra", extra)] {
                    for r in rs {
                        self.warnings.push(format!(
                            "{full}: {what} route {}",
                            routing::route_add_args(&r)[2..].join(" ")
                        ));
                    }
                }
            }
            if let Some((label, text)) = self.snap.ns_file(&n.name, "ip-rule.json") {
                let want = routing::parse_rules(&label, &text)?;
                let out = self.ip(&full, &["-4", "-j", "rule", "show"])?;
                let have = routing::parse_rules("ip -j rule", &out.stdout)?;
                let (add, del) = routing::rule_changes(&want, &have);
                for (verb, rules) in [("add", add), ("del", del)] {
                    for r in &rules {
                        let mut args = vec!["rule".to_string(), verb.to_string()];
                        args.extend(routing::rule_args(r)?);
                        let a: Vec<&str> = args.iter().map(String::as_str).collect();
                        self.ip(&full, &a)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn iptables(&mut self) -> Result<()> {
        let has_nft = sys::find_tool("nft").is_some();
        for n in &self.snap.world.namespaces {
            let Some((_, save)) = self.snap.ns_file(&n.name, "iptables-save.txt") else {
                continue;
            };
            let full = self.ns(&n.name);
            let text = iptables::restore_text(&save, n.base_chains.as_ref());
            let a = in_ns(&full, &["iptables-restore"]);
            self.log(&a);
            run_with(&a, Some(&text), Duration::from_secs(60))?.ok()?;
            // Did the kernel take it as the snapshot has it?
            let got = run_ok(&in_ns(&full, &["iptables-save"]))?;
            for d in iptables::save_diff(&save, &got.stdout) {
                self.warnings.push(format!(
                    "{full}: iptables-save differs from the snapshot: {d}"
                ));
            }
            if has_nft {
                let out = run_ok(&in_ns(&full, &["nft", "-j", "list", "chains", "ip"]))?;
                let got = iptables::parse_nft_chains(&out.stdout).map_err(LabError::Other)?;
                let want = iptables::expected_base_chains(&save, n.base_chains.as_ref());
                if got != want {
                    self.warnings.push(format!(
                        "{full}: nf_tables base chains {got:?}, the snapshot has {want:?}"
                    ));
                }
            }
        }
        Ok(())
    }

    fn standins(&mut self) -> Result<()> {
        let plans: Vec<StandIn> = self
            .snap
            .world
            .namespaces
            .iter()
            .flat_map(standins::plan)
            .collect();
        let mut started = Vec::new();
        for s in &plans {
            let idx = self.spawn(s)?;
            started.push((s, idx));
        }
        for (s, idx) in started {
            self.wait_ready(s, idx)?;
        }
        Ok(())
    }

    /// Start a stand-in in its own process group (Ctrl-C at the terminal is ours to
    /// handle), logging to the state folder; returns its index in `children`.
    fn spawn(&mut self, s: &StandIn) -> Result<usize> {
        let full = self.ns(s.ns());
        let a = in_ns(
            &full,
            &s.argv(&self.opts.exe)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        self.log(&a);
        let log = self
            .dir
            .log_path(&format!("{}{}", self.opts.prefix, s.name()));
        let f = std::fs::File::create(&log).map_err(|e| LabError::io(&log, e))?;
        let f2 = f.try_clone().map_err(|e| LabError::io(&log, e))?;
        let child = Command::new(&a[0])
            .args(&a[1..])
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(f2)
            .process_group(0)
            .spawn()
            .map_err(|e| LabError::Command {
                cmd: sys::shell_words(&a),
                status: "could not start".into(),
                stderr: e.to_string(),
            })?;
        let pid = child.id();
        let starttime = sys::proc_starttime(pid).unwrap_or(0);
        self.children.push(child);
        self.state.processes.push(ProcRecord {
            pid,
            starttime,
            ns: full,
            what: s.name(),
            argv: a,
            log: Some(log),
        });
        self.save()?;
        Ok(self.children.len() - 1)
    }

    /// Wait until the stand-in's sockets are bound in its namespace.
    fn wait_ready(&mut self, s: &StandIn, idx: usize) -> Result<()> {
        let full = self.ns(s.ns());
        let end = Instant::now() + self.opts.timing.ready;
        let rec = self.state.processes[idx].clone();
        loop {
            sys::check_interrupt()?;
            let tcp = netns::bound_sockets(&full, "tcp")?;
            let udp = netns::bound_sockets(&full, "udp")?;
            let ready = s.sockets().iter().all(|&(is_tcp, addr, port)| {
                let list = if is_tcp { &tcp } else { &udp };
                list.iter()
                    .any(|b| b.addr == addr && b.port == port && (!is_tcp || b.state == 0x0a))
            });
            if ready {
                return Ok(());
            }
            let exited = self.children[idx]
                .try_wait()
                .map_err(|e| LabError::Other(e.to_string()))?;
            if exited.is_some() || Instant::now() > end {
                let log = rec
                    .log
                    .as_ref()
                    .and_then(|l| std::fs::read_to_string(l).ok())
                    .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(5).collect();
                return Err(LabError::Command {
                    cmd: sys::shell_words(&rec.argv),
                    status: match exited {
                        Some(st) => sys::status_text(st),
                        None => format!(
                            "its sockets were not bound after {} s",
                            self.opts.timing.ready.as_secs()
                        ),
                    },
                    stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Remove everything recorded; returns the problems met (it goes on past them).
    fn teardown(&mut self) -> Vec<String> {
        let mut problems = teardown_state(&self.state);
        for c in &mut self.children {
            // Reap what we started (stopped above by PID).
            if let Ok(None) = c.try_wait() {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
        self.children.clear();
        if let Err(e) = self.dir.remove() {
            problems.push(e.to_string());
        }
        problems
    }
}

impl Drop for Lab<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.armed = false;
            for p in self.teardown() {
                eprintln!("pktpath lab: while removing the lab: {p}");
            }
        }
    }
}

/// The processes whose network namespace is `ns` (ours: the lab created it).
fn processes_in(ns: &str) -> Vec<u32> {
    let Ok(meta) = std::fs::metadata(netns::netns_path(ns)) else {
        return Vec::new();
    };
    let want = format!("net:[{}]", meta.ino());
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/ns/net"))
                .is_ok_and(|l| l.to_string_lossy() == want)
        })
        .collect()
}

/// Stop the recorded processes (and any other process left inside the lab's
/// namespaces), delete the namespaces. Returns the problems met.
fn teardown_state(st: &State) -> Vec<String> {
    let mut problems = Vec::new();
    for p in st.processes.iter().rev() {
        sys::stop_process(p.pid, p.starttime);
    }
    for ns in st.namespaces.iter().rev() {
        for pid in processes_in(ns) {
            if let Some(t) = sys::proc_starttime(pid) {
                sys::stop_process(pid, t);
            }
        }
        if netns::exists(ns) {
            if let Err(e) =
                sys::run_cleanup(&argv(&["ip", "netns", "del", ns])).and_then(|o| o.ok())
            {
                problems.push(e.to_string());
            }
        }
    }
    problems
}

/// What [`down`] removed.
#[derive(Debug, Clone, Default)]
pub struct DownReport {
    pub namespaces: Vec<String>,
    pub processes: usize,
}

/// `lab down`: remove the lab that is up with `opts.prefix`. With `force_clean`, also
/// namespaces named `prefix + name` (for `world_ns`) that no state records.
pub fn down(opts: &LabOptions, world_ns: &[String]) -> Result<DownReport> {
    sys::require_root("lab down")?;
    state::check_prefix(&opts.prefix)?;
    let names: Vec<String> = world_ns
        .iter()
        .map(|n| format!("{}{}", opts.prefix, n))
        .collect();
    match StateDir::open(&opts.state_root, &opts.prefix) {
        Ok(dir) => {
            let st = dir.load()?;
            let problems = teardown_state(&st);
            dir.remove()?;
            if !problems.is_empty() {
                return Err(LabError::Other(problems.join("\n")));
            }
            let mut rep = DownReport {
                namespaces: st.namespaces.clone(),
                processes: st.processes.len(),
            };
            if opts.force_clean {
                rep.namespaces.extend(clean(opts, &names)?);
            }
            Ok(rep)
        }
        Err(LabError::NotUp { prefix, dir }) => {
            let stale: Vec<&String> = names.iter().filter(|n| netns::exists(n)).collect();
            if opts.force_clean {
                Ok(DownReport {
                    namespaces: clean(opts, &names)?,
                    processes: 0,
                })
            } else if !stale.is_empty() {
                Err(LabError::Other(format!(
                    "no lab with prefix `{prefix}` is recorded in {}, but namespaces {} exist: `pktpath lab down --force-clean` removes them",
                    dir.display(),
                    stale.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                )))
            } else {
                Err(LabError::NotUp { prefix, dir })
            }
        }
        Err(e) => Err(e),
    }
}

/// Remove a stale lab: the recorded one if any, then namespaces `names` that still
/// exist. Returns the namespaces deleted.
fn clean(opts: &LabOptions, names: &[String]) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let path = StateDir::path(&opts.state_root, &opts.prefix);
    if path.exists() {
        let dir = StateDir { dir: path };
        if let Ok(st) = dir.load() {
            for p in teardown_state(&st) {
                eprintln!("pktpath lab: while removing the old lab: {p}");
            }
            removed.extend(st.namespaces);
        }
        dir.remove()?;
    }
    for n in names.iter().filter(|n| netns::exists(n)) {
        let st = State {
            namespaces: vec![n.clone()],
            ..State::new(&opts.prefix, "")
        };
        let problems = teardown_state(&st);
        if !problems.is_empty() {
            return Err(LabError::Other(problems.join("\n")));
        }
        removed.push(n.clone());
    }
    Ok(removed)
}
