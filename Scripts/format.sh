#!/usr/bin/env bash
# format.sh: the repository's formatting (.swift-format: 4 spaces, 120 columns, NIO's rules), with
# the formatter that ships with the toolchain.
#
#   Scripts/format.sh           rewrite the Swift files in place
#   Scripts/format.sh --lint    change nothing; list what differs and exit 1 if anything does (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(Package.swift Sources Tests Fuzz/Package.swift Fuzz/Sources)
if [ "${1:-}" = "--lint" ]; then
    swift format lint --strict --parallel --recursive "${paths[@]}"
    echo "format: clean"
else
    swift format format --in-place --parallel --recursive "${paths[@]}"
fi
