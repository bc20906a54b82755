"""The example page of docs/pages.md: a photographed-looking two-column page of this project's own words,
rendered with ``fastocr.train.pages``, saved as examples/pages/article.jpg, then read with
``fastocr read examples/pages/article.jpg --draw docs/page-example.jpg``.

Run: python benchmarks/scripts/page_example.py
"""

import re
from pathlib import Path

import numpy as np
from PIL import Image

from fastocr.train.pages import document_fonts, photo_warp, render_page

TEXT = """fastocr reads text lines with the recognizer of the original project, a CNN with two BiLSTMs and a GRU
decoder with attention, batched and fast.
Page mode finds the lines of a whole page first, with the PP-OCR text detector run by ONNX Runtime, and cuts
each one out upright.
All lines of a group of pages are read in one call, so a page costs little more than its lines.
Lines come back in reading order: the columns from left to right, and each column from top to bottom.
A page turned upside down or on its side is found from its lines and read turned back.
Results can be written as JSON, as plain text, as hOCR or as ALTO, and drawn over the page like this one.
Each line keeps its polygon, its text, its confidence and the probability of every character.
A page that cannot be read gets an error of its own, and the other pages go on."""


def main() -> None:
    root = Path(__file__).resolve().parents[2]
    fonts = document_fonts()
    font = next((f for f in fonts if f.name == "DejaVuSerif.ttf"), fonts[0])
    rng = np.random.default_rng(3)
    paragraphs = [p.replace("\n", " ").split() for p in re.split(r"(?<=\.)\n", TEXT)]
    page = render_page(paragraphs, "Reading Whole Pages", font, rng, columns=2, size=760, font_px=20,
                       max_chars=34)
    photo = photo_warp(page, rng, strength=0.8)
    out = root / "examples/pages/article.jpg"
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(photo.image).save(out, quality=85)
    print(out)


if __name__ == "__main__":
    main()
