"""The class vocabulary: SOS (0), EOS (1), then character i of the alphabet as class i + 2.

Kept exactly as the original project defines it (no PAD, no UNK). Decoding uses ``chars[id - 2]``, which equals
the original's reverse dict lookup for every id it can decode, and also decodes the 5 ids whose character is
duplicated in ``char_std_5990.txt`` (the original raised ``ValueError`` for them).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from .errors import FastOCRError

SOS_TOKEN = 0
EOS_TOKEN = 1
NUM_SPECIAL = 2


class Alphabet:
    """Maps text to class ids and back.

    >>> a = Alphabet("abc")
    >>> a.encode("cab")
    [4, 2, 3]
    >>> a.decode([4, 2, 3, 1])
    'cab'
    """

    def __init__(self, chars: str):
        if not chars:
            raise FastOCRError("the alphabet is empty")
        self.chars = chars
        # A duplicated character keeps its *last* index, as the original's dict did ('1' -> 5566 in 5990.txt).
        self._index = {c: i + NUM_SPECIAL for i, c in enumerate(chars)}
        self._by_id = [""] * NUM_SPECIAL + list(chars)  # SOS/EOS read as nothing
        self._all_ids: dict[str, list[int]] = {}  # every id of each character: several for a duplicated one
        for i, c in enumerate(chars):
            self._all_ids.setdefault(c, []).append(i + NUM_SPECIAL)

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Alphabet:
        """Reads an alphabet in the original format: one character per line, ``''.join(line.rstrip())``."""
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.readlines()
        except OSError as e:
            raise FastOCRError(f"{path}: cannot read the alphabet file ({e.strerror or e})") from e
        except UnicodeDecodeError as e:
            raise FastOCRError(f"{path}: the alphabet file is not UTF-8 text ({e.reason})") from e
        chars = "".join(line.rstrip() for line in lines)
        if not chars:
            raise FastOCRError(f"{path}: the alphabet file holds no characters")
        return cls(chars)

    @property
    def num_classes(self) -> int:
        """Size of the output layer: the characters plus SOS and EOS."""
        return len(self.chars) + NUM_SPECIAL

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, char: str) -> bool:
        return char in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Alphabet) and other.chars == self.chars

    def __repr__(self) -> str:
        return f"Alphabet({len(self.chars)} characters)"

    def missing(self, text: str) -> list[str]:
        """The characters of ``text`` the alphabet cannot encode, in order of first appearance."""
        return list(dict.fromkeys(c for c in text if c not in self._index))

    def encode(self, text: str) -> list[int]:
        """Class ids of ``text`` (no SOS/EOS). Raises ``FastOCRError`` naming characters not in the alphabet."""
        missing = self.missing(text)
        if missing:
            raise FastOCRError(f"text {text!r} has characters outside the alphabet: {''.join(missing)!r}")
        return [self._index[c] for c in text]

    def ids(self, char: str) -> list[int]:
        """Every class id that reads as ``char``: one, or several for a character the alphabet file repeats
        (``encode`` uses the last; a model may emit any)."""
        return list(self._all_ids.get(char, ()))

    def decode(self, ids: Iterable[int]) -> str:
        """Text of class ids, stopping at the first EOS and skipping SOS."""
        ids = list(map(int, ids))
        if EOS_TOKEN in ids:
            ids = ids[: ids.index(EOS_TOKEN)]
        return "".join(map(self._by_id.__getitem__, ids))

    def decode_each(self, ids: Sequence[int]) -> list[str]:
        """One character per id (no EOS handling), for per-character outputs."""
        return [self.chars[int(i) - NUM_SPECIAL] if int(i) >= NUM_SPECIAL else "" for i in ids]
