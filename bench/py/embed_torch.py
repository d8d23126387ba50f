"""PyTorch reference contender: OpenAI-CLIP-architecture ViT-B/32 in eager PyTorch with the SAME weights as the
ONNX files (tools/make_test_models.py builds them from a fixed seed; its export was checked against this module
to ~4e-6), Pillow preprocessing (transformers CLIPImageProcessor semantics, the script's preprocess_hf).
Same protocol as Omnivec.Bench embed: per batch size, ITEMS inputs in chunks of that size, one warm-up, then
REPEATS timed runs."""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
import make_test_models as mtm  # noqa: E402

CAPTIONS = [
    "a photo of a cat", "a diagram", "A photo of two dogs playing on the beach at sunset.", "a red door",
    "a bowl of bananas on a kitchen table", "an astronaut riding a horse", "a city skyline at night",
    "a close-up of a flower with a bee", "a page of handwritten notes", "a snowy mountain under a blue sky",
    "a plate of pasta with tomato sauce", "people crossing a busy street in the rain", "a vintage car parked by the sea",
    "a screenshot of a spreadsheet", "a child flying a kite in a park", "an old map of Europe",
]


def texts(n):
    return [CAPTIONS[i % len(CAPTIONS)] + (f" number {i}" if i >= len(CAPTIONS) else "") for i in range(n)]


def rec(out, metric, samples, unit, params):
    s = sorted(samples)
    params = dict(params, min=round(s[0], 6), max=round(s[-1], 6), runs=len(s))
    out.append({"metric": metric, "contender": "pytorch", "value": round(statistics.median(s), 6), "unit": unit, "params": params})
    print(f"  pytorch    {metric:<28} {statistics.median(s):12.3f} {unit} {params}", file=sys.stderr)


def timed(repeats, fn):
    fn()
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def chunks(seq, b):
    return [seq[i:i + b] for i in range(0, len(seq), b)]


def list_images(d, limit):
    files = sorted(p for p in Path(d).iterdir() if p.is_file() and p.suffix.lower() not in (".tsv", ".json"))
    return files[:limit] if limit else files


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", required=True)
    ap.add_argument("--large", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--items", type=int, default=32)
    ap.add_argument("--photos-items", type=int, default=0)
    ap.add_argument("--large-items", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    ap.add_argument("--check", required=True, help="write the embeddings of the first text and first photo here")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    batches = [int(b) for b in a.batches.split(",")]
    t0 = time.perf_counter()
    model = mtm.build_model(mtm.VIT_B32)
    tok = mtm.ClipTokenizer(Path(a.corpus) / "clip" / "bpe_simple_vocab_16e6.txt.gz")
    print(f"pytorch: model built in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    out = []

    def embed_texts(batch, trim=False):
        ids = torch.tensor([tok.context(t, pad_id=mtm.EOT) for t in batch], dtype=torch.int64)
        if trim:  # exact: the tower is causal and pools at the first end token (what padding="longest" gives)
            ids = ids[:, :int((ids == mtm.EOT).int().argmax(dim=-1).max()) + 1]
        e = model.text(ids)[0]
        return e / e.norm(dim=-1, keepdim=True)

    def embed_pixels(px):
        e = model.visual(px)[0]
        return e / e.norm(dim=-1, keepdim=True)

    def embed_files(batch):
        px = torch.stack([mtm.preprocess_hf(mtm.load_image(p)) for p in batch])
        return embed_pixels(px)

    px_all = torch.from_numpy(np.random.default_rng(1).standard_normal((a.items, 3, 224, 224)).astype(np.float32))
    all_texts = texts(a.items)
    for b in batches:
        p = {"batch": b, "items": a.items, "threads": a.threads}
        s = timed(a.repeats, lambda: [embed_pixels(c) for c in chunks(px_all, b)])
        rec(out, "embed.model.images_per_s", [a.items / x for x in s], "images/s", p)
        for trim in (True, False):
            s = timed(a.repeats, lambda: [embed_texts(c, trim) for c in chunks(all_texts, b)])
            rec(out, "embed.model.texts_per_s", [a.items / x for x in s], "texts/s", dict(p, text_len="longest" if trim else "77"))
    for name, d, limit in (("photos", a.photos, a.photos_items), ("large", a.large, a.large_items)):
        files = list_images(d, limit)
        for b in batches:
            s = timed(a.repeats, lambda: [embed_files(c) for c in chunks(files, b)])
            rec(out, "embed.e2e.images_per_s", [len(files) / x for x in s], "images/s",
                {"set": name, "batch": b, "items": len(files), "threads": a.threads, "failures": 0})
    first_photo = list_images(a.photos, 1)[0]
    check = {"text": all_texts[0], "text_embedding": embed_texts(all_texts[:1])[0].tolist(),
             "image": first_photo.name, "image_embedding": embed_files([first_photo])[0].tolist()}
    Path(a.check).write_text(json.dumps(check))
    Path(a.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
