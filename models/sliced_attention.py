"""Attention for export: the same maths as diffusers' AttnProcessor, with the queries split.

Why: at 512×1024 the top UNet level attends over 8192 tokens, and the default attention builds a
[batch·heads, 8192, 8192] fp32 score tensor (4 GiB at batch 2). onnxruntime-web's WebGPU backend
fails on it (`SafeIntOnOverflow() Integer overflow`), and Dawn cannot bind a buffer over 2 GiB.
Splitting the queries into S slices makes S score tensors of 1/S the size; softmax is per query
row, so the result is the same up to float rounding.

S is chosen per attention layer, once, from a reference run at the export size (`plan_slices`),
and baked into the graph as a constant: the graph reshapes the queries to [BH, S, N/S, d], so at
run time N (= latent height × width at that level) must be divisible by S. S is a power of two;
at the default 256 MiB limit only the 8192-token self-attentions are split (S = 16), and any
latent size that is a multiple of 8 (image a multiple of 64 px, which the UNet needs anyway)
satisfies the constraint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class AttentionShape:
    batch_heads: int
    queries: int
    keys: int
    bytes_per_element: int

    @property
    def score_bytes(self) -> int:
        return self.batch_heads * self.queries * self.keys * self.bytes_per_element


def _project(attn, hidden_states, encoder_hidden_states, attention_mask, temb, split_heads=True):
    """The part of diffusers' AttnProcessor before the score product (models/attention_processor.py).

    split_heads=False keeps q/k/v as [B, N, heads·d] (the layout com.microsoft.MultiHeadAttention takes).
    """
    if attention_mask is not None:
        # Neither UNet2DConditionModel (text-to-image) nor AutoencoderKL passes a mask here.
        raise NotImplementedError("sliced attention export does not support attention masks")
    if getattr(attn, "norm_q", None) is not None or getattr(attn, "norm_k", None) is not None:
        raise NotImplementedError("sliced attention export does not support q/k norms")
    if attn.spatial_norm is not None:
        hidden_states = attn.spatial_norm(hidden_states, temb)
    input_ndim = hidden_states.ndim
    shape4 = None
    if input_ndim == 4:
        b, c, h, w = hidden_states.shape
        shape4 = (b, c, h, w)
        hidden_states = hidden_states.view(b, c, h * w).transpose(1, 2)
    if attn.group_norm is not None:
        hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
    query = attn.to_q(hidden_states)
    if encoder_hidden_states is None:
        encoder_hidden_states = hidden_states
    elif attn.norm_cross:
        encoder_hidden_states = attn.norm_encoder_hidden_states(encoder_hidden_states)
    key = attn.to_k(encoder_hidden_states)
    value = attn.to_v(encoder_hidden_states)
    if not split_heads:
        return query, key, value, shape4
    query = attn.head_to_batch_dim(query)
    key = attn.head_to_batch_dim(key)
    value = attn.head_to_batch_dim(value)
    return query, key, value, shape4


def _finish(attn, hidden_states, residual, shape4, merge_heads=True):
    if merge_heads:
        hidden_states = attn.batch_to_head_dim(hidden_states)
    hidden_states = attn.to_out[0](hidden_states)
    hidden_states = attn.to_out[1](hidden_states)
    if shape4 is not None:
        b, c, h, w = shape4
        hidden_states = hidden_states.transpose(-1, -2).reshape(b, c, h, w)
    if attn.residual_connection:
        hidden_states = hidden_states + residual
    return hidden_states / attn.rescale_output_factor


def _attend(attn, query, key, value):
    dtype = query.dtype
    if attn.upcast_attention:
        query = query.float()
        key = key.float()
    # Scaling q (N×d) instead of the scores (N×M): fewer multiplies, same maths.
    scores = torch.bmm(query * attn.scale, key.transpose(-1, -2))
    if attn.upcast_softmax:
        scores = scores.float()
    return torch.bmm(scores.softmax(dim=-1).to(dtype), value)


class QuerySlicedAttnProcessor:
    """diffusers attention processor computing softmax(q kᵀ·scale) v in `slices` query slices."""

    def __init__(self, slices: int = 1):
        if slices < 1:
            raise ValueError("slices must be >= 1")
        self.slices = slices

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, *args, **kwargs):
        residual = hidden_states
        query, key, value, shape4 = _project(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        if self.slices == 1:
            out = _attend(attn, query, key, value)
        else:
            bh, _, d = query.shape
            # [BH, N, d] → [BH, S, N/S, d]: one Reshape, then S static Gathers; no shape arithmetic
            # in the graph beyond the -1, so the graph stays valid for every N divisible by S.
            q = query.reshape(bh, self.slices, -1, d)
            parts = [_attend(attn, q[:, i], key, value) for i in range(self.slices)]
            out = torch.stack(parts, dim=1).reshape(bh, -1, value.shape[-1])
        return _finish(attn, out, residual, shape4)


class MultiHeadAttnProcessor:
    """diffusers attention processor that exports as one com.microsoft.MultiHeadAttention node.

    Why: the sliced MatMul–Softmax–MatMul chains write every [BH, N/S, M] score tensor to GPU memory
    and read it back (about half of a 512×1024 UNet step on WebGPU); onnxruntime's fused contrib op
    (CPU, CUDA, WebGPU EPs) never materialises the full score matrix. Inputs are the projected
    q/k/v as [B, N, heads·d] with `num_heads` and `scale` attributes; its output is already
    [B, N, heads·d] (heads merged). Outside an ONNX export the same maths runs in torch, so the
    module stays usable as a reference.
    """

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, *args, **kwargs):
        residual = hidden_states
        query, key, value, shape4 = _project(
            attn, hidden_states, encoder_hidden_states, attention_mask, temb, split_heads=False)
        if attn.upcast_attention or attn.upcast_softmax:
            # The contrib op computes in the input dtype; fp32 export (what we ship) is unaffected.
            if query.dtype != torch.float32:
                raise NotImplementedError("mha export of upcast attention needs float32 inputs")
        if torch.onnx.is_in_onnx_export():
            out = torch.onnx.ops.symbolic(
                "com.microsoft::MultiHeadAttention",
                (query, key, value),
                {"num_heads": int(attn.heads), "scale": float(attn.scale)},
                dtype=query.dtype,
                shape=(query.shape[0], query.shape[1], value.shape[2]),
                version=1,
            )
        else:
            out = attn.batch_to_head_dim(_attend(
                attn, attn.head_to_batch_dim(query), attn.head_to_batch_dim(key), attn.head_to_batch_dim(value)))
        return _finish(attn, out, residual, shape4, merge_heads=False)


def install_mha_attention(model: torch.nn.Module) -> list[dict]:
    """Every attention layer of `model` → MultiHeadAttnProcessor; returns a plan for the export report."""
    names = list(model.attn_processors.keys())
    model.set_attn_processor({n: MultiHeadAttnProcessor() for n in names})
    return [{"layer": n.removesuffix(".processor"), "op": "com.microsoft.MultiHeadAttention"} for n in names]


class _ShapeRecorder:
    def __init__(self, name: str, log: dict[str, AttentionShape]):
        self.name = name
        self.log = log

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, *args, **kwargs):
        residual = hidden_states
        query, key, value, shape4 = _project(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        elt = 4 if (attn.upcast_attention or attn.upcast_softmax) else query.element_size()
        self.log[self.name] = AttentionShape(query.shape[0], query.shape[1], key.shape[1], max(elt, query.element_size()))
        return _finish(attn, _attend(attn, query, key, value), residual, shape4)


def slices_for(shape: AttentionShape, limit_bytes: int) -> int:
    """Smallest power of two S dividing the query count with score_bytes / S <= limit."""
    s = 1
    while shape.score_bytes / s > limit_bytes:
        s *= 2
        if shape.queries % s != 0:
            raise ValueError(
                f"cannot split {shape.queries} queries into {s} equal slices to get under {limit_bytes} bytes"
            )
    return s


def plan_slices(model: torch.nn.Module, run_reference, limit_bytes: int) -> dict[str, tuple[AttentionShape, int]]:
    """Runs `run_reference()` once with shape recorders, returns {processor name: (shape, slices)}."""
    names = list(model.attn_processors.keys())
    log: dict[str, AttentionShape] = {}
    model.set_attn_processor({n: _ShapeRecorder(n, log) for n in names})
    with torch.no_grad():
        run_reference()
    missing = [n for n in names if n not in log]
    if missing:
        raise RuntimeError(f"reference run did not reach attention layers: {missing}")
    return {n: (log[n], slices_for(log[n], limit_bytes)) for n in names}


def install_sliced_attention(model: torch.nn.Module, plan: dict[str, tuple[AttentionShape, int]]) -> None:
    model.set_attn_processor({n: QuerySlicedAttnProcessor(s) for n, (_, s) in plan.items()})


def describe_plan(plan: dict[str, tuple[AttentionShape, int]]) -> list[dict]:
    return [
        {
            "layer": n.removesuffix(".processor"),
            "batch_heads": sh.batch_heads,
            "queries": sh.queries,
            "keys": sh.keys,
            "score_mib_unsliced": round(sh.score_bytes / 2**20, 3),
            "slices": s,
            "score_mib_per_slice": round(sh.score_bytes / s / 2**20, 3),
        }
        for n, (sh, s) in plan.items()
    ]


def max_slice_score_bytes(plan: dict[str, tuple[AttentionShape, int]]) -> int:
    return max((math.ceil(sh.score_bytes / s) for sh, s in plan.values()), default=0)
