"""Fused additive attention of one decoder step: masked scores, softmax and context in one launch.

scores_t = v . tanh(keys_t + query), masked past each row's length (the chunks past the length are not even
read), over the online-softmax core of ``_common`` (one program per decoder row). Writes the context (N, H)
and the weights (N, T); accumulates in fp32. The twin is ``reference.attn_additive_ref``; the dispatcher
``ops.attn_additive``. Inference only: no backward kernel.
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
    tanh,
)


@triton.jit
def _attn_additive_kernel(
    keys_ptr, query_ptr, v_ptr, values_ptr, lengths_ptr, ctx_ptr, scores_ptr, weights_ptr,
    T, H, stride_kt, stride_kn, stride_qn, stride_vt, stride_vn, stride_cn,
    BLOCK_T: tl.constexpr, BLOCK_H: tl.constexpr,
):
    n = tl.program_id(0).to(tl.int64)
    values_row, scores_row = values_ptr + n * stride_vn, scores_ptr + n * T
    h = tl.arange(0, BLOCK_H)
    h_mask = h < H
    length = tl.minimum(tl.load(lengths_ptr + n).to(tl.int32), T)
    q = tl.load(query_ptr + n * stride_qn + h, mask=h_mask, other=0.0).to(tl.float32)
    v = tl.load(v_ptr + h, mask=h_mask, other=0.0).to(tl.float32)
    m = tl.full((), -float("inf"), tl.float32)
    row_sum = tl.zeros((), tl.float32)
    acc = tl.zeros((BLOCK_H,), tl.float32)
    for t0 in range(0, length, BLOCK_T):  # padded columns past the row's length are never read
        t = t0 + tl.arange(0, BLOCK_T)
        t_mask = t < length
        k = tl.load(keys_ptr + n * stride_kn + t.to(tl.int64)[:, None] * stride_kt + h[None, :],
                    mask=t_mask[:, None] & h_mask[None, :], other=0.0).to(tl.float32)
        s = tl.sum(tanh(k + q[None, :]) * v[None, :], axis=1)
        s = tl.where(t_mask, s, -float("inf"))
        tl.store(scores_row + t, s, mask=t_mask)
        m, row_sum, acc = online_softmax_chunk(s, t, t_mask, values_row, stride_vt, h, h_mask, m, row_sum, acc)
    finish_attention(scores_row, weights_ptr + n * T, ctx_ptr + n * stride_cn, h, h_mask, m, row_sum, acc,
                     length, T, BLOCK_T)


def attn_additive_triton(keys: torch.Tensor, query: torch.Tensor, v: torch.Tensor, values: torch.Tensor,
                         lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked softmax_t(v . tanh(keys_t + query)) and the context; ``attn_additive_ref`` has the shapes."""
    op = "attn_additive"
    check_dtype(op, "values", values)
    T, N, H = values.shape
    check_shape(op, "keys", keys, (T, N, H))
    check_shape(op, "query", query, (N, H))
    check_shape(op, "v", v, (H,))
    check_shape(op, "lengths", lengths, (N,))
    dtype = values.dtype
    keys, query = last_dim_contiguous(keys.to(dtype)), last_dim_contiguous(query.to(dtype))
    v, values = v.to(dtype).contiguous(), last_dim_contiguous(values)
    lengths = lengths.to(torch.int64).contiguous()
    ctx, weights, scores = attention_outputs(values)
    if N == 0:
        return ctx, weights
    block_t, block_h, num_warps = attn_blocks(H)
    _attn_additive_kernel[(N,)](
        keys, query, v, values, lengths, ctx, scores, weights,
        T, H, keys.stride(0), keys.stride(1), query.stride(0), values.stride(0), values.stride(1),
        ctx.stride(0),
        BLOCK_T=block_t, BLOCK_H=block_h, num_warps=num_warps,
    )
    return ctx, weights
