//! Every kernel trace under shared/fixtures parses, and renders back byte for byte.

mod common;

use pktpath_trace::{parse, render, XtLine};

#[test]
fn all_fixture_traces_round_trip() {
    let traces = common::fixture_traces();
    // The fixtures README lists 5 worlds with 49 probes, each with a trace.txt.
    assert_eq!(traces.len(), 49, "expected the 49 fixture traces");
    for (file, text) in &traces {
        let lines = parse(text, file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            lines.len(),
            text.lines().count(),
            "{file}: one XtLine per line"
        );
        let rendered = render(&lines);
        if rendered != *text {
            let (n, (want, got)) = text
                .lines()
                .zip(rendered.lines())
                .enumerate()
                .find(|(_, (a, b))| a != b)
                .expect("same lines but different text");
            panic!(
                "{file}:{}: render differs\n want: {want:?}\n  got: {got:?}",
                n + 1
            );
        }
    }
}

/// Each line's Display is the line itself (what the engine uses to print one line).
#[test]
fn each_line_displays_as_printed() {
    for (file, text) in common::fixture_traces() {
        let lines = parse(&text, &file).unwrap();
        for (line, parsed) in text.lines().zip(&lines) {
            assert_eq!(parsed.to_string(), line, "{file}");
        }
    }
}

/// What the fixtures contain, counted independently of the parser with plain string
/// matching, checked against the parsed model.
#[test]
fn parsed_fields_agree_with_plain_text_counts() {
    for (file, text) in common::fixture_traces() {
        let lines = parse(&text, &file).unwrap();
        let count = |pred: &dyn Fn(&&XtLine) -> bool| lines.iter().filter(pred).count();
        let packets = text.lines().filter(|l| l.starts_with("PACKET: ")).count();
        assert_eq!(
            count(&|l| matches!(l, XtLine::Packet(_))),
            packets,
            "{file}"
        );
        let loopback = text.lines().filter(|l| l.contains(" LOOPBACK ")).count();
        assert_eq!(
            count(
                &|l| matches!(l, XtLine::Packet(p) if p.link == Some(pktpath_trace::LinkLayer::Loopback))
            ),
            loopback,
            "{file}"
        );
        let policies = text.lines().filter(|l| l.contains(":policy:")).count();
        assert_eq!(
            count(
                &|l| matches!(l, XtLine::Trace(t) if matches!(t.kind, pktpath_trace::TraceKind::Policy(_)))
            ),
            policies,
            "{file}"
        );
    }
}
