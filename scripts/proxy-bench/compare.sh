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
#
# Usage: scripts/proxy-bench/compare.sh
# Environment: DOCKER_PROXY (path), PKTPATH (a built pktpath binary),
#   CARGO_TARGET_DIR, BULK_MIB (default 1024), RTTS (20000), CONNS (1000),
#   OUT (result directory, default a new /tmp/proxy-bench.XXXXXX).
# Every process it starts is stopped by PID at exit; every step is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
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

# run_proxy LABEL PROTO CMD...: starts CMD with docker-proxy's flags and a
# status pipe on fd 3 (as dockerd does), waits for "0", runs the load
# generator against it, stops it with SIGTERM.
run_proxy() {
    local label=$1 proto=$2
    shift 2
    local port pid i
    port=$("$LOADGEN" freeport)
    "$@" -proto "$proto" -host-ip 127.0.0.1 -host-port "$port" \
        -container-ip 127.0.0.1 -container-port "$BPORT" \
        3> >(cat >"$OUT/$label.$proto.status") 2>"$OUT/$label.$proto.stderr" &
    pid=$!
    STARTED+=("$pid")
    for i in $(seq 100); do
        [ "$(head -c1 "$OUT/$label.$proto.status" 2>/dev/null)" = 0 ] && break
        sleep 0.1
    done
    if [ "$(head -c1 "$OUT/$label.$proto.status" 2>/dev/null)" != 0 ]; then
        echo "$label ($proto) did not report started:" >&2
        cat "$OUT/$label.$proto.status" "$OUT/$label.$proto.stderr" >&2 || true
        exit 1
    fi
    echo "== $label $proto (pid $pid, 127.0.0.1:$port -> 127.0.0.1:$BPORT)" >&2
    load "$proto" "127.0.0.1:$port" --pid "$pid" --out "$OUT/$label.$proto.txt"
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

echo "== direct to the backend (no proxy)" >&2
load tcp "127.0.0.1:$BPORT" --out "$OUT/direct.tcp.txt"
load udp "127.0.0.1:$BPORT" --out "$OUT/direct.udp.txt"
for proto in tcp udp; do
    run_proxy docker-proxy "$proto" "$DOCKER_PROXY"
    run_proxy pktpath "$proto" "$PKTPATH" proxy
done

echo
echo "docker-proxy: $DOCKER_PROXY ($(dpkg-query -W -f='${Package} ${Version}' docker.io 2>/dev/null || echo 'version unknown'))"
echo "pktpath:      $PKTPATH proxy"
echo "machine:      $(nproc) cores, Linux $(uname -r); results in $OUT"
echo
"$LOADGEN" table \
    "docker-proxy=$OUT/docker-proxy.tcp.txt,$OUT/docker-proxy.udp.txt" \
    "pktpath=$OUT/pktpath.tcp.txt,$OUT/pktpath.udp.txt" \
    "direct=$OUT/direct.tcp.txt,$OUT/direct.udp.txt"
