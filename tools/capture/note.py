#!/usr/bin/env python3
"""Append text to a probe's note in a raw capture's probes.json.

usage: note.py RAW_DIR PROBE TEXT

Scenario files call it (as NOTE PROBE TEXT) from annotate() to record what only the
capture knows, e.g. which endpoint `statistic` picked or which port nf_nat chose.
"""
import json
import os
import sys

raw, name, text = sys.argv[1:4]
pfile = os.path.join(raw, "probes.json")
probes = json.load(open(pfile))
hit = [p for p in probes if p["name"] == name]
if not hit:
    sys.exit(f"no probe {name} in {pfile}")
p = hit[0]
p["note"] = (p["note"] + "; " + text) if p.get("note") else text
json.dump(probes, open(pfile, "w"), indent=2)
