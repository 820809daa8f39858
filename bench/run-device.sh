#!/usr/bin/env bash
# The whole GPU-machine side of the LDM3D-pano benchmark (issue 4), in one go:
#   1. unpack Node 20, the Vulkan loader, the bench bundle and diffusers (all carried, see below)
#   2. export the random-full LDM3D-pano graphs (models/export.py --random-full; CPU)
#      while the PyTorch diffusers reference runs on the GPU (bench/torch_reference.py), pinned
#      to other CPU cores so neither steals the other's
#   3. our TypeScript pipeline on Dawn WebGPU (bench/pano-webgpu.ts, bundled): baseline
#   4. if time is left, the same with one experiment's session options (BENCH_EXPERIMENT)
#   5. bench/summarize.mjs: one JSON + a markdown table under $OUT
#
# Prepared here first (ignored folders):  node bench/build-device-bundle.mjs
# Then, via the device tool:
#   run(command="bash bench/run-device.sh", carry=[".node", ".gl", ".carry/bench"], timeout_s=590)
# Environment knobs: STEPS (20), BENCH_EXPERIMENT (JSON of extra UNet session options, or empty),
# BUDGET_S (seconds this script may use, 560), SKIP_TORCH=1, SKIP_EXPORT=1 (reuse /tmp/rf).
set -uo pipefail
START=$SECONDS
OUT=${OUT:-/tmp/bench-out}
mkdir -p "$OUT"
STEPS=${STEPS:-20}
BUDGET_S=${BUDGET_S:-560}
MODELS=/tmp/rf
EXPERIMENT=${BENCH_EXPERIMENT-'{"freeDimensionOverrides":{"batch":2,"latent_height":64,"latent_width":128}}'}
elapsed() { echo $((SECONDS - START)); }
pin() { # pin CORES CMD...: taskset where the machine has it
  local cores=$1; shift
  if command -v taskset > /dev/null; then taskset -c "$cores" "$@"; else "$@"; fi
}
say() { echo "[run-device $(elapsed)s] $*"; }

# 1. tools --------------------------------------------------------------------------------------
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
for d in /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d; do
  if [ -f "$d/nvidia_icd.json" ]; then export VK_DRIVER_FILES="$d/nvidia_icd.json"; break; fi
done
say "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
xz -dc .node/node.xz > /tmp/node && chmod +x /tmp/node
mkdir -p /tmp/bench /tmp/py
tar -C /tmp/bench -xJf .carry/bench/node_modules.tar.xz
cp .carry/bench/pano-webgpu.mjs /tmp/bench/
tar -C /tmp/py -xJf .carry/bench/diffusers.tar.xz
export PYTHONPATH=/tmp/py${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv | tee "$OUT/gpu.csv"
say "node $(/tmp/node --version); tools ready"

# 2. export (CPU cores 4-15) ‖ torch reference (GPU, cores 0-3) ---------------------------------
EXPORT_PID=
if [ -z "${SKIP_EXPORT:-}" ]; then
  pin 4-15 env OMP_NUM_THREADS=12 python3 models/export.py --random-full --out "$MODELS" \
    --sessions text_encoder,unet,vae_decoder --no-validate > "$OUT/export.log" 2>&1 &
  EXPORT_PID=$!
fi
if [ -z "${SKIP_TORCH:-}" ]; then
  pin 0-3 env OMP_NUM_THREADS=4 python3 bench/torch_reference.py --steps "$STEPS" --out "$OUT/torch.json" \
    2>&1 | tee "$OUT/torch.log" | grep -v Warning
  say "torch reference done"
fi
if [ -n "$EXPORT_PID" ]; then
  wait "$EXPORT_PID"; rc=$?
  tail -n 25 "$OUT/export.log"
  say "export rc=$rc"
  [ $rc -eq 0 ] || exit $rc
fi
du -sh "$MODELS"/* 2>/dev/null

# 3. our pipeline on Dawn WebGPU ---------------------------------------------------------------
cd /tmp/bench
run_webgpu() { # $1 label, $2 extra UNet options JSON ('' = none), $3 extra args
  local label=$1 extra=$2
  shift 2
  say "webgpu: $label"
  /tmp/node --expose-gc pano-webgpu.mjs --models "$MODELS" --steps "$STEPS" --label "$label" \
    ${extra:+--unet-options "$extra"} --out "$OUT/webgpu-$label.json" "$@" 2>&1 | tee "$OUT/webgpu-$label.log" \
    | grep -v '^\[profiling\]'
  say "webgpu $label rc=${PIPESTATUS[0]}"
}
run_webgpu baseline '' --profile
# 4. one experiment, only if it can finish inside the budget (a warm run of the baseline tells us)
if [ -n "$EXPERIMENT" ] && [ $(( $(elapsed) + 170 )) -lt "$BUDGET_S" ]; then
  run_webgpu experiment "$EXPERIMENT" --warm-runs 1
else
  say "no time left for the experiment"
fi
cd - > /dev/null

# 5. one JSON + table -------------------------------------------------------------------------
/tmp/node bench/summarize.mjs "$OUT" > "$OUT/summary.md" && cat "$OUT/summary.md"
say "done"
