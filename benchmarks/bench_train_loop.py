"""Training speed end to end: ``fastocr train`` on rendered text, in training lines per second.

Everything a run does per step counts: rendering and augmentation (in ``--workers`` processes), collation, the
forward and backward pass with the auxiliary CTC loss, the optimizer step. Start-up (building the model,
rendering the validation set and the first window of samples) and validation are left out: the rate comes from
the run's own log, between its first and last logged steps.

- words: up to 12 characters, the recipe of a CPU background run (``--attention additive --max-label-len 12
  --bucket-window 16``);
- long lines: rendered document lines of 40-100 characters, written to a label list first and read from it
  with the list augmentation (``--no-synth --train-list --max-label-len 100 --width 2048``): the rate of the
  step on long lines, which rendering words cannot show.

On CUDA the batch is 256 and every host core renders; on CPU the batch is 32 with one rendering worker beside
the step's threads.

Run: python -m pytest -o addopts= benchmarks/bench_train_loop.py --benchmark-enable
"""

import csv
import os

import pytest
import torch

from fastocr.cli import build_parser
from fastocr.cli.args import options_from
from fastocr.train import TrainOptions, train
from fastocr.train.data import write_label_list
from fastocr.train.synth import ASCII_CHARSET, SyntheticLines

CUDA = torch.cuda.is_available()
COMMON = ["--attention", "additive", "--bucket-window", "16", "--eval-every", "100000", "--ckpt-every", "100000",
          "--val-size", "4", "--seed", "3"]
KINDS = {"words": ["--synth", "--max-label-len", "12"],
         "long lines": ["--no-synth", "--max-label-len", "100", "--width", "2048"]}
if CUDA:
    HOST = ["--batch-size", "256", "--workers", str(max(1, (os.cpu_count() or 2) - 1))]
    STEPS = {"words": 60, "long lines": 40}
else:
    HOST = ["--batch-size", "32", "--workers", "1", "--threads", str(torch.get_num_threads())]
    STEPS = {"words": 48, "long lines": 8}


def lines_per_second(log: str, batch: int) -> float:
    """Training lines/s between the first and the last row of a run's log.csv (seconds since the run began)."""
    with open(log, newline="") as f:
        rows = list(csv.DictReader(f))
    first, last = rows[0], rows[-1]
    return (int(last["step"]) - int(first["step"])) * batch / (float(last["seconds"]) - float(first["seconds"]))


@pytest.fixture(scope="module")
def long_lines(tmp_path_factory) -> str:
    """A label list of 512 rendered document lines of 40-100 characters (PNG files)."""
    folder = tmp_path_factory.mktemp("long-lines")
    source = SyntheticLines(ASCII_CHARSET, 10**6, seed=11, max_len=100)
    items, i = [], 0
    while len(items) < 512:
        if len(source.label(i)) >= 40:
            image, label = source[i]
            image.save(folder / f"{i}.png")
            items.append((str(folder / f"{i}.png"), label))
        i += 1
    write_label_list(folder / "lines.tsv", items)
    return str(folder / "lines.tsv")


@pytest.mark.parametrize("kind", list(KINDS))
def test_train_loop(benchmark, tmp_path, kind, request):
    steps = STEPS[kind]
    data = ["--train-list", request.getfixturevalue("long_lines")] if kind == "long lines" else []
    argv = ["train", "--out", str(tmp_path), "--steps", str(steps), "--log-every", str(max(1, steps // 6)),
            *COMMON, *KINDS[kind], *data, *HOST]
    opts = options_from(TrainOptions, build_parser().parse_args(argv))
    benchmark.group = f"training, {'cuda' if CUDA else 'cpu'}"
    benchmark.pedantic(train, args=(opts,), rounds=1, iterations=1)
    rate = lines_per_second(str(tmp_path / "log.csv"), opts.batch_size)
    benchmark.extra_info.update(lines_per_s=round(rate, 1), lines=steps * opts.batch_size,
                                command="fastocr train " + " ".join(argv[3:]))
    print(f"\n{kind}: {rate:.1f} training lines/s (fastocr train {' '.join(argv[3:])})")
