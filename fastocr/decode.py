"""The decode loops the recognizer runs (the references they must equal live in ``reference.py``).

``greedy_decode`` is ``reference.greedy_decode_ref`` with the decoder's fused output head: each step asks the
step function for the best token and its log-probability only (``AttnStep.argmax``), so on CUDA the
[rows, V] log-probabilities are never written. On CPU the head is ``log_softmax`` + ``max``, the very
operations of the reference, so both loops give the same bits.
"""

from __future__ import annotations

import torch

from .alphabet import EOS_TOKEN, SOS_TOKEN
from .reference import AttnStep, GreedyOutput


def greedy_decode(step: AttnStep, batch_size: int, max_len: int, device=None) -> GreedyOutput:
    """Batched greedy decoding with per-line EOS, stopping when every line has ended (see greedy_decode_ref)."""
    B = batch_size
    tokens = torch.full((B,), SOS_TOKEN, dtype=torch.long, device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    lengths = torch.zeros(B, dtype=torch.long, device=device)
    confidence = torch.ones(B, dtype=torch.float32, device=device)
    out_tokens, out_logp = [], []
    for _ in range(max_len):
        best, best_logp = step.argmax(tokens)  # [B], [B]
        best = torch.where(done, EOS_TOKEN, best)
        best_logp = torch.where(done, 0.0, best_logp)
        confidence = torch.where(done, confidence, confidence * torch.exp(best_logp))
        lengths += (~done).long()
        out_tokens.append(best)
        out_logp.append(best_logp)
        done = done | (best == EOS_TOKEN)
        tokens = best
        if bool(done.all()):  # the loop's one host sync per step: early exit
            break
    return GreedyOutput(torch.stack(out_tokens, 1), torch.stack(out_logp, 1), lengths, confidence)
