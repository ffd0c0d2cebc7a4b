#!/bin/sh
# Captures this world from a real kernel (run as root; touches only a namespace it creates).
# Address forms whose kernel-derived routes the loader must reproduce: secondary addresses,
# noprefixroute, /31, /32, a point-to-point peer, an interface that is down, a bridge port
# in hairpin mode; policy rules of every supported kind; ss rows of every address form.
set -eu
N=pktpath-world-capture-$$
OUT=$(dirname "$0")/ns/n1
mkdir -p "$OUT"
ip netns add "$N"
PY=
cleanup() { [ -n "$PY" ] && kill "$PY" 2>/dev/null; ip netns del "$N"; }
trap cleanup EXIT
x() { ip -n "$N" "$@"; }
x link set lo up
x link add d0 type veth peer name d1
x link add br0 type bridge
x link add d2 type veth peer name d3
x link set d3 master br0
x link set d3 type bridge_slave hairpin on
x addr add 10.9.9.9/24 dev d0
x addr add 10.9.9.10/24 dev d0
x addr add 10.8.0.1/32 dev d0
x addr add 10.7.0.1/24 brd + dev d0 noprefixroute
x addr add 10.6.0.1/31 dev d0
x addr add 10.5.0.1 peer 10.5.0.2 dev d0
x addr add 10.4.0.1/24 dev d1
x addr add 10.3.0.1/16 dev br0
for d in d0 br0 d2 d3; do x link set "$d" up; done
x route add default via 10.9.9.1
x route add 10.60.0.0/16 via 10.9.9.1 metric 50 table 100
x route add blackhole 10.70.0.0/16 table 1000
x route add unreachable 10.50.0.0/16
x route add throw 10.90.0.0/16 table 100
x route add prohibit 10.91.0.0/16
x rule add from 10.0.0.0/8 to 192.168.1.1 iif d0 fwmark 0x1/0xff table 100 pref 100
x rule add not from 10.1.0.0/16 oif d0 fwmark 0x2 prohibit pref 101
x rule add from 10.2.0.1 blackhole pref 102
x rule add to 10.3.0.0/16 unreachable pref 103
x rule add from all lookup 253 pref 104
x rule add from all lookup 1000 pref 105
ip netns exec "$N" python3 "$(dirname "$0")/sockets.py" & PY=$!
sleep 2
x -j addr show > "$OUT/ip-addr.json"
x -j -d link show > "$OUT/ip-link.json"
x -j route show table all > "$OUT/ip-route.json"
x -j rule show > "$OUT/ip-rule.json"
ip netns exec "$N" ss -lntup > "$OUT/ss.txt"
