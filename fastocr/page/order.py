"""Reading order: columns left to right, each top to bottom.

Line boxes (the upright page turned level by the lines' median slope) are first joined into rows (pieces of one line that the detector cut
apart at a wide space), rows into blocks (a paragraph or column: each row just under the last, overlapping it
sideways), the blocks' boxes are un-slanted (a photo's perspective shears columns: the slant is read from
the left ends of the blocks' rows), and the blocks are then cut recursively (XY-cut): at a vertical gap running through all of them
(columns), else at one horizontal gap (one above the other: the widest that leaves columns or single blocks
on both sides); what no gap separates is read top to bottom.
Grouping into blocks first keeps two columns whose lines sit at the same heights from being read across.
A table's columns are therefore read one after the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Pieces of one line: overlapping by this share of the lower piece's height, at most this many heights apart.
ROW_OVERLAP = 0.5
ROW_GAP = 0.6
# A row continues a block when it starts at most this many line heights under the block's last row and
# overlaps it sideways by this share of the narrower one.
BLOCK_GAP = 1.0
BLOCK_OVERLAP = 0.3
# ... and when the two rows' heights differ by at most this factor (a heading in a larger size stands alone).
BLOCK_SIZES = 1.3


@dataclass
class _Group:
    members: list[int]
    box: np.ndarray  # x0, y0, x1, y1
    rows: list[_Group] = field(default_factory=list)

    def add(self, other: _Group) -> None:
        self.members += other.members
        self.box = np.concatenate([np.minimum(self.box[:2], other.box[:2]), np.maximum(self.box[2:], other.box[2:])])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _rows(boxes: np.ndarray) -> list[_Group]:
    """Boxes joined into rows, each row's pieces left to right."""
    rows: list[_Group] = []
    for i in np.argsort(boxes[:, 0], kind="stable"):
        box = boxes[i]
        h = box[3] - box[1]
        for row in rows:
            last = boxes[row.members[-1]]
            gap, height = box[0] - last[2], max(h, last[3] - last[1])
            near = -ROW_OVERLAP * height <= gap <= ROW_GAP * height  # side by side, not one over the other
            if near and _overlap(box[1], box[3], last[1], last[3]) >= ROW_OVERLAP * min(h, last[3] - last[1]):
                row.add(_Group([int(i)], box.copy()))
                break
        else:
            rows.append(_Group([int(i)], box.copy()))
    return rows


def _blocks(rows: list[_Group]) -> list[_Group]:
    """Rows joined into blocks, top to bottom: a row continues the block whose last row is just above it and
    overlaps it sideways (the closest such block; a row below two blocks' ends starts its own)."""
    blocks: list[_Group] = []
    for row in sorted(rows, key=lambda r: (r.box[1], r.box[0])):
        x0, y0, x1, y1 = row.box
        fits = []
        for block in blocks:
            last = block.rows[-1].box
            gap = y0 - last[3]
            narrower = min(x1 - x0, last[2] - last[0])
            heights = sorted((row.height, float(last[3] - last[1])))
            if -0.5 * row.height <= gap <= BLOCK_GAP * heights[1] and heights[1] <= BLOCK_SIZES * heights[0] and \
                    _overlap(x0, x1, last[0], last[2]) >= BLOCK_OVERLAP * narrower:
                fits.append(block)
        if len(fits) == 1:
            fits[0].add(row)
            fits[0].rows.append(row)
        else:
            blocks.append(_Group(list(row.members), row.box.copy(), [row]))
    return blocks


def _slant(blocks: list[_Group]) -> float:
    """How far left-aligned text drifts sideways per pixel down (a photo's perspective shears the columns):
    the median over blocks of three rows or more of the median slope between their rows' left ends."""
    slopes = []
    for block in blocks:
        pts = [((r.box[1] + r.box[3]) / 2, r.box[0]) for r in block.rows]
        pairs = [(x2 - x1) / (y2 - y1) for i, (y1, x1) in enumerate(pts) for y2, x2 in pts[i + 1:] if y2 > y1]
        if len(pts) >= 3 and pairs:
            slopes.append(float(np.median(pairs)))
    slope = float(np.median(slopes)) if slopes else 0.0
    return slope if abs(slope) < 0.2 else 0.0


def _unslanted(blocks: list[_Group]) -> list[_Group]:
    """The blocks' boxes with their rows moved back by the slant, so that columns stand upright."""
    slope = _slant(blocks)
    for block in blocks:
        shifts = [slope * (r.box[1] + r.box[3]) / 2 for r in block.rows]
        block.box = np.array([min(r.box[0] - d for r, d in zip(block.rows, shifts)), block.box[1],
                              max(r.box[2] - d for r, d in zip(block.rows, shifts)), block.box[3]])
    return blocks


def _gaps(groups: list[_Group], axis: int) -> tuple[list[list[_Group]], list[float]]:
    """``groups`` split wherever no group covers a stretch along ``axis`` (0: x, 1: y), in order, and the
    width of each gap."""
    order = sorted(groups, key=lambda g: g.box[axis])
    parts, widths, end = [[order[0]]], [], order[0].box[axis + 2]
    for g in order[1:]:
        if g.box[axis] >= end:
            parts.append([g])
            widths.append(float(g.box[axis] - end))
        else:
            parts[-1].append(g)
        end = max(end, g.box[axis + 2])
    return parts, widths


def _splits_into_columns(blocks: list[_Group]) -> bool:
    return len(blocks) == 1 or len(_gaps(blocks, 0)[0]) > 1


def _xy_cut(blocks: list[_Group]) -> list[_Group]:
    """Columns first (at every vertical gap); else one horizontal cut, then each part again. The cut chosen is
    the widest gap among those that leave both parts single blocks or columns (under a heading that spans the
    columns: not at a gap where one column's paragraph happens to end above the other's next one), else the
    widest gap."""
    if len(blocks) <= 1:
        return blocks
    parts, _ = _gaps(blocks, 0)
    if len(parts) > 1:
        return [b for part in parts for b in _xy_cut(part)]
    parts, widths = _gaps(blocks, 1)
    if len(parts) == 1:
        return sorted(blocks, key=lambda b: (b.box[1], b.box[0]))
    halves = [([b for p in parts[:k] for b in p], [b for p in parts[k:] for b in p]) for k in range(1, len(parts))]
    clean = [_splits_into_columns(upper) and _splits_into_columns(lower) for upper, lower in halves]
    best = max(range(len(halves)), key=lambda k: (clean[k], widths[k]))
    return _xy_cut(halves[best][0]) + _xy_cut(halves[best][1])


def level_boxes(quads: np.ndarray) -> np.ndarray:
    """(N, 4): x0, y0, x1, y1 of each quad ((N, 4, 2) on the upright page, each from its text's top-left corner,
    clockwise) once the page is turned level by the lines' median slope: the boxes of a tilted photo's long
    lines would otherwise overlap their neighbours'."""
    quads = np.asarray(quads, np.float64)
    direction = quads[:, 1] - quads[:, 0]
    slope = float(np.median(np.arctan2(direction[:, 1], direction[:, 0])))
    c, s = np.cos(-slope), np.sin(-slope)
    level = quads @ np.array([[c, s], [-s, c]])
    return np.concatenate([level.min(axis=1), level.max(axis=1)], axis=1)


def reading_order(quads: np.ndarray) -> list[list[list[int]]]:
    """Indices of ``quads`` ((N, 4, 2) on the upright page, see ``level_boxes``) in reading order, grouped as
    blocks of rows of pieces: ``[[[3], [0, 4]], [[1], [2]]]`` is a block of two rows (the second cut in two
    pieces) and a block of two one-piece rows."""
    if len(quads) == 0:
        return []
    blocks = _unslanted(_blocks(_rows(level_boxes(quads))))
    return [[row.members for row in block.rows] for block in _xy_cut(blocks)]
