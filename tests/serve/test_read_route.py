"""``POST /v1/read``: whole pages through the service, their lines batched with the other requests; without
the detector the route says why (501) and the rest of the service works."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette", reason="needs the [serve] extra")
pytest.importorskip("httpx2", reason="needs httpx2")
pytest.importorskip("rapidocr_onnxruntime", reason="page mode needs the [page] extra")
from serving import wait_ready  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from fastocr import OptionError  # noqa: E402
from fastocr.serve import ServeOptions, create_app  # noqa: E402
from fastocr.serve import app as serve_app
from fastocr.train.pages import document_fonts, render_page  # noqa: E402


@pytest.fixture(scope="module")
def page_png():
    fonts = document_fonts()
    font = next((f for f in fonts if f.name == "DejaVuSans.ttf"), fonts[0])
    page = render_page([["Pages", "through", "the", "service"], ["batched", "with", "other", "lines"]], "Title",
                       font, np.random.default_rng(2), size=500, font_px=22)
    out = io.BytesIO()
    Image.fromarray(page.image).save(out, format="PNG")
    return out.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_pages_read_as_the_python_api_reads_them(recognizer, page_png):
    want = recognizer.read([page_png])[0]
    with TestClient(create_app(lambda: recognizer, ServeOptions(max_wait_ms=2))) as client:
        wait_ready(client.get)
        got = client.post("/v1/read", json={"images": [_b64(page_png), _b64(b"not an image")]})
        assert got.status_code == 200
        first, second = got.json()["pages"]
        assert [line["text"] for line in first["lines"]] == [line.text for line in want.lines]
        assert [line["polygon"] for line in first["lines"]] == [line.polygon for line in want.lines]
        assert first["text"] == want.text and len(first["lines"]) == 3
        assert "not a readable image" in second["error"]
        form = client.post("/v1/read", files=[("images", ("p.png", page_png, "image/png"))], data={"beam_size": "2"})
        assert form.status_code == 200 and len(form.json()["pages"][0]["lines"]) == 3
        assert client.post("/v1/read", json={"images": []}).status_code == 422
        assert 'route="/v1/read",status="200"' in client.get("/metrics").text


def test_without_the_detector_the_route_says_why(recognizer, page_png, monkeypatch):
    def missing():
        raise OptionError("page mode needs the detector: pip install 'fastocr[page]'")

    monkeypatch.setattr(serve_app, "Detector", missing)
    with TestClient(create_app(lambda: recognizer, ServeOptions(max_wait_ms=2))) as client:
        wait_ready(client.get)
        got = client.post("/v1/read", json={"images": [_b64(page_png)]})
        assert got.status_code == 501 and "fastocr[page]" in got.json()["error"]
        assert client.post("/v1/recognize", json={"images": [_b64(page_png)]}).status_code == 200
