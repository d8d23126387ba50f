#!/usr/bin/env bash
# Restores, builds and runs every test in the solution, then prints one summary line.
set -euo pipefail
cd "$(dirname "$0")"
results="${TEST_RESULTS_DIR:-$PWD/artifacts/test-results}"
rm -rf "$results"
dotnet restore Omnivec.slnx
dotnet build Omnivec.slnx -c Release --no-restore
# PGlite (PostgreSQL + pgvector in WebAssembly) for the PostgreSQL store tests, from the committed lock file.
if [ ! -d tools/pglite/node_modules ]; then (cd tools/pglite && npm ci --no-audit --no-fund --legacy-peer-deps); fi
# transformers.js (the reference CLAP feature extractor and tokenizer for the audio parity tests), from its lock file.
if [ ! -d tools/clap-reference/node_modules ]; then (cd tools/clap-reference && npm ci --no-audit --no-fund --legacy-peer-deps); fi
status=0
dotnet test Omnivec.slnx -c Release --no-build --logger "trx" --results-directory "$results" "$@" || status=$?
# Sum the TRX counters so the run ends with one "N passed, N failed" line.
python3 - "$results" <<'PY' || true
import sys, glob, re
p = f = s = 0
for path in glob.glob(sys.argv[1] + "/*.trx"):
    text = open(path, encoding="utf-8").read()
    m = re.search(r'<Counters [^>]*', text)
    if not m:
        continue
    attrs = dict(re.findall(r'(\w+)="(\d+)"', m.group(0)))
    p += int(attrs.get("passed", 0)); f += int(attrs.get("failed", 0)); s += int(attrs.get("notExecuted", 0))
print(f"{p} passed, {f} failed, {s} skipped")
PY
exit $status
