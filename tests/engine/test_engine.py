"""The engine's knobs change speed and memory, never which lines get results: precision, NHWC, encoder
sub-batches, the memory budget and splitting a batch on out-of-memory."""

import copy

import pytest
import torch
from conftest import TEST_IMAGES

import fastocr
from fastocr import ops
from fastocr.engine.memory import batch_bytes
from fastocr.engine.preprocess import to_batch


def _variant(rec, **options):
    return fastocr.Recognizer(rec.model, rec.alphabet, "cpu", **options)


@pytest.fixture(scope="module")
def images(generated_images):
    return list(TEST_IMAGES) + list(generated_images)


@pytest.fixture(scope="module")
def expected(recognizer, images):
    plain = _variant(recognizer, channels_last=False, winograd=False, encoder_batch=10_000)
    return plain.recognize(images, batch_size=64)


def _same(results, expected, rtol=5e-4):  # sums in another order: see test_original_parity.BATCHED_RTOL
    assert [r.text for r in results] == [r.text for r in expected]
    for r, e in zip(results, expected):
        assert r.confidence == pytest.approx(e.confidence, rel=rtol)


@pytest.mark.parametrize("encoder_batch", [1, 3, 64])
@pytest.mark.parametrize("channels_last", [False, True])
def test_encoder_sub_batches_and_nhwc_give_the_same_results(recognizer, images, expected, encoder_batch,
                                                            channels_last):
    rec = _variant(recognizer, channels_last=channels_last, encoder_batch=encoder_batch)
    _same(rec.recognize(images, batch_size=64), expected)


@pytest.mark.skipif(ops.winograd_unusable() is not None, reason=str(ops.winograd_unusable()))
def test_cpu_convolutions_run_by_winograd_unless_turned_off(recognizer, images, expected, monkeypatch):
    """``expected`` ran direct convolutions; the default runs Winograd's, with the same texts."""
    calls = []
    real = ops.conv3x3_winograd
    monkeypatch.setattr(ops, "conv3x3_winograd", lambda *a: calls.append(a[0].shape) or real(*a))
    _variant(recognizer, winograd=False).recognize(images[:4])
    assert calls == []
    _same(_variant(recognizer).recognize(images, batch_size=64), expected)
    assert {shape[1] for shape in calls} == {64, 128, 256, 512}  # every 3x3 convolution but the first
    assert ops.backend_info()["cpu_convolutions"] == "winograd"


def test_nhwc_images_meet_nhwc_weights_and_the_callers_model_keeps_its_own(recognizer):
    """With NCHW weights, every convolution of NHWC images would copy its weights into NHWC first."""
    convs = [m.weight for m in recognizer.model.modules() if isinstance(m, torch.nn.Conv2d)]
    nhwc = _variant(recognizer, channels_last=True)
    plain = _variant(nhwc, channels_last=False)
    for rec, layout in [(nhwc, torch.channels_last), (plain, torch.contiguous_format)]:
        weights = [m.weight for m in rec.model.modules() if isinstance(m, torch.nn.Conv2d)]
        assert weights and all(w.is_contiguous(memory_format=layout) for w in weights)
    assert nhwc.model is not plain.model  # a recognizer that wants another layout copies the model
    assert [w.stride() for w in convs] == [m.weight.stride() for m in recognizer.model.modules()
                                           if isinstance(m, torch.nn.Conv2d)]
    assert _variant(nhwc, channels_last=True).model is nhwc.model  # the same layout shares it


def test_a_model_given_away_is_converted_in_place(recognizer, original_files, monkeypatch):
    """``load`` and ``from_original`` own the model they read: no second copy of its weights while loading."""
    fresh = copy.deepcopy(recognizer.model)
    monkeypatch.setattr(copy, "deepcopy", lambda *a, **k: pytest.fail("the recognizer copied a model it owns"))
    model = fresh.to(memory_format=torch.contiguous_format)
    rec = fastocr.Recognizer(model, recognizer.alphabet, "cpu", channels_last=True, copy_model=False)
    assert rec.model is model
    assert all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in model.modules()
               if isinstance(m, torch.nn.Conv2d))
    loaded = fastocr.Recognizer.from_original(*original_files, device="cpu")
    assert loaded.model.training is False
    assert all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in loaded.model.modules()
               if isinstance(m, torch.nn.Conv2d))


def test_bf16_runs_and_mostly_agrees_fp16_needs_cuda(recognizer, images, expected, original_files):
    rec = fastocr.Recognizer.from_original(*original_files, device="cpu", precision="bf16")
    assert next(rec.model.parameters()).dtype == torch.bfloat16
    results = rec.recognize(images, batch_size=16)
    assert all(r.ok for r in results)
    agree = sum(r.text == e.text for r, e in zip(results, expected))
    assert agree >= len(images) // 2, f"bf16 agrees with fp32 on {agree} of {len(images)} lines only"
    beam = rec.recognize(images[:3], beam_size=3)  # the beam op reads float32 log-probs
    assert all(r.ok for r in beam)
    with pytest.raises(ValueError, match="fp16.*CUDA"):
        fastocr.Recognizer.from_original(*original_files, device="cpu", precision="fp16")
    with pytest.raises(ValueError, match="precision must be one of"):
        fastocr.Recognizer.from_original(*original_files, device="cpu", precision="int4")


def test_memory_budget_caps_the_batch(recognizer, images, expected, monkeypatch):
    cfg, V = recognizer.config, recognizer.model.num_classes
    one_line = batch_bytes(cfg, V, 1, cfg.img_width)
    assert batch_bytes(cfg, V, 10, cfg.img_width) == 10 * one_line
    assert batch_bytes(cfg, V, 1, cfg.img_width, beam_size=5) > one_line
    rec = _variant(recognizer, memory_budget_mb=3 * one_line / 2**20)
    sizes = []
    decode = rec._decode_batch
    monkeypatch.setattr(rec, "_decode_batch", lambda batch, *a: sizes.append(batch.shape[0]) or decode(batch, *a))
    _same(rec.recognize(images, batch_size=64), expected)
    assert max(sizes) == 3 and sum(sizes) == len(images)
    with pytest.raises(ValueError, match="memory_budget_mb"):
        _variant(recognizer, memory_budget_mb=0)


def test_batch_bytes_counts_additive_scoring_and_the_beam_sort():
    from fastocr.config import ModelConfig

    slot = ModelConfig()
    additive = ModelConfig(attention="additive")
    V, W, H, cols = 96, 280, slot.hidden_size, 280 // 4 + 1
    # additive attention's reference scoring materialises tanh(keys + query): H values per column and row
    assert batch_bytes(additive, V, 2, W, beam_size=3) - batch_bytes(slot, V, 2, W, beam_size=3) == 2 * 3 * H * cols * 4
    # a beam search sorts beam x classes candidates per line (float32 scores, int64 indices); greedy sorts none
    per_row = batch_bytes(slot, V, 1, W, beam_size=2) - batch_bytes(slot, V, 1, W, beam_size=1)
    assert per_row > 2 * V * 12
    assert batch_bytes(slot, V, 1, W, beam_size=3) - batch_bytes(slot, V, 1, W, beam_size=2) < per_row


def test_out_of_memory_splits_the_batch_and_remembers(recognizer, images, expected, monkeypatch):
    rec = _variant(recognizer)
    sizes = []
    decode = rec._decode_batch

    def small_gpu(batch, *a):
        sizes.append(batch.shape[0])
        if batch.shape[0] > 4:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return decode(batch, *a)

    monkeypatch.setattr(rec, "_decode_batch", small_gpu)
    _same(rec.recognize(images, batch_size=64), expected)
    assert sizes == [16, 8, 4, 4, 4, 4]  # halved until it fits, then the rest in parts of that size
    assert rec.limits.oom_caps == {(rec.config.img_width, 1): 4}  # per canvas width and beam size
    sizes.clear()
    rec.recognize(images, batch_size=64)
    assert sizes == [4, 4, 4, 4]  # the next call starts at the size that fitted
    sizes.clear()
    rec.recognize(images[:8], batch_size=64, beam_size=2)
    assert sizes[0] == 8  # another beam size learns its own limit


def test_a_line_that_never_fits_gets_the_error_and_the_others_their_results(recognizer, images, monkeypatch):
    rec = _variant(recognizer)
    decode = rec._decode_batch
    poison = to_batch([rec._load(images[2], 2)[1]], rec.config.img_height, rec.config.img_width)[0]

    def oom_on_one_line(batch, *a):
        if any(torch.equal(row, poison) for row in batch):
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return decode(batch, *a)

    monkeypatch.setattr(rec, "_decode_batch", oom_on_one_line)
    results = rec.recognize(images[:6], batch_size=8)
    assert [r.ok for r in results] == [True, True, False, True, True, True]
    assert "out of memory" in results[2].error and results[2].source == str(images[2])
    with pytest.raises(torch.OutOfMemoryError):
        rec.recognize(images[2:3], on_error="raise")


@pytest.mark.skipif(torch.cuda.is_available(), reason="fp16 is allowed on CUDA")
def test_cli_fp16_without_cuda_is_a_clear_usage_error(original_files, capsys):
    from fastocr.cli import main

    enc, dec, alphabet = original_files
    argv = ["recognize", str(TEST_IMAGES[0]), "--encoder", str(enc), "--decoder", str(dec), "--alphabet", str(alphabet)]
    assert main([*argv, "--precision", "fp16"]) == 2
    assert "needs a CUDA device" in capsys.readouterr().err
    assert main([*argv, "--precision", "bf16"]) == 0


def test_progress_counts_lines_bad_ones_included(recognizer, images, expected, capsys):
    """One progress unit, the line, whether the input fits in one chunk or streams through several."""
    for batch_size in (64, 4):  # one chunk; chunks of 4 lines loaded while the previous one is decoded
        results = recognizer.recognize(images + [b"not an image"], batch_size=batch_size, progress=True)
        _same(results[:-1], expected)
        assert not results[-1].ok
        bar = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()[-1]
        assert f"{len(images) + 1}/{len(images) + 1}" in bar and "line" in bar, bar


def test_low_precision_beams_read_the_float32_log_probs_greedy_reads(recognizer, images):
    """In bf16, beam search and constraints score with float32 log-softmax, as greedy's head does: beam 1 with a
    charset (the beam path) gives greedy's texts and confidences, not values rounded to bf16."""
    rec = fastocr.Recognizer(recognizer.model, recognizer.alphabet, "cpu", precision="bf16")
    from fastocr.decode import AttnStep

    enc = rec.model.encoder(torch.zeros(2, 3, 32, rec.config.img_width, dtype=torch.bfloat16))
    logp = AttnStep(rec.model.decoder, enc)(torch.zeros(2, dtype=torch.long))
    assert logp.dtype == torch.float32
    greedy = rec.recognize(images)
    beam = rec.recognize(images, allowed_chars="".join(sorted(set(rec.alphabet.chars))))
    assert [r.text for r in beam] == [r.text for r in greedy]
    assert [r.confidence for r in beam] == pytest.approx([r.confidence for r in greedy], rel=1e-6)
