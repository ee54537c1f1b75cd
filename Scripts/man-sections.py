#!/usr/bin/env python3
"""man-sections.py IN OUT: swift-argument-parser's generated sockit(1), one section per subcommand.

generate-manual writes each subcommand as an entry of one list in DESCRIPTION (`.It Em echo`,
its discussion, its flags as a nested list). A reader looks for `sockit echo` the way they do in
git(1) or ip(8): as a heading. This turns each top-level `.It Em NAME` into `.Sh "SOCKIT NAME"`
(closing the top-level list first), keeps the discussion and the flag list as the section's body,
and drops the top-level list's own `.El`; blank lines become `.Pp`. Nothing is written by hand: the text stays generated.
Fails when the page has not the expected shape (so a new argument-parser cannot go unnoticed).
"""
import sys

source, target = sys.argv[1], sys.argv[2]
lines = open(source, encoding="utf-8").read().split("\n")
out, depth, sections, in_description, top_closed = [], 0, [], False, False
for line in lines:
    if line.startswith(".Sh "):
        in_description = line == ".Sh DESCRIPTION"
        out.append(line)
        continue
    if in_description and line.startswith(".Bl"):
        depth += 1
        out.append(line)
        continue
    if in_description and line == ".El":
        depth -= 1
        if depth == 0 and sections:
            continue  # the top-level list, already closed before the first section
        out.append(line)
        continue
    if in_description and line == "":
        out.append(".Pp")  # a paragraph break; a blank line in fill mode is not mdoc
        continue
    if in_description and depth == 1 and line.startswith(".It Em "):
        name = line[len(".It Em "):].strip()
        if not top_closed:
            out.append(".El")
            top_closed = True
        out.append(f'.Sh "SOCKIT {name.upper()}"')
        sections.append(name)
        continue
    out.append(line)
if depth != 0 or not sections:
    sys.exit(f"man-sections: unexpected page shape (list depth {depth}, {len(sections)} subcommands)")
open(target, "w", encoding="utf-8").write("\n".join(out))
print(" ".join(sections))
