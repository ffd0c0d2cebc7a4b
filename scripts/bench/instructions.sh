#!/usr/bin/env bash
# instructions.sh: instructions executed per new flow in the kube-proxy bench
# (crates/engine/benches/new_flows.rs), counted by valgrind's callgrind inside
# `KubeBench::prerouting` / `KubeBench::ip_rcv` only (setup excluded). Unlike the
# criterion rates, the count does not depend on what else the machine is doing, so it is
# the number to compare before/after an engine change. Takes a minute or two (the
# ruleset is parsed under valgrind).
#
# Usage: scripts/bench/instructions.sh [prerouting|ip_rcv|prerouting_unindexed ...]
# Environment: CARGO_TARGET_DIR (default <repo>/target), PKTPATH_BENCH_DST.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind" >&2; exit 1; }
benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(prerouting ip_rcv)

exe=$(cd "$repo" && cargo bench -q -p pktpath-engine --bench new_flows --no-run --message-format=json 2>/dev/null |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "new_flows":
        print(m["executable"])')
[ -x "$exe" ] || { echo "instructions.sh: bench executable not found" >&2; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for b in "${benches[@]}"; do
    fn=$b
    valgrind --tool=callgrind --toggle-collect="new_flows::KubeBench::$fn" \
        --callgrind-out-file="$out/$b.cg" "$exe" --bench --profile-time 1 "kube_proxy_[^/]*/$b/" \
        >"$out/$b.log" 2>&1 || { cat "$out/$b.log" >&2; exit 1; }
    python3 - "$out/$b.cg" "$fn" "$b" <<'EOF'
import re, sys
path, fn, bench = sys.argv[1:]
names, calls, total, callee = {}, 0, None, ""
for line in open(path):
    m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
    if m:
        kind, i, name = m.groups()
        if name:
            names[i] = name
        if kind == "cfn":
            callee = names.get(i, "")
        continue
    m = re.match(r"calls=(\d+)", line)
    if m and callee.endswith("KubeBench::" + fn):
        calls += int(m.group(1))
        continue
    m = re.match(r"(?:totals|summary): (\d+)", line)
    if m:
        total = int(m.group(1))
if not calls or total is None:
    sys.exit(f"instructions.sh: no calls of KubeBench::{fn} recorded")
print(f"{bench}: {total / calls:,.0f} instructions per flow ({calls:,} flows)")
EOF
done
