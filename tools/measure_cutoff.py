#!/usr/bin/env python3
"""Measure the automatic relevance cutoff of `omnivec search` on the trained shapes model (docs/search.md).

    python3 tools/measure_cutoff.py [--omnivec ./omnivec]

Indexes tests/fixtures/shapes with tests/fixtures/models/shapes-clip into a temporary store, runs each query below
through `omnivec search --json --top 1000` (automatic cutoff on), and compares what passes with the ground truth in
tests/fixtures/shapes/truth.tsv. Prints per-query counts and the micro-averaged precision and recall, and how many
queries without a true match were reported as "no match". Needs only the standard library.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COLOURS = ["red", "green", "blue", "yellow", "orange", "purple"]
SHAPES = ["circle", "square", "triangle", "star"]

# Queries with known true matches, then queries with none (no purple and no star is ever shown).
QUERIES = [
    "red", "green", "blue", "yellow", "orange",
    "a red circle", "a blue square", "a green triangle", "a yellow circle", "an orange square",
    "a red triangle on the left", "a blue circle on the right", "a green square on the left",
    "two red squares", "two yellow triangles", "two blue circles",
    "a circle", "a square", "two triangles",
    "purple", "a purple circle", "a star", "a purple star", "two purple squares", "a red star", "two stars",
]


def fits(row: dict, query: str) -> bool:
    """The same rule the training script uses: every colour, shape, side and count word in the query must hold."""
    words = query.split()
    for w in words:
        if w in COLOURS and w != row["colour"]:
            return False
        if w.rstrip("s") in SHAPES and w.rstrip("s") != row["shape"]:
            return False
        if w in ("left", "right") and w != row["side"]:
            return False
    plural = any(w.endswith("s") and w.rstrip("s") in SHAPES for w in words)
    if ("two" in words or plural) and row["count"] != "2":
        return False
    if words[0] in ("a", "an", "one") and not plural and row["count"] != "1":
        return False
    return True


def run(cmd: list[str]) -> str:
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr}")
    return p.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--omnivec", default=str(REPO / "omnivec"))
    args = ap.parse_args()
    cmd = shlex.split(args.omnivec)
    shapes = REPO / "tests" / "fixtures" / "shapes"
    model = REPO / "tests" / "fixtures" / "models" / "shapes-clip"
    lines = (shapes / "truth.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    truth = {r["file"]: r for r in (dict(zip(header, l.split("\t"))) for l in lines[1:])}

    with tempfile.TemporaryDirectory() as tmp:
        store = str(Path(tmp) / "store")
        run([*cmd, "index", str(shapes), "--model", str(model), "--store", store, "--collection", "shapes"])
        tp = fp = fn = 0
        none_total = none_ok = 0
        print(f"{'query':32} {'true':>4} {'passed':>6} {'right':>5}  threshold")
        for q in QUERIES:
            out = json.loads(run([*cmd, "search", q, "--store", store, "--collection", "shapes", "--json", "--top", "1000"]))
            passed = {Path(r["path"]).name for r in out["results"]}
            relevant = {f for f, r in truth.items() if fits(r, q)}
            right = len(passed & relevant)
            tp += right
            fp += len(passed - relevant)
            fn += len(relevant - passed)
            if not relevant:
                none_total += 1
                none_ok += 1 if out["no_match"] else 0
            print(f"{q:32} {len(relevant):>4} {len(passed):>6} {right:>5}  {out.get('threshold', float('nan')):.4f}")
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        print(f"\nmicro-averaged over {len(QUERIES) - none_total} queries with matches: precision {precision:.3f}, recall {recall:.3f} "
              f"({tp} right, {fp} wrong, {fn} missed)")
        print(f"queries without a true match reported as 'no match': {none_ok} of {none_total}")


if __name__ == "__main__":
    main()
