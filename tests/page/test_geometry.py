"""Cutting lines upright: perspective warps, margins, quarter turns and moving points between frames."""

import cv2
import numpy as np
import pytest

from fastocr.page.geometry import grow_quad, quad_size, to_upright, turn, warp_quad


def _bar_image() -> np.ndarray:
    """A 200x300 white image with a dark 20x120 bar whose left quarter is red, so orientation shows."""
    img = np.full((200, 300, 3), 255, np.uint8)
    img[90:110, 90:210] = 40
    img[90:110, 90:120] = (255, 0, 0)
    return img


def test_a_rotated_box_comes_out_level_and_the_right_way_round():
    img = _bar_image()
    centre = (150, 100)
    matrix = cv2.getRotationMatrix2D(centre, 25, 1.0)  # 25 degrees counter-clockwise
    rotated = cv2.warpAffine(img, matrix, (300, 200), borderValue=(255, 255, 255), flags=cv2.INTER_NEAREST)
    quad = np.array([[90, 90], [210, 90], [210, 110], [90, 110]], np.float64)
    quad = np.hstack([quad, np.ones((4, 1))]) @ matrix.T  # the bar's corners, rotated alike
    crop = warp_quad(rotated, quad.astype(np.float32))
    assert crop.shape[:2] == (20, 120)
    core = crop[4:-4, 4:-4].astype(int)
    assert (core[:, :20, 0] > 200).all() and (core[:, :20, 1] < 60).all()  # red on the left: not mirrored
    assert (core[:, 40:, :] < 80).all()  # the dark rest of the bar, nothing of the background


def test_a_perspective_quad_is_filled_to_its_longer_edges():
    assert quad_size(np.array([[0, 0], [100, 10], [110, 50], [0, 40]], np.float32)) == (110, 41)


def test_grow_quad_adds_margins_along_the_quads_own_axes():
    quad = np.array([[10, 10], [110, 10], [110, 30], [10, 30]], np.float32)
    grown = grow_quad(quad, 0.5, 0.25)  # height 20: 10 px at each end, 5 above and below
    np.testing.assert_allclose(grown, [[0, 5], [120, 5], [120, 35], [0, 35]])
    tilted = grow_quad(np.array([[0, 0], [10, 10], [0, 20], [-10, 10]], np.float32), 0.0, 0.0)
    np.testing.assert_allclose(tilted, [[0, 0], [10, 10], [0, 20], [-10, 10]], atol=1e-5)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_to_upright_matches_turning_the_image_back(rotation):
    h, w = 60, 100
    upright = np.zeros((h, w), np.uint8)
    upright[12, 37] = 255
    shown = np.rot90(upright, -rotation // 90)  # the content turned clockwise by `rotation`
    y, x = np.argwhere(shown == 255)[0]
    back = to_upright(np.array([[x + 0.5, y + 0.5]]), rotation, shown.shape[1], shown.shape[0])
    np.testing.assert_allclose(back, [[37.5, 12.5]])


def test_turn_is_counter_clockwise_and_contiguous():
    a = np.arange(6).reshape(2, 3)
    assert turn(a, 1).tolist() == [[2, 5], [1, 4], [0, 3]]
    assert turn(a, 4).tolist() == a.tolist() and turn(a, 1).flags["C_CONTIGUOUS"]
