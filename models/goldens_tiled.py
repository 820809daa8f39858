"""Golden outputs of diffusers' tiled VAE decode (AutoencoderKL.tiled_decode) on the tiny pano VAE.

For src/pipeline/vae-tiling.ts (the app's tiled decode, meant to be exactly diffusers'): the final
latents of golden case ddim-20-cfg7, divided by the scaling factor as the pipeline does, decoded by
`vae.decode` after `vae.enable_tiling()` with tiles small enough that the tiny 8x16 latent is cut
into several tiles and both blends (vertical and horizontal) and the short edge tiles happen.

Writes into <out> (the pano goldens folder, next to cases.json):
  vae-tiled.json                 the cases below, their tile plans and, with --model, how closely the
                                 exported ONNX decoder run per tile by a numpy copy of diffusers'
                                 loops reproduces them
  vae-tiled.latent.npy           z = final latents / scaling_factor, [1, 4, 8, 16] (the decoder's input)
  vae-tiled.<case>.npy           diffusers' tiled decode of z, [1, 4, 64, 128] (before the pipeline's
                                 *0.5+0.5 and clip)
  vae-tiled.untiled.npy          diffusers' plain decode of z, for comparison
float32 little-endian, C order. Runs on the CPU in float32.

Standalone (goldens.make_all also calls it, after the pipeline goldens it reads):
  PYTHONPATH=<diffusers src> python models/goldens_tiled.py --out test/fixtures/goldens/ldm3d-pano \
      --model models/tiny/ldm3d-pano [--ckpt DIR]
Without --ckpt the tiny checkpoint is built in a temporary folder by tiny.build_tiny_checkpoint, as
models/export.py --tiny does (seeded: the same weights as the committed tiny ONNX graphs; --model
checks that).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from export import log

SOURCE_CASE = "ddim-20-cfg7"
# (name, tile_latent_min_size, tile_sample_min_size, tile_overlap_factor)
TILED_CASES = [
    # 3 x 6 tiles: stride 3, blend 8 px, keep 24 px; last row 2 latents tall, last column 1 wide
    ("t4", 4, 32, 0.25),
    # 2 x 3 tiles: stride 6, blend 16 px, keep 48 px; the tile covers the full height but rows still split
    ("t8", 8, 64, 0.25),
]


def f32(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype="<f4"))


def tile_plan(h: int, w: int, latent_tile: int, sample_tile: int, overlap: float) -> dict:
    stride = int(latent_tile * (1 - overlap))
    blend = int(sample_tile * overlap)
    return {
        "stride": stride, "blend": blend, "keep": sample_tile - blend,
        "rows": [[i, min(latent_tile, h - i)] for i in range(0, h, stride)],
        "cols": [[j, min(latent_tile, w - j)] for j in range(0, w, stride)],
    }


def numpy_tiled_decode(z: np.ndarray, decode, latent_tile: int, sample_tile: int, overlap: float) -> np.ndarray:
    """diffusers' tiled_decode line for line, in numpy (blends in place, as diffusers' are)."""
    overlap_size = int(latent_tile * (1 - overlap))
    blend_extent = int(sample_tile * overlap)
    row_limit = sample_tile - blend_extent

    def blend_v(a, b, e):
        e = min(a.shape[2], b.shape[2], e)
        for y in range(e):
            b[:, :, y, :] = a[:, :, -e + y, :] * np.float32(1 - y / e) + b[:, :, y, :] * np.float32(y / e)
        return b

    def blend_h(a, b, e):
        e = min(a.shape[3], b.shape[3], e)
        for x in range(e):
            b[:, :, :, x] = a[:, :, :, -e + x] * np.float32(1 - x / e) + b[:, :, :, x] * np.float32(x / e)
        return b

    rows = []
    for i in range(0, z.shape[2], overlap_size):
        rows.append([np.array(decode(np.ascontiguousarray(z[:, :, i:i + latent_tile, j:j + latent_tile])), dtype=np.float32)
                     for j in range(0, z.shape[3], overlap_size)])
    result_rows = []
    for i, row in enumerate(rows):
        result_row = []
        for j, tile in enumerate(row):
            if i > 0:
                tile = blend_v(rows[i - 1][j], tile, blend_extent)
            if j > 0:
                tile = blend_h(row[j - 1], tile, blend_extent)
            result_row.append(tile[:, :, :row_limit, :row_limit])
        result_rows.append(np.concatenate(result_row, axis=3))
    return np.concatenate(result_rows, axis=2)


def make(ckpt: Path, out: Path, model_dir: Path | None = None) -> dict:
    import diffusers
    import torch
    from diffusers import AutoencoderKL

    out = Path(out)
    cases_doc = json.loads((out / "cases.json").read_text())
    case = next(c for c in cases_doc["cases"] if c["name"] == SOURCE_CASE)
    final = np.load(out / case["latents_trajectory"])[-1][None]  # [1, 4, h, w], model space
    vae = AutoencoderKL.from_pretrained(Path(ckpt) / "vae", torch_dtype=torch.float32).to("cpu").eval()
    sf = vae.config.scaling_factor
    with torch.no_grad():
        # exactly the pipeline's `latents / self.vae.config.scaling_factor`
        z_t = torch.from_numpy(f32(final)) / sf
        z = f32(z_t.numpy())
        vae.disable_tiling()
        untiled = vae.decode(z_t, return_dict=False)[0].numpy()
    np.save(out / "vae-tiled.latent.npy", z)
    np.save(out / "vae-tiled.untiled.npy", f32(untiled))

    sess = None
    if model_dir is not None:
        import onnxruntime as ort

        manifest = json.loads((Path(model_dir) / "manifest.json").read_text())
        spec = manifest["sessions"]["vae_decoder"]
        sess = ort.InferenceSession(str(Path(model_dir) / spec["file"]), providers=["CPUExecutionProvider"])
        in_name = spec["inputs"][0]["name"]

    cases = []
    h, w = z.shape[2], z.shape[3]
    for name, lt, st, ov in TILED_CASES:
        vae.enable_tiling()
        vae.tile_latent_min_size = lt
        vae.tile_sample_min_size = st
        vae.tile_overlap_factor = ov
        with torch.no_grad():
            tiled = vae.decode(torch.from_numpy(z.copy()), return_dict=False)[0].numpy()
        vae.disable_tiling()
        if tiled.shape != untiled.shape:
            raise SystemExit(f"{name}: tiled decode {tiled.shape} vs untiled {untiled.shape}")
        # the numpy copy of the loops with torch's own decoder: must be the same numbers
        with torch.no_grad():
            def torch_tile(t):
                tt = torch.from_numpy(t)
                if vae.post_quant_conv is not None:
                    tt = vae.post_quant_conv(tt)
                return vae.decoder(tt).numpy()

            mirror = numpy_tiled_decode(z, torch_tile, lt, st, ov)
        entry = {
            "name": name,
            "tile_latent_min_size": lt,
            "tile_sample_min_size": st,
            "tile_overlap_factor": ov,
            "plan": tile_plan(h, w, lt, st, ov),
            "output": f"vae-tiled.{name}.npy",
            "tiled_vs_untiled_max_abs": float(np.abs(tiled - untiled).max()),
            "numpy_loops_vs_diffusers_max_abs": float(np.abs(mirror - tiled).max()),
        }
        if sess is not None:
            onnx = numpy_tiled_decode(z, lambda t: sess.run(None, {in_name: t})[0], lt, st, ov)
            entry["onnx_vs_diffusers_max_abs"] = float(np.abs(onnx - tiled).max())
        np.save(out / entry["output"], f32(tiled))
        log(f"  vae tiled {name}: {len(entry['plan']['rows'])}x{len(entry['plan']['cols'])} tiles, "
            f"vs untiled {entry['tiled_vs_untiled_max_abs']:.3e}, numpy loops {entry['numpy_loops_vs_diffusers_max_abs']:.1e}"
            + (f", onnx {entry['onnx_vs_diffusers_max_abs']:.2e}" if sess is not None else ""))
        if entry["numpy_loops_vs_diffusers_max_abs"] > 1e-6:
            raise SystemExit(f"{name}: the numpy copy of tiled_decode does not match diffusers ({entry['numpy_loops_vs_diffusers_max_abs']})")
        cases.append(entry)

    doc = {
        "format": "ldm3d-xr-vae-tiled-goldens@1",
        "what": "diffusers AutoencoderKL.decode with enable_tiling() (tiled_decode) of z = final latents of "
                f"golden case {SOURCE_CASE} / vae.config.scaling_factor; outputs [1, 4, 8h, 8w] before *0.5+0.5",
        "source_case": SOURCE_CASE,
        "generated_with": {"diffusers": diffusers.__version__, "torch": torch.__version__, "device": "cpu",
                           "dtype": "float32"},
        "vae_scaling_factor": float(sf),
        "latent": "vae-tiled.latent.npy",
        "untiled": "vae-tiled.untiled.npy",
        "cases": cases,
    }
    (out / "vae-tiled.json").write_text(json.dumps(doc, indent=1) + "\n")
    if sess is not None:
        worst = max(c["onnx_vs_diffusers_max_abs"] for c in cases)
        if worst > 1e-3:
            raise SystemExit(f"the ONNX decoder run per tile does not reproduce diffusers' tiled decode: {worst}")
    return doc


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True, help="the pano goldens folder (has cases.json)")
    ap.add_argument("--ckpt", type=Path, help="tiny diffusers checkpoint (default: built by tiny.build_tiny_checkpoint)")
    ap.add_argument("--model", type=Path, help="exported tiny model folder (manifest.json): also check the ONNX decoder")
    args = ap.parse_args(argv)

    import torch

    torch.set_grad_enabled(False)
    if args.ckpt:
        make(args.ckpt, args.out, args.model)
        return
    import tiny

    with tempfile.TemporaryDirectory(prefix="ldm3d-tiny-ckpt-") as tmp:
        tiny.build_tiny_checkpoint(Path(tmp) / "ckpt")
        make(Path(tmp) / "ckpt", args.out, args.model)


if __name__ == "__main__":
    main()
