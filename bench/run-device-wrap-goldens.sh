#!/usr/bin/env bash
# Horizontal wrap padding (issue 12), the Python half, CPU only, on the GPU machine (it has torch; this box has not):
#   1. diffusers (.carry/bench/diffusers.tar.xz) → /tmp/py on PYTHONPATH
#   2. models/wrap_conv.py re-run there on the committed tiny exports: the bytes must be the committed
#      models/tiny/ldm3d-pano-wrap / ldm3d-sr-wrap (a warning if that machine's onnx writes them otherwise)
#   3. goldens from diffusers' StableDiffusionLDM3DPipeline with circular-width convolutions
#      (models/goldens_wrap.py; every self-check in it is fatal and its numbers are printed):
#      test/fixtures/goldens/ldm3d-pano-wrap (4 txt2img cases + module goldens), ldm3d-sr-wrap (module goldens)
#   4. optional (PHASES="... bench ..."; off by default, and only once src/pipeline feeds circular_pad):
#      the cost of wrap on the full-size random model: export --random-full --attention mha, wrap_conv.py,
#      pano-webgpu (the carried bundle) on the plain and the wrapped export, same settings
#   5. $OUT/wrap-goldens.tar.gz = the two goldens folders (unpack at the repo root: tar -xzf wrap-goldens.tar.gz),
#      $OUT/wrap-logs.tar.gz, $OUT/summary.txt
#
# Prepared here first (ignored folder .carry/bench; diffusers.tar.xz is all the default run needs;
# the bench phase also needs .node, .gl and the bundle):  node bench/build-device-bundle.mjs --bundle-only
# Then, via the device tool:
#   run(command="bash bench/run-device-wrap-goldens.sh", carry=[".carry/bench"], timeout_s=600)
#   (bench phase: command="PHASES='goldens bench' bash bench/run-device-wrap-goldens.sh", carry=[".carry/bench", ".node", ".gl"])
# Knobs: OUT (/tmp/wrap-out), PHASES ("goldens"; add "bench"), BUDGET_S (560), STEPS (20, bench).
set -uo pipefail
START=$SECONDS
OUT=${OUT:-/tmp/wrap-out}
WORK=/tmp/wrap-work
PHASES=" ${PHASES:-goldens} "
BUDGET_S=${BUDGET_S:-560}
STEPS=${STEPS:-20}
GOLDENS=test/fixtures/goldens/ldm3d-pano-wrap
SR_GOLDENS=test/fixtures/goldens/ldm3d-sr-wrap
mkdir -p "$OUT" "$WORK"
rm -f "$WORK"/*.log "$WORK/summary.txt"
say() { echo "[wrap $((SECONDS - START))s] $*" | tee -a "$WORK/summary.txt"; }
has() { [[ "$PHASES" == *" $1 "* ]]; }
left() { echo $((BUDGET_S - (SECONDS - START))); }
FAILED=
fail() { say "ERROR: $*"; FAILED="${FAILED:+$FAILED; }$*"; }
publish() {
  cp "$WORK/summary.txt" "$OUT/" 2> /dev/null
  tar -C "$WORK" -czf "$OUT/wrap-logs.tar.gz" --exclude=summary.txt . 2> /dev/null
  local parts=()
  [ -f "$GOLDENS/cases.json" ] && parts+=("$GOLDENS")
  [ -f "$SR_GOLDENS/cases.json" ] && parts+=("$SR_GOLDENS")
  if [ ${#parts[@]} -gt 0 ]; then
    tar -czf "$OUT/wrap-goldens.tar.gz" --exclude=__pycache__ "${parts[@]}" \
      && say "packed ${parts[*]} → $OUT/wrap-goldens.tar.gz ($(du -h "$OUT/wrap-goldens.tar.gz" | cut -f1))"
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
export PYTHONPATH=/tmp/py${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
if ! python3 -c "import torch, diffusers, transformers, onnx, onnxruntime, tokenizers; print('torch', torch.__version__, 'diffusers', diffusers.__version__, 'onnx', onnx.__version__, 'onnxruntime', onnxruntime.__version__)" > "$WORK/python-check.log" 2>&1; then
  cat "$WORK/python-check.log"
  fail "python3 lacks torch/diffusers/transformers/onnx/onnxruntime/tokenizers (python-check.log)"
fi
say "$(tail -n 1 "$WORK/python-check.log")"
[ -n "$FAILED" ] && finish

# 4a. the full-size export for the bench phase starts first, in the background (CPU, minutes) -----
RF=/tmp/rf-mha
RFW=/tmp/rf-mha-wrap
EXPORT_PID=
if has bench; then
  (
    if [ ! -f "$RF/manifest.json" ]; then
      env OMP_NUM_THREADS=8 python3 models/export.py --random-full --attention mha --out "$RF" \
        --sessions text_encoder,unet,vae_decoder --no-validate > "$WORK/export-full.log" 2>&1 || exit 1
    fi
    python3 models/wrap_conv.py --in "$RF" --out "$RFW" > "$WORK/wrap-full.log" 2>&1
  ) &
  EXPORT_PID=$!
  say "bench: full-size export + wrap in the background (pid $EXPORT_PID)"
fi

# 2. the rewrite is reproducible on this machine ---------------------------------------------------
if has goldens; then
  for m in ldm3d-pano ldm3d-sr; do
    [ -d "models/tiny/$m-wrap" ] || { fail "models/tiny/$m-wrap is missing"; continue; }
    if python3 models/wrap_conv.py --in "models/tiny/$m" --out "/tmp/wrap-check/$m-wrap" > "$WORK/wrap-$m.log" 2>&1; then
      python3 - "models/tiny/$m-wrap" "/tmp/wrap-check/$m-wrap" << 'PY' | tee -a "$WORK/summary.txt"
import json, sys
a, b = (json.load(open(d + "/manifest.json")) for d in sys.argv[1:3])
fa, fb = ({f["path"]: f["sha256"] for f in m["files"]} for m in (a, b))
differ = sorted(p for p in fa if fa.get(p) != fb.get(p)) + sorted(p for p in fb if p not in fa)
same_rest = {k: v for k, v in a.items() if k != "files"} == {k: v for k, v in b.items() if k != "files"}
print(f"wrap_conv.py re-run on {sys.argv[1]}: manifests (without files) {'equal' if same_rest else 'DIFFER'}; "
      f"files differing: {differ or 'none'}" + (" (WARNING: this onnx serialises differently; the goldens use the committed graphs)" if differ else ""))
sys.exit(0 if same_rest else 1)
PY
      [ "${PIPESTATUS[0]}" -eq 0 ] || fail "wrap_conv.py on models/tiny/$m gives another manifest than the committed $m-wrap"
    else
      tail -n 20 "$WORK/wrap-$m.log"
      fail "wrap_conv.py on models/tiny/$m exited with an error (wrap-$m.log)"
    fi
  done

  # 3. goldens -------------------------------------------------------------------------------------
  python3 models/goldens_wrap.py --out "$GOLDENS" --sr-out "$SR_GOLDENS" > "$WORK/goldens.log" 2>&1
  rc=$?
  grep -v Warning "$WORK/goldens.log" | grep '^\[goldens-wrap\]\|Error\|FAILED\|Traceback\|^  ' | tail -n 60
  say "goldens rc=$rc"
  if [ $rc -ne 0 ]; then
    tail -n 30 "$WORK/goldens.log"
    fail "models/goldens_wrap.py exited with $rc (goldens.log)"
  fi
  if [ -f "$GOLDENS/cases.json" ]; then
    python3 - "$GOLDENS/cases.json" << 'PY' | tee -a "$WORK/summary.txt"
import json, sys
d = json.load(open(sys.argv[1]))
for k, v in d.get("checks", {}).items():
    print(f"check {k}: {'OK' if v.get('ok') else 'FAILED'} " + json.dumps({x: y for x, y in v.items() if x not in ('ok', 'errors')}))
print("onnx loop vs wrap goldens (worst):", json.dumps(d.get("onnx_reference", {}).get("worst")))
for c in d["cases"]:
    s = c.get("seam", {})
    print(f"{c['name']}: seam rgb {s.get('rgb', float('nan')):.3f} (unwrapped {s.get('rgb_unwrapped', float('nan')):.3f}), "
          f"depth {s.get('depth', float('nan')):.3f} (unwrapped {s.get('depth_unwrapped', float('nan')):.3f}); "
          f"vs unwrapped rgb {c['vs_unwrapped_golden']['rgb_max_abs']:.3g}")
PY
  fi
  [ -f "$SR_GOLDENS/cases.json" ] && say "SR module goldens: $(ls "$SR_GOLDENS" | wc -l) files"
  publish
fi

# 4b. bench: plain vs wrapped full-size UNet on WebGPU (pano-webgpu) ------------------------------
if has bench; then
  . bench/lib/device-tools.sh
  setup_vulkan
  unpack_bench /tmp/bench pano-webgpu.mjs || fail "cannot unpack the carried bench tools (.node, .carry/bench)"
  say "waiting for the full-size export ($(left)s left)"
  while kill -0 "$EXPORT_PID" 2> /dev/null && [ "$(left)" -gt 60 ]; do sleep 5; done
  if kill -0 "$EXPORT_PID" 2> /dev/null; then
    kill "$EXPORT_PID" 2> /dev/null
    fail "the full-size export did not finish in time (export-full.log)"
  elif ! wait "$EXPORT_PID"; then
    tail -n 20 "$WORK/export-full.log" "$WORK/wrap-full.log" 2> /dev/null
    fail "full-size export or wrap failed (export-full.log, wrap-full.log)"
  else
    tail -n 4 "$WORK/wrap-full.log"
    for m in "$RF:plain" "$RFW:wrap"; do
      dir=${m%:*} label=${m#*:}
      budget=$(( $(left) - 10 ))
      [ "$budget" -gt 45 ] || { say "no time left for pano-webgpu $label"; break; }
      say "pano-webgpu $label: --models $dir --steps $STEPS (${budget}s left)"
      (cd /tmp/bench && timeout "$budget" /tmp/node pano-webgpu.mjs --models "$dir" --steps "$STEPS" --warm-runs 1 \
        --label "$label" --out "$WORK/pano-$label.json" 2>&1 | grep -v XDG_RUNTIME_DIR > "$WORK/pano-$label.log")
      rc=$?
      tail -n 12 "$WORK/pano-$label.log"
      say "pano-webgpu $label rc=$rc"
      [ $rc -eq 0 ] || fail "pano-webgpu on the $label export exited with $rc (pano-$label.log)"
      publish
    done
  fi
fi

finish
