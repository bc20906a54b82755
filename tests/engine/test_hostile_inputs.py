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


def _odd_images() -> dict:
    """Inputs that broke a whole call before 0.2: a premultiplied-alpha image, a float TIFF, a PNG whose decoder
    raises something other than OSError."""
    float_tiff = _encode(Image.fromarray(np.linspace(0, 1, 32 * 120, dtype=np.float32).reshape(32, 120), "F"), "TIFF")
    return {"La": Image.new("LA", (120, 32), (200, 255)).convert("La"), "float TIFF": float_tiff}


def test_odd_modes_read_or_fail_alone(recognizer, monkeypatch):
    for name, image in _odd_images().items():
        assert load_rgb(image, name).shape == (32, 120, 3)
    floats = load_rgb(_odd_images()["float TIFF"])
    assert floats.min() == 0 and floats.max() == 255  # 0..1 floats scaled, not truncated to black

    def broken_decoder(self):
        import struct

        raise struct.error("unpack requires a buffer of 4 bytes")

    good = _encode(_text_like(), "PNG")
    monkeypatch.setattr(Image.Image, "load", broken_decoder)  # as a fuzzed PNG's plugin does
    with pytest.raises(ImageError, match="corrupt or truncated image .error: unpack"):
        load_rgb(good, "<fuzzed>")
    monkeypatch.undo()
    results = recognizer.recognize([good, *_odd_images().values(), good], batch_size=2)
    assert [r.ok for r in results] == [True, True, True, True]


def test_an_unexpected_fault_in_one_input_costs_that_input_only(recognizer, monkeypatch):
    good = _encode(_text_like(), "PNG")
    real = pp.resize_line

    def resize(rgb, *args):
        if rgb.shape[1] == 77:
            raise RuntimeError("a bug in a library the loader calls")
        return real(rgb, *args)

    import fastocr.engine.loader as loader

    monkeypatch.setattr(loader, "resize_line", resize)
    results = recognizer.recognize([good, np.zeros((32, 77, 3), np.uint8), good], on_error="report")
    assert [r.ok for r in results] == [True, False, True]
    assert "RuntimeError: a bug" in results[1].error


def test_loading_leaves_the_warning_filters_alone(monkeypatch):
    """Two loader threads interleaved so that a per-thread catch_warnings() would leak its "error" filter:
    A enters, B enters, A leaves (restoring the filters from before A), B leaves (restoring A's, with A's filter)."""
    import threading
    import warnings

    before = list(warnings.filters)
    b_opened, a_done = threading.Event(), threading.Event()
    real_open = Image.open

    def open_in_order(fp, *args, **kwargs):
        if threading.current_thread().name == "A":
            assert b_opened.wait(10)
        else:
            b_opened.set()
            assert a_done.wait(10)
        return real_open(fp, *args, **kwargs)

    monkeypatch.setattr(Image, "open", open_in_order)
    data = _encode(_text_like(), "PNG")
    a = threading.Thread(target=lambda: (load_rgb(data), a_done.set()), name="A")
    b = threading.Thread(target=lambda: load_rgb(data), name="B")
    a.start(), b.start()
    a.join(20), b.join(20)
    assert warnings.filters == before


def test_transparent_images_can_be_laid_over_white(recognizer):
    arr = np.zeros((32, 120, 4), np.uint8)
    arr[8:24, 10:110:7, 3] = 255  # black text, everything else transparent (and black)
    png = _encode(Image.fromarray(arr, "RGBA"), "PNG")
    assert load_rgb(png).max() == 0  # the original's convert("RGB"): black on black
    white = load_rgb(png, background=(255, 255, 255))
    assert white[0, 0].tolist() == [255, 255, 255] and white[8, 10].tolist() == [0, 0, 0]
    assert (load_rgb(arr, background=(255, 255, 255)) == white).all()  # arrays too
    from fastocr import OptionError, Recognizer

    rec = Recognizer(recognizer.model, recognizer.alphabet, "cpu", background="white")
    assert rec.background == (255, 255, 255)
    with pytest.raises(OptionError, match="not a colour"):
        Recognizer(recognizer.model, recognizer.alphabet, "cpu", background="whiteish")
