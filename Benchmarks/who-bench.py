#!/usr/bin/env python3
"""`sockit who PORT` against `ss -tanp 'sport = :PORT'` and `lsof -nP -i :PORT` on a fixture of
many sockets and processes (port-fixture.py), run alternately, medians and ratios. A benchmark,
not a test. Loopback only; it ends only the fixture processes it started.

    Benchmarks/who-bench.py [--sockit .build/release/sockit] [--rounds 21] [--scales 300x16,50x10]

Targets (issue 4): at about 10,000 sockets in 300 processes, sockit at most 0.35x the time of
ss -tanp and 0.15x of lsof; at about 1,000 in 50, at most 0.5x of ss -tanp; a listener-only
query (`sockit wait PORT --listening --timeout 0`) and a bind verdict of a free port
(`sockit who FREEPORT --tcp --listening`) within 5 ms. Also printed: `sockit --version`, the
process start-up alone, which every one of these pays. The machine is noisy: compare ratios within one run.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(argv):
    """Wall time of one run in ms, output discarded."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    start = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
        (os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status = os.waitpid(pid, 0)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    os.close(devnull)
    return elapsed, os.waitstatus_to_exitcode(status)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockit", default=os.path.join(HERE, "..", ".build", "release", "sockit"))
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--scales", default="300x16,50x10")
    args = parser.parse_args()
    sockit = os.path.abspath(args.sockit)
    ss = shutil.which("ss")
    lsof = shutil.which("lsof")
    if not os.access(sockit, os.X_OK) or not ss or not lsof:
        sys.exit("needs %s (swift build -c release --product sockit), ss (iproute2) and lsof" % sockit)

    print("machine: %d cores, %s" % (os.cpu_count(), os.uname().release))
    for scale in args.scales.split(","):
        procs, pairs = (int(x) for x in scale.split("x"))
        fixture = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "port-fixture.py"), "--procs", str(procs), "--pairs", str(pairs)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            line = fixture.stdout.readline().split()
            if not line or line[0] != "ready":
                sys.exit("the fixture did not start")
            port, total = int(line[1]), int(line[2])
            counted = len(subprocess.run([ss, "-Htan"], capture_output=True, text=True).stdout.splitlines())
            commands = {
                "sockit who": [sockit, "who", str(port)],
                "ss -tanp": [ss, "-tanp", "sport = :%d" % port],
                "lsof -i": [lsof, "-nP", "-i", ":%d" % port],
                "sockit listener-only": [sockit, "wait", str(port), "--listening", "--timeout", "0"],
                "sockit start-up (--version)": [sockit, "--version"],
                # The bind verdict alone: who --listening probes bind() and reads only listeners
                # (the kernel then skips its walk of every connection).
                "sockit verdict (free port)": [sockit, "who", str(free_port()), "--tcp", "--listening"],
            }
            for argv in commands.values():  # warm the caches once
                timed(argv)
            samples = {name: [] for name in commands}
            names = list(commands)
            for round_index in range(args.rounds):
                # Alternate the order every round so no command always runs after the same one.
                order = names if round_index % 2 == 0 else list(reversed(names))
                for name in order:
                    elapsed, _ = timed(commands[name])
                    samples[name].append(elapsed)
            medians = {name: statistics.median(values) for name, values in samples.items()}
            print("\nscale: %d processes, %d fixture sockets (ss -tan counts %d), port %d, %d rounds"
                  % (procs + 1, total, counted, port, args.rounds))
            for name in names:
                print("  %-28s median %8.2f ms  (min %.2f, max %.2f)" % (
                    name, medians[name], min(samples[name]), max(samples[name])))
            who = medians["sockit who"]
            print("  ratio sockit/ss   %.3f" % (who / medians["ss -tanp"]))
            print("  ratio sockit/lsof %.3f" % (who / medians["lsof -i"]))
        finally:
            fixture.stdin.close()
            fixture.wait(timeout=60)


if __name__ == "__main__":
    main()
