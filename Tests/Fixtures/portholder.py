#!/usr/bin/env python3
"""Processes that hold ports, for sockit's port tests. Loopback and port 0 only.

Each mode prints one line "ready FIELDS..." on stdout once its sockets are in place, then
waits (at most 120 s) until stdin reaches end-of-file or it is signalled.

    portholder.py listen [--v6] [--udp] [--reuse] [--ignore-term] [--fork] [--self-connect] [--port N] [--fds N]
        ready PORT PID [CHILD_PID]
    portholder.py connect PORT            a client connected to 127.0.0.1:PORT: ready LOCAL_PORT PID
    portholder.py timewait [--reuse] [--count N]
        a listener on 127.0.0.1:0 (with or without SO_REUSEADDR) closes N accepted connections
        first, so they stay in TIME-WAIT; the listener is closed too: ready PORT
    portholder.py run [--reuse] -- COMMAND... hold a listener, run COMMAND with {port} replaced
        (this process is COMMAND's parent), print its output, exit with its status
"""
import os
import signal
import socket
import subprocess
import sys
import time


def wait_for_stdin():
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if not os.read(0, 4096):
                return
        except InterruptedError:
            continue
        except OSError:
            return


def listener(v6=False, udp=False, reuse=False, port=0):
    family = socket.AF_INET6 if v6 else socket.AF_INET
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    sock = socket.socket(family, kind)
    if reuse:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("::1" if v6 else "127.0.0.1", port))
    if not udp:
        sock.listen(16)
    return sock


def main():
    args = sys.argv[1:]
    mode = args[0]
    flags = set(args[1:])
    if mode == "listen":
        if "--ignore-term" in flags:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        port = int(args[args.index("--port") + 1]) if "--port" in args else 0
        extra = []
        if "--fds" in args:
            # Many descriptors before the listener: its /proc/PID/fd entry comes late in readdir.
            import resource
            count = int(args[args.index("--fds") + 1])
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            if soft < count + 64:
                resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 64), hard))
            extra = [os.open(os.devnull, os.O_RDONLY) for _ in range(count)]
        sock = listener("--v6" in flags, "--udp" in flags, "--reuse" in flags, port)
        port = sock.getsockname()[1]
        keep = []
        if "--self-connect" in flags:
            client = socket.create_connection(("127.0.0.1", port))
            server, _ = sock.accept()
            keep += [client, server]
        fields = [str(port), str(os.getpid())]
        if "--fork" in flags:
            child = os.fork()
            if child == 0:
                wait_for_stdin()
                os._exit(0)
            fields.append(str(child))
        print("ready " + " ".join(fields), flush=True)
        wait_for_stdin()
    elif mode == "connect":
        client = socket.create_connection(("127.0.0.1", int(args[1])))
        print("ready %d %d" % (client.getsockname()[1], os.getpid()), flush=True)
        wait_for_stdin()
    elif mode == "timewait":
        count = int(args[args.index("--count") + 1]) if "--count" in args else 3
        sock = listener(reuse="--reuse" in flags)
        port = sock.getsockname()[1]
        for _ in range(count):
            client = socket.create_connection(("::1" if "--v6" in flags else "127.0.0.1", port))
            server, _ = sock.accept()
            server.close()  # the server closes first: its side goes to TIME-WAIT
            client.settimeout(10)
            assert client.recv(1) == b""
            client.close()
        sock.close()
        print("ready %d" % port, flush=True)
        wait_for_stdin()
    elif mode == "run":
        command = args[args.index("--") + 1:]
        sock = listener(reuse="--reuse" in flags)
        port = sock.getsockname()[1]
        result = subprocess.run([part.replace("{port}", str(port)) for part in command],
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        sys.stdout.write(result.stdout)
        sys.stdout.write("stderr: " + result.stderr)
        print("status %d" % result.returncode, flush=True)
        sys.exit(0)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
