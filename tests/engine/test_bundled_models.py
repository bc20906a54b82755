"""Bundled models by name: model="zh" in the API, --model zh in the CLI, and `fastocr info` listing them.

The Chinese file is stood in for by the original-layout test model (5,989 characters), saved where the name
points, so these tests run whether or not this checkout bundles a Chinese model.
"""

import json

import pytest

import fastocr
from fastocr import checkpoint
from fastocr.cli import main
from fastocr.errors import FastOCRError


@pytest.fixture
def bundled_zh(recognizer, tmp_path, monkeypatch):
    path = tmp_path / "zh.safetensors"
    recognizer.save(path)
    monkeypatch.setitem(checkpoint.BUNDLED, "zh", path)
    return path


def test_a_name_loads_its_bundled_file(bundled_zh, recognizer, generated_images):
    images = generated_images[:4]
    expected = [r.text for r in recognizer.recognize(images)]
    assert checkpoint.resolve_model("zh") == bundled_zh
    assert [r.text for r in fastocr.recognize_batch(images, model="zh", device="cpu")] == expected
    assert [r.text for r in fastocr.Recognizer.load("zh", device="cpu").recognize(images)] == expected


def test_cli_model_name_and_info(bundled_zh, recognizer, generated_images, capsys):
    image = generated_images[0]
    assert main(["recognize", str(image), "--model", "zh", "--device", "cpu"]) == 0
    assert capsys.readouterr().out.startswith(f"{recognizer.recognize([image])[0].text} => ")
    assert main(["info"]) == 0
    listed = json.loads(capsys.readouterr().out)["bundled_models"]
    assert listed["zh"]["characters"] == recognizer.alphabet.num_classes - 2 == 5989
    assert listed["zh"]["attention"] == "slot" and listed["zh"]["img_width"] == 280


def test_a_missing_bundled_model_is_named_with_those_there_are(tmp_path, monkeypatch):
    monkeypatch.setitem(checkpoint.BUNDLED, "zh", tmp_path / "absent.safetensors")
    with pytest.raises(FastOCRError, match=r"model 'zh': this fastocr does not bundle it \(bundled models: "):
        fastocr.recognize_batch(["x.png"], model="zh")
    assert "zh" not in checkpoint.bundled_models()


def test_a_file_of_that_name_wins_and_other_strings_are_paths(bundled_zh, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "zh").write_bytes(b"")
    assert checkpoint.resolve_model("zh") == checkpoint.Path("zh")
    assert checkpoint.resolve_model("models/en.safetensors") == checkpoint.Path("models/en.safetensors")
    assert checkpoint.resolve_model(None) == checkpoint.DEFAULT_MODEL == checkpoint.BUNDLED["en"]
