#!/usr/bin/env python3
"""Restore each file of shared/corpus/real-rulesets/ with the real iptables-restore
1.8.9 (nf_tables) in a scratch network namespace and record `iptables-save`'s output
(NAME.expected, comment lines dropped) or the error (NAME.error) here.
The namespaces are removed afterwards. Run as root from this directory."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "..", "..", "..", "shared", "corpus", "real-rulesets")
NS = "pktpath-rules-corpus-%d" % os.getpid()


def run(args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, text=True)


def main():
    for name in sorted(os.listdir(CORPUS)):
        base = os.path.join(HERE, name)
        for ext in (".expected", ".error"):
            if os.path.exists(base + ext):
                os.remove(base + ext)
        r = run(["ip", "netns", "add", NS])
        if r.returncode != 0:
            sys.exit(r.stderr)
        try:
            text = open(os.path.join(CORPUS, name), "rb").read().decode("utf-8", "replace")
            r = run(["ip", "netns", "exec", NS, "iptables-restore"], text)
            if r.returncode != 0:
                msg = " ".join(l.strip() for l in r.stderr.splitlines()
                               if l.strip() and not l.startswith("Try `"))
                open(base + ".error", "w").write(msg + "\n")
                continue
            s = run(["ip", "netns", "exec", NS, "iptables-save"])
            lines = [l for l in s.stdout.splitlines() if not l.startswith("#")]
            open(base + ".expected", "w").write("\n".join(lines) + "\n")
        finally:
            run(["ip", "netns", "del", NS])


if __name__ == "__main__":
    main()
