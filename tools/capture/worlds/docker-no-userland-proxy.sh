# Scenario for run.sh: docker-no-userland-proxy (see fixtures/docker-no-userland-proxy/setup.sh)
DESCRIPTION="docker-no-userland-proxy: dockerd --userland-proxy=false; web (httpd :80, -p 8080:80) and an idle client on docker0; every published-port path is pure NAT"
TRACE_NS=dh
DOCKER=1
NAMESPACES="
dh host netns:dh
web container container:web
client container container:client
ext client netns:ext
"
probes() {
  P host-to-localhost-8080       dh 127.0.0.1:8080 --note "no docker-proxy: nat OUTPUT DNATs 127.0.0.1 too (route_localnet on docker0) and POSTROUTING masquerades the local source"
  P host-to-hostip-8080          dh 10.120.0.1:8080 --note "nat OUTPUT DNAT"
  P host-to-bridgeip-8080        dh 172.17.0.1:8080 --note "nat OUTPUT DNAT on the bridge address"
  P web-to-hostip-8080           container:web 10.120.0.1:8080 --note "hairpin NAT: the container reaches its own published port; DNAT back to itself and the per-port MASQUERADE rule (-s C -d C --dport 80)"
  P client-to-hostip-8080        container:client 10.120.0.1:8080 --note "another container through the host address: DNAT in PREROUTING (no ! -i docker0 exclusion without the proxy)"
  P client-to-bridgeip-8080      container:client 172.17.0.1:8080 --note "another container through the bridge address"
  P ext-to-hostip-8080           ext 10.120.0.1:8080 --note "published port from outside"
  P ext-to-hostip-8081-closed    ext 10.120.0.1:8081 --note "not published, nothing listens"
  P web-to-ext-8080              container:web 10.120.0.2:8080 --note "outbound through MASQUERADE"
}
