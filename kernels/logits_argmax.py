"""The greedy decoder's output head in one launch: logits = h W^T + b, log-softmax and argmax fused.

For each row it returns the best class and its log-probability, ``max_v logit_v - logsumexp_v logit_v``,
without writing the [rows, V] logits (5,991 classes x 4 bytes per row and step for the original model). V is
walked in BLOCK_V tiles with an online (running max, rescaled sum) logsumexp; H in BLOCK_K tiles of
``tl.dot``. Ties go to the lower class id (``tl.argmax`` breaks left inside a tile, and a later tile must be
strictly greater), as ``torch.max`` does in ``logits_argmax_ref``. fp32 uses ``input_precision="ieee"``
(TF32 could flip near-tied argmaxes); fp16/bf16 use the tensor cores with fp32 accumulation. Inference only.
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

from ._common import check_dtype, check_shape, head_blocks, last_dim_contiguous
from .gru_step import _dot_t, precision


@triton.jit
def _logits_argmax_kernel(
    h_ptr, w_ptr, b_ptr, idx_ptr, logp_ptr, n_rows, V, H, stride_hn,
    BLOCK_M: tl.constexpr, BLOCK_V: tl.constexpr, BLOCK_K: tl.constexpr, PRECISION: tl.constexpr,
    UPCAST: tl.constexpr,
):
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    row_mask = rows < n_rows
    run_max = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    run_sum = tl.zeros((BLOCK_M,), tl.float32)
    best_val = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    best_idx = tl.zeros((BLOCK_M,), tl.int64)
    for v0 in range(0, V, BLOCK_V):
        v = v0 + tl.arange(0, BLOCK_V)
        v_mask = v < V
        acc = tl.zeros((BLOCK_M, BLOCK_V), tl.float32)
        for k0 in range(0, H, BLOCK_K):
            k = k0 + tl.arange(0, BLOCK_K)
            k_mask = k < H
            a = tl.load(h_ptr + rows[:, None] * stride_hn + k[None, :], mask=row_mask[:, None] & k_mask[None, :],
                        other=0.0)
            w = tl.load(w_ptr + v[:, None].to(tl.int64) * H + k[None, :], mask=v_mask[:, None] & k_mask[None, :],
                        other=0.0)
            acc = _dot_t(a, w, acc, PRECISION, UPCAST)
        bias = tl.load(b_ptr + v, mask=v_mask, other=0.0).to(tl.float32)
        logits = tl.where(v_mask[None, :], acc + bias[None, :], float("-inf"))  # [BLOCK_M, BLOCK_V]
        tile_max = tl.max(logits, axis=1)
        tile_arg = tl.argmax(logits, axis=1, tie_break_left=True).to(tl.int64) + v0
        better = tile_max > best_val  # strict: an equal value in a later tile has a higher id
        best_idx = tl.where(better, tile_arg, best_idx)
        best_val = tl.where(better, tile_max, best_val)
        new_max = tl.maximum(run_max, tile_max)
        run_sum = run_sum * tl.exp(run_max - new_max) + tl.sum(tl.exp(logits - new_max[:, None]), axis=1)
        run_max = new_max
    tl.store(idx_ptr + rows, best_idx, mask=row_mask)
    tl.store(logp_ptr + rows, best_val - run_max - tl.log(run_sum), mask=row_mask)


def logits_argmax_triton(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor):
    """(best class [N] int64, its log-probability [N] float32) of ``log_softmax(h @ weight.T + bias)``."""
    op = "logits_argmax"
    check_dtype(op, "h", h)
    N, H = h.shape
    V = weight.shape[0]
    check_shape(op, "weight", weight, (V, H))
    check_shape(op, "bias", bias, (V,))
    dtype = h.dtype
    h = last_dim_contiguous(h)
    weight, bias = weight.to(dtype).contiguous(), bias.to(dtype).contiguous()
    idx = torch.empty(N, dtype=torch.int64, device=h.device)
    logp = torch.empty(N, dtype=torch.float32, device=h.device)
    if N == 0:
        return idx, logp
    block_m, block_v, block_k, num_warps = head_blocks(N)
    _logits_argmax_kernel[(triton.cdiv(N, block_m),)](
        h, weight, bias, idx, logp, N, V, H, h.stride(0),
        BLOCK_M=block_m, BLOCK_V=block_v, BLOCK_K=block_k, PRECISION=precision(dtype), num_warps=num_warps,
        UPCAST=dtype == torch.bfloat16 and os.environ.get("TRITON_INTERPRET", "0") == "1",
    )
    return idx, logp
