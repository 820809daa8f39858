#!/usr/bin/env python3
"""Export an LDM3D-pano diffusers checkpoint to ONNX graphs + manifest.json for the LDM3D-XR app.

    python models/export.py --model Intel/ldm3d-pano --out models/full/ldm3d-pano [--fp16]
    python models/export.py --tiny --out models/tiny/ldm3d-pano --goldens test/fixtures/goldens/ldm3d-pano
    python models/export.py --random-full --out /tmp/random-full   # architecture-only random weights, benchmarks
    python models/export.py --random-full --pipeline ldm3d-sr --out /tmp/random-full-sr   # the same for LDM3D-SR, 512x512
    python models/export.py --model Intel/ldm3d-sr --out models/full/ldm3d-sr            # LDM3D-SR (detected)
    python models/export.py --tiny --pipeline ldm3d-sr --out models/tiny/ldm3d-sr --goldens test/fixtures/goldens/ldm3d-sr
    python models/export.py --tiny --deepcache --out models/tiny/ldm3d-pano-deepcache   # + models/goldens_deepcache.py

Output folder (optimum's layout and I/O names):
    text_encoder/model.onnx   input_ids int64 [batch,77] -> last_hidden_state f32 [batch,77,hidden]
    unet/model.onnx           sample f32 [batch,C,h,w], timestep f32 [] (rank 0), encoder_hidden_states
                              f32 [batch,77,hidden] -> out_sample f32 [batch,4,h,w]
                              LDM3D-SR: C = 8 (noisy latents ‖ VAE-encoded low-res RGBD) and, when the UNet
                              has a class embedding, class_labels int64 [batch] (the noise level), as
                              diffusers' ONNX x4 upscaler feeds it
                              --deepcache: also -> deep_features f32 [batch,Cd,h,w] (models/deepcache.py)
    unet_shallow/model.onnx   (--deepcache) the unet's inputs + deep_features -> out_sample: a DeepCache
                              step between full ones (the authors' DeepCacheSDHelper, cache branch 0)
    vae_decoder/model.onnx    latent_sample f32 [batch,4,h,w] -> sample f32 [batch,4,8h,8w]
                              (= vae.decode(z).sample; the caller divides by vae_scaling_factor first)
    vae_encoder/model.onnx    sample f32 [batch,4,H,W] -> latent_parameters f32 [batch,8,H/8,W/8]
                              (= vae.encode(x).latent_dist.parameters: mean ‖ logvar)
    tokenizer/                tokenizer.json (+ config, vocab.json, merges.txt) for transformers.js
    manifest.json             src/model/manifest.ts, format "ldm3d-xr-manifest@1"
    export-report.json        what was measured during the export (not needed by the app)

Every config value comes from the checkpoint's own config files; nothing is hard-coded except the
pipeline presets (image size and defaults from the model card) and the architecture configs of
the --tiny / --random-full random-weight models, which are clearly marked as test weights.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

MANIFEST_FORMAT = "ldm3d-xr-manifest@1"

# Model-card usage of Intel/ldm3d-pano: width=1024, height=512, guidance_scale=7.0,
# num_inference_steps=50, with the checkpoint's DDIM scheduler.
PIPELINE_PRESETS: dict[str, dict[str, Any]] = {
    "ldm3d-pano": {
        "image": {"height": 512, "width": 1024},
        "defaults": {"num_inference_steps": 50, "guidance_scale": 7.0, "scheduler": "ddim"},
    },
    # LDM3D-SR (community pipeline StableDiffusionUpscaleLDM3DPipeline): the README example's values,
    # 50 steps, guidance 9 (the pipeline default, the example does not override it), noise_level 20,
    # DDIM (model_index names DDIMScheduler; scheduler_config.json's "PNDMScheduler" is not what
    # diffusers instantiates). The example's target_res is 1024x1024; the app's default is 512x512
    # (a 128x128 gnomonic crop upsampled x4), which is what a Quest can hold; any multiple of 8 works.
    "ldm3d-sr": {
        "image": {"height": 512, "width": 512},
        "defaults": {"num_inference_steps": 50, "guidance_scale": 9.0, "noise_level": 20, "scheduler": "ddim"},
    },
}

# The model card's usage example for Intel/ldm3d-pano phrases every prompt as "360 view of {prompt}"
# (issue 14 item 10). Written as manifest "prompt_template" for real LDM3D-pano exports only: the
# tiny and random-full models' manifests leave it out, so their goldens (diffusers on the bare
# prompt) stay what they are. The app applies it in src/pipeline/prompt-template.ts.
PANO_PROMPT_TEMPLATE = "360 view of {prompt}"

# model_index.json _class_name -> the pipeline name in manifest.json
PIPELINE_CLASSES = {
    "StableDiffusionLDM3DPipeline": "ldm3d-pano",
    "StableDiffusionUpscaleLDM3DPipeline": "ldm3d-sr",
}

# Score tensors at most this big per attention slice (see sliced_attention.py).
DEFAULT_SLICE_LIMIT_BYTES = 256 * 2**20
# Graphs whose weights exceed this go to external data files (protobuf's hard limit is 2 GiB).
EXTERNAL_DATA_THRESHOLD_BYTES = 1 * 2**30
# Split external data into files of at most this size: Node's fs.readFileSync stops at 2 GiB, and
# smaller files cache and resume better in the browser.
DEFAULT_MAX_DATA_FILE_BYTES = 1 * 2**30
# Tensors smaller than this stay inside the .onnx file.
MIN_EXTERNAL_TENSOR_BYTES = 1024

ONNX_DTYPES = {1: "float32", 10: "float16", 7: "int64", 6: "int32"}


def log(*a: Any) -> None:
    print(*a, flush=True)


# --------------------------------------------------------------------------------------------
# Loading a checkpoint
# --------------------------------------------------------------------------------------------


@dataclass
class Components:
    text_encoder: Any
    unet: Any
    vae: Any
    tokenizer_dir: Path  # folder with the checkpoint's tokenizer files
    scheduler_config: dict[str, Any]  # scheduler/scheduler_config.json, verbatim
    model_index: dict[str, Any]
    license: str
    source: str
    pipeline: str = "ldm3d-pano"


def resolve_checkpoint(model: str) -> Path:
    """A local folder as is; otherwise a Hub id fetched with huggingface_hub (weights only, no safety checker)."""
    p = Path(model)
    if p.is_dir():
        return p
    from huggingface_hub import snapshot_download

    subs = ["text_encoder", "unet", "vae"]
    allow = ["model_index.json", "README.md", "scheduler/*", "low_res_scheduler/*", "tokenizer/*"]
    allow += [f"{s}/*.json" for s in subs] + [f"{s}/*.safetensors" for s in subs]
    ignore = ["*.fp16.*", "*non_ema*"]
    log(f"downloading {model} (safetensors) ...")
    local = Path(snapshot_download(model, allow_patterns=allow, ignore_patterns=ignore))
    for s in subs:
        if not any((local / s).glob("*.safetensors")):
            log(f"{s}: no safetensors weights, downloading .bin")
            local = Path(snapshot_download(model, allow_patterns=allow + [f"{s}/*.bin"], ignore_patterns=ignore))
    return local


def read_license(ckpt: Path) -> str | None:
    readme = ckpt / "README.md"
    if not readme.is_file():
        return None
    text = readme.read_text(encoding="utf-8", errors="replace")
    m = re.match(r"---\s*\n(.*?)\n---", text, re.S)
    if not m:
        return None
    lm = re.search(r"^license:\s*(\S+)\s*$", m.group(1), re.M)
    return lm.group(1).strip("'\"") if lm else None


def load_components(ckpt: Path, source: str, license_override: str | None) -> Components:
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel

    model_index = json.loads((ckpt / "model_index.json").read_text()) if (ckpt / "model_index.json").is_file() else {}
    cls = model_index.get("_class_name")
    if cls and cls not in PIPELINE_CLASSES:
        raise SystemExit(
            f"{source}: model_index.json names {cls}; only {', '.join(PIPELINE_CLASSES)} (LDM3D-pano, LDM3D-SR) "
            "can be exported"
        )
    pipeline = PIPELINE_CLASSES.get(cls or "", "ldm3d-pano")
    log("loading text encoder, UNet and VAE in float32 ...")
    # Eager attention: a plain MatMul/Softmax graph, the same on every onnxruntime back end.
    text_encoder = CLIPTextModel.from_pretrained(ckpt / "text_encoder", dtype=torch.float32, attn_implementation="eager")
    unet = UNet2DConditionModel.from_pretrained(ckpt, subfolder="unet", torch_dtype=torch.float32)
    vae = AutoencoderKL.from_pretrained(ckpt, subfolder="vae", torch_dtype=torch.float32)
    sched = json.loads((ckpt / "scheduler" / "scheduler_config.json").read_text())
    lic = license_override or read_license(ckpt) or "unknown"
    return Components(text_encoder.eval(), unet.eval(), vae.eval(), ckpt / "tokenizer", sched, model_index, lic, source,
                      pipeline)


def has_class_embedding(unet) -> bool:
    return getattr(unet, "class_embedding", None) is not None


def check_architecture(c: Components) -> None:
    u, v, t = c.unet.config, c.vae.config, c.text_encoder.config
    problems = []
    sr = c.pipeline == "ldm3d-sr"
    # SR: noisy latents ‖ the VAE-encoded low-res RGBD (the community pipeline checks the same sum)
    want_in = 2 * v.latent_channels if sr else v.latent_channels
    if u.in_channels != want_in:
        problems.append(f"unet.in_channels={u.in_channels}, expected {want_in} for {c.pipeline}")
    if u.out_channels != v.latent_channels:
        problems.append(f"unet.out_channels={u.out_channels} != vae.latent_channels={v.latent_channels}")
    if v.out_channels != 4 or v.in_channels != 4:
        problems.append(f"vae in/out channels {v.in_channels}/{v.out_channels}; LDM3D-pano/SR use RGB+depth = 4")
    if u.cross_attention_dim != t.hidden_size:
        problems.append(f"unet.cross_attention_dim={u.cross_attention_dim} != text hidden_size={t.hidden_size}")
    if getattr(u, "time_cond_proj_dim", None) is not None:
        problems.append("unet.time_cond_proj_dim is set (timestep_cond input) - not supported")
    if not sr and has_class_embedding(c.unet):
        problems.append("unet has a class embedding (class_labels input) - not supported for pano")
    if sr and has_class_embedding(c.unet) and getattr(u, "class_embed_type", None) not in (None,):
        # "timestep"/"projection"/... embed class_labels as floats; only the nn.Embedding of
        # num_class_embeds (integer noise level, like the x4 upscaler) is wired up.
        problems.append(f"unet.class_embed_type={u.class_embed_type!r}: only num_class_embeds is supported")
    if problems:
        raise SystemExit("unsupported checkpoint:\n  " + "\n  ".join(problems))


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------


def load_tokenizer(tokenizer_dir: Path):
    """CLIPTokenizerFast (tokenizers-backed); in transformers 5 CLIPTokenizer is that class."""
    try:
        from transformers import CLIPTokenizerFast as Tok
    except ImportError:  # transformers >= 5 may only export CLIPTokenizer
        from transformers import CLIPTokenizer as Tok
    tokenizer_dir = Path(tokenizer_dir)
    try:
        tok = Tok.from_pretrained(tokenizer_dir)
    except Exception as e:  # noqa: BLE001 - reported, then the BPE files are read directly
        if (tokenizer_dir / "tokenizer.json").exists():
            raise
        log(f"tokenizer: from_pretrained failed ({type(e).__name__}: {e}); building from vocab.json + merges.txt")
        vocab = json.loads((tokenizer_dir / "vocab.json").read_text(encoding="utf-8"))
        lines = (tokenizer_dir / "merges.txt").read_text(encoding="utf-8").splitlines()
        merges = [tuple(m.split()) for m in lines if m and not m.startswith("#version")]
        cfg = json.loads((tokenizer_dir / "tokenizer_config.json").read_text())
        tok = Tok(vocab=vocab, merges=merges, model_max_length=cfg.get("model_max_length", 77))
    if tok.model_max_length > 10**6:
        # no tokenizer_config.json: CLIP's context length
        tok.model_max_length = 77
    vocab = json.loads((tokenizer_dir / "vocab.json").read_text(encoding="utf-8")) \
        if (tokenizer_dir / "vocab.json").exists() else None
    if vocab is not None and tok.convert_tokens_to_ids(tok.bos_token) != vocab.get(tok.bos_token):
        raise RuntimeError("tokenizer: BOS id does not match vocab.json")
    return tok


def export_tokenizer(tokenizer_dir: Path, out_dir: Path) -> tuple[Any, list[str]]:
    tok = load_tokenizer(tokenizer_dir)
    dst = out_dir / "tokenizer"
    if dst.exists():
        shutil.rmtree(dst)
    tok.save_pretrained(dst)
    # transformers 5 writes only tokenizer.json + tokenizer_config.json; keep the BPE source files
    # and the special-token map too, so the folder also loads with older libraries.
    for name in ("vocab.json", "merges.txt", "special_tokens_map.json"):
        if not (dst / name).exists() and (tokenizer_dir / name).exists():
            shutil.copy2(tokenizer_dir / name, dst / name)
    if not (dst / "special_tokens_map.json").exists():
        (dst / "special_tokens_map.json").write_text(json.dumps(tok.special_tokens_map, indent=2) + "\n")
    if not (dst / "tokenizer.json").exists():
        raise SystemExit("tokenizer.json was not written: transformers.js cannot load this tokenizer")
    # transformers 5 leaks its loading arguments into the saved config
    cfg_path = dst / "tokenizer_config.json"
    cfg = json.loads(cfg_path.read_text())
    for k in ("is_local", "local_files_only", "name_or_path", "cache_dir", "token", "revision"):
        cfg.pop(k, None)
    cfg_path.write_text(json.dumps(cfg, indent=2) + "\n")
    # chat templates and the like are not ours to ship
    for extra in sorted(dst.iterdir()):
        if extra.suffix not in (".json", ".txt"):
            extra.unlink()
    files = sorted(p.name for p in dst.iterdir())
    return tok, [f"tokenizer/{f}" for f in files]


# --------------------------------------------------------------------------------------------
# ONNX export helpers
# --------------------------------------------------------------------------------------------


@dataclass
class SessionExport:
    name: str  # text_encoder | unet | vae_decoder | vae_encoder
    module: Any  # torch.nn.Module wrapper whose forward takes the ONNX inputs in order
    example: tuple  # example inputs for tracing (batch 2: torch.export specialises sizes 0 and 1)
    input_names: list[str]
    output_names: list[str]
    dynamic_axes: dict[str, dict[int, str]]
    validate_inputs: list[tuple]  # input tuples for the ONNX-vs-torch check
    reference_module: Any  # the same maths with diffusers' own attention (what the pipeline runs)
    attention_plan: list[dict] = field(default_factory=list)
    # output name -> input name whose shape it has by contract (the UNet's out_sample is sample's shape)
    same_shape_as: dict[str, str] = field(default_factory=dict)
    # output name -> its channel count (axis 1) where it differs from the same-shape input's
    # (the LDM3D-SR UNet takes 8 channels and returns 4)
    output_channels: dict[str, int] = field(default_factory=dict)
    # --attention mha: the attention_plan layers this graph holds (by name prefix); None = by session name
    attention_prefix: str | None = None
    # validate with onnxruntime's basic optimization level (the DeepCache graphs: what the goldens use)
    basic_validation: bool = False
    # anything else the export reports (DeepCache: FLOP counts)
    extra: dict = field(default_factory=dict)


def _wrappers():
    import torch

    class TextEncoder(torch.nn.Module):
        def __init__(self, te):
            super().__init__()
            self.te = te

        def forward(self, input_ids):
            return self.te(input_ids=input_ids, return_dict=True).last_hidden_state

    class UNet(torch.nn.Module):
        def __init__(self, unet):
            super().__init__()
            self.unet = unet

        def forward(self, sample, timestep, encoder_hidden_states):
            return self.unet(sample, timestep, encoder_hidden_states, return_dict=False)[0]

    class UNetClassLabels(torch.nn.Module):
        """LDM3D-SR: the noise level enters as class_labels (int64 [batch])."""

        def __init__(self, unet):
            super().__init__()
            self.unet = unet

        def forward(self, sample, timestep, encoder_hidden_states, class_labels):
            return self.unet(sample, timestep, encoder_hidden_states, class_labels=class_labels, return_dict=False)[0]

    class VaeDecoder(torch.nn.Module):
        def __init__(self, vae):
            super().__init__()
            self.vae = vae

        def forward(self, latent_sample):
            return self.vae.decode(latent_sample, return_dict=False)[0]

    class VaeEncoder(torch.nn.Module):
        def __init__(self, vae):
            super().__init__()
            self.vae = vae

        def forward(self, sample):
            return self.vae.encode(sample, return_dict=False)[0].parameters

    return TextEncoder, UNet, VaeDecoder, VaeEncoder, UNetClassLabels


def torch_export_to_onnx(s: SessionExport, tmp: Path, opset: int):
    """Dynamo exporter first (handles > 2 GB); falls back only where that fails.

    Returns (onnx ModelProto with its weights loaded and dims renamed, the method used). An attempt
    whose graph came out with a dynamic axis frozen to a constant counts as failed.
    """
    import onnx
    import torch

    path = tmp / "model.onnx"

    def dynamo_axes():
        torch.onnx.export(
            s.module, s.example, str(path), dynamo=True, input_names=s.input_names, output_names=s.output_names,
            dynamic_axes=s.dynamic_axes, opset_version=opset, external_data=True, optimize=True,
        )

    def dynamo_auto():
        shapes = {p: ({ax: torch.export.Dim.AUTO for ax in s.dynamic_axes.get(p, {})} or None) for p in s.input_names}
        torch.onnx.export(
            s.module, s.example, str(path), dynamo=True, input_names=s.input_names, output_names=s.output_names,
            dynamic_shapes=shapes, opset_version=opset, external_data=True, optimize=True,
        )

    def legacy():
        torch.onnx.export(
            s.module, s.example, str(path), dynamo=False, input_names=s.input_names, output_names=s.output_names,
            dynamic_axes=s.dynamic_axes, opset_version=opset, do_constant_folding=True,
        )

    # Dim.AUTO first: with dynamic_axes (Dim.DYNAMIC) torch.export rejected the UNet's batch axis
    # ("inferred a static shape of 2") although the Dim.AUTO graph runs at any batch size.
    attempts = [("dynamo+Dim.AUTO", dynamo_auto), ("dynamo+dynamic_axes", dynamo_axes), ("legacy", legacy)]
    errors = []
    for label, fn in attempts:
        try:
            with torch.no_grad():
                fn()
            model = onnx.load(str(path), load_external_data=True)
            restore_unused_inputs(model, s)
            rename_dims(model, s)
            strip_metadata(model)
            if errors:
                log(f"  {s.name}: exported with {label} after: " + " | ".join(errors))
            return model, label
        except Exception as e:  # noqa: BLE001 - we report every failure and try the next exporter
            msg = f"{label}: {type(e).__name__}: {str(e)[:3000]}"
            log(f"  {s.name}: export attempt failed: {msg}")
            errors.append(msg[:300])
            for p in tmp.iterdir():
                if p.is_file():
                    p.unlink()
                else:
                    shutil.rmtree(p)
    raise RuntimeError(f"{s.name}: every export attempt failed")


_SYMBOL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def restore_unused_inputs(model, s: SessionExport) -> None:
    """Puts back, in the declared order, graph inputs that the exporter dropped because nothing uses
    them (the tiny UNet's shallow DeepCache graph has no attention, so no encoder_hidden_states): the
    app feeds every declared input, and onnxruntime rejects a feed the graph does not declare."""
    import onnx
    from onnx import helper

    g = model.graph
    have = {vi.name: vi for vi in g.input}
    missing = [n for n in s.input_names if n not in have]
    if not missing:
        return
    dtypes = {"float32": onnx.TensorProto.FLOAT, "int64": onnx.TensorProto.INT64}
    for name in missing:
        x = s.example[s.input_names.index(name)]
        axes = s.dynamic_axes.get(name, {})
        shape = [axes.get(i, int(d)) for i, d in enumerate(x.shape)]
        have[name] = helper.make_tensor_value_info(name, dtypes[str(x.dtype).removeprefix("torch.")], shape)
    ordered = [have[n] for n in s.input_names] + [vi for vi in g.input if vi.name not in s.input_names]
    del g.input[:]
    g.input.extend(ordered)
    log(f"  {s.name}: unused inputs kept as graph inputs: {missing}")


def rename_dims(model, s: SessionExport) -> None:
    """Give the graph's symbolic dims the names declared in dynamic_axes (the exporter may call them s0, s1...)."""
    g = model.graph
    mapping: dict[str, str] = {}
    for vi in list(g.input) + list(g.output):
        axes = s.dynamic_axes.get(vi.name, {})
        dims = vi.type.tensor_type.shape.dim
        for ax, want in axes.items():
            d = dims[ax]
            if d.HasField("dim_value"):
                raise RuntimeError(
                    f"{s.name}: axis {ax} of {vi.name} was exported as the constant {d.dim_value}, not dynamic"
                )
            if d.dim_param and _SYMBOL.fullmatch(d.dim_param) and d.dim_param not in mapping:
                mapping[d.dim_param] = want

    def fix(dim_param: str) -> str:
        out = _SYMBOL.sub(lambda m: mapping.get(m.group(0), m.group(0)), dim_param)
        while out.startswith("(") and out.endswith(")") and out.count("(") == 1:
            out = out[1:-1]
        return out

    for vi in list(g.input) + list(g.output) + list(g.value_info):
        for d in vi.type.tensor_type.shape.dim:
            if d.dim_param:
                d.dim_param = fix(d.dim_param)
    inputs = {vi.name: vi for vi in g.input}
    for vi in g.output:
        src = inputs.get(s.same_shape_as.get(vi.name, ""))
        if src is not None:
            vi.type.tensor_type.shape.CopyFrom(src.type.tensor_type.shape)
            if vi.name in s.output_channels:
                vi.type.tensor_type.shape.dim[1].dim_value = s.output_channels[vi.name]


def strip_metadata(model) -> None:
    """Drops the exporter's per-node debug metadata (source stack traces): it was most of a tiny .onnx."""
    for n in model.graph.node:
        n.ClearField("metadata_props")
        n.doc_string = ""
    model.graph.doc_string = ""


def weights_to_fp16(model) -> tuple[int, int]:
    """Stores float32 initializers as float16 + a Cast back to float32 at the graph's start.

    Computation stays float32 (WebGPU without shader-f16 can run it; inputs and outputs stay float32);
    only the stored weights are rounded to fp16, halving download and disk. onnxruntime folds the
    Casts when it creates the session, so memory at run time is that of the fp32 model.
    Tensors with values outside fp16's range keep float32.
    """
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    g = model.graph
    taken = {i.name for i in g.initializer} | {o for n in g.node for o in n.output}
    new_inits, casts, converted, kept = [], [], 0, 0
    for init in g.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            new_inits.append(init)
            continue
        arr = numpy_helper.to_array(init)
        if arr.size < 2 or not np.all(np.isfinite(arr)) or (arr.size and float(np.abs(arr).max()) > 65504.0):
            new_inits.append(init)
            kept += 1
            continue
        name16 = init.name + "__fp16"
        while name16 in taken:
            name16 += "_"
        taken.add(name16)
        new_inits.append(numpy_helper.from_array(arr.astype(np.float16), name16))
        casts.append(helper.make_node("Cast", [name16], [init.name], to=onnx.TensorProto.FLOAT, name=f"{name16}_cast"))
        converted += 1
    del g.initializer[:]
    g.initializer.extend(new_inits)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    return converted, kept


def save_onnx(model, path: Path, external: bool, max_file_bytes: int) -> list[str]:
    """Writes the graph; with `external`, every tensor >= 1 KiB goes to model.onnx_data[_N] files."""
    import onnx
    from onnx import numpy_helper

    if not external:
        size = model.ByteSize()
        if size >= 2**31:
            raise RuntimeError(f"{path}: {size} bytes does not fit one protobuf; use external data")
        onnx.save_model(model, str(path))
        return []
    locations: list[str] = []
    fh = None
    offset = 0
    try:
        for t in model.graph.initializer:
            if not t.HasField("raw_data"):
                t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t), t.name))
            raw = t.raw_data
            if len(raw) < MIN_EXTERNAL_TENSOR_BYTES:
                continue
            if fh is None or (offset > 0 and offset + len(raw) > max_file_bytes):
                if fh is not None:
                    fh.close()
                loc = f"{path.name}_data" if not locations else f"{path.name}_data_{len(locations)}"
                locations.append(loc)
                fh = open(path.parent / loc, "wb")
                offset = 0
            pad = (-offset) % 64
            if pad:
                fh.write(b"\0" * pad)
                offset += pad
            fh.write(raw)
            del t.external_data[:]
            for k, v in (("location", locations[-1]), ("offset", str(offset)), ("length", str(len(raw)))):
                e = t.external_data.add()
                e.key, e.value = k, v
            t.data_location = onnx.TensorProto.EXTERNAL
            t.ClearField("raw_data")
            offset += len(raw)
    finally:
        if fh is not None:
            fh.close()
    onnx.save_model(model, str(path))
    return locations


def initializer_bytes(model) -> int:
    import numpy as np
    from onnx import helper

    total = 0
    for t in model.graph.initializer:
        n = int(np.prod(t.dims)) if len(t.dims) else 1
        total += n * helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
    return total


def tensor_specs(model) -> tuple[list[dict], list[dict]]:
    def spec(vi) -> dict:
        tt = vi.type.tensor_type
        dtype = ONNX_DTYPES.get(tt.elem_type)
        if dtype is None:
            raise RuntimeError(f"{vi.name}: unsupported ONNX element type {tt.elem_type}")
        shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tt.shape.dim]
        return {"name": vi.name, "dtype": dtype, "shape": shape}

    init_names = {i.name for i in model.graph.initializer}
    return [spec(v) for v in model.graph.input if v.name not in init_names], [spec(v) for v in model.graph.output]


def validate_session(s: SessionExport, path: Path, fp16: bool) -> list[dict]:
    """onnxruntime (CPU) vs the torch module with diffusers' own attention, on random inputs.

    Every output is compared (the DeepCache UNet has two); max_abs_err / max_abs_ref are the worst
    over the outputs, "outputs" has each one's figures when there are several.
    """
    import numpy as np
    import onnxruntime as ort
    import torch

    so = ort.SessionOptions()
    if s.basic_validation:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    results = []
    for inputs in s.validate_inputs:
        with torch.no_grad():
            ref = s.reference_module(*inputs)
        refs = [t.float().numpy() for t in (ref if isinstance(ref, (tuple, list)) else (ref,))]
        feeds = {n: x.numpy() for n, x in zip(s.input_names, inputs)}
        t0 = time.perf_counter()
        gots = sess.run(s.output_names[:len(refs)], feeds)
        dt = time.perf_counter() - t0
        per: dict[str, dict] = {}
        ok = True
        for name, got, want in zip(s.output_names, gots, refs):
            err = float(np.abs(got.astype(np.float64) - want).max())
            scale = float(np.abs(want).max())
            tol = (2e-2 if fp16 else 1e-3) * max(1.0, scale)
            per[name] = {"max_abs_err": err, "max_abs_ref": scale, "shape": list(got.shape)}
            ok = ok and err <= tol and got.shape == want.shape
        r = {
            "shapes": {n: list(x.shape) for n, x in zip(s.input_names, inputs)},
            "max_abs_err": max(p["max_abs_err"] for p in per.values()),
            "max_abs_ref": max(p["max_abs_ref"] for p in per.values()),
            "ok": ok,
            "ort_cpu_seconds": round(dt, 4),
        }
        if len(per) > 1:
            r["outputs"] = per
        errs = ", ".join(f"{n} {p['max_abs_err']:.3g} (max|torch| {p['max_abs_ref']:.3g})" for n, p in per.items())
        log(f"  {s.name} {r['shapes']}: max|onnx-torch| = {errs} {'OK' if r['ok'] else 'TOO LARGE'}; ort cpu {dt:.3f}s")
        results.append(r)
    return results


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# The export
# --------------------------------------------------------------------------------------------


@dataclass
class ExportOptions:
    out: Path
    pipeline: str
    model_id: str
    test_weights: bool
    height: int
    width: int
    fp16: bool = False
    opset: int = 18
    attention: str = "sliced"  # sliced | default | mha
    slice_limit_bytes: int = DEFAULT_SLICE_LIMIT_BYTES
    external_data: str = "auto"  # auto | always | never
    max_data_file_bytes: int = DEFAULT_MAX_DATA_FILE_BYTES
    # For the tiny models: split the UNet's external data into this many files, so the loader's
    # multi-file path is tested with small weights.
    unet_data_files: int | None = None
    sessions: tuple[str, ...] = ("text_encoder", "unet", "vae_decoder", "vae_encoder")
    validate: bool = True
    seed: int = 0
    # DeepCache (cache branch 0): the unet also returns deep_features, plus the unet_shallow graph
    deepcache: bool = False
    # manifest "prompt_template" (one "{prompt}"), or None: the app sends prompts as typed
    prompt_template: str | None = None


def build_sessions(c: Components, o: ExportOptions) -> list[SessionExport]:
    import copy

    import torch

    from sliced_attention import describe_plan, install_mha_attention, install_sliced_attention, plan_slices

    TextEncoder, UNet, VaeDecoder, VaeEncoder, UNetClassLabels = _wrappers()
    g = torch.Generator().manual_seed(o.seed)
    te_cfg, u_cfg, v_cfg = c.text_encoder.config, c.unet.config, c.vae.config
    vsf = 2 ** (len(v_cfg.block_out_channels) - 1)
    if o.height % vsf or o.width % vsf:
        raise SystemExit(f"height/width must be multiples of {vsf}")
    lh, lw = o.height // vsf, o.width // vsf
    seq = 77 if te_cfg.max_position_embeddings >= 77 else te_cfg.max_position_embeddings
    hidden = te_cfg.hidden_size

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float32)

    sessions: list[SessionExport] = []
    if "text_encoder" in o.sessions:
        ids = lambda b: torch.randint(0, te_cfg.vocab_size, (b, seq), generator=g, dtype=torch.int64)  # noqa: E731
        m = TextEncoder(c.text_encoder).eval()
        sessions.append(SessionExport(
            "text_encoder", m, (ids(2),), ["input_ids"], ["last_hidden_state"],
            {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}},
            [(ids(1),), (ids(3),)], m))

    def with_attention(model, run_reference):
        """(export copy with sliced/fused attention, plan) — the reference keeps diffusers' processors."""
        if o.attention == "mha":
            exp = copy.deepcopy(model)
            return exp, install_mha_attention(exp)
        if o.attention != "sliced":
            return model, []
        exp = copy.deepcopy(model)
        plan = plan_slices(exp, run_reference(exp), o.slice_limit_bytes)
        install_sliced_attention(exp, plan)
        return exp, describe_plan(plan)

    if "unet" in o.sessions:
        cin = u_cfg.in_channels
        labels = has_class_embedding(c.unet)
        n_classes = int(u_cfg.num_class_embeds or 1) if labels else 1

        def unet_inputs(b: int, h: int, w: int, t: float) -> tuple:
            x = (randn(b, cin, h, w), torch.tensor(t), randn(b, seq, hidden))
            if labels:
                # noise levels as the SR pipeline passes them: one value repeated over the batch
                level = int(torch.randint(0, n_classes, (1,), generator=g))
                x = x + (torch.full((b,), level, dtype=torch.int64),)
            return x

        wrap = UNetClassLabels if labels else UNet
        ref = wrap(c.unet).eval()
        ex_unet, plan = with_attention(
            c.unet, lambda mod: (lambda: wrap(mod)(*unet_inputs(2, lh, lw, 981.0))),
        )
        exp = wrap(ex_unet).eval()
        val = [unet_inputs(2, lh, lw, 981.0)]
        if o.test_weights and lh * lw <= 4096:
            # a second size and batch: the dynamic axes really are dynamic; a non-integer timestep
            # as Euler uses
            val.append(unet_inputs(1, lh, lh if lh != lw else lw // 2, 500.5))
        names = ["sample", "timestep", "encoder_hidden_states"] + (["class_labels"] if labels else [])
        axes = {"sample": {0: "batch", 2: "latent_height", 3: "latent_width"},
                "encoder_hidden_states": {0: "batch"},
                "out_sample": {0: "batch", 2: "latent_height", 3: "latent_width"}}
        if labels:
            axes["class_labels"] = {0: "batch"}
        if not o.deepcache:
            sessions.append(SessionExport(
                "unet", exp, unet_inputs(2, lh, lw, 981.0), names, ["out_sample"], axes,
                val, ref, plan, same_shape_as={"out_sample": "sample"},
                output_channels={"out_sample": int(u_cfg.out_channels)}))
        else:
            sessions += deepcache_sessions(c, o, ex_unet, plan, names, axes, val, unet_inputs, randn, lh, lw, seq, hidden)

    if "vae_decoder" in o.sessions or "vae_encoder" in o.sessions:
        lc, ic = v_cfg.latent_channels, v_cfg.in_channels
        # The app decodes and encodes one image at a time: plan the slices for batch 1.
        ex_vae, plan = with_attention(
            c.vae,
            lambda mod: (lambda: (mod.decode(randn(1, lc, lh, lw)), mod.encode(randn(1, ic, o.height, o.width)))),
        )
        if "vae_decoder" in o.sessions:
            val = [(randn(1, lc, lh, lw),)]
            if o.test_weights and lh * lw <= 4096:
                val.append((randn(2, lc, lh, lh),))
            sessions.append(SessionExport(
                "vae_decoder", VaeDecoder(ex_vae).eval(), (randn(2, lc, lh, lw),), ["latent_sample"], ["sample"],
                {"latent_sample": {0: "batch", 2: "latent_height", 3: "latent_width"},
                 "sample": {0: "batch", 2: "height", 3: "width"}},
                val, VaeDecoder(c.vae).eval(), plan))
        if "vae_encoder" in o.sessions:
            val = [(randn(1, ic, o.height, o.width),)]
            if o.test_weights and lh * lw <= 4096:
                val.append((randn(2, ic, o.height, o.height),))
            sessions.append(SessionExport(
                "vae_encoder", VaeEncoder(ex_vae).eval(), (randn(2, ic, o.height, o.width),), ["sample"],
                ["latent_parameters"],
                {"sample": {0: "batch", 2: "height", 3: "width"},
                 "latent_parameters": {0: "batch", 2: "latent_height", 3: "latent_width"}},
                val, VaeEncoder(c.vae).eval(), plan))
    return sessions


def deepcache_sessions(c: Components, o: ExportOptions, ex_unet, plan: list[dict], names: list[str], axes: dict,
                       val: list[tuple], unet_inputs: Callable, randn: Callable, lh: int, lw: int, seq: int,
                       hidden: int) -> list[SessionExport]:
    """--deepcache: `unet` also returns deep_features; `unet_shallow` is a DeepCache step that is not a
    full one (models/deepcache.py says what the authors' helper computes and why this is it)."""
    import deepcache

    if has_class_embedding(c.unet):
        raise SystemExit("--deepcache: the UNet takes class_labels (LDM3D-SR); only the pano UNet is supported")
    deepcache.check_unet(c.unet)
    DeepCacheUNet, DeepCacheShallow, DeepCacheReference = deepcache.modules()
    u_cfg = c.unet.config
    ch = deepcache.deep_channels(c.unet)
    spatial = {0: "batch", 2: "latent_height", 3: "latent_width"}
    full = SessionExport(
        "unet", DeepCacheUNet(ex_unet).eval(), unet_inputs(2, lh, lw, 981.0), names, ["out_sample", "deep_features"],
        dict(axes, deep_features=spatial), val, DeepCacheReference(c.unet).eval(), plan,
        same_shape_as={"out_sample": "sample", "deep_features": "sample"},
        output_channels={"out_sample": int(u_cfg.out_channels), "deep_features": ch}, basic_validation=True)

    def shallow_inputs(b: int, h: int, w: int, t: float) -> tuple:
        return unet_inputs(b, h, w, t) + (randn(b, ch, h, w),)

    sh_val = [shallow_inputs(2, lh, lw, 981.0)]
    if o.test_weights and lh * lw <= 4096:
        sh_val.append(shallow_inputs(1, lh, lh if lh != lw else lw // 2, 500.5))
    # the attention layers of up_blocks[-1]'s last layer (none when that block is an UpBlock2D)
    prefix = f"up_blocks.{len(c.unet.up_blocks) - 1}.attentions.{len(c.unet.up_blocks[-1].resnets) - 1}."
    log(f"  deepcache: counting FLOPs of a full and a shallow UNet call at {lh}x{lw} latents ...")
    flops = deepcache.flop_counts(c.unet, lh, lw, seq, hidden)
    log(f"  deepcache: full {flops['full_flops'] / 1e9:.3f} GFLOP, shallow {flops['shallow_flops'] / 1e9:.3f} GFLOP, "
        f"share {flops['shallow_share']:.4f}; deep_features channels {ch}")
    shallow = SessionExport(
        "unet_shallow", DeepCacheShallow(ex_unet).eval(), shallow_inputs(2, lh, lw, 981.0), names + ["deep_features"],
        ["out_sample"], dict(axes, deep_features=spatial), sh_val, DeepCacheShallow(c.unet).eval(),
        [p for p in plan if p["layer"].startswith(prefix)], same_shape_as={"out_sample": "sample"},
        output_channels={"out_sample": int(u_cfg.out_channels)}, attention_prefix=prefix, basic_validation=True,
        extra={"flops": flops})
    return [full, shallow]


def validate_deepcache_split(full: SessionExport, shallow: SessionExport, out: Path) -> list[dict]:
    """The shallow graph, fed the deep_features that the full graph returns for the same inputs, must
    give the full graph's out_sample: in torch (the reference modules) and in onnxruntime (CPU, basic
    level). Also: the skip that up_blocks[-1]'s last layer concatenates is conv_in's output (exactly)."""
    import numpy as np
    import onnxruntime as ort
    import torch

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    s_full = ort.InferenceSession(str(out / "unet" / "model.onnx"), so, providers=["CPUExecutionProvider"])
    s_sh = ort.InferenceSession(str(out / "unet_shallow" / "model.onnx"), so, providers=["CPUExecutionProvider"])
    results = []
    for inputs in full.validate_inputs:
        with torch.no_grad():
            ref_out, ref_deep = full.reference_module(*inputs)
            ref_sh = shallow.reference_module(*inputs, ref_deep)
        skip_err = float(full.reference_module.last_skip_error)
        feeds = {n: x.numpy() for n, x in zip(full.input_names, inputs)}
        o_out, o_deep = s_full.run(["out_sample", "deep_features"], feeds)
        o_sh = s_sh.run(["out_sample"], {**feeds, "deep_features": o_deep})[0]
        scale = max(1.0, float(ref_out.abs().max()))
        r = {
            "shapes": {n: list(x.shape) for n, x in zip(full.input_names, inputs)},
            "torch_shallow_vs_full_max_abs": float((ref_sh - ref_out).abs().max()),
            "onnx_shallow_vs_full_max_abs": float(np.abs(o_sh.astype(np.float64) - o_out).max()),
            "skip_minus_conv_in_max_abs": skip_err,
        }
        r["ok"] = (r["torch_shallow_vs_full_max_abs"] <= 1e-5 * scale and r["onnx_shallow_vs_full_max_abs"] <= 1e-4 * scale
                   and skip_err == 0.0)
        log(f"  deepcache split {r['shapes']['sample']}: shallow(deep of x) vs full(x): torch "
            f"{r['torch_shallow_vs_full_max_abs']:.3g}, onnx {r['onnx_shallow_vs_full_max_abs']:.3g}; "
            f"skip - conv_in {skip_err:.3g} {'OK' if r['ok'] else 'WRONG'}")
        results.append(r)
    return results


def export(c: Components, o: ExportOptions) -> dict:
    import onnx
    import torch

    check_architecture(c)
    torch.manual_seed(o.seed)
    o.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "model_id": o.model_id, "versions": versions(), "options": {
            "fp16": o.fp16, "opset": o.opset, "attention": o.attention, "slice_limit_bytes": o.slice_limit_bytes,
            "height": o.height, "width": o.width, "deepcache": o.deepcache},
        "sessions": {}}
    t_all = time.perf_counter()

    if o.deepcache and "unet" not in o.sessions:
        raise SystemExit("--deepcache needs the unet session")
    tok, tok_files = export_tokenizer(c.tokenizer_dir, o.out)
    sessions_manifest: dict[str, Any] = {}
    built = build_sessions(c, o)
    for s in built:
        log(f"[{s.name}] exporting ...")
        folder = o.out / s.name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"onnx-{s.name}-") as tmp:
            model, method = torch_export_to_onnx(s, Path(tmp), o.opset)
            t_export = time.perf_counter() - t0
        if o.attention == "mha" and s.attention_plan:
            # An exporter that ignored the symbolic op would silently give plain attention: fail instead.
            # The VAE's plan lists encoder and decoder layers; each session holds only its own half.
            half = {"vae_decoder": "decoder.", "vae_encoder": "encoder."}.get(s.name, "")
            if s.attention_prefix is not None:
                half = s.attention_prefix
            want = sum(1 for p in s.attention_plan if p["layer"].startswith(half))
            n_mha = sum(1 for n in model.graph.node if n.op_type == "MultiHeadAttention" and n.domain == "com.microsoft")
            if n_mha != want:
                raise SystemExit(f"{s.name}: {n_mha} com.microsoft.MultiHeadAttention nodes, expected {want} ({method})")
        fp16_info = None
        if o.fp16:
            fp16_info = weights_to_fp16(model)
            log(f"  fp16 storage: {fp16_info[0]} tensors converted, {fp16_info[1]} kept float32")
        wbytes = initializer_bytes(model)
        if o.external_data == "always" or (s.name == "unet" and o.unet_data_files):
            external = True
        elif o.external_data == "never":
            external = False
        else:
            external = wbytes > EXTERNAL_DATA_THRESHOLD_BYTES
        max_file = o.max_data_file_bytes
        if s.name == "unet" and o.unet_data_files:
            max_file = math.ceil(wbytes / o.unet_data_files) + 4096
        path = folder / "model.onnx"
        locations = save_onnx(model, path, external, max_file)
        # check the written graph (with its external data) as onnxruntime will see it
        onnx.checker.check_model(str(path))
        inputs, outputs = tensor_specs(onnx.load(str(path), load_external_data=False))
        del model
        log(f"  {s.name}: {method}, {time.perf_counter() - t0:.1f}s, weights {wbytes / 2**20:.2f} MiB, "
            f"external data: {locations or 'none'}")
        if s.attention_plan:
            sliced = [p for p in s.attention_plan if p.get("slices", 1) > 1]
            log(f"  attention: {len(s.attention_plan)} layers, {len(sliced)} sliced: "
                + ", ".join(f"{p['layer']}×{p['slices']}" for p in sliced))
        val = validate_session(s, path, o.fp16) if o.validate else []
        sessions_manifest[s.name] = {
            "file": f"{s.name}/model.onnx",
            "external_data": locations,
            "inputs": inputs,
            "outputs": outputs,
        }
        report["sessions"][s.name] = {
            "exporter": method, "export_seconds": round(t_export, 2), "weight_bytes": wbytes,
            "fp16": {"converted": fp16_info[0], "kept_fp32": fp16_info[1]} if fp16_info else None,
            "attention_plan": s.attention_plan, "validation": val}

    if o.deepcache:
        by_name = {s.name: s for s in built}
        split = validate_deepcache_split(by_name["unet"], by_name["unet_shallow"], o.out) if o.validate else []
        report["deepcache"] = {"flops": by_name["unet_shallow"].extra["flops"], "split_check": split}
        if not all(r["ok"] for r in split):
            report["sessions"]["unet_shallow"]["validation"].append({"ok": False, "deepcache_split": split})

    files = []
    for p in sorted(o.out.rglob("*")):
        if not p.is_file() or p.name in ("manifest.json", "export-report.json"):
            continue
        rel = p.relative_to(o.out).as_posix()
        top = rel.split("/")[0]
        if top == "tokenizer":
            kind = "tokenizer"
        elif p.suffix == ".onnx":
            kind = "onnx"
        elif "onnx_data" in p.name:
            kind = "onnx-data"
        else:
            continue  # not part of the export (left over from something else)
        if top not in ("tokenizer", *sessions_manifest.keys()):
            continue
        files.append({"path": rel, "bytes": p.stat().st_size, "sha256": sha256_file(p), "kind": kind})

    preset = PIPELINE_PRESETS[o.pipeline]
    v_cfg = c.vae.config
    if o.pipeline != c.pipeline:
        raise SystemExit(f"--pipeline {o.pipeline} but the checkpoint is {c.pipeline}")
    manifest = {
        "format": MANIFEST_FORMAT,
        "pipeline": o.pipeline,
        "model_id": o.model_id,
        "license": c.license,
        "test_weights": o.test_weights,
        "dtype": "float16" if o.fp16 else "float32",
        "image": {"height": o.height, "width": o.width},
        "vae_scale_factor": 2 ** (len(v_cfg.block_out_channels) - 1),
        "vae_scaling_factor": float(v_cfg.scaling_factor),
        # diffusers' default VAE tile (tile_sample_min_size) for the app's tiled decode (vae-tiling.ts)
        "vae_sample_size": int(v_cfg.sample_size[0] if isinstance(v_cfg.sample_size, (list, tuple)) else v_cfg.sample_size),
        "latent_channels": int(v_cfg.latent_channels),
        "unet_in_channels": int(c.unet.config.in_channels),
        "vae_out_channels": int(v_cfg.out_channels),
        "text": {
            "max_length": int(tok.model_max_length),
            "hidden_size": int(c.text_encoder.config.hidden_size),
            "bos_token_id": int(tok.bos_token_id),
            "eos_token_id": int(tok.eos_token_id),
            "pad_token_id": int(tok.pad_token_id),
        },
        "defaults": dict(preset["defaults"]),
        "scheduler": c.scheduler_config,
        "files": files,
        "sessions": sessions_manifest,
        "tokenizer": {"files": tok_files},
        "attention": o.attention,  # 'mha': the app self-tests fused attention on the GPU at load
    }
    if o.prompt_template is not None:
        if o.prompt_template.count("{prompt}") != 1:
            raise SystemExit(f"prompt template {o.prompt_template!r} must contain {{prompt}} exactly once")
        manifest["prompt_template"] = o.prompt_template
    if o.deepcache:
        import deepcache

        manifest["deepcache"] = {
            "reference": deepcache.REFERENCE,
            "cache_branch_id": deepcache.CACHE_BRANCH_ID,
            "feature": "deep_features",
            "shallow_session": "unet_shallow",
            # torch FLOP count (export-report.json's deepcache.flops says how)
            "shallow_flops_share": report["deepcache"]["flops"]["shallow_share"],
        }
    if manifest["text"]["max_length"] != 77:
        raise SystemExit(f"tokenizer model_max_length is {tok.model_max_length}, expected 77")
    (o.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    report["total_seconds"] = round(time.perf_counter() - t_all, 2)
    report["total_bytes"] = sum(f["bytes"] for f in files)
    (o.out / "export-report.json").write_text(json.dumps(report, indent=2) + "\n")
    bad = [(n, r) for n, s in report["sessions"].items() for r in s["validation"] if not r["ok"]]
    log(f"wrote {o.out}/manifest.json: {len(files)} files, {report['total_bytes'] / 2**20:.2f} MiB, "
        f"{report['total_seconds']:.1f}s")
    if bad:
        raise SystemExit(f"validation failed: {bad}")
    return manifest


def versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for mod in ("torch", "diffusers", "transformers", "onnx", "onnxruntime", "onnxscript", "tokenizers", "numpy"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - optional, informational only
            pass
    return out


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="Hub id (e.g. Intel/ldm3d-pano) or a local diffusers folder")
    src.add_argument("--tiny", action="store_true", help="random-weight tiny models (tests), built here")
    src.add_argument("--random-full", action="store_true",
                     help="random weights with the inferred full-size architecture: for benchmarks only")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--goldens", type=Path, help="(--tiny) write diffusers golden outputs to this folder")
    ap.add_argument("--checkpoint-out", type=Path,
                    help="(--tiny) also keep the generated diffusers checkpoint (safetensors) here")
    ap.add_argument("--fp16", action="store_true",
                    help="store weights as float16 (compute, inputs and outputs stay float32); halves the download")
    ap.add_argument("--height", type=int, help="default image height (pano: 512; tiny: 64)")
    ap.add_argument("--width", type=int, help="default image width (pano: 1024; tiny: 128)")
    ap.add_argument("--pipeline", default="ldm3d-pano", choices=sorted(PIPELINE_PRESETS))
    ap.add_argument("--license", help="override the license read from the checkpoint's README")
    ap.add_argument("--prompt-template",
                    help=f'(--model) manifest "prompt_template", with {{prompt}} for the user\'s words (default for '
                         f'LDM3D-pano: "{PANO_PROMPT_TEMPLATE}", the model card\'s usage; "" = none)')
    ap.add_argument("--opset", type=int, default=18)
    # mha is the default since the app self-tests the fused op on the user's GPU at load and picks a
    # subgroup setting that computes it right (src/runtime/attention-check.ts); on an H100 it makes
    # the UNet step 21 % faster and saves the 256 MiB score tensors (BENCHMARKS.md).
    ap.add_argument("--attention", default="mha", choices=["sliced", "default", "mha"],
                    help="mha: one com.microsoft.MultiHeadAttention per layer (onnxruntime contrib op, fused; "
                         "the default); sliced: query-sliced attention (plain ONNX ops, WebGPU-safe score sizes); "
                         "default: diffusers' own")
    ap.add_argument("--slice-limit-mib", type=float, help="max score tensor per attention slice (default 256)")
    ap.add_argument("--external-data", default="auto", choices=["auto", "always", "never"],
                    help="weights in model.onnx_data[_N] files; auto: graphs over 1 GiB of weights (the UNet)")
    ap.add_argument("--max-data-file-mib", type=int, default=DEFAULT_MAX_DATA_FILE_BYTES // 2**20,
                    help="split external data into files of at most this size (default 1024)")
    ap.add_argument("--sessions", default="text_encoder,unet,vae_decoder,vae_encoder",
                    help="comma-separated subset to export")
    ap.add_argument("--no-validate", action="store_true", help="skip the onnxruntime-vs-torch check")
    ap.add_argument("--deepcache", action="store_true",
                    help="DeepCache (arXiv 2312.00858, cache branch 0): the unet also returns deep_features and a "
                         "unet_shallow graph runs the steps between full ones (models/deepcache.py)")
    ap.add_argument("--wrap", action="store_true",
                    help="then pad every convolution's left/right edges from the opposite edge, switchable by a "
                         "circular_pad input (a seamless 360°: models/wrap_conv.py; issue 12)")
    args = ap.parse_args(argv)

    import torch

    torch.set_grad_enabled(False)
    sessions = tuple(s for s in args.sessions.split(",") if s)
    bad = set(sessions) - {"text_encoder", "unet", "vae_decoder", "vae_encoder"}
    if bad:
        ap.error(f"unknown sessions: {sorted(bad)}")
    preset = PIPELINE_PRESETS[args.pipeline]["image"]
    common = dict(
        out=args.out, pipeline=args.pipeline, fp16=args.fp16, opset=args.opset, attention=args.attention,
        external_data=args.external_data, max_data_file_bytes=args.max_data_file_mib * 2**20, sessions=sessions,
        validate=not args.no_validate, deepcache=args.deepcache)

    if args.tiny:
        import tiny

        sr = args.pipeline == "ldm3d-sr"
        model_id = f"tiny-random/{args.pipeline}"
        with tempfile.TemporaryDirectory(prefix="ldm3d-tiny-ckpt-") as tmp:
            ckpt = args.checkpoint_out or Path(tmp)
            (tiny.build_tiny_sr_checkpoint if sr else tiny.build_tiny_checkpoint)(ckpt)
            c = load_components(ckpt, model_id, None)
            o = ExportOptions(
                model_id=model_id, test_weights=True,
                height=args.height or (tiny.SR_SIZE if sr else tiny.HEIGHT),
                width=args.width or (tiny.SR_SIZE if sr else tiny.WIDTH),
                slice_limit_bytes=int((args.slice_limit_mib or tiny.SLICE_LIMIT_BYTES / 2**20) * 2**20),
                unet_data_files=2, **common)
            export(c, o)
            if args.goldens:
                if sr:
                    import goldens_sr

                    goldens_sr.make_all(ckpt, args.out, args.goldens)
                else:
                    import goldens

                    goldens.make_all(ckpt, args.out, args.goldens)
        if args.wrap:  # after the goldens: they are diffusers' unpatched pipeline (= circular_pad 0)
            wrap_in_place(args.out)
        return

    if args.random_full:
        import tiny

        # --pipeline ldm3d-sr: the inferred full-size LDM3D-SR (tiny.full_sr_configs), 512x512 by default
        sr = args.pipeline == "ldm3d-sr"
        c = tiny.build_random_full_sr_components() if sr else tiny.build_random_full_components()
        o = ExportOptions(
            model_id=f"random-full/{args.pipeline} (architecture only, random weights)", test_weights=True,
            height=args.height or preset["height"], width=args.width or preset["width"],
            slice_limit_bytes=int((args.slice_limit_mib or 256) * 2**20), **common)
        export(c, o)
        if args.wrap:
            wrap_in_place(args.out)
        return

    ckpt = resolve_checkpoint(args.model)
    c = load_components(ckpt, args.model, args.license)
    # the checkpoint's model_index decides the pipeline (Intel/ldm3d-sr -> ldm3d-sr)
    preset = PIPELINE_PRESETS[c.pipeline]["image"]
    common["pipeline"] = c.pipeline
    template = args.prompt_template if args.prompt_template is not None else (
        PANO_PROMPT_TEMPLATE if c.pipeline == "ldm3d-pano" else None)
    o = ExportOptions(
        model_id=args.model, test_weights=False, height=args.height or preset["height"],
        width=args.width or preset["width"], slice_limit_bytes=int((args.slice_limit_mib or 256) * 2**20),
        prompt_template=template or None, **common)
    export(c, o)
    if args.wrap:
        wrap_in_place(args.out)


def wrap_in_place(out: Path) -> None:
    """--wrap: models/wrap_conv.py on the finished export, replacing it (the manifest gains "wrap")."""
    import wrap_conv

    tmp = out.with_name(out.name + ".wrap-tmp")
    old = out.with_name(out.name + ".unwrapped-tmp")
    log(f"[wrap] horizontal wrap padding: {out}")
    wrap_conv.wrap_folder(out, tmp)
    if old.exists():
        shutil.rmtree(old)
    out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old)


if __name__ == "__main__":
    main()
