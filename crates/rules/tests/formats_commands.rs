//! Scripts of `iptables` commands (tests/formats_data/commands/), applied by us and run by
//! the real iptables 1.8.9 (nf_tables) in a scratch network namespace (with `sudo` as a
//! no-op): the scripts in ok/ must leave the same ruleset as iptables-save shows, and each
//! script in fail/ must fail at the same line as it does for real.

mod formats_common;

use formats_common::Netns;
use pktpath_rules::formats::apply_script;
use pktpath_rules::{print_ruleset, Ruleset};
use std::path::{Path, PathBuf};

fn scripts(sub: &str) -> Vec<PathBuf> {
    let dir = formats_common::data_dir().join("commands").join(sub);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Run `script` with bash in `ns`: Ok(iptables-save) or Err(line that failed, stderr).
fn run_real(ns: &Netns, script: &Path) -> Result<String, (u32, String)> {
    let wrapper = format!(
        "sudo() {{ \"$@\"; }}\ntrap 'echo \"FAILED_LINE $LINENO\" >&2; exit 3' ERR\nsource {}\n",
        script.display()
    );
    let out = ns.run(&["bash", "-c", &wrapper], b"");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    if let Some(k) = stderr.find("FAILED_LINE ") {
        let n: String = stderr[k + 12..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        return Err((n.parse().unwrap(), stderr));
    }
    assert!(out.status.success(), "{}: {stderr}", script.display());
    let save = ns.ok(&["iptables-save"], b"");
    Ok(save
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect())
}

fn zeroed(mut rs: Ruleset) -> Ruleset {
    for t in &mut rs.tables {
        for c in &mut t.chains {
            c.counters = Default::default();
            for r in &mut c.rules {
                r.counters = None;
            }
        }
    }
    rs
}

#[test]
fn scripts_leave_what_real_iptables_leaves() {
    for s in scripts("ok") {
        let ns = Netns::new("cmds");
        let real = run_real(&ns, &s).unwrap_or_else(|(l, e)| {
            panic!("{}: real iptables failed at line {l}: {e}", s.display())
        });
        let text = std::fs::read_to_string(&s).unwrap();
        let ours = apply_script(Ruleset::default(), &text, &s.display().to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(print_ruleset(&zeroed(ours)), real, "{}", s.display());
    }
}

#[test]
fn scripts_fail_where_real_iptables_fails() {
    let mut bad = Vec::new();
    let all = scripts("fail");
    assert!(all.len() >= 15);
    for s in &all {
        let ns = Netns::new("cmdfail");
        let real = run_real(&ns, s);
        let text = std::fs::read_to_string(s).unwrap();
        let ours = apply_script(Ruleset::default(), &text, &s.display().to_string());
        match (real, ours) {
            (Err((line, _)), Err(e)) if e.line == line => {}
            (real, ours) => bad.push(format!(
                "{}:\n   iptables: {:?}\n   ours:     {:?}",
                s.display(),
                real.map(|_| "ok")
                    .map_err(|(l, e)| (l, e.lines().next().unwrap_or("").to_string())),
                ours.map(|_| "ok").map_err(|e| e.to_string())
            )),
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
