"""The recognizer's greedy loop (fused output head) equals the reference greedy loop."""

import torch
from conftest import TEST_IMAGES

from fastocr import ops
from fastocr.decode import greedy_decode
from fastocr.preprocess import preprocess
from fastocr.reference import AttnStep, greedy_decode_ref


def _encoded(recognizer):
    with torch.inference_mode():
        return recognizer.model.encoder(preprocess(TEST_IMAGES))


def test_greedy_decode_equals_reference_bit_for_bit_on_cpu(recognizer):
    enc, dec = _encoded(recognizer), recognizer.model.decoder
    with torch.inference_mode():
        fast = greedy_decode(AttnStep(dec, enc), enc.shape[1], 20)
        ref = greedy_decode_ref(AttnStep(dec, enc), enc.shape[1], 20)
    assert ops.LAST_PATH["logits_argmax"] == "reference"
    for name in ("tokens", "token_logprobs", "lengths", "confidence"):
        assert torch.equal(getattr(fast, name), getattr(ref, name)), name


def test_greedy_decode_with_every_kernel_gives_the_reference_strings(recognizer):
    enc, dec = _encoded(recognizer)[:, :2], recognizer.model.decoder  # 2 lines: the interpreter is slow
    with torch.inference_mode():
        ref = greedy_decode_ref(AttnStep(dec, enc), 2, 6)
        with ops.triton_on_cpu():
            fast = greedy_decode(AttnStep(dec, enc), 2, 6)
    assert ops.LAST_PATH["logits_argmax"] == ops.LAST_PATH["gru_step"] == "triton"
    assert torch.equal(fast.tokens, ref.tokens)
    torch.testing.assert_close(fast.confidence, ref.confidence, rtol=1e-4, atol=0)
