#!/usr/bin/env python3
"""PyTorch diffusers reference timings for the LDM3D-SR benchmark (issues 4 and 5).

Drives diffusers' community StableDiffusionUpscaleLDM3DPipeline (examples/community/
pipeline_stable_diffusion_upscale_ldm3d.py; path from DIFFUSERS_COMMUNITY_PIPELINE, see
models/goldens_sr.py) on the SAME weights that `models/export.py --random-full --pipeline ldm3d-sr`
exports: both build them with models/tiny.py's build_random_full_sr_components (random weights,
fixed seeds). Timings only: random weights draw noise.

    DIFFUSERS_COMMUNITY_PIPELINE=.../pipeline_stable_diffusion_upscale_ldm3d.py \
      python bench/torch_reference_sr.py --steps 20 --out /tmp/torch-sr.json [--dtypes fp32,fp16]

The work matches bench/sr-webgpu.ts: a 128×128 low-res RGBD (the same synthetic pattern) upsampled
×4 (bilinear, half-pixel centres) to 512×512 and passed as float arrays in [0, 1] (the pipeline keeps
an array input's size: latent 4×64×64), prompt = the README's, guidance 9 (UNet batch 2), noise level
20 (class_labels), DDIM with the ldm3d-sr scheduler config, 20 steps.

Per dtype (one CUDA device):
  text_encoder_ms      one CLIP call, batch 2 (negative + prompt), median
  vae_encode_ms        vae.encode of [1,4,512,512] (the low-res RGBD), median
  unet_ms              one UNet call [2,8,64,64] + class_labels, median with torch.cuda.synchronize around each
  unet_strict_fp32_ms  (fp32 only) the same with cuDNN/cuBLAS TF32 off: what WebGPU fp32 must compute
  vae_decode_ms        vae.decode of [1,4,64,64], median
  pipeline             the whole pipe(...) call, output_type="np": total (median of 3 after a warm-up),
                       and from CUDA events recorded around every text-encoder, VAE and UNet call inside
                       it: GPU time per call and the GPU-time gap between consecutive UNet calls
  peak_allocated_bytes torch.cuda.max_memory_allocated during the pipeline calls
In fp16 the pipeline decodes with the VAE upcast to fp32 (the pipeline's own force_upcast path).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "models"))

SIZE = 512
LOW_RES = SIZE // 4
GUIDANCE = 9.0
NOISE_LEVEL = 20
PROMPT = "high quality high resolution uhd 4k image"  # Intel/ldm3d-sr README example (= SR_DEFAULT_PROMPT)


def log(*a) -> None:
    print("[torch-sr]", *a, flush=True)


def median_ms(fn, n: int, warmup: int = 3) -> dict:
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(n):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times), "n": n}


def strict_fp32(fn):
    """Runs fn with TF32 off for cuDNN convolutions and cuBLAS matmuls (plain IEEE fp32, as WebGPU)."""
    import torch

    old = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        return fn()
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old


def tf32_state() -> dict:
    import torch

    try:
        return {"cudnn": torch.backends.cudnn.allow_tf32, "matmul": torch.backends.cuda.matmul.allow_tf32}
    except Exception as e:  # noqa: BLE001 - informational
        return {"error": str(e)[:200]}


def low_res_rgbd():
    """The synthetic low-res RGBD of bench/sr-webgpu.ts (same formulas, float32), upsampled x4 like it.

    Values need not match ours bit for bit (the weights are random; only the timings matter), but
    the input is the same kind of smooth picture, not constant or pure noise.
    """
    import numpy as np
    import torch

    n = LOW_RES
    y, x = np.mgrid[0:n, 0:n].astype(np.float32)
    u, v = x / (n - 1), y / (n - 1)
    rgb = np.stack([0.5 + 0.4 * np.sin(6.0 * u + 1.0), 0.5 + 0.4 * np.cos(5.0 * v), 0.3 + 0.6 * u * v], axis=-1)
    depth = 0.2 + 0.5 * v + 0.15 * np.sin(7.0 * u)
    small = np.concatenate([rgb, depth[..., None]], axis=-1).clip(0, 1).astype(np.float32)
    t = torch.from_numpy(small.transpose(2, 0, 1)[None].copy())
    up = torch.nn.functional.interpolate(t, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    up = up[0].numpy().transpose(1, 2, 0).clip(0, 1).astype(np.float32)
    return np.ascontiguousarray(up[..., :3]), np.ascontiguousarray(up[..., 3:4])


def build_pipeline():
    from diffusers import DDIMScheduler, DDPMScheduler

    import tiny  # models/tiny.py: the export's own random-full SR architecture
    from export import load_tokenizer
    from goldens_sr import community_pipeline_class

    cls = community_pipeline_class()
    c = tiny.build_random_full_sr_components()
    pipe = cls(
        vae=c.vae, text_encoder=c.text_encoder, tokenizer=load_tokenizer(c.tokenizer_dir), unet=c.unet,
        low_res_scheduler=DDPMScheduler.from_config(tiny.SR_LOW_RES_SCHEDULER_CONFIG),
        # model_index names DDIMScheduler: diffusers builds that class from scheduler_config.json
        scheduler=DDIMScheduler.from_config(c.scheduler_config),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
        max_noise_level=int(c.model_index.get("max_noise_level", tiny.SR_MAX_NOISE_LEVEL)),
    )
    pipe.set_progress_bar_config(disable=True)
    params = {k: sum(p.numel() for p in m.parameters()) for k, m in
              (("text_encoder", c.text_encoder), ("unet", c.unet), ("vae", c.vae))}
    return pipe, params


class CallEvents:
    """CUDA events around every call of the pipeline's models (no syncs added inside the loop)."""

    def __init__(self, pipe):
        import torch

        self.torch = torch
        self.events: list[tuple[str, str, object]] = []
        self.undo: list = []
        for name, mod in (("text_encoder", pipe.text_encoder), ("unet", pipe.unet)):
            self.undo.append(mod.register_forward_pre_hook(self._hook(name, "pre"), with_kwargs=True).remove)
            self.undo.append(mod.register_forward_hook(self._hook(name, "post"), with_kwargs=True).remove)
        vae = pipe.vae
        for name, attr in (("vae_encode", "encode"), ("vae_decode", "decode")):
            original = getattr(vae, attr)
            setattr(vae, attr, self._wrap(name, original))
            # the instance attribute shadows the class's method; deleting it restores that
            self.undo.append(lambda a=attr: vae.__dict__.pop(a, None))

    def _record(self, name: str, kind: str) -> None:
        e = self.torch.cuda.Event(enable_timing=True)
        e.record()
        self.events.append((name, kind, e))

    def _hook(self, name: str, kind: str):
        if kind == "pre":
            return lambda _m, _a, _k: self._record(name, "pre")
        return lambda _m, _a, _k, _o: self._record(name, "post")

    def _wrap(self, name: str, fn):
        def wrapped(*a, **k):
            self._record(name, "pre")
            out = fn(*a, **k)
            self._record(name, "post")
            return out

        return wrapped

    def clear(self) -> None:
        self.events.clear()

    def durations(self) -> dict[str, list[float]]:
        """GPU ms per call, by name (call after torch.cuda.synchronize)."""
        out: dict[str, list[float]] = {}
        open_: dict[str, object] = {}
        for name, kind, e in self.events:
            if kind == "pre":
                open_[name] = e
            elif name in open_:
                out.setdefault(name, []).append(open_.pop(name).elapsed_time(e))
        return out

    def unet_gaps(self) -> list[float]:
        """GPU ms from the end of one UNet call to the start of the next (scheduler step, CFG mix, idle)."""
        unet = [(kind, e) for name, kind, e in self.events if name == "unet"]
        return [unet[k][1].elapsed_time(unet[k + 1][1]) for k in range(1, len(unet) - 1, 2)
                if unet[k][0] == "post" and unet[k + 1][0] == "pre"]

    def remove(self) -> None:
        for u in self.undo:
            u()


def bench_dtype(pipe, dtype_name: str, steps: int, n_unet: int, runs: int, res: dict) -> dict:
    """Fills `res` as it goes, so the figures measured before a failure are kept."""
    import numpy as np
    import torch

    dtype = {"fp32": torch.float32, "fp16": torch.float16}[dtype_name]
    dev = torch.device("cuda")
    pipe.to(device=dev, dtype=dtype)
    res.update({"dtype": dtype_name, "attention_processor": type(pipe.unet.attn_processors[
        next(iter(pipe.unet.attn_processors))]).__name__, "tf32": tf32_state()})
    te, unet, vae = pipe.text_encoder, pipe.unet, pipe.vae
    f = pipe.vae_scale_factor
    lc = vae.config.latent_channels
    g = torch.Generator(device="cpu").manual_seed(0)
    sample = torch.randn(2, unet.config.in_channels, SIZE // f, SIZE // f, generator=g).to(dev, dtype)
    ehs = torch.randn(2, 77, te.config.hidden_size, generator=g).to(dev, dtype)
    labels = torch.full((2,), NOISE_LEVEL, dtype=torch.long, device=dev)
    image = (torch.rand(1, 4, SIZE, SIZE, generator=g) * 2 - 1).to(dev, dtype)
    lat1 = torch.randn(1, lc, SIZE // f, SIZE // f, generator=g).to(dev, dtype)
    ids = pipe.tokenizer(["", PROMPT], padding="max_length", max_length=77, truncation=True,
                         return_tensors="pt").input_ids.to(dev)
    t = torch.tensor(981, device=dev)

    def unet_call():
        return unet(sample, t, encoder_hidden_states=ehs, class_labels=labels, return_dict=False)[0]

    with torch.inference_mode():
        res["text_encoder_ms"] = median_ms(lambda: te(ids)[0], 20)
        log(dtype_name, "text encoder", res["text_encoder_ms"])
        res["vae_encode_ms"] = median_ms(lambda: vae.encode(image).latent_dist.mean, 5, warmup=2)
        log(dtype_name, "vae encode", res["vae_encode_ms"])
        res["unet_ms"] = median_ms(unet_call, n_unet)
        log(dtype_name, "unet", res["unet_ms"])
        if dtype_name == "fp32":
            try:
                res["unet_strict_fp32_ms"] = strict_fp32(lambda: median_ms(unet_call, n_unet))
                log(dtype_name, "unet strict fp32 (no TF32)", res["unet_strict_fp32_ms"])
            except Exception as e:  # noqa: BLE001 - an optional figure
                res["unet_strict_fp32_error"] = f"{type(e).__name__}: {e}"[:300]
        res["vae_decode_ms"] = median_ms(lambda: vae.decode(lat1, return_dict=False)[0], 5, warmup=2)
        log(dtype_name, "vae decode", res["vae_decode_ms"])

    rgb, depth = low_res_rgbd()
    ev = CallEvents(pipe)
    totals = []
    per_call: dict[str, list[float]] = {}
    gaps: list[float] = []
    peak = 0
    try:
        for i in range(runs + 1):  # first run = warm-up (cuDNN autotune, allocator), then `runs` timed
            ev.clear()
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            t0 = time.perf_counter()
            with torch.inference_mode():
                out = pipe(prompt=PROMPT, rgb=[rgb], depth=[depth], num_inference_steps=steps,
                           guidance_scale=GUIDANCE, noise_level=NOISE_LEVEL,
                           generator=torch.Generator(device="cpu").manual_seed(i), output_type="np")
            torch.cuda.synchronize()
            dt = (time.perf_counter() - t0) * 1e3
            if i == 0:
                res["pipeline_first_ms"] = dt
                # the work really was 512x512 (an array input keeps its size; a wrong size would time other work)
                res["output_rgb_shape"] = list(np.asarray(out.rgb).shape)
                if res["output_rgb_shape"] != [1, SIZE, SIZE, 3]:
                    log(dtype_name, "UNEXPECTED output shape", res["output_rgb_shape"])
                continue
            totals.append(dt)
            peak = max(peak, torch.cuda.max_memory_allocated())
            for k, v in ev.durations().items():
                per_call.setdefault(k, []).extend(v)
            gaps.extend(ev.unet_gaps())
    finally:
        ev.remove()
    med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
    res["pipeline"] = {
        "steps": steps, "runs": runs, "total_ms_median": med(totals), "total_ms_all": totals,
        "unet_calls": len(per_call.get("unet", [])), "unet_gpu_ms_median": med(per_call.get("unet", [])),
        "between_unet_gpu_ms_median": med(gaps),
        "text_encoder_gpu_ms_median": med(per_call.get("text_encoder", [])),
        "vae_encode_gpu_ms_median": med(per_call.get("vae_encode", [])),
        "vae_decode_gpu_ms_median": med(per_call.get("vae_decode", [])),
    }
    res["peak_allocated_bytes"] = peak
    res["peak_reserved_bytes"] = torch.cuda.max_memory_reserved()
    log(dtype_name, "pipeline", res["pipeline"], "peak GiB", peak / 2**30)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--unet-calls", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3, help="timed pipeline calls per dtype (after one warm-up)")
    ap.add_argument("--dtypes", default="fp32,fp16")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    import torch

    torch.set_grad_enabled(False)
    out: dict = {
        "what": "PyTorch diffusers community StableDiffusionUpscaleLDM3DPipeline, random-full SR weights "
                "(architecture only)",
        "image": [SIZE, SIZE], "low_res": [LOW_RES, LOW_RES], "guidance_scale": GUIDANCE,
        "noise_level": NOISE_LEVEL, "steps": args.steps, "scheduler": "DDIM (ldm3d-sr config)",
        "results": {}, "errors": {}, "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }

    def write() -> None:
        args.out.write_text(json.dumps(out, indent=2) + "\n")

    try:
        out.update({"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda})
        t0 = time.perf_counter()
        pipe, params = build_pipeline()
        import diffusers
        import transformers

        out.update({"diffusers": diffusers.__version__, "transformers": transformers.__version__,
                    "parameters": params, "build_seconds": time.perf_counter() - t0})
        log("built in", round(out["build_seconds"], 1), "s:", params)
    except BaseException as e:  # noqa: BLE001 - the JSON says why there are no figures
        traceback.print_exc()
        out["errors"]["build"] = f"{type(e).__name__}: {e}"[:1000]
        write()
        raise SystemExit(1)
    write()
    for d in [d for d in args.dtypes.split(",") if d]:
        out["results"][d] = {}
        try:
            bench_dtype(pipe, d, args.steps, args.unet_calls, args.runs, out["results"][d])
        except Exception as e:  # noqa: BLE001 - keep the other dtype's figures
            traceback.print_exc()
            out["errors"][d] = f"{type(e).__name__}: {e}"[:1000]
        write()
        torch.cuda.empty_cache()
    log("wrote", args.out)


if __name__ == "__main__":
    main()
