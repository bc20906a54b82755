"""Fused attention for one decoder step: scores, (masked) softmax and context in a single launch.

Two scorers share one online-softmax core (one program per decoder row, T walked in chunks):
  * ``_attn_slot_kernel``: the original fixed-slot attention. scores = W [e; h] + b with W (T, 2H), so the
    scores never look at the encoder outputs; the Linear, the ``torch.cat`` and the softmax are fused.
  * ``_attn_additive_kernel``: additive attention, scores_t = v . tanh(keys_t + query), masked past each
    row's length (the chunks past the length are not even read).
Both write the context (N, H) and the softmax weights (N, T). Everything accumulates in fp32 whatever the
input dtype. The encoder outputs are read once, through their strides, so an expanded [T, B*K, H] view
(stride 0 across a beam) costs no copy. The twins are ``attn_slot_ref`` / ``attn_additive_ref`` in
``fastocr/reference.py``. Inference only: no backward kernel, so training stays on the reference path.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ._common import attn_blocks, check_dtype, check_shape, last_dim_contiguous, tanh


@triton.jit
def _online_softmax_chunk(s, t, t_mask, values_row, stride_vt, h, h_mask, m, row_sum, acc):
    """Folds one chunk of raw scores s [BLOCK_T] (-inf where masked) into the running max m, the running
    sum row_sum and the unnormalised context acc [BLOCK_H] (flash-attention's rescaling, relative to
    exp(m))."""
    m_new = tl.maximum(m, tl.max(s, axis=0))
    alpha = tl.exp(m - m_new)  # 0 on the first chunk (m = -inf); every row has >= 1 valid column
    p = tl.exp(s - m_new)
    vals = tl.load(values_row + t.to(tl.int64)[:, None] * stride_vt + h[None, :],  # T*N*H may pass 2**31
                   mask=t_mask[:, None] & h_mask[None, :], other=0.0).to(tl.float32)
    return m_new, row_sum * alpha + tl.sum(p, axis=0), acc * alpha + tl.sum(p[:, None] * vals, axis=0)


@triton.jit
def _finish(scores_row, weights_row, ctx_row, h, h_mask, m, row_sum, acc, length, T,
            BLOCK_T: tl.constexpr):
    """Writes the context and normalises the raw scores kept in scores_row into weights (0 past length)."""
    tl.store(ctx_row + h, (acc / row_sum).to(ctx_row.dtype.element_ty), mask=h_mask)
    tl.debug_barrier()  # the raw scores were stored by other threads of this program
    for t0 in range(0, T, BLOCK_T):
        t = t0 + tl.arange(0, BLOCK_T)
        s = tl.load(scores_row + t, mask=t < length, other=-float("inf"))
        tl.store(weights_row + t, (tl.exp(s - m) / row_sum).to(weights_row.dtype.element_ty), mask=t < T)


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
        m, row_sum, acc = _online_softmax_chunk(s, t, t_mask, values_row, stride_vt, h, h_mask,
                                                m, row_sum, acc)
    _finish(scores_row, weights_ptr + n * T, ctx_ptr + n * stride_cn, h, h_mask, m, row_sum, acc, T, T,
            BLOCK_T)


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
        m, row_sum, acc = _online_softmax_chunk(s, t, t_mask, values_row, stride_vt, h, h_mask,
                                                m, row_sum, acc)
    _finish(scores_row, weights_ptr + n * T, ctx_ptr + n * stride_cn, h, h_mask, m, row_sum, acc, length, T,
            BLOCK_T)


def _outputs(values: torch.Tensor):
    """context (N, H) and weights (N, T) in the values' dtype, plus the fp32 scratch for the raw scores.

    The scratch is never the weights tensor, even in fp32: a [BLOCK_T] vector is replicated across warps, so
    normalising in place would let one warp's store overtake another warp's load of the same score.
    """
    T, N, H = values.shape
    return values.new_empty(N, H), values.new_empty(N, T), values.new_empty(N, T, dtype=torch.float32)


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
    ctx, weights, scores = _outputs(values)
    if N == 0:
        return ctx, weights
    block_t, block_h, num_warps = attn_blocks(H)
    _attn_slot_kernel[(N,)](
        emb, hid, weight, bias, values, ctx, scores, weights,
        T, H, emb.stride(0), hid.stride(0), values.stride(0), values.stride(1), ctx.stride(0),
        BLOCK_T=block_t, BLOCK_H=block_h, num_warps=num_warps,
    )
    return ctx, weights


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
    ctx, weights, scores = _outputs(values)
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
