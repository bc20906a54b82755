"""``fastocr export`` and reading its folder from the command line."""

import json

import pytest
from conftest import TEST_IMAGES

from fastocr.cli import main

pytest.importorskip("onnxruntime", reason="needs onnxruntime (pip install 'fastocr[onnx]')")


def _texts(out: str) -> list[str]:
    return [json.loads(line)["text"] for line in out.splitlines()]


def test_export_original_checkpoints_and_read_the_folder(original_files, tmp_path, capsys):
    enc, dec, alphabet = original_files
    folder = tmp_path / "onnx"
    assert main(["export", "--encoder", str(enc), "--decoder", str(dec), "--alphabet", str(alphabet),
                 "--onnx", str(folder)]) == 0
    listing = capsys.readouterr().out
    assert "encoder.onnx" in listing and "decoder_step.onnx" in listing and "int8" not in listing
    images = [str(p) for p in TEST_IMAGES]
    assert main(["recognize", *images, "--json", "--encoder", str(enc), "--decoder", str(dec),
                 "--alphabet", str(alphabet)]) == 0
    want = _texts(capsys.readouterr().out)
    assert main(["recognize", *images, "--json", "--model", str(folder)]) == 0
    assert _texts(capsys.readouterr().out) == want
    assert main(["recognize", *images, "--json", "--encoder", str(enc), "--decoder", str(dec),
                 "--alphabet", str(alphabet), "--backend", "onnxruntime"]) == 0
    assert _texts(capsys.readouterr().out) == want


def test_export_int8_with_calibration_images(original_files, tmp_path, capsys):
    enc, dec, alphabet = original_files
    folder = tmp_path / "onnx"
    assert main(["export", "--encoder", str(enc), "--decoder", str(dec), "--alphabet", str(alphabet),
                 "--onnx", str(folder), "--int8", "--calibration", str(TEST_IMAGES[0].parent)]) == 0
    assert "encoder.int8.onnx" in capsys.readouterr().out
    assert main(["recognize", str(TEST_IMAGES[0]), "--model", str(folder), "--precision", "int8"]) == 0
    assert "=>" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["--calibration", "x.png"], "--calibration goes with --int8"),
    (["--encoder", "e.pth"], "--encoder, --decoder and --alphabet go together"),
])
def test_export_usage_errors_name_the_option(tmp_path, capsys, argv, message):
    assert main(["export", "--onnx", str(tmp_path / "o"), *argv]) == 2
    assert message in capsys.readouterr().err


def test_int8_on_a_model_file_names_the_fix(capsys):
    assert main(["recognize", str(TEST_IMAGES[0]), "--precision", "int8"]) == 2
    assert "fastocr export --onnx FOLDER --int8" in capsys.readouterr().err


def test_export_needs_a_folder(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit) as e:
        main(["export", "--onnx", str(tmp_path / "file")])
    assert e.value.code == 2 and "is a file, not a folder" in capsys.readouterr().err
