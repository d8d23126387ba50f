#!/usr/bin/python3
"""Train a tiny CLIP on generated pictures of coloured shapes, and make evaluation pictures with known contents.

Run with the Debian python that has torch (see tools/README.md):

    /usr/bin/python3 tools/make_shapes_model.py        # ~1-2 min on 2 cores; rewrites the fixtures below

Unlike tools/make_test_models.py (random weights, for parity tests), this model is trained, so it can tell a red
circle from a blue square: tests use it for text->image ranking, query algebra and the relevance cutoff.

Outputs:

* tests/fixtures/models/shapes-clip/       Transformers.js layout, the same file names as tiny-clip-hf
                                           (onnx/text_model.onnx, onnx/vision_model.onnx, config.json,
                                           preprocessor_config.json and the CLIP tokenizer files).
* tests/fixtures/shapes/IMG_0001.png ...   evaluation pictures (224x224 PNG) that no training step saw.
* tests/fixtures/shapes/truth.tsv          what each evaluation picture shows (file, colour, shape, count, side).
* tests/fixtures/reference/shapes-clip.json  PyTorch embeddings of a few texts and evaluation pictures (parity).

The world: colours red, green, blue, yellow, orange, purple; shapes circle, square, triangle, star; one shape on
the left or right, or two of the same kind. The evaluation pictures never show purple or stars (the model knows
both words), so "a purple star" is a query with no true match.

Architecture (exported as ONNX, opset 14, with the same inputs and outputs as a CLIP export):

* Vision: pixel_values [B,3,224,224] (CLIP-normalised) -> 4x4 average pool -> three 3x3 stride-2 convolutions
  with ReLU -> 1x1 convolution -> flatten (keeps where things are) -> MLP -> image_embeds [B,64].
* Text: input_ids [B,L] (CLIP BPE ids) -> a fixed table maps the ~40 ids used in the captions to rows of a small
  embedding (every other id maps to one "unknown" row) -> one causal transformer block -> features at the first
  end-of-text token -> text_embeds [B,64]. The tokenizer files are CLIP's, copied from tiny-clip-hf.

Everything is seeded (torch, numpy, the picture generator); torch uses one thread so the run is repeatable.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_test_models as mtm  # noqa: E402  (tokenizer logic, export helpers, ONNX signature checks)

REPO = Path(__file__).resolve().parents[1]
SEED = 14
SIZE = 224
POOL = 4
EMBED = 64
TEXT_WIDTH = 32

COLOURS = {
    "red": (215, 35, 35),
    "green": (40, 165, 60),
    "blue": (35, 70, 215),
    "yellow": (240, 205, 25),
    "orange": (245, 130, 20),
    "purple": (140, 45, 175),
}
SHAPES = ["circle", "square", "triangle", "star"]
SIDES = ["left", "right"]
EVAL_COLOURS = ["red", "green", "blue", "yellow", "orange"]  # never purple
EVAL_SHAPES = ["circle", "square", "triangle"]               # never star
EVAL_COPIES = 2


# ----------------------------------------------------------------------------------------------------------
# Pictures and captions
# ----------------------------------------------------------------------------------------------------------

def draw_shape(d: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, r: float, fill, rot: float) -> None:
    if shape == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == "square":
        h = r * 0.88
        d.rectangle([cx - h, cy - h, cx + h, cy + h], fill=fill)
    elif shape == "triangle":
        pts = [(cx + r * math.cos(rot + a), cy + r * math.sin(rot + a))
               for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
        d.polygon(pts, fill=fill)
    elif shape == "star":
        pts = []
        for i in range(10):
            rr = r if i % 2 == 0 else r * 0.45
            a = -math.pi / 2 + rot + i * math.pi / 5
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
        d.polygon(pts, fill=fill)
    else:
        raise ValueError(shape)


def render(rng: random.Random, colour: str, shape: str, count: int, side: str | None) -> Image.Image:
    bg = tuple(int(v) for v in np.clip(np.array([232, 232, 232]) + [rng.randint(-18, 18) for _ in range(3)], 0, 255))
    img = Image.new("RGB", (SIZE, SIZE), bg)
    d = ImageDraw.Draw(img)
    base = np.array(COLOURS[colour])
    fill = tuple(int(v) for v in np.clip(base + [rng.randint(-15, 15) for _ in range(3)], 0, 255))
    rot = rng.uniform(-0.25, 0.25) if shape != "star" else rng.uniform(-0.6, 0.6)
    if count == 1:
        r = rng.uniform(34, 50)
        cx = rng.uniform(r + 4, 84) if side == "left" else rng.uniform(140, SIZE - r - 4)
        cy = rng.uniform(r + 4, SIZE - r - 4)
        draw_shape(d, shape, cx, cy, r, fill, rot)
    else:
        r = rng.uniform(26, 38)
        for lo, hi in ((r + 4, 100), (124, SIZE - r - 4)):
            draw_shape(d, shape, rng.uniform(lo, hi), rng.uniform(r + 4, SIZE - r - 4), r, fill, rot)
    return img


def caption(rng: random.Random, colour: str, shape: str, count: int, side: str | None) -> str:
    if rng.random() < 0.03:
        return rng.choice(["shapes", "a shape", "a picture of shapes"])
    a = "an" if colour == "orange" else "a"
    if count == 1:
        templates = [f"{a} {colour} {shape} on the {side}", f"{a} {colour} {shape} on the {side}", f"{a} {colour} {shape}",
                     f"{a} {colour} {shape}", f"a {shape} on the {side}", f"a {shape}", f"{a} {colour} shape", colour,
                     f"one {colour} {shape}", f"{a} {colour} {shape} on the {side}"]
    else:
        templates = [f"two {colour} {shape}s", f"two {colour} {shape}s", f"two {shape}s", f"{colour} {shape}s",
                     f"two {colour} shapes", f"two {colour} {shape}s", f"a pair of {colour} {shape}s"]
    return rng.choice(templates)


def random_scene(rng: random.Random) -> tuple[str, str, int, str | None]:
    count = 1 if rng.random() < 0.6 else 2
    return rng.choice(list(COLOURS)), rng.choice(SHAPES), count, (rng.choice(SIDES) if count == 1 else None)


def to_pixels(img: Image.Image) -> torch.Tensor:
    """CLIPImageProcessor on a 224x224 RGB picture: no resize or crop is needed, so x/255 then (x-mean)/std."""
    a = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)
    return (a - torch.tensor(mtm.MEAN).view(3, 1, 1)) / torch.tensor(mtm.STD).view(3, 1, 1)


# ----------------------------------------------------------------------------------------------------------
# Tokenizer (CLIP BPE from the committed vocab.json + merges.txt of tiny-clip-hf)
# ----------------------------------------------------------------------------------------------------------

class FileTokenizer(mtm.ClipTokenizer):
    def __init__(self, folder: Path):  # noqa: super().__init__ reads OpenAI's gz file; this reads the HF files
        import regex
        self.encoder = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        lines = (folder / "merges.txt").read_text(encoding="utf-8").split("\n")
        self.merges = [tuple(l.split()) for l in lines[1:] if l.strip()]
        self.byte_encoder = mtm.bytes_to_unicode()
        self.bpe_ranks = {m: i for i, m in enumerate(self.merges)}
        self.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}
        self.pat = regex.compile(self.PATTERN, regex.IGNORECASE)
        if self.encoder.get("<|startoftext|>") != mtm.SOT or self.encoder.get("<|endoftext|>") != mtm.EOT:
            mtm.fail("tokenizer files do not have CLIP's special token ids")


# ----------------------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------------------

class Vision(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.AvgPool2d(POOL)
        self.c1 = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.c2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.c3 = nn.Conv2d(32, 32, 3, stride=2, padding=1)
        self.c4 = nn.Conv2d(32, 48, 3, padding=1)
        self.fc1 = nn.Linear(3 * 48, 128)
        self.fc2 = nn.Linear(128, EMBED)

    def features(self, pooled):
        x = F.relu(self.c1(pooled))
        x = F.relu(self.c2(x))
        x = F.relu(self.c3(x))
        return F.relu(self.c4(x))       # [B, 48, 7, 7]

    def head(self, x):
        # what is anywhere, what is on the left, what is on the right (max over places): shape detectors are
        # shared across positions, and the halves keep the side
        y = torch.cat([x.amax(dim=(2, 3)), x[:, :, :, :4].amax(dim=(2, 3)), x[:, :, :, 3:].amax(dim=(2, 3))], dim=1)
        return self.fc2(F.relu(self.fc1(y)))

    def forward(self, pixel_values):
        x = self.features(self.pool(pixel_values))
        return self.head(x), x.flatten(2).transpose(1, 2)   # image_embeds, last_hidden_state [B, 49, 48]


class Text(nn.Module):
    def __init__(self, used_ids: list[int]):
        super().__init__()
        remap = torch.zeros(mtm.VOCAB_SIZE, dtype=torch.int32)      # row 0: every id no caption uses
        for row, i in enumerate(used_ids, start=1):
            remap[i] = row
        self.register_buffer("remap", remap)
        self.token_embedding = nn.Embedding(len(used_ids) + 1, TEXT_WIDTH)
        self.positional_embedding = nn.Parameter(torch.randn(mtm.CONTEXT, TEXT_WIDTH) * 0.01)
        self.block = mtm.ResidualAttentionBlock(TEXT_WIDTH, 2)
        nn.init.normal_(self.block.attn.in_proj_weight, std=TEXT_WIDTH ** -0.5)  # (the class leaves it empty)
        nn.init.zeros_(self.block.attn.in_proj_bias)
        self.ln_final = nn.LayerNorm(TEXT_WIDTH)
        self.text_projection = nn.Parameter(torch.randn(TEXT_WIDTH, EMBED) * TEXT_WIDTH ** -0.5)

    def forward(self, input_ids):
        rows = self.remap[input_ids].long()
        x = self.token_embedding(rows) + self.positional_embedding[: input_ids.shape[1]]
        x = self.ln_final(self.block(x, True))
        first_eot = (input_ids == mtm.EOT).int().argmax(dim=-1)
        index = first_eot.reshape(-1, 1, 1).expand(-1, 1, x.shape[2])
        pooled = torch.gather(x, 1, index)[:, 0]
        return pooled @ self.text_projection, x


# ----------------------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fixtures", type=Path, default=REPO / "tests" / "fixtures")
    ap.add_argument("--train-images", type=int, default=4000)
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args()

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    t0 = time.time()

    fixtures: Path = args.fixtures
    tok_src = fixtures / "models" / "tiny-clip-hf"
    out = fixtures / "models" / "shapes-clip"
    eval_dir = fixtures / "shapes"
    tok = FileTokenizer(tok_src)

    # ---- training data: pictures rendered at 224, pooled 4x4 (the graph's first op; pooling commutes with the
    # per-channel normalisation), so training sees exactly what the exported graph sees after its first node.
    rng = random.Random(SEED)
    scenes = [random_scene(rng) for _ in range(args.train_images)]
    pooled = torch.empty(len(scenes), 3, SIZE // POOL, SIZE // POOL)
    for i, s in enumerate(scenes):
        pooled[i] = F.avg_pool2d(to_pixels(render(rng, *s)).unsqueeze(0), POOL)[0]
    print(f"rendered {len(scenes)} training pictures in {time.time() - t0:.1f} s")

    # ---- vocabulary: every BPE id of every caption any scene can get
    words = set()
    for c in COLOURS:
        for s in SHAPES:
            for side in SIDES:
                for n in (1, 2):
                    for k in range(200):
                        words.add(caption(random.Random(k), c, s, n, side if n == 1 else None))
    used = sorted({i for w in words for i in tok.context(w, pad_id=mtm.EOT)})
    print(f"{len(words)} distinct captions, {len(used)} distinct token ids")

    vision, text = Vision(), Text(used)
    logit_scale = nn.Parameter(torch.tensor(math.log(10.0)))
    params = list(vision.parameters()) + list(text.parameters()) + [logit_scale]
    steps_per_epoch = len(scenes) // 128
    opt = torch.optim.AdamW(params, lr=5e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=5e-3, total_steps=args.epochs * steps_per_epoch)
    cap_rng = random.Random(SEED + 1)
    ids_cache: dict[str, list[int]] = {}

    def ids_of(capts: list[str]) -> torch.Tensor:
        rows = [ids_cache.setdefault(c, tok.context(c, pad_id=mtm.EOT)) for c in capts]
        width = max(r.index(mtm.EOT) for r in rows) + 1
        return torch.tensor([r[:width] for r in rows], dtype=torch.int64)

    for epoch in range(args.epochs):
        perm = torch.randperm(len(scenes))
        total = 0.0
        for b in range(steps_per_epoch):
            idx = perm[b * 128:(b + 1) * 128]
            capts = [caption(cap_rng, *scenes[int(i)]) for i in idx]
            x = pooled[idx]
            # light augmentation: brightness/contrast jitter in normalised space
            x = x * (1 + 0.1 * (torch.rand(len(idx), 1, 1, 1) - 0.5)) + 0.1 * (torch.rand(len(idx), 1, 1, 1) - 0.5)
            img = F.normalize(vision.head(vision.features(x)), dim=-1)
            txt = F.normalize(text(ids_of(capts))[0], dim=-1)
            logits = logit_scale.exp().clamp(max=100) * img @ txt.T
            # several pictures in a batch can fit one caption ("red"): the target spreads over all of them
            fits = torch.tensor([[fits_caption(scenes[int(i)], c) for c in capts] for i in idx], dtype=torch.float32)
            loss = (torch.sum(-F.log_softmax(logits, 1) * fits / fits.sum(1, keepdim=True), 1).mean()
                    + torch.sum(-F.log_softmax(logits.T, 1) * fits.T / fits.T.sum(1, keepdim=True), 1).mean()) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / steps_per_epoch:.3f} ({time.time() - t0:.0f} s)")

    vision.eval()
    text.eval()

    # ---- evaluation pictures (a separate generator: none of them is a training picture)
    if eval_dir.exists():
        shutil.rmtree(eval_dir)
    eval_dir.mkdir(parents=True)
    erng = random.Random(SEED + 2)
    truth = []
    n = 0
    for copy in range(EVAL_COPIES):
        for c in EVAL_COLOURS:
            for s in EVAL_SHAPES:
                for count, side in ((1, "left"), (1, "right"), (2, None)):
                    n += 1
                    name = f"IMG_{n:04d}.png"
                    render(erng, c, s, count, side).save(eval_dir / name, optimize=True)
                    truth.append((name, c, s, count, side or "both"))
    with open(eval_dir / "truth.tsv", "w", encoding="utf-8", newline="\n") as f:
        f.write("file\tcolour\tshape\tcount\tside\n")
        for row in truth:
            f.write("\t".join(str(v) for v in row) + "\n")
    (eval_dir / "README.md").write_text(
        "Evaluation pictures for the trained shapes-clip test model, made by tools/make_shapes_model.py "
        "(seeded; no training step saw them). truth.tsv says what each shows: one shape on the left or right, or "
        "two of the same (side 'both'). No picture shows purple or a star.\n", encoding="utf-8")

    # ---- check: text -> image ranking on the evaluation pictures
    px = torch.stack([to_pixels(Image.open(eval_dir / r[0]).convert("RGB")) for r in truth])
    queries = ["a red circle", "a blue square", "two green triangles", "a yellow square on the left",
               "an orange triangle on the right", "red", "a purple star"]
    with torch.no_grad():
        iemb = F.normalize(vision(px)[0], dim=-1)
        temb = F.normalize(text(ids_of(queries))[0], dim=-1)
    scores = temb @ iemb.T
    wrong = []
    for q, row in zip(queries, scores):
        relevant = {r[0] for r in truth if fits_truth(r, q)}
        top = [truth[int(i)][0] for i in row.argsort(descending=True)[:max(1, len(relevant))]]
        hits = len(relevant.intersection(top))
        print(f"  {q!r}: {hits}/{len(relevant)} relevant in the top {len(top)}; top score {row.max():.3f}")
        if relevant and hits < len(relevant):
            wrong.append(q)

    # ---- export (Transformers.js layout, same file names as tiny-clip-hf)
    if out.exists():
        shutil.rmtree(out)
    (out / "onnx").mkdir(parents=True)
    mtm.export(text, torch.tensor([tok.context("a red circle", pad_id=mtm.EOT)], dtype=torch.int64),
               out / "onnx" / "text_model.onnx", "input_ids", ["text_embeds", "last_hidden_state"],
               {"input_ids": {0: "batch_size", 1: "sequence_length"}, "text_embeds": {0: "batch_size"},
                "last_hidden_state": {0: "batch_size", 1: "sequence_length"}},
               {"text_embeds": ["batch_size", EMBED], "last_hidden_state": ["batch_size", "sequence_length", TEXT_WIDTH]})
    mtm.export(vision, torch.zeros(2, 3, SIZE, SIZE), out / "onnx" / "vision_model.onnx", "pixel_values",
               ["image_embeds", "last_hidden_state"],
               {"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}},
               {"image_embeds": ["batch_size", EMBED], "last_hidden_state": ["batch_size", 49, 48]})
    for name in ("tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json",
                 "preprocessor_config.json"):
        shutil.copyfile(tok_src / name, out / name)
    mtm.write_json(out / "config.json", {
        "architectures": ["CLIPModel"],
        "model_type": "clip",
        "projection_dim": EMBED,
        "text_config": {"model_type": "clip_text_model", "vocab_size": mtm.VOCAB_SIZE, "hidden_size": TEXT_WIDTH,
                        "max_position_embeddings": mtm.CONTEXT, "bos_token_id": mtm.SOT, "eos_token_id": mtm.EOT},
        "vision_config": {"model_type": "clip_vision_model", "image_size": SIZE, "num_channels": 3},
        "omnivec_note": "trained on generated coloured shapes by tools/make_shapes_model.py; a small CNN and a "
                        "one-block text transformer behind CLIP's inputs and outputs; for tests only",
    })

    # ---- PyTorch references for a parity test (not normalised)
    ref_texts = queries + ["", "shapes"]
    ref_images = [r[0] for r in truth[:6]]
    with torch.no_grad():
        t_ref = text(ids_of(ref_texts))[0].numpy()
        i_ref = vision(px[:6])[0].numpy()
    mtm.write_reference(fixtures / "reference" / "shapes-clip.json", {
        "format": "omnivec-shapes-reference/1",
        "notes": ["PyTorch outputs of tools/make_shapes_model.py's model before export; not normalised. "
                  "images[].file is relative to tests/fixtures/shapes."],
        "texts": [{"text": t, "embedding": mtm.f9(e)} for t, e in zip(ref_texts, t_ref)],
        "images": [{"file": f, "embedding": mtm.f9(e)} for f, e in zip(ref_images, i_ref)],
    })

    if wrong:
        mtm.fail(f"the trained model does not rank {wrong!r} correctly (files written anyway)")
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    ev = sum(p.stat().st_size for p in eval_dir.rglob("*") if p.is_file())
    print(f"model folder {total / 2**20:.2f} MiB, evaluation pictures {ev / 2**10:.0f} KiB; {time.time() - t0:.0f} s")


@functools.lru_cache(maxsize=None)
def fits_caption(scene: tuple, cap: str) -> bool:
    """Whether a scene fits a caption (the captions are generated, so this is exact)."""
    colour, shape, count, side = scene
    if cap in ("shapes", "a shape", "a picture of shapes"):
        return True
    words = cap.split()
    for w in words:
        if w in COLOURS and w != colour:
            return False
        if w.rstrip("s") in SHAPES and w.rstrip("s") != shape:
            return False
        if w in SIDES and w != side:
            return False
    plural = any(w.endswith("s") and w.rstrip("s") in SHAPES + ["shape"] for w in words)
    if ("two" in words or "pair" in words or plural) and count != 2:
        return False
    if words[0] in ("a", "an", "one") and not plural and "pair" not in words and count != 1:
        return False
    return True


def fits_truth(row: tuple, query: str) -> bool:
    name, colour, shape, count, side = row
    return fits_caption((colour, shape, count, None if side == "both" else side), query)


if __name__ == "__main__":
    main()
