"""tests/gpu/lease_train.sh, the script a GPU lease runs, on this CPU at smoke scale: it trains from a model file
with a kit of lists and fonts, and brings the last weights back in parts that join into a loadable model file."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fastocr.checkpoint import load_model
from fastocr.train.synth import find_fonts

ROOT = Path(__file__).resolve().parents[2]


def _lease(tmp_path, kit, *args, **env):
    """Runs the lease script on the CPU with ``kit``; returns the model file its parts join into."""
    env = {**os.environ, "OUT": str(tmp_path / "out"), "KIT": str(kit), "RUN": str(tmp_path / "run"),
           "LEASE": str(tmp_path / "lease"),  # no weights to go on from, whatever the checkout's .lease/ holds
           "DEVICE": "cpu", "PY": sys.executable, "TIME_LIMIT": "900", **env}
    run = subprocess.run(["bash", str(ROOT / "tests" / "gpu" / "lease_train.sh"), "--steps", "2", "--batch-size", "4",
                          "--workers", "0", "--val-size", "2", "--threads", "2", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    parts = sorted((tmp_path / "out").glob("last.safetensors.part-*"))
    if not parts:
        pytest.fail(run.stdout[-2000:])
    joined = tmp_path / "joined.safetensors"
    joined.write_bytes(b"".join(p.read_bytes() for p in parts))
    assert (tmp_path / "out" / "log.csv").exists()
    return joined


def test_a_lease_trains_and_brings_back_its_weights_in_parts(tmp_path):
    kit = tmp_path / "kit"
    (kit / "fonts").mkdir(parents=True)
    shutil.copy(find_fonts("latin")[0], kit / "fonts")
    items = [line for line in (ROOT / "examples" / "labels.tsv").read_text().splitlines() if line]
    listed = "".join(f"{ROOT / 'examples' / line.split(chr(9))[0]}\t{line.split(chr(9))[1]}\n" for line in items)
    (kit / "train.tsv").write_text(listed)
    (kit / "scene_val.tsv").write_text(listed)
    (kit / "words.txt").write_text("lease kit words\n")
    model, alphabet, config = load_model(_lease(tmp_path, kit))
    assert config.attention == "additive" and config.max_decode_len == 81 and len(alphabet) == 95


def test_a_chinese_lease_trains_on_the_original_alphabet_from_the_english_model(tmp_path):
    """RECIPE=zh with a kit as benchmarks/scripts/zh_kit.py packs it (one CJK font, a small corpus, two plates);
    without a Chinese model to go on from, it starts from the bundled English model's encoder and GRU."""
    from conftest import ALPHABET_5990
    from PIL import Image, ImageDraw, ImageFont

    try:
        font = find_fonts("cjk")[0]
    except RuntimeError as e:
        pytest.skip(str(e))
    kit = tmp_path / "zh"
    (kit / "fonts").mkdir(parents=True)
    shutil.copy(font, kit / "fonts")
    shutil.copy(ALPHABET_5990, kit / "alphabet.txt")
    (kit / "corpus.txt").write_text("".join(f"第{i}次会议在北京举行，代表们讨论了经济问题。\n" for i in range(200)))
    (kit / "words.txt").write_text("会议\n北京\n经济\n")
    for name, plate in (("plates_train", "皖A12345"), ("plates_val", "皖B67890")):
        image = Image.new("RGB", (94, 24), "blue")
        ImageDraw.Draw(image).text((2, 2), plate, fill="white", font=ImageFont.truetype(str(font), 18))
        image.save(kit / f"{name}.png")
        (kit / f"{name}.tsv").write_text(f"{name}.png\t{plate}\n")
    model, alphabet, config = load_model(_lease(tmp_path, kit, RECIPE="zh"))
    assert config.attention == "slot" and config.img_width == 560 and config.max_decode_len == 31
    assert len(alphabet) == 5989
    english = load_model(ROOT / "fastocr" / "weights" / "default.safetensors")[0]
    first_conv = model.encoder.cnn.cnn[0].weight.float()  # two warm-up steps from the English model's
    assert torch.allclose(first_conv, english.encoder.cnn.cnn[0].weight.float(), atol=1e-3)
