"""The Winograd 3x3 convolution (ops.conv3x3_winograd) against float64 convolutions, and model.Conv3x3, which
takes it only where it is asked for and keeps its transformed weight in step with the weight."""

import copy

import pytest
import torch
import torch.nn.functional as F
from original import OrigCNN

from fastocr import _ext, ops
from fastocr.model import CNN, Conv3x3, winograd_convolutions

pytestmark = pytest.mark.skipif(_ext.C is None, reason=f"fastocr._C not built: {_ext.C_ERROR}")

# The direct float32 convolution is ~2e-6 off float64 here; Winograd F(4x4, 3x3) ~1e-5 (its transforms' constants
# up to 8 and 1/24 scale the rounding): 5e-5 of the output's largest value bounds both with room.
RTOL = 5e-5


def _check(n, c, k, h, w, bias=True, channels_last=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, h, w, generator=g)
    weight, b = torch.randn(k, c, 3, 3, generator=g) / (3 * c**0.5), torch.randn(k, generator=g) if bias else None
    want = F.conv2d(x.double(), weight.double(), None if b is None else b.double(), padding=1)
    got = ops.conv3x3_winograd(x.contiguous(memory_format=torch.channels_last) if channels_last else x,
                               ops.winograd_weight(weight), b)
    assert got.shape == want.shape and got.dtype == torch.float32
    assert got.is_contiguous(memory_format=torch.channels_last)
    assert (got.double() - want).abs().max() <= RTOL * want.abs().max()


@pytest.mark.parametrize("n, c, k, h, w", [
    (8, 512, 512, 4, 39),  # the CNN's deepest layers: one tile row
    (3, 256, 256, 8, 37),  # two tile rows, a last tile column 1 px wide
    (2, 64, 128, 16, 80),
    (1, 100, 70, 5, 6),  # channels across the C++ blocks of 64, a tile cut in both directions
    (2, 7, 3, 1, 1),  # one pixel: only the centre tap sees the image
    (1, 130, 65, 3, 4),
])
def test_matches_float64_convolution(n, c, k, h, w):
    _check(n, c, k, h, w)


def test_without_bias_and_from_nchw_input():
    _check(2, 96, 40, 6, 11, bias=False, channels_last=False)


def test_a_strided_bias():
    g = torch.Generator().manual_seed(4)
    x, weight = torch.randn(1, 16, 5, 7, generator=g), torch.randn(8, 16, 3, 3, generator=g)
    bias = torch.randn(16, generator=g)[::2]  # not contiguous: the op reads a copy
    got = ops.conv3x3_winograd(x, ops.winograd_weight(weight), bias)
    torch.testing.assert_close(got, F.conv2d(x, weight, bias, padding=1), rtol=1e-4, atol=1e-4)


def test_empty_batch():
    out = ops.conv3x3_winograd(torch.zeros(0, 8, 4, 4), ops.winograd_weight(torch.randn(5, 8, 3, 3)), None)
    assert out.shape == (0, 5, 4, 4)


def test_rejects_mismatched_arguments():
    x = torch.randn(1, 8, 4, 4)
    with pytest.raises(RuntimeError, match="weight_t must be float32 \\[36, C, K\\] with C = 8"):
        ops.conv3x3_winograd(x, ops.winograd_weight(torch.randn(5, 9, 3, 3)), None)
    with pytest.raises(RuntimeError, match="input must be float32"):
        ops.conv3x3_winograd(x.double(), ops.winograd_weight(torch.randn(5, 8, 3, 3)), None)
    with pytest.raises(RuntimeError, match="bias must be float32 \\[5\\]"):
        ops.conv3x3_winograd(x, ops.winograd_weight(torch.randn(5, 8, 3, 3)), torch.zeros(4))


def test_opcheck():
    g = torch.Generator().manual_seed(3)
    args = (torch.randn(2, 16, 5, 9, generator=g), ops.winograd_weight(torch.randn(8, 16, 3, 3, generator=g)),
            torch.randn(8, generator=g))
    torch.library.opcheck(torch.ops.fastocr.conv3x3_winograd.default, args)


def _spy(monkeypatch):
    calls = []
    real = ops.conv3x3_winograd
    monkeypatch.setattr(ops, "conv3x3_winograd", lambda *a: calls.append(1) or real(*a))
    return calls


def test_conv3x3_takes_winograd_only_where_asked(monkeypatch):
    calls = _spy(monkeypatch)
    conv, x = Conv3x3(16, 8).eval(), torch.randn(1, 16, 4, 7)
    with torch.no_grad():
        direct = conv(x)
        with winograd_convolutions():
            fast = conv(x)
            conv.bfloat16()(x.bfloat16())  # bf16 and float16 stay direct
            conv.float()
            with winograd_convolutions(False):
                conv(x)
    assert len(calls) == 1
    with winograd_convolutions():
        conv(x).sum().backward()  # training keeps autograd's convolution
    assert len(calls) == 1 and conv.weight.grad is not None
    torch.testing.assert_close(fast, direct, rtol=1e-4, atol=1e-5)


def test_an_extension_without_the_op_keeps_direct_convolutions(monkeypatch):
    monkeypatch.setattr(ops, "_HAS_WINOGRAD_OP", False)  # as an extension built before the op
    assert "rebuild" in ops.winograd_unusable()
    info = ops.backend_info()
    assert info["cpu_convolutions"] == "direct" and "rebuild" in info["cpu_convolutions_reason"]
    calls = _spy(monkeypatch)
    conv, x = Conv3x3(16, 8).eval(), torch.randn(1, 16, 4, 7)
    with torch.no_grad(), winograd_convolutions():
        conv(x)
    assert calls == []


def test_the_transformed_weight_follows_the_weight():
    """An optimizer step or load_state_dict changes the weight in place: the next call must not use the old
    transform."""
    torch.manual_seed(0)
    conv, x = Conv3x3(8, 4).eval(), torch.randn(1, 8, 4, 4)
    with torch.no_grad(), winograd_convolutions():
        conv(x)
        conv.weight.mul_(2.0)
        doubled, want_doubled = conv(x), F.conv2d(x, conv.weight, conv.bias, padding=1)
        conv.load_state_dict(Conv3x3(8, 4).state_dict())
        loaded, want_loaded = conv(x), F.conv2d(x, conv.weight, conv.bias, padding=1)
    torch.testing.assert_close(doubled, want_doubled, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(loaded, want_loaded, rtol=1e-4, atol=1e-5)


def test_copies_leave_the_transformed_weight_behind():
    conv, x = Conv3x3(8, 4).eval(), torch.randn(1, 8, 4, 4)
    with torch.no_grad(), winograd_convolutions():
        conv(x)
        twin = copy.deepcopy(conv)
        assert conv._winograd_weight is not None and twin._winograd_weight is None
        torch.testing.assert_close(twin(x), conv(x), rtol=0, atol=0)


def test_the_cnn_keeps_the_original_state_dict():
    """Conv3x3 is a Conv2d with the same parameters: the original checkpoints' keys and shapes."""
    cnn = CNN(3)
    assert [type(m).__name__ for m in cnn.cnn if isinstance(m, torch.nn.Conv2d)] == [
        "Conv2d", "Conv3x3", "Conv3x3", "Conv3x3", "Conv3x3", "Conv3x3", "Conv2d"]
    original = OrigCNN()
    assert {k: v.shape for k, v in cnn.state_dict().items()} == {k: v.shape for k, v in original.state_dict().items()}
