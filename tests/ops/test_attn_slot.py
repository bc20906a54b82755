"""``ops.attn_slot``: the fused kernel (kernels/attn_slot.py) against ``attn_slot_ref``, and the dispatcher.

Without a GPU the kernels run under TRITON_INTERPRET=1 (set by conftest) on CPU tensors, routed there by
``ops.triton_on_cpu()``; the interpreter is slow (~4 ms per program and T-chunk), so the grids stay small.
fp32 must match to 1e-5. fp16/bf16 follow flash-attention's rule (STYLE E7): the kernel's error against an
fp32 reference stays within 2x the error of PyTorch computing in that dtype, with an absolute floor.
"""

import pytest
import torch
from asserts import assert_within_2x_of_torch
from op_inputs import check_fp32, run_triton, slot_inputs

from fastocr import ops
from fastocr.reference import attn_slot_ref


# rows: 1 (a single program), 3, 17 (odd, a beam of 17 rows) and 64 (a full batch); T=71 is the original
# 280 px width: 3 chunks of BLOCK_T=32, the last one 7 wide. H=256 is the real hidden size.
@pytest.mark.parametrize("rows", [1, 3, 17, 64])
def test_slot_fp32_real_shape(rows):
    check_fp32(ops.attn_slot, attn_slot_ref, slot_inputs(rows, 71, 256, seed=rows), f"slot rows={rows}")


@pytest.mark.parametrize(("t", "h"), [
    (1, 32),  # one slot: softmax of a single score
    (32, 32),  # exactly one full chunk
    (33, 40),  # a second chunk one wide; H=40 masks BLOCK_H=64
    (300, 16),  # ten chunks (long variable-width lines); the smallest BLOCK_H
    (512, 24),  # the longest T asked for
    (17, 1000),  # the largest hidden size: BLOCK_H=1024, BLOCK_T=16, 8 warps
])
def test_slot_fp32_chunk_edges(t, h):
    check_fp32(ops.attn_slot, attn_slot_ref, slot_inputs(3, t, h, seed=t), f"slot T={t} H={h}")


def test_slot_non_contiguous_inputs():
    check_fp32(ops.attn_slot, attn_slot_ref, slot_inputs(17, 71, 64, non_contiguous=True), "slot strided")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_slot_low_precision(dtype):
    args = slot_inputs(17, 71, 256, seed=5)
    ref32 = attn_slot_ref(*args)
    low = [a.to(dtype) for a in args]
    for out, torch_low, ref, name in zip(run_triton(ops.attn_slot, *low), attn_slot_ref(*low), ref32,
                                         ("context", "weights")):
        assert_within_2x_of_torch(out, torch_low, ref, dtype, f"slot {dtype} {name}")


def test_zero_rows_give_empty_outputs():
    ctx, w = run_triton(ops.attn_slot, *slot_inputs(0, 7, 16))
    assert ctx.shape == (0, 16) and w.shape == (0, 7)


def test_shape_errors_name_the_argument():
    emb, hid, weight, bias, values = slot_inputs(3, 7, 16)
    with pytest.raises(ValueError, match="attn_slot: weight must have shape"):
        run_triton(ops.attn_slot, emb, hid, weight[:, :16], bias, values)


def test_dispatch_rules(monkeypatch):
    args = slot_inputs(2, 5, 16)
    expected = attn_slot_ref(*args)
    out = ops.attn_slot(*args)  # CPU tensors: the reference, bit for bit
    assert ops.LAST_PATH["attn_slot"] == "reference" and torch.equal(out[0], expected[0])
    monkeypatch.setenv("FASTOCR_FORCE_REFERENCE", "1")
    with ops.triton_on_cpu():
        ops.attn_slot(*args)
    assert ops.LAST_PATH["attn_slot"] == "reference"
    assert ops.kernel_info()["decoder_kernels"] == "reference"
    monkeypatch.delenv("FASTOCR_FORCE_REFERENCE")
    weight = args[2].clone().requires_grad_()
    with ops.triton_on_cpu():  # training: grad needed, so the differentiable reference runs
        ctx, _ = ops.attn_slot(args[0], args[1], weight, args[3], args[4])
    assert ops.LAST_PATH["attn_slot"] == "reference" and ctx.requires_grad
    with ops.triton_on_cpu(), torch.no_grad():
        ops.attn_slot(args[0], args[1], weight, args[3], args[4])
    assert ops.LAST_PATH["attn_slot"] == "triton"
    with ops.triton_on_cpu():  # float64 is not a kernel dtype
        ops.attn_slot(*[a.double() for a in args])
    assert ops.LAST_PATH["attn_slot"] == "reference"
