"""The recognizer's greedy loop (fused output head) equals the reference greedy loop."""

import torch
from conftest import TEST_IMAGES

from fastocr import ops
from fastocr.decode import AttnStep, greedy_decode
from fastocr.engine.preprocess import preprocess
from fastocr.reference import greedy_decode_ref


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


def test_checking_for_the_end_less_often_changes_no_line():
    """check_every only decides how many EOS columns follow the last line's end (CUDA checks every 4 steps)."""
    from fastocr.alphabet import EOS_TOKEN
    from fastocr.decode import greedy_loop

    B, L = 5, 12

    def run(check_every):
        steps = iter(range(1, L + 1))

        def pick(tokens):  # line b emits token 2 + b until step 2b + 1, then EOS
            t = next(steps)
            best = torch.where(torch.full((B,), t) > torch.arange(B) * 2 + 1, EOS_TOKEN, 2 + torch.arange(B))
            return best, -0.1 * torch.ones(B)

        return greedy_loop(pick, B, L, check_every=check_every)

    outs = {every: run(every) for every in (1, 3, 0)}
    assert outs[1].tokens.shape[1] == 10 and outs[0].tokens.shape[1] == L
    for every in (3, 0):
        assert torch.equal(outs[every].lengths, outs[1].lengths)
        assert torch.equal(outs[every].confidence, outs[1].confidence)
        n = outs[1].tokens.shape[1]
        assert torch.equal(outs[every].tokens[:, :n], outs[1].tokens)
        assert (outs[every].tokens[:, n:] == EOS_TOKEN).all() and (outs[every].token_logprobs[:, n:] == 0).all()
