# Scenario for run.sh: kube-proxy-clusterip (see fixtures/kube-proxy-clusterip/setup.sh)
DESCRIPTION="kube-proxy-clusterip: a node with bridge cni0 (br_netfilter, hairpin on), pods pod-a/pod-b/client, and kube-proxy v1.28-style iptables rules for two ClusterIP services (one endpoint with NodePort 30080, two endpoints with statistic random 0.5) and one service without endpoints"
TRACE_NS=knode
DOCKER=0
NAMESPACES="
knode host netns:knode
pod-a container netns:pod-a
pod-b container netns:pod-b
client container netns:client
kext client netns:kext
"
probes() {
  P client-to-clusterip-web-80   client 10.96.0.10:80 --note "pod to ClusterIP: routed to cni0's address, DNAT in nat PREROUTING to 10.244.0.2:8080, forwarded back out cni0; no masquerade (source is in the cluster CIDR)"
  P node-to-clusterip-web-80     knode 10.96.0.10:80 --note "OUTPUT path: DNAT in nat OUTPUT, the source 10.150.0.1 is outside 10.244.0.0/16, so KUBE-MARK-MASQ and MASQUERADE --random-fully to 10.244.0.1"
  P pod-a-to-clusterip-web-80    pod-a 10.96.0.10:80 --note "hairpin: the only endpoint is pod-a itself; KUBE-SEP marks it for masquerade (-s 10.244.0.2) and the bridge sends it back out the port it came in on, which works because hairpin mode is on (as the bridge CNI plugin's hairpinMode sets it)"
  P ext-to-nodeport-30080        kext 10.150.0.1:30080 --note "NodePort: KUBE-SERVICES' last rule (dst-type LOCAL) -> KUBE-NODEPORTS -> KUBE-EXT (mark for masquerade) -> KUBE-SVC -> KUBE-SEP DNAT; MASQUERADE --random-fully to 10.244.0.1, so the pod's replies go to a random port and are not traced"
  P client-to-nodeip-30080       client 10.150.0.1:30080 --note "NodePort on the node's address from a pod"
  P node-to-localhost-30080      knode 127.0.0.1:30080 --note "NodePort on localhost: works because kube-proxy sets route_localnet=1; KUBE-FIREWALL only drops non-loopback sources to 127.0.0.0/8"
  P client-to-clusterip-lb-80-1  client 10.96.0.11:80 --note "two endpoints, statistic --mode random --probability 0.5: the chosen endpoint is random"
  P client-to-clusterip-lb-80-2  client 10.96.0.11:80 --note "same as -1, another random draw"
  P client-to-clusterip-empty-80 client 10.96.0.12:80 --note "service without endpoints: filter KUBE-SERVICES REJECT (icmp-port-unreachable) from the FORWARD chain"
  P client-to-clusterip-web-81-closed client 10.96.0.10:81 --note "a port the ClusterIP does not serve: no rule matches, the node routes 10.96.0.10 by its default route to kext, which does not forward: nothing comes back"
  P ext-to-nodeport-30081-closed kext 10.150.0.1:30081 --note "not a NodePort, nothing listens: the node's RST"
}
# record which endpoint statistic picked
annotate() {
  local p ep
  for p in client-to-clusterip-lb-80-1 client-to-clusterip-lb-80-2; do
    ep=$(grep -oE 'src=10\.244\.0\.[0-9]+ dst=10\.244\.0\.4 sport=8080' "$RAW/conntrack-$p.txt" | head -1 | sed -E 's/src=([0-9.]+) .*/\1/')
    NOTE "$p" "captured: statistic picked ${ep:-?}:8080 this time (see conntrack.txt)"
  done
}
