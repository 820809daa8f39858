#!/usr/bin/env python3
"""PyTorch diffusers reference timings for the LDM3D-pano benchmark (issue 4).

Builds StableDiffusionLDM3DPipeline from the SAME architecture code the export uses
(models/tiny.py: build_random_full_components, RANDOM weights, torch.manual_seed(0)), so the
numbers compare like with like against bench/pano-webgpu.ts on the ONNX graphs that
`models/export.py --random-full` writes. Timings only: random weights draw noise.

    python bench/torch_reference.py --steps 20 --out /tmp/torch.json [--dtypes fp32,fp16] [--compile]
    python bench/torch_reference.py --scheduler dpm --steps 20 --deepcache-interval 3 --out /tmp/torch-headset.json

Per dtype it reports (all on one CUDA device, 512×1024 image = latent 4×64×128, guidance 7 → batch 2,
DDIM with the ldm3d-pano scheduler config, or with --scheduler dpm DPMSolverMultistepScheduler made from
that config the way users swap schedulers = DPM-Solver++ 2M, models/goldens.py make_scheduler):
  text_encoder_ms      one CLIP call, batch 2 (prompt + negative), median
  unet_ms              one UNet call, batch 2, median of >= 20 with torch.cuda.synchronize around each
  unet_strict_fp32_ms  (fp32 only) the same with cuDNN/cuBLAS TF32 off: what WebGPU fp32 must compute
  vae_decode_ms        vae.decode of [1,4,64,128], median
  pipeline             the whole pipe(...) call, output_type="np": total (median of 3), and from CUDA
                       events around every UNet call inside it: UNet GPU time per step and the GPU-time
                       gap between consecutive UNet calls (scheduler step, CFG mix, idle)
  peak_allocated_bytes torch.cuda.max_memory_allocated during the pipeline call
  pipeline_strict_fp32 (fp32 only) the same pipeline timing with TF32 off

--deepcache-interval N > 1: the authors' DeepCacheSDHelper (horseee/DeepCache, imported by path from
--deepcache-src / $DEEPCACHE_SRC, models/deepcache.py) wraps the pipe for the pipeline timings, with
set_params(cache_interval=N, cache_branch_id=0); the pipeline figures then also split the UNet calls
into full and shallow ones (a forward hook on the mid block's first resnet, which the helper does not
wrap, marks a full call), and per dtype:
  unet_shallow_ms              one shallow UNet call through the helper (cache filled by one full call
                               at timesteps[0], then calls at timesteps[1]), batch 2, median
  unet_shallow_strict_fp32_ms  (fp32) the same with TF32 off
  deepcache_step_strict_fp32_ms (fp32) (full calls × unet_strict_fp32 + shallow calls × unet_shallow_strict_fp32)
                               / calls of the --steps schedule: the UNet time per step, derived
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

HEIGHT, WIDTH = 512, 1024
GUIDANCE = 7.0
PROMPT = "a panorama of a mountain lake at sunset"


def log(*a) -> None:
    print("[torch]", *a, flush=True)


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


def build_pipeline(scheduler: str = "ddim"):
    import torch
    from diffusers import StableDiffusionLDM3DPipeline

    import tiny  # models/tiny.py: the export's own random-full architecture
    from export import load_tokenizer
    from goldens import make_scheduler  # DDIM from the config, or another class from DDIM's config

    c = tiny.build_random_full_components()
    pipe = StableDiffusionLDM3DPipeline(
        vae=c.vae, text_encoder=c.text_encoder, tokenizer=load_tokenizer(c.tokenizer_dir), unet=c.unet,
        scheduler=make_scheduler(scheduler, c.scheduler_config), safety_checker=None, feature_extractor=None,
        image_encoder=None, requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    params = {k: sum(p.numel() for p in m.parameters()) for k, m in
              (("text_encoder", c.text_encoder), ("unet", c.unet), ("vae", c.vae))}
    return pipe, params, torch


class DeepCacheRun:
    """The authors' helper on `pipe` for a `with` block (interval N), or nothing when N <= 1."""

    def __init__(self, pipe, helper_cls, interval: int):
        self.pipe, self.helper_cls, self.interval, self.helper = pipe, helper_cls, interval, None

    def __enter__(self):
        if self.interval > 1:
            self.helper = self.helper_cls(pipe=self.pipe)
            self.helper.set_params(cache_interval=self.interval, cache_branch_id=0)
            self.helper.enable()
        return self

    def __exit__(self, *exc):
        if self.helper is not None:
            self.helper.disable()
            self.helper = None
        return False


def time_shallow_call(pipe, helper_cls, sample, ehs, steps: int, n: int) -> dict:
    """One DeepCache shallow UNet call through the authors' helper: an interval no schedule reaches
    makes every call after the first a shallow one; the first (timesteps[0]) fills the cache."""
    import torch

    pipe.scheduler.set_timesteps(steps, device=sample.device)
    ts = pipe.scheduler.timesteps
    mid_calls = [0]
    h = pipe.unet.mid_block.resnets[0].register_forward_hook(lambda *_: mid_calls.__setitem__(0, mid_calls[0] + 1))
    try:
        with DeepCacheRun(pipe, helper_cls, 10**9), torch.inference_mode():
            pipe.unet(sample, ts[0], encoder_hidden_states=ehs, return_dict=False)
            if mid_calls[0] != 1:
                raise RuntimeError(f"the first call through the helper ran the mid block {mid_calls[0]} times")
            r = median_ms(lambda: pipe.unet(sample, ts[1], encoder_hidden_states=ehs, return_dict=False)[0], n)
            if mid_calls[0] != 1:
                raise RuntimeError("a call meant to be shallow ran the mid block: not a DeepCache shallow step")
    finally:
        h.remove()
    return r


def bench_dtype(pipe, dtype_name: str, steps: int, n_unet: int, compile_unet: bool, res: dict,
                helper_cls=None, interval: int = 1) -> dict:
    """Fills `res` as it goes, so the figures measured before a failure are kept."""
    import torch

    dtype = {"fp32": torch.float32, "fp16": torch.float16}[dtype_name]
    dev = torch.device("cuda")
    pipe.to(device=dev, dtype=dtype)
    res.update({"dtype": dtype_name, "attention_processor": type(pipe.unet.attn_processors[
        next(iter(pipe.unet.attn_processors))]).__name__, "tf32": tf32_state()})
    te, unet, vae = pipe.text_encoder, pipe.unet, pipe.vae
    lh, lw = HEIGHT // pipe.vae_scale_factor, WIDTH // pipe.vae_scale_factor
    g = torch.Generator(device="cpu").manual_seed(0)
    sample = torch.randn(2, 4, lh, lw, generator=g).to(dev, dtype)
    ehs = torch.randn(2, 77, te.config.hidden_size, generator=g).to(dev, dtype)
    lat1 = torch.randn(1, 4, lh, lw, generator=g).to(dev, dtype)
    ids = pipe.tokenizer([PROMPT, ""], padding="max_length", max_length=77, truncation=True,
                         return_tensors="pt").input_ids.to(dev)
    t = torch.tensor(981, device=dev)

    with torch.inference_mode():
        res["text_encoder_ms"] = median_ms(lambda: te(ids)[0], 20)
        log(dtype_name, "text encoder", res["text_encoder_ms"])
        res["unet_ms"] = median_ms(lambda: unet(sample, t, encoder_hidden_states=ehs, return_dict=False)[0], n_unet)
        log(dtype_name, "unet", res["unet_ms"])
        if dtype_name == "fp32":
            try:
                res["unet_strict_fp32_ms"] = strict_fp32(
                    lambda: median_ms(lambda: unet(sample, t, encoder_hidden_states=ehs, return_dict=False)[0], n_unet))
                log(dtype_name, "unet strict fp32 (no TF32)", res["unet_strict_fp32_ms"])
            except Exception as e:  # noqa: BLE001 - an optional figure
                res["unet_strict_fp32_error"] = f"{type(e).__name__}: {e}"[:300]
        res["vae_decode_ms"] = median_ms(lambda: vae.decode(lat1, return_dict=False)[0], 5, warmup=2)
        log(dtype_name, "vae decode", res["vae_decode_ms"])

    if interval > 1:
        try:
            res["unet_shallow_ms"] = time_shallow_call(pipe, helper_cls, sample, ehs, steps, n_unet)
            log(dtype_name, "unet shallow (DeepCache)", res["unet_shallow_ms"])
            if dtype_name == "fp32":
                res["unet_shallow_strict_fp32_ms"] = strict_fp32(
                    lambda: time_shallow_call(pipe, helper_cls, sample, ehs, steps, n_unet))
                log(dtype_name, "unet shallow strict fp32 (no TF32)", res["unet_shallow_strict_fp32_ms"])
                import deepcache

                pipe.scheduler.set_timesteps(steps)
                full = deepcache.full_steps([float(x) for x in pipe.scheduler.timesteps], interval)
                if "unet_strict_fp32_ms" in res:
                    res["deepcache_step_strict_fp32_ms"] = (
                        sum(full) * res["unet_strict_fp32_ms"]["median_ms"]
                        + (len(full) - sum(full)) * res["unet_shallow_strict_fp32_ms"]["median_ms"]) / len(full)
                    res["deepcache_schedule"] = {"full_calls": sum(full), "shallow_calls": len(full) - sum(full)}
        except Exception as e:  # noqa: BLE001 - optional figures; the pipeline timing still runs
            traceback.print_exc()
            res["unet_shallow_error"] = f"{type(e).__name__}: {e}"[:500]

    res["pipeline"], peak = time_pipeline(pipe, steps, interval, helper_cls, res)
    res["peak_allocated_bytes"] = peak
    res["peak_reserved_bytes"] = torch.cuda.max_memory_reserved()
    log(dtype_name, "pipeline", res["pipeline"], "peak GiB", peak / 2**30)
    if dtype_name == "fp32":
        try:
            res["pipeline_strict_fp32"], _ = strict_fp32(lambda: time_pipeline(pipe, steps, interval, helper_cls, None))
            log(dtype_name, "pipeline strict fp32 (no TF32)", res["pipeline_strict_fp32"])
        except Exception as e:  # noqa: BLE001 - an optional figure
            res["pipeline_strict_fp32_error"] = f"{type(e).__name__}: {e}"[:300]

    if compile_unet:
        try:
            t0 = time.perf_counter()
            cu = torch.compile(unet, mode="max-autotune-no-cudagraphs")
            with torch.inference_mode():
                cu(sample, t, encoder_hidden_states=ehs, return_dict=False)
                torch.cuda.synchronize()
                res["unet_compile_seconds"] = time.perf_counter() - t0
                res["unet_compiled_ms"] = median_ms(
                    lambda: cu(sample, t, encoder_hidden_states=ehs, return_dict=False)[0], n_unet)
            log(dtype_name, "unet torch.compile", res["unet_compiled_ms"])
        except Exception as e:  # noqa: BLE001 - optional figure; the rest of the result stands
            res["unet_compiled_error"] = f"{type(e).__name__}: {e}"[:500]
    return res


def time_pipeline(pipe, steps: int, interval: int, helper_cls, res: dict | None) -> tuple[dict, int]:
    """The whole pipeline, with CUDA events around each UNet call (no syncs added inside the loop);
    (figures, peak allocated bytes). `res` gets pipeline_first_ms when given."""
    import torch

    unet = pipe.unet
    events: list[tuple] = []
    full_flags: list[bool] = []
    mid_ran = [False]

    def pre(_m, _a, _k):
        mid_ran[0] = False
        e = torch.cuda.Event(enable_timing=True)
        e.record()
        events.append(["pre", e])

    def post(_m, _a, _k, _o):
        e = torch.cuda.Event(enable_timing=True)
        e.record()
        events.append(["post", e])
        full_flags.append(mid_ran[0])

    def on_mid(*_):
        mid_ran[0] = True

    h1 = unet.register_forward_pre_hook(pre, with_kwargs=True)
    h2 = unet.register_forward_hook(post, with_kwargs=True)
    h3 = unet.mid_block.resnets[0].register_forward_hook(on_mid)
    totals = []
    peak = 0
    try:
        with DeepCacheRun(pipe, helper_cls, interval):
            for i in range(4):  # first run = warm-up (cuDNN autotune, allocator), then 3 timed
                events.clear()
                full_flags.clear()
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
                t0 = time.perf_counter()
                with torch.inference_mode():
                    pipe(PROMPT, height=HEIGHT, width=WIDTH, num_inference_steps=steps, guidance_scale=GUIDANCE,
                         generator=torch.Generator(device="cpu").manual_seed(i), output_type="np")
                torch.cuda.synchronize()
                dt = (time.perf_counter() - t0) * 1e3
                if i == 0:
                    if res is not None:
                        res["pipeline_first_ms"] = dt
                    continue
                totals.append(dt)
                peak = max(peak, torch.cuda.max_memory_allocated())
        ev = [e for _, e in events]
        calls = [ev[k].elapsed_time(ev[k + 1]) for k in range(0, len(ev) - 1, 2)]
        gaps = [ev[k + 1].elapsed_time(ev[k + 2]) for k in range(0, len(ev) - 2, 2)]
    finally:
        h1.remove()
        h2.remove()
        h3.remove()
    full = [c for c, f in zip(calls, full_flags) if f]
    shallow = [c for c, f in zip(calls, full_flags) if not f]
    out = {
        "steps": steps, "total_ms_median": statistics.median(totals), "total_ms_all": totals,
        "unet_calls": len(calls), "unet_gpu_ms_median": statistics.median(calls),
        "between_unet_gpu_ms_median": statistics.median(gaps) if gaps else None,
        # the last run's calls: full = the mid block ran (always, without DeepCache)
        "deepcache_interval": interval, "unet_full_calls": len(full), "unet_shallow_calls": len(shallow),
        "unet_full_gpu_ms_median": statistics.median(full) if full else None,
        "unet_shallow_gpu_ms_median": statistics.median(shallow) if shallow else None,
        "unet_gpu_ms_per_step_mean": sum(calls) / len(calls) if calls else None,
    }
    return out, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--scheduler", default="ddim", choices=["ddim", "dpm"],
                    help="ddim: the checkpoint's; dpm: DPMSolverMultistepScheduler (DPM-Solver++ 2M) from its config")
    ap.add_argument("--deepcache-interval", type=int, default=1,
                    help="N > 1: the authors' DeepCacheSDHelper (cache branch 0) wraps the pipe for the pipeline timings")
    ap.add_argument("--deepcache-src", default=None,
                    help="folder of horseee/DeepCache's DeepCache/ package (default $DEEPCACHE_SRC or /tmp/py/DeepCache)")
    ap.add_argument("--unet-calls", type=int, default=20)
    ap.add_argument("--dtypes", default="fp32,fp16")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile'd UNet (slow to build)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    import torch

    torch.set_grad_enabled(False)
    helper_cls, helper_info = None, None
    if args.deepcache_interval > 1:
        import deepcache  # models/deepcache.py: imports the authors' file by path

        helper_cls, helper_file, helper_sha = deepcache.load_helper_class(args.deepcache_src)
        helper_info = {"reference": deepcache.REFERENCE, "file": str(helper_file), "sha256": helper_sha,
                       "cache_interval": args.deepcache_interval, "cache_branch_id": 0}
    elif args.deepcache_interval < 1:
        ap.error("--deepcache-interval must be >= 1")
    t0 = time.perf_counter()
    pipe, params, _ = build_pipeline(args.scheduler)
    import diffusers
    import transformers

    out: dict = {
        "what": "PyTorch diffusers StableDiffusionLDM3DPipeline, random-full weights (architecture only)",
        "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda,
        "diffusers": diffusers.__version__, "transformers": transformers.__version__,
        "image": [HEIGHT, WIDTH], "guidance_scale": GUIDANCE,
        "scheduler": {"ddim": "DDIM (ldm3d-pano config)",
                      "dpm": "DPMSolverMultistepScheduler (DPM-Solver++ 2M) from the ldm3d-pano DDIM config"}[args.scheduler],
        "scheduler_kind": args.scheduler, "deepcache_interval": args.deepcache_interval, "deepcache": helper_info,
        "parameters": params, "build_seconds": time.perf_counter() - t0, "results": {}, "errors": {},
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    for d in [d for d in args.dtypes.split(",") if d]:
        out["results"][d] = {}
        try:
            bench_dtype(pipe, d, args.steps, args.unet_calls, args.compile and d == "fp16", out["results"][d],
                        helper_cls, args.deepcache_interval)
        except Exception as e:  # noqa: BLE001 - keep the other dtype's figures
            traceback.print_exc()
            out["errors"][d] = f"{type(e).__name__}: {e}"[:1000]
        args.out.write_text(json.dumps(out, indent=2) + "\n")
        torch.cuda.empty_cache()
    log("wrote", args.out)


if __name__ == "__main__":
    main()
