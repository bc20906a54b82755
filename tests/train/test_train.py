"""Training: it learns, logs, checkpoints atomically, and resumes exactly where it stopped."""

import csv
import itertools
import os
import shutil

import pytest
import torch
from PIL import Image

from fastocr.alphabet import EOS_TOKEN, SOS_TOKEN, Alphabet
from fastocr.cli import build_parser
from fastocr.cli.args import options_from
from fastocr.errors import FastOCRError
from fastocr.train import TrainOptions, train
from fastocr.train.data import PAD_TARGET, Collate, read_label_list
from fastocr.train.metrics import alnum_lower, by_confidence, edit_distance, score
from fastocr.train.synth import ASCII_CHARSET as ASCII

pytest.importorskip("matplotlib")


def _args(out, *extra) -> TrainOptions:
    """The TrainOptions ``fastocr train`` builds from these flags (small, fast runs)."""
    args = build_parser().parse_args(
        ["train", "--out", str(out), "--batch-size", "4", "--val-size", "4", "--eval-every", "2",
         "--ckpt-every", "1", "--log-every", "1", "--workers", "0", "--max-label-len", "8", *extra]
    )
    return options_from(TrainOptions, args)


@pytest.mark.parametrize("extra", [[], ["--bucket-window", "3"]], ids=["plain", "width-buckets"])
def test_resume_continues_exactly(tmp_path, extra):
    """Also with width buckets, resumed in the middle of a window of 3 batches."""
    straight = tmp_path / "straight"
    train(_args(straight, "--steps", "4", *extra))
    interrupted = tmp_path / "interrupted"
    train(_args(interrupted, "--steps", "2", *extra))
    train(_args(interrupted, "--steps", "4", "--resume", *extra))
    a = torch.load(straight / "latest.pt", weights_only=True)
    b = torch.load(interrupted / "latest.pt", weights_only=True)
    assert a["step"] == b["step"] == 4
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k


def test_resume_drops_log_rows_after_the_checkpoint(tmp_path):
    """A run killed after logging steps 3-4 but before their checkpoint resumes from step 2: those rows are
    logged again, not twice."""
    train(_args(tmp_path, "--steps", "2"))
    shutil.copy(tmp_path / "latest.pt", tmp_path / "at2.pt")
    train(_args(tmp_path, "--steps", "4", "--resume"))
    shutil.copy(tmp_path / "at2.pt", tmp_path / "latest.pt")
    train(_args(tmp_path, "--steps", "4", "--resume"))
    with open(tmp_path / "log.csv", newline="") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1, 2, 3, 4]


def test_resume_refuses_another_sample_stream(tmp_path):
    train(_args(tmp_path, "--steps", "1"))
    with pytest.raises(FastOCRError, match=r"--batch-size 4 \(now 2\)"):
        train(_args(tmp_path, "--steps", "2", "--batch-size", "2", "--resume"))
    with pytest.raises(FastOCRError, match=r"--seed 0 \(now 1\)"):
        train(_args(tmp_path, "--steps", "2", "--seed", "1", "--resume"))


def test_a_list_with_no_usable_line_is_an_error_not_a_hang(tmp_path):
    Image.new("RGB", (40, 32), "white").save(tmp_path / "a.png")
    (tmp_path / "list.tsv").write_text(f"{tmp_path / 'a.png'}\t{'x' * 30}\n")  # longer than --max-label-len 8
    with pytest.raises(FastOCRError, match="1000 batches in a row had no usable line"):
        train(_args(tmp_path / "run", "--steps", "1", "--no-synth", "--train-list", str(tmp_path / "list.tsv"),
                    "--batch-size", "1"))


def test_run_writes_log_curves_and_a_loadable_model(tmp_path):
    import fastocr

    best = train(_args(tmp_path, "--steps", "2"))
    rows = list(csv.DictReader((tmp_path / "log.csv").read_text().splitlines()))
    assert [int(r["step"]) for r in rows] == [1, 2]
    assert rows[-1]["synth_exact"] != ""
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    rec = fastocr.Recognizer.load(best, device="cpu")
    assert len(rec.alphabet) == 95 and rec.recognize([(tmp_path / "curves.png")])[0].ok


def test_collate_targets_and_dropping_bad_items(tmp_path):
    alphabet = Alphabet("abc ")
    img = torch.zeros(20, 40, 3, dtype=torch.uint8).numpy()
    batch = [(img, "ab"), (img, "xyz"), (tmp_path / "missing.png", "a"), (img, "c a")]
    images, targets, widths, labels = Collate(alphabet)(batch)
    assert widths.tolist() == [64, 64]
    assert labels == ["ab", "c a"] and images.shape == (2, 3, 32, 280)
    assert targets[:, 0].tolist() == [SOS_TOKEN, 2, 3, EOS_TOKEN, PAD_TARGET]
    assert targets[:, 1].tolist() == [SOS_TOKEN, 4, 5, 2, EOS_TOKEN]


def test_label_lists_in_both_formats(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "list.tsv").write_text("a.png\tNEW YORK\nb.png\tx\n", encoding="utf-8")
    (tmp_path / "list.txt").write_text("a.png 情笼罩 在\n\n", encoding="utf-8")
    assert read_label_list(tmp_path / "list.tsv") == [(str(tmp_path / "a.png"), "NEW YORK"), ("b.png", "x")]
    assert read_label_list(tmp_path / "list.txt") == [(str(tmp_path / "a.png"), "情笼罩 在")]
    # a byte-order mark, CRLF line ends, a form feed inside a label, a path with a space in the original format
    (tmp_path / "my dir").mkdir()
    (tmp_path / "my dir" / "c.png").write_bytes(b"")
    (tmp_path / "bom.tsv").write_bytes("\ufeffa.png\tA\x0cB\r\nb.png\tx\r\n".encode())
    assert read_label_list(tmp_path / "bom.tsv") == [(str(tmp_path / "a.png"), "A\x0cB"), ("b.png", "x")]
    (tmp_path / "spaces.txt").write_text("my dir/c.png word\na.png other\n", encoding="utf-8")
    assert read_label_list(tmp_path / "spaces.txt") == [(str(tmp_path / "my dir/c.png"), "word"),
                                                        (str(tmp_path / "a.png"), "other")]


def test_metrics():
    assert edit_distance("kitten", "sitting") == 3
    assert alnum_lower("Hello, World!") == "helloworld"
    m = score(["Hello", "worl", "ABC"], ["Hello", "world", "abc"])
    assert m["exact"] == pytest.approx(1 / 3) and m["exact_alnum_ci"] == pytest.approx(2 / 3)
    assert m["cer"] == pytest.approx(4 / 13)
    assert {"expected": "d", "got": "", "count": 1} in m["confusions"]
    long = score(["a" * 45, "b" * 12, "c", "x" * 85], ["a" * 45, "b" * 13, "c", "y" * 85])
    assert list(long["by_length"]) == ["1", "10-19", "40-79", "80+"]  # in length order
    assert long["by_length"]["10-19"] == {"count": 1, "exact": 0.0, "cer": pytest.approx(1 / 13)}
    assert long["by_length"]["80+"]["cer"] == 1.0 and long["by_length"]["40-79"]["exact"] == 1.0


def test_case_insensitive_match_beyond_ascii():
    assert alnum_lower("ｗｏｒｄ１２") == "word12"  # full-width forms
    assert alnum_lower("STRASSE") == alnum_lower("Straße")  # case folding, not lower()
    assert alnum_lower("cafe\u0301") == alnum_lower("café")  # decomposed and composed accents
    assert alnum_lower("किताब") != alnum_lower("कताब")  # a vowel sign is part of the word
    assert alnum_lower("ไม่") != alnum_lower("ไม้")  # and so is a tone mark
    assert score(["abc"], [""])["cer"] == 1.0 and score([""], [""])["cer"] == 0.0  # no label characters


def test_selective_accuracy_by_confidence():
    preds, labels = ["cat", "Dog", "cow", "eel", ""], ["cat", "dog", "cod", "eel", "owl"]
    rows = by_confidence(preds, labels, [0.99, 0.97, 0.6, 0.95, 0.0], thresholds=(0.99, 0.95, 0.5, 0.0, 1.5))
    assert [(r["min_confidence"], r["count"], r["coverage"]) for r in rows] == \
           [(0.99, 1, 0.2), (0.95, 3, 0.6), (0.5, 4, 0.8), (0.0, 5, 1.0), (1.5, 0, 0.0)]
    assert [r["exact"] for r in rows] == [1.0, pytest.approx(2 / 3), 0.5, 0.4, None]
    assert [r["exact_alnum_ci"] for r in rows] == [1.0, 1.0, 0.75, 0.6, None]  # "Dog" counts case-insensitively
    with pytest.raises(ValueError, match="4 confidences"):
        by_confidence(preds, labels, [1.0] * 4)


def test_variable_width_training_and_warm_start(tmp_path):
    """An additive-attention run trains on bucketed widths and starts from a slot model's encoder."""
    import fastocr

    slot = train(_args(tmp_path / "slot", "--steps", "1"))
    args = _args(tmp_path / "add", "--steps", "2", "--attention", "additive", "--width", "600",
                 "--init-from", str(slot))
    best = train(args)
    rec = fastocr.Recognizer.load(best, device="cpu")
    assert rec.config.attention == "additive" and rec.config.img_width == 600
    slot_sd = fastocr.Recognizer.load(slot, device="cpu").model.state_dict()
    first = "encoder.cnn.cnn.0.weight"
    assert not torch.equal(rec.model.state_dict()[first], slot_sd[first])  # trained on after the warm start
    from fastocr.model import OCRModel
    from fastocr.train.loop import warm_start

    fresh = OCRModel(rec.config, rec.model.num_classes)
    encoder = [k for k in slot_sd if k.startswith("encoder.")]
    assert not torch.equal(fresh.state_dict()[first], slot_sd[first])
    assert warm_start(fresh, str(slot)) >= len(encoder)  # the whole encoder, and what else matches
    assert all(torch.equal(fresh.state_dict()[k], slot_sd[k]) for k in encoder)


def test_collate_pads_variable_width_to_the_widest_bucket():
    alphabet = Alphabet("ab")
    lines = [(torch.zeros(32, w, 3, dtype=torch.uint8).numpy(), "a") for w in (10, 70)]
    images, _, widths, _ = Collate(alphabet, width=600, bucket=32)(lines)
    assert images.shape[-1] == 96 and widths.tolist() == [10, 70]


def test_resume_from_a_corrupt_or_malicious_checkpoint_is_a_clear_error(tmp_path):
    import pickle

    from fastocr import ModelFileError

    class Evil:
        def __reduce__(self):
            return (exec, ("open('PWNED', 'w').write('x')",))

    (tmp_path / "latest.pt").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ModelFileError, match="corrupt or truncated checkpoint"):
        train(_args(tmp_path, "--steps", "1", "--resume"))
    with open(tmp_path / "latest.pt", "wb") as f:
        pickle.dump({"model": Evil()}, f)
    with pytest.raises(ModelFileError, match="refused"):
        train(_args(tmp_path, "--steps", "1", "--resume"))
    assert not (tmp_path / "PWNED").exists() and not os.path.exists("PWNED")


def test_ctc_loss_reads_the_labels_without_sos_eos_or_padding():
    """The auxiliary CTC loss scores exactly the label characters (blank = class 0) over each line's columns."""
    from fastocr.train.loop import ctc_loss

    torch.manual_seed(0)
    alphabet = Alphabet("abc")
    img = torch.zeros(32, 40, 3, dtype=torch.uint8).numpy()
    _, targets, _, _ = Collate(alphabet)([(img, "abca"), (img, "c")])
    head = torch.nn.Linear(8, alphabet.num_classes)
    enc = torch.randn(9, 2, 8)
    lengths = torch.tensor([9, 5])
    logp = torch.log_softmax(head(enc), 2)
    expected = torch.nn.functional.ctc_loss(logp, torch.tensor([2, 3, 4, 2, 4]), lengths, torch.tensor([4, 1]),
                                            blank=0, reduction="sum") / 2
    torch.testing.assert_close(ctc_loss(head, enc, targets, lengths), expected)


def test_ctc_head_is_trained_checkpointed_and_left_out_of_the_model_file(tmp_path):
    from safetensors import safe_open

    from fastocr.errors import FastOCRError

    best = train(_args(tmp_path, "--steps", "2", "--ctc-weight", "0.5"))
    ck = torch.load(tmp_path / "latest.pt", weights_only=True)
    assert set(ck["ctc_head"]) == {"weight", "bias"}
    with safe_open(str(best), "pt") as f:
        assert not [k for k in f.keys() if "ctc" in k]  # noqa: SIM118 -- safe_open is not iterable
    train(_args(tmp_path, "--steps", "3", "--ctc-weight", "0.5", "--resume"))  # resumes with its head
    after = torch.load(tmp_path / "latest.pt", weights_only=True)["ctc_head"]
    assert not torch.equal(after["weight"], ck["ctc_head"]["weight"])  # the third step trained it
    with pytest.raises(FastOCRError, match="--ctc-weight"):
        train(_args(tmp_path, "--steps", "4", "--ctc-weight", "0", "--resume"))


def test_training_reports_the_share_of_time_spent_waiting_for_data(tmp_path, capsys, monkeypatch):
    """Deterministic: an injected clock, which a loader slower than the step moves by 10 s per batch."""
    from fastocr.train import loop
    from fastocr.train.data import Collate

    now = [0.0]

    def clock():  # every reading moves on a millisecond: a step's own time
        now[0] += 0.001
        return now[0]

    collate = Collate.__call__

    def slow(self, items):  # a loader slower than the step: the report must say training waits on data
        now[0] += 10.0
        return collate(self, items)

    monkeypatch.setattr(loop, "_clock", clock)
    monkeypatch.setattr(Collate, "__call__", slow)
    train(_args(tmp_path, "--steps", "2"))
    report = [line for line in capsys.readouterr().err.splitlines() if line.startswith("waited for data")]
    assert len(report) == 1 and "(2 steps," in report[0]
    assert int(report[0].split()[3].rstrip("%")) >= 99


def test_words_file_feeds_the_synthetic_lines(tmp_path, capsys):
    from fastocr.train.loop import _validation_sets

    (tmp_path / "words.txt").write_text("zyzzyva quixotic\n")
    args = _args(tmp_path, "--words", str(tmp_path / "words.txt"), "--val-size", "60")
    labels = [label for _, label in _validation_sets(args, Alphabet(ASCII))["synth"]]
    assert any("zyzzyva" in s.lower() or "quixotic" in s.lower() for s in labels)
    with pytest.raises(SystemExit):  # a usage error, found when the command line is read
        _args(tmp_path, "--words", str(tmp_path / "missing.txt"))
    assert "argument --words: no such file" in capsys.readouterr().err


def test_learning_rate_decays_from_the_given_step_and_survives_a_resume(tmp_path):
    """--decay-from: constant --lr up to that step, then a cosine down to a hundredth at --steps; the rate is a
    function of the step, so the update after a resume uses the rate a straight run would."""
    from fastocr.errors import FastOCRError
    from fastocr.train.loop import learning_rate

    args = _args(tmp_path, "--steps", "100", "--decay-from", "60", "--lr", "1e-3")
    rates = [learning_rate(args, s) for s in range(101)]
    assert rates[:61] == [1e-3] * 61
    assert rates[80] == pytest.approx(0.505e-3) and rates[100] == pytest.approx(1e-5)
    assert all(a > b for a, b in itertools.pairwise(rates[60:]))
    train(_args(tmp_path, "--steps", "3", "--decay-from", "1", "--lr", "1e-3"))
    ck = torch.load(tmp_path / "latest.pt", weights_only=True)
    assert ck["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.505e-3)  # the update after step 2 of 3
    train(_args(tmp_path, "--steps", "4", "--decay-from", "1", "--lr", "1e-3", "--resume"))
    ck = torch.load(tmp_path / "latest.pt", weights_only=True)
    assert ck["optimizer"]["param_groups"][0]["lr"] == pytest.approx(learning_rate(
        _args(tmp_path, "--steps", "4", "--decay-from", "1", "--lr", "1e-3"), 3))
    with pytest.raises(FastOCRError, match="--decay-from"):
        train(_args(tmp_path, "--steps", "4", "--decay-from", "4"))


def test_warmup_raises_the_rate_linearly_then_the_schedule_goes_on(tmp_path):
    from fastocr.train.loop import learning_rate

    args = _args(tmp_path, "--steps", "100", "--warmup", "10", "--decay-from", "60", "--lr", "1e-3")
    rates = [learning_rate(args, s) for s in range(101)]
    assert rates[:10] == pytest.approx([1e-4 * k for k in range(1, 11)])
    assert rates[10:61] == [1e-3] * 51 and rates[100] == pytest.approx(1e-5)
    assert learning_rate(_args(tmp_path, "--steps", "100", "--lr", "1e-3"), 0) == 1e-3  # none by default


def test_a_time_limit_stops_cleanly_and_resume_continues(tmp_path, monkeypatch, capsys):
    """--time-limit (a lease's end): the run stops at the step the time runs out, writes latest.pt there, and
    --resume goes on. An injected clock moves 5 s per reading: 4 readings a step, so 25 s end step 2."""
    import time

    import torch as th

    from fastocr.train import loop

    now = [0.0]

    def clock():
        now[0] += 5.0
        return now[0]

    monkeypatch.setattr(loop, "_clock", clock)
    train(_args(tmp_path, "--steps", "50", "--ckpt-every", "100", "--eval-every", "100", "--time-limit", "25"))
    assert "stopped at step 2: --time-limit 25 s reached" in capsys.readouterr().out
    assert th.load(tmp_path / "latest.pt", weights_only=True)["step"] == 2
    monkeypatch.setattr(loop, "_clock", time.perf_counter)
    train(_args(tmp_path, "--steps", "5", "--ckpt-every", "100", "--eval-every", "100", "--resume"))
    assert th.load(tmp_path / "latest.pt", weights_only=True)["step"] == 5


def test_bf16_autocast_only_where_the_cpu_has_bf16_instructions(monkeypatch):
    """Other AVX-512 CPUs run bf16 emulated, 2.5x slower than fp32 (oneDNN still calls it supported)."""
    from fastocr.train.loop import _bf16_is_fast

    cpu = torch.device("cpu")
    for avx512_bf16, amx, fast in ((False, False, False), (True, False, True), (False, True, True)):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda v=avx512_bf16: v)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda v=amx: v)
        assert _bf16_is_fast(cpu) is fast
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported")
    assert _bf16_is_fast(cpu) is False
    assert _bf16_is_fast(torch.device("cuda")) is True


@pytest.mark.parametrize("attention", ["slot", "additive"])
def test_teacher_forced_loss_equals_the_step_by_step_loss(attention):
    """The teacher-forced loss runs one output head over all steps' states: the same loss and gradients as
    stepping the decoder and summing each step's NLL (dropout on: the same draws in the same order)."""
    from fastocr.config import ModelConfig
    from fastocr.model import OCRModel
    from fastocr.train.loop import seq2seq_loss

    torch.manual_seed(0)
    model = OCRModel(ModelConfig(img_width=64, hidden_size=16, attention=attention), 12, dropout_p=0.3).train()
    enc = torch.randn(17, 3, 16)
    lengths = torch.tensor([17, 9, 12]) if attention == "additive" else None
    targets = torch.tensor([[SOS_TOKEN] * 3, [4, 5, 6], [7, EOS_TOKEN, 8], [EOS_TOKEN, PAD_TARGET, 9],
                            [PAD_TARGET, PAD_TARGET, EOS_TOKEN]])

    def step_by_step():
        memory, hidden = model.decoder.memory(enc, lengths), model.decoder.init_hidden(3)
        loss = torch.zeros(())
        for t in range(1, targets.shape[0]):
            logp, hidden, _ = model.decoder(targets[t - 1].clamp(min=0), hidden, memory)
            loss = loss + torch.nn.functional.nll_loss(logp, targets[t], ignore_index=PAD_TARGET, reduction="sum")
        return loss / 3

    losses, grads = [], []
    for fn in (step_by_step, lambda: seq2seq_loss(model, enc, lengths, targets, teacher_forcing=True)):
        torch.manual_seed(1)
        model.zero_grad()
        loss = fn()
        loss.backward()
        losses.append(loss.detach())
        grads.append([p.grad.clone() for p in model.decoder.parameters() if p.grad is not None])
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-6, atol=1e-6)
    assert len(grads[0]) == len(grads[1]) > 0
    for a, b in zip(grads[0], grads[1]):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)
