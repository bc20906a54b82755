"""benchmarks/serve_load.py at a small scale: it starts a server, sends good and malformed requests, and finds
every answer right (and would exit 1 on a lost or mixed-up result)."""

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="needs the [serve] extra")
pytest.importorskip("httpx2", reason="needs httpx2")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import serve_load  # noqa: E402


def test_the_load_test_checks_every_answer(tmp_path):
    out = tmp_path / "load"
    rc = serve_load.main(["--clients", "4", "--requests", "40", "--malformed", "0.25", "--images",
                          str(ROOT / "examples"), "--count", "5", "--out", str(out)])
    doc = json.loads(out.with_suffix(".json").read_text())
    assert rc == 0 and doc["problems"] == []
    assert doc["answered"]["ok"] + doc["answered"]["bad"] == 40 and doc["answered"]["bad"] > 0
    assert doc["batches"]["calls"] >= 1 and doc["lines_per_s"] > 0 and doc["p99_ms"] >= doc["p50_ms"]
    assert "| 4 | 40 (" in out.with_suffix(".md").read_text()
