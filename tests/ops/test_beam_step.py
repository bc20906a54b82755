"""The beam_step op on its own: opcheck, one step against a stable sort, masks, threads, argument errors."""

import math

import pytest
import torch
from op_inputs import STATE_FIELDS, make_args

from fastocr import _ext, ops
from fastocr.alphabet import EOS_TOKEN
from fastocr.engine.beam import TokenAutomaton

pytestmark = pytest.mark.skipif(_ext.C is None, reason=f"fastocr._C not built: {_ext.C_ERROR}")


def call(args):
    return ops.beam_step(**args)


def clone_args(args):
    return {k: v.clone() if torch.is_tensor(v) else v for k, v in args.items()}


def positional(args):
    """The op's own argument order, for opcheck."""
    opt = ("token_mask", "dfa_offsets", "dfa_tokens", "dfa_next", "dfa_state")
    return (args["log_probs"], *(args[f] for f in STATE_FIELDS), args["step"], args["length_penalty"],
            args["eos"], *(args.get(k) for k in opt))


@pytest.mark.parametrize("kind", ["plain", "mask", "dfa"])
def test_opcheck(kind):
    automaton = TokenAutomaton.lexicon([[3, 4], [3, 5, 6], [7]]) if kind == "dfa" else None
    args = make_args(step=2, automaton=automaton)
    if kind == "mask":
        g = torch.Generator().manual_seed(1)
        args["token_mask"] = torch.rand(args["log_probs"].shape, generator=g) > 0.3
    torch.library.opcheck(torch.ops.fastocr.beam_step.default, positional(args))


@pytest.mark.parametrize("quantum", [None, 0.5])
def test_one_step_is_the_stable_sort_rule(quantum):
    B, K, V, step = 5, 4, 11, 3
    args = make_args(B, K, V, N=K, step=step, seed=2, quantum=quantum)
    args["scores"][1, 2:] = -math.inf  # dead beams
    cand = (args["scores"].unsqueeze(2) + args["log_probs"].view(B, K, V)).view(B, K * V)
    order = torch.sort(cand, dim=1, descending=True, stable=True).indices[:, : 2 * K]
    tokens, parents = call(args)
    for b in range(B):
        ranked = [divmod(int(i), V) for i in order[b]]
        live = [(k, v) for k, v in ranked if v != EOS_TOKEN][:K]
        assert parents[b * K : (b + 1) * K].tolist() == [b * K + k for k, _ in live]
        assert tokens[b * K : (b + 1) * K].tolist() == [v for _, v in live]
        assert args["scores"][b].tolist() == [float(cand[b, k * V + v]) for k, v in live]
        ended = [(r, k) for r, (k, v) in enumerate(ranked[:K]) if v == EOS_TOKEN]
        assert int((args["fin_lengths"][b] > 0).sum()) == len(ended)
        expected = sorted((float(cand[b, k * V + EOS_TOKEN]) for _, k in ended), reverse=True)
        assert args["fin_scores"][b, : len(ended)].tolist() == expected


def test_token_mask_acts_as_minus_inf():
    args = make_args(B=4, K=3, V=9, step=1, seed=3)
    mask = torch.rand(args["log_probs"].shape, generator=torch.Generator().manual_seed(4)) > 0.5
    masked = clone_args(args)
    masked["log_probs"] = args["log_probs"].masked_fill(~mask, -math.inf)
    with_mask = {**clone_args(args), "token_mask": mask}
    for a, b in zip(call(masked), call(with_mask)):
        assert torch.equal(a, b)
    for f in STATE_FIELDS:
        assert torch.equal(masked[f], with_mask[f]), f


def test_done_rows_are_left_alone():
    args = make_args(B=3, K=2, V=7, step=2, seed=5)
    args["done"][1] = True
    before = clone_args(args)
    tokens, parents = call(args)
    assert tokens[2:4].tolist() == [EOS_TOKEN] * 2 and parents[2:4].tolist() == [2, 3]
    for f in STATE_FIELDS:
        assert torch.equal(args[f].view(3, -1)[1], before[f].view(3, -1)[1]), f  # image 1 of 3


def test_last_step_finalises_every_row():
    args = make_args(B=4, K=3, V=9, N=3, L=5, step=4, seed=6)
    call(args)
    assert bool(args["done"].all())
    assert bool((args["fin_lengths"] == 5).all())  # no EOS ranked in the top K: all three cut at max_len


def test_rows_in_parallel_match_one_thread():
    """B=64, K=5, V=5991: enough work per row for at::parallel_for to split the rows across threads."""
    args = make_args(B=64, K=5, V=5991, N=3, L=8, step=3, seed=7)
    results = []
    threads = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            a = clone_args(args)
            results.append((call(a), [a[f] for f in STATE_FIELDS]))
    finally:
        torch.set_num_threads(threads)
    (out1, st1), (out2, st2) = results
    assert all(torch.equal(x, y) for x, y in zip(out1 + tuple(st1), out2 + tuple(st2)))


# lanes: 1 = the CPU path; 32 and 128 = the CUDA block sizes (K=32 and K=5), one candidate list per thread.
@pytest.mark.parametrize("lanes", [1, 2, 32, 128])
@pytest.mark.parametrize("sparse", [False, True])  # True: under 2K finite candidates, -inf fillers needed
def test_cuda_block_selection_emulated_on_cpu(lanes, sparse):
    K, V = 5, 97
    g = torch.Generator().manual_seed(lanes)
    logp = torch.round(torch.log_softmax(torch.randn(K, V, generator=g), dim=1) * 2) / 2  # exact ties
    scores = torch.tensor([-1.0, -1.5, -math.inf, -1.0, -0.5])
    if sparse:
        logp[torch.rand(K, V, generator=g) > 0.02] = -math.inf
    ids, top = _ext.C.emulate_block_topk(logp, scores, lanes)
    cand = (scores[:, None] + logp).view(-1)
    expected = torch.sort(cand, descending=True, stable=True).indices[: 2 * K]
    assert ids.tolist() == expected.tolist()
    assert torch.equal(top, cand[expected])
    assert bool(torch.isinf(top).any()) == sparse


def _bad(field, value):
    return lambda a: a.__setitem__(field, value(a) if callable(value) else value)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_bad("log_probs", lambda a: a["log_probs"].double()), r"log_probs must be float32 \[B\*K, V\]"),
        (_bad("log_probs", lambda a: a["log_probs"][:-1]), r"log_probs must be \[B\*K, V\] = \[12, V\]"),
        (_bad("scores", lambda a: a["scores"][:, :3].contiguous()), r"log_probs must be \[B\*K, V\] = \[9,"),
        (_bad("scores", lambda a: torch.zeros(3, 33)), r"beam size K = scores.size\(1\) must be in 1..32"),
        (_bad("done", lambda a: a["done"].long()), r"done must be Bool \[B\] on cpu, got Long \[3\]"),
        (_bad("history", lambda a: a["history"].t().contiguous().t()), r"history is written in place"),
        (_bad("history_logp", lambda a: a["history_logp"][:, :5]), r"history_logp must be Float \[B\*K, L\]"),
        (_bad("fin_scores", lambda a: a["fin_scores"].float()), r"fin_scores must be Double \[B, N\]"),
        (_bad("fin_scores", lambda a: torch.zeros(3, 5, dtype=torch.float64)), r"N = fin_scores.size\(1\)"),
        (_bad("fin_tokens", lambda a: a["fin_tokens"][:, :, :5]), r"fin_tokens must be Long \[B, N, L\]"),
        (_bad("step", 6), r"step must be in 0..L-1 = 0..5"),
        (_bad("eos", 11), r"eos must be a class id in 0..10"),
        (_bad("length_penalty", math.nan), r"length_penalty must be finite"),
        (_bad("token_mask", lambda a: torch.ones(12, 11)), r"token_mask must be Bool \[B\*K, V\]"),
        (_bad("dfa_offsets", lambda a: torch.tensor([0, 1])), r"\(all or none\), got 1"),
    ],
)
def test_bad_arguments_name_the_argument(mutate, message):
    args = make_args()
    mutate(args)
    with pytest.raises(RuntimeError, match="beam_step: .*" + message):
        call(args)


def test_missing_extension_is_explained(monkeypatch):
    monkeypatch.setattr(_ext, "C", None)
    with pytest.raises(ops.ExtensionMissingError, match="build_ext --inplace"):
        call(make_args())
