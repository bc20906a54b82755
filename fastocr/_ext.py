"""Loads the compiled extension (``fastocr._C``, plus ``fastocr._C_cuda`` in CUDA builds) if it was built and
fits the running torch, and says once, loudly, with the fix, when it does not.

Imports nothing of fastocr: ``ops`` builds on it. ``torch`` is imported first: the extension links against its
libraries and registers into ``torch.ops.fastocr``.
"""

from __future__ import annotations

import importlib
import re
import warnings

import torch

REBUILD = "rebuild it against this torch: pip install --no-build-isolation -e . (or pip install . --no-build-isolation)"


def _release(version: str) -> tuple[int, ...]:
    """(major, minor) of a torch version string: "2.13.0+cpu" -> (2, 13)."""
    return tuple(int(p) for p in re.findall(r"\d+", version)[:2])


def _try_import(name: str):
    try:
        return importlib.import_module(name), None
    except ImportError as e:
        if "undefined symbol" in str(e) or "symbol not found" in str(e):  # built against another torch's ABI
            return None, f"{name} was built against another torch than {torch.__version__} ({e}); {REBUILD}"
        return None, str(e)


def _load():
    c, error = _try_import("fastocr._C")
    if c is not None:
        built = c.build_info().get("torch_version", "")
        if _release(built) != _release(torch.__version__):
            c, error = None, f"fastocr._C was built against torch {built}, this is torch {torch.__version__}; {REBUILD}"
    if c is None:
        if error and "No module named" not in error:  # built but unusable: say so once, at import
            warnings.warn(f"fastocr: the C++ extension is not used, decoding falls back to Python: {error}",
                          RuntimeWarning, stacklevel=3)
        return None, error, None, "fastocr._C missing"
    c_cuda, cuda_error = _try_import("fastocr._C_cuda")
    return c, None, c_cuda, cuda_error


C, C_ERROR, C_CUDA, C_CUDA_ERROR = _load()


def cuda_archs() -> list[str]:
    """The GPU architectures ``fastocr._C_cuda`` holds code for ("8.0", "9.0+PTX", ...); [] without it."""
    archs = getattr(C_CUDA, "cuda_archs", "") if C_CUDA is not None else ""
    return [a for a in re.split(r"[;_\s]+", archs) if a]  # stored as 8.0_9.0+PTX (setup.py)


def runs_on(capability: tuple[int, int], archs: list[str]) -> bool:
    """Whether code built for ``archs`` runs on a GPU of ``capability``: a binary of the same major version and
    a minor version up to the GPU's, or PTX for an architecture up to the GPU's (the driver compiles it)."""
    for arch in archs:
        major, minor = (int(x) for x in arch.removesuffix("+PTX").split(".")[:2])
        if (major, minor) <= capability and (major == capability[0] or arch.endswith("+PTX")):
            return True
    return False
