"""The HTTP service: results as the Python API's, errors with their status codes, readiness, metrics, timeouts,
concurrency and graceful shutdown."""

import base64
import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import TEST_IMAGES, random_line_image
from PIL import Image

pytest.importorskip("starlette", reason="needs the [serve] extra")
httpx = pytest.importorskip("httpx2", reason="needs httpx2")
from serving import live_server, wait_ready  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from fastocr.serve import Limits, ServeOptions, create_app  # noqa: E402



def _png(array) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(4)
    return [_png(np.asarray(random_line_image(rng, 32, int(rng.integers(40, 300))))) for _ in range(6)] + \
        [p.read_bytes() for p in TEST_IMAGES]


@pytest.fixture(scope="module")
def client(recognizer):
    app = create_app(lambda: recognizer, ServeOptions(max_wait_ms=2, limits=Limits(max_request_bytes=2**20,
                                                                                    max_images=12,
                                                                                    max_pixels=500_000)))
    with TestClient(app) as c:
        wait_ready(c.get)
        yield c


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_json_and_multipart_give_the_python_apis_results(client, recognizer, images):
    want = [r.to_dict() for r in recognizer.recognize(images)]
    for r in want:
        r["source"] = None
    got = client.post("/v1/recognize", json={"images": [_b64(i) for i in images]})
    assert got.status_code == 200
    results = got.json()["results"]
    assert [r["text"] for r in results] == [r["text"] for r in want]
    np.testing.assert_allclose([r["confidence"] for r in results], [r["confidence"] for r in want], rtol=1e-6)
    form = client.post("/v1/recognize", files=[("images", (f"{i}.png", d, "image/png")) for i, d in enumerate(images)])
    assert form.status_code == 200 and [r["text"] for r in form.json()["results"]] == [r["text"] for r in want]


def test_options_reach_the_engine(client, recognizer, images):
    want = recognizer.recognize(images[:3], beam_size=4, num_hypotheses=3)
    got = client.post("/v1/recognize", json={"images": [_b64(i) for i in images[:3]], "beam_size": 4,
                                             "num_hypotheses": 3}).json()["results"]
    assert [[c["text"] for c in r["candidates"]] for r in got] == [[c.text for c in r.candidates] for r in want]
    form = client.post("/v1/recognize", files=[("images", ("a.png", images[0], "image/png"))],
                       data={"beam_size": "4", "num_hypotheses": "3", "allowed_chars": ""})
    assert [c["text"] for c in form.json()["results"][0]["candidates"]] == [c.text for c in want[0].candidates]
    charset = recognizer.alphabet.chars[:10]
    got = client.post("/v1/recognize", json={"images": [_b64(images[0])], "allowed_chars": charset}).json()
    assert set(got["results"][0]["text"]) <= set(charset)


def test_one_bad_image_gets_its_own_error(client, images):
    got = client.post("/v1/recognize", json={"images": [_b64(images[0]), _b64(b"not an image"), _b64(images[1])]})
    assert got.status_code == 200
    a, bad, b = got.json()["results"]
    assert a["error"] is None and b["error"] is None and "not a readable image" in bad["error"]


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, "not JSON"),
    ({"json": {"pictures": []}}, 422, '"images": a list of base64 strings'),
    ({"json": {"images": ["%%%"]}}, 422, "images[0] is not valid base64"),
    ({"json": {"images": []}}, 422, "holds no images"),
    ({"json": {"images": [_b64(b"x")], "beam": 3}}, 422, "unknown option 'beam'"),
    ({"json": {"images": [_b64(b"x")], "beam_size": 0}}, 422, "beam_size must be >= 1"),
    ({"json": {"images": [_b64(b"x")], "beam_size": "many"}}, 422, "option beam_size: 'many' is not a valid value"),
    ({"json": {"images": [_b64(b"x")], "num_hypotheses": 3}}, 422, "num_hypotheses must be at most beam_size"),
    ({"json": {"images": [_b64(b"x")] * 13}}, 413, "13 images in one request"),
    ({"content": b"x" * (2**20 + 1), "headers": {"content-type": "application/json"}}, 413, "over this server's limit"),
    ({"content": b"plain", "headers": {"content-type": "text/plain"}}, 422, "send application/json"),
])
def test_malformed_requests_are_answered_4xx(client, body, status, message):
    got = client.post("/v1/recognize", **body)
    assert got.status_code == status and message in got.json()["error"]


def test_an_image_past_the_pixel_limit_is_refused_from_its_header(client):
    huge = _png(np.zeros((1000, 1000, 3), np.uint8))
    got = client.post("/v1/recognize", json={"images": [_b64(huge)]})
    assert got.status_code == 422 and "image 0 has 1000x1000 pixels" in got.json()["error"]


def test_health_readiness_and_metrics(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["backend"] == "torch"
    metrics = client.get("/metrics").text
    assert 'fastocr_requests_total{route="/v1/recognize",status="200"}' in metrics
    assert 'fastocr_requests_total{route="/v1/recognize",status="422"}' in metrics
    assert "fastocr_batch_lines_bucket" in metrics and "fastocr_queue_depth" in metrics
    assert "fastocr_request_seconds_bucket" in metrics


def test_not_ready_until_the_model_is_loaded(recognizer):
    loaded = threading.Event()

    def slow_load():
        loaded.wait(10)
        return recognizer

    with TestClient(create_app(slow_load)) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/readyz").status_code == 503
        assert c.post("/v1/recognize", json={"images": ["eA=="]}).status_code == 503
        loaded.set()
        wait_ready(c.get)


def test_a_model_that_fails_to_load_is_said_by_readyz():
    def broken():
        raise FileNotFoundError("no such model file: x.safetensors")

    with TestClient(create_app(broken)) as c:
        time.sleep(0.2)
        got = c.get("/readyz")
        assert got.status_code == 503 and "no such model file" in got.json()["error"]


class Slow:
    """A recognizer that takes ``seconds`` per call (for timeouts and graceful shutdown)."""

    def __init__(self, inner, seconds):
        self.inner, self.seconds = inner, seconds
        self.backend, self.device, self.alphabet, self.config = inner.backend, inner.device, inner.alphabet, inner.config

    def warmup(self):
        pass

    def recognize(self, images, **kwargs):
        time.sleep(self.seconds)
        return self.inner.recognize(images, **kwargs)


def test_a_request_waiting_too_long_is_answered_504(recognizer, images):
    app = create_app(lambda: Slow(recognizer, 1.0), ServeOptions(timeout_s=0.2))
    with TestClient(app) as c:
        wait_ready(c.get)
        got = c.post("/v1/recognize", json={"images": [_b64(images[0])]})
        assert got.status_code == 504 and "not read within 0.2 s" in got.json()["error"]


def test_concurrent_clients_each_get_their_own_results(recognizer, images):
    want = {i: r.text for i, r in enumerate(recognizer.recognize(images))}
    with live_server(recognizer, max_batch=32, max_wait_ms=20) as (url, _, app):
        with httpx.Client(base_url=url, timeout=60) as http:
            wait_ready(http.get)

            def one(k):
                i = k % len(images)
                got = http.post("/v1/recognize", files=[("images", ("x.png", images[i], "image/png"))])
                return i, got.json()["results"][0]["text"]

            with ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(one, range(64)))
            assert all(text == want[i] for i, text in answers)
            metrics = http.get("/metrics").text
    (count,) = [line for line in metrics.splitlines() if line.startswith("fastocr_batch_lines_count ")]
    calls = float(count.split()[-1])
    assert calls < 64, "16 concurrent clients were never read together"


def test_graceful_shutdown_finishes_accepted_requests(recognizer, images):
    with live_server(Slow(recognizer, 0.5), max_wait_ms=1) as (url, server, _):
        with httpx.Client(base_url=url, timeout=60) as http:
            wait_ready(http.get)
            with ThreadPoolExecutor(4) as pool:
                pending = [pool.submit(http.post, "/v1/recognize", json={"images": [_b64(images[i])]})
                           for i in range(4)]
                time.sleep(0.2)  # accepted and queued
                server.should_exit = True
                answers = [p.result() for p in pending]
    assert [a.status_code for a in answers] == [200] * 4
    assert all(a.json()["results"][0]["error"] is None for a in answers)


def test_serve_help_explains_the_service(capsys):
    from fastocr.cli import main

    with pytest.raises(SystemExit) as e:
        main(["serve", "--help"])
    text = capsys.readouterr().out
    assert e.value.code == 0 and "POST /v1/recognize" in text and "127.0.0.1" in text and "--max-wait-ms" in text
