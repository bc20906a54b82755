"""Variable-width lines with additive attention: masking, batch invariance, long lines."""

import copy
import math

import numpy as np
import pytest
import torch
from conftest import make_additive_recognizer, random_line_image

from fastocr import Recognizer
from fastocr.engine.preprocess import padded_width
from fastocr.reference import attn_additive_ref


@pytest.fixture(scope="module")
def additive_recognizer():
    return make_additive_recognizer(max_decode_len=90)  # lines of 3 to 90 characters


def test_masked_attention_equals_attention_over_the_valid_prefix():
    g = torch.Generator().manual_seed(0)
    T, N, H = 40, 5, 16
    keys, values = torch.randn(T, N, H, generator=g), torch.randn(T, N, H, generator=g)
    query, v = torch.randn(N, H, generator=g), torch.randn(H, generator=g)
    lengths = torch.tensor([1, 7, 40, 23, 16])
    context, weights = attn_additive_ref(keys, query, v, values, lengths)
    for n, L in enumerate(lengths.tolist()):
        c1, _w1 = attn_additive_ref(keys[:L, n : n + 1], query[n : n + 1], v, values[:L, n : n + 1],
                                        torch.tensor([L]))
        # The scores go through BLAS matrix-vector products of other shapes (and, from one process to the
        # next, other buffer alignments), whose rounding the softmax amplifies: up to 5e-5 seen in 1 of 10
        # runs. A mask that let padding in would be off by ~0.1.
        torch.testing.assert_close(context[n], c1[0], rtol=1e-4, atol=1e-4)
        assert weights[n, L:].eq(0).all() and math.isclose(float(weights[n].sum()), 1.0, rel_tol=1e-5)


@pytest.mark.parametrize(("w", "expected"), [(1, 32), (32, 32), (33, 64), (250, 256)])
def test_padded_width_depends_on_the_line_alone(w, expected):
    assert padded_width(w, 1600, 32) == expected
    assert padded_width(w, 280, None) == 280


def test_batched_equals_single_for_mixed_widths(additive_recognizer):
    rng = np.random.default_rng(3)
    images = [np.asarray(random_line_image(rng, int(rng.integers(16, 64)), int(rng.integers(10, 1500))))
              for _ in range(24)]
    singles = [additive_recognizer.recognize([im])[0] for im in images]
    assert len({s.text for s in singles}) > 8 and len({len(s.text) for s in singles}) > 2  # not vacuous
    for batch_size in (1, 5, 24):
        for b, s in zip(additive_recognizer.recognize(images, batch_size=batch_size), singles):
            assert b.text == s.text
            # log-probabilities: a 90-step line's confidence is ~1e-43, below any useful relative tolerance
            assert math.isclose(b.candidates[0].score, s.candidates[0].score, rel_tol=1e-5)


def test_long_lines_decode_past_80_characters(additive_recognizer):
    model = copy.deepcopy(additive_recognizer.model)
    with torch.no_grad():
        model.decoder.decoder.out.bias[1] -= 100.0  # no early EOS: every step reads a character
    rec = Recognizer(model, additive_recognizer.alphabet, device="cpu")
    wide = np.asarray(random_line_image(np.random.default_rng(0), 32, 3000))  # squashed to 1600
    r = rec.recognize([wide], max_len=90)[0]
    assert r.ok and 80 < len(r.char_probs) == len(r.text) <= 90
    hyp = rec.recognize([wide], beam_size=3, max_len=90)[0]
    assert hyp.ok and 80 < len(hyp.text) <= 90


def test_canvases_of_several_widths_read_together_as_alone(additive_recognizer):
    """Encoder.forward_mixed: the BiLSTMs read each line's own columns (packed), so each line's outputs are
    those of forward() on its canvas (to float rounding of the batched matrix products)."""
    encoder = additive_recognizer.model.encoder
    g = torch.Generator().manual_seed(2)
    canvases = [torch.rand(n, 3, 32, w, generator=g) * 2 - 1 for n, w in ((2, 64), (1, 288), (3, 32), (1, 96))]
    with torch.inference_mode():
        mixed, columns = encoder.forward_mixed(canvases, chunk=2)
        alone = [encoder(c) for c in canvases]
    assert columns.tolist() == [17, 17, 73, 9, 9, 9, 25]
    start = 0
    for out in alone:
        T, n = out.shape[:2]
        torch.testing.assert_close(mixed[:T, start : start + n], out, rtol=1e-5, atol=1e-5)
        start += n


def test_a_cpu_recognizer_reads_widths_together_with_the_same_results(additive_recognizer, monkeypatch):
    rng = np.random.default_rng(8)
    images = [np.asarray(random_line_image(rng, 32, int(rng.integers(10, 700)))) for _ in range(20)]
    assert additive_recognizer._mixes_widths
    together = additive_recognizer.recognize(images, batch_size=8, beam_size=2)
    monkeypatch.setattr(type(additive_recognizer), "_mixes_widths", property(lambda self: False))
    apart = additive_recognizer.recognize(images, batch_size=8, beam_size=2)
    assert [r.text for r in together] == [r.text for r in apart]
    for a, b in zip(together, apart):
        assert math.isclose(a.candidates[0].score, b.candidates[0].score, rel_tol=1e-5, abs_tol=1e-6)
