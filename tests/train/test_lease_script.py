"""tests/gpu/lease_train.sh, the script a GPU lease runs, on this CPU at smoke scale: it trains from a model file
with a kit of lists and fonts, and brings the last weights back in parts that join into a loadable model file."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fastocr.checkpoint import load_model
from fastocr.train.synth import find_fonts

ROOT = Path(__file__).resolve().parents[2]


def test_a_lease_trains_and_brings_back_its_weights_in_parts(tmp_path):
    kit = tmp_path / "kit"
    (kit / "fonts").mkdir(parents=True)
    shutil.copy(find_fonts("latin")[0], kit / "fonts")
    items = [line for line in (ROOT / "examples" / "labels.tsv").read_text().splitlines() if line]
    listed = "".join(f"{ROOT / 'examples' / line.split(chr(9))[0]}\t{line.split(chr(9))[1]}\n" for line in items)
    (kit / "train.tsv").write_text(listed)
    (kit / "scene_val.tsv").write_text(listed)
    (kit / "words.txt").write_text("lease kit words\n")
    env = {**os.environ, "OUT": str(tmp_path / "out"), "KIT": str(kit), "RUN": str(tmp_path / "run"),
           "DEVICE": "cpu", "PY": sys.executable, "TIME_LIMIT": "900"}
    run = subprocess.run(["bash", str(ROOT / "tests" / "gpu" / "lease_train.sh"), "--steps", "2", "--batch-size", "4",
                          "--workers", "0", "--val-size", "2", "--threads", "2"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    parts = sorted((tmp_path / "out").glob("last.safetensors.part-*"))
    if not parts:
        pytest.fail(run.stdout[-2000:])
    joined = tmp_path / "joined.safetensors"
    joined.write_bytes(b"".join(p.read_bytes() for p in parts))
    model, alphabet, config = load_model(joined)
    assert config.attention == "additive" and config.max_decode_len == 81 and len(alphabet) == 95
    assert (tmp_path / "out" / "log.csv").exists()
