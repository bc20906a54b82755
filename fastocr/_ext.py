"""Loads the compiled extension (``fastocr._C``, plus ``fastocr._C_cuda`` in CUDA builds) if it was built.

``torch`` is imported first: the extension links against its libraries and registers into ``torch.ops.fastocr``.
"""

from __future__ import annotations

import importlib
import os

import torch


def _try_import(name: str):
    try:
        return importlib.import_module(name), None
    except ImportError as e:
        return None, str(e)


C, C_ERROR = _try_import("fastocr._C")
C_CUDA, C_CUDA_ERROR = _try_import("fastocr._C_cuda") if C is not None else (None, "fastocr._C missing")


def backend_info() -> dict:
    """Which compiled parts and accelerators this installation has, and why a part is missing."""
    info = {
        "torch": torch.__version__,
        "cuda_available": torch.cuda.is_available(),
        "extension": C is not None,
        "extension_cuda": C_CUDA is not None,
    }
    forced = os.environ.get("FASTOCR_FORCE_REFERENCE", "0") == "1"
    info["beam_search"] = "reference" if forced or C is None else "extension"
    if C is None:
        info["extension_error"] = C_ERROR
    else:
        info.update({f"extension_{k}": v for k, v in C.build_info().items()})
    from . import ops  # here, not at module top: ops imports this module

    info.update(ops.kernel_info())  # decoder_kernels, decoder_kernels_reason, decoder_kernels_last
    return info
