"""``recognize_batch``: one call, over a process-wide cache of loaded recognizers."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence

import torch

from ..checkpoint import resolve_model
from ..errors import OptionError
from .options import resolve_device
from .preprocess import ImageInput
from ..page import Page
from .recognizer import Recognizer
from .results import Recognition


def recognize_batch(
    images: Sequence[ImageInput],
    model: str | os.PathLike | Recognizer | None = None,
    *,
    device: str | torch.device | None = None,
    **kwargs,
) -> list[Recognition]:
    """Recognises a list of text-line images in one call.

    >>> results = recognize_batch(["line.png"], model="model.safetensors")   # doctest: +SKIP
    >>> results[0].text, results[0].confidence                               # doctest: +SKIP
    ('Hello', 0.97)

    Args:
        images: see ``Recognizer.recognize``.
        model: a Recognizer, a fastocr model file, a bundled model's name ("en", "zh"), or None for the default
            (English).
        device: "cpu", "cuda", ... (default: CUDA when available).
        **kwargs: ``beam_size``, ``num_hypotheses``, ``length_penalty``, ``batch_size``, ``max_len``,
            ``on_error``, ``progress``, as in ``Recognizer.recognize``.
    """
    return _recognizer(model, device).recognize(images, **kwargs)


def read(
    images: Sequence[ImageInput],
    model: str | os.PathLike | Recognizer | None = None,
    *,
    device: str | torch.device | None = None,
    **kwargs,
) -> list[Page]:
    """Reads whole pages or photos in one call: one ``Page`` per input, its lines in reading order.

    >>> print(read(["page.png"])[0].text)                                  # doctest: +SKIP

    Args:
        images, model, device: as for ``recognize_batch``.
        **kwargs: as for ``Recognizer.read`` (``options``, ``detector``, ``progress``, decoding options).
    """
    return _recognizer(model, device).read(images, **kwargs)


def _recognizer(model, device) -> Recognizer:
    if isinstance(model, Recognizer) and device is not None:
        raise OptionError(f"device={device!r} applies when a model file is loaded; this Recognizer runs on "
                          f"{model.device} (Recognizer.load(path, device=...) for another)")
    return model if isinstance(model, Recognizer) else cached_recognizer(model, device)


CACHE_SIZE = 4  # models kept loaded, the most recently used: a long-lived process cycling through files stays bounded
_CACHE: OrderedDict[tuple[str, str], tuple[int | None, Recognizer]] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def cached_recognizer(path, device) -> Recognizer:
    """Loads each (model file, device) once per process, so repeated recognize_batch calls stay cheap; a file
    rewritten since is loaded again and replaces its old model; the least recently used of more than
    ``CACHE_SIZE`` is dropped."""
    path = resolve_model(path)
    key = (os.fspath(path.resolve()), str(resolve_device(device)))
    mtime = path.stat().st_mtime_ns if path.exists() else None
    with _CACHE_LOCK:  # two threads asking at once load the model once
        cached = _CACHE.get(key)
        if cached is None or cached[0] != mtime:
            _CACHE[key] = (mtime, Recognizer.load(path, device))
        _CACHE.move_to_end(key)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
        return _CACHE[key][1]
