"""``fastocr train``: the original seq2seq recipe with its defects fixed, resumable and observable.

Fixed relative to the original ``train.py``: padding is ignored by the loss (it trained on class 2 as padding);
teacher forcing is applied with the probability its name says; labels may contain spaces (TSV lists);
validation runs every ``--eval-every`` steps with exact match and CER; checkpoints hold the optimizer and the
step and are written atomically; a run resumes with the same data order (sample n depends only on the seed
and n). Checkpoints load with ``weights_only=True``.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import math
import os
import random
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ..alphabet import Alphabet
from ..checkpoint import load_model, save_model
from ..config import ModelConfig
from ..engine import Recognizer
from ..errors import FastOCRError, ModelFileError
from ..files import atomic_write_bytes
from ..model import OCRModel
from .data import PAD_TARGET, AugmentedLines, Collate, LabelledLines, WidthWindows, read_label_list
from .metrics import score
from .options import TrainOptions


def init_weights(m: nn.Module) -> None:
    """The original initialisation: Kaiming-normal convolutions, BN (1, 0), zero Linear biases."""
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Linear) and m.bias is not None:
        nn.init.zeros_(m.bias)


def seq2seq_loss(model: OCRModel, enc: torch.Tensor, lengths: torch.Tensor | None, targets: torch.Tensor,
                 teacher_forcing: bool) -> torch.Tensor:
    """Summed token NLL over the line (EOS included, padding ignored), averaged over the batch.

    Args:
        enc: (T, B, H) encoder outputs; lengths: (B,) their valid columns (variable-width models) or None.
        targets: (L + 2, B) int64: SOS, ids, EOS, then PAD_TARGET.
    """
    memory = model.decoder.memory(enc, lengths)
    B = enc.shape[1]
    hidden = model.decoder.init_hidden(B, enc.device)
    if teacher_forcing:  # every input is known: the steps give their states, one output head serves them all
        step, states = model.decoder.decoder, []
        for t in range(1, targets.shape[0]):
            h, _ = step.advance(targets[t - 1].clamp(min=0), hidden, memory)
            hidden = h.unsqueeze(0)
            states.append(h)
        logp = F.log_softmax(step.out(torch.stack(states)).float(), dim=2)  # [L + 1, B, V]
        return F.nll_loss(logp.flatten(0, 1), targets[1:].flatten(), ignore_index=PAD_TARGET, reduction="sum") / B
    tokens, loss = targets[0], enc.new_zeros((), dtype=torch.float32)
    for t in range(1, targets.shape[0]):
        logp, hidden, _ = model.decoder(tokens, hidden, memory)  # [B, V]
        loss = loss + F.nll_loss(logp.float(), targets[t], ignore_index=PAD_TARGET, reduction="sum")
        tokens = logp.argmax(1)
    return loss / B


class ResumableSampler(torch.utils.data.Sampler):
    """An endless index stream where sample n depends only on (seed, n): resuming at n gives the same order.

    With both labelled lists and synthetic data, a list item is drawn with probability ``list_fraction``.
    Synthetic items are numbered by n itself, so each is rendered once. ``start`` counts samples of all ranks;
    under torchrun, rank r takes samples r, r + world, ... of the one stream.
    """

    def __init__(self, n_list: int, has_synth: bool, seed: int, start: int = 0, list_fraction: float = 0.5,
                 rank: int = 0, world: int = 1):
        self.n_list, self.has_synth, self.seed, self.start = n_list, has_synth, seed, start
        self.rank, self.world = rank, world
        self.list_fraction = list_fraction if (n_list and has_synth) else (1.0 if n_list else 0.0)

    def index_at(self, n: int) -> int:
        r = random.Random(self.seed * 1_000_003 + n)
        if r.random() < self.list_fraction:
            return r.randrange(self.n_list)
        return self.n_list + n

    def __iter__(self):
        k = self.start // self.world
        while True:
            yield self.index_at(k * self.world + self.rank)
            k += 1


def shuffled_windows(windows, first: int, skip: int, seed: int, rank: int = 0):
    """The batches of ``WidthWindows`` windows (numbered from ``first``) in an order shuffled per window, from
    batch ``skip`` of the first: narrow and wide batches alternate, and a run resumed mid-window (its stream
    restarted at the window) goes on with the very batches it would have drawn."""
    for number, batches in enumerate(windows, first):
        order = list(range(len(batches)))
        random.Random(f"buckets {seed} {rank} {number}").shuffle(order)
        yield from [batches[i] for i in order][skip:]
        skip = 0


def _bf16_is_fast(device: torch.device) -> bool:
    """bf16 autocast pays on CUDA and on CPUs with bf16 instructions (AVX512-BF16 or AMX: 1.9x per step on an
    AVX512-BF16 EPYC). Other AVX-512 CPUs run it too, emulated by oneDNN, and a step takes 2.5x longer (an
    Intel Xeon without AVX512-BF16), so there it stays off."""
    if device.type == "cuda":
        return True
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without these probes: fp32, which is never slower than emulated bf16
        return False


def ctc_loss(head: nn.Linear, enc: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Auxiliary CTC loss on the encoder outputs [T, B, H], summed per line and averaged over the batch.

    Joint CTC-attention training: CTC makes the encoder align characters to columns from the first steps,
    which the attention decoder otherwise has to discover alone (its loss plateaus for thousands of steps).
    Class 0 (SOS, never a target) serves as the CTC blank; the head is dropped from exported models.
    """
    T, B = enc.shape[:2]
    labels = targets[1:].t()  # [B, L + 1]: ids, EOS, padding
    label_lengths = (labels >= 2).sum(1)
    lengths = lengths if lengths is not None else torch.full((B,), T, dtype=torch.long, device=enc.device)
    logp = F.log_softmax(head(enc).float(), dim=2)
    return F.ctc_loss(logp, labels.clamp(min=0), lengths, label_lengths, blank=0, reduction="sum",
                      zero_infinity=True) / B


class _LossModule(nn.Module):
    """The model with its loss as ``forward``, so DistributedDataParallel sees (and syncs) the whole step.

    With ``ctc_weight`` > 0 it also owns the auxiliary CTC head (``ctc_loss``); returns (total, seq2seq part).
    """

    def __init__(self, model: OCRModel, ctc_weight: float = 0.0):
        super().__init__()
        self.model, self.ctc_weight = model, ctc_weight
        self.ctc_head = nn.Linear(model.config.hidden_size, model.num_classes) if ctc_weight > 0 else None

    def forward(self, images, targets, teacher_forcing: bool, widths=None):
        enc = self.model.encoder(images)
        lengths = self.model.encoder_lengths(widths, enc.shape[0]) if widths is not None else None
        s2s = seq2seq_loss(self.model, enc, lengths, targets, teacher_forcing)
        if self.ctc_head is None:
            return s2s, s2s
        return s2s + self.ctc_weight * ctc_loss(self.ctc_head, enc, targets, lengths), s2s


def _init_distributed(device: torch.device) -> tuple[int, int, int]:
    """(rank, local rank, world size): from torchrun's environment, with a gloo (CPU) or nccl (CUDA) group, as
    the training device is (``--device cpu`` on a CUDA machine trains over gloo)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0")), world


def weights_digest(model: nn.Module) -> str:
    """sha256 of every tensor of the state dict, in key order: equal digests mean identical weights."""
    h = hashlib.sha256()
    for k, v in model.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _check_ranks_in_sync(model: nn.Module, world: int) -> None:
    """Gives every rank rank 0's BatchNorm statistics (DDP syncs them only at the start of a forward, so the
    last batch left each rank its own), then checks that all ranks hold the very same state dict."""
    for buf in model.buffers():
        dist.broadcast(buf, src=0)
    digests = [None] * world
    dist.all_gather_object(digests, weights_digest(model))
    if len(set(digests)) != 1:
        raise FastOCRError(f"ranks hold different weights after training: {digests}")
    if dist.get_rank() == 0:
        print(f"weights identical on all {world} ranks (sha256 {digests[0][:16]})", file=sys.stderr)


def warm_start(model: OCRModel, path: str, ctc_head: nn.Module | None = None) -> int:
    """Copies every weight of ``path`` (a model file or a training checkpoint) whose name and shape match,
    and a training checkpoint's CTC head into ``ctc_head`` when both have one of the same shape."""
    if not Path(path).is_file():
        raise ModelFileError(str(path), "no such file to start from (--init-from)")
    if str(path).endswith(".pt"):
        ck = _load_checkpoint(Path(path), "cpu")
        weights = ck["model"]
        head = ck.get("ctc_head")
        if ctc_head is not None and head and all(v.shape == ctc_head.state_dict()[k].shape for k, v in head.items()):
            ctc_head.load_state_dict(head)
    else:
        weights = load_model(path)[0].state_dict()
    own = model.state_dict()
    matched = {k: v.to(own[k].dtype) for k, v in weights.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(matched, strict=False)
    return len(matched)


def _check_stream(ck: dict, opts: TrainOptions, world: int, path: Path) -> int:
    """The number of batches the checkpointed run drew, after checking that this run would draw the same
    samples (seed, batch size, bucketing, list share, world size; checkpoints from before these were kept are
    trusted and resume at ``step`` batches)."""
    stream = ck.get("stream")
    if stream is None:
        if ck.get("seed", opts.seed) != opts.seed:
            raise FastOCRError(f"{path}: the run used --seed {ck['seed']}, not {opts.seed}: resume with the same")
        return ck["step"]
    differ = [f"--{k.replace('_', '-')} {stream[k]} (now {getattr(opts, k)})" for k in STREAM_ARGS
              if stream[k] != getattr(opts, k)]
    if stream["world"] != world:
        differ.append(f"{stream['world']} processes (now {world})")
    if differ:
        raise FastOCRError(f"{path}: resuming would draw other samples than the run did: it had "
                           f"{', '.join(differ)}; resume with the same settings")
    return stream["batches"]


def _truncate_log(log_path: Path, step: int) -> None:
    """Drops the log rows written after the checkpoint being resumed from (they will be written again)."""
    if not log_path.exists():
        return
    with open(log_path, newline="") as f:
        rows = list(csv.reader(f))
    kept = rows[:1] + [r for r in rows[1:] if r and r[0].isdigit() and int(r[0]) <= step]
    if len(kept) < len(rows):
        buf = io.StringIO()
        csv.writer(buf).writerows(kept)  # the csv module's own line ends, as DictWriter writes them
        atomic_write_bytes(log_path, buf.getvalue().encode())


def _teacher_forcing(opts, step: int) -> bool:
    """Whether step ``step`` uses teacher forcing: a function of (seed, step), so resuming changes nothing."""
    return random.Random(opts.seed * 7919 + step).random() < opts.teacher_forcing


def _words(opts) -> tuple[str, ...] | None:
    return _read_words(opts.words) if opts.words else None


@functools.lru_cache(maxsize=2)  # training and validation sets read it once
def _read_words(path: str) -> tuple[str, ...]:
    """The first field of each line: plain lists, and lists with frequencies or tags after the word."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise FastOCRError(f"--words {path}: cannot read the word list ({e})") from e
    return tuple(line.split()[0] for line in lines if line.strip())


def _corpus(opts, alphabet: Alphabet) -> tuple[list[str], list[str]]:
    """(training, validation) runs of ``--corpus`` text, split by sentence (``chinese.held_out``)."""
    return _read_corpus(tuple(opts.corpus), alphabet.chars) if opts.corpus else ([], [])


@functools.lru_cache(maxsize=2)  # training and validation sets read it once
def _read_corpus(paths: tuple[str, ...], chars: str) -> tuple[list[str], list[str]]:
    from .chinese import held_out, read_corpus

    train_runs, val_runs = held_out(read_corpus(paths, chars))
    if not val_runs:
        raise FastOCRError(f"--corpus {' '.join(paths)}: too little text to hold sentences out for validation "
                           "(one in 50 is held out)")
    return train_runs, val_runs


def _dataset(opts, alphabet: Alphabet):
    from .synth import SyntheticLines

    parts = [LabelledLines(p) for p in opts.train_list]
    if opts.augment_lists:
        parts = [AugmentedLines(p, seed=opts.seed + k) for k, p in enumerate(parts)]
    n_list = sum(len(p) for p in parts)
    if opts.synth:
        parts.append(SyntheticLines(alphabet.chars, 2**62, seed=opts.seed, max_len=opts.max_label_len,
                                    words=_words(opts), corpus=_corpus(opts, alphabet)[0]))
    if not parts:
        raise FastOCRError("nothing to train on: give --train-list files and/or --synth")
    return torch.utils.data.ConcatDataset(parts), n_list


def val_set_name(path: str) -> str:
    """A validation list's name in the log: its file name, or its folder's for ``labels.*`` files."""
    p = Path(path)
    return (p.parent.name or p.stem) if p.stem == "labels" else p.stem


def _validation_sets(opts, alphabet: Alphabet) -> dict[str, list]:
    from .synth import SyntheticLines

    sets = {}
    if opts.synth:
        held_out = SyntheticLines(alphabet.chars, opts.val_size, seed=opts.seed + 7_777_777,
                                  max_len=opts.max_label_len, words=_words(opts), corpus=_corpus(opts, alphabet)[1])
        sets["synth"] = [held_out[i] for i in range(len(held_out))]
    for path in opts.val_list:
        items = read_label_list(path)
        name = val_set_name(path)
        if name in sets:
            raise FastOCRError(f"--val-list {path}: a validation set is already named {name!r} (names come from "
                               "file names, or folder names for labels.tsv): rename one")
        sets[name] = items[: opts.val_size]
    return sets


def evaluate(model: OCRModel, alphabet: Alphabet, items: list, batch_size: int = 64) -> dict:
    """Greedy recognition of (image, label) items with the model in eval mode; returns ``metrics.score``."""
    was_training = model.training
    # the recognizer reads NHWC convolution weights: training keeps its CNN in NHWC, so this reads the model
    # itself; a model in another layout is copied (tens of ms), training keeping its own weights' layout
    rec = Recognizer(model, alphabet, device=next(model.parameters()).device)
    preds = [r.text for r in rec.recognize([im for im, _ in items], batch_size=batch_size)]
    model.train(was_training)
    return score(preds, [label for _, label in items])


BAR_EVERY = 10  # steps between the progress bar's loss readings


def _mean(losses: list[torch.Tensor]) -> float:
    """The mean of the steps' detached losses, read from the device once (0.0 for none)."""
    return float(torch.stack(losses).mean()) if losses else 0.0


_clock = time.perf_counter  # times the wait for data against the step (tests inject a clock of their own)

# What fixes the order of the sample stream: a run resumes only with the same values (``_check_stream``).
STREAM_ARGS = ("seed", "batch_size", "bucket_window", "list_fraction")


def _save_checkpoint(path: Path, loss_module: _LossModule, optimizer, step: int, best: float, opts,
                     alphabet, stream: dict) -> None:
    """``stream``: the sample stream's position ("batches" drawn, dropped ones included) and world size."""
    model = loss_module.model
    ck = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "best": best,
          "config": model.config.to_dict(), "alphabet": alphabet.chars, "torch_rng": torch.get_rng_state(),
          "stream": {**{k: getattr(opts, k) for k in STREAM_ARGS}, **stream}}  # the seed among them
    if torch.cuda.is_available():  # dropout on CUDA draws from the CUDA generators
        ck["cuda_rng"] = torch.cuda.get_rng_state_all()
    if loss_module.ctc_head is not None:
        ck["ctc_head"] = loss_module.ctc_head.state_dict()
    buf = io.BytesIO()
    torch.save(ck, buf)
    atomic_write_bytes(path, buf.getvalue())


def export_checkpoint(checkpoint: str | Path, out: str | Path, dtype: torch.dtype | None = torch.float16) -> Path:
    """A training checkpoint's weights as a fastocr model file (fp16 by default: a lease brings back 18 MB, not
    the checkpoint's 110 with Adam's state); ``--init-from`` it to go on from these weights."""
    ck = _load_checkpoint(Path(checkpoint), "cpu")
    alphabet = Alphabet(ck["alphabet"])
    model = OCRModel(ModelConfig.from_dict(ck["config"]), alphabet.num_classes)
    model.load_state_dict(ck["model"])
    save_model(out, model, alphabet, dtype)
    return Path(out)


def _load_checkpoint(path: Path, device) -> dict:
    """A training checkpoint, loaded without unpickling code; corrupt or foreign files raise ModelFileError."""
    import pickle

    try:
        ck = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as e:
        raise ModelFileError(str(path), f"refused: holds Python objects other than tensors ({e})") from e
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise ModelFileError(str(path), f"corrupt or truncated checkpoint ({e}); best.pt may still be good") from e
    if not isinstance(ck, dict) or not {"model", "optimizer", "step"} <= set(ck):
        raise ModelFileError(str(path), "not a fastocr training checkpoint")
    return ck


def _plot(log_path: Path, png_path: Path) -> None:
    from ..plots import pyplot, save_png

    plt = pyplot()

    with open(log_path) as f:
        rows = list(csv.DictReader(f))
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4))
    ax1.plot([int(r["step"]) for r in rows], [float(r["loss"]) for r in rows])
    ax1.set(xlabel="step", ylabel="train loss (NLL per line)", title="loss")
    # CER moves long before exact match leaves 0, so both are drawn
    for ax, suffix, label in ((ax2, "_exact", "exact match"), (ax3, "_cer", "character error rate")):
        for key in [k for k in rows[0] if k.endswith(suffix)] if rows else []:
            pts = [(int(r["step"]), float(r[key])) for r in rows if r.get(key)]
            if pts:
                ax.plot(*zip(*pts), marker="o", label=key.removesuffix(suffix))
        ax.set(xlabel="step", ylabel=label, title=f"validation {label}", ylim=(0, 1 if suffix == "_exact" else None))
        ax.legend(loc="best")
    save_png(fig, png_path)


@dataclass
class _Run:
    """What rank 0 does between steps: log the loss, validate, keep the best model, write checkpoints."""

    opts: TrainOptions
    out: Path
    loss_module: _LossModule
    optimizer: torch.optim.Optimizer
    alphabet: Alphabet
    val_sets: dict
    log_path: Path
    fields: list
    t0: float
    stream: dict  # batches drawn so far and the world size, for the checkpoints

    @property
    def model(self) -> OCRModel:
        return self.loss_module.model

    def after_step(self, step: int, running: list, best: float) -> tuple[list, float]:
        """Returns the loss list to keep accumulating and the best validation score so far."""
        a, row = self.opts, None
        if step % a.log_every == 0:
            row = {"step": step, "loss": _mean(running), "seconds": round(time.time() - self.t0, 1)}
            running = []
        if step % a.eval_every == 0 or step == a.steps:
            row = row or {"step": step, "loss": _mean(running),
                          "seconds": round(time.time() - self.t0, 1)}
            best = self._validate(step, row, best)
        if row:
            with open(self.log_path, "a", newline="") as f:
                csv.DictWriter(f, self.fields).writerow(row)
            if step % a.eval_every == 0 or step == a.steps:  # a run shorter than --eval-every gets curves too
                _plot(self.log_path, self.out / "curves.png")
        if step % a.ckpt_every == 0 or step == a.steps:
            _save_checkpoint(self.out / "latest.pt", self.loss_module, self.optimizer, step, best, a, self.alphabet,
                             self.stream)
        return running, best

    def _validate(self, step: int, row: dict, best: float) -> float:
        self.model.eval()
        for name, items in self.val_sets.items():
            m = evaluate(self.model, self.alphabet, items)
            row.update({f"{name}_exact": m["exact"], f"{name}_exact_alnum_ci": m["exact_alnum_ci"],
                        f"{name}_cer": m["cer"]})
        self.model.train()
        primary = row.get(f"{self.opts.best_on or next(iter(self.val_sets))}_exact", 0.0) if self.val_sets else 0.0
        tqdm.write(f"step {step}: " + ", ".join(f"{k}={v:.4f}" for k, v in row.items() if "_" in k))
        if primary > best:
            best = primary
            save_model(self.out / "best.safetensors", self.model, self.alphabet)
            _save_checkpoint(self.out / "best.pt", self.loss_module, self.optimizer, step, best, self.opts,
                             self.alphabet, self.stream)
        return best


def _time_is_up(deadline: float, world: int, device: torch.device) -> bool:
    """Whether ``--time-limit`` has run out; under torchrun all ranks stop at the same step (rank 0's clock or
    any other's, whichever runs out first)."""
    up = _clock() >= deadline
    if world > 1:
        flag = torch.tensor([float(up)], device=device if device.type == "cuda" else "cpu")
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        up = bool(flag.item())
    return up


def learning_rate(opts: TrainOptions, step: int) -> float:
    """The rate of the update after ``step`` steps: rising linearly over ``--warmup`` steps, then ``--lr``, then
    from ``--decay-from`` on a cosine down to a hundredth of it at ``--steps``. A function of the step alone, so a
    resumed run keeps to the schedule."""
    if step < opts.warmup:
        return opts.lr * (step + 1) / opts.warmup
    start = opts.decay_from
    if start is None or step <= start:
        return opts.lr
    done = min(1.0, (step - start) / (opts.steps - start))
    return opts.lr * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * done)))


def train(opts: TrainOptions) -> Path:
    """Runs (or resumes) training; returns the path of the best model file."""
    from .synth import ASCII_CHARSET

    if opts.decay_from is not None and not 0 <= opts.decay_from < opts.steps:
        raise FastOCRError(f"--decay-from {opts.decay_from}: must be in [0, --steps {opts.steps})")
    if opts.bucket_window < 0:
        raise FastOCRError(f"--bucket-window {opts.bucket_window}: must be >= 0")
    if not 0.0 < opts.list_fraction <= 1.0:
        raise FastOCRError(f"--list-fraction {opts.list_fraction}: must be in (0, 1]")
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".*.tmp"):  # a write cut short by a kill; the file it was replacing is intact
        stale.unlink()
    torch.manual_seed(opts.seed)
    if opts.threads:
        torch.set_num_threads(opts.threads)
    device = torch.device(opts.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    rank, local_rank, world = _init_distributed(device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    lead = rank == 0  # only rank 0 validates, logs and writes checkpoints
    alphabet = Alphabet(ASCII_CHARSET) if opts.charset == "ascii" else Alphabet.from_file(opts.charset)
    config = ModelConfig(img_width=opts.width, max_decode_len=opts.max_label_len + 1, attention=opts.attention)
    model = OCRModel(config, alphabet.num_classes, dropout_p=0.1)
    model.apply(init_weights)
    model.to(device).train()
    model.encoder.cnn.to(memory_format=torch.channels_last)  # NHWC convolutions: steps 7% faster on 2 CPU cores
    loss_module = _LossModule(model, opts.ctc_weight).to(device)
    # on CUDA one fused kernel updates all parameters (the same state dict: runs resume across devices)
    optimizer = torch.optim.Adam(loss_module.parameters(), lr=opts.lr, fused=True if device.type == "cuda" else None)
    step, best, batches = 0, -1.0, 0
    latest = out / "latest.pt"
    if opts.resume and latest.exists():
        ck = _load_checkpoint(latest, device)
        if ck["alphabet"] != alphabet.chars or ck["config"] != config.to_dict():
            raise FastOCRError(f"{latest}: checkpoint alphabet/config differ from this run's arguments")
        if ("ctc_head" in ck) != (loss_module.ctc_head is not None):
            raise FastOCRError(f"{latest}: checkpoint was trained {'with' if 'ctc_head' in ck else 'without'} "
                               "the CTC head; resume with the same --ctc-weight (0 or not)")
        model.load_state_dict(ck["model"])
        if loss_module.ctc_head is not None:
            loss_module.ctc_head.load_state_dict(ck["ctc_head"])
        optimizer.load_state_dict(ck["optimizer"])
        step, best = ck["step"], ck["best"]
        batches = _check_stream(ck, opts, world, latest)
        if "torch_rng" in ck:  # dropout masks continue as if never interrupted
            torch.set_rng_state(ck["torch_rng"].cpu())
        if "cuda_rng" in ck and torch.cuda.is_available() and len(ck["cuda_rng"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in ck["cuda_rng"]])
        if lead:
            _truncate_log(out / "log.csv", step)
        if lead:
            print(f"resumed from {latest} at step {step} (best {best:.4f})", file=sys.stderr)
    elif opts.init_from:
        n = warm_start(model, opts.init_from, loss_module.ctc_head)
        print(f"initialised {n} of {len(model.state_dict())} tensors from {opts.init_from}", file=sys.stderr)
    dataset, n_list = _dataset(opts, alphabet)
    collate = Collate(alphabet, config.img_height, config.img_width, opts.max_label_len,
                      config.width_bucket if config.variable_width else None)
    window = opts.bucket_window or 1  # batches drawn together (sorted by width when --bucket-window)
    first_window, skip = divmod(batches, window)
    sampler = ResumableSampler(n_list, opts.synth, opts.seed, start=first_window * window * opts.batch_size * world,
                               list_fraction=opts.list_fraction, rank=rank, world=world)
    loss_fn = loss_module
    if world > 1:
        loss_fn = nn.parallel.DistributedDataParallel(loss_fn, device_ids=[device.index] if device.type == "cuda" else None)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=opts.batch_size * window, sampler=sampler, num_workers=opts.workers,
        collate_fn=WidthWindows(collate, opts.batch_size, window) if opts.bucket_window else collate,
        persistent_workers=opts.workers > 0,
        pin_memory=device.type == "cuda",  # page-locked batches upload while the previous step runs
        generator=torch.Generator().manual_seed(opts.seed),  # keeps the global RNG (dropout) resumable
    )
    stream = shuffled_windows(loader, first_window, skip, opts.seed, rank) if opts.bucket_window else loader
    val_sets = _validation_sets(opts, alphabet) if lead else {}
    if lead and opts.best_on and opts.best_on not in val_sets:
        raise FastOCRError(f"--best-on {opts.best_on}: no such validation set (have: {', '.join(val_sets) or 'none'})")
    use_amp = opts.amp and _bf16_is_fast(device)
    log_path = out / "log.csv"
    fields = ["step", "loss", "seconds"] + [f"{n}_{m}" for n in val_sets for m in ("exact", "exact_alnum_ci", "cer")]
    if lead and (not log_path.exists() or step == 0):
        with open(log_path, "w", newline="") as f:
            csv.DictWriter(f, fields).writeheader()
    run = _Run(opts, out, loss_module, optimizer, alphabet, val_sets, log_path, fields, time.time(),
               {"batches": batches, "world": world})
    running, skipped = [], 0
    bar = tqdm(total=opts.steps, initial=step, desc="train", unit="step", dynamic_ncols=True, disable=not lead)
    # The share of the steps' wall time spent waiting for the loader says which side bounds training: data
    # (add --workers) or the step itself. Validation and checkpoint writes are left out of both.
    start_step = step
    recent = deque(maxlen=50)  # (wait, step time) of the last steps, for the progress bar
    waited = spent = 0.0
    ready = _clock()
    deadline = None if opts.time_limit is None else ready + opts.time_limit
    for batch in stream:
        if step >= opts.steps:
            break
        fetched = _clock()
        skip = batch is None  # Collate dropped every line of it (too long, unreadable)
        if world > 1:  # all ranks skip together, or the others would wait for it in the gradient all-reduce
            flag = torch.tensor([float(skip)], device=device if device.type == "cuda" else "cpu")
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            skip = bool(flag.item())
        run.stream["batches"] += 1
        if skip:
            skipped += 1
            if skipped == 1000:
                raise FastOCRError(f"1000 batches in a row had no usable line (labels longer than --max-label-len "
                                   f"{opts.max_label_len}, characters outside the alphabet, unreadable images)")
            continue
        skipped = 0
        images, targets, widths, _ = batch
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_amp):
            loss, s2s_loss = loss_fn(images.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last),
                                     targets.to(device, non_blocking=True),
                                     _teacher_forcing(opts, step),
                                     widths.to(device, non_blocking=True) if config.variable_width else None)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(loss_module.parameters(), opts.clip)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(opts, step)
        optimizer.step()
        step += 1
        running.append(s2s_loss.detach())  # logged: the seq2seq NLL alone, comparable with or without CTC
        wait, took = fetched - ready, _clock() - ready
        recent.append((wait, took))
        waited, spent = waited + wait, spent + took
        bar.update(1)
        if step % BAR_EVERY == 0:  # reading the loss waits for the device: not at every step
            bar.set_postfix(loss=f"{_mean(running[-50:]):.3f}", lr=f"{optimizer.param_groups[0]['lr']:.1e}",
                            data=f"{sum(w for w, _ in recent) / sum(t for _, t in recent):.0%}")
        if lead:
            running, best = run.after_step(step, running, best)
        else:
            running = running[-50:]
        if deadline is not None and _time_is_up(deadline, world, device):
            if lead:  # a lease ending: the checkpoint to resume from, at this very step
                _save_checkpoint(out / "latest.pt", loss_module, optimizer, step, best, opts, alphabet, run.stream)
                tqdm.write(f"stopped at step {step}: --time-limit {opts.time_limit:g} s reached; --resume continues")
            break
        ready = _clock()
    bar.close()
    if lead and spent:
        steps = step - start_step
        print(f"waited for data {waited / spent:.0%} of the steps' time ({steps} steps, "
              f"{steps / spent:.2f} steps/s without validation)", file=sys.stderr)
    if lead and not (out / "best.safetensors").exists():
        save_model(out / "best.safetensors", model, alphabet)
    if world > 1:
        _check_ranks_in_sync(model, world)
        dist.destroy_process_group()
    return out / "best.safetensors"
