#!/usr/bin/env bash
# Issue 11 on the GPU machine, in one or two calls (PHASES picks; each phase publishes what it has):
#   tools    Node 20, the Vulkan loader, the bundles, diffusers + the authors' DeepCache (carried)
#   goldens  the tiny DeepCache export + its diffusers/DeepCache goldens (bench/run-device-deepcache-goldens.sh,
#            CPU, in the background on cores 12-15)
#   export   random-full LDM3D-pano with --deepcache (cores 4-11; plain export if that fails), then the
#            int8 copy (models/narrow_weights.py --storage int8), while
#   torch    PyTorch runs on the GPU (cores 0-3): DDIM 20 (strict-fp32 UNet step), DPM-Solver++ 2M 20,
#            and DPM 20 with the authors' DeepCache at N = 2 and 3
#   int8     the headset configuration (int8, staged, tiled VAE, split guidance) in one process:
#            staged+tiled (DDIM 20, before), headset (DPM 20), headset+keep (UNet session kept),
#            headset+keep+dc2/dc3 (DeepCache) — load, first and warm generation, nvidia-smi peak
#   limits   headset+keep under WebGPU's default limits with subgroups off (what a Quest page gets)
#   sliced   the same with a sliced-attention int8 export (the mha export cannot fit without subgroups)
#   desktop  fp32 resident: the desktop configuration's UNet step (pano-webgpu sync run) at DDIM 20
#            and the desktop preset rows (memory-compare resident, desktop-dpm20[-dc3])
#   profile  one batch-1 UNet call of the int8 export profiled per dispatch (+ op classes vs PyTorch
#            strict fp32 when bench/run-device-opprofile.sh is there)
#   wrapcost the int8 export with wrap padding (models/wrap_conv.py), WRAP_CONFIGS (headset+resident+dc3)
#   parity   bench/run-device-parity.sh (tiny goldens on this GPU; full size vs PyTorch fp32, TF32 off)
# Output ($OUT, ≤ 8 files): headset.tar.gz (every JSON/MD/log of this script), headset-summary.md,
# plus what the goldens / parity phases publish (deepcache-tiny.tar.gz, summary.txt, parity.*).
#
# Prepared here first:  node bench/build-device-bundle.mjs   (.carry/bench: bundles, node_modules,
#   diffusers, deepcache.tar.xz), .node/node.xz, .gl (see docs/performance.md)
# Then: run(command="PHASES='tools goldens export torch int8 limits' bash bench/run-device-headset.sh",
#           carry=[".node", ".gl", ".carry/bench"], timeout_s=600)
# and, on the same warm machine (/tmp keeps the export for ~30 s after a call):
#       run(command="PHASES='tools export desktop profile parity' bash bench/run-device-headset.sh", ...)
# Knobs: PHASES, STEPS (20), BUDGET_S (570), INT8_CONFIGS, INT8_DC_CONFIGS ('' = none), TORCH_RUNS, DESKTOP_SYNC=1 (pano-webgpu's sync run too).
set -uo pipefail
START=$SECONDS
OUT=${OUT:-/tmp/bench-out}
WORK=/tmp/headset-work
mkdir -p "$OUT" "$WORK"
REPO=$(pwd)
PHASES=" ${PHASES:-tools goldens export torch int8 limits} "
STEPS=${STEPS:-20}
BUDGET_S=${BUDGET_S:-570}
FP32=/tmp/rf-mha
INT8=/tmp/rf-mha-int8
. bench/lib/device-tools.sh
say() { echo "[headset $((SECONDS - START))s] $*" | tee -a "$WORK/headset-summary.md"; }
has() { [[ "$PHASES" == *" $1 "* ]]; }
left() { echo $((BUDGET_S - (SECONDS - START))); }
publish() {
  cp "$WORK/headset-summary.md" "$OUT/" 2> /dev/null
  tar -C "$WORK" -czf "$OUT/headset.tar.gz" --exclude=headset-summary.md . 2> /dev/null
}
# node_run NAME ARGS...: one pano-webgpu process, bounded by what is left of the budget
node_run() {
  local name=$1 budget
  shift
  budget=$(left)
  [ "$budget" -gt 45 ] || { say "no time left for $name"; return 1; }
  say "pano-webgpu $name: $* (${budget}s left)"
  (cd /tmp/bench && timeout "$budget" /tmp/node pano-webgpu.mjs "$@" 2>&1 | grep -v XDG_RUNTIME_DIR > "$WORK/$name.log")
  local rc=$?
  tail -n 12 "$WORK/$name.log"
  say "$name rc=$rc"
  publish
  return $rc
}

# tools ------------------------------------------------------------------------------------------
if has tools; then
  setup_vulkan
  # parity-webgpu.mjs only when carried (the 64 MiB carry limit may leave it behind).
  unpack_bench /tmp/bench pano-webgpu.mjs $([ -f .carry/bench/parity-webgpu.mjs ] && echo parity-webgpu.mjs) || { say "cannot unpack the carried tools"; publish; exit 1; }
  [ -f .carry/bench/deepcache.tar.xz ] && tar -C /tmp/py -xJf .carry/bench/deepcache.tar.xz
  export DEEPCACHE_SRC=/tmp/py/DeepCache
  nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv | tee "$WORK/gpu.csv"
  say "node $(/tmp/node --version); tools ready"
fi

# goldens (background, CPU) --------------------------------------------------------------------------
GOLDENS_PID=
if has goldens; then
  (OUT=$OUT pin 12-15 bash bench/run-device-deepcache-goldens.sh > "$WORK/goldens.log" 2>&1) &
  GOLDENS_PID=$!
fi

# sliced export (background, CPU): what a page without subgroups can run (no flash attention: ORT's
# MultiHeadAttention would materialise [1, 8, 8192, 8192] scores = 2 GiB, over WebGPU's default
# maxBufferSize): query-sliced attention with ≤ 128 MiB score slices, int8
FP32S=/tmp/rf-sliced
INT8S=/tmp/rf-sliced-int8
SLICED_PID=
if has sliced && [ ! -f "$INT8S/manifest.json" ]; then
  (
    pin 8-15 env OMP_NUM_THREADS=8 python3 models/export.py --random-full --attention sliced --slice-limit-mib 128 --deepcache --out "$FP32S" \
      --sessions text_encoder,unet,vae_decoder --no-validate > "$WORK/export-sliced.log" 2>&1 || {
      rm -rf "$FP32S"
      pin 8-15 env OMP_NUM_THREADS=8 python3 models/export.py --random-full --attention sliced --slice-limit-mib 128 --out "$FP32S" \
        --sessions text_encoder,unet,vae_decoder --no-validate >> "$WORK/export-sliced.log" 2>&1
    }
    pin 8-15 python3 models/narrow_weights.py --storage int8 --in "$FP32S" --out "$INT8S" > "$WORK/narrow-sliced.log" 2>&1
    rm -rf "$FP32S"
  ) &
  SLICED_PID=$!
fi

# export (background, CPU) ‖ torch (GPU) -----------------------------------------------------------
EXPORT_PID=
if has export && [ ! -f "$FP32/manifest.json" ]; then
  (
    pin 4-11 env OMP_NUM_THREADS=8 python3 models/export.py --random-full --attention mha --deepcache --out "$FP32" \
      --sessions text_encoder,unet,vae_decoder --no-validate > "$WORK/export.log" 2>&1 || {
      echo "export --deepcache failed; exporting without it" >> "$WORK/export.log"
      rm -rf "$FP32"
      pin 4-11 env OMP_NUM_THREADS=8 python3 models/export.py --random-full --attention mha --out "$FP32" \
        --sessions text_encoder,unet,vae_decoder --no-validate >> "$WORK/export.log" 2>&1
    }
    pin 4-11 python3 models/narrow_weights.py --storage int8 --in "$FP32" --out "$INT8" > "$WORK/narrow.log" 2>&1
  ) &
  EXPORT_PID=$!
fi
if has torch; then
  for run in ${TORCH_RUNS:-ddim:1 dpm:1 dpm:3}; do
    sched=${run%:*} n=${run#*:}
    [ "$(left)" -gt 120 ] || { say "no time left for torch $run"; break; }
    say "torch $sched N=$n"
    pin 0-3 env OMP_NUM_THREADS=4 python3 bench/torch_reference.py --steps "$STEPS" --scheduler "$sched" --deepcache-interval "$n" \
      --dtypes fp32 --unet-calls 10 --out "$WORK/torch-$sched-dc$n.json" > "$WORK/torch-$sched-dc$n.log" 2>&1
    say "torch $sched N=$n rc=$? $(grep -o '"total_ms_median": [0-9.]*' "$WORK/torch-$sched-dc$n.json" 2> /dev/null | head -1)"
    publish
  done
fi
if [ -n "$EXPORT_PID" ]; then
  wait "$EXPORT_PID"
  tail -n 6 "$WORK/export.log" "$WORK/narrow.log"
  grep -o '"deepcache"' "$FP32/manifest.json" > /dev/null && say "export has the DeepCache graphs" || say "export WITHOUT DeepCache graphs"
  du -sh "$FP32" "$INT8" 2> /dev/null
fi
[ -f "$INT8/manifest.json" ] || has desktop || { say "no int8 export"; publish; }

# int8: the headset configuration -----------------------------------------------------------------------
DC_CONFIGS=
grep -q '"deepcache"' "$INT8/manifest.json" 2> /dev/null && DC_CONFIGS=",${INT8_DC_CONFIGS-headset+keep+dc3,headset+keep+dc2}"
if has int8 && [ -f "$INT8/manifest.json" ]; then
  node_run int8 --models "$INT8" --memory-compare --steps "$STEPS" --guidance 7 --no-prime \
    --configs "${INT8_CONFIGS:-headset+keep,staged+tiled,headset}" \
    --label headset-int8 --out "$WORK/memory-int8.json" --md "$WORK/memory-int8.md"
  # DeepCache in a process of its own: a failure there keeps the figures above
  [ -n "${DC_CONFIGS#,}" ] && node_run int8-dc --models "$INT8" --memory-compare --steps "$STEPS" --guidance 7 --no-prime \
    --configs "${DC_CONFIGS#,}" --label headset-int8-deepcache --out "$WORK/memory-int8-dc.json" --md "$WORK/memory-int8-dc.md"
fi
if has limits && [ -f "$INT8/manifest.json" ]; then
  LC=headset+keep
  [ -n "$DC_CONFIGS" ] && LC=headset+keep,headset+keep+dc3
  node_run limits --models "$INT8" --memory-compare --steps "$STEPS" --guidance 7 --no-prime --limits default --subgroups off \
    --configs "$LC" --label headset-int8-default-limits --out "$WORK/memory-int8-limits.json" --md "$WORK/memory-int8-limits.md"
fi

# wrapcost: what horizontal wrap padding (issue 12) costs: the int8 export rewritten by
# models/wrap_conv.py (wrap on by default), the same configurations as the int8 phase's WRAP_CONFIGS
wrapcost_configs=${WRAP_CONFIGS:-headset+resident+dc3}
if has wrapcost && [ -f "$INT8/manifest.json" ] && [ "$(left)" -gt 120 ]; then
  INT8W=/tmp/rf-mha-int8-wrap
  [ -f "$INT8W/manifest.json" ] || pin 4-11 python3 models/wrap_conv.py --in "$INT8" --out "$INT8W" > "$WORK/wrap-int8.log" 2>&1
  tail -n 4 "$WORK/wrap-int8.log"
  [ -f "$INT8W/manifest.json" ] && node_run wrapcost --models "$INT8W" --memory-compare --steps "$STEPS" --guidance 7 --no-prime \
    --configs "$wrapcost_configs" --label headset-int8-wrap --out "$WORK/memory-int8-wrap.json" --md "$WORK/memory-int8-wrap.md"
fi

# desktop: fp32 resident ------------------------------------------------------------------------------
if has desktop && [ -f "$FP32/manifest.json" ]; then
  [ -n "${DESKTOP_SYNC:-}" ] && node_run desktop-sync --models "$FP32" --steps "$STEPS" --warm-runs 1 --label desktop --out "$WORK/webgpu-desktop.json"
  DDC=resident,desktop-dpm20
  grep -q '"deepcache"' "$FP32/manifest.json" && DDC=resident,desktop-dpm20,desktop-dpm20-dc3
  node_run desktop --models "$FP32" --memory-compare --steps "$STEPS" --guidance 7 --no-prime --configs "$DDC" \
    --label desktop-fp32 --out "$WORK/memory-fp32.json" --md "$WORK/memory-fp32.md"
fi

# parity ------------------------------------------------------------------------------------------------
if has parity && [ -f bench/run-device-parity.sh ] && [ "$(left)" -gt 90 ]; then
  BUDGET_S=$(($(left) - 10)) OUT=$OUT bash bench/run-device-parity.sh > "$WORK/parity.log" 2>&1
  say "parity rc=$?"; tail -n 25 "$WORK/parity.log"
fi

# sliced: the headset configuration under WebGPU's default limits with subgroups off --------------------
if has sliced; then
  if [ -n "$SLICED_PID" ]; then wait "$SLICED_PID"; tail -n 4 "$WORK/export-sliced.log" "$WORK/narrow-sliced.log"; fi
  # The app's headset default (UNet re-created, DeepCache 3) first: it is the one that must fit 3 GB.
  SC=${SLICED_CONFIGS:-headset}
  grep -q '"deepcache"' "$INT8S/manifest.json" 2> /dev/null && SC=${SLICED_CONFIGS:-headset+dc3,headset+keep+dc3}
  [ -f "$INT8S/manifest.json" ] && node_run sliced-limits --models "$INT8S" --memory-compare --steps "$STEPS" --guidance 7 --no-prime \
    --limits default --subgroups off --configs "$SC" --label headset-int8-sliced-default-limits \
    --out "$WORK/memory-int8-sliced-limits.json" --md "$WORK/memory-int8-sliced-limits.md"
fi

# profile: one batch-1 UNet call of the int8 export -------------------------------------------------------
if has profile && [ -f "$INT8/manifest.json" ]; then
  node_run profile --models "$INT8" --steps 2 --warm-runs 0 --guidance 1 --profile --label headset-profile --out "$WORK/webgpu-profile.json"
  if [ -f bench/run-device-opprofile.sh ] && [ "$(left)" -gt 60 ]; then
    MODELS=$INT8 PROFILE=$WORK/webgpu-profile.json OUT=$WORK bash bench/run-device-opprofile.sh > "$WORK/opprofile.log" 2>&1
    say "op profile rc=$?"; tail -n 20 "$WORK/opprofile.log"
  fi
fi

if [ -n "$GOLDENS_PID" ]; then
  wait "$GOLDENS_PID"
  say "goldens rc=$?"; tail -n 25 "$WORK/goldens.log"
fi
for f in "$WORK"/memory-*.md; do [ -f "$f" ] && { echo; echo "## $(basename "$f")"; cat "$f"; } >> "$WORK/headset-summary.md"; done
publish
say done
