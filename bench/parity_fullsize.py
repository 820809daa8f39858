#!/usr/bin/env python3
"""PyTorch fp32 reference (TF32 off) for the full-size parity stage (issue 11 §4; bench/parity-webgpu.ts
--fullsize reads what this writes).

    python bench/parity_fullsize.py --out /tmp/parity-ref [--steps 20] [--guidance 7] [--int8]
        [--sensitivity 1e-6,1e-5,1e-4]

Weights: models/tiny.py build_random_full_components(), the function `models/export.py --random-full`
exports, which seeds torch (tiny.SEED) before building each module on the CPU: the same weights as
that export on the same machine (the parity figures say so too: other weights would give errors of
the order of the outputs themselves, not 1e-5).

Numerics: CUDA, float32, torch.backends.cuda.matmul.allow_tf32 = False and torch.backends.cudnn.allow_tf32
= False (plain IEEE fp32 products, as WebGPU computes), and scaled_dot_product_attention on its math
backend only (the fused kernels' fp32 paths may use tensor-core tricks; the math path is matmul +
softmax under the same TF32 switch).

Inputs, all from one CPU torch.Generator (seed --seed), 512x1024 image = latent [1, 4, 64, 128]:
  te.input_ids.npy      int64 [2, 77]: the tokenizer on ["" (no negative prompt), PROMPT], diffusers' order
  unet.sample.npy       [2, 4, 64, 128]: one latent repeated, as classifier-free guidance feeds the UNet
  vae.latents.npy       [1, 4, 64, 128]: randn / vae scaling factor (what the decoder sees in the pipeline)
  pipe.latents.npy      [1, 4, 64, 128]: initial noise for the whole run (unscaled; DDIM's sigma is 1)
Outputs per reference (fp32/, and int8/ with --int8):
  te.out.npy            [2, 77, 768]: the text encoder on te.input_ids, one batch-2 call; also the
                        encoder_hidden_states of the UNet calls, so (a) compares the UNet alone
  unet.t<T>.out.npy     [2, 4, 64, 128]: (a) one UNet call at timestep T (the 20-step schedule's first and
                        middle timesteps)
  vae.out.npy           [1, 4, 512, 1024]: (b) vae.decode(vae.latents)
  pipe.trajectory.npy   [steps, 4, 64, 128]: (c) StableDiffusionLDM3DPipeline, DDIM, --steps, guidance
                        --guidance, from pipe.latents: the latents after every step
  pipe.rgb.npy, pipe.depth.npy   its output_type="np" RGB [512, 1024, 3] and depth [512, 1024] in [0, 1]
meta.json: prompt, steps, timesteps, file names, versions, output statistics, and for fp32:
  sensitivity   for each --sensitivity level eps, the same 20-step run with noise eps x std added to
                every UNet output (fixed generator): the per-call error that stands for (max |noise| /
                std), the latents' error after every step and at the end; final/per-call = how much the
                run amplifies a UNet's error (parity-webgpu.ts derives the 20-step bound from it)
  run_to_run    the unperturbed run again: PyTorch's own repeatability on this GPU
--int8: the same reference with every Conv2d/Linear weight of >= --min-elements values rounded to
per-output-channel int8 x scale exactly as models/narrow_weights.py --storage int8 stores it
(goldens_narrow.round_weights), for the int8 export made from the same float32 export.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "models"))

HEIGHT, WIDTH = 512, 1024
PROMPT = "a panorama of a mountain lake at sunset, snowy peaks, pine forest"


def log(*a) -> None:
    print("[parity-torch]", *a, flush=True)


def strict_fp32() -> dict:
    """TF32 off everywhere and attention on SDPA's math backend; returns what was set."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    sdp = {}
    for name, on in (("enable_flash_sdp", False), ("enable_mem_efficient_sdp", False), ("enable_cudnn_sdp", False),
                     ("enable_math_sdp", True)):
        fn = getattr(torch.backends.cuda, name, None)
        if fn is not None:
            fn(on)
            sdp[name] = on
    return {"matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32, "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision(), "sdp": sdp}


def f32(a) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().float().cpu().numpy()
    return np.ascontiguousarray(np.asarray(a, dtype="<f4"))


def stats(a: np.ndarray) -> dict:
    return {"mean": float(a.mean()), "std": float(a.std()), "max_abs": float(np.abs(a).max())}


def rel(a: np.ndarray, ref: np.ndarray) -> float:
    """max |a - ref| / std(ref): the parity stage's measure."""
    return float(np.abs(a.astype(np.float64) - ref).max() / ref.std())


def build_pipeline():
    from diffusers import DDIMScheduler, StableDiffusionLDM3DPipeline

    import tiny  # models/tiny.py: the architecture and seeds models/export.py --random-full exports
    from export import load_tokenizer

    c = tiny.build_random_full_components()
    pipe = StableDiffusionLDM3DPipeline(
        vae=c.vae, text_encoder=c.text_encoder, tokenizer=load_tokenizer(c.tokenizer_dir), unet=c.unet,
        scheduler=DDIMScheduler.from_config(c.scheduler_config), safety_checker=None, feature_extractor=None,
        image_encoder=None, requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def run_pipeline(pipe, latents, steps: int, guidance: float, noise_eps: float = 0.0, seed: int = 7):
    """The whole pipeline from `latents`; with noise_eps > 0, N(0, (eps·std(out))²) is added to every
    UNet output. Returns (trajectory [steps, 4, h, w], rgb, depth, per-call injected max|noise|/std)."""
    import torch

    dev = latents.device
    injected: list[float] = []
    gen = torch.Generator(device=dev).manual_seed(seed)

    def hook(_module, _args, out):
        x = out[0]
        s = x.std()
        n = torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype) * (noise_eps * s)
        injected.append(float(n.abs().max() / s))
        return (x + n,) + tuple(out[1:])

    trajectory: list[np.ndarray] = []

    def on_step(_pipe, _i, _t, kw):
        trajectory.append(f32(kw["latents"][0]))
        return kw

    handle = pipe.unet.register_forward_hook(hook) if noise_eps > 0 else None
    try:
        res = pipe(prompt=PROMPT, negative_prompt=None, height=HEIGHT, width=WIDTH, num_inference_steps=steps,
                   guidance_scale=guidance, latents=latents, output_type="np",
                   callback_on_step_end=on_step, callback_on_step_end_tensor_inputs=["latents"])
    finally:
        if handle is not None:
            handle.remove()
    rgb = f32(np.asarray(res.rgb)[0])
    depth = f32(np.asarray(res.depth)[0, :, :, 0])
    return np.stack(trajectory), rgb, depth, injected


def reference(pipe, inputs: dict, timesteps_for_unet: list[int], steps: int, guidance: float, out: Path) -> dict:
    """(text encoder, UNet calls, VAE decode, whole pipeline) on `pipe` → out/*.npy; returns statistics."""
    import torch

    dev = torch.device("cuda")
    out.mkdir(parents=True, exist_ok=True)
    info: dict = {"dir": out.name}
    t0 = time.perf_counter()
    ids = inputs["ids"].to(dev)
    te = f32(pipe.text_encoder(ids)[0])
    np.save(out / "te.out.npy", te)
    info["te"] = stats(te)
    # diffusers' own encode_prompt runs the two prompts as two batch-1 calls; how far that is from the
    # batch-2 call above says how much batching alone moves the embeddings on this GPU.
    pe, ne = pipe.encode_prompt(PROMPT, dev, 1, True, None)
    info["te_batch2_vs_encode_prompt_rel"] = rel(te, f32(torch.cat([ne, pe])))
    hidden = torch.from_numpy(te).to(dev)
    sample = inputs["unet_sample"].to(dev)
    info["unet"] = {}
    for t in timesteps_for_unet:
        tt = torch.tensor(t, dtype=torch.int64, device=dev)
        o = f32(pipe.unet(sample, tt, encoder_hidden_states=hidden, return_dict=False)[0])
        again = f32(pipe.unet(sample, tt, encoder_hidden_states=hidden, return_dict=False)[0])
        np.save(out / f"unet.t{t}.out.npy", o)
        info["unet"][str(t)] = {**stats(o), "run_to_run_rel": rel(again, o)}
        log(f"{out.name}: UNet t={t}: std {o.std():.4g}, run-to-run rel {info['unet'][str(t)]['run_to_run_rel']:.3g}")
    v = f32(pipe.vae.decode(inputs["vae_latents"].to(dev), return_dict=False)[0])
    np.save(out / "vae.out.npy", v)
    info["vae"] = stats(v)
    traj, rgb, depth, _ = run_pipeline(pipe, inputs["pipe_latents"].to(dev), steps, guidance)
    np.save(out / "pipe.trajectory.npy", traj)
    np.save(out / "pipe.rgb.npy", rgb)
    np.save(out / "pipe.depth.npy", depth)
    info["pipeline"] = {"final_latents": stats(traj[-1]), "per_step_std": [float(s.std()) for s in traj],
                        "rgb": stats(rgb), "depth": stats(depth),
                        "rgb_clamped_fraction": float(np.mean((rgb <= 0) | (rgb >= 1)))}
    info["seconds"] = round(time.perf_counter() - t0, 2)
    log(f"{out.name}: text encoder, {len(timesteps_for_unet)} UNet calls, VAE decode and the {steps}-step run "
        f"in {info['seconds']} s; final latents std {traj[-1].std():.4g}")
    return info


def sensitivity(pipe, inputs: dict, steps: int, guidance: float, levels: list[float], base: np.ndarray) -> tuple[list, dict]:
    import torch

    dev = torch.device("cuda")

    def per_step(traj: np.ndarray) -> list[float]:
        return [rel(traj[i], base[i]) for i in range(len(base))]

    again, _, _, _ = run_pipeline(pipe, inputs["pipe_latents"].to(dev), steps, guidance)
    run_to_run = per_step(again)
    out = []
    for eps in levels:
        traj, _, _, injected = run_pipeline(pipe, inputs["pipe_latents"].to(dev), steps, guidance, noise_eps=eps)
        steps_rel = per_step(traj)
        r = {"eps": eps, "injected_rel": float(np.mean(injected)), "final_rel": steps_rel[-1], "per_step_rel": steps_rel}
        log(f"sensitivity eps {eps:g}: per-call {r['injected_rel']:.3g} -> final {r['final_rel']:.3g} "
            f"(x{r['final_rel'] / r['injected_rel']:.3g})")
        out.append(r)
    return out, {"final_rel": run_to_run[-1], "per_step_rel": run_to_run}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=7.0)
    ap.add_argument("--seed", type=int, default=1234, help="the CPU generator of the inputs")
    ap.add_argument("--sensitivity", default="1e-6,1e-5,1e-4",
                    help="noise levels (x std of each UNet output) for the growth estimate; '' for none")
    ap.add_argument("--int8", action="store_true", help="also the reference with int8-rounded weights")
    ap.add_argument("--min-elements", type=int, help="(--int8) narrow_weights.py's --min-elements (default: its default)")
    args = ap.parse_args()

    import diffusers
    import torch
    import transformers

    torch.set_grad_enabled(False)
    numerics = strict_fp32()
    t0 = time.perf_counter()
    pipe = build_pipeline()
    build_s = time.perf_counter() - t0
    log(f"built the random-full components in {build_s:.1f} s; numerics {numerics}")

    # Inputs: one CPU generator, drawn in a fixed order.
    g = torch.Generator(device="cpu").manual_seed(args.seed)
    lh, lw = HEIGHT // pipe.vae_scale_factor, WIDTH // pipe.vae_scale_factor
    unet_latent = torch.randn(1, 4, lh, lw, generator=g)
    vae_latents = torch.randn(1, 4, lh, lw, generator=g) / pipe.vae.config.scaling_factor
    pipe_latents = torch.randn(1, 4, lh, lw, generator=g)
    ids = pipe.tokenizer(["", PROMPT], padding="max_length", max_length=pipe.tokenizer.model_max_length,
                         truncation=True, return_tensors="pt").input_ids
    inputs = {"ids": ids, "unet_sample": torch.cat([unet_latent] * 2), "vae_latents": vae_latents, "pipe_latents": pipe_latents}
    args.out.mkdir(parents=True, exist_ok=True)
    np.save(args.out / "te.input_ids.npy", np.ascontiguousarray(ids.numpy().astype("<i8")))
    np.save(args.out / "unet.sample.npy", f32(inputs["unet_sample"]))
    np.save(args.out / "vae.latents.npy", f32(vae_latents))
    np.save(args.out / "pipe.latents.npy", f32(pipe_latents))

    pipe.scheduler.set_timesteps(args.steps)
    timesteps = [int(t) for t in pipe.scheduler.timesteps]
    unet_timesteps = sorted({timesteps[0], timesteps[len(timesteps) // 2]}, reverse=True)

    meta: dict = {
        "what": "PyTorch diffusers on CUDA, float32, TF32 off, SDPA math backend; random-full weights (models/tiny.py)",
        "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda,
        "diffusers": diffusers.__version__, "transformers": transformers.__version__, "numerics": numerics,
        "attention_processor": type(next(iter(pipe.unet.attn_processors.values()))).__name__,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "build_seconds": round(build_s, 1),
        "prompt": PROMPT, "negative_prompt": None, "height": HEIGHT, "width": WIDTH, "steps": args.steps,
        "guidance": args.guidance, "scheduler": "ddim", "timesteps": timesteps, "seed": args.seed,
        "text_encoder": {"input_ids": "te.input_ids.npy"},
        "unet": {"timesteps": unet_timesteps, "sample": "unet.sample.npy", "encoder_hidden_states": "<reference>/te.out.npy"},
        "vae": {"latents": "vae.latents.npy"},
        "pipeline": {"latents": "pipe.latents.npy"},
        "references": {},
    }

    def write_meta() -> None:
        (args.out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")

    pipe.to("cuda")
    fp32 = reference(pipe, inputs, unet_timesteps, args.steps, args.guidance, args.out / "fp32")
    meta["references"]["fp32"] = fp32
    write_meta()
    levels = [float(x) for x in args.sensitivity.split(",") if x.strip()]
    if levels:
        base = np.load(args.out / "fp32" / "pipe.trajectory.npy")
        t1 = time.perf_counter()
        fp32["sensitivity"], run_to_run = sensitivity(pipe, inputs, args.steps, args.guidance, levels, base)
        fp32["run_to_run_final_rel"] = run_to_run["final_rel"]
        fp32["run_to_run_per_step_rel"] = run_to_run["per_step_rel"]
        fp32["sensitivity_seconds"] = round(time.perf_counter() - t1, 1)
        write_meta()

    if args.int8:
        from goldens_narrow import round_weights
        from narrow_weights import DEFAULT_MIN_ELEMENTS

        min_elements = args.min_elements or DEFAULT_MIN_ELEMENTS
        t1 = time.perf_counter()
        pipe.to("cpu")  # round_weights works on numpy views of CPU weights
        round_weights(min_elements, "int8")(pipe)
        pipe.to("cuda")
        log(f"int8 rounding in {time.perf_counter() - t1:.1f} s")
        int8 = reference(pipe, inputs, unet_timesteps, args.steps, args.guidance, args.out / "int8")
        int8["min_elements"] = min_elements
        meta["references"]["int8"] = int8
        write_meta()
    meta["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    meta["total_seconds"] = round(time.perf_counter() - t0, 1)
    write_meta()
    log(f"wrote {args.out} in {meta['total_seconds']} s (peak {meta['peak_allocated_gib']} GiB)")


if __name__ == "__main__":
    main()
