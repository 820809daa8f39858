"""DeepCache (Ma, Fang, Wang: arXiv 2312.00858) for the export: the UNet split into a full graph that
also returns the cached "deep features", and a shallow graph that runs only the outermost layer.

The reference is the authors' own code, horseee/DeepCache `DeepCache/extension/deepcache.py`, class
DeepCacheSDHelper (never committed here; `load_helper_class` imports that one file by path so the
package's __init__, which imports the authors' old SD pipelines, is not executed). What it does, read
from that file and from diffusers 0.40's UNet2DConditionModel.forward / CrossAttnUpBlock2D / UpBlock2D:

With set_params(cache_interval=N, cache_branch_id=0) (→ cache_layer_id = 0 % 3 = 0, cache_block_id =
0 // 3 = 0, skip_mode 'uniform') the helper replaces the `forward` of every down block and its
resnets/attentions/downsamplers, of the mid block, and of every up block and its resnets/attentions/
upsamplers by a wrapper that either calls the original and stores its result, or returns the result
stored at the last call that ran it. The UNet's own forward is wrapped to set
    cur = list(pipe.scheduler.timesteps).index(t.item())        (the FIRST entry equal to t)
and the first wrapped block call of the helper's life sets start = cur. A UNet call is "full" when
(cur - start) % N == 0: every wrapper runs its module and caches. Otherwise (is_skip_step):
  * down blocks (block_i >= 0 = cache_block_id, layer >= 0) and the mid block: cached; a down block's
    wrapper is the outermost, so its cached (hidden_states, res_samples) tuple comes back whole;
  * up blocks are numbered from the output side (block_i = len(up_blocks) - 1 - i): every up block but
    the last has block_i > 0 → cached. In up_blocks[-1] (block_i 0) layers are numbered from the output
    side too (layer = len(resnets) - 1 - j) and skipped when layer > cache_layer_id = 0: every
    resnet/attention but the LAST is cached, the block's own wrapper (layer 0) runs the block's forward;
  * not wrapped, so they always run: time embedding (with this call's t), conv_in, conv_norm_out,
    conv_act, conv_out.
Inside up_blocks[-1].forward on such a call, layer j < last returns cached values whatever its input,
so the last layer gets hidden = the cached output of attentions[-2] (resnets[-2] when the block has no
attentions; the block's input when it has one layer, which is then up_blocks[-2]'s cached output) and
the skip popped last from res_hidden_states_tuple. UNet2DConditionModel.forward hands each up block
down_block_res_samples[-len(resnets):] and truncates the tuple, and each block pops from the END of
its tuple, so up_blocks[-1].resnets[-1] pops down_block_res_samples[0] = conv_in(sample) of THIS call
(the tuple starts as (conv_in output,); the cached down blocks only supply the later entries). The
shallow step is therefore
    conv_out(act(norm(attentions[-1](resnets[-1](cat(deep, conv_in(sample)), temb(t)), ehs))))
with `deep` the tensor entering that last layer at the last full call, before the concatenation.
goldens_deepcache.py checks both facts on the authors' run (skip == conv_in output, deep reused
bit-exactly) with forward hooks on modules the helper does not wrap.

Subtleties (all reproduced by `full_steps`):
  * the step index is list.index's FIRST occurrence, not the loop counter: PNDM (skip_prk_steps) repeats
    its second timestep, e.g. 5 steps → timesteps [801, 601, 601, 401, 201, 1] → indices
    [0, 1, 1, 3, 4, 5]; with N = 2 the calls are full, shallow, shallow, shallow, full, shallow (the
    loop counter would give full/shallow alternating);
  * `start` is set once per enable() (reset_states), not per pipeline call; a pipeline's first call
    has index 0, so each generation starts with a full call either way;
  * with classifier-free guidance the UNet runs once on the batch of 2 (negative ‖ prompt): the cached
    deep features hold both halves; a caller that splits guidance into two batch-1 calls must cache
    one deep-feature tensor per half;
  * N = 1 makes every call full: the output equals the plain pipeline's (checked by the goldens).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Any

REFERENCE = "horseee/DeepCache DeepCacheSDHelper"
CACHE_BRANCH_ID = 0
DEFAULT_SRC = os.environ.get("DEEPCACHE_SRC", "/tmp/py/DeepCache")
FLOPS_METHOD = ("torch.utils.flop_counter.FlopCounterMode on the PyTorch modules (convolutions, matmuls and "
                "attention products; normalisations and elementwise ops are not counted), batch 1, the export's "
                "default size")


def helper_path(src: str | Path | None = None) -> Path:
    return Path(src or DEFAULT_SRC) / "extension" / "deepcache.py"


def load_helper_class(src: str | Path | None = None):
    """(DeepCacheSDHelper, path, sha256 of the file): the authors' file, imported by path only."""
    path = helper_path(src)
    if not path.is_file():
        raise SystemExit(f"DeepCache reference not found at {path}: set DEEPCACHE_SRC (or --deepcache-src) to the "
                         "folder holding horseee/DeepCache's DeepCache/ package (the one with extension/deepcache.py)")
    spec = importlib.util.spec_from_file_location("horseee_deepcache_extension_deepcache", path)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod.DeepCacheSDHelper, path, hashlib.sha256(path.read_bytes()).hexdigest()


def step_indices(timesteps: list) -> list[int]:
    """The helper's cur_timestep for each UNet call: list(timesteps).index(t), the first occurrence."""
    ts = list(timesteps)
    return [ts.index(t) for t in ts]


def full_steps(timesteps: list, interval: int) -> list[bool]:
    """True where the UNet call runs the whole UNet (the helper's is_skip_step is False), per entry."""
    if interval < 1:
        raise ValueError("cache interval must be >= 1")
    idx = step_indices(timesteps)
    start = idx[0]
    return [(i - start) % interval == 0 for i in idx]


# --------------------------------------------------------------------------------------------
# The UNet split (torch)
# --------------------------------------------------------------------------------------------


def last_block_layers(unet) -> list[tuple[Any, Any]]:
    """(resnet, attention or None) per layer of up_blocks[-1], in forward order."""
    blk = unet.up_blocks[-1]
    attns = getattr(blk, "attentions", None)
    if attns is not None and len(attns) != len(blk.resnets):
        raise SystemExit(f"up_blocks[-1] has {len(blk.resnets)} resnets but {len(attns)} attentions")
    return [(r, attns[j] if attns is not None else None) for j, r in enumerate(blk.resnets)]


def check_unet(unet) -> None:
    """The configurations the split reproduces exactly (LDM3D-pano's SD-1.x UNet and the tiny one)."""
    cfg = unet.config
    problems = []
    blk = unet.up_blocks[-1]
    if getattr(blk, "upsamplers", None) is not None:
        problems.append("up_blocks[-1] has upsamplers")
    if any(getattr(blk, a, None) for a in ("s1", "s2", "b1", "b2")):
        problems.append("FreeU is enabled on up_blocks[-1]")
    if getattr(unet, "class_embedding", None) is not None:
        problems.append("class embedding (class_labels input): --deepcache supports the pano UNet only")
    if getattr(cfg, "addition_embed_type", None) is not None:
        problems.append(f"addition_embed_type={cfg.addition_embed_type!r}")
    if getattr(unet, "encoder_hid_proj", None) is not None:
        problems.append("encoder_hid_proj")
    if getattr(cfg, "time_cond_proj_dim", None) is not None:
        problems.append("time_cond_proj_dim")
    if len(blk.resnets) < 1:
        problems.append("up_blocks[-1] has no resnets")
    if problems:
        raise SystemExit("--deepcache: unsupported UNet: " + "; ".join(problems))
    last_block_layers(unet)


def deep_channels(unet) -> int:
    """Channels of deep_features: the last resnet's input is cat(deep, conv_in output)."""
    return int(unet.up_blocks[-1].resnets[-1].in_channels) - int(unet.conv_in.out_channels)


def _time_embedding(m, sample, timestep):
    """UNet2DConditionModel.get_time_embed + time_embedding (+ time_embed_act), for a tensor timestep."""
    t = timestep[None] if timestep.dim() == 0 else timestep
    t = t.expand(sample.shape[0])
    emb = m.time_proj(t).to(dtype=sample.dtype)
    emb = m.time_embedding(emb, None)
    if m.time_embed_act is not None:
        emb = m.time_embed_act(emb)
    return emb


def _last_layer(resnet, attn, deep, skip, temb, encoder_hidden_states):
    """One layer of an up block as CrossAttnUpBlock2D / UpBlock2D.forward runs it (no FreeU)."""
    import torch

    h = torch.cat([deep, skip], dim=1)
    h = resnet(h, temb)
    if attn is not None:
        h = attn(h, encoder_hidden_states=encoder_hidden_states, cross_attention_kwargs=None, attention_mask=None,
                 encoder_attention_mask=None, return_dict=False)[0]
    return h


def _head(m, h):
    if m.conv_norm_out is not None:
        h = m.conv_norm_out(h)
        h = m.conv_act(h)
    return m.conv_out(h)


def modules():
    """(DeepCacheUNet, DeepCacheShallow, DeepCacheReference) torch module classes."""
    import torch

    class DeepCacheUNet(torch.nn.Module):
        """UNet2DConditionModel.forward (the text-to-image subset the export uses), returning
        (out_sample, deep_features): the tensor that enters up_blocks[-1]'s last layer before the cat."""

        def __init__(self, unet):
            super().__init__()
            check_unet(unet)
            self.unet = unet

        def forward(self, sample, timestep, encoder_hidden_states):
            u = self.unet
            factor = 2 ** u.num_upsamplers
            forward_upsample_size = False
            upsample_size = None
            for dim in sample.shape[-2:]:
                if dim % factor != 0:
                    forward_upsample_size = True
                    break
            if u.config.center_input_sample:
                sample = 2 * sample - 1.0
            emb = _time_embedding(u, sample, timestep)
            ehs = encoder_hidden_states
            h = u.conv_in(sample)
            res = (h,)
            for blk in u.down_blocks:
                if getattr(blk, "has_cross_attention", False):
                    h, r = blk(hidden_states=h, temb=emb, encoder_hidden_states=ehs, attention_mask=None,
                               cross_attention_kwargs=None, encoder_attention_mask=None)
                else:
                    h, r = blk(hidden_states=h, temb=emb)
                res += r
            if u.mid_block is not None:
                if getattr(u.mid_block, "has_cross_attention", False):
                    h = u.mid_block(h, emb, encoder_hidden_states=ehs, attention_mask=None, cross_attention_kwargs=None,
                                    encoder_attention_mask=None)
                else:
                    h = u.mid_block(h, emb)
            for blk in u.up_blocks[:-1]:
                res_samples = res[-len(blk.resnets):]
                res = res[:-len(blk.resnets)]
                if forward_upsample_size:
                    upsample_size = res[-1].shape[2:]
                if getattr(blk, "has_cross_attention", False):
                    h = blk(hidden_states=h, temb=emb, res_hidden_states_tuple=res_samples, encoder_hidden_states=ehs,
                            cross_attention_kwargs=None, upsample_size=upsample_size, attention_mask=None,
                            encoder_attention_mask=None)
                else:
                    h = blk(hidden_states=h, temb=emb, res_hidden_states_tuple=res_samples, upsample_size=upsample_size)
            # up_blocks[-1], layer by layer (its upsamplers are None: check_unet)
            layers = last_block_layers(u)
            res_samples = res[-len(layers):]
            deep = h  # with one layer: the block's input
            for resnet, attn in layers:
                skip = res_samples[-1]
                res_samples = res_samples[:-1]
                deep = h  # after the loop: what entered the last layer
                h = _last_layer(resnet, attn, h, skip, emb, ehs)
            return _head(u, h), deep

    class DeepCacheShallow(torch.nn.Module):
        """A DeepCache step that is not a full one: time embedding, conv_in, the last layer of
        up_blocks[-1] on cat(deep_features, conv_in output), the output head. Holds only those
        modules, so the exported graph carries only their weights."""

        def __init__(self, unet):
            super().__init__()
            check_unet(unet)
            self.time_proj = unet.time_proj
            self.time_embedding = unet.time_embedding
            self.time_embed_act = unet.time_embed_act
            self.conv_in = unet.conv_in
            resnet, attn = last_block_layers(unet)[-1]
            self.resnet = resnet
            self.attention = attn
            self.conv_norm_out = unet.conv_norm_out
            self.conv_act = unet.conv_act
            self.conv_out = unet.conv_out
            self.center_input_sample = bool(unet.config.center_input_sample)

        def forward(self, sample, timestep, encoder_hidden_states, deep_features):
            if self.center_input_sample:
                sample = 2 * sample - 1.0
            emb = _time_embedding(self, sample, timestep)
            h = _last_layer(self.resnet, self.attention, deep_features, self.conv_in(sample), emb, encoder_hidden_states)
            return _head(self, h)

    class DeepCacheReference(torch.nn.Module):
        """diffusers' own UNet forward; deep_features read by a pre-hook on up_blocks[-1].resnets[-1]
        (its input is cat(deep, skip)). `last_skip_error` = max|skip - conv_in output| of the last call:
        0 confirms that the skip of the last layer is conv_in's output."""

        def __init__(self, unet):
            super().__init__()
            check_unet(unet)
            self.unet = unet
            self.channels = deep_channels(unet)
            self.last_skip_error = float("nan")

        def forward(self, sample, timestep, encoder_hidden_states):
            seen: dict[str, Any] = {}

            def pre_last(_m, args):
                seen["x"] = args[0]

            def post_conv_in(_m, _a, out):
                seen["conv_in"] = out

            h1 = self.unet.up_blocks[-1].resnets[-1].register_forward_pre_hook(pre_last)
            h2 = self.unet.conv_in.register_forward_hook(post_conv_in)
            try:
                out = self.unet(sample, timestep, encoder_hidden_states, return_dict=False)[0]
            finally:
                h1.remove()
                h2.remove()
            x = seen["x"]
            self.last_skip_error = float((x[:, self.channels:] - seen["conv_in"]).abs().max())
            return out, x[:, :self.channels]

    return DeepCacheUNet, DeepCacheShallow, DeepCacheReference


def flop_counts(unet, lh: int, lw: int, seq: int, hidden: int) -> dict:
    """FLOPs of one full UNet call (diffusers' forward) and one shallow call, batch 1, lh×lw latents.

    Attention runs as explicit matmuls while counting (QuerySlicedAttnProcessor with one slice: the same
    products as diffusers' AttnProcessor), since the flop counter may not know every fused SDPA kernel;
    the UNet's own processors are put back afterwards.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from sliced_attention import QuerySlicedAttnProcessor

    _, DeepCacheShallow, _ = modules()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, unet.config.in_channels, lh, lw, generator=g)
    t = torch.tensor(500.0)
    ehs = torch.randn(1, seq, hidden, generator=g)
    deep = torch.zeros(1, deep_channels(unet), lh, lw)
    saved = dict(unet.attn_processors)
    unet.set_attn_processor({n: QuerySlicedAttnProcessor(1) for n in saved})
    try:
        with torch.no_grad():
            with FlopCounterMode(display=False) as fc:
                unet(x, t, ehs, return_dict=False)
            full = int(fc.get_total_flops())
            with FlopCounterMode(display=False) as fc:
                DeepCacheShallow(unet)(x, t, ehs, deep)
            shallow = int(fc.get_total_flops())
    finally:
        unet.set_attn_processor(saved)
    return {"full_flops": full, "shallow_flops": shallow, "shallow_share": shallow / full if full else float("nan"),
            "latent": [lh, lw], "batch": 1, "method": FLOPS_METHOD}
