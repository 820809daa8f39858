#!/usr/bin/env bash
# Memory/speed of the UNet stage with weight-only int4/int8 MatMul weights (bench/quantize_unet.py)
# against fp32, both under the staged policy + tiled VAE decode (where the UNet stage sets the
# peak). One device call:
#   run(command="bash bench/run-device-quant.sh", carry=[".node", ".gl", ".carry/bench"], timeout_s=600)
# 1. bench/run-device-memory.sh with CONFIGS=staged+tiled (tools, fp32 mha export, the fp32 figures)
# 2. quantize the UNet (BITS, default 4), 3. the same comparison on the quantized export.
set -uo pipefail
START=$SECONDS
OUT=${OUT:-/tmp/bench-out}
BITS=${BITS:-4}
CONFIGS=staged+tiled BUDGET_S=${BUDGET_S_FP32:-300} bash bench/run-device-memory.sh
say() { echo "[quant $((SECONDS - START))s] $*"; }
Q=/tmp/rf-q$BITS
python3 bench/quantize_unet.py /tmp/rf-mha "$Q" --bits "$BITS" --block 32 2>&1 | grep -v Warning | tail -n 8
say "quantize rc=${PIPESTATUS[0]}"
du -sh "$Q"/unet/*
LEFT=$(( ${BUDGET_S:-570} - (SECONDS - START) ))
( cd /tmp/bench && timeout "$LEFT" /tmp/node pano-webgpu.mjs --models "$Q" --memory-compare --configs staged+tiled \
    --steps "${STEPS:-20}" --guidance 7 --label "memory-q$BITS" --out "$OUT/memory-q$BITS.json" --md "$OUT/memory-q$BITS.md" \
    2>&1 | grep -v XDG_RUNTIME_DIR )
say "pano-webgpu rc=$?"
