"""The C++ beam_step op against the reference beam search on CPU, per step and end to end.

Run (pyproject's addopts holds --benchmark-skip, which wins over --benchmark-enable, hence -o addopts=):
    OMP_NUM_THREADS=1 python -m pytest -o addopts= benchmarks/bench_beam_step.py --benchmark-enable \
        --benchmark-json=bench_beam_step.json

- ``test_search_per_step``: the search machinery alone (selection, bookkeeping, n-best), B=64, K=5, V=5991,
  over replayed log-probs, so the step function costs nothing; every search runs all L steps (EOS unlikely).
- ``test_op_one_step``: one ``ops.beam_step`` call, for scale.
- ``test_decode_end_to_end``: greedy vs beam 5 (reference and fast) over the real decoder (random weights),
  B=64.
"""

import pytest
import torch

from fastocr import _ext, ops
from fastocr.alphabet import EOS_TOKEN
from fastocr.config import ModelConfig
from fastocr.decode import AttnStep
from fastocr.engine.beam import BeamState, beam_search
from fastocr.model import OCRModel
from fastocr.reference import beam_search_ref, greedy_decode_ref

pytestmark = pytest.mark.skipif(_ext.C is None, reason="fastocr._C not built")

B, K, V, L = 64, 5, 5991, 20


class ReplayStep:
    """Returns precomputed log-probs (4 tensors in turn): the cost of a step is the search's alone."""

    def __init__(self, seed=0, distinct=4):
        g = torch.Generator().manual_seed(seed)
        self.logps = [torch.log_softmax(torch.randn(B * K, V, generator=g) * 3, dim=1)
                      for _ in range(distinct)]
        for lp in self.logps:
            lp[:, EOS_TOKEN] = -30.0  # lines never end early: every search is L steps
        self.t = 0

    def __call__(self, tokens, parents=None):
        self.t += 1
        return self.logps[(self.t - 1) % len(self.logps)]


def _note(benchmark, group):
    benchmark.group = group
    benchmark.extra_info["threads"] = torch.get_num_threads()


@pytest.mark.parametrize("provider", ["ref", "fast"])
def test_search_per_step(benchmark, provider):
    _note(benchmark, f"beam search B={B} K={K} V={V}, {L} steps")
    search = beam_search_ref if provider == "ref" else beam_search
    step = ReplayStep()
    out = benchmark.pedantic(lambda: search(step, B, K, L, num_hypotheses=2), rounds=3, warmup_rounds=1)
    assert all(len(h[0].tokens) == L for h in out)
    benchmark.extra_info["ms_per_step"] = benchmark.stats.stats.mean * 1e3 / L


def test_op_one_step(benchmark):
    _note(benchmark, f"beam_step op B={B} K={K} V={V}")
    logp = ReplayStep().logps[0]

    def setup():
        state = BeamState.new(B, K, 2, L)
        state.scores.copy_(-torch.rand(B, K))  # every beam live, as from step 1 on
        return (logp, state.scores, state.done, state.history, state.history_logp, state.fin_scores,
                state.fin_tokens, state.fin_logp, state.fin_lengths, 5), {}

    benchmark.pedantic(ops.beam_step, setup=setup, rounds=50, warmup_rounds=2)


@pytest.fixture(scope="module")
def decoder_and_encodings():
    torch.manual_seed(0)
    return OCRModel(ModelConfig(), 5991).eval().decoder, torch.randn(71, B, 256)


@pytest.mark.parametrize("provider", ["greedy_ref", "beam5_ref", "beam5_fast"])
def test_decode_end_to_end(benchmark, decoder_and_encodings, provider):
    decoder, enc = decoder_and_encodings
    _note(benchmark, f"decode B={B} L={L} (real decoder, random weights)")
    benchmark.extra_info["lines"] = B

    @torch.inference_mode()
    def run():
        if provider == "greedy_ref":
            return greedy_decode_ref(AttnStep(decoder, enc), B, L)
        search = beam_search_ref if provider == "beam5_ref" else beam_search
        return search(AttnStep(decoder, enc, 5), B, 5, L)

    assert benchmark.pedantic(run, rounds=2, warmup_rounds=1) is not None
    benchmark.extra_info["lines_per_s"] = B / benchmark.stats.stats.mean
