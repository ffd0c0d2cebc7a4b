#!/usr/bin/env bash
# Measures `pktpath proxy` against Debian's docker-proxy (package docker.io)
# under the same load, on 127.0.0.1 only, and prints both side by side:
#   TCP: bulk throughput each way (MB/s, and the proxy's CPU s per GB),
#        round-trip latency of 64-byte messages (p50/p99), memory (VmRSS)
#        and fds per idle connection over 1,000 connections, 1,000
#        concurrent echoing connections with every byte checked, fds left
#        after the clients close;
#   UDP: memory and fds per flow over 1,000 client flows, round-trip
#        latency of 64-byte datagrams.
# A "direct" column measures the backend without a proxy, for reference.
# Each of ROUNDS rounds starts every proxy afresh (the order of the two
# proxies alternates between rounds); the table shows per metric the median
# over the rounds, and the worst round for failure counts (bytes lost, fds
# left, ...).
#
# Usage: scripts/proxy-bench/compare.sh
# Environment: DOCKER_PROXY (path), PKTPATH (a built pktpath binary),
#   CARGO_TARGET_DIR, ROUNDS (default 3), BULK_MIB (1024), RTTS (20000), CONNS (1000),
#   OUT (result directory, default a new /tmp/proxy-bench.XXXXXX).
# Every process it starts is stopped by PID at exit; every step is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-3}
BULK_MIB=${BULK_MIB:-1024}
RTTS=${RTTS:-20000}
CONNS=${CONNS:-1000}
OUT=${OUT:-$(mktemp -d /tmp/proxy-bench.XXXXXX)}
mkdir -p "$OUT"

find_docker_proxy() {
    local p
    for p in "${DOCKER_PROXY:-}" /usr/sbin/docker-proxy /usr/bin/docker-proxy \
        /usr/libexec/docker/docker-proxy "$(command -v docker-proxy || true)"; do
        if [ -n "$p" ] && [ -x "$p" ]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}
if ! DOCKER_PROXY=$(find_docker_proxy); then
    echo "docker-proxy not found: install it with 'apt-get install -y docker.io'" \
        "or set DOCKER_PROXY=/path/to/docker-proxy" >&2
    exit 1
fi

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
echo "== building (release) into $TARGET_DIR" >&2
(cd "$ROOT" && cargo build --release -q -p pktpath-proxy --example loadgen)
if [ -z "${PKTPATH:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -p pktpath --bin pktpath)
    PKTPATH=$TARGET_DIR/release/pktpath
fi
LOADGEN=$TARGET_DIR/release/examples/loadgen

STARTED=()
cleanup() {
    local pid
    for pid in "${STARTED[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
}
trap cleanup EXIT

# The backend: TCP and UDP on one port; it exits by itself after 30 min.
"$LOADGEN" backend --max-secs 1800 >"$OUT/backend.port" &
STARTED+=($!)
for _ in $(seq 100); do
    grep -q '^port ' "$OUT/backend.port" 2>/dev/null && break
    sleep 0.1
done
BPORT=$(awk '/^port /{print $2}' "$OUT/backend.port")
[ -n "$BPORT" ] || { echo "backend did not start" >&2; exit 1; }

# run_proxy ROUND LABEL PROTO CMD...: starts CMD with docker-proxy's flags
# and a status pipe on fd 3 (as dockerd does), waits for "0", runs the load
# generator against it, stops it with SIGTERM.
run_proxy() {
    local round=$1 label=$2 proto=$3
    shift 3
    local port pid i base="$OUT/$label.$proto.$round"
    port=$("$LOADGEN" freeport)
    "$@" -proto "$proto" -host-ip 127.0.0.1 -host-port "$port" \
        -container-ip 127.0.0.1 -container-port "$BPORT" \
        3> >(cat >"$base.status") 2>"$base.stderr" &
    pid=$!
    STARTED+=("$pid")
    for i in $(seq 100); do
        [ "$(head -c1 "$base.status" 2>/dev/null)" = 0 ] && break
        sleep 0.1
    done
    if [ "$(head -c1 "$base.status" 2>/dev/null)" != 0 ]; then
        echo "$label ($proto) did not report started:" >&2
        cat "$base.status" "$base.stderr" >&2 || true
        exit 1
    fi
    echo "== round $round: $label $proto (pid $pid, 127.0.0.1:$port -> 127.0.0.1:$BPORT)" >&2
    load "$proto" "127.0.0.1:$port" --pid "$pid" --out "$base.txt"
    kill -TERM "$pid"
    wait "$pid" || true
}

load() {
    local proto=$1 target=$2
    shift 2
    if [ "$proto" = tcp ]; then
        timeout 900 "$LOADGEN" tcp --target "$target" --bulk-mib "$BULK_MIB" \
            --rtts "$RTTS" --conns "$CONNS" --idle "$CONNS" "$@" >/dev/null
    else
        timeout 600 "$LOADGEN" udp --target "$target" --rtts "$RTTS" \
            --flows "$CONNS" "$@" >/dev/null
    fi
}

files() { # LABEL: that label's result files of every round, comma-separated
    local r out=""
    for r in $(seq "$ROUNDS"); do
        out="$out$OUT/$1.tcp.$r.txt,$OUT/$1.udp.$r.txt,"
    done
    echo "${out%,}"
}

for round in $(seq "$ROUNDS"); do
    echo "== round $round: direct to the backend (no proxy)" >&2
    load tcp "127.0.0.1:$BPORT" --out "$OUT/direct.tcp.$round.txt"
    load udp "127.0.0.1:$BPORT" --out "$OUT/direct.udp.$round.txt"
    for proto in tcp udp; do
        if [ $((round % 2)) = 1 ]; then
            run_proxy "$round" docker-proxy "$proto" "$DOCKER_PROXY"
            run_proxy "$round" pktpath "$proto" "$PKTPATH" proxy
        else
            run_proxy "$round" pktpath "$proto" "$PKTPATH" proxy
            run_proxy "$round" docker-proxy "$proto" "$DOCKER_PROXY"
        fi
    done
done

echo
echo "docker-proxy: $DOCKER_PROXY ($(dpkg-query -W -f='${Package} ${Version}' docker.io 2>/dev/null || echo 'version unknown'))"
echo "pktpath:      $PKTPATH proxy"
echo "machine:      $(nproc) cores, Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rounds:       $ROUNDS (median; worst round for failure counts); results in $OUT"
echo
"$LOADGEN" table "docker-proxy=$(files docker-proxy)" "pktpath=$(files pktpath)" \
    "direct=$(files direct)"
