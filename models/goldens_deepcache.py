#!/usr/bin/env python3
"""Goldens for DeepCache on the tiny model, made by the authors' own code.

    python3 models/export.py --tiny --deepcache --out models/tiny/ldm3d-pano-deepcache
    DEEPCACHE_SRC=/path/to/DeepCache python3 models/goldens_deepcache.py \\
        --models models/tiny/ldm3d-pano-deepcache --out test/fixtures/goldens/ldm3d-pano-deepcache

The reference: diffusers' StableDiffusionLDM3DPipeline on the tiny weights with horseee/DeepCache's
DeepCacheSDHelper (DeepCache/extension/deepcache.py, imported by path: models/deepcache.py) enabled,
set_params(cache_interval=N, cache_branch_id=0). cases.json and the .npy files have exactly the layout
of models/goldens.py (test/pipeline/goldens.ts reads them), plus per case:
  deepcache_interval       N
  deepcache_branch_id      0
  deepcache_step_index     the helper's step index per UNet call: list(timesteps).index(t)
  deepcache_full_steps     per UNet call, as OBSERVED in the helper's run (a forward hook on the mid
                           block's first resnet, which the helper does not wrap): true = the whole UNet
                           ran, false = only the shallow branch on the cached deep features
  vs_plain_pipeline        how far the result is from the plain pipeline's (a pipeline that ignores
                           DeepCache fails the goldens by this much)
Checks, written into cases.json ("checks", "onnx_reference"), each fatal when it fails:
  1. the tiny checkpoint rebuilt here (tiny.py, seeded) reproduces the committed float32 goldens, and
     the exported unet's out_sample equals that of models/tiny/ldm3d-pano's unet: the same weights;
  2. in the authors' run, the skip concatenated by up_blocks[-1]'s last layer is conv_in's output of
     the same call, and shallow calls reuse the last full call's deep features bit for bit (what
     unet_shallow assumes, models/deepcache.py);
  3. the observed full/shallow schedule is deepcache.full_steps (the rule read from deepcache.py);
  4. N = 1 equals the plain pipeline exactly;
  5. the exported graphs (onnxruntime CPU, basic optimization level) with diffusers' schedulers in a
     numpy loop, unet on full steps and unet_shallow on the others, reproduce every case (≤ 1e-3, the
     bar of goldens.py; latents after every step relative to their scale, as test/pipeline/parity.ts).
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

# (name, prompt, negative_prompt, steps, guidance, scheduler, seed, cache interval N)
CASES: list[tuple[str, str, str | None, int, float, str, int, int]] = [
    ("ddim-10-cfg7-n2", "a beach at sunset with palm trees", None, 10, 7.0, "ddim", 40, 2),
    ("ddim-10-cfg7-n3", "a snowy mountain lake", None, 10, 7.0, "ddim", 41, 3),
    ("dpm-10-cfg5-n3", "a japanese garden with a wooden bridge", None, 10, 5.0, "dpm", 42, 3),
    ("ddim-5-guidance1-n2", "a cozy living room with a fireplace", None, 5, 1.0, "ddim", 43, 2),
    # PNDM repeats its second timestep: the helper's step index is list.index's first occurrence
    ("pndm-5-cfg7-n2", "a desert with red rocks", None, 5, 7.0, "pndm", 44, 2),
    ("euler-5-cfg7-n2", "an underwater coral reef", None, 5, 7.0, "euler", 45, 2),
]
HEIGHT, WIDTH = 64, 128
TOLERANCE = 1e-3


def log(*a) -> None:
    print("[goldens-deepcache]", *a, flush=True)


class Observer:
    """Forward hooks on modules the helper does not wrap, one record per UNet call:
    mid = the mid block really ran (a full call); deep/skip = the two halves of what entered
    up_blocks[-1].resnets[-1]; conv_in = conv_in's output of that call."""

    def __init__(self, unet, channels: int):
        self.calls: list[dict] = []
        self.channels = channels
        self.handles = [
            unet.register_forward_pre_hook(self._unet),
            unet.mid_block.resnets[0].register_forward_hook(self._mid),
            unet.conv_in.register_forward_hook(self._conv_in),
            unet.up_blocks[-1].resnets[-1].register_forward_pre_hook(self._last),
        ]

    def _unet(self, _m, _args):
        self.calls.append({"mid": False})

    def _mid(self, _m, _a, _o):
        self.calls[-1]["mid"] = True

    def _conv_in(self, _m, _a, out):
        self.calls[-1]["conv_in"] = out.detach().clone()

    def _last(self, _m, args):
        x = args[0].detach()
        self.calls[-1]["deep"] = x[:, :self.channels].clone()
        self.calls[-1]["skip"] = x[:, self.channels:].clone()

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def summary(self) -> dict:
        """Check 2 on the recorded calls."""
        skip_err, reuse_err, last_full = 0.0, 0.0, None
        for c in self.calls:
            skip_err = max(skip_err, float((c["skip"] - c["conv_in"]).abs().max()))
            if c["mid"]:
                last_full = c["deep"]
            elif last_full is None:
                reuse_err = float("inf")  # a shallow call before any full one
            else:
                reuse_err = max(reuse_err, float((c["deep"] - last_full).abs().max()))
        return {"full": [bool(c["mid"]) for c in self.calls], "skip_minus_conv_in_max_abs": skip_err,
                "deep_reuse_max_abs": reuse_err}


def run_pipeline(pipe, helper_cls, interval: int | None, prompt, negative, steps, guidance, latents, channels):
    """One pipeline call (interval None: without the helper); returns outputs, trajectory, observations."""
    import torch

    trajectory: list[np.ndarray] = []

    def on_step(_pipe, _i, _t, kw):
        trajectory.append(kw["latents"].detach().cpu().numpy().copy())
        return kw

    helper = None
    if interval is not None:
        helper = helper_cls(pipe=pipe)
        helper.set_params(cache_interval=interval, cache_branch_id=0)
        helper.enable()
    obs = Observer(pipe.unet, channels)
    try:
        with torch.no_grad():
            res = pipe(
                prompt=prompt, negative_prompt=negative, height=HEIGHT, width=WIDTH, num_inference_steps=steps,
                guidance_scale=guidance, latents=torch.from_numpy(latents), output_type="np",
                callback_on_step_end=on_step, callback_on_step_end_tensor_inputs=["latents"],
            )
    finally:
        obs.remove()
        if helper is not None:
            helper.disable()
    rgb, depth = np.asarray(res.rgb)[0], np.asarray(res.depth)[0, :, :, 0]
    return rgb, depth, np.stack(trajectory)[:, 0], obs.summary()


def max_abs(a, b) -> float:
    return float(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).max())


def same_weights(ckpt: Path, models: Path, fp32_goldens: Path, plain_model: Path) -> dict:
    """Check 1."""
    import onnxruntime as ort

    import goldens

    with tempfile.TemporaryDirectory(prefix="ldm3d-f32-check-") as check:
        doc32 = goldens.pipeline_goldens(ckpt, Path(check), only=["ddim-1-step"])
        c = doc32["cases"][0]
        pipeline_err = max(max_abs(np.load(Path(check) / c[k]), np.load(fp32_goldens / c[k])) for k in ("rgb", "depth"))
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    mine = ort.InferenceSession(str(models / "unet" / "model.onnx"), so, providers=["CPUExecutionProvider"])
    plain = ort.InferenceSession(str(plain_model / "unet" / "model.onnx"), so, providers=["CPUExecutionProvider"])
    rs = np.random.RandomState(7)
    hidden = json.loads((models / "manifest.json").read_text())["text"]["hidden_size"]
    feeds = {"sample": rs.standard_normal((2, 4, HEIGHT // 8, WIDTH // 8)).astype(np.float32),
             "timestep": np.array(481.0, dtype=np.float32),
             "encoder_hidden_states": rs.standard_normal((2, 77, hidden)).astype(np.float32)}
    unet_err = max_abs(mine.run(["out_sample"], feeds)[0], plain.run(["out_sample"], feeds)[0])
    m_new = {f["path"]: f["sha256"] for f in json.loads((models / "manifest.json").read_text())["files"]}
    m_old = {f["path"]: f["sha256"] for f in json.loads((plain_model / "manifest.json").read_text())["files"]}
    identical = sorted(p for p in m_new if m_old.get(p) == m_new[p])
    differ = sorted(p for p in m_new if p in m_old and m_old[p] != m_new[p])
    r = {"rebuilt_checkpoint_vs_committed_goldens_max_abs": pipeline_err,
         "unet_out_sample_vs_plain_export_max_abs": unet_err,
         "files_identical_to_plain_export": identical,
         "files_differing_from_plain_export": differ,
         "plain_export": plain_model.as_posix(), "ok": pipeline_err <= 1e-6 and unet_err <= 1e-4}
    log(f"same weights: rebuilt checkpoint vs committed goldens {pipeline_err:.3g}, exported unet vs "
        f"{plain_model} unet {unet_err:.3g}; byte-identical files: {len(identical)}/{len(m_new)}; "
        f"different: {differ}")
    if any(not p.startswith("unet/") for p in differ):
        # test/pipeline/deepcache.wasm.test.ts expects the text encoder and VAE files of both tiny exports
        # to be the same bytes (then N = 1 on this export must give the plain goldens)
        log("WARNING: files outside unet/ differ from the plain export (exporter versions?): "
            + ", ".join(p for p in differ if not p.startswith("unet/")))
    return r


def onnx_reproduce(models: Path, out: Path, doc: dict) -> list[dict]:
    """Check 5: unet (full steps, caching deep_features) / unet_shallow (the others) + diffusers' schedulers."""
    import onnxruntime as ort
    import torch
    from tokenizers import Tokenizer

    import deepcache
    import goldens

    manifest = json.loads((models / "manifest.json").read_text())
    dc = manifest.get("deepcache")
    if not dc or dc.get("shallow_session") not in manifest["sessions"]:
        raise SystemExit(f"{models}/manifest.json has no deepcache field / shallow session: export with --deepcache")
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    sess = {k: ort.InferenceSession(str(models / v["file"]), so, providers=["CPUExecutionProvider"])
            for k, v in manifest["sessions"].items() if k in ("text_encoder", "unet", "vae_decoder", dc["shallow_session"])}
    text = manifest["text"]
    tk = Tokenizer.from_file(str(models / "tokenizer" / "tokenizer.json"))
    tk.enable_truncation(max_length=text["max_length"])
    tk.enable_padding(length=text["max_length"], pad_id=text["pad_token_id"], pad_token=tk.id_to_token(text["pad_token_id"]))
    sf = manifest["vae_scaling_factor"]

    def encode(s: str) -> np.ndarray:
        return sess["text_encoder"].run(None, {"input_ids": np.array([tk.encode(s).ids], dtype=np.int64)})[0]

    results = []
    for case in doc["cases"]:
        neg = case["negative_prompt"] if case["negative_prompt"] is not None else ""
        cfg = case["do_classifier_free_guidance"]
        cond = encode(case["prompt"])
        emb = np.concatenate([encode(neg), cond]) if cfg else cond
        s = goldens.make_scheduler(case["scheduler"], manifest["scheduler"])
        s.set_timesteps(case["num_inference_steps"])
        full = deepcache.full_steps(goldens.numbers(s.timesteps), case["deepcache_interval"])
        traj = np.load(out / case["latents_trajectory"])
        x = torch.from_numpy(np.load(out / case["latents"])) * s.init_noise_sigma
        deep = None
        traj_err = 0.0
        for k, t in enumerate(s.timesteps):
            xin = torch.cat([x, x]) if cfg else x
            feeds = {"sample": s.scale_model_input(xin, t).numpy(), "timestep": np.array(float(t), dtype=np.float32),
                     "encoder_hidden_states": emb}
            if full[k]:
                eps, deep = sess["unet"].run(["out_sample", dc["feature"]], feeds)
            else:
                eps = sess[dc["shallow_session"]].run(["out_sample"], {**feeds, dc["feature"]: deep})[0]
            if cfg:
                u, c = eps[:1], eps[1:]
                eps = u + case["guidance_scale"] * (c - u)
            x = s.step(torch.from_numpy(eps), t, x).prev_sample
            want = traj[k]
            traj_err = max(traj_err, max_abs(x.numpy()[0], want) / max(1.0, float(np.abs(want).max())))
        img = sess["vae_decoder"].run(None, {"latent_sample": (x.numpy() / sf).astype(np.float32)})[0]
        img = np.clip(img * 0.5 + 0.5, 0.0, 1.0)
        rgb, depth = img[0, :3].transpose(1, 2, 0), img[0, 3]
        r = {
            "name": case["name"],
            "schedule_matches": full == case["deepcache_full_steps"],
            "full_calls": int(sum(full)),
            "shallow_calls": int(len(full) - sum(full)),
            "latents_max_abs_err": max_abs(x.numpy()[0], traj[-1]),
            "trajectory_max_rel_err": traj_err,
            "rgb_max_abs_err": max_abs(rgb, np.load(out / case["rgb"])),
            "depth_max_abs_err": max_abs(depth, np.load(out / case["depth"])),
        }
        log(f"  onnx vs golden {r['name']}: schedule {'OK' if r['schedule_matches'] else 'DIFFERS'} "
            f"({r['full_calls']} full, {r['shallow_calls']} shallow), latents {r['latents_max_abs_err']:.2e}, "
            f"trajectory (rel) {r['trajectory_max_rel_err']:.2e}, rgb {r['rgb_max_abs_err']:.2e}, "
            f"depth {r['depth_max_abs_err']:.2e}")
        results.append(r)
    return results


def main() -> None:
    import diffusers
    import torch
    from diffusers import StableDiffusionLDM3DPipeline

    import deepcache
    import goldens
    import tiny

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=Path, default=HERE / "tiny/ldm3d-pano-deepcache",
                    help="the tiny export made with --deepcache")
    ap.add_argument("--out", type=Path, default=HERE.parent / "test/fixtures/goldens/ldm3d-pano-deepcache")
    ap.add_argument("--deepcache-src", default=None,
                    help=f"folder of horseee/DeepCache's DeepCache/ package (default $DEEPCACHE_SRC or {deepcache.DEFAULT_SRC})")
    ap.add_argument("--fp32-goldens", type=Path, default=HERE.parent / "test/fixtures/goldens/ldm3d-pano")
    ap.add_argument("--plain-model", type=Path, default=HERE / "tiny/ldm3d-pano",
                    help="the committed tiny export without DeepCache (same weights expected)")
    a = ap.parse_args()
    torch.set_grad_enabled(False)
    helper_cls, helper_file, helper_sha = deepcache.load_helper_class(a.deepcache_src)
    log(f"reference: {helper_file} (sha256 {helper_sha[:16]}...)")
    checks: dict = {}
    failures: list[str] = []

    with tempfile.TemporaryDirectory(prefix="ldm3d-tiny-ckpt-") as tmp:
        ckpt = Path(tmp)
        tiny.build_tiny_checkpoint(ckpt)
        checks["same_weights"] = same_weights(ckpt, a.models, a.fp32_goldens, a.plain_model)
        if not checks["same_weights"]["ok"]:
            failures.append("the rebuilt checkpoint / exported unet are not those of the committed tiny model")

        torch.manual_seed(0)
        pipe = StableDiffusionLDM3DPipeline.from_pretrained(
            ckpt, safety_checker=None, feature_extractor=None, requires_safety_checker=False, torch_dtype=torch.float32
        ).to("cpu")
        pipe.set_progress_bar_config(disable=True)
        base_config = json.loads((ckpt / "scheduler" / "scheduler_config.json").read_text())
        channels = deepcache.deep_channels(pipe.unet)
        tok = pipe.tokenizer
        a.out.mkdir(parents=True, exist_ok=True)
        for old in a.out.glob("*.npy"):
            old.unlink()

        def ids(text: str) -> tuple[list[int], int]:
            padded = tok(text, padding="max_length", max_length=tok.model_max_length, truncation=True).input_ids
            return [int(i) for i in padded], len(tok(text).input_ids)

        # 4. N = 1 is the plain pipeline
        name, prompt, negative, steps, guidance, kind, seed, _ = CASES[0]
        shape = (1, pipe.unet.config.in_channels, HEIGHT // pipe.vae_scale_factor, WIDTH // pipe.vae_scale_factor)
        lat = np.random.RandomState(seed).standard_normal(shape).astype(np.float32)
        pipe.scheduler = goldens.make_scheduler(kind, base_config)
        plain = run_pipeline(pipe, helper_cls, None, prompt, negative, steps, guidance, lat, channels)
        pipe.scheduler = goldens.make_scheduler(kind, base_config)
        one = run_pipeline(pipe, helper_cls, 1, prompt, negative, steps, guidance, lat, channels)
        checks["interval_1_equals_plain"] = {
            "case": name, "rgb_max_abs": max_abs(one[0], plain[0]), "depth_max_abs": max_abs(one[1], plain[1]),
            "trajectory_max_abs": max_abs(one[2], plain[2]), "all_calls_full": all(one[3]["full"])}
        c1 = checks["interval_1_equals_plain"]
        c1["ok"] = c1["all_calls_full"] and max(c1["rgb_max_abs"], c1["depth_max_abs"], c1["trajectory_max_abs"]) <= 1e-6
        log(f"N=1 vs plain pipeline ({name}): rgb {c1['rgb_max_abs']:.3g}, depth {c1['depth_max_abs']:.3g}, "
            f"trajectory {c1['trajectory_max_abs']:.3g}, all calls full: {c1['all_calls_full']}")
        if not c1["ok"]:
            failures.append("N=1 does not reproduce the plain pipeline")

        cases = []
        worst_skip, worst_reuse = 0.0, 0.0
        for name, prompt, negative, steps, guidance, kind, seed, interval in CASES:
            lat = np.random.RandomState(seed).standard_normal(shape).astype(np.float32)
            pipe.scheduler = goldens.make_scheduler(kind, base_config)
            rgb, depth, traj, obs = run_pipeline(pipe, helper_cls, interval, prompt, negative, steps, guidance, lat, channels)
            sched = pipe.scheduler
            timesteps = goldens.numbers(sched.timesteps)
            predicted = deepcache.full_steps(timesteps, interval)
            pipe.scheduler = goldens.make_scheduler(kind, base_config)
            p_rgb, p_depth, p_traj, _ = run_pipeline(pipe, helper_cls, None, prompt, negative, steps, guidance, lat, channels)
            worst_skip = max(worst_skip, obs["skip_minus_conv_in_max_abs"])
            worst_reuse = max(worst_reuse, obs["deep_reuse_max_abs"])
            if obs["full"] != predicted:
                failures.append(f"{name}: the helper ran full calls {obs['full']}, the rule predicts {predicted}")
            if len(obs["full"]) != len(timesteps):
                failures.append(f"{name}: {len(obs['full'])} UNet calls for {len(timesteps)} timesteps")
            p_ids, p_len = ids(prompt)
            n_ids, n_len = ids(negative if negative is not None else "")
            case = {
                "name": name,
                "prompt": prompt,
                "negative_prompt": negative,
                "num_inference_steps": steps,
                "guidance_scale": guidance,
                "do_classifier_free_guidance": guidance > 1.0,
                "scheduler": kind,
                "scheduler_config": goldens.resolved_config(sched),
                "timesteps": timesteps,
                "init_noise_sigma": float(sched.init_noise_sigma),
                "height": HEIGHT,
                "width": WIDTH,
                "seed": seed,
                "latents": goldens.save(a.out, f"{name}.latents.npy", lat),
                "latents_trajectory": goldens.save(a.out, f"{name}.trajectory.npy", traj),
                "rgb": goldens.save(a.out, f"{name}.rgb.npy", rgb),
                "depth": goldens.save(a.out, f"{name}.depth.npy", depth),
                "prompt_token_ids": p_ids,
                "prompt_untruncated_length": p_len,
                "negative_token_ids": n_ids,
                "negative_untruncated_length": n_len,
                "deepcache_interval": interval,
                "deepcache_branch_id": deepcache.CACHE_BRANCH_ID,
                "deepcache_step_index": deepcache.step_indices(timesteps),
                "deepcache_full_steps": obs["full"],
                "vs_plain_pipeline": {"rgb_max_abs": max_abs(rgb, p_rgb), "depth_max_abs": max_abs(depth, p_depth),
                                      "final_latents_max_abs": max_abs(traj[-1], p_traj[-1])},
                "stats": {
                    "rgb_mean": float(rgb.mean()), "rgb_std": float(rgb.std()),
                    "rgb_clamped_fraction": float(np.mean((rgb <= 0) | (rgb >= 1))),
                    "depth_mean": float(depth.mean()), "depth_std": float(depth.std()),
                    "final_latents_std": float(traj[-1].std()),
                },
            }
            log(f"  golden {name}: N={interval}, {len(timesteps)} unet calls, full at "
                f"{[i for i, f in enumerate(obs['full']) if f]}, step indices {case['deepcache_step_index']}; vs plain "
                f"pipeline rgb {case['vs_plain_pipeline']['rgb_max_abs']:.3g}")
            cases.append(case)
        checks["authors_run"] = {
            "skip_minus_conv_in_max_abs": worst_skip, "deep_reuse_max_abs": worst_reuse,
            "ok": worst_skip == 0.0 and worst_reuse == 0.0,
            "what": "in the helper's runs: max|skip concatenated by up_blocks[-1].resnets[-1] - conv_in output of the "
                    "same call|, and max|deep features entering it on a shallow call - those of the last full call|"}
        log(f"authors' run: skip - conv_in {worst_skip:.3g}, deep features reuse {worst_reuse:.3g}")
        if not checks["authors_run"]["ok"]:
            failures.append("the authors' shallow step is not cat(last full call's deep features, conv_in(sample))")

        first = CASES[0]
        pe, ne = pipe.encode_prompt(first[1], "cpu", 1, True, first[2])
        debug = {
            "case": first[0],
            "prompt_embeds": goldens.save(a.out, "debug.prompt_embeds.npy", pe[0].numpy()),
            "negative_prompt_embeds": goldens.save(a.out, "debug.negative_prompt_embeds.npy", ne[0].numpy()),
        }
        doc = {
            "format": "ldm3d-xr-goldens@1",
            "model": "models/tiny/ldm3d-pano-deepcache",
            "generated_with": {"pipeline": "diffusers.StableDiffusionLDM3DPipeline", "device": "cpu",
                               "dtype": "float32", "diffusers": diffusers.__version__, "torch": torch.__version__,
                               "safety_checker": None,
                               "deepcache": {"reference": deepcache.REFERENCE, "file": "DeepCache/extension/deepcache.py",
                                             "sha256": helper_sha,
                                             "set_params": {"cache_interval": "deepcache_interval (per case)",
                                                            "cache_branch_id": deepcache.CACHE_BRANCH_ID,
                                                            "skip_mode": "uniform"},
                                             "one_helper_per_case": True}},
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
                "deepcache_step_index": "per UNet call: list(timesteps).index(t), the FIRST entry equal to t (the "
                                        "helper's cur_timestep; PNDM's repeated timestep gets the same index twice)",
                "deepcache_full_steps": "per UNet call: (step_index - step_index[0]) % deepcache_interval == 0, as "
                                        "observed in the helper's run; true = whole UNet (its deep_features cached), "
                                        "false = unet_shallow on the cached deep_features of the last full call",
            },
            "vae_scaling_factor": float(pipe.vae.config.scaling_factor),
            "debug": debug,
            "checks": checks,
            "cases": cases,
        }

    log("exported ONNX graphs vs the authors' DeepCache pipeline")
    results = onnx_reproduce(a.models, a.out, doc)
    keys = ("latents_max_abs_err", "trajectory_max_rel_err", "rgb_max_abs_err", "depth_max_abs_err")
    worst = {k: max(r[k] for r in results) for k in keys}
    doc["onnx_reference"] = {
        "what": "the exported unet (full steps) / unet_shallow (the others) with onnxruntime CPU at its basic "
                "optimization level, the other graphs likewise, and diffusers' schedulers in a numpy loop, vs the "
                "goldens above; trajectory errors relative to max(1, max|latents|) of each step",
        "worst": worst,
        "cases": results,
    }
    (a.out / "cases.json").write_text(json.dumps(doc, indent=1) + "\n")
    log(f"wrote {a.out}/cases.json: {len(doc['cases'])} cases; worst onnx-vs-DeepCache errors: "
        + ", ".join(f"{k} {v:.3g}" for k, v in worst.items()))
    if not all(r["schedule_matches"] for r in results):
        failures.append("the onnx loop's schedule differs from the observed one")
    if max(worst.values()) > TOLERANCE:
        failures.append(f"exported graphs do not reproduce the goldens: {worst}")
    if failures:
        raise SystemExit("goldens_deepcache FAILED:\n  " + "\n  ".join(failures))
    log("all checks passed")


if __name__ == "__main__":
    main()
