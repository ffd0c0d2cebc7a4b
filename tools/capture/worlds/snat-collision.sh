# Scenario for run.sh: snat-collision (see fixtures/snat-collision/setup.sh)
DESCRIPTION="snat-collision: two containers behind docker0's MASQUERADE connect to ext with the same source port; the second connection's NAT mapping collides with the first one's conntrack entry, so nf_nat picks another source port"
TRACE_NS=dh
DOCKER=1
NAMESPACES="
dh host netns:dh
alpha container container:alpha
beta container container:beta
ext client netns:ext
"
probes() {
  P alpha-to-ext-8080-sport-42000    container:alpha 10.120.0.2:8080 --sport 42000 --note "first connection: MASQUERADE keeps the source port 42000 (conntrack flushed before)"
  P beta-to-ext-8080-sport-42000    container:beta 10.120.0.2:8080 --sport 42000 --keep-conntrack --note "second connection, same source port, conntrack kept: alpha's TIME_WAIT entry owns 10.120.0.1:42000 -> 10.120.0.2:8080, so nf_nat picks another source port; the replies carry that port, which the TRACE rules (port 42000) do not match, so only beta's own packets are traced"
  P alpha-to-ext-udp-5300-sport-42100 container:alpha 10.120.0.2:5300 --proto udp --sport 42100 --note "first udp flow: MASQUERADE keeps the source port 42100 (conntrack flushed before)"
  P beta-to-ext-udp-5300-sport-42100 container:beta 10.120.0.2:5300 --proto udp --sport 42100 --keep-conntrack --note "second udp flow, same source port, conntrack kept: alpha's entry owns the mapping, so nf_nat picks another source port; the reply is not traced (its port is not 42100)"
}
# record which port nf_nat chose (from the reply tuple of beta's entry in conntrack.txt)
annotate() {
  local p port
  for p in beta-to-ext-8080-sport-42000 beta-to-ext-udp-5300-sport-42100; do
    port=$(grep 'src=172.17.0.3 ' "$RAW/conntrack-$p.txt" | sed -E 's/.* src=10\.120\.0\.2 dst=10\.120\.0\.1 sport=[0-9]+ dport=([0-9]+).*/\1/' | head -1)
    NOTE "$p" "captured: nf_nat chose source port ${port:-?} for beta this time (the choice is random: nf_nat_l4proto_unique_tuple starts at a random offset; see the reply tuple in conntrack.txt)"
  done
}
