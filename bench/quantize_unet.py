"""Weight-only quantisation of an exported UNet's MatMul weights (onnxruntime's MatMulNBits), for a
memory experiment (issue 4): how far below fp32 the UNet stage's GPU memory goes when the linear
layers' weights stay 4- or 8-bit on the GPU. Convolutions stay fp32. Changes the model's outputs
(not for shipping without a decision): timings and memory only, like the random-full export itself.

  python bench/quantize_unet.py /tmp/rf-mha /tmp/rf-q4 --bits 4 --block 32

Copies every other file, rewrites manifest.json (files, sizes, sha256, the UNet's external data).
"""
import argparse
import hashlib
import json
import shutil
import time
from pathlib import Path

import onnx


def sha256(p: Path) -> str:
    h = hashlib.sha256()
    with p.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--block", type=int, default=32)
    a = ap.parse_args()
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    t0 = time.time()
    if a.dst.exists():
        shutil.rmtree(a.dst)
    shutil.copytree(a.src, a.dst, ignore=lambda d, names: names if Path(d).name == "unet" else [])
    m = onnx.load(str(a.src / "unet" / "model.onnx"))
    inits = {i.name for i in m.graph.initializer}
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    const_mm = sum(1 for n in m.graph.node if n.op_type == "MatMul" and len(n.input) > 1 and n.input[1] in inits)
    print(f"[quantize] ops before: MatMul {ops.get('MatMul', 0)} ({const_mm} with constant weights), Gemm {ops.get('Gemm', 0)}, Conv {ops.get('Conv', 0)}")
    kwargs = dict(block_size=a.block, is_symmetric=True)
    try:
        q = MatMulNBitsQuantizer(m, bits=a.bits, **kwargs)
    except TypeError:  # older onnxruntime: 4 bits only, no `bits` argument
        if a.bits != 4:
            raise
        q = MatMulNBitsQuantizer(m, **kwargs)
    q.process()
    qm = q.model.model
    after = {}
    for n in qm.graph.node:
        after[n.op_type] = after.get(n.op_type, 0) + 1
    print(f"[quantize] ops after: MatMulNBits {after.get('MatMulNBits', 0)}, MatMul {after.get('MatMul', 0)}, {time.time() - t0:.0f}s")
    (a.dst / "unet").mkdir(exist_ok=True)
    onnx.save_model(qm, str(a.dst / "unet" / "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="model.onnx_data", size_threshold=1024)
    man = json.loads((a.src / "manifest.json").read_text())
    files = [f for f in man["files"] if not f["path"].startswith("unet/")]
    for name in ("model.onnx", "model.onnx_data"):
        p = a.dst / "unet" / name
        files.append({"path": f"unet/{name}", "bytes": p.stat().st_size, "sha256": sha256(p), "kind": "onnx" if name == "model.onnx" else "onnx_data"})
    man["files"] = files
    man["sessions"]["unet"]["external_data"] = ["model.onnx_data"]
    man["model_id"] = f"{man['model_id']} + UNet MatMul weights int{a.bits} (MatMulNBits, block {a.block})"
    (a.dst / "manifest.json").write_text(json.dumps(man, indent=2) + "\n")
    sizes = {p.name: p.stat().st_size for p in (a.dst / "unet").iterdir()}
    print(f"[quantize] wrote {a.dst}: unet files {sizes}, {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
