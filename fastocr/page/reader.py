"""Reading pages: find the lines (``detect``), cut each upright (``geometry``), decide which way up the page is,
read every line of a group of pages in one ``recognize`` call (the engine's batching), put them in reading
order (``order``).

The recognizer is passed in (anything with ``recognize(images, **options)`` and ``background``), so this module
needs nothing above the engine's image loading.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from ..engine.preprocess import ImageInput, describe, load_rgb
from ..errors import ImageError, OptionError
from .detect import Detector
from .geometry import grow_quad, is_tall, quad_size, to_upright, turn, warp_quad
from .order import reading_order
from .results import Page, PageLine

WHITE = (255, 255, 255)


@dataclass(frozen=True)
class PageOptions:
    """How pages are read.

    Attributes:
        max_side: a page whose long side is over this many pixels is shrunk to it first (said in
            ``Page.notes``; polygons stay in the input's pixels).
        orientation: detect pages turned upside down (the PP-OCR line classifier votes, page by page); pages
            on their side are found from the lines' shapes either way.
        pages_per_batch: pages whose lines are read in one ``recognize`` call (memory: their crops are held).
        margin: (across, up): background kept around each detected line before reading it, in line heights,
            at each end and above and below (the boxes the detector gives hug the glyphs).
    """

    max_side: int = 4096
    orientation: bool = True
    pages_per_batch: int = 16
    margin: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self):
        if self.max_side < 32:
            raise OptionError(f"max_side must be >= 32, got {self.max_side}")
        if self.pages_per_batch < 1:
            raise OptionError(f"pages_per_batch must be >= 1, got {self.pages_per_batch}")


@dataclass
class _Cut:
    """A page whose lines are cut out, waiting for the recognizer."""

    page: Page
    crops: list[np.ndarray] = field(default_factory=list)
    polygons: list[np.ndarray] = field(default_factory=list)
    order: list[list[list[int]]] = field(default_factory=list)


def _shrink(rgb: np.ndarray, max_side: int, page: Page) -> tuple[np.ndarray, float]:
    h, w = rgb.shape[:2]
    if max(h, w) <= max_side:
        return rgb, 1.0
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    page.notes.append(f"page of {w}x{h} px shrunk to {size[0]}x{size[1]} px (max_side={max_side})")
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale


def _cut(rgb: np.ndarray, detector: Detector, options: PageOptions, page: Page) -> _Cut:
    """The page's lines cut upright, the page's rotation, and the reading order."""
    rgb, scale = _shrink(rgb, options.max_side, page)
    start = time.perf_counter()
    quads = detector.detect(rgb)
    cut = _Cut(page)
    if len(quads):
        sizes = [quad_size(q) for q in quads]
        side = int(sum(is_tall(w, h) for w, h in sizes) * 2 > len(sizes))  # most lines tall: the page is on its side
        crops = [turn(warp_quad(rgb, grow_quad(q, *options.margin)), side) for q in quads]
        turns = [side + int(is_tall(c.shape[1], c.shape[0])) for c in crops]  # vertical text on the page
        crops = [turn(c, t - side) for c, t in zip(crops, turns)]
        flip = options.orientation and sum(detector.flip_votes(crops)) > 0
        if flip:
            crops, turns = [turn(c, 2) for c in crops], [t + 2 for t in turns]
        page.rotation = (90 * side + 180 * flip) % 360
        polygons = np.stack([np.roll(q, -t % 4, axis=0) for q, t in zip(quads, turns)])  # from the text's top-left
        cut.crops = crops
        cut.polygons = list(polygons / scale)
        cut.order = reading_order(to_upright(polygons, page.rotation, rgb.shape[1], rgb.shape[0]))
    page.detect_seconds = time.perf_counter() - start
    return cut


def _load_and_cut(image: ImageInput, index: int, detector: Detector, options: PageOptions,
                  background: tuple[int, int, int]) -> _Cut:
    source = describe(image, index)
    page = Page(source)
    try:
        rgb = load_rgb(image, source, background)
        page.height, page.width = rgb.shape[:2]
        return _cut(rgb, detector, options, page)
    except ImageError as e:
        page.error = e.reason
    except Exception as e:  # noqa: BLE001 -- one page's failure (a detector fault on odd input) costs that page only
        page.error = f"could not be read ({type(e).__name__}: {e})"
    return _Cut(page)


def _assemble(cut: _Cut, readings: list) -> Page:
    for b, block in enumerate(cut.order):
        for r, row in enumerate(block):
            for i in row:
                rec = readings[i]
                cut.page.lines.append(PageLine(
                    [[round(float(x), 1), round(float(y), 1)] for x, y in cut.polygons[i]], rec.text,
                    rec.confidence, rec.char_probs, b, r, rec.error, rec.candidates))
    return cut.page


def read_pages(recognizer: Any, images: Iterable[ImageInput], detector: Detector,
               options: PageOptions | None = None, *, progress: bool = False, **recognize_options) -> Iterator[Page]:
    """Yields one ``Page`` per input, in order; a page that cannot be read has ``error`` set and costs the
    others nothing. ``recognize_options`` go to ``recognizer.recognize`` (beam size, constraints, ...)."""
    options = options or PageOptions()
    recognize_options.pop("on_error", None)
    background = getattr(recognizer, "background", None) or WHITE  # a transparent page is read over white
    numbered = enumerate(images)
    with tqdm(desc="read", unit="page", disable=not progress) as bar:
        while group := list(islice(numbered, options.pages_per_batch)):
            cuts = [_load_and_cut(image, i, detector, options, background) for i, image in group]
            crops = [c for cut in cuts for c in cut.crops]
            readings = recognizer.recognize(crops, on_error="report", **recognize_options) if crops else []
            at = 0
            for cut in cuts:
                yield _assemble(cut, readings[at:at + len(cut.crops)])
                at += len(cut.crops)
                bar.update()
