"""Single-node com.microsoft.MultiHeadAttention graphs + numpy inputs/reference for bench/mha-smoke.ts.

    python bench/mha_smoke.py DIR [--full]

Writes DIR/NAME.onnx, NAME.onnx.{q,k,v,ref}.bin (raw float32, batch 2) and NAME.onnx.json (shapes).
Checks each graph with onnxruntime's CPU provider against the numpy reference first. --full adds the
UNet's 64×128-level shapes (8192 queries, 320 channels, 8 heads; self and 77-token cross attention).
"""
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper


def make(out: Path, name: str, n: int, m: int, hidden: int, heads: int) -> None:
    vi = lambda nm, s: helper.make_tensor_value_info(nm, TensorProto.FLOAT, ["B", s, hidden])  # noqa: E731
    node = helper.make_node("MultiHeadAttention", ["q", "k", "v"], ["o"], domain="com.microsoft",
                            num_heads=heads, scale=float((hidden // heads) ** -0.5))
    g = helper.make_graph([node], name, [vi("q", n), vi("k", m), vi("v", m)], [vi("o", n)])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    path = out / f"{name}.onnx"
    onnx.save(model, str(path))
    rng = np.random.default_rng(0)
    x = {k: rng.standard_normal((2, s, hidden)).astype(np.float32) for k, s in (("q", n), ("k", m), ("v", m))}
    d = hidden // heads
    split = lambda t: t.reshape(2, -1, heads, d).transpose(0, 2, 1, 3)  # noqa: E731
    sc = (split(x["q"]) @ split(x["k"]).transpose(0, 1, 3, 2)) * d**-0.5
    sc = np.exp(sc - sc.max(-1, keepdims=True))
    sc /= sc.sum(-1, keepdims=True)
    ref = (sc @ split(x["v"])).transpose(0, 2, 1, 3).reshape(2, n, hidden).astype(np.float32)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, x)[0]
    print(f"{name}: onnxruntime CPU max|ort - numpy| = {np.abs(got - ref).max():.2e}")
    for k, v in x.items():
        v.tofile(f"{path}.{k}.bin")
    ref.tofile(f"{path}.ref.bin")
    (out / f"{name}.onnx.json").write_text(json.dumps({"n": n, "m": m, "hidden": hidden}))


if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    make(out, "self", 256, 256, 64, 2)
    make(out, "cross", 256, 77, 64, 2)
    make(out, "onehead", 64, 64, 32, 1)
    if "--full" in sys.argv:
        make(out, "unet-self-8192", 8192, 8192, 320, 8)
        make(out, "unet-cross-8192", 8192, 77, 320, 8)
