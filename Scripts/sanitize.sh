#!/usr/bin/env bash
# sanitize.sh: the whole test suite under AddressSanitizer (with LeakSanitizer) and/or
# ThreadSanitizer, each in its own build folder so the normal .build is untouched.
#
#   Scripts/sanitize.sh [address] [thread]     (default: both)
#   FILTER=SockitPortsTests Scripts/sanitize.sh thread
#
# The tests run the sockit binary built beside them, so every CLI command a test runs is checked
# too (LeakSanitizer reports at exit). Suppressions live in Scripts/sanitizers/, each with a
# written reason: today only XCTest's own runner (lsan.supp).
set -euo pipefail
cd "$(dirname "$0")/.."
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(address thread)
filter=()
[ -n "${FILTER:-}" ] && filter=(--filter "$FILTER")
for kind in "${kinds[@]}"; do
    case "$kind" in
        address) scratch=.build-asan ;;
        thread) scratch=.build-tsan ;;
        *) echo "sanitize.sh: unknown sanitizer '$kind' (address, thread)" >&2; exit 2 ;;
    esac
    echo "sanitize: $kind: swift build --build-tests --sanitize=$kind --scratch-path $scratch"
    start=$(date +%s)
    swift build --build-tests --sanitize="$kind" --scratch-path "$scratch"
    built=$(date +%s)
    # halt_on_error: the first report fails the run; a report is never just a log line.
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0}" \
    LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/Scripts/sanitizers/lsan.supp:print_suppressions=0}" \
    TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}" \
        swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" "${filter[@]}"
    echo "sanitize: $kind: built in $((built - start)) s, tests in $(($(date +%s) - built)) s"
done
