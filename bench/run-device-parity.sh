#!/usr/bin/env bash
# The parity stage of the GPU-machine benchmark (issue 11 §4): our pipeline on the H100 through Dawn
# (subgroups, flash attention: the paths SwiftShader never takes) against diffusers.
#   1. unpack Node 20, the Vulkan loader, the bundle and diffusers (carried, bench/lib/device-tools.sh)
#   2. export the random-full graphs (models/export.py --random-full --attention mha; CPU) unless
#      $MODELS/manifest.json exists, while the PyTorch reference (bench/parity_fullsize.py: fp32, TF32
#      off; + int8-rounded weights) runs on the GPU and the tiny golden cases (ldm3d-pano, -f16,
#      -int8, ldm3d-sr) run through Dawn (bench/parity-webgpu.ts, the WebGPU tests' cases and bounds)
#   3. full size, fp32 export: one UNet call per reference timestep, the VAE decode, the text encoder
#      and a whole 20-step DDIM run (guidance 7) against the reference, while models/narrow_weights.py
#      makes the int8 export from the same graphs; then the int8 export against its own reference
#   4. $OUT: parity.json (everything), parity.md (the tables), logs.tar.gz (logs, per-stage JSON,
#      the reference's meta.json); published after every stage
# Exits with parity-webgpu's verdict: 0 all within bounds, 1 something outside (see parity.md).
#
# Prepared here first (ignored folders):  node bench/build-device-bundle.mjs
# Then, via the device tool:
#   run(command="bash bench/run-device-parity.sh", carry=[".node", ".gl", ".carry/bench"], timeout_s=600)
# Environment knobs: STEPS (20), INT8 (1; 0 skips the int8 export and its reference), BUDGET_S
# (seconds this script may use, 570), MODELS (/tmp/rf-mha), GOLDEN_CASES (comma-separated case names;
# default all). A warm machine keeps /tmp between calls: the export, the int8 export and a finished
# reference ($REF/done) are then reused. A dry run on a machine without the GPU (SwiftShader; the
# PyTorch steps then fail and are reported as missing):
#   NO_VULKAN_SETUP=1 NO_PIN=1 GOLDEN_CASES=ddim-1-step OUT=/tmp/parity-dry bash bench/run-device-parity.sh
set -uo pipefail
START=$SECONDS
OUT=${OUT:-/tmp/parity-out}
mkdir -p "$OUT"
WORK=/tmp/parity-work
rm -rf "$WORK"
mkdir -p "$WORK"
REPO=$(pwd)
STEPS=${STEPS:-20}
BUDGET_S=${BUDGET_S:-570}
INT8=${INT8:-1}
MODELS=${MODELS:-/tmp/rf-mha}
MODELS8=$MODELS-int8
# The PyTorch reference: ~60 MB of .npy, kept out of $WORK so it is never published.
REF=/tmp/parity-ref
elapsed() { echo $((SECONDS - START)); }
. bench/lib/device-tools.sh
say() { echo "[run-device-parity $(elapsed)s] $*"; }
# (a machine with fewer cores than the pinning below assumes)
[ -n "${NO_PIN:-}" ] && pin() { shift; "$@"; }
left() { echo $((BUDGET_S - (SECONDS - START))); }

# Stage reports merged into parity.json: a stage listed here that wrote no report counts as failed.
STAGES=()
VERDICT=1
publish() {
  [ -f "$REF/meta.json" ] && cp "$REF/meta.json" "$WORK/reference-meta.json"
  if [ ${#STAGES[@]} -gt 0 ] && [ -x /tmp/node ]; then
    /tmp/node /tmp/bench/parity-webgpu.mjs --merge "${STAGES[@]}" --out "$WORK/parity.json" --md "$WORK/parity.md" \
      > "$WORK/merge.log" 2>&1
    VERDICT=$?
  fi
  cp "$WORK/parity.json" "$WORK/parity.md" "$OUT/" 2> /dev/null
  tar -C "$WORK" -czf "$OUT/logs.tar.gz" --exclude=parity.json --exclude=parity.md . 2> /dev/null
}
# node_parity NAME CORES ARGS...: one parity-webgpu process, its report $WORK/parity-NAME.json
node_parity() {
  local name=$1 cores=$2
  shift 2
  STAGES+=("$WORK/parity-$name.json")
  local budget
  budget=$(left)
  [ "$budget" -gt 30 ] || { say "no time left for $name"; return 1; }
  say "parity-webgpu $name: $* (${budget}s left)"
  (cd /tmp/bench && pin "$cores" timeout "$budget" /tmp/node parity-webgpu.mjs "$@" --out "$WORK/parity-$name.json") 2>&1 \
    | grep -v XDG_RUNTIME_DIR | tee "$WORK/parity-$name.log" | grep '^\[parity'
  say "parity-webgpu $name rc=${PIPESTATUS[0]}"
  publish
}

# 1. tools ---------------------------------------------------------------------------------------
setup_vulkan
say "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
unpack_bench /tmp/bench parity-webgpu.mjs || { say "cannot unpack the carried tools"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv | tee "$WORK/gpu.csv"
say "node $(/tmp/node --version); tools ready"

# 2. export (CPU 6-15) ‖ PyTorch reference (GPU, CPU 0-3) ‖ tiny golden cases (GPU, CPU 4-5) --------
EXPORT_PID=
if [ ! -f "$MODELS/manifest.json" ]; then
  pin 6-15 env OMP_NUM_THREADS=10 python3 models/export.py --random-full --attention mha --out "$MODELS" \
    --sessions text_encoder,unet,vae_decoder --no-validate > "$WORK/export.log" 2>&1 &
  EXPORT_PID=$!
fi
TORCH_PID=
if [ ! -f "$REF/done" ]; then
  rm -rf "$REF"
  TORCH_ARGS=(--out "$REF" --steps "$STEPS")
  [ "$INT8" = 1 ] && TORCH_ARGS+=(--int8)
  ( pin 0-3 env OMP_NUM_THREADS=4 python3 bench/parity_fullsize.py "${TORCH_ARGS[@]}" > "$WORK/torch.log" 2>&1 \
      && touch "$REF/done" ) &
  TORCH_PID=$!
fi
GOLDEN_ARGS=(--goldens "$REPO/test/fixtures/goldens" --tiny-models "$REPO/models/tiny")
[ -n "${GOLDEN_CASES:-}" ] && GOLDEN_ARGS+=(--cases "$GOLDEN_CASES")
node_parity goldens 4-5 "${GOLDEN_ARGS[@]}"
if [ -n "$TORCH_PID" ]; then
  wait "$TORCH_PID"; rc=$?
  grep -v Warning "$WORK/torch.log" | tail -n 20
  say "torch reference rc=$rc done=$([ -f "$REF/done" ] && echo yes || echo no)"
fi
if [ -n "$EXPORT_PID" ]; then
  wait "$EXPORT_PID"; rc=$?
  tail -n 8 "$WORK/export.log"
  say "export rc=$rc"
fi
du -sh "$MODELS"/* 2> /dev/null
publish

# 3. full size: fp32 (‖ the int8 export), then int8 ------------------------------------------------
NARROW_PID=
if [ "$INT8" = 1 ] && [ -f "$MODELS/manifest.json" ] && [ ! -f "$MODELS8/manifest.json" ]; then
  pin 6-15 python3 models/narrow_weights.py --storage int8 --in "$MODELS" --out "$MODELS8" > "$WORK/narrow-int8.log" 2>&1 &
  NARROW_PID=$!
fi
if [ -f "$REF/meta.json" ] && [ -f "$MODELS/manifest.json" ]; then
  node_parity fullsize-fp32 0-5 --skip-goldens --fullsize "$REF" --models "$MODELS"
else
  STAGES+=("$WORK/parity-fullsize-fp32.json")
  say "no full-size fp32 parity: reference $([ -f "$REF/meta.json" ] && echo ok || echo missing), export $([ -f "$MODELS/manifest.json" ] && echo ok || echo missing)"
fi
if [ -n "$NARROW_PID" ]; then
  wait "$NARROW_PID"; rc=$?
  tail -n 4 "$WORK/narrow-int8.log"
  say "narrow_weights int8 rc=$rc"
fi
if [ "$INT8" = 1 ]; then
  if [ -f "$MODELS8/manifest.json" ] && [ -f "$REF/int8/vae.out.npy" ]; then
    node_parity fullsize-int8 0-15 --skip-goldens --fullsize "$REF" --int8-models "$MODELS8"
  else
    STAGES+=("$WORK/parity-fullsize-int8.json")
    say "no full-size int8 parity: int8 export or its reference is missing"
  fi
fi

# 4. one JSON + table ------------------------------------------------------------------------------
publish
cat "$WORK/parity.md" 2> /dev/null || cat "$WORK/merge.log"
say "done, verdict rc=$VERDICT"
exit "$VERDICT"
