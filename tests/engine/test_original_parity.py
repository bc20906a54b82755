"""fastocr reproduces the original project's inference exactly, on its checkpoint layout."""

import math

import pytest
import torch
from conftest import TEST_IMAGES
from original import orig_infer

import fastocr
from fastocr.model import OCRModel


def test_state_dict_layout_matches_spec(original_files):
    """The original files' keys and shapes are the model's own (SPEC §1.4, §5)."""
    enc_sd = torch.load(original_files[0], weights_only=True)
    dec_sd = torch.load(original_files[1], weights_only=True)
    model = OCRModel(fastocr.ModelConfig(), 5991)
    assert {k: v.shape for k, v in model.encoder.state_dict().items()} == {k: v.shape for k, v in enc_sd.items()}
    assert {k: v.shape for k, v in model.decoder.state_dict().items()} == {k: v.shape for k, v in dec_sd.items()}
    assert len(enc_sd) == 49 and len(dec_sd) == 11
    assert sum(p.numel() for p in model.encoder.parameters()) == 8_444_800
    assert sum(p.numel() for p in model.decoder.parameters()) == 3_635_886


@pytest.fixture(scope="module")
def alphabet_chars(recognizer):
    return recognizer.alphabet.chars


# Batch 1 with NCHW images and the whole canvas through the CNN runs the very float operations of the original
# loop: bit for bit. In a batch, with NHWC images (channels_last, the default), with the CNN cut short where a
# line's padding begins (skip_padding, the default) or with Winograd convolutions (winograd, the default on the
# CPU), GEMMs and convolutions sum in another order: each step's
# probabilities move in their last bits, which the 21-step product turns into up to 1.8e-4 relative (measured
# over these weights and the 16 images), hence the looser bound.
BATCH1_RTOL, BATCHED_RTOL = 0.0, 5e-4
CASES = [(1, False, BATCH1_RTOL), (1, True, BATCHED_RTOL), (64, True, BATCHED_RTOL)]


def _variant(rec, channels_last, rtol):
    """Bit for bit: NCHW, the CNN over every line's whole canvas (no padding skipped), direct convolutions."""
    return fastocr.Recognizer(rec.model, rec.alphabet, "cpu", channels_last=channels_last, skip_padding=rtol != 0.0,
                              winograd=rtol != 0.0)


def _assert_same(rec, orig_enc, orig_dec, chars, paths, batch_size, rtol):
    results = fastocr.recognize_batch(paths, model=rec, batch_size=batch_size)
    with torch.no_grad():
        expected = [orig_infer(orig_enc, orig_dec, chars, p) for p in paths]
    # not vacuous: the lines end at different steps (EOS mid-batch) and read differently
    assert len({len(text) for text, _ in expected}) > 1 and len({text for text, _ in expected}) > 1
    for r, (text, prob), p in zip(results, expected, paths):
        assert r.ok, r.error
        assert r.text == text, p
        assert prob > 0, "a vacuous confidence: the fixture weights should give non-zero confidences"
        if rtol == 0.0:
            assert r.confidence == prob, (p, r.confidence, prob)
        else:
            assert math.isclose(r.confidence, prob, rel_tol=rtol), (p, r.confidence, prob)


@pytest.mark.parametrize(("batch_size", "channels_last", "rtol"), CASES)
def test_sample_images_match_original_loop(recognizer, original_modules, alphabet_chars, batch_size,
                                           channels_last, rtol):
    assert len(TEST_IMAGES) == 5
    _assert_same(_variant(recognizer, channels_last, rtol), *original_modules, alphabet_chars, TEST_IMAGES,
                 batch_size, rtol)


@pytest.mark.parametrize(("batch_size", "channels_last", "rtol"), CASES)
def test_generated_images_match_original_loop(
    recognizer, original_modules, alphabet_chars, generated_images, batch_size, channels_last, rtol
):
    """Padded, exact-width, squashed, tall and tiny images all go through the same preprocessing."""
    _assert_same(_variant(recognizer, channels_last, rtol), *original_modules, alphabet_chars, generated_images,
                 batch_size, rtol)


def test_char_probs_multiply_to_confidence_with_eos(recognizer, generated_images):
    ended, full = recognizer.recognize([generated_images[8], TEST_IMAGES[0]])
    assert 0 < len(ended.text) < recognizer.config.max_decode_len and len(full.text) == 20
    for r in (ended, full):
        assert len(r.char_probs) == len(r.text)
    # a line that ended early also pays its EOS step's probability; one cut at max_len has none to pay
    assert ended.confidence < math.prod(ended.char_probs) * (1 - 1e-4)
    assert math.isclose(full.confidence, math.prod(full.char_probs), rel_tol=1e-5)
