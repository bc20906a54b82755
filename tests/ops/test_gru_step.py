"""The fused GRU step (kernels/gru_step.py) against nn.GRU, and the reference twin against nn.GRU bit for bit.

The chain of trust: nn.GRU (what the original ran) == ``gru_step_ref`` exactly (same op); the kernel ==
``gru_step_ref`` within 1e-5 in fp32 (the projections are tl.dot tiles with exact fp32 products, summed in
another order), and within 2x of PyTorch's own error in fp16/bf16.
"""

import pytest
import torch
from asserts import FP32_TOL, assert_close_verbose, assert_within_2x_of_torch
from op_inputs import gru_inputs

from fastocr import ops
from fastocr.reference import gru_step_ref


def run_triton(*args):
    with ops.triton_on_cpu():
        out = ops.gru_step(*args)
    assert ops.LAST_PATH["gru_step"] == "triton"
    return out


@pytest.mark.parametrize("rows", [1, 3, 17, 64])
def test_reference_is_nn_gru_bit_for_bit(rows):
    gru, args = gru_inputs(rows, 32, seed=rows)
    _, h_n = gru(args[0].unsqueeze(0), args[1].unsqueeze(0))
    assert torch.equal(gru_step_ref(*args), h_n[0])


# rows: 1, 3 (one BLOCK_M=16 block, mostly masked), 17 (two blocks), 64 (four: the last size with
# BLOCK_M=16), 70 (BLOCK_M=32, a partial third block). H=256 is the real size: 8 column blocks, 8 K-tiles.
@pytest.mark.parametrize("rows", [1, 3, 17, 64, 70])
def test_fp32_real_shape(rows):
    _, args = gru_inputs(rows, 256, seed=rows)
    assert_close_verbose(run_triton(*args), gru_step_ref(*args), FP32_TOL, FP32_TOL, f"gru rows={rows}")


@pytest.mark.parametrize(("hidden", "inputs"), [
    (40, 40),  # H not a multiple of BLOCK_J=32 nor BLOCK_K=32: masked columns and K tail
    (16, 48),  # input size != hidden size: the two K loops differ; H below one BLOCK_J
    (33, 7),  # a 7-wide input: one K tile, mostly masked
])
def test_fp32_odd_sizes(hidden, inputs):
    _, args = gru_inputs(5, hidden, inputs)
    what = f"gru H={hidden} I={inputs}"
    assert_close_verbose(run_triton(*args), gru_step_ref(*args), FP32_TOL, FP32_TOL, what)


def test_non_contiguous_inputs():
    _, (x, h, w_ih, w_hh, b_ih, b_hh) = gru_inputs(17, 64)
    x_s = torch.cat([x, x], 1)[:, 64:]  # row stride 2I
    h_s = torch.stack([h, -h], 2)[:, :, 0]  # H stride 2: copied by the launcher
    w_ih_t = w_ih.t().contiguous().t()  # column-major weights
    out = run_triton(x_s, h_s, w_ih_t, w_hh, b_ih, b_hh)
    assert_close_verbose(out, gru_step_ref(x, h, w_ih, w_hh, b_ih, b_hh), FP32_TOL, FP32_TOL, "gru strided")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision(dtype):
    _, args = gru_inputs(17, 256, seed=4)
    ref32 = gru_step_ref(*args)
    low = [a.to(dtype) for a in args]
    torch_low = gru_step_ref(*low)
    assert_within_2x_of_torch(run_triton(*low), torch_low, ref32, dtype, f"gru {dtype}")


def test_training_falls_back_to_the_differentiable_reference():
    gru, (x, h, *_) = gru_inputs(3, 16)
    weights = gru.all_weights[0]  # parameters: requires_grad
    with ops.triton_on_cpu():
        out = ops.gru_step(x, h, *weights, train=True)
    assert ops.LAST_PATH["gru_step"] == "reference"
    out.sum().backward()
    assert gru.weight_hh_l0.grad is not None and gru.weight_hh_l0.grad.abs().sum() > 0


def test_bias_free_gru_uses_the_reference():
    gru = torch.nn.GRU(8, 8, bias=False)
    x, h = torch.randn(2, 8), torch.randn(2, 8)
    with ops.triton_on_cpu(), torch.no_grad():
        out = ops.gru_step(x, h, gru.weight_ih_l0, gru.weight_hh_l0)
        assert ops.LAST_PATH["gru_step"] == "reference"
        assert torch.equal(out, gru(x.unsqueeze(0), h.unsqueeze(0))[1][0])
