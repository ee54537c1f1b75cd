#!/usr/bin/env bash
# profile-echo.sh — where an echo server spends its CPU per request: `perf stat` of the server
# process over a timed window of a loadgen run (task-clock, context switches, every syscall
# counted by name through the syscalls:sys_enter_* tracepoints), divided by the requests the
# load generator counted in that window. A benchmark, not a test.
#
#   Benchmarks/profile-echo.sh                 the C epoll and io_uring references, sockit --epoll
#                                              and --io-uring, at 50 x 64 B and 500 x 4 KiB
#   ROUNDS=9 LOADS="50:64" Benchmarks/profile-echo.sh
#   RECORD=1 ...                               also `perf record` sockit's loop (one round) and
#                                              print the user/kernel split and the top symbols
#
# Server pinned to CPU 0, loadgen to CPU 1, servers interleaved round by round, medians printed.
# Needs perf (linux-perf) with tracepoints readable (root, or kernel.perf_event_paranoid <= -1).
# Environment: ROUNDS (3) SECONDS_MEASURED (5) LOADS ("50:64 500:4096") SERVERS (labels to run,
# default all) BENCH URING_BENCH SOCKIT (the binary; default .build/release/sockit).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BENCH="${BENCH:-$(cd "$ROOT/../shared/bench/echo" 2>/dev/null && pwd || echo /work/shared/bench/echo)}"
URING_BENCH="${URING_BENCH:-$(cd "$ROOT/../shared/bench/uring" 2>/dev/null && pwd || echo /work/shared/bench/uring)}"
SOCKIT="${SOCKIT:-$ROOT/.build/release/sockit}"
ROUNDS="${ROUNDS:-3}"
MEASURED="${SECONDS_MEASURED:-5}"
LOADS="${LOADS:-50:64 500:4096}"
make -s -C "$BENCH" >&2
servers=("c::$BENCH/epoll_echo -p {PORT}")
if [ -f /usr/include/liburing.h ] && make -s -C "$URING_BENCH" >&2; then
  servers+=("c-uring::$URING_BENCH/uring_echo -p {PORT}")
else
  echo "# note: no io_uring C reference (needs liburing-dev)" >&2
fi
servers+=("sockit::$SOCKIT echo 127.0.0.1:{PORT} --threads 1 --epoll")
servers+=("sockit-uring::$SOCKIT echo 127.0.0.1:{PORT} --threads 1 --io-uring")
if [ -n "${SERVERS:-}" ]; then
  chosen=()
  for s in "${servers[@]}"; do
    for want in $SERVERS; do [ "${s%%::*}" = "$want" ] && chosen+=("$s"); done
  done
  servers=("${chosen[@]}")
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
rows="$(mktemp /tmp/profile-echo.XXXXXX)"
trap 'rm -f "$rows"' EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# one LABEL COMMAND CONNS SIZE RECORD: one run; appends "label conns size key=value..." to $rows.
one() {
  local label="$1" template="$2" conns="$3" size="$4" record="$5"
  local port; port="$(free_port)"
  local cmd="${template//\{PORT\}/$port}"
  setsid taskset -c 0 bash -c "exec $cmd" >/dev/null 2>&1 </dev/null &
  local pid=$!
  for _ in $(seq 1 100); do
    [ -n "$(ss -Hltn "sport = :$port" 2>/dev/null)" ] && break
    sleep 0.1
  done
  # loadgen: 1 s warm-up, then MEASURED + 2 s; perf watches the server for MEASURED s in the middle.
  local lgout; lgout="$(mktemp /tmp/profile-echo-lg.XXXXXX)"
  taskset -c 1 "$BENCH/loadgen" -p "$port" -c "$conns" -s "$size" -d $((MEASURED + 2)) -w 1 -m echo \
    -S "$pid" --name "$label" >"$lgout" 2>&1 &
  local lg=$!
  sleep 2
  local stat; stat="$(mktemp /tmp/profile-echo-stat.XXXXXX)"
  perf stat -x, -p "$pid" -e task-clock,context-switches,raw_syscalls:sys_enter \
    -e 'syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_io_uring_enter,syscalls:sys_enter_read,syscalls:sys_enter_write' \
    -o "$stat" -- sleep "$MEASURED" 2>/dev/null || true
  if [ "$record" = 1 ]; then
    perf record -q -o "/tmp/profile-echo-$label-${conns}x$size.data" -p "$pid" -- sleep 3 2>/dev/null || true
  fi
  wait "$lg" || true
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local rps; rps="$(grep '^RESULT ' "$lgout" | tr ' ' '\n' | sed -n 's/^rps=//p' | head -1)"
  python3 - "$label" "$conns" "$size" "${rps:-0}" "$MEASURED" "$stat" >>"$rows" <<'EOF'
import sys
label, conns, size, rps, seconds, path = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
counts = {}
for line in open(path):
    f = line.strip().split(",")
    if len(f) < 3 or not f[0] or f[0].startswith("<"):
        continue
    try:
        counts[f[2]] = float(f[0])
    except ValueError:
        pass
requests = rps * seconds
if requests <= 0:
    sys.exit(0)
out = [label, conns, size, f"rps={rps:.0f}", f"cpu_us={counts.get('task-clock', 0) * 1000 / requests:.3f}",
       f"cs={counts.get('context-switches', 0) / requests:.4f}", f"sys={counts.get('raw_syscalls:sys_enter', 0) / requests:.3f}"]
for name, value in counts.items():
    if name.startswith("syscalls:sys_enter_"):
        out.append(f"{name[len('syscalls:sys_enter_'):]}={value / requests:.3f}")
print(" ".join(out))
EOF
  rm -f "$lgout" "$stat"
}

for load in $LOADS; do
  conns="${load%%:*}" size="${load#*:}"
  echo "# load $conns x $size B, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  for round in $(seq 1 "$ROUNDS"); do
    for s in "${servers[@]}"; do
      record=0
      [ "${RECORD:-0}" = 1 ] && [ "$round" = 1 ] && record=1
      one "${s%%::*}" "${s#*::}" "$conns" "$size" "$record"
      echo "  round $round: $(tail -1 "$rows")" >&2
    done
  done
done

python3 - "$rows" <<'EOF'
import statistics, sys
rows = {}
keys = ["cpu_us", "cs", "sys", "recvfrom", "sendto", "epoll_wait", "epoll_ctl", "io_uring_enter", "read", "write"]
for line in open(sys.argv[1]):
    f = line.split()
    kv = dict(x.split("=", 1) for x in f[3:])
    rows.setdefault((f[1], f[2]), {}).setdefault(f[0], []).append({k: float(v) for k, v in kv.items()})
for (conns, size), servers in rows.items():
    print(f"\n## {conns} connections x {size} B: per request (medians of {max(len(v) for v in servers.values())} rounds; perf stat of the server)")
    print(f"{'server':<13}{'req/s':>9}" + "".join(f"{k:>15}" for k in keys))
    for label, runs in servers.items():
        med = lambda k: statistics.median(r.get(k, 0.0) for r in runs)
        print(f"{label:<13}{med('rps'):>9.0f}" + "".join(f"{med(k):>15.3f}" for k in keys))
EOF
if [ "${RECORD:-0}" = 1 ]; then
  for data in /tmp/profile-echo-*.data; do
    [ -f "$data" ] || continue
    echo
    echo "## perf record: $(basename "$data" .data) (share of samples by where they ran, then the top symbols)"
    perf report -i "$data" --stdio --sort dso 2>/dev/null | grep -v '^#' | grep -v '^$' | head -8 || true
    perf report -i "$data" --stdio --sort sym 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25 || true
    rm -f "$data"
  done
fi
