"""Tests for the synthetic text-line renderer (fastocr.train.synth)."""

from __future__ import annotations

import argparse
import re
import shutil
import string
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from fastocr.cli import synth as synth_cli
from fastocr.train import synth


@pytest.fixture(scope="module")
def latin_fonts() -> list[Path]:
    try:
        return synth.find_fonts("latin")
    except RuntimeError as e:
        pytest.skip(f"no latin fonts installed: {e}")


@pytest.fixture(scope="module")
def cjk_fonts() -> list[Path]:
    try:
        return synth.find_fonts("cjk")
    except RuntimeError as e:
        pytest.skip(f"no CJK fonts installed: {e}")


CJK_CHARSET = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 500)) + string.digits


def test_ascii_charset_is_printable_plus_space() -> None:
    assert len(synth.ASCII_CHARSET) == 95
    assert " " in synth.ASCII_CHARSET
    assert not any(c.isspace() and c != " " for c in synth.ASCII_CHARSET)
    assert synth.ASCII_CHARSET == "".join(c for c in string.printable if c in synth.ASCII_CHARSET)


@pytest.mark.parametrize("charset,max_len", [
    (synth.ASCII_CHARSET, 24),
    (synth.ASCII_CHARSET, 5),
    (string.digits, 8),
    (string.ascii_lowercase + " ", 12),
    (string.ascii_uppercase + string.digits + "-.", 10),
    ("xy", 1),
])
def test_sampler_respects_charset_and_length(charset: str, max_len: int) -> None:
    sampler = synth.TextSampler(charset, seed=1, max_len=max_len)
    for _ in range(1500):
        s = sampler.sample()
        assert 1 <= len(s) <= max_len, s
        assert set(s) <= set(charset), s
        assert s == s.strip(), repr(s)


def test_sampler_produces_the_promised_variety() -> None:
    sampler = synth.TextSampler(synth.ASCII_CHARSET, seed=0)
    samples = [sampler.sample() for _ in range(3000)]
    assert any(" " in s for s in samples), "no phrases"
    assert any(re.fullmatch(r"-?\d+", s) for s in samples), "no integers"
    assert any(re.fullmatch(r"-?\d+[.,]\d+", s) for s in samples), "no decimals"
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d", s) for s in samples), "no ISO dates"
    assert any(re.fullmatch(r"-?\$[\d,]+(\.\d\d)?", s) for s in samples), "no prices"
    assert any(re.fullmatch(r"[A-Z]{3,}", s) for s in samples), "no UPPER words"
    assert any(re.fullmatch(r"[A-Z][a-z]{2,}", s) for s in samples), "no Title words"
    assert any(re.fullmatch(r"\(.+\)", s) for s in samples), "no wrapped tokens"
    assert len(set(samples)) > 2000, "too many repeats"


def test_sampler_uses_word_list_and_filters_it() -> None:
    words = ["hello", "world", "naïve", "two words"]
    sampler = synth.TextSampler(string.ascii_letters + " ", seed=0, words=words)
    samples = {sampler.sample().lower() for _ in range(500)}
    assert {"hello", "world"} <= samples
    assert not any("ï" in s for s in samples)


def test_sampler_is_deterministic() -> None:
    a = synth.TextSampler(synth.ASCII_CHARSET, seed=7)
    b = synth.TextSampler(synth.ASCII_CHARSET, seed=7)
    assert [a.sample() for _ in range(50)] == [b.sample() for _ in range(50)]


def test_sampler_cjk_mode() -> None:
    sampler = synth.TextSampler(CJK_CHARSET, seed=0, max_len=10)
    assert sampler.is_cjk
    samples = [sampler.sample() for _ in range(500)]
    assert all(1 <= len(s) <= 10 and set(s) <= set(CJK_CHARSET) for s in samples)
    assert any(any(c.isdigit() for c in s) for s in samples)
    assert {len(s) for s in samples} == set(range(1, 11))


def test_sampler_rejects_blank_charset() -> None:
    with pytest.raises(ValueError):
        synth.TextSampler("  ", seed=0)


def test_has_glyph(latin_fonts: list[Path]) -> None:
    dejavu = [f for f in latin_fonts if f.name == "DejaVuSans.ttf"]
    if not dejavu:
        pytest.skip("DejaVuSans.ttf not installed")
    assert synth.has_glyph(dejavu[0], "A")
    assert synth.has_glyph(dejavu[0], " ")
    assert not synth.has_glyph(dejavu[0], "中")  # DejaVu has no CJK


@pytest.mark.parametrize("augment", [True, False])
def test_render_line_output(latin_fonts: list[Path], augment: bool) -> None:
    for seed in range(15):
        rng = np.random.default_rng(seed)
        img = synth.render_line("Hello 42", latin_fonts[seed % len(latin_fonts)], rng, 32, augment)
        assert img.mode == "RGB"
        w, h = img.size
        assert 24 <= h <= 5 * 32 and w > h
        assert np.asarray(img, dtype=np.float32).std() > 10, "text region looks blank"


def test_render_width_follows_text(latin_fonts: list[Path]) -> None:
    short = synth.render_line("ab", latin_fonts[0], np.random.default_rng(0), augment=False)
    long = synth.render_line("ab" * 10, latin_fonts[0], np.random.default_rng(0), augment=False)
    assert long.width > 5 * short.width


def test_render_never_raises_on_odd_text(latin_fonts: list[Path]) -> None:
    texts = [".", "'", "_", "|", "-", "i", "W" * 24, "a b", "~`^", "ÀÉ€", " x "]
    rng = np.random.default_rng(0)
    for k, text in enumerate(texts * 3):
        font = latin_fonts[k % len(latin_fonts)]
        img = synth.render_line(text, font, rng, height=int(rng.integers(12, 64)))
        assert img.width > 0 and img.height > 0


def test_dataset_is_deterministic(latin_fonts: list[Path]) -> None:
    data = synth.SyntheticLines(synth.ASCII_CHARSET, 20, seed=3)
    assert len(data) == 20
    img1, text1 = data[5]
    img2, text2 = synth.SyntheticLines(synth.ASCII_CHARSET, 20, seed=3)[5]
    assert text1 == text2 and np.array_equal(np.asarray(img1), np.asarray(img2))
    img3, text3 = synth.SyntheticLines(synth.ASCII_CHARSET, 20, seed=4)[5]
    assert text3 != text1 or not np.array_equal(np.asarray(img3), np.asarray(img1))
    assert data[-1][1] == data[19][1]
    with pytest.raises(IndexError):
        data[20]


def test_dataset_labels_respect_charset(latin_fonts: list[Path]) -> None:
    charset = string.digits + "-/."
    data = synth.SyntheticLines(charset, 30, seed=0, fonts=latin_fonts[:2], max_len=10, augment=False)
    for i in range(len(data)):
        img, text = data[i]
        assert isinstance(img, Image.Image) and set(text) <= set(charset) and len(text) <= 10


def test_render_cjk(cjk_fonts: list[Path]) -> None:
    data = synth.SyntheticLines(CJK_CHARSET, 5, seed=0, fonts=cjk_fonts)
    assert data.sampler.is_cjk
    for i in range(5):
        img, text = data[i]
        assert img.mode == "RGB" and set(text) <= set(CJK_CHARSET)
        assert np.asarray(img, dtype=np.float32).std() > 10


def _read_list(path: Path, sep: str) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [tuple(line.split(sep, 1)) for line in lines]  # type: ignore[misc]


def test_write_dataset_tsv_round_trips(latin_fonts: list[Path], tmp_path: Path) -> None:
    out = synth.write_dataset(tmp_path, 10, synth.ASCII_CHARSET, seed=2, progress=False)
    assert out == tmp_path / "labels.tsv"
    entries = _read_list(out, "\t")
    data = synth.SyntheticLines(synth.ASCII_CHARSET, 10, seed=2)
    assert len(entries) == 10
    for i, (rel, label) in enumerate(entries):
        img, text = data[i]
        assert label == text
        assert np.array_equal(np.asarray(Image.open(tmp_path / rel).convert("RGB")), np.asarray(img))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fonts.tsv", "images", "labels.tsv"], "temp file left"
    fonts = _read_list(tmp_path / "fonts.tsv", "\t")
    assert [rel for rel, _ in fonts] == [rel for rel, _ in entries]
    assert [name for _, name in fonts] == [data.font(i).name for i in range(10)]
    assert len({name for _, name in fonts}) > 1 and {name for _, name in fonts} <= {f.name for f in data.fonts}


def test_write_dataset_original_format(latin_fonts: list[Path], tmp_path: Path) -> None:
    out = synth.write_dataset(tmp_path, 25, synth.ASCII_CHARSET, seed=0, fmt="original",
                              progress=False, augment=False)
    assert out.name == "labels.txt"
    for line in out.read_text(encoding="utf-8").splitlines():
        rel, label = line.split(" ", 1)
        assert " " not in label and label
        assert (tmp_path / rel).is_file()
    with pytest.raises(ValueError):
        synth.write_dataset(tmp_path, 1, synth.ASCII_CHARSET, fmt="csv", progress=False)


def test_find_fonts_error_names_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("FASTOCR_FONT_DIRS", str(empty))
    monkeypatch.setattr(synth, "SYSTEM_FONT_DIRS", (tmp_path / "missing",))
    with pytest.raises(RuntimeError, match="fonts-dejavu-core fonts-liberation2"):
        synth.find_fonts("latin")
    with pytest.raises(RuntimeError, match="fonts-wqy-zenhei.*fonts-noto-cjk"):
        synth.find_fonts("cjk")
    with pytest.raises(ValueError):
        synth.find_fonts("klingon")


def test_find_fonts_env_dir_comes_first(latin_fonts: list[Path], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    custom = tmp_path / "MyCustomFont.ttf"  # any name is accepted in user dirs
    shutil.copy(latin_fonts[0], custom)
    monkeypatch.setenv("FASTOCR_FONT_DIRS", str(tmp_path))
    fonts = synth.find_fonts("latin")
    assert fonts[0] == custom.resolve() and len(fonts) > 1
    assert synth.find_fonts("latin", roots=[tmp_path]) == [custom.resolve()]


def test_load_charset(tmp_path: Path) -> None:
    path = tmp_path / "alphabet.txt"
    path.write_bytes("a\nb \r\n中\n \n1\n".encode())
    assert synth.load_charset(path) == "ab中1"  # rstrip() per line, as the original loads it


def test_cli(latin_fonts: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    alphabet = tmp_path / "alphabet.txt"
    alphabet.write_text("".join(f"{c}\n" for c in "0123456789abc"), encoding="utf-8")
    parser = argparse.ArgumentParser(prog="fastocr synth")
    synth_cli.add_arguments(parser)
    assert "example" in parser.description
    args = parser.parse_args([str(tmp_path / "out"), "--count", "4", "--seed", "1", "--format",
                              "original", "--charset", str(alphabet), "--no-augment", "--max-len", "6"])
    assert synth_cli.run(args) == 0
    assert str(tmp_path / "out") in capsys.readouterr().out
    labels = [line.split(" ", 1)[1] for line in (tmp_path / "out" / "labels.txt").read_text().splitlines()]
    assert len(labels) == 4 and all(set(s) <= set("0123456789abc") and len(s) <= 6 for s in labels)
    with pytest.raises(SystemExit) as e:  # a usage error, before any rendering
        parser.parse_args([str(tmp_path / "out2"), "--charset", str(tmp_path / "nope.txt")])
    assert e.value.code == 2 and f"no such file: {tmp_path / 'nope.txt'}" in capsys.readouterr().err


@settings(max_examples=60, deadline=None, database=None)
@given(st.text(min_size=1, max_size=40).filter(str.strip), st.integers(1, 30), st.integers(0, 2**32))
def test_sampler_property(charset: str, max_len: int, seed: int) -> None:
    sampler = synth.TextSampler(charset, seed=seed, max_len=max_len)
    for _ in range(20):
        s = sampler.sample()
        assert 1 <= len(s) <= max_len and set(s) <= set(charset) and s == s.strip()


def test_tracking_spreads_the_letters(latin_fonts: list[Path]) -> None:
    """Letter-spaced lines (as on signs) come out wider, with the same label: the gaps are not spaces."""
    def width(tracking):
        return synth.render_line("MAY", latin_fonts[0], np.random.default_rng(0), augment=False,
                                 tracking=tracking).width
    assert width(0.5) > width(0.0) * 1.3
    a = synth.render_line("MAY", latin_fonts[0], np.random.default_rng(3), tracking=0.4)
    b = synth.render_line("MAY", latin_fonts[0], np.random.default_rng(3), tracking=0.4)
    assert np.array_equal(np.asarray(a), np.asarray(b))


def test_text_effects_paint_near_the_glyphs_only() -> None:
    alpha = np.zeros((40, 80), np.uint8)
    alpha[15:25, 30:50] = 255
    bg = np.full((40, 80, 3), 128.0, np.float32)
    kinds = set()
    for seed in range(30):
        rng = np.random.default_rng(seed)
        kinds.add(int(np.random.default_rng(seed).integers(3)))
        out = synth._text_effect(bg, alpha, np.float32([250, 250, 250]), 32, rng)
        changed = np.abs(out - bg).max(-1) > 1
        assert changed.any(), seed  # an outline, a shadow or an extrusion was painted
        ys, xs = np.nonzero(changed)
        m = 8  # offset (at most 0.1 of the 32 px size) plus a blurred shadow's tail
        assert ys.min() >= 15 - m and ys.max() <= 24 + m and xs.min() >= 30 - m and xs.max() <= 49 + m
    assert kinds == {0, 1, 2}


def test_max_len_over_24_adds_document_lines():
    """A longer max_len brings lines of several words filling up to it; the default keeps its short samples."""
    import random

    words = ["alpha", "Beta", "gamma", "delta", "epsilon"]
    r = random.Random(0)
    long = synth.TextSampler(synth.ASCII_CHARSET, 0, words, max_len=80)
    samples = [long.sample(r) for _ in range(400)]
    assert all(0 < len(s) <= 80 and s == s.strip() for s in samples)
    assert sum(len(s) > 40 for s in samples) > 40
    short = synth.TextSampler(synth.ASCII_CHARSET, 0, words, max_len=24)
    assert max(len(short.sample(r)) for _ in range(400)) <= 24
    assert short._line not in [kind for kind, _ in short._kinds]  # no document lines below 25 characters
    assert long._line in [kind for kind, _ in long._kinds]
