"""Synthetic text-line renderer for training recognition models.

Samples realistic strings (words, numbers, dates, prices, phrases), renders them
with system fonts on varied backgrounds and applies the distortions of real crops.
All randomness comes from explicit generators, so item ``i`` depends only on ``(seed, i)``.
"""

from __future__ import annotations

import functools
import os
import random
import string
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch.utils.data
from PIL import Image, ImageDraw, ImageFont
from tqdm import tqdm

from ..files import atomic_write_bytes, give_usual_mode
from .augment import degrade

#: The 95 printable ASCII characters including space, in ``string.printable`` order.
ASCII_CHARSET = "".join(c for c in string.printable if c == " " or not c.isspace())
#: System font roots; a module constant so that tests and embedders can override it.
SYSTEM_FONT_DIRS: tuple[Path, ...] = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))

_FONT_SUFFIXES = {".ttf", ".otf", ".ttc", ".woff", ".woff2"}  # FreeType reads WOFF/WOFF2 too (shared/fonts ships WOFF2)
# Math fonts have huge line metrics and would give odd crops; hairline strokes vanish at 32 px.
_SKIP_FONTS = ("math", "hairline", "thin")
# (file-name patterns for system dirs, probe characters, Debian packages)
_SCRIPTS = {
    # Core: DejaVu, Liberation. More families (serif, condensed, heavy, rounded, one script) make the crops more
    # like signs and print; symbol and dingbat fonts, and hairline weights that blur away, are left out.
    "latin": (("dejavu*", "liberation*", "nimbus*", "urw*", "c059-*", "p052-*", "z003-*", "free*", "roboto*",
               "opensans-*", "lato-*", "cantarell-*", "carlito-*"), "Aa0", "fonts-dejavu-core fonts-liberation2"),
    "cjk": (("wqy-zenhei*", "wqy-microhei*", "ukai*", "uming*", "noto*cjk*"), "中文字",
            "fonts-wqy-zenhei fonts-wqy-microhei fonts-arphic-ukai fonts-arphic-uming fonts-noto-cjk"),
}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_VOWELS, _CONSONANTS = "aeiou", "bcdfghjklmnprstvwyz"
_WRAPS = (("(", ")"), ("[", "]"), ('"', '"'), ("'", "'"), ("<", ">"), ("*", "*"), ("", "."),
          ("", ","), ("", ":"), ("", ";"), ("", "!"), ("", "?"), ("", "..."), ("#", ""),
          ("", "%"), ("-", ""), ("", "-"))


# Font sizes are drawn in steps of this many pixels: lines are scaled to the model's height afterwards, and
# with few sizes per font the faces stay cached (loading a WOFF2 face takes ~0.3 ms, 15% of drawing a word).
SIZE_STEP = 4


@functools.lru_cache(maxsize=4096)  # ~55 KB a face: up to ~220 MB per process, all sizes of ~450 fonts
def _load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def _glyph_bytes(path: str, ch: str) -> bytes:
    im = Image.new("L", (72, 48))
    ImageDraw.Draw(im).text((0, 0), ch, font=_load_font(path, 24), fill=255)
    return im.tobytes()


@functools.cache
def _notdef_bytes(path: str) -> bytes:
    return _glyph_bytes(path, "\U0010fffd")  # plane-16 private use: mapped by no real font


@functools.cache
def has_glyph(font_path: str | Path, ch: str) -> bool:
    """Whether the font draws ``ch`` with a real glyph rather than ``.notdef``.

    PIL exposes no cmap, so a missing glyph is detected by comparing the
    rendering with that of a private-use code point no font maps.
    """
    try:
        return ch.isspace() or _glyph_bytes(str(font_path), ch) != _notdef_bytes(str(font_path))
    except (OSError, ValueError):
        return False


def _font_files(root: Path, patterns: Sequence[str] | None) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in _FONT_SUFFIXES
                  and (patterns is None or any(Path(p.name.lower()).match(pt) for pt in patterns)))


def find_fonts(script: str = "latin", roots: Sequence[Path | str] | None = None) -> list[Path]:
    """Lists installed fonts usable for a script, de-duplicated, in search order.

    Any font file in ``FASTOCR_FONT_DIRS`` (``os.pathsep``-separated) comes first;
    in ``SYSTEM_FONT_DIRS`` only known-good families count (DejaVu/Liberation for
    latin, WQY Zen Hei/Noto CJK for cjk). Fonts lacking probe glyphs are skipped.

    Args:
        script: ``"latin"`` or ``"cjk"``.
        roots: Search only these directories (accepting any font file) instead.

    Raises:
        ValueError: Unknown script.
        RuntimeError: No usable font; the message names the packages to install.
    """
    if script not in _SCRIPTS:
        raise ValueError(f"unknown script {script!r}; expected one of {sorted(_SCRIPTS)}")
    patterns, probe, packages = _SCRIPTS[script]
    if roots is not None:
        searches = [(Path(r), None) for r in roots]
    else:
        env = [Path(d) for d in os.environ.get("FASTOCR_FONT_DIRS", "").split(os.pathsep) if d]
        searches = [(d, None) for d in env] + [(d, patterns) for d in SYSTEM_FONT_DIRS]
    found: dict[Path, None] = {}
    for root, pats in searches:
        for path in _font_files(root, pats):
            name = path.name.lower()
            if not any(w in name for w in _SKIP_FONTS) and all(has_glyph(str(path), c) for c in probe):
                found.setdefault(path.resolve(), None)
    if not found:
        where = ", ".join(str(r) for r, _ in searches) or "(no directories)"
        raise RuntimeError(f"no usable {script} fonts found in {where}. Install some (Debian/Ubuntu: "
                           f"apt-get install {packages}) or point FASTOCR_FONT_DIRS at a "
                           "directory of .ttf/.otf files.")
    return list(found)


def load_charset(path: Path | str) -> str:
    """Reads an alphabet file in the original format: one character per line.

    Lines are joined after ``rstrip()``, exactly as the original project (and
    ``fastocr.Alphabet.from_file``) load them, so labels use only model classes.
    """
    with open(path, encoding="utf-8") as f:
        return "".join(line.rstrip() for line in f)


_SHORT = 24  # the default max_len: longer limits add document lines (TextSampler._line)


class TextSampler:
    """Draws label strings that look like text found in documents and scenes.

    Args:
        charset: Allowed characters; every sample uses only these.
        seed: Seed of the internal generator used when ``sample`` gets none.
        words: Optional vocabulary; otherwise pronounceable words are invented.
        max_len: Maximum sample length in characters.
    """

    def __init__(self, charset: str, seed: int, words: Sequence[str] | None = None,
                 max_len: int = 24) -> None:
        if max_len < 1:
            raise ValueError("max_len must be >= 1")
        self.charset = "".join(dict.fromkeys(c for c in charset if c not in "\r\n"))
        self.max_len = max_len
        self._allowed = frozenset(self.charset)
        self._ink = [c for c in self.charset if not c.isspace()]
        if not self._ink:
            raise ValueError("charset needs at least one non-whitespace character")
        self._rng = random.Random(seed)
        self.is_cjk = sum(ord(c) > 127 for c in self._ink) > len(self._ink) / 2
        self._cjk_chars = [c for c in self._ink if ord(c) > 127] or self._ink
        self._digits = [c for c in string.digits if c in self._allowed]
        self._words = [w for w in (words or []) if w and w == w.strip()
                       and len(w) <= max_len and set(w) <= self._allowed]
        # Invent words from whichever letter case the charset has.
        lower = set("aeo") <= self._allowed and len(set(_CONSONANTS) & self._allowed) > 5
        self._letters = tuple("".join(c for c in (s if lower else s.upper()) if c in self._allowed)
                              for s in (_VOWELS, _CONSONANTS))
        self._wraps = [w for w in _WRAPS if set(w[0] + w[1]) <= self._allowed]
        self._kinds = [(self._word, 25), (self._random, 12), (self._number, 18), (self._date, 8),
                       (self._price, 8), (self._phrase, 17), (self._wrapped, 12)]
        if max_len > _SHORT:  # document lines, only when asked for: shorter max_len keep their old samples
            self._kinds.append((self._line, 30))

    def sample(self, rng: random.Random | None = None) -> str:
        """Returns one string; uses ``rng`` if given (for per-item determinism)."""
        r = rng or self._rng
        if self.is_cjk:
            return self._cjk(r)
        funcs, weights = zip(*self._kinds)
        for _ in range(20):
            s = r.choices(funcs, weights)[0](r)
            if s and s == s.strip() and len(s) <= self.max_len and set(s) <= self._allowed:
                return s
        return self._random(r)  # valid by construction

    def _cjk(self, r: random.Random) -> str:
        out: list[str] = []
        n = r.randint(1, self.max_len)
        while len(out) < n:
            u = r.random()
            if self._digits and u < 0.12:
                out += r.choices(self._digits, k=r.randint(1, 4))
            else:  # occasionally any other charset char (Latin, punctuation)
                out.append(r.choice(self._cjk_chars if u < 0.97 else self._ink))
        return "".join(out[:n])

    def _random(self, r: random.Random) -> str:
        chars = r.choices(self.charset, k=r.randint(1, min(self.max_len, 12)))
        chars[0], chars[-1] = r.choice(self._ink), r.choice(self._ink)
        return "".join(chars)

    def _case(self, r: random.Random, w: str) -> str:
        # Signs and headings are often upper case (half of the real scene words of the fine-tuning split).
        title = w[:1].upper() + w[1:].lower()  # not str.title(): "Don'T"
        v = r.choices((w, w.lower(), w.upper(), title), (4, 2, 4, 2))[0]
        return v if set(v) <= self._allowed else w

    def _word(self, r: random.Random) -> str:
        if self._words and r.random() < 0.9:
            return self._case(r, r.choice(self._words))
        vowels, consonants = self._letters
        if not vowels or not consonants:
            return ""
        word = ""
        for _ in range(r.randint(1, 4)):
            word += r.choice(consonants) * (r.random() < 0.8) + r.choice(vowels)
            word += r.choice(consonants) * (r.random() < 0.3)
        return self._case(r, word)

    def _number(self, r: random.Random) -> str:
        if r.random() < 0.55:  # integer, sometimes with thousands separators
            n = r.randint(0, 10 ** r.randint(1, 7))
            s = f"{n:,}" if n >= 1000 and r.random() < 0.4 else str(n)
        else:  # decimal, sometimes with a continental decimal comma
            s = f"{r.uniform(0, 10 ** r.randint(0, 5)):.{r.randint(1, 3)}f}"
            s = s.replace(".", ",") if r.random() < 0.2 else s
        return "-" * (r.random() < 0.12) + s

    def _date(self, r: random.Random) -> str:
        y, m, d = r.randint(1950, 2035), r.randint(1, 12), r.randint(1, 28)
        month = _MONTHS[m - 1]
        return r.choice((f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{m}/{d}/{y % 100:02d}",
                         f"{d:02d}.{m:02d}.{y}", f"{month} {d}, {y}", f"{d} {month[:3]} {y}",
                         f"{d:02d}-{month[:3].upper()}-{y}", f"{y}/{m:02d}/{d:02d}"))

    def _price(self, r: random.Random) -> str:
        v = r.uniform(0, 10 ** r.randint(1, 5))
        amount = f"{v:,.2f}" if r.random() < 0.7 else f"{int(v)}"
        symbols = [c for c in "$€£¥" if c in self._allowed]
        style = r.randint(0, 3)
        if not symbols or style == 0:
            return amount
        sym = r.choice(symbols)
        return {1: f"{sym}{amount}", 2: f"{amount} {sym}", 3: f"-{sym}{amount}"}[style]

    def _phrase(self, r: random.Random) -> str:
        parts = [self._word(r) for _ in range(r.randint(2, 4))]
        if r.random() < 0.3:
            parts[r.randrange(len(parts))] = r.choice((self._number, self._price, self._date))(r)
        out = parts[0]
        for p in parts[1:]:  # drop words that would exceed max_len
            if len(out) + 1 + len(p) <= self.max_len:
                out += " " + p
        return out

    def _line(self, r: random.Random) -> str:
        """A document line: words with some numbers, dates, prices and punctuation, filled up to a length drawn
        from (24, max_len]."""
        target = r.randint(_SHORT + 1, self.max_len)
        kinds = (self._word, self._number, self._date, self._price, self._wrapped)
        out = ""
        for _ in range(4 * target):  # bounded: every kind but _wrapped always gives text
            part = r.choices(kinds, (16, 3, 1, 1, 1))[0](r)
            if part and r.random() < 0.12:
                part += r.choice(",.;:!?")
            joined = f"{out} {part}" if out else part
            if not part or len(joined) > target:
                if len(out) >= target - 3:
                    break
                continue
            out = joined
        return out

    def _wrapped(self, r: random.Random) -> str:
        if not self._wraps:
            return ""
        left, right = r.choice(self._wraps)
        return left + r.choice((self._word, self._number))(r) + right


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Plain, gradient or noise-textured float32 HxWx3 background."""
    # Mostly paper-like light tones, sometimes any colour (signs, dark mode).
    base = rng.uniform(170, 255) + rng.uniform(-15, 15, 3) if rng.random() < 0.6 else rng.uniform(0, 255, 3)
    kind = rng.integers(3)
    bg = np.empty((h, w, 3), np.float32)
    bg[:] = base
    if kind == 0:
        return np.clip(bg, 0, 255, out=bg)
    if kind == 1:
        theta, scale = rng.uniform(0, 2 * np.pi), np.float32(max(w, h))
        across = np.arange(w, dtype=np.float32) * np.float32(np.cos(theta)) / scale
        down = np.arange(h, dtype=np.float32)[:, None] * np.float32(np.sin(theta)) / scale
        bg += (across + down)[..., None] * rng.uniform(-70, 70, 3).astype(np.float32)
    else:
        coarse = rng.normal(0, 1, (max(2, h // 8), max(2, w // 8), 1)).astype(np.float32)
        texture = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC) * np.float32(rng.uniform(5, 20))
        texture += rng.standard_normal((h, w), dtype=np.float32) * np.float32(rng.uniform(0, 8))
        bg += texture[..., None]
    return np.clip(bg, 0, 255, out=bg)


def _text_colour(rng: np.random.Generator, bg: np.ndarray) -> np.ndarray:
    """Random colour ~80 luma levels away from (nearly) every background pixel."""
    y = _luma(bg)
    lo, hi = float(y.mean() - 2 * y.std()), float(y.mean() + 2 * y.std())
    for _ in range(8):
        c = rng.uniform(0, 70, 3) if rng.random() < 0.5 else rng.uniform(0, 255, 3)
        if not lo - 80 <= float(_luma(c)) <= hi + 80:
            return c.astype(np.float32)
    return np.full(3, 0.0 if lo + hi > 255 else 255.0, np.float32)


def _text_effect(bg: np.ndarray, alpha: np.ndarray, colour: np.ndarray, size: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Paints an outline, a drop shadow or an extrusion of the glyphs (``alpha``, uint8) on ``bg``, in a colour
    that stands out from the text's, as on signs and posters; returns the new background."""
    kind = rng.integers(3)
    r = max(1, round(size * rng.uniform(0.04, 0.1)))
    if kind == 0:  # outline
        effect = cv2.dilate(alpha, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    else:
        dx, dy = (int(v) for v in rng.choice([-1, 1], 2) * r)
        steps = range(1, 2 if kind == 1 else r + 1)  # a shadow is one offset copy; an extrusion, all between
        effect = np.zeros_like(alpha)
        for k in steps:
            move = np.float32([[1, 0, dx * k / len(steps)], [0, 1, dy * k / len(steps)]])
            effect = np.maximum(effect, cv2.warpAffine(alpha, move, alpha.shape[::-1], borderValue=0))
        if kind == 1 and rng.random() < 0.5:
            effect = cv2.GaussianBlur(effect, (0, 0), r / 2)
    dark = float(_luma(colour)) > 128
    ec = rng.uniform(0, 60, 3) if dark else rng.uniform(195, 255, 3)
    if rng.random() < 0.3:
        ec = rng.uniform(0, 255, 3)
    e = effect[..., None].astype(np.float32) / 255.0
    return bg * (1.0 - e) + ec.astype(np.float32) * e


def render_line(text: str, font_path: Path, rng: np.random.Generator, height: int = 32,
                augment: bool = True, tracking: float | None = None) -> Image.Image:
    """Renders one text line into an RGB crop about 1-3.5x ``height`` pixels tall.

    Args:
        text: A single line; characters missing from the font render as boxes.
        font_path: TrueType/OpenType font file.
        rng: Source of all randomness (size, colours, augmentations).
        height: Nominal line height; the font size is drawn around it.
        augment: Apply warps, blur, noise, contrast, JPEG, underline, random crops, letter spacing, and
            (20% of lines) an outline, drop shadow or extrusion of the glyphs.
        tracking: Extra space between letters, in font sizes (signs often spread their letters: a reader
            must not take the gaps for spaces); None draws it at random when augmenting (12% of lines).

    Returns:
        The rendered image in mode ``"RGB"``.

    Raises:
        ValueError: ``text`` contains a line break.
    """
    if "\n" in text or "\r" in text:
        raise ValueError("render_line draws a single line; text contains a line break")
    size = max(6, SIZE_STEP * round(height * rng.uniform(0.85, 1.8) / SIZE_STEP))
    font = _load_font(str(font_path), size)
    ascent, descent = font.getmetrics()
    if tracking is None:
        tracking = rng.uniform(0.15, 0.6) if augment and rng.random() < 0.12 else 0.0
    left, top, right, bottom = font.getbbox(text)
    if tracking:  # x of each character: the font's advances plus the tracking (kerning is lost)
        xs = np.concatenate([[0.0], np.cumsum([font.getlength(c) + tracking * size for c in text[:-1]])])
        right = max(left + 1, *(round(x) + font.getbbox(c)[2] for x, c in zip(xs, text) if not c.isspace()))
    # The vertical box spans the font's full line so that "..." and "Ag" get
    # the same scale; glyphs overshooting the metrics widen it.
    top, bottom = min(top, 0), max(bottom, ascent + descent, top + 1)
    right = max(right, left + 1)
    thick = max(1, round(size / 16))
    underline = augment and rng.random() < 0.08
    if underline:
        ul_y = ascent + max(1, descent // 2)
        bottom = max(bottom, ul_y + thick)
    bw, bh, pad = right - left, bottom - top, 2
    mask = Image.new("L", (bw + 2 * pad, bh + 2 * pad), 0)
    draw = ImageDraw.Draw(mask)
    if tracking:
        for x, c in zip(xs, text):
            draw.text((pad - left + round(x), pad - top), c, font=font, fill=255)
    else:
        draw.text((pad - left, pad - top), text, font=font, fill=255)
    if underline:
        y = pad - top + ul_y
        draw.rectangle((pad, y, pad + bw - 1, y + thick - 1), fill=255)

    src = np.float32([[pad, pad], [pad + bw, pad], [pad + bw, pad + bh], [pad, pad + bh]])
    dst = src.copy()
    if augment and rng.random() < 0.4:
        # Up to 3 degrees, but never more than a third of the line height of drift from end to end: line
        # finders deskew long lines, and a steep 80-character line would shrink its glyphs to a few pixels.
        limit = min(3.0, float(np.rad2deg(np.arctan(bh / (3 * bw)))))
        a, centre = np.deg2rad(rng.uniform(-limit, limit)), src.mean(0)
        dst = (dst - centre) @ np.float32([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]) + centre
    if augment and rng.random() < 0.3:
        dst = dst + rng.uniform(-0.08, 0.08, (4, 2)).astype(np.float32) * bh
    x0, y0 = np.floor(dst.min(0))
    x1, y1 = np.ceil(dst.max(0))
    if augment:
        # Margins from tight (0) to loose (0.35 line heights); rarely shave 1-2 px of the
        # glyph box on one side, as real detectors do, but only on big text.
        margins = np.where(rng.random(4) < 0.25, 0, rng.integers(0, int(0.35 * bh) + 1, 4))
        if rng.random() < 0.1 and min(bw, bh) >= 20:
            margins[rng.integers(4)] = -rng.integers(1, 3)
    else:
        margins = np.full(4, max(1, bh // 8))
    ml, mt, mr, mb = (int(m) for m in margins)
    w, h = int(x1 - x0) + ml + mr, int(y1 - y0) + mt + mb
    shift = np.array([[1, 0, ml - x0], [0, 1, mt - y0], [0, 0, 1]], np.float64)
    warp = shift @ cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    alpha = cv2.warpPerspective(np.asarray(mask), warp, (w, h), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    bg = _background(rng, w, h)
    a = alpha[..., None].astype(np.float32) / 255.0
    colour = _text_colour(rng, bg)
    if augment and rng.random() < 0.2:
        bg = _text_effect(bg, alpha, colour, size, rng)
    img = colour - bg  # bg + (colour - bg) * a: the text over its background, in place
    img *= a
    img += bg
    out = degrade(img, rng, blur_scale=size / height) if augment else np.clip(img, 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(out), "RGB")


class SyntheticLines(torch.utils.data.Dataset):
    """Map-style dataset of ``(image, label)`` pairs, deterministic in ``(seed, i)``.

    Args:
        charset: Characters labels may use; those no font can draw are dropped.
        length: Number of items.
        seed: Dataset seed; item ``i`` depends only on ``(seed, i)``.
        fonts: Font files; default ``find_fonts`` for the charset's script.
        words: Optional vocabulary for the text sampler.
        augment: Whether to apply image augmentations.
        height: Nominal line height passed to ``render_line``.
        max_len: Maximum label length.
        corpus: Runs of real text (``chinese.read_corpus``): for a CJK charset, labels are drawn by
            ``chinese.ChineseText`` from them and ``words`` (2 to ``max_len`` characters).
        kinds: with ``corpus``, only these kinds of line (``chinese.ChineseText.KINDS``).
    """

    def __init__(self, charset: str, length: int, seed: int = 0, fonts: list[Path] | None = None,
                 words: Sequence[str] | None = None, augment: bool = True, height: int = 32,
                 max_len: int = 24, corpus: Sequence[str] | None = None, kinds: Sequence[str] | None = None) -> None:
        if seed < 0:
            raise ValueError("seed must be >= 0")
        probe = TextSampler(charset, seed, max_len=max_len)
        if fonts is None:
            fonts = find_fonts("cjk" if probe.is_cjk else "latin")
        self.fonts = [Path(f) for f in fonts]
        if not self.fonts:
            raise ValueError("fonts must not be empty")
        drawable = "".join(c for c in probe.charset if any(has_glyph(str(f), c) for f in self.fonts))
        if len(drawable) < len(probe.charset):
            missing = "".join(c for c in probe.charset if c not in drawable)
            warnings.warn(f"no font draws {missing!r}; these characters will not be sampled", stacklevel=2)
        if corpus and probe.is_cjk:
            from .chinese import ChineseText

            self.sampler = ChineseText(drawable, corpus, words or (), max_len, min_len=min(2, max_len), kinds=kinds)
        else:
            self.sampler = TextSampler(drawable, seed, words, max_len)
        self.length, self.seed, self.augment, self.height = length, seed, augment, height

    def __len__(self) -> int:
        return self.length

    def _generators(self, i: int) -> tuple[np.random.Generator, random.Random]:
        rng = np.random.default_rng([self.seed, i])
        return rng, random.Random(int(rng.integers(2**63)))

    def label(self, i: int) -> str:
        """Item ``i``'s text without rendering it (its first draw: a font fallback may still drop characters)."""
        return self.sampler.sample(self._generators(int(i))[1])

    def __getitem__(self, i: int) -> tuple[Image.Image, str]:
        return self.item_with_font(i)[:2]

    def item_with_font(self, i: int) -> tuple[Image.Image, str, Path]:
        """Item ``i`` and the font file it is drawn with."""
        text, font, rng = self._plan(i)
        return render_line(text, font, rng, self.height, self.augment), text, font

    def font(self, i: int) -> Path:
        """The font file item ``i`` is drawn with (without drawing it)."""
        return self._plan(i)[1]

    def _plan(self, i: int) -> tuple[str, Path, np.random.Generator]:
        """Item ``i``'s text, its font, and the generator its looks are drawn from."""
        i = int(i) + (self.length if i < 0 else 0)
        if not 0 <= i < self.length:
            raise IndexError(i)
        rng, py = self._generators(i)
        order = rng.permutation(len(self.fonts))
        for _ in range(10):
            text = self.sampler.sample(py)
            for k in order:  # first font in this item's order that draws every char
                if all(has_glyph(str(self.fonts[k]), c) for c in set(text)):
                    return text, self.fonts[k], rng
        # No font draws a whole sample (mixed-script charsets): keep what the best font
        # draws; it draws at least one non-space, as every charset char has some font.
        font = max((self.fonts[k] for k in order), key=lambda f: sum(has_glyph(str(f), c) for c in text))
        return "".join(c for c in text if has_glyph(str(font), c)).strip(), font, rng


def write_dataset(out_dir: Path, count: int, charset: str, seed: int = 0, fmt: str = "tsv",
                  progress: bool = True, **kw) -> Path:
    """Renders ``count`` lines to ``out_dir/images/`` and writes a label list.

    Args:
        out_dir: Output directory (created if needed).
        count: Number of images.
        charset: Allowed label characters.
        seed: Dataset seed.
        fmt: ``"tsv"`` for ``labels.tsv`` (``path<TAB>label``) or ``"original"``
            for ``labels.txt`` (``path label``; labels never contain whitespace).
        progress: Show a tqdm progress bar.
        **kw: Further ``SyntheticLines`` arguments (fonts, words, augment, height, max_len).

    Returns:
        Path of the label list, which appears (atomically) only after all images, and after ``fonts.tsv``
        (``path<TAB>font file``: which font drew each image, to break errors down by font).
    """
    if fmt not in ("tsv", "original"):
        raise ValueError(f"fmt must be 'tsv' or 'original', not {fmt!r}")
    if fmt == "original":  # its one-space separator cannot carry spaces in labels
        charset = "".join(c for c in charset if not c.isspace())
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    data = SyntheticLines(charset, count, seed, **kw)
    width, sep = max(6, len(str(count - 1))), "\t" if fmt == "tsv" else " "
    target = out_dir / ("labels.tsv" if fmt == "tsv" else "labels.txt")
    # The list goes to a temp file renamed over the target only once complete,
    # so a crash never leaves a truncated list that points at missing images.
    fd, tmp = tempfile.mkstemp(prefix=".labels-", dir=out_dir)
    try:
        give_usual_mode(fd, target)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            fonts = []
            for i in tqdm(range(count), desc="synth", unit="img", disable=not progress):
                image, label, font = data.item_with_font(i)
                rel = f"images/{i:0{width}d}.png"
                image.save(out_dir / rel, compress_level=1)  # level 6 saves ~6 % space at 1.5x the time
                f.write(f"{rel}{sep}{label}\n")
                fonts.append(f"{rel}\t{font.name}\n")
            atomic_write_bytes(out_dir / "fonts.tsv", "".join(fonts).encode())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return target
