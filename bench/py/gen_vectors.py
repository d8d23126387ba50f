"""Synthetic CLIP-like vectors shared by every search contender.

Writes to OUT: vectors.f32 (N x 512 float32, unit norm: 1000 random unit centroids + Gaussian noise of about the
same norm, normalised), queries.f32 (NQ x 512 from the same distribution, not in the set), truth_<n>.i32
(exact top-K row ids for each query over the first n rows, for each requested n) and meta.json.
Chunks are seeded by index, so the first 100k rows are the same whether N is 100k or 1M, and an existing file
with enough rows is reused.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

DIM, CENTROIDS, K, CHUNK = 512, 1000, 10, 100_000


def unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def rows(seed, count, centroids):
    rng = np.random.default_rng(seed)
    which = rng.integers(0, CENTROIDS, count)
    noise = rng.standard_normal((count, DIM), dtype=np.float32) / np.float32(np.sqrt(DIM))
    return unit(centroids[which] + noise)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, nargs="+", required=True, help="collection sizes (multiples of 100k)")
    ap.add_argument("--nq", type=int, default=1000)
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    n_max = max(args.n)
    centroids = unit(np.random.default_rng(12345).standard_normal((CENTROIDS, DIM)))
    meta_path = out / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    have = meta.get("n", 0) if meta.get("nq") == args.nq else 0
    vec_path = out / "vectors.f32"
    t0 = time.time()
    if have < n_max:
        with open(vec_path, "r+b" if have and vec_path.exists() else "wb") as f:
            f.seek(have * DIM * 4)
            for start in range(have, n_max, CHUNK):
                rows(1000 + start // CHUNK, min(CHUNK, n_max - start), centroids).tofile(f)
        queries = rows(7, args.nq, centroids)
        queries.tofile(out / "queries.f32")
        meta = {"n": n_max, "dim": DIM, "nq": args.nq, "k": K, "centroids": CENTROIDS,
                "noise": "N(0, 1/dim) per coordinate, then L2-normalised", "truth": []}
    queries = np.fromfile(out / "queries.f32", dtype=np.float32).reshape(-1, DIM)
    data = np.memmap(vec_path, dtype=np.float32, mode="r", shape=(meta["n"], DIM))
    for n in sorted(args.n):
        path = out / f"truth_{n}.i32"
        if n in meta["truth"] and path.exists():
            continue
        best_s = np.full((len(queries), K), -np.inf, np.float32)
        best_i = np.zeros((len(queries), K), np.int64)
        for start in range(0, n, CHUNK):
            block = np.asarray(data[start:min(n, start + CHUNK)])
            s = queries @ block.T
            idx = np.argpartition(-s, K, axis=1)[:, :K]
            cs = np.concatenate([best_s, np.take_along_axis(s, idx, 1)], 1)
            ci = np.concatenate([best_i, idx + start], 1)
            order = np.argsort(-cs, axis=1)[:, :K]
            best_s, best_i = np.take_along_axis(cs, order, 1), np.take_along_axis(ci, order, 1)
        best_i.astype(np.int32).tofile(path)
        meta["truth"] = sorted(set(meta["truth"]) | {n})
    meta_path.write_text(json.dumps(meta, indent=1))
    print(f"vectors: {meta['n']} x {DIM} in {out} ({time.time() - t0:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
