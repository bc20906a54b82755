"""``Recognizer``: a loaded model you reuse, reading batches of text lines.

Its jobs live beside it: options (``options``), constraints (``constraints``), batch limits and the memory
estimate (``memory``), threaded loading (``loader``), results (``results``), CUDA graphs (``graphs``).
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import os
import threading
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch
from torch.profiler import record_function
from tqdm import tqdm

from .. import checkpoint, ops
from ..alphabet import Alphabet
from ..config import ModelConfig
from ..decode import AttnStep, greedy_decode
from ..errors import FastOCRError, ImageError, OptionError
from ..model import OCRModel, encoder_lengths, winograd_convolutions
from ..onnx import OrtModel, export_onnx, is_exported
from ..onnx.quantize import quantize_encoder
from ..onnx.runtime import OrtStep
from ..page import Detector, Page, PageOptions, read_pages
from ..reference import beam_search_constrained_ref, beam_search_ref, greedy_decode_ref
from . import beam
from .constraints import compile_constraint
from .graphs import GraphCache
from .loader import Loaded, load_line, loaded_chunks
from .memory import BatchLimits
from .options import (
    DecodeOptions,
    background_rgb,
    check_backend,
    check_count,
    check_not_single,
    precision_dtype,
    resolve_device,
)
from .preprocess import ImageInput, PinnedCanvas, to_batch
from .results import Recognition, failed, from_greedy, from_hypotheses
from .vocabulary import DEFAULT_BONUS, Vocabulary


def _weights_in_layout(model: torch.nn.Module, layout: torch.memory_format) -> bool:
    return all(p.is_contiguous(memory_format=layout) for p in model.parameters() if p.dim() == 4)


class Recognizer:
    """A loaded recognizer. Thread-safe for concurrent ``recognize`` calls (the model is only read).

    >>> rec = Recognizer.load("model.safetensors")                      # doctest: +SKIP
    >>> [r.text for r in rec.recognize(["line1.png", "line2.png"])]    # doctest: +SKIP
    ['Hello', 'world']
    """

    def __init__(self, model: OCRModel | OrtModel, alphabet: Alphabet, device: str | torch.device | None = None, *,
                 backend: str | None = None, precision: str = "fp32", channels_last: bool = True,
                 skip_padding: bool = True, winograd: bool = True, encoder_batch: int | None = None,
                 memory_budget_mb: float | None = None, cuda_graphs: bool = False, background=None,
                 copy_model: bool = True):
        """
        Args:
            model, alphabet: what ``load`` / ``from_original`` read from files (an ``OrtModel``: an exported
                folder's graphs).
            device: "cpu", "cuda", ... (default: CUDA when available; the CPU for ONNX Runtime).
            backend: "torch" (default for a torch model) or "onnxruntime" (default for an ``OrtModel``): the
                same API, preprocessing, batching and decoding loops over ONNX Runtime's CPU sessions
                (``fastocr.onnx``); a torch model is exported in memory (fp32, a few seconds).
            precision: "fp32" (identical to the original), "bf16" (CUDA, or CPUs with native bf16: 1.9x
                faster CNN on CPU than fp32's direct convolutions, 1.25x end to end than fp32's Winograd ones;
                texts may differ in rare close calls) or "fp16" (CUDA only). Casts the
                model's weights. ONNX Runtime: "fp32", or "int8" for an exported folder quantized with
                ``fastocr export --int8`` (give it to ``load``).
            channels_last: feed the CNN NHWC images (1.5x faster convolutions on CPU, the same texts).
            skip_padding: fixed-width models: the CNN reads each line only as far as its own pixels reach, the
                columns of padding alone being the same in every line (computed once): the same texts, up to
                2x faster on short lines, on both backends.
            winograd: on the CPU in fp32 (torch backend), the CNN's 3x3 convolutions but the first run by
                Winograd F(4x4, 3x3) (``model.winograd_convolutions``): 4x fewer multiplies than the direct
                convolution, which already runs at the cores' peak (2.2x faster); outputs within ~1e-5 relative
                of it, the same texts. Keeps the transformed weights, 4x those convolutions' (72 MB fp32 for
                the original's CNN), made at the first call. With ``skip_padding=False, channels_last=False,
                winograd=False``, batch 1 runs the original's float operations bit for bit.
            encoder_batch: lines per encoder pass; the decoder still runs the whole batch. Default: 8 on CPU
                (the CNN's working set stays in cache: with NHWC, 6.7 vs 9.3 ms per line at 64;
                benchmarks/bench_encoder.py), all on CUDA.
            memory_budget_mb: caps the lines per batch so that the estimated activation memory of a batch
                (``batch_bytes``) stays under this budget.
            cuda_graphs: greedy decoding replays the decoder loop from CUDA graphs, 4 steps per replay, one
                graph per (rows, encoder columns of a variable-width model), each padded to a power of two
                (``fastocr.engine.graphs``). CUDA only.
                Opt-in: on an H200 the decoder runs 2.2-3.8x faster, end to end (host-bound) about 7% faster;
                each new shape costs a capture.
            background: the colour transparent pixels are laid over before reading ("white", "#ffffff",
                (255, 255, 255)); None (default) drops alpha, as the original did, which leaves dark text on a
                transparent background black on black.
            copy_model: leave the given torch model as it is, converting a copy when its device, precision or
                weight layout must change; False converts it in place (``load`` and ``from_original`` do: no
                one else holds the model they read, and a copy would double its memory while loading).
        """
        if model.num_classes != alphabet.num_classes:
            raise FastOCRError(f"model has {model.num_classes} classes, alphabet gives {alphabet.num_classes}")
        self.backend = backend or ("onnxruntime" if isinstance(model, OrtModel) else "torch")
        self.runtime: OrtModel | None = None  # the ONNX Runtime sessions (backend "onnxruntime")
        self.model: OCRModel | None = None  # the torch model (None when read from an exported folder)
        self._config = model.config
        if self.backend == "torch":
            if isinstance(model, OrtModel):
                raise OptionError("an exported ONNX model runs with backend='onnxruntime' only")
            self.device = resolve_device(device)
            self.dtype = precision_dtype(precision, self.device)
            # NHWC images want NHWC convolution weights: with NCHW ones, every convolution call copies its
            # weights into NHWC first (5 ms per CNN pass on 2 CPU cores: most of a small batch's CNN time)
            layout = torch.channels_last if channels_last else torch.contiguous_format
            first = next(model.parameters(), None)
            if copy_model and first is not None and (first.device != self.device or first.dtype != self.dtype
                                                     or not _weights_in_layout(model, layout)):
                model = copy.deepcopy(model)  # the caller's model (maybe another Recognizer's) keeps its own
            self.model = model.eval().to(self.device, self.dtype, memory_format=layout)
        else:
            self.device, self.dtype = check_backend(self.backend, device, precision, cuda_graphs), torch.float32
            self.runtime = self._runtime_for(model, alphabet, precision)
            self.model = model if isinstance(model, OCRModel) else None
            channels_last = False  # ONNX Runtime takes plain NCHW arrays
        self.alphabet = alphabet
        self.channels_last, self.skip_padding, self.winograd = channels_last, skip_padding, winograd
        if encoder_batch is not None:
            check_count("encoder_batch", encoder_batch)
        self.encoder_batch = encoder_batch or (8 if self.device.type == "cpu" else None)
        if memory_budget_mb is not None and memory_budget_mb <= 0:
            raise OptionError(f"memory_budget_mb must be > 0, got {memory_budget_mb}")
        self.memory_budget_mb = memory_budget_mb
        self.limits = BatchLimits(self.config, alphabet.num_classes, torch.finfo(self.dtype).bits // 8,
                                  self.encoder_batch, memory_budget_mb)
        if cuda_graphs and self.device.type != "cuda":
            raise OptionError(f"cuda_graphs needs a CUDA device, got {self.device}")
        self._graphs = GraphCache() if cuda_graphs else None
        self.background = background_rgb(background)
        self._per_thread = threading.local()  # state a call writes to: one per calling thread
        self._padding: dict[tuple, dict] = {}  # _padding_maps, by dtype, device, layout, channels and width
        self._detector: Detector | None = None  # page mode's line detector, made on first use
        self._detector_lock = threading.Lock()

    @property
    def config(self) -> ModelConfig:
        return self._config

    @staticmethod
    def _runtime_for(model: OCRModel | OrtModel, alphabet: Alphabet, precision: str) -> OrtModel:
        if isinstance(model, OrtModel):
            if precision not in ("fp32", model.precision):
                raise OptionError(f"this exported model was opened at {model.precision}; load its folder with "
                                  f"precision={precision!r} (Recognizer.load(folder, precision=...))")
            return model
        if precision != "fp32":
            raise OptionError("int8 needs an exported folder calibrated on text lines: `fastocr export MODEL "
                              "--onnx FOLDER --int8`, then Recognizer.load(FOLDER, precision='int8')")
        return OrtModel.from_model(model, alphabet)

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, device=None, **options) -> Recognizer:
        """Loads a fastocr model file, a bundled model by name (``"en"``, ``"zh"``; None: the default, English), or
        a folder exported by ``fastocr export --onnx`` (run on ONNX Runtime). ``options``: those of
        ``Recognizer(...)`` (backend, precision, channels_last, encoder_batch, memory_budget_mb, ...)."""
        if path is not None and is_exported(path):
            runtime = OrtModel.from_folder(path, options.get("precision", "fp32"))
            return cls(runtime, runtime.alphabet, device, **options)
        model, alphabet, _ = checkpoint.load_model(checkpoint.resolve_model(path))
        return cls(model, alphabet, device, **{"copy_model": False, **options})

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
        return cls(model, alphabet, device, **{"copy_model": False, **options})

    def save(self, path: str | os.PathLike, dtype: torch.dtype | None = None) -> None:
        """Writes this recognizer as one fastocr model file (config + alphabet + weights)."""
        checkpoint.save_model(path, self._torch_model("save"), self.alphabet, dtype)

    def export_onnx(self, out_dir: str | os.PathLike, int8_calibration: Sequence[ImageInput] | None = None):
        """Writes the model as ONNX graphs (encoder, one decoder step; dynamic batch and width) and a manifest
        into ``out_dir`` (``fastocr.onnx``); returns the folder, which ``Recognizer.load`` opens.

        Args:
            int8_calibration: text-line images (some hundred, like those to be read): also writes an int8
                encoder whose activation ranges are measured on them, preprocessed as ``recognize`` does
                (``Recognizer.load(out_dir, precision="int8")``). ``fastocr export --int8`` renders such lines.
        """
        out = export_onnx(self._torch_model("export"), self.alphabet, out_dir)
        if int8_calibration is not None:
            quantize_encoder(out, self._calibration_batches(int8_calibration))
        return out

    def export_original(self, folder: str | os.PathLike) -> dict:
        """Writes the model as the original project's ``encoder.pth``, ``decoder.pth`` and alphabet file
        (``checkpoint.save_original``: fixed-slot models only); returns their paths by name."""
        from ..checkpoint import save_original

        return save_original(folder, self._torch_model("export"), self.alphabet)

    def _calibration_batches(self, images: Sequence[ImageInput], batch_size: int = 16) -> list[np.ndarray]:
        """Calibration images as the encoder sees them: float32 NCHW batches of one canvas width each."""
        loaded = [self._load(image, i) for i, image in enumerate(images)]
        bad = [line for _, line, _ in loaded if isinstance(line, ImageError)]
        if bad:
            raise bad[0]
        by_width: dict[int, list[np.ndarray]] = {}
        for _, line, _ in loaded:
            by_width.setdefault(line.shape[1], []).append(line)
        return [to_batch(lines[i : i + batch_size], self.config.img_height, width, "cpu", False, None).numpy()
                for width, lines in sorted(by_width.items()) for i in range(0, len(lines), batch_size)]

    def _torch_model(self, what: str) -> OCRModel:
        if self.model is None:
            raise FastOCRError(f"cannot {what}: this recognizer was read from exported ONNX graphs, not a model file")
        return self.model

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
            vocabulary: known words, preferred but not imposed (``fastocr.engine.vocabulary``): each line's beam
                hypotheses are ordered by score plus ``vocabulary_bonus`` for those made of known words (or
                numbers) only. Needs ``beam_size > 1``. Candidates keep their model scores.
            vocabulary_bonus: the log-probability a reading made of known words is worth (default 3.0).
            on_error: "report" puts the error in that item's ``error`` and goes on; "raise" raises ImageError.
            progress: show a progress bar over lines.

        Raises:
            ImageError: an input could not be read and ``on_error="raise"``.
            ValueError: an argument is out of range.
        """
        check_not_single(images)
        images = list(images)
        options = self._options(beam_size, num_hypotheses, length_penalty, batch_size, max_len, allowed_chars,
                                lexicon, vocabulary, vocabulary_bonus, on_error)
        with tqdm(total=len(images), desc="recognize", unit="line", disable=not progress) as bar:
            return [r for part in self._pipeline(images, options, min(8, os.cpu_count() or 1), bar) for r in part]

    def read(self, images: Sequence[ImageInput], *, options: PageOptions | None = None,
             detector: Detector | None = None, progress: bool = False, **kwargs) -> list[Page]:
        """Reads whole pages or photos: finds their text lines (the PP-OCR detector of the ``[page]`` extra),
        cuts each upright, reads all lines of up to ``options.pages_per_batch`` pages in one ``recognize`` call,
        and returns one ``Page`` per input, its lines in reading order (columns, then top to bottom).

        >>> page = rec.read(["scan.png"])[0]                           # doctest: +SKIP
        >>> print(page.text); page.lines[0].polygon, page.lines[0].confidence   # doctest: +SKIP

        Args:
            images: as for ``recognize``. A page that cannot be read gets ``error`` set; the others go on.
            options: ``PageOptions`` (size limit, orientation, pages per batch).
            detector: a ``Detector`` (its thresholds in ``DetectorOptions``); default: one made on first use.
            progress: a progress bar over pages.
            **kwargs: ``recognize``'s decoding options (``beam_size``, ``allowed_chars``, ``batch_size``, ...).
        """
        check_not_single(images)
        self._options(**{k: v for k, v in kwargs.items() if k != "on_error"})  # bad options fail before any work
        return list(read_pages(self, images, detector or self._page_detector(), options, progress=progress,
                               **kwargs))

    def _page_detector(self) -> Detector:
        with self._detector_lock:
            if self._detector is None:
                self._detector = Detector()
            return self._detector

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
        check_not_single(images)
        kwargs.pop("progress", None)
        return self._iterate(images, self._options(**kwargs), max(1, workers))

    def _iterate(self, images, options: DecodeOptions, workers: int) -> Iterator[Recognition]:
        for part in self._pipeline(images, options, workers):
            yield from part

    def _chunk_size(self, batch_size: int) -> int:
        """Images loaded ahead while the model works. A fixed-width model batches any lines together: one batch.
        A variable-width one batches lines of one canvas width: more lines, so that batches stay full."""
        return batch_size * (8 if self.config.variable_width else 1)

    def _pipeline(self, images: Iterable[ImageInput], options: DecodeOptions, workers: int,
                  bar: tqdm | None = None) -> Iterator[list[Recognition]]:
        """Results chunk by chunk, in input order, while ``loader`` threads load the next chunk."""
        chunks = loaded_chunks(images, self._chunk_size(options.batch_size), workers, self._load)
        try:
            for loaded in chunks:
                yield self._recognize_loaded(loaded, options, bar)
        finally:  # a consumer that stops early stops the loading threads too
            chunks.close()

    def _load(self, image: ImageInput, index: int) -> Loaded:
        return load_line(image, index, self.config, self.background)

    def warmup(self, batch_size: int = 8) -> None:
        """Runs one small batch so the first real call does not pay one-time costs (allocations, JIT, autotune)."""
        w = min(self.config.img_width, 100)
        self.recognize([np.full((self.config.img_height, w, 3), 255, np.uint8)] * batch_size, batch_size=batch_size)

    def _options(self, beam_size: int = 1, num_hypotheses: int = 1, length_penalty: float = 0.0,
                 batch_size: int = 64, max_len: int | None = None, allowed_chars: str | None = None,
                 lexicon: Iterable[str] | None = None, vocabulary: Vocabulary | Iterable[str] | None = None,
                 vocabulary_bonus: float = DEFAULT_BONUS, on_error: str = "report") -> DecodeOptions:
        """Checks the decoding options once per call; raises OptionError (a ValueError) naming the bad one."""
        options = DecodeOptions.check(self.config.max_decode_len, beam_size, num_hypotheses, length_penalty,
                                      batch_size, max_len, on_error, vocabulary, vocabulary_bonus)
        return dataclasses.replace(options, constraint=compile_constraint(self.alphabet, allowed_chars, lexicon, self.device))

    def _recognize_loaded(self, loaded: list[Loaded], options: DecodeOptions,
                          bar: tqdm | None) -> list[Recognition]:
        results: list[Recognition | None] = [None] * len(loaded)
        # Lines of one canvas width share a batch (one group for fixed-width models), so a line's result does
        # not depend on the other lines it is batched with.
        groups: dict[int, list[int]] = {}
        for i, (source, line, _) in enumerate(loaded):
            if not isinstance(line, ImageError):
                groups.setdefault(line.shape[1], []).append(i)
            elif options.on_error == "raise":
                raise line
            else:
                results[i] = failed(source, line.reason)
                if bar is not None:
                    bar.update()
        if self._mixes_widths:  # one run of batches over every width, narrowest first
            groups = {None: [i for _, group in sorted(groups.items()) for i in group]}
        for width, group in sorted(groups.items(), key=lambda kv: kv[0] or 0):
            decoded = self._decode_in_batches([loaded[i][1] for i in group], [loaded[i][2] for i in group], width,
                                              options, bar)
            for i, rec in zip(group, decoded):
                rec.source = loaded[i][0]
                results[i] = rec
        return results  # type: ignore[return-value]

    @property
    def _mixes_widths(self) -> bool:
        """Whether a batch holds lines of several canvas widths (``_decode_splitting_on_oom``): on a CPU, where
        a pass per width of a few lines costs more than the passes' shared work, for variable-width models on
        the torch backend."""
        return self.runtime is None and self.config.variable_width and self.device.type == "cpu"

    def _decode_in_batches(self, lines: list[np.ndarray], line_widths: list[int], width: int | None,
                           options: DecodeOptions, bar: tqdm | None = None) -> list[Recognition]:
        """Lines of one canvas width (None: of several, narrowest first), in batches of the current limit, read
        again before each batch: an out-of-memory error lowers it for the rest at once."""
        results: list[Recognition] = []
        while len(results) < len(lines):
            start = len(results)
            widest = width or max(line.shape[1] for line in lines[start : start + options.batch_size])
            end = start + self.limits.limit(options.batch_size, widest, options.beam_size)
            results += self._decode_splitting_on_oom(lines[start:end], line_widths[start:end], width, options)
            if bar is not None:
                bar.update(len(results) - start)
        return results

    def _decode_splitting_on_oom(self, lines: list[np.ndarray], line_widths: list[int], width: int,
                                 options: DecodeOptions) -> list[Recognition]:
        """Uploads and decodes lines of one canvas width; on out-of-memory, halves them and retries (remembering,
        for this width and beam size, the size that fitted), so a too-large batch costs time, never results.
        A single line that does not fit gets the error."""
        try:
            with record_function("fastocr.to_batch"):
                if width is None:  # a canvas per run of one width, in order, read together (Encoder.forward_mixed)
                    batch = [to_batch(list(run), self.config.img_height, w, self.device, self.channels_last)
                             for w, run in itertools.groupby(lines, key=lambda line: line.shape[1])]
                else:
                    batch = to_batch(lines, self.config.img_height, width, self.device, self.channels_last,
                                     self._staging())
                widths = torch.tensor(line_widths, device=self.device)
            return self._decode_batch(batch, widths, options)
        except torch.OutOfMemoryError as e:
            if len(lines) == 1 and options.on_error == "raise":
                raise
            error = f"out of memory on {self.device} for one line: {e}"
        # Retry outside the except block: the exception's traceback holds the failed attempt's frames, and
        # with them its GPU tensors, until the block is left (seen on an H200: the halves ran out of memory too).
        batch = widths = None  # and this frame's own references to the failed batch
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        if len(lines) == 1:
            return [failed("", error)]
        self.limits.out_of_memory(width or max(line.shape[1] for line in lines), options.beam_size, len(lines))
        return self._decode_in_batches(lines, line_widths, width, options)

    def _padding_maps(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        """The CNN's feature maps of a canvas of padding alone (-1) shaped as ``x``'s lines
        (``CNN.padding_maps``), made once per dtype, device, layout and width."""
        layout = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
        key = (x.dtype, x.device, layout, x.shape[1], x.shape[3])
        if key not in self._padding:
            canvas = torch.full((1, *x.shape[1:]), -1.0, dtype=x.dtype, device=x.device)
            self._padding[key] = self.model.encoder.cnn.padding_maps(canvas.contiguous(memory_format=layout))
        return self._padding[key]

    def _staging(self) -> PinnedCanvas | None:
        """This thread's pinned upload canvas (CUDA only): concurrent calls must not share one."""
        if self.device.type != "cuda":
            return None
        if not hasattr(self._per_thread, "staging"):
            self._per_thread.staging = PinnedCanvas()
        return self._per_thread.staging

    def _run_encoder(self, batch: torch.Tensor, widths: torch.Tensor) -> torch.Tensor:
        """Encoder outputs [T, B, H], ``encoder_batch`` lines at a time; on a fixed-width canvas, the CNN reads
        each line only as far as its own pixels reach (``Encoder.columns_padded``)."""
        x = batch.to(self.device, self.dtype)  # keeps to_batch's NHWC layout
        encoder = self.model.encoder
        if self.skip_padding and not self.config.variable_width:
            return encoder.rnn(encoder.columns_padded(x, widths, self._padding_maps(x), self.encoder_batch))
        step = self.encoder_batch or x.shape[0]
        if step >= x.shape[0]:
            return self.model.encoder(x)
        return torch.cat([self.model.encoder(x[i : i + step]) for i in range(0, x.shape[0], step)], dim=1)

    def _encode(self, batch: torch.Tensor | list[torch.Tensor], widths: torch.Tensor,
                rows_per_image: int) -> AttnStep | OrtStep:
        """Runs the encoder on a batch (or on canvases of several widths); returns the decoder's step function
        over its outputs."""
        variable = self.config.variable_width
        if isinstance(batch, list):
            enc, columns = self.model.encoder.forward_mixed([b.to(self.device, self.dtype) for b in batch],
                                                            self.encoder_batch)
            lengths = encoder_lengths(widths, columns)  # each line's columns of its own canvas
            return AttnStep(self.model.decoder, enc, rows_per_image, lengths)
        if self.runtime is not None:
            memory = self.runtime.encode(batch.numpy(), self.encoder_batch,
                                         widths if self.skip_padding and not variable else None)
            lengths = encoder_lengths(widths, memory["values"].shape[0]) if variable else None
            return self.runtime.step(memory, rows_per_image, lengths)
        enc = self._run_encoder(batch, widths)  # [T, B, H]
        lengths = encoder_lengths(widths, enc.shape[0]) if variable else None
        return AttnStep(self.model.decoder, enc, rows_per_image, lengths)

    @torch.inference_mode()
    def _decode_batch(self, batch: torch.Tensor | list[torch.Tensor], widths: torch.Tensor,
                      options: DecodeOptions) -> list[Recognition]:
        # record_function ranges name the stages in torch.profiler traces (benchmarks/scripts/profile_e2e.py)
        with record_function("fastocr.encoder"), winograd_convolutions(self.winograd):
            step = self._encode(batch, widths, options.beam_size)
        B = len(widths)
        if options.greedy:
            with record_function("fastocr.decoder"):
                if self._graphs is not None:
                    out = self._graphs.decode(self.model.decoder, step.memory, options.max_len)
                else:
                    greedy = greedy_decode_ref if ops.force_reference() else greedy_decode
                    out = greedy(step, B, options.max_len, device=self.device)
                out = out.cpu()  # one host copy per batch, not a sync per line
            with record_function("fastocr.results"):
                return from_greedy(self.alphabet, out)
        vocabulary, n_best, constraint = options.vocabulary, options.num_hypotheses, options.constraint
        search = (step, B, options.beam_size, options.max_len, options.beam_size if vocabulary else n_best,
                  options.length_penalty)
        with record_function("fastocr.decoder"):
            if isinstance(constraint, tuple):
                hyps = beam_search_constrained_ref(*search, *constraint, device=self.device)
            elif not ops.extension_decoding(self.device):
                hyps = beam_search_ref(*search, device=self.device)
            else:
                hyps = beam.beam_search(*search, lexicon=constraint, device=self.device)
        with record_function("fastocr.results"):
            return [from_hypotheses(self.alphabet, h, n_best, vocabulary, options.vocabulary_bonus) for h in hyps]
