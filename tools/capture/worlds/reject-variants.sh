# Scenario for run.sh: reject-variants (see fixtures/reject-variants/setup.sh)
DESCRIPTION="reject-variants: every REJECT flavour (tcp-reset, icmp-host-prohibited, icmp-net-unreachable, icmp-admin-prohibited, icmp-host-unreachable, default icmp-port-unreachable) and DROP, in INPUT, FORWARD and OUTPUT, for tcp, udp and icmp echo"
TRACE_NS=rhost
DOCKER=0
NAMESPACES="
rhost host netns:rhost
rext client netns:rext
rsrv container netns:rsrv
"
probes() {
  # from rext to rhost (INPUT)
  P rext-to-rhost-tcp-8000-open         rext 10.130.0.1:8000 --note "no rule for the port: accepted by policy"
  P rext-to-rhost-tcp-8001-tcp-reset    rext 10.130.0.1:8001 --note "INPUT REJECT --reject-with tcp-reset"
  P rext-to-rhost-tcp-8002-host-prohib  rext 10.130.0.1:8002 --note "INPUT REJECT --reject-with icmp-host-prohibited (ICMP 3/10)"
  P rext-to-rhost-tcp-8003-net-unreach  rext 10.130.0.1:8003 --note "INPUT REJECT --reject-with icmp-net-unreachable (ICMP 3/0)"
  P rext-to-rhost-tcp-8004-admin-prohib rext 10.130.0.1:8004 --note "INPUT REJECT --reject-with icmp-admin-prohibited (ICMP 3/13)"
  P rext-to-rhost-tcp-8005-port-unreach rext 10.130.0.1:8005 --note "INPUT REJECT with the default icmp-port-unreachable (ICMP 3/3)"
  P rext-to-rhost-tcp-8006-drop         rext 10.130.0.1:8006 --note "INPUT DROP"
  P rext-to-rhost-tcp-8007-host-unreach rext 10.130.0.1:8007 --note "INPUT REJECT --reject-with icmp-host-unreachable (ICMP 3/1)"
  P rext-to-rhost-tcp-8009-closed       rext 10.130.0.1:8009 --note "no rule, nothing listens: the kernel's own RST"
  P rext-to-rhost-udp-5300-open         rext 10.130.0.1:5300 --proto udp --note "no rule for the port: echoed"
  P rext-to-rhost-udp-5301-port-unreach rext 10.130.0.1:5301 --proto udp --note "INPUT REJECT (icmp-port-unreachable) although a server listens"
  P rext-to-rhost-udp-5302-host-prohib  rext 10.130.0.1:5302 --proto udp --note "INPUT REJECT --reject-with icmp-host-prohibited"
  P rext-to-rhost-udp-5303-drop         rext 10.130.0.1:5303 --proto udp --note "INPUT DROP"
  P rext-to-rhost-udp-5309-closed       rext 10.130.0.1:5309 --proto udp --note "no rule, nothing listens: the kernel's own ICMP port unreachable"
  P rext-to-rhost-icmp                  rext 10.130.0.1 --proto icmp --note "INPUT REJECT of echo-request --reject-with icmp-host-prohibited"
  # from rext through rhost to rsrv (FORWARD)
  P rext-to-rsrv-tcp-8080-open          rext 10.131.0.2:8080 --note "forwarded, no rule for the port"
  P rext-to-rsrv-tcp-8081-fwd-reject    rext 10.131.0.2:8081 --note "FORWARD REJECT (icmp-port-unreachable)"
  P rext-to-rsrv-tcp-8082-fwd-host-unreach rext 10.131.0.2:8082 --note "FORWARD REJECT --reject-with icmp-host-unreachable"
  P rext-to-rsrv-udp-5300-open          rext 10.131.0.2:5300 --proto udp --note "forwarded, echoed"
  P rext-to-rsrv-udp-5301-fwd-reject    rext 10.131.0.2:5301 --proto udp --note "FORWARD REJECT (icmp-port-unreachable)"
  P rext-to-rsrv-icmp                   rext 10.131.0.2 --proto icmp --note "forwarded echo: only INPUT rejects echo-request"
  # from rhost itself (OUTPUT, and INPUT over loopback)
  P rhost-to-rsrv-tcp-8080-open         rhost 10.131.0.2:8080
  P rhost-to-rsrv-tcp-8083-out-tcp-reset rhost 10.131.0.2:8083 --note "OUTPUT REJECT --reject-with tcp-reset: the RST comes back over lo"
  P rhost-to-rsrv-tcp-8084-out-port-unreach rhost 10.131.0.2:8084 --note "OUTPUT REJECT (icmp-port-unreachable) to a local socket"
  P rhost-to-rsrv-tcp-8085-out-host-prohib rhost 10.131.0.2:8085 --note "OUTPUT REJECT --reject-with icmp-host-prohibited"
  P rhost-to-rsrv-udp-5302-out-reject   rhost 10.131.0.2:5302 --proto udp --note "OUTPUT REJECT (icmp-port-unreachable)"
  P rhost-to-rsrv-icmp-out-net-prohib   rhost 10.131.0.2 --proto icmp --note "OUTPUT REJECT of echo-request --reject-with icmp-net-prohibited"
  P rhost-to-self-tcp-8001-tcp-reset    rhost 10.130.0.1:8001 --note "INPUT REJECT --reject-with tcp-reset, reached over lo"
}
