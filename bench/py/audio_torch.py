#!/usr/bin/env python3
"""The Python pipeline a user would write to index a recording with CLAP, timed like `Omnivec.Bench audioindex`:
ffmpeg decodes to mono float32 at 48 kHz (a pipe into numpy), the audio is cut into the same 10 s windows (the last one
ending at the end), numpy computes the features (a port of Hugging Face's ClapFeatureExtractor steps: periodic Hann
STFT 1024/480 centred with reflect padding, power spectrum, Slaney mel filters with Slaney normalisation, 10*log10 with
the 1e-10 floor, repeatpad) and PyTorch runs the audio tower on the same weights (tools/make_clap_bench_model.py's
audio_tower.pt), in batches of the same size. transformers is not installed here, hence the port.

    /usr/bin/python3 bench/py/audio_torch.py --model tools/out/clap-htsat-random --audio FILE --out FILE [--check FILE]
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tools"))


class ClapFeatures:
    """ClapFeatureExtractor's unfused path (rand_trunc + repeatpad; long audio is given window by window)."""

    def __init__(self, config):
        self.rate = config["sampling_rate"]
        self.n_fft = config["fft_window_size"]
        self.hop = config["hop_length"]
        self.max = config["nb_max_samples"]
        n_mels = config["feature_size"]
        self.window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(self.n_fft) / self.n_fft)   # periodic Hann
        mels = np.linspace(hz_to_mel(config["frequency_min"]), hz_to_mel(config["frequency_max"]), n_mels + 2)
        freqs = mel_to_hz(mels)
        fft_freqs = np.linspace(0, self.rate // 2, self.n_fft // 2 + 1)
        diff = np.diff(freqs)
        slopes = freqs[None, :] - fft_freqs[:, None]
        down = -slopes[:, :-2] / diff[:-1]
        up = slopes[:, 2:] / diff[1:]
        bank = np.maximum(0, np.minimum(down, up))
        self.filters = bank * (2.0 / (freqs[2:n_mels + 2] - freqs[:n_mels]))[None, :]         # Slaney normalisation

    def __call__(self, wave):
        if len(wave) < self.max:                                                                 # repeatpad
            wave = np.tile(wave, self.max // len(wave))
            wave = np.pad(wave, (0, self.max - len(wave)))
        x = np.pad(wave.astype(np.float64), (self.n_fft // 2, self.n_fft // 2), mode="reflect")
        frames = np.lib.stride_tricks.sliding_window_view(x, self.n_fft)[::self.hop]
        power = np.abs(np.fft.rfft(frames * self.window, axis=1)) ** 2
        mel = np.maximum(1e-10, power @ self.filters)
        return (10 * np.log10(mel)).astype(np.float32)                                          # [frames, mels]


def hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    return np.where(f >= 1000, 15 + np.log(np.maximum(f, 1e-12) / 1000) * 27 / np.log(6.4), 3 * f / 200)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= 15, 1000 * np.exp(np.log(6.4) / 27 * (m - 15)), 200 * m / 3)


def decode(path, rate):
    out = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0", "-ac", "1", "-ar", str(rate), "-f", "f32le", "pipe:1"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(out, dtype="<f4")


def windows(audio, size):
    if len(audio) <= size:
        return [(0, audio)]
    starts = list(range(0, len(audio) - size + 1, size))
    if len(audio) % size:
        starts.append(len(audio) - size)
    return [(s, audio[s:s + size]) for s in starts]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--audio", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--check", type=Path)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from make_clap_bench_model import HtsatTinyAudio
    model = HtsatTinyAudio()
    model.load_state_dict(torch.load(a.model / "audio_tower.pt"))
    model.eval()
    features = ClapFeatures(json.loads((a.model / "preprocessor_config.json").read_text()))

    def pipeline():
        audio = decode(a.audio, features.rate)
        cut = windows(audio, features.max)
        out = []
        with torch.inference_mode():
            for i in range(0, len(cut), a.batch):
                batch = np.stack([features(w) for _, w in cut[i:i + a.batch]])[:, None]
                e = model(torch.from_numpy(batch))
                out.append(torch.nn.functional.normalize(e, dim=-1).numpy())
        return cut, np.concatenate(out), len(audio) / features.rate

    def timed(fn):
        fn()
        samples = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        return samples

    cut, embeddings, seconds = pipeline()
    whole = timed(pipeline)
    feat = timed(lambda: [features(w) for _, w in cut])
    params = {"model": a.model.name, "audio_sec": round(seconds, 2), "windows": len(cut), "threads": a.threads, "batch": a.batch,
              "torch": torch.__version__, "numpy": np.__version__}

    def record(metric, samples, unit):
        s = sorted(samples)
        return {"metric": metric, "contender": "python", "value": round(statistics.median(s), 6), "unit": unit,
                "params": dict(params, min=round(s[0], 6), max=round(s[-1], 6), runs=len(s))}

    records = [record("audio.index_x_realtime", [seconds / t for t in whole], "x realtime"), record("audio.index_s", whole, "s"),
               record("audio.features_x_realtime", [seconds / t for t in feat], "x realtime"),
               record("audio.features_ms_per_window", [1000 * t / len(cut) for t in feat], "ms")]
    for r in records:
        print(f"  python     {r['metric']:<28} {r['value']:12.3f} {r['unit']}", file=sys.stderr)
    a.out.write_text(json.dumps(records, indent=1))
    if a.check:
        a.check.write_text(json.dumps({"starts": [round(s / features.rate, 3) for s, _ in cut], "embeddings": embeddings.tolist(),
                                       "features0": features(cut[0][1]).reshape(-1).tolist()}))


if __name__ == "__main__":
    main()
