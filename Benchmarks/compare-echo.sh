#!/usr/bin/env bash
# compare-echo.sh — sockit echo side by side with the C epoll reference, the C io_uring reference
# and SwiftNIO's NIOEchoServer, reported as ratios to the C epoll reference. A benchmark, not a test.
#
# Uses ../shared/bench/echo (echo-bench.sh, loadgen, epoll_echo; see its README): the server is
# pinned to CPU 0 and the load generator to CPU 1 (taskset), servers run interleaved for ROUNDS
# rounds (A B C A B C ...), and for each load it prints per server the medians of req/s, p50,
# p99 and server CPU, and the server CPU per request (srv_cpu / req/s, median over the rounds)
# with its ratio to the C reference's: the load generator is nearly saturated at these rates,
# so CPU per request is the fair comparison, req/s is not. Loads: TCP echo (CONNS_LIST x
# SIZES), then UDP (UDP_CONNS_LIST x UDP_SIZES: each "connection" a UDP socket that sends one
# datagram and waits for its echo; C's `epoll_echo --udp` batches with recvmmsg/sendmmsg).
# NIOEchoServer is TCP only. Then MODE=idle: RSS per idle connection with IDLE_CONNS open.
#
# Environment: ROUNDS (3) DURATION (5 s) CONNS_LIST ("1 50 500") SIZES ("64 4096")
#              UDP_CONNS_LIST ("50") UDP_SIZES ("64") SKIP_TCP=1 SKIP_UDP=1 SKIP_IDLE=1
#              IDLE_CONNS (10000) NIO (path to NIOEchoServer; built when missing; "none" skips it)
#              BENCH (the shared bench directory)
#              URING_BENCH (../shared/bench/uring: uring_echo.c, built here when Debian's
#              liburing-dev is installed, else skipped with a note; "none" skips it)
#              URING_PLAIN=1 (also the C io_uring reference with ordinary descriptors, `-x`,
#              labelled c-uring-x: what its direct descriptors save)
#              SOCKIT_BACKENDS ("epoll io_uring": the sockit servers, `sockit echo --epoll` and
#              `sockit echo --io-uring`, labelled sockit and sockit-uring)
#              BASELINE (another sockit binary, e.g. a build of the previous commit: it runs
#              interleaved with the others as "before", to show a change's effect within one run)
#              ASYNC=1 (also an echo server written on the async API, Benchmarks/AsyncEcho, built
#              here in .build-async-echo: a task per connection that reads and writes back, for
#              UDP one task that receives and sends batches of 32; labelled async (tasks on
#              Swift's cooperative pool, epoll loop), async-loop (tasks on their socket's event
#              loop, epoll) and async-loop-uring (the same on an io_uring loop))
#
# Building NIOEchoServer (outside the repository, several minutes, done once):
#   git clone /opt/swift-packages/apple/swift-nio.git /tmp/nio && cd /tmp/nio &&
#   git checkout 2.101.3 && swift build -c release --product NIOEchoServer
#
# The machine has 2 cores, so every number is noisy: compare ratios within one run, look at
# the medians, and watch other (CPU used by other processes during a run, median) and the
# load average printed before each load. paired is the median over rounds of a server's CPU per
# request over C's in the same round: this VM switches between two speeds every few rounds
# (about 1.7x apart), a median of one server can land on either, and the servers of one round
# mostly share one. floor is the 10th percentile of a server's CPU per request over the 10th
# percentile of C's: the cost in the machine's fast state, which every server reaches in some
# rounds; with many short rounds (ROUNDS=25 DURATION=1) it moves least from run to run.
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
URING_BENCH="${URING_BENCH:-$(cd "$ROOT/../shared/bench/uring" 2>/dev/null && pwd || echo /work/shared/bench/uring)}"
URING=""
if [ "$URING_BENCH" != none ]; then
  if [ -f /usr/include/liburing.h ] && make -s -C "$URING_BENCH" >&2; then
    URING="$URING_BENCH/uring_echo"
  else
    echo "# note: no io_uring C reference (needs Debian's liburing-dev: apt-get install -y liburing-dev)" >&2
  fi
fi
SOCKIT_BACKENDS="${SOCKIT_BACKENDS-epoll io_uring}"

if [ "$NIO" != none ] && [ ! -x "$NIO" ]; then
  echo "# building NIOEchoServer in /tmp/nio (several minutes)" >&2
  if [ ! -d /tmp/nio ]; then git clone -q /opt/swift-packages/apple/swift-nio.git /tmp/nio; fi
  (cd /tmp/nio && git checkout -q 2.101.3 && swift build -c release --product NIOEchoServer >&2)
  NIO=/tmp/nio/.build/release/NIOEchoServer
fi

servers=("c::$BENCH/epoll_echo -p {PORT}")
[ -z "$URING" ] || servers+=("c-uring::$URING -p {PORT}")
[ -z "$URING" ] || [ "${URING_PLAIN:-0}" != 1 ] || servers+=("c-uring-x::$URING -p {PORT} -x")
[ "$NIO" = none ] || servers+=("nio::$NIO 127.0.0.1 {PORT}")
for backend in $SOCKIT_BACKENDS; do
  case "$backend" in
    epoll) servers+=("sockit::$SOCKIT echo 127.0.0.1:{PORT} --threads 1 --epoll") ;;
    io_uring) servers+=("sockit-uring::$SOCKIT echo 127.0.0.1:{PORT} --threads 1 --io-uring") ;;
  esac
done
[ -z "${BASELINE:-}" ] || servers+=("before::$BASELINE echo 127.0.0.1:{PORT} --threads 1")
udp_servers=("c::$BENCH/epoll_echo -p {PORT} --udp" "sockit::$SOCKIT echo 127.0.0.1:{PORT} --udp")
[ -z "${BASELINE:-}" ] || udp_servers+=("before::$BASELINE echo 127.0.0.1:{PORT} --udp")
if [ "${ASYNC:-0}" = 1 ]; then
  echo "# building: Benchmarks/AsyncEcho (release, in .build-async-echo; minutes the first time)" >&2
  # A path dependency's new source files go unseen by a build plan made before them (seen with
  # SwiftPM 6.2: the binary lacked a new file's conformance): plan again each time.
  rm -f "$ROOT/.build-async-echo/release.yaml" "$ROOT/.build-async-echo/build.db"
  (cd "$ROOT" && swift build -c release --package-path Benchmarks/AsyncEcho --scratch-path .build-async-echo >&2)
  ASYNC_ECHO="$ROOT/.build-async-echo/release/AsyncEcho"
  for kind in tcp udp; do
    list=("async::$ASYNC_ECHO 127.0.0.1:{PORT} epoll $kind pool"
      "async-loop::$ASYNC_ECHO 127.0.0.1:{PORT} epoll $kind loop"
      "async-loop-uring::$ASYNC_ECHO 127.0.0.1:{PORT} io_uring $kind loop")
    if [ $kind = tcp ]; then servers+=("${list[@]}"); else udp_servers+=("${list[@]}"); fi
  done
fi

# Each command below needs more descriptors than the usual 1024 for 500+ connections.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# compare MODE CONNS SIZE 'label::command' ...: ROUNDS interleaved rounds, then one table.
compare() {
  local mode="$1" conns="$2" size="$3"
  shift 3
  local rows; rows="$(mktemp /tmp/compare-echo.XXXXXX)"
  echo "# load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  for round in $(seq 1 "$ROUNDS"); do
    local k=0
    for server in "$@"; do
      local line
      line="$(NAME="${server%%::*}" MODE="$mode" "$BENCH/echo-bench.sh" "${server#*::}" "$conns" "$size" "$DURATION" || true)"
      echo "  round $round: $line" >&2
      echo "$k $line round=$round" >>"$rows"
      k=$((k + 1))
    done
  done
  python3 - "$rows" "$@" <<'EOF'
import statistics, sys
path, servers = sys.argv[1], sys.argv[2:]
labels = [s.split("::", 1)[0] for s in servers]
rows = {}
for line in open(path):
    f = line.split()
    if len(f) < 6:
        continue
    extra = dict(x.split("=", 1) for x in f[6:] if "=" in x)
    rps, srv = float(f[2]), float(extra.get("srv_cpu", -1))
    rows.setdefault(int(f[0]), []).append(dict(
        rps=rps, p50=float(f[3]), p99=float(f[4]), err=int(f[5]), srv=srv,
        other=float(extra.get("other_cpu", 0)), round=extra.get("round"),
        # server CPU per request in microseconds: CPU-seconds per second over requests per second
        us=srv / rps * 1e6 if rps > 0 and srv >= 0 else float("nan")))
def med(k, key):
    values = [r[key] for r in rows.get(k, []) if r[key] == r[key]]
    return statistics.median(values) if values else float("nan")
def paired(k):
    # The median over rounds of CPU per request over C's in the same round: this VM runs at two
    # speeds that change every few rounds, and a server's median can land on either; servers
    # measured one after the other in a round mostly share one.
    c_by_round = {c["round"]: c["us"] for c in rows.get(0, []) if c["us"] == c["us"] and c["us"] > 0}
    ratios = [r["us"] / c_by_round[r["round"]] for r in rows.get(k, []) if r["us"] == r["us"] and r["round"] in c_by_round]
    return statistics.median(ratios) if ratios else float("nan")
def floor(k):
    # The 10th percentile (interpolated) of CPU per request over the rounds.
    values = sorted(r["us"] for r in rows.get(k, []) if r["us"] == r["us"])
    if not values:
        return float("nan")
    at = (len(values) - 1) * 0.1
    low = int(at)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (at - low)
def ratio(a, b):
    return a / b if b == b and b > 0 else float("nan")
base = {key: med(0, key) for key in ("rps", "p99", "us")}
print(f"{'server':<12} {'req/s':>9} {'ratio':>6} {'p50_us':>7} {'p99_us':>8} {'p99/C':>6} {'srv_cpu':>7} "
      f"{'cpu_us/req':>10} {'cpu/C':>6} {'paired':>6} {'floor':>6} {'other':>6} {'errors':>6} {'runs':>4}")
for k, name in enumerate(labels):
    if k not in rows:
        print(f"{name:<12} (no result)")
        continue
    errors = sum(r["err"] for r in rows[k])
    print(f"{name:<12} {med(k,'rps'):>9.0f} {med(k,'rps')/base['rps']:>6.2f} {med(k,'p50'):>7.1f} "
          f"{med(k,'p99'):>8.1f} {med(k,'p99')/base['p99']:>6.2f} {med(k,'srv'):>7.2f} "
          f"{med(k,'us'):>10.2f} {med(k,'us')/base['us']:>6.2f} {paired(k):>6.2f} {ratio(floor(k), floor(0)):>6.2f} {med(k,'other'):>6.2f} {errors:>6} "
          f"{len(rows[k]):>4}")
EOF
  rm -f "$rows"
}

if [ "${SKIP_TCP:-0}" != 1 ]; then
  for size in $SIZES; do
    for conns in $CONNS_LIST; do
      echo
      echo "## TCP echo: $conns connections, $size-byte messages (medians of $ROUNDS rounds; ratios to C)"
      compare echo "$conns" "$size" "${servers[@]}"
    done
  done
fi

if [ "${SKIP_UDP:-0}" != 1 ]; then
  for size in ${UDP_SIZES:-64}; do
    for conns in ${UDP_CONNS_LIST:-50}; do
      echo
      echo "## UDP echo: $conns sockets, $size-byte datagrams (medians of $ROUNDS rounds; ratios to C)"
      compare udp "$conns" "$size" "${udp_servers[@]}"
    done
  done
fi

if [ "${SKIP_IDLE:-0}" != 1 ]; then
  echo
  echo "## idle: RSS per idle connection with $IDLE_CONNS connections open (kb_per_conn)"
  for s in "${servers[@]}"; do
    NAME="${s%%::*}" MODE=idle "$BENCH/echo-bench.sh" "${s#*::}" "$IDLE_CONNS" 64 3
  done
fi
