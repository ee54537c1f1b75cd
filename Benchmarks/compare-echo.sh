#!/usr/bin/env bash
# compare-echo.sh — sockit echo side by side with the C epoll reference and SwiftNIO's
# NIOEchoServer, reported as ratios to the C reference. A benchmark, not a test.
#
# Uses ../shared/bench/echo (echo-compare.sh, echo-bench.sh, loadgen, epoll_echo; see its
# README): the server is pinned to CPU 0 and the load generator to CPU 1 (taskset), servers run
# interleaved for ROUNDS rounds, and medians are printed with each server's req/s and p99 ratio to
# the C reference. Then MODE=idle: RSS per idle connection with IDLE_CONNS connections open.
#
# Environment: ROUNDS (3) DURATION (5 s) CONNS_LIST ("1 50 500") SIZES ("64 4096")
#              IDLE_CONNS (10000) NIO (path to NIOEchoServer; built when missing; "none" skips it)
#              BENCH (the shared bench directory) SKIP_IDLE=1
#              BASELINE (another sockit binary, e.g. a build of the previous commit: it runs
#              interleaved with the others as "before", to show a change's effect within one run)
#
# Building NIOEchoServer (outside the repository, several minutes, done once):
#   git clone /opt/swift-packages/apple/swift-nio.git /tmp/nio && cd /tmp/nio &&
#   git checkout 2.101.3 && swift build -c release --product NIOEchoServer
#
# The machine has 2 cores, so every number is noisy: compare ratios within one run, look at
# the medians, and watch other_cpu (CPU used by other processes during a run).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BENCH="${BENCH:-$(cd "$ROOT/../shared/bench/echo" 2>/dev/null && pwd || echo /work/shared/bench/echo)}"
NIO="${NIO:-/tmp/nio/.build/release/NIOEchoServer}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5}"
CONNS_LIST="${CONNS_LIST:-1 50 500}"
SIZES="${SIZES:-64 4096}"
IDLE_CONNS="${IDLE_CONNS:-10000}"

echo "# building: sockit (release), the C reference and loadgen" >&2
(cd "$ROOT" && swift build -c release --product sockit >&2)
SOCKIT="$ROOT/.build/release/sockit"
make -s -C "$BENCH" >&2

if [ "$NIO" != none ] && [ ! -x "$NIO" ]; then
  echo "# building NIOEchoServer in /tmp/nio (several minutes)" >&2
  if [ ! -d /tmp/nio ]; then git clone -q /opt/swift-packages/apple/swift-nio.git /tmp/nio; fi
  (cd /tmp/nio && git checkout -q 2.101.3 && swift build -c release --product NIOEchoServer >&2)
  NIO=/tmp/nio/.build/release/NIOEchoServer
fi

servers=("c::$BENCH/epoll_echo -p {PORT}")
[ "$NIO" = none ] || servers+=("nio::$NIO 127.0.0.1 {PORT}")
servers+=("sockit::$SOCKIT echo 127.0.0.1:{PORT} --threads 1")
[ -z "${BASELINE:-}" ] || servers+=("before::$BASELINE echo 127.0.0.1:{PORT} --threads 1")

# Each command below needs more descriptors than the usual 1024 for 500+ connections.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

for size in $SIZES; do
  for conns in $CONNS_LIST; do
    echo
    echo "## echo: $conns connections, $size-byte messages (medians of $ROUNDS rounds, ratio = req/s / C's)"
    CONNS="$conns" SIZE="$size" DURATION="$DURATION" ROUNDS="$ROUNDS" "$BENCH/echo-compare.sh" "${servers[@]}"
  done
done

if [ "${SKIP_IDLE:-0}" != 1 ]; then
  echo
  echo "## idle: RSS per idle connection with $IDLE_CONNS connections open (kb_per_conn)"
  for s in "${servers[@]}"; do
    NAME="${s%%::*}" MODE=idle "$BENCH/echo-bench.sh" "${s#*::}" "$IDLE_CONNS" 64 3
  done
fi
