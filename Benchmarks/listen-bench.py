#!/usr/bin/env python3
"""Issue 15's figures: `sockit who` without a port against `ss -tulpn`, and a busy port's
`sockit who PORT` / `who PORT --listening` against `ss -tanp`, with and without 20,000 TIME-WAIT
sockets on another port. Alternating runs, medians and ratios (of the medians, and paired: the
median of each round's ratio). A benchmark, not a test: loopback only, and it ends only the
processes it started.

    Benchmarks/listen-bench.py [--sockit .build/release/sockit] [--rounds 21]
        [--procs 30 --per 5] [--connections 5000] [--time-wait 20000]

The listeners: --procs processes with --per TCP listeners and --per UDP sockets each
(Tests/Fixtures/listeners.py). The busy port: a listener with --connections connections, both
ends held by one process (Tests/Fixtures/portholder.py). TIME-WAIT: a listener that closes each
of --time-wait connections first, on its own port.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")


def timed(argv):
    devnull = os.open(os.devnull, os.O_WRONLY)
    start = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
        (os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status = os.waitpid(pid, 0)
    os.close(devnull)
    return (time.perf_counter_ns() - start) / 1e6, os.waitstatus_to_exitcode(status)


def compare(title, commands, rounds):
    samples = {name: [] for name in commands}
    for _ in range(rounds):
        for name, argv in commands.items():
            elapsed, status = timed(argv)
            if status not in (0, 1):
                sys.exit(f"listen-bench: {name} exited {status}")
            samples[name].append(elapsed)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    reference = list(commands)[-1]
    base = medians[reference]
    print(title)
    for name, median in medians.items():
        # Paired: each round's time over the reference's in the same round, the median of those.
        # This VM switches between two speeds every few seconds; a ratio of medians can pair a
        # fast half of one command with a slow half of the other, a ratio within a round cannot.
        paired = statistics.median(a / b for a, b in zip(samples[name], samples[reference]))
        print(f"  {name:40} median {median:8.2f} ms   {median / base:6.3f}x   paired {paired:6.3f}x")


def start(argv):
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = child.stdout.readline()
    if not line.startswith("ready"):
        sys.exit(f"listen-bench: {argv} did not start")
    return child, line.split()[1:]


def time_wait(count):
    """count connections closed first by the server: count TIME-WAIT sockets on its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(512)
    address = listener.getsockname()
    for _ in range(count):
        client = socket.create_connection(address)
        server, _ = listener.accept()
        server.close()
        client.close()
    listener.close()
    return address[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockit", default=os.path.join(ROOT, ".build/release/sockit"))
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--procs", type=int, default=30)
    parser.add_argument("--per", type=int, default=5)
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--time-wait", type=int, default=20000)
    args = parser.parse_args()
    sockit = os.path.abspath(args.sockit)
    ss = "/usr/bin/ss" if os.path.exists("/usr/bin/ss") else "/bin/ss"
    children = []
    try:
        child, pids = start([sys.executable, os.path.join(FIXTURES, "listeners.py"), str(args.procs), str(args.per), "--udp"])
        children.append(child)
        total = args.procs * args.per * 2
        compare(f"every listener: {total} sockets in {len(pids)} processes (TCP and UDP)", {
            "sockit who": [sockit, "who"],
            "ss -tulpn": [ss, "-tulpn"],
        }, args.rounds)

        child, fields = start([sys.executable, os.path.join(FIXTURES, "portholder.py"), "listen", "--reuse",
                               "--connections", str(args.connections)])
        children.append(child)
        port = fields[0]
        busy = {
            f"sockit who {port} (every row, piped)": [sockit, "who", port],
            f"sockit who {port} --listening": [sockit, "who", port, "--listening"],
            f"ss -tanp 'sport = :{port}'": [ss, "-tanp", f"sport = :{port}"],
        }
        compare(f"a port with {args.connections} connections", busy, args.rounds)
        started = time.monotonic()
        other = time_wait(args.time_wait)
        print(f"  ({args.time_wait} TIME-WAIT sockets made on port {other} in {time.monotonic() - started:.1f} s)")
        compare(f"the same, with {args.time_wait} TIME-WAIT sockets on port {other}", busy, args.rounds)
    finally:
        for child in children:
            child.stdin.close()
            child.wait(timeout=60)


if __name__ == "__main__":
    main()
