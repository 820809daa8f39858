"""Random-weight models with LDM3D-pano's classes: tiny ones for tests, full-size ones for benchmarks.

Both are TEST WEIGHTS: they produce noise-like images, never a real panorama. The tiny checkpoint is
written as a complete diffusers folder (model_index.json, safetensors, configs, tokenizer files like
the real checkpoint's: vocab.json + merges.txt, no tokenizer.json), so the export and the golden
outputs go through exactly the code paths a real checkpoint takes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from tiny_vocab import BOS, EOS, bpe_encode_word, build_vocab, merges_txt

HEIGHT, WIDTH = 64, 128  # latent 4×8×16
# Scaled so the tiny export takes the sliced-attention path in some layers (cross-attention of the
# UNet, both VAE mid-block attentions) and the unsliced one in others (UNet self-attention).
SLICE_LIMIT_BYTES = 16 * 1024
NUM_MERGES = 300
SEED = 0

# Intel/ldm3d-pano scheduler/scheduler_config.json as published (LDM3D-SPEC.md §1); keys that the
# real file lacks (prediction_type, timestep_spacing) are left out on purpose, so consumers must
# apply the scheduler class's defaults exactly like diffusers does.
PANO_SCHEDULER_CONFIG = {
    "_class_name": "DDIMScheduler",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
}

TINY_README = """---
license: apache-2.0
tags: [test-weights, random-weights]
---
# tiny-random/ldm3d-pano

RANDOM WEIGHTS for tests of the LDM3D-XR app: LDM3D-pano's classes (CLIPTextModel,
UNet2DConditionModel, AutoencoderKL with 4-channel RGB+depth output, DDIMScheduler) at tiny sizes,
made by models/export.py --tiny with a fixed torch seed. They draw noise, not panoramas.
"""


def write_tiny_tokenizer(folder: Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """vocab.json + merges.txt + configs, laid out like the real checkpoint's tokenizer/ folder."""
    vocab, merges = build_vocab(NUM_MERGES)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "merges.txt").write_text(merges_txt(merges), encoding="utf-8")
    special = {"bos_token": BOS, "eos_token": EOS, "pad_token": EOS, "unk_token": EOS}
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
    config = {
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": 77,
        "do_lower_case": True,
        "errors": "replace",
        "add_prefix_space": False,
        **special,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    return vocab, merges


def check_tokenizer(tokenizer, vocab: dict[str, int], merges: list[tuple[str, str]]) -> None:
    """The loaded tokenizer applies our merges (a misread merges.txt would still 'work', wrongly)."""
    ranks = {p: i for i, p in enumerate(merges)}
    words = "the beach at sunset panorama xylophone mountains".split()
    expect = [vocab[BOS]] + [vocab[t] for w in words for t in bpe_encode_word(w, ranks)] + [vocab[EOS]]
    got = list(tokenizer(" ".join(words).upper()).input_ids)
    if got != expect:
        raise AssertionError(f"tiny tokenizer mismatch: got {got}, expected {expect}")


def tiny_configs(vocab_size: int, bos: int, eos: int) -> dict:
    return {
        "text_encoder": dict(
            vocab_size=vocab_size, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=77, projection_dim=32, hidden_act="quick_gelu",
            layer_norm_eps=1e-5, bos_token_id=bos, eos_token_id=eos, pad_token_id=eos,
        ),
        "unet": dict(
            sample_size=8, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(16, 32),
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=32, attention_head_dim=2, norm_num_groups=4,
        ),
        "vae": dict(
            in_channels=4, out_channels=4, latent_channels=4, block_out_channels=(8, 8, 16, 16),
            down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
            layers_per_block=1, norm_num_groups=4, sample_size=HEIGHT, scaling_factor=0.18215,
        ),
    }


def build_tiny_checkpoint(folder: Path) -> None:
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionLDM3DPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from export import load_tokenizer, log

    folder = Path(folder)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        vocab, merges = write_tiny_tokenizer(Path(tmp))
        tokenizer = load_tokenizer(Path(tmp))
        check_tokenizer(tokenizer, vocab, merges)
        cfg = tiny_configs(len(vocab), vocab[BOS], vocab[EOS])
        torch.manual_seed(SEED)
        text_encoder = CLIPTextModel(CLIPTextConfig(**cfg["text_encoder"])).eval()
        torch.manual_seed(SEED)
        unet = UNet2DConditionModel(**cfg["unet"]).eval()
        torch.manual_seed(SEED)
        vae = AutoencoderKL(**cfg["vae"]).eval()
        scheduler = DDIMScheduler.from_config(PANO_SCHEDULER_CONFIG)
        pipe = StableDiffusionLDM3DPipeline(
            vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
            safety_checker=None, feature_extractor=None, image_encoder=None, requires_safety_checker=False,
        )
        pipe.save_pretrained(folder, safe_serialization=True)
        # Lay the tokenizer and scheduler files out exactly like the real checkpoint's.
        shutil.rmtree(folder / "tokenizer")
        write_tiny_tokenizer(folder / "tokenizer")
    import diffusers

    sched = {"_class_name": "DDIMScheduler", "_diffusers_version": diffusers.__version__, **PANO_SCHEDULER_CONFIG}
    (folder / "scheduler" / "scheduler_config.json").write_text(json.dumps(sched, indent=2) + "\n")
    (folder / "README.md").write_text(TINY_README)
    n = {k: sum(p.numel() for p in m.parameters()) for k, m in
         (("text_encoder", text_encoder), ("unet", unet), ("vae", vae))}
    log(f"tiny checkpoint at {folder}: parameters {n}, vocabulary {len(vocab)} "
        f"(bos {vocab[BOS]}, eos/pad {vocab[EOS]})")


# Inferred (UNCONFIRMED) full-size architecture of Intel/ldm3d-pano: SD-1.x UNet, CLIP ViT-L/14 text
# encoder, 4-channel SD VAE (LDM3D-SPEC.md §1). Used only by --random-full, for benchmarks of sizes
# and speed; the real export always reads the checkpoint's own configs.
FULL_CONFIGS = {
    "text_encoder": dict(
        vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
        max_position_embeddings=77, projection_dim=768, hidden_act="quick_gelu", layer_norm_eps=1e-5,
    ),
    "unet": dict(
        sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
        block_out_channels=(320, 640, 1280, 1280),
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=768, attention_head_dim=8, norm_num_groups=32,
    ),
    "vae": dict(
        in_channels=4, out_channels=4, latent_channels=4, block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=2, norm_num_groups=32, sample_size=256, scaling_factor=0.18215,
    ),
}


def build_random_full_components():
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from export import Components, log

    tok_dir = Path(tempfile.mkdtemp(prefix="ldm3d-random-full-tok-"))
    # The real CLIP vocabulary cannot be fetched here; the tiny one's ids are a subset of 0..49407.
    vocab, _ = write_tiny_tokenizer(tok_dir)
    te_cfg = dict(FULL_CONFIGS["text_encoder"], bos_token_id=vocab[BOS], eos_token_id=vocab[EOS],
                  pad_token_id=vocab[EOS])
    torch.manual_seed(SEED)
    config = CLIPTextConfig(**te_cfg)
    try:
        config._attn_implementation = "eager"
    except Exception:  # noqa: BLE001 - some versions make it read-only; sdpa also exports
        pass
    text_encoder = CLIPTextModel(config).eval()
    torch.manual_seed(SEED)
    unet = UNet2DConditionModel(**FULL_CONFIGS["unet"]).eval()
    torch.manual_seed(SEED)
    vae = AutoencoderKL(**FULL_CONFIGS["vae"]).eval()
    n = {k: sum(p.numel() for p in m.parameters()) for k, m in
         (("text_encoder", text_encoder), ("unet", unet), ("vae", vae))}
    log(f"random full-size architecture (benchmarks only): parameters {n}")
    return Components(text_encoder, unet, vae, tok_dir, dict(PANO_SCHEDULER_CONFIG),
                      {"_class_name": "StableDiffusionLDM3DPipeline"}, "n/a (random weights)", "random-full")


# --------------------------------------------------------------------------------------------
# LDM3D-SR (tiny, random weights)
# --------------------------------------------------------------------------------------------

# Low-res RGBD in = output size (the community pipeline keeps the size of an ndarray input; it is the
# caller who upsamples the low-res crop x4 first, as the PIL path does with target_res): latent 4x16x16.
SR_SIZE = 128
# max_noise_level of Intel/ldm3d-sr's model_index.json
SR_MAX_NOISE_LEVEL = 350

# Intel/ldm3d-sr scheduler/scheduler_config.json as published (LDM3D-SPEC.md §1): named
# "PNDMScheduler", values as pano's; model_index names DDIMScheduler, which diffusers instantiates.
SR_SCHEDULER_CONFIG = {"_class_name": "PNDMScheduler", **{k: v for k, v in PANO_SCHEDULER_CONFIG.items()
                                                           if k != "_class_name"}}
# low_res_scheduler/scheduler_config.json (never used by the pipeline, kept for a faithful layout)
SR_LOW_RES_SCHEDULER_CONFIG = {
    "_class_name": "DDPMScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.0001, "beta_end": 0.02,
    "clip_sample": True, "num_train_timesteps": 1000, "prediction_type": "epsilon", "variance_type": "fixed_small",
}

TINY_SR_README = """---
license: apache-2.0
tags: [test-weights, random-weights]
---
# tiny-random/ldm3d-sr

RANDOM WEIGHTS for tests of the LDM3D-XR app: LDM3D-SR's classes (CLIPTextModel, UNet2DConditionModel
with 8 input channels and a class embedding for the noise level, AutoencoderKL with RGB+depth in/out,
DDIMScheduler) at tiny sizes, made by models/export.py --tiny --pipeline ldm3d-sr with a fixed torch seed.
"""


def tiny_sr_configs(vocab_size: int, bos: int, eos: int) -> dict:
    cfg = tiny_configs(vocab_size, bos, eos)
    # 8 in = noisy latents ‖ encoded low-res RGBD; the noise level is a class label (nn.Embedding of
    # num_class_embeds, as in the SD x4 upscaler), so it needs > max_noise_level entries.
    cfg["unet"] = dict(cfg["unet"], in_channels=8, out_channels=4, num_class_embeds=1000, sample_size=16)
    cfg["vae"] = dict(cfg["vae"], sample_size=SR_SIZE)
    return cfg


def build_tiny_sr_checkpoint(folder: Path) -> None:
    """A diffusers folder laid out like Intel/ldm3d-sr's (written component by component: the
    community pipeline class is not importable from diffusers itself)."""
    import diffusers
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from export import load_tokenizer, log

    folder = Path(folder)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    vocab, merges = write_tiny_tokenizer(folder / "tokenizer")
    check_tokenizer(load_tokenizer(folder / "tokenizer"), vocab, merges)
    cfg = tiny_sr_configs(len(vocab), vocab[BOS], vocab[EOS])
    torch.manual_seed(SEED + 1)
    text_encoder = CLIPTextModel(CLIPTextConfig(**cfg["text_encoder"])).eval()
    torch.manual_seed(SEED + 1)
    unet = UNet2DConditionModel(**cfg["unet"]).eval()
    torch.manual_seed(SEED + 1)
    vae = AutoencoderKL(**cfg["vae"]).eval()
    text_encoder.save_pretrained(folder / "text_encoder", safe_serialization=True)
    unet.save_pretrained(folder / "unet", safe_serialization=True)
    vae.save_pretrained(folder / "vae", safe_serialization=True)
    version = diffusers.__version__
    for sub, conf in (("scheduler", SR_SCHEDULER_CONFIG), ("low_res_scheduler", SR_LOW_RES_SCHEDULER_CONFIG)):
        (folder / sub).mkdir()
        (folder / sub / "scheduler_config.json").write_text(
            json.dumps({**conf, "_diffusers_version": version}, indent=2) + "\n")
    model_index = {
        "_class_name": "StableDiffusionUpscaleLDM3DPipeline",
        "_diffusers_version": version,
        "feature_extractor": [None, None],
        "low_res_scheduler": ["diffusers", "DDPMScheduler"],
        "max_noise_level": SR_MAX_NOISE_LEVEL,
        "safety_checker": [None, None],
        "scheduler": ["diffusers", "DDIMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    (folder / "model_index.json").write_text(json.dumps(model_index, indent=2) + "\n")
    (folder / "README.md").write_text(TINY_SR_README)
    n = {k: sum(p.numel() for p in m.parameters()) for k, m in
         (("text_encoder", text_encoder), ("unet", unet), ("vae", vae))}
    log(f"tiny SR checkpoint at {folder}: parameters {n}")


# --------------------------------------------------------------------------------------------
# LDM3D-SR (random-full: full-size architecture, random weights; benchmarks only)
# --------------------------------------------------------------------------------------------

# The app's SR size: a 128x128 crop upsampled x4 = 512x512 image, latent 4x64x64.
SR_FULL_SIZE = 512


def full_sr_configs() -> dict:
    """Inferred (UNCONFIRMED) full-size architecture of Intel/ldm3d-sr; its config files were not seen.

    UNet: the SD-1.x UNet of FULL_CONFIGS, not the SD x4 upscaler's (block_out_channels 256/512/512/1024,
    473 M parameters = 1.9 GB in fp32): Intel/ldm3d-sr's unet/diffusion_pytorch_model.safetensors is
    3.44 GB, the size of an fp32 SD-1.x UNet (Intel/ldm3d-pano's is 3.44 GB too). Input channels 8 =
    noisy latents ‖ VAE-encoded low-res RGBD, which the community pipeline checks; the noise level is a
    class label, so a class embedding (nn.Embedding) of 1000 entries like the x4 upscaler's (its size
    is a guess: it must exceed max_noise_level = 350; 1000 × 1280 floats are 5 MB of the 3.44 GB).
    Text encoder: CLIP ViT-L/14 (LDM3D-SR shares LDM3D-4c's SD-1.4 lineage). VAE: the 4-channel RGBD VAE.
    tiny_sr_configs is this same layout shrunk.
    """
    return {
        "text_encoder": dict(FULL_CONFIGS["text_encoder"]),
        "unet": dict(FULL_CONFIGS["unet"], in_channels=8, out_channels=4, num_class_embeds=1000,
                     sample_size=SR_FULL_SIZE // 8),
        "vae": dict(FULL_CONFIGS["vae"], sample_size=SR_FULL_SIZE),
    }


def build_random_full_sr_components():
    """LDM3D-SR's full-size classes with random weights (fixed seeds): the export and
    bench/torch_reference_sr.py both call this, so they hold the same weights."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from export import Components, log

    cfg = full_sr_configs()
    tok_dir = Path(tempfile.mkdtemp(prefix="ldm3d-sr-random-full-tok-"))
    # The real CLIP vocabulary cannot be fetched here; the tiny one's ids are a subset of 0..49407.
    vocab, _ = write_tiny_tokenizer(tok_dir)
    te_cfg = dict(cfg["text_encoder"], bos_token_id=vocab[BOS], eos_token_id=vocab[EOS], pad_token_id=vocab[EOS])
    torch.manual_seed(SEED + 2)
    config = CLIPTextConfig(**te_cfg)
    try:
        config._attn_implementation = "eager"
    except Exception:  # noqa: BLE001 - some versions make it read-only; sdpa also exports
        pass
    text_encoder = CLIPTextModel(config).eval()
    torch.manual_seed(SEED + 2)
    unet = UNet2DConditionModel(**cfg["unet"]).eval()
    torch.manual_seed(SEED + 2)
    vae = AutoencoderKL(**cfg["vae"]).eval()
    n = {k: sum(p.numel() for p in m.parameters()) for k, m in
         (("text_encoder", text_encoder), ("unet", unet), ("vae", vae))}
    log(f"random full-size LDM3D-SR architecture (benchmarks only): parameters {n}")
    return Components(text_encoder, unet, vae, tok_dir, dict(SR_SCHEDULER_CONFIG),
                      {"_class_name": "StableDiffusionUpscaleLDM3DPipeline", "max_noise_level": SR_MAX_NOISE_LEVEL},
                      "n/a (random weights)", "random-full", "ldm3d-sr")
