"""The fused attention kernels (kernels/attn_score.py) against their reference twins, and the dispatcher.

Without a GPU the kernels run under TRITON_INTERPRET=1 (set by conftest) on CPU tensors, routed there by
``ops.triton_on_cpu()``; the interpreter is slow (~4 ms per program and T-chunk), so the grids stay small.
fp32 must match to 1e-5. fp16/bf16 follow flash-attention's rule (STYLE E7): the kernel's error against an
fp32 reference stays within 2x the error of PyTorch computing in that dtype, with an absolute floor.
"""

import pytest
import torch
from asserts import FP32_TOL, assert_close_verbose, assert_within_2x_of_torch

from fastocr import ops
from fastocr.reference import attn_additive_ref, attn_slot_ref


def slot_inputs(n, t, h, seed=0, non_contiguous=False):
    """embedded, hidden (N, H), weight (T, 2H), bias (T,), values (T, N, H), scaled so softmax is peaked."""
    g = torch.Generator().manual_seed(seed)
    emb, hid = torch.randn(n, h, generator=g), torch.randn(n, h, generator=g)
    weight, bias = torch.randn(t, 2 * h, generator=g) * (3 / h**0.5), torch.randn(t, generator=g)
    values = torch.randn(t, n, h, generator=g)
    if non_contiguous:  # row strides, a transposed weight, an H-stride of 2, a time-minor values layout
        emb = torch.cat([emb, emb], 1)[:, :h]
        hid = torch.stack([hid, -hid], 2)[:, :, 0]
        weight = weight.t().contiguous().t()
        values = values.permute(1, 0, 2).contiguous().permute(1, 0, 2)
        assert not any(a.is_contiguous() for a in (emb, hid, weight, values))
    return emb, hid, weight, bias, values


def additive_inputs(n, t, h, seed=0, lengths="random"):
    """keys, query (N, H), v (H,), values (T, N, H), lengths (N,): random in 1..T, all T, or all 1."""
    g = torch.Generator().manual_seed(seed)
    keys, values = torch.randn(t, n, h, generator=g), torch.randn(t, n, h, generator=g)
    query, v = torch.randn(n, h, generator=g), torch.randn(h, generator=g) * (3 / h**0.5)
    lens = {"random": torch.randint(1, t + 1, (n,), generator=g), "full": torch.full((n,), t),
            "one": torch.ones(n, dtype=torch.long)}[lengths]
    return keys, query, v, values, lens


def run_triton(dispatcher, *args):
    with ops.triton_on_cpu():
        out = dispatcher(*args)
    assert ops.LAST_PATH[dispatcher.__name__] == "triton"
    return out


def check_fp32(dispatcher, ref, args, what):
    ctx, w = run_triton(dispatcher, *args)
    ctx_ref, w_ref = ref(*args)
    assert ctx.dtype == ctx_ref.dtype and w.dtype == w_ref.dtype
    assert_close_verbose(w, w_ref, FP32_TOL, FP32_TOL, f"{what} weights")
    assert_close_verbose(ctx, ctx_ref, FP32_TOL, FP32_TOL, f"{what} context")
    return ctx, w


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
