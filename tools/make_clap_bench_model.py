#!/usr/bin/env python3
"""A full-size CLAP-shaped pack for benchmarks: an HTSAT-tiny-shaped audio tower with random weights (no real weights
can be downloaded here), in the Transformers.js layout Omnivec loads, plus its PyTorch weights for the Python pipeline.

    /usr/bin/python3 tools/make_clap_bench_model.py [--out tools/out/clap-htsat-random]

The audio tower follows HTSAT-tiny as LAION's CLAP uses it (laion/clap-htsat-unfused): batch norm over the 64 mel bands,
the 1001 x 64 spectrogram resized to 1024 frames and folded into a 256 x 256 image, a 4 x 4 patch embedding to 96
channels, Swin stages of depth 2, 2, 6, 2 with 4, 8, 16, 32 heads, 8 x 8 windows (shifted every second block, with
relative position bias), patch merging between stages, a final layer norm, average pooling to 768 and CLAP's projection
768 -> 512 -> 512. About 28 M parameters, like the real tower; what it lacks (HTSAT's token-semantic head, which CLAP's
embedding does not use) costs little. The text tower, tokenizer and configs are the tiny test pack's: only the audio
tower is measured. Weights are seeded, so every run writes the same model.

Writes OUT/onnx/audio_model.onnx (input_features [batch, 1, 1001, 64] -> audio_embeds [batch, 512]), the tiny pack's
text model, tokenizer and configs, and OUT/audio_tower.pt (the state dict; bench/py/audio_torch.py rebuilds the module
from this file).
"""
import argparse
import shutil
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "fixtures" / "models" / "tiny-clap-hf"
WINDOW = 8


class WindowAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.bias_table = nn.Parameter(torch.randn((2 * WINDOW - 1) ** 2, heads) * 0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(WINDOW), torch.arange(WINDOW), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (WINDOW - 1)
        self.register_buffer("bias_index", rel[:, :, 0] * (2 * WINDOW - 1) + rel[:, :, 1], persistent=False)

    def forward(self, x, mask):
        bw, n, c = x.shape
        qkv = self.qkv(x).reshape(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = attn + self.bias_table[self.bias_index.reshape(-1)].reshape(n, n, -1).permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            windows = mask.shape[0]
            attn = attn.reshape(bw // windows, windows, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.reshape(-1, self.heads, n, n)
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(bw, n, c))


class SwinBlock(nn.Module):
    def __init__(self, dim, heads, resolution, shift):
        super().__init__()
        self.resolution = resolution
        self.shift = shift if resolution > WINDOW else 0
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        mask = None
        if self.shift:
            img = torch.zeros(1, resolution, resolution, 1)
            n = 0
            for h in (slice(0, -WINDOW), slice(-WINDOW, -self.shift), slice(-self.shift, None)):
                for w in (slice(0, -WINDOW), slice(-WINDOW, -self.shift), slice(-self.shift, None)):
                    img[:, h, w, :] = n
                    n += 1
            windows = partition(img).squeeze(-1)
            mask = windows.unsqueeze(1) - windows.unsqueeze(2)
            mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x):
        b, l, c = x.shape
        r = self.resolution
        h = self.norm1(x).reshape(b, r, r, c)
        if self.shift:
            h = torch.roll(h, shifts=(-self.shift, -self.shift), dims=(1, 2))
        h = self.attn(partition(h), self.mask)
        h = merge(h, r, b)
        if self.shift:
            h = torch.roll(h, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x + h.reshape(b, l, c)
        return x + self.mlp(self.norm2(x))


def partition(x):
    b, h, w, c = x.shape
    x = x.reshape(b, h // WINDOW, WINDOW, w // WINDOW, WINDOW, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, WINDOW * WINDOW, c)


def merge(windows, r, b):
    c = windows.shape[-1]
    x = windows.reshape(b, r // WINDOW, r // WINDOW, WINDOW, WINDOW, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, r, r, c)


class PatchMerging(nn.Module):
    def __init__(self, dim, resolution):
        super().__init__()
        self.resolution = resolution
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        b, l, c = x.shape
        r = self.resolution
        x = x.reshape(b, r, r, c)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
        return self.reduction(self.norm(x.reshape(b, -1, 4 * c)))


class HtsatTinyAudio(nn.Module):
    """[batch, 1, 1001, 64] dB features -> [batch, 512]."""

    def __init__(self):
        super().__init__()
        self.bn0 = nn.BatchNorm2d(64)
        self.patch = nn.Conv2d(1, 96, kernel_size=4, stride=4)
        self.patch_norm = nn.LayerNorm(96)
        stages = []
        dim, r = 96, 64
        for i, (depth, heads) in enumerate(zip((2, 2, 6, 2), (4, 8, 16, 32))):
            blocks = [SwinBlock(dim, heads, r, 0 if j % 2 == 0 else WINDOW // 2) for j in range(depth)]
            if i < 3:
                blocks.append(PatchMerging(dim, r))
                dim, r = dim * 2, r // 2
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.norm = nn.LayerNorm(dim)
        self.projection = nn.Sequential(nn.Linear(768, 512), nn.ReLU(), nn.Linear(512, 512))

    def forward(self, input_features):
        x = self.bn0(input_features.transpose(1, 3)).transpose(1, 3)                 # [b, 1, 1001, 64]
        x = F.interpolate(x, size=(1024, 64), mode="bicubic", align_corners=True)   # HTSAT: time to 4 x 256
        b = x.shape[0]
        x = x.reshape(b, 1, 4, 256, 64).permute(0, 1, 3, 2, 4).reshape(b, 1, 256, 256)
        x = self.patch(x).flatten(2).transpose(1, 2)                                 # [b, 4096, 96]
        x = self.stages(self.patch_norm(x))                                          # [b, 64, 768]
        return self.projection(self.norm(x).mean(dim=1))


def build(seed=0):
    torch.manual_seed(seed)
    model = HtsatTinyAudio()
    with torch.no_grad():
        model.bn0.running_mean.uniform_(-60, -20)
        model.bn0.running_var.uniform_(100, 400)
    return model.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "tools" / "out" / "clap-htsat-random")
    a = ap.parse_args()
    out = a.out
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"):
        shutil.copy(TINY / name, out / name)
    shutil.copy(TINY / "onnx" / "text_model.onnx", out / "onnx" / "text_model.onnx")
    model = build()
    print(f"{sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters")
    torch.save(model.state_dict(), out / "audio_tower.pt")
    dummy = torch.randn(2, 1, 1001, 64) * 20 - 40
    torch.onnx.export(model, (dummy,), str(out / "onnx" / "audio_model.onnx"), input_names=["input_features"],
                      output_names=["audio_embeds"], dynamic_axes={"input_features": {0: "batch"}, "audio_embeds": {0: "batch"}},
                      opset_version=14, do_constant_folding=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
