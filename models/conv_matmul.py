#!/usr/bin/env python3
"""Convolutions as explicit im2col + MatMul (issue 11): the same sums, kernels that run faster.

    python3 models/conv_matmul.py --in /tmp/rf-mha-int8 --out /tmp/rf-mha-int8-mm

Why: onnxruntime's WebGPU EP runs a Conv as `Conv2dMM` (an implicit-GEMM kernel) in its preferred
NHWC layout: the graph's NCHW activations are transposed around convolutions, and a weight that is
not an initializer (every weight of an int8 or float16-widened export: a DequantizeLinear output)
is transposed to HWIO on every call (webgpu/nn/conv.cc). Measured on an H100 (BENCHMARKS.md, per-op
profile of one UNet call): convolutions at 12 % of the fp32 peak, half the call, plus 290 Transpose
dispatches; MatMul runs the attention projections at twice that fraction. This rewrite gives ORT
no Conv at all (so no layout change and no weight transposes), only layout-free ops:

    Conv(x [B,C,H,W], w [O,C,kh,kw], b [O], pads, strides, dilations), group 1:
      kh = kw = 1, no pads, stride 1:  cols = Reshape(x, [0, C, -1])                       [B, C, H·W]
      otherwise:  xp   = Pad(x, pads)                       (skipped when pads are all 0)
                  s_ij = Slice(xp, [i·dh, j·dw], [end_i, end_j], axes [2, 3], steps [sh, sw])   [B,C,Ho,Wo]
                  cols = Reshape(Concat(Unsqueeze(s_ij, 2) for i, j row-major, axis 2), [0, C·kh·kw, -1])
      y = MatMul(Reshape(w, [O, -1]), cols) + Reshape(b, [O, 1])                            [B, O, Ho·Wo]
      out = Reshape(y, [0, 0, Ho, Wo])            (Ho, Wo from the shape of s_00, or of x for 1×1)
    cols' row c·kh·kw + i·kw + j is input channel c at kernel tap (i, j): exactly the row-major
    flattening of w's [C, kh, kw], so the weight is only reshaped (an alias in ORT, no copy), whatever
    produces it (initializer, DequantizeLinear, float16 widening). Slices' ends count from the end of
    the padded input, so every spatial size works (the UNet, the tiled and untiled VAE decoder).

The sums are the convolution's, in another order: float32 rounding differences only (the tiny
models' diffusers goldens hold at the same bound). cols is kh·kw times the input; --max-cols-mib
keeps a Conv whose cols would exceed it at --max-batch (WebGPU's default maxStorageBufferBindingSize
is 128 MiB; the full-size UNet's largest cols at 64×128 latents, batch 1, is 283 MiB).

Run it last (after narrow_weights.py and wrap_conv.py): those find weights and padding on Conv nodes.
One cols tensor is shared by every Conv that reads the same input with the same geometry (a Conv
split by narrow_weights.py into output-channel slices). Refused (fatal): auto_pad other than NOTSET,
non-2-D Convs, a Conv whose input channel count cannot be read from its weight.
Manifest: "conv_matmul": {"sessions": [...], "max_cols_mib": N}; conv-matmul-report.json per graph.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

PREFIX = "conv_matmul/"
from rewrite_folder import INT64_MAX, GraphNames  # noqa: E402
DEFAULT_SESSIONS = "unet,unet_shallow"
DEFAULT_MAX_COLS_MIB = 0  # 0: no limit
DEFAULT_MAX_BATCH = 2  # the desktop configuration runs the UNet on [uncond, cond]


class ConvMatMulError(SystemExit):
    """Every failure is fatal and names the graph and node."""


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def weight_shape(name: str, producers: dict, inits: dict) -> list[int] | None:
    """[O, C, kh, kw] of a Conv weight: an initializer, or the input of the DequantizeLinear /
    float16-widening chain (narrow_weights.py) that computes it."""
    for _ in range(8):
        if name in inits:
            dims = [int(d) for d in inits[name].dims]
            return dims if len(dims) == 4 else None
        p = producers.get(name)
        if p is None:
            return None
        if p.op_type in ("DequantizeLinear", "Cast", "Identity"):
            name = p.input[0]
        elif p.op_type == "Gather":  # float16 widening: Gather(table, codes as int32 [O, C, kh, kw])
            name = p.input[1]
        elif p.op_type == "ReduceSum":  # ... ← ReduceSum(keepdims=0) of [O, C, kh, kw, 2]: drop the last axis
            src = p.input[0]
            q = producers.get(src)
            if q is not None and q.op_type == "DequantizeLinear":
                src = q.input[0]
            if src in inits:
                dims = [int(d) for d in inits[src].dims]
                return dims[:-1] if len(dims) == 5 else None
            return None
        else:
            return None
    return None


def input_hw(name: str, g) -> tuple[int | None, int | None]:
    """Static H, W of a graph input (for the cols size estimate), else None."""
    for i in g.input:
        if i.name == name:
            dims = i.type.tensor_type.shape.dim
            if len(dims) == 4:
                return tuple(d.dim_value if d.HasField("dim_value") else None for d in dims[2:])  # type: ignore[return-value]
    return None, None


def convert_graph(model, label: str = "graph", max_cols_bytes: int = 0, max_batch: int = DEFAULT_MAX_BATCH,
                  latent_hw: tuple[int, int] | None = None) -> dict:
    """Rewrites `model` in place (see the module docstring); returns what it did.

    `latent_hw`: the input's spatial size at which --max-cols-mib is checked (the UNet's latents); a
    Conv's own input size is derived from it through the strides seen so far (down- and upsampling
    by the UNet's factor-2 stages is tracked through Resize and stride-2 Convs)."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    g = model.graph
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if opset < 13:
        raise ConvMatMulError(f"conv_matmul: {label}: opset {opset}; this needs >= 13")
    inits = {i.name: i for i in g.initializer}
    producers = {o: n for n in g.node for o in n.output}
    names = GraphNames(g, PREFIX)
    fresh, const, new_inits = names.fresh, names.const, names.new_inits

    # spatial scale of every tensor relative to the graph's first 4-D input (1, 1/2, 2, ...), for the
    # cols size check only; unknown tensors get the scale of their first known input
    scale: dict[str, float] = {}
    first = next((i.name for i in g.input if len(i.type.tensor_type.shape.dim) == 4), None)
    if first is not None:
        scale[first] = 1.0
    hw = latent_hw or (input_hw(first, g) if first else (None, None))

    # Declared shapes (value_info) of the new tensors: the runtime sizes WebGPU limits from them
    # (src/runtime/limits.ts, modelNeeds), and cols is the largest tensor of the rewritten graph.
    declared = {v.name: v for v in list(g.value_info) + list(g.input) + list(g.output)}
    new_infos = []

    def dims_of(name: str) -> list | None:
        v = declared.get(name)
        if v is None or not v.type.tensor_type.HasField("shape"):
            return None
        out = [d.dim_param if d.dim_param else (d.dim_value if d.HasField("dim_value") else None) for d in v.type.tensor_type.shape.dim]
        return None if any(d is None for d in out) else out

    def declare(name: str, dims: list | None) -> None:
        if dims is not None:
            new_infos.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, dims))

    def expr(d) -> str:
        return str(d) if isinstance(d, int) else f"({d})"

    def out_dim(d, pad: int, k: int, s: int, dl: int):
        if isinstance(d, int):
            return (d + pad - dl * (k - 1) - 1) // s + 1
        return f"(({expr(d)} + {pad - dl * (k - 1) - 1})//{s}) + 1"

    def product(a, b):
        return a * b if isinstance(a, int) and isinstance(b, int) else f"{expr(a)}*{expr(b)}"

    stats = {"convs": 0, "converted": 0, "converted_1x1": 0, "cols_tensors": 0, "kept_group": 0,
             "kept_cols_limit": 0, "largest_cols_mib": 0.0}
    cols_of: dict[tuple, tuple[str, str]] = {}  # (x, geometry) → (cols, output-shape tensor)
    out_nodes = []
    for n in g.node:
        known = [scale[i] for i in n.input if i in scale]
        if n.op_type == "Resize" and known:
            sizes_or_scales = [inits.get(i) for i in n.input[1:]]
            factor = 2.0
            for t in sizes_or_scales:
                if t is not None and t.data_type == onnx.TensorProto.FLOAT:
                    v = numpy_helper.to_array(t)
                    if v.size == 4 and v[2] > 0:
                        factor = float(v[2])
            for o in n.output:
                scale[o] = known[0] * factor
        elif n.op_type != "Conv" and known:
            for o in n.output:
                scale[o] = known[0]
        if n.op_type != "Conv" or n.domain not in ("", "ai.onnx"):
            out_nodes.append(n)
            continue
        stats["convs"] += 1
        a = _attrs(n)
        auto_pad = a.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        if auto_pad not in ("NOTSET", ""):
            raise ConvMatMulError(f"conv_matmul: {label}: Conv {n.name!r} has auto_pad={auto_pad}")
        ws = weight_shape(n.input[1], producers, inits)
        if ws is None:
            raise ConvMatMulError(f"conv_matmul: {label}: cannot read the [O, C, kh, kw] weight shape of Conv {n.name!r}")
        o_ch, c_in, kh, kw = ws
        strides = [int(v) for v in a.get("strides", [1, 1])]
        dil = [int(v) for v in a.get("dilations", [1, 1])]
        pads = [int(v) for v in a.get("pads", [0, 0, 0, 0])]
        x_scale = scale.get(n.input[0])
        for o in n.output:
            if x_scale is not None:
                scale[o] = x_scale / strides[0]
        if len(strides) != 2 or len(pads) != 4:
            raise ConvMatMulError(f"conv_matmul: {label}: Conv {n.name!r} is not 2-D")
        if int(a.get("group", 1)) != 1:
            stats["kept_group"] += 1
            out_nodes.append(n)
            continue
        taps = kh * kw
        if max_cols_bytes and taps > 1 and hw[0] and hw[1] and x_scale is not None:
            cols_bytes = max_batch * c_in * taps * (hw[0] * x_scale / strides[0]) * (hw[1] * x_scale / strides[1]) * 4
            if cols_bytes > max_cols_bytes:
                stats["kept_cols_limit"] += 1
                out_nodes.append(n)
                continue
        if hw[0] and hw[1] and x_scale is not None:
            mib = c_in * taps * (hw[0] * x_scale / strides[0]) * (hw[1] * x_scale / strides[1]) * 4 / 2**20
            stats["largest_cols_mib"] = max(stats["largest_cols_mib"], round(mib, 1))
        x = n.input[0]
        base = fresh(PREFIX + (n.name or "conv").strip("/").replace("/", "_"))
        geometry = (kh, kw, *strides, *dil, *pads)
        key = (x, geometry)
        pointwise = kh == 1 and kw == 1 and not any(pads) and strides == [1, 1]
        xd = dims_of(x)
        od = dims_of(n.output[0])
        if od is None and xd is not None:
            od = [xd[0], o_ch, out_dim(xd[2], pads[0] + pads[2], kh, strides[0], dil[0]),
                  out_dim(xd[3], pads[1] + pads[3], kw, strides[1], dil[1])]
        hw_out = product(od[2], od[3]) if od is not None else None
        if key not in cols_of:
            if pointwise:
                cols = fresh(base + "/cols")
                out_nodes.append(helper.make_node("Reshape", [x, const([0, c_in, -1])], [cols], name=fresh(base + "/flatten")))
                shape_src = x
            else:
                xp = x
                if any(pads):
                    top, left, bottom, right = pads
                    xp = fresh(base + "/padded")
                    out_nodes.append(helper.make_node("Pad", [x, const([0, 0, top, left, 0, 0, bottom, right])], [xp],
                                                      mode="constant", name=fresh(base + "/pad")))
                    if xd is not None:
                        declare(xp, [xd[0], xd[1], xd[2] + top + bottom if isinstance(xd[2], int) else f"{expr(xd[2])} + {top + bottom}",
                                     xd[3] + left + right if isinstance(xd[3], int) else f"{expr(xd[3])} + {left + right}"])
                taps_out = []
                shape_src = None
                for i in range(kh):
                    for j in range(kw):
                        # rows i·dh, i·dh + sh, ... up to (and excluding) the last (kh-1-i)·dh rows
                        end_h = -(kh - 1 - i) * dil[0] or INT64_MAX
                        end_w = -(kw - 1 - j) * dil[1] or INT64_MAX
                        s = fresh(f"{base}/tap{i}{j}")
                        out_nodes.append(helper.make_node(
                            "Slice", [xp, const([i * dil[0], j * dil[1]]), const([end_h, end_w]), const([2, 3]),
                                      const(strides)], [s], name=fresh(f"{base}/slice{i}{j}")))
                        if shape_src is None:
                            shape_src = s
                        if od is not None:
                            declare(s, [od[0], c_in, od[2], od[3]])
                        u = fresh(f"{base}/tap{i}{j}_5d")
                        out_nodes.append(helper.make_node("Unsqueeze", [s, const([2])], [u], name=fresh(f"{base}/unsqueeze{i}{j}")))
                        taps_out.append(u)
                stacked = fresh(base + "/stacked")
                out_nodes.append(helper.make_node("Concat", taps_out, [stacked], axis=2, name=fresh(base + "/concat")))
                if od is not None:
                    declare(stacked, [od[0], c_in, taps, od[2], od[3]])
                cols = fresh(base + "/cols")
                out_nodes.append(helper.make_node("Reshape", [stacked, const([0, c_in * taps, -1])], [cols],
                                                  name=fresh(base + "/flatten")))
            if od is not None:
                declare(cols, [od[0], c_in * taps, hw_out])
            # [0, 0, Ho, Wo]: batch and channels from the MatMul output, Ho, Wo from a tap's shape
            sh = fresh(base + "/shape")
            out_nodes.append(helper.make_node("Shape", [shape_src], [sh], start=2, end=4, name=fresh(base + "/shape_hw")))
            target = fresh(base + "/out_shape")
            out_nodes.append(helper.make_node("Concat", [const([0, 0]), sh], [target], axis=0, name=fresh(base + "/out_shape")))
            cols_of[key] = (cols, target)
            stats["cols_tensors"] += 1
        cols, target = cols_of[key]
        w2 = fresh(base + "/weight_2d")
        out_nodes.append(helper.make_node("Reshape", [n.input[1], const([o_ch, -1])], [w2], name=fresh(base + "/weight_2d")))
        y = fresh(base + "/matmul")
        out_nodes.append(helper.make_node("MatMul", [w2, cols], [y], name=fresh(base + "/matmul")))
        if od is not None:
            declare(y, [od[0], o_ch, hw_out])
        if len(n.input) > 2 and n.input[2]:
            b = n.input[2]
            if b in inits:
                b2 = fresh(base + "/bias_column")
                new_inits.append(numpy_helper.from_array(numpy_helper.to_array(inits[b]).reshape(o_ch, 1), b2))
            else:
                b2 = fresh(base + "/bias_column")
                out_nodes.append(helper.make_node("Reshape", [b, const([o_ch, 1])], [b2], name=fresh(base + "/bias_column")))
            yb = fresh(base + "/biased")
            out_nodes.append(helper.make_node("Add", [y, b2], [yb], name=fresh(base + "/bias")))
            if od is not None:
                declare(yb, [od[0], o_ch, hw_out])
            y = yb
        out_nodes.append(helper.make_node("Reshape", [y, target], [n.output[0]], name=fresh(base + "/unflatten")))
        stats["converted"] += 1
        if kh == 1 and kw == 1:
            stats["converted_1x1"] += 1
    # an initializer whose only consumer was a converted Conv's bias stays referenced by nothing:
    # drop it (the column copy replaces it)
    used = {i for m in out_nodes for i in m.input} | {o.name for o in g.output}
    kept_inits = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(kept_inits)
    g.initializer.extend(new_inits)
    del g.node[:]
    g.node.extend(out_nodes)
    g.value_info.extend(new_infos)
    stats["declared"] = len(new_infos)
    return stats


def convert_folder(src: Path, out: Path, sessions: list[str] | None = None, max_cols_mib: int = DEFAULT_MAX_COLS_MIB,
                   max_batch: int = DEFAULT_MAX_BATCH, max_data_file_mib: int | None = None) -> dict:
    """Rewrites the sessions of the exported folder `src` into `out` (which must not be `src`)."""
    from rewrite_folder import rewrite_folder

    src, out = Path(src), Path(out)
    manifest = json.loads((src / "manifest.json").read_text())
    if manifest.get("conv_matmul"):
        raise ConvMatMulError(f"conv_matmul: {src} is already converted: {manifest['conv_matmul']}")
    wanted_list = sessions if sessions is not None else DEFAULT_SESSIONS.split(",")
    wanted = [s for s in wanted_list if s in manifest["sessions"]]
    if not wanted:
        raise ConvMatMulError(f"conv_matmul: none of {wanted_list} is a session of {src}")
    latent = manifest.get("image", {})
    lhw = None
    f = int(manifest.get("vae_scale_factor", 8))
    if latent.get("height") and latent.get("width"):
        lhw = (int(latent["height"]) // f, int(latent["width"]) // f)

    def rewrite(model, name: str, s: dict) -> dict:
        stats = convert_graph(model, name, max_cols_mib * 2**20, max_batch, lhw if name.startswith("unet") else None)
        print(f"{name}: {stats['convs']} convs, {stats['converted']} as MatMul ({stats['converted_1x1']} 1×1) through "
              f"{stats['cols_tensors']} cols tensors (largest {stats['largest_cols_mib']} MiB at batch 1); kept: "
              f"{stats['kept_group']} grouped, {stats['kept_cols_limit']} over the cols limit", flush=True)
        return stats

    manifest, by_session = rewrite_folder(src, out, wanted, rewrite, ConvMatMulError, "conv_matmul", max_data_file_mib)
    converted = [name for name in wanted if by_session[name]["converted"]]
    if not converted:
        raise ConvMatMulError(f"conv_matmul: no convolution converted in {wanted}")
    manifest["conv_matmul"] = {"sessions": converted, "max_cols_mib": max_cols_mib}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (out / "conv-matmul-report.json").write_text(json.dumps(by_session, indent=2) + "\n")
    print(f"wrote {out}: conv_matmul {manifest['conv_matmul']}", flush=True)
    return by_session


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--in", dest="src", required=True, type=Path, help="an exported model folder (manifest.json)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--sessions", default=DEFAULT_SESSIONS,
                    help=f"graphs to rewrite (default {DEFAULT_SESSIONS}; those absent from the manifest are skipped)")
    ap.add_argument("--max-cols-mib", type=int, default=DEFAULT_MAX_COLS_MIB,
                    help="keep a Conv whose cols tensor would exceed this at --max-batch (0: convert all)")
    ap.add_argument("--max-batch", type=int, default=DEFAULT_MAX_BATCH)
    ap.add_argument("--max-data-file-mib", type=int, default=None)
    a = ap.parse_args(argv)
    convert_folder(a.src, a.out, [s for s in a.sessions.split(",") if s], a.max_cols_mib, a.max_batch, a.max_data_file_mib)


if __name__ == "__main__":
    main()
