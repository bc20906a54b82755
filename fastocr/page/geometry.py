"""Cutting lines out of a page: a (possibly rotated or perspective) quad warped to an upright rectangle, and
points moved between the image's frame and the upright page's frame."""

from __future__ import annotations

import cv2
import numpy as np

# A crop whose height is at least this times its width is vertical text (or a page on its side): PP-OCR's rule.
TALL = 1.5


def quad_size(quad: np.ndarray) -> tuple[int, int]:
    """(width, height) of the rectangle a clockwise quad (tl, tr, br, bl) is warped to: its longer edges."""
    tl, tr, br, bl = quad.astype(np.float64)
    width = max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    return max(1, round(width)), max(1, round(height))


def grow_quad(quad: np.ndarray, across: float, up: float) -> np.ndarray:
    """The quad grown along its own axes by ``across`` x its height at each end and ``up`` x its height above
    and below: the recognizer was trained on lines with some background around the glyphs, while the detector's
    boxes hug them."""
    tl, tr, br, bl = quad.astype(np.float64)
    height = max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))
    ux = (tr - tl) / max(1e-6, float(np.linalg.norm(tr - tl)))
    uy = (bl - tl) / max(1e-6, float(np.linalg.norm(bl - tl)))
    dx, dy = ux * across * height, uy * up * height
    return np.array([tl - dx - dy, tr + dx - dy, br + dx + dy, bl - dx + dy], np.float32)


def warp_quad(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The quad's pixels as an upright rectangle (perspective warp; a rotated box comes out level). Pixels past
    the page's edge repeat its border rather than turning black."""
    width, height = quad_size(quad)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)


def is_tall(width: int, height: int) -> bool:
    return height >= TALL * width


def turn(crop: np.ndarray, quarter_turns: int) -> np.ndarray:
    """``crop`` turned counter-clockwise by ``quarter_turns`` x 90 degrees."""
    return np.ascontiguousarray(np.rot90(crop, quarter_turns % 4))


def to_upright(points: np.ndarray, rotation: int, width: int, height: int) -> np.ndarray:
    """Points of an image whose content is turned ``rotation`` degrees clockwise (0, 90, 180, 270), moved to
    the frame of the page set upright (the image turned back counter-clockwise)."""
    x, y = points[..., 0], points[..., 1]
    turned = {0: (x, y), 90: (y, width - x), 180: (width - x, height - y), 270: (height - y, x)}[rotation % 360]
    return np.stack(turned, axis=-1)
