"""benchmarks/compare_accuracy.py writes its table, JSON and plot; engines that are not installed are left out."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_side_by_side_table_is_written(tmp_path):
    out = tmp_path / "acc"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "compare_accuracy.py"), "--dev-scene",
                          str(tmp_path / "none"), "--list", f"examples={ROOT / 'examples' / 'labels.tsv'}",
                          "--engines", "fastocr,nosuch", "--out", str(out)], capture_output=True, text=True,
                         cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "nosuch left out" in run.stderr
    doc = json.loads(out.with_suffix(".json").read_text())
    (row,) = doc["rows"]
    assert row["set"] == "examples" and row["count"] == 5 and row["fastocr"]["exact"] >= 0.6
    assert "| examples | 5 |" in out.with_suffix(".md").read_text() and out.with_suffix(".png").stat().st_size > 0


def test_the_onnx_engines_are_compared_with_pytorch(tmp_path):
    import pytest

    pytest.importorskip("onnxruntime")
    from fastocr import Recognizer

    folder = Recognizer.load(device="cpu").export_onnx(tmp_path / "onnx")
    out = tmp_path / "acc"
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "compare_accuracy.py"), "--dev-scene",
                          str(tmp_path / "none"), "--list", f"examples={ROOT / 'examples' / 'labels.tsv'}",
                          "--engines", "fastocr,fastocr-onnx,fastocr-int8", "--onnx", str(folder), "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode != 0 and "has no int8 encoder" in run.stderr  # asked for, not there: said, not skipped
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "compare_accuracy.py"), "--dev-scene",
                          str(tmp_path / "none"), "--list", f"examples={ROOT / 'examples' / 'labels.tsv'}",
                          "--engines", "fastocr,fastocr-onnx", "--onnx", str(folder), "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    (row,) = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert row["fastocr-onnx"]["same_as_fastocr"] == 1.0 and row["fastocr-onnx"]["exact"] == row["fastocr"]["exact"]
    assert "texts identical to fastocr's" in out.with_suffix(".md").read_text()
