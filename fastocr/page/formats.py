"""Pages written the ways OCR tools read them: JSON, plain text, hOCR (XHTML, the hOCR 1.2 spec) and ALTO XML
(version 4, the Library of Congress schema). hOCR and ALTO hold several pages in one document."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

from .._version import __version__
from .results import Page, PageLine

SUFFIXES = {"json": ".json", "text": ".txt", "hocr": ".hocr", "alto": ".xml"}
ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"


def to_json(pages: list[Page]) -> str:
    """One JSON object per page, one page per line (JSON Lines)."""
    return "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in pages)


def to_text(pages: list[Page]) -> str:
    """Each page's text; pages separated by a form feed, as pdftotext does."""
    return "\f".join(p.text + "\n" for p in pages)


def _union(lines: list[PageLine]) -> tuple[int, int, int, int]:
    boxes = [line.bbox for line in lines]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def to_hocr(pages: list[Page]) -> str:
    """An hOCR document: ``ocr_page`` > ``ocr_carea`` (a block) > ``ocr_line`` per line, with its bbox and
    ``x_confs`` (each character's probability, in percent)."""
    html = ET.Element("html", {"xmlns": "http://www.w3.org/1999/xhtml", "xml:lang": "en", "lang": "en"})
    head = ET.SubElement(html, "head")
    ET.SubElement(head, "title").text = "fastocr"
    ET.SubElement(head, "meta", {"http-equiv": "Content-Type", "content": "text/html; charset=utf-8"})
    ET.SubElement(head, "meta", {"name": "ocr-system", "content": f"fastocr {__version__}"})
    ET.SubElement(head, "meta", {"name": "ocr-capabilities", "content": "ocr_page ocr_carea ocr_line"})
    body = ET.SubElement(html, "body")
    for n, page in enumerate(pages, 1):
        div = ET.SubElement(body, "div", {"class": "ocr_page", "id": f"page_{n}", "title": (
            f'image "{page.source}"; bbox 0 0 {page.width} {page.height}; ppageno {n - 1}; '
            f'textangle {page.rotation}')})
        for b, block in enumerate(page.blocks(), 1):
            area = ET.SubElement(div, "div", {"class": "ocr_carea", "id": f"block_{n}_{b}",
                                              "title": "bbox {} {} {} {}".format(*_union([x for r in block for x in r]))})
            for line in (x for row in block for x in row):
                span = ET.SubElement(area, "span", {"class": "ocr_line", "id": f"line_{n}_{b}_{len(area)}",
                                                    "title": "bbox {} {} {} {}; x_confs {}".format(
                                                        *line.bbox, " ".join(f"{100 * p:.0f}" for p in line.char_probs))})
                span.text = line.text
    ET.indent(html)
    return '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html>\n' + ET.tostring(html, encoding="unicode") + "\n"


def _box(element: ET.Element, x0: int, y0: int, x1: int, y1: int) -> None:
    element.set("HPOS", str(x0))
    element.set("VPOS", str(y0))
    element.set("WIDTH", str(x1 - x0))
    element.set("HEIGHT", str(y1 - y0))


def to_alto(pages: list[Page]) -> str:
    """An ALTO v4 document: ``Page`` > ``PrintSpace`` > ``TextBlock`` > ``TextLine`` (its polygon as a
    ``Shape``) > ``String`` per word (``WC``: the word's mean character probability) and ``SP`` between."""
    ET.register_namespace("", ALTO_NS)
    q = f"{{{ALTO_NS}}}"
    alto = ET.Element(f"{q}alto")
    description = ET.SubElement(alto, f"{q}Description")
    ET.SubElement(description, f"{q}MeasurementUnit").text = "pixel"
    info = ET.SubElement(description, f"{q}sourceImageInformation")
    ET.SubElement(info, f"{q}fileName").text = ";".join(os.path.basename(p.source) for p in pages)
    software = ET.SubElement(ET.SubElement(ET.SubElement(description, f"{q}OCRProcessing", {"ID": "ocr"}),
                                           f"{q}ocrProcessingStep"), f"{q}processingSoftware")
    ET.SubElement(software, f"{q}softwareName").text = "fastocr"
    ET.SubElement(software, f"{q}softwareVersion").text = __version__
    layout = ET.SubElement(alto, f"{q}Layout")
    for n, page in enumerate(pages, 1):
        el = ET.SubElement(layout, f"{q}Page", {"ID": f"page_{n}", "PHYSICAL_IMG_NR": str(n),
                                                "WIDTH": str(page.width), "HEIGHT": str(page.height)})
        space = ET.SubElement(el, f"{q}PrintSpace")
        _box(space, 0, 0, page.width, page.height)
        for b, block in enumerate(page.blocks(), 1):
            tb = ET.SubElement(space, f"{q}TextBlock", {"ID": f"block_{n}_{b}"})
            _box(tb, *_union([x for r in block for x in r]))
            for line in (x for row in block for x in row):
                tl = ET.SubElement(tb, f"{q}TextLine", {"ID": f"line_{n}_{b}_{len(tb)}"})
                _box(tl, *line.bbox)
                shape = ET.SubElement(tl, f"{q}Shape")
                ET.SubElement(shape, f"{q}Polygon", {"POINTS": " ".join(f"{x:g},{y:g}" for x, y in line.polygon)})
                _words(tl, line, q)
    ET.indent(alto)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(alto, encoding="unicode") + "\n"


def _words(line_el: ET.Element, line: PageLine, q: str) -> None:
    at = 0
    for k, word in enumerate(line.text.split(" ")):
        probs = line.char_probs[at:at + len(word)]
        at += len(word) + 1
        if not word:
            continue
        if k and len(line_el) > 1:
            ET.SubElement(line_el, f"{q}SP")
        ET.SubElement(line_el, f"{q}String", {"CONTENT": word, "WC": f"{sum(probs) / max(1, len(probs)):.3f}"})


WRITERS = {"json": to_json, "text": to_text, "hocr": to_hocr, "alto": to_alto}
FORMATS = tuple(WRITERS)


def write(pages: list[Page], fmt: str) -> str:
    """The pages as one document in ``fmt`` (one of ``FORMATS``)."""
    return WRITERS[fmt](pages)
