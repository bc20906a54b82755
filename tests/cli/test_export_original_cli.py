"""``fastocr export MODEL --original FOLDER``: a fastocr model in the original project's layout, which the
original's own inference loop reads with the same results."""

import pytest
import torch
from conftest import ALPHABET_5990, TEST_IMAGES
from original import OrigDecoder, OrigEncoder, orig_infer

import fastocr
from fastocr.alphabet import Alphabet
from fastocr.checkpoint import save_original
from fastocr.cli import main
from fastocr.config import ModelConfig
from fastocr.errors import FastOCRError
from fastocr.model import OCRModel


def test_a_model_file_exports_to_the_original_layout_and_the_original_loop_reads_it(original_files, tmp_path, capsys):
    enc, dec, alphabet = original_files
    model_file = tmp_path / "zh.safetensors"
    assert main(["convert", "--encoder", str(enc), "--decoder", str(dec), "--alphabet", str(alphabet),
                 "--out", str(model_file)]) == 0
    out = tmp_path / "original"
    assert main(["export", str(model_file), "--original", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "--img_width 280 --max_width 71" in printed
    for name, source in (("encoder.pth", enc), ("decoder.pth", dec)):
        got, want = torch.load(out / name, weights_only=True), torch.load(source, weights_only=True)
        assert list(got) == list(want) and all(torch.equal(got[k], want[k]) for k in want), name
    assert Alphabet.from_file(out / "alphabet.txt").chars == Alphabet.from_file(ALPHABET_5990).chars
    o_enc, o_dec = OrigEncoder(), OrigDecoder()
    o_enc.load_state_dict(torch.load(out / "encoder.pth", weights_only=True))
    o_dec.load_state_dict(torch.load(out / "decoder.pth", weights_only=True))
    chars = Alphabet.from_file(out / "alphabet.txt").chars
    with torch.no_grad():
        expected = [orig_infer(o_enc.eval(), o_dec.eval(), chars, p)[0] for p in TEST_IMAGES]
    got = [r.text for r in fastocr.recognize_batch([str(p) for p in TEST_IMAGES], model=str(model_file))]
    assert got == expected and len(set(expected)) > 1


def test_a_wider_slot_model_keeps_its_slots(tmp_path):
    """A model trained at 560 px has 141 attention slots: the original reads it with --max_width 141."""
    alphabet = Alphabet.from_file(ALPHABET_5990)
    model = OCRModel(ModelConfig(img_width=560, max_decode_len=31), alphabet.num_classes)
    paths = save_original(tmp_path, model, alphabet)
    assert torch.load(paths["decoder"], weights_only=True)["decoder.attn.weight"].shape == (141, 512)
    rec = fastocr.Recognizer.from_original(paths["encoder"], paths["decoder"], paths["alphabet"], device="cpu")
    assert rec.model.config.img_width == 560


def test_what_the_original_cannot_hold_is_refused_clearly(tmp_path, capsys):
    assert main(["export", "--original", str(tmp_path / "a")]) == 2  # the bundled model: additive attention
    assert "fixed-slot attention" in capsys.readouterr().err and not (tmp_path / "a" / "encoder.pth").exists()
    with pytest.raises(FastOCRError, match="whitespace"):
        save_original(tmp_path / "b", OCRModel(ModelConfig(), 5), Alphabet("a b"))
    assert main(["export", "--original", str(tmp_path / "c"), "--int8"]) == 2
    assert "--int8 goes with --onnx" in capsys.readouterr().err
