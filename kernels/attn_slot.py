"""Fused attention of one decoder step, the original fixed-slot kind: scores, softmax and context in one launch.

scores = W [e; h] + b with W (T, 2H), so the scores never look at the encoder outputs; the Linear, the
``torch.cat`` and the softmax are fused, over the online-softmax core of ``_common`` (one program per decoder
row, T walked in chunks). Writes the context (N, H) and the softmax weights (N, T); accumulates in fp32 whatever
the input dtype. The encoder outputs are read once, through their strides, so an expanded [T, B*K, H] view
(stride 0 across a beam) costs no copy. The twin is ``reference.attn_slot_ref``; the dispatcher
``ops.attn_slot``. Inference only: no backward kernel, so training stays on the reference path.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ._common import (
    attention_outputs,
    attn_blocks,
    check_dtype,
    check_shape,
    finish_attention,
    last_dim_contiguous,
    online_softmax_chunk,
)


@triton.jit
def _attn_slot_kernel(
    emb_ptr, hid_ptr, w_ptr, b_ptr, values_ptr, ctx_ptr, scores_ptr, weights_ptr,
    T, H, stride_en, stride_hn, stride_vt, stride_vn, stride_cn,
    BLOCK_T: tl.constexpr, BLOCK_H: tl.constexpr,
):
    n = tl.program_id(0).to(tl.int64)  # one decoder row (image x beam) per program
    values_row, scores_row = values_ptr + n * stride_vn, scores_ptr + n * T
    h = tl.arange(0, BLOCK_H)
    h_mask = h < H
    e = tl.load(emb_ptr + n * stride_en + h, mask=h_mask, other=0.0).to(tl.float32)
    q = tl.load(hid_ptr + n * stride_hn + h, mask=h_mask, other=0.0).to(tl.float32)
    m = tl.full((), -float("inf"), tl.float32)
    row_sum = tl.zeros((), tl.float32)
    acc = tl.zeros((BLOCK_H,), tl.float32)
    for t0 in range(0, T, BLOCK_T):
        t = t0 + tl.arange(0, BLOCK_T)
        t_mask = t < T
        tile = t[:, None] * (2 * H) + h[None, :]  # W [T, 2H]: columns :H see the embedding, H: the hidden
        tile_mask = t_mask[:, None] & h_mask[None, :]
        w_e = tl.load(w_ptr + tile, mask=tile_mask, other=0.0).to(tl.float32)
        w_h = tl.load(w_ptr + H + tile, mask=tile_mask, other=0.0).to(tl.float32)
        s = tl.sum(w_e * e[None, :] + w_h * q[None, :], axis=1)
        s += tl.load(b_ptr + t, mask=t_mask, other=0.0).to(tl.float32)
        s = tl.where(t_mask, s, -float("inf"))
        tl.store(scores_row + t, s, mask=t_mask)
        m, row_sum, acc = online_softmax_chunk(s, t, t_mask, values_row, stride_vt, h, h_mask, m, row_sum, acc)
    finish_attention(scores_row, weights_ptr + n * T, ctx_ptr + n * stride_cn, h, h_mask, m, row_sum, acc,
                     T, T, BLOCK_T)


def attn_slot_triton(embedded: torch.Tensor, hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                     values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(W [e; h] + b) over T slots and the context over values; see ``attn_slot_ref`` for the shapes.

    Every input is cast to ``values.dtype`` first (a no-op for a model run in one dtype).
    """
    op = "attn_slot"
    check_dtype(op, "values", values)
    T, N, H = values.shape
    check_shape(op, "embedded", embedded, (N, H))
    check_shape(op, "hidden", hidden, (N, H))
    check_shape(op, "weight", weight, (T, 2 * H))
    check_shape(op, "bias", bias, (T,))
    dtype = values.dtype
    emb, hid = last_dim_contiguous(embedded.to(dtype)), last_dim_contiguous(hidden.to(dtype))
    weight, bias = weight.to(dtype).contiguous(), bias.to(dtype).contiguous()
    values = last_dim_contiguous(values)
    ctx, weights, scores = attention_outputs(values)
    if N == 0:
        return ctx, weights
    block_t, block_h, num_warps = attn_blocks(H)
    _attn_slot_kernel[(N,)](
        emb, hid, weight, bias, values, ctx, scores, weights,
        T, H, emb.stride(0), hid.stride(0), values.stride(0), values.stride(1), ctx.stride(0),
        BLOCK_T=block_t, BLOCK_H=block_h, num_warps=num_warps,
    )
    return ctx, weights
