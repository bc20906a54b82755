"""Rendered pages with known text and line boxes, to measure page mode (``fastocr.page``): a title, one or two
columns of paragraphs in a document font, and optionally a photo-like warp (perspective, a small tilt, uneven
light, noise, blur, JPEG) applied to the page and its boxes alike."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .synth import _load_font, find_fonts

# Document faces (regular weights) among the fonts find_fonts lists.
DOCUMENT_FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "LiberationSerif-Regular.ttf", "LiberationSans-Regular.ttf",
                  "NimbusRoman-Regular.otf", "NimbusSans-Regular.otf", "P052-Roman.otf", "C059-Roman.otf",
                  "Carlito-Regular.ttf", "OpenSans-Regular.ttf", "Lato-Regular.ttf", "FreeSerif.ttf", "FreeSans.ttf",
                  "Roboto-Regular.ttf", "URWBookman-Light.otf")


@dataclass
class TruthLine:
    text: str
    quad: np.ndarray  # (4, 2): tl, tr, br, bl in page pixels
    block: int


@dataclass
class RenderedPage:
    image: np.ndarray  # HxWx3 uint8 RGB
    lines: list[TruthLine]  # in reading order

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def document_fonts() -> list[Path]:
    """The installed document fonts of ``DOCUMENT_FONTS`` (all Latin fonts if none of them is installed)."""
    fonts = find_fonts("latin")
    chosen = [f for f in fonts if f.name in DOCUMENT_FONTS]
    return chosen or fonts


def _wrap(words: list[str], font, width: float, max_chars: int) -> list[str]:
    lines, current = [], ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if current and (font.getlength(candidate) > width or len(candidate) > max_chars):
            lines.append(current)
            current = word
        else:
            current = candidate
    return lines + ([current] if current else [])


def render_page(paragraphs: list[list[str]], title: str, font_path: Path, rng: np.random.Generator, *,
                columns: int = 1, size: int = 1240, font_px: int = 24, max_chars: int = 65) -> RenderedPage:
    """A white A4-shaped page (``size`` px wide): ``title`` above, then ``paragraphs`` (lists of words)
    wrapped into ``columns`` columns of lines of at most ``max_chars`` characters, until the page is full."""
    width, height = size, round(size * 1.414)
    margin, gutter = size // 14, size // 20
    page = Image.new("L", (width, height), 255)
    pen = ImageDraw.Draw(page)
    truth: list[TruthLine] = []

    def put(text: str, x: float, y: float, font, block: int) -> None:
        x0, y0, x1, y1 = font.getbbox(text)
        pen.text((x, y), text, font=font, fill=int(rng.integers(0, 60)))
        truth.append(TruthLine(text, np.array([[x + x0, y + y0], [x + x1, y + y0], [x + x1, y + y1],
                                               [x + x0, y + y1]], np.float32), block))

    title_font = _load_font(str(font_path), round(font_px * 1.6))
    put(title, margin, margin, title_font, 0)
    font = _load_font(str(font_path), font_px)
    step, top = round(font_px * 1.5), margin + round(font_px * 4)
    col_width = (width - 2 * margin - gutter * (columns - 1)) / columns
    block, paragraphs = 1, list(paragraphs)
    for c in range(columns):
        x, y = margin + c * (col_width + gutter), top
        while paragraphs and y + step < height - margin:
            lines = _wrap(paragraphs[0], font, col_width, max_chars)
            fit = max(0, (height - margin - y) // step)
            for line in lines[:fit]:
                put(line, x, y, font, block)
                y += step
            rest = " ".join(lines[fit:]).split()
            if rest:  # the paragraph goes on in the next column: still the same text, a new block
                paragraphs[0] = rest
                block += 1
                break
            paragraphs.pop(0)
            block += 1
            y += step
    return RenderedPage(np.repeat(np.asarray(page)[:, :, None], 3, axis=2), truth)


def photo_warp(page: RenderedPage, rng: np.random.Generator, strength: float = 1.0) -> RenderedPage:
    """The page as if photographed: a perspective with its corners moved up to 5% of its size, a tilt of up to
    3 degrees, light falling off across it, sensor noise, a slight blur and JPEG; the boxes move with it."""
    h, w = page.image.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dst = src + rng.uniform(-0.05, 0.05, (4, 2)).astype(np.float32) * np.array([w, h], np.float32) * strength
    angle = np.deg2rad(rng.uniform(-3, 3) * strength)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], np.float32)
    dst = (dst - [w / 2, h / 2]) @ rot.T + [w / 2, h / 2]
    pad = 0.08 * max(w, h)
    dst = dst - dst.min(axis=0) + pad
    out_w, out_h = (np.ceil(dst.max(axis=0) + pad)).astype(int)
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    background = tuple(int(v) for v in rng.integers(60, 140, 3))
    image = cv2.warpPerspective(page.image, matrix, (int(out_w), int(out_h)), flags=cv2.INTER_LINEAR,
                                borderValue=background).astype(np.float32)
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    direction = rng.normal(size=2)
    ramp = (xx * direction[0] + yy * direction[1]) / (np.abs(direction).sum() * max(out_w, out_h))
    image *= (1.0 - 0.35 * strength * (ramp - ramp.min()))[:, :, None]
    image += rng.normal(0, 4 * strength, image.shape)
    image = cv2.GaussianBlur(np.clip(image, 0, 255).astype(np.uint8), (3, 3), 0.6 * strength)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=int(rng.integers(70, 92)))
    image = np.asarray(Image.open(buf).convert("RGB"))
    lines = [TruthLine(t.text, cv2.perspectiveTransform(t.quad[None], matrix)[0], t.block) for t in page.lines]
    return RenderedPage(image, lines)
