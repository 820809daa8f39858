#!/usr/bin/env bash
# Issue 4, GPU memory: the pipeline's memory policies side by side on the GPU machine, one process
# (bench/pano-webgpu.ts --memory-compare, see bench/lib/memory-compare.ts):
#   resident, staged, resident+warmup, staged+warmup, staged+tiled (tiled VAE decode) — each: load → [warm-up] → first generation →
#   second generation → dispose; time, nvidia-smi peak/level and live GPU buffers per phase, after an
#   unreported "prime" run that warms the driver's shader cache.
#   1. unpack Node 20, the Vulkan loader and the bench bundle (carried, as bench/run-device.sh)
#   2. export the random-full LDM3D-pano graphs (models/export.py --random-full; CPU), unless
#      /tmp/rf/manifest.json is already there (a warm machine)
#   3. the comparison; $OUT gets memory-<weights>.md (the table), memory-<weights>.json (every figure), logs.tar.gz
#
# Prepared here first (ignored folder .carry/bench):  node bench/build-device-bundle.mjs
# Then, via the device tool:
#   run(command="bash bench/run-device-memory.sh", carry=[".node", ".gl", ".carry/bench"], timeout_s=600)
# Knobs: STEPS (20), GUIDANCE (7), CONFIGS (comma-separated, default the five above; staged+tiled+warmup
# too), VAE_TILING (latent cells per tile of the +tiled configs; default diffusers' for the model), NO_PRIME=1,
# ATTENTION=sliced (export the UNet with query-sliced attention instead of the default fused mha),
# BUDGET_S (seconds this script may use, 585), WEIGHTS (comma-separated weight storages to compare, each
# in its own process: float32 (the export as is), float16 (models/narrow_weights.py: float16 bit
# patterns widened on the GPU) and/or int8 (narrow_weights.py --storage int8: per-channel int8);
# default float32). STORAGE@N (e.g. int8@8388608) narrows with --split-elements N instead of the default.
set -uo pipefail
START=$SECONDS
OUT=${OUT:-/tmp/bench-out}
WORK=/tmp/bench-work
mkdir -p "$OUT" "$WORK"
REPO=$(pwd)
STEPS=${STEPS:-20}
GUIDANCE=${GUIDANCE:-7}
BUDGET_S=${BUDGET_S:-585}
ATTENTION=${ATTENTION:-mha}
MODELS=/tmp/rf-$ATTENTION
say() { echo "[memory $((SECONDS - START))s] $*"; }
. bench/lib/device-tools.sh
publish() {
  cp "$WORK"/memory*.md "$WORK"/memory*.json "$OUT/" 2> /dev/null
  tar -C "$WORK" -czf "$OUT/logs.tar.gz" --exclude='memory*.json' --exclude='memory*.md' . 2> /dev/null
}

# 1. tools ---------------------------------------------------------------------------------------
setup_vulkan
say "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
unpack_bench /tmp/bench pano-webgpu.mjs || { say "cannot unpack the carried tools"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv | tee "$WORK/gpu.csv"
say "node $(/tmp/node --version); tools ready"

# 2. export ----------------------------------------------------------------------------------------
if [ ! -f "$MODELS/manifest.json" ]; then
  # named explicitly: export.py's default attention changed from sliced to mha
  pin 0-15 env OMP_NUM_THREADS=16 python3 models/export.py --random-full --attention "$ATTENTION" --out "$MODELS" \
    --sessions text_encoder,unet,vae_decoder --no-validate > "$WORK/export.log" 2>&1
  rc=$?
  tail -n 12 "$WORK/export.log"
  say "export rc=$rc"
  [ $rc -eq 0 ] || { publish; exit $rc; }
fi
WEIGHTS=${WEIGHTS:-float32}
for W in ${WEIGHTS//,/ }; do
  [ "$W" = float32 ] && continue
  [ -f "$MODELS-$W/manifest.json" ] && continue
  NARROW=(--storage "${W%@*}")
  [[ "$W" == *@* ]] && NARROW+=(--split-elements "${W#*@}")
  pin 0-15 python3 models/narrow_weights.py "${NARROW[@]}" --in "$MODELS" --out "$MODELS-$W" > "$WORK/narrow-$W.log" 2>&1
  rc=$?
  tail -n 6 "$WORK/narrow-$W.log"
  say "narrow_weights $W rc=$rc"
  [ $rc -eq 0 ] || { publish; exit $rc; }
done
du -sh "$MODELS"/* "$MODELS"-*/* 2> /dev/null

# 3. the comparison, one process per weight storage --------------------------------------------------
for W in ${WEIGHTS//,/ }; do
  DIR=$MODELS; [ "$W" = float32 ] || DIR=$MODELS-$W
  NAME=${W//@/-split}  # $OUT keeps plain file names only
  ARGS=(--models "$DIR" --memory-compare --steps "$STEPS" --guidance "$GUIDANCE" --label "memory-$ATTENTION-$NAME"
        --out "$WORK/memory-$NAME.json" --md "$WORK/memory-$NAME.md")
  [ -n "${CONFIGS:-}" ] && ARGS+=(--configs "$CONFIGS")
  [ -n "${NO_PRIME:-}" ] && ARGS+=(--no-prime)
  [ -n "${VAE_TILING:-}" ] && ARGS+=(--vae-tiling "$VAE_TILING")
  LEFT=$(( BUDGET_S - (SECONDS - START) ))
  [ "$LEFT" -gt 60 ] || { say "no time left for $W"; break; }
  say "pano-webgpu ${ARGS[*]} (${LEFT}s left)"
  ( cd /tmp/bench && timeout "$LEFT" /tmp/node pano-webgpu.mjs "${ARGS[@]}" 2>&1 | grep -v XDG_RUNTIME_DIR | tee "$WORK/memory-$NAME.log" )
  say "pano-webgpu $W rc=${PIPESTATUS[0]}"
  publish
done
publish
say done
