#!/usr/bin/env python3
"""Echo a burst through a UDP echo server whose send buffer fills: run as root in a network
namespace of its own (unshare -n), so that its loopback can be slowed.

    udp-slow-loopback.py SOCKIT_BINARY [COUNT] [SIZE] [WINDOW]

Brings loopback up with a token-bucket qdisc (10 Mbit/s), so that datagrams wait in the qdisc,
charged to the sender's send buffer: with `--send-buffer 4096` the echo server's `sendmmsg`
sends part of a batch and then meets EAGAIN. Starts `sockit echo --udp` on 127.0.0.1:0 with a
tiny send buffer, waits for its "listening on" line, then sends COUNT datagrams (a sequence
number and a pattern, SIZE bytes), at most WINDOW outstanding, and collects the echoes.
Prints one line: `sent=N echoed=M missing=K duplicates=D wrong=W`; exit 0 when every datagram
came back exactly once, 1 otherwise. Bounded: 20 s in all; each wait for an echo 2 s.
"""
import shutil
import socket
import subprocess
import sys
import time

sockit = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 400
size = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
window = int(sys.argv[4]) if len(sys.argv) > 4 else 64

def tool(name):
    return shutil.which(name) or next(p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if shutil.os.path.exists(p))


subprocess.run([tool("ip"), "link", "set", "lo", "up"], check=True)
subprocess.run([tool("tc"), "qdisc", "add", "dev", "lo", "root", "tbf", "rate", "10mbit", "burst", "32kbit",
                "latency", "400ms"], check=True)
server = subprocess.Popen([sockit, "echo", "127.0.0.1:0", "--udp", "--send-buffer", "4096"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    line = server.stdout.readline()
    if not line.startswith("listening on "):
        print("server did not start:", line, server.stderr.read() if server.poll() is not None else "")
        sys.exit(2)
    host, port = line[len("listening on "):].strip().rsplit(":", 1)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    client.settimeout(2.0)
    address = (host, int(port))

    def datagram(seq):
        head = seq.to_bytes(8, "big")
        return head + bytes((seq * 7 + i) & 0xFF for i in range(size - 8))

    deadline = time.monotonic() + 20
    received = {}
    wrong = 0
    sent = 0
    while (sent < count or len(received) < count) and time.monotonic() < deadline:
        while sent < count and sent - len(received) < window:
            client.sendto(datagram(sent), address)
            sent += 1
        try:
            data, _ = client.recvfrom(65536)
        except socket.timeout:
            break
        seq = int.from_bytes(data[:8], "big")
        if seq >= count or data != datagram(seq):
            wrong += 1
            continue
        received[seq] = received.get(seq, 0) + 1
    missing = count - len(received)
    duplicates = sum(n - 1 for n in received.values())
    print(f"sent={sent} echoed={sum(received.values())} missing={missing} duplicates={duplicates} wrong={wrong}")
    sys.exit(0 if missing == 0 and duplicates == 0 and wrong == 0 else 1)
finally:
    server.terminate()
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
