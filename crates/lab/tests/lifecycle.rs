//! A lab's life: up, a second up with the same prefix refused, probe, down; cleanup when
//! the world fails halfway (a route the kernel refuses, a server that cannot bind) and on
//! Ctrl-C; stale labs removed with --force-clean. Each test has its own prefix.

mod common;

use pktpath_lab::{Lab, LabError, ProbeRequest, Snapshot};
use pktpath_world::{L4Proto, Outcome};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn manual_dnat() -> Snapshot {
    let dir = common::shared_fixtures().join("manual-dnat");
    Snapshot::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

fn pktpath(args: &[&str]) -> std::process::Output {
    Command::new(common::pktpath_bin())
        .args(args)
        .output()
        .expect("pktpath runs")
}

#[test]
fn a_second_up_with_the_same_prefix_is_refused_then_probe_and_down() {
    common::preflight();
    let prefix = "plc-twice-";
    let _cleanup = common::Cleanup::new(prefix, &manual_dnat().world);
    let world = common::shared_fixtures().join("manual-dnat");
    let w = world.display().to_string();
    let up = pktpath(&["lab", "up", &w, "--prefix", prefix]);
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert_eq!(common::namespaces_with(prefix).len(), 3);

    // The second one, from the command line and from the library.
    let again = pktpath(&["lab", "up", &w, "--prefix", prefix]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(2), "{err}");
    assert!(err.contains("already up"), "{err}");
    let snap = manual_dnat();
    match Lab::up(&snap, common::opts(prefix)) {
        Err(LabError::AlreadyUp { .. }) => {}
        Err(e) => panic!("expected AlreadyUp, got {e}"),
        Ok(_) => panic!("a second lab came up with the same prefix"),
    }
    assert_eq!(
        common::namespaces_with(prefix).len(),
        3,
        "the first lab is intact"
    );

    // A real probe in the lab that is up: mext -> the host's DNAT -> c1's server.
    let p = pktpath(&[
        "lab",
        "probe",
        &w,
        "--prefix",
        prefix,
        "--from",
        "mext",
        "--dst",
        "10.120.0.1:2345",
        "--sport",
        "41234",
    ]);
    let out = String::from_utf8_lossy(&p.stdout);
    assert!(
        p.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&p.stderr)
    );
    assert!(out.starts_with("outcome: connected\n"), "{out}");
    assert!(
        out.contains("nat:PREROUTING:rule:0x")
            && out.contains("DNAT --to-destination 10.55.66.2:8000"),
        "the kernel's trace shows the DNAT: {out}"
    );
    assert!(out.contains("sport=41234 dport=2345"), "conntrack: {out}");

    let down = pktpath(&["lab", "down", &w, "--prefix", prefix]);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    common::assert_gone(prefix);
    let none = pktpath(&["lab", "down", &w, "--prefix", prefix]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no lab with prefix"));
}

#[test]
fn library_probes_then_force_clean_replaces_a_stale_lab() {
    common::preflight();
    let prefix = "plc-stale-";
    let snap = manual_dnat();
    let _cleanup = common::Cleanup::new(prefix, &snap.world);
    let mut lab = Lab::up(&snap, common::opts(prefix)).expect("up");
    // udp and icmp through the library: c1's host answers ping; nothing serves udp 9.
    let ping = lab
        .probe(&ProbeRequest {
            from: "c1".into(),
            proto: L4Proto::Icmp,
            dst: "10.55.66.1".parse().unwrap(),
            dport: None,
            sport: None,
            trace_ns: "mhost".into(),
            keep_conntrack: false,
        })
        .expect("probe");
    assert_eq!(
        ping.outcome.outcome,
        Some(Outcome::Connected),
        "{}",
        ping.client.render()
    );
    assert!(ping.trace.contains("-p icmp -j TRACE"), "{}", ping.trace);
    let udp = lab
        .probe(&ProbeRequest {
            from: "mext".into(),
            proto: L4Proto::Udp,
            dst: "10.120.0.1".parse().unwrap(),
            dport: Some(9),
            sport: None,
            trace_ns: "mhost".into(),
            keep_conntrack: false,
        })
        .expect("probe");
    assert_eq!(udp.sport, Some(41000), "the lab's first port");
    assert_eq!(
        udp.outcome.outcome,
        Some(Outcome::Refused),
        "{}",
        udp.client.render()
    );
    assert!(
        udp.client.stdout.contains("icmp_type=3 icmp_code=3"),
        "{}",
        udp.client.stdout
    );
    // Left up as `lab up` leaves it: a stale lab for the next one.
    lab.leave_up();
    let mut o = common::opts(prefix);
    assert!(matches!(
        Lab::up(&snap, o.clone()),
        Err(LabError::AlreadyUp { .. })
    ));
    o.force_clean = true;
    let lab = Lab::up(&snap, o).expect("up over a stale lab with --force-clean");
    assert_eq!(common::namespaces_with(prefix).len(), 3);
    lab.down().expect("down");
    common::assert_gone(prefix);
}

#[test]
fn a_namespace_the_lab_did_not_make_is_not_taken_over() {
    common::preflight();
    let prefix = "plc-foreign-";
    let foreign = format!("{prefix}mext");
    let snap = manual_dnat();
    let _cleanup = common::Cleanup::new(prefix, &snap.world);
    let opts = common::opts(prefix);
    let add = Command::new("ip")
        .args(["netns", "add", &foreign])
        .status()
        .unwrap();
    assert!(add.success(), "ip netns add {foreign}");
    let r = Lab::up(&snap, opts);
    let still = common::namespaces_with(prefix);
    let _ = Command::new("ip").args(["netns", "del", &foreign]).status();
    match r {
        Err(LabError::NamespaceExists(n)) => assert_eq!(n, foreign),
        Err(e) => panic!("expected NamespaceExists, got {e}"),
        Ok(_) => panic!("the lab came up over a namespace it did not make"),
    }
    assert_eq!(
        still,
        vec![foreign],
        "only the foreign namespace existed, untouched"
    );
    common::assert_gone(prefix);
}

/// A route the kernel refuses: up fails after namespaces, links, addresses and sysctls
/// were made, and removes them.
#[test]
fn a_world_that_fails_halfway_leaves_nothing_behind() {
    common::preflight();
    let prefix = "plc-broken-";
    let snap = Snapshot::load(&common::data("broken-route")).expect("loads");
    let _cleanup = common::Cleanup::new(prefix, &snap.world);
    match Lab::up(&snap, common::opts(prefix)) {
        Err(LabError::Command { cmd, stderr, .. }) => {
            assert!(
                cmd.contains("route add unicast 10.50.0.0/16 via 10.77.0.1"),
                "{cmd}"
            );
            assert!(stderr.contains("invalid gateway"), "{stderr}");
        }
        Err(e) => panic!("expected the route to fail, got {e}"),
        Ok(_) => panic!("the broken world came up"),
    }
    common::assert_gone(prefix);
}

/// A server that cannot bind: up fails at its last step, after another stand-in started;
/// that process is stopped too.
#[test]
fn a_failed_stand_in_stops_the_others() {
    common::preflight();
    let prefix = "plc-bind-";
    let snap = Snapshot::load(&common::data("broken-listener")).expect("loads");
    let _cleanup = common::Cleanup::new(prefix, &snap.world);
    let err = match Lab::up(&snap, common::opts(prefix)) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("the broken world came up"),
    };
    assert!(err.contains("cannot bind udp:10.199.9.9:47472"), "{err}");
    common::assert_gone(prefix);
    let left = common::processes_with("tcp:0.0.0.0:47473");
    assert!(left.is_empty(), "a's server still runs: {left:?}");
}

#[test]
fn ctrl_c_during_verify_removes_everything() {
    common::preflight();
    let prefix = "plc-int-";
    let _cleanup = common::Cleanup::new(prefix, &manual_dnat().world);
    let world = common::shared_fixtures().join("manual-dnat");
    let mut child = Command::new(common::pktpath_bin())
        .args([
            "lab",
            "verify",
            &world.display().to_string(),
            "--prefix",
            prefix,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pktpath runs");
    // Wait until the world is up and probing.
    let state = std::path::Path::new(pktpath_lab::state::DEFAULT_STATE_ROOT)
        .join(prefix)
        .join("state.json");
    let start = Instant::now();
    loop {
        let up = std::fs::read_to_string(&state).is_ok_and(|s| s.contains("\"complete\": true"));
        if up {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the lab did not come up"
        );
        assert!(child.try_wait().unwrap().is_none(), "verify ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(2500));
    // SAFETY: SIGINT to our own child, not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    common::assert_gone(prefix);
}
