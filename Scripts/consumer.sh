#!/usr/bin/env bash
# consumer.sh: sockit as another package depends on it, by version.
#
#   Scripts/consumer.sh            check the committed HEAD
#   KEEP=1 Scripts/consumer.sh     keep the scratch folder and print where it is
#
# 1. The product graph: no target a library product reaches (Sockit, SockitServer, SockitPorts,
#    SockitCommands and what they depend on in this package) has unsafeFlags. SwiftPM refuses a
#    versioned dependency whose reachable targets have them; only the sockit executable may.
# 2. A scratch package outside the repository depends on a local git tag of this commit by
#    version (`.package(url: "file://…", from: "VERSION")`, VERSION the changelog's top entry),
#    imports Sockit, SockitServer and SockitPorts, and builds and runs the documentation's
#    consumer snippet: the Swift block after `<!-- consumer-check -->` in a DocC article.
#
# The tag is made in a throwaway clone, never in this repository. The clone is of HEAD:
# uncommitted changes are not checked (the script says so). Needs the packages sockit depends on
# (the machine's local copies or the network), as `swift build` does.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

version=$(sed -n 's/^## \[\([0-9][0-9.]*\)\].*/\1/p' CHANGELOG.md | head -1)
[ -n "$version" ] || { echo "consumer: no version in CHANGELOG.md's top entry" >&2; exit 1; }

echo "consumer: 1. no unsafeFlags in a target a library product reaches"
dump=$(mktemp)
swift package dump-package >"$dump"
python3 - "$dump" <<'PYTHON'
import json, sys
package = json.load(open(sys.argv[1]))
targets = {t["name"]: t for t in package["targets"]}
def reach(name, seen):
    if name in seen or name not in targets:
        return
    seen.add(name)
    for dependency in targets[name].get("dependencies", []):
        for kind in ("byName", "target"):
            if kind in dependency:
                reach(dependency[kind][0], seen)
bad, libraries = [], []
for product in package["products"]:
    if "library" not in product["type"]:
        continue
    libraries.append(product["name"])
    seen = set()
    for target in product["targets"]:
        reach(target, seen)
    for name in sorted(seen):
        for setting in targets[name].get("settings", []):
            if "unsafeFlags" in setting["kind"]:
                flags = setting["kind"]["unsafeFlags"]["_0"]
                bad.append(f"{product['name']} reaches {name}, which has unsafeFlags {flags}")
if bad:
    print("\n".join("consumer: " + line for line in bad), file=sys.stderr)
    sys.exit(1)
print("consumer: none in " + ", ".join(libraries) + " and the targets they reach")
PYTHON
rm -f "$dump"

echo "consumer: 2. a package that depends on sockit $version by a local tag"
snippet=$(python3 - <<'PYTHON'
import glob, re, sys
found = []
for path in sorted(glob.glob("Sources/*/*.docc/**/*.md", recursive=True)):
    text = open(path, encoding="utf-8").read()
    for match in re.finditer(r"<!-- consumer-check -->\s*\n```swift\n(.*?)\n```", text, re.S):
        found.append((path, match.group(1)))
if len(found) != 1:
    sys.exit(f"consumer: want exactly one ```swift block after <!-- consumer-check --> in the DocC articles, found {len(found)}")
print(found[0][0], file=sys.stderr)
print(found[0][1])
PYTHON
)
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "consumer: note: uncommitted changes are not part of the check (it clones HEAD)"
fi

work=$(mktemp -d /tmp/sockit-consumer.XXXXXX)
if [ "${KEEP:-0}" = 1 ]; then
    echo "consumer: scratch folder $work (kept)"
else
    trap 'rm -rf "$work"' EXIT
fi
git clone -q "$repo" "$work/sockit"
git -C "$work/sockit" tag -f "$version" >/dev/null

mkdir -p "$work/consumer/Sources/consumer"
cat >"$work/consumer/Package.swift" <<EOF
// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "consumer",
    platforms: [.macOS(.v15)],
    dependencies: [.package(url: "file://$work/sockit", from: "$version")],
    targets: [
        .executableTarget(
            name: "consumer",
            dependencies: [
                .product(name: "Sockit", package: "sockit"),
                .product(name: "SockitServer", package: "sockit"),
                .product(name: "SockitPorts", package: "sockit"),
            ]
        )
    ]
)
EOF
{
    # Every library is imported, whichever the snippet uses.
    for module in Sockit SockitServer SockitPorts; do
        grep -qx "import $module" <<<"$snippet" || echo "import $module"
    done
    echo "$snippet"
} >"$work/consumer/Sources/consumer/main.swift"

cd "$work/consumer"
swift build
echo "consumer: running the snippet"
timeout 60 .build/debug/consumer
echo "consumer: ok: sockit $version by version from a local tag; the snippet built and ran"
