#!/usr/bin/env bash
# Builds sockit's libFuzzer targets (the Fuzz/ package, -sanitize=fuzzer,address) and runs each
# for a time or a number of inputs, one after the other.
#
#   Scripts/fuzz.sh [--seconds N | --runs N] [--no-build] [TARGET...] [-- LIBFUZZER-FLAG...]
#
# TARGET: address options inet-diag proc handoff arguments (default: all). Default: --runs 10000.
# Flags after -- go to libFuzzer after ours (the last one wins), e.g. -- -fork=2 -max_len=128.
# Prints, per target, the inputs executed, execs/s and the result; exits 1 when a target crashed,
# hit a sanitizer report, a timeout or ran out of memory, with the input that did it in
# .build-fuzz/crashes/TARGET/ (replay: .build-fuzz/bin/TARGET FILE). The seed corpus,
# Fuzz/Corpus/TARGET/, is only read; what the fuzzer adds goes to .build-fuzz/corpus/TARGET/.
# Logs: .build-fuzz/logs/TARGET.log.
#
# Each target runs in a network namespace of its own (unshare -n): addresses with host names go
# to getaddrinfo, and no DNS query may leave the machine. That needs root (or user namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."

all=(address options inet-diag proc handoff arguments)
declare -A product=(
    [address]=FuzzAddress [options]=FuzzOptions [inet-diag]=FuzzInetDiag
    [proc]=FuzzProc [handoff]=FuzzHandoff [arguments]=FuzzArguments
)
limit=(-runs=10000)
build=1
targets=()
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --) shift; extra=("$@"); break ;;
        --seconds) limit=(-max_total_time="$2"); shift 2 ;;
        --runs) limit=(-runs="$2"); shift 2 ;;
        --no-build) build=0; shift ;;
        -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
        *)
            [ -n "${product[$1]:-}" ] || { echo "fuzz.sh: unknown target $1; targets: ${all[*]}" >&2; exit 2; }
            targets+=("$1"); shift ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

if ! unshare -n true 2>/dev/null; then
    echo "fuzz.sh: cannot make a network namespace (unshare -n): run as root" >&2
    exit 2
fi

work=.build-fuzz
mkdir -p "$work/bin" "$work/logs"
if [ "$build" = 1 ]; then
    # One product at a time: a plain `swift build` would also build the root package's `sockit`
    # executable, which the targets do not need.
    for target in "${targets[@]}"; do
        echo "fuzz: swift build -c release --package-path Fuzz -Xswiftc -sanitize=fuzzer,address --product ${product[$target]}"
        # ld.gold warns that it cannot export ASan's __asan_extra_spill_area, for every target;
        # harmless, and left out so that a real warning shows.
        swift build -c release --package-path Fuzz -Xswiftc -sanitize=fuzzer,address --product "${product[$target]}" 2>&1 |
            { grep -v "Cannot export local symbol '__asan_extra_spill_area'" || true; }
    done
fi
bin=$(swift build -c release --package-path Fuzz --show-bin-path)

# A Swift runtime failure (a trap) is left to libFuzzer's handler, which saves the input; Swift's
# own backtracer would run first, and it trips over AddressSanitizer. Stacks are symbolized with
# the toolchain's llvm-symbolizer.
export SWIFT_BACKTRACE=enable=no
# LeakSanitizer too: libFuzzer checks an input for leaks when its mallocs and frees do not match.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
symbolizer=$(dirname "$(command -v swift)")/llvm-symbolizer
[ -x "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH="$symbolizer"

failed=0
printf '%-10s %12s %10s %8s  %s\n' TARGET INPUTS EXECS/S SECONDS RESULT >"$work/summary"
for target in "${targets[@]}"; do
    exe="$bin/${product[$target]}"
    [ -x "$exe" ] || { echo "fuzz.sh: $exe is not built" >&2; exit 2; }
    ln -sf "$(realpath "$exe")" "$work/bin/$target"
    corpus="$work/corpus/$target"
    crashes="$work/crashes/$target"
    mkdir -p "$corpus" "$crashes"
    log="$work/logs/$target.log"
    echo "fuzz: $target ${limit[*]}"
    start=$(date +%s.%N)
    status=0
    unshare -n "$exe" "${limit[@]}" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$crashes/" ${extra[@]+"${extra[@]}"} "$corpus" "Fuzz/Corpus/$target" >"$log" 2>&1 || status=$?
    end=$(date +%s.%N)
    inputs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    # -fork prints no final stats: the last status line's count then.
    [ -n "$inputs" ] || inputs=$(sed -n 's/^#\([0-9][0-9]*\):\{0,1\}[[:space:]].*/\1/p' "$log" | tail -1)
    # Inputs over wall-clock time, start-up and seed corpus included (libFuzzer's own figure is
    # rounded down to whole seconds, 0 for a run under one second).
    seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    speed=$(awk -v n="${inputs:-0}" -v a="$start" -v b="$end" 'BEGIN { printf "%d", n / (b - a) }')
    if [ "$status" = 0 ]; then
        result=ok
    else
        failed=1
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        result="FAILED (exit $status): ${artifact:-see $log}"
        # The report itself: the sanitizer's or Swift's message, and the top of the stack.
        grep -m1 -E 'ERROR: (AddressSanitizer|libFuzzer)|Fatal error|SUMMARY' "$log" >&2 || true
        grep -m8 -E '^ +#[0-9]+ ' "$log" >&2 || true
    fi
    printf '%-10s %12s %10s %8s  %s\n' "$target" "${inputs:-?}" "${speed:-?}" "$seconds" "$result" | tee -a "$work/summary"
done
echo
cat "$work/summary"
exit "$failed"
