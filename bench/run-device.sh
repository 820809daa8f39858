#!/usr/bin/env bash
# The whole GPU-machine side of the LDM3D-pano benchmark (issue 4), in one go:
#   1. unpack Node 20, the Vulkan loader, the bench bundle and diffusers (all carried, see below)
#   2. export the random-full LDM3D-pano graphs (models/export.py --random-full; CPU)
#      while the PyTorch diffusers reference runs on the GPU (bench/torch_reference.py), pinned
#      to other CPU cores so neither steals the other's
#   3. our TypeScript pipeline on Dawn WebGPU (bench/pano-webgpu.ts, bundled): baseline, with one
#      UNet call profiled per dispatch (falls back to the stand-in loop if the pipeline fails)
#   4. while time is left, the experiments in EXPERIMENTS (one process each, same graphs)
#   5. bench/summarize.mjs: $OUT/result.json, $OUT/summary.md, $OUT/logs.tar.gz (after every stage)
#
# Prepared here first (ignored folders):  node bench/build-device-bundle.mjs
# Then, via the device tool:
#   run(command="bash bench/run-device.sh", carry=[".node", ".gl", ".carry/bench"], timeout_s=590)
# Environment knobs: STEPS (20), EXPERIMENTS (space-separated names from run_experiment below, ''
# for none), SKIP_BASELINE=1, BUDGET_S (seconds this script may use, 560), SKIP_TORCH=1. The export
# is skipped when /tmp/rf/manifest.json exists (a warm machine keeps /tmp for ~30 s after a call).
set -uo pipefail
START=$SECONDS
OUT=${OUT:-/tmp/bench-out}
mkdir -p "$OUT"
# Everything is written to WORK and published to OUT as 3 files (the device returns at most 8):
# result.json (all figures), summary.md (the tables), logs.tar.gz.
WORK=/tmp/bench-work
mkdir -p "$WORK"
REPO=$(pwd)
STEPS=${STEPS:-20}
BUDGET_S=${BUDGET_S:-560}
ATTENTION=${ATTENTION:-mha}
MODELS=${MODELS:-/tmp/rf-$ATTENTION}
MODELS16=/tmp/rf16
# (freedims is no longer a default experiment: the pipeline sets the UNet's freeDimensionOverrides
# itself since the memory-policy work, so the baseline has them; the memory policies are measured by
# bench/run-device-memory.sh)
EXPERIMENTS=${EXPERIMENTS-turbofan}
elapsed() { echo $((SECONDS - START)); }
. bench/lib/device-tools.sh
say() { echo "[run-device $(elapsed)s] $*"; }
publish() {
  /tmp/node "$REPO/bench/summarize.mjs" "$WORK" > "$WORK/summary.md" 2> "$WORK/summarize.err"
  cp "$WORK/summary.md" "$WORK/result.json" "$OUT/" 2> /dev/null
  tar -C "$WORK" -czf "$OUT/logs.tar.gz" --exclude=result.json --exclude=summary.md . 2> /dev/null
}

# 1. tools --------------------------------------------------------------------------------------
setup_vulkan
say "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
unpack_bench /tmp/bench pano-webgpu.mjs || { say "cannot unpack the carried tools"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv | tee "$WORK/gpu.csv"
say "node $(/tmp/node --version); tools ready"

# 2. export (CPU cores 4-15) ‖ torch reference (GPU, cores 0-3) ---------------------------------
EXPORT_PID=
if [ ! -f "$MODELS/manifest.json" ]; then
  pin 4-9 env OMP_NUM_THREADS=6 python3 models/export.py --random-full --attention "$ATTENTION" --out "$MODELS" \
    --sessions text_encoder,unet,vae_decoder --no-validate > "$WORK/export.log" 2>&1 &
  EXPORT_PID=$!
fi
EXPORT16_PID=
if [[ " $EXPERIMENTS " == *" fp16 "* ]] && [ ! -f "$MODELS16/manifest.json" ]; then
  # the same graphs with weights stored as fp16 (+ Cast to fp32): half the download
  pin 10-15 env OMP_NUM_THREADS=6 python3 models/export.py --random-full --attention "$ATTENTION" --fp16 --out "$MODELS16" \
    --sessions text_encoder,unet,vae_decoder --no-validate > "$WORK/export16.log" 2>&1 &
  EXPORT16_PID=$!
fi
if [ -z "${SKIP_TORCH:-}" ]; then
  pin 0-3 env OMP_NUM_THREADS=4 python3 bench/torch_reference.py --steps "$STEPS" --out "$WORK/torch.json" \
    2>&1 | tee "$WORK/torch.log" | grep -v Warning
  say "torch reference done"
  publish
fi
if [ -n "$EXPORT_PID" ]; then
  wait "$EXPORT_PID"; rc=$?
  tail -n 25 "$WORK/export.log"
  say "export rc=$rc"
  [ $rc -eq 0 ] || exit $rc
fi
if [ -n "$EXPORT16_PID" ]; then
  wait "$EXPORT16_PID"; say "fp16 export rc=$?"; tail -n 4 "$WORK/export16.log"
fi
du -sh "$MODELS"/* "$MODELS16"/* 2>/dev/null

# 3. our pipeline on Dawn WebGPU ---------------------------------------------------------------
cd /tmp/bench
run_webgpu() { # $1 label, then pano-webgpu arguments
  local label=$1
  shift
  say "webgpu: $label $*"
  /tmp/node pano-webgpu.mjs --models "$MODELS" --steps "$STEPS" --label "$label" \
    --out "$WORK/webgpu-$label.json" "$@" 2>&1 | tee "$WORK/webgpu-$label.log" | grep -v '^ \|^{\|^}'
  local rc=${PIPESTATUS[0]}
  say "webgpu $label rc=$rc"
  publish
  return $rc
}
run_experiment() { # the ONE change each experiment makes against the baseline
  case $1 in
    # browsers tier ORT's wasm up to TurboFan; src/node/webgpu.ts pins Liftoff (2-core CI machine)
    turbofan) run_webgpu experiment-turbofan --warm-runs 1 --turbofan ;;
    # static shapes for the UNet (now the pipeline's default; kept to compare old result files)
    freedims) run_webgpu experiment-freedims --warm-runs 1 \
      --unet-options '{"freeDimensionOverrides":{"batch":2,"latent_height":64,"latent_width":128}}' ;;
    # ORT's WebGPU buffer manager keeps freed buffers for reuse ('bucket'); cheaper modes for memory
    bufcache-lazy) run_webgpu experiment-bufcache-lazy --warm-runs 1 --ep-options '{"storageBufferCacheMode":"lazyRelease"}' ;;
    bufcache-disabled) run_webgpu experiment-bufcache-disabled --warm-runs 1 --ep-options '{"storageBufferCacheMode":"disabled"}' ;;
    # weights stored as fp16 (export --fp16), computed in fp32
    fp16) [ -f "$MODELS16/manifest.json" ] && run_webgpu experiment-fp16-weights --warm-runs 1 --models "$MODELS16" ;;
    # ORT's WebGPU EP runs layout-sensitive ops (Conv: 45 % of the mha UNet's time) in NCHW by
    # default; NHWC is the layout its Conv2dMM kernels were first written for
    nhwc) run_webgpu experiment-nhwc --warm-runs 1 --ep-options '{"preferredLayout":"NHWC"}' ;;
    # exact-size buffer reuse instead of size buckets: less memory for static-shape graphs
    bufcache-simple) run_webgpu experiment-bufcache-simple --warm-runs 1 --ep-options '{"storageBufferCacheMode":"simple"}' ;;
    *) say "unknown experiment $1" ;;
  esac
}
if [ -z "${SKIP_BASELINE:-}" ]; then
  T_BASE=$SECONDS
  if ! run_webgpu baseline --warm-runs 1 --profile; then
    say "the pipeline failed at full size; measuring with the stand-in loop instead"
    run_webgpu baseline-standin --warm-runs 1 --loop stand-in
  fi
  T_ONE=$((SECONDS - T_BASE))
else
  T_ONE=${T_ONE:-200}
fi
# 4. experiments, each only if it can finish inside the budget (it costs about what the baseline did)
for e in $EXPERIMENTS; do
  if [ $(( $(elapsed) + T_ONE * 9 / 10 )) -lt "$BUDGET_S" ]; then run_experiment "$e"
  else say "no time left for experiment $e (baseline took ${T_ONE}s)"; fi
done
cd - > /dev/null

# 5. one JSON + table -------------------------------------------------------------------------
publish
cat "$OUT/summary.md"
say "done"
