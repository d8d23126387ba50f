"""FAISS and hnswlib contenders for the search benchmark, on the vectors written by gen_vectors.py.
FAISS: IndexFlatIP (exact) and IndexHNSWFlat (M=16, efConstruction=128, inner product); hnswlib: ip space, M=16,
ef_construction=128, twice: Debian's python3-hnswlib (built for baseline x86-64: SSE kernels) and hnswlib-native, the same
0.6.2 sources compiled here with -march=native (bench/py/hnsw_native), as a `pip install hnswlib` from source would be. efSearch / ef is the smallest of LADDER (the one Omnivec.Bench uses too) whose recall@10 reaches
--target-recall (0.99 for every contender, Omnivec included), so the approximate figures compare at the same recall. 2 threads everywhere."""
import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np


LADDER = (16, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 224, 256, 320, 384, 512, 640, 768, 1024)
# Exact single queries are timed on the first EXACT_TIMED queries only: each is one pass over every vector, the same work
# whatever the query (a thousand at 1M would take FAISS's flat index a quarter of an hour).
EXACT_TIMED = 100


def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS:"))


class Out:
    """Records, rewritten to the output file after each one: a step killed by its time limit keeps what it measured."""

    def __init__(self, path):
        self.records = []
        self.path = Path(path)

    def add(self, metric, contender, samples, unit, params):
        s = sorted(samples)
        params = dict(params, min=round(s[0], 6), max=round(s[-1], 6), runs=len(s))
        self.records.append({"metric": metric, "contender": contender, "value": round(statistics.median(s), 6), "unit": unit, "params": params})
        print(f"  {contender:<10} {metric:<28} {statistics.median(s):12.3f} {unit} {params}", file=sys.stderr)
        self.path.write_text(json.dumps(self.records, indent=1))


def recall(found, truth):
    return float(np.mean([len(set(f[:10]) & set(t[:10])) / 10 for f, t in zip(found, truth)]))


@contextlib.contextmanager
def query_cpu(cpu):
    """Pins this thread to one CPU while single HNSW queries are timed (as Omnivec.Bench's QueryCpu does, on the CPU
    bench/run.sh gives both): on the bench VM the first CPU takes the interrupts and ran the same queries up to a
    quarter slower, and the scheduler moves a single-threaded loop between CPUs at will. A negative CPU: no pinning."""
    if cpu < 0 or not hasattr(os, "sched_setaffinity") or cpu not in os.sched_getaffinity(0):
        yield
        return
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


def run_queries(out, contender, name, search, queries, truth, repeats, batch, params, cpu=-1):
    """search(q2d) -> ids [len(q), 10]. Single queries on CPU cpu (when not negative), batches on every CPU."""
    for q in queries[:10]:
        search(q[None, :])
    single = queries[:EXACT_TIMED] if name == "exact" else queries
    lat, qps = [], []
    with query_cpu(cpu):
        for _ in range(repeats):
            t0 = time.perf_counter()
            for q in single:
                t = time.perf_counter()
                search(q[None, :])
                lat.append((time.perf_counter() - t) * 1000)
            qps.append(len(single) / (time.perf_counter() - t0))
    p = dict(params, index=name, batch=1, queries=len(single), query_cpu=cpu)
    out.add("search.qps", contender, qps, "queries/s", p)
    # Each query's fastest of the repeats (lat is repeat-major), as Omnivec.Bench records it: the spread of the work
    # between queries, without this VM's interruptions.
    fastest = sorted(min(lat[r * len(single) + i] for r in range(repeats)) for i in range(len(single)))
    out.add("search.p99_over_p50_fastest", contender,
            [fastest[int(0.99 * (len(fastest) - 1))] / fastest[int(0.50 * (len(fastest) - 1))]], "ratio", dict(p))
    lat.sort()
    out.add("search.p50_ms", contender, [lat[int(0.50 * (len(lat) - 1))]], "ms", dict(p))
    out.add("search.p99_ms", contender, [lat[int(0.99 * (len(lat) - 1))]], "ms", dict(p))
    found = np.vstack([search(queries[i:i + batch]) for i in range(0, len(queries), batch)])
    out.add("search.recall_at_10", contender, [recall(found, truth)], "fraction", dict(params, index=name))
    search(queries[:batch])
    s = []
    for _ in range(repeats):
        t = time.perf_counter()
        for i in range(0, len(queries), batch):
            search(queries[i:i + batch])
        s.append(time.perf_counter() - t)
    out.add("search.qps", contender, [len(queries) / x for x in s], "queries/s", dict(params, index=name, batch=batch, queries=len(queries)))


def tune(out, contender, params, set_ef, search, queries, truth, target):
    """The smallest ef of LADDER whose recall@10 reaches target. Walks the whole ladder and records recall and
    single-query rate at every step (search.curve_qps), as Omnivec.Bench does, for the report's ef/recall/rate table."""
    # One warm-up pass over every query at the first ef, as Omnivec.Bench does (there it also brings the rows its
    # re-score reads back into the page cache); the ladder's first step is then not a cold one for anybody.
    set_ef(LADDER[0])
    for q in queries:
        search(q[None, :])
    chosen = None
    for ef in LADDER:
        set_ef(ef)
        found, elapsed = [], 0.0
        for q in queries:
            t = time.perf_counter()
            found.append(search(q[None, :])[0])
            elapsed += time.perf_counter() - t
        r = recall(found, truth)
        out.add("search.curve_qps", contender, [len(queries) / elapsed], "queries/s", dict(params, ef_search=ef, recall=round(r, 4)))
        if chosen is None and r >= target:
            chosen = ef
    chosen = chosen or LADDER[-1]
    set_ef(chosen)
    return chosen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--target-recall", type=float, default=0.99)
    ap.add_argument("--which", default="faiss,hnswlib", help="faiss (flat + HNSW), faiss-flat, faiss-hnsw, hnswlib, hnswlib-native; comma-separated")
    ap.add_argument("--native-dir", type=Path, default=Path(__file__).resolve().parent.parent / "out" / "hnsw-native",
                    help="where bench/py/hnsw_native/build.sh put the hnswnative module (for --which hnswlib-native)")
    ap.add_argument("--build-budget", type=float, default=0,
                    help="seconds: stop adding to FAISS's HNSW after this and record how far it got (0: no limit)")
    ap.add_argument("--query-cpu", type=int, default=-1, help="CPU to time single HNSW queries on (-1: any)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    meta = json.loads((a.data / "meta.json").read_text())
    dim, n = meta["dim"], a.n
    data = np.fromfile(a.data / "vectors.f32", dtype=np.float32, count=n * dim).reshape(n, dim)
    queries = np.fromfile(a.data / "queries.f32", dtype=np.float32).reshape(-1, dim)
    truth = np.fromfile(a.data / f"truth_{n}.i32", dtype=np.int32).reshape(len(queries), -1)
    out = Out(a.out)
    base = {"n": n, "dim": dim}
    which = a.which.split(",")
    if "faiss" in which or "faiss-flat" in which or "faiss-hnsw" in which:
        import faiss
        faiss.omp_set_num_threads(a.threads)
    if "faiss" in which or "faiss-flat" in which:
        r0 = rss()
        t = time.perf_counter()
        flat = faiss.IndexFlatIP(dim)
        flat.add(data)
        out.add("search.build_s", "faiss", [time.perf_counter() - t], "s", dict(base, index="exact"))
        out.add("search.bytes_per_vector", "faiss", [(rss() - r0) / n], "bytes", dict(base, index="exact"))
        run_queries(out, "faiss", "exact", lambda q: flat.search(q, 10)[1], queries, truth, a.repeats, a.batch, base)
        del flat
    if "faiss" in which or "faiss-hnsw" in which:
        r0 = rss()
        t = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(dim, 16, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 128
        # Added in chunks so a build that cannot finish within the budget is recorded as such, not lost to a timeout.
        chunk, finished = 50_000, True
        for i in range(0, n, chunk):
            hnsw.add(data[i:i + chunk])
            elapsed = time.perf_counter() - t
            if a.build_budget and elapsed > a.build_budget and i + chunk < n:
                added = i + chunk
                print(f"  faiss HNSW build stopped after {elapsed:.0f} s with {added} of {n} vectors added", file=sys.stderr)
                out.add("search.build_unfinished", "faiss", [added], "vectors",
                        dict(base, index="hnsw", M=16, ef_construction=128, budget_s=a.build_budget, elapsed_s=round(elapsed, 1)))
                finished = False
                break
    if ("faiss" in which or "faiss-hnsw" in which) and finished:
        out.add("search.build_s", "faiss", [time.perf_counter() - t], "s", dict(base, index="hnsw", M=16, ef_construction=128))
        out.add("search.bytes_per_vector", "faiss", [(rss() - r0) / n], "bytes", dict(base, index="hnsw"))
        search = lambda q: hnsw.search(q, 10)[1]  # noqa: E731
        with query_cpu(a.query_cpu):
            ef = tune(out, "faiss", dict(base, index="hnsw", query_cpu=a.query_cpu), lambda e: setattr(hnsw.hnsw, "efSearch", e),
                      search, queries, truth, a.target_recall)
        run_queries(out, "faiss", "hnsw", search, queries, truth, a.repeats, a.batch, dict(base, ef_search=ef), a.query_cpu)
        del hnsw
    for contender in [w for w in ("hnswlib", "hnswlib-native") if w in which]:
        if contender == "hnswlib":
            import hnswlib
            make = lambda: hnswlib.Index(space="ip", dim=dim)  # noqa: E731
        else:
            # The same hnswlib compiled for this CPU (bench/py/hnsw_native/build.sh), as `pip install hnswlib` builds it.
            sys.path.insert(0, str(a.native_dir))
            import hnswnative
            make = lambda: hnswnative.Index(dim=dim)  # noqa: E731
        r0 = rss()
        t = time.perf_counter()
        idx = make()
        idx.init_index(max_elements=n, M=16, ef_construction=128, random_seed=100)
        idx.set_num_threads(a.threads)
        idx.add_items(data, np.arange(n))
        out.add("search.build_s", contender, [time.perf_counter() - t], "s", dict(base, index="hnsw", M=16, ef_construction=128))
        out.add("search.bytes_per_vector", contender, [(rss() - r0) / n], "bytes", dict(base, index="hnsw"))
        search = lambda q, idx=idx: idx.knn_query(q, k=10)[0]  # noqa: E731
        with query_cpu(a.query_cpu):
            ef = tune(out, contender, dict(base, index="hnsw", query_cpu=a.query_cpu), idx.set_ef, search, queries, truth, a.target_recall)
        run_queries(out, contender, "hnsw", search, queries, truth, a.repeats, a.batch, dict(base, ef_search=ef), a.query_cpu)
        del idx
    out.path.write_text(json.dumps(out.records, indent=1))


if __name__ == "__main__":
    main()
