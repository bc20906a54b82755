"""Files: written safely (a crash or a full disk leaves the old file or the new one, never half of one), and
image files found in folders."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once, at import: os.umask can only be read by setting it


def give_usual_mode(fd: int, path: Path) -> None:
    """The mode ``open()`` would have given ``path`` (or the mode it has now), not mkstemp's private 0600."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        mode = 0o666 & ~_UMASK
    os.fchmod(fd, mode)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Writes ``data`` to ``path`` so that a crash leaves either the old file or the new one, never half of one;
    the file gets the mode a plain ``open()`` would give it, and the rename is made durable (folder fsync)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        give_usual_mode(fd, path)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pbm", ".pgm", ".ppm"}


def image_files(folder: str | os.PathLike) -> list[str]:
    """The image files (by suffix, any case) under ``folder``, recursively, sorted."""
    return [str(f) for f in sorted(Path(folder).rglob("*")) if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()]


def expand_inputs(inputs: list[str]) -> list[str]:
    """Files as given; folders become the image files inside them."""
    return [f for item in inputs for f in (image_files(item) if Path(item).is_dir() else [item])]
