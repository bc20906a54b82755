"""Property-based tests: preprocessing for any image size, alphabet round trips, beam-search invariants."""

import numpy as np
import torch
from conftest import ALPHABET_5990
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastocr import Alphabet
from fastocr.alphabet import EOS_TOKEN, SOS_TOKEN
from fastocr.engine.beam import beam_search
from fastocr.engine.preprocess import padded_width, preprocess, resize_line
from fastocr.reference import greedy_decode_ref

ORIGINAL = Alphabet.from_file(ALPHABET_5990)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(h=st.integers(1, 400), w=st.integers(1, 3000), channels=st.sampled_from([0, 1, 3, 4]), seed=st.integers(0, 9))
def test_preprocess_shape_range_and_padding(h, w, channels, seed):
    shape = (h, w) if channels == 0 else (h, w, channels)
    img = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    x = preprocess([img])
    assert x.shape == (1, 3, 32, 280) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    used = resize_line(img if channels else np.repeat(img[:, :, None], 3, 2)[:, :, :3]).shape[1]
    assert used == min(280, max(1, int(w * 32 / h)))
    assert x[0, :, :, used:].eq(-1).all()


@FAST
@given(w=st.integers(1, 5000), bucket=st.sampled_from([4, 16, 32, 64]))
def test_padded_width_is_the_next_bucket(w, bucket):
    p = padded_width(w, 1600, bucket)
    assert p % bucket == 0 and w <= p < w + bucket


@FAST
@given(st.text(alphabet=st.sampled_from(sorted(set(ORIGINAL.chars))), max_size=40))
def test_original_alphabet_round_trip(text):
    ids = ORIGINAL.encode(text)
    assert all(2 <= i < ORIGINAL.num_classes for i in ids)
    assert ORIGINAL.decode(ids + [EOS_TOKEN]) == text


def _random_step(images, k, vocab, seed):
    g = torch.Generator().manual_seed(seed)
    table = torch.randn(vocab, vocab, generator=g) * 3
    table[:, SOS_TOKEN] = -1e9
    table[:, EOS_TOKEN] += 1.0
    bias = torch.randn(images, vocab, generator=g).repeat_interleave(k, 0)
    state = {"h": torch.zeros(images * k, vocab)}

    def step(tokens, parents=None):
        if parents is not None:
            state["h"] = state["h"][parents]
        state["h"] = 0.5 * state["h"] + table[tokens]
        return torch.log_softmax(state["h"] + bias, dim=1)

    return step


@FAST
@given(images=st.integers(1, 4), k=st.integers(1, 8), n_frac=st.floats(0, 1), vocab=st.integers(4, 30),
       max_len=st.integers(1, 10), alpha=st.sampled_from([0.0, 0.6]), seed=st.integers(0, 1000))
def test_beam_invariants(images, k, n_frac, vocab, max_len, alpha, seed):
    n = max(1, round(n_frac * k))
    out = beam_search(_random_step(images, k, vocab, seed), images, k, max_len, n, alpha)
    for hyps in out:
        assert 1 <= len(hyps) <= n
        scores = [h.score for h in hyps]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(h.tokens) for h in hyps}) == len(hyps)
        assert all(EOS_TOKEN not in h.tokens[:-1] and len(h.tokens) <= max_len for h in hyps)
    if k == 1 and alpha == 0.0:
        g = greedy_decode_ref(_random_step(images, 1, vocab, seed), images, max_len)
        assert [h[0].tokens for h in out] == [g.tokens[b, : int(g.lengths[b])].tolist() for b in range(images)]


@FAST
@given(words=st.lists(st.lists(st.integers(2, 9), min_size=1, max_size=5), min_size=1, max_size=6),
       k=st.integers(1, 6), seed=st.integers(0, 1000))
def test_constrained_outputs_stay_in_the_lexicon(words, k, seed):
    out = beam_search(_random_step(2, k, 10, seed), 2, k, 6, 1, lexicon=words)
    allowed = {tuple(w) + (EOS_TOKEN,) for w in words}
    for hyps in out:
        assert hyps  # every word fits in the 6 steps, so some line always finishes
        for h in hyps:
            assert tuple(h.tokens) in allowed or (not h.finished and any(
                tuple(w[: len(h.tokens)]) == tuple(h.tokens) for w in words))
