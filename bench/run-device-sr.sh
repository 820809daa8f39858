#!/usr/bin/env bash
# The whole GPU-machine side of the LDM3D-SR benchmark (issues 4 and 5), in one device call:
#   1. unpack Node, the Vulkan loader + GL dispatch libraries, the bench bundle, diffusers and its
#      community LDM3D-SR pipeline (all carried in .carry/bench, see below)
#   2. export the random-full LDM3D-SR graphs (models/export.py --random-full --pipeline ldm3d-sr,
#      512×512; CPU cores 4-9) and, for the mha experiment, its UNet alone with --attention mha
#      (cores 10-15), while the PyTorch diffusers reference runs on the GPU
#      (bench/torch_reference_sr.py, cores 0-3)
#   3. our TypeScript SR pipeline on Dawn WebGPU (bench/sr-webgpu.ts, bundled): baseline + one UNet
#      call profiled per dispatch
#   4. while the budget allows, the experiments in EXPERIMENTS (one process each, same graphs)
#   5. bench/summarize-sr.mjs → $OUT/result.json, $OUT/summary.md, $OUT/logs.tar.gz, after EVERY
#      stage, so a timeout still returns what was measured
#
# Prepared here first:  node bench/build-device-bundle.mjs   (→ .carry/bench: sr-webgpu.mjs,
#   node_modules.tar.xz, pipeline_stable_diffusion_upscale_ldm3d.py; diffusers.tar.xz and gl/ are
#   made once, see docs/performance.md)
# Then, via the device tool:
#   run(command="bash bench/run-device-sr.sh", carry=[".node", ".gl", ".carry/bench"], timeout_s=590)
#
# Knobs (environment): STEPS (20), WARM_RUNS (2), EXPERIMENTS ('mha freedims'; '' for none),
# BUDGET_S (seconds this script may use, 550), SKIP_TORCH=1, TORCH_DTYPES (fp32,fp16), VALIDATE=1
# (the export checks each graph against torch with onnxruntime CPU: slow), MODELS (/tmp/rfsr; the
# export is skipped when MODELS/manifest.json exists, e.g. on a warm machine), NO_VULKAN_SETUP=1
# (do not unpack .gl / gl debs), NODE (a node binary instead of .node/node.xz), WORK, BENCH_DIR.
#
# Local smoke test (no GPU, no torch: SwiftShader and the tiny SR model; what a CPU box can check):
#   node bench/build-device-bundle.mjs && OUT=/tmp/sr-out NO_VULKAN_SETUP=1 NODE=$(command -v node) \
#     MODELS=models/tiny/ldm3d-sr STEPS=2 WARM_RUNS=1 EXPERIMENTS=freedims bash bench/run-device-sr.sh
set -uo pipefail
START=$SECONDS
OUT=${OUT:-/tmp/bench-sr-out}
WORK=${WORK:-/tmp/bench-sr-work}
BENCH_DIR=${BENCH_DIR:-/tmp/bench-sr}
REPO=$(pwd)
STEPS=${STEPS:-20}
WARM_RUNS=${WARM_RUNS:-2}
BUDGET_S=${BUDGET_S:-550}
EXPERIMENTS=${EXPERIMENTS-mha freedims}
TORCH_DTYPES=${TORCH_DTYPES:-fp32,fp16}
MODELS=${MODELS:-/tmp/rfsr}
case $MODELS in /*) ;; *) MODELS=$REPO/$MODELS ;; esac
MODELS_MHA=${MODELS}-mha-unet # the UNet alone, exported with --attention mha
MODELS_MHA_SET=${MODELS}-mha  # MODELS with that UNet in place of the sliced one
mkdir -p "$OUT" "$WORK" "$BENCH_DIR"
rm -f "$WORK"/webgpu-sr-*.json "$WORK"/torch-sr.json "$WORK"/notes.txt

elapsed() { echo $((SECONDS - START)); }
left() { echo $((BUDGET_S - (SECONDS - START))); }
say() { echo "[run-device-sr $(elapsed)s] $*"; }
note() { say "$*"; echo "$*" >> "$WORK/notes.txt"; }
. bench/lib/device-tools.sh # setup_vulkan; this script keeps its own pin (below)
pin() { # pin CORES CMD...: taskset where the machine has it and has those cores
  local cores=$1; shift
  if command -v taskset > /dev/null && [ "$(nproc)" -ge 16 ]; then taskset -c "$cores" "$@"; else "$@"; fi
}
NODE=${NODE:-/tmp/node}
publish() {
  "$NODE" "$REPO/bench/summarize-sr.mjs" "$WORK" > "$WORK/summary.md" 2> "$WORK/summarize.err"
  cp "$WORK/summary.md" "$WORK/result.json" "$OUT/" 2> /dev/null
  tar -C "$WORK" -czf "$OUT/logs.tar.gz" --exclude=result.json --exclude=summary.md . 2> /dev/null
}

# 1. tools --------------------------------------------------------------------------------------
setup_vulkan
say "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset} VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-unset}"
if [ "$NODE" = /tmp/node ] && [ ! -x /tmp/node ]; then xz -dc .node/node.xz > /tmp/node && chmod +x /tmp/node; fi
"$NODE" --version > /dev/null || { say "no node at $NODE"; exit 1; }
tar -C "$BENCH_DIR" -xJf .carry/bench/node_modules.tar.xz || { say "cannot unpack .carry/bench/node_modules.tar.xz"; exit 1; }
cp .carry/bench/sr-webgpu.mjs "$BENCH_DIR/" || { say "no .carry/bench/sr-webgpu.mjs: run node bench/build-device-bundle.mjs"; exit 1; }
if [ -f .carry/bench/diffusers.tar.xz ]; then
  mkdir -p /tmp/py && tar -C /tmp/py -xJf .carry/bench/diffusers.tar.xz
  export PYTHONPATH=/tmp/py${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONUNBUFFERED=1
for f in .carry/bench/pipeline_stable_diffusion_upscale_ldm3d.py .carry/examples/community/pipeline_stable_diffusion_upscale_ldm3d.py; do
  if [ -z "${DIFFUSERS_COMMUNITY_PIPELINE:-}" ] && [ -f "$f" ]; then export DIFFUSERS_COMMUNITY_PIPELINE=$REPO/$f; fi
done
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv 2>&1 | tee "$WORK/gpu.csv"
HAVE_TORCH=
if python3 -c "import torch, diffusers, transformers, onnx" > "$WORK/python-check.log" 2>&1; then HAVE_TORCH=1; fi
HAVE_CUDA=
if [ -n "$HAVE_TORCH" ] && python3 -c "import torch; assert torch.cuda.is_available()" >> "$WORK/python-check.log" 2>&1; then HAVE_CUDA=1; fi
say "node $("$NODE" --version); python torch+diffusers: ${HAVE_TORCH:-no}, CUDA: ${HAVE_CUDA:-no}; community pipeline: ${DIFFUSERS_COMMUNITY_PIPELINE:-missing}; tools ready"

# 2. exports (CPU) ‖ PyTorch reference (GPU) ----------------------------------------------------
EXPORT_PID=
MHA_PID=
export_sr() { # DEST CORES THREADS LOG extra-args...: runs in the background, with its own time limit
  local dest=$1 cores=$2 threads=$3 logf=$4; shift 4
  local validate=--no-validate
  [ "${VALIDATE:-0}" = 1 ] && validate=
  # the limit leaves the budget's last ~150 s to our pipeline and the summary
  local limit=$(( $(left) - 150 > 60 ? $(left) - 150 : 60 ))
  pin "$cores" timeout "$limit" env OMP_NUM_THREADS="$threads" python3 models/export.py --random-full \
    --pipeline ldm3d-sr --out "$dest" $validate "$@" > "$WORK/$logf" 2>&1
}
if [ -f "$MODELS/manifest.json" ]; then
  say "using the existing export at $MODELS"
elif [ -n "$HAVE_TORCH" ]; then
  # sliced attention named explicitly: the baseline the mha experiment is measured against
  export_sr "$MODELS" 4-9 6 export-sr.log --attention sliced &
  EXPORT_PID=$!
else
  note "no export: python3 lacks torch/diffusers/transformers/onnx (see python-check.log) and $MODELS/manifest.json does not exist"
fi
if [[ " $EXPERIMENTS " == *" mha "* ]] && [ ! -f "$MODELS_MHA/manifest.json" ] && [ -n "$HAVE_TORCH" ]; then
  export_sr "$MODELS_MHA" 10-15 6 export-sr-mha.log --attention mha --sessions unet &
  MHA_PID=$!
fi
if [ -n "${SKIP_TORCH:-}" ]; then
  note "PyTorch reference skipped (SKIP_TORCH)"
elif [ -z "$HAVE_CUDA" ]; then
  note "PyTorch reference skipped: no torch with CUDA here (see python-check.log)"
elif [ -z "${DIFFUSERS_COMMUNITY_PIPELINE:-}" ]; then
  note "PyTorch reference skipped: pipeline_stable_diffusion_upscale_ldm3d.py is in neither .carry/bench nor .carry/examples/community"
else
  # at most 300 s, and the budget's last ~200 s stay for the export's end and our pipeline
  limit=$(( $(left) - 200 ))
  [ "$limit" -gt 300 ] && limit=300
  [ "$limit" -lt 60 ] && limit=60
  pin 0-3 timeout "$limit" env OMP_NUM_THREADS=4 python3 bench/torch_reference_sr.py --steps "$STEPS" \
    --dtypes "$TORCH_DTYPES" --out "$WORK/torch-sr.json" > "$WORK/torch-sr.log" 2>&1
  rc=$?
  grep -v Warning "$WORK/torch-sr.log" | grep '^\[torch-sr\]\|Error\|error' | tail -n 20
  say "torch reference rc=$rc"
  [ $rc -eq 0 ] || note "PyTorch reference exited with $rc (124 = time limit); see torch-sr.log"
  publish
fi
if [ -n "$EXPORT_PID" ]; then
  wait "$EXPORT_PID"; rc=$?
  tail -n 25 "$WORK/export-sr.log"
  say "export rc=$rc"
  [ $rc -eq 0 ] || note "export exited with $rc (124 = time limit); see export-sr.log"
fi
[ -f "$MODELS/export-report.json" ] && cp "$MODELS/export-report.json" "$WORK/export-sr-report.json"
du -sh "$MODELS"/* 2> /dev/null
publish
if [ ! -f "$MODELS/manifest.json" ]; then
  note "no SR models at $MODELS: our pipeline was not run"
  publish
  cat "$OUT/summary.md"
  exit 1
fi
LATENT=$(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(m['image']['height']//m['vae_scale_factor'], m['image']['width']//m['vae_scale_factor'])" "$MODELS/manifest.json")
read -r LAT_H LAT_W <<< "$LATENT"

# 3. our pipeline on Dawn WebGPU ---------------------------------------------------------------
cd "$BENCH_DIR" || exit 1
run_webgpu() { # LABEL MODELS sr-webgpu-args...: one process, limited to what the budget has left
  local label=$1 models=$2
  shift 2
  local limit=$(( $(left) - 15 ))
  if [ "$limit" -lt 30 ]; then note "no time left for $label"; return 1; fi
  say "webgpu: $label ($models) $* [limit ${limit}s]"
  timeout "$limit" "$NODE" sr-webgpu.mjs --models "$models" --steps "$STEPS" --warm-runs "$WARM_RUNS" --label "$label" \
    --out "$WORK/webgpu-sr-$label.json" "$@" 2>&1 | tee "$WORK/webgpu-sr-$label.log" | grep -v '^ \|^{\|^}\|XDG_RUNTIME_DIR'
  local rc=${PIPESTATUS[0]}
  say "webgpu $label rc=$rc"
  [ $rc -eq 0 ] || note "ours $label exited with $rc (124 = time limit); see webgpu-sr-$label.log"
  publish
  return $rc
}
T_BASE=$SECONDS
run_webgpu baseline "$MODELS" --profile
T_ONE=$((SECONDS - T_BASE))

# 4. experiments, each only if it can finish inside the budget (it costs about what the baseline did)
run_experiment() { # the ONE change each experiment makes against the baseline
  case $1 in
    # every UNet attention as one com.microsoft.MultiHeadAttention (ORT's fused WebGPU kernel)
    mha)
      if [ -n "$MHA_PID" ]; then wait "$MHA_PID"; say "mha export rc=$?"; tail -n 6 "$WORK/export-sr-mha.log"; MHA_PID=; fi
      if [ ! -f "$MODELS_MHA/manifest.json" ]; then note "mha experiment skipped: no mha UNet export"; return; fi
      [ -f "$MODELS_MHA/export-report.json" ] && cp "$MODELS_MHA/export-report.json" "$WORK/export-sr-mha-report.json"
      mkdir -p "$MODELS_MHA_SET"
      for d in tokenizer text_encoder vae_encoder vae_decoder; do ln -sfn "$MODELS/$d" "$MODELS_MHA_SET/$d"; done
      ln -sfn "$MODELS_MHA/unet" "$MODELS_MHA_SET/unet"
      python3 - "$MODELS" "$MODELS_MHA" "$MODELS_MHA_SET" << 'PY' || { note "mha experiment skipped: manifest merge failed"; return; }
import json, sys
a = json.load(open(sys.argv[1] + '/manifest.json')); b = json.load(open(sys.argv[2] + '/manifest.json'))
a['files'] = [f for f in a['files'] if not f['path'].startswith('unet/')] + [f for f in b['files'] if f['path'].startswith('unet/')]
a['sessions']['unet'] = b['sessions']['unet']
# as the app sees an mha export: the pipeline self-tests fused attention on the GPU at load
a['attention'] = b.get('attention', 'mha')
a['model_id'] += ' + UNet exported with --attention mha'
json.dump(a, open(sys.argv[3] + '/manifest.json', 'w'), indent=2)
PY
      run_webgpu experiment-mha "$MODELS_MHA_SET" ;;
    # static shapes for the UNet: ORT can fold the dynamic-shape subgraphs and plan memory
    freedims) run_webgpu experiment-freedims "$MODELS" \
      --unet-options "{\"freeDimensionOverrides\":{\"batch\":2,\"latent_height\":$LAT_H,\"latent_width\":$LAT_W}}" ;;
    # V8 TurboFan instead of --liftoff-only (browsers tier wasm up; the SR latents loop is JS)
    turbofan) run_webgpu experiment-turbofan "$MODELS" --turbofan ;;
    *) note "unknown experiment $1" ;;
  esac
}
for e in $EXPERIMENTS; do
  if [ $(( $(elapsed) + T_ONE * 11 / 10 + 15 )) -lt "$BUDGET_S" ]; then run_experiment "$e"
  else note "no time left for experiment $e (baseline took ${T_ONE}s)"; fi
done
cd "$REPO" || true

# 5. one JSON + table -------------------------------------------------------------------------
publish
cat "$OUT/summary.md"
say "done"
