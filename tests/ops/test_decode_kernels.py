"""Whole decodes through the Triton kernels equal the reference decodes: same strings, close confidences.

The kernels run on CPU tensors under TRITON_INTERPRET=1 (``ops.triton_on_cpu()``), so this is the GPU code
path's arithmetic without a GPU. The reference side is the decoder as the parity tests check it against the
original model, which closes the chain: original == reference twins == kernels.
"""

import math

import numpy as np
import pytest
import torch
from asserts import assert_close_verbose
from conftest import random_line_image

from fastocr import Alphabet, ModelConfig, Recognizer, ops
from fastocr.engine.preprocess import padded_width
from fastocr.model import OCRModel
from fastocr.train.synth import ASCII_CHARSET

CONF_RTOL = 1e-4  # ~1e-6 per-step log-prob differences (fp32 sums in another order) over up to 21 steps


def recognize_both_ways(rec, images, **kwargs):
    ops.LAST_PATH.clear()
    ref = rec.recognize(images, **kwargs)
    assert set(ops.LAST_PATH.values()) == {"reference"}
    with ops.triton_on_cpu():
        fast = rec.recognize(images, **kwargs)
    assert ops.LAST_PATH["gru_step"] == "triton"
    return ref, fast


def assert_same_results(ref, fast):
    assert any(r.text for r in ref), "vacuous: every reference line decoded to an empty string"
    for i, (r, f) in enumerate(zip(ref, fast)):
        assert f.text == r.text, i
        assert math.isclose(f.confidence, r.confidence, rel_tol=CONF_RTOL, abs_tol=1e-30), i


@pytest.fixture(scope="module")
def line_images():
    rng = np.random.default_rng(11)
    return [np.asarray(random_line_image(rng, int(rng.integers(20, 50)), int(rng.integers(60, 600))))
            for _ in range(3)]


def test_original_model_greedy(recognizer, line_images):
    """The original architecture (fixed slots, T=71, H=256, 5,991 classes), 3 lines in one batch."""
    ref, fast = recognize_both_ways(recognizer, line_images, batch_size=3)
    assert ops.LAST_PATH["attn_slot"] == "triton"
    assert_same_results(ref, fast)


@pytest.fixture(scope="module")
def additive_recognizer():
    """A small variable-width model (H=64) with decisive random weights, as in test_variable_width.py."""
    torch.manual_seed(0)
    config = ModelConfig(attention="additive", hidden_size=64, img_width=800, max_decode_len=30)
    model = OCRModel(config, len(ASCII_CHARSET) + 2)
    with torch.no_grad():
        model.decoder.decoder.out.weight.mul_(40.0)
        model.decoder.decoder.attn_combine.weight[:, 64:].mul_(20.0)
    return Recognizer(model, Alphabet(ASCII_CHARSET), device="cpu")


@pytest.mark.parametrize("beam_size", [1, 3])  # greedy, and 2 images x 3 hypotheses through the beam op
def test_additive_model_mixed_widths(additive_recognizer, beam_size):
    """Two lines 40 and 60 px wide share one 64-px canvas (one batch), with masks of 11 and 16 columns."""
    rng = np.random.default_rng(5)
    lines = [np.asarray(random_line_image(rng, 32, w)) for w in (40, 60)]
    cfg = additive_recognizer.config
    assert {padded_width(w, cfg.img_width, cfg.width_bucket) for w in (40, 60)} == {64}
    ref, fast = recognize_both_ways(additive_recognizer, lines, batch_size=2, beam_size=beam_size)
    assert ops.LAST_PATH["attn_additive"] == "triton"
    assert_same_results(ref, fast)


def test_one_decoder_step_matches(recognizer, line_images):
    """log-probs, hidden state and attention weights of a step with 5 rows, both paths, fp32 1e-5."""
    decoder = recognizer.model.decoder
    g = torch.Generator().manual_seed(0)
    enc = torch.randn(71, 5, 256, generator=g)
    hidden = torch.randn(1, 5, 256, generator=g).tanh()
    tokens = torch.tensor([0, 1, 7, 300, 5990])
    with torch.no_grad():
        ref = decoder(tokens, hidden, enc)
        with ops.triton_on_cpu():
            fast = decoder(tokens, hidden, enc)
    for r, f, name in zip(ref, fast, ("log-probs", "hidden", "weights")):
        assert_close_verbose(f, r, 1e-5, 1e-5, name)
