"""Page mode end to end with the bundled model: lines found, cut, turned, read and ordered; bad pages cost the
others nothing; huge pages are shrunk and said so."""

import io

import cv2
import numpy as np
import pytest
from PIL import Image

import fastocr
from fastocr.page import PageOptions
from fastocr.train.metrics import edit_distance
from fastocr.train.pages import document_fonts, render_page

pytest.importorskip("rapidocr_onnxruntime", reason="page mode needs the [page] extra")

PARAGRAPHS = [
    "Reading whole pages starts with finding every line of text on them".split(),
    "Each line is cut out upright and read by the same batched engine".split(),
    "The lines of all pages go through the model together so pages stay fast".split(),
    "Columns are read left to right and each column from top to bottom".split(),
]


@pytest.fixture(scope="module")
def rendered_page():
    """A two-column page of short lines in a document font, with its true lines in reading order."""
    fonts = document_fonts()
    font = next((f for f in fonts if f.name == "DejaVuSans.ttf"), fonts[0])
    return render_page(PARAGRAPHS, "Page Mode", font, np.random.default_rng(0), columns=2, size=900,
                       font_px=24, max_chars=34)


def _cer(a: str, b: str) -> float:
    a, b = " ".join(a.split()), " ".join(b.split())
    return edit_distance(a, b) / max(1, len(b))


def _iou(a, b) -> float:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    inter, _ = cv2.intersectConvexConvex(a, b)
    return inter / (cv2.contourArea(a) + cv2.contourArea(b) - inter)


@pytest.fixture(scope="module")
def rec():
    return fastocr.Recognizer.load(device="cpu")


@pytest.fixture(scope="module")
def pages(rec, rendered_page):
    image = rendered_page.image
    transparent = np.zeros((120, 500, 4), np.uint8)
    transparent[..., 3] = np.asarray(Image.fromarray(image[140:260, 40:540]).convert("L")) < 128
    transparent[..., 3] *= 255  # dark text on a transparent background
    inputs = [image, np.rot90(image, 2), np.rot90(image, -1), np.full((400, 300, 3), 255, np.uint8),
              b"not an image", transparent, np.rot90(image, 1)]
    return rec.read(inputs)


def test_every_line_is_found_and_read_in_reading_order(pages, rendered_page):
    page = pages[0]
    assert page.ok and page.rotation == 0 and page.notes == []
    truth = rendered_page.lines
    found = [max(range(len(page.lines)), key=lambda i: _iou(t.quad, page.lines[i].polygon)) for t in truth]
    assert all(_iou(t.quad, page.lines[i].polygon) >= 0.5 for t, i in zip(truth, found))  # every line found
    assert found == sorted(found) and len(set(found)) == len(truth) == len(page.lines)  # once each, in order
    assert _cer(page.text, rendered_page.text) < 0.05
    assert page.lines[0].text == "Page Mode" and page.lines[0].block == 0
    blocks = [line.block for line in page.lines]
    assert blocks == sorted(blocks) and len(set(blocks)) >= 3  # the title, then each column's paragraphs
    assert all(len(line.char_probs) == len(line.text) for line in page.lines)


def test_a_page_upside_down_is_read_turned_back(pages, rendered_page):
    upright, flipped = pages[0], pages[1]
    assert flipped.ok and flipped.rotation == 180
    assert _cer(flipped.text, rendered_page.text) < 0.05
    x0, y0, x1, y1 = flipped.lines[0].bbox
    assert flipped.lines[0].polygon[0][0] > (x0 + x1) / 2 and flipped.lines[0].polygon[0][1] > (y0 + y1) / 2
    h, w = upright.height, upright.width  # the title's box is the upright one's, turned
    turned = [[w - x, h - y] for x, y in upright.lines[0].polygon]
    assert _iou(turned, flipped.lines[0].polygon) > 0.8


def test_a_page_on_its_side_is_read_turned_back(pages, rendered_page):
    upright, side = pages[0], pages[2]
    assert side.ok and side.rotation == 90 and (side.width, side.height) == (upright.height, upright.width)
    assert _cer(side.text, rendered_page.text) < 0.05


def test_a_page_turned_the_other_way_is_read_turned_back(pages, rendered_page):
    assert pages[6].ok and pages[6].rotation == 270
    assert _cer(pages[6].text, rendered_page.text) < 0.05


def test_an_empty_page_has_no_lines_and_no_error(pages):
    assert pages[3].ok and pages[3].lines == [] and pages[3].text == ""


def test_an_unreadable_page_costs_only_itself(pages):
    assert not pages[4].ok and "not a readable image" in pages[4].error and pages[4].source == "<bytes #4>"
    assert pages[5].ok and pages[0].ok


def test_a_transparent_page_is_read_over_white(pages):
    assert "Reading whole" in pages[5].text


def test_a_huge_page_is_shrunk_and_said_so_and_keeps_its_coordinates(rec, rendered_page, pages):
    page = rec.read([rendered_page.image], options=PageOptions(max_side=900))[0]  # the page is 900 x 1273
    assert page.notes and "shrunk to 636x900" in page.notes[0]
    assert (page.width, page.height) == (900, 1273)
    assert len(page.lines) == len(pages[0].lines)
    assert all(_iou(a.polygon, b.polygon) > 0.7 for a, b in zip(page.lines, pages[0].lines))


def test_pages_in_a_batch_read_as_alone(rec, rendered_page, pages):
    alone = rec.read([rendered_page.image], options=PageOptions(pages_per_batch=1))[0]
    assert alone.text == pages[0].text


def test_module_level_read_and_bad_arguments(rendered_page):
    with pytest.raises(TypeError):
        fastocr.read(rendered_page.image)  # one image, not a list
    with pytest.raises(fastocr.OptionError):
        PageOptions(max_side=0)
    with pytest.raises(fastocr.OptionError):
        fastocr.read([b"x"], beam_size=0)


def test_encoded_bytes_and_paths(tmp_path, rec, rendered_page, pages):
    buf = io.BytesIO()
    Image.fromarray(rendered_page.image).save(buf, format="PNG")
    path = tmp_path / "page.png"
    path.write_bytes(buf.getvalue())
    page = rec.read([str(path)])[0]
    assert page.source == str(path) and page.text == pages[0].text
