"""A soft lexicon: among a beam's hypotheses, prefer the readings made of known words.

``Recognizer.recognize(..., beam_size=5, vocabulary=words)`` orders each line's hypotheses by their
log-probability plus ``vocabulary_bonus`` for those whose every word is in the vocabulary (or is a number).
Unlike ``lexicon`` (only its entries may be output), any text can still win: an unknown name keeps its
reading when the model is sure enough. The default bonus was chosen for the bundled model on the ``val``
part of real_dev (README, model card).
"""

from __future__ import annotations

import functools
import os
import re
import string
from collections.abc import Iterable
from pathlib import Path

from ..errors import FastOCRError

DEFAULT_BONUS = 3.0  # log-probability; the best on real_dev's val part for the bundled model (model card)
_NUMBER = re.compile(r"[+-]?[\d.,:/%-]*\d[\d.,:/%-]*")


@functools.lru_cache(maxsize=4)
def load_words(path: Path | str) -> tuple[str, ...]:
    """A word file's whitespace-separated words (read once per path: training, validation and decoding share it)."""
    return tuple(Path(path).read_text(encoding="utf-8").split())


def _token(word: str) -> str:
    """A word as the vocabulary compares it: surrounding whitespace and punctuation off, case folded."""
    return word.strip().strip(string.punctuation).casefold()


class Vocabulary:
    """Known words, compared case-insensitively.

    Args:
        words: the words; surrounding whitespace and punctuation are ignored, as in the readings.

    Raises:
        FastOCRError: no word given.
    """

    def __init__(self, words: Iterable[str]):
        # normalised as ``covers`` normalises a reading's words: "Mr." and "U.S.A." must match themselves
        self.words = frozenset(t for t in (_token(w) for w in words) if t)
        if not self.words:
            raise FastOCRError("the vocabulary is empty")

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> Vocabulary:
        """Whitespace-separated words of a UTF-8 text file (e.g. /usr/share/dict/words)."""
        try:
            return cls(load_words(path))
        except (OSError, UnicodeDecodeError) as e:
            raise FastOCRError(f"vocabulary {path}: cannot read it ({e})") from e

    def __len__(self) -> int:
        return len(self.words)

    def covers(self, text: str) -> bool:
        """Whether every word of ``text`` (split at spaces, surrounding punctuation stripped, any case) is known
        or a number. False for a text with no word at all."""
        tokens = [t for t in (_token(w) for w in text.split()) if t]
        return bool(tokens) and all(t in self.words or _NUMBER.fullmatch(t) for t in tokens)
