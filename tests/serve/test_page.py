"""The web page at / in headless Chromium: pick images, read them, see each text with its confidence and
shaded characters, as the API reads them. Needs Debian's chromium (CI installs it) and playwright.
``FASTOCR_SCREENSHOT=docs/serve-page.png`` also saves the page for the docs."""

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="needs the [serve] extra")
httpx = pytest.importorskip("httpx2", reason="needs httpx2")
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright")
from serving import live_server, wait_ready  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.png"))
# a root user's headless Chromium on a machine without a network (docs of the machine: no sandbox, no background
# connections, a fresh profile)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)")
def test_the_page_reads_picked_images(tmp_path):
    from fastocr import Recognizer

    rec = Recognizer.load(device="cpu")
    files = [str(p) for p in EXAMPLES]  # rendered by this project: fit for a screenshot in the docs
    with live_server(rec, max_wait_ms=2) as (url, _, _app):
        with httpx.Client(base_url=url, timeout=60) as http:
            wait_ready(http.get)
            want = [r["text"] for r in http.post("/v1/recognize", files=[
                ("images", (Path(f).name, Path(f).read_bytes(), "image/png")) for f in files]).json()["results"]]
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS,
                                        env={"HOME": str(tmp_path)})
            try:
                page = browser.new_page(viewport={"width": 1000, "height": 700})
                page.goto(url + "/")
                assert page.title() == "fastocr"
                page.fill("#beam", "3")
                page.fill("#nbest", "2")
                page.set_input_files("#files", files)
                page.wait_for_selector(f".result:nth-child({len(files)})", timeout=60_000)
                texts = page.locator("[data-testid=text]").all_inner_texts()
                assert texts == want[: len(texts)] and len(texts) == len(files)  # beam 3 keeps greedy's best here
                shaded = page.locator("[data-testid=text] span").first.get_attribute("style")
                assert "background:rgba(220, 40, 40," in shaded.replace(" ", "").replace(",", ", ")
                assert "confidence" in page.locator(".result .meta").first.inner_text()
                assert "n-best:" in page.locator(".alts").first.inner_text()  # the second reading of a line
                assert "read in" in page.locator("#status").inner_text()
                page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
                if os.environ.get("FASTOCR_SCREENSHOT"):  # docs/serve.md's picture
                    page.screenshot(path=os.environ["FASTOCR_SCREENSHOT"], full_page=True)
            finally:
                browser.close()
    assert (tmp_path / "page.png").stat().st_size > 10_000
