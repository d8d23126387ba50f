#!/usr/bin/env bash
# Omnivec benchmarks side by side with what users would pick instead (PyTorch, ONNX Runtime from Node.js,
# FAISS, hnswlib), all on this machine in one run. Writes docs/benchmarks.md and bench/results.json.
#   bench/run.sh --quick   small sizes, few repeats (~2 min once the one-time setup below is cached)
#   bench/run.sh           full run: batch 1/8/32, 100k and 1M vectors; each step is time-boxed
#   bench/run.sh --only siglip   just the SigLIP B/16 row (section 5 of docs/benchmarks.md; the rest is kept)
#   bench/run.sh --only video    just the video indexing step (its section of docs/benchmarks.md; the rest is kept)
#   bench/run.sh --only search [--sizes 100000]   just the search steps (section 2 and the search rows of "Where we are
#                                behind" are rewritten; figures for sizes not re-run are kept)
#   bench/run.sh --only decode   just the JPEG reduced-decoding fidelity sweep (section 1c of docs/benchmarks.md; the rest is kept)
#   bench/run.sh --only coldstart   just the cold start (section 3); --only serving   just the HTTP load test (section 4)
# Options: --skip-setup (no apt-get / npm ci), --sizes "100000 1000000" (search sizes), --limit SECONDS (per step).
# Not run by CI. See bench/README.md.
set -euo pipefail
repo="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
cd "$repo"
orig_args="$*"
mode=full
setup=1
sizes=""
limit=""
only=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) mode=quick ;;
    --skip-setup) setup=0 ;;
    --sizes) sizes="$2"; shift ;;
    --limit) limit="$2"; shift ;;
    --only) only="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

case "$only" in ""|siglip|video|search|decode|coldstart|serving) ;; *) echo "--only takes siglip, video, search, decode, coldstart or serving" >&2; exit 2 ;; esac

PY=/usr/bin/python3          # Debian's Python: torch, torchvision, Pillow, onnx, numpy, faiss, hnswlib
THREADS=2
OUT="$repo/bench/out"
RES="$OUT/results-$mode${only:+-$only}"
MODEL="$repo/tools/out/clip-vit-b32-random"
SIGLIP_MODEL="$repo/tools/out/siglip-b16-random"   # SigLIP-B/16-shaped image tower, random weights (tools/make_siglip_bench_model.py)
CORPUS="$repo/tests/fixtures/corpus"   # the committed test media
PHOTOS="$CORPUS/images/photos"
ART="${OMNIVEC_BENCH_ARTIFACTS:-/tmp/art/bench}"
mkdir -p "$OUT" "$RES"
rm -f "$RES"/*.json
# --only siglip: only that part runs (and only its setup); the report then replaces only its own section.
want() { [[ -z $only || $only == "$1" ]]; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
# Each step is time-boxed so the full run stays bounded; a step that times out is listed as missing in the report.
step() {
  local name="$1" limit="$2"; shift 2
  local t0=$SECONDS
  log "$name (limit ${limit}s, load $(cut -d' ' -f1-3 /proc/loadavg))"
  if timeout --kill-after=10 "$limit" "$@"; then
    echo "{\"step\":\"$name\",\"seconds\":$((SECONDS - t0)),\"ok\":true,\"load_before\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >> "$RES/steps.jsonl"
  else
    local rc=$?
    log "$name FAILED or timed out (rc $rc)"
    echo "{\"step\":\"$name\",\"seconds\":$((SECONDS - t0)),\"ok\":false,\"rc\":$rc}" >> "$RES/steps.jsonl"
  fi
}
: > "$RES/steps.jsonl"
# OpenBLAS variables that the workplace may set for old OpenBLAS builds slow a current one (see the README):
# the Python contenders run without them; the report records which BLAS kernel they used (threadpoolctl).
PYENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE)

if [[ $mode == quick ]]; then
  BATCHES=1,4; ITEMS=4; PHOTO_ITEMS=4; LARGE_ITEMS=1; REPEATS=2
  SEARCH_SIZES="${sizes:-20000}"; COLD_N=20000; LOAD_SECONDS=5; LIMIT=600; AUDIO_SEC=35; AUDIO_HOURS=1
  # Debian's FAISS builds HNSW very slowly here (85 s for 20k vectors, hnswlib 7 s): quick mode skips that one index.
  PY_SEARCH=faiss-flat,hnswlib,hnswlib-native; FAISS_HNSW_BUDGET=0
else
  BATCHES=1,8,32; ITEMS=32; PHOTO_ITEMS=0; LARGE_ITEMS=0; REPEATS=3
  SEARCH_SIZES="${sizes:-100000 1000000}"; COLD_N=100000; LOAD_SECONDS=60; LIMIT=3600; AUDIO_SEC=125; AUDIO_HOURS=10
  # Debian's FAISS 1.7.3 builds HNSW ~8x slower than hnswlib here (382 s for 100k): at 1M it would take over an hour, so
  # its build stops after this many seconds and the report says how far it got.
  PY_SEARCH=faiss-flat,hnswlib,hnswlib-native,faiss-hnsw; FAISS_HNSW_BUDGET=600
fi
TARGET_RECALL=0.99
AUDIO_MODEL="$repo/tools/out/clap-htsat-random"
AUDIO="$OUT/audio/recording-${AUDIO_SEC}s.mp3"
LIMIT="${limit:-$LIMIT}"
start=$SECONDS

# ---- one-time setup (cached; not part of the measured run time) -------------------------------------------
if [[ $setup == 1 ]]; then
  need=()
  for p in python3-torch python3-torchvision python3-pil python3-onnx python3-numpy libopenblas0-pthread \
           python3-faiss python3-hnswlib python3-threadpoolctl python3-regex \
           g++ python3-dev libhnswlib-dev pybind11-dev python3-pybind11 python3-sentencepiece ffmpeg; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
  done
  # Node: some machines have NodeSource's nodejs, which bundles npm and conflicts with Debian's npm package.
  command -v node > /dev/null || need+=(nodejs)
  command -v npm > /dev/null || need+=(npm)
  if [[ ${#need[@]} -gt 0 ]]; then
    log "apt-get install ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
  fi
  if [[ ! -d bench/node/node_modules/onnxruntime-node || bench/node/package-lock.json -nt bench/node/node_modules ]]; then
    log "npm ci (bench/node)"
    (cd bench/node && npm ci --no-audit --no-fund >&2)
  fi
fi
if [[ -z $only || $only == coldstart || $only == serving ]]; then
  [[ -f "$MODEL/onnx/vision_model.onnx" ]] || { log "generating the full-size random model"; "$PY" tools/make_test_models.py --full-size --no-fp16 >&2; }
fi
if want siglip; then
  [[ -f "$SIGLIP_MODEL/onnx/vision_model.onnx" ]] || { log "generating the SigLIP B/16-shaped random model"; "$PY" tools/make_siglip_bench_model.py --out "$SIGLIP_MODEL" >&2; }
fi
"$PY" bench/py/make_large_jpegs.py --out "$OUT/large" >&2
want decode && "$PY" bench/py/make_mosaic_jpegs.py --photos "$PHOTOS" --out "$OUT/large-mosaic" >&2
if want search; then
  # shellcheck disable=SC2086
  "$PY" bench/py/gen_vectors.py --out "$OUT/vectors" --n $SEARCH_SIZES $COLD_N >&2
  # hnswlib compiled for this CPU (-march=native, as pip builds it), beside Debian's baseline (SSE-only) build.
  bench/py/hnsw_native/build.sh "$OUT/hnsw-native" >&2 || { log "hnswlib-native does not build: left out"; PY_SEARCH=${PY_SEARCH/,hnswlib-native/}; }
elif want coldstart; then
  "$PY" bench/py/gen_vectors.py --out "$OUT/vectors" --n $COLD_N >&2
fi
if [[ -z $only ]]; then
  "$PY" bench/py/token_ids.py "$CORPUS" 32 "$OUT/token_ids.json"
  [[ -f "$OUT/matmul2048.onnx" ]] || "$PY" bench/py/make_matmul_onnx.py 2048 "$OUT/matmul2048.onnx"
fi
if want video; then
  [[ -f "$MODEL/onnx/vision_model.onnx" ]] || { log "generating the full-size random model"; "$PY" tools/make_test_models.py --full-size --no-fp16 >&2; }
  # The video bench's 1080p30 videos (cached): 120 s and 40 s, shots of corpus photos with known cut times.
  "$PY" bench/py/video_bench.py make --out "$OUT/video" --seconds 120 --name long
  "$PY" bench/py/video_bench.py make --out "$OUT/video" --seconds 40 --name short
fi
if [[ -z $only ]]; then
  # Audio: an HTSAT-tiny-shaped CLAP audio tower (random weights) and a recording (pink noise + a tone, stereo 44.1 kHz mp3).
  [[ -f "$AUDIO_MODEL/audio_tower.pt" ]] || "$PY" tools/make_clap_bench_model.py --out "$AUDIO_MODEL" >&2
  mkdir -p "$OUT/audio"
  [[ -f "$AUDIO" ]] || ffmpeg -nostdin -v error -y -f lavfi -i "anoisesrc=d=$AUDIO_SEC:c=pink:r=44100:a=0.05:s=3" \
    -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=$AUDIO_SEC" -filter_complex "[0:a][1:a]amix=inputs=2:normalize=0,volume=0.8" \
    -ac 2 -c:a libmp3lame -b:a 128k "$AUDIO"
fi
log "building bench/Omnivec.Bench and the CLI (Release)"
dotnet build bench/Omnivec.Bench -c Release --artifacts-path "$ART" --nologo -v q >&2
# ReadyToRun for this machine's runtime (as ./omnivec publishes it): precompiled code, less JIT at every start.
want coldstart && dotnet publish src/Omnivec.Cli/Omnivec.Cli.csproj -c Release --use-current-runtime --self-contained false -p:PublishReadyToRun=true \
  --artifacts-path "$ART-cli" -o "$OUT/cli" --nologo -v q >&2
BENCH="$ART/bin/Omnivec.Bench/release/Omnivec.Bench"
COLD_STORE="$OUT/coldstart-$COLD_N"
if want coldstart && [[ ! -f "$COLD_STORE/.done" || "$COLD_STORE/.done" -ot "$MODEL/onnx/vision_model.onnx" ]]; then
  log "building the $COLD_N-item cold-start collection (cached)"
  "$BENCH" coldstart --model "$MODEL" --data "$OUT/vectors" --n "$COLD_N" --store "$COLD_STORE" && touch "$COLD_STORE/.done"
fi
if want serving && [[ -f bench/Omnivec.LoadTest/Omnivec.LoadTest.csproj ]]; then
  dotnet build bench/Omnivec.LoadTest -c Release --artifacts-path "$ART-loadtest" --nologo -v q >&2 || log "bench/Omnivec.LoadTest does not build"
fi
setup_seconds=$((SECONDS - start))
measured_start=$SECONDS

if [[ -z $only ]]; then
# ---- 1. ceilings ---------------------------------------------------------------------------------------------
step ceiling 300 "${PYENV[@]}" "$PY" bench/py/ceiling.py --repeats $((REPEATS + 2)) --threads $THREADS --out "$RES/ceiling.json" --machine "$RES/machine.json"
step ceiling-ort 300 node bench/node/sgemm.js "$OUT/matmul2048.onnx" 2048 $THREADS $((REPEATS + 2)) "$RES/ceiling-ort.json"

# ---- 2. embedding throughput ------------------------------------------------------------------------------------
EMB=(--batches $BATCHES --items $ITEMS --photos-items $PHOTO_ITEMS --large-items $LARGE_ITEMS --repeats $REPEATS --threads $THREADS)
step embed-omnivec "$LIMIT" "$BENCH" embed --model "$MODEL" --photos "$PHOTOS" --large "$OUT/large" "${EMB[@]}" \
  --out "$RES/embed-omnivec.json" --check "$RES/check-omnivec.json"
step embed-node "$LIMIT" bash -c 'cd bench/node && exec node embed.js "$@"' _ --model "$MODEL" --ids "$OUT/token_ids.json" \
  --photos "$PHOTOS" --large "$OUT/large" "${EMB[@]}" --out "$RES/embed-node.json" --check "$RES/check-node.json"
step embed-pytorch "$LIMIT" "${PYENV[@]}" "$PY" bench/py/embed_torch.py --corpus "$CORPUS" --photos "$PHOTOS" --large "$OUT/large" \
  "${EMB[@]}" --out "$RES/embed-pytorch.json" --check "$RES/check-pytorch.json"

# ---- 2b. audio indexing (CLAP): Omnivec next to the Python pipeline, then a long recording streamed end to end -------
step audio-omnivec "$LIMIT" "$BENCH" audioindex --model "$AUDIO_MODEL" --audio "$AUDIO" --repeats $REPEATS --threads $THREADS \
  --out "$RES/audio-omnivec.json" --check "$RES/check-audio-omnivec.json"
step audio-python "$LIMIT" "${PYENV[@]}" "$PY" bench/py/audio_torch.py --model "$AUDIO_MODEL" --audio "$AUDIO" --repeats $REPEATS \
  --threads $THREADS --out "$RES/audio-python.json" --check "$RES/check-audio-python.json"
step audio-long "$LIMIT" "$BENCH" audiolong --hours $AUDIO_HOURS --dir "$OUT/audiolong" --threads $THREADS --out "$RES/audio-long.json"

fi  # [[ -z $only ]]

# ---- 3. search ----------------------------------------------------------------------------------------------------
# Every HNSW contender builds with M 16, ef_construction 128 and searches with the smallest ef reaching recall@10 0.99.
# One step per contender, so one that hits its limit costs only its own figures. Single HNSW queries are timed on one
# CPU, the same for every contender (the last: on the bench VM the first takes the interrupts and was up to a quarter
# slower), with two more repeats than the other steps (a repeat of 1,000 queries takes about a second).
QUERY_CPU="${OMNIVEC_BENCH_QUERY_CPU:-$(( $(nproc) - 1 ))}"
SEARCH_REPEATS=$((REPEATS + 2))
if want search; then
for n in $SEARCH_SIZES; do
  step "search-omnivec-$n" "$LIMIT" "$BENCH" search --data "$OUT/vectors" --n "$n" --repeats $SEARCH_REPEATS --target-recall $TARGET_RECALL \
    --query-cpu $QUERY_CPU --out "$RES/search-omnivec-$n.json"
  for which in ${PY_SEARCH//,/ }; do
    step "search-$which-$n" "$LIMIT" "${PYENV[@]}" "$PY" bench/py/search_py.py --data "$OUT/vectors" --n "$n" --repeats $SEARCH_REPEATS \
      --threads $THREADS --which "$which" --target-recall $TARGET_RECALL --build-budget "$FAISS_HNSW_BUDGET" --native-dir "$OUT/hnsw-native" \
      --query-cpu $QUERY_CPU --out "$RES/search-$which-$n.json"
  done
done
fi

if want coldstart; then
# ---- 4. cold start: a fresh `omnivec search` process to its first result -----------------------------------------
cold() {
  local runs=$1 q="a photo of a dog on the beach"
  "$OUT/cli/omnivec" search "$q" --store "$COLD_STORE" -c cold --top 10 --json > /dev/null   # warm the page cache once
  local samples=()
  for _ in $(seq "$runs"); do
    local t0
    t0=$(date +%s%N)
    "$OUT/cli/omnivec" search "$q" --store "$COLD_STORE" -c cold --top 10 --json > "$RES/cold-hits.json"
    samples+=("$(( $(date +%s%N) - t0 ))e-9")
  done
  "$PY" - "$RES/coldstart.json" "$COLD_N" "${samples[@]}" <<'PYEOF'
import json, statistics, sys
out, n, s = sys.argv[1], int(sys.argv[2]), sorted(float(x) for x in sys.argv[3:])
json.dump([{"metric": "coldstart.first_result_s", "contender": "omnivec", "value": round(statistics.median(s), 4), "unit": "s",
            "params": {"n": n, "dim": 512, "model": "clip-vit-b32-random (full size, 512-d)", "index": "hnsw (auto)",
                       "page_cache": "warm", "min": round(s[0], 4), "max": round(s[-1], 4), "runs": len(s)}}], open(out, "w"), indent=1)
PYEOF
}
export OUT RES PY COLD_N COLD_STORE ART LOAD_SECONDS MODEL mode
export -f cold
step coldstart 600 bash -c 'cold "$@"' _ "$REPEATS"
fi

if want serving; then
# ---- 5. HTTP load test (bench/Omnivec.LoadTest, written separately) ----------------------------------------------
# Hook: runs only when that project exists; its JSON is copied into the report as it is.
if [[ -f bench/Omnivec.LoadTest/Omnivec.LoadTest.csproj ]]; then
  loadtest() {
    # = dotnet run --project bench/Omnivec.LoadTest -c Release -- --seconds N --out FILE, with an isolated artifacts path
    "$ART-loadtest/bin/Omnivec.LoadTest/release/Omnivec.LoadTest" --seconds "$LOAD_SECONDS" --out "$RES/loadtest.json"
    # The full run also loads the full-size model, where batching pays for itself in model time, not only in overhead.
    if [[ "$mode" == full ]]; then
      "$ART-loadtest/bin/Omnivec.LoadTest/release/Omnivec.LoadTest" --model "$MODEL" --seconds "$LOAD_SECONDS" --out "$RES/loadtest-fullsize.json"
      # Image requests (one 1000x667 corpus JPEG each, as a data: URL): decoding is part of every request.
      "$ART-loadtest/bin/Omnivec.LoadTest/release/Omnivec.LoadTest" --model "$MODEL" --input image --seconds "$LOAD_SECONDS" \
        --out "$RES/loadtest-fullsize-image.json"
    fi
  }
  # Exported here too: with --only serving the cold-start block above, which also exports them, does not run.
  export ART RES LOAD_SECONDS MODEL mode
  export -f loadtest
  step loadtest 1500 bash -c loadtest
else
  log "bench/Omnivec.LoadTest not found: HTTP load test skipped (hook in bench/run.sh)"
fi
fi  # want serving

# ---- 6. SigLIP B/16: a SigLIP-shaped image tower (768 wide, 12 layers, 16x16 patches, attention-pooling head) ---------
# Omnivec and ORT + Node.js on the same ONNX file; model only (decoded 224x224 inputs) and end to end (files in).
if want siglip; then
  SIG=(--batches $BATCHES --items $ITEMS --photos-items $PHOTO_ITEMS --large-items $LARGE_ITEMS --repeats $REPEATS --threads $THREADS)
  step siglip-omnivec "$LIMIT" "$BENCH" embed --model "$SIGLIP_MODEL" --photos "$PHOTOS" --large "$OUT/large" "${SIG[@]}" \
    --prefix siglip --images-only 1 --out "$RES/siglip-omnivec.json" --check "$RES/check-siglip-omnivec.json"
  step siglip-node "$LIMIT" bash -c 'cd bench/node && exec node embed.js "$@"' _ --family siglip --model "$SIGLIP_MODEL" \
    --photos "$PHOTOS" --large "$OUT/large" "${SIG[@]}" --out "$RES/siglip-node.json" --check "$RES/check-siglip-node.json"
fi

# ---- 1c. JPEG reduced decoding: cosine to the full decode at each IDCT scale (chooses ReducedDecodeFactor; times indicative) --
# The full-size model (the goal) and the tiny test pack the parity tests use (more sensitive); both over the large JPEGs,
# photo mosaics at native resolution, the corpus photos and the corpus's two larger real photos.
if want decode; then
  [[ -f "$MODEL/onnx/vision_model.onnx" ]] || { log "generating the full-size random model"; "$PY" tools/make_test_models.py --full-size --no-fp16 >&2; }
  DEC_DIRS="$OUT/large,$OUT/large-mosaic,$PHOTOS,$CORPUS/images/formats/exif_orientation_portrait_1.jpg,$CORPUS/images/formats/jpeg_cmyk_ycck_icc_taco_1500x1000.jpg"
  step decodefactors "$LIMIT" "$BENCH" decodefactors --model "$MODEL" --dirs "$DEC_DIRS" --repeats 1 \
    --out "$RES/decodefactors-fullsize.json" --md "$RES/decodefactors-fullsize.md"
  step decodefactors-tiny "$LIMIT" "$BENCH" decodefactors --model tests/fixtures/models/tiny-clip-hf --dirs "$DEC_DIRS" --repeats 1 \
    --out "$RES/decodefactors-tiny.json" --md "$RES/decodefactors-tiny.md"
fi

# ---- 7. video indexing: FFmpeg decode alone (ceiling), Omnivec's pipeline (two lengths, for memory), Python peers ----
video_index() {
  # One untimed run first fills the optimized-model cache, as the first video of an `omnivec index` run does once.
  "$BENCH" videoindex --model "$MODEL" --video "$OUT/video/short.mp4" --cuts "$OUT/video/short.cuts" --threads "$THREADS" \
    --onnx-cache "$OUT/onnx-cache" --out "$RES/video-warmup.json.tmp" > /dev/null 2>&1 || true
  rm -f "$RES/video-warmup.json.tmp"
  # --onnx-cache: the optimized-model cache `omnivec index` keeps, so the tower loads as it does there.
  "$BENCH" videoindex --model "$MODEL" --video "$OUT/video/short.mp4" --cuts "$OUT/video/short.cuts" --threads "$THREADS" \
    --onnx-cache "$OUT/onnx-cache" --out "$RES/video-omnivec-short.json"
  # The long video: the three pipelines take turns, VIDEO_REPEATS rounds; the report takes each one's median, so a
  # slow spell of this (shared, virtual) machine lands on all three instead of on whichever ran during it.
  local fps="" r
  for ((r = 1; r <= VIDEO_REPEATS; r++)); do
    "$PY" bench/py/video_bench.py decode --video "$OUT/video/long.mp4" --fps 10 --short-side 256 --out "$RES/video-decode-long.r$r.json"
    "$BENCH" videoindex --model "$MODEL" --video "$OUT/video/long.mp4" --cuts "$OUT/video/long.cuts" --threads "$THREADS" \
      --onnx-cache "$OUT/onnx-cache" --out "$RES/video-omnivec-long.r$r.json"
    # The Python pipeline embeds as many frames per second of video as Omnivec did.
    [[ -n $fps ]] || fps=$("$PY" -c 'import json, sys; r = json.load(open(sys.argv[1])); print(r["frames_embedded"] / r["duration_s"])' "$RES/video-omnivec-long.r$r.json")
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE "$PY" bench/py/video_bench.py pytorch --video "$OUT/video/long.mp4" --fps "$fps" --threads "$THREADS" --out "$RES/video-pytorch-long.r$r.json"
  done
}
if want video; then
  VIDEO_REPEATS=$([[ $mode == quick ]] && echo 1 || echo 3)
  export BENCH THREADS OUT RES PY MODEL VIDEO_REPEATS
  export -f video_index
  step video 1800 bash -c video_index
fi

measured_seconds=$((SECONDS - measured_start))
log "measured part took ${measured_seconds}s (setup ${setup_seconds}s)"

# ---- report ---------------------------------------------------------------------------------------------------------
"$PY" bench/py/report.py --results "$RES" --mode "$mode" --setup-seconds "$setup_seconds" --measured-seconds "$measured_seconds" \
  --command "bench/run.sh $orig_args" --batches "$BATCHES" --items "$ITEMS" --repeats "$REPEATS" --search-sizes "$SEARCH_SIZES" --cold-n "$COLD_N" \
  --json-out bench/results.json --md-out docs/benchmarks.md ${only:+--only "$only"}
log "wrote docs/benchmarks.md and bench/results.json"
