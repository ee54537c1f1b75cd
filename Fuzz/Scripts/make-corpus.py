#!/usr/bin/env python3
"""Writes the seed corpus, Fuzz/Corpus/<target>/, from this machine's kernel and a few fixed examples.

The kernel-made seeds are captured from sockets this script opens on loopback (ephemeral ports):
- inet-diag: real NETLINK_SOCK_DIAG reply datagrams (SOCK_DIAG_BY_FAMILY for IPv4 and IPv6 and the
  TCPDIAG_GETSOCK form, TCP and UDP, filtered to our ports the way sockit filters), framed as the
  target reads them: one byte for the transport (0 TCP, 1 UDP), then each datagram as a 2-byte
  little-endian length and its bytes;
- proc: /proc/net/tcp, tcp6, udp, udp6 text and /proc/PID/stat lines;
- options: the bytes getsockopt returns for a few options, TCP_INFO included.
Run it from the repository root: python3 Fuzz/Scripts/make-corpus.py
"""
import os
import socket
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Corpus")


def write(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# --- sockets to look at: a TCP listener with an accepted connection, an IPv6 listener, UDP ---
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
port = listener.getsockname()[1]
client = socket.create_connection(("127.0.0.1", port))
accepted, _ = listener.accept()
listener6 = socket.socket(socket.AF_INET6)
listener6.bind(("::1", 0))
listener6.listen()
port6 = listener6.getsockname()[1]
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
udp_port = udp.getsockname()[1]
# A TIME-WAIT entry: the side that closes first keeps it.
tw_listener = socket.socket()
tw_listener.bind(("127.0.0.1", 0))
tw_listener.listen()
tw_port = tw_listener.getsockname()[1]
tw_client = socket.create_connection(("127.0.0.1", tw_port))
tw_server, _ = tw_listener.accept()
tw_server.close()
tw_client.recv(1)
tw_client.close()

# --- inet-diag ---
SOCK_DIAG_BY_FAMILY, TCPDIAG_GETSOCK = 20, 18
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300
INET_DIAG_BC_S_EQ = 11


def port_filter(p):
    # sockit's "source port == p" program: S_EQ (yes 8, no 12), then the port.
    code = struct.pack("<BBH", INET_DIAG_BC_S_EQ, 8, 12) + struct.pack("<BBH", 0, 0, p)
    return struct.pack("<HH", 4 + len(code), 1) + code  # INET_DIAG_REQ_BYTECODE


def request_v2(family, proto, p, seq):
    body = bytes([family, proto, 0, 0]) + struct.pack("<I", 0xFFFFFFFF) + bytes(48) + port_filter(p)
    return struct.pack("<IHHII", 16 + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body


def request_compat(p, seq):
    body = bytes(4) + bytes(48) + struct.pack("<II", 0xFFFFFFFF, 0) + port_filter(p)
    return struct.pack("<IHHII", 16 + len(body), TCPDIAG_GETSOCK, NLM_F_REQUEST | NLM_F_DUMP, seq, 0) + body


def dump(request):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 4)  # NETLINK_SOCK_DIAG
    s.send(request)
    datagrams = []
    for _ in range(100):
        d = s.recv(65536)
        datagrams.append(d)
        offset, done = 0, False
        while offset + 16 <= len(d):
            length, kind = struct.unpack_from("<IH", d, offset)
            if kind in (2, 3) or length < 16:
                done = True
                break
            offset += (length + 3) & ~3
        if done:
            break
    s.close()
    return datagrams


def frame(transport, datagrams):
    return bytes([transport]) + b"".join(struct.pack("<H", len(d)) + d for d in datagrams)


seq = 1
for name, transport, request in [
    ("tcp4-listener-and-connection", 0, request_v2(socket.AF_INET, socket.IPPROTO_TCP, port, 1)),
    ("tcp4-time-wait", 0, request_v2(socket.AF_INET, socket.IPPROTO_TCP, tw_port, 2)),
    ("tcp6-listener", 0, request_v2(socket.AF_INET6, socket.IPPROTO_TCP, port6, 3)),
    ("tcp-compat-both-families", 0, request_compat(port, 4)),
    ("udp4-socket", 1, request_v2(socket.AF_INET, socket.IPPROTO_UDP, udp_port, 5)),
]:
    write("inet-diag", name, frame(transport, dump(request)))
# Made from the layout: NLMSG_ERROR -ENOENT (no udp_diag), NLMSG_DONE alone, an empty datagram.
write("inet-diag", "error-enoent", frame(1, [struct.pack("<IHHIIi", 20, 2, 0, 1, 0, -2)]))
write("inet-diag", "done-only", frame(0, [struct.pack("<IHHIIi", 20, 3, 2, 1, 0, 0)]))

# --- proc ---
def proc_lines(path, ports):
    """The header and the lines of our own sockets (the others are this machine's business)."""
    with open(path) as f:
        lines = f.read().splitlines()
    keep = [line for line in lines[1:] if any(":%04X " % p in line for p in ports)]
    return "\n".join([lines[0]] + keep) + "\n"


write("proc", "net-tcp", proc_lines("/proc/net/tcp", [port, tw_port]))
write("proc", "net-tcp6", proc_lines("/proc/net/tcp6", [port6]))
write("proc", "net-udp", proc_lines("/proc/net/udp", [udp_port]))
with open("/proc/self/stat") as f:
    write("proc", "stat-self", f.read())
write("proc", "stat-parentheses", "4242 (a (b) c) S 17 4242 4242 0 -1 4194560 96 0 0 0\n")

# --- options: bytes as getsockopt returns them ---
def raw(s, level, name, size):
    return s.getsockopt(level, name, size)


write("options", "int-one", struct.pack("<i", 1))
write("options", "int-zero", struct.pack("<i", 0))
write("options", "rcvbuf", raw(accepted, socket.SOL_SOCKET, socket.SO_RCVBUF, 4))
write("options", "one-byte", b"\x01")
write("options", "timeval-5s", struct.pack("<qq", 5, 250000))
write("options", "linger-on-30s", struct.pack("<ii", 1, 30))
write("options", "tcp-congestion", raw(accepted, socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16))
write("options", "tcp-info", raw(accepted, socket.IPPROTO_TCP, socket.TCP_INFO, 256))
write("options", "ip-multicast-if", socket.inet_aton("127.0.0.1"))

# --- fixed examples: addresses, hand-off lines, command lines ---
for i, text in enumerate([
    "127.0.0.1:8080", "0.0.0.0:0", "255.255.255.255:65535", "[::1]:80", "[::]:443", "[fe80::1%lo]:9",
    "[fe80::1%1]:9", "[::ffff:127.0.0.1]:9", "[2001:db8::1]:443", "localhost:8080", "/tmp/x", "./app.sock",
    "../run/app.sock", "@abstract", "@", "1.2.3:80", "127.0.0.1:65536", "::1:80", ":80", "[::1]",
]):
    write("address", "%02d" % i, text)
for i, line in enumerate([
    "SOCKIT-HANDOFF 1 REQUEST\n", "SOCKIT-HANDOFF 1 READY\n", "SOCKIT-HANDOFF 1 DONE\n",
    "SOCKIT-HANDOFF 1 LISTENERS 1\n", "SOCKIT-HANDOFF 1 LISTENERS 2 echo,admin\n",
    "SOCKIT-HANDOFF 1 DENIED uid 65534 may not take these sockets\n", "SOCKIT-HANDOFF 1 LISTENERS 16",
]):
    write("handoff", "%02d" % i, line)
for i, words in enumerate([
    ["who", "8080", "--json"], ["who", "127.0.0.1:8080", "--udp"], ["who", "[::1]:8080", "--listening"],
    ["free", "8080", "--dry-run"], ["free", "8080", "--yes", "--grace", "5", "--signal", "INT"],
    ["wait", "8080", "--free", "--timeout", "10"], ["wait", "8080", "--listening"], ["pick"], ["pick", "--json"],
    ["options", "--udp", "--json"], ["options", "--pid", "4242", "--fd", "3"],
    ["echo", "127.0.0.1:0", "--threads", "2", "--keepalive", "30,5,4", "--nodelay"],
    ["echo", "--udp", "--handoff", "/tmp/echo.sock", "--idle-timeout", "2.5"],
    ["send", "127.0.0.1:8080", "hello", "--timeout", "1"], ["send", "127.255.255.255:9", "--udp", "--broadcast", "x"],
    ["listen", "0.0.0.0:9999", "--udp", "--count", "1"], ["--help"], ["who", "--help"], ["--version"], ["bogus"],
]):
    write("arguments", "%02d" % i, "\0".join(words))

for s in (listener, client, accepted, listener6, udp, tw_listener):
    s.close()
print("wrote", ROOT)
