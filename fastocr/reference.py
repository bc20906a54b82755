"""Pure-PyTorch reference decoding: the oracle every fast path is tested against.

Nothing here is tuned for speed; each function does the obvious thing so that it is easy to check by eye.

It holds only the ``*_ref`` twins: one per fast op (``ops.attn_slot`` -> ``attn_slot_ref``, ...) and one per
decoding rule (greedy, beam search, constrained beam search), each on the step functions of ``decode.py``.

Beam search, exactly (the C++ extension implements the same rules):
  * Each image has K hypotheses; at step 0 only hypothesis 0 is live (score 0), the others score -inf, so the
    beam never holds K copies of one prefix.
  * Candidates are (parent k, token v) with score ``score[k] + logp[k, v]``. The best 2K are kept, sorted by
    score, ties broken by the lower flat index ``k * V + v`` (so a lower parent, then a lower token id, wins).
  * An EOS candidate within the first K of them finishes its hypothesis; the first K non-EOS candidates
    become the next beam (2K candidates always hold K of them, since each parent has one EOS).
  * A finished hypothesis of L tokens (EOS included) scores ``sum(logp) / L ** length_penalty``
    (``length_penalty`` = 0 by default: the score is the log-probability of the line).
  * An image stops when it has ``num_hypotheses`` finished and the worst of the best ``num_hypotheses`` scores
    at least ``best_live / max_len ** length_penalty``: no live hypothesis can reach more, since
    log-probabilities only fall and the penalty's largest divisor is ``max_len ** length_penalty`` (for
    ``length_penalty`` >= 0, which ``Recognizer`` enforces; a negative one can stop before the best).
  * After ``max_len`` steps, live hypotheses are finalised without EOS (L = max_len).
  * The n-best list is the finished hypotheses sorted by score, ties by the order they finished.
With beam_size 1 and no length penalty this is greedy decoding, token for token.
"""


from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .alphabet import EOS_TOKEN, SOS_TOKEN
from .decode import GreedyOutput, Hypothesis, StepFn, greedy_loop


def attn_additive_ref(
    keys: torch.Tensor, query: torch.Tensor, v: torch.Tensor, values: torch.Tensor, lengths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The twin of ``ops.attn_additive``: additive (Bahdanau) attention over variable-length encoder outputs, masked by each row's length.

    Args:
        keys: (T, N, H) ``W_k e_t``, computed once per image.
        query: (N, H) ``W_q h + b`` for the current hidden state.
        v: (H,) the scoring vector.
        values: (T, N, H) the encoder outputs.
        lengths: (N,) int64, valid encoder columns per row (1..T).

    Returns:
        context (N, H) and weights (N, T); weights are 0 past each row's length.
    """
    T = keys.shape[0]
    scores = torch.tanh(keys + query.unsqueeze(0)) @ v  # [T, N]
    pad = torch.arange(T, device=keys.device).unsqueeze(1) >= lengths.unsqueeze(0)  # [T, N]
    weights = torch.softmax(scores.float().masked_fill(pad, -math.inf), dim=0).to(values.dtype)  # [T, N]
    context = (weights.unsqueeze(2) * values).sum(0)  # [N, H]
    return context, weights.t()


def attn_slot_ref(
    embedded: torch.Tensor, hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, values: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The original fixed-slot attention: softmax over T slots of ``Linear(2H -> T)([e; h])``, then the context.

    These are the original ``AttnDecoderRNN.forward``'s float operations, one for one (``F.linear`` is what
    ``nn.Linear`` calls), so the decoder gives the original's outputs bit for bit through this twin.

    Args:
        embedded: (N, H) the embedded previous tokens.
        hidden: (N, H) the GRU hidden state.
        weight: (T, 2H) and bias: (T,) of the ``attn`` Linear.
        values: (T, N, H) the encoder outputs.

    Returns:
        context (N, H) and weights (N, T).
    """
    weights = F.softmax(F.linear(torch.cat((embedded, hidden), 1), weight, bias), dim=1)  # [N, T]
    context = torch.bmm(weights.unsqueeze(1), values.permute(1, 0, 2)).squeeze(1)  # [N, H]
    return context, weights


def logits_argmax_ref(h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor):
    """The best class of ``log_softmax(h @ weight.T + bias)`` per row and its log-probability, in float32.

    Args:
        h: (N, H); weight: (V, H); bias: (V,).

    Returns:
        ids (N,) int64 (the lowest id among equal maxima, as ``torch.max``) and log-probs (N,) float32.
    """
    logp, idx = torch.log_softmax(F.linear(h, weight, bias).float(), dim=1).max(dim=1)
    return idx, logp


def gru_step_ref(
    x: torch.Tensor,
    h: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    b_ih: torch.Tensor | None = None,
    b_hh: torch.Tensor | None = None,
    train: bool = False,
) -> torch.Tensor:
    """One step of a one-layer GRU through the op ``nn.GRU.forward`` itself calls (``_VF.gru`` = ``torch.gru``).

    Same op, same parameter tensors, so it computes what ``nn.GRU`` computes (bit for bit on CPU, checked in
    tests/ops/test_gru_step.py) and stays differentiable. Gate order r, z, n as in PyTorch.

    Args:
        x: (N, I) input; h: (N, H) previous hidden state.
        w_ih: (3H, I), w_hh: (3H, H), b_ih, b_hh: (3H,) or None: the GRU's ``*_l0`` parameters.
        train: the module's ``training`` flag (cuDNN's RNN backward needs a call made in training mode).

    Returns:
        the new hidden state (N, H).
    """
    has_bias = b_ih is not None
    params = (w_ih, w_hh, b_ih, b_hh) if has_bias else (w_ih, w_hh)
    _, h_n = torch.gru(x.unsqueeze(0), h.unsqueeze(0), params, has_bias, 1, 0.0, train, False, False)
    return h_n[0]


def greedy_decode_ref(step: StepFn, batch_size: int, max_len: int, device=None) -> GreedyOutput:
    """Batched greedy decoding with per-line EOS; stops when every line has emitted EOS or after max_len steps.

    Ties pick the lowest class id (``torch.max`` returns the first maximum).
    """
    def pick(tokens):
        best_logp, best = step(tokens, None).float().max(dim=1)  # of [B, V]
        return best, best_logp

    return greedy_loop(pick, batch_size, max_len, device)


def _top_candidates(cand: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The best n of each row of cand [B, K*V], ties to the lower index (a stable descending sort)."""
    scores, idx = torch.sort(cand, dim=1, descending=True, stable=True)
    return scores[:, :n], idx[:, :n]


def beam_search_ref(
    step: StepFn,
    batch_size: int,
    beam_size: int,
    max_len: int,
    num_hypotheses: int = 1,
    length_penalty: float = 0.0,
    device=None,
) -> list[list[Hypothesis]]:
    """Batched beam search (rules in the module docstring). Returns, per image, its n-best list, best first."""
    B, K = batch_size, beam_size
    if not 1 <= num_hypotheses <= K:
        raise ValueError(f"num_hypotheses must be in 1..beam_size={K}, got {num_hypotheses}")
    scores = torch.full((B, K), -math.inf, device=device)
    scores[:, 0] = 0.0
    history = [[([], []) for _ in range(K)] for _ in range(B)]  # per image, per beam: (tokens, logps)
    finished: list[list[Hypothesis]] = [[] for _ in range(B)]
    done = [False] * B
    tokens = torch.full((B * K,), SOS_TOKEN, dtype=torch.long, device=device)
    parents = None

    def penalised(logp_sum: float, length: int) -> float:
        return logp_sum / length**length_penalty

    for t in range(max_len):
        logp = step(tokens, parents).float().view(B, K, -1)  # [B, K, V]
        V = logp.shape[2]
        cand_scores, cand_idx = _top_candidates((scores.unsqueeze(2) + logp).view(B, K * V), 2 * K)
        next_parents = torch.arange(B * K, device=device)  # done images keep their rows unchanged
        next_tokens = torch.full((B * K,), EOS_TOKEN, dtype=torch.long, device=device)
        for b in range(B):
            if done[b]:
                continue
            live, new_history = [], []
            for rank, (s, flat) in enumerate(zip(cand_scores[b].tolist(), cand_idx[b].tolist())):
                k, v = divmod(flat, V)
                toks, lps = history[b][k]
                step_logp = float(logp[b, k, v])
                if v == EOS_TOKEN:
                    if rank < K and math.isfinite(s):
                        finished[b].append(Hypothesis(toks + [v], lps + [step_logp], penalised(s, t + 1), True))
                elif len(live) < K:
                    live.append((k, v, s))
                    new_history.append((toks + [v], lps + [step_logp]))
            history[b] = new_history
            for j, (k, v, s) in enumerate(live):
                scores[b, j] = s
                next_parents[b * K + j] = b * K + k
                next_tokens[b * K + j] = v
            ranked = sorted((h.score for h in finished[b]), reverse=True)
            best_live = scores[b].max().item()
            if len(ranked) >= num_hypotheses and ranked[num_hypotheses - 1] >= penalised(best_live, max_len):
                done[b] = True
        if all(done):
            break
        tokens, parents = next_tokens, next_parents
    for b in range(B):
        if not done[b]:
            for j, (toks, lps) in enumerate(history[b]):
                s = scores[b, j].item()
                if math.isfinite(s):
                    finished[b].append(Hypothesis(toks, lps, penalised(s, len(toks)), False))
    # sorted() is stable: equal scores keep the order in which they finished.
    return [sorted(f, key=lambda h: -h.score)[:num_hypotheses] for f in finished]


class ConstrainedStepRef:
    """Reference constraints: wraps a step function and sets disallowed log-probs to -inf.

    Tracks each row's position in a plain dict trie (built from the entries, not from ``TokenAutomaton``) by
    following ``parents`` and ``tokens`` as the decoder state does. A row that took a disallowed token (only
    -inf rows do) is dead: everything is masked. A position of an entry is a token id or a list of alternative
    ids (one character's ids); positions keep their ``allowed`` ids, and an entry left with none somewhere is
    dropped.
    """

    def __init__(self, step: StepFn, allowed=None, lexicon=None, eos: int = EOS_TOKEN):
        self.step, self.eos = step, eos
        self.allowed = None if allowed is None else {int(t) for t in allowed} | {eos}
        self.root: dict = {}
        if lexicon is not None:
            for entry in lexicon:
                positions = [[int(t) for t in ([item] if isinstance(item, int) else item)
                              if self.allowed is None or int(t) in self.allowed] for item in entry]
                if not all(positions):
                    continue
                node = self.root
                for ids in positions:  # the alternatives of one position share one child
                    child = next((node[t] for t in ids if t in node), None)
                    child = {} if child is None else child
                    for t in ids:
                        node[t] = child
                    node = child
                node[eos] = None  # EOS allowed here
        self.lexicon = lexicon is not None
        self.nodes: list = []

    def _advance(self, node, tok: int):
        if node is None or tok == self.eos:
            return None
        if not self.lexicon:
            return node if tok in self.allowed else None
        return node.get(tok)

    def _allowed_tokens(self, node) -> list[int]:
        if node is None:
            return []
        return list(node) if self.lexicon else list(self.allowed)

    def __call__(self, tokens: torch.Tensor, parents: torch.Tensor | None = None) -> torch.Tensor:
        if parents is None:
            self.nodes = [self.root] * len(tokens)
        else:
            self.nodes = [self._advance(self.nodes[p], t) for p, t in zip(parents.tolist(), tokens.tolist())]
        logp = self.step(tokens, parents).float()  # [N, V]
        mask = torch.zeros_like(logp, dtype=torch.bool)
        for row, node in enumerate(self.nodes):
            mask[row, [t for t in self._allowed_tokens(node) if t < logp.shape[1]]] = True
        return logp.masked_fill(~mask, -math.inf)


def beam_search_constrained_ref(step: StepFn, batch_size: int, beam_size: int, max_len: int,
                                num_hypotheses: int = 1, length_penalty: float = 0.0, allowed=None,
                                lexicon=None, device=None) -> list[list[Hypothesis]]:
    """``beam_search_ref`` over -inf-masked log-probs: the oracle for ``beam_search`` with constraints."""
    if lexicon is not None and not isinstance(lexicon, (list, tuple)):
        raise TypeError(f"the reference takes the lexicon as id lists, not a {type(lexicon).__name__}")
    masked = step if allowed is None and lexicon is None else ConstrainedStepRef(step, allowed, lexicon)
    return beam_search_ref(masked, batch_size, beam_size, max_len, num_hypotheses, length_penalty, device)
