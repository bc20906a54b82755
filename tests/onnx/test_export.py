"""Exported graphs against PyTorch: encoder outputs and every decoder step's log-probs, at several batch sizes
and widths (dynamic axes), for both attention variants. Tolerances: fp32 ONNX Runtime kernels sum in other
orders than PyTorch's, so outputs agree to about 1e-5; greedy texts must be identical."""

import json
import re

import numpy as np
import pytest
import torch
from conftest import random_line_image

from fastocr import Recognizer
from fastocr.decode import AttnStep
from fastocr.engine.preprocess import padded_width, resize_line, to_batch
from fastocr.model import encoder_lengths
from fastocr.onnx import OrtModel, manifest
from fastocr.onnx.export import _to_onnx

pytest.importorskip("onnxruntime", reason="needs onnxruntime (pip install 'fastocr[onnx]')")

# Encoder outputs and log-probs: observed within 1e-5 abs; the test models' decisive weights give log-probs
# of magnitude ~20, whose last bits differ at ~1e-4 (relative 7e-6)
ATOL, RTOL = 1e-4, 2e-5


def _batch(rec, widths, seed=0):
    """Line images of the given pixel widths, preprocessed as the recognizer does (one canvas width)."""
    rng = np.random.default_rng(seed)
    lines = [resize_line(np.asarray(random_line_image(rng, 32, w)), 32, rec.config.img_width) for w in widths]
    bucket = rec.config.width_bucket if rec.config.variable_width else None
    canvas = max(padded_width(line.shape[1], rec.config.img_width, bucket) for line in lines)
    return to_batch(lines, 32, canvas, "cpu"), torch.tensor([line.shape[1] for line in lines])


@pytest.mark.parametrize("widths", [[120], [40, 250, 97], [280, 60, 31, 200, 150, 90, 280]])
def test_encoder_and_steps_match_pytorch(exported, widths):
    rec, folder = exported
    ort_model = OrtModel.from_folder(folder)
    batch, line_widths = _batch(rec, widths)
    with torch.inference_mode():
        enc = rec.model.encoder(batch)
        memory = ort_model.encode(batch.numpy())
        np.testing.assert_allclose(memory["values"], enc.numpy(), atol=ATOL, rtol=RTOL)
        lengths = encoder_lengths(line_widths, enc.shape[0]) if rec.config.variable_width else None
        want, got = AttnStep(rec.model.decoder, enc, 1, lengths), ort_model.step(memory, 1, lengths)
        tokens = torch.zeros(len(widths), dtype=torch.long)
        for _ in range(8):  # the same tokens into both: torch's greedy choices
            expected = want(tokens)
            torch.testing.assert_close(got(tokens), expected, atol=ATOL, rtol=RTOL)
            tokens = expected.argmax(1)


def test_beam_rows_and_parents_reorder_the_hidden_state(exported):
    rec, folder = exported
    ort_model = OrtModel.from_folder(folder)
    batch, line_widths = _batch(rec, [150, 70])
    K = 3
    with torch.inference_mode():
        enc = rec.model.encoder(batch)
        lengths = encoder_lengths(line_widths, enc.shape[0]) if rec.config.variable_width else None
        want = AttnStep(rec.model.decoder, enc, K, lengths)
        got = ort_model.step(ort_model.encode(batch.numpy()), K, lengths)
        tokens, parents = torch.zeros(2 * K, dtype=torch.long), None
        for t in range(5):
            expected = want(tokens, parents)
            torch.testing.assert_close(got(tokens, parents), expected, atol=ATOL, rtol=RTOL)
            tokens = expected.argmax(1).flip(0)  # differing rows, so a wrong reorder shows
            parents = torch.tensor([(r + t) % (2 * K) for r in range(2 * K)])


def test_greedy_step_outputs_the_argmax_of_its_log_probs(exported):
    rec, folder = exported
    ort_model = OrtModel.from_folder(folder)
    batch, line_widths = _batch(rec, [100, 200, 60], seed=3)
    memory = ort_model.encode(batch.numpy())
    lengths = encoder_lengths(line_widths, memory["values"].shape[0]) if rec.config.variable_width else None
    a, b = ort_model.step(memory, 1, lengths), ort_model.step(memory, 1, lengths)
    tokens = torch.zeros(3, dtype=torch.long)
    for _ in range(4):
        logp = a(tokens)
        best, best_logp = b.argmax(tokens)
        assert torch.equal(best, logp.argmax(1)) and torch.equal(best_logp, logp.max(1).values)
        tokens = best


def test_manifest_says_what_the_graphs_need(exported):
    rec, folder = exported
    doc = json.loads((folder / manifest.FILE).read_text(encoding="utf-8"))
    assert doc["format"] == "fastocr-onnx" and doc["version"] == manifest.VERSION
    assert doc["alphabet"] == rec.alphabet.chars and doc["config"] == rec.config.to_dict()
    assert doc["graphs"] == {"encoder": "encoder.onnx", "encoder_int8": None, "decoder_step": "decoder_step.onnx"}
    assert "(x / 255 - 0.5) / 0.5" in doc["preprocessing"]["normalise"]
    read = manifest.read(folder)
    assert read.config == rec.config and read.alphabet == rec.alphabet and not read.has_int8


def test_the_graphs_run_without_fastocr(exported):
    """What docs/onnx.md shows: onnxruntime and numpy alone read a line, as the engine does."""
    import onnxruntime as ort

    rec, folder = exported
    doc = json.loads((folder / manifest.FILE).read_text(encoding="utf-8"))
    encoder = ort.InferenceSession(str(folder / "encoder.onnx"))
    step = ort.InferenceSession(str(folder / "decoder_step.onnx"))
    batch, line_widths = _batch(rec, [180, 90], seed=5)
    images = batch.numpy()
    feed = {"images": images}
    if doc["config"]["attention"] == "slot":  # whole canvases: every column of the line's own (fastocr-onnx.json)
        feed["first_pad"] = np.full(len(images), images.shape[3] // 4 + 1, np.int64)
    memory = dict(zip([o.name for o in encoder.get_outputs()], encoder.run(None, feed)))
    if doc["config"]["attention"] == "additive":
        memory["lengths"] = np.minimum(line_widths.numpy() // 4 + 1, memory["values"].shape[0])
    tokens, hidden = np.zeros(2, np.int64), np.zeros((2, doc["config"]["hidden_size"]), np.float32)
    texts, done = ["", ""], [False, False]
    for _ in range(doc["config"]["max_decode_len"]):
        best, hidden = step.run(["best", "hidden_out"], {**memory, "tokens": tokens, "hidden": hidden})
        for i, token in enumerate(best):
            done[i] = done[i] or token == 1
            texts[i] += "" if done[i] else doc["alphabet"][token - 2]
        tokens = best
    expected = [r.text for r in rec.recognize([batch_line for batch_line in _images(rec, [180, 90], seed=5)])]
    assert texts == expected


def _images(rec, widths, seed):
    rng = np.random.default_rng(seed)
    return [np.asarray(random_line_image(rng, 32, w)) for w in widths]


class _Recording:
    """An ONNX Runtime session that records the width of the images of each run."""

    def __init__(self, session):
        self.session, self.widths = session, []

    def __getattr__(self, name):
        return getattr(self.session, name)

    def run(self, outputs, feed):
        self.widths.append(feed["images"].shape[3])
        return self.session.run(outputs, feed)


def test_a_fixed_width_encoder_reads_each_line_only_as_far_as_it_needs(recognizer, tmp_path):
    ort_model = OrtModel.from_folder(recognizer.export_onnx(tmp_path / "model"))
    assert ort_model.skips_padding
    ort_model.encoder = _Recording(ort_model.encoder)
    batch, line_widths = _batch(recognizer, [40, 250, 97, 280, 12, 130, 60])
    whole = ort_model.encode(batch.numpy(), chunk=3)
    cut = ort_model.encode(batch.numpy(), chunk=3, widths=line_widths)
    with torch.inference_mode():
        enc = recognizer.model.encoder(batch).numpy()
    assert ort_model.encoder.widths[:3] == [280] * 3  # no widths: whole canvases
    assert ort_model.encoder.widths[3:] == [112, 280, 280]  # runs of 3 by need: 12/40/60 px, 97/130/250, 280
    np.testing.assert_allclose(whole["values"], enc, atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(cut["values"], enc, atol=ATOL, rtol=RTOL)  # every line back in its place


def test_the_manifests_padding_recipe_reads_as_the_whole_canvas(recognizer, tmp_path):
    """The first_pad text in fastocr-onnx.json, followed to the pixel: each line cut to the narrowest width it
    allows reads the same columns as on its whole canvas."""
    import onnxruntime as ort

    folder = recognizer.export_onnx(tmp_path / "model")
    recipe = json.loads((folder / manifest.FILE).read_text(encoding="utf-8"))["preprocessing"]["first_pad"]
    offset, extra = map(int, re.search(r"floor\(\(w \+ (\d+)\) / 4\).*4 \* first_pad \+ (\d+) px", recipe).groups())
    encoder = ort.InferenceSession(str(folder / "encoder.onnx"))
    batch, line_widths = _batch(recognizer, [12, 97, 250])
    images = batch.numpy()
    whole = encoder.run(["values"], {"images": images, "first_pad": np.full(3, images.shape[3] // 4 + 1)})[0]
    for i, w in enumerate(line_widths.tolist()):
        first_pad = (w + offset) // 4
        cut = images[i : i + 1, :, :, : min(4 * first_pad + extra, images.shape[3])]
        values = encoder.run(["values"], {"images": cut, "first_pad": np.array([first_pad])})[0]
        np.testing.assert_allclose(values[:, 0], whole[:, i], atol=ATOL, rtol=RTOL)


def test_a_version_1_folder_still_reads(recognizer, tmp_path, generated_images):
    """Folders exported before the encoder took first_pad: the encoder reads whole canvases."""
    folder = recognizer.export_onnx(tmp_path / "model")
    plain = _to_onnx(recognizer.model.encoder, (torch.zeros(2, 3, 32, 280),), ["images"], ["values"],
                     {"images": {0: "batch"}, "values": {1: "rows"}})
    (folder / manifest.ENCODER).write_bytes(plain)
    doc = json.loads((folder / manifest.FILE).read_text(encoding="utf-8"))
    (folder / manifest.FILE).write_text(json.dumps({**doc, "version": 1}), encoding="utf-8")
    old = Recognizer.load(folder)
    assert not old.runtime.skips_padding
    assert [r.text for r in old.recognize(generated_images)] == [r.text for r in recognizer.recognize(generated_images)]
