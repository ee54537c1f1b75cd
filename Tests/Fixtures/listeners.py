#!/usr/bin/env python3
"""Many listening sockets in several processes, for `sockit who` without a port. Loopback and
port 0 only.

    listeners.py PROCS PER_PROC [--udp]

Forks PROCS processes; each binds PER_PROC TCP listeners on 127.0.0.1:0 (half of them on ::1
when IPv6 is there) and, with --udp, as many bound UDP sockets. Prints "ready PID..." (every
process's pid) once all hold their sockets, then waits until stdin reaches end-of-file (at most
120 s) and ends the processes it started.
"""
import os
import socket
import sys
import time


def hold(count, udp, ready_fd, stop_fd):
    keep = []
    for index in range(count):
        family, host = (socket.AF_INET6, "::1") if index % 2 and socket.has_ipv6 else (socket.AF_INET, "127.0.0.1")
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.bind((host, 0))
        listener.listen(4)
        keep.append(listener)
        if udp:
            datagram = socket.socket(family, socket.SOCK_DGRAM)
            datagram.bind((host, 0))
            keep.append(datagram)
    os.write(ready_fd, b"%d\n" % os.getpid())
    os.read(stop_fd, 1)  # returns at end-of-file: the parent closed its end
    os._exit(0)


def main():
    procs, per = int(sys.argv[1]), int(sys.argv[2])
    udp = "--udp" in sys.argv
    ready_read, ready_write = os.pipe()
    stop_read, stop_write = os.pipe()
    children = []
    for _ in range(procs):
        pid = os.fork()
        if pid == 0:
            os.close(ready_read)
            os.close(stop_write)
            hold(per, udp, ready_write, stop_read)
        children.append(pid)
    os.close(ready_write)
    os.close(stop_read)
    pids = []
    with os.fdopen(ready_read) as ready:
        for _ in range(procs):
            pids.append(int(ready.readline()))
    print("ready " + " ".join(map(str, pids)), flush=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if not os.read(0, 4096):
            break
    os.close(stop_write)
    for pid in children:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
