#!/usr/bin/env python3
"""Run one probe with a netfilter trace and a conntrack dump (raw capture layout).

usage: probe.py RAW_DIR NAME FROM DST [--proto tcp|udp|icmp] [--sport N]
                [--keep-conntrack] [--trace-ns NS] [--note TEXT] [--timeout 3]

FROM: a namespace made with `ip netns add`, or container:<docker container name>
DST:  ip:port for tcp and udp, ip for icmp

Extends /work/shared/fixtures/_capture/probe.py (which only knew tcp) and keeps its
conventions, so that captured worlds stay comparable:

* local port: --sport if given, else the next number of RAW_DIR/port.counter (41000,
  41001, ...); icmp probes have no port and take no number.
* TRACE rules, inserted at position 1 of the raw table of the trace namespace right before
  the probe (so the last one inserted is the first in the chain) and deleted afterwards:
    tcp/udp: PREROUTING -p P --sport L, PREROUTING -p P --dport L, PREROUTING -p icmp,
             OUTPUT     -p P --sport L, OUTPUT     -p P --dport L, OUTPUT     -p icmp
    icmp:    PREROUTING -p icmp, OUTPUT -p icmp
* conntrack -F in the trace namespace before the probe, unless --keep-conntrack;
  conntrack -L there 1 s after the client returned.
* xtables-monitor --trace -4 in the trace namespace from 0.7 s after it has joined the
  NFTRACE netlink group until after the conntrack dump.
* clients and outcomes:
    tcp:  curl -sS -v -o /dev/null -m 3 -w %{http_code} --local-port L http://DST/
          connected (exit 0 with an HTTP code), refused (exit 7, "Connection refused"),
          no_route (exit 7, "No route to host" / "Host is unreachable" / "Network is
          unreachable"), timeout (exit 28), reset_after_connect (exit 52/56). Log: curl-NAME.txt
    udp:  udp_client.py --sport L --timeout 3 IP PORT (one datagram from the fixed port,
          connected socket with IP_RECVERR, waits 3 s for a reply)
          connected (reply), refused (ECONNREFUSED), no_route (EHOSTUNREACH/ENETUNREACH),
          timeout (nothing). Log: client-NAME.txt
    icmp: ping -n -c 1 -W 3 IP
          connected (echo reply), no_route (Destination Host/Net Unreachable, Host/Net
          Prohibited, Packet filtered, "Network is unreachable"), refused (Destination Port
          Unreachable), timeout (nothing). Log: client-NAME.txt
"""
import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import time

DOCKER_ENV = dict(os.environ, DOCKER_HOST="unix:///tmp/dockerd/sock")
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
HERE = os.path.dirname(os.path.abspath(__file__))
UDP_CLIENT = os.path.join(HERE, "udp_client.py")
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"


def next_port(raw):
    f = os.path.join(raw, "port.counter")
    p = 41000
    if os.path.exists(f):
        p = int(open(f).read().strip()) + 1
    open(f, "w").write(str(p))
    return p


def ns_prefix(frm):
    """(argv prefix, template string, description) to run a command in FROM."""
    if frm.startswith("container:"):
        c = frm.split(":", 1)[1]
        pid = subprocess.check_output(
            [DOCKER, "inspect", "-f", "{{.State.Pid}}", c], env=DOCKER_ENV, text=True).strip()
        ip = subprocess.check_output(
            [DOCKER, "inspect", "-f",
             "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", c],
            env=DOCKER_ENV, text=True).strip()
        return (["nsenter", f"--net=/proc/{pid}/ns/net"],
                "nsenter --net=/proc/$(docker inspect -f '{{.State.Pid}}' %s)/ns/net" % c,
                f"container {c} ({ip})")
    return (["ip", "netns", "exec", frm], f"ip netns exec {frm}", f"netns {frm}")


def sh(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


NFNLGRP_NFTRACE = 9


def wait_subscribed(pid, limit=10.0):
    """Wait until xtables-monitor's netlink socket has joined the NFTRACE group.

    On a busy machine the monitor can take longer than the fixed 0.7 s to subscribe, and
    a probe run before that leaves an empty trace. /proc/PID/net/netlink lists the
    namespace's netlink sockets with their group bitmap; the monitor's own socket is the
    one whose inode is among its file descriptors.
    """
    bit = 1 << (NFNLGRP_NFTRACE - 1)
    t0 = time.time()
    while time.time() - t0 < limit:
        try:
            inodes = set()
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
            for line in open(f"/proc/{pid}/net/netlink").read().splitlines()[1:]:
                f = line.split()
                if f[-1] in inodes and f[1] == "12" and int(f[3], 16) & bit:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("xtables-monitor did not subscribe to the trace group in time")


def trace_rules(proto, lport):
    if proto == "icmp":
        return [("PREROUTING", ["-p", "icmp"]), ("OUTPUT", ["-p", "icmp"])]
    return [
        ("PREROUTING", ["-p", proto, "--sport", str(lport)]),
        ("PREROUTING", ["-p", proto, "--dport", str(lport)]),
        ("PREROUTING", ["-p", "icmp"]),
        ("OUTPUT", ["-p", proto, "--sport", str(lport)]),
        ("OUTPUT", ["-p", proto, "--dport", str(lport)]),
        ("OUTPUT", ["-p", "icmp"]),
    ]


def client_argv(proto, dst, lport, timeout):
    if proto == "tcp":
        return ["curl", "-sS", "-v", "-o", "/dev/null", "-m", timeout, "-w", "%{http_code}",
                "--local-port", str(lport), f"http://{dst}/"]
    if proto == "udp":
        ip, port = dst.rsplit(":", 1)
        return [PY, UDP_CLIENT, "--sport", str(lport), "--timeout", timeout, ip, port]
    return ["ping", "-n", "-c", "1", "-W", timeout, dst]


def classify_tcp(r):
    err = r.stderr
    connect_fail = [l for l in err.splitlines() if "connect to" in l and "failed:" in l]
    curl_err = [l for l in err.splitlines() if l.startswith("curl: (")]
    code = r.stdout.strip()
    rc = r.returncode
    msgs = connect_fail + curl_err
    if rc == 0 and code not in ("", "000"):
        return "connected", msgs
    if rc == 7 and any("Connection refused" in l for l in connect_fail):
        return "refused", msgs
    if rc == 7 and any(("No route to host" in l) or ("Host is unreachable" in l)
                       or ("Network is unreachable" in l) for l in connect_fail):
        return "no_route", msgs
    if rc == 28:
        return "timeout", msgs
    if rc in (52, 56):
        return "reset_after_connect", msgs
    return "other: " + " | ".join(msgs), msgs


def classify_udp(r):
    m = re.search(r"^result: (\S+)$", r.stdout, re.M)
    lines = [l for l in r.stdout.splitlines() if "failed" in l or "error queue" in l]
    return (m.group(1) if m else "other: no result line"), lines


NO_ROUTE_PING = ("Destination Host Unreachable", "Destination Net Unreachable",
                 "Destination Host Prohibited", "Destination Net Prohibited",
                 "Packet filtered", "Network is unreachable", "No route to host")


def classify_icmp(r):
    text = r.stdout + r.stderr
    lines = [l for l in text.splitlines() if l.startswith("From ") or "ping:" in l]
    if r.returncode == 0 and re.search(r"bytes from .* icmp_seq=", text):
        return "connected", lines
    if any(s in text for s in NO_ROUTE_PING):
        return "no_route", lines
    if "Destination Port Unreachable" in text:
        return "refused", lines
    if r.returncode == 1:
        return "timeout", lines
    return "other: " + " | ".join(lines), lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("name")
    ap.add_argument("frm")
    ap.add_argument("dst")
    ap.add_argument("--proto", choices=["tcp", "udp", "icmp"], default="tcp")
    ap.add_argument("--sport", type=int, default=None)
    ap.add_argument("--keep-conntrack", action="store_true")
    ap.add_argument("--trace-ns", default="dh")
    ap.add_argument("--note", default=None)
    ap.add_argument("--timeout", default="3")
    a = ap.parse_args()

    if a.proto == "icmp":
        assert ":" not in a.dst, "icmp DST is an address without port"
        assert a.sport is None, "icmp probes have no source port"
        lport = None
    else:
        assert re.fullmatch(r"[0-9.]+:[0-9]+", a.dst), "tcp/udp DST is ip:port"
        lport = a.sport if a.sport is not None else next_port(a.raw)
    tns = ["ip", "netns", "exec", a.trace_ns]
    rules = trace_rules(a.proto, lport)
    # 1. TRACE rules (raw table of the namespace whose rules matter)
    for chain, m in rules:
        r = sh(tns + ["iptables", "-t", "raw", "-I", chain, "1"] + m + ["-j", "TRACE"])
        assert r.returncode == 0, r.stderr
    # 2. clean conntrack so the dump only shows this probe (unless asked to keep it)
    if not a.keep_conntrack:
        sh(tns + ["conntrack", "-F"])
    # 3. monitor
    tfile = os.path.join(a.raw, f"trace-{a.name}.txt")
    tf = open(tfile, "w")
    mon = subprocess.Popen(tns + ["xtables-monitor", "--trace", "-4"], stdout=tf,
                           stderr=subprocess.STDOUT)
    wait_subscribed(mon.pid)
    time.sleep(0.7)
    # 4. probe
    prefix, tmpl, fromdesc = ns_prefix(a.frm)
    client = client_argv(a.proto, a.dst, lport, a.timeout)
    argv = prefix + client
    t0 = time.time()
    r = subprocess.run(argv, capture_output=True, text=True)
    dur = time.time() - t0
    time.sleep(1.0)
    # 5. conntrack dump
    ct = sh(tns + ["conntrack", "-L"])
    cfile = os.path.join(a.raw, f"conntrack-{a.name}.txt")
    open(cfile, "w").write(ct.stdout + ct.stderr)
    # 6. stop monitor, remove TRACE rules
    mon.send_signal(signal.SIGTERM)
    mon.wait()
    tf.close()
    for chain, m in rules:
        rr = sh(tns + ["iptables", "-t", "raw", "-D", chain] + m + ["-j", "TRACE"])
        assert rr.returncode == 0, rr.stderr
    left = sh(tns + ["iptables-save"]).stdout
    assert "TRACE" not in left, "TRACE rule left behind"
    # 7. classify
    if a.proto == "tcp":
        outcome, msgs = classify_tcp(r)
        log = f"curl-{a.name}.txt"
    elif a.proto == "udp":
        outcome, msgs = classify_udp(r)
        log = f"client-{a.name}.txt"
    else:
        outcome, msgs = classify_icmp(r)
        log = f"client-{a.name}.txt"
    open(os.path.join(a.raw, log), "w").write(
        f"$ {shlex.join(argv)}\n--- exit code: {r.returncode}\n--- stdout:\n{r.stdout}\n--- stderr:\n{r.stderr}")
    tr = open(tfile).read()
    trace = f"trace-{a.name}.txt" if "PACKET:" in tr else "empty"
    rec = {
        "name": a.name,
        "from": a.frm,
        "from_desc": fromdesc,
        "proto": a.proto,
        "dst": a.dst,
        "local_port": lport,
        "keep_conntrack": a.keep_conntrack,
        "command": shlex.join(argv),
        "command_template": tmpl + " " + shlex.join(client),
        "exit_code": r.returncode,
        "http_code": r.stdout.strip() if a.proto == "tcp" else None,
        "client_error": msgs or None,
        "duration_s": round(dur, 2),
        "outcome": outcome,
        "trace": trace,
        "trace_namespace": a.trace_ns,
        "conntrack": f"conntrack-{a.name}.txt",
        "client_log": log,
    }
    if a.note:
        rec["note"] = a.note
    pfile = os.path.join(a.raw, "probes.json")
    probes = json.load(open(pfile)) if os.path.exists(pfile) else []
    probes = [p for p in probes if p["name"] != a.name] + [rec]
    json.dump(probes, open(pfile, "w"), indent=2)
    print(f"{a.name:45s} {a.proto:4s} {outcome:22s} rc={r.returncode} {' | '.join(msgs)} "
          f"trace={'yes' if trace != 'empty' else 'EMPTY'}")


if __name__ == "__main__":
    main()
