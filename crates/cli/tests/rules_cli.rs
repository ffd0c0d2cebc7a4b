//! `pktpath rules validate` and `pktpath rules convert` as a user runs them: exit codes,
//! error positions, and conversions of a fixture world's ruleset (the printers themselves
//! are checked against the real iptables in crates/rules/tests/formats_*.rs).

use std::process::Command;

fn pktpath(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pktpath"))
        .args(args)
        .output()
        .expect("run pktpath");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn shared(rel: &str) -> String {
    format!("{}/../../../shared/{rel}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn validate_accepts_with_status_0() {
    let (code, out, _) = pktpath(&[
        "rules",
        "validate",
        &shared("corpus/real-rulesets/Contrived__iptables-save"),
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("accepted"), "{out}");
}

#[test]
fn validate_refuses_with_status_2_line_and_column() {
    // iptables-restore --test: `unknown option "--something-else"`, `Error occurred at line: 12`.
    let f = shared("corpus/real-rulesets/Parser_Test__data__iptables-save");
    let (code, _, err) = pktpath(&["rules", "validate", &f]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("{f}:12:55: unknown option `--something-else`")),
        "{err}"
    );
    assert!(err.contains(" 12 | -A FORWARD"), "{err}");
}

#[test]
fn convert_save_to_s_and_back() {
    let f = shared("fixtures/docker-memcached/ns/dh/iptables-save.txt");
    let (code, s, err) = pktpath(&[
        "rules", "convert", &f, "--from", "save", "--to", "S", "--table", "nat",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(s.starts_with("-P PREROUTING ACCEPT\n"), "{s}");
    assert!(s.contains("-A DOCKER ! -i docker0 -p tcp -m tcp --dport 11211 -j DNAT --to-destination 172.17.0.2:11211\n"));
    let dir = std::env::temp_dir().join(format!("pktpath-rules-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sf = dir.join("nat.S");
    std::fs::write(&sf, &s).unwrap();
    let (code, save, err) = pktpath(&[
        "rules",
        "convert",
        sf.to_str().unwrap(),
        "--from",
        "S",
        "--table",
        "nat",
    ]);
    assert_eq!(code, 0, "{err}");
    let want: String = std::fs::read_to_string(&f)
        .unwrap()
        .split("*nat")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| *l != "COMMIT")
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(save, format!("*nat{want}COMMIT\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn convert_listing_reports_what_it_cannot_recover() {
    let dir = std::env::temp_dir().join(format!("pktpath-rules-cli-l-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lf = dir.join("forward.L");
    // Seed 000's FORWARD listing, as `iptables -nv -L FORWARD` printed it.
    std::fs::write(
        &lf,
        "Chain FORWARD (policy ACCEPT 0 packets, 0 bytes)\n pkts bytes target     prot opt in     out     source               destination\n 237M   23G DOCKER-USER  all  --  *      *       0.0.0.0/0            0.0.0.0/0\n 102M 9905M ACCEPT     all  --  *      docker0  0.0.0.0/0            0.0.0.0/0            ctstate RELATED,ESTABLISHED\n",
    )
    .unwrap();
    let (code, save, err) = pktpath(&["rules", "convert", lf.to_str().unwrap(), "--from", "L"]);
    assert_eq!(code, 0, "{err}");
    assert!(save.contains("-A FORWARD -j DOCKER-USER\n"), "{save}");
    assert!(
        save.contains(
            "-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
        ),
        "{save}"
    );
    assert!(err.contains("rounded"), "{err}");
    assert!(
        err.contains("chain `DOCKER-USER` is jumped to but not listed"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn convert_bad_commands_exit_2_with_position() {
    let dir = std::env::temp_dir().join(format!("pktpath-rules-cli-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cf = dir.join("cmds.sh");
    std::fs::write(
        &cf,
        "sudo iptables -N A\nsudo iptables -A A -p tcp --dprt 80 -j ACCEPT\n",
    )
    .unwrap();
    let (code, _, err) = pktpath(&[
        "rules",
        "convert",
        cf.to_str().unwrap(),
        "--from",
        "commands",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cmds.sh:2:27: unknown option `--dprt`"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
