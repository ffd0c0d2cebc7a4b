#!/bin/bash
# Capture worlds and verify them: for each WORLD, run.sh WORLD (writes fixtures/WORLD),
# then a second, independent run.sh WORLD --no-world (setup.sh from scratch again), then
# compare.py on the two raw captures (outcomes must match; first-packet paths are shown).
#
# usage: capture-all.sh [WORLD ...]     (default: every tools/capture/worlds/*.sh)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
if [ $# -eq 0 ]; then
  set -- $(cd "$HERE/worlds" && ls *.sh | sed 's/\.sh$//')
fi
rc=0
for w in "$@"; do
  echo "######## $w: capture"
  bash "$HERE/run.sh" "$w" --raw "/tmp/fx-raw/$w" || { rc=1; continue; }
  echo "######## $w: verification run"
  bash "$HERE/run.sh" "$w" --raw "/tmp/fx-raw2/$w" --no-world || { rc=1; continue; }
  echo "######## $w: compare (capture vs verification)"
  python3 "$HERE/compare.py" "/tmp/fx-raw/$w" "/tmp/fx-raw2/$w" || rc=1
done
exit $rc
