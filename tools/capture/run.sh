#!/bin/bash
# Build a world on the real kernel, record it, probe it, tear it down, write the snapshot.
#
# usage: run.sh WORLD [--raw DIR] [--out DIR | --no-world]
#
#   WORLD      a folder fixtures/WORLD with setup.sh and teardown.sh, and a scenario
#              tools/capture/worlds/WORLD.sh (namespaces, roles, probes)
#   --raw DIR  where the raw capture goes (default /tmp/fx-raw/WORLD; replaced)
#   --out DIR  where the world snapshot goes (default fixtures/WORLD)
#   --no-world only capture (used for the second, verifying run; see compare.py)
#
# Steps: setup.sh; capture.sh for every namespace (before any probe, so that the TRACE
# rules' raw table is not recorded); capture.sh --docker when the scenario uses Docker;
# meta.json; the scenario's probes (probe.py, in order: rule handles in the traces
# depend on it); the scenario's optional annotate(); to_world.py; teardown.sh, which
# also runs when anything fails.
#
# A scenario file sets DESCRIPTION, TRACE_NS, DOCKER (0/1), NAMESPACES (lines
# "name role target", target netns:NS or container:NAME) and defines probes() using
# P NAME FROM DST [probe.py options]; it may define annotate() using note.py.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORLD=$1; shift
RAW=/tmp/fx-raw/$WORLD; OUT=$ROOT/fixtures/$WORLD; MAKE_WORLD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --raw) RAW=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --no-world) MAKE_WORLD=0; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
FIX=$ROOT/fixtures/$WORLD
SEED=""
annotate() { :; }
# shellcheck source=/dev/null
source "$HERE/worlds/$WORLD.sh"
rm -rf "$RAW"; mkdir -p "$RAW"
export DOCKER_HOST=unix:///tmp/dockerd/sock

cleanup() {
  if bash "$FIX/teardown.sh" > "$RAW/teardown.log" 2>&1; then
    echo "teardown done"
  else
    echo "TEARDOWN FAILED, see $RAW/teardown.log" >&2
  fi
}
trap cleanup EXIT

echo "== setup $WORLD (log: $RAW/setup.log)"
bash "$FIX/setup.sh" > "$RAW/setup.log" 2>&1 || { echo "setup failed:"; tail -20 "$RAW/setup.log"; exit 1; }
sleep 2

echo "== capture"
while read -r name role target; do
  [ -z "$name" ] && continue
  bash "$HERE/capture.sh" "$RAW" "$name" "$target" > /dev/null
done <<< "$NAMESPACES"
[ "$DOCKER" = 1 ] && bash "$HERE/capture.sh" "$RAW" --docker > /dev/null

DOCKER_VERSION=""
[ "$DOCKER" = 1 ] && DOCKER_VERSION=$(dockerd --version | sed -E 's/^Docker version ([^,]+),.*/\1/')
python3 - "$RAW" "$WORLD" "$DESCRIPTION" "$SEED" "$DOCKER_VERSION" "$NAMESPACES" <<'PY'
import json, platform, subprocess, sys
raw, world, desc, seed, dver, nss = sys.argv[1:7]
ipt = subprocess.check_output(["iptables", "-V"], text=True).strip()   # iptables v1.8.9 (nf_tables)
captured = {"kernel": f"{platform.release()} ({platform.machine()})",
            "iptables": ipt.split(" v", 1)[1]}
if dver:
    captured["docker"] = dver
namespaces = [dict(zip(("name", "role", "target"), l.split())) for l in nss.splitlines() if l.strip()]
meta = {"world": world, "description": desc, "captured": captured, "namespaces": namespaces}
if seed:
    meta["seed"] = seed
json.dump(meta, open(f"{raw}/meta.json", "w"), indent=2)
PY

echo "== probes (trace namespace $TRACE_NS)"
P() { python3 "$HERE/probe.py" "$RAW" --trace-ns "$TRACE_NS" "$@"; }
NOTE() { python3 "$HERE/note.py" "$RAW" "$@"; }
probes
annotate
if grep -q '"trace": "empty"' "$RAW/probes.json"; then
  echo "WARNING: some probes have an empty trace (see probes.json)" >&2
fi

if [ "$MAKE_WORLD" = 1 ]; then
  python3 "$HERE/to_world.py" "$RAW" "$OUT"
fi
