"""The fused output head (kernels/logits_argmax.py) against logits_argmax_ref, under the Triton interpreter."""

import pytest
import torch
from asserts import FP32_TOL, assert_close_verbose
from op_inputs import head_inputs

from fastocr import ops
from fastocr.reference import logits_argmax_ref


def run_triton(*args):
    with ops.triton_on_cpu():
        out = ops.logits_argmax(*args)
    assert ops.LAST_PATH["logits_argmax"] == "triton"
    return out


# rows 1 and 3: one mostly masked BLOCK_M=16 block; 17: two blocks. classes 97: a partial last V tile;
# 5,991 (the original alphabet): 94 tiles. hidden 40: a partial K tile; 256: the real size.
@pytest.mark.parametrize(("rows", "hidden", "classes"), [(1, 256, 97), (3, 40, 97), (17, 256, 97), (3, 256, 5991)])
def test_fp32_matches_reference(rows, hidden, classes):
    args = head_inputs(rows, hidden, classes, seed=rows + classes)
    idx, logp = run_triton(*args)
    ref_idx, ref_logp = logits_argmax_ref(*args)
    assert torch.equal(idx, ref_idx)
    assert_close_verbose(logp, ref_logp, FP32_TOL, FP32_TOL, "logp")


def test_ties_go_to_the_lower_class_across_tiles():
    h = torch.zeros(2, 32)
    weight = torch.zeros(200, 32)
    bias = torch.zeros(200)
    bias[[5, 70, 150]] = 3.0  # equal maxima in three different V tiles
    idx, _logp = run_triton(h, weight, bias)
    assert idx.tolist() == [5, 5] and torch.equal(idx, logits_argmax_ref(h, weight, bias)[0])


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float16, 1e-2), (torch.bfloat16, 4e-2)])
def test_low_precision_close_to_fp32(dtype, tol):
    h, weight, bias = head_inputs(5, 64, 97, seed=3, sharp=12.0)
    idx, logp = run_triton(h.to(dtype), weight.to(dtype), bias.to(dtype))
    ref_idx, ref_logp = logits_argmax_ref(h, weight, bias)
    assert (idx == ref_idx).float().mean() >= 0.8  # near-ties may flip in low precision
    same = idx == ref_idx
    assert_close_verbose(logp[same], ref_logp[same], tol, tol, str(dtype))


def test_cpu_tensors_take_the_reference():
    args = head_inputs(4, 16, 10)
    idx, _ = ops.logits_argmax(*args)
    assert ops.LAST_PATH["logits_argmax"] == "reference"
    assert torch.equal(idx, torch.log_softmax(torch.nn.functional.linear(*args), 1).argmax(1))
