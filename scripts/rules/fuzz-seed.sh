#!/usr/bin/env bash
# Build the seed corpora of the cargo-fuzz targets in fuzz/ from the project's real inputs:
# shared/fixtures (world snapshots captured from a real kernel), shared/corpus/real-rulesets,
# and the rules crate's test data. Writes fuzz/corpus/<target>/ (ignored by git).
# Files over 64 KiB are left out (libFuzzer mutates small inputs far faster).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SHARED="$ROOT/../shared"
C="$ROOT/fuzz/corpus"
MAX=65536
rm -rf "$C"
mkdir -p "$C"

put() { # target file [prefix-byte-octal]
  local t="$1" f="$2" p="${3:-}"
  [ -f "$f" ] || return 0
  [ "$(stat -c %s "$f")" -le "$MAX" ] || return 0
  mkdir -p "$C/$t"
  local name; name="$(printf '%s%s' "$p" "$f" | sha1sum | cut -c1-16)"
  if [ -n "$p" ]; then
    { printf "\\$p"; cat "$f"; } > "$C/$t/$name"
  else
    cp "$f" "$C/$t/$name"
  fi
}

shopt -s nullglob
saves=("$SHARED"/fixtures/*/ns/*/iptables-save.txt "$ROOT"/fixtures/*/ns/*/iptables-save.txt
       "$SHARED"/corpus/real-rulesets/* "$ROOT"/crates/rules/tests/broken/*.txt
       "$ROOT"/crates/rules/tests/formats_data/validate/*.rules)
for f in "${saves[@]}"; do
  put save_strict "$f"; put save_lenient "$f"; put restore_test "$f"; put world_text "$f" 002
done
# One rule per input.
mkdir -p "$C/rule_args"
cat "$SHARED"/fixtures/*/ns/*/iptables-save.txt "$ROOT"/crates/rules/tests/oracle/cases.txt 2>/dev/null \
  | grep -- '^-A ' | sort -u | head -2000 | while IFS= read -r l; do
      printf '%s' "$l" > "$C/rule_args/$(printf '%s' "$l" | sha1sum | cut -c1-16)"
    done
for f in "$ROOT"/crates/rules/tests/formats_data/commands/*/*.sh; do put commands "$f"; done
grep -h 'iptables -' "$SHARED"/seeds/*.txt | head -200 > "$C/seed-commands.tmp" || true
put commands "$C/seed-commands.tmp"; rm -f "$C/seed-commands.tmp"
for f in "$ROOT"/crates/rules/tests/formats_data/listing/*.S; do put list_rules "$f"; done
for f in "$ROOT"/crates/rules/tests/formats_data/listing/*.{nvL,nL,vL}; do put listing "$f"; done
for w in "$SHARED"/fixtures/*/ "$ROOT"/fixtures/*/; do
  put world_toml "$w/world.toml"
  for ns in "$w"/ns/*/; do
    put world_json "$ns/ip-addr.json" 000
    put world_json "$ns/ip-link.json" 001
    put world_json "$ns/ip-route.json" 002
    put world_json "$ns/ip-rule.json" 003
    put world_text "$ns/ss.txt" 000
    put world_text "$ns/sysctl.txt" 001
  done
  for t in "$w"/probes/*/trace.txt; do put xtmon_trace "$t"; done
done
for d in "$C"/*/; do echo "$(basename "$d"): $(ls "$d" | wc -l) inputs"; done
