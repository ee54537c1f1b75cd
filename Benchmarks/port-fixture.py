#!/usr/bin/env python3
"""A machine-sized fixture for `sockit who` benchmarks: PROCS processes (forked, so they share
memory) that each hold a listener and PAIRS connected loopback pairs (1 + 2*PAIRS sockets), plus
one target listener with a few connections, on port 0. Loopback only.

    port-fixture.py --procs 300 --pairs 16     about 10,000 sockets
    port-fixture.py --procs 50 --pairs 10      about 1,000

Prints "ready PORT SOCKETS" once every process holds its sockets, then waits until stdin
reaches end-of-file (at most --max-seconds), and ends every process it started.
"""
import argparse
import os
import signal
import socket
import struct
import sys
import time


LINGER_RESET = struct.pack("ii", 1, 0)


def hold(pairs, ready_fd, stop_fd, target_connections=0, port_fd=None):
    keep = []
    if target_connections:
        # The target: a listener with connections, held by this one process among the others.
        target = socket.socket()
        target.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        target.bind(("127.0.0.1", 0))
        target.listen(64)
        for _ in range(target_connections):
            client = socket.create_connection(target.getsockname())
            server, _ = target.accept()
            keep += [client, server]
        keep.append(target)
        os.write(port_fd, b"%d\n" % target.getsockname()[1])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(pairs + 1)
    keep.append(listener)
    for _ in range(pairs):
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        keep += [client, server]
    os.write(ready_fd, b"x")
    os.read(stop_fd, 1)  # returns at EOF: the parent is gone or done
    # Reset rather than close: leave no TIME-WAIT behind to skew the next measurement.
    for sock in keep:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        sock.close()
    os._exit(0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--procs", type=int, default=300)
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--target-connections", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=900)
    args = parser.parse_args()

    ready_r, ready_w = os.pipe()
    stop_r, stop_w = os.pipe()
    port_r, port_w = os.pipe()
    children = []
    # The target sits among the others, not first: its pid is in the middle of the range, and
    # this parent holds no socket (so the target's holder is one process, not a fork parent).
    target_at = args.procs // 2
    for index in range(args.procs):
        pid = os.fork()
        if pid == 0:
            os.close(ready_r)
            os.close(stop_w)
            os.close(port_r)
            hold(args.pairs, ready_w, stop_r, args.target_connections if index == target_at else 0, port_w)
        children.append(pid)
    os.close(ready_w)
    os.close(stop_r)
    os.close(port_w)
    got = 0
    while got < args.procs:
        chunk = os.read(ready_r, args.procs)
        if not chunk:
            sys.exit("a fixture process died")
        got += len(chunk)
    port = int(os.read(port_r, 64).split()[0])
    total = args.procs * (1 + 2 * args.pairs) + 1 + 2 * args.target_connections
    print("ready %d %d" % (port, total), flush=True)
    deadline = time.monotonic() + args.max_seconds
    try:
        while time.monotonic() < deadline:
            if not os.read(0, 4096):
                break
    finally:
        os.close(stop_w)  # every child reads EOF and exits
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


if __name__ == "__main__":
    main()
