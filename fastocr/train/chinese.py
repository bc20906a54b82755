"""Label text for rendered Chinese lines: pieces of real sentences, runs of dictionary words, mixed-script lines
as on signs and screens, and lines built around a character drawn uniformly from the alphabet, so that every
character of a 5,989-entry alphabet is trained on, not only the few thousand that carry most running text.

All randomness comes from the ``random.Random`` each call is given (``SyntheticLines`` derives it from
``(seed, i)``), so item ``i`` keeps its text across runs and resumes.
"""

from __future__ import annotations

import random
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import FastOCRError

# Full-width punctuation and its half-width twin: real signs and screens mix both.
_WIDTH_TWINS = dict(zip("，。：；！？（）", ",.:;!?()"))
_LATIN_WORDS = ("WiFi", "APP", "VIP", "KTV", "LED", "USB", "CEO", "GDP", "iPhone", "Android", "OK", "PM2.5", "ATM",
                "NBA", "DIY", "QQ", "Logo", "TV", "DVD", "GPS", "SUV", "AI", "IT", "No", "Tel", "Fax", "Email")


def to_alphabet(text: str, allowed: frozenset[str]) -> str:
    """``text`` with each character the alphabet lacks replaced by its NFKC form when the alphabet has that
    (full-width digits and letters), else by a NUL, where pieces are later cut. Characters the alphabet has
    stay as they are: NFKC would also turn its full-width comma, the most frequent entry, into ','."""
    out = []
    for c in text:
        if c in allowed:
            out.append(c)
            continue
        n = unicodedata.normalize("NFKC", c)
        out.append(n if n and set(n) <= allowed else "\0")
    return "".join(out)


def read_corpus(paths: Iterable[str | Path], charset: str, min_len: int = 2) -> list[str]:
    """The runs of at least ``min_len`` alphabet characters in text files (a line, a sentence or a paragraph
    each), mapped into the alphabet with ``to_alphabet`` and cut at whitespace and at characters it lacks."""
    allowed = frozenset(charset)
    runs: list[str] = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise FastOCRError(f"{path}: cannot read the text corpus ({e})") from e
        for line in text.splitlines():
            runs += [r for r in to_alphabet(line, allowed).replace("\0", " ").split() if len(r) >= min_len]
    if not runs:
        raise FastOCRError(f"no text of {min_len}+ alphabet characters in {', '.join(map(str, paths))}")
    return runs


def held_out(runs: Sequence[str], every: int = 50) -> tuple[list[str], list[str]]:
    """(training runs, validation runs): one run in ``every`` by a hash of its text, so validation lines come
    from sentences never trained on, whatever the order or number of files."""
    val = [r for r in runs if zlib.crc32(r.encode()) % every == 0]
    return [r for r in runs if zlib.crc32(r.encode()) % every], val


class ChineseText:
    """Draws label strings of ``min_len``-``max_len`` characters for Chinese lines.

    Kinds (weights): ``piece``, a piece of a corpus sentence (45); ``words``, dictionary words run together (15);
    ``mixed``, a corpus piece with a number, price, date, time, phone number or Latin word in it and its
    punctuation in either width (20); ``rare``, a corpus piece around one character drawn uniformly from the
    alphabet (20: each of 5,989 characters turns up about once per 30,000 lines, rare ones included).

    Args:
        charset: the alphabet; every string uses only these characters.
        corpus: runs of alphabet text (``read_corpus``).
        words: dictionary words; those with characters outside the alphabet are dropped.
        kinds: draw only these kinds (``KINDS``: e.g. ``("mixed",)`` for a test set of mixed-script lines).
    """

    KINDS = ("piece", "words", "mixed", "rare")

    def __init__(self, charset: str, corpus: Sequence[str], words: Sequence[str] = (), max_len: int = 30,
                 min_len: int = 2, kinds: Sequence[str] | None = None):
        if not 1 <= min_len <= max_len:
            raise ValueError(f"need 1 <= min_len <= max_len, got {min_len}, {max_len}")
        self.charset = "".join(dict.fromkeys(c for c in charset if not c.isspace()))
        self.allowed = frozenset(self.charset)
        self.min_len, self.max_len = min_len, max_len
        self.corpus = [r for r in corpus if len(r) >= min_len and set(r) <= self.allowed]
        if not self.corpus:
            raise ValueError("the corpus has no run of alphabet characters long enough")
        self.words = [w for w in words if w and set(w) <= self.allowed] or self.corpus
        self._digits = "".join(c for c in "0123456789" if c in self.allowed)
        self._latin = [w for w in _LATIN_WORDS if set(w) <= self.allowed]
        weighted = dict(zip(self.KINDS, ((self._piece, 45), (self._word_run, 15), (self._mixed, 20),
                                         (self._rare, 20))))
        unknown = set(kinds or ()) - set(self.KINDS)
        if unknown:
            raise ValueError(f"unknown kinds of line {sorted(unknown)}; choose from {', '.join(self.KINDS)}")
        self._kinds = [weighted[k] for k in (kinds or self.KINDS)]

    def sample(self, r: random.Random) -> str:
        n = r.randint(self.min_len, self.max_len)
        funcs, weights = zip(*self._kinds)
        text = r.choices(funcs, weights)[0](r, n)[: self.max_len]
        return text if len(text) >= self.min_len and set(text) <= self.allowed else self._piece(r, n)

    def _piece(self, r: random.Random, n: int) -> str:
        run = r.choice(self.corpus)
        start = r.randint(0, max(0, len(run) - n))
        return run[start : start + n]

    def _word_run(self, r: random.Random, n: int) -> str:
        out = ""
        while len(out) < n:
            w = r.choice(self.words)
            if len(out) + len(w) > n and out:
                break
            out += w
        return out

    def _token(self, r: random.Random) -> str:
        """A number, price, date, time, phone number or Latin word, as mixed into Chinese signs and pages."""
        d = lambda k: "".join(r.choices(self._digits, k=k))  # noqa: E731
        y, m, day = r.randint(1949, 2035), r.randint(1, 12), r.randint(1, 28)
        kinds = [lambda: str(r.randint(0, 10 ** r.randint(1, 6))),
                 lambda: f"{r.uniform(0, 10 ** r.randint(1, 4)):.{r.choice((1, 2))}f}",
                 lambda: r.choice(("¥", "￥", "")) + f"{r.uniform(1, 9999):.2f}" + r.choice(("元", "", "")),
                 lambda: r.choice((f"{y}年{m}月{day}日", f"{m}月{day}日", f"{y}-{m:02d}-{day:02d}", f"{y}.{m}.{day}")),
                 lambda: f"{r.randint(0, 23)}:{r.randint(0, 59):02d}",
                 lambda: r.choice((f"1{d(2)}-{d(4)}-{d(4)}", f"0{d(2)}-{d(8)}", f"400-{d(3)}-{d(4)}")),
                 lambda: f"{r.randint(1, 99)}%"]
        if self._latin:
            kinds.append(lambda: r.choice(self._latin))
        return r.choice(kinds)()

    def _mixed(self, r: random.Random, n: int) -> str:
        token = "".join(c for c in self._token(r) if c in self.allowed)
        piece = self._piece(r, n - len(token)) if n > len(token) else ""
        at = r.choice((0, len(piece), r.randint(0, len(piece))))
        text = piece[:at] + token + piece[at:]
        if r.random() < 0.5:  # the other width of punctuation, where the alphabet has it
            twins = {c: t for c, t in _WIDTH_TWINS.items() if t in self.allowed}
            text = "".join(twins.get(c, c) for c in text)
        return text

    def _rare(self, r: random.Random, n: int) -> str:
        piece = self._piece(r, max(1, n - 1))
        at = r.randint(0, len(piece))
        return piece[:at] + r.choice(self.charset) + piece[at:]
