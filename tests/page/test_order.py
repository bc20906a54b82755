"""Reading order: columns left to right, each top to bottom; pieces of a row together; tilted pages levelled."""

import numpy as np

from fastocr.page.order import reading_order


def _quads(boxes) -> np.ndarray:
    return np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]] for x0, y0, x1, y1 in boxes], np.float64)


def _flat(order):
    return [i for block in order for row in block for i in row]


def test_title_then_two_columns_whose_lines_sit_at_the_same_heights():
    title = [(50, 20, 550, 50)]
    left = [(50, 80 + 30 * k, 280, 100 + 30 * k) for k in range(5)]
    right = [(320, 80 + 30 * k, 550, 100 + 30 * k) for k in range(5)]
    boxes = title + right + left  # given in no particular order
    order = reading_order(_quads(boxes))
    texts = [boxes[i] for i in _flat(order)]
    assert texts == title + left + right


def test_paragraphs_are_blocks_and_pieces_of_a_row_stay_together():
    boxes = [(50, 20, 300, 40), (50, 50, 300, 70),            # paragraph 1
             (50, 120, 150, 140), (158, 120, 300, 140),       # paragraph 2, a row cut in two pieces
             (50, 150, 290, 170)]
    order = reading_order(_quads(boxes))
    assert order == [[[0], [1]], [[2, 3], [4]]]


def test_a_tilted_page_is_read_line_by_line():
    angle = np.deg2rad(4)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    lines = _quads([(50, 50 + 26 * k, 650, 70 + 26 * k) for k in range(8)])  # long lines, close together
    tilted = lines @ rot.T
    shuffled = [5, 2, 7, 0, 3, 6, 1, 4]
    order = reading_order(tilted[shuffled])
    assert [shuffled[i] for i in _flat(order)] == list(range(8))
    assert all(len(row) == 1 for block in order for row in block)  # no two lines taken for one row


def test_empty_and_single():
    assert reading_order(np.zeros((0, 4, 2))) == []
    assert reading_order(_quads([(0, 0, 10, 5)])) == [[[0]]]
