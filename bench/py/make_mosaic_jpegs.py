"""Detailed 4000x3000 JPEGs for the reduced-decoding fidelity sweep (`Omnivec.Bench decodefactors`): the corpus photos
pasted at their native resolution, side by side, until the canvas is full (quality 90, 4:2:0, like a camera). Unlike
bench/py/make_large_jpegs.py (smooth fields plus noise), these keep real photographic detail at every scale the
224-pixel target can see, which is where reduced decoding could show. Deterministic (seeded order); reused when present."""
import argparse
import random
from pathlib import Path

from PIL import Image


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=Path, required=True, help="folder of photos to tile (tests/fixtures/corpus/images/photos)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--count", type=int, default=4)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    sources = []
    for f in sorted(a.photos.iterdir()):
        if f.suffix.lower() in (".jpg", ".jpeg", ".png"):
            im = Image.open(f).convert("RGB")
            if min(im.size) >= 200:
                sources.append(im)
    w, h = 4000, 3000
    for i in range(a.count):
        path = a.out / f"mosaic_{i:02d}.jpg"
        if path.exists():
            continue
        rng = random.Random(i)
        canvas = Image.new("RGB", (w, h), (128, 128, 128))
        y = 0
        while y < h:
            x, row_h = 0, 0
            while x < w:
                im = rng.choice(sources)
                canvas.paste(im, (x, y))
                x += im.width
                row_h = max(row_h, im.height)
            y += row_h
        canvas.save(path, quality=90, subsampling=2)
    print(f"{a.count} mosaic JPEGs in {a.out}")


if __name__ == "__main__":
    main()
