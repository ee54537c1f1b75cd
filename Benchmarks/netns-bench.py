#!/usr/bin/env python3
"""`sockit who PORT --all-netns` against what a person does without it: `ip netns exec NS ss
-tanp 'sport = :PORT'` for each namespace (one shell loop), with N named network namespaces
each holding a listener on PORT. Run alternately, medians and ratio. A benchmark, not a test:
it creates namespaces named sockit-bench-N (ip netns add) and removes them, and ends only the
listeners it started. Needs root.

    Benchmarks/netns-bench.py [--sockit .build/release/sockit] [--namespaces 10] [--rounds 21]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time


def timed(argv):
    """Wall time of one run in ms, output discarded, and the exit status."""
    start = time.perf_counter_ns()
    status = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    return (time.perf_counter_ns() - start) / 1e6, status


LISTENER = (
    "import socket, sys\n"
    "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
    "print(s.getsockname()[1], flush=True); sys.stdin.read()\n"
)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sockit", default=".build/release/sockit")
    parser.add_argument("--namespaces", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("netns-bench: needs root (ip netns add, setns)")
    sockit = os.path.abspath(args.sockit)
    ip, ss = shutil.which("ip"), shutil.which("ss")
    names = [f"sockit-bench-{index}" for index in range(args.namespaces)]
    listeners = []
    try:
        port = 0
        for name in names:
            subprocess.run([ip, "netns", "add", name], check=True)
            subprocess.run([ip, "-n", name, "link", "set", "lo", "up"], check=True)
            # The first listener takes port 0; the others the same number, each in its own namespace.
            child = subprocess.Popen(
                [ip, "netns", "exec", name, sys.executable, "-c", LISTENER, str(port)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            port = int(child.stdout.readline())
            listeners.append(child)
        loop = " ; ".join(f"{ip} netns exec {name} {ss} -tanp 'sport = :{port}'" for name in names)
        commands = {
            "sockit who --all-netns": [sockit, "who", str(port), "--all-netns"],
            f"ip netns exec … ss -tanp ×{len(names)}": ["/bin/sh", "-c", loop],
        }
        found = subprocess.run(commands["sockit who --all-netns"] + ["--json"], capture_output=True, text=True)
        listed = found.stdout.count('"LISTEN"')
        print(f"netns-bench: {len(names)} namespaces, a listener on port {port} in each; sockit lists {listed}")
        samples = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, argv in commands.items():
                elapsed, status = timed(argv)
                if status not in (0, 1):
                    sys.exit(f"netns-bench: {name} exited {status}")
                samples[name].append(elapsed)
        medians = {name: statistics.median(values) for name, values in samples.items()}
        base = medians[list(commands)[1]]
        for name, median in medians.items():
            print(f"  {name:34} median {median:8.2f} ms   {median / base:5.3f}x")
    finally:
        for child in listeners:
            child.stdin.close()
            child.wait(timeout=10)
        for name in names:
            subprocess.run([ip, "netns", "delete", name], stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
