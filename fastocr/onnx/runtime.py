"""ONNX Runtime sessions over exported graphs, and the decoder step the engine's loops drive.

``OrtModel`` runs the encoder graph on a batch and hands out ``OrtStep``s: the step protocol of ``decode.py``
(``step(tokens, parents) -> log-probs``, ``step.argmax(tokens)``) over the decoder-step graph, so greedy decoding,
the C++ beam search and the constraints run on ONNX Runtime's outputs unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..alphabet import Alphabet
from ..config import ModelConfig
from ..errors import FastOCRError, ModelFileError
from ..model import padding_extent
from . import manifest
from .export import export_graphs


def onnxruntime():
    """The onnxruntime module, or an error naming the extra that installs it."""
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise FastOCRError("the ONNX Runtime backend needs onnxruntime: pip install 'fastocr[onnx]'") from e
    return ort


def _session(graph: bytes | Path, threads: int):
    ort = onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1  # the graphs are chains: no parallel branches to run
    options.log_severity_level = 3  # errors only: its warnings about unused initialisers say nothing to a user
    source = graph if isinstance(graph, bytes) else str(graph)
    try:
        return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 -- ORT raises its own exception types for corrupt or foreign graphs
        name = "<exported in memory>" if isinstance(graph, bytes) else str(graph)
        raise ModelFileError(name, f"ONNX Runtime cannot load this graph ({type(e).__name__}: {e})") from e


class OrtModel:
    """The exported encoder and decoder step of one model, in ONNX Runtime CPU sessions.

    Args:
        config, alphabet: the model's.
        encoder, step: the graphs, as bytes or files.
        threads: intra-op threads per session (default: torch's ``get_num_threads()``, so ``torch.set_num_threads``
            and ``fastocr recognize --threads`` govern both backends alike).
    """

    def __init__(self, config: ModelConfig, alphabet: Alphabet, encoder: bytes | Path, step: bytes | Path,
                 threads: int | None = None, precision: str = "fp32"):
        self.config = config
        self.alphabet = alphabet
        self.precision = precision
        threads = threads or torch.get_num_threads()
        self.encoder = _session(encoder, threads)
        self.decoder_step = _session(step, threads)
        self.memory_names = [o.name for o in self.encoder.get_outputs()]
        # fixed-width encoders exported by fastocr >= 0.2 take first_pad: the CNN may skip each line's padding
        self.skips_padding = "first_pad" in {i.name for i in self.encoder.get_inputs()}

    @property
    def num_classes(self) -> int:
        return self.alphabet.num_classes

    @classmethod
    def from_folder(cls, folder: str | os.PathLike, precision: str = "fp32", threads: int | None = None) -> OrtModel:
        """Reads a folder written by ``fastocr export --onnx`` (``export.export_onnx``)."""
        m = manifest.read(folder)
        return cls(m.config, m.alphabet, m.encoder_path(precision), m.step_path, threads, precision)

    @classmethod
    def from_model(cls, model, alphabet: Alphabet, threads: int | None = None) -> OrtModel:
        """Exports a torch ``OCRModel`` in memory (fp32; a few seconds) and opens the graphs."""
        graphs = export_graphs(model)
        return cls(model.config, alphabet, graphs[manifest.ENCODER], graphs[manifest.DECODER_STEP], threads)

    def encode(self, images: np.ndarray, chunk: int | None = None,
               widths: torch.Tensor | None = None) -> dict[str, np.ndarray]:
        """Float32 NCHW images -> the encoder's outputs by name (``values`` [T, B, H], and ``keys``), ``chunk``
        lines per run (the CNN's working set stays in cache, as in the torch backend). With the lines' pixel
        ``widths`` and an encoder that takes ``first_pad``, each run's images are cut to what its lines need, as
        the torch backend's ``skip_padding`` does (lines run in order of that need)."""
        images = np.ascontiguousarray(images, dtype=np.float32)
        count, chunk = len(images), chunk or len(images)
        if not self.skips_padding:
            runs = [(np.arange(i, min(i + chunk, count)), {"images": images[i : i + chunk]})
                    for i in range(0, count, chunk)]
        else:
            canvas = images.shape[3]
            first_pad, need = padding_extent(torch.full((count,), canvas) if widths is None else widths, canvas)
            first_pad, need = first_pad.numpy(), need.numpy()
            order = np.argsort(need, kind="stable")
            runs = [(idx, {"images": np.ascontiguousarray(images[idx, :, :, : need[idx].max()]),
                           "first_pad": first_pad[idx]})
                    for idx in (order[i : i + chunk] for i in range(0, count, chunk))]
        parts = [(idx, self.encoder.run(None, feed)) for idx, feed in runs]
        if len(parts) == 1 and np.array_equal(parts[0][0], np.arange(count)):
            return dict(zip(self.memory_names, parts[0][1]))
        memory = {}
        for k, name in enumerate(self.memory_names):
            first = parts[0][1][k]
            memory[name] = out = np.empty((first.shape[0], count, *first.shape[2:]), first.dtype)
            for idx, outputs in parts:
                out[:, idx] = outputs[k]
        return memory

    def step(self, memory: dict[str, np.ndarray], rows_per_image: int = 1,
             lengths: torch.Tensor | None = None) -> OrtStep:
        return OrtStep(self.decoder_step, memory, self.config.hidden_size, rows_per_image, lengths)


class OrtStep:
    """The step protocol (``decode.AttnStep``'s) over the decoder-step graph, for B images x K rows.

    The hidden state lives in numpy between steps; log-probs and ids come back as torch tensors that share
    ONNX Runtime's output buffers (no copy).
    """

    def __init__(self, session, memory: dict[str, np.ndarray], hidden_size: int, rows_per_image: int = 1,
                 lengths: torch.Tensor | None = None):
        self.session = session
        self.feed = {name: np.repeat(v, rows_per_image, axis=1) if rows_per_image > 1 else v
                     for name, v in memory.items()}
        if lengths is not None:
            self.feed["lengths"] = np.repeat(lengths.cpu().numpy().astype(np.int64), rows_per_image)
        rows = self.feed["values"].shape[1]
        self.hidden = np.zeros((rows, hidden_size), np.float32)

    def _run(self, outputs: list[str], tokens: torch.Tensor) -> list[np.ndarray]:
        self.feed["tokens"] = tokens.cpu().numpy().astype(np.int64, copy=False)
        self.feed["hidden"] = self.hidden
        *out, self.hidden = self.session.run([*outputs, "hidden_out"], self.feed)
        return out

    def __call__(self, tokens: torch.Tensor, parents: torch.Tensor | None = None) -> torch.Tensor:
        if parents is not None:
            self.hidden = self.hidden[parents.cpu().numpy()]
        (logp,) = self._run(["logp"], tokens)
        return torch.from_numpy(logp)

    def argmax(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        best, best_logp = self._run(["best", "best_logp"], tokens)
        return torch.from_numpy(best), torch.from_numpy(best_logp)
