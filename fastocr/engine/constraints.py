"""Charset and lexicon constraints, compiled from text to what the decoder walks: a ``TokenAutomaton`` for the
C++ beam search, or id lists for the reference search."""

from __future__ import annotations

from collections.abc import Iterable

from ..alphabet import Alphabet
from ..errors import OptionError
from ..ops import extension_decoding
from .beam import TokenAutomaton


def compile_constraint(alphabet: Alphabet, allowed_chars: str | None, lexicon: Iterable[str] | None, device=None):
    """(allowed ids, lexicon id lists) for the reference, or a TokenAutomaton for the extension on ``device``;
    None if free."""
    if allowed_chars is None and lexicon is None:
        return None
    if allowed_chars is not None and (not isinstance(allowed_chars, str) or not allowed_chars):
        raise OptionError(f"allowed_chars must be a non-empty str of characters, got {allowed_chars!r}")
    if isinstance(lexicon, (str, bytes)):
        raise OptionError(f"lexicon is a list of lines, got the str {lexicon!r}: pass [{lexicon!r}]")
    if lexicon is not None:
        lexicon = list(lexicon)
        if not lexicon:
            raise OptionError("lexicon is empty: nothing could be read (give None for no lexicon)")
    allowed = None
    if allowed_chars is not None:
        encode_checked(alphabet, allowed_chars, "allowed_chars")  # names the characters outside the alphabet
        allowed = sorted({i for c in allowed_chars for i in alphabet.ids(c)})
    words = None if lexicon is None else [spelling(alphabet, w) for w in lexicon]
    if not extension_decoding(device):
        return allowed, words
    return TokenAutomaton.lexicon(words, allowed) if words is not None else TokenAutomaton.charset(allowed)


def spelling(alphabet: Alphabet, word: str) -> list[list[int]]:
    """Every id sequence that reads as ``word``, as the ids each position may take (several for a character the
    alphabet repeats: the original's "1" and "3" have two ids each, and the model may have learnt either)."""
    encode_checked(alphabet, word, "lexicon entry")
    return [alphabet.ids(c) for c in word]


def encode_checked(alphabet: Alphabet, text: str, what: str) -> list[int]:
    """``alphabet.encode(text)``, or an OptionError naming ``what`` and the characters the alphabet lacks."""
    missing = alphabet.missing(text)
    if missing:
        raise OptionError(f"{what} {text!r} has characters outside the model's alphabet: {''.join(missing)!r}")
    return alphabet.encode(text)
