#!/usr/bin/env python3
"""Goldens for the tiny model with narrowed weights (models/narrow_weights.py: float16 or int8).

    python3 models/goldens_narrow.py --models models/tiny/ldm3d-pano-f16 --out test/fixtures/goldens/ldm3d-pano-f16
    python3 models/goldens_narrow.py --models models/tiny/ldm3d-pano-int8 --out test/fixtures/goldens/ldm3d-pano-int8

The narrowed graph computes in float32 with its Conv/MatMul/Gemm weights rounded (to float16, or to
per-output-channel int8 × scale), so its reference is diffusers' float32 pipeline with those same
weights rounded the same way (nn.Conv2d and nn.Linear weights of at least --min-elements values; the
rounding is per element or per output channel, so it commutes with the exporter's transposes and
packing). Three checks make the goldens trustworthy:
  1. the tiny checkpoint rebuilt here (tiny.py, seeded) reproduces the committed float32 goldens, so
     the weights are those of models/tiny/ldm3d-pano;
  2. diffusers with rounded weights → the goldens (a few of goldens.CASES);
  3. the narrowed ONNX graphs (onnxruntime CPU at its basic optimization level + diffusers' schedulers
     in numpy, goldens.onnx_reproduce) reproduce those goldens, so the torch-side rounding is the graph's.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CASE_NAMES = ["ddim-1-step", "negative-prompt", "guidance-1"]


def round_weights(min_elements: int, storage: str):
    """The same rounding as narrow_weights.py, applied to the torch modules' weights."""
    from narrow_weights import quantize_int8

    def transform(pipe) -> None:
        import torch

        n = 0
        for module in (pipe.unet, pipe.vae, pipe.text_encoder):
            for m in module.modules():
                if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and m.weight.numel() >= min_elements:
                    if storage == "int8":
                        # axis 0 = output channels for both (Linear is [out, in]; ONNX MatMul holds its transpose)
                        q, s = quantize_int8(m.weight.data.numpy(), 0)
                        shape = [-1] + [1] * (q.ndim - 1)
                        m.weight.data = torch.from_numpy((q.astype(np.float32) * s.reshape(shape)).astype(np.float32))
                    else:
                        m.weight.data = m.weight.data.half().float()
                    n += 1
        print(f"rounded {n} Conv2d/Linear weights ({storage})", flush=True)

    return transform


def main() -> None:
    import goldens
    import tiny

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", required=True, type=Path, help="the narrowed tiny model (narrow_weights.py output)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--fp32-goldens", type=Path, default=HERE.parent / "test/fixtures/goldens/ldm3d-pano")
    a = ap.parse_args()
    report = json.loads((a.models / "narrow-report.json").read_text())
    min_elements = int(report["min_elements"])
    storage = report.get("storage", "float16")

    with tempfile.TemporaryDirectory(prefix="ldm3d-tiny-ckpt-") as tmp:
        ckpt = Path(tmp)
        tiny.build_tiny_checkpoint(ckpt)
        # 1. same weights as the committed float32 model
        with tempfile.TemporaryDirectory(prefix="ldm3d-f32-check-") as check:
            doc32 = goldens.pipeline_goldens(ckpt, Path(check), only=["ddim-1-step"])
            c = doc32["cases"][0]
            worst = max(float(np.abs(np.load(Path(check) / c[k]) - np.load(a.fp32_goldens / c[k])).max())
                        for k in ("rgb", "depth"))
            print(f"rebuilt checkpoint vs committed float32 goldens: {worst:.3g}", flush=True)
            if worst > 1e-6:
                raise SystemExit("the rebuilt tiny checkpoint is not the committed one")
        # 2. diffusers with the rounded weights
        doc = goldens.pipeline_goldens(ckpt, a.out, transform=round_weights(min_elements, storage), only=CASE_NAMES,
                                       model=a.models.as_posix())
        doc["weights"] = (f"float32 pipeline, nn.Conv2d/nn.Linear weights with >= {min_elements} values rounded as "
                          f"models/narrow_weights.py --storage {storage} stores them")
        # 3. the narrowed graphs reproduce them
        results = goldens.onnx_reproduce(a.models, a.out, doc, basic_optimizations=True)
        worst = {k: max(r[k] for r in results) for k in ("latents_max_abs_err", "rgb_max_abs_err", "depth_max_abs_err")}
        doc["onnx_reference"] = {"what": "the narrowed ONNX graphs (onnxruntime CPU) + diffusers' schedulers vs the goldens",
                                 "worst": worst, "cases": results}
        (a.out / "cases.json").write_text(json.dumps(doc, indent=1) + "\n")
        print(f"narrowed graphs vs rounded-weight diffusers: {worst}", flush=True)
        if max(worst.values()) > 1e-3:
            raise SystemExit(f"the narrowed graphs do not reproduce diffusers with rounded weights: {worst}")


if __name__ == "__main__":
    main()
