"""What reading a page returns: ``Page`` with its ``PageLine`` list in reading order."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PageLine:
    """One text line of a page.

    Attributes:
        polygon: its four corners in the input image's pixels, clockwise from the text's own top-left corner
            (on a page turned upside down that is the image's bottom-right one).
        text, confidence, char_probs: the recognizer's reading (``Recognition``'s fields).
        block, row: which block (paragraph, column) of the page and which row of it the line belongs to; pieces
            of one row cut apart by the detector share both.
        error: why this line could not be read, or None.
        candidates: the n-best list (``Candidate``), when asked for.
    """

    polygon: list[list[float]]
    text: str
    confidence: float
    char_probs: list[float]
    block: int
    row: int
    error: str | None = None
    candidates: list = field(default_factory=list)

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1): the axis-aligned box around the polygon, in whole pixels."""
        pts = np.asarray(self.polygon)
        return (int(np.floor(pts[:, 0].min())), int(np.floor(pts[:, 1].min())),
                int(np.ceil(pts[:, 0].max())), int(np.ceil(pts[:, 1].max())))

    def to_dict(self) -> dict:
        return {"polygon": self.polygon, "text": self.text, "confidence": self.confidence,
                "char_probs": self.char_probs, "block": self.block, "row": self.row, "error": self.error,
                "candidates": [c.__dict__ for c in self.candidates]}


@dataclass
class Page:
    """One page (or photo).

    Attributes:
        source: the input's path, or ``<type #index>``.
        width, height: the input image's size in pixels (polygons are in this frame).
        lines: its text lines in reading order (columns left to right, each top to bottom).
        rotation: how far the page's content is turned clockwise in the image (0, 90, 180 or 270 degrees);
            the lines were read turned back.
        notes: what was done to the input that a caller should know (a page shrunk past the size limit).
        error: why the page could not be read (then ``lines`` is empty), or None.
        detect_seconds: time spent finding this page's lines (recognition runs once over many pages' lines).
    """

    source: str
    width: int = 0
    height: int = 0
    lines: list[PageLine] = field(default_factory=list)
    rotation: int = 0
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    detect_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def blocks(self) -> list[list[list[PageLine]]]:
        """The lines as blocks of rows of pieces, in reading order."""
        blocks: list[list[list[PageLine]]] = []
        for line in self.lines:
            if not blocks or blocks[-1][-1][-1].block != line.block:
                blocks.append([[line]])
            elif blocks[-1][-1][-1].row != line.row:
                blocks[-1].append([line])
            else:
                blocks[-1][-1].append(line)
        return blocks

    @property
    def text(self) -> str:
        """The page's text: pieces of a row joined by a space, rows by a newline, blocks by an empty line."""
        return "\n\n".join("\n".join(" ".join(piece.text for piece in row) for row in block)
                            for block in self.blocks())

    def to_dict(self) -> dict:
        return {"source": self.source, "width": self.width, "height": self.height, "rotation": self.rotation,
                "text": self.text, "lines": [line.to_dict() for line in self.lines], "notes": self.notes,
                "error": self.error, "detect_seconds": round(self.detect_seconds, 4)}
