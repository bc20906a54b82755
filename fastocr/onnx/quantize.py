"""int8 encoder: static quantization of an exported encoder's convolutions, calibrated on text lines.

Static (QDQ, weights per channel, activation ranges from calibration lines) rather than dynamic: ONNX Runtime
runs dynamically quantized convolutions (``ConvInteger``) slower than fp32 on CPU, statically quantized ones
about twice as fast (VNNI). The LSTMs and the decoder step stay fp32: they are a small share of the time, and
the step's log-probs feed beam search and constraints. docs/onnx.md states the accuracy change on dev_scene.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import FastOCRError
from . import manifest
from .runtime import onnxruntime

QUANTIZED_OPS = ["Conv"]


def quantize_encoder(folder: str | os.PathLike, batches: Iterable[np.ndarray]) -> Path:
    """Writes ``encoder.int8.onnx`` beside an exported folder's fp32 encoder, calibrated on ``batches``
    (float32 NCHW images, preprocessed as the manifest says; lines of one batch share a width), and records it
    in the manifest. Returns the int8 graph's path."""
    onnxruntime()  # the clear error when it is missing, before the quantization tools' own
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    m = manifest.read(folder)
    feeds = [{"images": np.ascontiguousarray(b, dtype=np.float32)} for b in batches]
    if not m.config.variable_width:  # a fixed-width encoder's first_pad: whole canvases (export.EncoderGraph)
        feeds = [{**f, "first_pad": np.full(len(f["images"]), m.config.num_slots, np.int64)} for f in feeds]
    if not feeds:
        raise FastOCRError("int8 calibration needs at least one batch of lines")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self._feeds = iter(feeds)

        def get_next(self):
            return next(self._feeds, None)

    target = m.folder / manifest.ENCODER_INT8
    with tempfile.TemporaryDirectory(dir=m.folder) as tmp:
        prepared, quantized = Path(tmp, "prepared.onnx"), Path(tmp, "int8.onnx")
        quant_pre_process(str(m.encoder_path("fp32")), str(prepared))  # shape inference + graph cleanup first
        quantize_static(str(prepared), str(quantized), Reader(), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                        op_types_to_quantize=QUANTIZED_OPS)
        os.replace(quantized, target)  # same folder: an atomic rename
    manifest.write(m.folder, m.config, m.alphabet, int8=True)
    return target
