"""A soft lexicon: among a beam's hypotheses, prefer the readings made of known words.

``Recognizer.recognize(..., beam_size=5, vocabulary=words)`` orders each line's hypotheses by their
log-probability plus ``vocabulary_bonus`` for those whose every word is in the vocabulary (or is a number).
Unlike ``lexicon`` (only its entries may be output), any text can still win: an unknown name keeps its
reading when the model is sure enough. The default bonus was chosen for the bundled model on the ``val``
part of real_dev (README, model card).
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Iterable

from .errors import FastOCRError

DEFAULT_BONUS = 3.0  # log-probability; the best on real_dev's val part for the bundled model (model card)
_NUMBER = re.compile(r"[+-]?[\d.,:/%-]*\d[\d.,:/%-]*")


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
        from .synth import load_words  # the renderer's word-file reader (imports PIL: not at CLI start)

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


def add_arguments(p) -> None:
    """``--vocabulary`` and ``--vocabulary-bonus``, for the commands that recognise (recognize, eval)."""
    p.add_argument("--vocabulary", metavar="FILE",
                   help="known words (whitespace-separated, e.g. /usr/share/dict/words): among the beam's "
                        "hypotheses, readings made of them (or of numbers) are preferred; needs --beam-size >= 2")
    p.add_argument("--vocabulary-bonus", type=float, default=DEFAULT_BONUS, metavar="B",
                   help=f"log-probability such a reading is worth (default {DEFAULT_BONUS}, chosen on real scene "
                        "words)")


def from_args(args) -> Vocabulary | None:
    return Vocabulary.from_file(args.vocabulary) if args.vocabulary else None
