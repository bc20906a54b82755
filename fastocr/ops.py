"""Typed wrappers around the compiled ops in ``torch.ops.fastocr``, with the fake kernels torch.compile needs.

The ops come from the C++ extension (``fastocr._C``; ``fastocr._C_cuda`` adds the CUDA kernels). When it is
not built, calling an op raises ``ExtensionMissingError`` saying how to build it; importing this module works.
"""

from __future__ import annotations

import torch

from . import _ext
from .alphabet import EOS_TOKEN
from .errors import FastOCRError


class ExtensionMissingError(FastOCRError, RuntimeError):
    """The compiled extension that implements an op is not available."""


def _require_extension(device: torch.device) -> None:
    if _ext.C is None:
        raise ExtensionMissingError(
            "fastocr's C++ extension (fastocr._C) is not built: run `pip install --no-build-isolation -e .` "
            f"or `python setup.py build_ext --inplace` in the source tree (import error: {_ext.C_ERROR})"
        )
    if device.type == "cuda" and _ext.C_CUDA is None:
        raise ExtensionMissingError(
            "fastocr's CUDA extension (fastocr._C_cuda) is not built: rebuild with a CUDA toolkit and a CUDA "
            f"build of torch, e.g. FASTOCR_CUDA=1 (import error: {_ext.C_CUDA_ERROR})"
        )


def beam_step(
    log_probs: torch.Tensor,
    scores: torch.Tensor,
    done: torch.Tensor,
    history: torch.Tensor,
    history_logp: torch.Tensor,
    fin_scores: torch.Tensor,
    fin_tokens: torch.Tensor,
    fin_logp: torch.Tensor,
    fin_lengths: torch.Tensor,
    step: int,
    length_penalty: float = 0.0,
    eos: int = EOS_TOKEN,
    *,
    token_mask: torch.Tensor | None = None,
    dfa_offsets: torch.Tensor | None = None,
    dfa_tokens: torch.Tensor | None = None,
    dfa_next: torch.Tensor | None = None,
    dfa_state: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One batched beam-search step: picks each image's next beam and n-best updates, on the tensors' device.

    Follows the rules of ``fastocr/reference.py`` exactly; ``fastocr.beam.beam_search`` is the loop around it.
    Sizes come from the shapes: B, K from ``scores``, V from ``log_probs``, L from ``history``, N from
    ``fin_scores``. Arguments marked *updated* are written in place (and must be contiguous); nothing is
    copied to the host, so a loop of steps can be captured in a CUDA graph.

    Args:
        log_probs: (B*K, V) float32, this step's log-probabilities (log-softmax applied), rows image-major.
        scores: (B, K) float32, updated: running log-prob sums; start with 0 for beam 0 and -inf elsewhere.
        done: (B,) bool, updated: rows whose n-best list is final; done rows are not touched.
        history: (B*K, L) int64, updated: tokens of each live hypothesis (positions < step are valid).
        history_logp: (B*K, L) float32, updated: their log-probs.
        fin_scores: (B, N) float64, updated: the n-best finished scores, best first; start -inf.
        fin_tokens: (B, N, L) int64, updated: their tokens, EOS included; start with EOS everywhere.
        fin_logp: (B, N, L) float32, updated: their per-token log-probs; start 0.
        fin_lengths: (B, N) int64, updated: their lengths (0: empty slot); start 0.
        step: the 0-based step index, < L. At step L-1 the live hypotheses of unfinished rows are finalised.
        length_penalty: alpha in ``score = sum(logp) / length ** alpha``.
        eos: the EOS class id.
        token_mask: (B*K, V) bool, optional: tokens each hypothesis may take (a masked token acts as log-prob
            -inf, without renormalising the others).
        dfa_offsets: (M+1,) int64, optional automaton in CSR form, with ``dfa_tokens``, ``dfa_next`` (E,)
            int64 and ``dfa_state`` (B*K,) int64 (updated; start 0). Edges of each state ascend and are
            unique; an EOS edge marks an accepting state. Build one with ``fastocr.beam.TokenAutomaton``.

    Returns:
        (tokens, parents): (B*K,) int64 each, the next input tokens and the flat row (into this step's rows)
        each next hypothesis extends; reorder the decoder state with ``index_select(parents)``.

    Raises:
        ExtensionMissingError: the compiled extension for this device is not built.
        RuntimeError: a tensor has the wrong shape, dtype or device (the message names it).
    """
    _require_extension(log_probs.device)
    return torch.ops.fastocr.beam_step(
        log_probs, scores, done, history, history_logp, fin_scores, fin_tokens, fin_logp, fin_lengths,
        step, length_penalty, eos, token_mask, dfa_offsets, dfa_tokens, dfa_next, dfa_state,
    )


if _ext.C is not None:

    @torch.library.register_fake("fastocr::beam_step")
    def _beam_step_fake(log_probs, scores, done, history, history_logp, fin_scores, fin_tokens, fin_logp,
                        fin_lengths, step, length_penalty, eos, token_mask=None, dfa_offsets=None,
                        dfa_tokens=None, dfa_next=None, dfa_state=None):
        rows = log_probs.shape[0]
        torch._check(rows == scores.shape[0] * scores.shape[1])
        return log_probs.new_empty(rows, dtype=torch.long), log_probs.new_empty(rows, dtype=torch.long)
