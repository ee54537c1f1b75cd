#!/usr/bin/env python3
"""Processes that hold ports, for sockit's port tests. Loopback and port 0 only.

Each mode prints one line "ready FIELDS..." on stdout once its sockets are in place, then
waits (at most 120 s) until stdin reaches end-of-file or it is signalled.

    portholder.py listen [--v6] [--udp] [--reuse] [--ignore-term] [--fork] [--self-connect] [--port N] [--fds N]
                         [--connections N]   (--self-connect: one connection to itself; --connections N: N)
                         [--echo]
        ready PORT PID [CHILD_PID]; --echo: a thread accepts connections and echoes what they send
    portholder.py connect PORT            a client connected to 127.0.0.1:PORT: ready LOCAL_PORT PID FD;
        each line "options" on stdin prints "options SO_KEEPALIVE TCP_KEEPIDLE" as it reads them
    portholder.py timewait [--reuse] [--count N]
        a listener on 127.0.0.1:0 (with or without SO_REUSEADDR) closes N accepted connections
        first, so they stay in TIME-WAIT; the listener is closed too: ready PORT CLIENTPORT...
        (the closed clients' ports: another test's socket may have PORT's number too)
    portholder.py run [--reuse] -- COMMAND... hold a listener, run COMMAND with {port} replaced
        (this process is COMMAND's parent), print its output, exit with its status
    portholder.py receive ADDRESS         a Unix listener at ADDRESS ("@NAME": abstract): ready PID;
        takes one socket passed with SCM_RIGHTS, keeps it: received PORT
    portholder.py send ADDRESS [--keep]   a listener on 127.0.0.1:0 passed with SCM_RIGHTS to the
        receiver at ADDRESS (once it has it), then closed here unless --keep: ready PORT PID
    portholder.py closing fin-wait-1|fin-wait-2 [--reuse]
        a listener on 127.0.0.1:0 (with or without SO_REUSEADDR) closes one accepted connection
        and the listener, and keeps the client open (it never closes): that connection stays an
        orphan on PORT in FIN-WAIT-2 (the client acknowledged the FIN), or in FIN-WAIT-1 (the
        client never reads: its window is full and the FIN waits behind the data): ready PORT
"""
import os
import signal
import socket
import subprocess
import sys
import threading
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


def unix_address(text):
    """"@NAME" is NAME in the abstract namespace (nothing to clean up), anything else a path."""
    return "\0" + text[1:] if text.startswith("@") else text


def echo_forever(sock):
    """Accepts connections one at a time and echoes each until it closes."""
    while True:
        conn, _ = sock.accept()
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    break
                conn.sendall(data)


def wait_for_states(port, done, what, deadline_seconds=10, remotes=None):
    """Polls /proc/net/tcp until done(STATES) holds for the states (hex, e.g. "05") of the
    sockets bound to 127.0.0.1:PORT (and connected to 127.0.0.1 at one of REMOTES, when given:
    another test's socket may have this number too): the kernel makes these changes on its own,
    with no event to wait on. Bounded in time."""
    wanted = "0100007F:%04X" % port
    peers = None if remotes is None else {"0100007F:%04X" % remote for remote in remotes}
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        with open("/proc/net/tcp") as table:
            states = [fields[3] for fields in (line.split() for line in table.readlines()[1:])
                      if fields[1] == wanted and (peers is None or fields[2] in peers)]
        if done(states):
            return
        time.sleep(0.005)
    sys.exit("the sockets on port %d never were %s" % (port, what))


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
        connections = int(args[args.index("--connections") + 1]) if "--connections" in args else 0
        if "--self-connect" in flags:
            connections = max(connections, 1)
        if connections > 500:
            import resource
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            if soft < 2 * connections + 64:
                resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 2 * connections + 64), hard))
        for _ in range(connections):
            client = socket.create_connection(("::1" if "--v6" in flags else "127.0.0.1", port))
            server, _ = sock.accept()
            keep += [client, server]
        fields = [str(port), str(os.getpid())]
        if "--echo" in flags:
            threading.Thread(target=echo_forever, args=(sock,), daemon=True).start()
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
        print("ready %d %d %d" % (client.getsockname()[1], os.getpid(), client.fileno()), flush=True)
        # A line "options" on stdin: the socket's SO_KEEPALIVE and TCP_KEEPIDLE, read here.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = sys.stdin.readline()
            if not line:
                break
            if line.strip() == "options":
                keepalive = client.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
                idle = client.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
                print("options %d %d" % (keepalive, idle), flush=True)
    elif mode == "timewait":
        count = int(args[args.index("--count") + 1]) if "--count" in args else 3
        sock = listener(reuse="--reuse" in flags)
        port = sock.getsockname()[1]
        clients = []
        for _ in range(count):
            client = socket.create_connection(("127.0.0.1", port))
            clients.append(client.getsockname()[1])
            server, _ = sock.accept()
            server.close()  # the server closes first: its side goes to TIME-WAIT
            client.settimeout(10)
            assert client.recv(1) == b""
            client.close()
        sock.close()
        # Each server side turns TIME-WAIT once the client's FIN arrives, not when close returns.
        wait_for_states(port, lambda states: states == ["06"] * count, "%d in TIME-WAIT" % count, remotes=clients)
        print("ready %d %s" % (port, " ".join(str(client) for client in clients)), flush=True)
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
    elif mode == "receive":
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(unix_address(args[1]))
        server.listen(1)
        server.settimeout(60)
        print("ready %d" % os.getpid(), flush=True)
        conn, _ = server.accept()
        conn.settimeout(60)
        _, fds, _, _ = socket.recv_fds(conn, 16, 1)
        received = socket.socket(fileno=fds[0])
        conn.sendall(b"k")
        print("received %d" % received.getsockname()[1], flush=True)
        wait_for_stdin()
    elif mode == "send":
        sock = listener()
        port = sock.getsockname()[1]
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(60)
        conn.connect(unix_address(args[1]))
        socket.send_fds(conn, [b"L"], [sock.fileno()])
        assert conn.recv(1) == b"k"  # the receiver holds it now
        if "--keep" not in flags:
            sock.close()
        print("ready %d %d" % (port, os.getpid()), flush=True)
        wait_for_stdin()
    elif mode == "closing":
        state = args[1]
        sock = listener(reuse="--reuse" in flags)
        port = sock.getsockname()[1]
        client = socket.socket()
        if state == "fin-wait-1":
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(("127.0.0.1", port))
        server, _ = sock.accept()
        if state == "fin-wait-1":
            # Fill the client's window and this side's send buffer: the FIN queues behind the data.
            server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            server.setblocking(False)
            try:
                for _ in range(10000):  # both buffers are small and fixed: a few rounds fill them
                    server.send(b"x" * 65536)
                sys.exit("the send buffer never filled")
            except BlockingIOError:
                pass
        server.close()  # an orphan from now on: no file
        sock.close()
        code = "04" if state == "fin-wait-1" else "05"
        wait_for_states(port, lambda states: states == [code], state)
        print("ready %d" % port, flush=True)
        wait_for_stdin()
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
