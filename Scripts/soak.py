#!/usr/bin/env python3
"""Soak the echo server: hold 10,000 connections for a minute, and check it leaks nothing.

Starts `sockit echo 127.0.0.1:0` (reads the port from its "listening on" line), then for
--duration seconds:

- holds --connections concurrent connections (10,000), each sending messages of random size
  (1 B to 64 KiB, log-uniform) and checking every echoed byte; now and then one of them
  half-closes (shutdown(SHUT_WR) after a message, then reads the rest and the server's FIN),
  resets (SO_LINGER 0 then close, at a random point of a message: nothing, part or all of it
  sent) or closes normally; each one that ends is replaced at once;
- runs --slow-readers clients that send and never read: the server must stop reading from
  them (bounded memory) and go on serving the others;
- opens and closes --churn-rate short connections per second (one small echo each, then a
  reset, a half-close or a normal close).

It samples the server's RSS (/proc/PID/status VmRSS) and open descriptors (/proc/PID/fd)
before, every --sample-interval during, and after the load, and prints one JSON document: first
the verdict ("pass", "failures") and the events, then the series and the counts.

Events are expected or unexpected. Expected: what the clients do on purpose and what must follow
from it (their own resets, closes and half-closes, each half-close answered with the whole echo
and then the server's FIN, the clients that never read finding the server no longer reading from
them, every connection closed at the end). Unexpected, by kind and grouped: a reset or broken
pipe the client did not cause ("resets"), a connect or an echo slower than --timeout
("timeouts"), an end of file before the whole echo ("early_eofs"), a wrong byte
("wrong_echoes"), a failed connect ("connect_errors", e.g. EADDRNOTAVAIL when the ephemeral
ports run out), anything else ("other"), and a client that never reads still being read from at
the end. The server is assumed to run without --idle-timeout or --max-connections (whose closes
would be unexpected here).

Passes (exit 0) when, after the load:
- the server's descriptor count returns to its value before the load (within --settle s);
- its RSS growth after warm-up is under --rss-tolerance (5 %): the highest RSS from the end of
  warm-up to the end (a median of 3 samples, so one sample caught mid-burst does not count) over
  the RSS at the end of warm-up (the median of the 3 samples there);
- no unexpected event (above), every slow reader was stopped (under 64 MiB accepted from it),
  and no sample interval after warm-up went without a checked echo (nobody stalled).
Exit 1 with what failed; 2 on a harness error (the server did not start, too few descriptors).

Descriptors: the script raises RLIMIT_NOFILE for itself and for the server (inherited) to
--nofile (default: connections + churn + 4096, at least 16384), with resource.setrlimit
before spawning; raising the hard limit needs root (CAP_SYS_RESOURCE), otherwise the hard limit
must already be that high (`prlimit --nofile=N:N -- python3 Scripts/soak.py`).

Ports: every client connects from 127.0.0.1 to one port, so the ephemeral range
(net.ipv4.ip_local_port_range, 28,232 ports by default) bounds held + in-flight connections.
A client that closes first (a normal close, a half-close) leaves TIME-WAIT on the client side
for 60 s; a reset leaves nothing, so churn is mostly resets (--churn-graceful). The TIME-WAIT
count (/proc/net/sockstat) is in the series; EADDRNOTAVAIL errors mean the range ran out.

Loopback only; every loop is bounded in count and time; it stops by itself; it ends only the
processes it started (the server and its own workers), by pid.

    python3 Scripts/soak.py                                # .build/release/sockit, 60 s, 10,000
    python3 Scripts/soak.py --duration 20 --connections 2000 --server-arg=--threads --server-arg=1
"""
import argparse
import errno
import heapq
import json
import math
import os
import random
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MAX_MESSAGE = 64 * 1024
LINGER_ZERO = struct.pack("ii", 1, 0)
SLOW_READER_LIMIT = 64 * 1024 * 1024


# ---------------------------------------------------------------- server side measurements

def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def time_wait_count():
    try:
        with open("/proc/net/sockstat") as f:
            for line in f:
                if line.startswith("TCP:"):
                    parts = line.split()
                    return int(parts[parts.index("tw") + 1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def start_server(sockit, extra, timeout=30.0):
    cmd = [sockit, "echo", "127.0.0.1:0"] + extra
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    buffered = b""
    while time.monotonic() < deadline and b"\n" not in buffered:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        buffered += chunk
    line = buffered.split(b"\n", 1)[0].decode(errors="replace")
    if not line.startswith("listening on "):
        stop_process(proc)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise RuntimeError("sockit echo did not print 'listening on' (%r): %s" % (line, err.strip()[-2000:]))
    address = line[len("listening on "):].strip()
    host, _, port = address.rpartition(":")
    return proc, host, int(port), cmd


def stop_process(proc, grace=10.0):
    """SIGTERM, then SIGKILL after `grace`: only this process, by its pid."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=grace)
    return proc.returncode


class Tail:
    """Drains a pipe on a thread, keeping its last `limit` bytes (the server never blocks on it)."""

    def __init__(self, pipe, limit=16384):
        self.data = b""
        self.limit = limit
        self.thread = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self.thread.start()

    def _run(self, pipe):
        for _ in range(10_000_000):
            chunk = pipe.read1(65536) if hasattr(pipe, "read1") else pipe.read(65536)
            if not chunk:
                return
            self.data = (self.data + chunk)[-self.limit:]

    def text(self):
        return self.data.decode(errors="replace")


# ---------------------------------------------------------------- the load (worker processes)

CONNECTING, ACTIVE, HALF, THINK, SLOW = range(5)


class Conn:
    __slots__ = ("sock", "fd", "kind", "state", "off", "length", "sent", "recvd", "cut", "fate", "gen",
                 "t0", "mask", "deadline", "bytes_sent")

    def __init__(self, sock, kind):
        self.sock = sock
        self.fd = sock.fileno()
        self.kind = kind  # "held", "churn", "slow"
        self.state = CONNECTING
        self.off = self.length = self.sent = self.recvd = self.cut = 0
        self.fate = "echo"
        self.gen = 0
        self.t0 = 0.0
        self.mask = 0
        self.deadline = 0.0
        self.bytes_sent = 0


class Worker:
    def __init__(self, index, args, host, port, out_fd, start_at):
        self.index = index
        self.args = args
        self.addr = (host, port)
        self.out_fd = out_fd
        self.rnd = random.Random(args.seed * 1000 + index)
        self.pattern = memoryview(random.Random(args.seed).randbytes(2 * MAX_MESSAGE))
        self.buf = bytearray(MAX_MESSAGE)
        self.bufview = memoryview(self.buf)
        self.ep = select.epoll()
        self.conns = {}
        self.timers = []
        self.seq = 0
        n = args.workers
        self.target_held = args.connections // n + (1 if index < args.connections % n else 0)
        self.target_slow = args.slow_readers // n + (1 if index < args.slow_readers % n else 0)
        self.target_held -= self.target_slow
        self.held_open = 0  # held connections connecting or connected
        self.slow_open = 0
        self.connecting = 0
        self.churn_open = 0
        self.churn_rate = args.churn_rate / n
        self.churn_tokens = 0.0
        self.start_at = start_at
        self.counts = {
            "connections_attempted": 0, "connections_made": 0, "echoes_checked": 0, "bytes_echoed": 0,
            "held_replaced": 0, "half_closes": 0, "resets": 0, "client_closes": 0,
            "churn_made": 0, "churn_completed": 0, "slow_reader_bytes": 0,
            "slow_readers_stalled": 0, "closed_at_end": 0,
        }
        self.errors = {}  # unexpected events, by kind (see event_group)
        self.max_open = 0
        self.latencies = []  # a bounded sample of echo round trips, seconds
        self.latency_max = 0.0
        self.phase = "load"
        self.slow_final = []

    # -- bookkeeping

    def error(self, kind):
        """An unexpected event: the server (or the network) did something a correct server does not."""
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def set_mask(self, c, mask):
        if c.mask != mask:
            self.ep.modify(c.fd, mask)
            c.mask = mask

    def drop(self, c, how):
        """Ends a connection: "reset" (SO_LINGER 0, then close: RST), or "close" (a normal close)."""
        if self.conns.pop(c.fd, None) is None:
            return
        c.gen += 1
        try:
            self.ep.unregister(c.fd)
        except OSError:
            pass
        if how == "reset":
            try:
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_ZERO)
            except OSError:
                pass
        c.sock.close()
        if c.state == CONNECTING:
            self.connecting -= 1
        if c.kind == "held":
            self.held_open -= 1
            if self.phase == "load":
                self.counts["held_replaced"] += 1
        elif c.kind == "slow":
            self.slow_open -= 1
        else:
            self.churn_open -= 1

    def fail(self, c, kind):
        self.error(kind)
        self.drop(c, "reset")

    # -- opening

    def open(self, kind):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        self.counts["connections_attempted"] += 1
        code = s.connect_ex(self.addr)
        if code not in (0, errno.EINPROGRESS):
            s.close()
            self.error("connect_" + errno.errorcode.get(code, str(code)))
            return False
        c = Conn(s, kind)
        c.deadline = time.monotonic() + self.args.timeout
        self.conns[c.fd] = c
        c.mask = select.EPOLLOUT
        self.ep.register(c.fd, c.mask)
        self.connecting += 1
        if kind == "held":
            self.held_open += 1
        elif kind == "slow":
            self.slow_open += 1
        else:
            self.churn_open += 1
        self.max_open = max(self.max_open, len(self.conns))
        return True

    def connected(self, c):
        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        self.connecting -= 1
        c.state = THINK
        if err:
            self.fail(c, "connect_" + errno.errorcode.get(err, str(err)))
            return
        self.counts["connections_made"] += 1
        if c.kind == "slow":
            c.state = SLOW
            self.set_mask(c, select.EPOLLOUT)
            return
        if c.kind == "churn":
            self.counts["churn_made"] += 1
        self.start_message(c)

    # -- messages

    def start_message(self, c):
        rnd = self.rnd
        if c.kind == "churn":
            c.length = rnd.randint(1, 512)
            r = rnd.random()
            graceful = self.args.churn_graceful
            if r < 0.1:
                c.fate, c.cut = "reset", 0  # reset with nothing sent
            elif r < 0.1 + graceful / 2:
                c.fate = "half"
            elif r < 0.1 + graceful:
                c.fate = "close"
            else:
                c.fate, c.cut = "reset", c.length + 1  # reset once the echo is back
        else:
            c.length = min(MAX_MESSAGE, max(1, int(2 ** rnd.uniform(0, 16.0001))))
            r = rnd.random()
            if r < self.args.p_reset:
                c.fate, c.cut = "reset", rnd.randint(0, c.length)
            elif r < self.args.p_reset + self.args.p_half:
                c.fate = "half"
            elif r < self.args.p_reset + self.args.p_half + self.args.p_close:
                c.fate = "close"
            else:
                c.fate = "echo"
        c.off = rnd.randrange(0, MAX_MESSAGE)
        c.sent = c.recvd = 0
        c.state = ACTIVE
        c.t0 = time.monotonic()
        c.deadline = c.t0 + self.args.timeout
        if c.fate == "reset" and c.cut == 0:
            self.counts["resets"] += 1
            self.drop(c, "reset")
            return
        self.set_mask(c, select.EPOLLIN | select.EPOLLOUT)
        self.send_some(c)

    def send_some(self, c):
        end = c.length
        if c.fate == "reset" and c.cut <= c.length:
            end = c.cut
        try:
            while c.sent < end:
                n = c.sock.send(self.pattern[c.off + c.sent:c.off + end])
                if n <= 0:
                    break
                c.sent += n
        except BlockingIOError:
            return
        except ConnectionResetError:
            self.fail(c, "unexpected_reset")
            return
        except BrokenPipeError:
            self.fail(c, "broken_pipe")
            return
        except OSError as e:
            self.fail(c, "send_" + errno.errorcode.get(e.errno, str(e.errno)))
            return
        if c.sent < end:
            return
        if c.fate == "reset" and c.cut <= c.length:
            self.counts["resets"] += 1
            self.drop(c, "reset")
        elif c.fate == "half":
            try:
                c.sock.shutdown(socket.SHUT_WR)
            except OSError as e:
                self.fail(c, "shutdown_" + errno.errorcode.get(e.errno, str(e.errno)))
                return
            c.state = HALF
            self.set_mask(c, select.EPOLLIN)
        else:
            self.set_mask(c, select.EPOLLIN)

    def receive(self, c):
        try:
            n = c.sock.recv_into(self.buf, MAX_MESSAGE)
        except BlockingIOError:
            return
        except ConnectionResetError:
            self.fail(c, "unexpected_reset")
            return
        except OSError as e:
            self.fail(c, "recv_" + errno.errorcode.get(e.errno, str(e.errno)))
            return
        if n == 0:
            if c.state == HALF and c.recvd == c.length:
                self.counts["half_closes"] += 1
                self.counts["echoes_checked"] += 1
                self.counts["bytes_echoed"] += c.length
                if c.kind == "churn":
                    self.counts["churn_completed"] += 1
                self.drop(c, "close")
            else:
                self.fail(c, "early_eof")
            return
        if c.recvd + n > c.length or self.bufview[:n] != self.pattern[c.off + c.recvd:c.off + c.recvd + n]:
            self.fail(c, "wrong_echo")
            return
        c.recvd += n
        if c.recvd < c.length or c.state == HALF:
            return
        now = time.monotonic()
        rtt = now - c.t0
        self.latency_max = max(self.latency_max, rtt)
        if len(self.latencies) < 20000:
            self.latencies.append(rtt)
        elif self.rnd.random() < 0.05:
            self.latencies[self.rnd.randrange(20000)] = rtt
        self.counts["echoes_checked"] += 1
        self.counts["bytes_echoed"] += c.length
        if c.kind == "churn":
            self.counts["churn_completed"] += 1
            if c.fate == "close":
                self.counts["client_closes"] += 1
                self.drop(c, "close")
            else:
                self.counts["resets"] += 1
                self.drop(c, "reset")
            return
        if c.fate == "close":
            self.counts["client_closes"] += 1
            self.drop(c, "close")
            return
        if c.fate == "reset":  # cut past the end: reset with the echo back
            self.counts["resets"] += 1
            self.drop(c, "reset")
            return
        think = self.rnd.random() * self.args.think
        if think < 0.001 or self.phase != "load":
            self.start_message(c)
        else:
            c.state = THINK
            self.set_mask(c, 0)
            self.seq += 1
            heapq.heappush(self.timers, (now + think, self.seq, c, c.gen))

    def slow_send(self, c):
        try:
            for _ in range(64):
                n = c.sock.send(self.pattern[:MAX_MESSAGE])
                c.bytes_sent += n
                self.counts["slow_reader_bytes"] += n
        except BlockingIOError:
            pass
        except OSError as e:
            self.fail(c, "slow_reader_" + errno.errorcode.get(e.errno, str(e.errno)))

    def handle(self, c, ev):
        if c.state == CONNECTING:
            self.connected(c)
            return
        if c.state == SLOW:
            if ev & (select.EPOLLERR | select.EPOLLHUP):
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                self.fail(c, "slow_reader_" + (errno.errorcode.get(err, str(err)) if err else "eof"))
            else:
                self.slow_send(c)
            return
        if ev & (select.EPOLLIN | select.EPOLLERR | select.EPOLLHUP):
            self.receive(c)
            if c.fd not in self.conns or self.conns[c.fd] is not c:
                return
        if ev & select.EPOLLOUT and c.state == ACTIVE:
            self.send_some(c)

    # -- the loop

    def report(self, final=False):
        doc = {"worker": self.index, "final": final, "open": len(self.conns), "held_open": self.held_open,
               "counts": self.counts, "errors": self.errors}
        if final:
            doc["max_open"] = self.max_open
            doc["latencies"] = self.latencies
            doc["latency_max"] = self.latency_max
            doc["slow_readers"] = self.slow_final
        data = (json.dumps(doc) + "\n").encode()
        view = memoryview(data)
        while view:
            written = os.write(self.out_fd, view)
            view = view[written:]

    def run(self):
        args = self.args
        while time.monotonic() < self.start_at:
            time.sleep(0.01)
        t_start = time.monotonic()
        load_end = t_start + args.duration
        next_report = t_start + args.sample_interval / 2
        next_scan = t_start + 1.0
        last = t_start
        max_iterations = int(args.duration * 100_000) + 1_000_000
        for _ in range(max_iterations):
            now = time.monotonic()
            if now >= load_end:
                break
            # Open held connections up to the target, a bounded number connecting at a time.
            budget = args.max_connecting - self.connecting
            while budget > 0 and self.slow_open < self.target_slow:
                if not self.open("slow"):
                    break
                budget -= 1
            while budget > 0 and self.held_open < self.target_held:
                if not self.open("held"):
                    break
                budget -= 1
            # Churn at its rate, with a bounded number in flight.
            self.churn_tokens = min(self.churn_tokens + self.churn_rate * (now - last), max(1.0, self.churn_rate / 10))
            last = now
            while self.churn_tokens >= 1 and self.churn_open < args.max_churn_inflight and budget > 0:
                self.churn_tokens -= 1
                if not self.open("churn"):
                    break
                budget -= 1
            timeout = 0.02
            if self.timers:
                timeout = max(0.0, min(timeout, self.timers[0][0] - now))
            for fd, ev in self.ep.poll(timeout, 4096):
                c = self.conns.get(fd)
                if c is not None:
                    self.handle(c, ev)
            now = time.monotonic()
            for _ in range(100_000):
                if not self.timers or self.timers[0][0] > now:
                    break
                _, _, c, gen = heapq.heappop(self.timers)
                if c.gen == gen and c.state == THINK and self.conns.get(c.fd) is c:
                    self.start_message(c)
            if now >= next_scan:
                next_scan = now + 1.0
                for c in list(self.conns.values()):
                    if c.state in (CONNECTING, ACTIVE, HALF) and now > c.deadline:
                        self.fail(c, "connect_timeout" if c.state == CONNECTING else "echo_timeout")
            if now >= next_report:
                next_report += args.sample_interval
                self.report()
        # The end of the load: every connection closes, half of them with a reset.
        self.phase = "stop"
        self.slow_final = [c.bytes_sent for c in self.conns.values() if c.kind == "slow"]
        # A client that never reads must find the server no longer reading from it: its socket
        # is full (not writable) by now. Writable means the server still takes what it sends.
        poller = select.poll()
        for c in self.conns.values():
            if c.kind == "slow":
                poller.register(c.fd, select.POLLOUT)
        writable = {fd for fd, ev in poller.poll(0) if ev & select.POLLOUT}
        for c in self.conns.values():
            if c.kind == "slow":
                if c.fd in writable:
                    self.error("slow_reader_not_stalled")
                else:
                    self.counts["slow_readers_stalled"] += 1
        self.counts["closed_at_end"] = len(self.conns)
        for c in list(self.conns.values()):
            if c.kind == "slow" or self.rnd.random() < 0.5:
                self.drop(c, "reset")
            else:
                self.drop(c, "close")
        self.report(final=True)


def worker_main(index, args, host, port, out_fd, start_at):
    code = 0
    try:
        w = Worker(index, args, host, port, out_fd, start_at)
        w.run()
    except BaseException as e:  # report, never hang the parent
        try:
            os.write(out_fd, (json.dumps({"worker": index, "final": True, "crash": repr(e)}) + "\n").encode())
        except OSError:
            pass
        code = 3
    os._exit(code)


# ---------------------------------------------------------------- the parent

def event_group(kind):
    """The group an unexpected event's kind belongs to in the summary."""
    if kind in ("connect_timeout", "echo_timeout"):
        return "timeouts"
    if kind in ("unexpected_reset", "broken_pipe") or kind.endswith(("ECONNRESET", "EPIPE", "ECONNABORTED", "ENOTCONN")):
        return "resets"
    if kind in ("early_eof", "slow_reader_eof"):
        return "early_eofs"
    if kind == "wrong_echo":
        return "wrong_echoes"
    if kind.startswith("connect_"):
        return "connect_errors"
    if kind == "slow_reader_not_stalled":
        return "slow_readers_still_read"
    return "other"


def classify_events(counts, errors, slow_readers):
    """Expected events (what the clients did on purpose, and what follows from it) and
    unexpected ones (anything else: each fails the run)."""
    expected = {
        # Resets the clients sent on purpose (SO_LINGER 0: nothing, part or all of a message
        # sent); the server's side of them never reaches the client.
        "resets_by_client": counts.get("resets", 0),
        # Half-closes answered as they must be: the whole echo, then the server's FIN.
        "eof_after_half_close": counts.get("half_closes", 0),
        "closes_by_client": counts.get("client_closes", 0),
        # Clients that never read, which the server stopped reading from.
        "slow_readers_stalled": counts.get("slow_readers_stalled", 0),
        "slow_readers": slow_readers,
        # Every connection still open when the load ended, closed by the client.
        "closed_at_end": counts.get("closed_at_end", 0),
    }
    groups = {"resets": 0, "timeouts": 0, "early_eofs": 0, "wrong_echoes": 0, "connect_errors": 0,
              "slow_readers_still_read": 0, "other": 0}
    for kind, n in errors.items():
        groups[event_group(kind)] += n
    unexpected = dict(groups)
    unexpected["total"] = sum(groups.values())
    unexpected["by_kind"] = dict(sorted(errors.items()))
    return expected, unexpected


def raise_nofile(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted and hard >= wanted:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
    except (ValueError, OSError):
        if hard >= wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        else:
            raise RuntimeError(
                "need %d descriptors (RLIMIT_NOFILE), the hard limit is %d and cannot be raised here: "
                "run as root, or with prlimit --nofile=%d:%d -- python3 %s" % (wanted, hard, wanted, wanted, sys.argv[0]))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    return values[len(values) // 2]


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(math.ceil(p / 100 * len(values))) - 1)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sockit", default=os.path.join(ROOT, ".build", "release", "sockit"))
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load (60)")
    ap.add_argument("--connections", type=int, default=10_000, help="concurrent connections held (10,000)")
    ap.add_argument("--slow-readers", type=int, default=4, help="of those, clients that never read (4)")
    ap.add_argument("--churn-rate", type=float, default=1000.0, help="short connections opened per second (1,000)")
    ap.add_argument("--churn-graceful", type=float, default=0.2,
                    help="fraction of churn closed by the client (half-close or close: TIME-WAIT); the rest reset")
    ap.add_argument("--max-churn-inflight", type=int, default=200, help="per worker")
    ap.add_argument("--max-connecting", type=int, default=256, help="connects in progress per worker")
    ap.add_argument("--p-reset", type=float, default=0.02, help="chance a held message ends in a reset")
    ap.add_argument("--p-half", type=float, default=0.02, help="chance a held message ends in a half-close")
    ap.add_argument("--p-close", type=float, default=0.01, help="chance a held message ends in a normal close")
    ap.add_argument("--think", type=float, default=1.0, help="longest pause between a held connection's messages (s)")
    ap.add_argument("--timeout", type=float, default=20.0, help="a connect or an echo slower than this is an error (s)")
    ap.add_argument("--workers", type=int, default=2, help="client processes (2)")
    ap.add_argument("--sample-interval", type=float, default=1.0)
    ap.add_argument("--warmup", type=float, default=None, help="seconds of load before RSS is the baseline (20%% of the duration, at least 5)")
    ap.add_argument("--settle", type=float, default=30.0, help="how long the descriptors may take to return after the load (s)")
    ap.add_argument("--after", type=float, default=3.0, help="seconds of samples after the descriptors returned")
    ap.add_argument("--rss-tolerance", type=float, default=0.05)
    ap.add_argument("--nofile", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--server-arg", action="append", default=[], help="an extra argument for sockit echo (repeatable)")
    args = ap.parse_args()
    if args.warmup is None:
        args.warmup = max(5.0, 0.2 * args.duration)
    args.workers = max(1, args.workers)
    args.slow_readers = min(args.slow_readers, args.connections)

    nofile_wanted = args.nofile or max(16384, args.connections + 2 * args.workers * args.max_churn_inflight
                                       + args.workers * args.max_connecting + 4096)
    try:
        nofile = raise_nofile(nofile_wanted)
    except RuntimeError as e:
        print("soak: %s" % e, file=sys.stderr)
        return 2
    if not os.access(args.sockit, os.X_OK):
        print("soak: %s is not executable: swift build -c release --product sockit" % args.sockit, file=sys.stderr)
        return 2

    try:
        proc, host, port, cmd = start_server(args.sockit, args.server_arg)
    except RuntimeError as e:
        print("soak: %s" % e, file=sys.stderr)
        return 2
    pid = proc.pid
    workers = []
    samples = []
    result = {}
    try:
        # Before the load: a few samples of the idle server.
        before = []
        for _ in range(3):
            before.append({"t": 0.0, "rss_kib": rss_kib(pid), "fds": fd_count(pid)})
            time.sleep(0.2)  # spacing of measurements, not a synchronisation
        fds_start = before[-1]["fds"]
        rss_start = before[-1]["rss_kib"]

        # Workers are forked before any thread starts here; they begin together at start_at.
        start_at = time.monotonic() + 0.5
        pipes = []
        for index in range(args.workers):
            r, w = os.pipe()
            child = os.fork()
            if child == 0:
                os.close(r)
                for other in pipes:
                    os.close(other)
                worker_main(index, args, host, port, w, start_at)
            os.close(w)
            os.set_blocking(r, False)
            workers.append(child)
            pipes.append(r)
        out_tail = Tail(proc.stdout)
        err_tail = Tail(proc.stderr)

        status = {}
        finals = {}
        partial = {r: b"" for r in pipes}

        def pump(timeout):
            waiting = [r for r in pipes if r not in finals_by_fd]
            if not waiting:
                time.sleep(timeout)
                return
            ready, _, _ = select.select(waiting, [], [], timeout)
            for r in ready:
                try:
                    chunk = os.read(r, 1 << 20)
                except BlockingIOError:
                    continue
                if not chunk:
                    finals_by_fd.setdefault(r, None)
                    continue
                partial[r] += chunk
                while b"\n" in partial[r]:
                    line, partial[r] = partial[r].split(b"\n", 1)
                    doc = json.loads(line)
                    status[doc["worker"]] = doc
                    if doc.get("final"):
                        finals[doc["worker"]] = doc
                        finals_by_fd[r] = doc

        finals_by_fd = {}
        t0 = start_at
        load_end = start_at + args.duration
        next_sample = start_at
        for _ in range(int(args.duration / args.sample_interval + 10) * (args.workers + 1) * 20):
            now = time.monotonic()
            if now >= next_sample:
                opened = sum(s.get("open", 0) for s in status.values())
                echoes = sum(s.get("counts", {}).get("echoes_checked", 0) for s in status.values())
                samples.append({"t": round(now - t0, 2), "rss_kib": rss_kib(pid), "fds": fd_count(pid),
                                "client_open": opened, "echoes": echoes, "time_wait": time_wait_count()})
                next_sample += args.sample_interval
            if now >= load_end:
                break
            pump(max(0.0, min(next_sample, load_end) - time.monotonic()))
        # The load ends: wait (bounded) for the workers' final reports.
        deadline = time.monotonic() + 60
        while len(finals_by_fd) < len(pipes) and time.monotonic() < deadline:
            pump(0.2)
        for child in workers:
            _, code = os.waitpid(child, 0)
        workers = []
        t_load_end = time.monotonic() - t0

        # After: the descriptors must come back to their start value; then a few more samples.
        after = []
        settled_at = None
        deadline = time.monotonic() + args.settle
        while time.monotonic() < deadline:
            sample = {"t": round(time.monotonic() - t0, 2), "rss_kib": rss_kib(pid), "fds": fd_count(pid),
                      "time_wait": time_wait_count()}
            after.append(sample)
            if sample["fds"] == fds_start:
                settled_at = sample["t"]
                break
            time.sleep(0.1)  # polling a condition with a deadline
        extra_until = time.monotonic() + args.after
        while time.monotonic() < extra_until:
            time.sleep(0.5)
            after.append({"t": round(time.monotonic() - t0, 2), "rss_kib": rss_kib(pid), "fds": fd_count(pid),
                          "time_wait": time_wait_count()})
        server_alive = proc.poll() is None
        fds_end = after[-1]["fds"] if after else None

        # Verdicts.
        counts = {}
        errors = {}
        latencies = []
        latency_max = 0.0
        slow = []
        max_open = 0
        crashes = []
        for doc in finals.values():
            if "crash" in doc:
                crashes.append(doc["crash"])
                continue
            for k, v in doc["counts"].items():
                counts[k] = counts.get(k, 0) + v
            for k, v in doc["errors"].items():
                errors[k] = errors.get(k, 0) + v
            latencies += doc.get("latencies", [])
            latency_max = max(latency_max, doc.get("latency_max", 0.0))
            slow += doc.get("slow_readers", [])
            max_open += doc.get("max_open", 0)
        during = [s for s in samples if s["t"] <= args.duration]
        warm_index = next((i for i, s in enumerate(during) if s["t"] >= args.warmup), None)
        failures = []
        rss_baseline = rss_peak = growth = None
        if warm_index is None or warm_index + 1 >= len(during):
            failures.append("too few samples after warm-up to judge RSS (duration %.0f s, warm-up %.0f s)" % (args.duration, args.warmup))
        else:
            rss_baseline = median([s["rss_kib"] for s in during[max(0, warm_index - 1):warm_index + 2]])
            series = [s["rss_kib"] for s in during[warm_index:]] + [s["rss_kib"] for s in after]
            smoothed = [median(series[max(0, i - 1):i + 2]) for i in range(len(series))]
            rss_peak = max(v for v in smoothed if v is not None)
            growth = (rss_peak - rss_baseline) / rss_baseline
            if growth >= args.rss_tolerance:
                failures.append("RSS grew %.1f%% after warm-up (%d KiB at %.0f s, peak %d KiB), the limit is %.0f%%"
                                % (growth * 100, rss_baseline, during[warm_index]["t"], rss_peak, args.rss_tolerance * 100))
            stalled = [s["t"] for prev, s in zip(during[warm_index:], during[warm_index + 1:]) if s["echoes"] <= prev["echoes"]]
            if stalled:
                failures.append("no echo was checked in the interval before t = %s s: clients stalled" % stalled[:10])
        if settled_at is None:
            failures.append("the server's descriptors did not return to %s within %.0f s after the load: %s"
                            % (fds_start, args.settle, after[-1]["fds"] if after else "?"))
        elif fds_end != fds_start:
            failures.append("the server's descriptors returned to %s, then became %s" % (fds_start, fds_end))
        expected, unexpected = classify_events(counts, errors, len(slow))
        if unexpected["total"]:
            failures.append("%d unexpected events: %s" % (unexpected["total"], ", ".join(
                "%s %d" % (kind, n) for kind, n in sorted(unexpected["by_kind"].items()))))
        over = [b for b in slow if b >= SLOW_READER_LIMIT]
        if over:
            failures.append("the server accepted %s bytes from clients that never read (limit %d)" % (over, SLOW_READER_LIMIT))
        if crashes:
            failures.append("a load worker crashed: %s" % crashes)
        if len(finals) < args.workers:
            failures.append("%d of %d workers did not report" % (args.workers - len(finals), args.workers))
        if not server_alive:
            failures.append("the server exited during the run (status %s)" % proc.returncode)
        held = [s["client_open"] for s in during if s["t"] >= args.warmup]
        result = {
            "pass": not failures,
            "failures": failures,
            "events": {"expected": expected, "unexpected": unexpected},
            "command": cmd,
            "pid": pid,
            "address": "%s:%d" % (host, port),
            "nofile": nofile,
            "parameters": {k: v for k, v in vars(args).items() if k not in ("sockit", "server_arg")},
            "before": {"rss_kib": rss_start, "fds": fds_start, "samples": before},
            "during": samples,
            "after": {"samples": after, "fds_returned_at": settled_at, "load_ended_at": round(t_load_end, 2),
                      "rss_kib": after[-1]["rss_kib"] if after else None, "fds": fds_end},
            "rss": {"start_kib": rss_start, "baseline_kib": rss_baseline, "peak_after_warmup_kib": rss_peak,
                    "growth": round(growth, 4) if growth is not None else None,
                    "max_during_kib": max((s["rss_kib"] or 0) for s in samples) if samples else None},
            "fds": {"start": fds_start, "max_during": max((s["fds"] or 0) for s in samples) if samples else None,
                    "end": fds_end},
            "clients": {"open_after_warmup_min": min(held) if held else None,
                        "open_after_warmup_max": max(held) if held else None, "max_open": max_open,
                        "slow_reader_bytes_accepted": slow},
            "counts": counts,
            "echo_latency_s": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
                               "max": latency_max, "sampled": len(latencies)},
            "server_stderr_tail": err_tail.text()[-4000:],
        }
    finally:
        for child in workers:  # only on a harness error: our own workers, by pid
            try:
                os.kill(child, signal.SIGKILL)
                os.waitpid(child, 0)
            except OSError:
                pass
        code = stop_process(proc)
        if result:
            result["server_exit_status"] = code
    print(json.dumps(result, indent=1))
    if result.get("failures"):
        print("soak: FAIL: " + "; ".join(result["failures"]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
