"""Inputs and checks the op tests share (tests/ops, tests/gpu/test_cuda.py): random operands of each op in
``fastocr.ops``, and a Triton run compared with its reference twin."""

import torch
from asserts import FP32_TOL, assert_close_verbose

from fastocr import ops
from fastocr.alphabet import EOS_TOKEN
from fastocr.engine.beam import BeamState


def slot_inputs(n, t, h, seed=0, non_contiguous=False):
    """embedded, hidden (N, H), weight (T, 2H), bias (T,), values (T, N, H), scaled so softmax is peaked."""
    g = torch.Generator().manual_seed(seed)
    emb, hid = torch.randn(n, h, generator=g), torch.randn(n, h, generator=g)
    weight, bias = torch.randn(t, 2 * h, generator=g) * (3 / h**0.5), torch.randn(t, generator=g)
    values = torch.randn(t, n, h, generator=g)
    if non_contiguous:  # row strides, a transposed weight, an H-stride of 2, a time-minor values layout
        emb = torch.cat([emb, emb], 1)[:, :h]
        hid = torch.stack([hid, -hid], 2)[:, :, 0]
        weight = weight.t().contiguous().t()
        values = values.permute(1, 0, 2).contiguous().permute(1, 0, 2)
        assert not any(a.is_contiguous() for a in (emb, hid, weight, values))
    return emb, hid, weight, bias, values


def additive_inputs(n, t, h, seed=0, lengths="random"):
    """keys, query (N, H), v (H,), values (T, N, H), lengths (N,): random in 1..T, all T, or all 1."""
    g = torch.Generator().manual_seed(seed)
    keys, values = torch.randn(t, n, h, generator=g), torch.randn(t, n, h, generator=g)
    query, v = torch.randn(n, h, generator=g), torch.randn(h, generator=g) * (3 / h**0.5)
    lens = {"random": torch.randint(1, t + 1, (n,), generator=g), "full": torch.full((n,), t),
            "one": torch.ones(n, dtype=torch.long)}[lengths]
    return keys, query, v, values, lens


def run_triton(dispatcher, *args):
    with ops.triton_on_cpu():
        out = dispatcher(*args)
    assert ops.LAST_PATH[dispatcher.__name__] == "triton"
    return out


def check_fp32(dispatcher, ref, args, what):
    ctx, w = run_triton(dispatcher, *args)
    ctx_ref, w_ref = ref(*args)
    assert ctx.dtype == ctx_ref.dtype and w.dtype == w_ref.dtype
    assert_close_verbose(w, w_ref, FP32_TOL, FP32_TOL, f"{what} weights")
    assert_close_verbose(ctx, ctx_ref, FP32_TOL, FP32_TOL, f"{what} context")
    return ctx, w


STATE_FIELDS = ("scores", "done", "history", "history_logp",
                "fin_scores", "fin_tokens", "fin_logp", "fin_lengths")


def make_args(B=3, K=4, V=11, N=2, L=6, step=0, seed=0, automaton=None, quantum=None):
    """Arguments of one beam_step call: state as BeamState.new leaves it, live scores from step 1 on."""
    g = torch.Generator().manual_seed(seed)
    state = BeamState.new(B, K, N, L, constrained=automaton is not None)
    if step > 0:  # every beam live, with history
        state.scores.copy_(-torch.rand(B, K, generator=g) * 3)
        state.history.copy_(torch.randint(2, V, (B * K, L), generator=g))
    logp = torch.log_softmax(torch.randn(B * K, V, generator=g) * 2, dim=1)
    if quantum is not None:  # exact ties between tokens and, through the scores, between parents
        logp = torch.round(logp / quantum) * quantum
        state.scores.copy_(torch.round(state.scores / quantum) * quantum)
    args = {"log_probs": logp, **{f: getattr(state, f) for f in STATE_FIELDS}, "step": step,
            "length_penalty": 0.0, "eos": EOS_TOKEN}
    if automaton is not None:
        args.update(dfa_offsets=automaton.offsets, dfa_tokens=automaton.tokens, dfa_next=automaton.next,
                    dfa_state=state.dfa_state)
    return args


def gru_inputs(rows, hidden, inputs=None, seed=0):
    """x (N, I), h (N, H) and an nn.GRU(I, H)'s weights, h in (-1, 1) like a real hidden state."""
    torch.manual_seed(seed)
    inputs = inputs or hidden
    gru = torch.nn.GRU(inputs, hidden)
    x, h = torch.randn(rows, inputs), torch.rand(rows, hidden) * 2 - 1
    return gru, (x, h, *[w.detach() for w in gru.all_weights[0]])


def head_inputs(rows, hidden, classes, seed=0, sharp=4.0):
    g = torch.Generator().manual_seed(seed)
    h = torch.rand(rows, hidden, generator=g) * 2 - 1
    weight = torch.randn(classes, hidden, generator=g) * sharp / hidden**0.5
    return h, weight, torch.randn(classes, generator=g)
