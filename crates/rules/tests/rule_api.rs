//! parse_rule / print_rule on single rules, against iptables-save 1.8.9 output.

use pktpath_rules::*;

#[test]
fn docker_rule() {
    let s =
        "-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 11211 -j ACCEPT";
    let (chain, rule) = parse_rule(s, "t", 1).unwrap();
    assert_eq!(chain, "DOCKER");
    assert_eq!(rule.target, Some(Target::Accept));
    assert_eq!(print_rule(&chain, &rule), s);
}

#[test]
fn canonical_forms() {
    let cases = [
        (
            "-A X -s 10.0.0.1 -p 6 --dport 80 -j ACCEPT",
            "-A X -s 10.0.0.1/32 -p tcp -m tcp --dport 80 -j ACCEPT",
        ),
        (
            "-A X -p tcp --syn -j DROP",
            "-A X -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j DROP",
        ),
        (
            "-A X -p icmp --icmp-type echo-request -j ACCEPT",
            "-A X -p icmp -m icmp --icmp-type 8 -j ACCEPT",
        ),
        (
            "-A X -j MARK --or-mark 0x4000",
            "-A X -j MARK --set-xmark 0x4000/0x4000",
        ),
        (
            "-A X -j REJECT",
            "-A X -j REJECT --reject-with icmp-port-unreachable",
        ),
    ];
    for (input, want) in cases {
        let (chain, rule) = parse_rule(input, "t", 1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(print_rule(&chain, &rule), want);
    }
}
