# Scenario for run.sh: docker-icc-false (see fixtures/docker-icc-false/setup.sh)
DESCRIPTION="docker-icc-false: dockerd --icc=false; web (httpd :80, -p 8080:80) and udp (UDP echo :5353, -p 5353:5353/udp) on docker0"
TRACE_NS=dh
DOCKER=1
NAMESPACES="
dh host netns:dh
web container container:web
udp container container:udp
ext client netns:ext
"
probes() {
  local D=/usr/bin/docker
  local WEB UDP
  WEB=$($D inspect -f '{{.NetworkSettings.IPAddress}}' web)
  UDP=$($D inspect -f '{{.NetworkSettings.IPAddress}}' udp)
  P udp-to-web-80                container:udp $WEB:80 --note "icc=false: FORWARD -i docker0 -o docker0 -j DROP between containers of the same bridge"
  P web-to-udp-5353-udp          container:web $UDP:5353 --proto udp --note "icc=false, udp"
  P udp-to-hostip-8080           container:udp 10.120.0.1:8080 --note "icc=false does not stop a container from reaching another one's published port through the host: the DNAT rule excludes -i docker0, so docker-proxy on the host takes it and connects from 172.17.0.1"
  P ext-to-hostip-8080           ext 10.120.0.1:8080 --note "published tcp port, DNAT in nat PREROUTING"
  P ext-to-hostip-5353-udp       ext 10.120.0.1:5353 --proto udp --note "published udp port, DNAT in nat PREROUTING"
  P ext-to-hostip-5354-udp-closed ext 10.120.0.1:5354 --proto udp --note "nothing published or listening: dh answers ICMP port unreachable"
  P host-to-localhost-5353-udp   dh 127.0.0.1:5353 --proto udp --note "nat OUTPUT excludes 127.0.0.0/8: served by docker-proxy -proto udp, which relays to the container"
  P ext-to-hostip-icmp           ext 10.120.0.1 --proto icmp --note "echo to the docker host itself"
  P web-to-ext-icmp              container:web 10.120.0.2 --proto icmp --note "outbound echo through MASQUERADE"
  P web-to-ext-8080              container:web 10.120.0.2:8080 --note "outbound through MASQUERADE"
}
