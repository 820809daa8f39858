#!/usr/bin/env bash
# Issue 4, "close the gap" item 1: fused attention. One device call, against a baseline in the same call:
#   - exports (CPU, in parallel): random-full sliced (text encoder, UNet, VAE decoder) → /tmp/rf;
#     the UNet alone with --attention mha → /tmp/rfm; tiny pano with --attention mha (validated
#     against diffusers with onnxruntime CPU) → $OUT/tiny-mha.tar.gz
#   - meanwhile on the GPU: bench/mha-smoke (single MultiHeadAttention nodes, incl. the UNet's
#     8192-token shapes) on onnxruntime-web WebGPU against numpy: correctness, first-run time
#   - /tmp/rf-mha = /tmp/rf with the mha UNet; then pano-webgpu: baseline, mha (+ profile),
#     mha + freeDimensionOverrides, while BUDGET_S allows
#   run(command="bash bench/run-device-mha.sh", carry=[".node", ".gl", ".carry/bench"], timeout_s=540)
set -uo pipefail
START=$SECONDS
OUT=${OUT:-/tmp/bench-out}
WORK=/tmp/bench-work
mkdir -p "$OUT" "$WORK"
REPO=$(pwd)
STEPS=${STEPS:-20}
BUDGET_S=${BUDGET_S:-520}
say() { echo "[mha $((SECONDS - START))s] $*"; }
. bench/lib/device-tools.sh
publish() {
  /tmp/node "$REPO/bench/summarize.mjs" "$WORK" > "$WORK/summary.md" 2> "$WORK/summarize.err"
  cp "$WORK/summary.md" "$WORK/result.json" "$OUT/" 2> /dev/null
  tar -C "$WORK" -czf "$OUT/logs.tar.gz" --exclude=result.json --exclude=summary.md . 2> /dev/null
}
setup_vulkan
unpack_bench /tmp/bench pano-webgpu.mjs mha-smoke.mjs || { say "cannot unpack the carried tools"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv | tee "$WORK/gpu.csv"
python3 -c "import torch, onnxscript, onnxruntime; print('torch', torch.__version__, 'onnxscript', onnxscript.__version__, 'ort', onnxruntime.__version__)"
say "tools ready"

pin 4-8 env OMP_NUM_THREADS=5 python3 models/export.py --random-full --attention sliced --out /tmp/rf \
  --sessions text_encoder,unet,vae_decoder --no-validate > "$WORK/export.log" 2>&1 &
P_RF=$!
pin 9-13 env OMP_NUM_THREADS=5 python3 models/export.py --random-full --attention mha --out /tmp/rfm \
  --sessions unet --no-validate > "$WORK/export-mha.log" 2>&1 &
P_RFM=$!
( pin 14-15 env OMP_NUM_THREADS=2 python3 models/export.py --tiny --attention mha --out /tmp/tiny-mha \
    > "$WORK/export-tiny-mha.log" 2>&1 && tar -C /tmp -czf "$OUT/tiny-mha.tar.gz" tiny-mha ) &
P_TINY=$!
# the fused op alone on the GPU while the CPU exports
pin 0-3 python3 bench/mha_smoke.py /tmp/mha --full 2>&1 | grep -v Warning | tee "$WORK/mha-smoke-py.log"
( cd /tmp/bench && BACKENDS=webgpu pin 0-3 /tmp/node mha-smoke.mjs /tmp/mha/*.onnx 2>&1 | grep -v XDG | tee "$WORK/mha-smoke.log" )
say "smoke done"
wait $P_TINY; say "tiny mha export rc=$?"; tail -n 12 "$WORK/export-tiny-mha.log"
wait $P_RFM; rc=$?; say "mha export rc=$rc"; tail -n 8 "$WORK/export-mha.log"
wait $P_RF; say "sliced export rc=$?"; tail -n 6 "$WORK/export.log"
publish
# the sliced set with the mha UNet in place of the sliced one
mkdir -p /tmp/rf-mha
for d in tokenizer text_encoder vae_decoder; do ln -sfn /tmp/rf/$d /tmp/rf-mha/$d; done
ln -sfn /tmp/rfm/unet /tmp/rf-mha/unet
python3 - <<'PY'
import json
a = json.load(open('/tmp/rf/manifest.json')); b = json.load(open('/tmp/rfm/manifest.json'))
a['files'] = [f for f in a['files'] if not f['path'].startswith('unet/')] + [f for f in b['files'] if f['path'].startswith('unet/')]
a['sessions']['unet'] = b['sessions']['unet']
json.dump(a, open('/tmp/rf-mha/manifest.json', 'w'), indent=2)
PY
cd /tmp/bench
run_webgpu() { # label models args...
  local label=$1 models=$2; shift 2
  say "webgpu: $label $models $*"
  timeout $(( BUDGET_S - (SECONDS - START) )) /tmp/node pano-webgpu.mjs --models "$models" --steps "$STEPS" --label "$label" \
    --out "$WORK/webgpu-$label.json" "$@" 2>&1 | tee "$WORK/webgpu-$label.log" | grep -v '^ \|^{\|^}'
  say "webgpu $label rc=${PIPESTATUS[0]}"
  publish
}
FREE='{"freeDimensionOverrides":{"batch":2,"latent_height":64,"latent_width":128}}'
run_webgpu baseline /tmp/rf --warm-runs 1
[ $((SECONDS - START)) -lt $((BUDGET_S - 60)) ] && run_webgpu experiment-mha /tmp/rf-mha --warm-runs 1 --profile
[ $((SECONDS - START)) -lt $((BUDGET_S - 60)) ] && run_webgpu experiment-mha-freedims /tmp/rf-mha --warm-runs 1 --unet-options "$FREE"
[ $((SECONDS - START)) -lt $((BUDGET_S - 60)) ] && run_webgpu experiment-freedims /tmp/rf --warm-runs 1 --unet-options "$FREE"
publish
cat "$OUT/summary.md"
say done
