"""The decode loops the recognizer runs (the references they must equal live in ``reference.py``).

``greedy_decode`` is ``reference.greedy_decode_ref``'s loop asking each step for the best token and its
log-probability only (``AttnStep.argmax``, through ``ops.logits_argmax``). With the fused head opted in on
CUDA (``FASTOCR_TRITON_OPT_IN=logits_argmax``; off by default, slower than cuBLAS today) the [rows, V]
log-probabilities are never written; otherwise the head is ``log_softmax`` + ``max``, the very operations of
the reference, so both give the same bits.
"""

from __future__ import annotations

from .reference import AttnStep, GreedyOutput, greedy_loop


def greedy_decode(step: AttnStep, batch_size: int, max_len: int, device=None,
                  check_every: int | None = None) -> GreedyOutput:
    """Batched greedy decoding with per-line EOS, stopping when every line has ended (see greedy_decode_ref);
    on CUDA it tests for the end every 4 steps (``reference.all_done_sync``)."""
    return greedy_loop(step.argmax, batch_size, max_len, device, check_every)
