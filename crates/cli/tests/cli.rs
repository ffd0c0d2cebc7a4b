//! The command line as users and CI call it: exit codes, formats, and errors with positions.

use std::path::PathBuf;
use std::process::{Command, Output};

fn pktpath(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pktpath"))
        .args(args)
        .output()
        .expect("runs")
}

fn shared(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel)
        .display()
        .to_string()
}

fn data(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
        .display()
        .to_string()
}

#[test]
fn demo_tells_the_story_and_agrees_with_the_kernel() {
    let o = pktpath(&["demo", "--color", "never"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("iptables -I OUTPUT -d 172.17.0.2 -j REJECT"));
    assert!(out.contains("Empty reply from server"));
    assert!(
        out.contains("equal the kernel's for 8/8 clients before and 8/8 after"),
        "{out}"
    );
    assert!(out.contains("traces match"));
}

#[test]
fn check_json_reports_every_probe() {
    let o = pktpath(&["check", &shared("fixtures/docker-memcached"), "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["passed"], 11);
    assert_eq!(v["failed"], 0);
    let first = &v["probes"][0];
    assert_eq!(first["name"], "ext-to-hostip-11211");
    assert_eq!(first["expect"], "connected");
    assert_eq!(first["got"], "connected");
    assert_eq!(first["ok"], true);
}

#[test]
fn check_exits_1_when_an_expectation_is_wrong() {
    // Copy a fixture and change one expectation: the kernel said connected.
    let dir = std::env::temp_dir().join(format!("pktpath-cli-{}", std::process::id()));
    let src = PathBuf::from(shared("fixtures/manual-dnat"));
    copy_dir(&src, &dir);
    let toml = std::fs::read_to_string(dir.join("world.toml")).unwrap();
    let changed = toml.replacen("expect = \"connected\"", "expect = \"refused\"", 1);
    assert_ne!(toml, changed);
    std::fs::write(dir.join("world.toml"), changed).unwrap();
    let o = pktpath(&["check", dir.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("FAIL"));
}

fn copy_dir(src: &std::path::Path, dst: &std::path::Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

#[test]
fn xtables_monitor_format_matches_the_kernel_first_packet() {
    let o = pktpath(&[
        "probe",
        &shared("fixtures/docker-memcached"),
        "--from",
        "ext",
        "--dst",
        "10.120.0.1:11211",
        "--sport",
        "41000",
        "--format",
        "xtables-monitor",
        "--trace-ns",
        "dh",
    ]);
    assert!(o.status.success());
    let ours = pktpath_trace::parse(&String::from_utf8_lossy(&o.stdout), "ours")
        .expect("parses as xtables-monitor output");
    let kernel_text = std::fs::read_to_string(shared(
        "fixtures/docker-memcached/probes/ext-to-hostip-11211/trace.txt",
    ))
    .unwrap();
    let kernel = pktpath_trace::parse(&kernel_text, "kernel").unwrap();
    let d = pktpath_trace::compare(
        &pktpath_trace::first_packet(&kernel),
        &pktpath_trace::first_packet(&ours),
    );
    assert!(d.is_match(), "{d}");
}

#[test]
fn text_and_json_formats_tell_the_outcome() {
    let o = pktpath(&[
        "probe",
        "builtin:docker-memcached",
        "--from",
        "dh",
        "--dst",
        "127.0.0.1:11211",
        "--color",
        "never",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("outcome: connected"), "{out}");
    assert!(out.contains("docker-proxy accepted"), "{out}");
    let o = pktpath(&[
        "probe",
        "builtin:docker-memcached",
        "--from",
        "ext",
        "--dst",
        "10.120.0.1:11212",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["outcome"], "refused");
}

#[test]
fn broken_world_toml_gives_position_and_exit_2() {
    let o = pktpath(&["check", &data("broken-toml")]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("world.toml:5:8"), "{err}");
}

#[test]
fn broken_rules_file_gives_position_and_exit_2() {
    let o = pktpath(&[
        "probe",
        &data("broken-rules"),
        "--from",
        "h",
        "--dst",
        "127.0.0.1:80",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("iptables-save.txt:6:"), "{err}");
    assert!(err.contains("NOSUCHCHAIN"), "{err}");
}

#[test]
fn bad_arguments_are_explained() {
    let o = pktpath(&[
        "probe",
        "builtin:docker-memcached",
        "--from",
        "nowhere",
        "--dst",
        "10.0.0.1:80",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such namespace"));
    let o = pktpath(&[
        "probe",
        "builtin:docker-memcached",
        "--from",
        "dh",
        "--dst",
        "10.0.0.1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected IP:PORT"));
}

/// `--counters`: the firewall's rules with what the probe's packets added, in the three
/// formats. The numbers are the kernel's for this probe (one 60-byte SYN hits the FORWARD
/// REJECT; its 88-byte ICMP error leaves through OUTPUT's policy): the lab's
/// `counters_kernel` test compares simulated counters with `iptables-save -c` on the kernel.
#[test]
fn probe_counters_in_save_s_and_l_formats() {
    let world = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/reject-variants")
        .display()
        .to_string();
    let run = |format: &str| {
        let o = pktpath(&[
            "probe",
            &world,
            "--from",
            "rext",
            "--dst",
            "10.131.0.2:8081",
            "--counters",
            "rhost",
            "--counters-format",
            format,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let save = run("save");
    assert!(save.contains(
        "[1:60] -A FORWARD -d 10.131.0.2/32 -p tcp -m tcp --dport 8081 -j REJECT --reject-with icmp-port-unreachable"
    ), "{save}");
    assert!(save.contains(":OUTPUT ACCEPT [1:88]"), "{save}");
    let s = run("S");
    assert!(s.contains(
        "-A FORWARD -d 10.131.0.2/32 -p tcp -m tcp --dport 8081 -c 1 60 -j REJECT --reject-with icmp-port-unreachable"
    ), "{s}");
    assert!(s.contains("-P OUTPUT ACCEPT -c 1 88"), "{s}");
    let l = run("L");
    assert!(
        l.contains("# iptables -t filter -nvL --line-numbers"),
        "{l}"
    );
    assert!(
        l.contains("Chain OUTPUT (policy ACCEPT 1 packets, 88 bytes)"),
        "{l}"
    );
    let o = pktpath(&[
        "probe",
        &world,
        "--from",
        "rext",
        "--dst",
        "10.131.0.2:8081",
        "--counters",
        "nope",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--counters nope: no such namespace"));
}
