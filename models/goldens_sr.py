"""Golden outputs of diffusers' community StableDiffusionUpscaleLDM3DPipeline on the tiny random weights.

The pipeline is examples/community/pipeline_stable_diffusion_upscale_ldm3d.py of huggingface/diffusers
@58eb52c0 (2026-08-23). It is not committed here (fetched code is never committed): point
DIFFUSERS_COMMUNITY_PIPELINE at that file of a diffusers checkout, or put it at
.carry/examples/community/ (ignored by git) as the device runs do.

Reproducibility: torch's RNG cannot be reproduced in JavaScript, so both random draws are injected:
  - the initial latents through the pipeline's own `latents=` argument (unscaled, RandomState noise);
  - the VAE-encoder sample noise of `latent_dist.sample()` by replacing `randn_tensor` in
    diffusers.models.autoencoders.vae for the call; the exact array is saved (encoder_noise).
The low-res input goes in as float arrays in [0,1] with REAL depth (not the official example's
`.convert("L")`, which feeds ~0). For ndarray input the pipeline ignores target_res: the output has the
input's size. So the low-res 32x32 RGBD is upsampled x4 (bilinear, half-pixel centres) to 128x128
here, as the app does with its crop, and that 128x128 image is the pipeline's input (saved).

Everything runs in float32 on the CPU.
"""

from __future__ import annotations

import importlib
import os
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from export import load_tokenizer, log
from goldens import numbers, resolved_config, save

HERE = Path(__file__).resolve().parent
COMMUNITY = Path(os.environ.get(
    "DIFFUSERS_COMMUNITY_PIPELINE",
    HERE.parent / ".carry" / "examples" / "community" / "pipeline_stable_diffusion_upscale_ldm3d.py"))
LOW_RES = 32
SIZE = 128  # = LOW_RES * 4: pipeline input and output size
README_PROMPT = "high quality high resolution uhd 4k image"

# (name, prompt, negative_prompt, steps, guidance, noise_level, seed)
CASES: list[tuple[str, str, str | None, int, float, int, int]] = [
    ("g9-n20-10", README_PROMPT, None, 10, 9.0, 20, 0),
    ("g1-n20-5", README_PROMPT, None, 5, 1.0, 20, 1),
    ("g9-n20-1step", "a wooden table with lemons", None, 1, 9.0, 20, 2),
    ("g9-n100-5", README_PROMPT, None, 5, 9.0, 100, 3),
    ("neg-g5-n350-5", "a bright living room", "blurry, low quality", 5, 5.0, 350, 4),
    ("g9-n0-20", "", None, 20, 9.0, 0, 5),
]


def community_pipeline_class():
    try:
        importlib.import_module("diffusers.pipelines.stable_diffusion_ldm3d.pipeline_stable_diffusion_ldm3d")
    except Exception:  # noqa: BLE001 - the LDM3D pipeline moved under deprecated/; alias the old path
        pkg = importlib.import_module("diffusers.pipelines.deprecated.stable_diffusion_ldm3d")
        mod = importlib.import_module(
            "diffusers.pipelines.deprecated.stable_diffusion_ldm3d.pipeline_stable_diffusion_ldm3d")
        sys.modules["diffusers.pipelines.stable_diffusion_ldm3d"] = pkg
        sys.modules["diffusers.pipelines.stable_diffusion_ldm3d.pipeline_stable_diffusion_ldm3d"] = mod
    if not COMMUNITY.is_file():
        raise SystemExit(
            f"LDM3D-SR goldens need diffusers' examples/community/pipeline_stable_diffusion_upscale_ldm3d.py; "
            f"not found at {COMMUNITY}. Set DIFFUSERS_COMMUNITY_PIPELINE to its path in a diffusers checkout.")
    spec = importlib.util.spec_from_file_location("pipeline_stable_diffusion_upscale_ldm3d", COMMUNITY)
    m = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(m)
    return m.StableDiffusionUpscaleLDM3DPipeline


def load_pipeline(ckpt: Path):
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel

    cls = community_pipeline_class()
    model_index = json.loads((ckpt / "model_index.json").read_text())
    sched_cfg = json.loads((ckpt / "scheduler" / "scheduler_config.json").read_text())
    low_cfg = json.loads((ckpt / "low_res_scheduler" / "scheduler_config.json").read_text())
    pipe = cls(
        vae=AutoencoderKL.from_pretrained(ckpt, subfolder="vae", torch_dtype=torch.float32).eval(),
        text_encoder=CLIPTextModel.from_pretrained(ckpt / "text_encoder", dtype=torch.float32,
                                                   attn_implementation="eager").eval(),
        tokenizer=load_tokenizer(ckpt / "tokenizer"),
        unet=UNet2DConditionModel.from_pretrained(ckpt, subfolder="unet", torch_dtype=torch.float32).eval(),
        low_res_scheduler=DDPMScheduler.from_config(low_cfg),
        # model_index names DDIMScheduler: diffusers builds that class from scheduler_config.json
        scheduler=DDIMScheduler.from_config(sched_cfg),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
        max_noise_level=int(model_index.get("max_noise_level", 350)),
    ).to("cpu")
    pipe.set_progress_bar_config(disable=True)
    return pipe, sched_cfg


def low_res_input(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A smooth-ish 32x32 RGBD (depth a ramp + bumps, in [0,1]) upsampled x4 bilinearly to 128x128."""
    import torch

    rs = np.random.RandomState(10_000 + seed)
    yy, xx = np.mgrid[0:LOW_RES, 0:LOW_RES].astype(np.float32) / (LOW_RES - 1)
    rgb = np.clip(0.5 + 0.35 * rs.standard_normal((LOW_RES, LOW_RES, 3)), 0, 1).astype(np.float32)
    depth = (0.2 + 0.5 * yy + 0.15 * np.sin(6.0 * xx + seed) + 0.05 * rs.standard_normal((LOW_RES, LOW_RES)))
    small = np.concatenate([rgb, np.clip(depth, 0, 1)[..., None]], axis=-1).astype(np.float32)
    t = torch.from_numpy(small.transpose(2, 0, 1)[None].copy())
    up = torch.nn.functional.interpolate(t, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    up = up[0].numpy().transpose(1, 2, 0).clip(0, 1).astype(np.float32)
    return np.ascontiguousarray(up[..., :3]), np.ascontiguousarray(up[..., 3])


def pipeline_goldens(ckpt: Path, out: Path) -> dict:
    import diffusers
    import torch

    vae_mod = importlib.import_module("diffusers.models.autoencoders.vae")
    pipe, sched_cfg = load_pipeline(Path(ckpt))
    tok = pipe.tokenizer
    sf = float(pipe.vae.config.scaling_factor)
    vsf = pipe.vae_scale_factor
    lat_shape = (1, pipe.vae.config.latent_channels, SIZE // vsf, SIZE // vsf)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.npy"):
        old.unlink()

    def ids(text: str) -> tuple[list[int], int]:
        padded = tok(text, padding="max_length", max_length=tok.model_max_length, truncation=True).input_ids
        return [int(i) for i in padded], len(tok(text).input_ids)

    cases = []
    for name, prompt, negative, steps, guidance, noise_level, seed in CASES:
        rgb_in, depth_in = low_res_input(seed)
        latents = np.random.RandomState(seed).standard_normal(lat_shape).astype(np.float32)
        enc_noise = np.random.RandomState(20_000 + seed).standard_normal(lat_shape).astype(np.float32)
        drawn: list[tuple] = []
        original = vae_mod.randn_tensor

        def injected(shape, generator=None, device=None, dtype=None, **_kw):
            if tuple(shape) != lat_shape:
                raise AssertionError(f"encoder noise shape {tuple(shape)} != {lat_shape}")
            drawn.append(tuple(shape))
            return torch.from_numpy(enc_noise.copy()).to(device=device, dtype=dtype)

        trajectory: list[np.ndarray] = []

        def on_step(_i, _t, lat):
            trajectory.append(lat.detach().cpu().numpy().copy())

        vae_mod.randn_tensor = injected
        try:
            with torch.no_grad():
                res = pipe(
                    prompt=prompt, rgb=[rgb_in], depth=[depth_in[..., None]], num_inference_steps=steps,
                    guidance_scale=guidance, noise_level=noise_level, negative_prompt=negative,
                    latents=torch.from_numpy(latents), output_type="np", callback=on_step, callback_steps=1,
                )
        finally:
            vae_mod.randn_tensor = original
        if len(drawn) != 1:
            raise AssertionError(f"expected exactly one encoder noise draw, got {len(drawn)}")
        # the low-res latents the UNet saw (same maths as latent_dist.sample with the injected noise)
        with torch.no_grad():
            img = torch.cat([torch.from_numpy(rgb_in.transpose(2, 0, 1)[None].copy()),
                             torch.from_numpy(depth_in[None, None].copy())], dim=1) * 2 - 1
            dist = pipe.vae.encode(img).latent_dist
            low_lat = ((dist.mean + dist.std * torch.from_numpy(enc_noise)) * sf).numpy()
        rgb, depth = np.asarray(res.rgb)[0], np.asarray(res.depth)[0, :, :, 0]
        traj = np.stack(trajectory)[:, 0]
        p_ids, p_len = ids(prompt)
        n_ids, n_len = ids(negative if negative is not None else "")
        case = {
            "name": name, "prompt": prompt, "negative_prompt": negative,
            "num_inference_steps": steps, "guidance_scale": guidance, "noise_level": noise_level,
            "do_classifier_free_guidance": guidance > 1.0,
            "scheduler": "ddim",
            "scheduler_config": resolved_config(pipe.scheduler),
            "timesteps": numbers(pipe.scheduler.timesteps),
            "init_noise_sigma": float(pipe.scheduler.init_noise_sigma),
            "height": SIZE, "width": SIZE, "low_res_size": LOW_RES, "seed": seed,
            "input_rgb": save(out, f"{name}.input_rgb.npy", rgb_in),
            "input_depth": save(out, f"{name}.input_depth.npy", depth_in),
            "latents": save(out, f"{name}.latents.npy", latents),
            "encoder_noise": save(out, f"{name}.encoder_noise.npy", enc_noise),
            "low_res_latents": save(out, f"{name}.low_res_latents.npy", low_lat),
            "latents_trajectory": save(out, f"{name}.trajectory.npy", traj),
            "rgb": save(out, f"{name}.rgb.npy", rgb),
            "depth": save(out, f"{name}.depth.npy", depth),
            "prompt_token_ids": p_ids, "prompt_untruncated_length": p_len,
            "negative_token_ids": n_ids, "negative_untruncated_length": n_len,
            "stats": {"rgb_mean": float(rgb.mean()), "rgb_std": float(rgb.std()),
                      "depth_mean": float(depth.mean()), "depth_std": float(depth.std()),
                      "rgb_clamped_fraction": float(np.mean((rgb <= 0) | (rgb >= 1))),
                      "final_latents_std": float(traj[-1].std())},
        }
        log(f"  golden SR {name}: {len(case['timesteps'])} unet steps, noise level {noise_level}, "
            f"rgb mean {rgb.mean():.4f} std {rgb.std():.4f}, depth std {depth.std():.4f}")
        cases.append(case)

    return {
        "format": "ldm3d-xr-goldens-sr@1",
        "model": "models/tiny/ldm3d-sr",
        "generated_with": {"pipeline": "examples/community/pipeline_stable_diffusion_upscale_ldm3d.py "
                                       "(StableDiffusionUpscaleLDM3DPipeline) @58eb52c0",
                           "device": "cpu", "dtype": "float32", "diffusers": diffusers.__version__,
                           "torch": torch.__version__, "safety_checker": None},
        "layout": {
            "npy": "float32 little-endian, C order",
            "input_rgb": "[128,128,3] in [0,1]: the pipeline's rgb (a 32x32 RGB upsampled x4, bilinear, "
                         "align_corners=False); preprocess: 2x-1",
            "input_depth": "[128,128] in [0,1]: the pipeline's depth (real values, not convert('L')); 2x-1",
            "encoder_noise": "[1,4,16,16]: the N(0,1) draw of vae.encode(cat(rgb,depth)).latent_dist.sample(); "
                             "low_res_latents = (mean + exp(0.5*clamp(logvar,-30,20))*noise) * vae_scaling_factor",
            "low_res_latents": "[1,4,16,16]: what is concatenated after the noisy latents (debug)",
            "latents": "initial noise [1,4,16,16], UNSCALED (multiply by init_noise_sigma)",
            "latents_trajectory": "[steps,4,16,16]: latents after each scheduler.step",
            "unet_input": "cat([scale_model_input(cat([lat,lat]) or lat), low_res_latents dup], dim=1); "
                          "class_labels = int64 [batch] filled with noise_level; CFG batch order [negative, prompt]",
            "rgb": "[128,128,3] in [0,1]", "depth": "[128,128] in [0,1]",
        },
        "vae_scaling_factor": sf,
        "scheduler_config_file": sched_cfg,
        "cases": cases,
    }


def onnx_reproduce(model_dir: Path, goldens_dir: Path, doc: dict) -> list[dict]:
    import onnxruntime as ort
    import torch
    from diffusers import DDIMScheduler
    from tokenizers import Tokenizer

    manifest = json.loads((model_dir / "manifest.json").read_text())
    sess = {k: ort.InferenceSession(str(model_dir / v["file"]), providers=["CPUExecutionProvider"])
            for k, v in manifest["sessions"].items()}
    unet_inputs = [i["name"] for i in manifest["sessions"]["unet"]["inputs"]]
    text = manifest["text"]
    tk = Tokenizer.from_file(str(model_dir / "tokenizer" / "tokenizer.json"))
    tk.enable_truncation(max_length=text["max_length"])
    tk.enable_padding(length=text["max_length"], pad_id=text["pad_token_id"], pad_token=tk.id_to_token(text["pad_token_id"]))
    sf = manifest["vae_scaling_factor"]

    def encode(s: str) -> np.ndarray:
        return sess["text_encoder"].run(None, {"input_ids": np.array([tk.encode(s).ids], dtype=np.int64)})[0]

    results = []
    for case in doc["cases"]:
        neg = case["negative_prompt"] if case["negative_prompt"] is not None else ""
        token_ok = tk.encode(case["prompt"]).ids == case["prompt_token_ids"] and tk.encode(neg).ids == case["negative_token_ids"]
        cfg = case["do_classifier_free_guidance"]
        cond = encode(case["prompt"])
        emb = np.concatenate([encode(neg), cond]) if cfg else cond
        rgb_in = np.load(goldens_dir / case["input_rgb"])
        depth_in = np.load(goldens_dir / case["input_depth"])
        img = np.concatenate([rgb_in.transpose(2, 0, 1), depth_in[None]], axis=0)[None] * 2 - 1
        params = sess["vae_encoder"].run(None, {"sample": img.astype(np.float32)})[0]
        mean, logvar = np.split(params, 2, axis=1)
        noise = np.load(goldens_dir / case["encoder_noise"])
        low = ((mean + np.exp(0.5 * np.clip(logvar, -30, 20)) * noise) * sf).astype(np.float32)
        low_err = float(np.abs(low - np.load(goldens_dir / case["low_res_latents"])).max())
        b = 2 if cfg else 1
        low_b = np.concatenate([low] * b)
        s = DDIMScheduler.from_config(manifest["scheduler"])
        s.set_timesteps(case["num_inference_steps"])
        x = torch.from_numpy(np.load(goldens_dir / case["latents"])) * s.init_noise_sigma
        for t in s.timesteps:
            xin = torch.cat([x, x]) if cfg else x
            xin = np.concatenate([s.scale_model_input(xin, t).numpy(), low_b], axis=1).astype(np.float32)
            feeds = {"sample": xin, "timestep": np.array(float(t), dtype=np.float32), "encoder_hidden_states": emb}
            if "class_labels" in unet_inputs:
                feeds["class_labels"] = np.full((b,), case["noise_level"], dtype=np.int64)
            eps = sess["unet"].run(None, feeds)[0]
            if cfg:
                u, c = eps[:1], eps[1:]
                eps = u + case["guidance_scale"] * (c - u)
            x = s.step(torch.from_numpy(eps), t, x).prev_sample
        out = sess["vae_decoder"].run(None, {"latent_sample": (x.numpy() / sf).astype(np.float32)})[0]
        out = np.clip(out * 0.5 + 0.5, 0.0, 1.0)
        rgb, depth = out[0, :3].transpose(1, 2, 0), out[0, 3]
        traj = np.load(goldens_dir / case["latents_trajectory"])
        r = {
            "name": case["name"], "token_ids_match": bool(token_ok),
            "low_res_latents_max_abs_err": low_err,
            "latents_max_abs_err": float(np.abs(x.numpy()[0] - traj[-1]).max()),
            "rgb_max_abs_err": float(np.abs(rgb - np.load(goldens_dir / case["rgb"])).max()),
            "depth_max_abs_err": float(np.abs(depth - np.load(goldens_dir / case["depth"])).max()),
        }
        log(f"  onnx vs golden SR {r['name']}: tokens {'OK' if token_ok else 'DIFFER'}, low-res latents {low_err:.2e}, "
            f"latents {r['latents_max_abs_err']:.2e}, rgb {r['rgb_max_abs_err']:.2e}, depth {r['depth_max_abs_err']:.2e}")
        results.append(r)
    return results


def make_all(ckpt: Path, model_dir: Path, goldens_dir: Path) -> None:
    goldens_dir = Path(goldens_dir)
    log(f"[goldens-sr] community LDM3D-SR pipeline -> {goldens_dir}")
    doc: dict[str, Any] = pipeline_goldens(Path(ckpt), goldens_dir)
    (goldens_dir / "cases.json").write_text(json.dumps(doc, indent=1) + "\n")
    log("[goldens-sr] exported ONNX graphs vs diffusers")
    results = onnx_reproduce(Path(model_dir), goldens_dir, doc)
    keys = ("low_res_latents_max_abs_err", "latents_max_abs_err", "rgb_max_abs_err", "depth_max_abs_err")
    worst = {k: max(r[k] for r in results) for k in keys}
    doc["onnx_reference"] = {
        "what": "exported ONNX graphs (onnxruntime CPU) + diffusers' DDIM in a numpy loop vs the pipeline",
        "worst": worst, "cases": results,
    }
    (goldens_dir / "cases.json").write_text(json.dumps(doc, indent=1) + "\n")
    log(f"[goldens-sr] worst onnx-vs-diffusers errors: {worst}")
    if not all(r["token_ids_match"] for r in results):
        raise SystemExit("tokenizer.json does not reproduce the pipeline's token ids")
    if max(worst.values()) > 1e-3:
        raise SystemExit(f"exported graphs do not reproduce the goldens: {worst}")
