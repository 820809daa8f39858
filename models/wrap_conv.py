#!/usr/bin/env python3
"""Horizontal wrap padding (issue 12): convolutions that see the panorama as a cylinder.

    python3 models/wrap_conv.py --in models/tiny/ldm3d-pano --out models/tiny/ldm3d-pano-wrap
    python3 models/export.py ... --wrap            (the same rewrite, in place, after the export)

An equirectangular panorama's column 0 and column W-1 are neighbours. diffusers' convolutions pad
left and right with zeros, so the two edges are generated without seeing each other (a seam behind the
viewer). This rewrite gives every 2-D Conv whose kernel is wider than 1 and that pads horizontally
its left/right padding from the opposite edge instead, switchable at run time:

    ONNX pads = [top, left, bottom, right] = [t, l, b, r], kernel width > 1, l + r > 0:
      L  = Slice(x, starts=[-l], ends=[INT64_MAX], axes=[3])      the last l columns
      R  = Slice(x, starts=[0],  ends=[r],         axes=[3])      the first r columns
      x' = Concat(L * circular_pad, x, R * circular_pad, axis=3)
      Conv(x', pads=[t, 0, b, 0])                                 top/bottom: zeros, as before
    circular_pad: a new float32 graph input of shape [1], one per graph (shared by all its convs).
      1 → circular padding along the width (a cylinder); 0 → exactly zero padding (= diffusers).

The same (x, l, r) is padded once and shared (a Conv split by narrow_weights.py into slices of its
output channels reads one padded tensor). The Conv's other inputs (weights, bias; DequantizeLinear-fed
weights of int8 / float16-widened exports) are not touched, so the rewrite and narrow_weights.py work
in either order. x itself is not changed: its other consumers still read the unpadded tensor.

Asymmetric padding. diffusers' Downsample2D with padding=0 (the VAE encoder's downsamplers) does
F.pad(x, (0, 1, 0, 1)) and then a stride-2, 3×3 conv without padding; torch.onnx folds that pad into
the Conv: pads = [0, 0, 1, 1] (checked on the tiny export: no Pad node). Output column j then reads
input columns 2j, 2j+1, 2j+2, and the last one reads column W, the pad. Circular means column W is
column 0: with l = 0, r = 1 the rule above makes the right pad column the FIRST column (and a left pad
column, if any, the last). models/goldens_wrap.py patches torch the same way: F.pad(x, (l, r, 0, 0),
mode='circular') then zeros for the height, conv without padding. A stride-2 conv with l = r = 1 (the
UNet's downsampler) reads columns 2j-1 … 2j+1, so output column 0 reads input column W-1.
Both make the UNet and the VAE equivariant to rolls by multiples of their total stride.

Refused (fatal): a Pad node feeding a wide Conv (this exporter folds pads into the Conv; a graph that
does not would need its own rule), auto_pad other than NOTSET on a wide Conv, Convs that are not 2-D,
a graph that already has a `circular_pad` input.

Manifest: "wrap": {"input": "circular_pad", "sessions": [...]}; each rewritten session's "inputs" gains
{"name": "circular_pad", "dtype": "float32", "shape": [1]}; files of rewritten graphs get new sizes and
hashes; everything else is kept. wrap-report.json says what was rewritten per graph.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

INPUT = "circular_pad"
PREFIX = "circular_pad/"
from rewrite_folder import INT64_MAX, GraphNames  # noqa: E402
DEFAULT_SESSIONS = "unet,unet_shallow,vae_decoder,vae_encoder"
INPUT_SPEC = {"name": INPUT, "dtype": "float32", "shape": [1]}


class WrapError(SystemExit):
    """Every failure is fatal and names the graph and node."""


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _kernel_width(node, g, producers: dict, inits: dict, shapes: dict) -> int | None:
    """Kernel width of a Conv: its kernel_shape attribute, else the weight's shape (an initializer,
    or the input of the DequantizeLinear / float16-widening chain that makes it), else shape inference."""
    a = _attrs(node)
    if "kernel_shape" in a:
        return int(a["kernel_shape"][-1])
    name = node.input[1]
    for _ in range(8):
        if name in inits:
            dims = list(inits[name].dims)
            return int(dims[-1]) if dims else None
        if name in shapes and shapes[name] and shapes[name][-1] is not None:
            return int(shapes[name][-1])
        p = producers.get(name)
        if p is None:
            return None
        if p.op_type in ("DequantizeLinear", "Cast", "Identity"):
            name = p.input[0]
        elif p.op_type == "Gather":  # float16 widening: Gather(table, codes as int32 [..., kH, kW])
            name = p.input[1]
        elif p.op_type == "ReduceSum":  # ... ← ReduceSum(keepdims=0) of [..., kW, 2]: drop the last axis
            src = p.input[0]
            if src in inits:
                return int(list(inits[src].dims)[-2])
            q = producers.get(src)
            if q is not None and q.op_type == "DequantizeLinear" and q.input[0] in inits:
                return int(list(inits[q.input[0]].dims)[-2])
            return None
        else:
            return None
    return None


def wrap_graph(model, label: str = "graph") -> dict:
    """Rewrites `model` in place (see the module docstring); returns what it did."""
    import onnx
    from onnx import helper

    g = model.graph
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if opset < 13:
        raise WrapError(f"wrap_conv: {label}: opset {opset}; this needs >= 13 (Slice with input starts/ends/axes)")
    if any(i.name == INPUT for i in g.input):
        raise WrapError(f"wrap_conv: {label} already has a {INPUT!r} input (already wrapped?)")
    inits = {i.name: i for i in g.initializer}
    producers = {o: n for n in g.node for o in n.output}
    shapes: dict = {}
    if any(n.op_type == "Conv" and not any(a.name == "kernel_shape" for a in n.attribute) for n in g.node):
        # only for Convs without kernel_shape (torch.onnx writes it), and only for graphs that fit one
        # protobuf: shape inference serialises the model
        try:
            inferred = onnx.shape_inference.infer_shapes(model)
            for v in list(inferred.graph.value_info) + list(inferred.graph.input):
                t = v.type.tensor_type
                if t.HasField("shape"):
                    shapes[v.name] = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
        except Exception:  # noqa: BLE001 - a fallback; a width it cannot tell is fatal below
            pass
    names = GraphNames(g, PREFIX)
    fresh, const, new_inits = names.fresh, names.const, names.new_inits

    stats = {"convs": 0, "wrapped": 0, "wrapped_asymmetric": 0, "padded_tensors": 0, "kept_kernel_width_1": 0,
             "kept_unpadded": 0, "pads": {}}
    padded: dict[tuple[str, int, int], str] = {}
    out_nodes = []
    for n in g.node:
        if n.op_type != "Conv" or n.domain not in ("", "ai.onnx"):
            out_nodes.append(n)
            continue
        stats["convs"] += 1
        a = _attrs(n)
        kw = _kernel_width(n, g, producers, inits, shapes)
        if kw is None:
            raise WrapError(f"wrap_conv: {label}: cannot tell the kernel width of Conv {n.name!r}")
        pads = list(a.get("pads", []))
        auto_pad = a.get("auto_pad", b"NOTSET")
        auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
        if kw == 1:
            stats["kept_kernel_width_1"] += 1
            out_nodes.append(n)
            continue
        if auto_pad not in ("NOTSET", ""):
            raise WrapError(f"wrap_conv: {label}: Conv {n.name!r} has auto_pad={auto_pad}; only explicit pads are supported")
        ks = a.get("kernel_shape")
        if (ks is not None and len(ks) != 2) or (pads and len(pads) != 4):
            raise WrapError(f"wrap_conv: {label}: Conv {n.name!r} is not 2-D (kernel_shape {ks}, pads {pads})")
        if not pads:
            pads = [0, 0, 0, 0]
        top, left, bottom, right = (int(v) for v in pads)
        p = producers.get(n.input[0])
        if p is not None and p.op_type == "Pad":
            raise WrapError(f"wrap_conv: {label}: Conv {n.name!r} (kernel width {kw}) reads Pad {p.name!r}: this "
                            "exporter was expected to fold pads into the Conv; no circular rule for a separate Pad")
        if left == 0 and right == 0:
            stats["kept_unpadded"] += 1
            out_nodes.append(n)
            continue
        key = (n.input[0], left, right)
        if key not in padded:
            x = n.input[0]
            base = fresh(PREFIX + (n.name or "conv").strip("/").replace("/", "_"))
            parts = []
            if left:
                sl = fresh(base + "/left")
                ml = fresh(base + "/left_scaled")
                out_nodes.append(helper.make_node("Slice", [x, const([-left]), const([INT64_MAX]), const([3])], [sl],
                                                  name=fresh(base + "/slice_left")))
                out_nodes.append(helper.make_node("Mul", [sl, INPUT], [ml], name=fresh(base + "/mul_left")))
                parts.append(ml)
            parts.append(x)
            if right:
                sr = fresh(base + "/right")
                mr = fresh(base + "/right_scaled")
                out_nodes.append(helper.make_node("Slice", [x, const([0]), const([right]), const([3])], [sr],
                                                  name=fresh(base + "/slice_right")))
                out_nodes.append(helper.make_node("Mul", [sr, INPUT], [mr], name=fresh(base + "/mul_right")))
                parts.append(mr)
            xp = fresh(base + "/padded")
            out_nodes.append(helper.make_node("Concat", parts, [xp], axis=3, name=fresh(base + "/concat")))
            padded[key] = xp
            stats["padded_tensors"] += 1
        n.input[0] = padded[key]
        kept = [at for at in n.attribute if at.name != "pads"]
        del n.attribute[:]
        n.attribute.extend(kept)
        n.attribute.append(helper.make_attribute("pads", [top, 0, bottom, 0]))
        stats["wrapped"] += 1
        if left != right:
            stats["wrapped_asymmetric"] += 1
        k = f"{left},{right}"
        stats["pads"][k] = stats["pads"].get(k, 0) + 1
        out_nodes.append(n)
    if stats["wrapped"]:
        g.input.append(helper.make_tensor_value_info(INPUT, onnx.TensorProto.FLOAT, [1]))
    g.initializer.extend(new_inits)
    del g.node[:]
    g.node.extend(out_nodes)
    return stats


def wrap_folder(src: Path, out: Path, sessions: list[str] | None = None, max_data_file_mib: int | None = None) -> dict:
    """Rewrites the sessions of the exported folder `src` into `out` (which must not be `src`)."""
    from rewrite_folder import rewrite_folder

    src, out = Path(src), Path(out)
    manifest = json.loads((src / "manifest.json").read_text())
    if manifest.get("wrap"):
        raise WrapError(f"wrap_conv: {src} is already wrapped: {manifest['wrap']}")
    if out.resolve() == src.resolve():
        raise WrapError("wrap_conv: --out must differ from --in")
    wanted_list = (sessions if sessions is not None else DEFAULT_SESSIONS.split(","))
    wanted = [s for s in wanted_list if s in manifest["sessions"]]
    if "unet" in wanted and "unet_shallow" in manifest["sessions"] and "unet_shallow" not in wanted:
        # DeepCache's shallow branch must pad like the full UNet whose features it reuses
        wanted.append("unet_shallow")
    if not wanted:
        raise WrapError(f"wrap_conv: none of {wanted_list} is a session of {src}")

    def rewrite(model, name: str, s: dict) -> dict:
        stats = wrap_graph(model, name)
        print(f"{name}: {stats['convs']} convs, {stats['wrapped']} wrapped ({stats['wrapped_asymmetric']} asymmetric; "
              f"pads l,r: {stats['pads']}) through {stats['padded_tensors']} padded tensors, "
              f"{stats['kept_kernel_width_1']} 1-wide kept", flush=True)
        if stats["wrapped"]:
            s["inputs"] = [i for i in s["inputs"] if i["name"] != INPUT] + [dict(INPUT_SPEC)]
        return stats

    manifest, by_session = rewrite_folder(src, out, wanted, rewrite, WrapError, "wrap_conv", max_data_file_mib)
    wrapped_sessions = [name for name in wanted if by_session[name]["wrapped"]]
    if not wrapped_sessions:
        raise WrapError(f"wrap_conv: no convolution to wrap in {wanted}")
    report = {"input": INPUT, "sessions": by_session}
    manifest["wrap"] = {"input": INPUT, "sessions": wrapped_sessions}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (out / "wrap-report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}: wrap {manifest['wrap']}; {sum(f['bytes'] for f in manifest['files']) / 2**20:.2f} MiB in "
          f"{len(manifest['files'])} files", flush=True)
    return report


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--in", dest="src", required=True, type=Path, help="an exported model folder (manifest.json)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--sessions", default=DEFAULT_SESSIONS,
                    help=f"graphs to rewrite (default {DEFAULT_SESSIONS}; those absent from the manifest are skipped)")
    ap.add_argument("--max-data-file-mib", type=int, default=None,
                    help="split external data into files of at most this size (default: as export.py)")
    a = ap.parse_args(argv)
    wrap_folder(a.src, a.out, [s for s in a.sessions.split(",") if s], a.max_data_file_mib)


if __name__ == "__main__":
    main()
