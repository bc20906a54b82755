"""One GRU step in one launch: both projections (as tl.dot tiles) and the r/z/n gates fused.

PyTorch's GRU (gate order r, z, n in the rows of W_ih (3H, I) and W_hh (3H, H)):
    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)        z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))     h' = (1 - z) * n + z * h
A program owns BLOCK_M rows x BLOCK_J hidden units and keeps four fp32 accumulators (r and z sum both
projections; the n gate keeps them apart because r scales only the hidden part), so the 3H-wide gate
pre-activations never reach memory. Eager PyTorch needs two GEMMs and a fused cell (cuDNN: more) for this.

fp32 operands use ``input_precision="ieee"``: TF32's 10-bit mantissa would put ~1e-3 relative error into
every step's pre-activations, and greedy strings must match the reference. fp16/bf16 use the tensor cores
with fp32 accumulation. The twin is ``gru_step_ref`` in ``fastocr/reference.py``. Inference only.
"""

from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

from ._common import check_dtype, check_shape, gru_blocks, last_dim_contiguous, tanh


@triton.jit
def _dot_t(a, w, acc, PRECISION: tl.constexpr, UPCAST: tl.constexpr):
    """acc + a @ w^T. UPCAST (interpreter + bf16 only) multiplies in fp32: triton's interpreter multiplies the
    raw bit patterns of bf16 dot operands (triton-lang/triton#11584, unfixed in 3.8). bf16 products are
    exact in fp32, so this is the tensor cores' arithmetic, not a looser test."""
    if UPCAST:
        a, w = a.to(tl.float32), w.to(tl.float32)
    return tl.dot(a, tl.trans(w), acc, input_precision=PRECISION)


@triton.jit
def _gate_dots(a_ptr, stride_an, w_ptr, rows, row_mask, cols, col_mask, K, H, acc_r, acc_z, acc_n,
               BLOCK_K: tl.constexpr, PRECISION: tl.constexpr, UPCAST: tl.constexpr):
    """acc_g += A[rows, :K] @ W[g*H + cols, :K]^T for g = r, z, n; W is row-major (3H, K)."""
    for k0 in range(0, K, BLOCK_K):
        k = k0 + tl.arange(0, BLOCK_K)
        k_mask = k < K
        a = tl.load(a_ptr + rows[:, None] * stride_an + k[None, :], mask=row_mask[:, None] & k_mask[None, :],
                    other=0.0)
        w_tile = cols[:, None] * K + k[None, :]  # [BLOCK_J, BLOCK_K], contiguous along k
        w_mask = col_mask[:, None] & k_mask[None, :]
        w_r = tl.load(w_ptr + w_tile, mask=w_mask, other=0.0)
        w_z = tl.load(w_ptr + H * K + w_tile, mask=w_mask, other=0.0)
        w_n = tl.load(w_ptr + 2 * H * K + w_tile, mask=w_mask, other=0.0)
        acc_r = _dot_t(a, w_r, acc_r, PRECISION, UPCAST)
        acc_z = _dot_t(a, w_z, acc_z, PRECISION, UPCAST)
        acc_n = _dot_t(a, w_n, acc_n, PRECISION, UPCAST)
    return acc_r, acc_z, acc_n


@triton.jit
def _gru_step_kernel(
    x_ptr, h_ptr, w_ih_ptr, w_hh_ptr, b_ih_ptr, b_hh_ptr, out_ptr,
    n_rows, K_IN, H, stride_xn, stride_hn, stride_on,
    BLOCK_M: tl.constexpr, BLOCK_J: tl.constexpr, BLOCK_K: tl.constexpr, PRECISION: tl.constexpr,
    UPCAST: tl.constexpr,
):
    rows = tl.program_id(0).to(tl.int64) * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tl.program_id(1) * BLOCK_J + tl.arange(0, BLOCK_J)
    row_mask, col_mask = rows < n_rows, cols < H
    acc_r = tl.zeros((BLOCK_M, BLOCK_J), tl.float32)
    acc_z = tl.zeros((BLOCK_M, BLOCK_J), tl.float32)
    acc_in = tl.zeros((BLOCK_M, BLOCK_J), tl.float32)
    acc_hn = tl.zeros((BLOCK_M, BLOCK_J), tl.float32)
    acc_r, acc_z, acc_in = _gate_dots(x_ptr, stride_xn, w_ih_ptr, rows, row_mask, cols, col_mask, K_IN, H,
                                      acc_r, acc_z, acc_in, BLOCK_K, PRECISION, UPCAST)
    acc_r, acc_z, acc_hn = _gate_dots(h_ptr, stride_hn, w_hh_ptr, rows, row_mask, cols, col_mask, H, H,
                                      acc_r, acc_z, acc_hn, BLOCK_K, PRECISION, UPCAST)
    b_r = tl.load(b_ih_ptr + cols, mask=col_mask, other=0.0).to(tl.float32)
    b_r += tl.load(b_hh_ptr + cols, mask=col_mask, other=0.0).to(tl.float32)
    b_z = tl.load(b_ih_ptr + H + cols, mask=col_mask, other=0.0).to(tl.float32)
    b_z += tl.load(b_hh_ptr + H + cols, mask=col_mask, other=0.0).to(tl.float32)
    b_in = tl.load(b_ih_ptr + 2 * H + cols, mask=col_mask, other=0.0).to(tl.float32)
    b_hn = tl.load(b_hh_ptr + 2 * H + cols, mask=col_mask, other=0.0).to(tl.float32)
    r = tl.sigmoid(acc_r + b_r[None, :])
    z = tl.sigmoid(acc_z + b_z[None, :])
    n = tanh(acc_in + b_in[None, :] + r * (acc_hn + b_hn[None, :]))
    mask = row_mask[:, None] & col_mask[None, :]
    h_prev = tl.load(h_ptr + rows[:, None] * stride_hn + cols[None, :], mask=mask, other=0.0).to(tl.float32)
    h_new = n + z * (h_prev - n)  # = (1 - z) * n + z * h, in ATen's GRUCell order
    out = out_ptr + rows[:, None] * stride_on + cols[None, :]
    tl.store(out, h_new.to(out_ptr.dtype.element_ty), mask=mask)


def gru_step_triton(x: torch.Tensor, h: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor,
                    b_ih: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    """The next hidden state (N, H) of one GRU step; see ``gru_step_ref`` for the shapes.

    Weights and biases are cast to ``x.dtype`` first (a no-op for a model run in one dtype).
    """
    op = "gru_step"
    check_dtype(op, "x", x)
    N, K_in = x.shape
    H = h.shape[-1]
    check_shape(op, "h", h, (N, H))
    check_shape(op, "w_ih", w_ih, (3 * H, K_in))
    check_shape(op, "w_hh", w_hh, (3 * H, H))
    check_shape(op, "b_ih", b_ih, (3 * H,))
    check_shape(op, "b_hh", b_hh, (3 * H,))
    dtype = x.dtype
    x, h = last_dim_contiguous(x), last_dim_contiguous(h.to(dtype))
    w_ih, w_hh = w_ih.to(dtype).contiguous(), w_hh.to(dtype).contiguous()
    b_ih, b_hh = b_ih.to(dtype).contiguous(), b_hh.to(dtype).contiguous()
    out = x.new_empty(N, H)
    if N == 0:
        return out
    block_m, block_j, block_k, num_warps = gru_blocks(N)
    grid = (triton.cdiv(N, block_m), triton.cdiv(H, block_j))
    _gru_step_kernel[grid](
        x, h, w_ih, w_hh, b_ih, b_hh, out, N, K_in, H, x.stride(0), h.stride(0), out.stride(0),
        BLOCK_M=block_m, BLOCK_J=block_j, BLOCK_K=block_k, PRECISION=precision(dtype), num_warps=num_warps,
        UPCAST=dtype == torch.bfloat16 and os.environ.get("TRITON_INTERPRET", "0") == "1",
    )
    return out


def precision(dtype: torch.dtype) -> str:
    """``tl.dot`` precision: exact fp32 for fp32 (see the module docstring), tensor cores otherwise."""
    return "ieee" if dtype == torch.float32 else "tf32"
