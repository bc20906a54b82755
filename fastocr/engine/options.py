"""Engine options, checked once where they enter: a bad value is an ``OptionError`` naming it, before any work."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageColor

from ..errors import OptionError
from ..ops import MAX_BEAM
from .vocabulary import DEFAULT_BONUS, Vocabulary

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def check_count(name: str, value) -> int:
    """A count option (beam_size, batch_size, ...) must be an int >= 1: a float or a str fails here, not in torch."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise OptionError(f"{name} must be >= 1, got {value}")
    return value


def check_beam_size(value) -> int:
    """1 (greedy) to ``MAX_BEAM``, the beam-search extension's limit: the one rule, for the API and the CLI."""
    check_count("beam_size", value)
    if value > MAX_BEAM:
        raise OptionError(f"beam_size must be at most {MAX_BEAM} (the beam-search extension's limit), got {value}")
    return value


def resolve_device(device) -> torch.device:
    """The device to run on (default: CUDA when available), checked: an unknown name or a CUDA device this torch
    cannot use is an OptionError, not an error deep inside torch."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise OptionError(f"device {device!r} is not a device name (cpu, cuda, cuda:1, ...)") from e
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise OptionError(f"device {device!r}: CUDA is not available to this torch ({torch.__version__})")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise OptionError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type != "cpu":
        raise OptionError(f"device {device!r}: fastocr runs on cpu or cuda")
    return dev


def precision_dtype(precision: str, device: torch.device) -> torch.dtype:
    if precision == "int8":
        raise OptionError("precision='int8' runs on backend='onnxruntime' with an exported folder made with "
                          "`fastocr export --onnx FOLDER --int8` (Recognizer.load(FOLDER, precision='int8'))")
    if precision not in PRECISIONS:
        raise OptionError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp16" and device.type != "cuda":
        raise OptionError("precision='fp16' needs a CUDA device (CPUs run fp16 convolutions slowly); use 'bf16'")
    return PRECISIONS[precision]


BACKENDS = ("torch", "onnxruntime")
ORT_PRECISIONS = ("fp32", "int8")


def check_backend(backend: str, device, precision: str, cuda_graphs: bool) -> torch.device:
    """The device of an ``onnxruntime`` backend (its CPU execution provider), checked with its options; the
    ``torch`` backend's device comes from ``resolve_device``."""
    if backend not in BACKENDS:
        raise OptionError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    try:
        kind = torch.device(device).type if device is not None else "cpu"
    except (RuntimeError, TypeError):
        kind = "cpu"  # not a device name: resolve_device says so
    if kind != "cpu":
        raise OptionError(f"backend='onnxruntime' runs on the CPU, got device {device!r}; backend='torch' runs "
                          "on CUDA")
    dev = resolve_device(device or "cpu")
    if precision not in ORT_PRECISIONS:
        raise OptionError(f"precision for backend='onnxruntime' must be one of {', '.join(ORT_PRECISIONS)}, "
                          f"got {precision!r}")
    if cuda_graphs:
        raise OptionError("cuda_graphs needs backend='torch' on a CUDA device")
    return dev


def background_rgb(background) -> tuple[int, int, int] | None:
    """The colour transparent pixels are laid over: None (alpha dropped, as the original), a name ("white") or
    "#rrggbb" (anything PIL's ImageColor reads), or an (r, g, b) tuple."""
    if background is None:
        return None
    try:
        rgb = ImageColor.getrgb(background) if isinstance(background, str) else tuple(background)
    except (ValueError, TypeError) as e:
        raise OptionError(f"background {background!r} is not a colour (e.g. 'white', '#ffffff', (255, 255, 255))") from e
    if len(rgb) not in (3, 4) or not all(isinstance(c, int) and 0 <= c <= 255 for c in rgb):
        raise OptionError(f"background {background!r} is not an RGB colour of 0-255 values")
    return tuple(rgb[:3])


def check_not_single(images) -> None:
    """A single image where a list of images belongs is a TypeError, not one result per character or row."""
    if isinstance(images, (str, os.PathLike, bytes, bytearray, memoryview, np.ndarray, Image.Image)):
        raise TypeError(
            f"images must be a list of images, got a single {type(images).__name__}; "
            "wrap it in a list, or use Recognizer.recognize_one(image)"
        )
    if not isinstance(images, Iterable):
        raise TypeError(f"images must be a list of images, got {type(images).__name__}")


def _check_number(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OptionError(f"{name} must be a number, got {value!r}")


@dataclass(frozen=True)
class DecodeOptions:
    """The decoding options of one ``recognize`` call, checked once (``DecodeOptions.check``), then trusted.

    ``constraint`` is what ``engine.constraints.compile_constraint`` made of ``allowed_chars`` and ``lexicon``;
    ``max_len`` is resolved against the model's default.
    """

    beam_size: int = 1
    num_hypotheses: int = 1
    length_penalty: float = 0.0
    batch_size: int = 64
    max_len: int = 20
    on_error: str = "report"
    constraint: object = None
    vocabulary: Vocabulary | None = None
    vocabulary_bonus: float = DEFAULT_BONUS

    @property
    def greedy(self) -> bool:
        """The original's decoding: one beam, no constraint, no length penalty (the fast greedy loop)."""
        return self.beam_size == 1 and self.constraint is None and self.length_penalty == 0

    @classmethod
    def check(cls, default_max_len: int, beam_size: int = 1, num_hypotheses: int = 1, length_penalty: float = 0.0,
              batch_size: int = 64, max_len: int | None = None, on_error: str = "report",
              vocabulary: Vocabulary | Iterable[str] | None = None, vocabulary_bonus: float = DEFAULT_BONUS,
              constraint: object = None) -> DecodeOptions:
        """Checks every option; raises OptionError (a ValueError) naming the bad one."""
        if on_error not in ("report", "raise"):
            raise OptionError(f"on_error must be 'report' or 'raise', got {on_error!r}")
        check_beam_size(beam_size)
        for name, value in (("num_hypotheses", num_hypotheses), ("batch_size", batch_size),
                            ("max_len", 1 if max_len is None else max_len)):
            check_count(name, value)
        _check_number("length_penalty", length_penalty)
        _check_number("vocabulary_bonus", vocabulary_bonus)
        if length_penalty < 0:  # the beam's early stop bounds a hypothesis's future score only for alpha >= 0
            raise OptionError(f"length_penalty must be >= 0, got {length_penalty}")
        if vocabulary is not None:
            if beam_size < 2:
                raise OptionError("vocabulary chooses among a beam's hypotheses: give beam_size >= 2 (e.g. 5)")
            if not isinstance(vocabulary, Vocabulary):
                vocabulary = Vocabulary(vocabulary)
        if num_hypotheses > beam_size:
            raise OptionError(f"num_hypotheses must be at most beam_size, got beam_size={beam_size}, "
                              f"num_hypotheses={num_hypotheses}")
        return cls(beam_size, num_hypotheses, length_penalty, batch_size, max_len or default_max_len, on_error,
                   constraint, vocabulary, vocabulary_bonus)
