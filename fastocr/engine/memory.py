"""How many lines go into one batch: the caller's batch size, capped by a memory budget (an estimate of the
activation memory, ``batch_bytes``) and by what fitted after an out-of-memory error."""

from __future__ import annotations

import threading

from ..config import ModelConfig


def batch_bytes(config: ModelConfig, num_classes: int, lines: int, width: int, beam_size: int = 1,
                dtype_bytes: int = 4, encoder_batch: int | None = None) -> int:
    """Estimated peak activation memory of recognising ``lines`` lines ``width`` px wide.

    The CNN's largest live pair (conv1's output and the first pooling's, 64x32xW + 64x16xW/2 values) dominates,
    for ``encoder_batch`` lines at a time (all when None); the BiLSTMs keep about 8H values per encoder column;
    the decoder holds, per hypothesis row, the attended memory (values and keys, 2H per column) and a row of
    log-probabilities; additive attention's reference scoring adds its tanh(keys + query) (H per column and row),
    and a beam search sorts each line's beam x classes candidates (float32 scores with int64 indices).
    """
    cols = width // 4 + 1
    hidden = config.hidden_size
    cnn = 64 * 32 * width + 64 * 16 * width // 2
    decoder_row = 2 * hidden * cols + 2 * num_classes + (hidden * cols if config.attention == "additive" else 0)
    per_line = 8 * hidden * cols + beam_size * decoder_row
    elements = min(lines, encoder_batch or lines) * cnn + lines * per_line
    sort_bytes = lines * beam_size * num_classes * (4 + 8) if beam_size > 1 else 0
    return elements * dtype_bytes + sort_bytes


class BatchLimits:
    """Lines per batch at a canvas width and beam size: the memory budget's limit (a binary search over
    ``batch_bytes``) and the sizes that fitted after out-of-memory errors, remembered per (width, beam)."""

    def __init__(self, config: ModelConfig, num_classes: int, dtype_bytes: int, encoder_batch: int | None,
                 budget_mb: float | None):
        self.config, self.num_classes, self.dtype_bytes = config, num_classes, dtype_bytes
        self.encoder_batch, self.budget_mb = encoder_batch, budget_mb
        self._oom_caps: dict[tuple[int, int], int] = {}
        self._lock = threading.Lock()  # concurrent calls share the caps

    def limit(self, batch_size: int, width: int, beam_size: int) -> int:
        limit = batch_size
        if self.budget_mb is not None:
            def fits(lines: int) -> bool:
                return batch_bytes(self.config, self.num_classes, lines, width, beam_size, self.dtype_bytes,
                                   self.encoder_batch) <= self.budget_mb * 2**20

            lo, hi = 1, limit  # the most lines that fit: at least one (a line too big for the budget is tried)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
            limit = lo
        return min(limit, self._oom_caps.get((width, beam_size), limit))

    @property
    def oom_caps(self) -> dict[tuple[int, int], int]:
        """The caps out-of-memory errors have set so far: (canvas width, beam size) -> lines."""
        return dict(self._oom_caps)

    def out_of_memory(self, width: int, beam_size: int, lines: int) -> None:
        """``lines`` did not fit: at most half of them go together at this width and beam from now on."""
        key = (width, beam_size)
        with self._lock:
            self._oom_caps[key] = min(self._oom_caps.get(key, lines // 2), lines // 2)
