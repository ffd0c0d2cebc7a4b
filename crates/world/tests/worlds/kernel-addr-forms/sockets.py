# Listening sockets of every form `ss` prints (see capture.sh); exits by itself.
import socket, time
keep = []
def listen(fam, typ, addr, v6only=None, dev=None):
    s = socket.socket(fam, typ)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    if dev:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
    s.bind(addr)
    if typ == socket.SOCK_STREAM:
        s.listen()
    keep.append(s)
T, U, V4, V6 = socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.AF_INET, socket.AF_INET6
listen(V6, T, ("::", 7001), v6only=0)          # ss: *:7001 (dual-stack)
listen(V6, T, ("::", 7002), v6only=1)          # ss: [::]:7002
listen(V4, T, ("0.0.0.0", 7003))
listen(V4, T, ("127.0.0.1", 7004), dev="lo")   # ss: 127.0.0.1%lo:7004
listen(V6, U, ("::", 7005), v6only=0)          # ss: *:7005
listen(V4, U, ("0.0.0.0", 7006))
listen(V4, U, ("127.0.0.1", 7007))
listen(V6, T, ("::1", 7008))
listen(V6, T, ("::ffff:127.0.0.1", 7009))      # ss: [::ffff:127.0.0.1]:7009
listen(V4, T, ("0.0.0.0", 7010), dev="lo")     # ss: 0.0.0.0%lo:7010
time.sleep(10)
