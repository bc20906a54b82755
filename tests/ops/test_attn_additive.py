"""``ops.attn_additive``: the fused kernel (kernels/attn_additive.py) against ``attn_additive_ref``.

Without a GPU the kernels run under TRITON_INTERPRET=1 (set by conftest) on CPU tensors, routed there by
``ops.triton_on_cpu()``; the interpreter is slow (~4 ms per program and T-chunk), so the grids stay small.
fp32 must match to 1e-5. fp16/bf16 follow flash-attention's rule (STYLE E7): the kernel's error against an
fp32 reference stays within 2x the error of PyTorch computing in that dtype, with an absolute floor.
"""

import pytest
import torch
from asserts import assert_within_2x_of_torch
from op_inputs import additive_inputs, check_fp32, run_triton

from fastocr import ops
from fastocr.reference import attn_additive_ref


@pytest.mark.parametrize(("rows", "t", "h", "lengths"), [
    (1, 71, 256, "full"),  # the real hidden size, no padding
    (3, 71, 256, "random"),
    (17, 71, 32, "random"),  # rows whose length ends inside, at, or before a chunk
    (64, 40, 16, "random"),
    (17, 300, 16, "random"),  # long lines: up to ten chunks, most rows stopping early
    (3, 512, 16, "full"),
    (5, 71, 32, "one"),  # length 1: all weight on column 0
])
def test_additive_fp32(rows, t, h, lengths):
    args = additive_inputs(rows, t, h, seed=rows + t, lengths=lengths)
    what = f"additive rows={rows} T={t} H={h} {lengths}"
    _, w = check_fp32(ops.attn_additive, attn_additive_ref, args, what)
    past_length = torch.arange(t).unsqueeze(0) >= args[4].unsqueeze(1)
    assert w[past_length].eq(0).all()  # exactly zero past each row's length


def test_additive_strided_and_expanded_inputs():
    """Keys time-minor, a query with a row stride of 2H, values expanded over a beam (row stride 0)."""
    keys, query, v, values, lengths = additive_inputs(12, 71, 32, seed=9)
    keys = keys.permute(1, 0, 2).contiguous().permute(1, 0, 2)
    query = torch.cat([query, query], 1)[:, :32]
    values = values[:, :1].expand(71, 12, 32)  # one image's encoder outputs shared by 12 hypotheses
    check_fp32(ops.attn_additive, attn_additive_ref, (keys, query, v, values, lengths), "additive strided")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_additive_low_precision(dtype):
    args = additive_inputs(17, 71, 256, seed=3)
    ref32 = attn_additive_ref(*args)
    low = [a.to(dtype) if a.is_floating_point() else a for a in args]
    for out, torch_low, ref, name in zip(run_triton(ops.attn_additive, *low), attn_additive_ref(*low), ref32,
                                         ("context", "weights")):
        assert_within_2x_of_torch(out, torch_low, ref, dtype, f"additive {dtype} {name}")
