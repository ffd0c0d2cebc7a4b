//! compare(): handles and trace ids are ignored; the first divergence is reported.

mod common;

use pktpath_trace::{compare, first_packet, parse};

const CB: &str = "docker-memcached-circuit-breaker/ext-to-hostip-11211";

#[test]
fn same_trace_with_other_handles_and_trace_ids_matches() {
    let (file, text) = common::fixture_trace(CB);
    let expected = first_packet(&parse(&text, &file).unwrap());
    // Our rule handles and trace ids differ from the kernel's.
    let ours = text
        .replace("rule:0x17:", "rule:0x3:")
        .replace("rule:0x12:", "rule:0x1f:")
        .replace("088a4fd0", "00000001")
        .replace("70575024", "00000002");
    let got = first_packet(&parse(&ours, "ours").unwrap());
    let diff = compare(&expected, &got);
    assert!(diff.is_match(), "{diff}");
    assert_eq!(diff.to_string(), "traces match (9 steps)");
}

/// With REJECT missing from DOCKER-USER (the world without the circuit breaker) the SYN goes
/// on through DOCKER-USER's RETURN. Both worlds' probes used different client ports, so the
/// capture's TRACE rule differs in step 1: that is a real divergence and it is reported.
#[test]
fn different_world_diverges_at_first_step() {
    let (f1, t1) = common::fixture_trace(CB);
    let (f2, t2) = common::fixture_trace("docker-memcached/ext-to-hostip-11211");
    let expected = first_packet(&parse(&t1, &f1).unwrap());
    let got = first_packet(&parse(&t2, &f2).unwrap());
    let diff = compare(&expected, &got);
    assert!(!diff.is_match());
    insta::assert_snapshot!(diff.to_string(), @r"
    traces diverge at step 1 (expected 9 steps, got 11)
      step   1  expected: raw:PREROUTING:rule:CONTINUE  -4 -t raw -A PREROUTING -p tcp -m tcp --sport 41011 -j TRACE
      step   1  got:      raw:PREROUTING:rule:CONTINUE  -4 -t raw -A PREROUTING -p tcp -m tcp --sport 41000 -j TRACE
    ");
}

/// Same client port: the traces agree up to FORWARD's jump to DOCKER-USER; then the REJECT
/// world sends an ICMP error (raw OUTPUT) where the plain world returns from DOCKER-USER.
#[test]
fn reject_vs_return_diverges_after_the_jump() {
    let (f1, t1) = common::fixture_trace(CB);
    let (f2, t2) = common::fixture_trace("docker-memcached/ext-to-hostip-11211");
    let expected = first_packet(&parse(&t1, &f1).unwrap());
    let got = first_packet(&parse(&t2.replace("41000", "41011"), &f2).unwrap());
    let diff = compare(&expected, &got);
    let d = diff.divergence.as_ref().unwrap();
    assert_eq!(d.index, 5);
    insta::assert_snapshot!(diff.to_string(), @r"
    traces diverge at step 6 (expected 9 steps, got 11)
      step   4  (same) nat:DOCKER:rule:ACCEPT  -4 -t nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport 11211 -j DNAT --to-destination 172.17.0.2:11211
      step   5  (same) filter:FORWARD:rule:JUMP:DOCKER-USER  -4 -t filter -A FORWARD -j DOCKER-USER
      step   6  expected: raw:OUTPUT:rule:CONTINUE  -4 -t raw -A OUTPUT -p icmp -j TRACE
      step   6  got:      filter:DOCKER-USER:rule:0xfffffffb  -4 -t filter -A DOCKER-USER -j RETURN
    ");
}

#[test]
fn shorter_trace_diverges_where_it_ends() {
    let (file, text) = common::fixture_trace(CB);
    let expected = first_packet(&parse(&text, &file).unwrap());
    let got = &expected[..8];
    let diff = compare(&expected, got);
    let d = diff.divergence.as_ref().unwrap();
    assert_eq!((d.index, d.got.is_none()), (8, true));
    insta::assert_snapshot!(diff.to_string(), @r"
    traces diverge at step 9 (expected 9 steps, got 8)
      step   7  (same) raw:OUTPUT:policy:ACCEPT
      step   8  (same) filter:OUTPUT:policy:ACCEPT
      step   9  expected: filter:DOCKER-USER:rule:DROP  -4 -t filter -A DOCKER-USER -d 172.17.0.2/32 -j REJECT --reject-with icmp-port-unreachable
      step   9  got:      (trace ended)
    ");
    // And the other way round.
    let diff = compare(got, &expected);
    assert_eq!(diff.divergence.unwrap().expected, None);
}

#[test]
fn empty_traces_match() {
    assert!(compare(&[], &[]).is_match());
}
