#!/bin/bash
# Record the state of one namespace (or of the Docker engine) into the raw capture layout.
#
# usage: capture.sh RAW_DIR NAME netns:NS          namespace made with `ip netns add NS`
#        capture.sh RAW_DIR NAME container:CNAME   a Docker container's network namespace
#        capture.sh RAW_DIR --docker               docker inspect / docker ps of the engine
#
# Writes RAW_DIR/ns/NAME/: iptables-save.txt, nft-ruleset.txt, ip-addr.json, ip-link.json,
# ip-route.json, ip-rule.json, sysctl.txt, ss.txt (the world snapshot files), plus
# processes.json (the listening sockets of ss with each process's /proc/PID/cmdline, read
# while the processes live) and iptables-legacy-save.txt if legacy rules exist.
# Run it BEFORE the probes: probe.py's TRACE rules create the raw table and its
# PREROUTING/OUTPUT base chains, which would otherwise show up in nft-ruleset.txt.
# Extends /work/shared/fixtures/_capture/capture.sh (same commands, every namespace).
set -eu
export DOCKER_HOST=unix:///tmp/dockerd/sock
DOCKER=/usr/bin/docker; [ -x $DOCKER ] || DOCKER=docker
RAW=$1; shift
if [ "$1" = --docker ]; then
  python3 - "$RAW" "$DOCKER" <<'PY'
import json, subprocess, sys
d, docker = sys.argv[1], sys.argv[2]
def j(args):
    out = subprocess.check_output(args, text=True)
    return json.loads(out) if out.strip() else []
ids = subprocess.check_output([docker, "ps", "-aq"], text=True).split()
nets = subprocess.check_output([docker, "network", "ls", "-q"], text=True).split()
res = {
    "containers": j([docker, "inspect"] + ids) if ids else [],
    "networks": j([docker, "network", "inspect"] + nets) if nets else [],
}
json.dump(res, open(f"{d}/docker-inspect.json", "w"), indent=2)
PY
  $DOCKER ps -a --no-trunc > "$RAW/docker-ps.txt"
  $DOCKER version > "$RAW/docker-version.txt" 2>&1 || true
  echo "captured docker state into $RAW"
  exit 0
fi
NAME=$1; TARGET=$2
D="$RAW/ns/$NAME"
mkdir -p "$D"
case "$TARGET" in
  netns:*) X="ip netns exec ${TARGET#netns:}" ;;
  container:*)
    pid=$($DOCKER inspect -f '{{.State.Pid}}' "${TARGET#container:}")
    X="nsenter --net=/proc/$pid/ns/net" ;;
  *) echo "bad target $TARGET (netns:NS or container:NAME)" >&2; exit 2 ;;
esac
$X iptables-save > "$D/iptables-save.txt"
$X nft list ruleset > "$D/nft-ruleset.txt" 2>/dev/null || true
leg=$($X iptables-legacy-save 2>/dev/null || true)
[ -n "$leg" ] && echo "$leg" > "$D/iptables-legacy-save.txt"
$X ip -j -p addr show > "$D/ip-addr.json"
$X ip -j -p route show table all > "$D/ip-route.json"
$X ip -j -p rule show > "$D/ip-rule.json"
$X ip -j -p -d link show > "$D/ip-link.json"
{
  $X sysctl net.ipv4.ip_forward net.ipv4.conf.all.route_localnet
  $X sysctl net.bridge.bridge-nf-call-iptables 2>&1 || true
  echo "# --- all ipv4 per-interface forwarding/route_localnet/rp_filter and net.bridge.* in $NAME ---"
  $X sysctl -a -r '^net\.(ipv4\.conf\..*\.(route_localnet|forwarding|rp_filter)|bridge\..*|ipv4\.ip_forward)$' 2>/dev/null || true
} > "$D/sysctl.txt"
$X ss -lntup > "$D/ss.txt"
python3 - "$D" <<'PY'
import json, re, sys
d = sys.argv[1]
procs = []
for line in open(f"{d}/ss.txt").read().splitlines()[1:]:
    f = line.split()
    if len(f) < 5:
        continue
    proto, local = f[0], f[4]
    for comm, pid in re.findall(r'\("([^"]+)",pid=(\d+),', line):
        try:
            argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
            cmd = " ".join(x.decode() for x in argv if x)
        except OSError:
            cmd = None
        procs.append({"proto": proto, "local": local, "comm": comm, "pid": int(pid), "cmdline": cmd})
json.dump(procs, open(f"{d}/processes.json", "w"), indent=2)
PY
echo "captured $NAME ($TARGET) into $D"
