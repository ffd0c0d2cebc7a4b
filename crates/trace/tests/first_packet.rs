//! first_packet() on fixture traces. Each expected snapshot was written by hand from the
//! trace file (TRACE lines up to the cut-off line, trace id and rule handle removed), after
//! checking in the file which lines belong to the first packet; the comments say what was
//! checked.

mod common;

use pktpath_trace::{first_packet, parse, TraceStep, Verdict};

fn steps(world_probe: &str) -> Vec<TraceStep> {
    let (file, text) = common::fixture_trace(world_probe);
    let lines = parse(&text, &file).unwrap_or_else(|e| panic!("{e}"));
    first_packet(&lines)
}

fn show(steps: &[TraceStep]) -> String {
    steps
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The brief's example. The first packet is the SYN `ID=13378 LEN=60 SYN` (trace id
/// 088a4fd0, PACKET lines 1, 4, 7). It is DNATed to 172.17.0.2, jumps to DOCKER-USER in
/// FORWARD, and the REJECT there sends an ICMP port unreachable (`ID=45761`, trace id
/// 70575024, lines 9-13) before its own line is printed with verdict DROP on line 14, the
/// last line of the file. So all 9 TRACE lines belong to the first packet's trace, the ICMP
/// error's four lines in the middle.
#[test]
fn reject_in_docker_user_includes_the_icmp_error() {
    let s = steps("docker-memcached-circuit-breaker/ext-to-hostip-11211");
    insta::assert_snapshot!(show(&s), @r"
    raw:PREROUTING:rule:CONTINUE  -4 -t raw -A PREROUTING -p tcp -m tcp --sport 41011 -j TRACE
    raw:PREROUTING:policy:ACCEPT
    nat:PREROUTING:rule:JUMP:DOCKER  -4 -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
    nat:DOCKER:rule:ACCEPT  -4 -t nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport 11211 -j DNAT --to-destination 172.17.0.2:11211
    filter:FORWARD:rule:JUMP:DOCKER-USER  -4 -t filter -A FORWARD -j DOCKER-USER
    raw:OUTPUT:rule:CONTINUE  -4 -t raw -A OUTPUT -p icmp -j TRACE
    raw:OUTPUT:policy:ACCEPT
    filter:OUTPUT:policy:ACCEPT
    filter:DOCKER-USER:rule:DROP  -4 -t filter -A DOCKER-USER -d 172.17.0.2/32 -j REJECT --reject-with icmp-port-unreachable
    ");
    assert_eq!(s.len(), 9);
    assert_eq!(s[8].verdict, Verdict::Drop);
}

/// REJECT in filter OUTPUT. The SYN `ID=11808` (trace id 4643886b) passes raw and nat
/// OUTPUT (lines 1-5); the REJECT's ICMP error (`ID=51879`) goes out on lo (trace id
/// cac84623, lines 6-10) and comes back in (trace id 450285c7, `LOOPBACK`, lines 11-13);
/// then the SYN's PACKET line is printed again (line 14) and the REJECT rule's DROP line
/// (line 15) ends the file.
#[test]
fn reject_in_output_includes_the_looped_back_icmp_error() {
    let s = steps("docker-memcached-circuit-breaker-output/host-to-containerip-11211");
    insta::assert_snapshot!(show(&s), @r"
    raw:OUTPUT:rule:CONTINUE  -4 -t raw -A OUTPUT -p tcp -m tcp --sport 41024 -j TRACE
    raw:OUTPUT:policy:ACCEPT
    nat:OUTPUT:policy:ACCEPT
    raw:OUTPUT:rule:CONTINUE  -4 -t raw -A OUTPUT -p icmp -j TRACE
    raw:OUTPUT:policy:ACCEPT
    filter:OUTPUT:policy:ACCEPT
    raw:PREROUTING:rule:CONTINUE  -4 -t raw -A PREROUTING -p icmp -j TRACE
    raw:PREROUTING:policy:ACCEPT
    filter:OUTPUT:rule:DROP  -4 -t filter -A OUTPUT -d 172.17.0.2/32 -j REJECT --reject-with icmp-port-unreachable
    ");
}

/// Loopback changes the trace id: the SYN `ID=11106` is 744a171b on the way out (lines
/// 1-9: raw, nat, filter OUTPUT, nat POSTROUTING) and 461ebb1b on the way in (lines 10-12,
/// `IN=lo LOOPBACK`). Neither id appears again in the 84-line file; line 13 starts the
/// SYN-ACK (`ID=0`). So the trace stops after raw PREROUTING's policy (line 12): filter
/// INPUT was never touched, so it does not exist and is not traced.
#[test]
fn loopback_keeps_identity_across_trace_ids() {
    let s = steps("docker-memcached/host-to-localhost-11211");
    insta::assert_snapshot!(show(&s), @r"
    raw:OUTPUT:rule:CONTINUE  -4 -t raw -A OUTPUT -p tcp -m tcp --sport 41003 -j TRACE
    raw:OUTPUT:policy:ACCEPT
    nat:OUTPUT:policy:ACCEPT
    filter:OUTPUT:policy:ACCEPT
    nat:POSTROUTING:policy:ACCEPT
    raw:PREROUTING:rule:CONTINUE  -4 -t raw -A PREROUTING -p tcp -m tcp --sport 41003 -j TRACE
    raw:PREROUTING:policy:ACCEPT
    ");
}

/// Forwarding changes the trace id too: the container's SYN `ID=31794` is cec73a47 in
/// PREROUTING (lines 1-5) and 4d5ca7f3 from FORWARD on (lines 6-15). Its last line is the
/// MASQUERADE in nat POSTROUTING (line 15); line 16 starts the SYN-ACK (`ID=0`), whose
/// REJECT and ICMP error come after and are not part of the first packet's trace.
/// `-j RETURN` rules show verdict 0xfffffffb.
#[test]
fn forwarded_packet_with_returns() {
    let s = steps("docker-memcached-circuit-breaker/memcached-to-ext-8080");
    insta::assert_snapshot!(show(&s), @r"
    raw:PREROUTING:rule:CONTINUE  -4 -t raw -A PREROUTING -p tcp -m tcp --sport 41018 -j TRACE
    raw:PREROUTING:policy:ACCEPT
    nat:PREROUTING:policy:ACCEPT
    filter:FORWARD:rule:JUMP:DOCKER-USER  -4 -t filter -A FORWARD -j DOCKER-USER
    filter:DOCKER-USER:rule:0xfffffffb  -4 -t filter -A DOCKER-USER -j RETURN
    filter:FORWARD:rule:JUMP:DOCKER-ISOLATION-STAGE-1  -4 -t filter -A FORWARD -j DOCKER-ISOLATION-STAGE-1
    filter:DOCKER-ISOLATION-STAGE-1:rule:JUMP:DOCKER-ISOLATION-STAGE-2  -4 -t filter -A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
    filter:DOCKER-ISOLATION-STAGE-2:rule:0xfffffffb  -4 -t filter -A DOCKER-ISOLATION-STAGE-2 -j RETURN
    filter:DOCKER-ISOLATION-STAGE-1:rule:0xfffffffb  -4 -t filter -A DOCKER-ISOLATION-STAGE-1 -j RETURN
    filter:FORWARD:rule:ACCEPT  -4 -t filter -A FORWARD -i docker0 ! -o docker0 -j ACCEPT
    nat:POSTROUTING:rule:ACCEPT  -4 -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
    ");
    assert_eq!(s[4].verdict, Verdict::Return);
}

/// Retransmissions are other packets: the SYN is sent three times with `ID=30236`, 30237
/// and 30238 (lines 1, 6, 11). The first one is DNATed (line 5) and then silently lost (the
/// bridge does not hairpin it); its trace is lines 2, 3 and 5 only.
#[test]
fn retransmissions_are_not_the_first_packet() {
    let s = steps("manual-dnat/c1-to-hostip-2345");
    insta::assert_snapshot!(show(&s), @r"
    raw:PREROUTING:rule:CONTINUE  -4 -t raw -A PREROUTING -p tcp -m tcp --sport 41073 -j TRACE
    raw:PREROUTING:policy:ACCEPT
    nat:PREROUTING:rule:ACCEPT  -4 -t nat -A PREROUTING -p tcp -m tcp --dport 2345 -j DNAT --to-destination 10.55.66.2:8000
    ");
}

/// A closed port: the SYN `ID=10257` jumps to nat DOCKER, falls off its end (an implicit
/// return prints nothing), and nat PREROUTING's policy accepts it (line 6). The RST the TCP
/// stack answers with (`ID=0 ... ACK RST`, lines 7-11) is a different packet sent after the
/// SYN's last line, so it is not part of the trace.
#[test]
fn closed_port_rst_is_not_included() {
    let s = steps("docker-memcached/ext-to-hostip-11212-closed");
    insta::assert_snapshot!(show(&s), @r"
    raw:PREROUTING:rule:CONTINUE  -4 -t raw -A PREROUTING -p tcp -m tcp --sport 41002 -j TRACE
    raw:PREROUTING:policy:ACCEPT
    nat:PREROUTING:rule:JUMP:DOCKER  -4 -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
    nat:PREROUTING:policy:ACCEPT
    ");
    assert_eq!(s[3].rule_text, None);
}

/// Trace ids are reused: 8433501b is the SYN `ID=26953` on lines 1-15, but also the
/// request `ID=26955 ... ACK PSH` (PACKET line 36, TRACE lines 37-44) and the FIN
/// `ID=26957` (line 87, TRACE lines 88-95). Those later lines have their own PACKET lines,
/// so they are attributed to their own packets and the SYN's trace ends with nat
/// POSTROUTING's policy on line 15: 11 steps (lines 2, 3, 5, 6, 8-13, 15).
#[test]
fn reused_trace_ids_are_attributed_to_their_own_packet() {
    let s = steps("docker-memcached/ext-to-hostip-11211");
    insta::assert_snapshot!(show(&s), @r"
    raw:PREROUTING:rule:CONTINUE  -4 -t raw -A PREROUTING -p tcp -m tcp --sport 41000 -j TRACE
    raw:PREROUTING:policy:ACCEPT
    nat:PREROUTING:rule:JUMP:DOCKER  -4 -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
    nat:DOCKER:rule:ACCEPT  -4 -t nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport 11211 -j DNAT --to-destination 172.17.0.2:11211
    filter:FORWARD:rule:JUMP:DOCKER-USER  -4 -t filter -A FORWARD -j DOCKER-USER
    filter:DOCKER-USER:rule:0xfffffffb  -4 -t filter -A DOCKER-USER -j RETURN
    filter:FORWARD:rule:JUMP:DOCKER-ISOLATION-STAGE-1  -4 -t filter -A FORWARD -j DOCKER-ISOLATION-STAGE-1
    filter:DOCKER-ISOLATION-STAGE-1:rule:0xfffffffb  -4 -t filter -A DOCKER-ISOLATION-STAGE-1 -j RETURN
    filter:FORWARD:rule:JUMP:DOCKER  -4 -t filter -A FORWARD -o docker0 -j DOCKER
    filter:DOCKER:rule:ACCEPT  -4 -t filter -A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 11211 -j ACCEPT
    nat:POSTROUTING:policy:ACCEPT
    ");
}

/// Every fixture has a first packet with at least the raw table's TRACE rule and policy.
#[test]
fn every_fixture_has_a_first_packet_trace() {
    for (file, text) in common::fixture_traces() {
        let s = first_packet(&parse(&text, &file).unwrap());
        assert!(s.len() >= 2, "{file}: {} steps", s.len());
        assert_eq!(s[0].table, "raw", "{file}");
        assert!(
            s[0].rule_text
                .as_deref()
                .is_some_and(|r| r.ends_with("-j TRACE")),
            "{file}"
        );
    }
}

#[test]
fn no_packet_line_means_no_first_packet() {
    let text = " TRACE: 2 0000002a raw:OUTPUT:policy:ACCEPT \n";
    assert!(first_packet(&parse(text, "t").unwrap()).is_empty());
    assert!(first_packet(&[]).is_empty());
}
