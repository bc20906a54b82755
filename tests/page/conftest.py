"""Rendered pages with known text for page-mode tests (the detector comes with the [page] extra)."""

import numpy as np
import pytest

from fastocr.train.pages import document_fonts, render_page

pytest.importorskip("rapidocr_onnxruntime", reason="page mode needs the [page] extra")

PARAGRAPHS = [
    "Reading whole pages starts with finding every line of text on them".split(),
    "Each line is cut out upright and read by the same batched engine".split(),
    "The lines of all pages go through the model together so pages stay fast".split(),
    "Columns are read left to right and each column from top to bottom".split(),
]


@pytest.fixture(scope="session")
def rendered_page():
    """A two-column page of short lines in a document font, with its true lines in reading order."""
    fonts = document_fonts()
    font = next((f for f in fonts if f.name == "DejaVuSans.ttf"), fonts[0])
    page = render_page(PARAGRAPHS, "Page Mode", font, np.random.default_rng(0), columns=2, size=900,
                       font_px=24, max_chars=34)
    return page
