#!/usr/bin/env bash
# compare.sh [SERVICES ENDPOINTS]: the kernel and pktpath on the same kube-proxy ruleset,
# side by side.
#
#   1. The ruleset: ../shared/bench/gen-kube-proxy-ruleset.py SERVICES ENDPOINTS (default
#      10000 5, 162,667 rules), cached in $CARGO_TARGET_DIR/bench-data/ (the file the
#      criterion bench reads).
#   2. The destination: the last UDP ClusterIP service of KUBE-SERVICES (port 53), so
#      that the kernel walks every dispatch rule before it.
#   3. The kernel: ../shared/bench/kernel-nat-rate.sh RULESET DST 53 N (needs root; it
#      creates and removes its own two namespaces and touches nothing else).
#   4. pktpath: `cargo bench -p pktpath-engine --bench new_flows` (criterion) on the same
#      file and destination; new flows/s = 1 / median time per flow.
#   5. Validation: `iptables-restore --test` (in a scratch namespace of ours, removed
#      afterwards) against `pktpath rules validate` on the file.
#
# Environment: N (flows the kernel measurement sends, default 50000), SKIP_KERNEL=1,
# SKIP_BENCH=1, SKIP_VALIDATE=1, BENCH_ARGS (extra criterion arguments, default
# "--warm-up-time 2 --measurement-time 10"), CARGO_TARGET_DIR (default <repo>/target).
# The machine should be idle: both measurements are wall-clock rates.
set -euo pipefail

services=${1:-10000}
endpoints=${2:-5}
n=${N:-50000}
repo=$(cd "$(dirname "$0")/../.." && pwd)
shared=$repo/../shared
target=${CARGO_TARGET_DIR:-$repo/target}
export CARGO_TARGET_DIR=$target
data=$target/bench-data
rules=$data/kube-proxy-$services-$endpoints.rules
scratch_ns=pktpath-bench-validate-$$

cleanup() { ip netns del "$scratch_ns" 2>/dev/null || true; }
trap cleanup EXIT

now_ns() { date +%s%N; }
# seconds between two now_ns readings
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }

mkdir -p "$data"
if [ ! -s "$rules" ]; then
    python3 "$shared/bench/gen-kube-proxy-ruleset.py" "$services" "$endpoints" >"$rules.tmp"
    mv "$rules.tmp" "$rules"
fi
count=$(grep -c '^-A' "$rules")
dst=$(grep -E '^-A KUBE-SERVICES -d [0-9.]+/32 -p udp ' "$rules" | tail -n 1 | awk '{print $4}')
dst=${dst%/32}
dport=53
[ -n "$dst" ] || { echo "compare.sh: no UDP service in $rules" >&2; exit 1; }
position=$(grep -E '^-A KUBE-SERVICES ' "$rules" | grep -n -- "-d $dst/32 " | cut -d: -f1)
echo "ruleset:     $rules ($count rules)"
echo "destination: $dst:$dport (KUBE-SERVICES rule $position)"
echo

kernel_with=- kernel_empty=-
if [ "${SKIP_KERNEL:-0}" != 1 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "kernel: skipped (needs root)"
    else
        out=$(bash "$shared/bench/kernel-nat-rate.sh" "$rules" "$dst" "$dport" "$n")
        echo "$out" | sed 's/^/kernel-nat-rate.sh: /'
        kernel_with=$(echo "$out" | sed -n 's/^with ruleset: .*= \([0-9]*\) pps$/\1/p')
        kernel_empty=$(echo "$out" | sed -n 's/^empty ruleset: .*= \([0-9]*\) pps$/\1/p')
    fi
fi

declare -A ours=()
if [ "${SKIP_BENCH:-0}" != 1 ]; then
    group=kube_proxy_${services}x${endpoints}
    if [ "$services $endpoints" != "10000 5" ]; then
        group=kube_proxy_custom
        export PKTPATH_BENCH_RULES=$rules
    fi
    export PKTPATH_BENCH_DST=$dst:$dport
    # shellcheck disable=SC2086
    (cd "$repo" && cargo bench -q -p pktpath-engine --bench new_flows -- \
        ${BENCH_ARGS:---warm-up-time 2 --measurement-time 10} "$group/") 2>&1 |
        grep -E '^(kube-proxy world|heap allocations|kube_proxy|  +time:|  +thrpt:)' | sed 's/^/bench: /'
    for fn in prerouting ip_rcv prerouting_unindexed; do
        est=$target/criterion/$group/$fn/${dst}_$dport/new/estimates.json
        if [ -f "$est" ]; then
            ours[$fn]=$(python3 -c 'import json,sys; print(round(1e9 / json.load(open(sys.argv[1]))["median"]["point_estimate"]))' "$est")
        fi
    done
fi

validate_kernel=- validate_ours=-
if [ "${SKIP_VALIDATE:-0}" != 1 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v iptables-restore >/dev/null; then
        ip netns add "$scratch_ns"
        t0=$(now_ns)
        ip netns exec "$scratch_ns" iptables-restore --test <"$rules"
        t1=$(now_ns)
        validate_kernel=$(elapsed "$t0" "$t1")
        ip netns del "$scratch_ns"
    fi
    (cd "$repo" && cargo build -q --release -p pktpath)
    pktpath=$target/release/pktpath
    if "$pktpath" rules --help 2>/dev/null | grep -q validate; then
        t0=$(now_ns)
        "$pktpath" rules validate "$rules"
        t1=$(now_ns)
        validate_ours=$(elapsed "$t0" "$t1")
    else
        echo "pktpath rules validate: not available in this build (skipped)"
    fi
fi

echo
printf '%-44s %14s\n' "new UDP flows through the host" "flows/s"
printf '%-44s %14s\n' "kernel, with the ruleset" "$kernel_with"
printf '%-44s %14s\n' "kernel, empty ruleset" "$kernel_empty"
printf '%-44s %14s\n' "pktpath prerouting (the kernel's work)" "${ours[prerouting]:--}"
printf '%-44s %14s\n' "pktpath ip_rcv (+ ICMP error per flow)" "${ours[ip_rcv]:--}"
printf '%-44s %14s\n' "pktpath prerouting, chain indexes off" "${ours[prerouting_unindexed]:--}"
echo
printf '%-44s %14s\n' "validating the file" "seconds"
printf '%-44s %14s\n' "iptables-restore --test" "$validate_kernel"
printf '%-44s %14s\n' "pktpath rules validate" "$validate_ours"
