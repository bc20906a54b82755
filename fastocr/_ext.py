"""Loads the compiled extension (``fastocr._C``, plus ``fastocr._C_cuda`` in CUDA builds) if it was built.

Imports nothing of fastocr: ``ops`` builds on it. ``torch`` is imported first: the extension links against its libraries and registers into ``torch.ops.fastocr``.
"""

from __future__ import annotations

import importlib


def _try_import(name: str):
    try:
        return importlib.import_module(name), None
    except ImportError as e:
        return None, str(e)


C, C_ERROR = _try_import("fastocr._C")
C_CUDA, C_CUDA_ERROR = _try_import("fastocr._C_cuda") if C is not None else (None, "fastocr._C missing")
