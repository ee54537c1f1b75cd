#!/usr/bin/env bash
# docs.sh: the DocC documentation of the libraries (Sockit, SockitServer, SockitPorts), built with
# swift-docc-plugin into .build/docs/MODULE (a static site: serve the folder, open
# /documentation/sockit). Fails on any DocC warning (a link that does not resolve, a function
# that documents some of its parameters but not all) and on any public symbol without a summary,
# which DocC does not warn about: its coverage report (documentation-coverage.json) says which.
#
#   Scripts/docs.sh                 all three modules
#   Scripts/docs.sh Sockit          some of them
#
# Preview one while writing (rebuilds on every save, http://localhost:8080):
#   swift package --disable-sandbox preview-documentation --target Sockit
set -euo pipefail
cd "$(dirname "$0")/.."
modules=("$@")
[ ${#modules[@]} -gt 0 ] || modules=(Sockit SockitServer SockitPorts)
out=.build/docs
mkdir -p "$out"

status=0
for module in "${modules[@]}"; do
    echo "docs: $module"
    # Synthesized symbols (the != of Equatable, …) are left out: nothing of ours to document.
    if ! swift package --allow-writing-to-directory "$out" generate-documentation --target "$module" \
        --output-path "$out/$module" --warnings-as-errors --experimental-skip-synthesized-symbols \
        --experimental-documentation-coverage --coverage-summary-level none; then
        echo "docs: $module: DocC failed or warned (above)" >&2
        status=1
        continue
    fi
    python3 - "$out/$module/documentation-coverage.json" "$module" <<'EOF' || status=1
import json, sys
path, module = sys.argv[1], sys.argv[2]
symbols = [e for e in json.load(open(path)) if e["kind"]["isSymbol"] and e["kind"]["name"] != "Module"]
missing = sorted(e["referencePath"].split("/documentation/", 1)[1] for e in symbols if not e["hasAbstract"])
print(f"docs: {module}: {len(symbols) - len(missing)} of {len(symbols)} public symbols have a summary")
for name in missing:
    print(f"docs: {module}: no summary: {name}", file=sys.stderr)
sys.exit(1 if missing else 0)
EOF
done
exit $status
