"""What a recognition returns: ``Recognition`` per line with its n-best ``Candidate`` list, built from the
decoders' outputs (a ``GreedyOutput`` batch, or beam ``Hypothesis`` lists)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..alphabet import EOS_TOKEN, NUM_SPECIAL, SOS_TOKEN, Alphabet
from ..decode import GreedyOutput, Hypothesis
from .vocabulary import Vocabulary


@dataclass
class Candidate:
    """One entry of an n-best list."""

    text: str
    score: float  # log-probability, divided by length ** length_penalty
    confidence: float  # product of the token probabilities, EOS included


@dataclass
class Recognition:
    """The result for one image.

    Attributes:
        text: the recognised line ("" on error).
        confidence: product of the per-step probabilities of the chosen tokens, the EOS step included.
        char_probs: probability of each character of ``text``.
        source: the input's path, or ``<type #index>``.
        error: why this input failed, or None.
        candidates: the n-best list, best first (one entry unless ``num_hypotheses`` > 1).
    """

    text: str
    confidence: float
    char_probs: list[float]
    source: str
    error: str | None = None
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        return {"source": self.source, "text": self.text, "confidence": self.confidence,
                "char_probs": self.char_probs, "error": self.error,
                "candidates": [c.__dict__ for c in self.candidates]}


def failed(source: str, error: str) -> Recognition:
    """The result of an input that could not be read or decoded."""
    return Recognition("", 0.0, [], source, error=error)


def _sequential_product(probs: torch.Tensor) -> float:
    """Product in float32, left to right, as the original accumulates its confidence."""
    out = torch.ones((), dtype=torch.float32)
    for p in probs:
        out = out * p
    return float(out)


def text_and_probs(alphabet: Alphabet, ids: list[int], probs: list[float]) -> tuple[str, list[float]]:
    """A reading and one probability per character of it: ids that are no character (SOS, which an untrained
    model may emit) count in the confidence but give neither."""
    if SOS_TOKEN not in ids:  # EOS is already cut off: SOS is the only id that is no character
        return alphabet.decode(ids), probs
    kept = [(i, q) for i, q in zip(ids, probs) if i >= NUM_SPECIAL]
    return alphabet.decode([i for i, _ in kept]), [q for _, q in kept]


def from_greedy(alphabet: Alphabet, out: GreedyOutput) -> list[Recognition]:
    """One Recognition per line of a GreedyOutput on the CPU: whole-batch tensor ops, then one Python list
    per field (per-line tensor indexing cost ~40 µs a line, the GPU's time for several lines)."""
    lengths = out.lengths.tolist()
    tokens = out.tokens.tolist()
    probs = torch.exp(out.token_logprobs).tolist()
    scores = out.token_logprobs.sum(1).tolist()  # log-probs are 0 after each line's end
    results = []
    for ids, p, n, conf, score in zip(tokens, probs, lengths, out.confidence.tolist(), scores):
        n_chars = n - 1 if n and ids[n - 1] == EOS_TOKEN else n
        text, char_probs = text_and_probs(alphabet, ids[:n_chars], p[:n_chars])
        results.append(Recognition(text, conf, char_probs, "", None, [Candidate(text, score, conf)]))
    return results


def from_hypotheses(alphabet: Alphabet, hyps: list[Hypothesis], n_best: int, vocabulary: Vocabulary | None = None,
                    bonus: float = 0.0) -> Recognition:
    """A line's Recognition from its hypotheses, best first. With a vocabulary they are first ordered by score
    + ``bonus`` for those the vocabulary covers (ties keep beam order); candidates keep their model scores."""
    texts = [alphabet.decode(h.tokens) for h in hyps]
    order = list(range(len(hyps)))
    if vocabulary is not None:
        order.sort(key=lambda k: -(hyps[k].score + bonus * vocabulary.covers(texts[k])))
    order = order[:n_best]
    if not order:  # the constraints left nothing to output
        return Recognition("", 0.0, [], "", None, [])
    cands = []
    for k in order:
        probs = torch.exp(torch.tensor(hyps[k].token_logprobs, dtype=torch.float32))
        cands.append(Candidate(texts[k], hyps[k].score, _sequential_product(probs)))
    best = hyps[order[0]]
    n_chars = len(best.tokens) - (1 if best.finished else 0)
    probs = torch.exp(torch.tensor(best.token_logprobs[:n_chars], dtype=torch.float32)).tolist()
    text, char_probs = text_and_probs(alphabet, list(best.tokens[:n_chars]), probs)
    return Recognition(text, cands[0].confidence, char_probs, "", None, cands)
