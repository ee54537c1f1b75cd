#!/usr/bin/env bash
# mutants.sh: break safety-critical lines one at a time and check the tests notice.
#
#   Scripts/mutants.sh                 every mutant in Scripts/mutants.txt
#   Scripts/mutants.sh M03 M07         only these
#   Scripts/mutants.sh --list          list them
#
# Each mutant names a file, exact texts that occur there once and their replacements, and the tests
# that guard it (a `swift test --filter` expression). For each: apply, build the tests (in
# .build-mutants, so .build is untouched), run the filter, restore the file. A mutant is KILLED
# when the tests fail, SURVIVED when they pass (the promise is unguarded: a defect), INVALID when
# it does not compile or its text is not found once (the list has drifted from the code). The
# files are restored whatever happens (also on Ctrl-C). Exit 0 only when every mutant is killed.
# Slow (a build per mutant): not run by CI; see CONTRIBUTING.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PYTHON'
import os, re, subprocess, sys, time, signal

LIST = "Scripts/mutants.txt"
SCRATCH = ".build-mutants"
TEST_TIMEOUT = 600

def parse(path):
    """Mutants with one or more find/replace pairs (applied in order, each found exactly once)."""
    mutants, current, key = [], None, None
    for raw in open(path, encoding="utf-8"):
        line = raw.rstrip("\n")
        if line.startswith("## "):
            ident, _, title = line[3:].partition(" ")
            current = {"id": ident, "title": title.strip(), "edits": []}
            mutants.append(current)
            key = None
        elif current is None or line.startswith("#"):
            continue
        elif m := re.match(r"^(file|tests|find|replace):(?: (.*))?$", line):
            key = m.group(1)
            value = m.group(2) or ""
            if key == "find":
                current["edits"].append([value, None])
            elif key == "replace":
                if not current["edits"] or current["edits"][-1][1] is not None:
                    sys.exit(f"mutants.sh: {current['id']}: replace: without its find:")
                current["edits"][-1][1] = value
            else:
                current[key] = value
        elif line.startswith("    ") and key in ("find", "replace"):
            index = 0 if key == "find" else 1
            edit = current["edits"][-1]
            edit[index] = (edit[index] + "\n" if edit[index] else "") + line[4:]
    for mutant in mutants:
        for field in ("file", "tests"):
            if not mutant.get(field):
                sys.exit(f"mutants.sh: {mutant['id']} has no {field}:")
        if not mutant["edits"] or any(edit[1] is None for edit in mutant["edits"]):
            sys.exit(f"mutants.sh: {mutant['id']} needs find: and replace: pairs")
    return mutants

def run(command, timeout):
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
        return done.returncode, done.stdout
    except subprocess.TimeoutExpired as expired:
        return None, (expired.stdout or b"").decode(errors="replace") if isinstance(expired.stdout, bytes) else (expired.stdout or "")

def main(argv):
    mutants = parse(LIST)
    if argv[:1] == ["--list"]:
        for m in mutants:
            print(f"{m['id']}  {m['title']}  [{m['file']}; tests: {m['tests']}]")
        return 0
    if argv:
        wanted = set(argv)
        unknown = wanted - {m["id"] for m in mutants}
        if unknown:
            sys.exit(f"mutants.sh: unknown mutant(s): {' '.join(sorted(unknown))}")
        mutants = [m for m in mutants if m["id"] in wanted]
    originals = {}

    def restore(*_):
        for path, text in originals.items():
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        originals.clear()

    def interrupted(signum, frame):
        restore()
        sys.exit(130)

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    print(f"mutants: building the unmutated tests in {SCRATCH}", flush=True)
    status, output = run(["swift", "build", "--build-tests", "--scratch-path", SCRATCH], 3600)
    if status != 0:
        print(output[-3000:])
        sys.exit("mutants.sh: the unmutated code does not build")
    results = []
    for m in mutants:
        start = time.monotonic()
        path = m["file"]
        if not os.path.exists(path):
            results.append((m, "INVALID", f"{path} does not exist", 0))
            print(f"{m['id']}: INVALID: {path} does not exist", flush=True)
            continue
        text = open(path, encoding="utf-8").read()
        mutated, problem = text, None
        for find, replace in m["edits"]:
            count = mutated.count(find)
            if count != 1:
                problem = f"{find.strip()[:60]!r} occurs {count} times in {path}"
                break
            mutated = mutated.replace(find, replace)
        if problem:
            results.append((m, "INVALID", problem, 0))
            print(f"{m['id']}: INVALID: {problem}", flush=True)
            continue
        originals[path] = text
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write(mutated)
            status, output = run(["swift", "build", "--build-tests", "--scratch-path", SCRATCH], 3600)
            if status != 0:
                errors = [l for l in output.splitlines() if "error:" in l][:3]
                verdict, detail = "INVALID", "does not compile: " + " | ".join(errors)
            else:
                status, output = run(
                    ["swift", "test", "--skip-build", "--scratch-path", SCRATCH, "--filter", m["tests"]], TEST_TIMEOUT)
                failed = sorted(set(re.findall(r"✘ Test (?!run with)(.+?) (?:recorded an issue|failed)", output)))
                ran = re.search(r"Test run with (\d+) tests?", output)
                if status is None:
                    verdict, detail = "KILLED", f"the tests hung past {TEST_TIMEOUT} s"
                elif status != 0:
                    verdict, detail = "KILLED", "failed: " + ("; ".join(f[:90] for f in failed[:3]) or f"exit {status}")
                elif ran is None or ran.group(1) == "0":
                    verdict, detail = "INVALID", f"the filter {m['tests']!r} ran no test"
                else:
                    verdict, detail = "SURVIVED", f"{ran.group(1)} tests passed"
        finally:
            restore()
        elapsed = time.monotonic() - start
        results.append((m, verdict, detail, elapsed))
        print(f"{m['id']}: {verdict} in {elapsed:.0f} s: {m['title']} -- {detail}", flush=True)
    # Leave the scratch build matching the code again.
    run(["swift", "build", "--build-tests", "--scratch-path", SCRATCH], 3600)
    killed = sum(1 for r in results if r[1] == "KILLED")
    print(f"\nmutants: {killed} of {len(results)} killed")
    for m, verdict, detail, _ in results:
        if verdict != "KILLED":
            print(f"  {verdict}: {m['id']} {m['title']} ({m['file']}): {detail}")
    return 0 if killed == len(results) else 1

sys.exit(main(sys.argv[1:]))
PYTHON
