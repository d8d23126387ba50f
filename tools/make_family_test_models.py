#!/usr/bin/python3
"""Make small random-weight SigLIP- and M-CLIP-shaped test packs and their PyTorch reference embeddings.

Run with the Debian python that has torch, onnx and sentencepiece (see tools/README.md):

    /usr/bin/python3 tools/make_family_test_models.py            # -> tests/fixtures/models/tiny-{siglip-hf,mclip-immich}/
                                                                  #    tests/fixtures/reference/tiny-{siglip,mclip}.json

The real vocabularies cannot be had here, so each pack gets a SentencePiece Unigram model trained by this script
(nmt_nfkc normalisation, so the precompiled charsmap is exercised) on the reference tokenizer strings (tests/fixtures/corpus/clip) plus a few
sentences in other scripts. Token ids in the references come from python3-sentencepiece plus the pack's documented
rules (written out below: SiglipTokenizer's lower-casing and canonicalisation, XLM-R's fairseq offset); embeddings
come from the PyTorch modules, never through ONNX.

* tiny-siglip-hf (Transformers.js / onnx-community layout, as Xenova/siglip-base-patch16-224): onnx/text_model.onnx
  (input_ids -> last_hidden_state, pooler_output), onnx/vision_model.onnx (pixel_values -> last_hidden_state,
  pooler_output), onnx/model.onnx (combined graph whose initializers hold logit_scale and logit_bias), config.json
  (model_type "siglip"), preprocessor_config.json (SiglipImageProcessor: 224x224 straight bicubic resize, mean = std
  = 0.5), tokenizer_config.json (SiglipTokenizer, model_max_length 64, pad = eos = "</s>"), spiece.model.
  The text tower is bidirectional without a mask and pools the LAST position, as SigLIP's does: any padding mistake
  changes the output.
* tiny-mclip-immich (Immich layout, as immich-app/XLM-Roberta-Large-Vit-B-32): textual/model.onnx (input_ids and
  attention_mask int32 -> embedding, mean-pooled over the mask), visual/model.onnx (image -> embedding),
  visual/preprocess_cfg.json (OpenCLIP: shortest-side bicubic resize, centre crop), config.json (OpenCLIP style,
  text_cfg.hf_tokenizer_name xlm-roberta-large, context_length 77), textual/tokenizer_config.json
  (XLMRobertaTokenizer), textual/sentencepiece.bpe.model. Ids follow fairseq: <s>=0 <pad>=1 </s>=2 <unk>=3, every
  other SentencePiece id + 1.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import string
import sys
from pathlib import Path

import numpy as np
import onnx
import sentencepiece as spm
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.transforms as T
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
OPSET = 14
SEED = 11
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SIGLIP_CONTEXT = 64
MCLIP_CONTEXT = 77

# Photos the parity tests embed (the corpus keeps every photo an existing test names).
PHOTOS = [
    "two_beagles.jpg", "bananas.jpg", "cat_chelsea.png", "tomatoes.jpg", "hotdog.jpg", "white_mug.jpg",
    "espresso_cup.png", "kitten_closeup_tall.jpg", "kodak_macaws.png", "cameraman_gray.png",
]

EXTRA_SENTENCES = [
    "ein Hund am Strand", "Ein Hund spielt am Strand mit einem Ball.", "zwei Hunde auf einer Wiese",
    "eine Katze schläft auf dem Sofa", "Straße, Größe, Übermaß und Äpfel",
    "un chien sur la plage", "une tasse de café crème brûlée", "el perro corre en la playa",
    "собака на пляже", "Кошка спит на диване", "σκύλος στην παραλία", "ΟΔΟΣ ΣΤΗΝ ΠΟΛΗ",
    "一只猫在沙发上睡觉", "海滩上的狗", "東京タワーの夜景", "ビーチの犬", "해변의 개", "كلب على الشاطئ",
    "कुत्ता समुद्र तट पर", "สุนัขบนชายหาด", "köpek sahilde", "pies na plaży",
]

# Texts whose ids and embeddings the tests compare (besides every reference tokenizer string).
EDGE_TEXTS = [
    "", "   \t\n  ", "A PHOTO OF A RED DOOR", "O'Neill's café -- 50% off!!!", "hello     world\u00a0again",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３", "ﬁne ligatures ½", "\U0001F431\U0001F436 emoji \u2764\ufe0f", "x",
    "a photo </s> of <unk> a cat", "tab\tand\nnewline", "unknown glyphs: \u2603 \u16A0 \U0001D11E",
    " ".join(["a very long caption about a harbour town at dawn with boats gulls nets and houses"] * 8),
] + EXTRA_SENTENCES


def fail(msg: str) -> None:
    print("error: " + msg, file=sys.stderr)
    sys.exit(1)


def corpus_dir(arg: str | None) -> Path:
    # The repository's own corpus (tests/fixtures/corpus), unless --corpus names another copy of it.
    for candidate in [arg, REPO / "tests" / "fixtures" / "corpus"]:
        if candidate and (Path(candidate) / "clip" / "tokenizer-vectors.jsonl").exists():
            return Path(candidate)
    fail("corpus not found: tests/fixtures/corpus is missing (or pass --corpus)")
    raise SystemExit


def tokenizer_texts(corpus: Path) -> list[str]:
    with open(corpus / "clip" / "tokenizer-vectors.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


# ----------------------------------------------------------------------------------------------------------
# SentencePiece models and the reference tokenizers
# ----------------------------------------------------------------------------------------------------------

def train_spm(sentences: list[str], vocab_size: int, ids: dict[str, int]) -> bytes:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=model, vocab_size=vocab_size, model_type="unigram",
        character_coverage=1.0, normalization_rule_name="nmt_nfkc", hard_vocab_limit=False, seed_sentencepiece_size=20000,
        num_threads=1, minloglevel=2, **ids)
    return model.getvalue()


PUNCTUATION = str.maketrans("", "", string.punctuation)


def siglip_canonical(text: str) -> str:
    """SiglipTokenizer (do_lower_case) + canonicalize_text: lower-case, drop ASCII punctuation, collapse whitespace, strip."""
    text = text.lower().translate(PUNCTUATION)
    return " ".join(text.split())


def siglip_ids(sp: spm.SentencePieceProcessor, text: str) -> list[int]:
    eos = sp.piece_to_id("</s>")
    ids = sp.encode(siglip_canonical(text))[: SIGLIP_CONTEXT - 1] + [eos]
    return ids + [eos] * (SIGLIP_CONTEXT - len(ids))  # pad_token is "</s>"


def xlmr_ids(sp: spm.SentencePieceProcessor, text: str) -> tuple[list[int], int]:
    """XLMRobertaTokenizer: <s> ids </s>, fairseq ids (<s>=0 <pad>=1 </s>=2 <unk>=3, others spm id + 1), pad 1."""
    text = " ".join(text.split())  # Immich's clean_text
    pieces = [3 if i == sp.unk_id() else i + 1 for i in sp.encode(text)]
    ids = [0] + pieces[: MCLIP_CONTEXT - 2] + [2]
    return ids + [1] * (MCLIP_CONTEXT - len(ids)), len(ids)


# ----------------------------------------------------------------------------------------------------------
# Towers
# ----------------------------------------------------------------------------------------------------------

class Attention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(width, width) for _ in range(4))

    def forward(self, q_in, kv_in, key_mask=None):
        b, n, w = q_in.shape
        m = kv_in.shape[1]
        d = w // self.heads
        q = self.q(q_in).reshape(b, n, self.heads, d).transpose(1, 2) * (d ** -0.5)
        k = self.k(kv_in).reshape(b, m, self.heads, d).transpose(1, 2)
        v = self.v(kv_in).reshape(b, m, self.heads, d).transpose(1, 2)
        scores = q @ k.transpose(-2, -1)
        if key_mask is not None:
            scores = scores + (1.0 - key_mask[:, None, None, :].float()) * -1e4
        return self.o((scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, n, w))


class Block(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = Attention(width, heads)
        self.fc1, self.fc2 = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def forward(self, x, key_mask=None):
        h = self.ln1(x)
        x = x + self.attn(h, h, key_mask)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class Encoder(nn.Module):
    def __init__(self, width: int, layers: int, heads: int):
        super().__init__()
        self.blocks = nn.ModuleList([Block(width, heads) for _ in range(layers)])

    def forward(self, x, key_mask=None):
        for block in self.blocks:
            x = block(x, key_mask)
        return x


class PatchEmbed(nn.Module):
    def __init__(self, width: int, patch: int, image: int, cls: bool):
        super().__init__()
        self.conv = nn.Conv2d(3, width, kernel_size=patch, stride=patch)
        grid = image // patch
        self.cls = nn.Parameter(torch.randn(1, 1, width) * 0.5) if cls else None
        self.pos = nn.Parameter(torch.randn(1, grid * grid + (1 if cls else 0), width) * 0.1)
        # Smooth, low-frequency filters: different photos give clearly different embeddings, pixel noise does not.
        with torch.no_grad():
            yy, xx = torch.meshgrid(torch.linspace(-1, 1, patch), torch.linspace(-1, 1, patch), indexing="ij")
            basis = [torch.ones_like(xx), xx, yy, xx * yy, xx * xx, yy * yy]
            w = torch.zeros(width, 3, patch, patch)
            for o in range(width):
                for c in range(3):
                    coeffs = torch.randn(len(basis))
                    w[o, c] = sum(k * b for k, b in zip(coeffs, basis)) / (patch * 2.0)
            # plus some pixel-level detail, so that a different resampling filter moves the embedding measurably
            self.conv.weight.copy_(w + torch.randn_like(w) * (0.3 / patch))

    def forward(self, pixels):
        x = self.conv(pixels).flatten(2).transpose(1, 2)
        if self.cls is not None:
            x = torch.cat([self.cls.expand(x.shape[0], 1, x.shape[2]), x], dim=1)
        return x + self.pos


class SiglipText(nn.Module):
    def __init__(self, vocab: int, width: int):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Parameter(torch.randn(1, SIGLIP_CONTEXT, width) * 0.3)
        self.encoder = Encoder(width, 2, 2)
        self.final_ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, width)

    def forward(self, input_ids):
        x = self.tok(input_ids) + self.pos[:, : input_ids.shape[1]]
        hidden = self.final_ln(self.encoder(x))
        return hidden, self.head(hidden[:, -1, :])  # SigLIP pools the last position (no mask)


class SiglipVision(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.embed = PatchEmbed(width, 16, 224, cls=False)
        self.encoder = Encoder(width, 2, 2)
        self.post_ln = nn.LayerNorm(width)
        self.probe = nn.Parameter(torch.randn(1, 1, width))
        self.head_attn = Attention(width, 2)
        self.head_ln = nn.LayerNorm(width)
        self.head_fc1, self.head_fc2 = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def forward(self, pixel_values):
        hidden = self.post_ln(self.encoder(self.embed(pixel_values)))
        x = self.head_attn(self.probe.expand(hidden.shape[0], 1, hidden.shape[2]), hidden)  # attention-pooling head
        x = x + self.head_fc2(F.gelu(self.head_fc1(self.head_ln(x)), approximate="tanh"))
        return hidden, x[:, 0]


class SiglipCombined(nn.Module):
    def __init__(self, text: SiglipText, vision: SiglipVision):
        super().__init__()
        self.text, self.vision = text, vision
        self.logit_scale = nn.Parameter(torch.tensor([math.log(10.0) + 0.37]))
        self.logit_bias = nn.Parameter(torch.tensor([-1.3]))

    def forward(self, input_ids, pixel_values):
        t = self.text(input_ids)[1]
        i = self.vision(pixel_values)[1]
        t = t / t.norm(dim=-1, keepdim=True)
        i = i / i.norm(dim=-1, keepdim=True)
        logits_per_text = t @ i.t() * self.logit_scale.exp() + self.logit_bias
        return logits_per_text.t(), logits_per_text, t, i


class MclipText(nn.Module):
    def __init__(self, vocab: int, width: int, dim: int):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Parameter(torch.randn(1, 514, width) * 0.3)
        self.encoder = Encoder(width, 2, 2)
        self.ln = nn.LayerNorm(width)
        self.proj = nn.Linear(width, dim)

    def forward(self, input_ids, attention_mask):
        ids = input_ids.long()
        mask = attention_mask.float()
        x = self.ln(self.tok(ids) + self.pos[:, : ids.shape[1]])
        x = self.encoder(x, mask)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)  # M-CLIP: mean over the mask
        return self.proj(pooled)


class ClipVision(nn.Module):
    def __init__(self, width: int, dim: int):
        super().__init__()
        self.embed = PatchEmbed(width, 32, 224, cls=True)
        self.ln_pre = nn.LayerNorm(width)
        self.encoder = Encoder(width, 2, 2)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Linear(width, dim, bias=False)

    def forward(self, image):
        x = self.encoder(self.ln_pre(self.embed(image)))
        return self.proj(self.ln_post(x[:, 0]))


def spice_up(module: nn.Module, attention_gain: float = 1.0) -> None:
    """Non-trivial LayerNorm and bias values: a port that drops them fails parity. Sharper attention (gain on the q/k
    weights) keeps pooling from averaging every patch into the same vector, so photos stay apart."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, Attention):
                m.q.weight.mul_(attention_gain)
                m.k.weight.mul_(attention_gain)
        for m in module.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.normal_(1.0, 0.1)
                m.bias.normal_(0.0, 0.05)
            elif isinstance(m, nn.Linear) and m.bias is not None:
                m.bias.normal_(0.0, 0.02)


def export(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], dynamic: dict,
           fold: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(module, args, str(path), opset_version=OPSET, do_constant_folding=fold,
                          input_names=inputs, output_names=outputs, dynamic_axes=dynamic)
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    got = [i.name for i in model.graph.input if i.name not in {init.name for init in model.graph.initializer}]
    if got != inputs or [o.name for o in model.graph.output] != outputs:
        fail(f"{path}: signature {got} -> {[o.name for o in model.graph.output]}")


# ----------------------------------------------------------------------------------------------------------
# Images
# ----------------------------------------------------------------------------------------------------------

def load_image(path: Path) -> Image.Image:
    img = Image.open(path)
    img.load()
    return ImageOps.exif_transpose(img).convert("RGB")


def siglip_pixels(img: Image.Image, resample=Image.BICUBIC) -> torch.Tensor:
    """SiglipImageProcessor: resize straight to 224x224 (no crop), rescale 1/255, normalise with mean = std = 0.5."""
    arr = np.asarray(img.resize((224, 224), resample), dtype=np.float32) * np.float32(1 / 255)
    arr = (arr - 0.5) / 0.5
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


OPENCLIP = T.Compose([
    T.Resize(224, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(224), T.ToTensor(),
    T.Normalize(CLIP_MEAN, CLIP_STD),
])


def f9(values) -> list[float]:
    return [float(f"{float(v):.9g}") for v in np.asarray(values, dtype=np.float32).reshape(-1)]


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_reference(path: Path, doc: dict) -> None:
    parts = []
    for key, value in doc.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            body = ",\n".join(json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in value)
            parts.append(f"{json.dumps(key)}:[\n{body}\n]")
        else:
            parts.append(f"{json.dumps(key)}:{json.dumps(value, ensure_ascii=False, separators=(',', ':'))}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{\n" + ",\n".join(parts) + "\n}\n", encoding="utf-8")


def min_offdiag_cos(e: np.ndarray) -> float:
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    s = e @ e.T
    return float(s[~np.eye(len(e), dtype=bool)].max())


def cos_rows(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float(np.min(np.sum(a * b, axis=1)))


# ----------------------------------------------------------------------------------------------------------

def make_siglip(out: Path, ref: Path, texts: list[str], corpus: Path, training: list[str]) -> None:
    torch.manual_seed(SEED)
    model_bytes = train_spm(training, 600, dict(pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>",
                                                  eos_piece="</s>", unk_piece="<unk>"))
    sp = spm.SentencePieceProcessor(model_proto=model_bytes)
    vocab, width = sp.get_piece_size(), 32
    text, vision = SiglipText(vocab, width).eval(), SiglipVision(width).eval()
    spice_up(text)
    spice_up(vision, 3.0)
    combined = SiglipCombined(text, vision).eval()

    (out / "onnx").mkdir(parents=True, exist_ok=True)
    (out / "spiece.model").write_bytes(model_bytes)
    ids0 = torch.tensor([siglip_ids(sp, "a photo of a cat")], dtype=torch.int64)
    px0 = torch.zeros(1, 3, 224, 224)
    export(text, (ids0,), out / "onnx" / "text_model.onnx", ["input_ids"], ["last_hidden_state", "pooler_output"],
           {"input_ids": {0: "batch_size", 1: "sequence_length"}, "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
            "pooler_output": {0: "batch_size"}})
    export(vision, (px0,), out / "onnx" / "vision_model.onnx", ["pixel_values"], ["last_hidden_state", "pooler_output"],
           {"pixel_values": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}, "pooler_output": {0: "batch_size"}})
    # No constant folding: exp(logit_scale) must stay an Exp over the logit_scale initializer, as in the real export.
    export(combined, (ids0, px0), out / "onnx" / "model.onnx", ["input_ids", "pixel_values"],
           ["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"],
           {"input_ids": {0: "text_batch_size", 1: "sequence_length"}, "pixel_values": {0: "image_batch_size"}}, fold=False)
    inits = {i.name for i in onnx.load(str(out / "onnx" / "model.onnx")).graph.initializer}
    if not {"logit_scale", "logit_bias"} <= inits:
        fail("model.onnx lacks the logit_scale/logit_bias initializers")

    write_json(out / "config.json", {
        "architectures": ["SiglipModel"], "model_type": "siglip", "initializer_factor": 1.0,
        "text_config": {"model_type": "siglip_text_model", "vocab_size": vocab, "hidden_size": width,
                        "num_hidden_layers": 2, "num_attention_heads": 2, "max_position_embeddings": SIGLIP_CONTEXT},
        "vision_config": {"model_type": "siglip_vision_model", "hidden_size": width, "num_hidden_layers": 2,
                          "num_attention_heads": 2, "image_size": 224, "patch_size": 16},
        "transformers_version": "4.37.0.dev0",
    })
    write_json(out / "preprocessor_config.json", {
        "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
        "image_processor_type": "SiglipImageProcessor", "image_std": [0.5, 0.5, 0.5], "processor_class": "SiglipProcessor",
        "resample": 3, "rescale_factor": 0.00392156862745098, "size": {"height": 224, "width": 224},
    })
    write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "SiglipTokenizer", "model_max_length": SIGLIP_CONTEXT, "do_lower_case": True,
        "eos_token": "</s>", "pad_token": "</s>", "unk_token": "<unk>", "additional_special_tokens": [],
        "processor_class": "SiglipProcessor", "sp_model_kwargs": {},
    })
    write_json(out / "special_tokens_map.json", {"eos_token": "</s>", "pad_token": "</s>", "unk_token": "<unk>"})

    entries = []
    with torch.no_grad():
        all_ids = [siglip_ids(sp, t) for t in texts]
        embs = text(torch.tensor(all_ids, dtype=torch.int64))[1].numpy()
    for t, ids, e in zip(texts, all_ids, embs):
        entries.append({"text": t, "ids": ids, "embedding": f9(e)})

    images, bilinear, crop = [], [], []
    with torch.no_grad():
        for name in PHOTOS:
            img = load_image(corpus / "images" / "photos" / name)
            e = vision(siglip_pixels(img)[None])[1].numpy()
            images.append({"file": "images/photos/" + name, "embedding": f9(e[0])})
            bilinear.append(vision(siglip_pixels(img, Image.BILINEAR)[None])[1].numpy()[0])
            crop.append(vision(OPENCLIP_05(img)[None])[1].numpy()[0])
        img_embs = np.array([i["embedding"] for i in images], dtype=np.float32)
        ls, lb = float(combined.logit_scale), float(combined.logit_bias)
    write_reference(ref, {
        "format": "omnivec-family-reference-1", "family": "siglip", "pack": "tiny-siglip-hf",
        "notes": "ids: python3-sentencepiece on lower-cased, punctuation-free, whitespace-collapsed text + </s>, padded "
                 "to 64 with </s>; embeddings: PyTorch pooler_output (not normalised); images: PIL resize to 224x224 "
                 "bicubic, (x/255-0.5)/0.5.",
        "logit_scale": ls, "logit_bias": lb,
        "sensitivity": {"max_cosine_between_photos": min_offdiag_cos(img_embs),
                        "min_cosine_bilinear_vs_bicubic": cos_rows(np.array(bilinear), img_embs),
                        "min_cosine_crop_vs_squash": cos_rows(np.array(crop), img_embs)},
        "texts": entries, "images": images,
    })
    print(f"siglip: vocab {vocab}, {len(entries)} texts, {len(images)} images, sensitivity "
          f"{min_offdiag_cos(img_embs):.4f}/{cos_rows(np.array(bilinear), img_embs):.5f}/{cos_rows(np.array(crop), img_embs):.5f}")


OPENCLIP_05 = T.Compose([T.Resize(224, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(224), T.ToTensor(),
                         T.Normalize((0.5,) * 3, (0.5,) * 3)])


def make_mclip(out: Path, ref: Path, texts: list[str], corpus: Path, training: list[str]) -> None:
    torch.manual_seed(SEED + 1)
    model_bytes = train_spm(training, 700, dict(unk_id=0, bos_id=1, eos_id=2, pad_id=-1))
    sp = spm.SentencePieceProcessor(model_proto=model_bytes)
    vocab = sp.get_piece_size() + 2  # fairseq: + <pad> at 1 (ids shift by one) + <mask> at the end
    text, vision = MclipText(vocab, 32, 48).eval(), ClipVision(48, 48).eval()
    spice_up(text)
    spice_up(vision, 3.0)
    (out / "textual").mkdir(parents=True, exist_ok=True)
    (out / "visual").mkdir(parents=True, exist_ok=True)
    (out / "textual" / "sentencepiece.bpe.model").write_bytes(model_bytes)
    ids0, n0 = xlmr_ids(sp, "ein Hund am Strand")
    mask0 = [1] * n0 + [0] * (MCLIP_CONTEXT - n0)
    export(text, (torch.tensor([ids0], dtype=torch.int32), torch.tensor([mask0], dtype=torch.int32)),
           out / "textual" / "model.onnx", ["input_ids", "attention_mask"], ["embedding"],
           {"input_ids": {0: "batch_size"}, "attention_mask": {0: "batch_size"}, "embedding": {0: "batch_size"}})
    export(vision, (torch.zeros(1, 3, 224, 224),), out / "visual" / "model.onnx", ["image"], ["embedding"],
           {"image": {0: "batch_size"}, "embedding": {0: "batch_size"}})
    write_json(out / "config.json", {
        "embed_dim": 48,
        "vision_cfg": {"image_size": 224, "layers": 2, "width": 48, "patch_size": 32},
        "text_cfg": {"hf_model_name": "xlm-roberta-large", "hf_tokenizer_name": "xlm-roberta-large",
                     "context_length": MCLIP_CONTEXT, "proj": "linear", "pooler_type": "mean_pooler", "width": 32},
    })
    write_json(out / "visual" / "preprocess_cfg.json", {
        "size": [224, 224], "mode": "RGB", "mean": list(CLIP_MEAN), "std": list(CLIP_STD),
        "interpolation": "bicubic", "resize_mode": "shortest", "fill_color": 0,
    })
    write_json(out / "textual" / "tokenizer_config.json", {
        "tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512, "bos_token": "<s>", "eos_token": "</s>",
        "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
    })
    write_json(out / "textual" / "special_tokens_map.json", {
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>", "unk_token": "<unk>",
        "pad_token": "<pad>", "mask_token": "<mask>",
    })
    entries = []
    with torch.no_grad():
        encoded = [xlmr_ids(sp, t) for t in texts]
        ids = torch.tensor([e[0] for e in encoded], dtype=torch.int32)
        mask = torch.tensor([[1] * n + [0] * (MCLIP_CONTEXT - n) for _, n in encoded], dtype=torch.int32)
        embs = text(ids, mask).numpy()
    for t, (i, n), e in zip(texts, encoded, embs):
        entries.append({"text": t, "ids": i, "length": n, "embedding": f9(e)})
    images = []
    with torch.no_grad():
        for name in PHOTOS:
            img = load_image(corpus / "images" / "photos" / name)
            images.append({"file": "images/photos/" + name, "embedding": f9(vision(OPENCLIP(img)[None])[0].numpy())})
    write_reference(ref, {
        "format": "omnivec-family-reference-1", "family": "mclip", "pack": "tiny-mclip-immich",
        "notes": "ids: python3-sentencepiece with the fairseq offset (<s>=0 <pad>=1 </s>=2 <unk>=3, others +1), "
                 "<s> ids </s> truncated to 77, padded with 1; embeddings: PyTorch, mean-pooled over the mask; images: "
                 "torchvision Resize(224, bicubic), CenterCrop(224), ToTensor, Normalize(CLIP mean/std).",
        "sensitivity": {"max_cosine_between_photos": min_offdiag_cos(np.array([i["embedding"] for i in images]))},
        "texts": entries, "images": images,
    })
    print(f"mclip: vocab {vocab}, {len(entries)} texts, {len(images)} images")


def make_external_data(fixtures: Path) -> None:
    """The packs' text towers again with their weights outside the graph, as graphs over 2 GB ship: SigLIP's in one
    text_model.onnx_data file, M-CLIP's in one file per tensor (as some Immich exports)."""
    out = fixtures / "models" / "external-data"
    if out.exists():
        for f in sorted(out.rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()
    (out / "siglip").mkdir(parents=True)
    (out / "mclip").mkdir(parents=True)
    m = onnx.load(str(fixtures / "models" / "tiny-siglip-hf" / "onnx" / "text_model.onnx"))
    onnx.save(m, str(out / "siglip" / "text_model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="text_model.onnx_data", size_threshold=0)
    m = onnx.load(str(fixtures / "models" / "tiny-mclip-immich" / "textual" / "model.onnx"))
    from onnx.external_data_helper import convert_model_to_external_data, set_external_data, uses_external_data
    convert_model_to_external_data(m, all_tensors_to_one_file=False, size_threshold=1024)
    for i, tensor in enumerate(t for t in m.graph.initializer if uses_external_data(t)):
        set_external_data(tensor, location=f"weight_{i:02d}")  # stable names (the default is a random uuid)
    onnx.save(m, str(out / "mclip" / "model.onnx"))
    print(f"external data: {len(list((out / 'mclip').iterdir())) - 1} tensor files for M-CLIP")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus")
    args = parser.parse_args()
    corpus = corpus_dir(args.corpus)
    reference_texts = tokenizer_texts(corpus)
    training = reference_texts + EXTRA_SENTENCES * 3
    texts = reference_texts + EDGE_TEXTS
    fixtures = REPO / "tests" / "fixtures"
    make_siglip(fixtures / "models" / "tiny-siglip-hf", fixtures / "reference" / "tiny-siglip.json", texts, corpus, training)
    make_mclip(fixtures / "models" / "tiny-mclip-immich", fixtures / "reference" / "tiny-mclip.json", texts, corpus, training)
    make_external_data(fixtures)


if __name__ == "__main__":
    main()
