"""The public API: ``Recognizer`` (a loaded model you reuse) and ``recognize_batch`` (one call)."""

from __future__ import annotations

import copy
import itertools
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.profiler import record_function
from tqdm import tqdm

from . import _ext, beam, checkpoint
from .alphabet import EOS_TOKEN, NUM_SPECIAL, SOS_TOKEN, Alphabet
from .config import ModelConfig
from .decode import greedy_decode
from .errors import FastOCRError, ImageError, OptionError
from .graphs import GraphCache
from .model import OCRModel
from .preprocess import (
    ImageInput,
    PinnedCanvas,
    describe,
    load_rgb,
    pad_line,
    padded_width,
    resize_line,
    to_batch,
)
from .reference import AttnStep, Hypothesis, beam_search_ref, greedy_decode_ref
from .vocabulary import DEFAULT_BONUS, Vocabulary

DEFAULT_MODEL = Path(__file__).parent / "data" / "default.safetensors"


def use_reference() -> bool:
    """True when ``FASTOCR_FORCE_REFERENCE=1`` or the C++ extension is missing: decode with ``reference.py``."""
    return os.environ.get("FASTOCR_FORCE_REFERENCE", "0") == "1" or _ext.C is None


@dataclass
class Candidate:
    """One entry of an n-best list."""

    text: str
    score: float  # log-probability, divided by length ** length_penalty
    confidence: float  # product of the token probabilities, EOS included


@dataclass
class Recognition:
    """The result for one image.

    Attributes:
        text: the recognised line ("" on error).
        confidence: product of the per-step probabilities of the chosen tokens, the EOS step included.
        char_probs: probability of each character of ``text``.
        source: the input's path, or ``<type #index>``.
        error: why this input failed, or None.
        candidates: the n-best list, best first (one entry unless ``num_hypotheses`` > 1).
    """

    text: str
    confidence: float
    char_probs: list[float]
    source: str
    error: str | None = None
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        return {"source": self.source, "text": self.text, "confidence": self.confidence,
                "char_probs": self.char_probs, "error": self.error,
                "candidates": [c.__dict__ for c in self.candidates]}


def _sequential_product(probs: torch.Tensor) -> float:
    """Product in float32, left to right, as the original accumulates its confidence."""
    out = torch.ones((), dtype=torch.float32)
    for p in probs:
        out = out * p
    return float(out)


_PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def _check_count(name: str, value) -> None:
    """A count option (beam_size, batch_size, ...) must be an int >= 1: a float or a str fails here, not in torch."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise OptionError(f"{name} must be >= 1, got {value}")


def _device(device) -> torch.device:
    """The device to run on (default: CUDA when available), checked: an unknown name or a CUDA device this torch
    cannot use is an OptionError, not an error deep inside torch."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise OptionError(f"device {device!r} is not a device name (cpu, cuda, cuda:1, ...)") from e
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise OptionError(f"device {device!r}: CUDA is not available to this torch ({torch.__version__})")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise OptionError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type != "cpu":
        raise OptionError(f"device {device!r}: fastocr runs on cpu or cuda")
    return dev


def _precision_dtype(precision: str, device: torch.device) -> torch.dtype:
    if precision not in _PRECISIONS:
        raise OptionError(f"precision must be one of {', '.join(_PRECISIONS)}, got {precision!r}")
    if precision == "fp16" and device.type != "cuda":
        raise OptionError("precision='fp16' needs a CUDA device (CPUs run fp16 convolutions slowly); use 'bf16'")
    return _PRECISIONS[precision]


def batch_bytes(config: ModelConfig, num_classes: int, lines: int, width: int, beam_size: int = 1,
                dtype_bytes: int = 4, encoder_batch: int | None = None) -> int:
    """Estimated peak activation memory of recognising ``lines`` lines ``width`` px wide.

    The CNN's largest live pair (conv1's output and the first pooling's, 64x32xW + 64x16xW/2 values) dominates,
    for ``encoder_batch`` lines at a time (all when None); the BiLSTMs keep about 8H values per encoder column;
    the decoder holds, per hypothesis row, the attended memory (values and keys, 2H per column) and a row of
    log-probabilities; additive attention's reference scoring adds its tanh(keys + query) (H per column and row),
    and a beam search sorts each line's beam x classes candidates (float32 scores with int64 indices).
    """
    cols = width // 4 + 1
    hidden = config.hidden_size
    cnn = 64 * 32 * width + 64 * 16 * width // 2
    decoder_row = 2 * hidden * cols + 2 * num_classes + (hidden * cols if config.attention == "additive" else 0)
    per_line = 8 * hidden * cols + beam_size * decoder_row
    elements = min(lines, encoder_batch or lines) * cnn + lines * per_line
    sort_bytes = lines * beam_size * num_classes * (4 + 8) if beam_size > 1 else 0
    return elements * dtype_bytes + sort_bytes


def _check_images_arg(images) -> list:
    _check_not_single(images)
    return list(images)


def _check_not_single(images) -> None:
    """A single image where a list of images belongs is a TypeError, not one result per character or row."""
    if isinstance(images, (str, os.PathLike, bytes, bytearray, memoryview, np.ndarray, Image.Image)):
        raise TypeError(
            f"images must be a list of images, got a single {type(images).__name__}; "
            "wrap it in a list, or use Recognizer.recognize_one(image)"
        )
    if not isinstance(images, Iterable):
        raise TypeError(f"images must be a list of images, got {type(images).__name__}")


class Recognizer:
    """A loaded recognizer. Thread-safe for concurrent ``recognize`` calls (the model is only read).

    >>> rec = Recognizer.load("model.safetensors")                      # doctest: +SKIP
    >>> [r.text for r in rec.recognize(["line1.png", "line2.png"])]    # doctest: +SKIP
    ['Hello', 'world']
    """

    def __init__(self, model: OCRModel, alphabet: Alphabet, device: str | torch.device | None = None, *,
                 precision: str = "fp32", channels_last: bool = True, encoder_batch: int | None = None,
                 memory_budget_mb: float | None = None, cuda_graphs: bool = False):
        """
        Args:
            model, alphabet: what ``load`` / ``from_original`` read from files.
            device: "cpu", "cuda", ... (default: CUDA when available).
            precision: "fp32" (identical to the original), "bf16" (CUDA, or CPUs with native bf16: 1.9x
                faster CNN on CPU, texts may differ in rare close calls) or "fp16" (CUDA only). Casts the
                model's weights.
            channels_last: feed the CNN NHWC images (1.5x faster convolutions on CPU, the same texts).
            encoder_batch: lines per encoder pass; the decoder still runs the whole batch. Default: 8 on CPU
                (the CNN's working set stays in cache: with NHWC, 6.7 vs 9.3 ms per line at 64;
                benchmarks/bench_encoder.py), all on CUDA.
            memory_budget_mb: caps the lines per batch so that the estimated activation memory of a batch
                (``batch_bytes``) stays under this budget.
            cuda_graphs: greedy decoding replays the decoder loop from CUDA graphs, 4 steps per replay, one
                graph per (rows, encoder columns of a variable-width model), each padded to a power of two
                (``fastocr.graphs``). CUDA only.
                Opt-in: on an H200 the decoder runs 2.2-3.8x faster, end to end (host-bound) about 7% faster;
                each new shape costs a capture.
        """
        if model.num_classes != alphabet.num_classes:
            raise FastOCRError(f"model has {model.num_classes} classes, alphabet gives {alphabet.num_classes}")
        self.device = _device(device)
        self.dtype = _precision_dtype(precision, self.device)
        first = next(model.parameters(), None)
        if first is not None and (first.device != self.device or first.dtype != self.dtype):
            model = copy.deepcopy(model)  # the caller's model (maybe another Recognizer's) keeps its device and dtype
        self.model = model.eval().to(self.device, self.dtype)
        self.alphabet = alphabet
        self.channels_last = channels_last
        if encoder_batch is not None:
            _check_count("encoder_batch", encoder_batch)
        self.encoder_batch = encoder_batch or (8 if self.device.type == "cpu" else None)
        if memory_budget_mb is not None and memory_budget_mb <= 0:
            raise OptionError(f"memory_budget_mb must be > 0, got {memory_budget_mb}")
        self.memory_budget_mb = memory_budget_mb
        # the largest batch that fitted after an out-of-memory error, per (canvas width, beam size)
        self._oom_caps: dict[tuple[int, int], int] = {}
        if cuda_graphs and self.device.type != "cuda":
            raise OptionError(f"cuda_graphs needs a CUDA device, got {self.device}")
        self._graphs = GraphCache() if cuda_graphs else None
        self._per_thread = threading.local()  # state a call writes to: one per calling thread

    @property
    def config(self) -> ModelConfig:
        return self.model.config

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, device=None, **options) -> Recognizer:
        """Loads a fastocr model file; None loads the bundled default model. ``options``: those of
        ``Recognizer(...)`` (precision, channels_last, encoder_batch, memory_budget_mb)."""
        if path is None:
            if not DEFAULT_MODEL.exists():
                raise FastOCRError(
                    "this fastocr has no bundled default model yet: pass a model file "
                    "(fastocr convert makes one from the original encoder.pth/decoder.pth) or use "
                    "Recognizer.from_original(...)"
                )
            path = DEFAULT_MODEL
        model, alphabet, _ = checkpoint.load_model(path)
        return cls(model, alphabet, device, **options)

    @classmethod
    def from_original(
        cls, encoder_path, decoder_path, alphabet_path, device=None, max_decode_len: int | None = None, **options
    ) -> Recognizer:
        """Builds a recognizer from the original project's ``encoder.pth``, ``decoder.pth`` and alphabet file.

        Args:
            max_decode_len: decode steps per line (the original's 20 by default).
            options: those of ``Recognizer(...)``.
        """
        model, alphabet, cfg = checkpoint.load_original(encoder_path, decoder_path, alphabet_path)
        if max_decode_len is not None:
            model.config = cfg.replace(max_decode_len=max_decode_len)
        return cls(model, alphabet, device, **options)

    def save(self, path: str | os.PathLike, dtype: torch.dtype | None = None) -> None:
        """Writes this recognizer as one fastocr model file (config + alphabet + weights)."""
        checkpoint.save_model(path, self.model, self.alphabet, dtype)

    # -- recognition -------------------------------------------------------------------------------------------

    def recognize_one(self, image: ImageInput, **kwargs) -> Recognition:
        """Recognises a single image; raises ImageError if it cannot be read (unless ``on_error="report"``)."""
        kwargs.setdefault("on_error", "raise")
        return self.recognize([image], **kwargs)[0]

    def recognize(
        self,
        images: Sequence[ImageInput],
        *,
        beam_size: int = 1,
        num_hypotheses: int = 1,
        length_penalty: float = 0.0,
        batch_size: int = 64,
        max_len: int | None = None,
        allowed_chars: str | None = None,
        lexicon: Iterable[str] | None = None,
        vocabulary: Vocabulary | Iterable[str] | None = None,
        vocabulary_bonus: float = DEFAULT_BONUS,
        on_error: str = "report",
        progress: bool = False,
    ) -> list[Recognition]:
        """Recognises text lines, returning one Recognition per input, in input order.

        Args:
            images: file paths, encoded bytes, numpy uint8 arrays (HxW gray, HxWx3 RGB, HxWx4 RGBA) or PIL images.
            beam_size: 1 decodes greedily, exactly as the original; K > 1 runs a beam search.
            num_hypotheses: length of each n-best list (at most ``beam_size``).
            length_penalty: alpha >= 0 in ``score = log p / length ** alpha`` (0: plain log-probability).
            batch_size: images per forward pass. Results do not depend on it.
            max_len: decode steps per line (default: the model config's, 20 for the original).
            allowed_chars: only these characters may be output (a charset constraint).
            lexicon: the only lines that may be output (e.g. a word list); a line cut at ``max_len`` is a prefix
                of one. Constraints mask the other tokens to probability 0 (no renormalisation); with
                ``beam_size=1`` they still run through the beam search, with one beam.
            vocabulary: known words, preferred but not imposed (``fastocr.vocabulary``): each line's beam
                hypotheses are ordered by score plus ``vocabulary_bonus`` for those made of known words (or
                numbers) only. Needs ``beam_size > 1``. Candidates keep their model scores.
            vocabulary_bonus: the log-probability a reading made of known words is worth (default 3.0).
            on_error: "report" puts the error in that item's ``error`` and goes on; "raise" raises ImageError.
            progress: show a progress bar over lines.

        Raises:
            ImageError: an input could not be read and ``on_error="raise"``.
            ValueError: an argument is out of range.
        """
        images = _check_images_arg(images)
        args = self._decode_args(beam_size, num_hypotheses, length_penalty, batch_size, max_len, allowed_chars,
                                 lexicon, vocabulary, vocabulary_bonus, on_error)
        with tqdm(total=len(images), desc="recognize", unit="line", disable=not progress) as bar:
            return [r for part in self._pipeline(images, args, min(8, os.cpu_count() or 1), bar) for r in part]

    def recognize_iter(self, images: Iterable[ImageInput], *, workers: int = 2, **kwargs) -> Iterator[Recognition]:
        """Yields one Recognition per input, in order, while ``workers`` threads decode the next images.

        Image decoding and resizing (PIL, OpenCV: they release the GIL) overlap the model's work on the previous
        chunk of images, so a long stream of files keeps the model busy and memory bounded. Takes the keyword
        arguments of ``recognize`` (``progress`` excepted).

        >>> for r in rec.recognize_iter(Path("scans").glob("*.png")):   # doctest: +SKIP
        ...     print(r.source, r.text)

        Bad arguments raise here, not at the first ``next()``. Leaving the loop early (or ``close()``) stops the
        loading threads without waiting for the images queued ahead.
        """
        _check_not_single(images)
        kwargs.pop("progress", None)
        return self._iterate(images, self._decode_args(**kwargs), max(1, workers))

    def _iterate(self, images, args: dict, workers: int) -> Iterator[Recognition]:
        for part in self._pipeline(images, args, workers):
            yield from part

    def _chunk_size(self, batch_size: int) -> int:
        """Images loaded ahead while the model works. A fixed-width model batches any lines together: one batch.
        A variable-width one batches lines of one canvas width: more lines, so that batches stay full."""
        return batch_size * (8 if self.config.variable_width else 1)

    def _pipeline(self, images: Iterable[ImageInput], args: dict, workers: int,
                  bar: tqdm | None = None) -> Iterator[list[Recognition]]:
        """Results chunk by chunk, in input order, while a thread pool loads the next chunk (PIL and OpenCV
        release the GIL while they decode and resize)."""
        numbered = enumerate(images)
        chunk = self._chunk_size(args["batch_size"])
        pool = ThreadPoolExecutor(workers)

        def submit():
            return [pool.submit(self._load, image, i) for i, image in itertools.islice(numbered, chunk)]

        try:
            pending = submit()
            while pending:
                with record_function("fastocr.load"):
                    loaded = [f.result() for f in pending]
                pending = submit()  # the next chunk loads while this one is decoded
                yield self._recognize_loaded(loaded, args, bar)
        finally:  # also when the consumer stops early: drop the queued loads, do not wait for them
            pool.shutdown(wait=False, cancel_futures=True)

    def warmup(self, batch_size: int = 8) -> None:
        """Runs one small batch so the first real call does not pay one-time costs (allocations, JIT, autotune)."""
        w = min(self.config.img_width, 100)
        self.recognize([np.full((self.config.img_height, w, 3), 255, np.uint8)] * batch_size, batch_size=batch_size)

    def _decode_args(self, beam_size: int = 1, num_hypotheses: int = 1, length_penalty: float = 0.0,
                     batch_size: int = 64, max_len: int | None = None, allowed_chars: str | None = None,
                     lexicon: Iterable[str] | None = None, vocabulary: Vocabulary | Iterable[str] | None = None,
                     vocabulary_bonus: float = DEFAULT_BONUS, on_error: str = "report") -> dict:
        """Checks the decoding options once per call; raises OptionError (a ValueError) naming the bad one."""
        if on_error not in ("report", "raise"):
            raise OptionError(f"on_error must be 'report' or 'raise', got {on_error!r}")
        for name, value in (("beam_size", beam_size), ("num_hypotheses", num_hypotheses), ("batch_size", batch_size),
                            ("max_len", 1 if max_len is None else max_len)):
            _check_count(name, value)
        if beam_size > beam.MAX_BEAM:
            raise OptionError(f"beam_size must be at most {beam.MAX_BEAM} (the beam-search extension's limit), "
                              f"got {beam_size}")
        for name, value in (("length_penalty", length_penalty), ("vocabulary_bonus", vocabulary_bonus)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise OptionError(f"{name} must be a number, got {value!r}")
        if length_penalty < 0:  # the beam's early stop bounds a hypothesis's future score only for alpha >= 0
            raise OptionError(f"length_penalty must be >= 0, got {length_penalty}")
        if vocabulary is not None:
            if beam_size < 2:
                raise OptionError("vocabulary chooses among a beam's hypotheses: give beam_size >= 2 (e.g. 5)")
            if not isinstance(vocabulary, Vocabulary):
                vocabulary = Vocabulary(vocabulary)
        if num_hypotheses > beam_size:
            raise OptionError(f"num_hypotheses must be at most beam_size, got beam_size={beam_size}, "
                              f"num_hypotheses={num_hypotheses}")
        return {"beam_size": beam_size, "num_hypotheses": num_hypotheses, "length_penalty": length_penalty,
                "batch_size": batch_size, "max_len": max_len or self.config.max_decode_len, "on_error": on_error,
                "constraint": self._constraint(allowed_chars, lexicon), "vocabulary": vocabulary,
                "vocabulary_bonus": vocabulary_bonus}

    def _load(self, image: ImageInput, index: int):
        """(source name, resized line padded to its canvas width, the line's own width), or (source name,
        ImageError, 0): never raises for a bad image. Padding here, in the loader threads, leaves ``to_batch``
        one copy to make on the calling thread."""
        source = describe(image, index)
        cfg = self.config
        try:
            line = resize_line(load_rgb(image, source), cfg.img_height, cfg.img_width)
        except ImageError as e:
            return source, e, 0
        bucket = cfg.width_bucket if cfg.variable_width else None
        return source, pad_line(line, padded_width(line.shape[1], cfg.img_width, bucket)), line.shape[1]

    def _recognize_loaded(self, loaded: list, args: dict, bar: tqdm | None) -> list[Recognition]:
        results: list[Recognition | None] = [None] * len(loaded)
        # Lines of one canvas width share a batch (one group for fixed-width models), so a line's result does
        # not depend on the other lines it is batched with.
        groups: dict[int, list[int]] = {}
        for i, (source, line, _) in enumerate(loaded):
            if not isinstance(line, ImageError):
                groups.setdefault(line.shape[1], []).append(i)
            elif args["on_error"] == "raise":
                raise line
            else:
                results[i] = Recognition("", 0.0, [], source, error=line.reason)
                if bar is not None:
                    bar.update()
        for width, group in sorted(groups.items()):
            decoded = self._decode_in_batches([loaded[i][1] for i in group], [loaded[i][2] for i in group], width,
                                              args, bar)
            for i, rec in zip(group, decoded):
                rec.source = loaded[i][0]
                results[i] = rec
        return results  # type: ignore[return-value]

    def _decode_in_batches(self, lines: list[np.ndarray], line_widths: list[int], width: int, args: dict,
                           bar: tqdm | None = None) -> list[Recognition]:
        """Lines of one canvas width, in batches of the current limit, read again before each batch: an
        out-of-memory error lowers it for the rest at once."""
        results: list[Recognition] = []
        while len(results) < len(lines):
            start = len(results)
            end = start + self._batch_limit(args, width)
            results += self._decode_splitting_on_oom(lines[start:end], line_widths[start:end], width, args)
            if bar is not None:
                bar.update(len(results) - start)
        return results

    def _batch_limit(self, args: dict, width: int) -> int:
        """Lines per batch at this canvas width: batch_size, capped by the memory budget and by past OOMs."""
        limit = args["batch_size"]
        if self.memory_budget_mb is not None:
            def fits(lines: int) -> bool:
                return batch_bytes(self.config, self.model.num_classes, lines, width, args["beam_size"],
                                   torch.finfo(self.dtype).bits // 8, self.encoder_batch) <= self.memory_budget_mb * 2**20

            lo, hi = 1, limit  # the most lines that fit: at least one (a line too big for the budget is tried)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
            limit = lo
        return min(limit, self._oom_caps.get((width, args["beam_size"]), limit))

    def _decode_splitting_on_oom(self, lines: list[np.ndarray], line_widths: list[int], width: int,
                                 args: dict) -> list[Recognition]:
        """Uploads and decodes lines of one canvas width; on out-of-memory, halves them and retries (remembering,
        for this width and beam size, the size that fitted), so a too-large batch costs time, never results.
        A single line that does not fit gets the error."""
        try:
            with record_function("fastocr.to_batch"):
                batch = to_batch(lines, self.config.img_height, width, self.device, self.channels_last,
                                 self._staging())
                widths = torch.tensor(line_widths, device=self.device)
            return self._decode_batch(batch, widths, args)
        except torch.OutOfMemoryError as e:
            if len(lines) == 1 and args["on_error"] == "raise":
                raise
            error = f"out of memory on {self.device} for one line: {e}"
        # Retry outside the except block: the exception's traceback holds the failed attempt's frames, and
        # with them its GPU tensors, until the block is left (seen on an H200: the halves ran out of memory too).
        batch = widths = None  # and this frame's own references to the failed batch
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        n = len(lines)
        if n == 1:
            return [Recognition("", 0.0, [], "", error=error)]
        key = (width, args["beam_size"])
        self._oom_caps[key] = min(self._oom_caps.get(key, n // 2), n // 2)
        return self._decode_in_batches(lines, line_widths, width, args)

    def _staging(self) -> PinnedCanvas | None:
        """This thread's pinned upload canvas (CUDA only): concurrent calls must not share one."""
        if self.device.type != "cuda":
            return None
        if not hasattr(self._per_thread, "staging"):
            self._per_thread.staging = PinnedCanvas()
        return self._per_thread.staging

    def _run_encoder(self, batch: torch.Tensor) -> torch.Tensor:
        """Encoder outputs [T, B, H], ``encoder_batch`` lines at a time."""
        x = batch.to(self.device, self.dtype)  # keeps to_batch's NHWC layout
        step = self.encoder_batch or x.shape[0]
        if step >= x.shape[0]:
            return self.model.encoder(x)
        return torch.cat([self.model.encoder(x[i : i + step]) for i in range(0, x.shape[0], step)], dim=1)

    def _constraint(self, allowed_chars: str | None, lexicon: Iterable[str] | None):
        """(allowed ids, lexicon id lists) for the reference, or a TokenAutomaton for the extension; None if free."""
        if allowed_chars is None and lexicon is None:
            return None
        if allowed_chars is not None and (not isinstance(allowed_chars, str) or not allowed_chars):
            raise OptionError(f"allowed_chars must be a non-empty str of characters, got {allowed_chars!r}")
        if isinstance(lexicon, (str, bytes)):
            raise OptionError(f"lexicon is a list of lines, got the str {lexicon!r}: pass [{lexicon!r}]")
        if lexicon is not None:
            lexicon = list(lexicon)
            if not lexicon:
                raise OptionError("lexicon is empty: nothing could be read (give None for no lexicon)")
        allowed = None
        if allowed_chars is not None:
            self._encode(allowed_chars, "allowed_chars")  # names the characters outside the alphabet
            allowed = sorted({i for c in allowed_chars for i in self.alphabet.ids(c)})
        words = None if lexicon is None else [ids for w in lexicon for ids in self._spellings(w)]
        if use_reference():
            return allowed, words
        return beam.TokenAutomaton.lexicon(words, allowed) if words is not None else beam.TokenAutomaton.charset(allowed)

    def _spellings(self, word: str, most: int = 64) -> list[list[int]]:
        """The id sequences that read as ``word``: one, or (a character the alphabet repeats) one per choice of
        its ids, ``most`` at the most."""
        self._encode(word, "lexicon entry")
        return [list(ids) for ids in itertools.islice(itertools.product(*map(self.alphabet.ids, word)), most)]

    def _encode(self, text: str, what: str) -> list[int]:
        missing = self.alphabet.missing(text)
        if missing:
            raise OptionError(f"{what} {text!r} has characters outside the model's alphabet: {''.join(missing)!r}")
        return self.alphabet.encode(text)

    @torch.inference_mode()
    def _decode_batch(self, batch: torch.Tensor, widths: torch.Tensor, args: dict) -> list[Recognition]:
        beam_size, max_len, constraint = args["beam_size"], args["max_len"], args["constraint"]
        # record_function ranges name the stages in torch.profiler traces (benchmarks/profile_e2e.py)
        with record_function("fastocr.encoder"):
            enc = self._run_encoder(batch)  # [T, B, H]
        B = batch.shape[0]
        lengths = self.model.encoder_lengths(widths, enc.shape[0]) if self.config.variable_width else None
        step = AttnStep(self.model.decoder, enc, beam_size, lengths)
        if beam_size == 1 and constraint is None and args["length_penalty"] == 0:
            with record_function("fastocr.decoder"):
                if self._graphs is not None:
                    out = self._graphs.decode(self.model.decoder, step.memory, max_len)
                else:
                    greedy = greedy_decode_ref if use_reference() else greedy_decode
                    out = greedy(step, B, max_len, device=self.device)
                out = out.cpu()  # one host copy per batch, not a sync per line
            with record_function("fastocr.results"):
                return self._from_greedy(out)
        vocabulary, n_best = args["vocabulary"], args["num_hypotheses"]
        search = (step, B, beam_size, max_len, beam_size if vocabulary else n_best, args["length_penalty"])
        with record_function("fastocr.decoder"):
            if isinstance(constraint, tuple):
                hyps = beam.beam_search_constrained_ref(*search, *constraint, device=self.device)
            elif use_reference():
                hyps = beam_search_ref(*search, device=self.device)
            else:
                hyps = beam.beam_search(*search, lexicon=constraint, device=self.device)
        with record_function("fastocr.results"):
            return [self._from_hypotheses(h, n_best, vocabulary, args["vocabulary_bonus"]) for h in hyps]

    def _from_greedy(self, out) -> list[Recognition]:
        """One Recognition per line of a GreedyOutput on the CPU: whole-batch tensor ops, then one Python list
        per field (per-line tensor indexing cost ~40 µs a line, the GPU's time for several lines)."""
        lengths = out.lengths.tolist()
        tokens = out.tokens.tolist()
        probs = torch.exp(out.token_logprobs).tolist()
        scores = out.token_logprobs.sum(1).tolist()  # log-probs are 0 after each line's end
        results = []
        for ids, p, n, conf, score in zip(tokens, probs, lengths, out.confidence.tolist(), scores):
            n_chars = n - 1 if n and ids[n - 1] == EOS_TOKEN else n
            text, char_probs = self._text_and_probs(ids[:n_chars], p[:n_chars])
            results.append(Recognition(text, conf, char_probs, "", None, [Candidate(text, score, conf)]))
        return results

    def _text_and_probs(self, ids: list[int], probs: list[float]) -> tuple[str, list[float]]:
        """A reading and one probability per character of it: ids that are no character (SOS, which an untrained
        model may emit) count in the confidence but give neither."""
        if SOS_TOKEN not in ids:  # EOS is already cut off: SOS is the only id that is no character
            return self.alphabet.decode(ids), probs
        kept = [(i, q) for i, q in zip(ids, probs) if i >= NUM_SPECIAL]
        return self.alphabet.decode([i for i, _ in kept]), [q for _, q in kept]

    def _from_hypotheses(self, hyps: list[Hypothesis], n_best: int, vocabulary: Vocabulary | None = None,
                         bonus: float = 0.0) -> Recognition:
        """A line's Recognition from its hypotheses, best first. With a vocabulary they are first ordered by score
        + ``bonus`` for those the vocabulary covers (ties keep beam order); candidates keep their model scores."""
        texts = [self.alphabet.decode(h.tokens) for h in hyps]
        order = list(range(len(hyps)))
        if vocabulary is not None:
            order.sort(key=lambda k: -(hyps[k].score + bonus * vocabulary.covers(texts[k])))
        order = order[:n_best]
        if not order:  # the constraints left nothing to output
            return Recognition("", 0.0, [], "", None, [])
        cands = []
        for k in order:
            probs = torch.exp(torch.tensor(hyps[k].token_logprobs, dtype=torch.float32))
            cands.append(Candidate(texts[k], hyps[k].score, _sequential_product(probs)))
        best = hyps[order[0]]
        n_chars = len(best.tokens) - (1 if best.finished else 0)
        probs = torch.exp(torch.tensor(best.token_logprobs[:n_chars], dtype=torch.float32)).tolist()
        text, char_probs = self._text_and_probs(list(best.tokens[:n_chars]), probs)
        return Recognition(text, cands[0].confidence, char_probs, "", None, cands)


def recognize_batch(
    images: Sequence[ImageInput],
    model: str | os.PathLike | Recognizer | None = None,
    *,
    device: str | torch.device | None = None,
    **kwargs,
) -> list[Recognition]:
    """Recognises a list of text-line images in one call.

    >>> results = recognize_batch(["line.png"], model="model.safetensors")   # doctest: +SKIP
    >>> results[0].text, results[0].confidence                               # doctest: +SKIP
    ('Hello', 0.97)

    Args:
        images: see ``Recognizer.recognize``.
        model: a Recognizer, a fastocr model file, or None for the bundled default model.
        device: "cpu", "cuda", ... (default: CUDA when available).
        **kwargs: ``beam_size``, ``num_hypotheses``, ``length_penalty``, ``batch_size``, ``max_len``,
            ``on_error``, ``progress``, as in ``Recognizer.recognize``.
    """
    if isinstance(model, Recognizer) and device is not None:
        raise OptionError(f"device={device!r} applies when a model file is loaded; this Recognizer runs on "
                          f"{model.device} (Recognizer.load(path, device=...) for another)")
    rec = model if isinstance(model, Recognizer) else _cached_recognizer(model, device)
    return rec.recognize(images, **kwargs)


_CACHE: dict[tuple[str, str], tuple[int | None, Recognizer]] = {}
_CACHE_LOCK = threading.Lock()


def _cached_recognizer(path, device) -> Recognizer:
    """Loads each (model file, device) once per process, so repeated recognize_batch calls stay cheap; a file
    rewritten since is loaded again and replaces its old model."""
    path = Path(path) if path is not None else DEFAULT_MODEL
    key = (os.fspath(path.resolve()), str(_device(device)))
    mtime = path.stat().st_mtime_ns if path.exists() else None
    with _CACHE_LOCK:  # two threads asking at once load the model once
        cached = _CACHE.get(key)
        if cached is None or cached[0] != mtime:
            _CACHE[key] = (mtime, Recognizer.load(path if path != DEFAULT_MODEL else None, device))
        return _CACHE[key][1]
