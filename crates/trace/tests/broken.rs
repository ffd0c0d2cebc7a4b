//! Broken trace files (tests/broken/*.txt) give file:line:col errors saying what was
//! expected. Columns were computed by searching the files' text (not with the parser).

use pktpath_trace::parse;

fn error_of(name: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/broken/");
    let text = std::fs::read_to_string(format!("{path}{name}")).unwrap();
    match parse(&text, name) {
        Ok(lines) => panic!("{name}: parsed as {} lines", lines.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn broken_files_report_file_line_col_and_expectation() {
    let cases = [
        (
            "no-leading-space.txt",
            "no-leading-space.txt:2:1: expected a line starting with `PACKET: ` or ` TRACE: `, \
             found `TRACE: 2 088a4fd0 raw:PR...`",
        ),
        (
            // xtables-monitor prints the policy verdict with a trailing space.
            "policy-without-trailing-space.txt",
            "policy-without-trailing-space.txt:3:42: expected a verdict followed by a space, \
             found `ACCEPT`",
        ),
        (
            "bad-ipv4.txt",
            "bad-ipv4.txt:1:110: expected an IPv4 address in dotted decimal, found `10.120.0.300`",
        ),
        (
            "short-trace-id.txt",
            "short-trace-id.txt:2:11: expected the trace id as 8 lowercase hex digits (`%08x`), \
             found `88a4fd0`",
        ),
        (
            // SYN must come before ACK: after "ACK " nothing else may follow.
            "tcp-flags-out-of-order.txt",
            "tcp-flags-out-of-order.txt:1:183: expected the next PACKET field in xtables-monitor \
             order (IN= OUT= NFPROTO= MACSRC=/LOOPBACK/LL= SRC= SPORT= with TCP flags in the \
             order SYN ACK FIN RST PSH URG, MARK=) or the end of the line, found `SYN `",
        ),
        (
            "no-final-newline.txt",
            "no-final-newline.txt:3:49: expected a newline at the end of the line",
        ),
        (
            "mac-five-bytes.txt",
            "mac-five-bytes.txt:1:35: expected a MAC address as 6 `%x` bytes separated by `:`, \
             found `66:fd:f1:e6:d8`",
        ),
        (
            "unknown-verdict.txt",
            "unknown-verdict.txt:2:44: expected a verdict (ACCEPT, DROP, QUEUE, STOLEN, BREAK, \
             CONTINUE, JUMP:<chain>, GOTO:<chain> or 0x<code>), found `MAYBE`",
        ),
        (
            // 0xac printed from a signed char is "ffffffac", never "ac".
            "ll-not-sign-extended.txt",
            "ll-not-sign-extended.txt:1:43: expected bytes as `%02x` of a signed char (`7f`, \
             `ffffff80`), found `ac1100020242ffffffac1100...`",
        ),
        (
            "empty-line.txt",
            "empty-line.txt:2:1: expected a line starting with `PACKET: ` or ` TRACE: `, \
             found end of line",
        ),
        (
            "crlf.txt",
            "crlf.txt:1:183: expected `\\n` line endings, found `\\r`",
        ),
        (
            "truncated-packet.txt",
            "truncated-packet.txt:1:71: expected the TOS followed by a space, found `0`",
        ),
        (
            "uppercase-handle.txt",
            "uppercase-handle.txt:2:42: expected the rule handle as `%x`, found `2A`",
        ),
        (
            "policy-jump.txt",
            "policy-jump.txt:2:42: expected a chain policy (`ACCEPT` or `DROP`), \
             found `JUMP:DOCKER`",
        ),
        (
            "missing-chain.txt",
            "missing-chain.txt:2:24: expected `<chain>:rule:`, `<chain>:policy:` or \
             `<chain>:return:` after the table, found `rule:0x2:CONTINUE  -4 -t...`",
        ),
        (
            "fields-out-of-order.txt",
            "fields-out-of-order.txt:1:29: expected the next PACKET field in xtables-monitor \
             order (IN= OUT= NFPROTO= MACSRC=/LOOPBACK/LL= SRC= SPORT= with TCP flags in the \
             order SYN ACK FIN RST PSH URG, MARK=) or the end of the line, \
             found `IN=eth1 SRC=10.120.0.1 D...`",
        ),
    ];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/broken");
    let on_disk = std::fs::read_dir(dir).unwrap().count();
    assert_eq!(
        on_disk,
        cases.len(),
        "every file under tests/broken has a case"
    );
    for (name, want) in cases {
        assert_eq!(error_of(name), want, "{name}");
    }
}

/// Random bytes never panic the parser (they are an error or, rarely, valid).
#[test]
fn garbage_does_not_panic() {
    use proptest::prelude::*;
    proptest!(|(s in "\\PC{0,200}")| {
        let _ = parse(&s, "garbage");
    });
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/broken/bad-ipv4.txt");
    let text = std::fs::read_to_string(fixture).unwrap();
    // Every prefix of a line (truncated output) is an error, never a panic.
    for end in 0..text.len() {
        if text.is_char_boundary(end) {
            assert!(parse(&text[..end], "prefix").is_err() || end == 0);
        }
    }
}
