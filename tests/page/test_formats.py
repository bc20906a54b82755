"""Page outputs: JSON Lines, text, hOCR and ALTO parse, keep the reading order, escape what XML must."""

import json
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image

from fastocr.page import Page, PageLine
from fastocr.page.draw import draw, save_drawing
from fastocr.page.formats import ALTO_NS, to_alto, to_hocr, to_json, to_text


def _line(x0, y0, x1, y1, text, block, row, confidence=0.9):
    return PageLine([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], text, confidence, [0.5] * len(text), block, row)


def _page() -> Page:
    return Page("scans/p1.png", 400, 300, [
        _line(10, 10, 200, 30, "Title & <more>", 0, 0),
        _line(10, 50, 100, 70, "left", 1, 0), _line(110, 50, 190, 70, "piece", 1, 0),
        _line(10, 80, 190, 100, "next row", 1, 1, confidence=0.2),
        _line(210, 50, 390, 70, "right column", 2, 0)])


def test_text_joins_pieces_rows_and_blocks():
    page = _page()
    assert page.text == "Title & <more>\n\nleft piece\nnext row\n\nright column"
    assert to_text([page, Page("empty.png", 10, 10)]) == page.text + "\n\f\n"


def test_json_lines_round_trip():
    out = to_json([_page(), Page("bad.png", error="no such file")])
    first, second = (json.loads(line) for line in out.splitlines())
    assert first["text"] == _page().text and first["lines"][1]["polygon"][0] == [10, 50]
    assert first["lines"][3]["block"] == 1 and first["lines"][3]["row"] == 1
    assert second["error"] == "no such file" and second["lines"] == []


def test_hocr_is_xml_with_lines_in_order_and_their_boxes():
    root = ET.fromstring(to_hocr([_page(), _page()]).split("\n", 2)[2])  # after the XML and DOCTYPE lines
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    pages = root.findall(".//h:div[@class='ocr_page']", ns)
    assert len(pages) == 2 and "bbox 0 0 400 300" in pages[0].get("title")
    lines = pages[0].findall(".//h:span[@class='ocr_line']", ns)
    assert [ln.text for ln in lines] == ["Title & <more>", "left", "piece", "next row", "right column"]
    assert lines[0].get("title").startswith("bbox 10 10 200 30; x_confs 50")
    assert len(pages[0].findall("h:div[@class='ocr_carea']", ns)) == 3
    assert len({el.get("id") for el in root.iter() if el.get("id")}) == len([el for el in root.iter() if el.get("id")])


def test_alto_is_xml_with_blocks_lines_words_and_polygons():
    root = ET.fromstring(to_alto([_page()]).encode("utf-8"))
    q = f"{{{ALTO_NS}}}"
    blocks = root.findall(f".//{q}TextBlock")
    assert len(blocks) == 3
    first = blocks[0].find(f"{q}TextLine")
    assert (first.get("HPOS"), first.get("VPOS"), first.get("WIDTH"), first.get("HEIGHT")) == ("10", "10", "190", "20")
    assert [s.get("CONTENT") for s in first.findall(f"{q}String")] == ["Title", "&", "<more>"]
    assert len(first.findall(f"{q}SP")) == 2
    assert first.find(f"{q}Shape/{q}Polygon").get("POINTS") == "10,10 200,10 200,30 10,30"
    assert root.find(f".//{q}softwareName").text == "fastocr"


def test_drawing_shows_the_page_beside_its_texts(tmp_path):
    rgb = np.full((300, 400, 3), 255, np.uint8)
    image = draw(_page(), rgb)
    assert image.size == (800, 300)
    pixels = np.asarray(image)
    assert (pixels[10:31, 10] != 255).any()  # a polygon's edge on the page
    assert (pixels[10:31, 400:600] != 255).any()  # its text on the right-hand panel
    save_drawing(_page(), rgb, tmp_path / "d.png")
    assert Image.open(tmp_path / "d.png").size == (800, 300)
