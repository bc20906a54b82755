"""Page mode: whole pages and photos read in one call. Text lines are found by the PP-OCR detector (``detect``,
the ``[page]`` extra), cut upright (``geometry``), read by the engine in one batch, and put in reading order
(``order``); results (``results``) are written as JSON, text, hOCR or ALTO (``formats``) or drawn (``draw``)."""

from .detect import Detector, DetectorOptions
from .reader import PageOptions, read_pages
from .results import Page, PageLine

__all__ = ["Detector", "DetectorOptions", "Page", "PageLine", "PageOptions", "read_pages"]
