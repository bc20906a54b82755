"""One Recognizer shared by threads; the CLI over a big folder with unreadable files; a killed training run."""

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image

from fastocr import Alphabet, ModelConfig, Recognizer
from fastocr.model import OCRModel
from fastocr.train.synth import ASCII_CHARSET


@pytest.fixture(scope="module")
def small_recognizer():
    """A variable-width model: tiny images cost little, so 1,000 calls stay fast."""
    torch.manual_seed(1)
    model = OCRModel(ModelConfig(attention="additive", img_width=400, max_decode_len=12), len(ASCII_CHARSET) + 2)
    with torch.no_grad():
        model.decoder.decoder.out.weight.mul_(40.0)
        model.decoder.decoder.attn_combine.weight[:, 256:].mul_(20.0)
    return Recognizer(model, Alphabet(ASCII_CHARSET), device="cpu")


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (int(rng.integers(16, 40)), int(rng.integers(8, 60)), 3), dtype=np.uint8)
            for _ in range(n)]


def test_eight_threads_give_the_sequential_results(small_recognizer):
    images = _images(50)
    expected = [small_recognizer.recognize([im])[0] for im in images]
    calls = [i % len(images) for i in range(1000)]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda i: small_recognizer.recognize([images[i]])[0], calls))
    for i, r in zip(calls, got):
        assert (r.text, r.confidence) == (expected[i].text, expected[i].confidence)


def test_cli_over_thousands_of_files_lists_errors_and_exits_1(small_recognizer, tmp_path):
    folder = tmp_path / "lines"
    folder.mkdir()
    for i, im in enumerate(_images(2000, seed=1)):
        Image.fromarray(im).save(folder / f"{i:05d}.png", compress_level=1)
    for name in ("bad1.png", "bad2.jpg"):
        (folder / name).write_bytes(b"this is no image")
    (folder / "locked.png").write_bytes((folder / "00000.png").read_bytes())
    os.chmod(folder / "locked.png", 0)
    model = tmp_path / "m.safetensors"
    small_recognizer.save(model)
    proc = subprocess.run([sys.executable, "-m", "fastocr.cli", "recognize", str(folder), "--model", str(model),
                           "--batch-size", "256"], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    readable = 2001 if os.geteuid() == 0 else 2000  # root reads a mode-000 file anyway
    assert len(proc.stdout.splitlines()) == readable
    errors = [line for line in proc.stderr.splitlines() if ": error: " in line]
    assert {os.path.basename(e.split(": error: ")[0]) for e in errors} >= {"bad1.png", "bad2.jpg"}
    assert "images failed" in proc.stderr


def _train_cmd(out, steps):
    return [sys.executable, "-m", "fastocr.cli", "train", "--out", str(out), "--steps", str(steps), "--batch-size",
            "2", "--val-size", "2", "--eval-every", "1000", "--ckpt-every", "1", "--workers", "0",
            "--max-label-len", "6", "--resume"]


def test_sigkill_mid_training_then_resume(tmp_path):
    proc = subprocess.Popen(_train_cmd(tmp_path, 1000), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latest = tmp_path / "latest.pt"
    deadline = time.time() + 120
    while time.time() < deadline:
        if latest.exists() and torch.load(latest, weights_only=True)["step"] >= 3:
            break
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = torch.load(latest, weights_only=True)["step"]  # loads: never half-written
    assert 3 <= killed_at < 1000
    done = subprocess.run(_train_cmd(tmp_path, killed_at + 2), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"resumed from {latest} at step {killed_at}" in done.stderr
    assert torch.load(latest, weights_only=True)["step"] == killed_at + 2
    assert not list(tmp_path.glob(".*.tmp")), "the resumed run should clear a temp file the killed write left"
