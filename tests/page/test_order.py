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


def test_a_large_heading_over_two_columns_stays_its_own_block():
    heading = [(50, 20, 420, 60)]  # larger type, reaching past the left column into the right one
    left = [(50, 90 + 30 * k, 280, 110 + 30 * k) for k in range(4)]
    right = [(320, 90 + 30 * k, 550, 110 + 30 * k) for k in range(4)]
    boxes = heading + left + right
    assert _flat(reading_order(_quads(boxes))) == list(range(9))


def test_a_paragraph_ending_just_above_the_other_columns_next_one_does_not_split_the_columns():
    title = [(50, 10, 550, 40)]
    left = [(50, 80 + 30 * k, 280, 100 + 30 * k) for k in range(6)]                 # 80 .. 250, one paragraph
    right = [(320, 80 + 30 * k, 550, 100 + 30 * k) for k in range(3)]               # 80 .. 160
    right += [(320, 162 + 30 * k, 550, 182 + 30 * k) for k in range(3)]             # starts 2 px under left's 3rd
    left += [(50, 300 + 30 * k, 280, 320 + 30 * k) for k in range(3)]               # a second left paragraph
    boxes = title + left[:6] + left[6:] + right
    assert _flat(reading_order(_quads(boxes))) == list(range(len(boxes)))


def test_columns_slanted_by_a_photos_perspective_are_still_columns():
    shear = 0.06  # each row starts 0.06 px further right per px down; the gutter is 40 px, 20 rows drift 36 px
    left = [(50 + shear * y, y, 280 + shear * y, y + 20) for y in range(80, 680, 30)]
    right = [(320 + shear * y, y, 550 + shear * y, y + 20) for y in range(80, 680, 30)]
    boxes = left + right
    assert _flat(reading_order(_quads(boxes))) == list(range(len(boxes)))
