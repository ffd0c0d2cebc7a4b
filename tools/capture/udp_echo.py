#!/usr/bin/env python3
"""UDP echo server: answers every datagram with the same bytes, on one or more ports.

usage: udp_echo.py [--bind ADDR] PORT [PORT ...]

Run it inside the namespace that should own the socket (`ip netns exec NS ...`, or for a
Docker container `nsenter --net=/proc/PID/ns/net ...`) so that `ss -lnup` there shows it.
The setup.sh scripts of the captured worlds embed a copy of this file as
/tmp/fx/<world>/udp-echo.py.
"""
import argparse
import selectors
import socket


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("ports", type=int, nargs="+")
    a = ap.parse_args()
    sel = selectors.DefaultSelector()
    for p in a.ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a.bind, p))
        sel.register(s, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            try:
                data, peer = s.recvfrom(65535)
                s.sendto(data, peer)
            except OSError:
                pass


if __name__ == "__main__":
    main()
