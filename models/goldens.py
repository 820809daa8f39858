"""Golden outputs of diffusers' StableDiffusionLDM3DPipeline on the tiny random weights.

Writes, for the TypeScript pipeline's tests:
  <goldens>/cases.json + *.npy     whole pipeline runs (prompt → RGB + depth), float32 little-endian C order
  <goldens>/vae-tiled.*            diffusers' tiled VAE decode of one case's final latents (goldens_tiled.py)
  <goldens>/../schedulers.json     scheduler traces (timesteps, scale_model_input, step) for 4 schedulers
and then checks that the exported ONNX graphs, driven by a small numpy loop with diffusers' schedulers,
reproduce the pipeline's outputs (the errors are written into cases.json).

Everything runs in float32 on the CPU, so the numbers do not depend on a GPU's TF32 or kernels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from export import log

SCHEDULER_CLASSES = {
    "ddim": "DDIMScheduler",
    "pndm": "PNDMScheduler",
    "euler": "EulerDiscreteScheduler",
    "dpm": "DPMSolverMultistepScheduler",
}

LONG_PROMPT = (
    "a panoramic view of a quiet beach at sunset with palm trees and gentle waves on the sand, a snowy "
    "mountain landscape under a clear blue sky with pine trees and a frozen lake, the interior of an old "
    "library with tall wooden shelves full of books and warm light, a futuristic city at night with neon "
    "lights, tall glass towers and flying cars, high quality, highly detailed, photorealistic"
)

# Each case: (name, prompt, negative_prompt, steps, guidance, scheduler, seed)
CASES: list[tuple[str, str, str | None, int, float, str, int]] = [
    ("ddim-20-cfg7", "a beach at sunset with palm trees", None, 20, 7.0, "ddim", 0),
    ("empty-prompt", "", None, 5, 7.0, "ddim", 1),
    ("long-prompt", LONG_PROMPT, None, 5, 7.0, "ddim", 2),
    ("negative-prompt", "a snowy mountain lake", "blurry, low quality, dark", 5, 7.0, "ddim", 3),
    ("guidance-1", "a cozy living room with a fireplace", None, 5, 1.0, "ddim", 4),
    ("ddim-1-step", "a forest in the morning", None, 1, 7.0, "ddim", 5),
    ("pndm-5", "a desert with red rocks", None, 5, 7.0, "pndm", 6),
    ("euler-5", "an underwater coral reef", None, 5, 7.0, "euler", 7),
    ("dpm-5", "a castle tower over green hills", None, 5, 7.0, "dpm", 8),
    ("euler-20", "a futuristic city at night", "text, watermark", 20, 7.0, "euler", 9),
    ("dpm-20", "a japanese garden with a wooden bridge", None, 20, 5.0, "dpm", 10),
]


def make_scheduler(kind: str, base_config: dict[str, Any]):
    """The checkpoint's DDIM, or another class made from its config the way users swap schedulers."""
    import diffusers

    ddim = diffusers.DDIMScheduler.from_config(base_config)
    if kind == "ddim":
        return ddim
    return getattr(diffusers, SCHEDULER_CLASSES[kind]).from_config(ddim.config)


def resolved_config(sched) -> dict[str, Any]:
    return {k: v for k, v in dict(sched.config).items() if not k.startswith("_")} | {"_class_name": type(sched).__name__}


def f32(a) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype="<f4"))


def floats(a) -> list[float]:
    return [float(v) for v in np.asarray(a, dtype=np.float32).reshape(-1)]


def numbers(t) -> list:
    a = t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)
    if np.issubdtype(a.dtype, np.integer):
        return [int(v) for v in a.reshape(-1)]
    return floats(a)


def save(folder: Path, name: str, arr) -> str:
    np.save(folder / name, f32(arr))
    return name


# --------------------------------------------------------------------------------------------


def pipeline_goldens(ckpt: Path, out: Path, transform=None, only: list[str] | None = None,
                     model: str = "models/tiny/ldm3d-pano") -> dict:
    """`transform(pipe)` changes the loaded pipeline first (goldens_f16.py rounds its weights);
    `only` names the CASES to run (default all)."""
    import diffusers
    import torch
    from diffusers import StableDiffusionLDM3DPipeline

    torch.manual_seed(0)
    pipe = StableDiffusionLDM3DPipeline.from_pretrained(
        ckpt, safety_checker=None, feature_extractor=None, requires_safety_checker=False, torch_dtype=torch.float32
    ).to("cpu")
    pipe.set_progress_bar_config(disable=True)
    if transform is not None:
        transform(pipe)
    tok = pipe.tokenizer
    base_config = json.loads((Path(ckpt) / "scheduler" / "scheduler_config.json").read_text())
    vsf = pipe.vae_scale_factor
    height, width = 64, 128
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.npy"):
        old.unlink()

    def ids(text: str) -> tuple[list[int], int]:
        padded = tok(text, padding="max_length", max_length=tok.model_max_length, truncation=True).input_ids
        return [int(i) for i in padded], len(tok(text).input_ids)

    cases = []
    for name, prompt, negative, steps, guidance, kind, seed in CASES:
        if only is not None and name not in only:
            continue
        pipe.scheduler = make_scheduler(kind, base_config)
        shape = (1, pipe.unet.config.in_channels, height // vsf, width // vsf)
        latents = np.random.RandomState(seed).standard_normal(shape).astype(np.float32)
        trajectory: list[np.ndarray] = []

        def on_step(_pipe, _i, _t, kw):
            trajectory.append(kw["latents"].detach().cpu().numpy().copy())
            return kw

        with torch.no_grad():
            res = pipe(
                prompt=prompt, negative_prompt=negative, height=height, width=width, num_inference_steps=steps,
                guidance_scale=guidance, latents=torch.from_numpy(latents), output_type="np",
                callback_on_step_end=on_step, callback_on_step_end_tensor_inputs=["latents"],
            )
        rgb, depth = np.asarray(res.rgb)[0], np.asarray(res.depth)[0, :, :, 0]
        p_ids, p_len = ids(prompt)
        n_ids, n_len = ids(negative if negative is not None else "")
        traj = np.stack(trajectory)[:, 0]
        case = {
            "name": name,
            "prompt": prompt,
            "negative_prompt": negative,
            "num_inference_steps": steps,
            "guidance_scale": guidance,
            "do_classifier_free_guidance": guidance > 1.0,
            "scheduler": kind,
            "scheduler_config": resolved_config(pipe.scheduler),
            "timesteps": numbers(pipe.scheduler.timesteps),
            "init_noise_sigma": float(pipe.scheduler.init_noise_sigma),
            "height": height,
            "width": width,
            "seed": seed,
            "latents": save(out, f"{name}.latents.npy", latents),
            "latents_trajectory": save(out, f"{name}.trajectory.npy", traj),
            "rgb": save(out, f"{name}.rgb.npy", rgb),
            "depth": save(out, f"{name}.depth.npy", depth),
            "prompt_token_ids": p_ids,
            "prompt_untruncated_length": p_len,
            "negative_token_ids": n_ids,
            "negative_untruncated_length": n_len,
            "stats": {
                "rgb_mean": float(rgb.mean()), "rgb_std": float(rgb.std()),
                "rgb_clamped_fraction": float(np.mean((rgb <= 0) | (rgb >= 1))),
                "depth_mean": float(depth.mean()), "depth_std": float(depth.std()),
                "final_latents_std": float(traj[-1].std()),
            },
        }
        log(f"  golden {name}: {len(case['timesteps'])} unet steps, tokens {p_len}, rgb mean {rgb.mean():.4f} "
            f"std {rgb.std():.4f} clamped {case['stats']['rgb_clamped_fraction']:.3f}, depth std {depth.std():.4f}")
        cases.append(case)

    # prompt embeddings of the first case, for debugging the text encoder stage
    first = CASES[0]
    with torch.no_grad():
        pe, ne = pipe.encode_prompt(first[1], "cpu", 1, True, first[2])
    debug = {
        "case": first[0],
        "prompt_embeds": save(out, "debug.prompt_embeds.npy", pe[0].numpy()),
        "negative_prompt_embeds": save(out, "debug.negative_prompt_embeds.npy", ne[0].numpy()),
    }
    doc = {
        "format": "ldm3d-xr-goldens@1",
        "model": model,
        "generated_with": {"pipeline": "diffusers.StableDiffusionLDM3DPipeline", "device": "cpu",
                           "dtype": "float32", "diffusers": diffusers.__version__, "torch": torch.__version__,
                           "safety_checker": None},
        "layout": {
            "npy": "float32 little-endian, C order",
            "latents": "initial noise [1,4,H/8,W/8] = np.random.RandomState(seed).standard_normal, in model "
                       "space; the pipeline multiplies it by init_noise_sigma before the first step "
                       "(prepare_latents), so pass it unscaled",
            "latents_trajectory": "[unet calls, 4, H/8, W/8]: latents after each scheduler.step",
            "rgb": "[H, W, 3] in [0,1] (output_type='np')",
            "depth": "[H, W] in [0,1]",
            "token_ids": "77 ids, padding='max_length', truncation=True; negative_token_ids tokenize "
                         "negative_prompt, or '' when it is null (used only when guidance_scale > 1)",
            "untruncated_length": "token count with BOS and EOS, before truncation to 77",
            "timesteps": "scheduler.timesteps after set_timesteps: one UNet call per entry (PNDM: steps+1)",
        },
        "vae_scaling_factor": float(pipe.vae.config.scaling_factor),
        "debug": debug,
        "cases": cases,
    }
    return doc


# --------------------------------------------------------------------------------------------


def scheduler_goldens(base_config: dict[str, Any]) -> dict:
    import torch

    x0 = np.random.RandomState(0).standard_normal(16).astype(np.float32)
    out: dict[str, Any] = {
        "format": "ldm3d-xr-scheduler-goldens@1",
        "base_config": base_config,
        "notes": [
            "Each scheduler is made like users swap them: DDIMScheduler.from_config(base_config), then "
            "<Class>.from_config(ddim.config) (keys absent from base_config take the class's own defaults).",
            "Trace: x = x0 (NOT multiplied by init_noise_sigma); for k, t in enumerate(timesteps): "
            "model_input = scale_model_input(x, t); x = step(eps[k], t, x).prev_sample.",
            "x0 = RandomState(0).standard_normal(16), eps[k] = RandomState(100+k).standard_normal(16), float32.",
            "All values are float32 numbers written exactly as doubles.",
        ],
        "x0": floats(x0),
        "alphas_cumprod": floats(make_scheduler("ddim", base_config).alphas_cumprod),
        "schedulers": {},
    }
    for kind in SCHEDULER_CLASSES:
        runs = []
        config = None
        for n in (1, 5, 20, 49, 50):
            s = make_scheduler(kind, base_config)
            config = resolved_config(s)
            s.set_timesteps(n)
            x = torch.from_numpy(x0.copy())
            steps = []
            for k, t in enumerate(s.timesteps):
                eps = np.random.RandomState(100 + k).standard_normal(16).astype(np.float32)
                mi = s.scale_model_input(x, t)
                x = s.step(torch.from_numpy(eps), t, x).prev_sample
                steps.append({"t": numbers(t.reshape(1))[0], "eps": floats(eps), "model_input": floats(mi),
                              "x": floats(x)})
            run = {"num_inference_steps": n, "timesteps": numbers(s.timesteps),
                   "init_noise_sigma": float(s.init_noise_sigma), "steps": steps}
            if hasattr(s, "sigmas"):
                run["sigmas"] = floats(s.sigmas)
            runs.append(run)
        out["schedulers"][kind] = {"class": SCHEDULER_CLASSES[kind], "config": config, "runs": runs}
        log(f"  scheduler goldens {kind}: " + ", ".join(f"N={r['num_inference_steps']}: {len(r['timesteps'])} steps"
                                                      for r in runs))
    return out


# --------------------------------------------------------------------------------------------


def onnx_reproduce(model_dir: Path, goldens_dir: Path, doc: dict, basic_optimizations: bool = False) -> list[dict]:
    """Runs every golden case through the exported graphs with a numpy loop; returns the errors.

    `basic_optimizations`: for graphs with DequantizeLinear weights (narrow_weights.py --storage int8),
    whose DequantizeLinear → Conv/MatMul pairs onnxruntime's CPU provider otherwise rewrites at its
    extended optimization level into integer kernels that also quantise the activations (measured:
    rgb off by 3.6e-3 from diffusers, where the app's onnxruntime-web is within 3e-6).
    """
    import onnxruntime as ort
    import torch
    from tokenizers import Tokenizer

    manifest = json.loads((model_dir / "manifest.json").read_text())
    so = ort.SessionOptions()
    if basic_optimizations:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    sess = {k: ort.InferenceSession(str(model_dir / v["file"]), so, providers=["CPUExecutionProvider"])
            for k, v in manifest["sessions"].items()}
    text = manifest["text"]
    tk = Tokenizer.from_file(str(model_dir / "tokenizer" / "tokenizer.json"))
    untrunc = Tokenizer.from_file(str(model_dir / "tokenizer" / "tokenizer.json"))
    tk.enable_truncation(max_length=text["max_length"])
    tk.enable_padding(length=text["max_length"], pad_id=text["pad_token_id"], pad_token=tk.id_to_token(text["pad_token_id"]))
    untrunc.no_truncation()
    untrunc.no_padding()
    sf = manifest["vae_scaling_factor"]

    def encode(s: str) -> np.ndarray:
        ids = np.array([tk.encode(s).ids], dtype=np.int64)
        return sess["text_encoder"].run(None, {"input_ids": ids})[0]

    results = []
    for case in doc["cases"]:
        neg = case["negative_prompt"] if case["negative_prompt"] is not None else ""
        token_ok = (tk.encode(case["prompt"]).ids == case["prompt_token_ids"]
                    and tk.encode(neg).ids == case["negative_token_ids"]
                    and len(untrunc.encode(case["prompt"]).ids) == case["prompt_untruncated_length"])
        cfg = case["do_classifier_free_guidance"]
        cond = encode(case["prompt"])
        emb = np.concatenate([encode(neg), cond]) if cfg else cond
        s = make_scheduler(case["scheduler"], manifest["scheduler"])
        s.set_timesteps(case["num_inference_steps"])
        x = torch.from_numpy(np.load(goldens_dir / case["latents"])) * s.init_noise_sigma
        for t in s.timesteps:
            xin = torch.cat([x, x]) if cfg else x
            xin = s.scale_model_input(xin, t).numpy()
            eps = sess["unet"].run(None, {"sample": xin, "timestep": np.array(float(t), dtype=np.float32),
                                          "encoder_hidden_states": emb})[0]
            if cfg:
                u, c = eps[:1], eps[1:]
                eps = u + case["guidance_scale"] * (c - u)
            x = s.step(torch.from_numpy(eps), t, x).prev_sample
        img = sess["vae_decoder"].run(None, {"latent_sample": (x.numpy() / sf).astype(np.float32)})[0]
        img = np.clip(img * 0.5 + 0.5, 0.0, 1.0)
        rgb, depth = img[0, :3].transpose(1, 2, 0), img[0, 3]
        traj = np.load(goldens_dir / case["latents_trajectory"])
        r = {
            "name": case["name"],
            "token_ids_match": bool(token_ok),
            "latents_max_abs_err": float(np.abs(x.numpy()[0] - traj[-1]).max()),
            "rgb_max_abs_err": float(np.abs(rgb - np.load(goldens_dir / case["rgb"])).max()),
            "depth_max_abs_err": float(np.abs(depth - np.load(goldens_dir / case["depth"])).max()),
        }
        log(f"  onnx vs golden {r['name']}: tokens {'OK' if token_ok else 'DIFFER'}, latents {r['latents_max_abs_err']:.2e}, "
            f"rgb {r['rgb_max_abs_err']:.2e}, depth {r['depth_max_abs_err']:.2e}")
        results.append(r)
    return results


def make_all(ckpt: Path, model_dir: Path, goldens_dir: Path) -> None:
    goldens_dir = Path(goldens_dir)
    log(f"[goldens] diffusers pipeline -> {goldens_dir}")
    doc = pipeline_goldens(Path(ckpt), goldens_dir)
    base_config = json.loads((Path(ckpt) / "scheduler" / "scheduler_config.json").read_text())
    sched_path = goldens_dir.parent / "schedulers.json"
    log(f"[goldens] schedulers -> {sched_path}")
    sched_path.write_text(json.dumps(scheduler_goldens(base_config)) + "\n")
    log("[goldens] exported ONNX graphs vs diffusers")
    results = onnx_reproduce(Path(model_dir), goldens_dir, doc)
    worst = {k: max(r[k] for r in results) for k in ("latents_max_abs_err", "rgb_max_abs_err", "depth_max_abs_err")}
    doc["onnx_reference"] = {
        "what": "the exported ONNX graphs (onnxruntime CPU) + diffusers' schedulers in a numpy loop, vs the "
                "pipeline outputs above; the tolerance a faithful TypeScript pipeline can reach",
        "worst": worst,
        "cases": results,
    }
    (goldens_dir / "cases.json").write_text(json.dumps(doc, indent=1) + "\n")
    log(f"[goldens] worst onnx-vs-diffusers errors: {worst}")
    # after cases.json: it decodes a case's final latents (and pipeline_goldens cleared the folder's .npy)
    import goldens_tiled

    log("[goldens] diffusers' tiled VAE decode")
    goldens_tiled.make(Path(ckpt), goldens_dir, Path(model_dir))
    if not all(r["token_ids_match"] for r in results):
        raise SystemExit("tokenizer.json does not reproduce the pipeline's token ids")
    if max(worst.values()) > 1e-3:
        raise SystemExit(f"exported graphs do not reproduce the goldens: {worst}")
