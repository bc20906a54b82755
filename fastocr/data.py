"""Labelled line lists (the original ``path label`` format and TSV) and the training batch collation."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.utils.data

from .alphabet import EOS_TOKEN, SOS_TOKEN, Alphabet
from .errors import FastOCRError
from .preprocess import ImageInput, load_rgb, padded_width, resize_line, to_batch

PAD_TARGET = -100  # ignored by the loss (the original padded with class 2 and trained on it)


def read_label_list(path: str | os.PathLike) -> list[tuple[str, str]]:
    """Reads ``path<TAB>label`` lines (TSV: labels may hold spaces) or the original ``path label`` lines.

    A line with a tab is TSV; otherwise the path ends at the first space and the rest is the label.
    Relative image paths are taken relative to the list file's folder when they exist there.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise FastOCRError(f"{path}: cannot read the label list ({e.strerror or e})") from e
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        img, sep, label = line.partition("\t") if "\t" in line else line.partition(" ")
        if not sep or not label:
            raise FastOCRError(f"{path}:{n}: expected 'path<TAB>label' or 'path label', got {line!r}")
        local = path.parent / img
        out.append((str(local) if not os.path.isabs(img) and local.exists() else img, label))
    return out


class LabelledLines(torch.utils.data.Dataset):
    """Images and labels of a label list, decoded to RGB arrays on access."""

    def __init__(self, list_path: str | os.PathLike):
        self.items = read_label_list(list_path)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[ImageInput, str]:
        return self.items[i]


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
        lines, ids, labels = [], [], []
        for image, label in batch:
            if not label or len(label) > self.max_label_len or self.alphabet.missing(label):
                continue
            try:
                lines.append(resize_line(load_rgb(image, str(image)), self.height, self.width))
            except FastOCRError:
                continue
            ids.append(self.alphabet.encode(label))
            labels.append(label)
        if not lines:
            return None
        L = max(map(len, ids))
        targets = torch.full((L + 2, len(ids)), PAD_TARGET, dtype=torch.long)
        targets[0] = SOS_TOKEN
        for b, seq in enumerate(ids):
            targets[1 : len(seq) + 1, b] = torch.tensor(seq)
            targets[len(seq) + 1, b] = EOS_TOKEN
        canvas = max(padded_width(line.shape[1], self.width, self.bucket) for line in lines)
        widths = torch.tensor([line.shape[1] for line in lines])
        return to_batch(lines, self.height, canvas), targets, widths, labels
