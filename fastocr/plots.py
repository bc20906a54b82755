"""What every PNG fastocr draws needs: matplotlib without a display, and an atomic write."""

from __future__ import annotations

import io
from pathlib import Path

from .errors import FastOCRError


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed); a clear error when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError as e:
        raise FastOCRError("plots need matplotlib: pip install 'fastocr[train]'") from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: str | Path) -> None:
    """Writes ``fig`` to ``path`` atomically (a crash leaves the old file or the new one) and closes it."""
    from .files import atomic_write_bytes

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    pyplot().close(fig)
    atomic_write_bytes(Path(path), buf.getvalue())
