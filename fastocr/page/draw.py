"""A page with its lines drawn over it: each polygon, coloured from red (unsure) to green (sure), its reading
order number and its text."""

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


def draw(page: Page, rgb: np.ndarray) -> Image.Image:
    """``rgb`` (the page's image, HxWx3) dimmed, with the page's lines drawn over it."""
    image = Image.fromarray((rgb.astype(np.float32) * 0.55 + 115).astype(np.uint8))
    pen = ImageDraw.Draw(image)
    size = max(10, min(28, round(max(page.width, page.height) / 90)))
    font = ImageFont.load_default(size)
    width = max(1, size // 8)
    for n, line in enumerate(page.lines, 1):
        colour = _colour(line.confidence)
        points = [tuple(p) for p in line.polygon]
        pen.line(points + points[:1], fill=colour, width=width)
        x0, y0 = points[0]
        pen.text((x0, y0 - 2), f"{n}: {line.text}", font=font, fill=colour, anchor="ld",
                 stroke_width=max(1, size // 10), stroke_fill=(255, 255, 255))
    return image


def save_drawing(page: Page, rgb: np.ndarray, path: str | os.PathLike) -> None:
    """Writes the drawing as an image file (its format from the suffix), atomically."""
    buf = io.BytesIO()
    drawing = draw(page, rgb)
    fmt = Image.registered_extensions().get(os.path.splitext(os.fspath(path))[1].lower(), "PNG")
    drawing.save(buf, format=fmt)
    atomic_write_bytes(path, buf.getvalue())
