# Scenario for run.sh: ip-forward-off (see fixtures/ip-forward-off/setup.sh)
DESCRIPTION="ip-forward-off: a router namespace with net.ipv4.ip_forward = 0 between a client and a server; probes through it (dropped silently) and to its own addresses (answered)"
TRACE_NS=frouter
DOCKER=0
NAMESPACES="
frouter host netns:frouter
fclient client netns:fclient
fserver container netns:fserver
"
probes() {
  P client-to-server-tcp-8080   fclient 10.141.0.2:8080 --note "forwarding is off in frouter: the route lookup for a packet to forward fails and ip_error() sends no ICMP because forwarding is disabled on the input device"
  P client-to-server-udp-5300   fclient 10.141.0.2:5300 --proto udp --note "dropped at the routing decision in frouter, no ICMP error"
  P client-to-server-icmp       fclient 10.141.0.2 --proto icmp --note "dropped at the routing decision in frouter, no ICMP error"
  P client-to-router-tcp-8080   fclient 10.140.0.1:8080 --note "the router's own address on the client side: local delivery, no forwarding needed"
  P client-to-router-udp-5300   fclient 10.140.0.1:5300 --proto udp
  P client-to-router-icmp       fclient 10.140.0.1 --proto icmp
  P client-to-router-far-tcp-8080 fclient 10.141.0.1:8080 --note "the router's address on its other interface: still a local address (weak host model), delivered without forwarding"
  P client-to-router-far-udp-5300 fclient 10.141.0.1:5300 --proto udp --note "the datagram is delivered, but the echo server (unconnected socket on 0.0.0.0) answers from 10.140.0.1, the address routing picks toward the client; the client's connected socket does not accept it and fclient sends ICMP port unreachable back: timeout"
  P client-to-router-far-icmp   fclient 10.141.0.1 --proto icmp
  P client-to-router-udp-5301-closed fclient 10.140.0.1:5301 --proto udp --note "nothing listens: the router answers ICMP port unreachable"
  P server-to-client-tcp-8080   fserver 10.140.0.2:8080 --note "the other direction is not forwarded either (and nothing listens in fclient)"
}
