#!/usr/bin/env python3
"""Restart an echo server under load and count what clients saw.

A load client opens short connections at a steady rate (each sends one line and checks the
echo), while the server is restarted N times, either through `--handoff` (hitless) or by
kill-then-start (plain). Prints one JSON document: restarts, connections attempted, succeeded,
refused, reset, timed out, wrong echoes, and the longest gap without a successful connection.

Loopback only; every loop is bounded in count and time; only processes started here are
signalled, by pid.

    restart-under-load.py --sockit .build/release/sockit --mode handoff --restarts 20 --rate 1000
    restart-under-load.py --sockit .build/release/sockit --mode plain --restarts 5

Exit status: 0 when every connection was answered correctly, 1 when some failed, 2 on a
harness error (the server did not start).
"""
import argparse
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time


def start_server(sockit, address, handoff, extra, timeout=30):
    """Starts `sockit echo` and waits (at most `timeout` seconds) for its "listening on" line."""
    cmd = [sockit, "echo", address] + extra
    if handoff:
        cmd += ["--handoff", handoff]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Both pipes are read on threads for the life of the server, so that it never blocks on a
    # full pipe and the wait below is bounded even when it prints nothing.
    lines = queue.Queue()
    errors = []

    def pump_stdout():
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def pump_stderr():
        for line in proc.stderr:
            if len(errors) < 100:
                errors.append(line)

    threading.Thread(target=pump_stdout, daemon=True).start()
    threading.Thread(target=pump_stderr, daemon=True).start()
    deadline = time.monotonic() + timeout
    line = ""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        if line.startswith("listening on "):
            return proc, line.split("listening on ", 1)[1].strip()
    proc.kill()
    proc.wait(timeout=10)
    raise RuntimeError("server did not print 'listening on' within %d s: %r %s" % (timeout, line, "".join(errors).strip()))


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.values = dict(attempted=0, succeeded=0, refused=0, reset=0, timed_out=0, wrong_echo=0, other=0)
        self.successes = []
        self.errors = {}

    def add(self, key, when=None, detail=None):
        with self.lock:
            self.values[key] += 1
            if key == "succeeded":
                self.successes.append(when)
            elif detail:
                self.errors[detail] = self.errors.get(detail, 0) + 1


def client(host, port, rate_per_thread, stop, counters, thread_id):
    interval = 1.0 / rate_per_thread
    next_at = time.monotonic()
    seq = 0
    while not stop.is_set():
        now = time.monotonic()
        if now < next_at:
            time.sleep(min(next_at - now, 0.05))
            continue
        next_at += interval
        if next_at < now - 1:  # never build up more than a second of backlog
            next_at = now
        seq += 1
        counters.add("attempted")
        message = ("ping %d %d\n" % (thread_id, seq)).encode()
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(3)
        try:
            s.connect((host, port))
            s.sendall(message)
            got = b""
            while not got.endswith(b"\n") and len(got) < 100:
                chunk = s.recv(100)
                if not chunk:
                    break
                got += chunk
            if got == message:
                counters.add("succeeded", time.monotonic())
            else:
                counters.add("wrong_echo", detail="got %r" % got[:40])
        except ConnectionRefusedError:
            counters.add("refused", detail="ECONNREFUSED")
        except ConnectionResetError:
            counters.add("reset", detail="ECONNRESET")
        except socket.timeout:
            counters.add("timed_out", detail="timeout")
        except OSError as e:
            counters.add("other", detail=str(e))
        finally:
            s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sockit", required=True)
    ap.add_argument("--mode", choices=["handoff", "plain", "reuse-port"], default="handoff")
    ap.add_argument("--restarts", type=int, default=20)
    ap.add_argument("--rate", type=int, default=1000, help="connections per second, in total")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between restarts")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--server-arg", action="append", default=[], help="extra argument for sockit echo")
    args = ap.parse_args()
    if args.host not in ("127.0.0.1", "::1"):
        sys.exit("loopback only")
    if not (0 < args.restarts <= 200 and 0 < args.rate <= 20000 and 0 < args.threads <= 64):
        sys.exit("restarts, rate or threads out of range")

    workdir = tempfile.mkdtemp(prefix="sockit-restart-")
    handoff = os.path.join(workdir, "handoff.sock") if args.mode == "handoff" else None
    extra = list(args.server_arg) + (["--reuse-port"] if args.mode == "reuse-port" else [])
    first_address = "[::1]:0" if args.host == "::1" else "127.0.0.1:0"
    started = []
    try:
        server, bound = start_server(args.sockit, first_address, handoff, extra)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        sys.exit(2)
    started.append(server)
    port = int(bound.rsplit(":", 1)[1])
    address = "[::1]:%d" % port if args.host == "::1" else "127.0.0.1:%d" % port

    counters = Counters()
    stop = threading.Event()
    threads = [threading.Thread(target=client, args=(args.host, port, args.rate / args.threads, stop, counters, i), daemon=True)
               for i in range(args.threads)]
    begin = time.monotonic()
    for t in threads:
        t.start()
    restart_times = []
    failure = None
    try:
        time.sleep(args.interval)
        for _ in range(args.restarts):
            old = server
            t0 = time.monotonic()
            if args.mode == "plain":
                old.send_signal(signal.SIGKILL)
                old.wait(timeout=10)
                server, _ = start_server(args.sockit, address, None, extra)
            elif args.mode == "reuse-port":
                server, _ = start_server(args.sockit, address, None, extra)
                old.send_signal(signal.SIGTERM)
                old.wait(timeout=30)
            else:
                server, _ = start_server(args.sockit, address, handoff, extra)
                old.wait(timeout=30)  # the old instance drains and exits by itself
            started.append(server)
            restart_times.append(time.monotonic() - t0)
            time.sleep(args.interval)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        failure = str(e)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        end = time.monotonic()
        for p in started:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(workdir, ignore_errors=True)

    successes = sorted(counters.successes)
    gaps = [b - a for a, b in zip([begin] + successes, successes + [end])]
    v = counters.values
    failed = v["attempted"] - v["succeeded"]
    result = dict(mode=args.mode, restarts=len(restart_times), seconds=round(end - begin, 2),
                  attempted=v["attempted"], succeeded=v["succeeded"], failed=failed,
                  refused=v["refused"], reset=v["reset"], timed_out=v["timed_out"], wrong_echo=v["wrong_echo"],
                  other=v["other"], rate=round(v["attempted"] / max(end - begin, 1e-9)),
                  longest_gap_ms=round(max(gaps) * 1000, 1) if gaps else None,
                  restart_ms_median=round(sorted(restart_times)[len(restart_times) // 2] * 1000, 1) if restart_times else None,
                  errors=counters.errors)
    if failure:
        result["harness_error"] = failure
    print(json.dumps(result))
    sys.exit(2 if failure else (1 if failed else 0))


if __name__ == "__main__":
    main()
