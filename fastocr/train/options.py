"""``TrainOptions``: everything one training run is told, as a typed value (``fastocr train`` builds one from
its flags; Python callers build one directly)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TrainOptions:
    """A training run's settings; the defaults are ``fastocr train``'s (see ``fastocr train --help``).

    >>> from fastocr.train import TrainOptions, train              # doctest: +SKIP
    >>> train(TrainOptions(out="runs/en", steps=2000, words="/usr/share/dict/words"))   # doctest: +SKIP
    """

    out: str
    train_list: list[str] = field(default_factory=list)  # label lists to train on
    synth: bool = True  # also train on synthetic lines rendered on the fly
    val_list: list[str] = field(default_factory=list)  # label lists to validate on
    val_size: int = 500  # items per validation set
    best_on: str | None = None  # validation set whose exact match picks best.pt (default: the first)
    bucket_window: int = 0  # sort each N batches of samples by rendered width (0: off)
    list_fraction: float = 0.5  # share of lines drawn from the lists when synth is on too
    augment_lists: bool = True  # re-cut and degrade list images at random
    charset: str = "ascii"  # "ascii" (95 printable) or an alphabet file
    attention: str = "slot"  # "slot" (the original, fixed width) or "additive" (variable width)
    width: int = 280  # input width (slot), or widest line before squashing (additive)
    init_from: str | None = None  # a model file or training checkpoint whose matching weights start the run
    max_label_len: int = 24  # longest label trained on
    steps: int = 100_000  # optimizer steps in all
    batch_size: int = 32
    lr: float = 1e-3  # Adam's learning rate
    decay_from: int | None = None  # from this step on, a cosine down to lr / 100 at ``steps``
    warmup: int = 0  # the rate rises linearly to ``lr`` over these first steps (a warm start's fresh Adam moments)
    clip: float = 5.0  # gradient norm clip
    ctc_weight: float = 0.5  # weight of the auxiliary CTC loss (0: the original loss alone)
    words: str | None = None  # word list for synthetic lines (a word a line; the rest of a line is ignored)
    corpus: list[str] = field(default_factory=list)  # text files whose sentences label synthetic CJK lines
    teacher_forcing: float = 0.5  # probability that a batch is trained with teacher forcing
    eval_every: int = 1000
    ckpt_every: int = 200
    log_every: int = 50
    seed: int = 0
    workers: int = 1  # data-loading worker processes
    threads: int = 0  # torch CPU threads (0: torch's choice)
    device: str | None = None
    amp: bool = True  # bf16 autocast where it is fast
    resume: bool = False  # continue from OUT/latest.pt if it exists
    time_limit: float | None = None  # seconds: stop cleanly (latest.pt written) once spent, as a GPU lease ends
