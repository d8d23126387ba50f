#!/usr/bin/env python3
"""Brings every library's PublicAPI.Unshipped.txt in line with its code after a deliberate change to the public surface.

Rebuilds the libraries once (the CLI references them all; --no-incremental so every analyzer runs) with warnings allowed, then adds the symbols the analyzer reports as new (RS0016) and removes
the ones it reports as gone (RS0017). Review the diff of the PublicAPI files: it is the change to the surface.

    python3 tools/update_public_api.py            # from the repository root
"""
import os, re, subprocess, sys
from collections import defaultdict

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = subprocess.run(
    ["dotnet", "build", "src/Omnivec.Cli/Omnivec.Cli.csproj", "-c", "Release", "--no-incremental",
     "-p:TreatWarningsAsErrors=false", "-nologo", "-clp:NoSummary"],
    cwd=root, capture_output=True, text=True)
pattern = re.compile(r"warning (RS0016|RS0017): Symbol '(.+?)' (?:is not part of|is part of).*\[(.+?\.csproj)\]")
added, removed = defaultdict(set), defaultdict(set)
for line in build.stdout.splitlines():
    m = pattern.search(line)
    if m:
        (added if m.group(1) == "RS0016" else removed)[os.path.dirname(m.group(3))].add(m.group(2))
if build.returncode != 0 and not added and not removed:
    sys.stdout.write(build.stdout[-4000:])
    sys.exit("The build failed for another reason; fix that first.")
for project in sorted(set(added) | set(removed)):
    path = os.path.join(project, "PublicAPI.Unshipped.txt")
    lines = open(path, encoding="utf-8").read().splitlines() if os.path.exists(path) else ["#nullable enable"]
    header = [l for l in lines if l.startswith("#")] or ["#nullable enable"]
    body = {l for l in lines if l and not l.startswith("#")}
    body = (body | added[project]) - removed[project]
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(header + sorted(body, key=lambda s: s.lstrip("~"))) + "\n")
    print(f"{os.path.relpath(path, root)}: +{len(added[project])} -{len(removed[project])}")
print("Done. Review: git diff -- '*PublicAPI*.txt'")
