"""Block-size choices, small jit helpers and the attention kernels' shared online-softmax core (``attn_slot``,
``attn_additive``), for the decoder-step kernels.

Only torch and triton are imported here (and by the kernel modules), so the AOT compile check can load
``kernels/*.py`` by file path in a CUDA venv that lacks the rest of fastocr's dependencies.

The block choices are the *only* configurations the launchers use; ``tests/gpu_compile/aot_compile_triton.py``
compiles each of them for sm_80 and sm_90. They are untuned: no GPU was available when they were written, so
they follow register-budget arithmetic (noted beside each) rather than measurements.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

# Activation dtypes the kernels accept; every pointer of one launch shares it (launchers cast parameters).
SUPPORTED_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
TRITON_DTYPE_NAMES = {torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16"}

MAX_HIDDEN = 1024  # attention keeps [BLOCK_T, next_pow2(H)] tiles in registers: 16 x 1024 fp32 = 128/thread
ATTN_BLOCK_H_CHOICES = (16, 32, 64, 128, 256, 512, 1024)
GRU_BLOCK_J = 32  # hidden units per program: H=256 gives 8 column blocks, so even B*K=16 rows fill 8 SMs
GRU_BLOCK_K = 32  # reduction tile; tl.dot needs >= 16 on every dimension on sm_80/sm_90
GRU_NUM_WARPS = 4  # ptxas -v, sm_90: 128 (fp32, BLOCK_M=16) to 198 (bf16, BLOCK_M=32) registers, no spills


@triton.jit
def tanh(x):
    """tanh through sigmoid: there is no tl.tanh, and libdevice's tanh does not run in the interpreter."""
    return 2 * tl.sigmoid(2 * x) - 1


def attn_blocks(hidden: int) -> tuple[int, int, int]:
    """(BLOCK_T, BLOCK_H, num_warps) for the attention kernels: whole rows of H, T walked in BLOCK_T chunks.

    A chunk holds up to three [BLOCK_T, BLOCK_H] tiles live (weights or keys, values); 32 x 256 fp32 over
    128 threads is 64 registers per tile, so BLOCK_T halves past H=256. ptxas -v for sm_90, fp32: 152-196
    registers and no spills up to BLOCK_H=512 with 4 warps; BLOCK_H=1024 spilled 92 bytes with 4 warps and
    none with 8 (200 registers).
    """
    if hidden > MAX_HIDDEN:
        raise ValueError(f"attention kernels support hidden size <= {MAX_HIDDEN}, got {hidden}")
    block_h = max(16, triton.next_power_of_2(hidden))
    block_t = 32 if block_h <= 256 else 16
    return block_t, block_h, 8 if block_h >= 1024 else 4


def gru_blocks(rows: int) -> tuple[int, int, int, int]:
    """(BLOCK_M, BLOCK_J, BLOCK_K, num_warps) for the GRU step: 16 rows per program up to 64 rows, then 32.

    Four fp32 accumulators of [BLOCK_M, BLOCK_J] live across the K loop: 32 x 32 x 4 over 128 threads is 32
    registers. Small row blocks keep more programs for small batches (B*K=64 rows, H=256: 4 x 8 programs).
    """
    block_m = 16 if rows <= 64 else 32
    return block_m, GRU_BLOCK_J, GRU_BLOCK_K, GRU_NUM_WARPS


HEAD_BLOCK_V = 64  # classes per tile: acc [16, 64] fp32 plus a [64, 32] weight tile over 128 threads
HEAD_BLOCK_K = 32  # hidden units per tl.dot (>= 16 on sm_80/sm_90)
HEAD_NUM_WARPS = 4


def head_blocks(rows: int) -> tuple[int, int, int, int]:
    """(BLOCK_M, BLOCK_V, BLOCK_K, num_warps) for the fused output head: 16 rows per program (tl.dot's
    minimum), so B*K=64 rows give 4 programs each streaming all of W once; untuned, like the others."""
    return 16, HEAD_BLOCK_V, HEAD_BLOCK_K, HEAD_NUM_WARPS


def check_dtype(op: str, name: str, t: torch.Tensor) -> None:
    if t.dtype not in SUPPORTED_DTYPES:
        raise TypeError(f"{op}: {name} must be float32, float16 or bfloat16, got {t.dtype}")


def check_shape(op: str, name: str, t: torch.Tensor, shape: tuple) -> None:
    if tuple(t.shape) != tuple(shape):
        raise ValueError(f"{op}: {name} must have shape {tuple(shape)}, got {tuple(t.shape)}")


def last_dim_contiguous(t: torch.Tensor) -> torch.Tensor:
    """The kernels take any row/time strides but want unit stride along H (coalesced loads)."""
    return t if t.stride(-1) == 1 else t.contiguous()


# -- the online-softmax core that attn_slot and attn_additive share (one program per decoder row, T in chunks) --


@triton.jit
def online_softmax_chunk(s, t, t_mask, values_row, stride_vt, h, h_mask, m, row_sum, acc):
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
def finish_attention(scores_row, weights_row, ctx_row, h, h_mask, m, row_sum, acc, length, T,
            BLOCK_T: tl.constexpr):
    """Writes the context and normalises the raw scores kept in scores_row into weights (0 past length)."""
    tl.store(ctx_row + h, (acc / row_sum).to(ctx_row.dtype.element_ty), mask=h_mask)
    tl.debug_barrier()  # the raw scores were stored by other threads of this program
    for t0 in range(0, T, BLOCK_T):
        t = t0 + tl.arange(0, BLOCK_T)
        s = tl.load(scores_row + t, mask=t < length, other=-float("inf"))
        tl.store(weights_row + t, (tl.exp(s - m) / row_sum).to(weights_row.dtype.element_ty), mask=t < T)


def attention_outputs(values: torch.Tensor):
    """context (N, H) and weights (N, T) in the values' dtype, plus the fp32 scratch for the raw scores.

    The scratch is never the weights tensor, even in fp32: a [BLOCK_T] vector is replicated across warps, so
    normalising in place would let one warp's store overtake another warp's load of the same score.
    """
    T, N, H = values.shape
    return values.new_empty(N, H), values.new_empty(N, T), values.new_empty(N, T, dtype=torch.float32)
