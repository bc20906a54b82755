"""The decoding protocol and loops the engine runs; their oracles live in ``reference.py``.

Decoding works on a *step function* ``step(tokens [N], parents [N] | None) -> log-probs [N, V]``: it feeds the
previous tokens to the decoder, after reordering its hidden state by ``parents`` (flat row indices into the
previous step's rows) when given. ``AttnStep`` wraps a fastocr decoder as one; tests also use random ones.

``greedy_decode`` is ``reference.greedy_decode_ref``'s loop asking each step for the best token and its
log-probability only (``AttnStep.argmax``, through ``ops.logits_argmax``). With the fused head opted in on
CUDA (``FASTOCR_TRITON_OPT_IN=logits_argmax``; off by default, slower than cuBLAS today) the [rows, V]
log-probabilities are never written; otherwise the head is ``log_softmax`` + ``max``, the very operations of
the reference, so both give the same bits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .alphabet import EOS_TOKEN, SOS_TOKEN

StepFn = Callable[[torch.Tensor, "torch.Tensor | None"], torch.Tensor]


class AttnStep:
    """A step function over a fastocr decoder, for B images with ``rows_per_image`` hypotheses each.

    Args:
        decoder: the ``Decoder`` wrapper in eval mode.
        encoder_outputs: (T, B, H) float.
        rows_per_image: hypotheses per image (the beam size); rows are image-major: row n is image n // K.
        lengths: (B,) int64 valid encoder columns per image (variable-width models); None: all T.
    """

    def __init__(self, decoder: torch.nn.Module, encoder_outputs: torch.Tensor, rows_per_image: int = 1,
                 lengths: torch.Tensor | None = None):
        self.decoder = decoder
        self.memory = decoder.memory(encoder_outputs, lengths, rows_per_image)
        B, hidden_size = encoder_outputs.shape[1:]
        self.hidden = encoder_outputs.new_zeros(1, B * rows_per_image, hidden_size)  # [1, B*K, H]

    def __call__(self, tokens: torch.Tensor, parents: torch.Tensor | None = None) -> torch.Tensor:
        if parents is not None:
            self.hidden = self.hidden[:, parents]
        logp, self.hidden, _ = self.decoder(tokens, self.hidden, self.memory)
        return logp  # [B*K, V]

    def argmax(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Greedy's step: (best ids [N], their log-probs [N]) through the decoder's fused output head."""
        best, best_logp, self.hidden = self.decoder.greedy_step(tokens, self.hidden, self.memory)
        return best, best_logp


@dataclass
class GreedyOutput:
    """Greedy decoding of B lines.

    Attributes:
        tokens: (B, L) int64, the chosen ids step by step, EOS included; positions after a line's end are EOS.
        token_logprobs: (B, L) float32, log-probability of each chosen id; 0 after a line's end.
        lengths: (B,) int64, steps executed per line (EOS step included).
        confidence: (B,) float32, product of the chosen probabilities in step order, as the original computes it.
    """

    tokens: torch.Tensor
    token_logprobs: torch.Tensor
    lengths: torch.Tensor
    confidence: torch.Tensor

    def cpu(self) -> GreedyOutput:
        return GreedyOutput(self.tokens.cpu(), self.token_logprobs.cpu(), self.lengths.cpu(), self.confidence.cpu())


def all_done_sync(done: torch.Tensor, t: int, check_every: int) -> bool:
    """Early exit of a decode loop, its only host sync, once every ``check_every`` steps (0: never, for a
    captured loop). Finished rows are masked by ``done``, so skipping checks changes the cost, never a result.
    """
    return check_every > 0 and (t + 1) % check_every == 0 and bool(done.all())


def default_check_every(device) -> int:
    """1 on CPU; 4 on CUDA, where a sync per step would stall the launch queue."""
    return 4 if torch.device(device or "cpu").type == "cuda" else 1


def greedy_loop(pick, batch_size: int, max_len: int, device=None, check_every: int | None = None) -> GreedyOutput:
    """The greedy loop, given ``pick(tokens [B]) -> (best ids [B], their log-probs [B])`` for one step.

    Shared by ``greedy_decode_ref`` (full log-probs, then max) and ``greedy_decode`` (fused head).
    ``check_every``: see ``all_done_sync`` (default ``default_check_every(device)``); a line's tokens, log-probs,
    length and confidence do not depend on it, only how many EOS columns follow the last line's end.
    """
    if check_every is None:
        check_every = default_check_every(device)
    tokens = torch.full((batch_size,), SOS_TOKEN, dtype=torch.long, device=device)
    done = torch.zeros(batch_size, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch_size, dtype=torch.long, device=device)
    confidence = torch.ones(batch_size, dtype=torch.float32, device=device)
    out_tokens, out_logp = [], []
    for _ in range(max_len):
        tokens, best_logp = greedy_advance(*pick(tokens), done, lengths, confidence)
        out_tokens.append(tokens)
        out_logp.append(best_logp)
        if all_done_sync(done, len(out_tokens) - 1, check_every):
            break
    return GreedyOutput(torch.stack(out_tokens, 1), torch.stack(out_logp, 1), lengths, confidence)


def greedy_advance(best: torch.Tensor, best_logp: torch.Tensor, done: torch.Tensor, lengths: torch.Tensor,
                   confidence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One greedy step's bookkeeping, in place on ``done``, ``lengths`` and ``confidence`` (so that a CUDA graph
    can capture it on static buffers, ``graphs.GreedyGraph``): finished lines get EOS with log-prob 0, the others
    count one more step and multiply their confidence. Returns the masked (ids, log-probs)."""
    best = torch.where(done, EOS_TOKEN, best)
    best_logp = torch.where(done, 0.0, best_logp)
    confidence.copy_(torch.where(done, confidence, confidence * torch.exp(best_logp)))
    lengths += (~done).long()
    done |= best == EOS_TOKEN
    return best, best_logp


@dataclass
class Hypothesis:
    """One decoded line of a beam search.

    Attributes:
        tokens: ids without SOS; ends with EOS when ``finished``.
        token_logprobs: log-probability of each id in ``tokens``.
        score: ``sum(token_logprobs) / len(tokens) ** length_penalty``.
        finished: whether it ended with EOS (False: cut at max_len).
    """

    tokens: list[int]
    token_logprobs: list[float]
    score: float
    finished: bool

    @property
    def logprob(self) -> float:
        return float(sum(self.token_logprobs))




def greedy_decode(step: AttnStep, batch_size: int, max_len: int, device=None,
                  check_every: int | None = None) -> GreedyOutput:
    """Batched greedy decoding with per-line EOS, stopping when every line has ended (see
    ``reference.greedy_decode_ref``); on CUDA it tests for the end every 4 steps (``all_done_sync``)."""
    return greedy_loop(step.argmax, batch_size, max_len, device, check_every)
