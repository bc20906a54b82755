"""Bad inputs and bad checkpoints give clear fastocr errors that name the input; a batch keeps its good items."""

import pickle
import re

import numpy as np
import pytest
import torch
from conftest import TEST_IMAGES, make_original_weights

import fastocr
from fastocr import FastOCRError, ImageError, ModelFileError, OptionError, Recognizer
from fastocr.checkpoint import load_model, load_original


@pytest.fixture
def bad_inputs(tmp_path):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(TEST_IMAGES[0].read_bytes()[:300])  # truncated JPEG
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    return {
        "missing": (tmp_path / "nope.png", "no such file"),
        "directory": (tmp_path, "is a directory"),
        "corrupt": (corrupt, "corrupt or truncated"),
        "not_image": (text, "not a readable image"),
        "bytes": (b"\x00\x01garbage", "not a readable image"),
        "float_array": (np.zeros((32, 32, 3), np.float32), "uint8"),
        "bad_shape": (np.zeros((32, 32, 5), np.uint8), "shape"),
        "empty": (np.zeros((0, 10, 3), np.uint8), "empty"),
        "wrong_type": (12345, "unsupported input type"),
    }


def test_each_bad_input_raises_a_named_image_error(recognizer, bad_inputs):
    for name, (item, reason) in bad_inputs.items():
        with pytest.raises(ImageError, match=reason) as err:
            recognizer.recognize_one(item)
        if isinstance(item, (str, type(TEST_IMAGES[0]))):
            assert str(item) in str(err.value), name


def test_bad_items_do_not_cost_the_batch_its_results(recognizer, bad_inputs):
    good = list(TEST_IMAGES[:2])
    items = [good[0]] + [v[0] for v in bad_inputs.values()] + [good[1]]
    results = recognizer.recognize(items, batch_size=2)
    expected = recognizer.recognize(good)
    assert results[0].text == expected[0].text and results[0].ok
    assert results[-1].text == expected[1].text and results[-1].ok
    for r, (item, reason) in zip(results[1:-1], bad_inputs.values()):
        assert not r.ok and reason in r.error and r.text == ""


def test_on_error_raise_stops_at_the_bad_item(recognizer, bad_inputs):
    with pytest.raises(ImageError, match="no such file"):
        recognizer.recognize([TEST_IMAGES[0], bad_inputs["missing"][0]], on_error="raise")


def test_single_image_instead_of_list_is_a_type_error(recognizer):
    with pytest.raises(TypeError, match="list of images"):
        recognizer.recognize(str(TEST_IMAGES[0]))


def test_bad_arguments(recognizer):
    with pytest.raises(ValueError, match="num_hypotheses"):
        recognizer.recognize(TEST_IMAGES[:1], beam_size=2, num_hypotheses=3)
    with pytest.raises(ValueError, match="on_error"):
        recognizer.recognize(TEST_IMAGES[:1], on_error="ignore")


def test_alphabet_size_mismatch_names_both_sizes(original_files, tmp_path):
    small = tmp_path / "abc.txt"
    small.write_text("a\nb\nc\n", encoding="utf-8")
    with pytest.raises(ModelFileError, match=r"5991 classes but the alphabet gives 5 \(3 characters"):
        load_original(original_files[0], original_files[1], small)


def test_architecture_mismatch_names_the_differing_shapes(tmp_path, original_files):
    enc, _ = make_original_weights(hidden=128)
    torch.save(enc.state_dict(), tmp_path / "enc128.pth")
    with pytest.raises(ModelFileError, match=r"rnn\.0\.rnn\.weight_hh_l0: file \(512, 128\) vs model \(1024, 256\)"):
        load_original(tmp_path / "enc128.pth", original_files[1], original_files[2])


def test_swapped_encoder_and_decoder(original_files):
    with pytest.raises(ModelFileError, match="looks like a decoder checkpoint: encoder and decoder swapped"):
        load_original(original_files[1], original_files[0], original_files[2])


class _Evil:
    def __reduce__(self):
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_malicious_pickle_is_refused_and_not_run(tmp_path, original_files, monkeypatch):
    monkeypatch.chdir(tmp_path)
    evil = tmp_path / "encoder.pth"
    with open(evil, "wb") as f:
        pickle.dump({"cnn.cnn.0.weight": _Evil()}, f)
    torch.save({"w": _Evil()}, tmp_path / "evil_torch.pth")
    for path in (evil, tmp_path / "evil_torch.pth"):
        with pytest.raises(ModelFileError, match="refused|not a readable"):
            load_original(path, original_files[1], original_files[2])
    assert not (tmp_path / "PWNED").exists()


def test_corrupt_and_foreign_model_files(tmp_path, recognizer):
    good = tmp_path / "m.safetensors"
    recognizer.save(good)
    data = good.read_bytes()
    cases = {
        "truncated.safetensors": data[: len(data) // 2],
        "tiny.safetensors": b"abc",
        "garbage.safetensors": b"\xff" * 100,
        "original.pth": (TEST_IMAGES[0]).read_bytes(),
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ModelFileError) as err:
            load_model(tmp_path / name)
        assert name in str(err.value)
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "absent.safetensors")


def test_missing_alphabet_file(original_files, tmp_path):
    with pytest.raises(FastOCRError, match="cannot read the alphabet"):
        load_original(original_files[0], original_files[1], tmp_path / "none.txt")


@pytest.mark.parametrize("options, message", [
    ({"beam_size": 2.5}, "beam_size must be an int, got 2.5"),
    ({"beam_size": "3"}, "beam_size must be an int, got '3'"),
    ({"beam_size": 40}, "at most 32"),
    ({"beam_size": 0}, "beam_size must be >= 1"),
    ({"batch_size": None}, "batch_size must be an int, got None"),
    ({"num_hypotheses": 3, "beam_size": 2}, "num_hypotheses must be at most beam_size"),
    ({"max_len": 0}, "max_len must be >= 1"),
    ({"max_len": -1}, "max_len must be >= 1"),
    ({"length_penalty": "x"}, "length_penalty must be a number"),
    ({"length_penalty": -0.5}, "length_penalty must be >= 0"),
    ({"lexicon": "LIKEABLENESS"}, "lexicon is a list of lines"),
    ({"lexicon": []}, "lexicon is empty"),
    ({"allowed_chars": ""}, "allowed_chars must be a non-empty str"),
])
def test_bad_decoding_options_name_themselves(recognizer, options, message):
    with pytest.raises(OptionError, match=re.escape(message)):
        recognizer.recognize([TEST_IMAGES[0]], **options)


def test_bad_devices_are_option_errors(original_files):
    enc, dec, alphabet = original_files
    with pytest.raises(OptionError, match="not a device name"):
        Recognizer.from_original(enc, dec, alphabet, device="foo")
    if not torch.cuda.is_available():
        with pytest.raises(OptionError, match="CUDA is not available"):
            Recognizer.from_original(enc, dec, alphabet, device="cuda")


def test_recognize_one_can_report_instead_of_raising(recognizer, tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        recognizer.recognize_one(tmp_path / "gone.png")
    r = recognizer.recognize_one(tmp_path / "gone.png", on_error="report")
    assert not r.ok and "no such file" in r.error


def test_recognize_batch_refuses_a_device_it_would_ignore(recognizer):
    with pytest.raises(OptionError, match="applies when a model file is loaded"):
        fastocr.recognize_batch([TEST_IMAGES[0]], model=recognizer, device="cpu")


def test_atomic_writes_get_the_usual_file_mode(tmp_path):
    """Not mkstemp's private 0600: what open() gives a new file, and an existing file keeps its mode."""
    from fastocr.files import atomic_write_bytes

    (tmp_path / "plain").write_bytes(b"x")
    atomic_write_bytes(tmp_path / "atomic", b"x")
    assert (tmp_path / "atomic").stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777
    (tmp_path / "shared").write_bytes(b"x")
    (tmp_path / "shared").chmod(0o640)
    atomic_write_bytes(tmp_path / "shared", b"y")
    assert (tmp_path / "shared").stat().st_mode & 0o777 == 0o640 and (tmp_path / "shared").read_bytes() == b"y"


def _crafted(tmp_path, config: dict, alphabet="abc", metadata=None, tensors=None):
    """A few-KB file that claims whatever architecture it likes."""
    import json

    from safetensors.torch import save

    meta = metadata if metadata is not None else {"format": "fastocr", "version": "1", "config": json.dumps(config),
                                                  "alphabet": json.dumps(alphabet)}
    path = tmp_path / "crafted.safetensors"
    path.write_bytes(save(tensors or {"encoder.cnn.cnn.0.weight": torch.zeros(4, 3, 3, 3)}, metadata=meta))
    return path


@pytest.mark.parametrize(("config", "alphabet", "message"), [
    ({"hidden_size": 100_000}, "abc", "hidden_size must be an int in 1..8192"),
    ({"img_width": 10**9}, "abc", "img_width must be an int in 4..65536"),
    ({"max_decode_len": 10**12}, "abc", "max_decode_len must be an int in 1..4096"),
    ({"hidden_size": 2.5}, "abc", "hidden_size must be an int"),
    ({}, ["a", "b"], "the alphabet must be a string"),
    ({}, "x" * 200_001, "at most 100000 characters"),
])
def test_crafted_model_files_are_refused_from_their_metadata(tmp_path, config, alphabet, message):
    with pytest.raises(ModelFileError, match=message):
        load_model(_crafted(tmp_path, config, alphabet))


def test_a_crafted_architecture_is_refused_before_anything_is_allocated(tmp_path, monkeypatch):
    """hidden 8,192 is within bounds, but would allocate gigabytes: the shapes are checked on the meta device."""
    import fastocr.checkpoint as checkpoint

    built = []
    real = checkpoint.OCRModel

    def counting(config, num_classes, *args, **kwargs):
        model = real(config, num_classes, *args, **kwargs)
        built.append(next(model.parameters()).device.type)
        return model

    monkeypatch.setattr(checkpoint, "OCRModel", counting)
    with pytest.raises(ModelFileError, match="does not match the architecture"):
        load_model(_crafted(tmp_path, {"hidden_size": 8192}))
    assert built == ["meta"]  # only the skeleton, never real weights


@pytest.mark.parametrize("metadata", [["not", "a", "map"], {"format": 1}])
def test_model_files_with_odd_metadata_are_model_file_errors(tmp_path, metadata):
    import json

    path = tmp_path / "odd.safetensors"
    header = json.dumps({"__metadata__": metadata}).encode()
    path.write_bytes(len(header).to_bytes(8, "little") + header)
    with pytest.raises(ModelFileError, match="not a fastocr model file"):
        load_model(path)
