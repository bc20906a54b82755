"""``fastocr read``: formats to stdout and to files, drawings, per-file errors, and the missing extra."""

import json
import sys
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from fastocr.cli import main

pytest.importorskip("rapidocr_onnxruntime", reason="page mode needs the [page] extra")


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    import numpy as np

    from fastocr.train.pages import document_fonts, render_page

    fonts = document_fonts()
    font = next((f for f in fonts if f.name == "DejaVuSans.ttf"), fonts[0])
    page = render_page([["Lines", "of", "text", "on", "a", "page"], ["Another", "short", "paragraph"]], "Title",
                       font, np.random.default_rng(1), size=600, font_px=24)
    path = tmp_path_factory.mktemp("pages") / "page.png"
    Image.fromarray(page.image).save(path)
    return path


def test_text_to_stdout_and_a_drawing(page_file, tmp_path, capsys):
    assert main(["read", str(page_file), "--format", "text", "--draw", str(tmp_path / "d.png"), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    blocks = out.rstrip("\n").split("\n\n")
    assert blocks[0] == "Title" and blocks[2] == "Another short paragraph" and len(blocks) == 3
    assert Image.open(tmp_path / "d.png").width == 2 * Image.open(page_file).width


def test_json_by_default_with_a_bad_file_beside(page_file, tmp_path, capsys):
    missing = tmp_path / "missing.png"
    assert main(["read", str(page_file), str(missing), "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    pages = [json.loads(line) for line in captured.out.splitlines()]
    assert len(pages) == 1 and pages[0]["source"] == str(page_file) and pages[0]["lines"][0]["text"] == "Title"
    assert f"{missing}: error: no such file" in captured.err and "1 of 2 pages failed" in captured.err


@pytest.mark.parametrize("fmt,suffix", [("hocr", ".hocr"), ("alto", ".xml")])
def test_one_file_per_page_into_a_folder(page_file, tmp_path, capsys, fmt, suffix):
    out = tmp_path / "ocr"
    assert main(["read", str(page_file), "--format", fmt, "--out", str(out), "--device", "cpu", "--no-orientation"]) == 0
    written = out / f"page{suffix}"
    text = written.read_text(encoding="utf-8")
    ET.fromstring(text.split("\n", 2)[2] if fmt == "hocr" else text.encode("utf-8"))  # well-formed XML
    assert "Another" in text and capsys.readouterr().out == ""


def test_without_the_extra_the_error_names_it(page_file, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)  # as if not installed
    assert main(["read", str(page_file)]) == 2
    assert "pip install 'fastocr[page]'" in capsys.readouterr().err


def test_bad_options_are_usage_errors(page_file, capsys):
    assert main(["read", str(page_file), "--box-threshold", "1.5"]) == 2
    assert "box_threshold" in capsys.readouterr().err


def test_info_says_whether_page_mode_can_run(capsys, monkeypatch):
    assert main(["info"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["page_mode"] is True and info["page_detector"].startswith("rapidocr-onnxruntime ")
    monkeypatch.setitem(sys.modules, "rapidocr_onnxruntime", None)
    assert main(["info"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["page_mode"] is False and "fastocr[page]" in info["page_mode_reason"]
