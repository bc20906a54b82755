"""ModelConfig: the architecture choices of a recognizer, kept explicit and saved inside every model file."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .errors import FastOCRError

ATTENTION_KINDS = ("slot", "additive")
# Bounds far above any real model, so that a crafted file cannot ask for tens of GB (hidden 256, width 2,048 and
# 81 steps are today's largest).
_LIMITS = {"img_height": (32, 32), "img_width": (4, 65_536), "hidden_size": (1, 8_192),
           "max_decode_len": (1, 4_096), "num_channels": (1, 4), "width_bucket": (4, 4_096)}


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and inference defaults of one model.

    Attributes:
        img_height: input height in pixels (the CNN reduces 32 px to one feature row).
        img_width: fixed input width; wider lines are squashed to it, narrower ones right-padded.
        hidden_size: LSTM/GRU/embedding size H.
        attention: ``"slot"`` is the original fixed-slot attention: scores from ``Linear(2H -> T)`` over
            [embedding; hidden], one score per encoder column, so T is tied to ``img_width``.
            ``"additive"`` (Bahdanau) scores each encoder column, ``v . tanh(W_k e_t + W_q h)``, so lines keep
            their aspect ratio: ``img_width`` is then the widest line before squashing, and each line is
            right-padded to a multiple of ``width_bucket`` px, its padding masked out of the attention.
        max_decode_len: decode steps per line (the original hard-codes 20).
        num_channels: input channels (3: RGB).
        width_bucket: padding granularity of variable-width lines (additive attention only). A line's padded
            width depends on its own width alone, so its result never depends on its batch.
    """

    img_height: int = 32
    img_width: int = 280
    hidden_size: int = 256
    attention: str = "slot"
    max_decode_len: int = 20
    num_channels: int = 3
    width_bucket: int = 32

    def __post_init__(self):
        if self.attention not in ATTENTION_KINDS:
            raise FastOCRError(f"unknown attention kind {self.attention!r}; known: {', '.join(ATTENTION_KINDS)}")
        if self.img_height != 32:
            raise FastOCRError(f"img_height must be 32 (the CNN maps 32 px to one row), got {self.img_height}")
        for name, (low, high) in _LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise FastOCRError(f"invalid model config: {name} must be an int in {low}..{high}, got {value!r}")

    @property
    def variable_width(self) -> bool:
        return self.attention == "additive"

    @property
    def num_slots(self) -> int:
        """Encoder columns T for the fixed width: floor(W / 4) + 1 (71 for 280 px)."""
        return self.img_width // 4 + 1

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise FastOCRError(f"model config has unknown fields {sorted(unknown)} (a newer fastocr?)")
        return cls(**d)

    def replace(self, **changes) -> ModelConfig:
        return dataclasses.replace(self, **changes)
