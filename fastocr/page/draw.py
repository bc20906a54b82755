"""A page with its lines drawn: on the left the page, each line's polygon coloured from red (unsure) to green
(sure) with its reading-order number; on the right, each line's text written where the line is."""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..files import atomic_write_bytes
from .results import Page


def _colour(confidence: float) -> tuple[int, int, int]:
    c = min(1.0, max(0.0, confidence))
    return round(220 * (1 - c)), round(160 * c), 40


def _fitted_font(pen: ImageDraw.ImageDraw, text: str, width: float, height: float) -> ImageFont.ImageFont:
    size = max(6, round(0.8 * height))
    font = ImageFont.load_default(size)
    length = pen.textlength(text, font=font)
    if length > width > 0:
        font = ImageFont.load_default(max(6, int(size * width / length)))
    return font


def draw(page: Page, rgb: np.ndarray) -> Image.Image:
    """The page (``rgb``, HxWx3) with its lines drawn over it, beside a white panel with their texts."""
    h, w = rgb.shape[:2]
    canvas = Image.new("RGB", (2 * w, h), (255, 255, 255))
    canvas.paste(Image.fromarray(rgb), (0, 0))
    pen = ImageDraw.Draw(canvas)
    thick = max(1, round(max(w, h) / 600))
    label = ImageFont.load_default(max(10, round(max(w, h) / 110)))
    for n, line in enumerate(page.lines, 1):
        colour = _colour(line.confidence)
        points = [tuple(p) for p in line.polygon]
        pen.line(points + points[:1], fill=colour, width=thick)
        pen.text(points[0], str(n), font=label, fill=colour, anchor="rb", stroke_width=thick,
                 stroke_fill=(255, 255, 255))
        pen.line([(x + w, y) for x, y in points + points[:1]], fill=(200, 200, 200), width=1)
        x0, y0, x1, y1 = line.bbox
        pen.text((x0 + w, (y0 + y1) / 2), line.text, anchor="lm", fill=colour,
                 font=_fitted_font(pen, line.text, x1 - x0, y1 - y0))
    return canvas


def save_drawing(page: Page, rgb: np.ndarray, path: str | os.PathLike) -> None:
    """Writes the drawing as an image file (its format from the suffix), atomically."""
    buf = io.BytesIO()
    drawing = draw(page, rgb)
    fmt = Image.registered_extensions().get(os.path.splitext(os.fspath(path))[1].lower(), "PNG")
    drawing.save(buf, format=fmt)
    atomic_write_bytes(path, buf.getvalue())
