//! Broken inputs (tests/broken/*.txt): each must fail with a clear error at the right
//! file:line:col; the snapshot pins our position and message. The real iptables-restore
//! 1.8.9 refuses all of them too. (A quote left open is no error: iptables-restore takes
//! the rest of the line, newline included, into the argument; see
//! tests/oracle/files/quote-*.txt.)

use pktpath_rules::parse_save;

#[test]
fn broken_inputs() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/broken"));
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    let mut report = String::new();
    for name in names {
        let text = std::fs::read_to_string(dir.join(&name)).unwrap();
        match parse_save(&text, &name) {
            Ok(_) => panic!("{name} parsed, but it is broken"),
            Err(e) => report.push_str(&format!("{e}\n")),
        }
    }
    insta::assert_snapshot!(report);
}
