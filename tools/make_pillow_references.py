#!/usr/bin/python3
"""Pillow/torchvision reference crops for the C# image preprocessing parity tests.

Run with the Debian python that has Pillow 9.4, numpy and torchvision 0.14:

    /usr/bin/python3 tools/make_pillow_references.py

For every photo in tests/fixtures/corpus/images/photos/ and a few files of images/formats/ it writes, into
tests/fixtures/pillow/, the 224x224 uint8 result of the two reference pipelines as lossless PNG:

* <name>.hf.png  Hugging Face CLIPImageProcessor: convert("RGB"), resize shortest edge to 224 with
                 new_long = int(224 * long / short) and Image.BICUBIC, centre crop with top = (h - 224) // 2.
* <name>.tv.png  OpenCLIP / torchvision: Resize(224, BICUBIC) + CenterCrop(224) (offset rounded as Python round).
                 Written only when it differs from the .hf crop (odd margins ending in .5 that round up);
                 otherwise index.json points both pipelines at the .hf file, which keeps the fixtures small.

Images are first made upright with ImageOps.exif_transpose, because Omnivec's decoder applies EXIF
orientation (Pillow's convert() does not); for the corpus photos this is a no-op (none is rotated).
index.json records, per entry: the corpus path, decoded (upright) size, resized size, crop offsets and files.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import torchvision
from PIL import Image, ImageOps
from torchvision import transforms

SIZE = 224
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CORPUS = os.path.join(REPO, "tests", "fixtures", "corpus")
OUT = os.path.join(REPO, "tests", "fixtures", "pillow")

# A few non-photo inputs whose decoding paths differ (progressive, grayscale, 16-bit, palette, GIF, WebP, BMP,
# CMYK, EXIF-rotated). Parity for these also depends on the decoders agreeing; the tests report it separately.
FORMAT_FILES = [
    "jpeg_progressive_64x128.jpg",
    "jpeg_grayscale_128.jpg",
    "jpeg_baseline_444_100x100.jpg",
    "jpeg_cmyk_ycck_100x100.jpg",
    "exif_orientation_portrait_6.jpg",
    "png_rgb_16bit.png",
    "png_gray_16bit.png",
    "png_palette_8bit.png",
    "png_interlaced_rgb_8bit.png",
    "gif_static_128.gif",
    "webp_lossy_128.webp",
    "bmp_rgb24.bmp",
]


def hf_pipeline(img: Image.Image) -> tuple[np.ndarray, dict]:
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = SIZE, int(SIZE * long / short)
    rw, rh = (new_short, new_long) if w <= h else (new_long, new_short)
    resized = img.resize((rw, rh), resample=Image.BICUBIC, reducing_gap=None)
    top, left = (rh - SIZE) // 2, (rw - SIZE) // 2
    arr = np.asarray(resized)[top : top + SIZE, left : left + SIZE]
    return arr, {"resized": [rw, rh], "hf_offset": [left, top]}


def tv_pipeline(img: Image.Image) -> tuple[np.ndarray, list[int]]:
    resized = transforms.Resize(SIZE, interpolation=transforms.InterpolationMode.BICUBIC)(img)
    cropped = transforms.CenterCrop(SIZE)(resized)
    rw, rh = resized.size
    offset = [int(round((rw - SIZE) / 2.0)), int(round((rh - SIZE) / 2.0))]
    return np.asarray(cropped), offset


def synthetic_image() -> Image.Image:
    """97x61 RGB from a formula the C# tests repeat: a hard-edged checkerboard (exercises clipping) beside ramps."""
    w, h = SYNTHETIC_SIZE
    arr = np.zeros((h, w, 3), dtype=np.uint8)
    for y in range(h):
        for x in range(w):
            for c in range(3):
                if x < 32:
                    v = 255 if ((x // 3 + y // 2 + c) % 2 == 0) else 0
                else:
                    v = (x * 31 + y * 17 + c * 101 + ((x * y) % 7) * 29) % 256
                arr[y, x, c] = v
    return Image.fromarray(arr, "RGB")


SYNTHETIC_SIZE = (97, 61)
# Exact resizes: down, up, one axis only, extreme aspect, 1x1, identity.
SYNTHETIC_TARGETS = [(50, 31), (224, 141), (97, 20), (13, 61), (300, 7), (1, 1), (97, 61), (40, 200)]
SYNTHETIC_CROP = 20  # shortest edge 20: 31x20 after resize, margin 11, so the two crop roundings differ (5 vs 6)


def write_synthetic() -> None:
    """Raw uint8 RGB results (synthetic.bin) and their layout (synthetic.json) for the managed resampler tests."""
    img = synthetic_image()
    blobs, cases = [], []
    offset = 0

    def add(kind: str, arr: np.ndarray, **extra) -> None:
        nonlocal offset
        data = np.ascontiguousarray(arr, dtype=np.uint8).tobytes()
        cases.append({"kind": kind, "width": arr.shape[1], "height": arr.shape[0], "offset": offset, **extra})
        blobs.append(data)
        offset += len(data)

    for w, h in SYNTHETIC_TARGETS:
        add("resize", np.asarray(img.resize((w, h), resample=Image.BICUBIC, reducing_gap=None)))
    global SIZE
    saved, SIZE = SIZE, SYNTHETIC_CROP
    try:
        hf, _ = hf_pipeline(img)
        tv, _ = tv_pipeline(img)
    finally:
        SIZE = saved
    add("hf", hf, shortest_edge=SYNTHETIC_CROP)
    add("tv", tv, shortest_edge=SYNTHETIC_CROP)
    # Pillow's BILINEAR (SigLIP 2's processor, Immich "interpolation": "bilinear"), appended so earlier offsets stay.
    for w, h in SYNTHETIC_TARGETS:
        add("resize-bilinear", np.asarray(img.resize((w, h), resample=Image.BILINEAR, reducing_gap=None)))
    with open(os.path.join(OUT, "synthetic.bin"), "wb") as f:
        f.write(b"".join(blobs))
    with open(os.path.join(OUT, "synthetic.json"), "w", encoding="utf-8") as f:
        json.dump({"source": list(SYNTHETIC_SIZE), "cases": cases}, f, indent=1)
        f.write("\n")


def main() -> int:
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        if name.endswith((".png", ".json", ".bin")):
            os.remove(os.path.join(OUT, name))

    sources = []
    photos = os.path.join(CORPUS, "images", "photos")
    for name in sorted(os.listdir(photos)):
        if name.lower().endswith((".jpg", ".jpeg", ".png")):
            sources.append(("photo", f"images/photos/{name}"))
    for name in FORMAT_FILES:
        sources.append(("format", f"images/formats/{name}"))

    entries = []
    for kind, rel in sources:
        path = os.path.join(CORPUS, rel)
        with Image.open(path) as opened:
            upright = ImageOps.exif_transpose(opened)
            rgb = upright.convert("RGB")
        stem = os.path.splitext(os.path.basename(rel))[0]
        if kind == "format":
            stem = "fmt_" + stem
        hf, info = hf_pipeline(rgb)
        tv, tv_offset = tv_pipeline(rgb)
        assert hf.shape == (SIZE, SIZE, 3) and tv.shape == (SIZE, SIZE, 3), rel
        Image.fromarray(hf).save(os.path.join(OUT, f"{stem}.hf.png"), optimize=True)
        tv_file = f"{stem}.hf.png"
        if not np.array_equal(hf, tv):
            tv_file = f"{stem}.tv.png"
            Image.fromarray(tv).save(os.path.join(OUT, tv_file), optimize=True)
        entries.append(
            {
                "name": stem,
                "kind": kind,
                "source": rel,
                "size": list(rgb.size),
                **info,
                "tv_offset": tv_offset,
                "hf": f"{stem}.hf.png",
                "tv": tv_file,
            }
        )

    write_synthetic()
    index = {
        "generator": "tools/make_pillow_references.py",
        "pillow": Image.__version__,
        "torchvision": torchvision.__version__,
        "crop": SIZE,
        "entries": entries,
    }
    with open(os.path.join(OUT, "index.json"), "w", encoding="utf-8") as f:
        json.dump(index, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"{len(entries)} entries, {len(os.listdir(OUT))} files, {total / 1e6:.2f} MB in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
