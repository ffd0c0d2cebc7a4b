//! `lab verify` on every captured world (../shared/fixtures and fixtures/): each world is
//! rebuilt in namespaces (the Docker worlds without Docker: the snapshot has everything,
//! `pktpath proxy` stands in for docker-proxy), every probe runs for real, and
//!
//! * the kernel's outcome is the one the snapshot recorded (the lab rebuilt the world
//!   faithfully), and
//! * the simulation's outcome and first-packet trace are the kernel's.
//!
//! Conntrack differences are printed, not asserted (see the report's `conntrack_match`).
//! Each world has its own namespace prefix, so the tests run in parallel.

mod common;

use pktpath_engine::SimOptions;
use pktpath_lab::{render_text, Snapshot, VerifyReport};
use std::path::PathBuf;
use std::process::Command;

/// Every captured world, with the prefix its test uses.
const WORLDS: &[(&str, &str, &str)] = &[
    ("shared", "docker-memcached", "plv-dm-"),
    ("shared", "docker-memcached-circuit-breaker", "plv-dmcb-"),
    (
        "shared",
        "docker-memcached-circuit-breaker-output",
        "plv-dmcbo-",
    ),
    ("shared", "docker-two-networks", "plv-d2n-"),
    ("shared", "manual-dnat", "plv-mdn-"),
    ("main", "docker-icc-false", "plv-icc-"),
    ("main", "docker-no-userland-proxy", "plv-nup-"),
    ("main", "ip-forward-off", "plv-ipf-"),
    ("main", "kube-proxy-clusterip", "plv-kpc-"),
    ("main", "reject-variants", "plv-rej-"),
    ("main", "snat-collision", "plv-snat-"),
    (
        "main",
        "fuzz-s1-0004-icmp-redirect-silences-reject",
        "plv-f0004-",
    ),
    (
        "main",
        "fuzz-s1-0092-icmp-error-masqueraded-udp",
        "plv-f0092-",
    ),
    ("main", "fuzz-s1-0144-icmp-after-handshake", "plv-f0144-"),
    ("main", "fuzz-s1-0189-redirect-hairpin-nat", "plv-f0189-"),
    ("main", "fuzz-s1-0231-masquerade-on-lo", "plv-f0231-"),
    (
        "main",
        "fuzz-s1-0265-no-conntrack-without-ct-rules",
        "plv-f0265-",
    ),
    ("main", "fuzz-s1-0303-udp-proxy-reply-source", "plv-f0303-"),
    ("main", "fuzz-s1-0368-untracked-ack-invalid", "plv-f0368-"),
    ("main", "fuzz-s1-0399-leftover-icmp-in-trace", "plv-f0399-"),
    ("main", "fuzz-s1-0460-tcp-reset-after-dnat", "plv-f0460-"),
    (
        "main",
        "fuzz-s1-0472-output-device-after-reroute",
        "plv-f0472-",
    ),
    ("main", "proto-unreachable", "plv-pun-"),
    (
        "main",
        "fuzz-s2-0047-reset-before-connect-check",
        "plv-g0047-",
    ),
    ("main", "fuzz-s2-0149-notrack-after-loopback", "plv-g0149-"),
    ("main", "fuzz-s2-0340-bridged-tcp-reset", "plv-g0340-"),
    ("main", "fuzz-s2-0345-udp-send-einval", "plv-g0345-"),
    (
        "main",
        "fuzz-s2-0493-notrack-icmp-error-from-the-stack",
        "plv-g0493-",
    ),
    (
        "main",
        "fuzz-s3-0015-routed-from-bridge-tcp-reset",
        "plv-h0015-",
    ),
];

fn world_dir(name: &str) -> (PathBuf, &'static str) {
    let &(place, _, prefix) = WORLDS
        .iter()
        .find(|w| w.1 == name)
        .expect("world in WORLDS");
    let root = match place {
        "shared" => common::shared_fixtures(),
        _ => common::main_fixtures(),
    };
    (root.join(name), prefix)
}

/// The assertions of this file on one report.
fn judge(rep: &VerifyReport) {
    let mut failures = Vec::new();
    for p in &rep.probes {
        if let Some(e) = p.expect {
            if p.kernel != e {
                failures.push(format!(
                    "{}: the lab's kernel says {} but the snapshot recorded {e}\n{}",
                    p.name, p.kernel, p.client
                ));
            }
        }
        if p.kernel != p.simulated {
            failures.push(format!(
                "{}: kernel {} but simulated {} ({})",
                p.name, p.kernel, p.simulated, p.simulated_client_says
            ));
        }
        if p.trace_match != Some(true) {
            failures.push(format!(
                "{}: first-packet trace: {}\n  {}\n  kernel:\n    {}\n  simulated:\n    {}",
                p.name,
                match p.trace_match {
                    None => "not compared",
                    _ => "differs",
                },
                p.trace_diff
                    .as_deref()
                    .or(p.note.as_deref())
                    .unwrap_or("")
                    .replace('\n', "\n  "),
                p.kernel_first_packet.join("\n    "),
                p.simulated_first_packet.join("\n    ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} disagreement(s):\n\n{}\n\nfull report:\n{}",
        failures.len(),
        failures.join("\n\n"),
        render_text(rep)
    );
    // Not asserted, but shown with --nocapture.
    print!("{}", render_text(rep));
}

fn verify(name: &str) {
    common::preflight();
    let (dir, prefix) = world_dir(name);
    let snap = Snapshot::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let _cleanup = common::Cleanup::new(prefix, &snap.world);
    let rep = pktpath_lab::verify(&snap, common::opts(prefix), SimOptions::default())
        .unwrap_or_else(|e| panic!("lab verify {}: {e}", dir.display()));
    common::assert_gone(prefix);
    assert_eq!(rep.probes.len(), snap.world.probes.len());
    judge(&rep);
}

#[test]
fn every_captured_world_is_verified() {
    let mut have = Vec::new();
    for (place, root) in [
        ("shared", common::shared_fixtures()),
        ("main", common::main_fixtures()),
    ] {
        for e in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display())) {
            let p = e.unwrap().path();
            if p.join("world.toml").is_file() {
                have.push((place, p.file_name().unwrap().to_string_lossy().into_owned()));
            }
        }
    }
    have.sort();
    let mut listed: Vec<(&str, String)> = WORLDS.iter().map(|w| (w.0, w.1.to_string())).collect();
    listed.sort();
    assert_eq!(
        have, listed,
        "add new worlds to WORLDS (and a test) in this file"
    );
}

/// Through the command line, as a person runs it: `pktpath lab verify WORLD --json`.
#[test]
fn manual_dnat_via_the_command_line() {
    common::preflight();
    let (dir, prefix) = world_dir("manual-dnat");
    let snap = Snapshot::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let _cleanup = common::Cleanup::new(prefix, &snap.world);
    let out = Command::new(common::pktpath_bin())
        .args([
            "lab",
            "verify",
            &dir.display().to_string(),
            "--prefix",
            prefix,
            "--json",
        ])
        .output()
        .expect("pktpath runs");
    common::assert_gone(prefix);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rep: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let probes = rep["probes"].as_array().expect("probes");
    assert_eq!(probes.len(), 7);
    for p in probes {
        for k in ["name", "expect", "kernel", "simulated", "trace_match"] {
            assert!(p.get(k).is_some(), "{k} missing in {p}");
        }
        assert_eq!(p["kernel"], p["expect"], "{}", p["name"]);
        assert_eq!(p["simulated"], p["kernel"], "{}", p["name"]);
        assert_eq!(p["trace_match"], true, "{}: {}", p["name"], p["trace_diff"]);
    }
    assert_eq!(out.status.code(), Some(0), "exit 0 when all agree");
}

#[test]
fn docker_memcached() {
    verify("docker-memcached");
}

#[test]
fn docker_memcached_circuit_breaker() {
    verify("docker-memcached-circuit-breaker");
}

#[test]
fn docker_memcached_circuit_breaker_output() {
    verify("docker-memcached-circuit-breaker-output");
}

#[test]
fn docker_two_networks() {
    verify("docker-two-networks");
}

#[test]
fn docker_icc_false() {
    verify("docker-icc-false");
}

#[test]
fn docker_no_userland_proxy() {
    verify("docker-no-userland-proxy");
}

#[test]
fn ip_forward_off() {
    verify("ip-forward-off");
}

#[test]
fn kube_proxy_clusterip() {
    verify("kube-proxy-clusterip");
}

#[test]
fn reject_variants() {
    verify("reject-variants");
}

#[test]
fn snat_collision() {
    verify("snat-collision");
}

#[test]
fn fuzz_s1_0004_icmp_redirect_silences_reject() {
    verify("fuzz-s1-0004-icmp-redirect-silences-reject");
}

#[test]
fn fuzz_s1_0092_icmp_error_masqueraded_udp() {
    verify("fuzz-s1-0092-icmp-error-masqueraded-udp");
}

#[test]
fn fuzz_s1_0144_icmp_after_handshake() {
    verify("fuzz-s1-0144-icmp-after-handshake");
}

#[test]
fn fuzz_s1_0189_redirect_hairpin_nat() {
    verify("fuzz-s1-0189-redirect-hairpin-nat");
}

#[test]
fn fuzz_s1_0231_masquerade_on_lo() {
    verify("fuzz-s1-0231-masquerade-on-lo");
}

#[test]
fn fuzz_s1_0265_no_conntrack_without_ct_rules() {
    verify("fuzz-s1-0265-no-conntrack-without-ct-rules");
}

#[test]
fn fuzz_s1_0303_udp_proxy_reply_source() {
    verify("fuzz-s1-0303-udp-proxy-reply-source");
}

#[test]
fn fuzz_s1_0368_untracked_ack_invalid() {
    verify("fuzz-s1-0368-untracked-ack-invalid");
}

#[test]
fn fuzz_s1_0399_leftover_icmp_in_trace() {
    verify("fuzz-s1-0399-leftover-icmp-in-trace");
}

#[test]
fn fuzz_s1_0460_tcp_reset_after_dnat() {
    verify("fuzz-s1-0460-tcp-reset-after-dnat");
}

#[test]
fn fuzz_s1_0472_output_device_after_reroute() {
    verify("fuzz-s1-0472-output-device-after-reroute");
}

#[test]
fn proto_unreachable() {
    verify("proto-unreachable");
}

#[test]
fn fuzz_s2_0047_reset_before_connect_check() {
    verify("fuzz-s2-0047-reset-before-connect-check");
}

#[test]
fn fuzz_s2_0149_notrack_after_loopback() {
    verify("fuzz-s2-0149-notrack-after-loopback");
}

#[test]
fn fuzz_s2_0340_bridged_tcp_reset() {
    verify("fuzz-s2-0340-bridged-tcp-reset");
}

#[test]
fn fuzz_s2_0345_udp_send_einval() {
    verify("fuzz-s2-0345-udp-send-einval");
}

#[test]
fn fuzz_s2_0493_notrack_icmp_error_from_the_stack() {
    verify("fuzz-s2-0493-notrack-icmp-error-from-the-stack");
}

#[test]
fn fuzz_s3_0015_routed_from_bridge_tcp_reset() {
    verify("fuzz-s3-0015-routed-from-bridge-tcp-reset");
}
