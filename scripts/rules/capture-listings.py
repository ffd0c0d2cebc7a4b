#!/usr/bin/env python3
"""Record how the real iptables 1.8.9 (nf_tables) lists rules, as ground truth for the
`-S` and `-L` printers and parsers of crates/rules/src/formats/.

Input: every rule the real iptables accepted in crates/rules/tests/oracle/expected.txt
(the `out:` lines, grouped by table), plus user chains X and Y. For each table it
restores one file with all of them into a scratch network namespace and records:

    TABLE.save   the file restored (iptables-save form)
    TABLE.S      iptables -t TABLE -S
    TABLE.nvL    iptables -t TABLE -nvL --line-numbers
    TABLE.nL     iptables -t TABLE -nL
    TABLE.vL     iptables -t TABLE -vL       (names: services, "anywhere")

into crates/rules/tests/formats_data/listing/. The namespace is removed afterwards,
also on failure. Run as root from anywhere: python3 scripts/rules/capture-listings.py
"""
import os
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
EXPECTED = os.path.join(ROOT, "crates/rules/tests/oracle/expected.txt")
OUT = os.path.join(ROOT, "crates/rules/tests/formats_data/listing")
NS = "pktpath-fmt-listing-%d" % os.getpid()


def run(args, stdin=None):
    return subprocess.run(args, input=stdin, capture_output=True, text=True)


# Rules of the model that expected.txt does not hold (yet).
EXTRA = {
    "filter": [
        "-A INPUT -p tcp -m hashlimit --hashlimit-upto 10/sec --hashlimit-burst 20 --hashlimit-mode srcip --hashlimit-name h1 -j ACCEPT",
        "-A INPUT -m hashlimit --hashlimit-above 1/min --hashlimit-mode srcip,dstport --hashlimit-name h2 --hashlimit-htable-expire 60000 -j DROP",
        "-A INPUT -m hashlimit --hashlimit-upto 5/hour --hashlimit-name h3 --hashlimit-htable-size 64 --hashlimit-htable-max 128 --hashlimit-htable-gcinterval 500 --hashlimit-srcmask 24 --hashlimit-dstmask 16 --hashlimit-mode dstip,srcport -j ACCEPT",
        "-A INPUT -p tcp -m connlimit --connlimit-above 10 --connlimit-mask 24 --connlimit-saddr -j REJECT --reject-with tcp-reset",
        "-A INPUT -p tcp -m connlimit --connlimit-upto 5 --connlimit-mask 32 --connlimit-daddr -j ACCEPT",
        "-A INPUT -p tcp -m multiport --ports 22,80:90 -j ACCEPT",
        "-A INPUT -p udp -m multiport ! --dports 53,67:68 -j ACCEPT",
        "-A INPUT -p icmp -m icmp --icmp-type 8/0 -j ACCEPT",
        "-A INPUT -m conntrack --ctstate NEW,ESTABLISHED -m conntrack ! --ctstatus ASSURED -j ACCEPT",
        "-A FORWARD -i docker0 ! -o docker0 -j ACCEPT",
        "-A INPUT -j LOG --log-prefix \"x\" --log-tcp-options",
        "-A INPUT -j LOG --log-uid",
        "-A INPUT -j NFLOG --nflog-group 2 --nflog-range 64",
        "-A INPUT -j MARK --set-xmark 0x0/0xffffffff",
        "-A INPUT -j MARK --set-xmark 0xffffffff/0xffffffff",
    ],
    "raw": [
        "-A PREROUTING -m rpfilter --loose --validmark --accept-local --invert -j DROP",
        "-A PREROUTING -m rpfilter -j ACCEPT",
        "-A PREROUTING -p tcp -j CT --helper ftp",
        "-A PREROUTING -p tcp -j CT --helper ftp --zone 5",
    ],
}


def main():
    version = run(["iptables", "--version"]).stdout.strip()
    if "1.8.9" not in version or "nf_tables" not in version:
        sys.exit("need iptables v1.8.9 (nf_tables), have: " + version)
    rules = {}
    table = None
    for line in open(EXPECTED):
        line = line.rstrip("\n")
        if line.startswith("table: "):
            table = line[7:]
        elif line.startswith("out: "):
            rules.setdefault(table, [])
            if line[5:] not in rules[table]:
                rules[table].append(line[5:])
    for table, extra in EXTRA.items():
        rules.setdefault(table, []).extend(r for r in extra if r not in rules[table])
    os.makedirs(OUT, exist_ok=True)
    r = run(["ip", "netns", "add", NS])
    if r.returncode != 0:
        sys.exit(r.stderr)
    try:
        for table, lines in sorted(rules.items()):
            # A few saved rules do not restore again (iptables-save output is not always
            # valid input): drop the line iptables-restore names and try again.
            while True:
                text = "*%s\n:X - [0:0]\n:Y - [0:0]\n%s\nCOMMIT\n" % (table, "\n".join(lines))
                r = run(["ip", "netns", "exec", NS, "iptables-restore"], text)
                if r.returncode == 0:
                    break
                m = re.search(r"line:? (\d+)", r.stderr)
                if not m or int(m.group(1)) < 4 or int(m.group(1)) > len(lines) + 3:
                    sys.exit("%s: %s" % (table, r.stderr))
                bad = lines.pop(int(m.group(1)) - 4)
                print("%s: skipped (does not restore): %s" % (table, bad), file=sys.stderr)
            save = run(["ip", "netns", "exec", NS, "iptables-save", "-t", table]).stdout
            save = "".join(l + "\n" for l in save.splitlines() if not l.startswith("#"))
            open(os.path.join(OUT, table + ".save"), "w").write(save)
            for ext, args in (("S", ["-S"]), ("nvL", ["-nvL", "--line-numbers"]),
                              ("nL", ["-nL"]), ("vL", ["-vL"])):
                r = run(["ip", "netns", "exec", NS, "iptables", "-t", table] + args)
                if r.returncode != 0:
                    sys.exit("%s %s: %s" % (table, args, r.stderr))
                open(os.path.join(OUT, "%s.%s" % (table, ext)), "w").write(r.stdout)
            run(["ip", "netns", "exec", NS, "iptables", "-t", table, "-F"])
            run(["ip", "netns", "exec", NS, "iptables", "-t", table, "-X"])
    finally:
        run(["ip", "netns", "del", NS])


if __name__ == "__main__":
    main()
