#!/usr/bin/env python3
"""Stores an exported model's weights as float16 bit patterns that the GPU widens exactly to float32.

    python3 models/narrow_weights.py --in /tmp/rf-mha --out /tmp/rf-mha-f16

Why: the UNet's float32 weights alone are 3.4 GB, more than the 3 GB of GPU memory a Quest 3 can
give the pipeline (issue 4), and the Quest's browser has no `shader-f16`, so float16 tensors cannot
live on its GPU. Plain float16 initializers + Cast (export.py --fp16) do not help: onnxruntime folds
the Casts when it creates the session and keeps float32 weights on the GPU.

What this does, per large weight W (Conv filters, MatMul/Gemm matrices) of every graph:
  W (float32)  →  c = the float16 bit pattern of W, stored as uint8 [..., 2] (high byte, low byte)
  at run time:  DequantizeLinear(c, scale=[256, 1], zero_point=[0, 0], axis=-1)  → [..., 2] float
                ReduceSum(axis=-1)              → the 16-bit code as a float (0 … 65535, exact)
                Cast(to=int32)                  → the code as an index
                Gather(table, index)            → float32, where table[code] is that float16 value
Every step is exact, so the graph computes in float32 with W rounded to float16 (round to nearest
even, as numpy and torch's `.half()` do): the outputs are those of the float32 model whose weights
were rounded to float16 (`--round-only` writes that model, for comparisons and goldens).
onnxruntime does not constant-fold DequantizeLinear (it keeps quantised weights quantised), so the
chain runs in every call, on the GPU, and only the weight being used is alive in float32.

The decode nodes go first in the node list on purpose: onnxruntime orders nodes by a reverse DFS
from the outputs that visits a node's inputs from the highest node index down, so low-index decode
chains are scheduled right before their consumer instead of all at the start of the run.

Weights outside float16's range or not finite keep float32; so do tensors under --min-elements.
The manifest gains "weight_storage": "float16-widened"; "dtype" stays "float32" (what is computed).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

FP16_MAX = 65504.0
# Inputs that hold weights: Conv's filter (input 1), MatMul's and Gemm's right-hand side (input 1).
WEIGHT_INPUTS = {("Conv", 1), ("MatMul", 1), ("Gemm", 1), ("ConvTranspose", 1)}
DEFAULT_MIN_ELEMENTS = 4096
TABLE = "fp16_widen/table"
SCALE = "fp16_widen/scale"
ZERO = "fp16_widen/zero_point"
AXES = "fp16_widen/axes"


def fp16_table():
    """float32 value of every float16 bit pattern (NaN/Inf codes included; weights never use them)."""
    import numpy as np

    return np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32)


def split_codes(w):
    """float32 array → uint8 [..., 2]: high and low byte of each value's float16 bit pattern."""
    import numpy as np

    codes = w.astype(np.float16).view(np.uint16)
    return np.stack([(codes >> 8).astype(np.uint8), (codes & 0xFF).astype(np.uint8)], axis=-1)


def narrowable(arr, min_elements: int) -> bool:
    import numpy as np

    return (arr.dtype == np.float32 and arr.size >= min_elements and bool(np.all(np.isfinite(arr)))
            and float(np.abs(arr).max()) <= FP16_MAX)


def weight_names(graph) -> set[str]:
    inits = {i.name for i in graph.initializer}
    names = set()
    for n in graph.node:
        for idx, x in enumerate(n.input):
            if (n.op_type, idx) in WEIGHT_INPUTS and x in inits:
                names.add(x)
    return names


def narrow_graph(model, min_elements: int, round_only: bool) -> dict:
    """Rewrites `model` in place; returns what it did (for the report)."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    g = model.graph
    if not any(o.domain in ("", "ai.onnx") and o.version >= 13 for o in model.opset_import):
        raise SystemExit("narrow_weights: the graph's opset must be >= 13 (per-axis DequantizeLinear, ReduceSum axes input)")
    candidates = weight_names(g)
    taken = {i.name for i in g.initializer} | {o for n in g.node for o in n.output} | {i.name for i in g.input}
    new_inits, decode, stats = [], [], {"narrowed": 0, "kept_float32": 0, "float32_bytes_before": 0, "bytes_after": 0}
    for init in g.initializer:
        if init.name not in candidates or init.data_type != onnx.TensorProto.FLOAT:
            new_inits.append(init)
            continue
        arr = numpy_helper.to_array(init)
        if not narrowable(arr, min_elements):
            new_inits.append(init)
            stats["kept_float32"] += 1
            continue
        stats["narrowed"] += 1
        stats["float32_bytes_before"] += arr.nbytes
        if round_only:
            rounded = arr.astype(np.float16).astype(np.float32)
            new_inits.append(numpy_helper.from_array(rounded, init.name))
            stats["bytes_after"] += rounded.nbytes
            continue
        base = init.name + "/fp16"
        while any(base + s in taken for s in ("", "_f", "_s", "_i")):
            base += "_"
        for s in ("", "_f", "_s", "_i"):
            taken.add(base + s)
        codes = split_codes(arr)
        new_inits.append(numpy_helper.from_array(codes, base))
        stats["bytes_after"] += codes.nbytes
        decode += [
            helper.make_node("DequantizeLinear", [base, SCALE, ZERO], [base + "_f"], axis=-1, name=base + "/dequantize"),
            helper.make_node("ReduceSum", [base + "_f", AXES], [base + "_s"], keepdims=0, name=base + "/code"),
            helper.make_node("Cast", [base + "_s"], [base + "_i"], to=onnx.TensorProto.INT32, name=base + "/index"),
            helper.make_node("Gather", [TABLE, base + "_i"], [init.name], axis=0, name=base + "/widen"),
        ]
    if decode:
        new_inits += [
            numpy_helper.from_array(fp16_table(), TABLE),
            numpy_helper.from_array(np.array([256.0, 1.0], dtype=np.float32), SCALE),
            numpy_helper.from_array(np.array([0, 0], dtype=np.uint8), ZERO),
            numpy_helper.from_array(np.array([-1], dtype=np.int64), AXES),
        ]
    del g.initializer[:]
    g.initializer.extend(new_inits)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(decode + nodes)  # first: see the module docstring
    return stats


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def kind_of(rel: str) -> str | None:
    if rel.startswith("tokenizer/"):
        return "tokenizer"
    if rel.endswith(".onnx"):
        return "onnx"
    if "onnx_data" in rel:
        return "onnx-data"
    return None


def main(argv: list[str] | None = None) -> None:
    import onnx
    from export import EXTERNAL_DATA_THRESHOLD_BYTES, DEFAULT_MAX_DATA_FILE_BYTES, save_onnx

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--in", dest="src", required=True, type=Path, help="an exported model folder (manifest.json)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--sessions", default="text_encoder,unet,vae_decoder,vae_encoder",
                    help="graphs to rewrite (those absent from the manifest are skipped)")
    ap.add_argument("--min-elements", type=int, default=DEFAULT_MIN_ELEMENTS,
                    help=f"smaller weights stay float32 (default {DEFAULT_MIN_ELEMENTS})")
    ap.add_argument("--round-only", action="store_true",
                    help="write float32 weights rounded to float16 instead (the reference for the widened model)")
    ap.add_argument("--max-data-file-mib", type=int, default=DEFAULT_MAX_DATA_FILE_BYTES // 2**20)
    a = ap.parse_args(argv)

    manifest = json.loads((a.src / "manifest.json").read_text())
    if manifest.get("weight_storage", "float32") != "float32":
        raise SystemExit(f"{a.src}: weights are already {manifest['weight_storage']}")
    if manifest.get("dtype") != "float32":
        raise SystemExit(f"{a.src}: dtype {manifest.get('dtype')}; this needs a float32 export")
    if a.out.resolve() == a.src.resolve():
        raise SystemExit("--out must differ from --in")
    if a.out.exists():
        shutil.rmtree(a.out)
    a.out.mkdir(parents=True)
    wanted = [s for s in a.sessions.split(",") if s in manifest["sessions"]]
    report = {"min_elements": a.min_elements, "round_only": a.round_only, "sessions": {}}
    # Everything not rewritten (tokenizer, untouched graphs) is copied as is.
    rewritten_dirs = {Path(manifest["sessions"][s]["file"]).parent.as_posix() for s in wanted}
    for f in manifest["files"]:
        if Path(f["path"]).parent.as_posix() in rewritten_dirs:
            continue
        dst = a.out / f["path"]
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(a.src / f["path"], dst)
    for name in wanted:
        s = manifest["sessions"][name]
        src = a.src / s["file"]
        model = onnx.load(str(src), load_external_data=True)
        stats = narrow_graph(model, a.min_elements, a.round_only)
        dst = a.out / s["file"]
        dst.parent.mkdir(parents=True, exist_ok=True)
        external = bool(s.get("external_data")) or model.ByteSize() >= EXTERNAL_DATA_THRESHOLD_BYTES
        max_file = a.max_data_file_mib * 2**20
        if s.get("external_data") and len(s["external_data"]) > 1 and stats["bytes_after"]:
            # keep the number of data files (the tiny UNet is split on purpose: the loader's multi-file path)
            total = sum((a.src / Path(s["file"]).parent / loc).stat().st_size for loc in s["external_data"])
            max_file = max(4096, (total - stats["float32_bytes_before"] + stats["bytes_after"]) // len(s["external_data"]) + 4096)
        s["external_data"] = save_onnx(model, dst, external, max_file)
        try:
            onnx.checker.check_model(str(dst))
        except onnx.checker.ValidationError as e:
            if "ir_version is higher" not in str(e):
                raise
            print(f"{name}: not checked (this onnx {onnx.__version__} predates the graph's IR version)", flush=True)
        report["sessions"][name] = stats
        print(f"{name}: {stats['narrowed']} weights narrowed ({stats['float32_bytes_before'] / 2**20:.1f} → "
              f"{stats['bytes_after'] / 2**20:.1f} MiB), {stats['kept_float32']} kept float32", flush=True)
    files = []
    for p in sorted(a.out.rglob("*")):
        rel = p.relative_to(a.out).as_posix()
        kind = kind_of(rel)
        if p.is_file() and kind:
            files.append({"path": rel, "bytes": p.stat().st_size, "sha256": sha256_file(p), "kind": kind})
    manifest["files"] = files
    if not a.round_only:
        manifest["weight_storage"] = "float16-widened"
    manifest["model_id"] = manifest["model_id"] + ("+fp16-rounded" if a.round_only else "+fp16-widened")
    (a.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (a.out / "narrow-report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {a.out}: {sum(f['bytes'] for f in files) / 2**20:.2f} MiB in {len(files)} files")


if __name__ == "__main__":
    main()
