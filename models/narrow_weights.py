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

--storage int8: per-output-channel symmetric int8 weights instead (a quarter of float32):
  s[c] = max|W[c]| / 127,  q = clip(round(W / s), -127, 127)   (float32 arithmetic, round half to even)
  at run time: DequantizeLinear(q, s, 0, axis=output channels) → q·s in float32
One node per weight, so the only float32 copy alive is the weight in use (float16 widening holds
five intermediates per weight). This changes the weights more than float16 rounding does; the
reference is diffusers with W replaced by q·s (goldens_narrow.py). "weight_storage": "int8-per-channel".
"""
from __future__ import annotations

import argparse
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
# 8 Mi values: 32 MiB in float32. The full-size UNet's largest weights (29.5 M values) become 4 slices;
# measured on an H100 (BENCHMARKS.md, int8, staged): 4 Mi → 2.49 GiB peak, 521 ms a step; 8 Mi → 2.56 GiB,
# 402 ms; 16 Mi → 2.75 GiB, 347 ms; no split → 3.06 GiB, 340 ms.
DEFAULT_SPLIT_ELEMENTS = 8 * 2**20
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


def quantize_int8(w, axis: int):
    """Per-channel symmetric int8 along `axis` (the output channels): (q int8, s float32 [channels])."""
    import numpy as np

    w = w.astype(np.float32)
    other = tuple(i for i in range(w.ndim) if i != axis)
    s = (np.abs(w).max(axis=other) / np.float32(127)).astype(np.float32)
    s = np.where(s > 0, s, np.float32(1)).astype(np.float32)
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.round(w / s.reshape(shape)), -127, 127).astype(np.int8)
    return q, s


def output_axis(node, ndim: int) -> int:
    """The axis of a weight that indexes output channels, for per-channel quantisation."""
    if node.op_type == "Conv":
        return 0
    if node.op_type == "ConvTranspose":
        return 1
    if node.op_type == "Gemm":
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return 0 if trans_b else 1
    return ndim - 1  # MatMul: [..., K, N]


def narrowable(arr, min_elements: int) -> bool:
    import numpy as np

    return (arr.dtype == np.float32 and arr.size >= min_elements and bool(np.all(np.isfinite(arr)))
            and float(np.abs(arr).max()) <= FP16_MAX)


def weight_names(graph) -> dict[str, list]:
    """Initializers used as weights → the nodes that use them."""
    inits = {i.name for i in graph.initializer}
    names: dict[str, list] = {}
    for n in graph.node:
        for idx, x in enumerate(n.input):
            if (n.op_type, idx) in WEIGHT_INPUTS and x in inits:
                names.setdefault(x, []).append(n)
    return names


def split_consumers(model, max_elements: int) -> int:
    """Splits every Conv (group 1) or 2-D MatMul whose constant weight has more than `max_elements`
    values into K convolutions / matmuls over equal slices of its output channels, joined by a Concat
    (K = the smallest divisor of the channel count that brings each slice under the limit).

    Why: a narrowed weight is widened to float32 right before its consumer runs, and onnxruntime's
    WebGPU buffer cache keeps a buffer of every size it has seen; the largest UNet weights
    (1280×2560×3×3 = 118 MB in float32, plus the convolution's own re-laid-out copy) would then stay
    cached at full size. Slices cap what is widened at once. Each output channel is computed from the
    same inputs and weights as before; per-output-channel int8 scales are unchanged by the slicing.
    Returns the number of nodes split.
    """
    import numpy as np
    from onnx import helper, numpy_helper

    g = model.graph
    inits = {i.name: i for i in g.initializer}
    uses: dict[str, int] = {}
    for n in g.node:
        for x in n.input:
            uses[x] = uses.get(x, 0) + 1
    for o in g.output:
        uses[o.name] = uses.get(o.name, 0) + 1
    taken = set(inits) | {o for n in g.node for o in n.output} | {i.name for i in g.input}

    def fresh(base: str) -> str:
        name = base
        while name in taken:
            name += "_"
        taken.add(name)
        return name

    out_nodes, split, dropped = [], 0, set()
    for n in g.node:
        w_name = n.input[1] if len(n.input) > 1 else ""
        w = inits.get(w_name)
        group = next((a.i for a in n.attribute if a.name == "group"), 1)
        if (w is None or uses.get(w_name, 0) != 1 or n.op_type not in ("Conv", "MatMul")
                or (n.op_type == "Conv" and group != 1) or (n.op_type == "MatMul" and len(w.dims) != 2)):
            out_nodes.append(n)
            continue
        arr = numpy_helper.to_array(w)
        axis = 0 if n.op_type == "Conv" else 1
        channels = arr.shape[axis]
        if arr.size <= max_elements:
            out_nodes.append(n)
            continue
        # the smallest divisor of the channel count that brings a slice under the limit
        k = next((d for d in range(2, channels + 1) if channels % d == 0 and arr.size // d <= max_elements), None)
        has_bias = n.op_type == "Conv" and len(n.input) > 2 and bool(n.input[2])
        bias = inits.get(n.input[2]) if has_bias else None
        # a bias that is computed, or shared with another node, cannot be sliced here
        if k is None or (has_bias and (bias is None or uses.get(n.input[2], 0) != 1)):
            out_nodes.append(n)
            continue
        step = channels // k
        parts = []
        for j in range(k):
            sl = [slice(None)] * arr.ndim
            sl[axis] = slice(j * step, (j + 1) * step)
            w_j = fresh(f"{w_name}/part{j}")
            g.initializer.append(numpy_helper.from_array(np.ascontiguousarray(arr[tuple(sl)]), w_j))
            ins = [n.input[0], w_j]
            if bias is not None:
                b_j = fresh(f"{n.input[2]}/part{j}")
                g.initializer.append(numpy_helper.from_array(numpy_helper.to_array(bias)[j * step:(j + 1) * step].copy(), b_j))
                ins.append(b_j)
            y_j = fresh(f"{n.output[0]}/part{j}")
            part = helper.make_node(n.op_type, ins, [y_j], name=fresh(f"{n.name or n.op_type}/part{j}"))
            part.attribute.extend(n.attribute)
            out_nodes.append(part)
            parts.append(y_j)
        out_nodes.append(helper.make_node("Concat", parts, [n.output[0]], axis=1 if n.op_type == "Conv" else -1,
                                          name=fresh(f"{n.name or n.op_type}/concat")))
        dropped.add(w_name)
        if bias is not None:
            dropped.add(bias.name)
        split += 1
    kept = [i for i in g.initializer if i.name not in dropped]
    del g.initializer[:]
    g.initializer.extend(kept)
    del g.node[:]
    g.node.extend(out_nodes)
    return split


def narrow_graph(model, min_elements: int, round_only: bool, storage: str = "float16") -> dict:
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
        if storage == "int8":
            axes = {output_axis(n, arr.ndim) for n in candidates[init.name]}
            if len(axes) != 1:  # used as a weight along two different axes: leave it alone
                new_inits.append(init)
                stats["kept_float32"] += 1
                continue
            axis = axes.pop()
        stats["narrowed"] += 1
        stats["float32_bytes_before"] += arr.nbytes
        if storage == "int8":
            q, scale = quantize_int8(arr, axis)
            if round_only:
                shape = [1] * arr.ndim
                shape[axis] = -1
                deq = (q.astype(np.float32) * scale.reshape(shape)).astype(np.float32)
                new_inits.append(numpy_helper.from_array(deq, init.name))
                stats["bytes_after"] += deq.nbytes
                continue
            base = init.name + "/int8"
            while any(base + s in taken for s in ("", "_scale", "_zero")):
                base += "_"
            for s_ in ("", "_scale", "_zero"):
                taken.add(base + s_)
            new_inits += [numpy_helper.from_array(q, base), numpy_helper.from_array(scale, base + "_scale"),
                          numpy_helper.from_array(np.zeros(scale.shape, dtype=np.int8), base + "_zero")]
            stats["bytes_after"] += q.nbytes + scale.nbytes * 5 // 4
            decode.append(helper.make_node("DequantizeLinear", [base, base + "_scale", base + "_zero"], [init.name],
                                           axis=axis, name=base + "/dequantize"))
            continue
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
    if decode and storage == "float16":
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
    from export import EXTERNAL_DATA_THRESHOLD_BYTES, DEFAULT_MAX_DATA_FILE_BYTES, save_onnx, sha256_file

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--in", dest="src", required=True, type=Path, help="an exported model folder (manifest.json)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--sessions", default="text_encoder,unet,unet_shallow,vae_decoder,vae_encoder",
                    help="graphs to rewrite (those absent from the manifest are skipped)")
    ap.add_argument("--storage", default="float16", choices=["float16", "int8"],
                    help="float16: exact float16 bit patterns widened on the GPU; int8: per-channel int8 (see above)")
    ap.add_argument("--min-elements", type=int, default=DEFAULT_MIN_ELEMENTS,
                    help=f"smaller weights stay float32 (default {DEFAULT_MIN_ELEMENTS})")
    ap.add_argument("--split-elements", type=int, default=DEFAULT_SPLIT_ELEMENTS,
                    help="split Conv/MatMul nodes whose weight has more values than this along their output "
                         f"channels (default {DEFAULT_SPLIT_ELEMENTS}; 0: never; never with --round-only)")
    ap.add_argument("--round-only", action="store_true",
                    help="write float32 weights with the same rounding instead (the reference for the narrowed model)")
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
    if "unet" in wanted and "unet_shallow" in manifest["sessions"] and "unet_shallow" not in wanted:
        # DeepCache's shallow graph holds some of the UNet's weights: narrowed apart from them, full and
        # shallow steps would run with differently rounded weights
        wanted.append("unet_shallow")
    report = {"storage": a.storage, "min_elements": a.min_elements, "split_elements": a.split_elements,
              "round_only": a.round_only, "sessions": {}}
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
        n_split = split_consumers(model, a.split_elements) if a.split_elements > 0 and not a.round_only else 0
        stats = narrow_graph(model, a.min_elements, a.round_only, a.storage)
        stats["split_nodes"] = n_split
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
        print(f"{name}: {n_split} nodes split, {stats['narrowed']} weights narrowed ({stats['float32_bytes_before'] / 2**20:.1f} → "
              f"{stats['bytes_after'] / 2**20:.1f} MiB), {stats['kept_float32']} kept float32", flush=True)
    files = []
    for p in sorted(a.out.rglob("*")):
        rel = p.relative_to(a.out).as_posix()
        kind = kind_of(rel)
        if p.is_file() and kind:
            files.append({"path": rel, "bytes": p.stat().st_size, "sha256": sha256_file(p), "kind": kind})
    manifest["files"] = files
    label = {"float16": "float16-widened", "int8": "int8-per-channel"}[a.storage]
    if not a.round_only:
        manifest["weight_storage"] = label
    manifest["model_id"] = manifest["model_id"] + ("+" + label + "-reference" if a.round_only else "+" + label)
    (a.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (a.out / "narrow-report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {a.out}: {sum(f['bytes'] for f in files) / 2**20:.2f} MiB in {len(files)} files")


if __name__ == "__main__":
    main()
