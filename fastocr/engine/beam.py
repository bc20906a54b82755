"""Batched beam search on the compiled ``beam_step`` op, with charset and lexicon constraints.

``beam_search`` gives the same hypotheses as ``reference.beam_search_ref`` (same rules, same step calls), but
each step's selection runs in C++ (CPU) or CUDA, over state tensors that stay on the device. Constraints are a
``TokenAutomaton`` walked inside the op: a charset is one state looping on the allowed tokens, a lexicon is
a trie.
A disallowed token acts exactly as a log-probability of -inf (no renormalisation), so
``beam_search_constrained_ref`` (the reference search over -inf-masked log-probs) is the oracle for both.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from .. import ops
from ..alphabet import EOS_TOKEN, SOS_TOKEN
from ..decode import Hypothesis, StepFn, all_done_sync, default_check_every


@dataclass(frozen=True)
class TokenAutomaton:
    """Allowed token sequences as a deterministic automaton in CSR form (the op's ``dfa_*`` arguments).

    State 0 is the start. The edges of state s are ``offsets[s]`` .. ``offsets[s+1] - 1``, with ascending
    unique ``tokens`` and target states ``next``; an EOS edge marks an accepting state (EOS allowed there).

    >>> TokenAutomaton.lexicon([[5, 6], [5]]).tokens.tolist()   # root -5-> s1 -(EOS | 6)-> ...
    [5, 1, 6, 1]
    """

    offsets: torch.Tensor  # [M+1] int64
    tokens: torch.Tensor  # [E] int64
    next: torch.Tensor  # [E] int64
    max_token: int  # the largest non-EOS token, checked against V before decoding (-1: none)

    @classmethod
    def _from_edges(cls, edges: list[dict[int, int]], eos: int) -> TokenAutomaton:
        offsets, tokens, nxt = [0], [], []
        for out in edges:
            for tok in sorted(out):
                tokens.append(tok)
                nxt.append(out[tok])
            offsets.append(len(tokens))
        as_long = lambda x: torch.tensor(x, dtype=torch.long)
        max_token = max((t for t in tokens if t != eos), default=-1)
        return cls(as_long(offsets), as_long(tokens), as_long(nxt), max_token)

    @classmethod
    def charset(cls, allowed: Iterable[int], eos: int = EOS_TOKEN) -> TokenAutomaton:
        """Any sequence over ``allowed`` (EOS always allowed): one accepting state looping on each token."""
        return cls._from_edges([{**{t: 0 for t in _check_ids(allowed, eos, "allowed")}, eos: -1}], eos)

    @classmethod
    def lexicon(cls, entries: Iterable[Sequence[int | Iterable[int]]], allowed: Iterable[int] | None = None,
                eos: int = EOS_TOKEN) -> TokenAutomaton:
        """Exactly the given token sequences (a trie); EOS is allowed only where a whole entry ends.

        Args:
            entries: per entry, one item per position, without EOS: a token id, or the ids any of which may
                stand there (a character an alphabet lists twice: every spelling is kept, as one path of the
                trie, however many there are). An empty entry allows EOS at the start.
            allowed: when given, each position keeps its allowed ids, and entries left with a position of none
                are dropped (charset and lexicon intersected).
        """
        keep = None if allowed is None else set(_check_ids(allowed, eos, "allowed"))
        edges: list[dict[int, int]] = [{}]
        sets: dict[int, tuple[int, ...]] = {}
        for entry in entries:
            choices = lexicon_positions(entry, eos, keep, sets)
            if not all(choices):
                continue
            state = 0
            for ids in choices:
                known = [edges[state][t] for t in ids if t in edges[state]]
                if not known:
                    known = [len(edges)]
                    edges.append({})
                for t in ids:
                    edges[state][t] = known[0]  # the ids of one position share their next state
                state = known[0]
            edges[state][eos] = -1
        return cls._from_edges(edges, eos)

    def to(self, device) -> TokenAutomaton:
        moved = (t.to(device) for t in (self.offsets, self.tokens, self.next))
        return TokenAutomaton(*moved, self.max_token)


def lexicon_positions(entry: Sequence[int | Iterable[int]], eos: int, keep: set[int] | None,
                      sets: dict[int, tuple[int, ...]]) -> list[list[int]]:
    """A lexicon entry as the sorted ids allowed at each position (intersected with ``keep`` when given).

    ``sets`` records each id's alternatives across entries: an id must come with the same alternatives
    everywhere (all the ids of one character), or the trie's shared paths would admit mixed spellings."""
    out = []
    for item in entry:
        ids = tuple(sorted(set(_check_ids([item] if isinstance(item, int) else item, eos, "a lexicon entry"))))
        for t in ids:
            if sets.setdefault(t, ids) != ids:
                raise ValueError(f"token {t} stands with the alternatives {list(sets[t])} in one lexicon entry and "
                                 f"{list(ids)} in another: give each id with the same alternatives everywhere")
        out.append([t for t in ids if keep is None or t in keep])
    return out


def _check_ids(ids: Iterable[int], eos: int, what: str) -> list[int]:
    ids = [int(t) for t in ids]
    if any(t < 0 for t in ids):
        raise ValueError(f"{what} holds a negative token id: {ids}")
    if what != "allowed" and eos in ids:
        raise ValueError(f"{what} must not contain EOS ({eos}); it is implied at the end: {ids}")
    return ids


@dataclass
class BeamState:
    """The device-resident state of a batched beam search, written in place by ``ops.beam_step``.

    Shapes: scores (B, K) f32; done (B,) bool; history, history_logp (B*K, L) i64 / f32;
    fin_scores (B, N) f64; fin_tokens, fin_logp (B, N, L) i64 / f32; fin_lengths (B, N) i64;
    dfa_state (B*K,) i64 or None.
    """

    scores: torch.Tensor
    done: torch.Tensor
    history: torch.Tensor
    history_logp: torch.Tensor
    fin_scores: torch.Tensor
    fin_tokens: torch.Tensor
    fin_logp: torch.Tensor
    fin_lengths: torch.Tensor
    dfa_state: torch.Tensor | None

    @classmethod
    def new(cls, B: int, K: int, N: int, L: int, device=None, constrained: bool = False) -> BeamState:
        scores = torch.full((B, K), -math.inf, device=device)
        scores[:, 0] = 0.0  # only beam 0 is live at first: no K copies of one prefix
        long = {"dtype": torch.long, "device": device}
        return cls(
            scores=scores,
            done=torch.zeros(B, dtype=torch.bool, device=device),
            history=torch.zeros(B * K, L, **long),
            history_logp=torch.zeros(B * K, L, device=device),
            fin_scores=torch.full((B, N), -math.inf, dtype=torch.float64, device=device),
            fin_tokens=torch.full((B, N, L), EOS_TOKEN, **long),
            fin_logp=torch.zeros(B, N, L, device=device),
            fin_lengths=torch.zeros(B, N, **long),
            dfa_state=torch.zeros(B * K, **long) if constrained else None,
        )

    def hypotheses(self, eos: int = EOS_TOKEN) -> list[list[Hypothesis]]:
        """Each image's n-best list, best first (one host copy of the finished buffers)."""
        scores, lengths = self.fin_scores.tolist(), self.fin_lengths.tolist()
        tokens, logps = self.fin_tokens.tolist(), self.fin_logp.tolist()
        out = []
        for b in range(len(scores)):
            hyps = []
            for i, n in enumerate(lengths[b]):
                if n > 0:
                    toks = tokens[b][i][:n]
                    hyps.append(Hypothesis(toks, logps[b][i][:n], scores[b][i], toks[-1] == eos))
            out.append(hyps)
        return out


def _automaton(allowed, lexicon) -> TokenAutomaton | None:
    if isinstance(lexicon, TokenAutomaton):
        if allowed is not None:
            raise ValueError("pass allowed= when building the TokenAutomaton, not beside a prebuilt one")
        return lexicon
    if lexicon is not None:
        return TokenAutomaton.lexicon(lexicon, allowed)
    return None if allowed is None else TokenAutomaton.charset(allowed)


def beam_search(
    step: StepFn,
    batch_size: int,
    beam_size: int,
    max_len: int,
    num_hypotheses: int = 1,
    length_penalty: float = 0.0,
    allowed: Iterable[int] | None = None,
    lexicon: Iterable[Sequence[int]] | TokenAutomaton | None = None,
    device=None,
    check_every: int | None = None,
) -> list[list[Hypothesis]]:
    """Batched beam search with the rules of ``fastocr.reference`` (same results as ``beam_search_ref``).

    Args:
        step: ``step(tokens [B*K], parents [B*K] | None) -> log-probs [B*K, V]``, rows image-major.
        batch_size, beam_size, max_len: B, K (1..32), L.
        num_hypotheses: N, the n-best list length (1..K).
        length_penalty: alpha in ``score = sum(logp) / length ** alpha``.
        allowed: token ids the output may use (a charset); EOS is always allowed.
        lexicon: the only token sequences allowed (id lists without EOS, or a prebuilt ``TokenAutomaton``).
            A line cut at ``max_len`` is a prefix of an entry.
        device: where the state lives; must match the step's output.
        check_every: test for early exit (a host sync) every N steps; default 1 on CPU, 4 on CUDA, where a
            sync per step would stall the launch queue; 0 never (all max_len steps, as a CUDA graph runs).

    Returns:
        Per image, its n-best list of ``Hypothesis``, best first.
    """
    B, K, N = batch_size, beam_size, num_hypotheses
    if not 1 <= K <= ops.MAX_BEAM:
        raise ValueError(f"beam_size must be in 1..{ops.MAX_BEAM}, got {K}")
    if not 1 <= N <= K:
        raise ValueError(f"num_hypotheses must be in 1..beam_size={K}, got {N}")
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    if check_every is None:
        check_every = default_check_every(device)
    automaton = _automaton(allowed, lexicon)
    dfa = {}
    if automaton is not None:
        on_device = automaton.to(device)
        dfa = {"dfa_offsets": on_device.offsets, "dfa_tokens": on_device.tokens, "dfa_next": on_device.next}
    state = BeamState.new(B, K, N, max_len, device, constrained=automaton is not None)
    tokens = torch.full((B * K,), SOS_TOKEN, dtype=torch.long, device=device)
    parents = None
    for t in range(max_len):
        logp = step(tokens, parents).float()  # [B*K, V]
        if t == 0 and automaton is not None and automaton.max_token >= logp.shape[1]:
            raise ValueError(
                f"the constraint uses token {automaton.max_token}, but the model has {logp.shape[1]} classes"
            )
        tokens, parents = ops.beam_step(
            logp, state.scores, state.done, state.history, state.history_logp,
            state.fin_scores, state.fin_tokens, state.fin_logp, state.fin_lengths,
            t, length_penalty, EOS_TOKEN,
            dfa_state=state.dfa_state, **dfa,
        )  # [B*K], [B*K]
        if all_done_sync(state.done, t, check_every):
            break
    return state.hypotheses()
