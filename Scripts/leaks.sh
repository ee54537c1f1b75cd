#!/usr/bin/env bash
# leaks.sh: the CLI commands that read outside input run under LeakSanitizer (AddressSanitizer's
# leak checker, at exit): options (also --pid --fd, --set), who (a port, none, a range,
# --all-netns), free --dry-run (also --leftovers), wait, pick, send (TCP, UDP), echo (TCP, UDP).
# Exit 0 when none reports a leak. Loopback only; it ends only the processes it starts.
#
#   Scripts/leaks.sh            (builds .build-asan/debug/sockit first)
#
# valgrind's memcheck is the other way the issue names; valgrind 3.19 (Debian 12) cannot read the
# DWARF 5 debug information Swift 6.3 writes, so LeakSanitizer it is.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product sockit --sanitize=address --scratch-path .build-asan >/dev/null
sockit=.build-asan/debug/sockit
# A check that can fail: the binary really carries AddressSanitizer and its leak checker.
# (Read whole first: grep -q would stop reading early, and pipefail would see the writer's SIGPIPE.)
flags=$(ASAN_OPTIONS=help=1 "$sockit" --version 2>&1 || true)
if ! grep -q "detect_leaks" <<<"$flags"; then
    echo "leaks.sh: $sockit is not built with AddressSanitizer" >&2
    exit 2
fi
export ASAN_OPTIONS="detect_leaks=1:exitcode=86"
python3=/usr/bin/python3
[ -x "$python3" ] || python3=python3

# A listener with a connection to look at, and an echo server to send to, both started here.
fixture=$(mktemp -d)
trap 'kill $holder $echo_pid $udp_pid 2>/dev/null || true; rm -rf "$fixture"' EXIT
"$python3" Tests/Fixtures/portholder.py listen --reuse --self-connect > "$fixture/holder" < /dev/zero &
holder=$!
"$sockit" echo 127.0.0.1:0 > "$fixture/echo" 2> "$fixture/echo.err" &
echo_pid=$!
"$sockit" echo 127.0.0.1:0 --udp > "$fixture/udp" 2> "$fixture/udp.err" &
udp_pid=$!
for _ in $(seq 1 200); do
    [ -s "$fixture/holder" ] && grep -q "listening on" "$fixture/echo" && grep -q "listening on" "$fixture/udp" && break
    sleep 0.05
done
port=$(awk '{print $2}' "$fixture/holder")
echo_address=$(sed -n 's/^listening on //p' "$fixture/echo")
udp_address=$(sed -n 's/^listening on //p' "$fixture/udp")
fd=$(ls -l /proc/$holder/fd | awk '/socket:/ {print $9; exit}')

status=0
# run EXPECTED ARGS...: sockit ARGS must exit with EXPECTED and print no sanitizer report. A leak
# (exit 86), a crash (a signal: 128+N), any other unexpected status fails the script.
run() {
    local expected=$1 out rc
    shift
    out=$("$sockit" "$@" 2>&1 >/dev/null) && rc=0 || rc=$?
    if [ "$rc" = 86 ] || grep -q "LeakSanitizer" <<<"$out"; then
        echo "LEAK: sockit $*"
        echo "$out" | head -40
        status=1
    elif grep -q "AddressSanitizer\|runtime error\|Fatal error" <<<"$out" || [ "$rc" != "$expected" ]; then
        echo "FAIL (exit $rc, expected $expected): sockit $*"
        echo "$out" | head -40
        status=1
    else
        echo "ok (exit $rc): sockit $*"
    fi
}
run 0 options
run 0 options --udp6 --json
run 0 options --pid "$holder" --fd "$fd"
run 0 who "$port"
run 0 who "$port" --json
run 0 who "$port" --listening --scan-all
run 0 free "$port" --dry-run
run 0 free "$port" --dry-run --json
run 0 wait "$port" --listening --timeout 1
run 0 pick
run 0 send "$echo_address" hello, leaks
run 0 send "$udp_address" --udp hello, batches
run 0 who
run 0 who 1-65535 --json
run 0 who "$port" --all-netns
run 0 options --pid "$holder" --fd "$fd" --set SO_KEEPALIVE=1 --set TCP_KEEPIDLE=30
run 0 free "$port" --leftovers --dry-run
run 1 who 1 --tcp
run 2 options --pid 999999999 --fd 3
run 2 who 65536

# --dry-run signalled nothing: the holder still runs.
if ! kill -0 "$holder" 2>/dev/null; then
    echo "FAIL: the holder of port $port is gone after free --dry-run"
    status=1
fi
# The echo servers, stopped as a user stops them, exit 0 with no report.
for server in "$echo_pid:echo" "$udp_pid:udp"; do
    pid=${server%%:*} name=${server#*:}
    kill -TERM "$pid"
    server_status=0
    wait "$pid" || server_status=$?
    if [ "$server_status" != 0 ] || grep -q "Sanitizer\|runtime error\|Fatal error" "$fixture/$name.err"; then
        echo "FAIL (exit $server_status): sockit $name server, stopped with SIGTERM"
        head -40 "$fixture/$name.err"
        status=1
    else
        echo "ok (exit 0): sockit $name server, stopped with SIGTERM"
    fi
done
exit $status
