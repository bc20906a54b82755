"""Data loading for training: lines per second that one worker process delivers, synthetic (rendered with
augmentations, vocabulary words) and real crops re-cut and degraded (``AugmentedLines``), batched by Collate
as the training loop receives them (at ``--max-label-len`` 24, and 80 with document lines), after 3,000 lines
have warmed the caches as in a long run. Training consumes 32 lines per step; compare with bench_train_step.py.
The fonts are those ``fastocr train`` finds (``FASTOCR_FONT_DIRS``).

Run: python -m pytest -o addopts= benchmarks/bench_synth.py --benchmark-enable --benchmark-columns=median
``extra_info["lines_per_s"]`` is the rate of one process (``fastocr train --workers N`` runs N of them).
"""

from pathlib import Path

import pytest

from fastocr.alphabet import Alphabet
from fastocr.engine.vocabulary import load_words
from fastocr.train.data import AugmentedLines, Collate, LabelledLines
from fastocr.train.synth import ASCII_CHARSET, SyntheticLines, find_fonts, load_charset

LINES = 64
WORDS = Path("/usr/share/dict/words")
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL = SHARED / "data" / "real_dev" / "labels.tsv"
ALPHABET_5990 = SHARED / "seed" / "char_std_5990.txt"
PEOPLES_DAILY = SHARED / "data" / "train_real" / "corpora" / "zh_peoples_daily_199801.txt"


WARM = 3000  # lines drawn before timing: a long run's caches (font faces, glyph checks) are warm


def _rate(benchmark, dataset, offset: int, max_len: int = 24, charset: str = ASCII_CHARSET):
    collate = Collate(Alphabet(charset), width=2048, max_label_len=max_len, bucket=32)
    for i in range(offset + 10**6, offset + 10**6 + WARM):
        dataset[i]
    rounds = iter(range(10**6))

    def load():
        start = offset + next(rounds) * LINES  # new lines every round: nothing cached
        return collate([dataset[i] for i in range(start, start + LINES)])

    benchmark.group = "training data, one process, 64 lines"
    benchmark.pedantic(load, rounds=5, warmup_rounds=1)
    benchmark.extra_info["lines_per_s"] = LINES / benchmark.stats.stats.median


@pytest.mark.parametrize("max_len", [24, 80], ids=["words", "up-to-80-chars"])
def test_synthetic_lines(benchmark, max_len):
    """--max-label-len 80 adds document lines (a quarter of the samples) that take longer to draw."""
    words = load_words(WORDS) if WORDS.exists() else None
    _rate(benchmark, SyntheticLines(ASCII_CHARSET, 10**9, seed=0, words=words, max_len=max_len), 0, max_len)


def test_augmented_real_crops(benchmark):
    if not REAL.exists():
        pytest.skip(f"no {REAL}")
    _rate(benchmark, AugmentedLines(LabelledLines(REAL), seed=0), 0)


def test_chinese_lines(benchmark):
    """The Chinese recipe's lines: 2-30 characters of the original alphabet from People's Daily, in the CJK fonts
    installed (fonts-wqy-*, fonts-arphic-*, fonts-noto-cjk)."""
    from fastocr.train.chinese import read_corpus

    if not (ALPHABET_5990.exists() and PEOPLES_DAILY.exists()):
        pytest.skip(f"no {ALPHABET_5990} or {PEOPLES_DAILY}")
    try:
        fonts = find_fonts("cjk")  # those that draw 中文字
    except RuntimeError as e:
        pytest.skip(str(e))
    charset = load_charset(ALPHABET_5990)
    lines = SyntheticLines(charset, 10**9, seed=0, fonts=fonts, max_len=30, corpus=read_corpus([PEOPLES_DAILY], charset))
    _rate(benchmark, lines, 0, 30, charset)
