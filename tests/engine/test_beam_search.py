"""beam.beam_search (the C++ beam_step op in a Python loop) against the reference beam search.

Parity means: the same step calls (tokens and parents, call for call), the same n-best token lists and
per-token log-probs, and scores within 1e-5. Constraints are checked against the reference run over
-inf-masked log-probs (``beam_search_constrained_ref``) and, for the lexicon, against brute force.
"""

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastocr.alphabet import EOS_TOKEN, SOS_TOKEN
from fastocr.config import ModelConfig
from fastocr.decode import AttnStep
from fastocr.engine.beam import TokenAutomaton, beam_search
from fastocr.model import OCRModel
from fastocr.reference import beam_search_constrained_ref, beam_search_ref, greedy_decode_ref


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These searches are tiny: on a loaded 2-core machine, OpenMP fan-out made this file 28 s instead of 3 s.
    tests/ops/test_beam_step.py runs the op's multi-threaded path on purpose."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class LowRankStep:
    """A deterministic step function at any vocab size: log-probs depend on the row's whole history.

    Like tests/ops/test_reference_decode.py's RandomStep, but with a rank-``dim`` state, so that 5991 classes
    cost 2 x 16 x 5991 floats instead of a 5991 x 5991 table. ``quantum`` rounds the log-probs to multiples of
    it: sums stay exact, so many candidates tie exactly.
    """

    def __init__(self, images, vocab, seed, rows_per_image=1, eos_boost=0.0, sharp=3.0, dim=16, quantum=None):
        g = torch.Generator().manual_seed(seed)
        self.emb = torch.randn(vocab, dim, generator=g)
        self.out = torch.randn(dim, vocab, generator=g) * (sharp / math.sqrt(dim))
        # one bias per image, shared by its beams, so beams differ by their history only
        self.bias = torch.randn(images, vocab, generator=g).repeat_interleave(rows_per_image, dim=0)
        self.bias[:, EOS_TOKEN] += eos_boost
        self.bias[:, SOS_TOKEN] = -1e9  # never predicted
        self.state = torch.zeros(images * rows_per_image, dim)
        self.quantum = quantum
        self.calls = []

    def __call__(self, tokens, parents=None):
        self.calls.append((tokens.clone(), None if parents is None else parents.clone()))
        if parents is not None:
            self.state = self.state[parents]
        self.state = 0.5 * self.state + self.emb[tokens]
        logp = torch.log_softmax(self.state @ self.out + self.bias, dim=1)
        if self.quantum is not None:
            logp = torch.round(logp / self.quantum) * self.quantum
        return logp


def assert_same_hypotheses(ref, fast):
    assert len(fast) == len(ref)
    for b, (r, f) in enumerate(zip(ref, fast)):
        assert [h.tokens for h in f] == [h.tokens for h in r], f"image {b}: n-best token lists differ"
        for i, (hr, hf) in enumerate(zip(r, f)):
            assert hf.token_logprobs == hr.token_logprobs, f"image {b} hypothesis {i}"
            assert hf.finished == hr.finished, f"image {b} hypothesis {i}"
            assert math.isclose(hf.score, hr.score, rel_tol=1e-5, abs_tol=1e-5), (b, i, hr.score, hf.score)


def assert_same_calls(ref_step, fast_step):
    """Both searches fed the decoder the same tokens and parents at every step (dead beams included)."""
    assert len(fast_step.calls) == len(ref_step.calls)
    for t, ((tr, pr), (tf, pf)) in enumerate(zip(ref_step.calls, fast_step.calls)):
        assert torch.equal(tf, tr), f"step {t}: tokens differ"
        same = (pf is None and pr is None) or (pf is not None and pr is not None and torch.equal(pf, pr))
        assert same, f"step {t}: parents differ"


def run_both(images, k, vocab, seed, max_len, n=1, alpha=0.0, constraints=None, **step_kw):
    """Runs the reference (masked when constrained) and beam_search on twin step functions; checks parity."""
    steps = [LowRankStep(images, vocab, seed, rows_per_image=k, **step_kw) for _ in range(2)]
    if constraints:
        expected = beam_search_constrained_ref(steps[0], images, k, max_len, n, alpha, **constraints)
    else:
        expected = beam_search_ref(steps[0], images, k, max_len, n, alpha)
    got = beam_search(steps[1], images, k, max_len, n, alpha, **(constraints or {}))
    assert_same_calls(*steps)
    assert_same_hypotheses(expected, got)
    return got


# N and alpha vary with the shape, so every (B, K) pair meets an n-best size and both penalties.
@pytest.mark.parametrize("images", [1, 3, 17, 64])
@pytest.mark.parametrize("k", [1, 2, 5, 10])
def test_matches_reference_small_vocab(images, k):
    n = 1 + (images + k) % k
    alpha = 0.6 if (images + k) % 2 else 0.0
    run_both(images, k, 97, seed=images * 31 + k, max_len=12, n=n, alpha=alpha)


# The real 5991-class alphabet: few cases, the reference sorts B x 5K x 5991 candidates per step.
@pytest.mark.parametrize(("images", "k", "n", "alpha"), [(3, 5, 5, 0.6), (17, 2, 1, 0.0), (64, 5, 2, 0.0)])
def test_matches_reference_real_vocab(images, k, n, alpha):
    run_both(images, k, 5991, seed=k, max_len=8 if images == 64 else 12, n=n, alpha=alpha, eos_boost=4.0)


@pytest.mark.parametrize("k", [2, 5, 10])
def test_exact_ties_pick_the_lower_index(k):
    """Log-probs on a 0.5 grid: sums are exact, so scores tie all the time; both take the lower index."""
    run_both(5, k, 13, seed=k, max_len=10, n=2, quantum=0.5)


def test_uniform_log_probs_pick_lowest_parent_then_token():
    images, k, vocab = 2, 3, 6

    def uniform(tokens, parents=None):
        return torch.full((len(tokens), vocab), -math.log(vocab))

    fast = beam_search(uniform, images, k, 3, num_hypotheses=2)
    assert_same_hypotheses(beam_search_ref(uniform, images, k, 3, num_hypotheses=2), fast)
    # step 0: beam 0 alone; candidates 0..5 tie, EOS (1) ranks 1 < K and finishes first;
    # equal scores keep finishing order
    assert [h.tokens for h in fast[0]] == [[EOS_TOKEN], [SOS_TOKEN, EOS_TOKEN]]


@pytest.mark.parametrize("seed", range(4))
def test_beam_one_equals_greedy(seed):
    images, vocab, max_len = 9, 97, 12
    greedy = greedy_decode_ref(LowRankStep(images, vocab, seed, eos_boost=1.0), images, max_len)
    beams = beam_search(LowRankStep(images, vocab, seed, eos_boost=1.0), images, 1, max_len)
    for b in range(images):
        n = int(greedy.lengths[b])
        (h,) = beams[b]
        assert h.tokens == greedy.tokens[b, :n].tolist()
        assert h.token_logprobs == greedy.token_logprobs[b, :n].tolist()
        assert math.isclose(h.score, float(greedy.token_logprobs[b, :n].sum()), rel_tol=1e-5, abs_tol=1e-5)


def test_stops_early_like_the_reference():
    steps = [LowRankStep(4, 20, 1, rows_per_image=3, eos_boost=6.0) for _ in range(2)]
    assert_same_hypotheses(beam_search_ref(steps[0], 4, 3, 30), beam_search(steps[1], 4, 3, 30))
    assert len(steps[1].calls) == len(steps[0].calls) < 30


@pytest.fixture(scope="module")
def decisive_decoder():
    """The real decoder (5991 classes, random weights), made decisive so lines end at different lengths."""
    torch.manual_seed(0)
    decoder = OCRModel(ModelConfig(), 5991).eval().decoder
    with torch.no_grad():
        hot = torch.cat([torch.tensor([EOS_TOKEN]), torch.randperm(5989)[:40] + 2])
        decoder.decoder.out.weight[hot] *= 60.0
        decoder.decoder.out.bias[EOS_TOKEN] += 10.0  # lines end after 1..9 tokens, some run to max_len
    return decoder


@pytest.mark.parametrize(("images", "k", "n", "alpha"), [(6, 5, 3, 0.6), (4, 1, 1, 0.0)])
def test_real_decoder_matches_reference(decisive_decoder, images, k, n, alpha):
    enc = torch.randn(71, images, 256, generator=torch.Generator().manual_seed(k))
    with torch.inference_mode():
        expected = beam_search_ref(AttnStep(decisive_decoder, enc, k), images, k, 20, n, alpha)
        got = beam_search(AttnStep(decisive_decoder, enc, k), images, k, 20, n, alpha)
    assert_same_hypotheses(expected, got)
    if k == 1:
        with torch.inference_mode():
            greedy = greedy_decode_ref(AttnStep(decisive_decoder, enc), images, 20)
        assert [h[0].tokens for h in got] == [greedy.tokens[b, : int(greedy.lengths[b])].tolist()
                                              for b in range(images)]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    images=st.integers(1, 5), k=st.sampled_from([1, 2, 3, 7, 16, 32]), vocab=st.sampled_from([2, 3, 5, 40]),
    n_frac=st.floats(0, 1), max_len=st.integers(1, 6), alpha=st.sampled_from([0.0, 0.6, 1.0, -0.5]),
    quantum=st.sampled_from([None, 0.5, 1.0]), eos_boost=st.sampled_from([0.0, 2.0]),
    constraint=st.sampled_from([None, "allowed", "lexicon"]), seed=st.integers(0, 2**16),
)
def test_random_configurations_match_reference(images, k, vocab, n_frac, max_len, alpha, quantum, eos_boost,
                                                constraint, seed):
    """Edges at once: V=2 (only SOS/EOS), K=32 (the largest beam), max_len 1, negative alpha, exact ties."""
    constraints = None
    if constraint == "allowed" and vocab > 2:
        constraints = {"allowed": list(range(2, vocab, 2))}
    elif constraint == "lexicon" and vocab > 2:
        words = random_words(vocab, 1 + seed % 6, seed, longest=3)
        constraints = {"lexicon": words + [[]] * (seed % 3 == 0)}  # sometimes EOS at the root
    n = 1 + int(n_frac * (k - 1))
    run_both(images, k, vocab, seed, max_len, n, alpha, constraints, eos_boost=eos_boost, quantum=quantum)


def test_invalid_sizes_are_rejected():
    step = LowRankStep(1, 10, 0, rows_per_image=2)
    with pytest.raises(ValueError, match="num_hypotheses"):
        beam_search(step, 1, 2, 5, num_hypotheses=3)
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(step, 1, 33, 5)
    with pytest.raises(ValueError, match="max_len"):
        beam_search(step, 1, 2, 0)


def test_empty_batch():
    assert beam_search(LowRankStep(0, 10, 0, rows_per_image=3), 0, 3, 5) == []


# -- constraints --------------------------------------------------------------------------------------------


def random_words(vocab, count, seed, longest=5, first=2):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, longest + 1, (count,), generator=g).tolist()
    return [torch.randint(first, vocab, (n,), generator=g).tolist() for n in lengths]


def assert_obeys(results, max_len, allowed=None, lexicon=None):
    """Finished lines are whole entries (over the charset); lines cut at max_len are prefixes of entries."""
    entries = None if lexicon is None else [w for w in lexicon if allowed is None or set(w) <= set(allowed)]
    for hyps in results:
        for h in hyps:
            body = h.tokens[:-1] if h.finished else h.tokens
            if allowed is not None:
                assert set(body) <= set(allowed), h.tokens
            if entries is not None:
                if h.finished:
                    assert body in entries, h.tokens
                else:
                    assert len(body) == max_len and any(w[:max_len] == body for w in entries), h.tokens


# Each case names what it reaches: a dense charset, a lexicon trie, a trie so narrow that most of the 2K
# candidates are -inf fillers (dead beams), charset and lexicon intersected, an empty entry (EOS at the root).
@pytest.mark.parametrize(
    ("case", "images", "k", "vocab", "n", "alpha"),
    [("charset", 5, 5, 97, 3, 0.6), ("charset", 3, 5, 5991, 2, 0.0), ("lexicon", 6, 5, 97, 3, 0.0),
     ("narrow", 4, 10, 97, 3, 0.6), ("both", 5, 5, 97, 2, 0.6), ("empty_entry", 3, 3, 30, 3, 0.0),
     ("lexicon", 8, 5, 5991, 2, 0.6)],
)
def test_constrained_matches_masked_reference(case, images, k, vocab, n, alpha):
    g = torch.Generator().manual_seed(k + vocab)
    charset = (torch.randperm(vocab - 2, generator=g)[: max(10, vocab // 3)] + 2).tolist()
    words = random_words(vocab, {"narrow": 3, "empty_entry": 6}.get(case, 300), seed=vocab)
    constraints = {"charset": {"allowed": charset}, "lexicon": {"lexicon": words},
                   "narrow": {"lexicon": words}, "both": {"allowed": charset, "lexicon": words},
                   "empty_entry": {"lexicon": [[]] + words}}[case]
    max_len = 7
    results = run_both(images, k, vocab, seed=7, max_len=max_len, n=n, alpha=alpha, constraints=constraints,
                       eos_boost=4.0 if vocab > 100 else 0.0)
    assert_obeys(results, max_len, constraints.get("allowed"), constraints.get("lexicon"))
    assert any(h.finished for hyps in results for h in hyps)


@pytest.mark.parametrize("allowed", [None, "half"])
def test_alternative_ids_match_the_masked_reference(allowed):
    """Positions that may take any id of a pair (a character an alphabet lists twice): the C++ trie and the
    reference's agree, and every finished line spells an entry with one id of each position."""
    vocab, max_len = 97, 7
    pair = lambda t: sorted({t, t ^ 1} & set(range(2, vocab)))  # (2, 3), (4, 5), ...: consistent alternatives
    entries = [[pair(t) for t in w] for w in random_words(vocab, 200, seed=5)]
    constraints = {"lexicon": entries}
    if allowed:
        constraints["allowed"] = list(range(2, vocab, 2)) + list(range(3, 40, 2))
    results = run_both(6, 5, vocab, seed=11, max_len=max_len, n=3, constraints=constraints, eos_boost=0.5)
    keep = set(constraints.get("allowed", range(vocab)))
    for h in (h for hyps in results for h in hyps if h.finished):
        body = h.tokens[:-1]
        assert any(len(e) == len(body) and all(t in ids and t in keep for t, ids in zip(body, e)) for e in entries)
    assert any(h.finished for hyps in results for h in hyps)


def test_a_lexicon_keeps_every_spelling_of_a_repeated_character():
    """The original alphabet lists "1" and "3" twice; a model may have learnt either id, so all 2**7 spellings
    of "1313131" stay (0.1 kept the first 64 in product order, losing the one of the last ids)."""
    import itertools

    from conftest import ALPHABET_5990

    from fastocr.alphabet import Alphabet
    from fastocr.engine.constraints import compile_constraint

    alphabet = Alphabet.from_file(ALPHABET_5990)
    assert len(alphabet.ids("1")) == len(alphabet.ids("3")) == 2
    constraint = compile_constraint(alphabet, None, ["1313131"])  # what recognize(lexicon=...) decodes with
    trie = constraint if isinstance(constraint, TokenAutomaton) else TokenAutomaton.lexicon(constraint[1])

    def accepts(ids):
        state = 0
        for t in [*ids, EOS_TOKEN]:
            lo, hi = trie.offsets[state].item(), trie.offsets[state + 1].item()
            edges = dict(zip(trie.tokens[lo:hi].tolist(), trie.next[lo:hi].tolist()))
            if t not in edges:
                return False
            state = edges[t]
        return True

    spellings = list(itertools.product(*(alphabet.ids(c) for c in "1313131")))
    assert len(spellings) == 128 and all(accepts(s) for s in spellings)
    assert not accepts([alphabet.ids("1")[0]] * 7)
    with pytest.raises(ValueError, match="same alternatives everywhere"):
        TokenAutomaton.lexicon([[[5, 6]], [[5]]])


def line_logprob(vocab, seed, tokens):
    """log p(tokens) of image 0 under LowRankStep, decoding it alone."""
    step, total, prev = LowRankStep(1, vocab, seed, eos_boost=1.0), 0.0, SOS_TOKEN
    for tok in tokens:
        total += float(step(torch.tensor([prev]))[0, tok])
        prev = tok
    return total


@pytest.mark.parametrize("seed", [0, 1, 5])  # seeds whose free best is a finished line
def test_lexicon_gives_the_best_entry_when_the_free_best_is_not_one(seed):
    vocab, max_len, k = 12, 8, 24  # k > 2 * 10 entries: every allowed prefix and EOS stays in the beam

    def search(**constraints):
        step = LowRankStep(1, vocab, seed, rows_per_image=k, eos_boost=1.0)
        return beam_search(step, 1, k, max_len, **constraints)[0][0]

    free = search()
    assert free.finished
    words = [w for w in random_words(vocab, 12, seed=seed, longest=4) if w != free.tokens[:-1]][:10]
    got = search(lexicon=words)
    brute = {tuple(w): line_logprob(vocab, seed, w + [EOS_TOKEN]) for w in words}
    best = max(brute, key=brute.get)
    assert got.tokens == [*best, EOS_TOKEN] != free.tokens
    assert math.isclose(got.score, brute[best], rel_tol=1e-5)
    assert got.score < free.score


def test_automaton_layout():
    charset = TokenAutomaton.charset([7, 3])
    assert charset.offsets.tolist() == [0, 3] and charset.tokens.tolist() == [EOS_TOKEN, 3, 7]
    assert charset.next.tolist() == [-1, 0, 0]
    trie = TokenAutomaton.lexicon([[5, 6], [5], [4]], allowed=[5, 6])  # [4] dropped by the charset
    assert trie.offsets.tolist() == [0, 1, 3, 4] and trie.tokens.tolist() == [5, EOS_TOKEN, 6, EOS_TOKEN]
    assert trie.max_token == 6


def test_bad_constraints_are_rejected():
    step = LowRankStep(1, 10, 0, rows_per_image=2)
    with pytest.raises(ValueError, match="must not contain EOS"):
        beam_search(step, 1, 2, 5, lexicon=[[3, EOS_TOKEN]])
    with pytest.raises(ValueError, match="uses token 10, but the model has 10 classes"):
        beam_search(step, 1, 2, 5, lexicon=[[3, 10]])
    with pytest.raises(ValueError, match="negative"):
        beam_search(step, 1, 2, 5, allowed=[-1])
    with pytest.raises(ValueError, match="prebuilt"):
        beam_search(step, 1, 2, 5, allowed=[3], lexicon=TokenAutomaton.lexicon([[3]]))


@pytest.mark.parametrize("check_every", [0, 3])
def test_fewer_early_exit_checks_change_nothing(check_every):
    """Skipping the per-step host sync (as on CUDA, or in a captured loop) gives the same n-best lists."""

    def make():
        g = torch.Generator().manual_seed(5)
        table = torch.randn(30, 30, generator=g) * 3
        table[:, 1] += 2.0
        state = {"h": torch.zeros(4 * 3, 30)}

        def step(tokens, parents=None):
            if parents is not None:
                state["h"] = state["h"][parents]
            state["h"] = 0.5 * state["h"] + table[tokens]
            return torch.log_softmax(state["h"], dim=1)
        return step

    ref = beam_search_ref(make(), 4, 3, 12, num_hypotheses=2)
    out = beam_search(make(), 4, 3, 12, num_hypotheses=2, check_every=check_every)
    assert [[h.tokens for h in r] for r in out] == [[h.tokens for h in r] for r in ref]
