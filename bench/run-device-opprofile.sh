#!/usr/bin/env bash
# Issue 11 §2: per-op-class profile of one UNet call (headset configuration: int8 export, batch 1,
# latent 64×128, fused MultiHeadAttention) against PyTorch strict fp32 on the same op shapes, in the
# same device call. For a larger device script, AFTER pano-webgpu --profile has run on that
# configuration (the torch timings need the GPU to themselves):
#   MODELS=/tmp/rf-mha-int8 bash bench/run-device-opprofile.sh "$WORK/webgpu-headset.json"
#   (or PROFILE_JSON=... / PROFILE=... instead of the argument; without a profile, the table has the torch side only)
# Steps: bench/op_profile.py (FLOPs per node; the same op shapes in torch with TF32 off) →
# bench/op-profile-join.mjs (joins the profile's kernel ms by class). Writes $OUT/op-profile.md (the
# table) and $OUT/op-profile.json (the joined figures + op_profile.py's per-shape detail); its log and
# op_profile.py's own JSON go to $WORK.
# Knobs: MODELS (an export folder with manifest.json; default /tmp/rf-mha-int8, what
# bench/run-device-memory.sh WEIGHTS=int8 makes), BATCH (1 = guidance as two calls; 2 = batched),
# LATENT (64x128), TOKENS (77), OP_BUDGET_S (seconds op_profile.py may spend timing shapes, 120; costliest shapes first),
# CORES (taskset cores for python, e.g. 0-7), PEAK_TFLOPS / PEAK_SOURCE (the fp32 non-tensor-core peak;
# default from the GPU's name, figures from NVIDIA's datasheets: H100 SXM and H200 SXM 67, H100 PCIe 51,
# H100 NVL and H200 NVL 60 TFLOPS).
set -uo pipefail
START=$SECONDS
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO" || exit 1
OUT=${OUT:-/tmp/bench-out}
WORK=${WORK:-/tmp/bench-work}
mkdir -p "$OUT" "$WORK"
MODELS=${MODELS:-/tmp/rf-mha-int8}
PROFILE_JSON=${1:-${PROFILE_JSON:-${PROFILE:-}}}
say() { echo "[opprofile $((SECONDS - START))s] $*"; }
. bench/lib/device-tools.sh

if [ ! -x /tmp/node ] && [ -f .node/node.xz ]; then xz -dc .node/node.xz > /tmp/node && chmod +x /tmp/node; fi
NODE=/tmp/node
[ -x "$NODE" ] || NODE=$(command -v node || true)
[ -n "$NODE" ] || { say "no Node (carry .node)"; exit 1; }
[ -f "$MODELS/manifest.json" ] || { say "no export at $MODELS (manifest.json missing)"; exit 1; }

GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader 2> /dev/null | head -n 1)
case "$GPU" in
  *H100*PCIe*) PEAK=51; SRC="NVIDIA H100 Tensor Core GPU datasheet: FP32 51 TFLOPS (H100 PCIe)" ;;
  *H100*NVL*) PEAK=60; SRC="NVIDIA H100 Tensor Core GPU datasheet: FP32 60 TFLOPS (H100 NVL)" ;;
  *H200*NVL*) PEAK=60; SRC="NVIDIA H200 Tensor Core GPU datasheet: FP32 60 TFLOPS (H200 NVL)" ;;
  *H200*) PEAK=67; SRC="NVIDIA H200 Tensor Core GPU datasheet: FP32 67 TFLOPS (H200 SXM)" ;;
  *H100*) PEAK=67; SRC="NVIDIA H100 Tensor Core GPU datasheet: FP32 67 TFLOPS (H100 SXM)" ;;
  *) PEAK=67; SRC="assumed H100 SXM figure (NVIDIA H100 datasheet: FP32 67 TFLOPS); GPU '$GPU' not recognised" ;;
esac
PEAK=${PEAK_TFLOPS:-$PEAK}
SRC=${PEAK_SOURCE:-$SRC}
say "GPU ${GPU:-unknown}; fp32 peak $PEAK TFLOP/s ($SRC); models $MODELS; profile ${PROFILE_JSON:-none}"

python3 bench/op_profile.py --self-test || say "op_profile.py self-test failed: its FLOP counts are suspect"
RUN=()
[ -n "${CORES:-}" ] && RUN=(pin "$CORES")
SHAPES=$WORK/op-shapes.json
rm -f "$SHAPES"
${RUN[@]+"${RUN[@]}"} python3 bench/op_profile.py --models "$MODELS" --batch "${BATCH:-1}" --latent "${LATENT:-64x128}" \
  --tokens "${TOKENS:-77}" --budget-s "${OP_BUDGET_S:-120}" --peak-tflops "$PEAK" --peak-source "$SRC" \
  --out "$SHAPES" 2>&1 | grep -v Warning | tee "$WORK/op-profile.log"
say "op_profile.py rc=${PIPESTATUS[0]}"

JOIN=(--md "$OUT/op-profile.md" --out-json "$OUT/op-profile.json" --peak-tflops "$PEAK" --peak-source "$SRC")
HAVE=0
[ -f "$SHAPES" ] && { JOIN+=(--ops "$SHAPES"); HAVE=1; }
if [ -n "$PROFILE_JSON" ] && [ -f "$PROFILE_JSON" ]; then
  JOIN+=(--profile "$PROFILE_JSON")
  HAVE=1
else
  say "no profile JSON (${PROFILE_JSON:-not given}): the table has the torch side only"
fi
if [ $HAVE -eq 1 ]; then
  "$NODE" bench/op-profile-join.mjs "${JOIN[@]}" 2>&1 | tee -a "$WORK/op-profile.log"
  say "join rc=${PIPESTATUS[0]}"
else
  say "nothing to join"
  exit 1
fi
