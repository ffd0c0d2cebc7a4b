#!/usr/bin/env python3
"""One UDP probe: send one datagram from a fixed local port, wait for one reply.

usage: udp_client.py --sport PORT [--timeout 3] DST_IP DST_PORT

The socket is bound to 0.0.0.0:SPORT and connect()ed to DST, with IP_RECVERR on, so
every ICMP error that comes back for the datagram is reported to the socket (without
IP_RECVERR, Linux reports only "hard" errors such as port-unreachable or
admin-prohibited to a connected UDP socket, and host/net-unreachable would look like
silence). Whatever error arrives is also read back from the error queue, which tells
the ICMP type/code and the address that sent it.

Prints a log and, as the last line, `result: <outcome>` with outcome one of
connected (a reply datagram came back), refused (ECONNREFUSED: ICMP port unreachable),
no_route (EHOSTUNREACH / ENETUNREACH, on send or from an ICMP error), timeout (nothing
within the limit), other:<errno name>. Exit code: 0 connected, 1 otherwise.
A send() that fails with EPERM (netfilter dropped the datagram in the client's own
OUTPUT) is logged and the client still waits: the outcome is then what comes back, the
ICMP error a REJECT sends (e.g. refused) or nothing (timeout), as for a TCP SYN.
"""
import argparse
import errno
import socket
import struct
import sys
import time

IP_RECVERR = 11
SO_EE_ORIGIN = {0: "none", 1: "local", 2: "icmp", 3: "icmp6"}


def classify(err: int) -> str:
    if err == errno.ECONNREFUSED:
        return "refused"
    if err in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "no_route"
    return "other:" + errno.errorcode.get(err, str(err))


def read_errqueue(s: socket.socket) -> list:
    lines = []
    for _ in range(4):
        try:
            _data, anc, _flags, _addr = s.recvmsg(2048, 512, socket.MSG_ERRQUEUE)
        except (BlockingIOError, OSError):
            break
        for level, typ, cdata in anc:
            if level == socket.SOL_IP and typ == IP_RECVERR and len(cdata) >= 16:
                ee_errno, origin, etype, ecode, _pad, info, _data32 = struct.unpack("=IBBBBII", cdata[:16])
                offender = ""
                if len(cdata) >= 16 + 8:
                    fam, _port, a = struct.unpack("=HH4s", cdata[16:24])
                    if fam == socket.AF_INET:
                        offender = socket.inet_ntoa(a)
                lines.append(
                    f"error queue: errno={errno.errorcode.get(ee_errno, ee_errno)} "
                    f"origin={SO_EE_ORIGIN.get(origin, origin)} icmp_type={etype} icmp_code={ecode} "
                    f"info={info} offender={offender or '-'}")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sport", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--payload", default="pktpath udp probe\n")
    ap.add_argument("dst")
    ap.add_argument("dport", type=int)
    a = ap.parse_args()

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
    s.bind(("0.0.0.0", a.sport))
    out = [f"udp client: local port {a.sport} -> {a.dst}:{a.dport}, timeout {a.timeout:g} s, IP_RECVERR on"]
    result = None
    t0 = time.time()
    try:
        s.connect((a.dst, a.dport))
        local = s.getsockname()
        out.append(f"connected socket {local[0]}:{local[1]} -> {a.dst}:{a.dport}")
        n = s.send(a.payload.encode())
        out.append(f"sent {n} bytes")
    except OSError as e:
        out.append(f"send failed: {errno.errorcode.get(e.errno, e.errno)} ({e.strerror})")
        if e.errno == errno.EPERM:
            # a DROP or REJECT verdict in this namespace's OUTPUT: like curl, whose SYN
            # is dropped the same way, keep waiting for what comes back (the ICMP error a
            # REJECT sent to us, or nothing)
            out.append("EPERM means netfilter dropped the datagram in OUTPUT; waiting for an ICMP error")
        else:
            result = classify(e.errno)
    if result is None:
        s.settimeout(a.timeout)
        try:
            data = s.recv(65535)
            out.append(f"received {len(data)} bytes after {time.time() - t0:.3f} s: {data!r}")
            result = "connected"
        except socket.timeout:
            out.append(f"no reply within {a.timeout:g} s")
            result = "timeout"
        except OSError as e:
            out.append(f"recv failed after {time.time() - t0:.3f} s: "
                       f"{errno.errorcode.get(e.errno, e.errno)} ({e.strerror})")
            result = classify(e.errno)
    s.setblocking(False)
    out.extend(read_errqueue(s))
    s.close()
    out.append(f"result: {result}")
    print("\n".join(out))
    return 0 if result == "connected" else 1


if __name__ == "__main__":
    sys.exit(main())
