#!/usr/bin/env python3
"""Turn one raw capture (capture.sh + probe.py output) into a world snapshot folder.

usage: to_world.py RAW_DIR OUT_DIR [--allow-empty-trace]

RAW_DIR holds (written by run.sh, capture.sh and probe.py):
  meta.json                  {"world", "description", "seed"?, "captured": {...},
                              "namespaces": [{"name", "role", "target"}], "links"?: [[a, b]]}
  ns/<name>/...              capture.sh output for every namespace
  probes.json, trace-P.txt, conntrack-P.txt, curl-P.txt | client-P.txt   (probe.py)
  docker-inspect.json, docker-ps.txt                                  (capture.sh --docker)

OUT_DIR gets the layout of /work/shared/docs/world-snapshot.md: world.toml, ns/<name>/
(iptables-save.txt, nft-ruleset.txt, ip-addr.json, ip-link.json, ip-route.json,
ip-rule.json, sysctl.txt, ss.txt; empty ones are left out, as the format says a
missing file means the kernel default), probes/<probe>/ (trace.txt, conntrack.txt and
curl.txt for tcp or client.txt for udp/icmp), docker-inspect.json and docker-ps.txt.
ns/ and probes/ in OUT_DIR are replaced; other files there (setup.sh, teardown.sh,
README) are left alone.

Links: every veth pair whose two ends are in two captured namespaces, found in the
ip-link.json files (an end's `link_index` is the other end's `ifindex`, both ways);
meta.json's "links" overrides this. Processes: the IPv4 (or dual-stack `*`) listening
sockets in each namespace's ss.txt, with the command line read at capture time.
"""
import json
import os
import shutil
import sys

NS_FILES = ["iptables-save.txt", "nft-ruleset.txt", "ip-addr.json", "ip-link.json",
            "ip-route.json", "ip-rule.json", "sysctl.txt", "ss.txt", "iptables-legacy-save.txt"]


def q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def find_links(raw, names):
    veths = {}
    for n in names:
        p = os.path.join(raw, "ns", n, "ip-link.json")
        if not os.path.exists(p):
            continue
        for l in json.load(open(p)):
            kind = l.get("linkinfo", {}).get("info_kind")
            if kind == "veth" and "link_index" in l:
                veths.setdefault(n, []).append(l)
    links, used = [], set()
    for i, a in enumerate(names):
        for la in veths.get(a, []):
            if (a, la["ifname"]) in used:
                continue
            cands = []
            for b in names[i + 1:]:
                for lb in veths.get(b, []):
                    if lb["ifindex"] == la["link_index"] and lb["link_index"] == la["ifindex"] \
                            and (b, lb["ifname"]) not in used:
                        cands.append((b, lb["ifname"]))
            if len(cands) > 1:
                sys.exit(f"ambiguous veth peer for {a}:{la['ifname']}: {cands}; "
                         "give meta.json \"links\"")
            if cands:
                used.add((a, la["ifname"]))
                used.add(cands[0])
                links.append((f"{a}:{la['ifname']}", f"{cands[0][0]}:{cands[0][1]}"))
    return links


def processes(raw, n):
    p = os.path.join(raw, "ns", n, "processes.json")
    if not os.path.exists(p):
        return []
    out, seen = [], set()
    for e in json.load(open(p)):
        local = e["local"]
        if local.startswith("["):
            continue  # IPv6-only socket
        if local.startswith("*:"):
            local = "0.0.0.0:" + local[2:]
        addr, port = local.rsplit(":", 1)
        addr = addr.split("%")[0]
        key = (e["proto"], addr, port, e["comm"])
        if key in seen:
            continue
        seen.add(key)
        out.append({"name": e["comm"], "listen": f"{e['proto']}:{addr}:{port}",
                    "cmdline": e["cmdline"] or e["comm"]})
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    allow_empty = "--allow-empty-trace" in sys.argv
    raw, out = args[0], args[1]
    meta = json.load(open(os.path.join(raw, "meta.json")))
    names = [n["name"] for n in meta["namespaces"]]
    target_to_name = {n["target"]: n["name"] for n in meta["namespaces"]}
    for t, n in list(target_to_name.items()):
        target_to_name[t.split(":", 1)[1] if t.startswith("netns:") else t] = n
    probes = json.load(open(os.path.join(raw, "probes.json")))
    bad = [p["name"] for p in probes if p["outcome"] not in
           ("connected", "refused", "reset_after_connect", "timeout", "no_route")]
    if bad:
        sys.exit(f"probes with an outcome outside the format: {bad}")
    empty = [p["name"] for p in probes if p["trace"] == "empty"]
    if empty and not allow_empty:
        sys.exit(f"probes with an empty trace (monitor missed them? rerun, or pass "
                 f"--allow-empty-trace if the packets never reach the trace namespace): {empty}")

    os.makedirs(out, exist_ok=True)
    for sub in ("ns", "probes"):
        shutil.rmtree(os.path.join(out, sub), ignore_errors=True)
    for n in names:
        src = os.path.join(raw, "ns", n)
        dst = os.path.join(out, "ns", n)
        os.makedirs(dst)
        for f in NS_FILES:
            # an empty file (no rules at all) says the same as a missing one
            if os.path.exists(os.path.join(src, f)) and os.path.getsize(os.path.join(src, f)) > 0:
                shutil.copy(os.path.join(src, f), os.path.join(dst, f))
    for f in ("docker-inspect.json", "docker-ps.txt"):
        if os.path.exists(os.path.join(raw, f)):
            shutil.copy(os.path.join(raw, f), os.path.join(out, f))

    links = [tuple(l) for l in meta["links"]] if meta.get("links") else find_links(raw, names)

    w = [f"# World snapshot (format v1): {meta['world']}",
         f"# captured with tools/capture/run.sh {meta['world']} (see fixtures/README.md)",
         f"description = {q(meta['description'])}"]
    if meta.get("seed"):
        w.append(f"seed = {q(meta['seed'])}")
    w += ["", "[captured]"]
    for k, v in meta["captured"].items():
        w.append(f"{k} = {q(v)}")
    for ns in meta["namespaces"]:
        w += ["", "[[namespace]]", f"name = {q(ns['name'])}", f"role = {q(ns['role'])}",
              f"dir = {q('ns/' + ns['name'])}"]
        for p in processes(raw, ns["name"]):
            w += ["", "[[namespace.process]]", f"name = {q(p['name'])}",
                  f"listen = {q(p['listen'])}", f"cmdline = {q(p['cmdline'])}"]
    for a, b in links:
        w += ["", "[[link]]", f"a = {q(a)}", f"b = {q(b)}"]
    for p in probes:
        frm = target_to_name.get(p["from"])
        if frm is None:
            sys.exit(f"probe {p['name']}: FROM {p['from']} is not a captured namespace")
        pdir = os.path.join(out, "probes", p["name"])
        os.makedirs(pdir)
        shutil.copy(os.path.join(raw, f"trace-{p['name']}.txt"), os.path.join(pdir, "trace.txt"))
        shutil.copy(os.path.join(raw, p["conntrack"]), os.path.join(pdir, "conntrack.txt"))
        logname = "curl.txt" if p["proto"] == "tcp" else "client.txt"
        shutil.copy(os.path.join(raw, p["client_log"]), os.path.join(pdir, logname))
        w += ["", "[[probe]]", f"name = {q(p['name'])}", f"from = {q(frm)}",
              f"proto = {q(p['proto'])}", f"dst = {q(p['dst'])}"]
        if p["proto"] != "icmp":
            w.append(f"sport = {p['local_port']}")
        w.append(f"expect = {q(p['outcome'])}")
        w.append(f"trace = {q('probes/' + p['name'] + '/trace.txt')}")
        w.append(f"trace_namespace = {q(p['trace_namespace'])}")
        if p.get("keep_conntrack"):
            w.append("keep_conntrack = true")
        if p.get("note"):
            w.append(f"note = {q(p['note'])}")
    open(os.path.join(out, "world.toml"), "w").write("\n".join(w) + "\n")
    print(f"wrote {out}: {len(names)} namespaces, {len(links)} links, {len(probes)} probes")


if __name__ == "__main__":
    main()
