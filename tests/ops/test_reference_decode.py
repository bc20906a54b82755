"""The reference decoders: greedy with per-line EOS, and the beam search rules stated in fastocr/reference.py."""

import math

import pytest
import torch

from fastocr.alphabet import EOS_TOKEN, SOS_TOKEN
from fastocr.decode import AttnStep
from fastocr.reference import beam_search_ref, greedy_decode_ref


class RandomStep:
    """A deterministic step function: log-probs depend on the row's whole token history (so beams differ)."""

    def __init__(self, images: int, vocab: int, seed: int, eos_boost: float = 0.0, sharp: float = 3.0,
                 rows_per_image: int = 1):
        g = torch.Generator().manual_seed(seed)
        self.table = torch.randn(vocab, vocab, generator=g) * sharp
        # one bias per image, shared by its beams, so beams differ by their history only
        self.row_bias = torch.randn(images, vocab, generator=g).repeat_interleave(rows_per_image, dim=0)
        rows = images * rows_per_image
        self.table[:, EOS_TOKEN] += eos_boost
        self.table[:, SOS_TOKEN] = -1e9  # never predicted
        self.state = torch.zeros(rows, vocab)
        self.calls = []

    def __call__(self, tokens, parents=None):
        self.calls.append((tokens.clone(), None if parents is None else parents.clone()))
        if parents is not None:
            self.state = self.state[parents]
        self.state = 0.5 * self.state + self.table[tokens]
        return torch.log_softmax(self.state + self.row_bias, dim=1)


def _beam(images, k, vocab, seed, **kw):
    step = RandomStep(images, vocab, seed, eos_boost=kw.pop("eos_boost", 1.0), rows_per_image=k)
    return beam_search_ref(step, images, k, **kw)


def test_greedy_stops_per_row_and_pads_with_eos():
    out = greedy_decode_ref(RandomStep(16, 12, seed=0, eos_boost=2.0), 16, max_len=15)
    assert out.tokens.shape[0] == 16
    for b in range(16):
        n = int(out.lengths[b])
        row = out.tokens[b].tolist()
        assert EOS_TOKEN not in row[: n - 1]
        assert all(t == EOS_TOKEN for t in row[n:])
        assert math.isclose(float(out.confidence[b]), math.exp(float(out.token_logprobs[b, :n].sum())), rel_tol=1e-5)
    assert len(set(out.lengths.tolist())) > 1, "the test should reach different line lengths"


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("vocab", [5, 97])
def test_beam_one_equals_greedy(seed, vocab):
    B, L = 8, 12
    greedy = greedy_decode_ref(RandomStep(B, vocab, seed, eos_boost=1.0), B, L)
    beams = _beam(B, 1, vocab, seed, max_len=L)
    for b in range(B):
        n = int(greedy.lengths[b])
        (h,) = beams[b]
        assert h.tokens == greedy.tokens[b, :n].tolist()
        assert math.isclose(h.score, float(greedy.token_logprobs[b, :n].sum()), rel_tol=1e-5, abs_tol=1e-5)
        assert h.finished == (greedy.tokens[b, n - 1].item() == EOS_TOKEN)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
@pytest.mark.parametrize(("k", "n"), [(3, 3), (5, 2), (10, 10)])
def test_nbest_sorted_distinct_and_scored_as_documented(k, n, alpha):
    results = _beam(6, k, 97, seed=k, max_len=10, num_hypotheses=n, length_penalty=alpha)
    for hyps in results:
        assert len(hyps) == n
        scores = [h.score for h in hyps]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(h.tokens) for h in hyps}) == n
        for h in hyps:
            assert math.isclose(h.score, sum(h.token_logprobs) / len(h.tokens) ** alpha, rel_tol=1e-5)
            assert h.finished == (h.tokens[-1] == EOS_TOKEN)
            assert EOS_TOKEN not in h.tokens[:-1]


def _all_hypotheses(vocab, max_len, seed, image):
    """Every possible output of one image, scored by running the step function on it alone."""
    out = []
    def walk(prefix):
        if prefix and (prefix[-1] == EOS_TOKEN or len(prefix) == max_len):
            step = RandomStep(image + 1, vocab, seed, eos_boost=1.0)
            step.row_bias = step.row_bias[image : image + 1]
            step.state = step.state[:1]
            toks, total = [SOS_TOKEN] + prefix, 0.0
            for t in range(len(prefix)):
                total += float(step(torch.tensor([toks[t]]))[0, toks[t + 1]])
            out.append((total, prefix))
            return
        for v in range(1, vocab):  # SOS is never predicted
            walk(prefix + [v])
    walk([])
    return sorted(out, key=lambda x: -x[0])


@pytest.mark.parametrize("seed", range(3))
def test_beam_wide_enough_finds_the_exact_nbest(seed):
    """With K above the number of live prefixes, beam search is exhaustive: it must return the true n-best."""
    vocab, max_len, images = 5, 4, 3  # 3 characters: at most 27 live prefixes
    results = _beam(images, 27, vocab, seed, max_len=max_len, num_hypotheses=5)
    for b in range(images):
        truth = _all_hypotheses(vocab, max_len, seed, b)[:5]
        assert [h.tokens for h in results[b]] == [p for _, p in truth]
        for h, (score, _) in zip(results[b], truth):
            assert math.isclose(h.score, score, rel_tol=1e-5)


def test_beam_search_stops_early_when_finished_cannot_be_beaten():
    step = RandomStep(4, 20, seed=1, eos_boost=6.0, rows_per_image=3)
    beam_search_ref(step, 4, 3, max_len=30)
    assert len(step.calls) < 30


def test_num_hypotheses_above_beam_is_rejected():
    with pytest.raises(ValueError, match="num_hypotheses"):
        _beam(1, 2, 10, seed=0, max_len=5, num_hypotheses=3)


def test_beam_on_the_real_decoder_matches_greedy(recognizer):
    enc = torch.randn(71, 3, 256, generator=torch.Generator().manual_seed(0))
    dec = recognizer.model.decoder
    with torch.no_grad():
        g = greedy_decode_ref(AttnStep(dec, enc), 3, 20)
        beams = beam_search_ref(AttnStep(dec, enc, 1), 3, 1, 20)
    for b in range(3):
        assert beams[b][0].tokens == g.tokens[b, : int(g.lengths[b])].tolist()
