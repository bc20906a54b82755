"""argparse types the commands share: a bad number or path is a usage error (exit 2) that names the option, found
before any work starts (not a traceback, nor an output that cannot be written after an hour of work)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .beam import MAX_BEAM


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {value!r}") from None


def positive_int(value: str) -> int:
    n = _int(value)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {n}")
    return n


def non_negative_int(value: str) -> int:
    n = _int(value)
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {n}")
    return n


def beam_width(value: str) -> int:
    n = positive_int(value)
    if n > MAX_BEAM:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_BEAM} (the beam-search extension's limit), got {n}")
    return n


def output_file(value: str) -> str:
    """A file to write: its folder must exist and it must not be a folder itself."""
    p = Path(value)
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a folder; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"folder {parent} is not writable")
    return value


def output_dir(value: str) -> str:
    """A folder to write into (created if missing): it must not be an existing file."""
    if Path(value).exists() and not Path(value).is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a file, not a folder")
    return value


def input_file(value: str) -> str:
    """A file to read: it must exist and be a file."""
    p = Path(value)
    if not p.exists():
        raise argparse.ArgumentTypeError(f"no such file: {value}")
    if p.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a folder, not a file")
    return value
