"""Hostile and odd images: each gets a correct result or a clear per-item error; the batch goes on."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from fastocr import ImageError
from fastocr.engine import preprocess as pp
from fastocr.engine.preprocess import load_rgb, preprocess


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _text_like(mode="RGB", size=(120, 32)):
    arr = np.full((size[1], size[0], 3), 230, np.uint8)
    arr[8:24, 10:110:7] = 20
    return Image.fromarray(arr).convert(mode)


def test_truncated_jpeg_and_png_are_named_errors():
    for fmt in ("JPEG", "PNG"):
        data = _encode(_text_like(), fmt)
        with pytest.raises(ImageError, match="corrupt or truncated|not a readable"):
            load_rgb(data[: len(data) // 2], f"<{fmt}>")


@pytest.mark.parametrize("mode", ["RGBA", "P", "L", "1", "CMYK", "LA"])
def test_modes_convert_like_pil_rgb(mode):
    img = _text_like(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    rgb = load_rgb(_encode(img, fmt))
    assert rgb.shape == (32, 120, 3) and rgb.dtype == np.uint8
    if fmt == "PNG":
        assert np.array_equal(rgb, np.asarray(img.convert("RGB")))


def test_16_bit_png_is_scaled_not_clipped():
    arr16 = (np.asarray(_text_like("L"), dtype=np.uint16) * 257).astype(np.uint16)
    data = _encode(Image.fromarray(arr16), "PNG")
    rgb = load_rgb(data)
    assert np.array_equal(rgb[:, :, 0], np.asarray(_text_like("L")))


def test_animated_gif_reads_its_first_frame():
    frames = [_text_like("P"), Image.new("P", (120, 32), 0)]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert np.array_equal(load_rgb(data), np.asarray(frames[0].convert("RGB")))


def test_exif_orientation_is_applied():
    img = _text_like()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90-degree turn
    data = _encode(img.transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif.tobytes())
    rgb = load_rgb(data)
    assert rgb.shape == (32, 120, 3)
    # turned the right way, not merely to the right shape: 0.45 mean difference (JPEG), 26.7 turned the wrong way
    assert np.abs(rgb.astype(int) - np.asarray(img.convert("RGB")).astype(int)).mean() < 5


@pytest.mark.parametrize(("h", "w"), [(1, 1), (1, 100_000), (100_000, 1), (3, 5000), (40, 2)])
def test_extreme_shapes_give_a_normal_batch(h, w):
    batch = preprocess([np.full((h, w, 3), 128, np.uint8)])
    assert batch.shape == (1, 3, 32, 280)
    line = min(280, max(1, int(w * 32 / h)))  # the original's resize, at least one column
    torch.testing.assert_close(batch[..., :line], torch.full((1, 3, 32, line), (128 / 255 - 0.5) / 0.5))
    assert batch[..., line:].eq(-1).all()  # padding


def test_pixel_limit_refuses_decompression_bombs(monkeypatch):
    monkeypatch.setattr(pp, "MAX_PIXELS", 1000)
    with pytest.raises(ImageError, match="over the 1000 limit"):
        load_rgb(_encode(_text_like(), "PNG"), "<bomb>")


def test_zero_sized_and_non_image_inputs():
    for bad in (np.zeros((0, 5), np.uint8), b"", b"GIF89a", "not-a-file.png"):
        with pytest.raises(ImageError):
            load_rgb(bad, "<bad>")


def test_hostile_items_do_not_disturb_the_batch(recognizer):
    good = _encode(_text_like(), "PNG")
    bomb_free = [good, b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, np.zeros((0, 0, 3), np.uint8), good,
                 _encode(_text_like("CMYK"), "JPEG"), np.full((1, 100_000), 9, np.uint8)]
    results = recognizer.recognize(bomb_free, batch_size=2)
    assert [r.ok for r in results] == [True, False, False, True, True, True]
    assert results[0].text == results[3].text
