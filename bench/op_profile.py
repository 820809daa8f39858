#!/usr/bin/env python3
"""Per-op-class FLOPs of one UNet call, and the same op shapes timed in PyTorch strict fp32 (issue 11 §2).

    python3 bench/op_profile.py --models /tmp/rf-mha-int8 --batch 1 --latent 64x128 --tokens 77 \\
        --peak-tflops 67 --out /tmp/op-shapes.json        # on the GPU machine (torch + onnx)
    python3 bench/op_profile.py --models DIR --no-torch --out F   # shapes and FLOPs only (onnx, no GPU)
    python3 bench/op_profile.py --self-test                      # the pure-Python parts, no packages

What it does:
1. Loads the UNet graph of an export folder (manifest.json → sessions.unet.file) WITHOUT its external
   data (only names, dims and the small inline constants are needed), fixes the symbolic dims (batch,
   latent_height, latent_width; the text length from --tokens) and gets every tensor's shape:
   - the exporter's own value_info carries dims as expressions of the input dims
     ("(((latent_height - 1)//2)) + 1"); they are evaluated (a small arithmetic evaluator, no eval());
   - then onnx shape inference (data propagation on) fills the rest. It has no schema for
     com.microsoft.MultiHeadAttention, so on the copy used for inference each such node is replaced by
     Transpose(K) → MatMul(Q, Kᵀ) → MatMul(·, V), which has its output shape [B, Sq, Dv];
   - if compute nodes are still unshaped and onnxruntime is importable, its symbolic shape inference
     (which knows the contrib op) fills what is left. `shape_inference` in the JSON says how many nodes
     stayed unshaped (they count 0 FLOPs and are listed).
2. FLOPs per node (a multiply-add is 2 FLOPs):
     Conv         2·N·Cout·(Cin/group)·kh·kw·Hout·Wout       (= 2·|Y|·|W|/Cout; bias not counted)
     MatMul/Gemm  2·M·N·K·batch                              (= 2·|Y|·K)
     MHA          2·B·heads·Sq·Sk·(d + dv)  (= 4·B·heads·Sq·Sk·d here: QKᵀ and PV; softmax not
                  counted; the q/k/v/out projections are separate MatMul nodes in this export)
     DequantizeLinear  1 per output element
     norms        7 per element (sum and sum of squares 3, normalise 2, scale and shift 2)
     elementwise  1 per output element, transcendental functions included
     Softmax      5 per element; data movement (Transpose, Concat, Split, Slice, Resize...) 0
   These classes are memory-bound: their FLOP/s is nominal; `bytes` (inputs + outputs) is kept too.
   Reshape/Squeeze/Unsqueeze/Shape/... (no GPU kernel in onnxruntime-web) and shape arithmetic on
   integer tensors of ≤ 64 elements (onnxruntime keeps it on the CPU) are class "free".
3. Classes (what bench/op-profile-join.mjs maps ORT WebGPU kernel names onto): conv, attention,
   matmul, dequantize, norm, elementwise, layout, other (+ free). A 1×1 stride-1 unpadded Conv is
   counted in matmul ("Conv 1x1"): onnxruntime's WebGPU Conv runs it with its MatMul kernels
   (webgpu/nn/conv.cc), so that is where its time shows. That file also transposes every Conv weight
   that is not a constant initializer (the int8 export's dequantized weights) on every call, with
   kernels named Transpose (layout): `ort_webgpu.conv_weight_transposes` counts those Convs. The int8 export's Conv/MatMul split
   along output channels (narrow_weights.py --split-elements) counts as the nodes it runs; for each
   split group the unsplit shape is timed too (`torch_ms_unsplit` per class, `split_groups`).
4. With torch: every unique (op, shapes, attributes) once on CUDA with TF32 off
   (torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False), inputs random:
   the median over --repeats batches of back-to-back launches between two CUDA events, divided by
   the batch length (sized so a batch takes ≥ --target-ms), times the node count. The torch op per
   class: conv → F.conv{1,2,3}d (F.pad first where ONNX pads are asymmetric); MatMul → torch.matmul;
   Gemm → torch.addmm/mm on transposed views; MHA → F.scaled_dot_product_attention on [B, heads, S, d]
   views of [B, S, heads·d] and the [B, Sq, heads·dv] output copy (what the contrib op takes and
   gives); DequantizeLinear → int8 tensor × per-channel float32 scale (one kernel; the int8 export's
   zero points are 0); InstanceNormalization/LayerNormalization/GroupNormalization →
   F.instance_norm/F.layer_norm/F.group_norm; elementwise → the torch function on the node's input
   shapes (broadcasting as ONNX); Transpose → permute + contiguous copy; Concat → torch.cat; Split →
   contiguous copies of the pieces; Resize → F.interpolate; Gather → index_select; Slice/Expand →
   a contiguous copy of the output's extent; anything else in "layout" → a copy of the output's size.
   Ops it cannot build are listed as untimed (torch_ms counts them as 0).
   Back-to-back launches keep small tensors in L2, as the graph's producer→consumer chain does; for
   kernels shorter than a launch (~5 µs) both sides measure launch rate, not arithmetic.

Output JSON: {"meta": {...}, "classes": {class: {count, flops, bytes, torch_ms, torch_ms_unsplit,
untimed, ops}}, "shapes": [per unique shape], "split_groups": [...], "ort_webgpu": {...}, "shape_inference": {...}}.
"""
from __future__ import annotations

import argparse
import ast
import json
import math
import re
import statistics
import sys
import time
from fractions import Fraction
from pathlib import Path

DEFAULT_PEAK_TFLOPS = 67.0
DEFAULT_PEAK_SOURCE = ("NVIDIA H100 Tensor Core GPU datasheet: FP32 67 TFLOPS (H100 SXM), "
                       "the non-tensor-core fp32 rate WebGPU shaders can use")

CLASSES = ("conv", "attention", "matmul", "dequantize", "norm", "elementwise", "layout", "other", "free")

CLASS_OF_OP = {
    "Conv": "conv", "ConvTranspose": "conv", "FusedConv": "conv",
    "MultiHeadAttention": "attention", "Attention": "attention", "Softmax": "attention",
    "MatMul": "matmul", "Gemm": "matmul", "FusedMatMul": "matmul", "MatMulNBits": "matmul",
    "DequantizeLinear": "dequantize",
    "InstanceNormalization": "norm", "LayerNormalization": "norm", "GroupNormalization": "norm",
    "BatchNormalization": "norm", "SkipLayerNormalization": "norm", "SimplifiedLayerNormalization": "norm",
    "RMSNormalization": "norm", "GroupNorm": "norm",
    "Transpose": "layout", "Concat": "layout", "Split": "layout", "Slice": "layout", "Expand": "layout",
    "Resize": "layout", "Upsample": "layout", "Gather": "layout", "GatherElements": "layout",
    "GatherND": "layout", "Pad": "layout", "Tile": "layout", "ScatterND": "layout",
    "ScatterElements": "layout", "DepthToSpace": "layout", "SpaceToDepth": "layout",
}
UNARY_OPS = ("Sigmoid", "Tanh", "Erf", "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Relu", "Sin",
             "Cos", "Floor", "Ceil", "Round", "Softplus", "Gelu", "Not", "Sign", "Cast", "Clip",
             "LeakyRelu", "Elu", "HardSigmoid", "QuickGelu", "FastGelu", "BiasGelu")
BINARY_OPS = ("Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater", "LessOrEqual",
              "GreaterOrEqual", "And", "Or", "Xor", "Max", "Min", "Mod", "Sum", "Mean")
for _op in UNARY_OPS + BINARY_OPS + ("Where",):
    CLASS_OF_OP[_op] = "elementwise"
# No GPU kernel in onnxruntime-web (aliases of their input, or computed on the CPU).
FREE_OPS = {"Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Shape", "Size", "Constant",
            "ConstantOfShape", "Range", "Dropout"}

NORM_FLOPS_PER_ELEMENT = 7
ELEMENTWISE_FLOPS_PER_ELEMENT = 1
SOFTMAX_FLOPS_PER_ELEMENT = 5
SHAPE_ARITHMETIC_MAX_ELEMENTS = 64

# onnx TensorProto.DataType → (torch dtype name, bytes per element)
DTYPES = {1: ("float32", 4), 2: ("uint8", 1), 3: ("int8", 1), 5: ("int16", 2), 6: ("int32", 4),
          7: ("int64", 8), 9: ("bool", 1), 10: ("float16", 2), 11: ("float64", 8), 16: ("bfloat16", 2)}
INT_TYPES = {2, 3, 5, 6, 7, 9, 12, 13}

SPLIT_PART = re.compile(r"^(.*)/part(\d+)$")


def log(*a) -> None:
    print("[op_profile]", *a, flush=True)


# --- dims -------------------------------------------------------------------------------------------

def eval_dim(expr: str, env: dict[str, int]) -> int | None:
    """Value of a symbolic dim such as '(((latent_height - 1)//2)) + 1' (torch.export's sympy
    printing) with the names in `env`; None when it uses other names or other syntax."""
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        return None

    def ev(n):
        if isinstance(n, ast.Expression):
            return ev(n.body)
        if isinstance(n, ast.Constant) and isinstance(n.value, int) and not isinstance(n.value, bool):
            return Fraction(n.value)
        if isinstance(n, ast.Name):
            if n.id not in env:
                raise KeyError(n.id)
            return Fraction(env[n.id])
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            v = ev(n.operand)
            return -v if isinstance(n.op, ast.USub) else v
        if isinstance(n, ast.BinOp):
            a, b = ev(n.left), ev(n.right)
            if isinstance(n.op, ast.Add):
                return a + b
            if isinstance(n.op, ast.Sub):
                return a - b
            if isinstance(n.op, ast.Mult):
                return a * b
            if isinstance(n.op, ast.Div):
                return a / b
            if isinstance(n.op, ast.FloorDiv):
                return Fraction(math.floor(a / b))
            if isinstance(n.op, ast.Mod):
                return a - b * math.floor(a / b)
            if isinstance(n.op, ast.Pow) and b.denominator == 1 and b >= 0:
                return a ** int(b)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and not n.keywords:
            args = [ev(x) for x in n.args]
            fn = {"Max": max, "max": max, "Min": min, "min": min,
                  "floor": lambda x: Fraction(math.floor(x)), "FloorToInt": lambda x: Fraction(math.floor(x)),
                  "ceiling": lambda x: Fraction(math.ceil(x)), "CeilToInt": lambda x: Fraction(math.ceil(x))}.get(n.func.id)
            if fn is not None and args:
                return fn(*args)
        raise ValueError(ast.dump(n))

    try:
        v = ev(tree)
    except (KeyError, ValueError, ZeroDivisionError, RecursionError, TypeError):
        return None
    return int(v) if v.denominator == 1 else None


def parse_latent(s: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)[x×,](\d+)", s.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"--latent wants HxW, got {s!r}")
    return int(m.group(1)), int(m.group(2))


# --- nodes as plain data (what the FLOP count and the torch timing read) ------------------------------

def numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def known(t) -> bool:
    return t is not None and t["shape"] is not None and all(isinstance(d, int) and d >= 0 for d in t["shape"])


def node_bytes(node) -> int | None:
    ts = [t for t in node["inputs"] + node["outputs"] if t is not None]
    if not all(known(t) for t in ts):
        return None
    return sum(numel(t["shape"]) * DTYPES.get(t["dtype"], ("?", 4))[1] for t in ts)


def pointwise_conv(node) -> bool:
    """A 1×1, stride-1, unpadded, ungrouped Conv: onnxruntime's WebGPU Conv runs it through its MatMul
    kernels (onnxruntime/core/providers/webgpu/nn/conv.cc), so its time shows under MatMul names."""
    if node["op"] != "Conv" or len(node["inputs"]) < 2 or not known(node["inputs"][1]):
        return False
    at = node["attrs"]
    k = node["inputs"][1]["shape"][2:]
    return (len(k) > 0 and all(d == 1 for d in k) and all(s == 1 for s in at.get("strides", [1]))
            and all(p == 0 for p in at.get("pads", [0])) and int(at.get("group", 1)) == 1
            and at.get("auto_pad", "NOTSET") in ("NOTSET", "VALID"))


def op_label(node) -> str:
    return "Conv 1x1" if pointwise_conv(node) else node["op"]


def classify(node) -> str:
    op = node["op"]
    if op in FREE_OPS:
        return "free"
    if pointwise_conv(node):
        return "matmul"
    outs = [o for o in node["outputs"] if o is not None]
    if outs and all(o["dtype"] in INT_TYPES and known(o) and numel(o["shape"]) <= SHAPE_ARITHMETIC_MAX_ELEMENTS
                    for o in outs):
        return "free"  # shape arithmetic: onnxruntime computes it on the CPU
    return CLASS_OF_OP.get(op, "other")


def flops(node) -> int | None:
    """FLOPs of one node (see the module docstring); None when a shape it needs is unknown."""
    cls = classify(node)
    op, ins, outs, at = node["op"], node["inputs"], node["outputs"], node["attrs"]
    y = outs[0] if outs else None
    if cls in ("layout", "free", "other"):
        return 0
    if op in ("Conv", "FusedConv"):
        w = ins[1] if len(ins) > 1 else None
        if not (known(y) and known(w)):
            return None
        return 2 * numel(y["shape"]) * numel(w["shape"][1:])
    if op == "ConvTranspose":
        x, w = ins[0], ins[1] if len(ins) > 1 else None
        if not (known(x) and known(w)):
            return None
        return 2 * numel(x["shape"]) * numel(w["shape"][1:])
    if op in ("MatMul", "FusedMatMul"):
        a = ins[0]
        if not (known(y) and known(a)):
            return None
        return 2 * numel(y["shape"]) * a["shape"][-1]
    if op == "Gemm":
        a = ins[0]
        if not (known(y) and known(a)):
            return None
        k = a["shape"][0] if at.get("transA", 0) else a["shape"][1]
        return 2 * numel(y["shape"]) * k
    if op == "MultiHeadAttention":
        dims = mha_dims(node)
        if dims is None:
            return None
        b, h, sq, sk, d, dv = dims
        return 2 * b * h * sq * sk * (d + dv)
    if not known(y):
        return None
    n = numel(y["shape"])
    if cls == "dequantize":
        return n
    if cls == "norm":
        return NORM_FLOPS_PER_ELEMENT * n
    if op == "Softmax":
        return SOFTMAX_FLOPS_PER_ELEMENT * n
    if cls == "elementwise":
        return ELEMENTWISE_FLOPS_PER_ELEMENT * n
    return 0


def mha_dims(node):
    """(B, heads, Sq, Sk, d, dv) of a com.microsoft.MultiHeadAttention with separate q, k, v
    ([B, S, heads·d], or k/v as [B, heads, S, d]); None for packed or unknown inputs."""
    ins = node["inputs"]
    if len(ins) < 3 or not all(known(t) for t in ins[:3]):
        return None
    q, k, v = (t["shape"] for t in ins[:3])
    h = int(node["attrs"].get("num_heads", 0))
    if len(q) != 3 or h <= 0 or q[2] % h:
        return None
    b, sq, dq = q
    if len(k) == 3 and len(v) == 3:
        sk, dv_all = k[1], v[2]
        if dv_all % h:
            return None
        return b, h, sq, sk, dq // h, dv_all // h
    if len(k) == 4 and len(v) == 4:  # BNSH key/value
        return b, h, sq, k[2], dq // h, v[3]
    return None


def mha_output_shape(node):
    dims = mha_dims(node)
    if dims is None:
        return None
    b, h, sq, _, _, dv = dims
    return [b, sq, h * dv]


def shape_key(node) -> str:
    t = lambda x: None if x is None else [x["shape"], x["dtype"]]  # noqa: E731
    return json.dumps([node["domain"], node["op"], [t(x) for x in node["inputs"]], [t(x) for x in node["outputs"]],
                       sorted(node["attrs"].items())], sort_keys=True, default=str)


def unsplit_node(parts: list[dict]) -> dict | None:
    """The Conv/MatMul that narrow_weights.py split into `parts` (slices of the output channels):
    the same node with the weight, bias and output joined along the split axis."""
    first = parts[0]
    op = first["op"]
    if op not in ("Conv", "MatMul") or not all(p["op"] == op for p in parts):
        return None
    if not all(known(t) for p in parts for t in p["inputs"][:2] + p["outputs"][:1]):
        return None
    w_axis, y_axis = (0, 1) if op == "Conv" else (-1, -1)

    def joined(ts, axis):
        shape = list(ts[0]["shape"])
        shape[axis] = sum(t["shape"][axis] for t in ts)
        return {"shape": shape, "dtype": ts[0]["dtype"]}

    ins = [first["inputs"][0], joined([p["inputs"][1] for p in parts], w_axis)]
    if op == "Conv" and len(first["inputs"]) > 2 and first["inputs"][2] is not None:
        if not all(known(p["inputs"][2]) for p in parts):
            return None
        ins.append(joined([p["inputs"][2] for p in parts], 0))
    return {"name": SPLIT_PART.match(first["name"]).group(1), "op": op, "domain": first["domain"], "inputs": ins,
            "outputs": [joined([p["outputs"][0] for p in parts], y_axis)], "attrs": dict(first["attrs"])}


# --- the graph -------------------------------------------------------------------------------------------

def unet_path(models: Path) -> Path:
    if models.suffix == ".onnx":
        return models
    manifest = json.loads((models / "manifest.json").read_text())
    return models / manifest["sessions"]["unet"]["file"]


def fix_shape(vi, env: dict[str, int]) -> bool:
    """Replaces the symbolic dims of a value_info by their values in `env`; unknown ones are cleared.
    Returns whether the shape is fully known afterwards."""
    if not vi.type.HasField("tensor_type") or not vi.type.tensor_type.HasField("shape"):
        return False
    ok = True
    for d in vi.type.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            continue
        v = eval_dim(d.dim_param, env) if d.HasField("dim_param") else None
        d.Clear()
        if v is None:
            ok = False
        else:
            d.dim_value = v
    return ok


def shapes_from(model) -> dict[str, dict]:
    """tensor name → {"shape": [int | None] | None, "dtype": onnx elem type} from the graph's
    initializers, inputs, outputs and value_info (fully known shapes win)."""
    g = model.graph
    out: dict[str, dict] = {}
    for init in g.initializer:
        out[init.name] = {"shape": list(init.dims), "dtype": init.data_type}
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if not vi.type.HasField("tensor_type"):
            continue
        tt = vi.type.tensor_type
        shape = ([d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
                 if tt.HasField("shape") else None)
        t = {"shape": shape, "dtype": tt.elem_type}
        if vi.name not in out or (not known(out[vi.name]) and known(t)):
            out[vi.name] = t
    return out


def attrs_of(node) -> dict:
    from onnx import AttributeProto, helper

    keep = {AttributeProto.INT, AttributeProto.FLOAT, AttributeProto.STRING, AttributeProto.INTS,
            AttributeProto.FLOATS, AttributeProto.STRINGS}
    out = {}
    for a in node.attribute:
        if a.type not in keep:
            continue
        v = helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        elif isinstance(v, list):
            v = [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in v]
        out[a.name] = v
    return out


def load_graph(path: Path, env: dict[str, int], tokens: int | None):
    """(model, tensor shapes, shape-inference report). The model is loaded without external data."""
    import onnx
    from onnx import helper

    model = onnx.load(str(path), load_external_data=False)
    g = model.graph
    for vi in g.input:
        # the text length: static in this export (77); if symbolic, --tokens names its value
        if vi.name == "encoder_hidden_states" and tokens is not None and vi.type.tensor_type.HasField("shape"):
            dims = vi.type.tensor_type.shape.dim
            if len(dims) > 1 and dims[1].HasField("dim_param"):
                env.setdefault(dims[1].dim_param, tokens)
            elif len(dims) > 1 and dims[1].HasField("dim_value") and dims[1].dim_value != tokens:
                raise SystemExit(f"encoder_hidden_states has {dims[1].dim_value} tokens in this graph, not {tokens}")
    unresolved = []
    for vi in g.input:
        if not fix_shape(vi, env) and vi.type.tensor_type.HasField("shape"):
            unresolved.append(vi.name)
    if unresolved:
        raise SystemExit(f"inputs with dims not given (use --dim NAME=VALUE): {unresolved}")
    n_vi = len(g.value_info)
    vi_known = sum(fix_shape(vi, env) for vi in g.value_info)
    for vi in g.output:
        fix_shape(vi, env)
    evaluated = shapes_from(model)

    # the copy that onnx infers shapes on: MultiHeadAttention replaced by a shape-equivalent chain
    inf = onnx.ModelProto()
    inf.CopyFrom(model)
    taken = {o for n in inf.graph.node for o in n.output} | {i.name for i in inf.graph.initializer}
    nodes, stand_ins = [], 0
    for n in inf.graph.node:
        if (n.op_type == "MultiHeadAttention" and len(n.input) >= 3 and n.input[1] and n.input[2]
                and n.output and n.output[0]):
            kt, s = f"{n.output[0]}/shape_kT", f"{n.output[0]}/shape_scores"
            while kt in taken or s in taken:
                kt, s = kt + "_", s + "_"
            taken.update((kt, s))
            nodes += [helper.make_node("Transpose", [n.input[1]], [kt], perm=[0, 2, 1]),
                      helper.make_node("MatMul", [n.input[0], kt], [s]),
                      helper.make_node("MatMul", [s, n.input[2]], [n.output[0]])]
            stand_ins += 1
        else:
            nodes.append(n)
    del inf.graph.node[:]
    inf.graph.node.extend(nodes)
    report = {"value_info": n_vi, "value_info_evaluated": vi_known, "mha_stand_ins": stand_ins, "methods": ["evaluated value_info"]}
    shapes = dict(evaluated)
    try:
        t0 = time.perf_counter()
        inferred = onnx.shape_inference.infer_shapes(inf, check_type=False, strict_mode=False, data_prop=True)
        report["onnx_seconds"] = round(time.perf_counter() - t0, 2)
        report["methods"].append(f"onnx {onnx.__version__} infer_shapes(data_prop=True)")
        for name, t in shapes_from(inferred).items():
            old = shapes.get(name)
            if old is None or not known(old):
                shapes[name] = t
            elif known(t) and t["shape"] != old["shape"]:
                report.setdefault("disagreements", []).append({"tensor": name, "value_info": old["shape"], "onnx": t["shape"]})
    except Exception as e:  # noqa: BLE001 - the evaluated value_info may still cover the graph
        report["onnx_error"] = f"{type(e).__name__}: {str(e)[:300]}"
    return model, shapes, report


def ort_shapes(model) -> dict[str, dict]:
    """onnxruntime's symbolic shape inference (it knows com.microsoft.MultiHeadAttention), as a fallback."""
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

    out = SymbolicShapeInference.infer_shapes(model, int_max=2**31 - 1, auto_merge=True, guess_output_rank=False, verbose=0)
    return shapes_from(out)


def graph_nodes(model, shapes: dict[str, dict]) -> list[dict]:
    def t(name):
        # "" = an optional input left out (None); a name without shape information gets shape None
        return (shapes.get(name) or {"shape": None, "dtype": 0}) if name else None

    inits = {i.name for i in model.graph.initializer}
    return [{"name": n.name, "op": n.op_type, "domain": n.domain, "inputs": [t(x) for x in n.input],
             "outputs": [t(x) for x in n.output], "attrs": attrs_of(n),
             "const_inputs": [x in inits for x in n.input]} for n in model.graph.node]


def fill_mha_outputs(nodes: list[dict]) -> None:
    for n in nodes:
        if n["op"] == "MultiHeadAttention" and n["outputs"] and not known(n["outputs"][0]):
            s = mha_output_shape(n)
            if s is not None:
                n["outputs"][0] = {"shape": s, "dtype": n["inputs"][0]["dtype"]}


def unshaped(nodes: list[dict]) -> list[dict]:
    """Costed nodes (not free) with an input or output of unknown shape."""
    bad = []
    for n in nodes:
        if classify(n) == "free":
            continue
        ts = [x for x in n["inputs"] + n["outputs"] if x is not None]
        if not n["outputs"] or n["outputs"][0] is None or not all(known(x) for x in ts):
            bad.append({"name": n["name"], "op": n["op"]})
    return bad


# --- torch -------------------------------------------------------------------------------------------

class TorchOps:
    """Builds, per node, a zero-argument function that runs the node's computation in torch on CUDA."""

    def __init__(self, device: str = "cuda"):
        import torch
        import torch.nn.functional as F

        self.torch, self.F, self.device = torch, F, device
        self.unary = {"Sigmoid": torch.sigmoid, "Tanh": torch.tanh, "Erf": torch.erf, "Exp": torch.exp, "Log": torch.log,
                      "Sqrt": torch.sqrt, "Reciprocal": torch.reciprocal, "Neg": torch.neg, "Abs": torch.abs,
                      "Relu": torch.relu, "Sin": torch.sin, "Cos": torch.cos, "Floor": torch.floor, "Ceil": torch.ceil,
                      "Round": torch.round, "Softplus": F.softplus, "Gelu": F.gelu, "Not": torch.logical_not,
                      "Sign": torch.sign, "LeakyRelu": F.leaky_relu, "Elu": F.elu, "HardSigmoid": F.hardsigmoid,
                      "QuickGelu": lambda x: x * torch.sigmoid(1.702 * x),
                      "FastGelu": lambda x: F.gelu(x, approximate="tanh")}
        self.binary = {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Pow": torch.pow, "Equal": torch.eq,
                       "Less": torch.lt, "Greater": torch.gt, "LessOrEqual": torch.le, "GreaterOrEqual": torch.ge,
                       "And": torch.logical_and, "Or": torch.logical_or, "Xor": torch.logical_xor, "Mod": torch.remainder}

    def dtype(self, onnx_type: int):
        name = DTYPES.get(onnx_type, ("float32", 4))[0]
        return getattr(self.torch, name)

    def rand(self, t):
        torch, shape, dt = self.torch, tuple(t["shape"]), self.dtype(t["dtype"])
        if dt.is_floating_point:
            return torch.randn(shape, device=self.device, dtype=dt)
        if dt == torch.bool:
            return torch.randint(0, 2, shape, device=self.device) > 0
        if dt == torch.int8:
            return torch.randint(-127, 128, shape, device=self.device, dtype=dt)
        if dt == torch.uint8:
            return torch.randint(0, 256, shape, device=self.device, dtype=dt)
        return torch.randint(1, 8, shape, device=self.device, dtype=dt)

    def build(self, node):
        """(fn, None) or (None, why not)."""
        op = node["op"]
        try:
            # op names are CamelCase: _Conv, _MatMul, ... never the lower-case helpers below
            method = getattr(type(self), "_" + op, None)
            if method is not None:
                return method(self, node), None
            if op in self.unary:
                return self._unary(node, self.unary[op]), None
            if op in self.binary:
                return self._binary(node, self.binary[op]), None
            if classify(node) == "layout":
                return self._copy_out(node), None
            return None, f"no torch stand-in for {op}"
        except Exception as e:  # noqa: BLE001 - one odd node must not stop the profile
            return None, f"{type(e).__name__}: {str(e)[:200]}"

    # conv / matmul / attention -------------------------------------------------------------------
    def _Conv(self, node):
        F, at, ins = self.F, node["attrs"], node["inputs"]
        x, w = self.rand(ins[0]), self.rand(ins[1])
        b = self.rand(ins[2]) if len(ins) > 2 and ins[2] is not None else None
        nd = len(ins[0]["shape"]) - 2
        if nd not in (1, 2, 3):
            raise ValueError(f"conv of rank {nd + 2}")
        strides = tuple(at.get("strides", [1] * nd))
        dil = tuple(at.get("dilations", [1] * nd))
        group = int(at.get("group", 1))
        pads = list(at.get("pads", [0] * 2 * nd))
        auto = at.get("auto_pad", "NOTSET")
        if auto == "VALID":
            pads = [0] * 2 * nd
        elif auto in ("SAME_UPPER", "SAME_LOWER"):
            k = ins[1]["shape"][2:]
            pads = [0] * 2 * nd
            for i in range(nd):
                size = ins[0]["shape"][2 + i]
                out = -(-size // strides[i])
                total = max(0, (out - 1) * strides[i] + (k[i] - 1) * dil[i] + 1 - size)
                small, big = total // 2, total - total // 2
                pads[i], pads[nd + i] = (small, big) if auto == "SAME_UPPER" else (big, small)
        begin, end = tuple(pads[:nd]), tuple(pads[nd:])
        conv = getattr(F, f"conv{nd}d")
        if begin == end:
            return lambda: conv(x, w, b, strides, begin, dil, group)
        fpad = []
        for i in reversed(range(nd)):
            fpad += [begin[i], end[i]]
        return lambda: conv(F.pad(x, fpad), w, b, strides, 0, dil, group)

    def _ConvTranspose(self, node):
        F, at, ins = self.F, node["attrs"], node["inputs"]
        nd = len(ins[0]["shape"]) - 2
        if nd != 2 or at.get("auto_pad", "NOTSET") != "NOTSET" or "output_shape" in at:
            raise ValueError("only 2-D ConvTranspose with explicit pads")
        x, w = self.rand(ins[0]), self.rand(ins[1])
        b = self.rand(ins[2]) if len(ins) > 2 and ins[2] is not None else None
        pads = list(at.get("pads", [0] * 4))
        if pads[:2] != pads[2:]:
            raise ValueError("asymmetric ConvTranspose pads")
        return lambda: F.conv_transpose2d(x, w, b, tuple(at.get("strides", [1, 1])), tuple(pads[:2]),
                                          tuple(at.get("output_padding", [0, 0])), int(at.get("group", 1)),
                                          tuple(at.get("dilations", [1, 1])))

    def _MatMul(self, node):
        a, b = self.rand(node["inputs"][0]), self.rand(node["inputs"][1])
        return lambda: self.torch.matmul(a, b)

    def _Gemm(self, node):
        at, ins, torch = node["attrs"], node["inputs"], self.torch
        a, b = self.rand(ins[0]), self.rand(ins[1])
        a_ = a.t() if at.get("transA", 0) else a
        b_ = b.t() if at.get("transB", 0) else b
        alpha, beta = float(at.get("alpha", 1.0)), float(at.get("beta", 1.0))
        if len(ins) > 2 and ins[2] is not None:
            c = self.rand(ins[2])
            return lambda: torch.addmm(c, a_, b_, beta=beta, alpha=alpha)
        return lambda: torch.mm(a_, b_) if alpha == 1.0 else torch.mm(a_, b_) * alpha

    def _MultiHeadAttention(self, node):
        dims = mha_dims(node)
        if dims is None or len(node["inputs"][1]["shape"]) != 3:
            raise ValueError("MultiHeadAttention: only separate [B, S, heads·d] q, k, v")
        b, h, sq, sk, d, dv = dims
        q, k, v = (self.rand(t) for t in node["inputs"][:3])
        scale = float(node["attrs"].get("scale", 0.0)) or None
        sdpa = self.F.scaled_dot_product_attention

        def fn():
            o = sdpa(q.view(b, sq, h, d).transpose(1, 2), k.view(b, sk, h, d).transpose(1, 2),
                     v.view(b, sk, h, dv).transpose(1, 2), scale=scale)
            return o.transpose(1, 2).reshape(b, sq, h * dv)

        return fn

    def _Softmax(self, node):
        x = self.rand(node["inputs"][0])
        axis = int(node["attrs"].get("axis", -1))
        return lambda: self.torch.softmax(x, dim=axis)

    # dequantize / norms ------------------------------------------------------------------------------
    def _DequantizeLinear(self, node):
        ins = node["inputs"]
        x, s = self.rand(ins[0]), self.torch.rand(tuple(ins[1]["shape"]), device=self.device) + 0.5
        if s.numel() > 1:
            shape = [1] * x.dim()
            shape[int(node["attrs"].get("axis", 1))] = -1
            s = s.view(shape)
        return lambda: x * s  # int8 × float32 → float32 in one kernel (zero points are 0 here)

    def _InstanceNormalization(self, node):
        ins = node["inputs"]
        x, w, b = self.rand(ins[0]), self.rand(ins[1]), self.rand(ins[2])
        eps = float(node["attrs"].get("epsilon", 1e-5))
        return lambda: self.F.instance_norm(x, weight=w, bias=b, eps=eps)

    def _LayerNormalization(self, node):
        ins, torch = node["inputs"], self.torch
        x = self.rand(ins[0])
        axis = int(node["attrs"].get("axis", -1)) % x.dim()
        norm_shape = tuple(ins[0]["shape"][axis:])
        w = torch.randn(norm_shape, device=self.device)
        b = torch.randn(norm_shape, device=self.device) if len(ins) > 2 and ins[2] is not None else None
        eps = float(node["attrs"].get("epsilon", 1e-5))
        return lambda: self.F.layer_norm(x, norm_shape, w, b, eps)

    def _GroupNormalization(self, node):
        ins, torch = node["inputs"], self.torch
        x = self.rand(ins[0])
        c = ins[0]["shape"][1]
        w, b = torch.randn(c, device=self.device), torch.randn(c, device=self.device)
        g, eps = int(node["attrs"]["num_groups"]), float(node["attrs"].get("epsilon", 1e-5))
        return lambda: self.F.group_norm(x, g, w, b, eps)

    # elementwise ---------------------------------------------------------------------------------------
    def _unary(self, node, fn):
        x = self.rand(node["inputs"][0])
        return lambda: fn(x)

    def _binary(self, node, fn):
        a, b = self.rand(node["inputs"][0]), self.rand(node["inputs"][1])
        return lambda: fn(a, b)

    def _Div(self, node):
        ints = node["inputs"][0]["dtype"] in INT_TYPES
        return self._binary(node, (lambda a, b: self.torch.div(a, b, rounding_mode="trunc")) if ints else self.torch.div)

    def _Cast(self, node):
        to = self.dtype(int(node["attrs"]["to"]))
        return self._unary(node, lambda x: x.to(to))

    def _Clip(self, node):
        return self._unary(node, lambda x: self.torch.clamp(x, -1.0, 1.0))

    def _variadic(self, node, fn):
        ts = [self.rand(t) for t in node["inputs"] if t is not None]

        def run():
            acc = ts[0]
            for t in ts[1:]:
                acc = fn(acc, t)
            return acc

        return run

    def _Max(self, node):
        return self._variadic(node, self.torch.maximum)

    def _Min(self, node):
        return self._variadic(node, self.torch.minimum)

    def _Sum(self, node):
        return self._variadic(node, self.torch.add)

    def _Where(self, node):
        c, a, b = (self.rand(t) for t in node["inputs"][:3])
        return lambda: self.torch.where(c, a, b)

    # layout ------------------------------------------------------------------------------------------
    def _Transpose(self, node):
        x = self.rand(node["inputs"][0])
        perm = node["attrs"].get("perm") or list(reversed(range(x.dim())))
        return lambda: x.permute(*perm).contiguous()

    def _Concat(self, node):
        ts = [self.rand(t) for t in node["inputs"] if t is not None]
        axis = int(node["attrs"]["axis"])
        return lambda: self.torch.cat(ts, dim=axis)

    def _Split(self, node):
        x = self.rand(node["inputs"][0])
        axis = int(node["attrs"].get("axis", 0)) % x.dim()
        sizes = [o["shape"][axis] for o in node["outputs"]]
        fmt = self.torch.contiguous_format
        return lambda: [p.clone(memory_format=fmt) for p in self.torch.split(x, sizes, dim=axis)]

    def _Slice(self, node):
        x, out = self.rand(node["inputs"][0]), node["outputs"][0]["shape"]
        if len(out) != x.dim() or any(o > i for o, i in zip(out, x.shape)):
            return self._copy_out(node)
        idx = tuple(slice(0, o) for o in out)
        fmt = self.torch.contiguous_format
        return lambda: x[idx].clone(memory_format=fmt)

    def _Expand(self, node):
        x, out = self.rand(node["inputs"][0]), tuple(node["outputs"][0]["shape"])
        fmt = self.torch.contiguous_format
        return lambda: self.torch.broadcast_to(x, out).clone(memory_format=fmt)

    def _Resize(self, node):
        x, out = self.rand(node["inputs"][0]), node["outputs"][0]["shape"]
        if x.dim() != 4 or len(out) != 4 or list(x.shape[:2]) != out[:2]:
            return self._copy_out(node)
        mode = {"nearest": "nearest", "linear": "bilinear", "cubic": "bicubic"}[node["attrs"].get("mode", "nearest")]
        return lambda: self.F.interpolate(x, size=tuple(out[2:]), mode=mode)

    def _Gather(self, node):
        data, ind = node["inputs"][0], node["inputs"][1]
        x = self.rand(data)
        axis = int(node["attrs"].get("axis", 0)) % x.dim()
        idx = self.torch.randint(0, data["shape"][axis], (max(1, numel(ind["shape"])),), device=self.device)
        return lambda: self.torch.index_select(x, axis, idx)

    def _copy_out(self, node):
        """Any other data movement: a copy of the output's size (read + write of its bytes)."""
        o = node["outputs"][0]
        src = self.rand({"shape": [numel(o["shape"])], "dtype": o["dtype"]})
        dst = self.torch.empty_like(src)
        return lambda: dst.copy_(src)


def time_ms(torch, fn, repeats: int, target_ms: float, warmup: int = 3) -> float:
    """GPU milliseconds of one fn() call: median over `repeats` batches of back-to-back calls between
    two CUDA events, each batch long enough (≥ target_ms) that event resolution does not matter."""
    for _ in range(warmup):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    once = max(start.elapsed_time(end), 1e-3)
    reps = max(1, min(500, math.ceil(target_ms / once)))
    samples = []
    for _ in range(repeats):
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / reps)
    return statistics.median(samples)


# --- the profile -------------------------------------------------------------------------------------------

def profile(nodes: list[dict], ops: TorchOps | None, repeats: int, target_ms: float, budget_s: float,
            unsplit: bool) -> dict:
    classes = {c: {"count": 0, "flops": 0, "bytes": 0, "torch_ms": 0.0 if ops else None, "torch_ms_unsplit": None,
                   "untimed": 0, "unshaped": 0, "ops": {}} for c in CLASSES}
    by_key: dict[str, dict] = {}
    for n in nodes:
        cls = classify(n)
        c = classes[cls]
        c["count"] += 1
        label = op_label(n)
        c["ops"][label] = c["ops"].get(label, 0) + 1
        f, nb = flops(n), node_bytes(n)
        if f is None:
            c["unshaped"] += 1
        c["flops"] += f or 0
        c["bytes"] += nb or 0
        if cls == "free":
            continue
        key = shape_key(n)
        e = by_key.get(key)
        if e is None:
            e = by_key[key] = {"class": cls, "op": op_label(n), "count": 0, "flops_each": f, "bytes_each": nb,
                               "inputs": [None if t is None else [t["shape"], DTYPES.get(t["dtype"], (str(t["dtype"]),))[0]] for t in n["inputs"]],
                               "outputs": [None if t is None else [t["shape"], DTYPES.get(t["dtype"], (str(t["dtype"]),))[0]] for t in n["outputs"]],
                               "attrs": n["attrs"], "nodes": [], "torch_ms_each": None, "node": n}
        e["count"] += 1
        if len(e["nodes"]) < 3:
            e["nodes"].append(n["name"])

    # split groups (narrow_weights.py --split-elements): parts named BASE/partJ
    groups: dict[str, list[dict]] = {}
    for n in nodes:
        m = SPLIT_PART.match(n["name"] or "")
        if m and n["op"] in ("Conv", "MatMul"):
            groups.setdefault(m.group(1), []).append(n)
    split_groups = []
    for base, parts in groups.items():
        parts.sort(key=lambda p: int(SPLIT_PART.match(p["name"]).group(2)))
        whole = unsplit_node(parts) if len(parts) > 1 else None
        split_groups.append({"base": base, "op": parts[0]["op"], "parts": len(parts), "class": classify(parts[0]),
                             "part_keys": [shape_key(p) for p in parts], "whole": whole,
                             "whole_key": shape_key(whole) if whole else None})

    t_start = time.perf_counter()
    torch_ms_of: dict[str, float | None] = {}

    def timed(key: str, node: dict):
        if key in torch_ms_of:
            return torch_ms_of[key], None
        if time.perf_counter() - t_start > budget_s:
            return None, "time budget spent"
        if not all(known(t) for t in node["inputs"] + node["outputs"] if t is not None):
            return None, "unknown shape"
        fn, why = ops.build(node)
        if fn is None:
            return None, why
        try:
            ms = time_ms(ops.torch, fn, repeats, target_ms)
        except Exception as e:  # noqa: BLE001 - e.g. out of memory for one odd shape
            return None, f"{type(e).__name__}: {str(e)[:200]}"
        finally:
            del fn
        torch_ms_of[key] = ms
        return ms, None

    # the costliest shapes first, so a spent budget leaves the small ones untimed
    order = sorted(by_key.items(), key=lambda kv: -((kv[1]["flops_each"] or 0) * kv[1]["count"] + (kv[1]["bytes_each"] or 0) * kv[1]["count"]))
    if ops is not None:
        for i, (key, e) in enumerate(order):
            ms, why = timed(key, e["node"])
            e["torch_ms_each"] = ms
            c = classes[e["class"]]
            if ms is None:
                e["untimed"] = why
                c["untimed"] += e["count"]
            else:
                c["torch_ms"] += ms * e["count"]
            if (i + 1) % 25 == 0:
                log(f"timed {i + 1}/{len(order)} shapes ({time.perf_counter() - t_start:.0f} s)")
        if unsplit:
            for c in classes.values():
                c["torch_ms_unsplit"] = c["torch_ms"]
            for sg in split_groups:
                if sg["whole"] is None:
                    continue
                ms_whole, why = timed(sg["whole_key"], sg["whole"])
                parts_ms = [torch_ms_of.get(k) for k in sg["part_keys"]]
                sg["torch_ms_whole"] = ms_whole
                sg["torch_ms_parts"] = None if any(p is None for p in parts_ms) else sum(parts_ms)
                if ms_whole is None or sg["torch_ms_parts"] is None:
                    sg["untimed"] = why or "a part is untimed"
                    continue
                c = classes[sg["class"]]
                c["torch_ms_unsplit"] += ms_whole - sg["torch_ms_parts"]
    shapes = []
    for _, e in order:
        e.pop("node")
        e["torch_ms_total"] = None if e["torch_ms_each"] is None else e["torch_ms_each"] * e["count"]
        shapes.append(e)
    for sg in split_groups:
        w = sg.pop("whole")
        sg.pop("part_keys")
        sg.pop("whole_key")
        if w is not None:
            sg["whole_shapes"] = {"inputs": [t["shape"] for t in w["inputs"]], "output": w["outputs"][0]["shape"]}
    # onnxruntime's WebGPU Conv transposes a weight that is not a constant initializer on every call
    dyn = [n for n in nodes if n["op"] == "Conv" and len(n.get("const_inputs", [])) > 1 and not n["const_inputs"][1]]
    ort = {"conv_weight_transposes": len(dyn), "conv_weight_transpose_bytes": sum(node_bytes({"inputs": [n["inputs"][1]], "outputs": []}) or 0 for n in dyn),
           "graph_transposes": classes["layout"]["ops"].get("Transpose", 0)}
    return {"classes": classes, "shapes": shapes, "split_groups": split_groups, "ort_webgpu": ort,
            "torch_seconds": round(time.perf_counter() - t_start, 1) if ops else None}


# --- self-test (pure Python: the parts that need neither onnx nor torch) -------------------------------------

def self_test() -> None:
    env = {"batch": 1, "latent_height": 64, "latent_width": 128}
    assert eval_dim("(((latent_height - 1)//2)) + 1", env) == 32
    assert eval_dim("((((latent_height - 1)//2)) + 1)*((((latent_width - 1)//2)) + 1)", env) == 32 * 64
    assert eval_dim("2*(((latent_width - 1)//2)) + 2", env) == 128
    assert eval_dim("s77", env) is None and eval_dim("latent_height/3", env) is None
    assert eval_dim("Max(1, latent_height//4)", env) == 16 and eval_dim("floor(latent_width/3)", env) == 42
    T = lambda s, dt=1: {"shape": s, "dtype": dt}  # noqa: E731
    conv = {"name": "c/part1", "op": "Conv", "domain": "", "attrs": {"pads": [1, 1, 1, 1]},
            "inputs": [T([1, 320, 64, 128]), T([160, 320, 3, 3]), T([160])], "outputs": [T([1, 160, 64, 128])]}
    assert flops(conv) == 2 * 1 * 160 * 320 * 9 * 64 * 128 and classify(conv) == "conv"
    part0 = dict(conv, name="c/part0")
    whole = unsplit_node([part0, conv])
    assert whole["inputs"][1]["shape"] == [320, 320, 3, 3] and whole["outputs"][0]["shape"] == [1, 320, 64, 128]
    assert whole["inputs"][2]["shape"] == [320] and flops(whole) == 2 * flops(conv)
    mm = {"name": "m", "op": "MatMul", "domain": "", "attrs": {}, "inputs": [T([2, 8192, 320]), T([320, 1280])],
          "outputs": [T([2, 8192, 1280])]}
    assert flops(mm) == 2 * 2 * 8192 * 1280 * 320
    gemm = {"name": "g", "op": "Gemm", "domain": "", "attrs": {"transB": 1}, "inputs": [T([1, 320]), T([1280, 320]), T([1280])],
            "outputs": [T([1, 1280])]}
    assert flops(gemm) == 2 * 1280 * 320
    mha = {"name": "a", "op": "MultiHeadAttention", "domain": "com.microsoft", "attrs": {"num_heads": 8, "scale": 0.125},
           "inputs": [T([1, 8192, 320]), T([1, 77, 320]), T([1, 77, 320])], "outputs": [None]}
    assert mha_dims(mha) == (1, 8, 8192, 77, 40, 40) and mha_output_shape(mha) == [1, 8192, 320]
    assert flops(mha) == 4 * 1 * 8 * 8192 * 77 * 40 and classify(mha) == "attention"
    dq = {"name": "w/int8/dequantize", "op": "DequantizeLinear", "domain": "", "attrs": {"axis": 0},
          "inputs": [T([320, 320, 3, 3], 3), T([320]), T([320], 3)], "outputs": [T([320, 320, 3, 3])]}
    assert flops(dq) == 320 * 320 * 9 and classify(dq) == "dequantize"
    assert node_bytes(dq) == 320 * 320 * 9 * (1 + 4) + 320 * 4 + 320
    shape_add = {"name": "s", "op": "Add", "domain": "", "attrs": {}, "inputs": [T([1], 7), T([1], 7)], "outputs": [T([1], 7)]}
    assert classify(shape_add) == "free"
    add = {"name": "x", "op": "Add", "domain": "", "attrs": {}, "inputs": [T([1, 320, 64, 128]), T([1, 320, 1, 1])],
           "outputs": [T([1, 320, 64, 128])]}
    assert classify(add) == "elementwise" and flops(add) == 320 * 64 * 128
    norm = {"name": "n", "op": "InstanceNormalization", "domain": "", "attrs": {"epsilon": 1e-5},
            "inputs": [T([1, 32, 81920]), T([32]), T([32])], "outputs": [T([1, 32, 81920])]}
    assert classify(norm) == "norm" and flops(norm) == 7 * 32 * 81920
    unknown = dict(add, outputs=[T([1, None, 64, 128])])
    assert flops(unknown) is None and len(unshaped([unknown, add])) == 1
    assert classify({"name": "r", "op": "Reshape", "domain": "", "attrs": {}, "inputs": [], "outputs": []}) == "free"
    assert classify({"name": "t", "op": "Transpose", "domain": "", "attrs": {}, "inputs": [T([1, 2])], "outputs": [T([2, 1])]}) == "layout"
    pw = {"name": "p", "op": "Conv", "domain": "", "attrs": {"kernel_shape": [1, 1]}, "const_inputs": [False, False, True],
          "inputs": [T([1, 320, 64, 128]), T([640, 320, 1, 1]), T([640])], "outputs": [T([1, 640, 64, 128])]}
    assert pointwise_conv(pw) and classify(pw) == "matmul" and flops(pw) == 2 * 640 * 320 * 64 * 128
    assert not pointwise_conv(conv) and not pointwise_conv(dict(pw, attrs={"strides": [2, 2]}))
    conv["const_inputs"] = [False, False, True]
    p = profile([conv, part0, mm, mha, dq, shape_add, add, add, pw], None, 1, 1.0, 1.0, True)
    assert p["classes"]["matmul"]["ops"] == {"MatMul": 1, "Conv 1x1": 1}
    assert p["ort_webgpu"]["conv_weight_transposes"] == 2  # conv and pw (part0 has no const_inputs: not counted)
    assert p["classes"]["conv"]["count"] == 2 and p["classes"]["elementwise"]["count"] == 2
    assert p["classes"]["elementwise"]["flops"] == 2 * 320 * 64 * 128 and p["classes"]["free"]["count"] == 1
    assert [s for s in p["shapes"] if s["op"] == "Add"][0]["count"] == 2
    assert p["split_groups"][0]["base"] == "c" and p["split_groups"][0]["whole_shapes"]["output"] == [1, 320, 64, 128]
    assert p["classes"]["attention"]["flops"] == flops(mha)
    print("op_profile self-test: ok")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=Path, help="an export folder (manifest.json) or a UNet .onnx file")
    ap.add_argument("--batch", type=int, default=1, help="UNet batch: 1 = guidance as two calls (headset), 2 = one batched call")
    ap.add_argument("--latent", type=parse_latent, default=(64, 128), help="latent HxW (default 64x128: 512×1024 image)")
    ap.add_argument("--tokens", type=int, default=77, help="text length (checked against the graph; used if symbolic)")
    ap.add_argument("--dim", action="append", default=[], metavar="NAME=VALUE", help="any other symbolic input dim")
    ap.add_argument("--peak-tflops", type=float, default=DEFAULT_PEAK_TFLOPS,
                    help=f"the GPU's fp32 non-tensor-core peak, recorded for the join (default {DEFAULT_PEAK_TFLOPS}: H100 SXM)")
    ap.add_argument("--peak-source", default=DEFAULT_PEAK_SOURCE)
    ap.add_argument("--repeats", type=int, default=7, help="timed batches per shape (median)")
    ap.add_argument("--target-ms", type=float, default=2.0, help="length of one timed batch of back-to-back calls")
    ap.add_argument("--budget-s", type=float, default=240.0, help="stop timing new shapes after this many seconds")
    ap.add_argument("--no-torch", action="store_true", help="shapes and FLOPs only (no torch, no GPU)")
    ap.add_argument("--no-unsplit", action="store_true", help="do not time the unsplit shapes of split Conv/MatMul")
    ap.add_argument("--ort-fallback", choices=["auto", "never"], default="auto",
                    help="onnxruntime's symbolic shape inference for what onnx leaves unshaped (auto: if importable)")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args(argv)
    if a.self_test:
        self_test()
        return
    if not a.models or not a.out:
        ap.error("--models and --out are required")
    env = {"batch": a.batch, "latent_height": a.latent[0], "latent_width": a.latent[1]}
    for kv in a.dim:
        k, _, v = kv.partition("=")
        env[k] = int(v)
    path = unet_path(a.models)
    log(f"{path}: dims {env}, {a.tokens} tokens")
    model, shapes, report = load_graph(path, env, a.tokens)
    nodes = graph_nodes(model, shapes)
    fill_mha_outputs(nodes)
    bad = unshaped(nodes)
    if bad and a.ort_fallback == "auto":
        try:
            import onnx

            fixed = onnx.ModelProto()
            fixed.CopyFrom(model)
            del fixed.graph.value_info[:]
            for vi in fixed.graph.input:
                fix_shape(vi, env)
            more = ort_shapes(fixed)
            report["methods"].append("onnxruntime symbolic_shape_infer (fallback)")
            for name, t in more.items():
                if not known(shapes.get(name)) and known(t):
                    shapes[name] = t
            nodes = graph_nodes(model, shapes)
            fill_mha_outputs(nodes)
            bad = unshaped(nodes)
        except Exception as e:  # noqa: BLE001 - optional
            report["ort_fallback_error"] = f"{type(e).__name__}: {str(e)[:300]}"
    report["nodes"] = len(nodes)
    report["unshaped"] = len(bad)
    report["unshaped_nodes"] = bad[:50]
    for n in nodes:
        if n["op"] == "MultiHeadAttention" and known(n["outputs"][0]) and mha_output_shape(n) not in (None, n["outputs"][0]["shape"]):
            report.setdefault("mha_mismatch", []).append(n["name"])
    log(f"{len(nodes)} nodes; shapes by {', '.join(report['methods'])}; {len(bad)} costed nodes unshaped")

    ops = None
    meta = {"model": str(path), "dims": env, "tokens": a.tokens, "peak_tflops": a.peak_tflops, "peak_source": a.peak_source,
            "flops_convention": {"multiply_add": 2, "norm_per_element": NORM_FLOPS_PER_ELEMENT,
                                 "elementwise_per_element": ELEMENTWISE_FLOPS_PER_ELEMENT,
                                 "softmax_per_element": SOFTMAX_FLOPS_PER_ELEMENT, "dequantize_per_element": 1},
            "timing": {"repeats": a.repeats, "target_ms": a.target_ms, "budget_s": a.budget_s}}
    if not a.no_torch:
        import torch

        if not torch.cuda.is_available():
            raise SystemExit("no CUDA device (use --no-torch for shapes and FLOPs only)")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
        torch.manual_seed(0)
        ops = TorchOps("cuda")
        meta.update({"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda,
                     "cudnn": torch.backends.cudnn.version(),
                     "tf32": {"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32},
                     "cudnn_benchmark": torch.backends.cudnn.benchmark})
    result = profile(nodes, ops, a.repeats, a.target_ms, a.budget_s, not a.no_unsplit)
    out = {"meta": meta, "shape_inference": report, **result}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(out, indent=1) + "\n")
    for c in CLASSES:
        e = result["classes"][c]
        t = "–" if e["torch_ms"] is None else f"{e['torch_ms']:.2f} ms"
        log(f"{c:12s} {e['count']:5d} nodes {e['flops'] / 1e9:10.2f} GFLOP  torch {t}  untimed {e['untimed']}")
    log(f"wrote {a.out}")


if __name__ == "__main__":
    main()
