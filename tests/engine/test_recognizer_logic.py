"""The recognizer's bookkeeping: whose model it holds, what a reading's characters and scores are, how
recognize_iter starts and stops, which model the recognize_batch cache serves."""

import threading

import numpy as np
import pytest
import torch
from conftest import TEST_IMAGES

import fastocr
from fastocr import Alphabet, ModelConfig, OptionError, Recognizer
from fastocr.model import OCRModel


def _tiny(alphabet: str, favourite: int, max_len: int = 6) -> Recognizer:
    """A small model whose every step prefers class ``favourite`` by a wide margin (EOS never wins)."""
    torch.manual_seed(0)
    model = OCRModel(ModelConfig(hidden_size=16, max_decode_len=max_len), len(alphabet) + 2)
    with torch.no_grad():
        model.decoder.decoder.out.bias[:] = 0.0
        model.decoder.decoder.out.bias[1] = -50.0
        model.decoder.decoder.out.bias[favourite] = 30.0
    return Recognizer(model, Alphabet(alphabet), device="cpu")


LINE = np.full((32, 100, 3), 200, np.uint8)


def test_a_second_recognizer_leaves_the_first_ones_model_alone():
    first = _tiny("abc", 2)
    second = Recognizer(first.model, first.alphabet, "cpu", precision="bf16")
    assert next(second.model.parameters()).dtype == torch.bfloat16
    assert second.model is not first.model and next(first.model.parameters()).dtype == torch.float32
    assert first.recognize([LINE])[0].text == "aaaaaa"
    shared = Recognizer(first.model, first.alphabet, "cpu")  # same device and dtype: no copy needed
    assert shared.model is first.model


def test_sos_outputs_count_in_the_confidence_but_are_no_characters():
    rec = _tiny("abc", 0)  # an untrained model may emit SOS (id 0)
    for beam in (1, 2):
        r = rec.recognize([LINE], beam_size=beam)[0]
        assert r.text == "" and r.char_probs == [] and 0 < r.confidence <= 1


def test_duplicated_characters_are_allowed_under_every_id():
    rec = _tiny("a1b1", 3)  # id 3 is the first '1'; encode() maps '1' to its last id, 5
    assert rec.recognize([LINE])[0].text == "111111"
    assert rec.recognize([LINE], allowed_chars="1")[0].text == "111111"
    assert rec.recognize([LINE], lexicon=["11"], beam_size=2)[0].text == "11"


def test_a_length_penalty_is_applied_with_one_beam_too(recognizer, generated_images):
    image = generated_images[8]  # a line that ends at its EOS
    plain = recognizer.recognize([image])[0]
    penalised = recognizer.recognize([image], length_penalty=1.0)[0]
    assert penalised.text == plain.text and 0 < len(plain.text) < 20
    steps = len(plain.text) + 1  # EOS counts
    assert penalised.candidates[0].score == pytest.approx(plain.candidates[0].score / steps, rel=1e-5)


def test_recognize_iter_checks_its_arguments_at_the_call(recognizer):
    for single in (str(TEST_IMAGES[0]), np.zeros((32, 50, 3), np.uint8), memoryview(b"png")):
        with pytest.raises(TypeError, match="a list of images"):
            recognizer.recognize_iter(single)
        with pytest.raises(TypeError, match="a list of images"):
            recognizer.recognize(single)
    with pytest.raises(OptionError, match="beam_size must be >= 1"):
        recognizer.recognize_iter([TEST_IMAGES[0]], beam_size=0)


def test_recognize_iter_stops_loading_when_the_consumer_stops(recognizer, monkeypatch):
    """Deterministic: the next chunk's loads wait on an event until the consumer has stopped, so what the pool
    does after close() does not depend on how fast this machine decodes."""
    started, workers, release = [], set(), threading.Event()
    load = recognizer._load

    def gated_load(image, index):
        workers.add(threading.current_thread())
        started.append(index)
        if index >= 50:  # the next chunk (batch_size 50) is loading while the consumer reads this one
            release.wait()
        return load(image, index)

    monkeypatch.setattr(recognizer, "_load", gated_load)
    it = recognizer.recognize_iter([TEST_IMAGES[0]] * 400, batch_size=50, workers=2)
    next(it)
    it.close()  # the loads queued for the next chunk are dropped, not waited for
    release.set()
    for t in workers:
        t.join(timeout=60)  # the pool's threads end once their current load is done
    assert not any(t.is_alive() for t in workers)
    assert len(started) <= 52  # this chunk, and only what the two workers had begun of the next


def test_encoder_batch_is_checked():
    model = _tiny("abc", 2).model
    for bad in (0, -1, 2.5):
        with pytest.raises(OptionError, match="encoder_batch"):
            Recognizer(model, Alphabet("abc"), "cpu", encoder_batch=bad)


def test_recognize_batch_reloads_a_rewritten_model_file_in_place(tmp_path):
    from fastocr.engine.cache import _CACHE

    path = tmp_path / "m.safetensors"
    _tiny("abc", 2).save(path)
    assert fastocr.recognize_batch([LINE], model=path, device="cpu")[0].text == "aaaaaa"
    _tiny("abc", 3).save(path)
    assert fastocr.recognize_batch([LINE], model=path, device="cpu")[0].text == "bbbbbb"
    assert fastocr.recognize_batch([LINE], model=path)[0].text == "bbbbbb"  # None is cpu here: the same entry
    assert sum(str(tmp_path) in key[0] for key in _CACHE) == (1 if not torch.cuda.is_available() else 2)


def test_the_model_cache_keeps_the_most_recently_used_only(tmp_path):
    """A long-lived process that reads with many model files keeps CACHE_SIZE of them loaded, not all."""
    from fastocr.engine import cache

    paths = [tmp_path / f"m{i}.safetensors" for i in range(cache.CACHE_SIZE + 2)]
    for p in paths:
        _tiny("abc", 2).save(p)
        fastocr.recognize_batch([LINE], model=p, device="cpu")
    kept = [key[0] for key in cache._CACHE if str(tmp_path) in key[0]]
    assert kept == [str(p.resolve()) for p in paths[-cache.CACHE_SIZE :]]
    fastocr.recognize_batch([LINE], model=paths[-cache.CACHE_SIZE], device="cpu")  # used again: now the newest
    assert next(reversed(cache._CACHE))[0] == str(paths[-cache.CACHE_SIZE].resolve())


def test_a_huge_upload_canvas_is_not_kept(monkeypatch):
    from fastocr.engine.preprocess import PinnedCanvas

    canvas = PinnedCanvas(pin=False)
    monkeypatch.setattr(PinnedCanvas, "MAX_KEPT", 1000)
    small = canvas.take((2, 10, 10, 3))
    assert canvas._buffer is not None and canvas._buffer.numel() == 600
    big = canvas.take((4, 10, 10, 3))  # 1,200 bytes: used once, not kept
    assert big.shape == (4, 10, 10, 3) and canvas._buffer.numel() == 600
    assert small.shape == (2, 10, 10, 3)
