"""Fine-tuning on a small real set: splitting a label list, augmenting its crops, mixing it with synthetic lines."""

import csv
import random

import numpy as np
import pytest
import torch
from PIL import Image
from test_train import _args

from fastocr.alphabet import Alphabet
from fastocr.cli import main
from fastocr.errors import FastOCRError
from fastocr.train import train
from fastocr.train.augment import degrade, jitter_crop
from fastocr.train.data import (
    AugmentedLines,
    Collate,
    LabelledLines,
    WidthWindows,
    read_label_list,
    split_items,
)
from fastocr.train.loop import ResumableSampler, shuffled_windows, val_set_name
from fastocr.train.synth import ASCII_CHARSET

pytest.importorskip("matplotlib")


def _line(path, text="HELLO", size=(90, 30)):
    img = Image.new("RGB", size, (240, 240, 240))
    img.paste((20, 20, 20), (10, 8, 10 + 12 * len(text), 22))
    img.save(path)
    return path


def _list(tmp_path, n):
    rows = [f"{_line(tmp_path / f'{i}.png').name}\tw{i}\n" for i in range(n)]
    (tmp_path / "labels.tsv").write_text("".join(rows))
    return tmp_path / "labels.tsv"


def test_split_is_disjoint_complete_and_fixed_by_the_seed():
    items = [(f"{i}.png", str(i)) for i in range(50)]
    parts = split_items(items, {"test": 20, "val": 5}, seed=3)
    assert [len(parts[k]) for k in ("test", "val", "train")] == [20, 5, 25]
    assert sorted(i for part in parts.values() for i in part) == sorted(items)
    assert parts == split_items(items, {"test": 20, "val": 5}, seed=3)
    assert parts["test"] != split_items(items, {"test": 20, "val": 5}, seed=4)["test"]
    assert parts["test"] == sorted(parts["test"], key=items.index)  # the list's order is kept
    with pytest.raises(FastOCRError, match="cannot hold out 60 of 50"):
        split_items(items, {"test": 60}, seed=0)
    with pytest.raises(FastOCRError, match="remainder"):
        split_items(items, {"train": 5}, seed=0)


def test_split_command_writes_lists_that_read_back_anywhere(tmp_path, capsys):
    src = _list(tmp_path, 12)
    out = tmp_path / "elsewhere" / "split"
    assert main(["split", str(src), "--out", str(out), "--hold-out", "test=4", "--hold-out", "val=3"]) == 0
    parts = {k: read_label_list(out / f"{k}.tsv") for k in ("test", "val", "train")}
    assert [len(v) for v in parts.values()] == [4, 3, 5]
    assert sorted(i for part in parts.values() for i in part) == sorted(read_label_list(src))  # absolute paths: same items
    assert all(Image.open(p).size == (90, 30) for p, _ in parts["test"])
    assert "test.tsv: 4 lines" in capsys.readouterr().out
    assert main(["split", str(src), "--out", str(out), "--hold-out", "test=40"]) == 2
    with pytest.raises(SystemExit):
        main(["split", str(src), "--out", str(out), "--hold-out", "test"])


def test_degrade_and_jitter_are_fixed_by_the_seed_and_keep_the_text_visible():
    img = np.full((32, 100, 3), 230, np.float32)
    img[8:24, 10:90] = 20
    a = degrade(img, np.random.default_rng(1))
    assert a.dtype == np.uint8 and a.shape == img.shape
    assert np.array_equal(a, degrade(img, np.random.default_rng(1)))
    crops = [np.asarray(jitter_crop(img.astype(np.uint8), np.random.default_rng(s)), np.float32) for s in range(20)]
    assert len({c.shape for c in crops}) > 1  # margins move
    for c in crops:
        h, w = c.shape[:2]
        assert 26 <= h <= 38 and 94 <= w <= 106  # at most 8% of the height on each side
        assert c[h // 2, w // 2].mean() < c[1].mean()  # dark text on a light ground survives
    assert np.array_equal(crops[3], np.asarray(jitter_crop(img.astype(np.uint8), np.random.default_rng(3)), np.float32))


def test_augmented_lines_cycle_the_list_with_new_augmentations(tmp_path):
    lines = LabelledLines(_list(tmp_path, 3))
    aug = AugmentedLines(lines, seed=0, variants=10)
    assert len(aug) == 30
    assert [aug[i][1] for i in (0, 1, 2, 3, 29)] == ["w0", "w1", "w2", "w0", "w2"]
    a, b = np.asarray(aug[0][0]), np.asarray(aug[3][0])
    assert a.shape != b.shape or not np.array_equal(a, b)  # the same line, augmented anew
    assert np.array_equal(np.asarray(aug[3][0]), np.asarray(AugmentedLines(lines, seed=0, variants=10)[3][0]))
    (tmp_path / "gone.tsv").write_text("gone.png\tx\n")
    assert AugmentedLines(LabelledLines(tmp_path / "gone.tsv"), seed=0)[5] == ("gone.png", "x")  # Collate drops it


def test_list_fraction_sets_the_share_of_list_lines():
    s = ResumableSampler(n_list=100, has_synth=True, seed=0, list_fraction=0.3)
    from_list = sum(s.index_at(n) < 100 for n in range(5000)) / 5000
    assert abs(from_list - 0.3) < 0.03


def test_val_set_names_and_best_on(tmp_path, monkeypatch):
    import fastocr.train.loop

    assert val_set_name("data/real_dev/labels.tsv") == "real_dev"
    assert val_set_name("splits/real_dev/val.tsv") == "val"
    from fastocr.alphabet import Alphabet
    from fastocr.train.loop import _validation_sets
    from fastocr.train.synth import ASCII_CHARSET

    (tmp_path / "a").mkdir()
    for d in ("a", "."):
        (tmp_path / d / "val.tsv").write_text("x.png\tx\n")
    with pytest.raises(FastOCRError, match="already named 'val'"):
        _validation_sets(_args(tmp_path, "--no-synth", "--val-list", str(tmp_path / "a" / "val.tsv"),
                               "--val-list", str(tmp_path / "val.tsv")), Alphabet(ASCII_CHARSET))
    src = _list(tmp_path, 8)
    main(["split", str(src), "--out", str(tmp_path / "s"), "--hold-out", "val=3"])
    real_evaluate = fastocr.train.loop.evaluate
    # Scores that tell the sets apart (4 synthetic lines, 3 val lines), from a real evaluation's dict.
    monkeypatch.setattr(fastocr.train.loop, "evaluate", lambda m, a, items: {**real_evaluate(m, a, items),
                                                                          "exact": len(items) / 100})
    for best_on, expected in (("val", 0.03), ("synth", 0.04)):
        run = tmp_path / best_on
        train(_args(run, "--steps", "2", "--train-list", str(tmp_path / "s" / "train.tsv"),
                    "--val-list", str(tmp_path / "s" / "val.tsv"), "--best-on", best_on))
        rows = list(csv.DictReader((run / "log.csv").read_text().splitlines()))
        assert float(rows[-1]["val_exact"]) == 0.03 and float(rows[-1]["synth_exact"]) == 0.04
        assert torch.load(run / "best.pt", weights_only=True)["best"] == expected
    with pytest.raises(FastOCRError, match="--best-on nope: no such validation set"):
        train(_args(tmp_path / "run2", "--steps", "1", "--best-on", "nope"))
    with pytest.raises(FastOCRError, match="--list-fraction"):
        train(_args(tmp_path / "run3", "--steps", "1", "--list-fraction", "0"))


def test_warm_start_from_a_training_checkpoint_takes_its_ctc_head(tmp_path):
    from fastocr.train.loop import warm_start

    train(_args(tmp_path, "--steps", "1", "--ctc-weight", "0.5"))
    ck = torch.load(tmp_path / "latest.pt", weights_only=True)
    model = fastocr_model_like(ck)
    head = torch.nn.Linear(model.config.hidden_size, model.num_classes)
    assert warm_start(model, tmp_path / "latest.pt", head) == len(ck["model"])
    assert torch.equal(head.weight, ck["ctc_head"]["weight"]) and torch.equal(head.bias, ck["ctc_head"]["bias"])
    other = torch.nn.Linear(model.config.hidden_size, 7)  # another alphabet: the head is left as it was
    before = other.weight.clone()
    warm_start(model, tmp_path / "latest.pt", other)
    assert torch.equal(other.weight, before)


def fastocr_model_like(ck):
    from fastocr.alphabet import Alphabet
    from fastocr.config import ModelConfig
    from fastocr.model import OCRModel

    return OCRModel(ModelConfig.from_dict(ck["config"]), Alphabet(ck["alphabet"]).num_classes)


def test_init_from_a_missing_or_foreign_file_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:  # a usage error of the command line, before anything runs
        train(_args(tmp_path / "a", "--steps", "1", "--init-from", str(tmp_path / "nope.pt")))
    assert e.value.code == 2 and f"--init-from: no such file: {tmp_path / 'nope.pt'}" in capsys.readouterr().err
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(FastOCRError, match="junk.pt"):
        train(_args(tmp_path / "b", "--steps", "1", "--init-from", str(tmp_path / "junk.pt")))


def test_resume_with_a_lower_lr_decays_it(tmp_path):
    train(_args(tmp_path, "--steps", "1", "--lr", "1e-3"))
    train(_args(tmp_path, "--steps", "2", "--lr", "1e-4", "--resume"))
    ck = torch.load(tmp_path / "latest.pt", weights_only=True)
    assert ck["step"] == 2 and [g["lr"] for g in ck["optimizer"]["param_groups"]] == [1e-4]


def _window(seed: int, n: int = 32) -> list:
    """A window of n rendered-like items: blank lines 32 px high of pseudo-random widths, labelled by index."""
    widths = random.Random(seed).choices(range(8, 400), k=n)
    return [(np.full((32, w, 3), 255, np.uint8), f"w{i}") for i, w in enumerate(widths)]


def test_width_windows_group_lines_of_like_widths():
    """4 batches of 8 from a window of 32: every line once, each batch a run of the window sorted by width,
    so batches span less width than batches as drawn; dropped lines shorten the last batch."""
    from itertools import pairwise

    collate = Collate(Alphabet(ASCII_CHARSET), max_label_len=8, width=2048, bucket=32)
    window = _window(0)
    batches = WidthWindows(collate, batch_size=8, batches=4)(window)
    assert sorted(label for b in batches for label in b[3]) == sorted(label for _, label in window)
    widths = [sorted(b[2].tolist()) for b in batches]
    assert all(a[-1] <= b[0] for a, b in pairwise(widths))
    as_drawn = [collate(window[i : i + 8]) for i in range(0, 32, 8)]
    assert sum(b[0].shape[3] for b in batches) < sum(b[0].shape[3] for b in as_drawn) * 0.8
    for b in batches:  # each line's own width is kept for the attention mask
        assert b[0].shape[3] >= b[2].max() and b[1].shape[1] == len(b[3])
    window[5] = (window[5][0], "x" * 9)  # longer than max_label_len: dropped
    short = WidthWindows(collate, batch_size=8, batches=4)(window)
    assert [len(b[3]) for b in short] == [8, 8, 8, 7]
    assert WidthWindows(collate, batch_size=8, batches=5)(window)[4] is None  # no lines left for it


def test_shuffled_windows_resume_mid_window():
    windows = [[f"{w}.{b}" for b in range(4)] for w in range(3)]
    full = list(shuffled_windows(windows, 0, 0, seed=5))
    assert sorted(full) == sorted(x for w in windows for x in w) and full[:4] != windows[0]
    assert list(shuffled_windows(windows[1:], 1, 3, seed=5)) == full[7:]  # resumed 3 batches into window 1
    assert list(shuffled_windows(windows, 0, 0, seed=5, rank=1)) != full  # ranks shuffle apart


def test_jitter_crop_keeps_the_ends_of_long_lines():
    """A 20:1 line is turned by at most atan(1/60) (about 1 degree), so marks at its two ends stay in the frame:
    at least half of each stays dark over 60 crops (73% measured; up to 3 degrees left 32%)."""
    h, w = 32, 640
    img = np.full((h, w, 3), 255, np.uint8)
    img[10:22, 4:24] = 0
    img[10:22, w - 24 : w - 4] = 0
    for seed in range(60):
        out = np.asarray(jitter_crop(img, np.random.default_rng(seed))).astype(float).mean(2)
        ends = out[:, : out.shape[1] // 10], out[:, -(out.shape[1] // 10) :]
        assert all((end < 100).sum() >= 0.5 * 12 * 20 for end in ends), seed
