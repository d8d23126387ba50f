"""Large camera-like JPEGs for the end-to-end embedding benchmark: COUNT x 4000x3000, quality 90, 4:2:0,
smooth colour fields plus fine noise (so they compress like photos, ~3-5 MB each). Reused when present."""
import argparse
from pathlib import Path

import numpy as np
from PIL import Image


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--count", type=int, default=8)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    w, h = 4000, 3000
    for i in range(a.count):
        path = a.out / f"large_{i:02d}.jpg"
        if path.exists():
            continue
        rng = np.random.default_rng(i)
        low = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        base = np.asarray(Image.fromarray(low).resize((w, h), Image.BICUBIC), dtype=np.int16)
        noise = rng.integers(-12, 13, (h, w, 1), dtype=np.int16)
        img = Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8))
        img.save(path, quality=90, subsampling=2)
    print(f"{a.count} large JPEGs in {a.out}")


if __name__ == "__main__":
    main()
