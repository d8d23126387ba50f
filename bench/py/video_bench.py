"""Video indexing bench (bench/run.sh step `video`): one generated 1080p30 H.264 video with known cut times, three ways.

  make    --out DIR --seconds S [--name NAME]   the video (shots of corpus photos, each a slow pan, hard cuts) + NAME.cuts
  decode  --video FILE --fps F --short-side N --out FILE
          FFmpeg alone decoding at the sampling Omnivec's pipeline uses (F frames/s, short side N, planar gbrp frames as
          Omnivec asks for them): the ceiling
  pytorch --video FILE --fps F --threads T --out FILE
          what peers write in Python: ffmpeg frames (native size, rgb24 pipe) -> Pillow -> CLIP preprocessing -> PyTorch
          ViT-B/32 (the same weights as the ONNX files: tools/make_test_models.py builds both from one seed), batches of 16

Each writes one JSON record: seconds, x real time, frames, peak RSS (this process; FFmpeg children apart).
"""
import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PHOTOS = REPO / "tests" / "fixtures" / "corpus" / "images" / "photos"
# Distinct photos (no two alike), so every cut is a real change of content.
SHOT_PHOTOS = ["two_beagles.jpg", "bananas.jpg", "beach_kitesurfing.jpg", "motel_sign.jpg", "tabby_cat_lying.jpg",
               "palm_trees_sky.jpg", "hotdog.jpg", "boardwalk_to_sea.jpg", "kodak_red_door.png", "espresso_cup.png",
               "succulent_plants.jpg", "navy_propeller_plane.jpg", "heather_flowers.jpg", "tomatoes.jpg", "white_mug.jpg",
               "city_street_from_car.jpg"]
SHOT_SECONDS = [9, 14, 6, 11, 13, 7, 12, 10, 8, 15, 9, 12, 7, 13, 10, 11]  # 167 s per round, cut short at the length asked; hard cuts


def ffprobe_duration(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip())


def peak_mb(who):
    # ru_maxrss is in KiB on Linux.
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def make(a):
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    video = out / f"{a.name}.mp4"
    cuts_file = out / f"{a.name}.cuts"
    if video.exists() and cuts_file.exists():
        print(f"video: {video} exists", file=sys.stderr)
        return
    shots, total, i = [], 0.0, 0
    while total < a.seconds - 0.5:
        length = min(SHOT_SECONDS[i % len(SHOT_SECONDS)], a.seconds - total)
        shots.append((SHOT_PHOTOS[i % len(SHOT_PHOTOS)], length))
        total += length
        i += 1
    w, h = 1920, 1080
    t = time.perf_counter()
    # Each photo scaled once, a little larger than the frame (scaling every looped frame would cost more than the encode).
    stills = []
    for k, (photo, _) in enumerate(shots):
        still = out / f".{a.name}-still-{k}.png"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(PHOTOS / photo), "-vf",
                        f"scale={w * 9 // 8}:{h * 9 // 8}:force_original_aspect_ratio=increase,crop={w * 9 // 8}:{h * 9 // 8}",
                        str(still)], check=True)
        stills.append(still)
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y"]
    for still, (_, length) in zip(stills, shots):
        args += ["-loop", "1", "-framerate", "30", "-t", f"{length:.3f}", "-i", str(still)]
    graph = []
    for k in range(len(shots)):
        # A slow pan (24 px/s right, 12 px/s down) across the still: frames within a shot differ.
        graph.append(f"[{k}:v]crop={w}:{h}:'min(iw-{w},t*24)':'min(ih-{h},t*12)',setsar=1,fps=30,format=yuv420p[v{k}]")
    graph.append("".join(f"[v{k}]" for k in range(len(shots))) + f"concat=n={len(shots)}:v=1:a=0[out]")
    args += ["-filter_complex", ";".join(graph), "-map", "[out]", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23",
             "-g", "60", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(video) + ".tmp.mp4"]
    subprocess.run(args, check=True)
    Path(str(video) + ".tmp.mp4").rename(video)
    for still in stills:
        still.unlink()
    cuts, t_cut = [], 0.0
    for _, length in shots[:-1]:
        t_cut += length
        cuts.append(t_cut)
    cuts_file.write_text("".join(f"{c:.3f}\n" for c in cuts))
    print(f"video: {video} ({total:.0f} s, {len(shots)} shots) made in {time.perf_counter() - t:.0f} s", file=sys.stderr)


def decode(a):
    duration = ffprobe_duration(a.video)
    ss = a.short_side
    vf = f"fps={a.fps},scale='if(lt(iw,ih),{ss},-2)':'if(lt(iw,ih),-2,{ss})':flags=area"
    t = time.perf_counter()
    # gbrp, as Omnivec's VideoReader asks (the same pixels as rgb24, written by a faster path of swscale's).
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", a.video, "-an", "-vf", vf, "-pix_fmt", "gbrp", "-f", "rawvideo",
                    "-y", "/dev/null"], check=True)
    s = time.perf_counter() - t
    rec = {"contender": "ffmpeg-decode", "video": Path(a.video).name, "duration_s": round(duration, 3), "seconds": round(s, 3),
           "x_realtime": round(duration / s, 3), "fps": a.fps, "short_side": ss, "peak_rss_mb_ffmpeg": peak_mb(resource.RUSAGE_CHILDREN)}
    Path(a.out).write_text(json.dumps(rec, indent=1))
    print(f"  ffmpeg     decode {Path(a.video).name}: {s:.1f} s ({duration / s:.2f}x real time)", file=sys.stderr)


def pytorch(a):
    import numpy as np
    import torch
    from PIL import Image
    sys.path.insert(0, str(REPO / "tools"))
    import make_test_models as mtm  # noqa: E402

    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    model = mtm.build_model(mtm.VIT_B32)
    duration = ffprobe_duration(a.video)
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                            "-of", "csv=p=0", a.video], capture_output=True, text=True, check=True).stdout.strip().split(",")
    w, h = int(probe[0]), int(probe[1])
    t = time.perf_counter()
    proc = subprocess.Popen(["ffmpeg", "-nostdin", "-v", "error", "-i", a.video, "-an", "-vf", f"fps={a.fps}", "-pix_fmt", "rgb24",
                             "-f", "rawvideo", "pipe:1"], stdout=subprocess.PIPE)
    size = w * h * 3
    batch, frames, vectors = [], 0, []

    def flush():
        e = model.visual(torch.stack(batch))[0]
        vectors.append((e / e.norm(dim=-1, keepdim=True)).numpy())
        batch.clear()

    while True:
        buf = proc.stdout.read(size)
        if len(buf) < size:
            break
        img = Image.frombytes("RGB", (w, h), buf)
        batch.append(mtm.preprocess_hf(img))
        frames += 1
        if len(batch) == 16:
            flush()
    if batch:
        flush()
    proc.wait()
    s = time.perf_counter() - t
    rec = {"contender": "pytorch", "video": Path(a.video).name, "duration_s": round(duration, 3), "seconds": round(s, 3),
           "x_realtime": round(duration / s, 3), "fps": a.fps, "frames_embedded": frames, "threads": a.threads,
           "peak_rss_mb": peak_mb(resource.RUSAGE_SELF), "peak_rss_mb_ffmpeg": peak_mb(resource.RUSAGE_CHILDREN),
           "vectors": int(sum(v.shape[0] for v in vectors))}
    Path(a.out).write_text(json.dumps(rec, indent=1))
    print(f"  pytorch    video {Path(a.video).name}: {s:.1f} s ({duration / s:.2f}x real time), {frames} frames", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--out", required=True)
    m.add_argument("--seconds", type=float, required=True)
    m.add_argument("--name", default="video")
    d = sub.add_parser("decode")
    d.add_argument("--video", required=True)
    d.add_argument("--fps", type=float, default=10)
    d.add_argument("--short-side", type=int, default=256)
    d.add_argument("--out", required=True)
    p = sub.add_parser("pytorch")
    p.add_argument("--video", required=True)
    p.add_argument("--fps", type=float, required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", required=True)
    a = ap.parse_args()
    {"make": make, "decode": decode, "pytorch": pytorch}[a.cmd](a)


if __name__ == "__main__":
    main()
