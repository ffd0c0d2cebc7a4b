//! `restore_test` (pktpath rules validate) against the real `iptables-restore --test`
//! (1.8.9, nf_tables), run in a scratch network namespace: every file of
//! shared/corpus/real-rulesets/ and every broken input of tests/formats_data/validate/
//! must be accepted or refused alike, and when refused, at the same line.

mod formats_common;

use formats_common::{restore_test as oracle, Netns};
use pktpath_rules::formats::restore_test;

/// Files on which we knowingly disagree, and why (a gap of the rule parser, owned by the
/// rules crate's parser; validate adds no stand-in for it). The test checks that the
/// disagreement is still exactly this one, so closing the gap makes it fail here.
const KNOWN_GAPS: &[(&str, &str)] = &[];

struct Row {
    name: String,
    ours: Result<(), (u32, u32, String)>,
    theirs: formats_common::RestoreVerdict,
}

fn compare(ns: &Netns, name: &str, bytes: &[u8]) -> Row {
    // iptables reads bytes; we read text (invalid UTF-8 becomes U+FFFD, which no valid
    // rule contains either).
    let text = String::from_utf8_lossy(bytes);
    let ours = restore_test(&text, name, false)
        .map(|_| ())
        .map_err(|e| (e.line, e.col, e.message));
    Row {
        name: name.to_string(),
        ours,
        theirs: oracle(ns, bytes),
    }
}

fn agree(r: &Row) -> bool {
    match (&r.ours, r.theirs.accepted) {
        (Ok(()), true) => true,
        (Err((line, _, _)), false) => r.theirs.line == Some(*line),
        _ => false,
    }
}

fn describe(r: &Row) -> String {
    let ours = match &r.ours {
        Ok(()) => "accept".to_string(),
        Err((l, c, m)) => format!("refuse line {l} col {c}: {m}"),
    };
    let theirs = if r.theirs.accepted {
        "accept".to_string()
    } else {
        format!(
            "refuse line {:?}: {}",
            r.theirs.line,
            r.theirs.stderr.lines().next().unwrap_or("")
        )
    };
    format!("{}\n   ours:     {ours}\n   iptables: {theirs}", r.name)
}

fn check_dir(dir: &std::path::Path, expect_count: Option<usize>, tag: &str) -> (usize, usize) {
    let ns = Netns::new(tag);
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    if let Some(n) = expect_count {
        assert_eq!(names.len(), n, "files in {}", dir.display());
    }
    let mut bad = Vec::new();
    let mut refused = 0;
    for p in &names {
        let bytes = std::fs::read(p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let row = compare(&ns, &name, &bytes);
        if !row.theirs.accepted {
            refused += 1;
        }
        let gap = KNOWN_GAPS.iter().find(|g| g.0 == name);
        match (agree(&row), gap) {
            (true, None) => {}
            (false, None) => bad.push(describe(&row)),
            (true, Some(_)) => bad.push(format!(
                "{name}: now agrees with iptables; remove it from KNOWN_GAPS"
            )),
            (false, Some((_, why))) => {
                let still = matches!(&row.ours, Err((_, _, m)) if m.contains(why));
                if !still {
                    bad.push(format!(
                        "{} (known gap `{why}` no longer the reason)",
                        describe(&row)
                    ));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} files disagree with iptables-restore --test:\n{}",
        bad.len(),
        names.len(),
        bad.join("\n")
    );
    (names.len(), refused)
}

#[test]
fn real_rulesets_agree_with_iptables_restore_test() {
    let dir = formats_common::shared_dir().join("corpus/real-rulesets");
    let (n, refused) = check_dir(&dir, Some(38), "corpus");
    // The corpus holds both kinds.
    assert!(refused > 0 && refused < n);
}

#[test]
fn broken_inputs_agree_with_iptables_restore_test() {
    let dir = formats_common::data_dir().join("validate");
    let (n, refused) = check_dir(&dir, None, "broken");
    assert!(n >= 40 && refused >= 30, "{n} files, {refused} refused");
}
