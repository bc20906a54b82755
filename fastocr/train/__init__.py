"""Training: the loop (``loop``), its typed options, data and label lists, augmentation, the synthetic line
renderer, metrics and evaluation. Builds on the engine (validation reads through a ``Recognizer``)."""

from .loop import train
from .options import TrainOptions

__all__ = ["TrainOptions", "train"]


def __getattr__(name: str):
    """0.1's ``fastocr.train`` was one module: its other names now live in ``fastocr.train.loop``."""
    import warnings

    from . import loop

    if name.startswith("__") or not hasattr(loop, name):
        raise AttributeError(f"module 'fastocr.train' has no attribute {name!r}")
    warnings.warn(f"fastocr.train.{name} moved to fastocr.train.loop.{name}; the old name goes in fastocr 0.3",
                  DeprecationWarning, stacklevel=2)
    return getattr(loop, name)
