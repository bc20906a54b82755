"""Preprocessing equals the original transform, for every kind of input."""

import io

import numpy as np
import pytest
import torch
from conftest import TEST_IMAGES
from original import orig_transform
from PIL import Image

from fastocr.engine.preprocess import PinnedCanvas, load_rgb, pad_line, preprocess, resize_line, to_batch


def test_matches_original_transform_bit_for_bit(generated_images):
    paths = list(TEST_IMAGES) + list(generated_images)
    batch = preprocess(paths)
    expected = torch.stack([orig_transform(p) for p in paths])
    assert batch.shape == (len(paths), 3, 32, 280)
    assert batch.is_contiguous()
    assert torch.equal(batch, expected)


def test_all_input_kinds_give_the_same_tensor(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (40, 150, 3), dtype=np.uint8)
    path = tmp_path / "x.png"
    Image.fromarray(rgb).save(path)
    kinds = [path, str(path), path.read_bytes(), rgb, Image.fromarray(rgb),
             np.concatenate([rgb, np.full((40, 150, 1), 7, np.uint8)], axis=2)]  # RGBA drops alpha
    batch = preprocess(kinds)
    for i in range(1, len(kinds)):
        assert torch.equal(batch[i], batch[0]), i


def test_grayscale_is_replicated_to_rgb():
    gray = np.random.default_rng(0).integers(0, 256, (32, 64), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(gray).save(buf, format="PNG")
    for img in (gray, gray[:, :, None], buf.getvalue(), Image.fromarray(gray)):
        rgb = load_rgb(img)
        assert rgb.shape == (32, 64, 3)
        assert (rgb == gray[:, :, None]).all()


@pytest.mark.parametrize(("h", "w", "expected_width"), [(32, 100, 100), (64, 100, 50), (16, 200, 280), (32, 280, 280),
                                                        (10, 87, 278), (1000, 10, 1)])
def test_resized_width(h, w, expected_width):
    out = resize_line(np.zeros((h, w, 3), np.uint8))
    assert out.shape == (32, expected_width, 3)


def test_padding_is_minus_one_and_range_is_unit():
    batch = preprocess([np.full((32, 50, 3), 255, np.uint8)])
    assert batch[0, :, :, :50].eq(1).all()
    assert batch[0, :, :, 50:].eq(-1).all()


def test_reused_canvas_gives_the_same_batches():
    """A PinnedCanvas is refilled batch after batch: the old pixels of a wider or longer batch never leak into
    the next one's padding, and the batch handed out is a copy (refilling does not change it)."""
    rng = np.random.default_rng(0)
    staging = PinnedCanvas(pin=False)
    batches = [[rng.integers(0, 256, (32, w, 3), dtype=np.uint8) for w in widths]
               for widths in ([280, 200, 150], [17, 280], [5])]
    kept = []
    for lines in batches:
        got = to_batch(lines, 32, 280, staging=staging)
        assert torch.equal(got, to_batch(lines, 32, 280))
        kept.append((got, got.clone()))
    assert all(torch.equal(a, b) for a, b in kept)
    canvas = staging.take((2, 32, 280, 3))
    assert staging.upload(canvas, "cpu").data_ptr() != canvas.data_ptr()  # a copy, never a view of the buffer


def test_lines_padded_ahead_give_the_same_batch():
    """The recognizer's loader threads pad each line to its canvas width (pad_line): to_batch must build the
    same batch from padded and unpadded lines, and an empty list gives an empty batch."""
    rng = np.random.default_rng(1)
    lines = [rng.integers(1, 256, (32, w, 3), dtype=np.uint8) for w in (280, 90, 1)]
    padded = [pad_line(line, 280) for line in lines]
    assert padded[0] is lines[0]
    assert all(p.shape == (32, 280, 3) and np.array_equal(p[:, : l.shape[1]], l) and not p[:, l.shape[1]:].any()
               for p, l in zip(padded, lines))
    assert torch.equal(to_batch(padded, 32, 280), to_batch(lines, 32, 280))
    assert to_batch([], 32, 280).shape == (0, 3, 32, 280)
