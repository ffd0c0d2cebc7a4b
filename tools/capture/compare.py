#!/usr/bin/env python3
"""Compare the probe outcomes (and first traced packet path) of two raw captures.

usage: compare.py RAW_A RAW_B

For every probe: the outcome of each run, and whether the sequence of trace verdict
lines of the first packet (table:chain:rule-or-policy:verdict, without the trace id
and handles' packet fields) is the same. Exit code 1 if any outcome differs.
"""
import json
import os
import re
import sys


def first_packet_path(raw, name):
    p = os.path.join(raw, f"trace-{name}.txt")
    if not os.path.exists(p):
        return []
    lines = open(p).read().splitlines()
    trace_id = None
    path = []
    for l in lines:
        m = re.match(r"\s*(PACKET|TRACE): \d+ ([0-9a-f]+) (.*)", l)
        if not m:
            continue
        if trace_id is None:
            trace_id = m.group(2)
        if m.group(2) != trace_id:
            break
        if m.group(1) == "TRACE":
            path.append(m.group(3).split("  ")[0])
    return path


def main():
    a, b = sys.argv[1], sys.argv[2]
    pa = {p["name"]: p for p in json.load(open(os.path.join(a, "probes.json")))}
    pb = {p["name"]: p for p in json.load(open(os.path.join(b, "probes.json")))}
    bad = 0
    for name in pa:
        oa = pa[name]["outcome"]
        ob = pb.get(name, {}).get("outcome", "MISSING")
        same_path = first_packet_path(a, name) == first_packet_path(b, name)
        flag = "" if oa == ob else "   <-- OUTCOME DIFFERS"
        if oa != ob:
            bad += 1
        print(f"{name:45s} {oa:12s} {ob:12s} first-packet-path {'same' if same_path else 'DIFFERS'}{flag}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
