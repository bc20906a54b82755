"""Labelled line lists (the original ``path label`` format and TSV), their splits, and the training batch
collation."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch
import torch.utils.data

from ..alphabet import EOS_TOKEN, SOS_TOKEN, Alphabet
from ..engine.preprocess import ImageInput, load_rgb, padded_width, resize_line, to_batch
from ..errors import FastOCRError
from ..files import atomic_write_bytes
from .augment import jitter_crop

PAD_TARGET = -100  # ignored by the loss (the original padded with class 2 and trained on it)


def read_label_list(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Reads ``path<TAB>label`` lines (TSV: labels may hold spaces) or the original ``path label`` lines.

    A line with a tab is TSV; otherwise the path ends at the first space after which an image file exists (else
    at the first space) and the rest is the label. Relative image paths are taken relative to the list file's
    folder when they exist there. A UTF-8 byte-order mark and CRLF line ends are accepted; lines break at
    newlines only (a label may hold any other character).
    """
    path = Path(path)
    try:
        lines = [line.removesuffix("\r") for line in path.read_text(encoding="utf-8-sig").split("\n")]
    except OSError as e:
        raise FastOCRError(f"{path}: cannot read the label list ({e.strerror or e})") from e
    except UnicodeDecodeError as e:
        raise FastOCRError(f"{path}: not a UTF-8 text label list (byte {e.start}: {e.reason})") from e
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        img, sep, label = line.partition("\t") if "\t" in line else _split_at_image(line, path.parent)
        if not sep or not label:
            raise FastOCRError(f"{path}:{n}: expected 'path<TAB>label' or 'path label', got {line!r}")
        local = path.parent / img
        out.append((str(local) if not os.path.isabs(img) and local.exists() else img, label))
    return out


def _split_at_image(line: str, folder: Path) -> tuple[str, str, str]:
    """An original-format line split as ``partition(" ")`` would, but at a later space when the path itself holds
    spaces: the first split whose path exists (as given or in the list's folder) wins."""
    for i, c in enumerate(line):
        if c == " " and i and (os.path.exists(line[:i]) or (folder / line[:i]).exists()):
            return line[:i], " ", line[i + 1 :]
    return line.partition(" ")


class LabelledLines(torch.utils.data.Dataset):
    """Images and labels of a label list, decoded to RGB arrays on access."""

    def __init__(self, list_path: str | os.PathLike):
        self.items = read_label_list(list_path)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[ImageInput, str]:
        return self.items[i]


class AugmentedLines(torch.utils.data.Dataset):
    """``variants`` augmented copies of each line of ``lines``: item ``i`` is line ``i % len(lines)`` cut
    and degraded as ``augment.jitter_crop`` does, with randomness fixed by ``(seed, i)``.

    A training sampler drawing uniformly from the whole range sees each real line under ever new
    augmentations, and a resumed run sees the same ones.
    """

    def __init__(self, lines: torch.utils.data.Dataset, seed: int, variants: int = 2**20):
        self.lines, self.seed, self.variants = lines, seed, variants

    def __len__(self) -> int:
        return len(self.lines) * self.variants

    def __getitem__(self, i: int) -> tuple[ImageInput, str]:
        image, label = self.lines[i % len(self.lines)]
        try:
            rgb = load_rgb(image, str(image))
        except FastOCRError:
            return image, label  # Collate drops it and counts it, as an unaugmented bad file
        return jitter_crop(rgb, np.random.default_rng([self.seed, i])), label


def split_items(items: list, sizes: dict[str, int], seed: int = 0) -> dict[str, list]:
    """Shuffles ``items`` with ``seed`` and deals out ``sizes[name]`` items per part; the rest is ``"train"``.

    Each part keeps the list's order, so a part is the same list whatever the other parts' sizes
    (for the same total held out).
    """
    if "train" in sizes:
        raise FastOCRError("'train' is the name of the remainder; give held-out parts other names")
    if any(n < 0 for n in sizes.values()) or sum(sizes.values()) > len(items):
        raise FastOCRError(f"cannot hold out {sum(sizes.values())} of {len(items)} items")
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    parts, at = {}, 0
    for name, n in sizes.items():
        parts[name] = [items[i] for i in sorted(order[at : at + n])]
        at += n
    parts["train"] = [items[i] for i in sorted(order[at:])]
    return parts


def write_label_list(path: Path, items: list[tuple[str, str]]) -> None:
    """Writes ``path<TAB>label`` lines atomically, with absolute image paths (the list may live anywhere)."""
    text = "".join(f"{os.path.abspath(img)}\t{label}\n" for img, label in items)
    atomic_write_bytes(path, text.encode("utf-8"))


class Collate:
    """(image, label) pairs -> (images [B, 3, 32, W], targets [L + 2, B], widths [B], labels).

    Targets hold SOS, ids, EOS, then PAD_TARGET. With ``bucket`` (variable-width models) W is the widest
    line's padded width; ``widths`` are the lines' own widths, for the attention mask.

    Items whose image cannot be read or whose label has characters outside the alphabet are dropped (counted
    in ``dropped``), so one bad file never stops a training run.
    """

    def __init__(self, alphabet: Alphabet, height: int = 32, width: int = 280, max_label_len: int = 64,
                 bucket: int | None = None):
        self.alphabet, self.height, self.width, self.max_label_len = alphabet, height, width, max_label_len
        self.bucket = bucket

    def __call__(self, batch):
        return self.assemble([p for p in map(self.prepare, batch) if p is not None])

    def prepare(self, item) -> tuple[np.ndarray, list[int], str] | None:
        """One (image, label) pair as (line resized to the model's height, label ids, label), or None to drop."""
        image, label = item
        if not label or len(label) > self.max_label_len or self.alphabet.missing(label):
            return None
        try:
            line = resize_line(load_rgb(image, str(image)), self.height, self.width)
        except FastOCRError:
            return None
        return line, self.alphabet.encode(label), label

    def assemble(self, prepared: list):
        """Prepared lines as one batch (see the class), or None when there are none."""
        if not prepared:
            return None
        lines, ids, labels = zip(*prepared)
        L = max(map(len, ids))
        targets = torch.full((L + 2, len(ids)), PAD_TARGET, dtype=torch.long)
        targets[0] = SOS_TOKEN
        for b, seq in enumerate(ids):
            targets[1 : len(seq) + 1, b] = torch.tensor(seq)
            targets[len(seq) + 1, b] = EOS_TOKEN
        canvas = max(padded_width(line.shape[1], self.width, self.bucket) for line in lines)
        widths = torch.tensor([line.shape[1] for line in lines])
        return to_batch(list(lines), self.height, canvas), targets, widths, list(labels)


class WidthWindows:
    """Collation of a window of ``batches`` x ``batch_size`` samples into ``batches`` batches of lines of like
    widths: every line is resized, the window sorted by width (stably: a function of the window's samples
    alone) and cut in order. A batch is padded to its widest line, and on CPU the CNN's work is the canvas's
    area, so this halves it for rendered words against batches as drawn (``benchmarks/scripts/
    train_canvas_padding.py``). Dropped lines shorten the last batches; an empty one is None, as in Collate.
    """

    def __init__(self, collate: Collate, batch_size: int, batches: int):
        self.collate, self.batch_size, self.batches = collate, batch_size, batches

    def __call__(self, window) -> list:
        prepared = sorted((p for p in map(self.collate.prepare, window) if p is not None), key=lambda p: p[0].shape[1])
        size = self.batch_size
        return [self.collate.assemble(prepared[b * size : (b + 1) * size]) for b in range(self.batches)]
