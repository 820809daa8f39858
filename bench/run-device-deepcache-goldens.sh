#!/usr/bin/env bash
# DeepCache (issue 11 §1), the Python half, CPU only, on the GPU machine (it has torch; this box has not):
#   1. diffusers (.carry/bench/diffusers.tar.xz) and the authors' DeepCache (.carry/bench/deepcache.tar.xz,
#      the folder DeepCache/; or a carried .carry/src/DeepCache) → /tmp/py, DEEPCACHE_SRC=/tmp/py/DeepCache
#   2. the tiny model exported with --deepcache (models/export.py --tiny --deepcache: same seeded weights as
#      models/tiny/ldm3d-pano; validates unet + unet_shallow against torch, and the split itself)
#   3. goldens from diffusers' StableDiffusionLDM3DPipeline + the authors' DeepCacheSDHelper
#      (models/goldens_deepcache.py; every self-check in it is fatal and its numbers are printed)
#   4. smoke test: models/narrow_weights.py --storage int8 on that export narrows unet_shallow too and keeps
#      the manifest's deepcache field (nothing of it is returned)
#   5. $OUT/deepcache-tiny.tar.gz = models/tiny/ldm3d-pano-deepcache + test/fixtures/goldens/ldm3d-pano-deepcache
#      (unpack at the repo root: tar -xzf deepcache-tiny.tar.gz), $OUT/deepcache-logs.tar.gz, $OUT/summary.txt
#
# Prepared here first (ignored folder .carry/bench):  node bench/build-device-bundle.mjs --bundle-only
#   (or just: tar -C .carry/src -cJf .carry/bench/deepcache.tar.xz --exclude=__pycache__ DeepCache)
# Then, via the device tool:
#   run(command="bash bench/run-device-deepcache-goldens.sh", carry=[".carry/bench"], timeout_s=600)
# Knobs: OUT (/tmp/deepcache-out), SKIP_NARROW=1.
set -uo pipefail
START=$SECONDS
OUT=${OUT:-/tmp/deepcache-out}
WORK=/tmp/deepcache-work
MODEL=models/tiny/ldm3d-pano-deepcache
GOLDENS=test/fixtures/goldens/ldm3d-pano-deepcache
mkdir -p "$OUT" "$WORK"
rm -f "$WORK"/*.log "$WORK/summary.txt"
say() { echo "[deepcache $((SECONDS - START))s] $*" | tee -a "$WORK/summary.txt"; }
FAILED=
fail() { say "ERROR: $*"; FAILED="${FAILED:+$FAILED; }$*"; }
publish() {
  cp "$WORK/summary.txt" "$OUT/" 2> /dev/null
  tar -C "$WORK" -czf "$OUT/deepcache-logs.tar.gz" --exclude=summary.txt . 2> /dev/null
  local parts=()
  [ -d "$MODEL" ] && parts+=("$MODEL")
  [ -d "$GOLDENS" ] && parts+=("$GOLDENS")
  if [ ${#parts[@]} -gt 0 ]; then
    tar -czf "$OUT/deepcache-tiny.tar.gz" --exclude=__pycache__ "${parts[@]}" \
      && say "packed ${parts[*]} → $OUT/deepcache-tiny.tar.gz ($(du -h "$OUT/deepcache-tiny.tar.gz" | cut -f1))"
  fi
}
finish() {
  publish
  if [ -n "$FAILED" ]; then say "FAILED: $FAILED"; exit 1; fi
  say "done"
  exit 0
}

# 1. Python packages -----------------------------------------------------------------------------
mkdir -p /tmp/py
if [ -f .carry/bench/diffusers.tar.xz ]; then
  tar -C /tmp/py -xJf .carry/bench/diffusers.tar.xz || fail "cannot unpack .carry/bench/diffusers.tar.xz"
else
  say "no .carry/bench/diffusers.tar.xz: using the machine's diffusers, if any"
fi
if [ -f .carry/bench/deepcache.tar.xz ]; then
  tar -C /tmp/py -xJf .carry/bench/deepcache.tar.xz || fail "cannot unpack .carry/bench/deepcache.tar.xz"
elif [ -d .carry/src/DeepCache ]; then
  rm -rf /tmp/py/DeepCache && cp -r .carry/src/DeepCache /tmp/py/DeepCache
else
  fail "neither .carry/bench/deepcache.tar.xz nor .carry/src/DeepCache: run node bench/build-device-bundle.mjs --bundle-only here first"
fi
export DEEPCACHE_SRC=${DEEPCACHE_SRC:-/tmp/py/DeepCache}
export PYTHONPATH=/tmp/py${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
[ -f "$DEEPCACHE_SRC/extension/deepcache.py" ] || fail "$DEEPCACHE_SRC/extension/deepcache.py is missing (the tarball must hold the folder DeepCache/)"
if ! python3 -c "import torch, diffusers, transformers, onnx, onnxruntime, tokenizers; print('torch', torch.__version__, 'diffusers', diffusers.__version__, 'onnxruntime', onnxruntime.__version__)" > "$WORK/python-check.log" 2>&1; then
  cat "$WORK/python-check.log"
  fail "python3 lacks torch/diffusers/transformers/onnx/onnxruntime/tokenizers (python-check.log)"
fi
say "$(tail -n 1 "$WORK/python-check.log"); DeepCache: $DEEPCACHE_SRC"
[ -n "$FAILED" ] && finish

# 2. the tiny --deepcache export -----------------------------------------------------------------
rm -rf "$MODEL"
python3 models/export.py --tiny --deepcache --out "$MODEL" > "$WORK/export.log" 2>&1
rc=$?
grep -v Warning "$WORK/export.log" | grep -i 'deepcache\|max|onnx-torch|\|unused inputs\|wrote\|error\|failed\|Traceback' | tail -n 30
say "export rc=$rc"
if [ $rc -ne 0 ]; then
  tail -n 40 "$WORK/export.log"
  fail "models/export.py --tiny --deepcache exited with $rc (export.log)"
  finish
fi
python3 - "$MODEL" << 'PY' | tee -a "$WORK/summary.txt"
import json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
r = json.load(open(sys.argv[1] + "/export-report.json"))
print("manifest deepcache:", json.dumps(m.get("deepcache")))
for n in ("unet", "unet_shallow"):
    s = m["sessions"][n]
    print(f"{n}: inputs {[(i['name'], i['shape']) for i in s['inputs']]} outputs {[(o['name'], o['shape']) for o in s['outputs']]}")
    for v in r["sessions"][n]["validation"]:
        print(f"  validation {v.get('shapes', {}).get('sample')}: max_abs_err {v.get('max_abs_err')} ok {v['ok']}")
for v in r.get("deepcache", {}).get("split_check", []):
    print("split check:", json.dumps(v))
print("flops:", json.dumps(r.get("deepcache", {}).get("flops")))
PY

# 3. goldens from the authors' code ----------------------------------------------------------------
python3 models/goldens_deepcache.py --models "$MODEL" --out "$GOLDENS" > "$WORK/goldens.log" 2>&1
rc=$?
grep -v Warning "$WORK/goldens.log" | grep '^\[goldens-deepcache\]\|Error\|FAILED\|Traceback\|^  ' | tail -n 40
say "goldens rc=$rc"
if [ $rc -ne 0 ]; then
  tail -n 30 "$WORK/goldens.log"
  fail "models/goldens_deepcache.py exited with $rc (goldens.log)"
fi
if [ -f "$GOLDENS/cases.json" ]; then
  python3 - "$GOLDENS/cases.json" << 'PY' | tee -a "$WORK/summary.txt"
import json, sys
d = json.load(open(sys.argv[1]))
print("checks:", json.dumps(d.get("checks"), indent=1))
print("onnx vs goldens (worst):", json.dumps(d.get("onnx_reference", {}).get("worst")))
for c in d["cases"]:
    print(f"{c['name']}: N={c['deepcache_interval']} timesteps {c['timesteps']} full {c['deepcache_full_steps']} "
          f"vs plain rgb {c['vs_plain_pipeline']['rgb_max_abs']:.3g}")
PY
fi

# 4. narrow_weights on the DeepCache export (smoke) ------------------------------------------------
if [ -z "${SKIP_NARROW:-}" ]; then
  python3 models/narrow_weights.py --storage int8 --min-elements 1 --split-elements 4096 --in "$MODEL" \
    --out /tmp/deepcache-int8 > "$WORK/narrow.log" 2>&1
  rc=$?
  tail -n 8 "$WORK/narrow.log"
  if [ $rc -ne 0 ]; then
    fail "narrow_weights.py on the deepcache export exited with $rc (narrow.log)"
  else
    python3 - /tmp/deepcache-int8 << 'PY' | tee -a "$WORK/summary.txt" || fail "narrowed deepcache export is incomplete"
import json, sys
d = sys.argv[1]
m = json.load(open(d + "/manifest.json"))
r = json.load(open(d + "/narrow-report.json"))
assert m.get("deepcache", {}).get("shallow_session") == "unet_shallow", "deepcache field lost"
assert "unet_shallow" in r["sessions"] and r["sessions"]["unet_shallow"]["narrowed"] > 0, "unet_shallow not narrowed"
import numpy as np, onnxruntime as ort
so = ort.SessionOptions()
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
rs = np.random.RandomState(0)
lh, lw = (m["image"]["height"] // m["vae_scale_factor"], m["image"]["width"] // m["vae_scale_factor"])
feeds = {"sample": rs.standard_normal((2, 4, lh, lw)).astype(np.float32), "timestep": np.array(500.0, np.float32),
         "encoder_hidden_states": rs.standard_normal((2, 77, m["text"]["hidden_size"])).astype(np.float32)}
full = ort.InferenceSession(f"{d}/unet/model.onnx", so, providers=["CPUExecutionProvider"])
out, deep = full.run(["out_sample", "deep_features"], feeds)
sh = ort.InferenceSession(f"{d}/unet_shallow/model.onnx", so, providers=["CPUExecutionProvider"])
out2 = sh.run(["out_sample"], {**feeds, "deep_features": deep})[0]
err = float(np.abs(out2 - out).max())
print(f"narrow int8 smoke: deepcache field kept; unet_shallow {json.dumps(r['sessions']['unet_shallow'])}; "
      f"int8 shallow(deep of x) vs int8 full(x) {err:.3g}")
assert err <= 1e-4 * max(1.0, float(np.abs(out).max())), "narrowed full and shallow graphs disagree"
PY
  fi
fi

finish
