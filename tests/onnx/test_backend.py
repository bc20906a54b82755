"""``Recognizer(backend="onnxruntime")``: the same API and results as PyTorch's, and clear errors."""

import json
import sys

import numpy as np
import pytest
from conftest import TEST_IMAGES, random_line_image

from fastocr import FastOCRError, ModelFileError, OptionError, Recognizer, recognize_batch
from fastocr.onnx import OrtModel, manifest

pytest.importorskip("onnxruntime", reason="needs onnxruntime (pip install 'fastocr[onnx]')")


@pytest.fixture(scope="module")
def lines():
    rng = np.random.default_rng(11)
    return [np.asarray(random_line_image(rng, int(rng.integers(20, 48)), int(rng.integers(20, 600))))
            for _ in range(24)]


@pytest.fixture(scope="module")
def ort_recognizer(exported):
    rec, folder = exported
    return Recognizer.load(folder)


def test_an_exported_folder_loads_on_onnxruntime(ort_recognizer, exported):
    rec, _ = exported
    assert ort_recognizer.backend == "onnxruntime" and ort_recognizer.model is None
    assert ort_recognizer.config == rec.config and ort_recognizer.alphabet == rec.alphabet


def test_greedy_texts_and_confidences_equal_pytorch(ort_recognizer, exported, lines, generated_images):
    rec, _ = exported
    direct = Recognizer(rec.model, rec.alphabet, "cpu", winograd=False)  # the graphs convolve directly too
    images = lines + list(generated_images) + list(TEST_IMAGES)
    want, got = direct.recognize(images, batch_size=8), ort_recognizer.recognize(images, batch_size=8)
    assert [r.text for r in got] == [r.text for r in want]
    assert len({r.text for r in want}) > len(images) // 4, "the test model reads every line alike"
    np.testing.assert_allclose([r.confidence for r in got], [r.confidence for r in want], rtol=1e-4, atol=1e-6)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.char_probs, b.char_probs, rtol=1e-4, atol=1e-6)


def test_a_model_file_runs_on_onnxruntime_when_asked(exported, lines):
    rec, _ = exported
    ort = Recognizer(rec.model, rec.alphabet, backend="onnxruntime")
    assert ort.backend == "onnxruntime" and ort.model is rec.model and ort.device.type == "cpu"
    assert [r.text for r in ort.recognize(lines[:6])] == [r.text for r in rec.recognize(lines[:6])]


def test_beam_search_and_n_best_equal_pytorch(ort_recognizer, exported, lines):
    rec, _ = exported
    kwargs = {"beam_size": 4, "num_hypotheses": 3, "length_penalty": 0.5}
    want, got = rec.recognize(lines[:10], **kwargs), ort_recognizer.recognize(lines[:10], **kwargs)
    for a, b in zip(got, want):
        assert [c.text for c in a.candidates] == [c.text for c in b.candidates]
        # scores sum log-probs whose last bits differ (~1e-5 abs: the backends' CNNs sum in other orders, more so
        # on a fixed-width model's cut images): near-zero scores need the absolute bound
        np.testing.assert_allclose([c.score for c in a.candidates], [c.score for c in b.candidates], rtol=1e-4,
                                   atol=5e-5)


def test_constraints_equal_pytorch(ort_recognizer, exported, lines):
    rec, _ = exported
    charset = rec.alphabet.chars[:12]
    lexicon = [rec.alphabet.chars[i : i + 4] for i in range(0, 40, 4)]
    for kwargs in ({"allowed_chars": charset}, {"lexicon": lexicon, "beam_size": 3}):
        got = ort_recognizer.recognize(lines[:8], **kwargs)
        assert [r.text for r in got] == [r.text for r in rec.recognize(lines[:8], **kwargs)]
        assert all(set(r.text) <= set(charset) for r in got) if "allowed_chars" in kwargs else \
            all(r.text in lexicon or any(w.startswith(r.text) for w in lexicon) for r in got)


def test_one_bad_image_costs_the_others_nothing(ort_recognizer, lines):
    got = ort_recognizer.recognize([lines[0], b"not an image", lines[1]])
    assert got[0].ok and got[2].ok and not got[1].ok and "not a readable image" in got[1].error
    assert [got[0].text, got[2].text] == [r.text for r in ort_recognizer.recognize(lines[:2])]


def test_recognize_batch_and_iter_take_a_folder(exported, lines):
    _, folder = exported
    want = [r.text for r in Recognizer.load(folder).recognize(lines[:5])]
    assert [r.text for r in recognize_batch(lines[:5], model=folder)] == want
    assert [r.text for r in Recognizer.load(folder).recognize_iter(iter(lines[:5]))] == want


def test_batch_size_does_not_change_results(ort_recognizer, lines):
    one = [r.text for r in ort_recognizer.recognize(lines, batch_size=1)]
    assert one == [r.text for r in ort_recognizer.recognize(lines, batch_size=64)]


def test_options_that_onnxruntime_cannot_honour_are_refused(exported):
    rec, folder = exported
    with pytest.raises(OptionError, match="runs on the CPU"):
        Recognizer(rec.model, rec.alphabet, "cuda:0", backend="onnxruntime")
    with pytest.raises(OptionError, match="must be one of fp32, int8"):
        Recognizer.load(folder, precision="bf16")
    with pytest.raises(OptionError, match="int8 needs an exported folder"):
        Recognizer(rec.model, rec.alphabet, backend="onnxruntime", precision="int8")
    with pytest.raises(OptionError, match="backend='onnxruntime' with an exported folder"):
        Recognizer(rec.model, rec.alphabet, precision="int8")
    with pytest.raises(OptionError, match="backend='onnxruntime' only"):
        Recognizer.load(folder, backend="torch")
    with pytest.raises(OptionError, match="backend must be one of"):
        Recognizer(rec.model, rec.alphabet, backend="tensorrt")
    with pytest.raises(OptionError, match="cuda_graphs"):
        Recognizer.load(folder, cuda_graphs=True)


def test_a_folder_cannot_be_saved_as_a_model_file(ort_recognizer, tmp_path):
    with pytest.raises(FastOCRError, match="cannot save: this recognizer was read from exported ONNX graphs"):
        ort_recognizer.save(tmp_path / "m.safetensors")
    with pytest.raises(FastOCRError, match="cannot export"):
        ort_recognizer.export_onnx(tmp_path / "again")


def test_int8_without_an_int8_encoder_names_the_fix(exported):
    _, folder = exported
    with pytest.raises(ModelFileError, match="has no int8 encoder; export it with"):
        Recognizer.load(folder, precision="int8")


def _copy(folder, tmp_path):
    out = tmp_path / "copy"
    out.mkdir()
    for f in folder.iterdir():
        (out / f.name).write_bytes(f.read_bytes())
    return out


@pytest.mark.parametrize(("damage", "message"), [
    (lambda d: (d / manifest.FILE).unlink(), None),  # not a folder export any more: a missing model file
    (lambda d: (d / manifest.FILE).write_text("{not json"), "fastocr-onnx.json is unreadable"),
    (lambda d: (d / manifest.FILE).write_text(json.dumps({"format": "other"})), "not a fastocr ONNX manifest"),
    (lambda d: (d / manifest.FILE).write_text(json.dumps({"format": "fastocr-onnx", "version": 99})),
     "format version 99"),
    (lambda d: (d / manifest.DECODER_STEP).unlink(), "decoder_step.onnx is missing"),
    (lambda d: (d / manifest.ENCODER).write_bytes(b"\0" * 100), "ONNX Runtime cannot load this graph"),
])
def test_a_damaged_folder_is_refused_with_its_name(exported, tmp_path, damage, message):
    _, folder = exported
    broken = _copy(folder, tmp_path)
    damage(broken)
    with pytest.raises((ModelFileError, FastOCRError)) as err:
        Recognizer.load(broken)
    assert str(broken) in str(err.value) or "<exported" in str(err.value)
    if message:
        assert message in str(err.value)
    with pytest.raises(ModelFileError, match="not an exported fastocr model" if message is None else ".*"):
        OrtModel.from_folder(broken)


def test_without_onnxruntime_the_error_names_the_extra(exported, monkeypatch):
    _, folder = exported
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    with pytest.raises(FastOCRError, match=r"pip install 'fastocr\[onnx\]'"):
        Recognizer.load(folder)


def test_the_bundled_model_reads_the_same_on_both_backends():
    from fastocr.train.synth import ASCII_CHARSET, SyntheticLines

    rendered = SyntheticLines(ASCII_CHARSET, 30, seed=3)
    images = list(TEST_IMAGES) + [rendered[i][0] for i in range(30)]
    torch_rec = Recognizer.load(device="cpu")
    ort_rec = Recognizer.load(backend="onnxruntime")
    want = torch_rec.recognize(images)
    assert [r.text for r in ort_rec.recognize(images)] == [r.text for r in want]
    assert sum(r.text == rendered[i][1] for i, r in enumerate(want[len(TEST_IMAGES):])) > 20  # it reads them


def test_without_onnx_the_export_error_names_the_extra(exported, monkeypatch):
    rec, _ = exported
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(FastOCRError, match=r"needs the onnx package: pip install 'fastocr\[onnx\]'"):
        Recognizer(rec.model, rec.alphabet, backend="onnxruntime")
