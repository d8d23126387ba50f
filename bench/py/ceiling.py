"""What this machine can do at most: single-precision matmul rate and memory bandwidth, plus the versions and
CPU facts the report prints. Writes a results JSON (same record format as the contenders) and a machine JSON."""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

VISION_GFLOP, TEXT_GFLOP = 8.82, 5.96   # per ViT-B/32 image / per 77-token text (multiply-add = 2 FLOPs)


def rec(metric, contender, samples, unit, params):
    s = sorted(samples)
    params = dict(params, min=round(s[0], 6), max=round(s[-1], 6), runs=len(s))
    print(f"  {contender:<10} {metric:<28} {statistics.median(s):12.3f} {unit} {params}", file=sys.stderr)
    return {"metric": metric, "contender": contender, "value": round(statistics.median(s), 6), "unit": unit, "params": params}


def timed(repeats, fn):
    fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def cpu_facts():
    info = {}
    with open("/proc/cpuinfo") as f:
        for line in f:
            if ":" in line:
                k, v = (x.strip() for x in line.split(":", 1))
                info.setdefault(k, v)
    mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
    return {"cpu_model": info.get("model name"), "cores": os.cpu_count(), "flags": info.get("flags", "").split(),
            "mem_total_gib": round(mem / 2**20, 1), "kernel": platform.release()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    ap.add_argument("--machine", required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    n = 2048
    recs = []
    x = torch.randn(n, n)
    y = torch.randn(n, n)
    s = timed(a.repeats, lambda: torch.mm(x, y))
    gflops = [2 * n**3 / t / 1e9 for t in s]
    recs.append(rec("ceiling.sgemm_gflops", "machine", gflops, "GFLOP/s", {"how": f"torch.mm {n}x{n} float32", "threads": a.threads}))
    xn, yn = x.numpy(), y.numpy()
    s = timed(a.repeats, lambda: xn @ yn)
    recs.append(rec("ceiling.sgemm_gflops_numpy", "machine", [2 * n**3 / t / 1e9 for t in s], "GFLOP/s", {"how": f"numpy matmul {n}x{n} float32"}))
    best = max(statistics.median(gflops), recs[-1]["value"])
    recs.append(rec("ceiling.images_per_s", "machine", [g / VISION_GFLOP for g in gflops], "images/s", {"gflop_per_image": VISION_GFLOP}))
    recs.append(rec("ceiling.texts_per_s", "machine", [g / TEXT_GFLOP for g in gflops], "texts/s", {"gflop_per_text": TEXT_GFLOP}))
    # Memory bandwidth: sum of a 1 GiB array (read only, like an exact scan; torch so that both threads read, as
    # the contenders' scans do) and a copy (read + write).
    big_t = torch.ones(2**28, dtype=torch.float32)
    s = timed(a.repeats, lambda: big_t.sum())
    read_gbs = [big_t.numel() * 4 / t / 1e9 for t in s]
    recs.append(rec("ceiling.mem_read_gbs", "machine", read_gbs, "GB/s", {"how": f"torch sum of 1 GiB float32, {a.threads} threads"}))
    big = big_t.numpy()
    s = timed(a.repeats, lambda: big.sum())
    recs.append(rec("ceiling.mem_read_gbs_1thread", "machine", [big.nbytes / t / 1e9 for t in s], "GB/s", {"how": "numpy sum of 1 GiB float32, 1 thread"}))
    dst = np.empty_like(big)
    s = timed(a.repeats, lambda: np.copyto(dst, big))
    recs.append(rec("ceiling.mem_copy_gbs", "machine", [2 * big.nbytes / t / 1e9 for t in s], "GB/s", {"how": "numpy copy of 1 GiB (read + write bytes)"}))
    recs.append(rec("ceiling.exact_vectors_per_s", "machine", [g * 1e9 / 2048 for g in read_gbs], "vectors/s", {"bytes_per_vector": 2048}))
    with open(a.out, "w") as f:
        json.dump(recs, f, indent=1)
    try:
        from threadpoolctl import threadpool_info
        pools = [{k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "filepath")} for p in threadpool_info()]
    except ImportError:
        pools = []
    facts = cpu_facts()
    facts.update({"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
                  "torch_parallel": torch.__config__.parallel_info().splitlines()[:6], "blas_pools": pools,
                  "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"), "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE")})
    for mod in ("torchvision", "PIL", "faiss", "hnswlib", "onnx"):
        try:
            m = __import__(mod)
            facts[mod] = getattr(m, "__version__", "installed (no __version__)")
        except ImportError:
            facts[mod] = None
    if facts.get("hnswlib") == "installed (no __version__)":
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "python3-hnswlib"], capture_output=True, text=True)
        facts["hnswlib"] = out.stdout or facts["hnswlib"]
    with open(a.machine, "w") as f:
        json.dump(facts, f, indent=1)


if __name__ == "__main__":
    main()
