#!/usr/bin/env bash
# check-layers.sh: libc is called only from each module's syscall layer (DESIGN.md, "Layers and
# seams"). Constants and C structs may be used anywhere; calls may not.
#
#   Scripts/check-layers.sh            checks the debug build in .build (builds it first)
#   Scripts/check-layers.sh --report   also lists what each syscall file calls
#
# How: the compiler decides, not a pattern over the source. Every Swift file of a module is
# compiled to its own object file; a call to a C function leaves an undefined symbol there
# (`nm -u`), including calls made inside the inline helpers of CSockit's header. The symbols
# that glibc (libc, libm) or CSockit's shim defines are the C calls, and so are the functions of
# Glibc's Swift overlay (open, openat, fcntl, errno), which wrap C ones under Swift names. They
# must appear only in the files named in SYSCALL_FILES; anything else fails, unless ALLOWED names
# it with its reason. Objects left behind by deleted or renamed sources are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
report=0
[ "${1:-}" = "--report" ] && report=1

# The syscall layer of each module: the only files that call C.
SYSCALL_FILES=(
    "Sockit/Syscalls.swift"
    "SockitServer/Syscalls+Linux.swift"
    "SockitPorts/Syscalls+Linux.swift"
    "SockitCommands/Syscalls+Linux.swift"
)

# Calls allowed anywhere, each with its reason.
declare -A ALLOWED=(
    [memcpy]="emitted by the compiler for copies of C structs and tuples; no call in the source"
    [memmove]="emitted by the compiler; no call in the source"
    [memset]="emitted by the compiler for zero-initialised C structs; no call in the source"
    [__stack_chk_fail]="the stack protector's failure path, emitted by the compiler"
    [ceil]="Double.rounded(.up): the standard library's rounding, compiled to libm's"
    [floor]="Double.rounded(.down), compiled to libm's"
    [rint]="Double.rounded(), compiled to libm's"
    [round]="Double.rounded(.toNearestOrAwayFromZero), compiled to libm's"
    [trunc]="Double.rounded(.towardZero) and Int(Double), compiled to libm's"
    [malloc]="the standard library's inlined allocations (generic buffers); no call in the source"
    [free]="the standard library's inlined deallocations; no call in the source"
    [malloc_usable_size]="the standard library's inlined growth of a buffer; no call in the source"
    [__cmsg_nxthdr]="CMSG_NXTHDR, a header macro that walks a control-message buffer: pointer arithmetic, no syscall"
)

swift build --build-tests >/dev/null
build=$(swift build --show-bin-path)
symbols=$(mktemp)
trap 'rm -f "$symbols"' EXIT
for library in /lib/*-linux-gnu/libc.so.6 /lib/*-linux-gnu/libm.so.6; do
    nm -D --defined-only "$library" | awk '$2 ~ /^[TWi]$/ { sub(/@.*/, "", $3); print $3 }'
done > "$symbols"
nm --defined-only "$build/CSockit.build/shim.c.o" | awk '$2 == "T" { print $3 }' >> "$symbols"
sort -u -o "$symbols" "$symbols"

status=0
checked=0
for module in Sockit SockitServer SockitPorts SockitCommands SockitCLI; do
    for object in "$build/$module.build"/*.swift.o; do
        [ -e "$object" ] || continue
        source=$(basename "$object" .o)
        # An object whose source was deleted or renamed is left behind by incremental builds.
        [ -n "$(find "Sources/$module" -name "$source" -print -quit)" ] || continue
        file="$module/$source"
        checked=$((checked + 1))
        undefined=$(nm -u "$object" | awk '{ print $2 }')
        calls=$(grep -xFf "$symbols" <<<"$undefined" || true)
        # Glibc's Swift overlay wraps some C functions in Swift ones (open, openat, fcntl, and
        # errno's getter and setter): calls too, under a Swift name; reported as Glibc.NAME.
        overlay=$(grep -E '^\$s5Glibc.*F$|^\$s5Glibc5errnos5Int32Vv[gs]$' <<<"$undefined" | swift demangle --simplified |
            sed -E 's/\(.*//; s/^/Glibc./; s/\.(getter|setter)$//' | sort -u || true)
        calls=$(printf '%s\n%s\n' "$calls" "$overlay" | grep -v '^$' || true)
        layer=0
        for allowed in "${SYSCALL_FILES[@]}"; do [ "$file" = "$allowed" ] && layer=1; done
        if [ $layer = 1 ]; then
            [ $report = 1 ] && echo "syscall layer $file: $(echo $calls)"
            continue
        fi
        bad=()
        for call in $calls; do [ -n "${ALLOWED[$call]:-}" ] || bad+=("$call"); done
        if [ ${#bad[@]} -gt 0 ]; then
            echo "check-layers: $file calls C outside its module's syscall layer: ${bad[*]}"
            status=1
        fi
    done
done
if [ $status = 0 ]; then
    echo "check-layers: $checked Swift files; C is called only from ${SYSCALL_FILES[*]}"
    for call in "${!ALLOWED[@]}"; do echo "  allowed anywhere: $call (${ALLOWED[$call]})"; done
fi
exit $status
