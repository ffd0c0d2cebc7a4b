#!/usr/bin/env python3
"""Record what the real iptables 1.8.9 (nf_tables) makes of each rule in cases.txt.

For every rule line it restores a one-rule table (with user chains X and Y declared)
into a scratch network namespace with `iptables-restore` and reads it back with
`iptables-save -t TABLE`. The result goes to expected.txt as

    in: <rule as written>
    out: <the -A line iptables-save printed>     (or)
    error: <iptables-restore's complaint>

The namespace is removed afterwards, also on failure. Run as root:
    python3 capture.py            (from this directory)
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NS = "pktpath-rules-oracle-%d" % os.getpid()


def run(args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, text=True)


def main():
    cases = open(os.path.join(HERE, "cases.txt")).read().splitlines()
    version = run(["iptables-restore", "--version"]).stdout.strip()
    if "1.8.9" not in version or "nf_tables" not in version:
        sys.exit("need iptables-restore v1.8.9 (nf_tables), have: " + version)
    r = run(["ip", "netns", "add", NS])
    if r.returncode != 0:
        sys.exit(r.stderr)
    out = ["# Recorded by capture.py with " + version + " on Linux " + os.uname().release,
           "# Do not edit: rerun capture.py."]
    try:
        table = "filter"
        for line in cases:
            if not line or line.startswith("#"):
                continue
            if line.startswith("*"):
                table = line[1:]
                continue
            text = "*%s\n:X - [0:0]\n:Y - [0:0]\n%s\nCOMMIT\n" % (table, line)
            r = run(["ip", "netns", "exec", NS, "iptables-restore"], text)
            out.append("in: " + line)
            out.append("table: " + table)
            if r.returncode != 0:
                msg = " ".join(l.strip() for l in r.stderr.splitlines() if l.strip()
                               and not l.startswith("Try `"))
                out.append("error: " + msg)
                continue
            s = run(["ip", "netns", "exec", NS, "iptables-save", "-t", table])
            rules = [l for l in s.stdout.splitlines() if l.startswith("-A ")]
            for l in rules:
                out.append("out: " + l)
            if not rules:
                out.append("out-none:")
    finally:
        run(["ip", "netns", "del", NS])
    with open(os.path.join(HERE, "expected.txt"), "w") as f:
        f.write("\n".join(out) + "\n")
    capture_files()


def capture_files():
    """Whole files (files/*.txt): each restored into a fresh namespace; the result is
    `iptables-save` without its comment lines (files/*.expected) or the error
    (files/*.error)."""
    d = os.path.join(HERE, "files")
    for name in sorted(os.listdir(d)):
        if not name.endswith(".txt"):
            continue
        base = os.path.join(d, name[:-4])
        for ext in (".expected", ".error"):
            if os.path.exists(base + ext):
                os.remove(base + ext)
        ns = NS + "-f"
        r = run(["ip", "netns", "add", ns])
        if r.returncode != 0:
            sys.exit(r.stderr)
        try:
            text = open(os.path.join(d, name), "rb").read().decode()
            r = run(["ip", "netns", "exec", ns, "iptables-restore"], text)
            if r.returncode != 0:
                msg = " ".join(l.strip() for l in r.stderr.splitlines() if l.strip()
                               and not l.startswith("Try `"))
                open(base + ".error", "w").write(msg + "\n")
                continue
            s = run(["ip", "netns", "exec", ns, "iptables-save"])
            lines = [l for l in s.stdout.splitlines() if not l.startswith("#")]
            open(base + ".expected", "w").write("\n".join(lines) + "\n")
        finally:
            run(["ip", "netns", "del", ns])


if __name__ == "__main__":
    main()
